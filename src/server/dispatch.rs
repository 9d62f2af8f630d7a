//! The one handler behind every API route: read the request, decode it once in its form,
//! apply it, write the outcome back in the same form.

use std::sync::Arc;

use axum::extract::{Request as HttpRequest, State};
use axum::http::{header, HeaderValue};
use axum::response::Response;
use axum::routing::any;
use axum::Router;

use super::apply::apply;
use super::auth::SESSION_HEADER;
use super::respond::to_response;
use super::AppState;
use crate::op::{self, RawRequest, Rejection, Request};
use crate::wire::{request_errors, Form, Outcome, Reply};

/// The API routes of every wire form; the decoders do the rest of the routing.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/{*path}", any(handle))
        .route("/rest/{*path}", any(handle))
}

async fn handle(State(state): State<Arc<AppState>>, req: HttpRequest) -> Response {
    let (parts, body) = req.into_parts();
    let form = Form::of_path(parts.uri.path());
    let limit = state.body_limit;
    let body = match axum::body::to_bytes(body, limit).await {
        Ok(b) => b,
        Err(e) => {
            // Over the limit is 413; a body that breaks HTTP framing is a bad request.
            let e = e.into_inner();
            let rejection = if e.is::<http_body_util::LengthLimitError>() {
                Rejection {
                    error: request_errors::body_too_large(limit),
                    status: Some(413),
                }
            } else {
                request_errors::unreadable_body(&e.to_string()).into()
            };
            return to_response(encode(&state, form, None, Err(rejection)));
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
    respond(&state, &request)
}

/// Decode a request in its form.
pub fn decode(form: Form, raw: &RawRequest<'_>) -> Request {
    match form {
        Form::Api => op::api::decode(raw),
        Form::Rest => op::rest::decode(raw),
    }
}

/// Apply a decoded request and write the answer in its form.
fn respond(state: &AppState, request: &Request) -> Response {
    let applied = apply(&state.engine, request);
    let token = match &applied.result {
        Ok(Outcome::Created(crate::model::Value::String(t))) if request.set_cookie => {
            Some(t.clone())
        }
        _ => None,
    };
    let mut resp = to_response(encode(state, request.form, request.name, applied.result));
    if let Some(token) = token {
        let cookie = format!("{SESSION_HEADER}={token}; Path=/rest; HttpOnly");
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            resp.headers_mut().insert(header::SET_COOKIE, v);
        }
    }
    resp
}

fn encode(
    state: &AppState,
    form: Form,
    name: Option<op::OpName>,
    result: Result<Outcome, Rejection>,
) -> Reply {
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
    if !state.violations.is_empty() {
        crate::faults::wire::apply(&state.violations, form, name, &mut reply);
    }
    reply
}
