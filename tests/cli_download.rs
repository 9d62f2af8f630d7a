//! `dlsim download`, the reference client: whole sessions against the fake (HTTPS pinned by
//! thumbprint, plain HTTP, slow prepares, every checksum algorithm), the failure paths against
//! a deliberately broken server (file ERROR, wrong checksum, wrong size, unsafe names, a wrong
//! endpoint thumbprint), and the binary against a `dlsim serve` child process.

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use md5::Md5;
use serde_json::{json, Value};
use sha1::{Digest, Sha1};
use sha2::{Sha256, Sha512};

use dlsim::Dlsim;
use dlsim::PrepareTiming;
use dlsim::TlsOptions;
use dlsim::{DownloadError as ClientError, DownloadEvent as Event, DownloadOptions, TlsPolicy};
use dlsim::{FileSpec, ItemSpec, LibrarySpec};

use common::serve::{dlsim, wait_ready, ChildGuard};

const SHA1_ITEM: &str = "0a000000-0000-4000-8000-000000000001";
const MD5_ITEM: &str = "0a000000-0000-4000-8000-000000000002";
const SHA256_ITEM: &str = "0a000000-0000-4000-8000-000000000003";
const SHA512_ITEM: &str = "0a000000-0000-4000-8000-000000000004";
const UNSET_ITEM: &str = "0a000000-0000-4000-8000-000000000005";

/// (item, algorithm as configured, files)
type ItemDef = (
    &'static str,
    Option<&'static str>,
    &'static [(&'static str, u64)],
);

const ITEMS: &[ItemDef] = &[
    (
        SHA1_ITEM,
        Some("SHA1"),
        &[
            ("small.ovf", 4_000),
            ("small.mf", 300),
            ("small-disk1.vmdk", 400 * 1024),
        ],
    ),
    (MD5_ITEM, Some("MD5"), &[("md5.iso", 300 * 1024 + 7)]),
    (
        SHA256_ITEM,
        Some("SHA256"),
        &[("sha256.bin", 200 * 1024), ("empty.bin", 0)],
    ),
    (SHA512_ITEM, Some("SHA512"), &[("sha512.bin", 250 * 1024)]),
    (UNSET_ITEM, None, &[("unset.bin", 1_000)]),
];

fn small_library() -> Vec<LibrarySpec> {
    vec![LibrarySpec {
        id: Some("0b000000-0000-4000-8000-000000000000".into()),
        name: "small".into(),
        description: None,
        items: ITEMS
            .iter()
            .map(|(id, algorithm, files)| ItemSpec {
                id: Some(id.to_string()),
                name: format!("item-{id}"),
                item_type: Some("ovf".into()),
                description: None,
                content_version: "1".into(),
                checksum_algorithm: algorithm.map(str::to_string),
                files: files
                    .iter()
                    .map(|(name, size)| FileSpec {
                        name: name.to_string(),
                        size: *size,
                    })
                    .collect(),
                path: None,
            })
            .collect(),
    }]
}

fn options(base: &str, user: &str, password: &str, item: &str, dir: &Path) -> DownloadOptions {
    let mut o = DownloadOptions::new(base, user, password, item);
    o.output_dir = dir.to_path_buf();
    o.poll_interval = Duration::from_millis(50);
    o.prepare_timeout = Duration::from_secs(10);
    o.keep_alive_interval = Duration::from_secs(60);
    o
}

fn fake_options(fake: &Dlsim, item: &str, dir: &Path) -> DownloadOptions {
    let mut o = options(fake.base_url(), fake.username(), fake.password(), item, dir);
    if let Some(c) = fake.certificate() {
        o.tls = TlsPolicy::Thumbprint(c.sha1.clone());
    }
    o
}

/// The digest of a file's bytes, computed here independently of the client.
fn digest(algorithm: &str, bytes: &[u8]) -> String {
    let raw: Vec<u8> = match algorithm {
        "SHA1" => Sha1::digest(bytes).to_vec(),
        "MD5" => Md5::digest(bytes).to_vec(),
        "SHA256" => Sha256::digest(bytes).to_vec(),
        "SHA512" => Sha512::digest(bytes).to_vec(),
        other => panic!("unexpected algorithm {other}"),
    };
    raw.iter().map(|b| format!("{b:02x}")).collect()
}

