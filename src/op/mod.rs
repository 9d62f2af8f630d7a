//! One operation value per request.
//!
//! Each wire form decodes an HTTP request exactly once into a [`Request`]: which contract
//! operation it is ([`OpName`]), its typed inputs ([`Op`]), and who presents it. Everything
//! downstream (applying it to the engine, fault matching, the journal, client verification)
//! reads that one value and never asks again which route, form or action a request was.
//! The decoders are pure functions of the raw request, so they can be fuzzed without a server.

pub mod api;
pub mod jsonrpc;
pub mod rest;

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use axum::http::HeaderMap;

use crate::engine::library::ItemFind;
use crate::model::value::{FromValue, StructDef, StructReader, VapiStruct};
use crate::model::{DownloadSessionModel, EndpointType, VapiError};
use crate::wire::{decode_body, request_errors, Form};

macro_rules! op_names {
    ($($variant:ident => $name:literal,)+) => {
        /// A contract operation, named as users write it in fault rules and read it in the
        /// journal: the same name whichever wire form carried the request.
        ///
        /// ```
        /// # #[tokio::main(flavor = "current_thread")]
        /// # async fn main() {
        /// use dlsim::OpName;
        /// let op: OpName = "download_session.keep_alive".parse().unwrap();
        /// assert_eq!(op, OpName::KeepAlive);
        /// assert_eq!(op.to_string(), "download_session.keep_alive");
        /// assert!("download_session.keepalive".parse::<OpName>().unwrap_err().contains("known:"));
        ///
        /// // A login through /api and one through /rest are the same operation.
        /// let fake = dlsim::Dlsim::start().await;
        /// let http = reqwest::Client::new();
        /// for path in ["/api/session", "/rest/com/vmware/cis/session"] {
        ///     http.post(format!("{}{path}", fake.base_url()))
        ///         .basic_auth(fake.username(), Some(fake.password()))
        ///         .send().await.unwrap();
        /// }
        /// let ops: Vec<_> = fake.journal().iter().map(|e| e.op).collect();
        /// assert_eq!(ops, [Some(OpName::Login), Some(OpName::Login)]);
        /// # }
        /// ```
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum OpName { $(#[doc = concat!("`", $name, "`")] $variant),+ }

        impl OpName {
            /// Every operation.
            pub const ALL: &'static [OpName] = &[$(OpName::$variant),+];
            /// The contract name, e.g. `download_session.keep_alive`.
            pub fn contract(self) -> &'static str {
                match self { $(OpName::$variant => $name),+ }
            }
        }
    };
}

op_names! {
    Login => "session.create",
    SessionGet => "session.get",
    Logout => "session.delete",
    LibraryList => "library.list",
    LibraryGet => "library.get",
    LibraryFind => "library.find",
    ItemList => "library.item.list",
    ItemGet => "library.item.get",
    ItemFind => "library.item.find",
    Create => "download_session.create",
    Get => "download_session.get",
    List => "download_session.list",
    KeepAlive => "download_session.keep_alive",
    Cancel => "download_session.cancel",
    Fail => "download_session.fail",
    Delete => "download_session.delete",
    FileList => "file.list",
    FileGet => "file.get",
    FilePrepare => "file.prepare",
    Download => "content.download",
}

impl OpName {
    /// Whether the operation is answered only to a logged-in caller.
    pub fn needs_login(self) -> bool {
        !matches!(self, OpName::Login | OpName::Download)
    }
}

impl fmt::Display for OpName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.contract())
    }
}

impl FromStr for OpName {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        OpName::ALL
            .iter()
            .copied()
            .find(|n| n.contract() == s)
            .ok_or_else(|| {
                let known: Vec<_> = OpName::ALL.iter().map(|n| n.contract()).collect();
                format!("unknown operation {s:?}; known: {}", known.join(", "))
            })
    }
}

/// A decoded operation with its inputs.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    Login {
        user: String,
        password: String,
    },
    SessionGet,
    Logout,
    LibraryList,
    LibraryGet {
        library: String,
    },
    LibraryFind {
        name: Option<String>,
        kind: Option<String>,
    },
    ItemList {
        library: String,
    },
    ItemGet {
        item: String,
    },
    ItemFind(ItemFind),
    Create {
        client_token: Option<String>,
        spec: DownloadSessionModel,
    },
    Get {
        session: String,
    },
    List {
        item: Option<String>,
    },
    KeepAlive {
        session: String,
        progress: Option<i64>,
    },
    Cancel {
        session: String,
    },
    Fail {
        session: String,
        message: String,
    },
    Delete {
        session: String,
    },
    FileList {
        session: String,
    },
    FileGet {
        session: String,
        file: String,
    },
    FilePrepare {
        session: String,
        file: String,
        endpoint: Option<EndpointType>,
    },
}

