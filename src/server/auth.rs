//! Reading credentials off a request: Basic auth for login, the session header afterwards.

use axum::http::HeaderMap;
use base64::Engine as _;

use crate::engine::auth::Caller;
use crate::engine::{errors, Engine};
use crate::model::VapiError;

/// The header every authenticated call carries.
pub const SESSION_HEADER: &str = "vmware-api-session-id";

/// The `user:password` of an `Authorization: Basic` header.
pub fn basic_credentials(headers: &HeaderMap) -> Result<(String, String), VapiError> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| errors::unauthenticated("log in with HTTP Basic authentication."))?;
    let (scheme, encoded) = value
        .split_once(' ')
        .ok_or_else(|| errors::unauthenticated("the Authorization header is malformed."))?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(errors::unauthenticated(
            "only Basic authentication is supported.",
        ));
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| errors::unauthenticated("the Basic credentials are not valid base64."))?;
    let (user, password) = decoded
        .split_once(':')
        .ok_or_else(|| errors::unauthenticated("the Basic credentials lack a ':'."))?;
    Ok((user.to_string(), password.to_string()))
}

/// The login token presented on a call.
pub fn session_token(headers: &HeaderMap) -> Option<&str> {
    headers.get(SESSION_HEADER).and_then(|v| v.to_str().ok())
}

/// The caller of an authenticated operation, or Unauthenticated.
pub fn caller(engine: &Engine, headers: &HeaderMap) -> Result<Caller, VapiError> {
    let token = session_token(headers).ok_or_else(|| {
        errors::unauthenticated(
            "send the vmware-api-session-id header (log in with POST /api/session).",
        )
    })?;
    engine.authenticate(token)
}
