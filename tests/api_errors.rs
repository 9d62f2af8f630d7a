//! Bad input and documented errors on `/api`: every one answers with the `/api` error body and
//! the right status, and leaves the store exactly as it was.

mod common;

use common::{Api, DS, ISO_ITEM, OVF_ITEM};
use dlsim::Dlsim;
use reqwest::Method;
use rstest::rstest;

/// A logged-in client with one ACTIVE session on the OVF item.
async fn setup() -> (Dlsim, Api, String) {
    let fake = Dlsim::start().await;
    let mut api = Api::new(fake.api_url());
    api.login(fake.username(), fake.password()).await;
    let body = format!(r#"{{"library_item_id":"{OVF_ITEM}"}}"#);
    let id = api
        .expect(Method::POST, DS, Some(&body), 201, Some("api/id"))
        .await
        .str()
        .to_string();
    (fake, api, id)
}

/// Everything observable about the store: the session list and every session with its files.
async fn observe(api: &Api) -> serde_json::Value {
    let ids = api.call(Method::GET, DS, None).await;
    let mut out = vec![];
    for id in ids.json().as_array().unwrap() {
        let id = id.as_str().unwrap();
        let s = api.call(Method::GET, &format!("{DS}/{id}"), None).await;
        let f = api
            .call(Method::GET, &format!("{DS}/{id}/file"), None)
            .await;
        out.push(serde_json::json!({"id": id, "session": s.json(), "files": f.json()}));
    }
    serde_json::Value::Array(out)
}

#[rstest]
#[case::malformed_json_on_create(
    Method::POST,
    "DS",
    "{\"library_item_id\": ",
    400,
    "INVALID_REQUEST"
)]
#[case::create_body_not_an_object(Method::POST, "DS", "[1,2]", 400, "INVALID_ARGUMENT")]
#[case::create_missing_item_id(Method::POST, "DS", "{}", 400, "INVALID_ARGUMENT")]
#[case::create_item_id_wrong_type(
    Method::POST,
    "DS",
    r#"{"library_item_id": 42}"#,
    400,
    "INVALID_ARGUMENT"
)]
#[case::create_unknown_field(
    Method::POST,
    "DS",
    r#"{"library_item_id":"x","colour":"red"}"#,
    400,
    "INVALID_ARGUMENT"
)]
#[case::create_unknown_item(
    Method::POST,
    "DS",
    r#"{"library_item_id":"no-such-item"}"#,
    404,
    "NOT_FOUND"
)]
#[case::create_bad_state_enum(
    Method::POST,
    "DS",
    r#"{"library_item_id":"x","state":"DONE"}"#,
    400,
    "INVALID_ARGUMENT"
)]
#[case::keep_alive_negative_progress(
    Method::POST,
    "SESSION?action=keep-alive",
    r#"{"progress":-1}"#,
    400,
    "INVALID_ARGUMENT"
)]
#[case::keep_alive_progress_past_100(
    Method::POST,
    "SESSION?action=keep-alive",
    r#"{"progress":101}"#,
    400,
    "INVALID_ARGUMENT"
)]
#[case::keep_alive_progress_string(
    Method::POST,
    "SESSION?action=keep-alive",
    r#"{"progress":"50"}"#,
    400,
    "INVALID_ARGUMENT"
)]
#[case::keep_alive_progress_fraction(
    Method::POST,
    "SESSION?action=keep-alive",
    r#"{"progress":5.5}"#,
    400,
    "INVALID_ARGUMENT"
)]
#[case::keep_alive_ansible_spec_wrapper(
    Method::POST,
    "SESSION?action=keep-alive",
    r#"{"spec":{"progress":5}}"#,
    400,
    "INVALID_ARGUMENT"
)]
#[case::post_without_action(Method::POST, "SESSION", r#"{"progress":5}"#, 400, "INVALID_REQUEST")]
#[case::unknown_action(Method::POST, "SESSION?action=complete", None, 400, "INVALID_REQUEST")]
#[case::fail_without_message(Method::POST, "SESSION?action=fail", None, 400, "INVALID_ARGUMENT")]
#[case::fail_message_not_string(
    Method::POST,
    "SESSION?action=fail",
    r#"{"client_error_message":["x"]}"#,
    400,
    "INVALID_ARGUMENT"
)]
#[case::cancel_with_unknown_field(
    Method::POST,
    "SESSION?action=cancel",
    r#"{"force":true}"#,
    400,
    "INVALID_ARGUMENT"
)]
#[case::prepare_unknown_file(
    Method::POST,
    "SESSION/file?action=prepare",
    r#"{"file_name":"nope.vmdk"}"#,
    400,
    "INVALID_ARGUMENT"
)]
#[case::prepare_missing_file_name(
    Method::POST,
    "SESSION/file?action=prepare",
    "{}",
    400,
    "INVALID_ARGUMENT"
)]
#[case::prepare_bad_endpoint_type(
    Method::POST,
    "SESSION/file?action=prepare",
    r#"{"file_name":"photon-5.ovf","endpoint_type":"FTP"}"#,
    400,
    "INVALID_ARGUMENT"
)]
#[case::prepare_without_action(
    Method::POST,
    "SESSION/file",
    r#"{"file_name":"photon-5.ovf"}"#,
    400,
    "INVALID_REQUEST"
)]
#[case::get_unknown_file(
    Method::GET,
    "SESSION/file?file_name=nope.vmdk",
    None,
    400,
    "INVALID_ARGUMENT"
)]
#[case::get_unknown_session(
    Method::GET,
    "DS/5d0f3a3c-0000-4000-8000-000000000000",
    None,
    404,
    "NOT_FOUND"
)]
#[case::keep_alive_unknown_session(
    Method::POST,
    "DS/unknown?action=keep-alive",
    None,
    404,
    "NOT_FOUND"
)]
#[case::delete_unknown_session(Method::DELETE, "DS/unknown", None, 404, "NOT_FOUND")]
#[case::files_of_unknown_session(Method::GET, "DS/unknown/file", None, 404, "NOT_FOUND")]
#[case::list_unknown_item(Method::GET, "DS?library_item_id=no-such-item", None, 404, "NOT_FOUND")]
#[case::unknown_route(
    Method::GET,
    "/content/library/item/download-sessions",
    None,
    404,
    "NOT_FOUND"
)]
#[case::unknown_route_outside_api(Method::GET, "/../nothing/here", None, 404, "NOT_FOUND")]
#[case::wrong_method(Method::PUT, "SESSION", None, 405, "OPERATION_NOT_FOUND")]
#[case::wrong_method_on_collection(Method::DELETE, "DS", None, 405, "OPERATION_NOT_FOUND")]
#[case::item_list_without_library(
    Method::GET,
    "/content/library/item",
    None,
    400,
    "INVALID_ARGUMENT"
)]
#[case::unknown_library(Method::GET, "/content/library/nope", None, 404, "NOT_FOUND")]
#[case::unknown_item(Method::GET, "/content/library/item/nope", None, 404, "NOT_FOUND")]
#[tokio::test]
async fn bad_requests_get_api_errors_and_change_nothing(
    #[case] method: Method,
    #[case] path: &str,
    #[case] body: impl Into<Option<&'static str>>,
    #[case] status: u16,
    #[case] error_type: &str,
) {
    let (_fake, api, id) = setup().await;
    let path = path
        .replacen("SESSION", &format!("{DS}/{id}"), 1)
        .replacen("DS", DS, 1);
    let before = observe(&api).await;
    let got = api.expect_error(method, &path, body.into(), status).await;
    assert_eq!(got, error_type);
    assert_eq!(observe(&api).await, before, "the store changed");
}

