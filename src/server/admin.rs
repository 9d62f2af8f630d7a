//! dlsim's own control plane, outside the vSphere API: for now the clock, so a checker can
//! move a virtual clock instead of waiting (`GET /dlsim/clock`, `POST /dlsim/clock?advance_ms=N`).
//! The runtime fault API of the next wave joins it under `/dlsim/`.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{RawQuery, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde_json::json;

use super::respond::{error_response, to_response};
use super::AppState;
use crate::model::{ErrorType, VapiError};
use crate::wire::{request_errors, Form, Reply};

pub fn routes() -> Router<Arc<AppState>> {
    Router::new().route("/dlsim/clock", get(clock).post(advance))
}

fn now(s: &AppState) -> Response {
    let clock = s.engine.clock();
    to_response(Reply {
        status: 200,
        body: Some(json!({"virtual": clock.is_virtual(), "now": clock.now().to_string()})),
    })
}

async fn clock(State(s): State<Arc<AppState>>) -> Response {
    now(&s)
}

async fn advance(State(s): State<Arc<AppState>>, RawQuery(q): RawQuery) -> Response {
    let ms = q.as_deref().and_then(|q| {
        form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "advance_ms")
            .and_then(|(_, v)| v.parse::<u64>().ok())
    });
    let Some(ms) = ms else {
        return error_response(Form::Api, &request_errors::missing_query("advance_ms"));
    };
    if !s.engine.clock().advance(Duration::from_millis(ms)) {
        let e = VapiError::new(
            ErrorType::NotAllowedInCurrentState,
            "dlsim.clock.real",
            "This server runs on the real clock; start it with --virtual-clock to move time."
                .into(),
            vec![],
        );
        let mut resp = error_response(Form::Api, &e);
        *resp.status_mut() = axum::http::StatusCode::CONFLICT;
        return resp;
    }
    now(&s)
}
