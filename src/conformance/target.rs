//! One wire form of the endpoint under test: requests written the way that form wants them,
//! and every answer kept whole (status, headers, bytes) as evidence for the report.

use reqwest::Method;
use serde::Serialize;
use serde_json::{json, Value};

use super::Form;
use crate::client::api::{presented, Http};
use crate::client::tls::Thumbprints;

/// A request and its answer, as the report shows them.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub method: String,
    pub url: String,
    pub request_body: Option<String>,
    pub status: u16,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
    pub json: Option<Value>,
    pub presented: Option<Thumbprints>,
    /// JSON-RPC: the id the request carried (none for other forms, and for a request that is
    /// not a JSON-RPC call at all).
    pub rpc_id: Option<Value>,
    /// JSON-RPC: `result.output` read as a plain document (see [`plain`]).
    pub output: Option<Value>,
    /// Whether the request was a JSON-RPC call (its answer is judged by its envelope).
    pub rpc: bool,
}

/// What a failure shows: the request and the offending bytes.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Evidence {
    pub request: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_body: Option<String>,
    pub status: u16,
    pub response_body: String,
}

const EVIDENCE_BYTES: usize = 2000;

impl Exchange {
    pub fn evidence(&self) -> Evidence {
        let text = String::from_utf8_lossy(&self.body);
        let mut body: String = text.chars().take(EVIDENCE_BYTES).collect();
        if text.chars().count() > EVIDENCE_BYTES {
            body.push_str(" …(truncated)");
        }
        Evidence {
            request: format!("{} {}", self.method, self.url),
            request_body: self.request_body.clone(),
            status: self.status,
            response_body: body,
        }
    }

    /// A success: a 2xx status (the SDK raises on any other); for JSON-RPC, with a
    /// `result.output`.
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status) && (!self.rpc || self.rpc_output().is_some())
    }

    /// JSON-RPC: `result.output` as sent (typed).
    pub fn rpc_output(&self) -> Option<&Value> {
        self.json.as_ref()?.get("result")?.get("output")
    }

    /// JSON-RPC: `result.error` as sent (typed).
    pub fn rpc_error(&self) -> Option<&Value> {
        self.json.as_ref()?.get("result")?.get("error")
    }

    /// The result value: the body on `/api`, the `value` member on `/rest`, `result.output`
    /// read plain on JSON-RPC.
    pub fn value(&self, form: Form) -> Option<&Value> {
        let j = self.json.as_ref()?;
        match form {
            Form::Api => Some(j),
            Form::Rest => j.get("value"),
            Form::JsonRpc => self.output.as_ref(),
        }
    }

    /// A string result, read leniently (a bare string, or an object holding one) so that one
    /// broken shape does not stop the checks that follow.
    pub fn string(&self, form: Form) -> Option<String> {
        let v = match form {
            Form::JsonRpc => self.value(form)?,
            _ => self.value(form).or(self.json.as_ref())?,
        };
        match v {
            Value::String(s) => Some(s.clone()),
            Value::Object(m) => m.values().find_map(|x| x.as_str().map(str::to_string)),
            _ => None,
        }
    }

    /// The error type of an error answer, e.g. `NOT_FOUND`.
    pub fn error_type(&self, form: Form) -> Option<String> {
        let j = self.json.as_ref()?;
        match form {
            Form::Api => j.get("error_type")?.as_str().map(str::to_string),
            Form::Rest => {
                let t = j.get("type")?.as_str()?;
                let name = t.strip_prefix("com.vmware.vapi.std.errors.")?;
                Some(name.to_ascii_uppercase())
            }
            Form::JsonRpc => {
                // The class is the ERROR structure's name.
                let e = self.rpc_error()?.get("ERROR")?.as_object()?;
                let name = e.keys().next()?;
                let name = name.strip_prefix("com.vmware.vapi.std.errors.")?;
                Some(name.to_ascii_uppercase())
            }
        }
    }
}

/// A JSON-RPC typed value read as a plain document, by the encoding's tags alone (not by
/// dlsim's types): `{"STRUCTURE": {name: fields}}` and `{"ERROR": ...}` become the fields (an
/// unset optional left out), `{"OPTIONAL": v}` becomes `v`, `{"SECRET": s}` becomes `s`. Read
/// leniently (extra members beside a tag are ignored) so that one broken shape does not stop
/// the checks that follow.
pub fn plain(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            for tag in ["STRUCTURE", "ERROR"] {
                if let Some(Value::Object(named)) = m.get(tag) {
                    if let Some((_, Value::Object(fields))) = named.iter().next() {
                        return Value::Object(
                            fields
                                .iter()
                                .map(|(k, x)| (k.clone(), plain(x)))
                                .filter(|(_, x)| !x.is_null())
                                .collect(),
                        );
                    }
                }
            }
            if let Some(x) = m.get("OPTIONAL") {
                return plain(x);
            }
            if let Some(s) = m.get("SECRET") {
                return s.clone();
            }
            Value::Object(m.iter().map(|(k, x)| (k.clone(), plain(x))).collect())
        }
        Value::Array(a) => Value::Array(a.iter().map(plain).collect()),
        other => other.clone(),
    }
}

