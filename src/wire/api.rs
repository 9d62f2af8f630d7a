//! The current REST form (`/api/...`): bare bodies, maps as JSON objects, 201/200/204.
//!
//! Errors are the bare standard-error struct: `{"error_type", "messages", "data"?}`.

use serde_json::Value as Json;

use super::json::{self, MapStyle};
use super::{Outcome, Reply};
use crate::model::{VapiError, VapiType};

/// Maps are JSON objects on this form.
pub const STYLE: MapStyle = MapStyle::Object;

/// Write an operation's outcome: 201 with the id for creates, 200 with the result, 204 for void.
pub fn reply(outcome: &Outcome) -> Reply {
    match outcome {
        Outcome::Created(v) => Reply {
            status: 201,
            body: Some(json::encode(v, STYLE)),
        },
        Outcome::Read(v) => Reply {
            status: 200,
            body: Some(json::encode(v, STYLE)),
        },
        Outcome::Done => Reply {
            status: 204,
            body: None,
        },
    }
}

/// An error body on `/api`: the bare error struct.
pub fn error_body(e: &VapiError) -> Json {
    json::encode(&e.to_value(), STYLE)
}
