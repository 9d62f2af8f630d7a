//! dlsim's own control plane, under the reserved `/dlsim/` prefix (no API path starts there):
//! the clock, faults, scenarios, the journal, verification and reset. JSON in, JSON out, and
//! errors in the `/api` error form.
//!
//! | call | what it does |
//! |---|---|
//! | `GET /dlsim/clock` | the server clock |
//! | `POST /dlsim/clock?advance_ms=N` or `?set_ms=N` | move a virtual clock |
//! | `GET /dlsim/faults` | loaded faults, with how often each matched and fired |
//! | `POST /dlsim/faults` | load a fault (or a list of faults); answers their ids |
//! | `DELETE /dlsim/faults`, `DELETE /dlsim/faults/{id}` | unload all, or one |
//! | `GET /dlsim/scenarios` | the shelf: names and what each does |
//! | `POST /dlsim/scenario` | `{"name": "prepare-error"}` or `{"toml": "..."}`: load a scenario |
//! | `GET /dlsim/journal?since=N` | journal entries after `N`, as JSON lines |
//! | `GET /dlsim/verify` | the client verification report |
//! | `POST /dlsim/reset` | back to the state at start |
//!
//! Who may call it: it can reset the server and inject faults into everyone's sessions, so by
//! default only loopback peers may (the default listen address is loopback anyway). With
//! `--control-token`, every call must carry that token in `dlsim-control-token`, from anywhere.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequest, RawPathParams, RawQuery, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::Router;
use serde::Deserialize;
use serde_json::{json, Value};

use super::respond::{error_response, to_response};
use super::AppState;
use crate::faults::scenario::{self, Scenario};
use crate::faults::Fault;
use crate::model::{ErrorType, Timestamp, VapiError};
use crate::wire::{request_errors, Form, Reply};

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/dlsim/clock", get(clock).post(set_clock))
        .route(
            "/dlsim/faults",
            get(list_faults).post(add_faults).delete(clear_faults),
        )
        .route("/dlsim/faults/{id}", delete(remove_fault))
        .route("/dlsim/scenarios", get(shelf))
        .route("/dlsim/scenario", post(load_scenario))
        .route("/dlsim/journal", get(journal))
        .route("/dlsim/verify", get(verify))
        .route("/dlsim/reset", post(reset))
}

/// The header that carries the control token.
pub const CONTROL_TOKEN_HEADER: &str = "dlsim-control-token";

/// Whether a peer may use the control plane: with a token required, whoever presents it
/// (compared in constant time); without, loopback peers only. An unknown peer is refused.
pub fn may_control(
    peer: Option<SocketAddr>,
    required: Option<&str>,
    presented: Option<&[u8]>,
) -> Result<(), String> {
    match required {
        Some(token) => {
            let given = presented.unwrap_or_default();
            if bool::from(crate::engine::auth::constant_time_eq(token.as_bytes(), given)) {
                Ok(())
            } else {
                Err(format!(
                    "The control plane needs the {CONTROL_TOKEN_HEADER} header with this server's control token."
                ))
            }
        }
        None if peer.is_some_and(|p| is_loopback(p.ip())) => Ok(()),
        None => Err(
            "The control plane answers loopback clients only; start dlsim with --control-token to use it from elsewhere."
                .into(),
        ),
    }
}

fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => a.is_loopback(),
        IpAddr::V6(a) => a.is_loopback() || a.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
    }
}

/// Refuse control-plane calls [`may_control`] does not allow, with a 403 `/api` error.
pub async fn guard(State(s): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    let presented = req
        .headers()
        .get(CONTROL_TOKEN_HEADER)
        .map(|v| v.as_bytes());
    match may_control(peer, s.control_token.as_deref(), presented) {
        Ok(()) => next.run(req).await,
        Err(message) => refuse(
            StatusCode::FORBIDDEN,
            ErrorType::Unauthorized,
            "dlsim.control.forbidden",
            message,
        ),
    }
}

/// A control-plane request body, read up to the server's body limit; a refusal is a JSON
/// error like everywhere else (axum's own body extractor would answer in plain text).
struct Body(Bytes);

impl FromRequest<Arc<AppState>> for Body {
    type Rejection = Response;

