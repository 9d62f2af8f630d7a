//! The one handler behind every API route: read the request, decode it once in its form,
//! consult the faults, apply it, write the outcome back in the same form, journal it.

use std::borrow::Cow;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{Body, HttpBody as _};
use axum::extract::{Request as HttpRequest, State};
use axum::http::{header, HeaderValue};
use axum::response::Response;

use super::apply::{apply, Applied};
use super::auth::SESSION_HEADER;
use super::inject::{self, Injected, Target};
use super::respond::to_response;
use super::transport;
use super::AppState;
use crate::faults::What;
use crate::journal::Entry;
use crate::model::Value;
use crate::op::{self, Op, OpName, RawRequest, Rejection, Request};
use crate::wire::{request_errors, Form, Outcome, Reply, Written};

/// Every request no other route took: the API of every wire form (the decoders do the
/// routing, so the router captures and decodes nothing), else a JSON 404.
pub async fn handle(State(state): State<Arc<AppState>>, req: HttpRequest) -> Response {
    let path = req.uri().path();
    let api = |p: &str| {
        path.strip_prefix(p)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    };
    if !api("/api") && !api("/rest") && !api(crate::wire::SDK_REST_PREFIX) {
        return super::respond::not_found(req.method().clone(), req.uri().clone()).await;
    }
    let started = Instant::now();
    let (parts, body) = req.into_parts();
    let form = if parts.method == axum::http::Method::POST && parts.uri.path() == "/api" {
        Form::JsonRpc
    } else {
        Form::of_path(parts.uri.path())
    };
    if super::header_bytes(&parts.headers) > super::MAX_HEADER_BYTES {
        let rejection = Rejection::with_status(
            request_errors::headers_too_large(super::MAX_HEADER_BYTES),
            431,
        );
        let request = Request::rejected(form, rejection);
        return respond(&state, &request, &parts, started).await;
    }
    let limit = state.body_limit;
    let body = match axum::body::to_bytes(body, limit).await {
        Ok(b) => b,
        Err(e) => {
            // Over the limit is 413; a body that breaks HTTP framing is a bad request.
            let e = e.into_inner();
            let rejection = if e.is::<http_body_util::LengthLimitError>() {
                Rejection::with_status(request_errors::body_too_large(limit), 413)
            } else {
                request_errors::unreadable_body(&e.to_string()).into()
            };
            let request = Request::rejected(form, rejection);
            return respond(&state, &request, &parts, started).await;
        }
    };
    let raw = RawRequest {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query(),
        headers: &parts.headers,
        body: &body,
    };
    let request = decode(form, &raw);
    respond(&state, &request, &parts, started).await
}

/// Decode a request in its form.
pub fn decode(form: Form, raw: &RawRequest<'_>) -> Request {
    match form {
        Form::Api => op::api::decode(raw),
        Form::Rest => op::rest::decode(raw),
        Form::JsonRpc => op::jsonrpc::decode(raw.body),
        Form::SdkRest => {
            op::api::decode_as(raw, form, &format!("{}/api", crate::wire::SDK_REST_PREFIX))
        }
    }
}

