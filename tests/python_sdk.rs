//! The official vSphere Automation SDK for Python (9.1.1.0, pinned) drives dlsim, in its default
//! JSON-RPC mode and in its `'rest'` mode (served under `/sdk-rest/api`).
//!
//! On first use the SDK is installed from PyPI into a private virtual environment under
//! `target/sdk-venv`; later runs reuse it. These tests fail loudly when Python or the SDK cannot
//! be had: they never skip. The client script is `tests/sdk/drive.py`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use dlsim::Dlsim;
use dlsim::DEMO_OVF_ITEM_ID;

const SDK: &[&str] = &[
    "vmware-vcenter==9.1.1.0",
    "vmware-vapi-runtime==9.1.1.0",
    "vmware-vapi-common-client==9.1.1.0",
];

/// The venv's python, installing the SDK the first time (one test at a time does it).
fn sdk_python() -> PathBuf {
    static INSTALL: Mutex<()> = Mutex::new(());
    let _one = INSTALL.lock().unwrap_or_else(|p| p.into_inner());
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/sdk-venv");
    let python = venv.join("bin/python");
    let marker = venv.join(".dlsim-sdk-9.1.1.0");
    if marker.exists() {
        return python;
    }
    let run = |cmd: &mut Command, what: &str| {
        let out = cmd
            .output()
            .unwrap_or_else(|e| panic!("cannot run {what}: {e} (is python3 installed?)"));
        assert!(
            out.status.success(),
            "{what} failed; the SDK tests need python3 with venv and PyPI:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let _ = std::fs::remove_dir_all(&venv);
    run(
        Command::new("python3").args(["-m", "venv"]).arg(&venv),
        "python3 -m venv",
    );
    run(
        Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .args(SDK),
        "pip install of the vSphere Automation SDK",
    );
    std::fs::write(&marker, SDK.join("\n")).expect("write the venv marker");
    python
}

/// Run the SDK script against `base` in `mode`, trusting the PEM certificate `ca`; its output,
/// or a panic with it.
fn drive(base: &str, ca: &Path, mode: &str, scenario: Option<&str>) -> String {
    let python = sdk_python();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sdk/drive.py");
    let mut cmd = Command::new(python);
    cmd.env("DLSIM_CA", ca);
    cmd.arg(script).args([base, mode, DEMO_OVF_ITEM_ID]);
    if let Some(s) = scenario {
        cmd.arg(s);
    }
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the SDK script");
    // A hang guard, not a timing assertion.
    let deadline = Instant::now() + Duration::from_secs(120);
    while child.try_wait().expect("wait for the SDK script").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the SDK script did not finish within 120 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().expect("the SDK script's output");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && text.contains("DONE"),
        "the SDK ({mode} mode) failed against dlsim:\n{text}"
    );
    text
}

/// A fake serving HTTPS, and its certificate in a PEM file for the SDK to trust.
async fn fake(scenario: Option<&str>) -> (Dlsim, tempfile::NamedTempFile) {
    let mut b = Dlsim::builder().tls().real_clock();
    if let Some(s) = scenario {
        b = b.scenario(s);
    }
    let fake = b.start().await;
    let ca = tempfile::NamedTempFile::new().expect("a temp file");
    std::fs::write(ca.path(), &fake.certificate().expect("TLS").pem).expect("write the PEM");
    (fake, ca)
}

fn base(fake: &Dlsim, mode: &str) -> String {
    match mode {
        "json" => fake.api_url(),
        _ => format!("{}/sdk-rest/api", fake.base_url()),
    }
}

async fn whole_download(mode: &'static str) {
    let (fake, ca) = fake(None).await;
    let (url, ca_path) = (base(&fake, mode), ca.path().to_path_buf());
    let out = tokio::task::spawn_blocking(move || drive(&url, &ca_path, mode, None))
        .await
        .unwrap();
    for step in [
        "ok: login",
        "ok: find the library and the item",
        "ok: create, get, list",
        "ok: file list, prepare and poll",
        "ok: keep_alive with progress",
        "ok: download 9412 bytes and verify the checksum",
        "ok: keep_alive after cancel raised",
        "ok: fail",
        "ok: get after delete raised NotFound",
        "ok: logout",
    ] {
        assert!(out.contains(step), "missing {step:?} in:\n{out}");
    }
    // The SDK is a careful client: it left nothing behind.
    let report = fake.verify();
    assert!(
        report.outcome("sessions-deleted").unwrap().passed,
        "{}",
        report.to_text()
    );
    let form = if mode == "json" {
        "jsonrpc"
    } else {
        "sdk-rest"
    };
    assert!(fake
        .journal()
        .iter()
        .filter(|e| e.op.is_some() && e.path != "session.expired")
        .filter(|e| e.op != Some(dlsim::OpName::Download))
        .all(|e| e.form.map(|f| f.as_str()) == Some(form)));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sdk_downloads_an_item_over_json_rpc() {
    whole_download("json").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sdk_downloads_an_item_in_its_rest_mode() {
    whole_download("rest").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sdk_surfaces_the_right_error_under_shelf_scenarios() {
    for scenario in ["prepare-error", "checksum-mismatch", "service-unavailable"] {
        for mode in ["json", "rest"] {
            let (fake, ca) = fake(Some(scenario)).await;
            let (url, ca_path) = (base(&fake, mode), ca.path().to_path_buf());
            let out =
                tokio::task::spawn_blocking(move || drive(&url, &ca_path, mode, Some(scenario)))
                    .await
                    .unwrap();
            let expected = match (scenario, mode) {
                ("prepare-error", _) => "file in ERROR with com.vmware.vdcs.cls-main.",
                ("checksum-mismatch", _) => "checksum mismatch seen",
                (_, "json") => "raised ServiceUnavailable (SERVICE_UNAVAILABLE)",
                // 'rest' mode raises the operation's first declared error class.
                _ => "raised InvalidArgument (SERVICE_UNAVAILABLE)",
            };
            assert!(out.contains(expected), "{scenario} {mode}: {out}");
        }
    }
}
