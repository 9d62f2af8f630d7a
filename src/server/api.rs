//! The `/api` routes (the current REST form): ids in the path, `?action=` for the
//! non-CRUD operations, `Client-Token` as a header on create.

use std::sync::Arc;

use axum::extract::Path;
use axum::response::Response;
use axum::routing::get;
use axum::Router;

use super::auth::basic_credentials;
use super::call::Call;
use super::ops;
use super::AppState;
use crate::model::DownloadSessionModel;
use crate::wire::{request_errors, Outcome};

/// The routes of the current REST form, relative to the server root.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route(
            "/api/session",
            get(|c: Call| async move { c.respond(ops::session_info(&c)) })
                .post(login)
                .delete(|c: Call| async move { c.respond(ops::logout(&c)) }),
        )
        .route(
            "/api/content/library",
            get(|c: Call| async move { c.respond(ops::library_list(&c)) }),
        )
        .route(
            "/api/content/library/item",
            get(|c: Call| async move { c.respond(ops::item_list(&c)) }),
        )
        .route(
            "/api/content/library/item/{id}",
            get(|Path(id): Path<String>, c: Call| async move { c.respond(ops::item_get(&c, &id)) }),
        )
        .route(
            "/api/content/library/{id}",
            get(|Path(id): Path<String>, c: Call| async move {
                c.respond(ops::library_get(&c, &id))
            }),
        )
        .route(
            "/api/content/library/item/download-session",
            get(|c: Call| async move { c.respond(ops::ds_list(&c)) }).post(create),
        )
        .route(
            "/api/content/library/item/download-session/{id}",
            get(|Path(id): Path<String>, c: Call| async move { c.respond(ops::ds_get(&c, &id)) })
                .post(|Path(id): Path<String>, c: Call| async move {
                    c.respond(ops::ds_action(&c, &id, c.query("action")))
                })
                .delete(|Path(id): Path<String>, c: Call| async move {
                    c.respond(ops::ds_delete(&c, &id))
                }),
        )
        .route(
            "/api/content/library/item/download-session/{id}/file",
            get(file_get_or_list).post(file_action),
        )
}

/// `POST /api/session`: Basic auth → 201 and the token as a JSON string.
async fn login(c: Call) -> Response {
    let result = basic_credentials(&c.headers)
        .and_then(|(user, password)| c.engine().login(&user, &password))
        .map(Outcome::created_string);
    c.respond(result)
}

/// `POST download-session`: the body is the bare `DownloadSessionModel`; the token a header.
async fn create(c: Call) -> Response {
    let result = (|| {
        let who = c.caller()?;
        let spec: DownloadSessionModel = c.model()?;
        let token = c.headers.get("client-token").and_then(|v| v.to_str().ok());
        Ok(Outcome::created_string(
            c.engine().create(&who, token, &spec)?,
        ))
    })();
    c.respond(result)
}

/// `GET .../file` lists; with `?file_name=x` it gets one file. The Python SDK's 'rest' mode
/// sends a bare `?file_name` with the name in a JSON body: that is accepted too.
async fn file_get_or_list(Path(id): Path<String>, c: Call) -> Response {
    let result = match c.query("file_name") {
        None => ops::file_list(&c, &id),
        Some("") => ops::file_get_by_body(&c, &id),
        Some(name) => ops::file_get(&c, &id, name),
    };
    c.respond(result)
}

async fn file_action(Path(id): Path<String>, c: Call) -> Response {
    let result = match c.query("action") {
        Some("prepare") => ops::file_prepare(&c, &id),
        other => Err(request_errors::unknown_action(other, &["prepare"])),
    };
    c.respond(result)
}
