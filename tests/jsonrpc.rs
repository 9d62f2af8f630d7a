//! The vAPI JSON-RPC form at `POST /api`: the SDK's own captured requests replayed against a
//! fake, the envelope's rules (the id echoed, vAPI errors in `result.error` with HTTP 200,
//! protocol errors), and one store shared with the REST forms.

mod common;

use dlsim::Dlsim;
use dlsim::DEMO_OVF_ITEM_ID as ITEM;
use serde_json::{json, Value};

struct Rpc {
    url: String,
    http: reqwest::Client,
    token: Option<String>,
    next: u64,
}

impl Rpc {
    fn new(fake: &Dlsim) -> Self {
        Rpc {
            url: fake.api_url(),
            http: common::tls::any_cert_client(),
            token: None,
            next: 0,
        }
    }

    /// Send a raw body; the HTTP status and the JSON answer.
    async fn raw(&self, body: String) -> (u16, Value) {
        let r = self
            .http
            .post(&self.url)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    /// Invoke an operation as the SDK does; the whole answer, checked for id and shape.
    async fn call(&mut self, service: &str, op: &str, input: Value) -> Value {
        let id = self.next.to_string();
        self.next += 1;
        let ctx = match &self.token {
            Some(t) => json!({"appCtx": {"opId": "x"}, "securityCtx": {
                "schemeId": "com.vmware.vapi.std.security.session_id", "sessionId": t}}),
            None => json!({"appCtx": {"opId": "x"}, "securityCtx": {
                "schemeId": "com.vmware.vapi.std.security.user_pass",
                "userName": "administrator@vsphere.local", "password": "VMware1!"}}),
        };
        let body = json!({"jsonrpc": "2.0", "method": "invoke", "id": id, "params": {
            "serviceId": service, "operationId": op,
            "input": {"STRUCTURE": {"operation-input": input}}, "ctx": ctx}});
        let (status, answer) = self.raw(body.to_string()).await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["jsonrpc"], "2.0");
        assert_eq!(answer["id"], id.as_str(), "the id is echoed exactly");
        let result = answer["result"].as_object().expect("a result");
        assert_eq!(result.len(), 1, "exactly one of output and error: {answer}");
        answer
    }

