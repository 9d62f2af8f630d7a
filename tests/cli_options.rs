//! The command line a new user meets first: host names for `--listen`, an environment variable
//! for every `serve` flag, defaults and `DLSIM_LOG` in `--help`, logs without colour codes in a
//! file (and JSON logs on request), shell completions, and a banner that says whose users these
//! are.

mod common;

use std::io::{Read, Write};
use std::process::{Command, Stdio};

use common::serve::{dlsim, terminate, wait_ready, ChildGuard};

fn output_of(args: &[&str]) -> String {
    let out = dlsim().args(args).output().unwrap();
    assert!(out.status.success(), "dlsim {args:?} failed: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// One plain HTTP/1.1 request with no login (so 401), to make the server log something.
fn poke(base_url: &str) {
    let addr = base_url.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    write!(
        s,
        "GET /api/content/library HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
}

/// Start `dlsim serve` with these extra arguments and environment, poke it once, stop it,
/// and return its ready file and everything it wrote to stderr (a file, not a terminal).
fn serve_once(args: &[&str], env: &[(&str, &str)]) -> (serde_json::Value, String) {
    let dir = tempfile::tempdir().unwrap();
    let ready = dir.path().join("ready.json");
    let stderr_path = dir.path().join("stderr.log");
    let stderr = std::fs::File::create(&stderr_path).unwrap();
    let mut cmd = dlsim();
    cmd.arg("serve")
        .args(args)
        .env("DLSIM_READY_FILE", &ready)
        .env_remove("NO_COLOR")
        .stdout(Stdio::null())
        .stderr(stderr);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = ChildGuard(cmd.spawn().unwrap());
    let info = wait_ready(&mut child.0, &ready);
    poke(info["base_url"].as_str().unwrap());
    assert!(terminate(&mut child.0).success());
    (info, std::fs::read_to_string(&stderr_path).unwrap())
}

#[test]
fn listen_takes_a_host_name_from_the_flag_or_the_environment() {
    let (info, _) = serve_once(&["--listen", "localhost:0"], &[]);
    let url = info["base_url"].as_str().unwrap();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");

    let (info, _) = serve_once(&[], &[("DLSIM_LISTEN", "localhost:0")]);
    let url = info["base_url"].as_str().unwrap();
    assert!(
        url.starts_with("http://127.0.0.1:") && !url.ends_with(":8080"),
        "{url}"
    );

    let out = dlsim()
        .args(["serve", "--listen", "localhost"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("expected HOST:PORT"), "{err}");
}

#[test]
fn logs_in_a_file_carry_no_colour_codes_and_json_logs_are_json() {
    let (_, text) = serve_once(&["--listen", "127.0.0.1:0"], &[("DLSIM_LOG", "debug")]);
    let logged: Vec<&str> = text.lines().filter(|l| l.contains("DEBUG")).collect();
    assert!(
        !logged.is_empty(),
        "DLSIM_LOG=debug logged nothing:\n{text}"
    );
    assert!(!text.contains('\u{1b}'), "colour codes in a file:\n{text}");

    let (_, text) = serve_once(
        &["--listen", "127.0.0.1:0", "--log-format", "json"],
        &[("DLSIM_LOG", "debug")],
    );
    let json: Vec<serde_json::Value> = text
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(!json.is_empty(), "no JSON log line:\n{text}");
    assert!(json.iter().all(|v| v["level"].is_string()), "{json:?}");
    assert!(!text.contains('\u{1b}'), "{text}");
}

#[test]
fn every_serve_flag_has_an_environment_variable_and_help_names_dlsim_log() {
    let help = output_of(&["serve", "--help"]);
    // Each option's entry runs from its `--flag` line to the next one.
    let mut entries: Vec<(String, String)> = Vec::new();
    for line in help.lines() {
        let t = line.trim_start();
        if t.starts_with("--") || (t.starts_with('-') && t.chars().nth(2) == Some(',')) {
            let flag = t.split_whitespace().find(|w| w.starts_with("--")).unwrap();
            entries.push((flag.to_string(), String::new()));
        } else if let Some((_, body)) = entries.last_mut() {
            body.push_str(line);
            body.push('\n');
        }
    }
    let flags: Vec<&str> = entries.iter().map(|(f, _)| f.as_str()).collect();
    for want in [
        "--listen",
        "--config",
        "--idle-timeout",
        "--tls",
        "--control-token",
    ] {
        assert!(flags.contains(&want), "{want} missing from {flags:?}");
    }
    for (flag, body) in &entries {
        if flag == "--help" || flag == "--version" {
            continue;
        }
        let var = format!(
            "DLSIM_{}",
            flag.trim_start_matches("--")
                .replace('-', "_")
                .to_uppercase()
        );
        assert!(
            body.contains(&format!("[env: {var}")),
            "{flag} has no {var}:\n{body}"
        );
    }
    let idle = &entries
        .iter()
        .find(|(f, _)| f == "--idle-timeout")
        .unwrap()
        .1;
    assert!(idle.contains("[default: 300"), "{idle}");
    assert!(help.contains("DLSIM_LOG"), "{help}");
    assert!(help.contains("NO_COLOR"), "{help}");
    assert!(output_of(&["--help"]).contains("DLSIM_LOG"));
}

#[test]
fn completions_for_bash_zsh_and_fish() {
    for shell in ["bash", "zsh", "fish"] {
        let script = output_of(&["completions", shell]);
        assert!(
            script.contains("serve") && script.contains("listen"),
            "{shell}:\n{script}"
        );
    }
    // The bash script at least parses, when bash is there to say so.
    let bash = output_of(&["completions", "bash"]);
    if let Ok(mut child) = Command::new("bash").arg("-n").stdin(Stdio::piped()).spawn() {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(bash.as_bytes())
            .unwrap();
        assert!(child.wait().unwrap().success(), "bash -n refused:\n{bash}");
    }
    let out = dlsim().args(["completions", "tcsh"]).output().unwrap();
    assert!(!out.status.success());
}

#[test]
fn the_banner_says_whether_the_demo_users_are_served() {
    let (_, text) = serve_once(&["--listen", "127.0.0.1:0"], &[]);
    assert!(
        text.contains("demo users (define [[users]] in --config to replace them)"),
        "{text}"
    );

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("dlsim.toml");
    std::fs::write(
        &config,
        "[[users]]\nname = \"alice@corp.example\"\npassword = \"pw\"\n",
    )
    .unwrap();
    let (info, text) = serve_once(
        &[
            "--listen",
            "127.0.0.1:0",
            "--config",
            config.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(info["username"], "alice@corp.example");
    assert!(text.contains("replace the demo users"), "{text}");
    assert!(!text.contains("administrator@vsphere.local"), "{text}");
}