fn ignore(_: Event<'_>) {}

#[tokio::test]
async fn https_pinned_by_sha1_thumbprint_downloads_and_verifies_every_algorithm() {
    let fake = Dlsim::builder()
        .tls()
        .libraries(small_library())
        .start()
        .await;
    let cert = fake.certificate().unwrap().clone();
    let dir = tempfile::tempdir().unwrap();
    for (item, algorithm, files) in ITEMS {
        let out = dir.path().join(item);
        let report = dlsim::download(&fake_options(&fake, item, &out), ignore)
            .await
            .unwrap_or_else(|e| panic!("item {item}: {e}"));
        let expected_algorithm = algorithm.unwrap_or("SHA1");
        assert_eq!(report.files.len(), files.len());
        assert!(report.all_verified());
        assert!(report.session_deleted);
        assert!(report.warnings.is_empty(), "{:?}", report.warnings);
        assert_eq!(report.api_certificate.as_ref().unwrap().sha1, cert.sha1);
        for ((name, size), f) in files.iter().zip(&report.files) {
            assert_eq!(&f.name, name);
            assert_eq!(f.path, out.join(name));
            let bytes = std::fs::read(&f.path).unwrap();
            assert_eq!(bytes.len() as u64, *size, "{name}");
            assert_eq!(f.bytes, *size);
            assert_eq!(f.algorithm, expected_algorithm, "{name}");
            assert_eq!(f.checksum, digest(expected_algorithm, &bytes), "{name}");
            assert!(f.computed.eq_ignore_ascii_case(&f.checksum));
            // Each download connection was pinned by the endpoint's own (SHA-1) thumbprint.
            assert_eq!(f.certificate.as_ref().unwrap().sha1, cert.sha1);
            assert!(
                f.trust.contains("SHA-1 ssl_certificate_thumbprint"),
                "{}",
                f.trust
            );
        }
        let summary = report.summary();
        for (name, _) in files.iter() {
            let line = summary.lines().find(|l| l.contains(name)).unwrap();
            assert!(
                line.contains("verified") && line.contains(expected_algorithm),
                "{line}"
            );
        }
        assert!(summary.contains(&cert.sha1), "{summary}");
        assert_eq!(fake.session_count(), 0, "item {item}: session left");
    }
}

#[tokio::test]
async fn sha256_thumbprints_and_reported_certificates_pin_the_downloads() {
    let dir = tempfile::tempdir().unwrap();
    for (opts, trust) in [
        (
            TlsOptions {
                sha256_thumbprint: true,
                ..TlsOptions::default()
            },
            "SHA-256 ssl_certificate_thumbprint",
        ),
        (
            TlsOptions {
                report_certificate: true,
                ..TlsOptions::default()
            },
            "endpoint's ssl_certificate",
        ),
    ] {
        let fake = Dlsim::builder()
            .tls_options(opts)
            .libraries(small_library())
            .start()
            .await;
        let cert = fake.certificate().unwrap().clone();
        let mut o = fake_options(&fake, SHA256_ITEM, dir.path());
        o.tls = TlsPolicy::Thumbprint(cert.sha256.to_lowercase().replace(':', ""));
        let report = dlsim::download(&o, ignore).await.unwrap();
        assert_eq!(report.api_certificate.as_ref().unwrap().sha256, cert.sha256);
        let f = &report.files[0];
        assert!(f.verified);
        assert!(f.trust.contains(trust), "{}", f.trust);
        assert_eq!(f.certificate.as_ref().unwrap().sha256, cert.sha256);
        assert_eq!(fake.session_count(), 0);
    }
}

#[tokio::test]
async fn a_wrong_thumbprint_fails_before_any_session_is_created() {
    let fake = Dlsim::builder()
        .tls()
        .libraries(small_library())
        .start()
        .await;
    let real = fake.certificate().unwrap().sha1.clone();
    let dir = tempfile::tempdir().unwrap();
    let mut o = fake_options(&fake, SHA1_ITEM, dir.path());
    let wrong = "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33";
    o.tls = TlsPolicy::Thumbprint(wrong.into());
    let e = dlsim::download(&o, ignore).await.unwrap_err();
    assert!(matches!(e, ClientError::ThumbprintMismatch { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(msg.contains("thumbprint mismatch"), "{msg}");
    assert!(msg.contains(wrong), "names the expected thumbprint: {msg}");
    assert!(
        msg.contains(&real),
        "names what the server presented: {msg}"
    );
    assert!(msg.contains("logging in"), "{msg}");
    assert_eq!(fake.session_count(), 0);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);

    // A malformed thumbprint is refused before connecting.
    o.tls = TlsPolicy::Thumbprint("AB:CD".into());
    let e = dlsim::download(&o, ignore).await.unwrap_err();
    assert!(matches!(e, ClientError::BadThumbprint { .. }), "{e:?}");
}

#[tokio::test]
async fn insecure_accepts_the_self_signed_certificate_that_verification_refuses() {
    let fake = Dlsim::builder()
        .tls()
        .libraries(small_library())
        .start()
        .await;
    let dir = tempfile::tempdir().unwrap();
    let mut o = fake_options(&fake, UNSET_ITEM, dir.path());
    o.tls = TlsPolicy::Verify;
    let e = dlsim::download(&o, ignore).await.unwrap_err();
    assert!(matches!(e, ClientError::Transport { .. }), "{e:?}");
    assert_eq!(fake.session_count(), 0);

    o.tls = TlsPolicy::Insecure;
    let report = dlsim::download(&o, ignore).await.unwrap();
    assert!(report.all_verified());
    assert_eq!(
        report.api_certificate.unwrap().sha1,
        fake.certificate().unwrap().sha1
    );
}

#[tokio::test]
async fn plain_http_works_and_a_trailing_api_is_accepted() {
    let fake = Dlsim::builder().libraries(small_library()).start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut o = fake_options(&fake, SHA1_ITEM, dir.path());
    o.base_url = format!("{}/", fake.api_url());
    let report = dlsim::download(&o, ignore).await.unwrap();
    assert!(report.api_certificate.is_none());
    assert_eq!(report.api_url, fake.api_url());
    assert_eq!(report.files.len(), 3);
    for f in &report.files {
        assert!(f.verified);
        assert!(f.certificate.is_none());
        assert!(f.uri.starts_with("http://127.0.0.1:"), "{}", f.uri);
        let bytes = std::fs::read(&f.path).unwrap();
        assert_eq!(f.checksum, digest("SHA1", &bytes));
    }
    assert!(report.summary().contains("no TLS"));
    assert_eq!(fake.session_count(), 0);
}

#[tokio::test]
async fn the_client_waits_through_prepare_requested_and_preparing() {
    let fake = Dlsim::builder()
        .real_clock()
        .prepare_timing(PrepareTiming {
            requested_ms: 1000,
            preparing_ms: 1000,
            ..Default::default()
        })
        .libraries(small_library())
        .start()
        .await;
    let dir = tempfile::tempdir().unwrap();
    let o = fake_options(&fake, UNSET_ITEM, dir.path());
    let statuses = Mutex::new(Vec::<String>::new());
    let started = Instant::now();
    let report = dlsim::download(&o, |e| {
        if let Event::Status { status, .. } = e {
            statuses.lock().unwrap().push(status.to_string());
        }
    })
    .await
    .unwrap();
    assert!(report.all_verified());
    assert_eq!(
        *statuses.lock().unwrap(),
        ["PREPARE_REQUESTED", "PREPARING", "PREPARED"]
    );
    assert!(started.elapsed() >= Duration::from_millis(1900));
    assert_eq!(fake.session_count(), 0);
}

#[tokio::test]
async fn a_prepare_that_never_finishes_times_out_and_the_session_is_deleted() {
    // The virtual clock never moves, so the file stays PREPARE_REQUESTED.
    let fake = Dlsim::builder()
        .prepare_timing(PrepareTiming {
            requested_ms: 1000,
            preparing_ms: 1000,
            ..Default::default()
        })
        .libraries(small_library())
        .start()
        .await;
    let dir = tempfile::tempdir().unwrap();
    let mut o = fake_options(&fake, UNSET_ITEM, dir.path());
    o.prepare_timeout = Duration::from_millis(200);
    let e = dlsim::download(&o, ignore).await.unwrap_err();
    match &e {
        ClientError::PrepareTimeout { file, status, .. } => {
            assert_eq!(file, "unset.bin");
            assert_eq!(status, "PREPARE_REQUESTED");
        }
        other => panic!("{other:?}"),
    }
    assert!(e.to_string().contains("unset.bin"), "{e}");
    assert_eq!(fake.session_count(), 0);
}

#[tokio::test]
async fn an_interrupt_fails_and_deletes_the_session() {
    let fake = Dlsim::builder()
        .prepare_timing(PrepareTiming {
            requested_ms: 1000,
            preparing_ms: 0,
            ..Default::default()
        })
        .libraries(small_library())
        .start()
        .await;
    let dir = tempfile::tempdir().unwrap();
    let mut o = fake_options(&fake, UNSET_ITEM, dir.path());
    o.prepare_timeout = Duration::from_secs(30);
    let notify = tokio::sync::Notify::new();
    let sessions_seen = Mutex::new(None);
    let e = dlsim::download_until(
        &o,
        |e| {
            if let Event::Status { .. } = e {
                *sessions_seen.lock().unwrap() = Some(fake.session_count());
                notify.notify_one();
            }
        },
        notify.notified(),
    )
    .await
    .unwrap_err();
    assert!(matches!(e, ClientError::Interrupted), "{e:?}");
    assert_eq!(*sessions_seen.lock().unwrap(), Some(1));
    assert_eq!(fake.session_count(), 0);
}

#[tokio::test]
async fn http_errors_show_status_error_type_and_message() {
    let fake = Dlsim::builder().libraries(small_library()).start().await;
    let dir = tempfile::tempdir().unwrap();
    let o = fake_options(&fake, "no-such-item", dir.path());
    let e = dlsim::download(&o, ignore).await.unwrap_err().to_string();
    assert!(e.contains("creating a download session"), "{e}");
    assert!(e.contains("HTTP 404 NOT_FOUND: "), "{e}");
    assert!(e.contains("no-such-item"), "the server's message: {e}");

    let mut o = fake_options(&fake, SHA1_ITEM, dir.path());
    o.password = "wrong".into();
    let e = dlsim::download(&o, ignore).await.unwrap_err().to_string();
    assert!(e.contains("HTTP 401 UNAUTHENTICATED"), "{e}");
    assert_eq!(fake.session_count(), 0);
}

// ---------------------------------------------------------------------------------------------
// A deliberately broken server, to drive the failure paths the fake never takes.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    None,
    PrepareError,
    WrongChecksum,
    WrongSize,
    UnsafeName,
    /// The endpoint is https on another server, with a thumbprint that is not its.
    WrongEndpointThumbprint,
}

struct Mock {
    fault: Fault,
    content: Vec<u8>,
    /// File gets answered PREPARING before the file is PREPARED.
    preparing_polls: Mutex<u32>,
    base: Mutex<String>,
    endpoint: Mutex<Option<String>>,
    calls: Mutex<Vec<String>>,
    /// Serve the first half of the file, then the rest only once a keep-alive has reported
    /// progress strictly between 0 and 100.
    hold_half: std::sync::atomic::AtomicBool,
    progress_seen: tokio::sync::Notify,
    /// Per call: the path and its `vmware-api-session-id` header.
    session_headers: Mutex<Vec<(String, Option<String>)>>,
    client_token: Mutex<Option<String>>,
}

const MOCK_FILE: &str = "f.bin";
const SESSION_PATH: &str = "/api/content/library/item/download-session/s-1";

impl Mock {
    fn file_info(&self, status: &str, downloaded: bool) -> Value {
        let name = if self.fault == Fault::UnsafeName {
            "../evil.bin"
        } else {
            MOCK_FILE
        };
        let mut v = json!({"name": name, "bytes_transferred": 0, "status": status});
        if status == "ERROR" {
            v["error_message"] = json!({
                "id": "com.example.datastore_on_fire",
                "default_message": "The datastore is on fire.",
                "args": []
            });
        }
        if status == "PREPARED" {
            let size = self.content.len() + usize::from(self.fault == Fault::WrongSize);
            v["size"] = json!(size);
            v["download_endpoint"] = match &*self.endpoint.lock().unwrap() {
                Some(e) => json!({
                    "uri": e,
                    "ssl_certificate_thumbprint": "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33"
                }),
                None => json!({"uri": format!("{}/data/{MOCK_FILE}", self.base.lock().unwrap())}),
            };
        }
        if downloaded {
            // No `algorithm`: the contract says that means SHA1.
            let checksum = if self.fault == Fault::WrongChecksum {
                "0".repeat(40)
            } else {
                digest("SHA1", &self.content).to_uppercase()
            };
            v["checksum_info"] = json!({ "checksum": checksum });
        }
        v
    }

    fn status(&self) -> &'static str {
        if self.fault == Fault::PrepareError {
            return "ERROR";
        }
        let mut polls = self.preparing_polls.lock().unwrap();
        if *polls > 0 {
            *polls -= 1;
            "PREPARING"
        } else {
            "PREPARED"
        }
    }

    fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }
}