    async fn from_request(req: Request, s: &Arc<AppState>) -> Result<Self, Response> {
        let limit = s.body_limit;
        axum::body::to_bytes(req.into_body(), limit)
            .await
            .map(Body)
            .map_err(|e| {
                let e = e.into_inner();
                if e.is::<http_body_util::LengthLimitError>() {
                    let mut r = error_response(Form::Api, &request_errors::body_too_large(limit));
                    *r.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
                    r
                } else {
                    error_response(Form::Api, &request_errors::unreadable_body(&e.to_string()))
                }
            })
    }
}

fn ok(status: u16, body: Value) -> Response {
    to_response(Reply {
        status,
        body: Some(body),
    })
}

fn refuse(status: StatusCode, error_type: ErrorType, id: &str, message: String) -> Response {
    let mut resp = error_response(
        Form::Api,
        &VapiError::new(error_type, id, message.clone(), vec![message]),
    );
    *resp.status_mut() = status;
    resp
}

fn bad_input(message: String) -> Response {
    refuse(
        StatusCode::BAD_REQUEST,
        ErrorType::InvalidArgument,
        "dlsim.control.invalidInput",
        message,
    )
}

fn query(q: &Option<String>, name: &str) -> Option<String> {
    q.as_deref().and_then(|q| {
        form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    })
}

fn now(s: &AppState) -> Response {
    let clock = s.engine.clock();
    ok(
        200,
        json!({"virtual": clock.is_virtual(), "now": clock.now().to_string()}),
    )
}

async fn clock(State(s): State<Arc<AppState>>) -> Response {
    now(&s)
}

async fn set_clock(State(s): State<Arc<AppState>>, RawQuery(q): RawQuery) -> Response {
    let number = |name| query(&q, name).map(|v| v.parse::<u64>());
    let clock = s.engine.clock();
    let moved = match (number("advance_ms"), number("set_ms")) {
        (Some(Ok(ms)), None) => clock.advance(Duration::from_millis(ms)),
        (None, Some(Ok(ms))) => clock.set(Timestamp(i64::try_from(ms).unwrap_or(i64::MAX))),
        (None, None) => {
            return error_response(Form::Api, &request_errors::missing_query("advance_ms"))
        }
        _ => {
            return bad_input(
                "give one of advance_ms or set_ms, as a whole number of milliseconds".into(),
            )
        }
    };
    if !moved {
        return refuse(
            StatusCode::CONFLICT,
            ErrorType::NotAllowedInCurrentState,
            "dlsim.clock.real",
            "This server runs on the real clock; start it with --virtual-clock to move time."
                .into(),
        );
    }
    now(&s)
}

async fn list_faults(State(s): State<Arc<AppState>>) -> Response {
    ok(200, json!({ "faults": s.engine.faults().list() }))
}

/// One fault, or a list of them.
#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    Many(Vec<Fault>),
    One(Box<Fault>),
}

async fn add_faults(State(s): State<Arc<AppState>>, Body(body): Body) -> Response {
    let faults = match serde_json::from_slice::<Value>(&body) {
        Err(e) => return bad_input(format!("the body is not valid JSON: {e}")),
        // Read a single fault strictly first, so its error names the bad key.
        Ok(v @ Value::Object(_)) => match serde_json::from_value::<Fault>(v) {
            Ok(f) => vec![f],
            Err(e) => return bad_input(format!("the fault is not valid: {e}")),
        },
        Ok(v) => match serde_json::from_value::<OneOrMany>(v) {
            Ok(OneOrMany::Many(list)) => list,
            Ok(OneOrMany::One(f)) => vec![*f],
            Err(e) => return bad_input(format!("expected a fault or a list of faults: {e}")),
        },
    };
    for (i, f) in faults.iter().enumerate() {
        if let Err(e) = f.validate() {
            return bad_input(format!("fault {} is not valid: {e}", i + 1));
        }
    }
    let fs = s.engine.faults();
    let ids: Vec<u64> = faults.into_iter().filter_map(|f| fs.add(f).ok()).collect();
    ok(201, json!({ "ids": ids }))
}

async fn clear_faults(State(s): State<Arc<AppState>>) -> Response {
    s.engine.faults().clear();
    StatusCode::NO_CONTENT.into_response()
}

