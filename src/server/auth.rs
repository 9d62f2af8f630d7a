//! Reading credentials off a request: Basic auth for login, then the session id in the
//! `vmware-api-session-id` header (or, on `/rest`, the cookie of the same name).

use axum::http::HeaderMap;
use base64::Engine as _;

use crate::engine::errors;
use crate::model::VapiError;
use crate::wire::Form;

/// The header (and `/rest` cookie) that carries the session id.
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

/// The session id a request presents: the header, else (on `/rest` only) the cookie.
pub fn presented_token(headers: &HeaderMap, form: Form) -> Option<String> {
    if let Some(v) = headers.get(SESSION_HEADER).and_then(|v| v.to_str().ok()) {
        return Some(v.to_string());
    }
    if form != Form::Rest {
        return None;
    }
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| k.eq_ignore_ascii_case(SESSION_HEADER))
        .map(|(_, v)| v.trim_matches('"').to_string())
}