impl Op {
    pub fn name(&self) -> OpName {
        match self {
            Op::Login { .. } => OpName::Login,
            Op::SessionGet => OpName::SessionGet,
            Op::Logout => OpName::Logout,
            Op::LibraryList => OpName::LibraryList,
            Op::LibraryGet { .. } => OpName::LibraryGet,
            Op::LibraryFind { .. } => OpName::LibraryFind,
            Op::ItemList { .. } => OpName::ItemList,
            Op::ItemGet { .. } => OpName::ItemGet,
            Op::ItemFind(_) => OpName::ItemFind,
            Op::Create { .. } => OpName::Create,
            Op::Get { .. } => OpName::Get,
            Op::List { .. } => OpName::List,
            Op::KeepAlive { .. } => OpName::KeepAlive,
            Op::Cancel { .. } => OpName::Cancel,
            Op::Fail { .. } => OpName::Fail,
            Op::Delete { .. } => OpName::Delete,
            Op::FileList { .. } => OpName::FileList,
            Op::FileGet { .. } => OpName::FileGet,
            Op::FilePrepare { .. } => OpName::FilePrepare,
        }
    }

    /// The download session the operation names, if any.
    pub fn session(&self) -> Option<&str> {
        match self {
            Op::Get { session }
            | Op::KeepAlive { session, .. }
            | Op::Cancel { session }
            | Op::Fail { session, .. }
            | Op::Delete { session }
            | Op::FileList { session }
            | Op::FileGet { session, .. }
            | Op::FilePrepare { session, .. } => Some(session),
            _ => None,
        }
    }

    /// The library item the operation names, if any (a create's spec, a list filter).
    pub fn item(&self) -> Option<&str> {
        match self {
            Op::ItemGet { item } => Some(item),
            Op::Create { spec, .. } => spec.library_item_id.as_deref(),
            Op::List { item } => item.as_deref(),
            _ => None,
        }
    }

    /// The file the operation names, if any.
    pub fn file(&self) -> Option<&str> {
        match self {
            Op::FileGet { file, .. } | Op::FilePrepare { file, .. } => Some(file),
            _ => None,
        }
    }
}

/// Why a request could not be decoded: the error to answer with, and the HTTP status when it
/// is not the one the error type implies (405 for a wrong method, 413 for a large body).
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    pub error: VapiError,
    pub status: Option<u16>,
    /// A JSON-RPC protocol error (code and message) instead of a vAPI error.
    pub protocol: Option<(i64, &'static str)>,
}

impl Rejection {
    /// An error answered with this HTTP status rather than the one its type implies.
    pub fn with_status(error: VapiError, status: u16) -> Self {
        Rejection {
            error,
            status: Some(status),
            protocol: None,
        }
    }
}

impl From<VapiError> for Rejection {
    fn from(error: VapiError) -> Self {
        Rejection {
            error,
            status: None,
            protocol: None,
        }
    }
}

/// One request, decoded once.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub form: Form,
    /// The operation, when the route (and action) name one, even if its inputs did not decode.
    pub name: Option<OpName>,
    pub op: Result<Op, Rejection>,
    /// The login session token the request presents (header, or cookie where the form allows).
    pub token: Option<String>,
    /// `/rest` login only: answer with the session cookie (a client may opt out).
    pub set_cookie: bool,
    /// The route is one that answers only a logged-in caller, so login is checked before
    /// anything else about the request (as vCenter's authentication filter does).
    pub needs_login: bool,
    /// JSON-RPC only: the request's `id`, echoed in the answer (`null` when unreadable).
    pub rpc_id: Option<serde_json::Value>,
}

impl Request {
    fn of(form: Form, name: OpName, op: Result<Op, Rejection>) -> Self {
        Request {
            form,
            name: Some(name),
            op,
            token: None,
            set_cookie: false,
            needs_login: name.needs_login(),
            rpc_id: None,
        }
    }
    /// A request refused before it could be decoded (a body over the limit, say).
    pub fn rejected(form: Form, rejection: Rejection) -> Self {
        let mut r = Request::unnamed(form, rejection);
        if form == Form::JsonRpc {
            r.rpc_id = Some(serde_json::Value::Null);
        }
        r
    }