    async fn login(&mut self) {
        let a = self
            .call("com.vmware.cis.session", "create", json!({}))
            .await;
        self.token = Some(
            a["result"]["output"]["SECRET"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
}

const DS: &str = "com.vmware.content.library.item.download_session";
const FILES: &str = "com.vmware.content.library.item.downloadsession.file";

#[tokio::test]
async fn a_whole_session_over_json_rpc() {
    let fake = Dlsim::start().await;
    let mut rpc = Rpc::new(&fake);
    rpc.login().await;
    let spec = json!({"STRUCTURE": {"com.vmware.content.library.item.download_session_model": {
        "library_item_id": {"OPTIONAL": ITEM}}}});
    let a = rpc
        .call(
            DS,
            "create",
            json!({"client_token": {"OPTIONAL": null}, "create_spec": spec}),
        )
        .await;
    let id = a["result"]["output"].as_str().unwrap().to_string();
    let a = rpc
        .call(DS, "get", json!({"download_session_id": id}))
        .await;
    let model = &a["result"]["output"]["STRUCTURE"]
        ["com.vmware.content.library.item.download_session_model"];
    assert_eq!(model["state"], json!({"OPTIONAL": "ACTIVE"}));
    assert_eq!(model["error_message"], json!({"OPTIONAL": null}));
    let a = rpc
        .call(
            FILES,
            "prepare",
            json!({"download_session_id": id, "file_name": "photon-5.ovf",
                   "endpoint_type": {"OPTIONAL": "HTTPS"}}),
        )
        .await;
    let info = &a["result"]["output"]["STRUCTURE"]
        ["com.vmware.content.library.item.downloadsession.file.info"];
    assert_eq!(info["status"], "PREPARED");
    assert!(info["download_endpoint"]["OPTIONAL"]["STRUCTURE"].is_object());
    let a = rpc
        .call(
            DS,
            "keep_alive",
            json!({"download_session_id": id, "progress": {"OPTIONAL": 40}}),
        )
        .await;
    assert_eq!(a["result"]["output"], Value::Null);

    // The same session, through /api with the same login.
    let mut api = common::forms::Client::new(common::forms::Form::Api, fake.base_url());
    api.token = rpc.token.clone();
    assert_eq!(api.get(&id).await.ok()["client_progress"], 40);

    rpc.call(DS, "cancel", json!({"download_session_id": id}))
        .await;
    let a = rpc
        .call(DS, "keep_alive", json!({"download_session_id": id}))
        .await;
    let e =
        &a["result"]["error"]["ERROR"]["com.vmware.vapi.std.errors.not_allowed_in_current_state"];
    assert_eq!(
        e["error_type"],
        json!({"OPTIONAL": "NOT_ALLOWED_IN_CURRENT_STATE"})
    );
    rpc.call(DS, "delete", json!({"download_session_id": id}))
        .await;
    let a = rpc
        .call(DS, "get", json!({"download_session_id": id}))
        .await;
    assert!(a["result"]["error"]["ERROR"]["com.vmware.vapi.std.errors.not_found"].is_object());
    let journal = fake.journal();
    assert!(journal
        .iter()
        .all(|e| e.form.map(|f| f.as_str()) == Some("jsonrpc") || e.path.starts_with("/api/")));
}

#[tokio::test]
async fn every_captured_sdk_request_gets_an_answer_the_sdk_can_read() {
    let fake = Dlsim::start().await;
    let mut rpc = Rpc::new(&fake);
    rpc.login().await;
    let token = rpc.token.clone().unwrap();
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/sdk/captures/requests");
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path)
            .unwrap()
            .replace("<session-id>", &token)
            .replace("<password>", "VMware1!")
            .replace("probe-user", "administrator@vsphere.local")
            .replace("item-1", ITEM);
        let sent: Value = serde_json::from_str(&text).unwrap();
        let (status, answer) = rpc.raw(text).await;
        assert_eq!(status, 200, "{}", path.display());
        assert_eq!(answer["id"], sent["id"], "{}", path.display());
        let result = answer["result"]
            .as_object()
            .unwrap_or_else(|| panic!("{}: no result in {answer}", path.display()));
        assert!(
            result.contains_key("output") != result.contains_key("error"),
            "{}: {answer}",
            path.display()
        );
        seen += 1;
    }
    assert!(seen >= 20, "only {seen} captures");
}

#[tokio::test]
async fn protocol_faults_are_json_rpc_errors() {
    let fake = Dlsim::start().await;
    let rpc = Rpc::new(&fake);
    let cases = [
        ("{nope", -32700, Value::Null),
        (
            r#"{"jsonrpc":"2.0","method":"invoke","params":{}}"#,
            -32600,
            Value::Null,
        ),
        (
            r#"{"jsonrpc":"2.0","id":"7","method":"frob","params":{}}"#,
            -32601,
            json!("7"),
        ),
        (
            r#"{"jsonrpc":"2.0","id":"8","method":"invoke","params":{"serviceId":"com.vmware.nope","operationId":"get","input":{},"ctx":{}}}"#,
            -32601,
            json!("8"),
        ),
        (
            r#"{"jsonrpc":"2.0","id":"9","method":"invoke","params":{"serviceId":"com.vmware.content.library.item.download_session","operationId":"get","input":{"STRUCTURE":{"operation-input":{"download_session_id":5}}},"ctx":{}}}"#,
            -32602,
            json!("9"),
        ),
    ];
    for (body, code, id) in cases {
        let (status, answer) = rpc.raw(body.to_string()).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(answer["error"]["code"], code, "{body}: {answer}");
        assert_eq!(answer["id"], id, "{body}");
        assert!(answer.get("result").is_none());
    }
    // Not logged in: a vAPI error, not a protocol error.
    let body = json!({"jsonrpc": "2.0", "method": "invoke", "id": "1", "params": {
        "serviceId": DS, "operationId": "list",
        "input": {"STRUCTURE": {"operation-input": {}}}, "ctx": {}}});
    let (_, answer) = rpc.raw(body.to_string()).await;
    assert!(
        answer["result"]["error"]["ERROR"]["com.vmware.vapi.std.errors.unauthenticated"]
            .is_object()
    );
}
