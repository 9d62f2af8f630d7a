//! `dlsim serve` as a user runs it: zero configuration, a ready file, a config file, errors
//! that say what to do, and a graceful stop on SIGTERM.

mod common;

use std::io::Read;
use std::process::Stdio;

use common::forms::{Client, Form};
use common::serve::{dlsim, terminate, wait_ready, ChildGuard};
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
    let c = login(
        &info,
        info["username"].as_str().unwrap(),
        info["password"].as_str().unwrap(),
    )
    .await;
    assert_eq!(c.libraries().await.ok(), &info["libraries"]);

    let status = terminate(&mut child);
    assert!(status.success(), "graceful stop exits 0, got {status}");
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
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
    let mut err = String::new();
    child
        .0
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
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
    let expected = dlsim::client::tls::Thumbprints::of(key.cert.der());

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
    assert_eq!(dlsim::client::api::presented(&r), Some(expected));
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
