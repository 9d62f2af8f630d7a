//! The README cannot rot: every ```sh, ```bash and ```console block in it runs, in order, as a
//! bash script against a `dlsim serve` this test starts (the README's server command, on a free
//! port instead of 8080), with the `dlsim` under test first on PATH. A block fails the test when
//! it exits non-zero, runs past its time limit, or makes an API request the server answered
//! with an error (read back from the server's journal). Only blocks preceded by
//! `<!-- readme-test: skip (REASON) -->` are left out, and each must say why.

mod common;

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::serve::{dlsim, terminate, wait_ready, ChildGuard};

/// One shell block of the README.
struct Block {
    line: usize,
    text: String,
    skip: Option<String>,
}

fn blocks(readme: &str) -> Vec<Block> {
    let mut out = vec![];
    let mut lines = readme.lines().enumerate().peekable();
    let mut previous = "";
    while let Some((i, line)) = lines.next() {
        let lang = line.strip_prefix("```").map(str::trim);
        if let Some(lang) = lang.filter(|l| !l.is_empty()) {
            let mut text = String::new();
            for (_, l) in lines.by_ref() {
                if l.trim_start().starts_with("```") {
                    break;
                }
                text.push_str(l);
                text.push('\n');
            }
            if matches!(lang, "sh" | "bash" | "console") {
                let skip = previous
                    .trim()
                    .strip_prefix("<!-- readme-test: skip (")
                    .and_then(|r| r.strip_suffix(") -->"))
                    .map(str::to_string);
                if previous.contains("readme-test") {
                    let why = skip.as_deref().unwrap_or("");
                    assert!(
                        why.len() > 10,
                        "README line {i}: a skip mark must say why: {previous}"
                    );
                }
                out.push(Block {
                    line: i + 1,
                    text,
                    skip,
                });
            }
            previous = "";
            continue;
        }
        if !line.trim().is_empty() {
            previous = line;
        }
    }
    out
}

/// GET a path of the server over plain HTTP/1.1; returns the body.
fn get(addr: &str, path: &str) -> String {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    body.to_string()
}

/// The journal entries (one JSON object a line) after entry `since`, and the last seq.
fn journal_since(addr: &str, since: u64) -> (Vec<serde_json::Value>, u64) {
    let body = get(addr, &format!("/dlsim/journal?since={since}"));
    let entries: Vec<serde_json::Value> = body
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let last = entries
        .iter()
        .filter_map(|e| e["seq"].as_u64())
        .max()
        .unwrap_or(since);
    (entries, last)
}

/// Run `script` with bash (`-e -o pipefail`) in `dir`, bounded by `limit`.
fn run(script: &str, dir: &Path, path: &str, limit: Duration) -> (bool, String) {
    let mut child = Command::new("bash")
        .args(["-e", "-o", "pipefail", "-c", script])
        .current_dir(dir)
        .env("PATH", path)
        .env_remove("DLSIM_PASSWORD")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bash runs");
    // Read both pipes on threads so a chatty block cannot block on a full pipe.
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out_t = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err_t = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let text = format!(
        "stdout:\n{}\nstderr:\n{}",
        out_t.join().unwrap(),
        err_t.join().unwrap()
    );
    match status {
        Some(s) => (s.success(), text),
        None => (false, format!("timed out after {limit:?}\n{text}")),
    }
}

#[test]
fn every_shell_block_of_the_readme_runs_against_a_fresh_server() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let all = blocks(&readme);
    let skipped: Vec<&Block> = all.iter().filter(|b| b.skip.is_some()).collect();
    let runnable: Vec<&Block> = all.iter().filter(|b| b.skip.is_none()).collect();
    assert!(
        runnable.len() >= 6,
        "too few runnable blocks: {}",
        runnable.len()
    );
    assert!(
        skipped.len() <= 6,
        "keep skip marks minimal: {:?}",
        skipped.iter().map(|b| b.line).collect::<Vec<_>>()
    );
    assert!(
        skipped.iter().any(|b| b.text.trim() == "dlsim serve"),
        "the README's server command is the one this test starts"
    );

    let dir = tempfile::tempdir().unwrap();
    let ready = dir.path().join("ready.json");
    let mut server = ChildGuard(
        dlsim()
            .args(["serve", "--listen", "127.0.0.1:0", "--ready-file"])
            .arg(&ready)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let info = wait_ready(&mut server.0, &ready);
    let base = info["base_url"].as_str().unwrap().to_string();
    let addr = base.trim_start_matches("http://").to_string();

    let bin_dir = Path::new(env!("CARGO_BIN_EXE_dlsim")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let work = dir.path().join("work");
    std::fs::create_dir(&work).unwrap();

    let mut seen = 0;
    for block in runnable {
        let script = block.text.replace("127.0.0.1:8080", &addr);
        let (ok, output) = run(&script, &work, &path, Duration::from_secs(180));
        assert!(
            ok,
            "README block at line {} failed:\n{script}\n{output}",
            block.line
        );
        let (entries, last) = journal_since(&addr, seen);
        seen = last;
        // `dlsim check` sends wrong requests on purpose; every other block's requests succeed.
        if !script.contains("dlsim check") {
            for e in &entries {
                let status = e["status"].as_u64().unwrap();
                assert!(
                    status < 400,
                    "README block at line {}: {} {} answered {status}\n{script}\n{output}",
                    block.line,
                    e["method"],
                    e["path"]
                );
            }
        }
        let calls_server = script.lines().any(|l| {
            let l = l.trim_start();
            !l.starts_with('#') && (l.contains("curl ") || l.starts_with("dlsim "))
        });
        if calls_server {
            assert!(
                !entries.is_empty() || script.contains("/dlsim"),
                "README block at line {} reached no API: {script}",
                block.line
            );
        }
    }
    // The download example wrote the demo item's files.
    assert!(work.join("photon/photon-5.ovf").is_file());
    assert!(terminate(&mut server.0).success());
}
