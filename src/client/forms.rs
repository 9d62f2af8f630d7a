//! The one request layer of dlsim's clients: every operation written the way each wire form
//! wants it, and every answer kept whole (status, headers, bytes) as an [`Exchange`].
//!
//! - `/api`: JSON bodies and answers as they are, the login token in `vmware-api-session-id`;
//! - `/rest`: bodies wrapped (`{"create_spec": ..}`), answers as `{"value": ..}`, maps as
//!   `[{"key", "value"}]` lists, actions as `?~action=`;
//! - vAPI JSON-RPC 2.0: one `POST /api` per call with the `invoke` envelope, typed inputs
//!   (`STRUCTURE`, `OPTIONAL`) and the login in `ctx.securityCtx`; answers as `result.output`
//!   or `result.error`, both with HTTP 200.
//!
//! `dlsim check` judges the exchanges by the JSON Schemas and keeps them as evidence; `dlsim
//! download` reads its few typed fields from an exchange's plain [`Exchange::document`]. Neither
//! uses dlsim's model, wire encoders or engine, so both can be pointed at a real vCenter.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::Method;
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::api::{presented, Http};
use super::error::chain;
use super::tls::Thumbprints;
use super::ClientError;

/// A wire form of the API: how requests and answers are spelled. A vCenter speaks all three;
/// [`download`](crate::download) uses one ([`DownloadOptions::form`](crate::DownloadOptions::form)),
/// [`check`](crate::check) tests each one listed in [`CheckOptions::forms`](crate::CheckOptions::forms).
///
/// ```
/// use dlsim::Form;
/// assert_eq!(Form::default(), Form::Api);
/// assert_eq!(Form::JsonRpc.name(), "jsonrpc");
/// assert_eq!(Form::from_name("rest"), Some(Form::Rest));
/// assert_eq!(Form::from_name("soap"), None);
/// // As the command line reads `--form`:
/// assert_eq!(Form::parse("all"), Some(Form::ALL.to_vec()));
/// assert_eq!(Form::parse("api"), Some(vec![Form::Api]));
///
/// let mut opts = dlsim::CheckOptions::new("https://vc.example", "user", "secret");
/// assert_eq!(opts.forms, Form::ALL);
/// opts.forms = vec![Form::Rest];
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Form {
    /// `/api` (vSphere 7.0 U2 and later).
    #[default]
    Api,
    /// `/rest` (the older REST form).
    Rest,
    /// vAPI JSON-RPC 2.0 at `POST /api` (the SDKs' default).
    JsonRpc,
}

impl Form {
    /// Every form, in the order `dlsim check` tests them.
    pub const ALL: [Form; 3] = [Form::Api, Form::Rest, Form::JsonRpc];

    /// The form's name on the command line and in reports (`api`, `rest`, `jsonrpc`).
    pub fn name(self) -> &'static str {
        match self {
            Form::Api => "api",
            Form::Rest => "rest",
            Form::JsonRpc => "jsonrpc",
        }
    }

    /// One form by its name (`api`, `rest`, `jsonrpc`).
    pub fn from_name(s: &str) -> Option<Form> {
        Form::ALL.into_iter().find(|f| f.name() == s)
    }

    /// One form by its name, or every form for `all`.
    pub fn parse(s: &str) -> Option<Vec<Form>> {
        match s {
            "all" => Some(Form::ALL.to_vec()),
            s => Form::from_name(s).map(|f| vec![f]),
        }
    }
}

