//! Who may use the `/dlsim/` control plane: loopback peers only by default; with a control
//! token, whoever presents it and nobody else. Refusals are 403 `/api` errors that change
//! nothing, and the API itself is not affected. (How the router treats a peer outside
//! loopback, which no test can connect as, is tested in the crate: `server::control_plane_tests`.)

mod common;

use common::forms::{Client, Form};
use common::OVF_ITEM;
use dlsim::Dlsim;
use serde_json::Value;

async fn call(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    token: Option<&str>,
) -> (u16, Option<Value>) {
    let mut req = http.request(method, url);
    if let Some(t) = token {
        req = req.header("dlsim-control-token", t);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let bytes = r.bytes().await.unwrap();
    let body = (!bytes.is_empty()).then(|| serde_json::from_slice(&bytes).unwrap());
    if status >= 400 {
        common::assert_schema("api/error", body.as_ref().unwrap());
    }
    (status, body)
}

#[tokio::test]
async fn by_default_loopback_peers_may_control_over_http_and_tls() {
    for fake in [Dlsim::start().await, Dlsim::builder().tls().start().await] {
        let http = common::tls::any_cert_client();
        let url = format!("{}/dlsim/clock", fake.base_url());
        let (status, body) = call(&http, reqwest::Method::GET, url, None).await;
        assert_eq!(status, 200, "{body:?}");
        assert_eq!(body.unwrap()["virtual"], true);
    }
}

#[tokio::test]
async fn with_a_control_token_every_call_must_carry_it() {
    let fake = Dlsim::builder().control_token("s3cret").start().await;
    let c = Client::logged_in(&fake, Form::Rest).await;
    let id = c.create(OVF_ITEM, None).await.string();
    let http = common::tls::any_cert_client();
    let base = fake.base_url();
    use reqwest::Method;
    for token in [
        None,
        Some("wrong"),
        Some("s3cre"),
        Some("s3cret2"),
        Some(""),
    ] {
        for (method, path) in [
            (Method::GET, "/dlsim/clock"),
            (Method::POST, "/dlsim/reset"),
            (Method::POST, "/dlsim/clock?advance_ms=1000000"),
            (Method::GET, "/dlsim/faults"),
        ] {
            let (status, body) = call(&http, method.clone(), format!("{base}{path}"), token).await;
            assert_eq!(status, 403, "{method} {path} with {token:?}: {body:?}");
            assert_eq!(body.unwrap()["error_type"], "UNAUTHORIZED");
        }
    }
    // Nothing moved: the session is still there, the clock where it was.
    assert_eq!(c.get(&id).await.status, 200);
    assert_eq!(
        fake.clock().now(),
        dlsim::VIRTUAL_EPOCH,
        "the refused clock call moved nothing"
    );
    let (status, _) = call(
        &http,
        Method::GET,
        format!("{base}/dlsim/clock"),
        Some("s3cret"),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = call(
        &http,
        Method::POST,
        format!("{base}/dlsim/reset"),
        Some("s3cret"),
    )
    .await;
    assert_eq!(status, 204);
    assert_eq!(c.get(&id).await.status, 401, "reset ended the login");
}

/// Control-plane bodies over the server's limit get a JSON 413, like the API's.
#[tokio::test]
async fn control_plane_bodies_over_the_limit_get_a_json_413() {
    let fake = Dlsim::builder().body_limit(1024).start().await;
    let http = common::tls::any_cert_client();
    for path in ["/dlsim/faults", "/dlsim/scenario"] {
        let r = http
            .post(format!("{}{path}", fake.base_url()))
            .body(vec![b' '; 3 << 20])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 413, "{path}");
        let body: Value = r.json().await.unwrap();
        common::assert_schema("api/error", &body);
        assert_eq!(body["error_type"], "INVALID_REQUEST");
    }
    assert!(fake.faults().is_empty());
}
