//! What only the legacy `/rest` form has: cookies, `~action`, `id:` paths, `find`, and the
//! bends real clients need (govmomi's body-less `fail`), with errors in the `/rest` shape.

mod common;

use common::assert_schema;
use common::forms::{Client, Form};
use common::OVF_ITEM;
use dlsim::Dlsim;
use reqwest::Method;
use rstest::rstest;
use serde_json::{json, Value};

const CL: &str = "/rest/com/vmware/content/library";
const DS: &str = "/rest/com/vmware/content/library/item/download-session";

async fn setup() -> (Dlsim, Client, String) {
    let fake = Dlsim::start().await;
    let c = Client::logged_in(&fake, Form::Rest).await;
    let id = c.create(OVF_ITEM, None).await.string();
    (fake, c, id)
}

/// Raw call: status and JSON body; error bodies must pass the /rest error schema.
async fn raw(c: &Client, method: Method, path: &str, body: Option<&str>) -> (u16, Option<Value>) {
    let mut req = c.http.request(method, format!("{}{path}", c.root));
    if let Some(t) = &c.token {
        req = req.header("vmware-api-session-id", t);
    }
    if let Some(b) = body {
        req = req
            .header("content-type", "application/json")
            .body(b.to_string());
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let bytes = r.bytes().await.unwrap();
    let v: Option<Value> = (!bytes.is_empty()).then(|| serde_json::from_slice(&bytes).unwrap());
    if status >= 400 {
        assert_schema("rest/error", v.as_ref().expect("errors carry a body"));
    }
    (status, v)
}

#[tokio::test]
async fn login_sets_a_cookie_that_authenticates_unless_header_authn_is_asked() {
    let fake = Dlsim::start().await;
    let http = reqwest::Client::new();
    let url = format!("{}/rest/com/vmware/cis/session", fake.base_url());
    let r = http
        .post(&url)
        .basic_auth(fake.username(), Some(fake.password()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let cookie = r
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let body: Value = r.json().await.unwrap();
    assert_schema("rest/value_id", &body);
    let token = body["value"].as_str().unwrap();
    assert!(
        cookie.starts_with(&format!("vmware-api-session-id={token};")),
        "{cookie}"
    );
    assert!(cookie.contains("Path=/rest"));

    // The cookie alone authenticates on /rest (but not on /api, which wants the header).
    let pair = cookie.split(';').next().unwrap();
    let r = http
        .get(format!("{}{DS}", fake.base_url()))
        .header("cookie", pair)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = http
        .get(format!(
            "{}/api/content/library/item/download-session",
            fake.base_url()
        ))
        .header("cookie", pair)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    // Session info and logout through the cookie.
    let r = http
        .post(format!("{url}?~action=get"))
        .header("cookie", pair)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let info: Value = r.json().await.unwrap();
    assert_schema("rest/value_session_info", &info);
    assert_eq!(info["value"]["user"], fake.username());

    let r = http
        .post(&url)
        .basic_auth(fake.username(), Some(fake.password()))
        .header("vmware-use-header-authn", "true")
        .send()
        .await
        .unwrap();
    assert!(r.headers().get("set-cookie").is_none());

    let r = http
        .delete(&url)
        .header("cookie", pair)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.bytes().await.unwrap().is_empty());
    let r = http
        .get(format!("{}{DS}", fake.base_url()))
        .header("cookie", pair)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let body: Value = r.json().await.unwrap();
    assert_schema("rest/error", &body);
    assert_eq!(body["type"], "com.vmware.vapi.std.errors.unauthenticated");
}

#[tokio::test]
async fn header_names_match_in_any_case() {
    let (fake, c, id) = setup().await;
    let r = c
        .http
        .get(format!("{}{DS}/id:{id}", fake.base_url()))
        .header("VMWARE-API-SESSION-ID", c.token.clone().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn govmomi_fail_without_a_body_is_accepted_on_rest_only() {
    let (fake, c, id) = setup().await;
    let (status, body) = raw(
        &c,
        Method::POST,
        &format!("{DS}/id:{id}?~action=fail"),
        None,
    )
    .await;
    assert_eq!((status, body), (200, None));
    let s = c.get(&id).await;
    assert_eq!(s.ok()["state"], "ERROR");
    assert_eq!(s.ok()["error_message"]["default_message"], "");

    // /api keeps client_error_message required.
    let mut api = Client::new(Form::Api, fake.base_url());
    api.token = c.token.clone();
    let other = api.create(OVF_ITEM, None).await.string();
    let r = api
        .http
        .post(format!(
            "{}/api/content/library/item/download-session/{other}?action=fail",
            fake.base_url()
        ))
        .header("vmware-api-session-id", api.token.clone().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}

#[tokio::test]
async fn find_libraries_and_items_as_govc_does() {
    let (_fake, c, _) = setup().await;
    let lib = dlsim::DEMO_LIBRARY_ID;
    let find = |path: String, body: Value| {
        let c = &c;
        async move { raw(c, Method::POST, &path, Some(&body.to_string())).await }
    };
    let (s, v) = find(
        format!("{CL}?~action=find"),
        json!({"spec": {"name": "dlsim-demo"}}),
    )
    .await;
    assert_eq!((s, v.unwrap()), (200, json!({"value": [lib]})));
    let (_, v) = find(
        format!("{CL}?~action=find"),
        json!({"spec": {"name": "other"}}),
    )
    .await;
    assert_eq!(v.unwrap(), json!({"value": []}));
    let (_, v) = find(
        format!("{CL}?~action=find"),
        json!({"spec": {"type": "SUBSCRIBED"}}),
    )
    .await;
    assert_eq!(v.unwrap(), json!({"value": []}));

    let spec = json!({"spec": {"name": "photon-5-ovf", "library_id": lib}});
    let (s, v) = find(format!("{CL}/item?~action=find"), spec).await;
    assert_eq!((s, v.unwrap()), (200, json!({"value": [OVF_ITEM]})));
    let (_, v) = find(
        format!("{CL}/item?~action=find"),
        json!({"spec": {"type": "iso"}}),
    )
    .await;
    assert_eq!(v.unwrap()["value"].as_array().unwrap().len(), 1);
    let (_, v) = find(format!("{CL}/item?~action=find"), json!({"spec": {}})).await;
    assert_eq!(v.unwrap()["value"].as_array().unwrap().len(), 2);

    let (s, v) = find(
        format!("{CL}/item?~action=find"),
        json!({"spec": {"colour": "red"}}),
    )
    .await;
    assert_eq!(
        (s, v.unwrap()["type"].clone()),
        (400, json!("com.vmware.vapi.std.errors.invalid_argument"))
    );
    let (s, _) = find(format!("{CL}/item?~action=search"), json!({"spec": {}})).await;
    assert_eq!(s, 400);
}

#[rstest]
#[case::malformed_json(Method::POST, "DS", Some("{"), 400, "invalid_request")]
#[case::bare_spec_instead_of_create_spec(
    Method::POST,
    "DS",
    Some(r#"{"library_item_id":"x"}"#),
    400,
    "invalid_argument"
)]
#[case::create_spec_missing(
    Method::POST,
    "DS",
    Some(r#"{"client_token":"t"}"#),
    400,
    "invalid_argument"
)]
#[case::path_without_id_prefix(Method::GET, "DS/SID", None, 400, "invalid_argument")]
#[case::unknown_session(Method::GET, "DS/id:nope", None, 404, "not_found")]
#[case::ansible_keep_alive_without_action(
    Method::POST,
    "DS/id:SID",
    Some(r#"{"spec":{"progress":5}}"#),
    400,
    "invalid_request"
)]
#[case::ansible_fail_spec_wrapper(
    Method::POST,
    "DS/id:SID?~action=fail",
    Some(r#"{"spec":{"client_error_message":"x"}}"#),
    400,
    "invalid_argument"
)]
#[case::api_style_action_on_rest(
    Method::POST,
    "DS/id:SID?action=cancel",
    None,
    400,
    "invalid_request"
)]
#[case::keep_alive_past_100(
    Method::POST,
    "DS/id:SID?~action=keep-alive",
    Some(r#"{"progress":101}"#),
    400,
    "invalid_argument"
)]
#[case::file_list_without_session(
    Method::GET,
    "/rest/com/vmware/content/library/item/downloadsession/file",
    None,
    400,
    "invalid_argument"
)]
#[case::file_get_without_name(
    Method::POST,
    "/rest/com/vmware/content/library/item/downloadsession/file/id:SID?~action=get",
    None,
    400,
    "invalid_argument"
)]
#[case::file_unknown_action(
    Method::POST,
    "/rest/com/vmware/content/library/item/downloadsession/file/id:SID?~action=delete",
    None,
    400,
    "invalid_request"
)]
#[case::prepare_unknown_file(
    Method::POST,
    "/rest/com/vmware/content/library/item/downloadsession/file/id:SID?~action=prepare",
    Some(r#"{"file_name":"x"}"#),
    400,
    "invalid_argument"
)]
#[case::unknown_route(
    Method::GET,
    "/rest/com/vmware/content/nothing",
    None,
    404,
    "not_found"
)]
#[case::wrong_method(Method::PUT, "DS/id:SID", None, 405, "operation_not_found")]
#[tokio::test]
async fn bad_rest_requests_get_rest_errors_and_change_nothing(
    #[case] method: Method,
    #[case] path: &str,
    #[case] body: Option<&str>,
    #[case] status: u16,
    #[case] error: &str,
) {
    let (_fake, c, id) = setup().await;
    let path = path.replacen("DS", DS, 1).replace("SID", &id);
    let before = (
        c.get(&id).await.raw,
        c.file_list(&id).await.raw,
        c.list(None).await.raw,
    );
    let (got, body) = raw(&c, method, &path, body).await;
    assert_eq!(got, status, "{body:?}");
    assert_eq!(
        body.unwrap()["type"],
        format!("com.vmware.vapi.std.errors.{error}")
    );
    let after = (
        c.get(&id).await.raw,
        c.file_list(&id).await.raw,
        c.list(None).await.raw,
    );
    assert_eq!(before, after, "the store changed");
}

#[tokio::test]
async fn oversize_rest_bodies_get_a_rest_413() {
    let fake = Dlsim::builder().body_limit(512).start().await;
    let c = Client::logged_in(&fake, Form::Rest).await;
    let big = json!({"create_spec": {"library_item_id": "x".repeat(2048)}}).to_string();
    let (status, body) = raw(&c, Method::POST, DS, Some(&big)).await;
    assert_eq!(status, 413);
    assert_eq!(
        body.unwrap()["type"],
        "com.vmware.vapi.std.errors.invalid_request"
    );
}