async fn remove_fault(State(s): State<Arc<AppState>>, params: RawPathParams) -> Response {
    let raw = params.iter().next().map(|(_, v)| v).unwrap_or("");
    let Ok(id) = raw.parse::<u64>() else {
        return bad_input(format!("a fault id is a whole number, not {raw:?}"));
    };
    if s.engine.faults().remove(id) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        refuse(
            StatusCode::NOT_FOUND,
            ErrorType::NotFound,
            "dlsim.control.faultNotFound",
            format!("No fault has the id {id}."),
        )
    }
}

async fn shelf() -> Response {
    let list: Vec<Value> = scenario::SHELF
        .iter()
        .map(|(name, text)| json!({"name": name, "summary": scenario::summary(text)}))
        .collect();
    ok(200, json!({ "scenarios": list }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoadScenario {
    name: Option<String>,
    toml: Option<String>,
}

async fn load_scenario(State(s): State<Arc<AppState>>, Body(body): Body) -> Response {
    let req: LoadScenario = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return bad_input(format!(
                "expected {{\"name\": \"<shelf name>\"}} or {{\"toml\": \"<scenario text>\"}}: {e}"
            ))
        }
    };
    let parsed = match (req.name, req.toml) {
        (Some(name), None) if scenario::SHELF.iter().any(|(n, _)| *n == name) => {
            Scenario::load(&name).map_err(|e| e.to_string())
        }
        (Some(name), None) => Err(format!(
            "no scenario {name:?} on the shelf; it has: {}",
            scenario::shelf_names().join(", ")
        )),
        (None, Some(text)) => Scenario::parse(&text, "the request").map_err(|e| e.to_string()),
        _ => Err("give exactly one of name or toml".into()),
    };
    let scenario = match parsed {
        Ok(sc) => sc,
        Err(e) => return bad_input(e),
    };
    match s.load_scenario(&scenario) {
        Ok(ids) => ok(201, json!({ "ids": ids })),
        Err(e) => bad_input(e),
    }
}

async fn journal(State(s): State<Arc<AppState>>, RawQuery(q): RawQuery) -> Response {
    let since = match query(&q, "since").map(|v| v.parse::<u64>()) {
        None => 0,
        Some(Ok(n)) => n,
        Some(Err(_)) => return bad_input("since is a sequence number (a whole number)".into()),
    };
    let page = s.journal.since(since);
    let mut body = String::new();
    for e in &page.entries {
        if let Ok(line) = serde_json::to_string(e) {
            body.push_str(&line);
            body.push('\n');
        }
    }
    let mut resp = (StatusCode::OK, body).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-ndjson"),
    );
    h.insert("dlsim-journal-last", HeaderValue::from(page.last));
    h.insert("dlsim-journal-dropped", HeaderValue::from(page.dropped));
    resp
}

async fn verify(State(s): State<Arc<AppState>>) -> Response {
    let report = s.verify();
    ok(200, serde_json::to_value(&report).unwrap_or(Value::Null))
}

async fn reset(State(s): State<Arc<AppState>>) -> Response {
    s.reset();
    StatusCode::NO_CONTENT.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_token_only_loopback_peers_may_control() {
        let peer = |s: &str| Some(s.parse::<SocketAddr>().unwrap());
        assert!(may_control(peer("127.0.0.1:5000"), None, None).is_ok());
        assert!(may_control(peer("127.8.9.10:5000"), None, None).is_ok());
        assert!(may_control(peer("[::1]:5000"), None, None).is_ok());
        assert!(may_control(peer("[::ffff:127.0.0.1]:5000"), None, None).is_ok());
        assert!(may_control(peer("192.0.2.7:5000"), None, None).is_err());
        assert!(may_control(peer("[2001:db8::1]:5000"), None, None).is_err());
        assert!(may_control(None, None, None).is_err());
    }

    #[test]
    fn with_a_token_everyone_needs_it_loopback_included() {
        let local = Some("127.0.0.1:5000".parse::<SocketAddr>().unwrap());
        let remote = Some("192.0.2.7:5000".parse::<SocketAddr>().unwrap());
        for peer in [local, remote, None] {
            assert!(may_control(peer, Some("s3cret"), Some(b"s3cret")).is_ok());
            assert!(may_control(peer, Some("s3cret"), None).is_err());
            assert!(may_control(peer, Some("s3cret"), Some(b"s3cre")).is_err());
            assert!(may_control(peer, Some("s3cret"), Some(b"s3cret ")).is_err());
        }
    }
}