    /// A request no route serves (or with a method its route does not serve).
    fn unnamed(form: Form, rejection: Rejection) -> Self {
        Request {
            form,
            name: None,
            op: Err(rejection),
            token: None,
            set_cookie: false,
            needs_login: false,
            rpc_id: None,
        }
    }
    /// A request to a served resource whose action (and so operation) is unknown.
    fn unknown_action(form: Form, action: Option<&str>, allowed: &[&str]) -> Self {
        Request {
            needs_login: true,
            ..Request::unnamed(form, request_errors::unknown_action(action, allowed).into())
        }
    }
}

/// An HTTP request as the decoders see it: nothing read twice, nothing owned.
#[derive(Debug, Clone, Copy)]
pub struct RawRequest<'a> {
    pub method: &'a str,
    /// The path, still percent-encoded.
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

impl<'a> RawRequest<'a> {
    /// Query parameters, decoded (`?name` alone reads as `""`).
    fn query_pairs(&self) -> Vec<(Cow<'a, str>, Cow<'a, str>)> {
        self.query
            .map(|q| form_urlencoded::parse(q.as_bytes()).collect())
            .unwrap_or_default()
    }
}

/// The query of a request, read by name.
struct Query<'a>(Vec<(Cow<'a, str>, Cow<'a, str>)>);

impl Query<'_> {
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_ref())
    }
    /// The Python SDK's `'rest'` mode names a GET's parameter in the query (`?library_id`)
    /// and sends its value in a JSON body: take such values from the body.
    fn fill_from_body(&mut self, body: &[u8]) {
        if !self.0.iter().any(|(_, v)| v.is_empty()) {
            return;
        }
        let Ok(serde_json::Value::Object(fields)) = serde_json::from_slice(body) else {
            return;
        };
        for (k, v) in self.0.iter_mut() {
            if let (true, Some(serde_json::Value::String(s))) =
                (v.is_empty(), fields.get(k.as_ref()))
            {
                *v = Cow::Owned(s.clone());
            }
        }
    }
    fn required(&self, name: &str) -> Result<String, Rejection> {
        self.get(name)
            .map(str::to_string)
            .ok_or_else(|| request_errors::missing_query(name).into())
    }
}

/// The path's segments after `prefix`, percent-decoded; a segment that is not UTF-8 once
/// decoded is refused in the form's own error body.
pub(crate) fn segments<'p>(
    path: &'p str,
    prefix: &str,
) -> Option<Result<Vec<Cow<'p, str>>, Rejection>> {
    let rest = path.strip_prefix(prefix)?;
    if rest.is_empty() {
        return Some(Ok(vec![]));
    }
    let rest = rest.strip_prefix('/')?;
    let mut out = Vec::with_capacity(8);
    for s in rest.split('/') {
        // Most segments have nothing to decode: borrow them.
        if !s.as_bytes().contains(&b'%') {
            out.push(Cow::Borrowed(s));
            continue;
        }
        match percent_encoding::percent_decode_str(s).decode_utf8() {
            Ok(decoded) => out.push(decoded),
            Err(_) => {
                return Some(Err(request_errors::invalid_input(&format!(
                    "the path segment {s:?} is not valid percent-encoded UTF-8"
                ))
                .into()))
            }
        }
    }
    Some(Ok(out))
}

/// The answer for a known path asked with a method it does not serve.
fn method_not_allowed(raw: &RawRequest<'_>) -> Rejection {
    Rejection::with_status(
        request_errors::method_not_allowed(raw.method, raw.path),
        405,
    )
}

fn unknown_route(raw: &RawRequest<'_>) -> Rejection {
    request_errors::unknown_route(raw.method, raw.path).into()
}

/// A body decoded strictly as `def`, ready to read field by field.
struct Body(StructReader);

