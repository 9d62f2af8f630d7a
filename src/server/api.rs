//! The `/api` routes: each handler reads its inputs through `wire::api`, calls the engine, and
//! writes the outcome back through `wire::api`. Inputs are decoded before the engine is called,
//! so a bad request never changes state.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use axum::Router;

use super::auth::{basic_credentials, caller, session_token};
use super::respond::{api_error, read_body, to_response};
use super::AppState;
use crate::engine::errors;
use crate::model::value::StructReader;
use crate::model::{DownloadSessionModel, EndpointType, VapiError};
use crate::wire::api::{self, FAIL_BODY, FILE_GET_BODY, KEEP_ALIVE_BODY, PREPARE_BODY};
use crate::wire::{decode_body, request_errors, Outcome};

type St = State<Arc<AppState>>;

/// The routes of the current REST form, relative to the server root.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route(
            "/api/session",
            get(session_get).post(session_create).delete(session_delete),
        )
        .route("/api/content/library", get(library_list))
        .route("/api/content/library/item", get(item_list))
        .route("/api/content/library/item/{item_id}", get(item_get))
        .route("/api/content/library/{library_id}", get(library_get))
        .route(
            "/api/content/library/item/download-session",
            get(ds_list).post(ds_create),
        )
        .route(
            "/api/content/library/item/download-session/{id}",
            get(ds_get).post(ds_action).delete(ds_delete),
        )
        .route(
            "/api/content/library/item/download-session/{id}/file",
            get(file_get_or_list).post(file_action),
        )
}

fn respond(result: Result<Outcome, VapiError>) -> Response {
    match result {
        Ok(outcome) => to_response(api::reply(&outcome)),
        Err(e) => api_error(&e),
    }
}

/// Query parameters in order, percent-decoded.
fn query(raw: &Option<String>) -> Vec<(String, String)> {
    raw.as_deref()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default()
}

fn param<'a>(q: &'a [(String, String)], name: &str) -> Option<&'a str> {
    q.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

fn decode_error(e: crate::model::DecodeError) -> VapiError {
    request_errors::invalid_input(&format!("body{}: {}", e.path, e.message))
}

// ---- login ----

async fn session_create(State(s): St, headers: HeaderMap) -> Response {
    respond((|| {
        let (user, password) = basic_credentials(&headers)?;
        Ok(Outcome::created_string(s.engine.login(&user, &password)?))
    })())
}

async fn session_get(State(s): St, headers: HeaderMap) -> Response {
    respond((|| {
        let token = session_token(&headers)
            .ok_or_else(|| errors::unauthenticated("send the vmware-api-session-id header."))?;
        Ok(Outcome::read(&s.engine.session_info(token)?))
    })())
}

async fn session_delete(State(s): St, headers: HeaderMap) -> Response {
    respond((|| {
        let token = session_token(&headers)
            .ok_or_else(|| errors::unauthenticated("send the vmware-api-session-id header."))?;
        s.engine.logout(token)?;
        Ok(Outcome::Done)
    })())
}

// ---- discovery ----

async fn library_list(State(s): St, headers: HeaderMap) -> Response {
    respond(caller(&s.engine, &headers).map(|_| Outcome::read_ids(s.engine.library_ids())))
}

async fn library_get(State(s): St, headers: HeaderMap, Path(id): Path<String>) -> Response {
    respond((|| {
        caller(&s.engine, &headers)?;
        Ok(Outcome::read(&s.engine.library(&id)?))
    })())
}

async fn item_list(State(s): St, headers: HeaderMap, RawQuery(raw): RawQuery) -> Response {
    respond((|| {
        caller(&s.engine, &headers)?;
        let q = query(&raw);
        let lib =
            param(&q, "library_id").ok_or_else(|| request_errors::missing_query("library_id"))?;
        Ok(Outcome::read_ids(s.engine.item_ids(lib)?))
    })())
}

async fn item_get(State(s): St, headers: HeaderMap, Path(id): Path<String>) -> Response {
    respond((|| {
        caller(&s.engine, &headers)?;
        Ok(Outcome::read(&s.engine.item(&id)?))
    })())
}

// ---- DownloadSession ----