async fn mock_handler(
    State(m): State<Arc<Mock>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> Response {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    m.session_headers.lock().unwrap().push((
        format!("{method} {}", uri.path()),
        header("vmware-api-session-id"),
    ));
    if let Some(t) = header("client-token") {
        *m.client_token.lock().unwrap() = Some(t);
    }
    let query = uri.query().unwrap_or("").to_string();
    m.calls.lock().unwrap().push(
        format!("{method} {}?{query} {body}", uri.path())
            .trim()
            .to_string(),
    );
    let json_of = |status: StatusCode, v: Value| {
        (
            status,
            [("content-type", "application/json")],
            v.to_string(),
        )
            .into_response()
    };
    let files = format!("{SESSION_PATH}/file");
    match (method.as_str(), uri.path()) {
        ("POST", "/api/session") => json_of(StatusCode::CREATED, json!("token-1")),
        ("DELETE", "/api/session") => StatusCode::NO_CONTENT.into_response(),
        ("POST", "/api/content/library/item/download-session") => {
            json_of(StatusCode::CREATED, json!("s-1"))
        }
        ("GET", p) if p == files && query.is_empty() => {
            json_of(StatusCode::OK, json!([m.file_info("UNPREPARED", false)]))
        }
        ("POST", p) if p == files && query == "action=prepare" => {
            let status = if m.fault == Fault::PrepareError {
                "PREPARE_REQUESTED"
            } else {
                m.status()
            };
            json_of(StatusCode::OK, m.file_info(status, false))
        }
        ("GET", p) if p == files && query.starts_with("file_name=") => {
            let downloaded = m.calls().iter().any(|c| c.starts_with("GET /data/"));
            let status = if downloaded { "PREPARED" } else { m.status() };
            json_of(StatusCode::OK, m.file_info(status, downloaded))
        }
        ("POST", SESSION_PATH) => {
            let p = serde_json::from_str::<Value>(&body)
                .ok()
                .and_then(|b| b["progress"].as_i64());
            if query == "action=keep-alive" && p.is_some_and(|p| 0 < p && p < 100) {
                m.progress_seen.notify_one();
            }
            StatusCode::NO_CONTENT.into_response()
        }
        ("DELETE", SESSION_PATH) => StatusCode::NO_CONTENT.into_response(),
        ("GET", SESSION_PATH) => {
            let expires = time::OffsetDateTime::now_utc() + time::Duration::minutes(5);
            let expires = expires
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap();
            json_of(
                StatusCode::OK,
                json!({"library_item_id": "item-1", "library_item_content_version": "1",
                       "client_progress": 0, "state": "ACTIVE", "expiration_time": expires}),
            )
        }
        ("GET", p) if p == format!("/data/{MOCK_FILE}") => {
            if !m.hold_half.load(std::sync::atomic::Ordering::Relaxed) {
                return (StatusCode::OK, Body::from(m.content.clone())).into_response();
            }
            let (mut writer, reader) = tokio::io::duplex(1 << 20);
            let m2 = m.clone();
            tokio::spawn(async move {
                use tokio::io::AsyncWriteExt;
                let half = m2.content.len() / 2;
                writer.write_all(&m2.content[..half]).await.unwrap();
                writer.flush().await.unwrap();
                m2.progress_seen.notified().await;
                writer.write_all(&m2.content[half..]).await.unwrap();
            });
            let body = Body::from_stream(tokio_util::io::ReaderStream::new(reader));
            (
                StatusCode::OK,
                [("content-length", m.content.len().to_string())],
                body,
            )
                .into_response()
        }
        _ => json_of(
            StatusCode::NOT_FOUND,
            json!({"error_type": "NOT_FOUND", "messages": [{"id": "x", "default_message": "no such path", "args": []}]}),
        ),
    }
}

async fn start_mock(fault: Fault, preparing_polls: u32) -> Arc<Mock> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let mock = Arc::new(Mock {
        fault,
        content: (0..50_000u32).map(|i| (i * 7 % 251) as u8).collect(),
        preparing_polls: Mutex::new(preparing_polls),
        base: Mutex::new(base),
        endpoint: Mutex::new(None),
        calls: Mutex::new(Vec::new()),
        hold_half: false.into(),
        progress_seen: tokio::sync::Notify::new(),
        session_headers: Mutex::new(Vec::new()),
        client_token: Mutex::new(None),
    });
    let app = axum::Router::new()
        .fallback(mock_handler)
        .with_state(mock.clone());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    mock
}

