//! `dlsim serve` as a user runs it: zero configuration, a ready file, a config file, errors
//! that say what to do, and a graceful stop on SIGTERM.

mod common;

use std::process::Stdio;

use common::forms::{Client, Form};
use common::serve::{dlsim, stderr_of, terminate, wait_ready, ChildGuard};
use common::tls::any_cert_client;

use serde_json::Value;

/// A client of a served child's `/api`, logged in.
async fn login(info: &Value, user: &str, password: &str) -> Client {
    let mut c = Client::new(Form::Api, info["base_url"].as_str().unwrap());
    c.login(user, password).await.ok();
    c
}

#[tokio::test]
async fn zero_config_serve_writes_a_ready_file_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let ready = dir.path().join("ready.json");
    let mut child = dlsim()
        .args(["serve", "--listen", "127.0.0.1:0", "--ready-file"])
        .arg(&ready)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let info = wait_ready(&mut child, &ready);
    assert!(info["api_url"]
        .as_str()
        .unwrap()
        .starts_with("http://127.0.0.1:"));
    assert_eq!(info["tls"], Value::Null);
    assert_eq!(info["virtual_clock"], false);
    common::schema::validate("dlsim/ready", &info).expect("the ready file matches its schema");
    let c = login(
        &info,
        info["username"].as_str().unwrap(),
        info["password"].as_str().unwrap(),
    )
    .await;
    assert_eq!(c.libraries().await.ok(), &info["libraries"]);

    let status = terminate(&mut child);
    assert!(status.success(), "graceful stop exits 0, got {status}");
    let stderr = stderr_of(&mut child);
    assert!(
        stderr.contains("dlsim listening on http://127.0.0.1:"),
        "{stderr}"
    );
    assert!(stderr.contains("administrator@vsphere.local"), "{stderr}");
}

#[tokio::test]
async fn a_config_file_sets_users_library_and_timeouts() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("dlsim.toml");
    std::fs::write(
        &config,
        r#"
seed = 7
idle_timeout_secs = 60
[[users]]
name = "alice@corp.example"
password = "pw"
[[libraries]]
name = "isos"
[[libraries.items]]
name = "alpine"
type = "iso"
files = [{ name = "alpine.iso", size = 1234 }]
"#,
    )
    .unwrap();
    let ready = dir.path().join("ready.json");
    let mut child = dlsim()
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&config)
        .arg("--ready-file")
        .arg(&ready)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let info = wait_ready(&mut child, &ready);
    assert_eq!(info["username"], "alice@corp.example");
    let c = login(&info, "alice@corp.example", "pw").await;
    let item = c
        .items(info["libraries"][0].as_str().unwrap())
        .await
        .first();
    let id = c.create(&item, None).await.string();
    let files = c.file_list(&id).await.ok().clone();
    assert_eq!(files[0]["name"], "alpine.iso");
    assert!(terminate(&mut child).success());
}