/// Request ids, unique within the process (strings, as the SDK sends them).
static RPC_IDS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

fn optional(v: Option<Value>) -> Value {
    json!({ "OPTIONAL": v })
}

/// The endpoint under test, through one wire form.
#[derive(Clone)]
pub struct Target {
    pub form: Form,
    /// `https://host:port`, no trailing slash.
    pub root: String,
    pub http: Http,
    pub token: Option<String>,
}

const API_DS: &str = "/api/content/library/item/download-session";
const REST_CL: &str = "/rest/com/vmware/content/library";
const RPC_DS: &str = "com.vmware.content.library.item.download_session";
const RPC_FILE: &str = "com.vmware.content.library.item.downloadsession.file";
const RPC_SESSION: &str = "com.vmware.cis.session";
/// A service no endpoint has, for the protocol-error probe.
pub const RPC_NO_SUCH_SERVICE: &str = "com.vmware.dlsim.check.no_such_service";

impl Target {
    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, String)],
    ) -> Exchange {
        let url = if path.starts_with("http://") || path.starts_with("https://") {
            path.to_string()
        } else {
            format!("{}{path}", self.root)
        };
        let mut req = self.http.client.request(method.clone(), &url);
        if let Some(t) = &self.token {
            req = req.header("vmware-api-session-id", t);
        }
        for (k, v) in headers {
            req = req.header(*k, v);
        }
        let request_body = body.as_ref().map(Value::to_string);
        if let Some(b) = &request_body {
            req = req
                .header("content-type", "application/json")
                .body(b.clone());
        } else if method == Method::POST {
            req = req.header("content-type", "application/json");
        }
        Self::exchange(req, method.to_string(), url, request_body, None).await
    }

    async fn exchange(
        req: reqwest::RequestBuilder,
        method: String,
        url: String,
        request_body: Option<String>,
        rpc_id: Option<Option<Value>>,
    ) -> Exchange {
        let rpc = rpc_id.is_some();
        let rpc_id = rpc_id.flatten();
        match req.send().await {
            Err(e) => Exchange {
                method,
                url,
                request_body,
                status: 0,
                content_type: None,
                body: format!("transport error: {e}").into_bytes(),
                json: None,
                presented: None,
                rpc_id,
                output: None,
                rpc,
            },
            Ok(r) => {
                let status = r.status().as_u16();
                let content_type = r
                    .headers()
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                let presented = presented(&r);
                let body = r.bytes().await.map(|b| b.to_vec()).unwrap_or_default();
                let json: Option<Value> = serde_json::from_slice(&body).ok();
                let output = rpc
                    .then(|| json.as_ref()?.get("result")?.get("output").map(plain))
                    .flatten();
                Exchange {
                    method,
                    url,
                    request_body,
                    status,
                    content_type,
                    body,
                    json,
                    presented,
                    rpc_id,
                    output,
                    rpc,
                }
            }
        }
    }

    /// A JSON-RPC `invoke` of `service.operation` with typed `fields` as the operation input,
    /// and the session id (or, with `login`, user and password) in the security context.
    async fn invoke(
        &self,
        service: &str,
        operation: &str,
        fields: Value,
        login: Option<(&str, &str)>,
    ) -> Exchange {
        let id = RPC_IDS
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            .to_string();
        let mut ctx = json!({ "appCtx": { "opId": format!("dlsim-check-{id}") } });
        match (login, &self.token) {
            (Some((user, password)), _) => {
                ctx["securityCtx"] = json!({
                    "schemeId": "com.vmware.vapi.std.security.user_pass",
                    "userName": user,
                    "password": password,
                })
            }
            (None, Some(token)) => {
                ctx["securityCtx"] = json!({
                    "schemeId": "com.vmware.vapi.std.security.session_id",
                    "sessionId": token,
                })
            }
            (None, None) => {}
        }
        let body = json!({
            "jsonrpc": "2.0",
            "method": "invoke",
            "params": {
                "serviceId": service,
                "operationId": operation,
                "input": { "STRUCTURE": { "operation-input": fields } },
                "ctx": ctx,
            },
            "id": id,
        });
        self.rpc_raw(
            body.to_string(),
            Some(json!(id)),
            &[("vapi-service", service), ("vapi-operation", operation)],
        )
        .await
    }

    /// A raw body POSTed to `/api` as a JSON-RPC call; `id` is the id it carries, if any.
    pub async fn rpc_raw(
        &self,
        body: String,
        id: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Exchange {
        let url = format!("{}/api", self.root);
        let mut req = self
            .http
            .client
            .post(&url)
            .header("content-type", "application/json")
            .body(body.clone());
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        Self::exchange(req, "POST".into(), url, Some(body), Some(id)).await
    }

    /// An invoke of a service that does not exist.
    pub async fn rpc_unknown_service(&self) -> Exchange {
        self.invoke(RPC_NO_SUCH_SERVICE, "get", json!({}), None)
            .await
    }

    pub async fn login(&self, user: &str, password: &str) -> Exchange {
        use base64::Engine as _;
        let path = match self.form {
            Form::Api => "/api/session",
            Form::Rest => "/rest/com/vmware/cis/session",
            Form::JsonRpc => {
                let anonymous = Target {
                    token: None,
                    ..self.clone()
                };
                return anonymous
                    .invoke(RPC_SESSION, "create", json!({}), Some((user, password)))
                    .await;
            }
        };
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        let headers = [
            ("authorization", format!("Basic {basic}")),
            ("vmware-use-header-authn", "true".to_string()),
        ];
        let anonymous = Target {
            token: None,
            ..self.clone()
        };
        anonymous.send(Method::POST, path, None, &headers).await
    }

    pub async fn logout(&self) -> Exchange {
        let path = match self.form {
            Form::Api => "/api/session",
            Form::Rest => "/rest/com/vmware/cis/session",
            Form::JsonRpc => return self.invoke(RPC_SESSION, "delete", json!({}), None).await,
        };
        self.send(Method::DELETE, path, None, &[]).await
    }

    pub async fn libraries(&self) -> Exchange {
        let path = match self.form {
            Form::JsonRpc => {
                return self
                    .invoke("com.vmware.content.library", "list", json!({}), None)
                    .await
            }
            Form::Api => "/api/content/library".to_string(),
            Form::Rest => REST_CL.to_string(),
        };
        self.send(Method::GET, &path, None, &[]).await
    }

    pub async fn library(&self, id: &str) -> Exchange {
        let path = match self.form {
            Form::JsonRpc => {
                let input = json!({ "library_id": id });
                return self
                    .invoke("com.vmware.content.library", "get", input, None)
                    .await;
            }
            Form::Api => format!("/api/content/library/{id}"),
            Form::Rest => format!("{REST_CL}/id:{id}"),
        };
        self.send(Method::GET, &path, None, &[]).await
    }

    pub async fn items(&self, library: &str) -> Exchange {
        let path = match self.form {
            Form::JsonRpc => {
                let input = json!({ "library_id": library });
                return self
                    .invoke("com.vmware.content.library.item", "list", input, None)
                    .await;
            }
            Form::Api => format!("/api/content/library/item?library_id={library}"),
            Form::Rest => format!("{REST_CL}/item?library_id={library}"),
        };
        self.send(Method::GET, &path, None, &[]).await
    }

    pub async fn item(&self, id: &str) -> Exchange {
        let path = match self.form {
            Form::JsonRpc => {
                let input = json!({ "library_item_id": id });
                return self
                    .invoke("com.vmware.content.library.item", "get", input, None)
                    .await;
            }
            Form::Api => format!("/api/content/library/item/{id}"),
            Form::Rest => format!("{REST_CL}/item/id:{id}"),
        };
        self.send(Method::GET, &path, None, &[]).await
    }

    pub async fn create(&self, item: &str, client_token: Option<&str>) -> Exchange {
        let spec = json!({ "library_item_id": item });
        match self.form {
            Form::JsonRpc => {
                let model = "com.vmware.content.library.item.download_session_model";
                let unset = optional(None);
                let mut spec = json!({});
                for f in [
                    "id",
                    "library_item_content_version",
                    "error_message",
                    "client_progress",
                    "state",
                    "expiration_time",
                ] {
                    spec[f] = unset.clone();
                }
                spec["library_item_id"] = optional(Some(json!(item)));
                let input = json!({
                    "client_token": optional(client_token.map(|t| json!(t))),
                    "create_spec": { "STRUCTURE": { model: spec } },
                });
                self.invoke(RPC_DS, "create", input, None).await
            }
            Form::Api => {
                let headers: Vec<(&str, String)> = client_token
                    .map(|t| ("Client-Token", t.to_string()))
                    .into_iter()
                    .collect();
                self.send(Method::POST, API_DS, Some(spec), &headers).await
            }
            Form::Rest => {
                let mut body = json!({ "create_spec": spec });
                if let Some(t) = client_token {
                    body["client_token"] = json!(t);
                }
                self.send(
                    Method::POST,
                    &format!("{REST_CL}/item/download-session"),
                    Some(body),
                    &[],
                )
                .await
            }
        }
    }

    /// JSON-RPC: an operation taking the session id (and `more` fields).
    async fn on_session(&self, service: &str, op: &str, id: &str, more: Value) -> Exchange {
        let mut input = json!({ "download_session_id": id });
        if let (Value::Object(i), Value::Object(m)) = (&mut input, more) {
            i.extend(m);
        }
        self.invoke(service, op, input, None).await
    }

    fn ds(&self, id: &str) -> String {
        match self.form {
            Form::JsonRpc => unreachable!("JSON-RPC has no paths"),
            Form::Api => format!("{API_DS}/{id}"),
            Form::Rest => format!("{REST_CL}/item/download-session/id:{id}"),
        }
    }

    fn action(&self, id: &str, action: &str) -> String {
        match self.form {
            Form::JsonRpc => unreachable!("JSON-RPC has no paths"),
            Form::Api => format!("{}?action={action}", self.ds(id)),
            Form::Rest => format!("{}?~action={action}", self.ds(id)),
        }
    }

    pub async fn get(&self, id: &str) -> Exchange {
        if self.form == Form::JsonRpc {
            return self.on_session(RPC_DS, "get", id, json!({})).await;
        }
        self.send(Method::GET, &self.ds(id), None, &[]).await
    }

    pub async fn list(&self, item: Option<&str>) -> Exchange {
        let base = match self.form {
            Form::JsonRpc => {
                let input = json!({ "library_item_id": optional(item.map(|i| json!(i))) });
                return self.invoke(RPC_DS, "list", input, None).await;
            }
            Form::Api => API_DS.to_string(),
            Form::Rest => format!("{REST_CL}/item/download-session"),
        };
        let path = match item {
            Some(i) => format!("{base}?library_item_id={i}"),
            None => base,
        };
        self.send(Method::GET, &path, None, &[]).await
    }

    pub async fn keep_alive(&self, id: &str, progress: Option<i64>) -> Exchange {
        if self.form == Form::JsonRpc {
            let more = json!({ "progress": optional(progress.map(|p| json!(p))) });
            return self.on_session(RPC_DS, "keep_alive", id, more).await;
        }
        let body = progress.map(|p| json!({ "progress": p }));
        self.send(Method::POST, &self.action(id, "keep-alive"), body, &[])
            .await
    }

    pub async fn cancel(&self, id: &str) -> Exchange {
        if self.form == Form::JsonRpc {
            return self.on_session(RPC_DS, "cancel", id, json!({})).await;
        }
        self.send(Method::POST, &self.action(id, "cancel"), None, &[])
            .await
    }

    pub async fn fail(&self, id: &str, message: &str) -> Exchange {
        let body = json!({ "client_error_message": message });
        if self.form == Form::JsonRpc {
            return self.on_session(RPC_DS, "fail", id, body).await;
        }
        self.send(Method::POST, &self.action(id, "fail"), Some(body), &[])
            .await
    }

    pub async fn delete(&self, id: &str) -> Exchange {
        if self.form == Form::JsonRpc {
            return self.on_session(RPC_DS, "delete", id, json!({})).await;
        }
        self.send(Method::DELETE, &self.ds(id), None, &[]).await
    }

    pub async fn file_list(&self, id: &str) -> Exchange {
        let path = match self.form {
            Form::JsonRpc => return self.on_session(RPC_FILE, "list", id, json!({})).await,
            Form::Api => format!("{API_DS}/{id}/file"),
            Form::Rest => format!("{REST_CL}/item/downloadsession/file?download_session_id={id}"),
        };
        self.send(Method::GET, &path, None, &[]).await
    }

    pub async fn file_get(&self, id: &str, name: &str) -> Exchange {
        match self.form {
            Form::JsonRpc => {
                let more = json!({ "file_name": name });
                self.on_session(RPC_FILE, "get", id, more).await
            }
            Form::Api => {
                let q: String = form_urlencoded::byte_serialize(name.as_bytes()).collect();
                self.send(
                    Method::GET,
                    &format!("{API_DS}/{id}/file?file_name={q}"),
                    None,
                    &[],
                )
                .await
            }
            Form::Rest => {
                let path = format!("{REST_CL}/item/downloadsession/file/id:{id}?~action=get");
                self.send(Method::POST, &path, Some(json!({ "file_name": name })), &[])
                    .await
            }
        }
    }

    pub async fn prepare(&self, id: &str, name: &str) -> Exchange {
        let body = json!({ "file_name": name, "endpoint_type": "HTTPS" });
        let path = match self.form {
            Form::JsonRpc => {
                let more =
                    json!({ "file_name": name, "endpoint_type": optional(Some(json!("HTTPS"))) });
                return self.on_session(RPC_FILE, "prepare", id, more).await;
            }
            Form::Api => format!("{API_DS}/{id}/file?action=prepare"),
            Form::Rest => format!("{REST_CL}/item/downloadsession/file/id:{id}?~action=prepare"),
        };
        self.send(Method::POST, &path, Some(body), &[]).await
    }

    /// A plain GET of any URL (a download URI), without the session header.
    pub async fn fetch(&self, url: &str) -> Exchange {
        let anonymous = Target {
            token: None,
            ..self.clone()
        };
        anonymous.send(Method::GET, url, None, &[]).await
    }

    /// dlsim's clock control, if the endpoint is a dlsim on a virtual clock (one started with
    /// `--control-token` needs the same token in `DLSIM_CONTROL_TOKEN`).
    pub async fn dlsim_clock(&self) -> Option<Value> {
        let e = self
            .send(Method::GET, "/dlsim/clock", None, &control_token())
            .await;
        e.ok().then_some(e.json).flatten()
    }

    pub async fn dlsim_advance(&self, ms: u64) -> bool {
        let e = self
            .send(
                Method::POST,
                &format!("/dlsim/clock?advance_ms={ms}"),
                None,
                &control_token(),
            )
            .await;
        e.ok()
    }
}

