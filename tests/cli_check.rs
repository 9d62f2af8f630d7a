//! `dlsim check` as a CI step: against `dlsim serve`, exit codes, report files.

mod common;

use std::path::Path;
use std::process::Stdio;

use common::serve::{dlsim, wait_ready, ChildGuard};

use serde_json::Value;

/// A running `dlsim serve` (stopped when dropped) and its ready-file facts.
struct Served(#[allow(dead_code)] ChildGuard, Value);

fn serve(dir: &Path, extra: &[&str]) -> Served {
    let ready = dir.join(format!(
        "ready-{}.json",
        extra.join("_").replace(['/', '.'], "-")
    ));
    let mut child = ChildGuard(
        dlsim()
            .args(["serve", "--listen", "127.0.0.1:0", "--ready-file"])
            .arg(&ready)
            .args(extra)
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let info = wait_ready(&mut child.0, &ready);
    Served(child, info)
}

fn check(s: &Served, extra: &[&str]) -> std::process::Output {
    dlsim()
        .arg("check")
        .arg(s.1["base_url"].as_str().unwrap())
        .args(["--user", s.1["username"].as_str().unwrap()])
        .args(["--password", s.1["password"].as_str().unwrap()])
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn check_passes_against_dlsim_serve_and_writes_junit() {
    let dir = tempfile::tempdir().unwrap();
    let s = serve(dir.path(), &["--tls", "--virtual-clock"]);
    let thumbprint = s.1["tls"]["sha256_thumbprint"]
        .as_str()
        .unwrap()
        .to_string();
    let junit = dir.path().join("dlsim-check.xml");
    let out = check(
        &s,
        &[
            "--thumbprint",
            &thumbprint,
            "--format",
            "junit",
            "--output",
            junit.to_str().unwrap(),
            "--quiet",
            "--strict",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.starts_with("<?xml"));
    assert!(xml.contains("<testsuites name=\"dlsim check\""));
    assert!(!xml.contains("<failure"), "{xml}");
    assert!(
        !xml.contains("<skipped"),
        "with --virtual-clock and TLS every rule runs: {xml}"
    );

    // Text to stdout, with progress on stderr.
    let out = check(&s, &["--thumbprint", &thumbprint]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("PASSED: 60 passed, 0 failed, 0 skipped"),
        "{stdout}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("checking [api] lifecycle"));
}

#[test]
fn a_broken_server_exits_1_and_names_the_rule() {
    let dir = tempfile::tempdir().unwrap();
    let s = serve(dir.path(), &["--violate", "error.unknown-file"]);
    let out = check(&s, &["--form", "rest", "--format", "json", "--quiet"]);
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["passed"], false);
    assert_eq!(report["forms"], serde_json::json!(["rest"]));
    let failed: Vec<&str> = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["outcome"] == "fail")
        .map(|r| r["rule"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(failed, ["error.unknown-file"]);
}

#[test]
fn unreachable_or_unusable_targets_exit_2() {
    let out = dlsim()
        .args(["check", "not a url", "--user", "u", "--password", "p"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a URL"));
    let out = dlsim()
        .args([
            "check",
            "https://127.0.0.1:1",
            "--user",
            "u",
            "--password",
            "p",
            "--thumbprint",
            "zz",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    // Nothing listens on port 1.
    let out = dlsim()
        .args([
            "check",
            "http://127.0.0.1:1",
            "--user",
            "u",
            "--password",
            "p",
            "--quiet",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cannot reach"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
