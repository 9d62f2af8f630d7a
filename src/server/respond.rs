//! Turning a wire [`Reply`] into an HTTP response, and the safety nets that keep every answer
//! in the API's own error format (unknown routes, wrong methods, oversize bodies, panics).

use axum::http::{header, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use crate::model::VapiError;
use crate::wire::{request_errors, Form, Reply};

const JSON: HeaderValue = HeaderValue::from_static("application/json");

/// An HTTP response from a wire reply; JSON bodies carry `Content-Type: application/json`.
pub fn to_response(reply: Reply) -> Response {
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    match reply.body {
        Some(json) => {
            let bytes = serde_json::to_vec(&json).unwrap_or_else(|_| b"null".to_vec());
            let mut resp = (status, bytes).into_response();
            resp.headers_mut().insert(header::CONTENT_TYPE, JSON);
            resp
        }
        None => status.into_response(),
    }
}

/// An error response in the given form.
pub fn error_response(form: Form, e: &VapiError) -> Response {
    to_response(form.error(e))
}

/// Fallback for paths no route serves: 404 in the form the path belongs to.
pub async fn not_found(method: Method, uri: Uri) -> Response {
    let e = request_errors::unknown_route(method.as_str(), uri.path());
    error_response(Form::of_path(uri.path()), &e)
}

/// Fallback for a known path with a method it does not serve: 405 with a JSON body.
pub async fn method_not_allowed(method: Method, uri: Uri) -> Response {
    let e = request_errors::method_not_allowed(method.as_str(), uri.path());
    let mut resp = error_response(Form::of_path(uri.path()), &e);
    *resp.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    resp
}

/// What a panic turns into: a JSON 500, never a dropped connection or plain text.
pub fn panic_response(_err: Box<dyn std::any::Any + Send + 'static>) -> Response {
    error_response(
        Form::Api,
        &request_errors::internal("the server hit an unexpected condition"),
    )
}