/// Consult the faults, apply the request, write the answer in its form and journal it.
async fn respond(
    state: &AppState,
    request: &Request,
    parts: &axum::http::request::Parts,
    started: Instant,
) -> Response {
    let engine = &state.engine;
    let arrived = engine.clock().now();
    let op = request.op.as_ref().ok();
    let injected = match request.name {
        Some(name) => inject::consult(
            state,
            &Target {
                op: name,
                form: crate::FormName::of(request.form),
                session: op.and_then(Op::session),
                item: op.and_then(Op::item),
                file: op.and_then(Op::file),
                token: request.token.as_deref(),
                login_user: match op {
                    Some(Op::Login { user, .. }) => Some(user),
                    _ => None,
                },
            },
        ),
        None => Injected::default(),
    };
    let applied = apply_with_faults(state, request, &injected);
    let created = match &applied.result {
        Ok(Outcome::Created(Value::String(id) | Value::Secret(id))) => Some(id.clone()),
        _ => None,
    };
    // With the journal off, nothing is copied for it.
    let journal_on = state.journal.is_on();
    let mut entry = if journal_on {
        Entry {
            time_ms: arrived.millis(),
            time: arrived,
            form: Some(crate::FormName::of(request.form)),
            op: request.name,
            method: crate::journal::method_name(&parts.method),
            path: parts.uri.path().to_string(),
            user: applied.user.clone(),
            session: match request.name {
                Some(OpName::Create) => created.clone(),
                _ => op.and_then(Op::session).map(str::to_string),
            },
            item: op.and_then(Op::item).map(str::to_string),
            file: op.and_then(Op::file).map(str::to_string),
            faults: injected.labels.clone(),
            ..Entry::default()
        }
    } else {
        Entry::default()
    };
    match (&applied.result, journal_on) {
        (Ok(outcome), true) => describe(request.name, outcome, &mut entry),
        (Err(r), true) => entry.error = Some(Cow::Borrowed(r.error.error_type.as_str())),
        _ => {}
    }
    let reply = encode(
        state,
        request.form,
        request.name,
        applied.result,
        request.rpc_id.as_ref(),
    );
    let retry_after = match injected.answer {
        Some(What::HttpError {
            retry_after_secs, ..
        }) => retry_after_secs,
        _ => None,
    };
    entry.status = reply.status();
    entry.retry_after = retry_after;
    if !injected.delay.is_zero() {
        tokio::time::sleep(injected.delay).await;
    }
    let mut resp = reply.into_response();
    entry.bytes = resp.body().size_hint().exact().unwrap_or(0);
    if let Some(cut) = injected.shaping.cut_after {
        entry.bytes = entry.bytes.min(cut);
    }
    entry.latency_ms = latency_ms(state, started, injected.delay);
    record(state, entry);
    if let Some(secs) = retry_after {
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    if request.set_cookie {
        if let Some(token) = created.filter(|_| request.name == Some(OpName::Login)) {
            let cookie = format!("{SESSION_HEADER}={token}; Path=/rest; HttpOnly");
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                resp.headers_mut().insert(header::SET_COOKIE, v);
            }
        }
    }
    if !injected.shaping.is_empty() {
        resp = shaped(resp, injected.shaping).await;
    }
    resp
}

/// The same response with its (small, already complete) body sent as `shaping` says, under
/// the `Content-Length` of the whole body.
async fn shaped(resp: Response, shaping: transport::Shaping) -> Response {
    let (mut parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    parts
        .headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
    let chunk: crate::content::ByteStream = Box::pin(Once(Some(bytes)));
    let stream = transport::shape(chunk, shaping, Arc::new(AtomicU64::new(0)));
    Response::from_parts(parts, Body::from_stream(stream))
}

/// A stream of one chunk.
struct Once(Option<axum::body::Bytes>);

impl futures_core::Stream for Once {
    type Item = std::io::Result<axum::body::Bytes>;
    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        std::task::Poll::Ready(self.0.take().map(Ok))
    }
}

/// Apply a request as the fired faults say: an answer fault replaces the operation; session
/// faults act on the session before it (or, for a create, on the new session after it).
fn apply_with_faults(state: &AppState, request: &Request, injected: &Injected) -> Applied {
    let engine = &state.engine;
    if let Some(answer) = &injected.answer {
        // Journal who was refused, so verification can follow their retries.
        let user = match &request.op {
            Ok(Op::Login { user, .. }) => Some(Arc::from(user.as_str())),
            _ => request.token.as_deref().and_then(|t| engine.user_of(t)),
        };
        let error = match answer {
            What::LoginExpired => {
                if let Some(token) = &request.token {
                    let _ = engine.logout(token);
                }
                crate::engine::errors::unauthenticated("the session has expired; log in again.")
            }
            What::HttpError { status, .. } => inject::http_error(*status),
            _ => request_errors::internal("unexpected answer fault"),
        };
        let status = match answer {
            What::HttpError { status, .. } => Some(*status),
            _ => None,
        };
        return Applied {
            result: Err(Rejection {
                error,
                status,
                protocol: None,
            }),
            user,
        };
    }
    let op = request.op.as_ref().ok();
    let session = op.and_then(Op::session);
    if let Some(id) = session {
        for (what, glob) in &injected.session {
            engine.inject(id, op.and_then(Op::file), glob.as_deref(), what);
        }
    }
    let applied = apply(engine, request);
    if request.name == Some(OpName::Create) && !injected.session.is_empty() {
        if let Ok(Outcome::Created(Value::String(id))) = &applied.result {
            for (what, glob) in &injected.session {
                engine.inject(id, None, glob.as_deref(), what);
            }
        }
    }
    applied
}