#[tokio::test]
async fn progress_must_not_go_down() {
    let (_fake, api, id) = setup().await;
    let ka = format!("{DS}/{id}?action=keep-alive");
    api.expect(Method::POST, &ka, Some(r#"{"progress":60}"#), 204, None)
        .await;
    api.expect(Method::POST, &ka, Some(r#"{"progress":60}"#), 204, None)
        .await;
    assert_eq!(
        api.expect_error(Method::POST, &ka, Some(r#"{"progress":59}"#), 400)
            .await,
        "INVALID_ARGUMENT"
    );
    let s = api.call(Method::GET, &format!("{DS}/{id}"), None).await;
    assert_eq!(s.json()["client_progress"], 60);
    api.expect(Method::POST, &ka, Some(r#"{"progress":100}"#), 204, None)
        .await;
}

#[tokio::test]
async fn bodies_over_the_limit_get_413() {
    let fake = Dlsim::builder().body_limit(1024).start().await;
    let mut api = Api::new(fake.api_url());
    api.login(fake.username(), fake.password()).await;
    let big = format!(r#"{{"library_item_id":"{}"}}"#, "x".repeat(4096));
    let r = api.call(Method::POST, DS, Some(&big)).await;
    assert_eq!(r.status, 413);
    assert_eq!(r.error_type(), "INVALID_REQUEST");
    assert_eq!(fake.session_count(), 0);
}

#[tokio::test]
async fn calls_without_a_valid_session_are_401() {
    let fake = Dlsim::start().await;
    let mut api = Api::new(fake.api_url());
    for path in [
        DS.to_string(),
        format!("{DS}/x"),
        "/content/library".into(),
        "/session".into(),
    ] {
        assert_eq!(
            api.expect_error(Method::GET, &path, None, 401).await,
            "UNAUTHENTICATED"
        );
    }
    api.token = Some("not-a-token".into());
    assert_eq!(
        api.expect_error(Method::POST, DS, Some("{}"), 401).await,
        "UNAUTHENTICATED"
    );
    // Wrong password, no credentials, a non-Basic scheme.
    let r = api
        .http
        .post(format!("{}/session", api.base))
        .basic_auth(fake.username(), Some("wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = api
        .http
        .post(format!("{}/session", api.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = api
        .http
        .post(format!("{}/session", api.base))
        .header("authorization", "Bearer abc")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let body: serde_json::Value = r.json().await.unwrap();
    common::assert_schema("api/error", &body);
    assert_eq!(fake.session_count(), 0);
}

#[tokio::test]
async fn direct_endpoints_need_read_storage() {
    let (fake, mut api, id) = setup().await;
    let prep = api
        .expect(
            Method::POST,
            &format!("{DS}/{id}/file?action=prepare"),
            Some(r#"{"file_name":"photon-5.ovf","endpoint_type":"DIRECT"}"#),
            200,
            Some("api/file_info"),
        )
        .await;
    let uri = prep.json()["download_endpoint"]["uri"].as_str().unwrap();
    assert!(uri.starts_with("ds:///vmfs/volumes/"), "{uri}");
    assert!(uri.ends_with("/photon-5.ovf"));

    // The demo operator lacks ContentLibrary.ReadStorage.
    api.login("operator@vsphere.local", fake.password()).await;
    let body = format!(r#"{{"library_item_id":"{ISO_ITEM}"}}"#);
    let op = api
        .expect(Method::POST, DS, Some(&body), 201, Some("api/id"))
        .await
        .str()
        .to_string();
    let path = format!("{DS}/{op}/file?action=prepare");
    let direct = r#"{"file_name":"ubuntu-24.04-live-server-amd64.iso","endpoint_type":"DIRECT"}"#;
    assert_eq!(
        api.expect_error(Method::POST, &path, Some(direct), 403)
            .await,
        "UNAUTHORIZED"
    );
    let f = api
        .expect(
            Method::GET,
            &format!("{DS}/{op}/file?file_name=ubuntu-24.04-live-server-amd64.iso"),
            None,
            200,
            Some("api/file_info"),
        )
        .await;
    assert_eq!(f.json()["status"], "UNPREPARED");
    // HTTPS (the default) is fine for the operator.
    let https = r#"{"file_name":"ubuntu-24.04-live-server-amd64.iso"}"#;
    let f = api
        .expect(Method::POST, &path, Some(https), 200, Some("api/file_info"))
        .await;
    assert_eq!(f.json()["status"], "PREPARED");
}

#[tokio::test]
async fn users_without_the_download_privilege_cannot_create() {
    use dlsim::User;
    let fake = Dlsim::builder()
        .users(vec![User::new("viewer@vsphere.local", "pw", &[])])
        .start()
        .await;
    let mut api = Api::new(fake.api_url());
    api.login("viewer@vsphere.local", "pw").await;
    let body = format!(r#"{{"library_item_id":"{OVF_ITEM}"}}"#);
    assert_eq!(
        api.expect_error(Method::POST, DS, Some(&body), 403).await,
        "UNAUTHORIZED"
    );
    assert_eq!(fake.session_count(), 0);
}

#[tokio::test]
async fn prepare_is_refused_outside_active_but_reads_still_work() {
    let (_fake, api, id) = setup().await;
    api.expect(
        Method::POST,
        &format!("{DS}/{id}?action=cancel"),
        None,
        204,
        None,
    )
    .await;
    let path = format!("{DS}/{id}/file?action=prepare");
    let got = api
        .expect_error(
            Method::POST,
            &path,
            Some(r#"{"file_name":"photon-5.ovf"}"#),
            400,
        )
        .await;
    assert_eq!(got, "NOT_ALLOWED_IN_CURRENT_STATE");
    api.expect(
        Method::GET,
        &format!("{DS}/{id}/file"),
        None,
        200,
        Some("api/file_info_list"),
    )
    .await;
    for action in ["keep-alive", "cancel"] {
        let got = api
            .expect_error(
                Method::POST,
                &format!("{DS}/{id}?action={action}"),
                None,
                400,
            )
            .await;
        assert_eq!(got, "NOT_ALLOWED_IN_CURRENT_STATE");
    }
    let got = api
        .expect_error(
            Method::POST,
            &format!("{DS}/{id}?action=fail"),
            Some(r#"{"client_error_message":"x"}"#),
            400,
        )
        .await;
    assert_eq!(got, "NOT_ALLOWED_IN_CURRENT_STATE");
}

#[tokio::test]
async fn python_sdk_file_get_sends_the_name_in_a_body() {
    let (_fake, api, id) = setup().await;
    let f = api
        .expect(
            Method::GET,
            &format!("{DS}/{id}/file?file_name"),
            Some(r#"{"file_name":"photon-5.mf"}"#),
            200,
            Some("api/file_info"),
        )
        .await;
    assert_eq!(f.json()["name"], "photon-5.mf");
    let got = api
        .expect_error(Method::GET, &format!("{DS}/{id}/file?file_name"), None, 400)
        .await;
    assert_eq!(got, "INVALID_ARGUMENT");
}

#[tokio::test]
async fn govmomi_style_empty_chunked_bodies_read_as_empty() {
    let (_fake, api, id) = setup().await;
    let url = format!("{}{DS}/{id}?action=keep-alive", api.base);
    let empty = futures_stream_body();
    let r = api
        .http
        .post(url)
        .header("vmware-api-session-id", api.token.clone().unwrap())
        .header("content-type", "application/json")
        .body(empty)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
}

/// A body of unknown length (so it is sent chunked) that ends without a byte.
struct EmptyChunked;

impl hyper::body::Body for EmptyChunked {
    type Data = axum::body::Bytes;
    type Error = std::io::Error;
    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        std::task::Poll::Ready(None)
    }
    fn is_end_stream(&self) -> bool {
        false
    }
}

fn futures_stream_body() -> reqwest::Body {
    reqwest::Body::wrap(EmptyChunked)
}

/// A path segment that is not UTF-8 once percent-decoded gets a 4xx JSON error in the form of
/// its path, on the API routes and on the download route alike (never a plain-text rejection).
#[rstest]
#[case::api("/api/content/library/item/download-session/%ff%fe", "api")]
#[case::rest(
    "/rest/com/vmware/content/library/item/download-session/id:%ff%fe",
    "rest"
)]
#[case::download_token("/cls/data/%ff%fe/x", "api")]
#[case::download_file("/cls/data/0123456789abcdef0123456789abcdef/%ff%fe", "api")]
#[tokio::test]
async fn undecodable_path_segments_get_json_errors_in_the_paths_form(
    #[case] path: &str,
    #[case] form: &str,
) {
    let fake = Dlsim::start().await;
    let url = format!("{}{path}", fake.base_url());
    for method in [Method::GET, Method::HEAD, Method::POST] {
        let r = reqwest::Client::new()
            .request(method.clone(), &url)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let ct = r.headers().get("content-type").cloned();
        let bytes = r.bytes().await.unwrap();
        assert!((400..500).contains(&status), "{method} {path}: {status}");
        assert_eq!(
            ct.as_ref().and_then(|v| v.to_str().ok()),
            Some("application/json"),
            "{method} {path}"
        );
        if method == Method::HEAD {
            continue;
        }
        let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            panic!(
                "{path}: not JSON ({e}): {}",
                String::from_utf8_lossy(&bytes)
            )
        });
        common::assert_schema(&format!("{form}/error"), &body);
    }
}

/// A chunked body that breaks HTTP framing is a bad request, not one over the size limit.
#[tokio::test]
async fn a_malformed_chunked_body_is_a_json_400() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let fake = Dlsim::start().await;
    let addr = fake.base_url().trim_start_matches("http://").to_string();
    let mut sock = tokio::net::TcpStream::connect(addr).await.unwrap();
    sock.write_all(
        b"POST /api/session HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\
          Connection: close\r\n\r\nzz\r\n",
    )
    .await
    .unwrap();
    let mut answer = vec![];
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        sock.read_to_end(&mut answer),
    )
    .await
    .expect("the server answers")
    .unwrap();
    let answer = String::from_utf8_lossy(&answer);
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 400 "), "{answer}");
    assert!(head.contains("content-type: application/json"), "{answer}");
    let body: serde_json::Value = serde_json::from_str(body).unwrap();
    common::assert_schema("api/error", &body);
    assert_eq!(body["error_type"], "INVALID_REQUEST");
}
