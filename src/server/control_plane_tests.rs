//! How the `/dlsim/` control plane treats a peer outside loopback, driven through the router
//! with the peer address the accept loop would attach (no test can connect from such an
//! address). The rest of the control plane's access rules are tested over HTTP in
//! `tests/control_plane.rs`.

use std::net::SocketAddr;

use axum::extract::ConnectInfo;
use serde_json::{json, Value};

use crate::{Dlsim, DEMO_OVF_ITEM_ID};

fn assert_api_error(body: &Value) {
    if let Err(v) = crate::schemas::validate("api/error", body) {
        panic!("not an /api error body: {v:?}\n{body:#}");
    }
}

fn ds_url(fake: &Dlsim) -> String {
    format!("{}/content/library/item/download-session", fake.api_url())
}

/// A client logged in to `fake` over `/api`, its token, and a session it created.
async fn session_on(fake: &Dlsim) -> (reqwest::Client, String, String) {
    let http = reqwest::Client::new();
    let token: String = http
        .post(format!("{}/session", fake.api_url()))
        .basic_auth(fake.username(), Some(fake.password()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let r = http
        .post(ds_url(fake))
        .header("vmware-api-session-id", &token)
        .json(&json!({ "library_item_id": DEMO_OVF_ITEM_ID }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let session: String = r.json().await.unwrap();
    (http, token, session)
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
        assert_api_error(body.as_ref().unwrap());
    }
    (status, body)
}

#[tokio::test]
async fn without_a_token_a_peer_outside_loopback_is_refused_and_changes_nothing() {
    let fake = Dlsim::start().await;
    let (http, token, session) = session_on(&fake).await;
    let server = crate::server::start(crate::server::ServerConfig {
        listen: ([127, 0, 0, 1], 0).into(),
        clock: crate::engine::Clock::virtual_at(crate::engine::clock::VIRTUAL_EPOCH),
        ..Default::default()
    })
    .await
    .unwrap();
    let app = crate::server::router(server.state().clone());
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
    let r = http
        .get(format!("{}/{session}", ds_url(&fake)))
        .header("vmware-api-session-id", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}