fn mock_options(m: &Mock, dir: &Path) -> DownloadOptions {
    let base = m.base.lock().unwrap().clone();
    let mut o = options(&base, "u", "p", "item-1", dir);
    o.poll_interval = Duration::from_millis(10);
    o
}

/// The cleanup every failure must do, in order: fail (with `message`), delete, log out.
fn assert_failed_and_cleaned_up(calls: &[String], message: &str) {
    let fail = calls
        .iter()
        .position(|c| c.starts_with(&format!("POST {SESSION_PATH}?action=fail ")))
        .unwrap_or_else(|| panic!("no fail call in {calls:#?}"));
    let body: Value = serde_json::from_str(
        calls[fail]
            .split_once(' ')
            .unwrap()
            .1
            .split_once(' ')
            .unwrap()
            .1,
    )
    .unwrap();
    let text = body["client_error_message"].as_str().unwrap();
    assert!(text.contains(message), "{text}");
    assert_eq!(calls[fail + 1], format!("DELETE {SESSION_PATH}?"));
    assert_eq!(calls[fail + 2], "DELETE /api/session?");
    assert_eq!(calls.len(), fail + 3, "{calls:#?}");
}

#[tokio::test]
async fn a_file_in_error_fails_the_session_with_its_message() {
    let m = start_mock(Fault::PrepareError, 0).await;
    let dir = tempfile::tempdir().unwrap();
    let e = dlsim::download(&mock_options(&m, dir.path()), ignore)
        .await
        .unwrap_err();
    assert!(matches!(e, ClientError::PrepareFailed { .. }), "{e:?}");
    assert!(e.to_string().contains("The datastore is on fire."), "{e}");
    let calls = m.calls();
    assert_failed_and_cleaned_up(&calls, "The datastore is on fire.");
    assert!(!calls.iter().any(|c| c.contains("/data/")), "{calls:#?}");
}

