//! The `/rest/com/vmware/...` routes (the legacy form): `id:` path ids, `?~action=`, inputs in
//! JSON bodies named after the vAPI parameters, and the session id as header or cookie.

use std::sync::Arc;

use axum::extract::Path;
use axum::http::{header, HeaderValue};
use axum::response::Response;
use axum::routing::get;
use axum::Router;

use super::auth::{basic_credentials, SESSION_HEADER};
use super::call::Call;
use super::ops::{self, OpResult};
use super::AppState;
use crate::model::{DownloadSessionModel, VapiError};
use crate::wire::{bodies, request_errors, Outcome};

const CL: &str = "/rest/com/vmware/content/library";

/// The routes of the legacy REST form, relative to the server root.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route(
            "/rest/com/vmware/cis/session",
            axum::routing::post(session_post)
                .delete(|c: Call| async move { c.respond(ops::logout(&c)) }),
        )
        .route(
            CL,
            get(|c: Call| async move { c.respond(ops::library_list(&c)) }).post(library_find),
        )
        .route(
            &format!("{CL}/item"),
            get(|c: Call| async move { c.respond(ops::item_list(&c)) }).post(item_find),
        )
        .route(
            &format!("{CL}/item/{{id}}"),
            get(|Path(id): Path<String>, c: Call| async move {
                c.respond(with_id(&id).and_then(|id| ops::item_get(&c, id)))
            }),
        )
        .route(
            &format!("{CL}/{{id}}"),
            get(|Path(id): Path<String>, c: Call| async move {
                c.respond(with_id(&id).and_then(|id| ops::library_get(&c, id)))
            }),
        )
        .route(
            &format!("{CL}/item/download-session"),
            get(|c: Call| async move { c.respond(ops::ds_list(&c)) }).post(create),
        )
        .route(
            &format!("{CL}/item/download-session/{{id}}"),
            get(|Path(id): Path<String>, c: Call| async move {
                c.respond(with_id(&id).and_then(|id| ops::ds_get(&c, id)))
            })
            .post(|Path(id): Path<String>, c: Call| async move {
                let action = c.query("~action");
                c.respond(with_id(&id).and_then(|id| ops::ds_action(&c, id, action)))
            })
            .delete(|Path(id): Path<String>, c: Call| async move {
                c.respond(with_id(&id).and_then(|id| ops::ds_delete(&c, id)))
            }),
        )
        .route(
            &format!("{CL}/item/downloadsession/file"),
            get(|c: Call| async move { c.respond(file_list(&c)) }),
        )
        .route(
            &format!("{CL}/item/downloadsession/file/{{id}}"),
            axum::routing::post(|Path(id): Path<String>, c: Call| async move {
                let result = with_id(&id).and_then(|id| match c.query("~action") {
                    Some("get") => ops::file_get_by_body(&c, id),
                    Some("prepare") => ops::file_prepare(&c, id),
                    other => Err(request_errors::unknown_action(other, &["get", "prepare"])),
                });
                c.respond(result)
            }),
        )
}

/// A `/rest` path id: `id:<id>`.
fn with_id(segment: &str) -> Result<&str, crate::model::VapiError> {
    segment.strip_prefix("id:").ok_or_else(|| {
        request_errors::invalid_input(&format!(
            "the path id {segment:?} must be written id:{segment} on /rest"
        ))
    })
}

/// `POST cis/session`: log in (Basic auth), or with `?~action=get` describe the session.
async fn session_post(c: Call) -> Response {
    match c.query("~action") {
        None => {}
        Some("get") => return c.respond(ops::session_info(&c)),
        other => return c.respond(Err(request_errors::unknown_action(other, &["get"]))),
    }
    let result = basic_credentials(&c.headers).and_then(|(u, p)| c.engine().login(&u, &p));
    let token = result.as_ref().ok().cloned();
    let mut resp = c.respond(result.map(Outcome::created_string));
    // The session cookie, unless the client opts out (a CSRF guard govmomi uses).
    let header_only = c
        .headers
        .get("vmware-use-header-authn")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    if let (Some(token), false) = (token, header_only) {
        let cookie = format!("{SESSION_HEADER}={token}; Path=/rest; HttpOnly");
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            resp.headers_mut().insert(header::SET_COOKIE, v);
        }
    }
    resp
}

/// `POST download-session`: `{"client_token"?, "create_spec"}`.
async fn create(c: Call) -> Response {
    let result = (|| {
        let who = c.caller()?;
        let mut body = c.body(&bodies::REST_CREATE)?;
        let token: Option<String> = body.opt("client_token")?;
        let spec: DownloadSessionModel = body.req("create_spec")?;
        Ok(Outcome::created_string(c.engine().create(
            &who,
            token.as_deref(),
            &spec,
        )?))
    })();
    c.respond(result)
}

/// `GET downloadsession/file?download_session_id=<id>`.
fn file_list(c: &Call) -> OpResult {
    let id = c
        .query("download_session_id")
        .ok_or_else(|| request_errors::missing_query("download_session_id"))?;
    ops::file_list(c, id)
}

/// What both find calls check first: the `~action=find` query and an authenticated caller.
fn find_call(c: &Call) -> Result<(), VapiError> {
    if c.query("~action") != Some("find") {
        return Err(request_errors::unknown_action(
            c.query("~action"),
            &["find"],
        ));
    }
    c.caller().map(drop)
}

/// `POST library?~action=find` with `{"spec": {"name"?, "type"?}}`.
async fn library_find(c: Call) -> Response {
    let result = (|| {
        find_call(&c)?;
        let mut spec = c
            .body(&bodies::LIBRARY_FIND)?
            .nested("spec", &bodies::LIBRARY_FIND_SPEC)?;
        let name: Option<String> = spec.opt("name")?;
        let kind: Option<String> = spec.opt("type")?;
        let ids = c
            .engine()
            .catalog()
            .find_libraries(name.as_deref(), kind.as_deref());
        Ok(Outcome::read_ids(ids))
    })();
    c.respond(result)
}

/// `POST library/item?~action=find` with `{"spec": {...}}`.
async fn item_find(c: Call) -> Response {
    let result = (|| {
        find_call(&c)?;
        let mut spec = c
            .body(&bodies::ITEM_FIND)?
            .nested("spec", &bodies::ITEM_FIND_SPEC)?;
        let find = crate::engine::library::ItemFind {
            name: spec.opt("name")?,
            library_id: spec.opt("library_id")?,
            source_id: spec.opt("source_id")?,
            item_type: spec.opt("type")?,
            cached: spec.opt("cached")?,
        };
        Ok(Outcome::read_ids(c.engine().catalog().find_items(&find)))
    })();
    c.respond(result)
}