/// An operation of the API, in no form yet.
#[derive(Debug, Clone, Copy)]
pub enum Call<'a> {
    Login {
        user: &'a str,
        password: &'a str,
    },
    Logout,
    Libraries,
    Library(&'a str),
    Items(&'a str),
    Item(&'a str),
    Create {
        item: &'a str,
        client_token: Option<&'a str>,
    },
    Get(&'a str),
    List(Option<&'a str>),
    KeepAlive {
        session: &'a str,
        progress: Option<i64>,
    },
    Cancel(&'a str),
    Fail {
        session: &'a str,
        message: &'a str,
    },
    Delete(&'a str),
    FileList(&'a str),
    FileGet {
        session: &'a str,
        file: &'a str,
    },
    Prepare {
        session: &'a str,
        file: &'a str,
    },
}

/// A request and its answer, as the report shows them.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub method: String,
    pub url: String,
    pub request_body: Option<String>,
    pub status: u16,
    pub content_type: Option<String>,
    pub headers: HeaderMap,
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

/// What a [`RuleFailure`](crate::RuleFailure) of [`check`](crate::check) shows: the request
/// sent and the answer that broke the rule.
///
/// Here the fake is told to break the `schema.library` rule (its library answers lack `name`):
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// # let library: dlsim::LibrarySpec = toml::from_str(
/// #     "name = \"isos\"\n[[items]]\nname = \"alpine\"\nfiles = [{ name = \"alpine.iso\", size = 4096 }]",
/// # ).unwrap();
/// let fake = dlsim::Dlsim::builder()
///     .libraries(vec![library])
///     .violate(dlsim::Violation::LibraryBody)
///     .start()
///     .await;
/// let mut opts = dlsim::CheckOptions::new(fake.base_url(), fake.username(), fake.password());
/// opts.forms = vec![dlsim::Form::Api];
/// let report = dlsim::check(&opts, |_step| {}).await.unwrap();
///
/// let result = report.results.iter().find(|r| r.rule.id == "schema.library").unwrap();
/// let evidence = result.failures[0].evidence.as_ref().unwrap();
/// assert!(evidence.request.starts_with("GET http://127.0.0.1:"), "{}", evidence.request);
/// assert!(evidence.request.contains("/api/content/library/"));
/// assert_eq!(evidence.request_body, None);
/// assert_eq!(evidence.status, 200);
/// assert!(!evidence.response_body.contains("\"name\""));
/// # }
/// ```
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Evidence {
    /// The method and URL, e.g. `GET https://vc.example/api/content/library`.
    pub request: String,
    /// The body sent, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_body: Option<String>,
    /// The HTTP status of the answer.
    pub status: u16,
    /// The answer's body as text (the first 2000 characters).
    pub response_body: String,
}

const EVIDENCE_BYTES: usize = 2000;
const ERRORS: &str = "com.vmware.vapi.std.errors.";

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

    /// The result as one plain document whatever the form: [`Exchange::value`] with the maps
    /// of `/rest` and JSON-RPC (`[{"key", "value"}]` lists) turned into objects, as `/api`
    /// writes them. A void result is `null`.
    pub fn document(&self, form: Form) -> Value {
        let v = self.value(form).cloned().unwrap_or(Value::Null);
        match form {
            Form::Api => v,
            Form::Rest | Form::JsonRpc => maps_as_objects(v),
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
                Some(t.strip_prefix(ERRORS)?.to_ascii_uppercase())
            }
            Form::JsonRpc => {
                // The class is the ERROR structure's name.
                let e = self.rpc_error()?.get("ERROR")?.as_object()?;
                let name = e.keys().next()?;
                Some(name.strip_prefix(ERRORS)?.to_ascii_uppercase())
            }
        }
    }

    /// The first message of an error answer (its `default_message`, else its id), or the
    /// start of a body that is not an error document.
    pub fn error_message(&self, form: Form) -> Option<String> {
        let error = match form {
            Form::Api => self.json.clone(),
            Form::Rest => self.json.as_ref().and_then(|j| j.get("value")).cloned(),
            Form::JsonRpc => self.rpc_error().map(plain),
        };
        let first = error
            .as_ref()
            .and_then(|e| e.get("messages")?.as_array()?.first().cloned());
        if let Some(m) = first {
            let text = |k: &str| m.get(k).and_then(Value::as_str).map(str::to_string);
            return text("default_message").or_else(|| text("id"));
        }
        if error.is_some() {
            return None;
        }
        let text = String::from_utf8_lossy(&self.body);
        let snippet: String = text.trim().chars().take(200).collect();
        (!snippet.is_empty()).then_some(snippet)
    }

    /// JSON-RPC: the protocol error (`error.code`, `error.message`) of an answer that has one.
    pub fn rpc_protocol_error(&self) -> Option<(i64, String)> {
        let e = self.json.as_ref()?.get("error")?;
        let code = e.get("code")?.as_i64()?;
        let message = e.get("message").and_then(Value::as_str).unwrap_or("");
        Some((code, message.to_string()))
    }

    /// The wait a `Retry-After` header asks for, in seconds (the HTTP-date form is not read).
    pub fn retry_after(&self) -> Option<Duration> {
        super::api::retry_after(&self.headers)
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

/// Every non-empty list of `{"key": <string>, "value": ..}` objects (a map, as `/rest` and a
/// plain-read JSON-RPC answer write it) turned into an object, as `/api` writes maps.
pub fn maps_as_objects(v: Value) -> Value {
    match v {
        Value::Array(a) => {
            let is_map = !a.is_empty()
                && a.iter().all(|e| {
                    e.as_object()
                        .is_some_and(|o| o.len() == 2 && o.get("key").is_some_and(Value::is_string))
                        && e.get("value").is_some()
                });
            if is_map {
                let mut m = Map::new();
                for e in a {
                    if let Value::Object(mut o) = e {
                        if let (Some(Value::String(k)), Some(v)) =
                            (o.remove("key"), o.remove("value"))
                        {
                            m.insert(k, maps_as_objects(v));
                        }
                    }
                }
                Value::Object(m)
            } else {
                Value::Array(a.into_iter().map(maps_as_objects).collect())
            }
        }
        Value::Object(o) => Value::Object(
            o.into_iter()
                .map(|(k, x)| (k, maps_as_objects(x)))
                .collect(),
        ),
        other => other,
    }
}

/// Request ids, unique within the process (strings, as the SDK sends them).
static RPC_IDS: AtomicU64 = AtomicU64::new(0);

fn optional(v: Option<Value>) -> Value {
    json!({ "OPTIONAL": v })
}

/// The login token header of `/api` and `/rest`.
pub const SESSION_HEADER: &str = "vmware-api-session-id";

const API_DS: &str = "/api/content/library/item/download-session";
const REST_CL: &str = "/rest/com/vmware/content/library";
const RPC_DS: &str = "com.vmware.content.library.item.download_session";
const RPC_FILE: &str = "com.vmware.content.library.item.downloadsession.file";
const RPC_SESSION: &str = "com.vmware.cis.session";
const RPC_LIBRARY: &str = "com.vmware.content.library";
const RPC_ITEM: &str = "com.vmware.content.library.item";
/// A service no endpoint has, for the protocol-error probe.
pub const RPC_NO_SUCH_SERVICE: &str = "com.vmware.dlsim.check.no_such_service";

/// One value for a path segment or a query, percent-encoded.
fn esc(s: &str) -> String {
    crate::ids::escape(s)
}

/// A request ready to send, in one form.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: Method,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
    /// `Some(id)` for a JSON-RPC call (`Some(None)` for one that carries no id).
    pub rpc: Option<Option<Value>>,
}

impl Request {
    /// Send it and read the whole answer; a connection error is a readable [`ClientError`]
    /// naming `context`.
    pub async fn send(
        self,
        http: &Http,
        context: &str,
        timeout: Option<Duration>,
    ) -> Result<Exchange, ClientError> {
        let mut req = http.client.request(self.method.clone(), &self.url);
        if let Some(t) = timeout {
            req = req.timeout(t);
        }
        for (k, v) in &self.headers {
            req = req.header(k.as_str(), v.as_str());
        }
        if let Some(b) = &self.body {
            req = req.body(b.clone());
        }
        let resp = http.send(req, context).await?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let content_type = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let presented = presented(&resp);
        let body = resp
            .bytes()
            .await
            .map(|b| b.to_vec())
            .map_err(|e| ClientError::Transport {
                context: context.to_string(),
                message: chain(&e),
            })?;
        let json: Option<Value> = serde_json::from_slice(&body).ok();
        let rpc = self.rpc.is_some();
        let output = rpc
            .then(|| json.as_ref()?.get("result")?.get("output").map(plain))
            .flatten();
        Ok(Exchange {
            method: self.method.to_string(),
            url: self.url,
            request_body: self.body,
            status,
            content_type,
            headers,
            body,
            json,
            presented,
            rpc_id: self.rpc.flatten(),
            output,
            rpc,
        })
    }

    /// [`Request::send`], a connection error kept as an exchange with status 0 (as evidence).
    pub async fn exchange(self, http: &Http) -> Exchange {
        let method = self.method.to_string();
        let (url, request_body, rpc) = (self.url.clone(), self.body.clone(), self.rpc.clone());
        let context = format!("{method} {url}");
        match self.send(http, &context, None).await {
            Ok(e) => e,
            Err(e) => Exchange {
                method,
                url,
                request_body,
                status: 0,
                content_type: None,
                headers: HeaderMap::new(),
                body: format!("transport error: {e}").into_bytes(),
                json: None,
                presented: None,
                rpc: rpc.is_some(),
                rpc_id: rpc.flatten(),
                output: None,
            },
        }
    }
}

/// The endpoint under test, through one wire form, logged in (`token`) or not.
#[derive(Clone, Debug)]
pub struct Endpoint {
    pub form: Form,
    /// `https://host:port[/prefix]`, no trailing slash.
    pub root: String,
    pub http: Http,
    pub token: Option<String>,
}

impl Endpoint {
    pub fn new(form: Form, root: &str, http: Http) -> Self {
        Endpoint {
            form,
            root: root.trim_end_matches('/').to_string(),
            http,
            token: None,
        }
    }

    /// The same endpoint, not logged in.
    pub fn anonymous(&self) -> Endpoint {
        Endpoint {
            token: None,
            ..self.clone()
        }
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            path.to_string()
        } else {
            format!("{}{path}", self.root)
        }
    }

    /// A request of `/api` or `/rest`: the login token as a header, a body as JSON.
    pub fn plain_request(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, String)],
    ) -> Request {
        let mut h: Vec<(String, String)> = vec![];
        if let Some(t) = &self.token {
            h.push((SESSION_HEADER.into(), t.clone()));
        }
        h.extend(headers.iter().map(|(k, v)| (k.to_string(), v.clone())));
        if body.is_some() || method == Method::POST {
            h.push(("content-type".into(), "application/json".into()));
        }
        Request {
            url: self.url(path),
            method,
            headers: h,
            body: body.as_ref().map(Value::to_string),
            rpc: None,
        }
    }

    /// A JSON-RPC `invoke` of `service.operation` with typed `fields` as the operation input,
    /// and the session id (or, with `login`, user and password) in the security context.
    pub fn invoke(
        &self,
        service: &str,
        operation: &str,
        fields: Value,
        login: Option<(&str, &str)>,
    ) -> Request {
        let id = RPC_IDS.fetch_add(1, Ordering::Relaxed).to_string();
        let mut ctx = json!({ "appCtx": { "opId": format!("dlsim-{id}") } });
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
        self.rpc_request(
            body.to_string(),
            Some(json!(id)),
            &[("vapi-service", service), ("vapi-operation", operation)],
        )
    }

    /// A raw body POSTed to `/api` as a JSON-RPC call; `id` is the id it carries, if any.
    pub fn rpc_request(
        &self,
        body: String,
        id: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Request {
        let mut h = vec![("content-type".to_string(), "application/json".to_string())];
        h.extend(headers.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        Request {
            method: Method::POST,
            url: self.url("/api"),
            headers: h,
            body: Some(body),
            rpc: Some(id),
        }
    }

    /// `call` written in this endpoint's form, with its login.
    pub fn request(&self, call: &Call<'_>) -> Request {
        match self.form {
            Form::JsonRpc => self.rpc(call),
            Form::Api | Form::Rest => self.rest(call),
        }
    }

    fn rpc(&self, call: &Call<'_>) -> Request {
        let on = |service: &str, op: &str, id: &str, more: Value| {
            let mut input = json!({ "download_session_id": id });
            if let (Value::Object(i), Value::Object(m)) = (&mut input, more) {
                i.extend(m);
            }
            self.invoke(service, op, input, None)
        };
        let opt = |s: Option<&str>| optional(s.map(|s| json!(s)));
        match *call {
            Call::Login { user, password } => {
                self.anonymous()
                    .invoke(RPC_SESSION, "create", json!({}), Some((user, password)))
            }
            Call::Logout => self.invoke(RPC_SESSION, "delete", json!({}), None),
            Call::Libraries => self.invoke(RPC_LIBRARY, "list", json!({}), None),
            Call::Library(id) => self.invoke(RPC_LIBRARY, "get", json!({ "library_id": id }), None),
            Call::Items(library) => {
                self.invoke(RPC_ITEM, "list", json!({ "library_id": library }), None)
            }
            Call::Item(id) => self.invoke(RPC_ITEM, "get", json!({ "library_item_id": id }), None),
            Call::Create { item, client_token } => {
                let model = "com.vmware.content.library.item.download_session_model";
                let mut spec = json!({});
                for f in [
                    "id",
                    "library_item_content_version",
                    "error_message",
                    "client_progress",
                    "state",
                    "expiration_time",
                ] {
                    spec[f] = optional(None);
                }
                spec["library_item_id"] = opt(Some(item));
                let input = json!({
                    "client_token": opt(client_token),
                    "create_spec": { "STRUCTURE": { model: spec } },
                });
                self.invoke(RPC_DS, "create", input, None)
            }
            Call::Get(id) => on(RPC_DS, "get", id, json!({})),
            Call::List(item) => self.invoke(
                RPC_DS,
                "list",
                json!({ "library_item_id": opt(item) }),
                None,
            ),
            Call::KeepAlive { session, progress } => {
                let more = json!({ "progress": optional(progress.map(|p| json!(p))) });
                on(RPC_DS, "keep_alive", session, more)
            }
            Call::Cancel(id) => on(RPC_DS, "cancel", id, json!({})),
            Call::Fail { session, message } => on(
                RPC_DS,
                "fail",
                session,
                json!({ "client_error_message": message }),
            ),
            Call::Delete(id) => on(RPC_DS, "delete", id, json!({})),
            Call::FileList(id) => on(RPC_FILE, "list", id, json!({})),
            Call::FileGet { session, file } => {
                on(RPC_FILE, "get", session, json!({ "file_name": file }))
            }
            Call::Prepare { session, file } => on(
                RPC_FILE,
                "prepare",
                session,
                json!({ "file_name": file, "endpoint_type": opt(Some("HTTPS")) }),
            ),
        }
    }

    fn rest(&self, call: &Call<'_>) -> Request {
        let rest = self.form == Form::Rest;
        // A download session's path, and one of its actions.
        let ds = |id: &str| match rest {
            false => format!("{API_DS}/{}", esc(id)),
            true => format!("{REST_CL}/item/download-session/id:{}", esc(id)),
        };
        let action = |id: &str, a: &str| match rest {
            false => format!("{}?action={a}", ds(id)),
            true => format!("{}?~action={a}", ds(id)),
        };
        let file_action = |id: &str, a: &str| match rest {
            false => format!("{API_DS}/{}/file?action={a}", esc(id)),
            true => format!(
                "{REST_CL}/item/downloadsession/file/id:{}?~action={a}",
                esc(id)
            ),
        };
        let cl = if rest {
            REST_CL
        } else {
            "/api/content/library"
        };
        let get = |path: String| self.plain_request(Method::GET, &path, None, &[]);
        let post =
            |path: String, body: Option<Value>| self.plain_request(Method::POST, &path, body, &[]);
        match *call {
            Call::Login { user, password } => {
                use base64::Engine as _;
                let basic =
                    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
                let headers = [
                    ("authorization", format!("Basic {basic}")),
                    ("vmware-use-header-authn", "true".to_string()),
                ];
                self.anonymous()
                    .plain_request(Method::POST, self.session_path(), None, &headers)
            }
            Call::Logout => self.plain_request(Method::DELETE, self.session_path(), None, &[]),
            Call::Libraries => get(cl.to_string()),
            Call::Library(id) if rest => get(format!("{cl}/id:{}", esc(id))),
            Call::Library(id) => get(format!("{cl}/{}", esc(id))),
            Call::Items(library) => get(format!("{cl}/item?library_id={}", esc(library))),
            Call::Item(id) if rest => get(format!("{cl}/item/id:{}", esc(id))),
            Call::Item(id) => get(format!("{cl}/item/{}", esc(id))),
            Call::Create { item, client_token } => {
                let spec = json!({ "library_item_id": item });
                if rest {
                    let mut body = json!({ "create_spec": spec });
                    if let Some(t) = client_token {
                        body["client_token"] = json!(t);
                    }
                    post(format!("{REST_CL}/item/download-session"), Some(body))
                } else {
                    let headers: Vec<(&str, String)> = client_token
                        .map(|t| ("Client-Token", t.to_string()))
                        .into_iter()
                        .collect();
                    self.plain_request(Method::POST, API_DS, Some(spec), &headers)
                }
            }
            Call::Get(id) => get(ds(id)),
            Call::List(item) => {
                let base = match rest {
                    false => API_DS.to_string(),
                    true => format!("{REST_CL}/item/download-session"),
                };
                get(match item {
                    Some(i) => format!("{base}?library_item_id={}", esc(i)),
                    None => base,
                })
            }
            Call::KeepAlive { session, progress } => post(
                action(session, "keep-alive"),
                progress.map(|p| json!({ "progress": p })),
            ),
            Call::Cancel(id) => post(action(id, "cancel"), None),
            Call::Fail { session, message } => post(
                action(session, "fail"),
                Some(json!({ "client_error_message": message })),
            ),
            Call::Delete(id) => self.plain_request(Method::DELETE, &ds(id), None, &[]),
            Call::FileList(id) if rest => get(format!(
                "{REST_CL}/item/downloadsession/file?download_session_id={}",
                esc(id)
            )),
            Call::FileList(id) => get(format!("{API_DS}/{}/file", esc(id))),
            Call::FileGet { session, file } if rest => post(
                file_action(session, "get"),
                Some(json!({ "file_name": file })),
            ),
            Call::FileGet { session, file } => get(format!(
                "{API_DS}/{}/file?file_name={}",
                esc(session),
                esc(file)
            )),
            Call::Prepare { session, file } => post(
                file_action(session, "prepare"),
                Some(json!({ "file_name": file, "endpoint_type": "HTTPS" })),
            ),
        }
    }

    fn session_path(&self) -> &'static str {
        match self.form {
            Form::Rest => "/rest/com/vmware/cis/session",
            _ => "/api/session",
        }
    }

    /// `call` sent, its answer kept whole (a connection error as status 0).
    pub async fn send(&self, call: &Call<'_>) -> Exchange {
        self.request(call).exchange(&self.http).await
    }

    /// Any request of `/api` or `/rest` form (with the login token, when there is one).
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, String)],
    ) -> Exchange {
        self.plain_request(method, path, body, headers)
            .exchange(&self.http)
            .await
    }

    /// A raw body POSTed to `/api` as a JSON-RPC call; `id` is the id it carries, if any.
    pub async fn rpc_raw(
        &self,
        body: String,
        id: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Exchange {
        self.rpc_request(body, id, headers)
            .exchange(&self.http)
            .await
    }

    /// An invoke of a service that does not exist.
    pub async fn rpc_unknown_service(&self) -> Exchange {
        self.invoke(RPC_NO_SUCH_SERVICE, "get", json!({}), None)
            .exchange(&self.http)
            .await
    }

    pub async fn login(&self, user: &str, password: &str) -> Exchange {
        self.send(&Call::Login { user, password }).await
    }

    pub async fn logout(&self) -> Exchange {
        self.send(&Call::Logout).await
    }

    pub async fn libraries(&self) -> Exchange {
        self.send(&Call::Libraries).await
    }

    pub async fn library(&self, id: &str) -> Exchange {
        self.send(&Call::Library(id)).await
    }

    pub async fn items(&self, library: &str) -> Exchange {
        self.send(&Call::Items(library)).await
    }

    pub async fn item(&self, id: &str) -> Exchange {
        self.send(&Call::Item(id)).await
    }

    pub async fn create(&self, item: &str, client_token: Option<&str>) -> Exchange {
        self.send(&Call::Create { item, client_token }).await
    }

    pub async fn get(&self, id: &str) -> Exchange {
        self.send(&Call::Get(id)).await
    }

    pub async fn list(&self, item: Option<&str>) -> Exchange {
        self.send(&Call::List(item)).await
    }

    pub async fn keep_alive(&self, session: &str, progress: Option<i64>) -> Exchange {
        self.send(&Call::KeepAlive { session, progress }).await
    }

    pub async fn cancel(&self, id: &str) -> Exchange {
        self.send(&Call::Cancel(id)).await
    }

    pub async fn fail(&self, session: &str, message: &str) -> Exchange {
        self.send(&Call::Fail { session, message }).await
    }

    pub async fn delete(&self, id: &str) -> Exchange {
        self.send(&Call::Delete(id)).await
    }

    pub async fn file_list(&self, id: &str) -> Exchange {
        self.send(&Call::FileList(id)).await
    }

    pub async fn file_get(&self, session: &str, file: &str) -> Exchange {
        self.send(&Call::FileGet { session, file }).await
    }

    pub async fn prepare(&self, session: &str, file: &str) -> Exchange {
        self.send(&Call::Prepare { session, file }).await
    }

    /// A plain GET of any URL (a download URI), without the session header.
    pub async fn fetch(&self, url: &str) -> Exchange {
        self.anonymous().raw(Method::GET, url, None, &[]).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(form: Form) -> Endpoint {
        let mut e = Endpoint::new(form, "https://vc.example/", Http::new(None).unwrap());
        e.token = Some("tok".into());
        e
    }

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
        let read = plain(&out);
        assert_eq!(
            read,
            json!({
                "state": "ACTIVE",
                "client_progress": 0,
                "error_message": {
                    "id": "x", "default_message": "failed", "args": [],
                    "params": [{ "key": "k", "value": { "s": "v" } }],
                },
            })
        );
        // The plain document has the map as an object, as /api writes it.
        assert_eq!(
            maps_as_objects(read)["error_message"]["params"],
            json!({ "k": { "s": "v" } })
        );
        assert_eq!(plain(&json!({ "SECRET": "tok" })), json!("tok"));
        assert_eq!(plain(&json!(["a", "b"])), json!(["a", "b"]));
        // Lenient: a member beside the tag does not hide the structure.
        let bent =
            json!({ "STRUCTURE": { m: { "state": { "OPTIONAL": "ACTIVE" } } }, "owner": "x" });
        assert_eq!(plain(&bent), json!({ "state": "ACTIVE" }));
    }

    #[test]
    fn only_key_value_lists_become_objects() {
        assert_eq!(
            maps_as_objects(json!([{ "key": "a", "value": 1 }, { "key": "b", "value": [] }])),
            json!({ "a": 1, "b": [] })
        );
        for not_a_map in [
            json!([]),
            json!([{ "key": "a", "value": 1 }, { "name": "x" }]),
            json!([{ "key": 1, "value": 1 }]),
            json!([{ "key": "a", "value": 1, "more": 2 }]),
        ] {
            assert_eq!(maps_as_objects(not_a_map.clone()), not_a_map);
        }
    }

    fn exchange(status: u16, json: Value, rpc: bool) -> Exchange {
        Exchange {
            method: "POST".into(),
            url: "http://h/api".into(),
            request_body: None,
            status,
            content_type: Some("application/json".into()),
            headers: HeaderMap::new(),
            body: json.to_string().into_bytes(),
            output: rpc
                .then(|| json.get("result")?.get("output").map(plain))
                .flatten(),
            json: Some(json),
            presented: None,
            rpc_id: rpc.then(|| json!("1")),
            rpc,
        }
    }

    #[test]
    fn the_error_class_is_the_error_structure_name() {
        let e = exchange(
            200,
            json!({ "jsonrpc": "2.0", "id": "1", "result": { "error": { "ERROR": {
                "com.vmware.vapi.std.errors.not_allowed_in_current_state": { "messages": [
                    { "STRUCTURE": { "com.vmware.vapi.std.localizable_message": {
                        "id": "m.id", "default_message": "canceled", "args": [] } } }
                ] }
            } } } }),
            true,
        );
        assert!(!e.ok());
        assert_eq!(
            e.error_type(Form::JsonRpc).as_deref(),
            Some("NOT_ALLOWED_IN_CURRENT_STATE")
        );
        assert_eq!(e.error_message(Form::JsonRpc).as_deref(), Some("canceled"));
    }

    #[test]
    fn errors_of_every_form_read_alike() {
        let api = exchange(
            404,
            json!({ "error_type": "NOT_FOUND", "messages": [{ "id": "x", "default_message": "gone" }] }),
            false,
        );
        let rest = exchange(
            404,
            json!({ "type": "com.vmware.vapi.std.errors.not_found",
                    "value": { "messages": [{ "id": "x", "default_message": "gone" }] } }),
            false,
        );
        for (e, form) in [(api, Form::Api), (rest, Form::Rest)] {
            assert_eq!(e.error_type(form).as_deref(), Some("NOT_FOUND"), "{form:?}");
            assert_eq!(e.error_message(form).as_deref(), Some("gone"), "{form:?}");
        }
        let mut html = exchange(502, json!(null), false);
        html.json = None;
        html.body = b"<html>bad gateway</html>".to_vec();
        assert_eq!(
            html.error_message(Form::Api).as_deref(),
            Some("<html>bad gateway</html>")
        );
    }

    #[test]
    fn one_call_in_three_forms() {
        let call = Call::KeepAlive {
            session: "s/1",
            progress: Some(50),
        };
        let api = endpoint(Form::Api).request(&call);
        assert_eq!(
            api.url,
            "https://vc.example/api/content/library/item/download-session/s%2F1?action=keep-alive"
        );
        assert!(api
            .headers
            .contains(&(SESSION_HEADER.to_string(), "tok".to_string())));
        assert_eq!(api.body.as_deref(), Some(r#"{"progress":50}"#));

        let rest = endpoint(Form::Rest).request(&call);
        assert_eq!(
            rest.url,
            "https://vc.example/rest/com/vmware/content/library/item/download-session/id:s%2F1?~action=keep-alive"
        );

        let rpc = endpoint(Form::JsonRpc).request(&call);
        assert_eq!(rpc.url, "https://vc.example/api");
        assert!(!rpc.headers.iter().any(|(k, _)| k == SESSION_HEADER));
        let body: Value = serde_json::from_str(rpc.body.as_deref().unwrap()).unwrap();
        assert_eq!(body["params"]["operationId"], "keep_alive");
        assert_eq!(
            body["params"]["input"]["STRUCTURE"]["operation-input"],
            json!({ "download_session_id": "s/1", "progress": { "OPTIONAL": 50 } })
        );
        assert_eq!(body["params"]["ctx"]["securityCtx"]["sessionId"], "tok");
        assert_eq!(rpc.rpc, Some(Some(body["id"].clone())));
    }

    #[test]
    fn logins_never_carry_a_token_and_file_names_are_escaped() {
        let login = Call::Login {
            user: "u",
            password: "p",
        };
        for form in [Form::Api, Form::Rest] {
            let r = endpoint(form).request(&login);
            assert!(
                !r.headers.iter().any(|(k, _)| k == SESSION_HEADER),
                "{form:?}"
            );
            assert!(r
                .headers
                .contains(&("authorization".to_string(), "Basic dTpw".to_string())));
        }
        let r = endpoint(Form::JsonRpc).request(&login);
        let body: Value = serde_json::from_str(r.body.as_deref().unwrap()).unwrap();
        assert_eq!(
            body["params"]["ctx"]["securityCtx"]["schemeId"],
            "com.vmware.vapi.std.security.user_pass"
        );
        let get = Call::FileGet {
            session: "s",
            file: "a b&c.ovf",
        };
        assert_eq!(
            endpoint(Form::Api).request(&get).url,
            "https://vc.example/api/content/library/item/download-session/s/file?file_name=a%20b%26c.ovf"
        );
    }

    #[test]
    fn forms_by_name() {
        assert_eq!(Form::from_name("jsonrpc"), Some(Form::JsonRpc));
        assert_eq!(Form::from_name("all"), None);
        assert_eq!(Form::parse("all").unwrap(), Form::ALL.to_vec());
        assert_eq!(Form::parse("rest").unwrap(), [Form::Rest]);
        assert!(Form::parse("soap").is_none());
    }
}
