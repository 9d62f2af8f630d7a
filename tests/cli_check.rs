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
        stdout.contains("PASSED: 95 passed, 0 failed, 0 not reached, 0 skipped"),
        "{stdout}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("checking [api] lifecycle"));
    assert!(String::from_utf8_lossy(&out.stderr).contains("checking [jsonrpc] protocol errors"));
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
fn the_jsonrpc_form_alone_names_a_jsonrpc_rule_broken() {
    let dir = tempfile::tempdir().unwrap();
    let s = serve(
        dir.path(),
        &["--virtual-clock", "--violate", "jsonrpc.errors-with-200"],
    );
    let out = check(&s, &["--form", "jsonrpc", "--format", "json", "--quiet"]);
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["forms"], serde_json::json!(["jsonrpc"]));
    let failed: Vec<&str> = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["outcome"] == "fail")
        .map(|r| r["rule"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(failed, ["jsonrpc.errors-with-200"]);
    // The other forms are not judged by it: /api and /rest pass.
    let out = check(&s, &["--form", "api", "--quiet"]);
    assert_eq!(out.status.code(), Some(0));
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

/// A directory library: one item per `(name, files)`, each file a few bytes.
fn library(dir: &Path, items: &[(&str, &[&str])]) -> std::path::PathBuf {
    let lib = dir.join("lib");
    for (item, files) in items {
        std::fs::create_dir_all(lib.join(item)).unwrap();
        for f in *files {
            std::fs::write(lib.join(item).join(f), format!("bytes of {f}")).unwrap();
        }
    }
    lib
}

fn outcomes(report: &Value) -> Vec<(String, String)> {
    report["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["rule"]["id"].as_str().unwrap().to_string(),
                r["outcome"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn the_runner_picks_an_item_with_a_file_and_reaches_every_rule() {
    let dir = tempfile::tempdir().unwrap();
    let lib = library(dir.path(), &[("a-empty", &[]), ("b-disk", &["disk.vmdk"])]);
    let s = serve(
        dir.path(),
        &[
            "--library",
            lib.to_str().unwrap(),
            "--tls",
            "--virtual-clock",
        ],
    );
    let out = check(
        &s,
        &["--insecure", "--strict", "--format", "json", "--quiet"],
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let not_passed: Vec<_> = outcomes(&report)
        .into_iter()
        .filter(|(_, o)| o != "pass")
        .collect();
    assert_eq!(not_passed, vec![], "every rule is reached and passes");
    assert_eq!(out.status.code(), Some(0));
    for used in report["items"].as_array().unwrap() {
        assert_eq!(used["name"], "b-disk", "{used}");
        assert_eq!(used["files"], 1, "{used}");
    }
    assert_eq!(report["items"].as_array().unwrap().len(), 3, "one per form");

    let out = check(&s, &["--insecure", "--quiet"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("b-disk"), "the report names the item: {text}");
    assert!(
        text.contains("MUST rules verified: 26 of 26 (api), 26 of 26 (rest), 31 of 31 (jsonrpc)"),
        "{text}"
    );
}

#[test]
fn with_no_file_to_download_the_rules_that_need_one_are_not_reached_and_the_run_fails() {
    let dir = tempfile::tempdir().unwrap();
    let lib = library(dir.path(), &[("a-empty", &[]), ("b-empty", &[])]);
    let s = serve(
        dir.path(),
        &["--library", lib.to_str().unwrap(), "--virtual-clock"],
    );
    let out = check(&s, &["--format", "json", "--quiet"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a run that reached too little fails"
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["passed"], false);
    let mut missed: Vec<String> = outcomes(&report)
        .into_iter()
        .filter(|(_, o)| o == "not_reached")
        .map(|(id, _)| id)
        .collect();
    missed.dedup();
    assert_eq!(
        missed,
        [
            "schema.file-info",
            "lifecycle.files-start-unprepared",
            "lifecycle.prepare-forward-only",
            "lifecycle.endpoint-only-when-prepared",
            "content.size-and-checksum",
            "content.thumbprint",
        ]
    );
    // Only the file rules: the rest is still checked, and passes.
    let rest: Vec<_> = outcomes(&report)
        .into_iter()
        .filter(|(id, o)| !missed.contains(id) && o != "pass")
        .collect();
    assert_eq!(rest, vec![]);

    let out = check(&s, &["--strict", "--quiet"]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("FAIL api     not reached"), "{text}");
    assert!(text.contains("no library item has a file"), "{text}");
    assert!(text.contains("FAILED: "), "{text}");
    assert!(text.contains("18 not reached"), "{text}");
    assert!(
        text.contains("MUST rules verified: 21 of 26 (api), 21 of 26 (rest), 26 of 31 (jsonrpc)"),
        "{text}"
    );
}

/// Against a dlsim whose control plane needs a token, the runner moves the virtual clock with
/// the token from `DLSIM_CONTROL_TOKEN`, so the expiry rule still runs.
#[test]
fn check_uses_the_control_token_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let s = serve(dir.path(), &["--virtual-clock", "--control-token", "t0k"]);
    let out = dlsim()
        .arg("check")
        .arg(s.1["base_url"].as_str().unwrap())
        .args(["--user", s.1["username"].as_str().unwrap()])
        .args(["--password", s.1["password"].as_str().unwrap()])
        .args(["--format", "json", "--quiet"])
        .env("DLSIM_CONTROL_TOKEN", "t0k")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let expiry: Vec<&Value> = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["rule"]["id"] == "lifecycle.expiry")
        .collect();
    assert_eq!(expiry.len(), 3, "{report}");
    assert!(expiry.iter().all(|r| r["outcome"] == "pass"), "{report}");
}
