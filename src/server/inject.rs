//! Consulting the fault set for one request and sorting what fired by where it acts: the
//! answer, the session in the engine, the delay, the bytes on the wire.

use std::time::Duration;

use super::transport::Shaping;
use super::AppState;
use crate::faults::rule::Family;
use crate::faults::{FormName, Point, What};
use crate::model::{ErrorType, VapiError};
use crate::op::OpName;

/// What a request is, as far as fault rules can tell.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    pub op: OpName,
    pub form: FormName,
    /// The download session named by the request.
    pub session: Option<&'a str>,
    pub item: Option<&'a str>,
    pub file: Option<&'a str>,
    /// The login token presented, or the user logging in.
    pub token: Option<&'a str>,
    pub login_user: Option<&'a str>,
}

/// The faults that fired for one request.
#[derive(Debug, Default)]
pub struct Injected {
    /// Replaces the answer (the first one loaded wins).
    pub answer: Option<What>,
    /// Session faults with their rule's file glob.
    pub session: Vec<(What, Option<String>)>,
    pub delay: Duration,
    pub shaping: Shaping,
    /// `id:label` of every fault that fired, for the journal.
    pub labels: Vec<String>,
}

/// Consult the faults for `t` (nothing is looked up unless a loaded rule needs it).
pub fn consult(state: &AppState, t: &Target<'_>) -> Injected {
    let faults = &state.engine.faults();
    let mut out = Injected::default();
    if faults.is_empty() {
        return out;
    }
    let engine = &state.engine;
    let needs = faults.needs();
    let facts = match (needs.session, t.session) {
        (true, Some(id)) => engine.session_facts(id),
        _ => None,
    };
    let ordinal = match (&facts, t.op) {
        (Some(f), _) => Some(f.ordinal),
        (None, OpName::Create) if needs.session => Some(engine.next_ordinal()),
        _ => None,
    };
    let user = match (needs.user, t.login_user) {
        (_, Some(u)) => Some(std::sync::Arc::from(u)),
        (true, None) => t.token.and_then(|tok| engine.user_of(tok)),
        _ => None,
    };
    let point = Point {
        op: t.op,
        form: t.form,
        item: t.item.or(facts.as_ref().map(|f| &*f.item)),
        file: t.file,
        user: user.as_deref(),
        session: ordinal,
        now: engine.clock().now(),
    };
    for fired in faults.consult(&point) {
        out.labels.push(format!("{}:{}", fired.id, fired.label));
        match fired.what.family() {
            Family::Answer => {
                out.answer.get_or_insert(fired.what);
            }
            Family::Session => out.session.push((fired.what, fired.files)),
            Family::Delay => {
                if let What::Latency { ms, min_ms, max_ms } = fired.what {
                    let ms = match ms {
                        Some(ms) => ms,
                        None => faults.draw_range(min_ms.unwrap_or(0), max_ms.unwrap_or(0)),
                    };
                    out.delay += Duration::from_millis(ms);
                }
            }
            Family::Transport => out.shaping.add(&fired.what),
            Family::Violation => {}
        }
    }
    out
}

/// The error an `http_error` fault answers with: the standard error its status implies.
pub fn http_error(status: u16) -> VapiError {
    let t = match status {
        400 => ErrorType::InvalidRequest,
        401 => ErrorType::Unauthenticated,
        403 => ErrorType::Unauthorized,
        404 => ErrorType::NotFound,
        409 => ErrorType::ConcurrentChange,
        429 => ErrorType::ResourceBusy,
        500 => ErrorType::InternalServerError,
        503 => ErrorType::ServiceUnavailable,
        504 => ErrorType::TimedOut,
        _ => ErrorType::Error,
    };
    VapiError::new(
        t,
        "com.vmware.vapi.endpoint.injectedFault",
        format!("The service answered {status} (a fault injected by dlsim)."),
        vec![status.to_string()],
    )
}
