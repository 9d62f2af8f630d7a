//! The whole download-session lifecycle over HTTP, driven as a client would drive it, once
//! per wire form with the same assertions: both forms stand on one engine.

mod common;

use std::time::Duration;

use common::forms::{Client, Form};
use common::{ISO_ITEM, OVF_ITEM};
use dlsim::Dlsim;
use dlsim::PrepareTiming;
use dlsim::Timestamp;
use rstest::rstest;
use serde_json::json;

#[rstest]
#[case::api(Form::Api)]
#[case::rest(Form::Rest)]
#[tokio::test]
async fn a_client_runs_the_whole_lifecycle(#[case] form: Form) {
    let fake = Dlsim::builder()
        .prepare_timing(PrepareTiming {
            requested_ms: 1_000,
            preparing_ms: 2_000,
            ..Default::default()
        })
        .start()
        .await;
    let c = Client::logged_in(&fake, form).await;

    // Discover an item.
    let libs = c.libraries().await;
    let lib = libs.first();
    assert_eq!(c.library(&lib).await.ok()["name"], "dlsim-demo");
    let items = c.items(&lib).await;
    let item = items.first();
    assert_eq!(item, OVF_ITEM);
    let content_version = c.item(&item).await.ok()["content_version"].clone();

    // Create: ACTIVE, progress 0, the item's content version, no id in get.
    let id = c.create(&item, None).await.string();
    let s = c.get(&id).await;
    let s = s.ok();
    assert_eq!(s["state"], "ACTIVE");
    assert_eq!(s["client_progress"], 0);
    assert_eq!(s["library_item_id"], item.as_str());
    assert_eq!(s["library_item_content_version"], content_version);
    assert!(s.get("id").is_none(), "id is documented as absent from get");
    let first_expiry = s["expiration_time"].as_str().unwrap().to_string();
    assert_eq!(c.list(Some(&item)).await.ok(), &json!([id]));
    assert_eq!(c.list(Some(ISO_ITEM)).await.ok(), &json!([]));

    // Files start UNPREPARED with no endpoint.
    let files = c.file_list(&id).await;
    let names: Vec<String> = files
        .ok()
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            assert_eq!(f["status"], "UNPREPARED");
            assert!(f.get("download_endpoint").is_none());
            f["name"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(
        names,
        ["photon-5.ovf", "photon-5.mf", "photon-5-disk1.vmdk"]
    );

    // Prepare and poll to PREPARED on the virtual clock, through every state.
    let file = &names[2];
    let prep = c.prepare(&id, file, Some("HTTPS")).await;
    assert_eq!(prep.ok()["status"], "PREPARE_REQUESTED");
    let mut seen = vec![];
    for _ in 0..10 {
        let f = c.file_get(&id, file).await;
        let f = f.ok();
        let status = f["status"].as_str().unwrap().to_string();
        if seen.last() != Some(&status) {
            seen.push(status.clone());
        }
        if status == "PREPARED" {
            let uri = f["download_endpoint"]["uri"].as_str().unwrap();
            assert!(
                uri.starts_with(&format!("{}/cls/data/", fake.base_url())),
                "{uri}"
            );
            assert!(uri.ends_with("/photon-5-disk1.vmdk"));
            assert_eq!(f["size"], 1_073_741_824i64);
            break;
        }
        assert!(
            f.get("download_endpoint").is_none(),
            "no endpoint before PREPARED"
        );
        fake.clock().advance(Duration::from_millis(500));
    }
    assert_eq!(seen, ["PREPARE_REQUESTED", "PREPARING", "PREPARED"]);

    // keep_alive with progress: recorded, and the expiry moves forward.
    c.keep_alive(&id, Some(50)).await.done();
    let s = c.get(&id).await;
    assert_eq!(s.ok()["client_progress"], 50);
    assert!(s.ok()["expiration_time"].as_str().unwrap() > first_expiry.as_str());

    // cancel → CANCELED; keep_alive is then NotAllowedInCurrentState.
    c.cancel(&id).await.done();
    assert_eq!(c.get(&id).await.ok()["state"], "CANCELED");
    let refused = c.keep_alive(&id, None).await;
    assert_eq!(
        (refused.status, refused.err()),
        (400, "NOT_ALLOWED_IN_CURRENT_STATE")
    );

    // fail another session → ERROR with the client's message.
    let other = c.create(&item, None).await.string();
    assert_ne!(other, id);
    c.fail(&other, "disk full on the client").await.done();
    let s = c.get(&other).await;
    assert_eq!(s.ok()["state"], "ERROR");
    assert_eq!(
        s.ok()["error_message"]["default_message"],
        "disk full on the client"
    );
    assert_eq!(c.cancel(&other).await.err(), "NOT_ALLOWED_IN_CURRENT_STATE");

    // delete → 404 afterwards.
    c.delete(&id).await.done();
    let gone = c.get(&id).await;
    assert_eq!((gone.status, gone.err()), (404, "NOT_FOUND"));
    assert_eq!(c.delete(&id).await.err(), "NOT_FOUND");
    assert_eq!(c.list(None).await.ok(), &json!([other]));

    // Documented errors in this form.
    assert_eq!(
        c.file_get(&other, "nope.vmdk").await.err(),
        "INVALID_ARGUMENT"
    );
    assert_eq!(c.create("no-such-item", None).await.err(), "NOT_FOUND");

    // Log out: the token stops working.
    c.logout().await.done();
    let out = c.list(None).await;
    assert_eq!((out.status, out.err()), (401, "UNAUTHENTICATED"));
}

#[rstest]
#[case::api(Form::Api)]
#[case::rest(Form::Rest)]
#[tokio::test]
async fn idle_sessions_expire_and_keep_alive_extends_them(#[case] form: Form) {
    let fake = Dlsim::builder()
        .idle_timeout(Duration::from_secs(300))
        .start()
        .await;
    let c = Client::logged_in(&fake, form).await;
    let idle = c.create(OVF_ITEM, None).await.string();
    let kept = c.create(OVF_ITEM, None).await.string();
    let s = c.get(&idle).await;
    let expiry = Timestamp::parse(s.ok()["expiration_time"].as_str().unwrap()).unwrap();
    assert_eq!(expiry.millis() - fake.clock().now().millis(), 300_000);

    // 200 s in, keep one alive; exactly at the expiration time both still exist.
    fake.clock().advance(Duration::from_secs(200));
    c.keep_alive(&kept, None).await.done();
    fake.clock().advance(Duration::from_secs(100));
    c.get(&idle).await.ok();

    // A millisecond later the idle one is gone; the kept one lives 200 s longer.
    fake.clock().advance(Duration::from_millis(1));
    assert_eq!(c.get(&idle).await.err(), "NOT_FOUND");
    c.get(&kept).await.ok();
    fake.clock().advance(Duration::from_secs(200));
    assert_eq!(c.get(&kept).await.err(), "NOT_FOUND");
    assert_eq!(c.list(None).await.ok(), &json!([]));
}

#[rstest]
#[case::api(Form::Api)]
#[case::rest(Form::Rest)]
#[tokio::test]
async fn a_repeated_client_token_returns_the_same_session(#[case] form: Form) {
    let fake = Dlsim::start().await;
    let c = Client::logged_in(&fake, form).await;
    let token = "0f8fad5b-d9cb-469f-a165-70867728950e";
    let a = c.create(OVF_ITEM, Some(token)).await;
    let b = c.create(OVF_ITEM, Some(token)).await;
    let other = c.create(OVF_ITEM, None).await;
    assert_eq!(a.ok(), b.ok());
    assert_ne!(a.ok(), other.ok());
}

#[tokio::test]
async fn a_session_made_through_one_form_is_seen_through_the_other() {
    let fake = Dlsim::start().await;
    let api = Client::logged_in(&fake, Form::Api).await;
    let mut rest = Client::new(Form::Rest, fake.base_url());
    // The same login token works on both forms.
    rest.token = api.token.clone();
    let id = rest.create(OVF_ITEM, None).await.string();
    api.keep_alive(&id, Some(30)).await.done();
    assert_eq!(rest.get(&id).await.ok()["client_progress"], 30);
    assert_eq!(api.get(&id).await.ok(), rest.get(&id).await.ok());
    rest.prepare(&id, "photon-5.mf", None).await.ok();
    let via_api = api.file_list(&id).await;
    let via_rest = rest.file_list(&id).await;
    assert_eq!(via_api.ok(), via_rest.ok());
    assert_eq!(via_api.ok()[1]["status"], "PREPARED");
    api.cancel(&id).await.done();
    assert_eq!(rest.get(&id).await.ok()["state"], "CANCELED");
}

/// A second user gets NOT_FOUND for every operation on the first user's session, with the very
/// body a session that does not exist gets (so ids cannot be probed), and changes nothing.
#[rstest]
#[case::api(Form::Api)]
#[case::rest(Form::Rest)]
#[tokio::test]
async fn another_user_cannot_see_or_touch_a_session(#[case] form: Form) {
    let fake = Dlsim::start().await;
    let owner = Client::logged_in(&fake, form).await;
    let mut other = Client::new(form, fake.base_url());
    other.login("operator@vsphere.local", "VMware1!").await.ok();
    let token = "0f8fad5b-d9cb-469f-a165-70867728950e";
    let id = owner.create(OVF_ITEM, Some(token)).await.string();
    const MISSING: &str = "3b241101-e2bb-4255-8caf-4136c566a962";
    let file = "photon-5.mf";

    macro_rules! same_as_missing {
        ($call:ident $(, $arg:expr)*) => {{
            let theirs = other.$call(&id $(, $arg)*).await;
            let missing = other.$call(MISSING $(, $arg)*).await;
            assert_eq!(
                (theirs.status, theirs.err()),
                (404, "NOT_FOUND"),
                "{} on another user's session",
                stringify!($call)
            );
            let body = |o: &common::forms::Out, id: &str| {
                o.raw.as_ref().unwrap().to_string().replace(id, "<id>")
            };
            assert_eq!(body(&theirs, &id), body(&missing, MISSING), "{}", stringify!($call));
        }};
    }
    same_as_missing!(get);
    same_as_missing!(file_list);
    same_as_missing!(file_get, file);
    same_as_missing!(prepare, file, None);
    same_as_missing!(keep_alive, Some(50));
    same_as_missing!(cancel);
    same_as_missing!(fail, "not mine");
    same_as_missing!(delete);
    assert_eq!(other.list(None).await.ok(), &json!([]));
    assert_eq!(other.list(Some(OVF_ITEM)).await.ok(), &json!([]));
    // The same client token from another user makes that user's own session.
    let theirs = other.create(OVF_ITEM, Some(token)).await.string();
    assert_ne!(theirs, id);
    assert_eq!(other.list(None).await.ok(), &json!([theirs]));

    // The owner's session is as it was.
    let s = owner.get(&id).await;
    assert_eq!(s.ok()["state"], "ACTIVE");
    assert_eq!(s.ok()["client_progress"], 0);
    let files = owner.file_list(&id).await;
    for f in files.ok().as_array().unwrap() {
        assert_eq!(f["status"], "UNPREPARED", "{f}");
    }
    assert_eq!(owner.list(None).await.ok(), &json!([id]));
    owner.delete(&id).await.done();
}