async fn ds_create(State(s): St, headers: HeaderMap, body: Body) -> Response {
    let bytes = match read_body(body, s.body_limit).await {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    respond((|| {
        let who = caller(&s.engine, &headers)?;
        let value = decode_body(
            &bytes,
            &crate::model::session::DOWNLOAD_SESSION_MODEL,
            api::STYLE,
        )?;
        let spec = <DownloadSessionModel as crate::model::VapiType>::from_value(value)
            .map_err(decode_error)?;
        let token = headers.get("client-token").and_then(|v| v.to_str().ok());
        Ok(Outcome::created_string(
            s.engine.create(&who, token, &spec)?,
        ))
    })())
}

async fn ds_list(State(s): St, headers: HeaderMap, RawQuery(raw): RawQuery) -> Response {
    respond((|| {
        let who = caller(&s.engine, &headers)?;
        let q = query(&raw);
        Ok(Outcome::read_ids(
            s.engine.list(&who, param(&q, "library_item_id"))?,
        ))
    })())
}

async fn ds_get(State(s): St, headers: HeaderMap, Path(id): Path<String>) -> Response {
    respond((|| {
        let who = caller(&s.engine, &headers)?;
        Ok(Outcome::read(&s.engine.get(&who, &id)?))
    })())
}

async fn ds_delete(State(s): St, headers: HeaderMap, Path(id): Path<String>) -> Response {
    respond((|| {
        let who = caller(&s.engine, &headers)?;
        s.engine.delete(&who, &id)?;
        Ok(Outcome::Done)
    })())
}

async fn ds_action(
    State(s): St,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    body: Body,
) -> Response {
    let bytes = match read_body(body, s.body_limit).await {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    respond((|| {
        let who = caller(&s.engine, &headers)?;
        let q = query(&raw);
        match param(&q, "action") {
            Some("keep-alive") => {
                let v = decode_body(&bytes, &KEEP_ALIVE_BODY, api::STYLE)?;
                let progress: Option<i64> = StructReader::new(v, &KEEP_ALIVE_BODY)
                    .and_then(|mut r| r.opt("progress"))
                    .map_err(decode_error)?;
                s.engine.keep_alive(&who, &id, progress)?;
            }
            Some("cancel") => {
                decode_body(&bytes, &api::EMPTY_BODY, api::STYLE)?;
                s.engine.cancel(&who, &id)?;
            }
            Some("fail") => {
                let v = decode_body(&bytes, &FAIL_BODY, api::STYLE)?;
                let message: String = StructReader::new(v, &FAIL_BODY)
                    .and_then(|mut r| r.req("client_error_message"))
                    .map_err(decode_error)?;
                s.engine.fail(&who, &id, &message)?;
            }
            other => {
                return Err(request_errors::unknown_action(
                    other,
                    &["keep-alive", "cancel", "fail"],
                ))
            }
        }
        Ok(Outcome::Done)
    })())
}

// ---- downloadsession.File ----

async fn file_get_or_list(
    State(s): St,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    body: Body,
) -> Response {
    let bytes = match read_body(body, s.body_limit).await {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    respond((|| {
        let who = caller(&s.engine, &headers)?;
        let q = query(&raw);
        match param(&q, "file_name") {
            None => Ok(Outcome::read_list(&s.engine.file_list(&who, &id)?)),
            Some(name) if !name.is_empty() => {
                Ok(Outcome::read(&s.engine.file_get(&who, &id, name)?))
            }
            // The Python SDK's 'rest' mode sends `?file_name` with the name in a JSON body.
            Some(_) => {
                let v = decode_body(&bytes, &FILE_GET_BODY, api::STYLE)?;
                let name: Option<String> = StructReader::new(v, &FILE_GET_BODY)
                    .and_then(|mut r| r.opt("file_name"))
                    .map_err(decode_error)?;
                let name = name.ok_or_else(|| request_errors::missing_query("file_name"))?;
                Ok(Outcome::read(&s.engine.file_get(&who, &id, &name)?))
            }
        }
    })())
}

async fn file_action(
    State(s): St,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    body: Body,
) -> Response {
    let bytes = match read_body(body, s.body_limit).await {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    respond((|| {
        let who = caller(&s.engine, &headers)?;
        let q = query(&raw);
        if param(&q, "action") != Some("prepare") {
            return Err(request_errors::unknown_action(
                param(&q, "action"),
                &["prepare"],
            ));
        }
        let v = decode_body(&bytes, &PREPARE_BODY, api::STYLE)?;
        let (name, endpoint): (String, Option<EndpointType>) = StructReader::new(v, &PREPARE_BODY)
            .and_then(|mut r| Ok((r.req("file_name")?, r.opt("endpoint_type")?)))
            .map_err(decode_error)?;
        Ok(Outcome::read(
            &s.engine.file_prepare(&who, &id, &name, endpoint)?,
        ))
    })())
}