impl Body {
    fn decode(body: &[u8], def: &'static StructDef, form: Form) -> Result<Body, Rejection> {
        let value = decode_body(body, def, form.style())?;
        Ok(Body(StructReader::new(value, def).map_err(invalid)?))
    }
    fn nested(&mut self, name: &'static str, def: &'static StructDef) -> Result<Body, Rejection> {
        let value: crate::model::Value = self.0.req(name).map_err(invalid)?;
        Ok(Body(StructReader::new(value, def).map_err(invalid)?))
    }
    fn req<T: FromValue>(&mut self, name: &'static str) -> Result<T, Rejection> {
        self.0.req(name).map_err(invalid)
    }
    fn opt<T: FromValue>(&mut self, name: &'static str) -> Result<Option<T>, Rejection> {
        self.0.opt(name).map_err(invalid)
    }
}

/// The whole body decoded strictly as the model structure `T`.
fn model<T: VapiStruct>(body: &[u8], form: Form) -> Result<T, Rejection> {
    let value = decode_body(body, T::DEF, form.style())?;
    T::from_value(value).map_err(invalid)
}

fn invalid(e: crate::model::DecodeError) -> Rejection {
    request_errors::invalid_input(&format!("body{}: {}", e.path, e.message)).into()
}

fn has_body(body: &[u8]) -> bool {
    !body.iter().all(u8::is_ascii_whitespace)
}

/// A `find` spec read from a `{"spec": {...}}` body.
fn item_find(spec: &mut Body) -> Result<ItemFind, Rejection> {
    Ok(ItemFind {
        name: spec.opt("name")?,
        library_id: spec.opt("library_id")?,
        source_id: spec.opt("source_id")?,
        item_type: spec.opt("type")?,
        cached: spec.opt("cached")?,
    })
}

/// `keep-alive`, `cancel` or `fail` on a session, by action name. `/rest` reads a fail without
/// any body as a failure without a message (govmomi sends none).
fn session_action(form: Form, session: String, action: Option<&str>, body: &[u8]) -> Request {
    use crate::wire::bodies;
    match action {
        Some("keep-alive") => Request::of(
            form,
            OpName::KeepAlive,
            Body::decode(body, &bodies::KEEP_ALIVE, form)
                .and_then(|mut b| b.opt("progress"))
                .map(|progress| Op::KeepAlive { session, progress }),
        ),
        Some("cancel") => Request::of(
            form,
            OpName::Cancel,
            Body::decode(body, &bodies::EMPTY, form).map(|_| Op::Cancel { session }),
        ),
        Some("fail") => {
            let message = if !has_body(body) && form == Form::Rest {
                Ok(String::new())
            } else {
                Body::decode(body, &bodies::FAIL, form)
                    .and_then(|mut b| b.req("client_error_message"))
            };
            Request::of(
                form,
                OpName::Fail,
                message.map(|message| Op::Fail { session, message }),
            )
        }
        other => Request::unknown_action(form, other, &["keep-alive", "cancel", "fail"]),
    }
}

/// File `get` with the name in a `{"file_name"}` body.
fn file_get_by_body(form: Form, session: String, body: &[u8]) -> Result<Op, Rejection> {
    let name: Option<String> =
        Body::decode(body, &crate::wire::bodies::FILE_GET, form)?.opt("file_name")?;
    let file = name.ok_or_else(|| request_errors::missing_query("file_name"))?;
    Ok(Op::FileGet { session, file })
}

fn file_prepare(form: Form, session: String, body: &[u8]) -> Result<Op, Rejection> {
    let mut b = Body::decode(body, &crate::wire::bodies::PREPARE, form)?;
    Ok(Op::FilePrepare {
        session,
        file: b.req("file_name")?,
        endpoint: b.opt("endpoint_type")?,
    })
}

/// The `user:password` of an `Authorization: Basic` header.
fn basic_credentials(headers: &HeaderMap) -> Result<Op, Rejection> {
    crate::server::auth::basic_credentials(headers)
        .map(|(user, password)| Op::Login { user, password })
        .map_err(Rejection::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contract_names_are_unique_and_parse_back() {
        for n in OpName::ALL {
            assert_eq!(n.contract().parse::<OpName>(), Ok(*n));
        }
        assert!("download_session.nope".parse::<OpName>().is_err());
    }

    #[test]
    fn segments_are_percent_decoded_and_bad_utf8_is_refused() {
        let ok = segments("/api/a%20b/c", "/api").unwrap().unwrap();
        assert_eq!(ok, vec!["a b", "c"]);
        assert!(segments("/api/%ff%fe", "/api").unwrap().is_err());
        assert!(segments("/apix", "/api").is_none());
    }
}