/// On the real clock, the time taken; on a virtual clock only the injected delay, so a run
/// replays to the same journal.
pub fn latency_ms(state: &AppState, started: Instant, delay: Duration) -> u64 {
    let d = if state.engine.clock().is_virtual() {
        delay
    } else {
        started.elapsed()
    };
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Journal an entry, after the expirations that happened before it.
pub fn record(state: &AppState, entry: Entry) {
    for (deadline, id) in state.engine.take_expired() {
        state.journal.record(Entry {
            time_ms: deadline.millis(),
            time: deadline,
            method: "EVENT".into(),
            path: "session.expired".into(),
            session: Some(id.to_string()),
            ..Entry::default()
        });
    }
    state.journal.record(entry);
}

/// What verification needs to know of an answer: states, file statuses, checksums.
fn describe(name: Option<OpName>, outcome: &Outcome, entry: &mut Entry) {
    let Outcome::Read(value) = outcome else {
        return;
    };
    let text = |v: &Value, field: &str| match field_of(v, field) {
        Some(Value::String(s)) => Some(crate::journal::word(s)),
        _ => None,
    };
    let mut file = |v: &Value| {
        if let (Some(n), Some(st)) = (text(v, "name"), text(v, "status")) {
            entry.files.insert(n.into_owned(), st);
        }
    };
    match (name, value) {
        (Some(OpName::Get), v) => entry.state = text(v, "state"),
        (Some(OpName::FileList), Value::List(files)) => files.iter().for_each(file),
        (Some(OpName::FileGet), v) => {
            file(v);
            entry.checksum = Some(field_of(v, "checksum_info").is_some());
        }
        (Some(OpName::FilePrepare), v) => file(v),
        _ => {}
    }
}

/// A JSON-RPC answer as a document: `result` (an output or a vAPI error) or a protocol
/// `error`, with the request's id (null when the request could not be read as one).
fn envelope(result: &Result<Outcome, Rejection>, id: &serde_json::Value) -> Reply {
    use serde_json::{json, Value as Json};
    let body = match result {
        Err(Rejection {
            protocol: Some((code, message)),
            error,
            ..
        }) => {
            let id = match *code {
                op::jsonrpc::PARSE_ERROR | op::jsonrpc::INVALID_REQUEST => &Json::Null,
                _ => id,
            };
            let detail = error.messages.first().map(|m| m.default_message.clone());
            json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message, "data": detail}})
        }
        _ => with_rpc_result(result, id, |e| serde_json::to_value(e))
            .and_then(Result::ok)
            .unwrap_or_default(),
    };
    Reply {
        status: 200,
        body: Some(body),
    }
}

/// A structure's field, looking through `Optional`; none when unset.
fn field_of<'a>(v: &'a Value, name: &str) -> Option<&'a Value> {
    let Value::Struct(s) = v else { return None };
    let mut f = s.fields.iter().find(|(n, _)| *n == name).map(|(_, v)| v)?;
    while let Value::Optional(o) = f {
        f = o.as_deref()?;
    }
    Some(f)
}

fn encode(
    state: &AppState,
    form: Form,
    name: Option<OpName>,
    result: Result<Outcome, Rejection>,
    rpc_id: Option<&serde_json::Value>,
) -> Answer {
    let violations = state.engine.faults().violations();
    if let Some(id) = rpc_id {
        if violations.is_empty() {
            if let Some(bytes) = written(&result, id) {
                return Answer::Written(Written {
                    status: 200,
                    body: Some(bytes),
                });
            }
        }
        let mut reply = envelope(&result, id);
        if !violations.is_empty() {
            crate::faults::wire::apply_jsonrpc(&violations, name, &mut reply);
        }
        return Answer::Doc(reply);
    }
    if violations.is_empty() {
        // The common case: the answer serialized straight from the outcome.
        return Answer::Written(match &result {
            Ok(outcome) => form.write_reply(outcome),
            Err(r) => {
                let mut written = form.write_error(&r.error);
                if let Some(status) = r.status {
                    written.status = status;
                }
                written
            }
        });
    }
    let mut reply = match result {
        Ok(outcome) => form.reply(&outcome),
        Err(r) => {
            let mut reply = form.error(&r.error);
            if let Some(status) = r.status {
                reply.status = status;
            }
            reply
        }
    };
    crate::faults::wire::apply(&violations, form, name, &mut reply);
    Answer::Doc(reply)
}

/// An answer ready to go out.
enum Answer {
    /// A document (a rule break rewrites it before it goes out).
    Doc(Reply),
    /// An answer serialized straight from the outcome.
    Written(Written),
}