#[tokio::test]
async fn verification_failures_fail_the_session_and_remove_the_file() {
    for (fault, expect) in [
        (Fault::WrongChecksum, "checksum mismatch"),
        (Fault::WrongSize, "reports size 50001"),
    ] {
        let m = start_mock(fault, 0).await;
        let dir = tempfile::tempdir().unwrap();
        let e = dlsim::download(&mock_options(&m, dir.path()), ignore)
            .await
            .unwrap_err();
        assert!(e.to_string().contains(expect), "{fault:?}: {e}");
        assert!(e.to_string().contains(MOCK_FILE), "{e}");
        assert_failed_and_cleaned_up(&m.calls(), expect);
        assert!(
            !dir.path().join(MOCK_FILE).exists(),
            "{fault:?}: an unverified file is left behind"
        );
    }
}

#[tokio::test]
async fn unsafe_file_names_are_refused_before_anything_is_written() {
    let m = start_mock(Fault::UnsafeName, 0).await;
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("out");
    let e = dlsim::download(&mock_options(&m, &dir), ignore)
        .await
        .unwrap_err();
    assert!(
        matches!(e, ClientError::UnsafeFileName(ref n) if n == "../evil.bin"),
        "{e:?}"
    );
    assert_failed_and_cleaned_up(&m.calls(), "../evil.bin");
    assert!(!parent.path().join("evil.bin").exists());
    assert!(!m.calls().iter().any(|c| c.contains("action=prepare")));
}

