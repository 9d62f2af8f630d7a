//! Who may use the `/dlsim/` control plane: loopback peers only by default; with a control
//! token, whoever presents it and nobody else. Refusals are 403 `/api` errors that change
//! nothing, and the API itself is not affected.

mod common;

use std::net::SocketAddr;

use axum::extract::ConnectInfo;
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

/// The router as the accept loop drives it, with the peer address it would attach.
async fn as_peer(
    app: &axum::Router,
    peer: Option<&str>,
    method: &str,
    path: &str,
) -> (u16, Option<Value>) {
    let mut req = axum::http::Request::builder()
        .method(method)
        .uri(path)
        .body(axum::body::Body::empty())
        .unwrap();
    if let Some(p) = peer {
        req.extensions_mut()
            .insert(ConnectInfo(p.parse::<SocketAddr>().unwrap()));
    }
    let resp = tower::ServiceExt::oneshot(app.clone(), req).await.unwrap();
    let status = resp.status().as_u16();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    let body: Option<Value> = (!bytes.is_empty()).then(|| serde_json::from_slice(&bytes).unwrap());
    if status >= 400 {
        common::assert_schema("api/error", body.as_ref().unwrap());
    }
    (status, body)
}

#[tokio::test]
async fn without_a_token_a_peer_outside_loopback_is_refused_and_changes_nothing() {
    let fake = Dlsim::start().await;
    let c = Client::logged_in(&fake, Form::Api).await;
    let id = c.create(OVF_ITEM, None).await.string();
    let server = dlsim::server::start(dlsim::server::ServerConfig {
        listen: ([127, 0, 0, 1], 0).into(),
        clock: dlsim::engine::Clock::virtual_at(dlsim::engine::clock::VIRTUAL_EPOCH),
        ..Default::default()
    })
    .await
    .unwrap();
    let app = dlsim::server::router(server.state().clone());
    // 192.0.2.0/24 is TEST-NET-1: an address value only, no packet goes anywhere.
    for remote in ["192.0.2.7:40000", "[2001:db8::7]:40000"] {
        for (method, path) in [
            ("GET", "/dlsim/clock"),
            ("POST", "/dlsim/clock?advance_ms=1000000"),
            ("POST", "/dlsim/reset"),
            ("GET", "/dlsim/journal"),
            ("DELETE", "/dlsim/faults"),
        ] {
            let (status, body) = as_peer(&app, Some(remote), method, path).await;
            assert_eq!(status, 403, "{method} {path} from {remote}: {body:?}");
            assert_eq!(body.unwrap()["error_type"], "UNAUTHORIZED");
        }
    }
    // No peer known (never the case behind the accept loop): refused too.
    assert_eq!(as_peer(&app, None, "GET", "/dlsim/clock").await.0, 403);
    for local in ["127.0.0.1:40000", "[::1]:40000", "[::ffff:127.0.0.1]:40000"] {
        assert_eq!(
            as_peer(&app, Some(local), "GET", "/dlsim/clock").await.0,
            200
        );
    }
    // The API answers any peer as before.
    let (status, _) = as_peer(&app, Some("192.0.2.7:40000"), "GET", "/api/session").await;
    assert_eq!(status, 401);
    // The fake reached over loopback was never touched.
    assert_eq!(c.get(&id).await.status, 200);
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
        dlsim::engine::clock::VIRTUAL_EPOCH,
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
    assert!(fake.engine().faults().list().is_empty());
}
