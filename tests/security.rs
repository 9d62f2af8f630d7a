//! The security defaults the README lists, each pinned down: loopback unless told otherwise,
//! 128-bit tokens (random by default, from the seed when one is given), and a login on every
//! API route.

mod common;

use std::process::Stdio;

use common::forms::{Client, Form};
use common::serve::{dlsim, terminate, wait_ready, ChildGuard};
use common::OVF_ITEM;
use dlsim::Dlsim;
use dlsim::OpName;
use serde_json::Value;

fn is_128_bit_hex(t: &str) -> bool {
    t.len() == 32
        && t.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The first login token and download-URI token of a fake started with `seed`.
async fn tokens(seed: u64) -> (String, String) {
    let fake = Dlsim::builder().seed(seed).start().await;
    let mut c = Client::new(Form::Api, fake.base_url());
    let login = c.login(fake.username(), fake.password()).await.string();
    let id = c.create(OVF_ITEM, None).await.string();
    let f = c.prepare(&id, "photon-5.ovf", None).await;
    let uri = f.ok()["download_endpoint"]["uri"]
        .as_str()
        .unwrap()
        .to_string();
    let download = uri.split('/').nth(5).unwrap().to_string();
    (login, download)
}

#[tokio::test]
async fn tokens_are_128_bit_random_by_default_and_follow_a_given_seed() {
    let (login, download) = tokens(7).await;
    assert!(is_128_bit_hex(&login), "{login}");
    assert!(is_128_bit_hex(&download), "{download}");
    assert_ne!(login, download);
    // A fixed seed makes them predictable: that is what replay needs.
    assert_eq!(tokens(7).await, (login.clone(), download));
    assert_ne!(tokens(8).await.0, login);

    // `dlsim serve` without --seed draws a random seed: two servers, two different tokens.
    let mut first = Vec::new();
    for _ in 0..2 {
        let dir = tempfile::tempdir().unwrap();
        let ready = dir.path().join("ready.json");
        let child = dlsim()
            .args(["serve", "--listen", "127.0.0.1:0", "--ready-file"])
            .arg(&ready)
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut child = ChildGuard(child);
        let info = wait_ready(&mut child.0, &ready);
        let mut c = Client::new(Form::Api, info["base_url"].as_str().unwrap());
        let t = c
            .login(
                info["username"].as_str().unwrap(),
                info["password"].as_str().unwrap(),
            )
            .await
            .string();
        assert!(is_128_bit_hex(&t), "{t}");
        first.push(t);
        assert!(terminate(&mut child.0).success());
    }
    assert_ne!(first[0], first[1], "unseeded servers gave the same token");
}

/// One request per operation and form: (method, path, body).
fn routes(form: Form, op: OpName) -> Option<(&'static str, String, &'static str)> {
    const S: &str = "5d0f3a3c-0000-4000-8000-000000000000";
    const L: &str = "6f0c5d2e-8a1b-4c3d-9e7f-0a1b2c3d4e5f";
    let api = "/api/content/library/item/download-session";
    let rest = "/rest/com/vmware/content/library";
    let r = match (form, op) {
        (_, OpName::Login | OpName::Download) => return None,
        // Only /rest has the find operations.
        (Form::Api, OpName::LibraryFind | OpName::ItemFind) => return None,
        (Form::Api, OpName::SessionGet) => ("GET", "/api/session".into(), ""),
        (Form::Api, OpName::Logout) => ("DELETE", "/api/session".into(), ""),
        (Form::Api, OpName::LibraryList) => ("GET", "/api/content/library".into(), ""),
        (Form::Api, OpName::LibraryGet) => ("GET", format!("/api/content/library/{L}"), ""),
        (Form::Api, OpName::ItemList) => (
            "GET",
            format!("/api/content/library/item?library_id={L}"),
            "",
        ),
        (Form::Api, OpName::ItemGet) => {
            ("GET", format!("/api/content/library/item/{OVF_ITEM}"), "")
        }
        (Form::Api, OpName::Create) => ("POST", api.into(), "{\"library_item_id\": "),
        (Form::Api, OpName::Get) => ("GET", format!("{api}/{S}"), ""),
        (Form::Api, OpName::List) => ("GET", format!("{api}?library_item_id={OVF_ITEM}"), ""),
        (Form::Api, OpName::KeepAlive) => ("POST", format!("{api}/{S}?action=keep-alive"), ""),
        (Form::Api, OpName::Cancel) => ("POST", format!("{api}/{S}?action=cancel"), ""),
        (Form::Api, OpName::Fail) => ("POST", format!("{api}/{S}?action=fail"), "[]"),
        (Form::Api, OpName::Delete) => ("DELETE", format!("{api}/{S}"), ""),
        (Form::Api, OpName::FileList) => ("GET", format!("{api}/{S}/file"), ""),
        (Form::Api, OpName::FileGet) => ("GET", format!("{api}/{S}/file?file_name=x"), ""),
        (Form::Api, OpName::FilePrepare) => {
            ("POST", format!("{api}/{S}/file?action=prepare"), "{}")
        }
        (Form::Rest, OpName::SessionGet) => (
            "POST",
            "/rest/com/vmware/cis/session?~action=get".into(),
            "",
        ),
        (Form::Rest, OpName::Logout) => ("DELETE", "/rest/com/vmware/cis/session".into(), ""),
        (Form::Rest, OpName::LibraryList) => ("GET", rest.into(), ""),
        (Form::Rest, OpName::LibraryGet) => ("GET", format!("{rest}/id:{L}"), ""),
        (Form::Rest, OpName::LibraryFind) => ("POST", format!("{rest}?~action=find"), "{}"),
        (Form::Rest, OpName::ItemList) => ("GET", format!("{rest}/item?library_id={L}"), ""),
        (Form::Rest, OpName::ItemGet) => ("GET", format!("{rest}/item/id:{OVF_ITEM}"), ""),
        (Form::Rest, OpName::ItemFind) => ("POST", format!("{rest}/item?~action=find"), "[["),
        (Form::Rest, OpName::Create) => ("POST", format!("{rest}/item/download-session"), "{}"),
        (Form::Rest, OpName::Get) => ("GET", format!("{rest}/item/download-session/id:{S}"), ""),
        (Form::Rest, OpName::List) => ("GET", format!("{rest}/item/download-session"), ""),
        (Form::Rest, OpName::KeepAlive) => (
            "POST",
            format!("{rest}/item/download-session/id:{S}?~action=keep-alive"),
            "",
        ),
        (Form::Rest, OpName::Cancel) => (
            "POST",
            format!("{rest}/item/download-session/id:{S}?~action=cancel"),
            "",
        ),
        (Form::Rest, OpName::Fail) => (
            "POST",
            format!("{rest}/item/download-session/id:{S}?~action=fail"),
            "",
        ),
        (Form::Rest, OpName::Delete) => {
            ("DELETE", format!("{rest}/item/download-session/id:{S}"), "")
        }
        (Form::Rest, OpName::FileList) => (
            "GET",
            format!("{rest}/item/downloadsession/file?download_session_id={S}"),
            "",
        ),
        (Form::Rest, OpName::FileGet) => (
            "POST",
            format!("{rest}/item/downloadsession/file/id:{S}?~action=get"),
            "{\"file_name\":\"x\"}",
        ),
        (Form::Rest, OpName::FilePrepare) => (
            "POST",
            format!("{rest}/item/downloadsession/file/id:{S}?~action=prepare"),
            "{}",
        ),
    };
    Some(r)
}

/// Every API operation on both forms, asked without a token and with a forged one, answers
/// 401 UNAUTHENTICATED in its form's JSON error body, before anything else about the request
/// (its body, its ids) is looked at; nothing is created.
#[tokio::test]
async fn every_api_route_needs_a_login() {
    let fake = Dlsim::start().await;
    let http = common::tls::any_cert_client();
    let mut walked = 0;
    for form in [Form::Api, Form::Rest] {
        for &op in OpName::ALL {
            let Some((method, path, body)) = routes(form, op) else {
                let find = matches!(op, OpName::LibraryFind | OpName::ItemFind);
                assert!(
                    !op.needs_login() || (form == Form::Api && find),
                    "{op} needs a login but has no route in {form:?} here"
                );
                continue;
            };
            for token in [None, Some("0123456789abcdef0123456789abcdef")] {
                let mut req = http.request(
                    method.parse().unwrap(),
                    format!("{}{path}", fake.base_url()),
                );
                if let Some(t) = token {
                    req = req.header("vmware-api-session-id", t);
                }
                if !body.is_empty() {
                    req = req.header("content-type", "application/json").body(body);
                }
                let r = req.send().await.unwrap();
                let status = r.status().as_u16();
                let ct = r.headers().get("content-type").cloned();
                let body: Value = r.json().await.unwrap();
                let what = format!("{form:?} {op} {method} {path} with {token:?}");
                assert_eq!(status, 401, "{what}: {body}");
                assert_eq!(ct.unwrap(), "application/json", "{what}");
                match form {
                    Form::Api => {
                        common::assert_schema("api/error", &body);
                        assert_eq!(body["error_type"], "UNAUTHENTICATED", "{what}");
                    }
                    Form::Rest => {
                        common::assert_schema("rest/error", &body);
                        assert_eq!(
                            body["type"], "com.vmware.vapi.std.errors.unauthenticated",
                            "{what}"
                        );
                    }
                }
                walked += 1;
            }
        }
    }
    assert_eq!(walked, 2 * (16 + 18), "routes walked");
    assert_eq!(fake.session_count(), 0);
    // Every request was journaled, refused ones with no user.
    let journal = fake.journal();
    assert_eq!(journal.len(), walked);
    assert!(journal.iter().all(|e| e.user.is_none() && e.status == 401));
}