impl Answer {
    fn status(&self) -> u16 {
        match self {
            Answer::Doc(r) => r.status,
            Answer::Written(w) => w.status,
        }
    }
    fn into_response(self) -> Response {
        let w = match self {
            Answer::Doc(r) => return to_response(r),
            Answer::Written(w) => w,
        };
        let mut resp = match w.body {
            Some(bytes) => {
                let mut resp = Response::new(Body::from(bytes));
                resp.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
                resp
            }
            None => Response::new(Body::empty()),
        };
        *resp.status_mut() = axum::http::StatusCode::from_u16(w.status)
            .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
        resp
    }
}

/// A JSON-RPC answer carrying a `result`, before it is serialized.
#[derive(serde::Serialize)]
struct RpcEnvelope<'a> {
    jsonrpc: &'static str,
    id: &'a serde_json::Value,
    result: crate::wire::jsonrpc::RpcResult<'a>,
}

/// Hand `write` the answer to a request whose outcome or vAPI error goes in `result` (every
/// vAPI error travels with 200, an injected 503 too: its class is ServiceUnavailable, as the
/// SDK raises it); none for a protocol error.
fn with_rpc_result<R>(
    result: &Result<Outcome, Rejection>,
    id: &serde_json::Value,
    write: impl FnOnce(&RpcEnvelope) -> R,
) -> Option<R> {
    use crate::wire::jsonrpc::RpcResult;
    let error;
    let result = match result {
        Ok(Outcome::Created(v) | Outcome::Read(v)) => RpcResult::Output(v),
        Ok(Outcome::Done) => RpcResult::Output(&Value::Void),
        Err(r) if r.protocol.is_none() => {
            error = crate::model::VapiType::to_value(&r.error);
            RpcResult::Error(&error)
        }
        Err(_) => return None,
    };
    Some(write(&RpcEnvelope {
        jsonrpc: "2.0",
        id,
        result,
    }))
}

/// A JSON-RPC answer carrying a `result`, serialized straight from the outcome; none for a
/// protocol error (rare, and answered by [`envelope`]).
fn written(result: &Result<Outcome, Rejection>, id: &serde_json::Value) -> Option<Vec<u8>> {
    with_rpc_result(result, id, |e| serde_json::to_vec(e)).and_then(Result::ok)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::value::StructValue;

    /// The bytes sent straight from an outcome are the documents the forms build, in every
    /// form and for every kind of answer (JSON-RPC's in its envelope too).
    #[test]
    fn written_answers_are_the_form_documents() {
        let id = serde_json::json!("7");
        let read = Value::Struct(StructValue {
            name: "com.vmware.example",
            fields: vec![
                ("name", Value::String("a \"b\"".into())),
                ("size", Value::Optional(Some(Box::new(Value::Long(5))))),
                ("unset", Value::Optional(None)),
                ("ratio", Value::Double(0.5)),
                ("flags", Value::List(vec![Value::Bool(true)])),
                (
                    "map",
                    Value::Map(vec![("k".into(), Value::Secret("s".into()))]),
                ),
                ("data", Value::Dynamic(serde_json::json!({"a": [1, null]}))),
            ],
        });
        let mut error = crate::engine::errors::session_not_found("s-1");
        error.data = Some(Box::new(serde_json::json!({"why": "gone"})));
        let answers = [
            Ok(Outcome::Read(read)),
            Ok(Outcome::Created(Value::Secret("token".into()))),
            Ok(Outcome::Done),
            Err(Rejection {
                error,
                status: Some(503),
                protocol: None,
            }),
        ];
        for result in answers {
            let bytes = written(&result, &id).expect("written");
            for form in [Form::Api, Form::Rest, Form::SdkRest, Form::JsonRpc] {
                let (written, reply) = match &result {
                    Ok(o) => (form.write_reply(o), form.reply(o)),
                    Err(r) => (form.write_error(&r.error), form.error(&r.error)),
                };
                assert_eq!(written.status, reply.status, "{form:?}");
                let text = written.body.map(|b| String::from_utf8(b).unwrap());
                assert_eq!(text, reply.body.map(|b| b.to_string()), "{form:?}");
            }
            let doc = envelope(&result, &id).body.unwrap();
            assert_eq!(String::from_utf8(bytes).unwrap(), doc.to_string());
        }
        // A protocol error is left to `envelope`.
        let protocol = Err(Rejection {
            error: crate::engine::errors::session_not_found("s-1"),
            status: None,
            protocol: Some((op::jsonrpc::INVALID_PARAMS, "Invalid params.")),
        });
        assert!(written(&protocol, &id).is_none());
    }
}