/// The control-plane token header, when `DLSIM_CONTROL_TOKEN` gives one.
fn control_token() -> Vec<(&'static str, String)> {
    std::env::var("DLSIM_CONTROL_TOKEN")
        .ok()
        .filter(|t| !t.is_empty())
        .map(|t| vec![(crate::server::admin::CONTROL_TOKEN_HEADER, t)])
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_values_read_plain_by_their_tags() {
        let m = "com.vmware.content.library.item.download_session_model";
        let out = json!({ "STRUCTURE": { m: {
            "id": { "OPTIONAL": null },
            "state": { "OPTIONAL": "ACTIVE" },
            "client_progress": { "OPTIONAL": 0 },
            "error_message": { "OPTIONAL": { "STRUCTURE": {
                "com.vmware.vapi.std.localizable_message": {
                    "id": "x", "default_message": "failed", "args": [],
                    "params": { "OPTIONAL": [{ "STRUCTURE": { "map-entry": {
                        "key": "k", "value": { "STRUCTURE": { "p": { "s": { "OPTIONAL": "v" } } } }
                    } } }] },
                    "localized": { "OPTIONAL": null },
                } } } },
        } } });
        assert_eq!(
            plain(&out),
            json!({
                "state": "ACTIVE",
                "client_progress": 0,
                "error_message": {
                    "id": "x", "default_message": "failed", "args": [],
                    "params": [{ "key": "k", "value": { "s": "v" } }],
                },
            })
        );
        assert_eq!(plain(&json!({ "SECRET": "tok" })), json!("tok"));
        assert_eq!(plain(&json!(["a", "b"])), json!(["a", "b"]));
        // Lenient: a member beside the tag does not hide the structure.
        let bent =
            json!({ "STRUCTURE": { m: { "state": { "OPTIONAL": "ACTIVE" } } }, "owner": "x" });
        assert_eq!(plain(&bent), json!({ "state": "ACTIVE" }));
    }

    #[test]
    fn the_error_class_is_the_error_structure_name() {
        let e = Exchange {
            method: "POST".into(),
            url: "http://h/api".into(),
            request_body: None,
            status: 200,
            content_type: Some("application/json".into()),
            body: vec![],
            json: Some(
                json!({ "jsonrpc": "2.0", "id": "1", "result": { "error": { "ERROR": {
                "com.vmware.vapi.std.errors.not_allowed_in_current_state": { "messages": [] }
            } } } }),
            ),
            presented: None,
            rpc_id: Some(json!("1")),
            output: None,
            rpc: true,
        };
        assert!(!e.ok());
        assert_eq!(
            e.error_type(Form::JsonRpc).as_deref(),
            Some("NOT_ALLOWED_IN_CURRENT_STATE")
        );
    }
}