#[tokio::test]
async fn a_wrong_endpoint_thumbprint_fails_the_download_with_a_clear_message() {
    let tls = Dlsim::builder().tls().start().await;
    let presented = tls.certificate().unwrap().sha1.clone();
    let m = start_mock(Fault::WrongEndpointThumbprint, 0).await;
    *m.endpoint.lock().unwrap() = Some(format!("{}/cls/data/0000/{MOCK_FILE}", tls.base_url()));
    let dir = tempfile::tempdir().unwrap();
    let e = dlsim::download(&mock_options(&m, dir.path()), ignore)
        .await
        .unwrap_err();
    assert!(matches!(e, ClientError::ThumbprintMismatch { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(msg.contains(&format!("downloading {MOCK_FILE}")), "{msg}");
    assert!(
        msg.contains("SHA-1 00:11:22"),
        "the expected thumbprint: {msg}"
    );
    assert!(msg.contains(&presented), "the presented one: {msg}");
    assert_failed_and_cleaned_up(&m.calls(), "thumbprint mismatch");
    assert!(!dir.path().join(MOCK_FILE).exists());
}

#[tokio::test]
async fn keep_alive_reports_non_decreasing_progress_ending_at_100() {
    let m = start_mock(Fault::None, 8).await;
    m.hold_half
        .store(true, std::sync::atomic::Ordering::Relaxed);
    let dir = tempfile::tempdir().unwrap();
    let mut o = mock_options(&m, dir.path());
    o.poll_interval = Duration::from_millis(15);
    o.keep_alive_interval = Duration::from_millis(5);
    let report = dlsim::download(&o, ignore).await.unwrap();
    assert!(report.all_verified());
    assert_eq!(
        report.files[0].algorithm, "SHA1",
        "unset algorithm means SHA1"
    );
    let calls = m.calls();
    let progress: Vec<i64> = calls
        .iter()
        .filter(|c| c.starts_with(&format!("POST {SESSION_PATH}?action=keep-alive ")))
        .map(|c| {
            let body: Value = serde_json::from_str(c.rsplit_once(' ').unwrap().1).unwrap();
            body["progress"].as_i64().unwrap()
        })
        .collect();
    assert!(
        progress.len() >= 2,
        "background keep-alives were sent: {calls:#?}"
    );
    assert!(progress.windows(2).all(|w| w[0] <= w[1]), "{progress:?}");
    assert!(
        progress.iter().all(|p| (0..=100).contains(p)),
        "{progress:?}"
    );
    assert_eq!(progress.last(), Some(&100));
    assert!(
        progress.iter().any(|p| 0 < *p && *p < 100),
        "progress was reported mid-download: {progress:?}"
    );
    assert_eq!(
        &calls[calls.len() - 3..],
        [
            format!("POST {SESSION_PATH}?action=keep-alive {{\"progress\":100}}"),
            format!("DELETE {SESSION_PATH}?"),
            "DELETE /api/session?".to_string(),
        ]
    );
    assert!(!calls.iter().any(|c| c.contains("action=fail")));
    // Every API call after login carries the session token; the download URI does not need it.
    for (call, token) in m.session_headers.lock().unwrap().iter() {
        let expected = match call.as_str() {
            "POST /api/session" => None,
            c if c.starts_with("GET /data/") => None,
            _ => Some("token-1"),
        };
        assert_eq!(token.as_deref(), expected, "{call}");
    }
    // Create carried a fresh UUID v4 as Client-Token.
    let client_token = m.client_token.lock().unwrap().clone().unwrap();
    assert_eq!(client_token.len(), 36, "{client_token}");
    assert_eq!(&client_token[14..15], "4", "{client_token}");
    assert!(calls
        .iter()
        .any(|c| c.starts_with(&format!("GET {SESSION_PATH}/file?file_name={MOCK_FILE}"))));
}

// ---------------------------------------------------------------------------------------------
// The binary against a `dlsim serve` child process.

#[test]
fn the_binary_downloads_from_a_serve_child_over_pinned_tls() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("dlsim.toml");
    let item = "0c000000-0000-4000-8000-000000000001";
    std::fs::write(
        &config,
        format!(
            r#"
[[libraries]]
name = "small"
[[libraries.items]]
id = "{item}"
name = "tiny-ovf"
type = "ovf"
checksum_algorithm = "SHA256"
files = [{{ name = "tiny.ovf", size = 3000 }}, {{ name = "tiny.mf", size = 200 }}, {{ name = "tiny-disk1.vmdk", size = 300000 }}]
"#
        ),
    )
    .unwrap();
    let ready = dir.path().join("ready.json");
    let mut child = ChildGuard(
        dlsim()
            .args(["serve", "--listen", "127.0.0.1:0", "--tls", "--config"])
            .arg(&config)
            .arg("--ready-file")
            .arg(&ready)
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let info = wait_ready(&mut child.0, &ready);
    let api = info["api_url"].as_str().unwrap();
    let thumbprint = info["tls"]["sha1_thumbprint"].as_str().unwrap();
    let out: PathBuf = dir.path().join("out");
    let download = |thumbprint: &str, form: &str| {
        dlsim()
            .args(["download", api, "--user"])
            .arg(info["username"].as_str().unwrap())
            .arg("--password")
            .arg(info["password"].as_str().unwrap())
            .args(["--item", item, "--thumbprint", thumbprint, "--quiet"])
            .args(["--poll-interval-ms", "50", "--form", form, "--output"])
            .arg(&out)
            .output()
            .unwrap()
    };

    // The same download in each wire form of the API.
    for form in ["api", "rest", "jsonrpc"] {
        let _ = std::fs::remove_dir_all(&out);
        let run = download(thumbprint, form);
        let stdout = String::from_utf8_lossy(&run.stdout);
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(
            run.status.success(),
            "--form {form}: {}\n{stdout}\n{stderr}",
            run.status
        );
        for name in ["tiny.ovf", "tiny.mf", "tiny-disk1.vmdk"] {
            let line = stdout
                .lines()
                .find(|l| l.trim_start().starts_with(name))
                .unwrap_or_else(|| panic!("--form {form}: no summary line for {name}:\n{stdout}"));
            assert!(
                line.contains("verified") && line.contains("SHA256"),
                "{line}"
            );
            let bytes = std::fs::read(out.join(name)).unwrap();
            assert!(line.contains(&digest("SHA256", &bytes)), "{line}");
        }
        assert!(
            stdout.contains(thumbprint),
            "the presented certificate: {stdout}"
        );
        let calls_to = if form == "rest" { "/rest)" } else { "/api)" };
        assert!(stdout.contains(calls_to), "--form {form}: {stdout}");
        assert!(
            stderr.trim().is_empty(),
            "--quiet and no warnings: {stderr}"
        );
    }
    let run = download(thumbprint, "soap");
    assert_eq!(run.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("--form") && stderr.contains("jsonrpc"),
        "{stderr}"
    );

    let wrong = "AA".repeat(20);
    let run = download(&wrong, "jsonrpc");
    assert!(!run.status.success());
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("thumbprint mismatch"), "{stderr}");
    assert!(run.stdout.is_empty());
}
