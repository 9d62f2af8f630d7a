//! The fault engine end to end: every shelf scenario shows its effect on the demo library,
//! scenarios replay to the same journal, the control plane works over HTTP, and client
//! verification catches the usual client mistakes.

mod common;

use std::time::Duration;

use common::forms::{Client, Form};
use dlsim::Dlsim;
use dlsim::OpName;
use dlsim::DEMO_OVF_ITEM_ID as OVF_ITEM;
use dlsim::{Fault, What};
use serde_json::{json, Value};
use sha1::{Digest, Sha1};

const OVF: &str = "photon-5.ovf";
const OVF_SIZE: usize = 9_412;
const DISK: &str = "photon-5-disk1.vmdk";

async fn fake(scenario: &str) -> Dlsim {
    Dlsim::builder().scenario(scenario).start().await
}

async fn api(fake: &Dlsim) -> Client {
    Client::logged_in(fake, Form::Api).await
}

/// A new session on the demo OVF item.
async fn session(c: &Client) -> String {
    c.create(OVF_ITEM, None).await.string()
}

/// Prepare a file and return its download URI once PREPARED (on a virtual clock: at once).
async fn prepared_uri(c: &Client, id: &str, file: &str) -> String {
    c.prepare(id, file, None).await.ok();
    let info = c.file_get(id, file).await;
    info.ok()["download_endpoint"]["uri"]
        .as_str()
        .unwrap_or_else(|| panic!("{file} is not PREPARED: {:?}", info.value))
        .to_string()
}

/// Download a URI: status, the bytes received, and whether the body ended cleanly.
async fn download(uri: &str, range_from: Option<u64>) -> (u16, Vec<u8>, bool) {
    let http = common::tls::any_cert_client();
    let mut req = http.get(uri);
    if let Some(from) = range_from {
        req = req.header("Range", format!("bytes={from}-"));
    }
    let mut resp = req.send().await.expect("the download starts");
    let status = resp.status().as_u16();
    let mut bytes = Vec::new();
    loop {
        match resp.chunk().await {
            Ok(Some(c)) => bytes.extend_from_slice(&c),
            Ok(None) => return (status, bytes, true),
            Err(_) => return (status, bytes, false),
        }
    }
}

