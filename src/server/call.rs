//! One incoming call, already read: which wire form it speaks, who sends it, its query and
//! body. Handlers ask it for decoded inputs and hand it their outcome to write back, so the
//! `/api` and `/rest` routes share every step but the shapes that differ.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::HeaderMap;
use axum::response::Response;

use super::auth;
use super::respond::{error_response, to_response};
use super::AppState;
use crate::engine::auth::Caller;
use crate::engine::Engine;
use crate::model::value::{StructDef, StructReader, VapiStruct};
use crate::model::VapiError;
use crate::wire::{decode_body, request_errors, Form, Outcome};

pub struct Call {
    pub form: Form,
    /// Which operation this is, for the wire violations (test-only).
    op: crate::faults::wire::Op,
    pub state: Arc<AppState>,
    pub headers: HeaderMap,
    query: Vec<(String, String)>,
    body: Bytes,
}

impl FromRequest<Arc<AppState>> for Call {
    type Rejection = Response;

    async fn from_request(req: Request, state: &Arc<AppState>) -> Result<Self, Response> {
        let form = Form::of_path(req.uri().path());
        let template = req
            .extensions()
            .get::<axum::extract::MatchedPath>()
            .map(|m| m.as_str().to_string())
            .unwrap_or_default();
        let query: Vec<(String, String)> = req
            .uri()
            .query()
            .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
            .unwrap_or_default();
        let action = query
            .iter()
            .find(|(k, _)| k == "action" || k == "~action")
            .map(|(_, v)| v.as_str());
        let has_file_name = query.iter().any(|(k, _)| k == "file_name");
        let op =
            crate::faults::wire::op_of(req.method().as_str(), &template, action, has_file_name);
        let (parts, body) = req.into_parts();
        let limit = state.body_limit;
        let body = axum::body::to_bytes(body, limit).await.map_err(|_| {
            let mut resp = error_response(form, &request_errors::body_too_large(limit));
            *resp.status_mut() = axum::http::StatusCode::PAYLOAD_TOO_LARGE;
            resp
        })?;
        Ok(Call {
            form,
            op,
            state: state.clone(),
            headers: parts.headers,
            query,
            body,
        })
    }
}

impl Call {
    pub fn engine(&self) -> &Engine {
        &self.state.engine
    }

    /// The authenticated caller: the session header (or, on `/rest`, the session cookie).
    pub fn caller(&self) -> Result<Caller, VapiError> {
        auth::caller(self.engine(), &self.headers, self.form)
    }

    /// A query parameter (`?name=value`; a bare `?name` reads as `""`).
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn has_body(&self) -> bool {
        !self.body.iter().all(u8::is_ascii_whitespace)
    }

    /// The body decoded strictly as `def`, ready to read field by field.
    pub fn body(&self, def: &'static StructDef) -> Result<Body, VapiError> {
        let value = decode_body(&self.body, def, self.form.style())?;
        Ok(Body(StructReader::new(value, def).map_err(invalid)?))
    }

    /// The whole body decoded strictly as the model structure `T`.
    pub fn model<T: VapiStruct>(&self) -> Result<T, VapiError> {
        let value = decode_body(&self.body, T::DEF, self.form.style())?;
        T::from_value(value).map_err(invalid)
    }

    /// Write an outcome or an error in this call's form.
    pub fn respond(&self, result: Result<Outcome, VapiError>) -> Response {
        let mut reply = match result {
            Ok(outcome) => self.form.reply(&outcome),
            Err(e) => self.form.error(&e),
        };
        if !self.state.violations.is_empty() {
            crate::faults::wire::apply(&self.state.violations, self.form, self.op, &mut reply);
        }
        to_response(reply)
    }
}

/// A decoded request body; reading a field cannot fail on shape (the decoder checked it).
pub struct Body(StructReader);

impl Body {
    /// A required structure field, read field by field in turn.
    pub fn nested(
        &mut self,
        name: &'static str,
        def: &'static StructDef,
    ) -> Result<Body, VapiError> {
        let value: crate::model::Value = self.0.req(name).map_err(invalid)?;
        Ok(Body(StructReader::new(value, def).map_err(invalid)?))
    }
    pub fn req<T: crate::model::value::FromValue>(
        &mut self,
        name: &'static str,
    ) -> Result<T, VapiError> {
        self.0.req(name).map_err(invalid)
    }
    pub fn opt<T: crate::model::value::FromValue>(
        &mut self,
        name: &'static str,
    ) -> Result<Option<T>, VapiError> {
        self.0.opt(name).map_err(invalid)
    }
}

fn invalid(e: crate::model::DecodeError) -> VapiError {
    request_errors::invalid_input(&format!("body{}: {}", e.path, e.message))
}