#[test]
fn bad_configuration_fails_fast_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bad.toml");
    std::fs::write(&config, "idle_timeout = 5\n").unwrap();
    let out = dlsim()
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a valid dlsim configuration"), "{err}");
    assert!(err.contains("idle_timeout"), "{err}");

    // A misspelt privilege would leave the user without it: refused, naming the known ones.
    std::fs::write(
        &config,
        "[[users]]\nname = \"ci\"\npassword = \"p\"\nprivileges = [\"ContentLibrary.DownloadSesion\"]\n",
    )
    .unwrap();
    let child = dlsim()
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&config)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = ChildGuard(child);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "dlsim serve started with a misspelt privilege"
        );
        std::thread::sleep(std::time::Duration::from_millis(25));
    };
    assert!(!status.success());
    let err = stderr_of(&mut child.0);
    assert!(err.contains("ContentLibrary.DownloadSesion"), "{err}");
    assert!(
        err.contains("ContentLibrary.DownloadSession, ContentLibrary.ReadStorage"),
        "{err}"
    );

    let out = dlsim()
        .args(["serve", "--config", "/nonexistent/dlsim.toml"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read"));
}

#[tokio::test]
async fn serve_a_directory_over_tls_with_given_certificate_files() {
    let dir = tempfile::tempdir().unwrap();
    let lib = dir.path().join("isos");
    std::fs::create_dir_all(lib.join("alpine")).unwrap();
    std::fs::write(lib.join("alpine/alpine.iso"), vec![42u8; 10_000]).unwrap();
    let key =
        rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    let (cert_path, key_path) = (dir.path().join("c.pem"), dir.path().join("k.pem"));
    std::fs::write(&cert_path, key.cert.pem()).unwrap();
    std::fs::write(&key_path, key.signing_key.serialize_pem()).unwrap();
    let expected = dlsim::Thumbprints::of(key.cert.der());

    let ready = dir.path().join("ready.json");
    let mut child = dlsim()
        .args(["serve", "--listen", "127.0.0.1:0", "--library"])
        .arg(&lib)
        .arg("--cert")
        .arg(&cert_path)
        .arg("--key")
        .arg(&key_path)
        .arg("--ready-file")
        .arg(&ready)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let info = wait_ready(&mut child, &ready);
    assert_eq!(info["tls"]["sha1_thumbprint"], expected.sha1.as_str());
    assert_eq!(info["tls"]["sha256_thumbprint"], expected.sha256.as_str());
    let api = info["api_url"].as_str().unwrap();
    assert!(api.starts_with("https://"));

    // The certificate presented is the one given.
    let http = any_cert_client();
    let r = http
        .get(info["base_url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(common::tls::presented(&r), Some(expected));
    let c = login(
        &info,
        info["username"].as_str().unwrap(),
        info["password"].as_str().unwrap(),
    )
    .await;
    let lib_model = c
        .library(info["libraries"][0].as_str().unwrap())
        .await
        .ok()
        .clone();
    assert_eq!(lib_model["name"], "isos");
    assert!(terminate(&mut child).success());
}

/// Send `signal` (`INT`, `TERM`) to a child.
fn send_signal(child: &std::process::Child, signal: &str) {
    let ok = std::process::Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
}

/// Wait (bounded) for a child to exit.
fn wait_exit(
    child: &mut std::process::Child,
    guard: std::time::Duration,
) -> std::process::ExitStatus {
    let deadline = std::time::Instant::now() + guard;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "dlsim did not stop within {guard:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
}

/// The child's stderr, line by line, read on a thread.
fn stderr_lines(child: &mut std::process::Child) -> std::sync::mpsc::Receiver<String> {
    use std::io::BufRead;
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

#[tokio::test]
async fn a_second_sigint_stops_at_once_while_a_download_is_held_open() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = tempfile::tempdir().unwrap();
    let ready = dir.path().join("ready.json");
    let child = dlsim()
        .args(["serve", "--listen", "127.0.0.1:0", "--no-checksums"])
        .arg("--ready-file")
        .arg(&ready)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = ChildGuard(child);
    let info = wait_ready(&mut child.0, &ready);
    let lines = stderr_lines(&mut child.0);
    let c = login(
        &info,
        info["username"].as_str().unwrap(),
        info["password"].as_str().unwrap(),
    )
    .await;
    let id = c.create(common::OVF_ITEM, None).await.string();
    let f = c.prepare(&id, "photon-5-disk1.vmdk", None).await;
    let uri = f.ok()["download_endpoint"]["uri"]
        .as_str()
        .unwrap()
        .to_string();
    let (host, path) = uri.trim_start_matches("http://").split_once('/').unwrap();

    // Start the 1 GiB download, read its head, then stop reading: the answer stays in flight.
    let mut sock = tokio::net::TcpStream::connect(host).await.unwrap();
    sock.write_all(format!("GET /{path} HTTP/1.1\r\nHost: {host}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut head = vec![0u8; 4096];
    let n = sock.read(&mut head).await.unwrap();
    assert!(
        String::from_utf8_lossy(&head[..n]).starts_with("HTTP/1.1 200 "),
        "the download started"
    );

    send_signal(&child.0, "INT");
    let wait = std::time::Duration::from_secs(10);
    let said = loop {
        let line = lines
            .recv_timeout(wait)
            .expect("dlsim says what it waits for");
        if line.contains("waiting up to") {
            break line;
        }
    };
    assert!(said.contains("open connection(s)"), "{said}");
    assert!(said.contains("press Ctrl-C again to stop now"), "{said}");
    assert!(said.starts_with("waiting up to 10 s for "), "{said}");

    send_signal(&child.0, "INT");
    // The grace period is 10 s; a second signal does not wait it out (a hang guard).
    let status = wait_exit(&mut child.0, std::time::Duration::from_secs(5));
    assert!(status.success(), "{status}");
    drop(sock);
}

#[tokio::test]
async fn header_timeout_and_control_token_flags() {
    use tokio::io::AsyncReadExt;
    let dir = tempfile::tempdir().unwrap();
    let ready = dir.path().join("ready.json");
    let child = dlsim()
        .args(["serve", "--listen", "127.0.0.1:0", "--header-timeout", "1"])
        .args(["--control-token", "s3cret", "--ready-file"])
        .arg(&ready)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = ChildGuard(child);
    let info = wait_ready(&mut child.0, &ready);
    let base = info["base_url"].as_str().unwrap();

    // A connection that says nothing is closed after the header timeout.
    let mut idle = tokio::net::TcpStream::connect(base.trim_start_matches("http://"))
        .await
        .unwrap();
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(std::time::Duration::from_secs(10), idle.read(&mut buf))
        .await
        .expect("the silent connection is closed")
        .unwrap_or(0);
    assert_eq!(n, 0);

    // The control plane needs the token, from loopback too.
    let http = any_cert_client();
    let r = http
        .get(format!("{base}/dlsim/clock"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let body: Value = r.json().await.unwrap();
    common::assert_schema("api/error", &body);
    assert_eq!(body["error_type"], "UNAUTHORIZED");
    let r = http
        .get(format!("{base}/dlsim/clock"))
        .header("dlsim-control-token", "s3cret")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(terminate(&mut child.0).success());
    let stderr = stderr_of(&mut child.0);
    assert!(
        stderr.contains("dlsim-control-token header required"),
        "{stderr}"
    );
}

/// The ready file carries everything a harness needs (version, pid, URLs, the catalogue with
/// ids, names and sizes), matches its published schema, agrees with what the server serves,
/// and replaces an older file whole (written beside it, then renamed: no temporary is left).
#[tokio::test]
async fn the_ready_file_matches_its_schema_and_the_served_catalog() {
    let dir = tempfile::tempdir().unwrap();
    let ready = dir.path().join("ready.json");
    // A stale, half-written file from an earlier run: it is replaced, never appended to.
    std::fs::write(&ready, "{\"base_url\": ").unwrap();
    let child = dlsim()
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--tls",
            "--virtual-clock",
        ])
        .arg("--ready-file")
        .arg(&ready)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut child = ChildGuard(child);
    let info = wait_ready(&mut child.0, &ready);
    if let Err(v) = common::schema::validate("dlsim/ready", &info) {
        panic!("the ready file breaks schemas/dlsim/ready.json: {v:?}\n{info:#}");
    }
    // The schema can fail: without the catalogue, or with a size that is not a number.
    let mut broken = info.clone();
    broken.as_object_mut().unwrap().remove("catalog");
    assert!(common::schema::validate("dlsim/ready", &broken).is_err());
    let mut broken = info.clone();
    broken["catalog"][0]["items"][0]["files"][0]["size"] = "9412".into();
    assert!(common::schema::validate("dlsim/ready", &broken).is_err());

    assert_eq!(info["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(info["pid"], child.0.id());
    assert_eq!(info["virtual_clock"], true);
    assert_eq!(info["control_token_required"], false);
    let base = info["base_url"].as_str().unwrap();
    assert!(base.starts_with("https://127.0.0.1:"), "{base}");
    assert_eq!(info["rest_url"], format!("{base}/rest"));
    assert_eq!(info["control_url"], format!("{base}/dlsim/"));
    let clock: Value = any_cert_client()
        .get(format!("{}clock", info["control_url"].as_str().unwrap()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(clock["virtual"], true, "{clock}");

    // The demo catalogue, by id, name and size, as documented in the README.
    let catalog = info["catalog"].as_array().unwrap();
    let lib_ids: Vec<&Value> = catalog.iter().map(|l| &l["id"]).collect();
    assert_eq!(
        lib_ids,
        info["libraries"]
            .as_array()
            .unwrap()
            .iter()
            .collect::<Vec<_>>()
    );
    let items = catalog[0]["items"].as_array().unwrap();
    let ovf = &items[0];
    assert_eq!(ovf["id"], "b1e2c3d4-5f60-4718-8a9b-0c1d2e3f4a5b");
    assert_eq!(ovf["name"], "photon-5-ovf");
    let names: Vec<&str> = ovf["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["photon-5.ovf", "photon-5.mf", "photon-5-disk1.vmdk"]
    );
    assert_eq!(ovf["files"][2]["size"], 1u64 << 30);
    assert_eq!(items[1]["id"], "c2f3d4e5-6a71-4829-9bac-1d2e3f4a5b6c");

    // ... and the server agrees with it.
    let c = login(
        &info,
        info["username"].as_str().unwrap(),
        info["password"].as_str().unwrap(),
    )
    .await;
    assert_eq!(c.libraries().await.ok(), &info["libraries"]);
    let lib = catalog[0]["id"].as_str().unwrap();
    assert_eq!(c.library(lib).await.ok()["name"], catalog[0]["name"]);
    let served: Vec<Value> = items.iter().map(|i| i["id"].clone()).collect();
    assert_eq!(c.items(lib).await.ok(), &Value::Array(served));
    for item in items {
        let id = item["id"].as_str().unwrap();
        let model = c.item(id).await.ok().clone();
        assert_eq!(model["name"], item["name"]);
        assert_eq!(model["size"], item["size"]);
        let session = c.create(id, None).await.string();
        let listed: Vec<Value> = c
            .file_list(&session)
            .await
            .ok()
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["name"].clone())
            .collect();
        let given: Vec<Value> = item["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["name"].clone())
            .collect();
        assert_eq!(listed, given);
        c.delete(&session).await.done();
    }

    // Written atomically: only the ready file is left in its directory.
    let left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, ["ready.json"]);
    assert!(terminate(&mut child.0).success());
}