fn sha1_hex(bytes: &[u8]) -> String {
    Sha1::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn journal_text(fake: &Dlsim) -> String {
    fake.journal()
        .iter()
        .map(|e| serde_json::to_string(e).unwrap() + "\n")
        .collect()
}

// ---- every shelf scenario shows its effect ----

#[tokio::test]
async fn prepare_error_puts_the_disk_in_error_with_a_content_library_message() {
    let fake = fake("prepare-error").await;
    let c = api(&fake).await;
    let id = session(&c).await;
    c.prepare(&id, DISK, None).await.ok();
    let disk = c.file_get(&id, DISK).await;
    assert_eq!(disk.ok()["status"], "ERROR");
    assert_eq!(
        disk.ok()["error_message"]["id"],
        "com.vmware.vdcs.cls-main.file_transfer_failed"
    );
    assert!(disk.ok().get("download_endpoint").is_none());
    // Only the disk: the descriptor still prepares.
    prepared_uri(&c, &id, OVF).await;
    assert_eq!(c.get(&id).await.ok()["state"], "ACTIVE");
}

#[tokio::test]
async fn session_error_fails_the_session_on_the_second_poll() {
    let fake = fake("session-error").await;
    let c = api(&fake).await;
    let id = session(&c).await;
    c.prepare(&id, OVF, None).await.ok();
    c.file_get(&id, OVF).await.ok();
    assert_eq!(c.get(&id).await.ok()["state"], "ACTIVE");
    c.file_get(&id, OVF).await;
    let s = c.get(&id).await;
    assert_eq!(s.ok()["state"], "ERROR");
    assert_eq!(
        s.ok()["error_message"]["id"],
        "com.vmware.vdcs.cls-main.session_has_missing_or_invalid_files"
    );
    assert_eq!(
        c.keep_alive(&id, None).await.err(),
        "NOT_ALLOWED_IN_CURRENT_STATE"
    );
}

#[tokio::test]
async fn stuck_prepare_never_leaves_preparing() {
    let fake = fake("stuck-prepare").await;
    let c = api(&fake).await;
    let id = session(&c).await;
    c.prepare(&id, DISK, None).await.ok();
    for _ in 0..3 {
        fake.clock().advance(Duration::from_secs(100));
        c.keep_alive(&id, None).await.done();
        assert_eq!(c.file_get(&id, DISK).await.ok()["status"], "PREPARING");
    }
}

#[tokio::test]
async fn slow_prepare_takes_three_seconds_more() {
    let fake = fake("slow-prepare").await;
    let c = api(&fake).await;
    let id = session(&c).await;
    assert_eq!(c.prepare(&id, OVF, None).await.ok()["status"], "PREPARING");
    fake.clock().advance(Duration::from_millis(2_999));
    assert_eq!(c.file_get(&id, OVF).await.ok()["status"], "PREPARING");
    fake.clock().advance(Duration::from_millis(1));
    assert_eq!(c.file_get(&id, OVF).await.ok()["status"], "PREPARED");
}

#[tokio::test]
async fn expiry_during_download_expires_idle_sessions_after_two_seconds() {
    let fake = fake("expiry-during-download").await;
    let c = api(&fake).await;
    let kept = session(&c).await;
    let idle = session(&c).await;
    for _ in 0..3 {
        fake.clock().advance(Duration::from_millis(1_500));
        c.keep_alive(&kept, None).await.done();
    }
    assert_eq!(c.get(&idle).await.err(), "NOT_FOUND");
    assert_eq!(c.get(&kept).await.ok()["state"], "ACTIVE");
    let expired: Vec<_> = fake
        .journal()
        .into_iter()
        .filter(|e| e.path == "session.expired")
        .collect();
    assert_eq!(expired.len(), 1);
    assert_eq!(expired[0].session.as_deref(), Some(idle.as_str()));
}

#[tokio::test]
async fn checksum_mismatch_reports_a_checksum_the_bytes_do_not_have() {
    let fake = fake("checksum-mismatch").await;
    let c = api(&fake).await;
    let id = session(&c).await;
    let uri = prepared_uri(&c, &id, OVF).await;
    let (status, bytes, clean) = download(&uri, None).await;
    assert_eq!((status, bytes.len(), clean), (200, OVF_SIZE, true));
    let info = c.file_get(&id, OVF).await;
    let reported = info.ok()["checksum_info"]["checksum"].as_str().unwrap();
    assert_ne!(reported, sha1_hex(&bytes));
    assert_eq!(info.ok()["size"], OVF_SIZE);
}

#[tokio::test]
async fn corrupt_bytes_flips_one_byte_and_keeps_the_checksum_honest() {
    let clean_fake = Dlsim::start().await;
    let c0 = api(&clean_fake).await;
    let id0 = session(&c0).await;
    let (_, good, _) = download(&prepared_uri(&c0, &id0, OVF).await, None).await;

    let fake = fake("corrupt-bytes").await;
    let c = api(&fake).await;
    let id = session(&c).await;
    let (status, bad, clean) = download(&prepared_uri(&c, &id, OVF).await, None).await;
    assert_eq!((status, clean), (200, true));
    let differ: Vec<usize> = (0..good.len()).filter(|&i| good[i] != bad[i]).collect();
    assert_eq!(differ, [100]);
    let reported = c.file_get(&id, OVF).await.ok()["checksum_info"]["checksum"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(reported, sha1_hex(&good));
}

#[tokio::test]
async fn truncated_transfer_cuts_the_first_download_and_a_range_resumes_it() {
    let fake = fake("truncated-transfer").await;
    let c = api(&fake).await;
    let id = session(&c).await;
    let uri = prepared_uri(&c, &id, OVF).await;
    let (status, first, clean) = download(&uri, None).await;
    assert_eq!((status, first.len(), clean), (200, 4096, false));
    let (status, rest, clean) = download(&uri, Some(4096)).await;
    assert_eq!((status, rest.len(), clean), (206, OVF_SIZE - 4096, true));
    let whole = [first, rest].concat();
    let reported = c.file_get(&id, OVF).await.ok()["checksum_info"]["checksum"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(reported, sha1_hex(&whole));
    let journal = fake.journal();
    let cut = journal
        .iter()
        .find(|e| e.op == Some(OpName::Download))
        .unwrap();
    assert_eq!(cut.bytes, 4096);
    assert_eq!(cut.faults, ["1:truncate:cut descriptor"]);
}

#[tokio::test]
async fn connection_reset_cuts_an_api_answer_and_a_download() {
    let fake = fake("connection-reset").await;
    let c = api(&fake).await;
    let id = session(&c).await;
    c.prepare(&id, "photon-5.mf", None).await.ok();
    let uri = c.file_get(&id, "photon-5.mf").await.ok()["download_endpoint"]["uri"]
        .as_str()
        .unwrap()
        .to_string();
    // The second poll's answer is cut before its first byte.
    let url = format!(
        "{}/api/content/library/item/download-session/{id}/file?file_name=photon-5.mf",
        fake.base_url()
    );
    let http = common::tls::any_cert_client();
    let second = http
        .get(&url)
        .header("vmware-api-session-id", c.token.clone().unwrap())
        .send()
        .await;
    let cut = match second {
        Err(_) => true,
        Ok(r) => r.bytes().await.is_err(),
    };
    assert!(cut, "the second poll's answer was not cut");
    let (_, bytes, clean) = download(&uri, None).await;
    assert_eq!((bytes.len(), clean), (100, false));
    let (_, bytes, clean) = download(&uri, None).await;
    assert_eq!((bytes.len(), clean), (181, true));
}

#[tokio::test]
async fn throttled_downloads_still_deliver_every_byte() {
    let fake = fake("throttled").await;
    let c = api(&fake).await;
    let id = session(&c).await;
    let uri = prepared_uri(&c, &id, "photon-5.mf").await;
    let (status, bytes, clean) = download(&uri, None).await;
    assert_eq!((status, bytes.len(), clean), (200, 181, true));
    let d = fake.journal().pop().unwrap();
    assert_eq!(d.faults, ["1:throttle:throttled downloads"]);
    assert_eq!(d.bytes, 181);
}

#[tokio::test]
async fn service_unavailable_answers_503_with_retry_after_then_recovers() {
    let fake = fake("service-unavailable").await;
    let c = api(&fake).await;
    for _ in 0..2 {
        let out = c.create(OVF_ITEM, None).await;
        assert_eq!((out.status, out.err()), (503, "SERVICE_UNAVAILABLE"));
    }
    let id = session(&c).await;
    assert_eq!(c.prepare(&id, OVF, None).await.status, 503);
    c.prepare(&id, OVF, None).await.ok();
    let retry: Vec<_> = fake
        .journal()
        .iter()
        .filter_map(|e| e.retry_after)
        .collect();
    assert_eq!(retry, [1, 1, 1]);
    // The header itself, on /rest too: the fault matches every form.
    fake.reset();
    fake.load_scenario("service-unavailable").unwrap();
    let mut rest = Client::new(Form::Rest, fake.base_url());
    rest.login(fake.username(), fake.password()).await.ok();
    let r = common::tls::any_cert_client()
        .post(format!(
            "{}/rest/com/vmware/content/library/item/download-session",
            fake.base_url()
        ))
        .header("vmware-api-session-id", rest.token.clone().unwrap())
        .json(&json!({"create_spec": {"library_item_id": OVF_ITEM}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    assert_eq!(r.headers()["retry-after"], "1");
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body["type"],
        "com.vmware.vapi.std.errors.service_unavailable"
    );
}

#[tokio::test]
async fn login_expired_answers_401_and_ends_the_login_but_not_the_session() {
    let fake = fake("login-expired").await;
    let mut c = api(&fake).await;
    let id = session(&c).await;
    c.prepare(&id, OVF, None).await.ok();
    c.file_get(&id, OVF).await.ok();
    c.file_get(&id, OVF).await.ok();
    assert_eq!(c.file_get(&id, OVF).await.err(), "UNAUTHENTICATED");
    assert_eq!(c.get(&id).await.err(), "UNAUTHENTICATED");
    c.login(fake.username(), fake.password()).await.ok();
    assert_eq!(c.file_get(&id, OVF).await.ok()["status"], "PREPARED");
}

#[tokio::test]
async fn lost_session_vanishes_at_the_second_poll() {
    let fake = fake("lost-session").await;
    let c = api(&fake).await;
    let id = session(&c).await;
    c.prepare(&id, OVF, None).await.ok();
    c.file_get(&id, OVF).await.ok();
    assert_eq!(c.file_get(&id, OVF).await.err(), "NOT_FOUND");
    assert_eq!(c.get(&id).await.err(), "NOT_FOUND");
    assert!(c.list(None).await.ok().as_array().unwrap().is_empty());
}

/// Thirty session reads under flaky-network; the statuses they got.
async fn flaky_run(seed: Option<u64>) -> (Vec<u16>, String) {
    let mut b = Dlsim::builder().scenario("flaky-network");
    if let Some(s) = seed {
        b = b.seed(s);
    }
    let fake = b.start().await;
    let mut c = Client::new(Form::Api, fake.base_url());
    while c.login(fake.username(), fake.password()).await.status != 201 {}
    let mut id = None;
    while id.is_none() {
        let out = c.create(OVF_ITEM, None).await;
        id = out.value.and_then(|v| v.as_str().map(str::to_string));
    }
    let id = id.unwrap();
    let mut statuses = Vec::new();
    for _ in 0..30 {
        statuses.push(c.get(&id).await.status);
    }
    (statuses, journal_text(&fake))
}

#[tokio::test]
async fn flaky_network_is_random_but_replays_exactly_with_its_seed() {
    let (a, journal_a) = flaky_run(None).await;
    let (b, journal_b) = flaky_run(None).await;
    assert!(a.contains(&503) && a.contains(&200), "{a:?}");
    assert_eq!(a, b);
    assert_eq!(
        journal_a, journal_b,
        "same seed, same calls: the same journal"
    );
    let (other, _) = flaky_run(Some(99)).await;
    assert_ne!(a, other, "another seed draws other faults");
}

/// One call whatever happens to it (a cut answer reads as status 0); the value when JSON.
async fn raw(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Option<Value>) {
    let mut req = http.request(method, url);
    if let Some(t) = token {
        req = req.header("vmware-api-session-id", t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    match req.send().await {
        Err(_) => (0, None),
        Ok(r) => {
            let status = r.status().as_u16();
            match r.bytes().await {
                Err(_) => (0, None),
                Ok(b) => (status, serde_json::from_slice(&b).ok()),
            }
        }
    }
}

/// The same calls under a scenario, on a fresh fake: its journal.
async fn scripted_run(name: &str) -> String {
    use reqwest::Method;
    let fake = fake(name).await;
    let http = common::tls::any_cert_client();
    let api = fake.api_url();
    let ds = format!("{api}/content/library/item/download-session");
    let token = http
        .post(format!("{api}/session"))
        .basic_auth(fake.username(), Some(fake.password()))
        .send()
        .await
        .unwrap()
        .json::<String>()
        .await
        .unwrap();
    let t = Some(token.as_str());
    let mut id = String::new();
    for _ in 0..3 {
        let spec = json!({ "library_item_id": OVF_ITEM });
        if let (201, Some(Value::String(s))) =
            raw(&http, Method::POST, ds.clone(), t, Some(spec)).await
        {
            id = s;
            break;
        }
    }
    for file in [OVF, DISK] {
        let files = format!("{ds}/{id}/file");
        let body = json!({ "file_name": file });
        raw(
            &http,
            Method::POST,
            format!("{files}?action=prepare"),
            t,
            Some(body),
        )
        .await;
        for poll in 0..2 {
            let (_, info) = raw(
                &http,
                Method::GET,
                format!("{files}?file_name={file}"),
                t,
                None,
            )
            .await;
            let uri = info
                .as_ref()
                .and_then(|i| i["download_endpoint"]["uri"].as_str())
                .map(str::to_string);
            if let (Some(uri), OVF, 0) = (uri, file, poll) {
                download(&uri, None).await;
            }
        }
    }
    fake.clock().advance(Duration::from_secs(1));
    raw(&http, Method::GET, format!("{ds}/{id}"), t, None).await;
    raw(&http, Method::DELETE, format!("{ds}/{id}"), t, None).await;
    journal_text(&fake)
}

/// Run the same calls under every scenario twice: the journals are the same byte for byte.
#[tokio::test]
async fn every_shelf_scenario_replays_to_an_identical_journal() {
    for name in dlsim::scenario_names() {
        let first = scripted_run(name).await;
        let second = scripted_run(name).await;
        assert_eq!(first, second, "{name} did not replay");
        assert!(
            first.contains("\"faults\""),
            "{name}: no fault fired:\n{first}"
        );
    }
}

// ---- the control plane ----

#[tokio::test]
async fn faults_are_added_listed_and_removed_over_http() {
    let fake = Dlsim::start().await;
    let http = common::tls::any_cert_client();
    let base = fake.base_url();
    let r = http
        .post(format!("{base}/dlsim/faults"))
        .json(&json!({
            "name": "get fails",
            "when": {"op": "download_session.get"},
            "what": {"kind": "http_error", "status": 500},
            "times": 1
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let ids: Value = r.json().await.unwrap();
    assert_eq!(ids["ids"], json!([1]));

    let c = api(&fake).await;
    let id = session(&c).await;
    assert_eq!(c.get(&id).await.err(), "INTERNAL_SERVER_ERROR");
    c.get(&id).await.ok();

    let list: Value = http
        .get(format!("{base}/dlsim/faults"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["faults"][0]["fired"], 1);
    assert_eq!(list["faults"][0]["calls"], 2);

    let gone = http
        .delete(format!("{base}/dlsim/faults/1"))
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 204);
    let again = http
        .delete(format!("{base}/dlsim/faults/1"))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 404);
    assert_eq!(
        again.json::<Value>().await.unwrap()["error_type"],
        "NOT_FOUND"
    );
}

#[tokio::test]
async fn bad_faults_and_scenarios_are_refused_in_json_and_nothing_loaded_is_lost() {
    let fake = Dlsim::start().await;
    fake.add_fault(Fault::new(What::ExpireNow).on(OpName::Cancel));
    let http = common::tls::any_cert_client();
    let base = fake.base_url();
    let bad = [
        ("/dlsim/faults", "{not json"),
        (
            "/dlsim/faults",
            r#"{"what": {"kind": "http_error", "status": 200}}"#,
        ),
        (
            "/dlsim/faults",
            r#"{"what": {"kind": "expire_now"}, "when": {"opp": 1}}"#,
        ),
        ("/dlsim/scenario", r#"{"name": "no-such-scenario"}"#),
        ("/dlsim/scenario", r#"{"toml": "[[faults]]\nwhat = 3"}"#),
        ("/dlsim/clock?advance_ms=-5", ""),
    ];
    for (path, body) in bad {
        let r = http
            .post(format!("{base}{path}"))
            .body(body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let ct = r.headers()["content-type"].to_str().unwrap().to_string();
        let json: Value = r.json().await.unwrap();
        assert_eq!(status, 400, "{path} {body}: {json}");
        assert_eq!(ct, "application/json");
        assert_eq!(json["error_type"], "INVALID_ARGUMENT", "{path} {body}");
    }
    assert_eq!(fake.faults().len(), 1);
}

#[tokio::test]
async fn a_scenario_loads_at_run_time_and_reset_starts_over() {
    let fake = Dlsim::start().await;
    let http = common::tls::any_cert_client();
    let base = fake.base_url();
    let shelf: Value = http
        .get(format!("{base}/dlsim/scenarios"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(shelf["scenarios"].as_array().unwrap().len(), 14);
    let r = http
        .post(format!("{base}/dlsim/scenario"))
        .json(&json!({"name": "lost-session"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let c = api(&fake).await;
    let id = session(&c).await;
    c.file_get(&id, OVF).await;
    assert_eq!(c.file_get(&id, OVF).await.err(), "NOT_FOUND");

    let j = http
        .get(format!("{base}/dlsim/journal?since=2"))
        .send()
        .await
        .unwrap();
    assert_eq!(j.headers()["content-type"], "application/x-ndjson");
    assert_eq!(j.headers()["dlsim-journal-last"], "4");
    let lines: Vec<Value> = j
        .text()
        .await
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[1]["seq"], 4);
    assert_eq!(lines[1]["status"], 404);
    assert_eq!(lines[1]["faults"], json!(["1:session_vanish:session lost"]));

    let r = http
        .post(format!("{base}/dlsim/reset"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert!(fake.journal().is_empty());
    assert!(fake.faults().is_empty());
    assert_eq!(c.get(&id).await.err(), "UNAUTHENTICATED");
}

// ---- each fault family, in Rust ----

#[tokio::test]
async fn data_faults_bend_size_and_thumbprint_too() {
    let fake = Dlsim::builder()
        .tls()
        .fault(Fault::new(What::WrongSize { delta: -1 }).file("*.ovf"))
        .fault(Fault::new(What::WrongThumbprint).file("*.mf"))
        .start()
        .await;
    let c = api(&fake).await;
    let id = session(&c).await;
    c.prepare(&id, OVF, None).await.ok();
    assert_eq!(c.file_get(&id, OVF).await.ok()["size"], OVF_SIZE - 1);
    c.prepare(&id, "photon-5.mf", None).await.ok();
    let real = fake.certificate().unwrap().sha1.clone();
    let mf = c.file_get(&id, "photon-5.mf").await;
    let shown = mf.ok()["download_endpoint"]["ssl_certificate_thumbprint"]
        .as_str()
        .unwrap();
    assert_ne!(shown, real);
    let ovf = c.file_get(&id, OVF).await;
    assert_eq!(
        ovf.ok()["download_endpoint"]["ssl_certificate_thumbprint"],
        real.as_str()
    );
}

#[tokio::test]
async fn a_fault_can_aim_at_one_user_one_form_and_the_nth_session() {
    let fake = Dlsim::builder()
        .fault(
            Fault::new(What::HttpError {
                status: 429,
                retry_after_secs: Some(3),
            })
            .on(OpName::Get)
            .user("operator@vsphere.local"),
        )
        .fault(Fault::new(What::SessionVanish).on(OpName::Get).session(2))
        .start()
        .await;
    let admin = api(&fake).await;
    let mut operator = Client::new(Form::Rest, fake.base_url());
    operator
        .login("operator@vsphere.local", "VMware1!")
        .await
        .ok();
    let first = session(&admin).await;
    let second = session(&admin).await;
    admin.get(&first).await.ok();
    assert_eq!(admin.get(&second).await.err(), "NOT_FOUND");
    let theirs = operator.create(OVF_ITEM, None).await.string();
    let out = operator.get(&theirs).await;
    assert_eq!((out.status, out.err()), (429, "RESOURCE_BUSY"));
}

#[tokio::test]
async fn latency_delays_answers_and_is_journaled_as_injected_on_a_virtual_clock() {
    let fake = Dlsim::builder()
        .fault(
            Fault::new(What::Latency {
                ms: Some(50),
                min_ms: None,
                max_ms: None,
            })
            .on(OpName::List),
        )
        .start()
        .await;
    let c = api(&fake).await;
    c.list(None).await.ok();
    let e = fake.journal().pop().unwrap();
    assert_eq!((e.op, e.latency_ms), (Some(OpName::List), 50));
}

// ---- verification catches the usual client mistakes ----

#[tokio::test]
async fn a_client_that_leaks_sessions_is_caught() {
    let fake = Dlsim::start().await;
    let mut c = api(&fake).await;
    let leaked = session(&c).await;
    let tidy = session(&c).await;
    c.delete(&tidy).await.done();
    c.logout().await.done();
    c.token = None;
    let report = fake.verify();
    assert!(!report.passed);
    let o = report.outcome("sessions-deleted").unwrap();
    assert!(!o.passed);
    assert_eq!(o.findings.len(), 1);
    assert!(o.findings[0].explanation.contains(&leaked));
    assert!(report.outcome("logged-out").unwrap().passed);
}

#[tokio::test]
async fn a_client_that_never_keeps_alive_is_caught() {
    let fake = Dlsim::start().await;
    let c = api(&fake).await;
    let id = session(&c).await;
    let uri = prepared_uri(&c, &id, OVF).await;
    fake.clock().advance(Duration::from_secs(301));
    // Still using it: the URI and the session are gone.
    assert_eq!(download(&uri, None).await.0, 404);
    assert_eq!(c.get(&id).await.err(), "NOT_FOUND");
    let o = fake.verify();
    assert!(!o.outcome("kept-alive").unwrap().passed, "{}", o.to_text());
}

#[tokio::test]
async fn a_client_that_polls_a_file_in_error_forever_is_caught() {
    let fake = fake("prepare-error").await;
    let c = api(&fake).await;
    let id = session(&c).await;
    c.prepare(&id, DISK, None).await.ok();
    for _ in 0..10 {
        assert_eq!(c.file_get(&id, DISK).await.ok()["status"], "ERROR");
    }
    let report = fake.verify();
    let o = report.outcome("stops-polling-error").unwrap();
    assert!(!o.passed, "{}", report.to_text());
}

#[tokio::test]
async fn a_client_that_keeps_a_truncated_file_is_caught() {
    let fake = fake("truncated-transfer").await;
    let c = api(&fake).await;
    let id = session(&c).await;
    let uri = prepared_uri(&c, &id, OVF).await;
    let (_, bytes, clean) = download(&uri, None).await;
    assert!(!clean && bytes.len() < OVF_SIZE);
    // It keeps the 4 KiB it got, reports success, and cleans up.
    c.delete(&id).await.done();
    let report = fake.verify();
    let o = report.outcome("downloads-complete").unwrap();
    assert!(!o.passed, "{}", report.to_text());
}

#[tokio::test]
async fn a_careful_client_passes_and_verify_on_drop_checks_it() {
    let fake = Dlsim::builder()
        .scenario("truncated-transfer")
        .verify_on_drop()
        .start()
        .await;
    let mut c = api(&fake).await;
    let id = session(&c).await;
    let uri = prepared_uri(&c, &id, OVF).await;
    let (_, first, _) = download(&uri, None).await;
    let (_, rest, clean) = download(&uri, Some(first.len() as u64)).await;
    assert!(clean);
    let whole = [first, rest].concat();
    let info = c.file_get(&id, OVF).await;
    assert_eq!(
        info.ok()["checksum_info"]["checksum"].as_str().unwrap(),
        sha1_hex(&whole)
    );
    c.delete(&id).await.done();
    c.logout().await.done();
    c.token = None;
    fake.stop().await.unwrap();
}

#[tokio::test]
#[should_panic(expected = "sessions-deleted")]
async fn verify_on_drop_fails_a_test_whose_client_leaked() {
    let fake = Dlsim::builder().verify_on_drop().start().await;
    let c = api(&fake).await;
    session(&c).await;
    c.logout().await.done();
    drop(fake);
}
