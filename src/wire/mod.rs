//! How each wire form writes the model down: pure functions, no state, no I/O.
//!
//! The forms differ only here: map encoding ([`json::MapStyle`]), `{"value"}` wrappers, status
//! codes and error bodies. `/api` lives in [`api`]; `/rest` and JSON-RPC join as siblings.

pub mod api;
pub mod bodies;
pub mod json;
pub mod jsonrpc;
pub mod rest;

use serde_json::Value as Json;

use crate::model::value::{StructDef, Type};
use crate::model::{ErrorType, VapiError, VapiType};
use json::MapStyle;

/// What an operation produced, before a form writes it down.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// A create: the new resource's id or token.
    Created(crate::model::Value),
    /// A read: its result.
    Read(crate::model::Value),
    /// A void operation.
    Done,
}

impl Outcome {
    pub fn read<T: VapiType>(v: &T) -> Self {
        Outcome::Read(v.to_value())
    }
    pub fn read_ids(ids: Vec<String>) -> Self {
        Outcome::Read(crate::model::Value::List(
            ids.into_iter().map(crate::model::Value::String).collect(),
        ))
    }
    pub fn read_list<T: VapiType>(items: &[T]) -> Self {
        Outcome::Read(crate::model::Value::List(
            items.iter().map(VapiType::to_value).collect(),
        ))
    }
    pub fn created_string(s: String) -> Self {
        Outcome::Created(crate::model::Value::String(s))
    }
}

/// An HTTP reply as a form writes it: a status and an optional JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub status: u16,
    pub body: Option<Json>,
}

/// An answer already serialized: its status and body (none for an empty one). The same
/// bytes as the [`Reply`] a form builds, without building the document first.
#[derive(Debug, Clone, PartialEq)]
pub struct Written {
    pub status: u16,
    pub body: Option<Vec<u8>>,
}

impl Written {
    fn of(status: u16, body: Option<&Body>) -> Self {
        Written {
            status,
            body: body.map(|b| serde_json::to_vec(b).unwrap_or_else(|_| b"null".to_vec())),
        }
    }
}

/// A form's answer body before it is serialized, once: as bytes to send, or as a document.
enum Body<'a> {
    /// The value itself (`/api`).
    Plain(&'a crate::model::Value, MapStyle),
    /// `{"value": ...}` (`/rest`).
    Wrapped(&'a crate::model::Value),
    /// `{"type": "<canonical error name>", "value": {...}}` (`/rest` errors).
    RestError(&'static str, &'a crate::model::Value),
    /// `{"output": ...}` or `{"error": ...}` (JSON-RPC's `result`).
    Rpc(jsonrpc::RpcResult<'a>),
}

impl serde::Serialize for Body<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use json::Plain;
        use serde::ser::SerializeMap;
        match self {
            Body::Plain(v, style) => Plain(v, *style).serialize(s),
            Body::Wrapped(v) => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("value", &Plain(v, rest::STYLE))?;
                m.end()
            }
            Body::RestError(name, v) => {
                let mut m = s.serialize_map(Some(2))?;
                m.serialize_entry("type", name)?;
                m.serialize_entry("value", &Plain(v, rest::STYLE))?;
                m.end()
            }
            Body::Rpc(r) => r.serialize(s),
        }
    }
}

/// A wire form, chosen by the route alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// `/api/...`
    Api,
    /// `/rest/com/vmware/...`
    Rest,
    /// vAPI JSON-RPC 2.0 at `POST /api` (the answer's envelope and id are added by the caller).
    JsonRpc,
    /// The Python SDK's `'rest'` mode, served under `/sdk-rest/api/...`: `/api` paths and
    /// inputs, `/rest` bodies (`{"value"}` wrappers, maps as key/value lists) and errors.
    SdkRest,
}

impl Form {
    pub fn style(self) -> MapStyle {
        match self {
            Form::Api | Form::JsonRpc => api::STYLE,
            Form::Rest | Form::SdkRest => rest::STYLE,
        }
    }
    /// Write an operation's outcome as a document (a rule break may still rewrite it).
    pub fn reply(self, outcome: &Outcome) -> Reply {
        self.answer(outcome, |status, body| Reply {
            status,
            body: body.map(|b| serde_json::to_value(b).unwrap_or(Json::Null)),
        })
    }
    /// [`Form::reply`], serialized straight from the outcome.
    pub fn write_reply(self, outcome: &Outcome) -> Written {
        self.answer(outcome, Written::of)
    }
    /// Write an error as a document: its status from the standard table, its body in this form.
    pub fn error(self, e: &VapiError) -> Reply {
        self.error_answer(e, |status, body| Reply {
            status,
            body: body.map(|b| serde_json::to_value(b).unwrap_or(Json::Null)),
        })
    }
    /// [`Form::error`], serialized straight from the error.
    pub fn write_error(self, e: &VapiError) -> Written {
        self.error_answer(e, Written::of)
    }
    #[cfg(test)]
    pub fn error_body(self, e: &VapiError) -> Json {
        self.error(e).body.unwrap_or_default()
    }
    /// An outcome's status and body in this form: 201/200/204 on `/api`, `{"value"}` (or no
    /// body) with 200 on `/rest`, `{"output"}` with 200 on JSON-RPC.
    fn answer<R>(self, outcome: &Outcome, write: impl FnOnce(u16, Option<&Body>) -> R) -> R {
        use crate::model::Value;
        match (self, outcome) {
            (Form::Api, Outcome::Created(v)) => write(201, Some(&Body::Plain(v, api::STYLE))),
            (Form::Api, Outcome::Read(v)) => write(200, Some(&Body::Plain(v, api::STYLE))),
            (Form::Api, Outcome::Done) => write(204, None),
            (Form::Rest | Form::SdkRest, Outcome::Created(v) | Outcome::Read(v)) => {
                write(200, Some(&Body::Wrapped(v)))
            }
            (Form::Rest | Form::SdkRest, Outcome::Done) => write(200, None),
            (Form::JsonRpc, Outcome::Created(v) | Outcome::Read(v)) => {
                write(200, Some(&Body::Rpc(jsonrpc::RpcResult::Output(v))))
            }
            (Form::JsonRpc, Outcome::Done) => write(
                200,
                Some(&Body::Rpc(jsonrpc::RpcResult::Output(&Value::Void))),
            ),
        }
    }
    /// An error's status and body in this form. JSON-RPC answers vAPI errors with 200: the SDK
    /// reads no body of any other status.
    fn error_answer<R>(self, e: &VapiError, write: impl FnOnce(u16, Option<&Body>) -> R) -> R {
        let value = e.to_value();
        let status = http_status(e.error_type);
        match self {
            Form::Api => write(status, Some(&Body::Plain(&value, api::STYLE))),
            Form::Rest | Form::SdkRest => write(
                status,
                Some(&Body::RestError(e.error_type.canonical_name(), &value)),
            ),
            Form::JsonRpc => write(200, Some(&Body::Rpc(jsonrpc::RpcResult::Error(&value)))),
        }
    }
    /// The form that owns a request path (`/rest/...` is legacy; everything else `/api`).
    pub fn of_path(path: &str) -> Form {
        let under = |p: &str| {
            path.strip_prefix(p)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        };
        if under("/rest") {
            Form::Rest
        } else if under(SDK_REST_PREFIX) {
            Form::SdkRest
        } else {
            Form::Api
        }
    }
}

/// Where the Python SDK's `'rest'` mode is served: its base URL is `<server>/sdk-rest/api`.
pub const SDK_REST_PREFIX: &str = "/sdk-rest";

/// The HTTP status of a standard error, the same on `/api` and `/rest`.
pub fn http_status(t: ErrorType) -> u16 {
    use ErrorType::*;
    match t {
        Unauthenticated => 401,
        Unauthorized => 403,
        NotFound | OperationNotFound => 404,
        ConcurrentChange => 409,
        Error | InternalServerError => 500,
        ServiceUnavailable => 503,
        TimedOut => 504,
        AlreadyExists
        | AlreadyInDesiredState
        | Canceled
        | FeatureInUse
        | InvalidArgument
        | InvalidElementConfiguration
        | InvalidElementType
        | InvalidRequest
        | NotAllowedInCurrentState
        | ResourceBusy
        | ResourceInUse
        | ResourceInaccessible
        | UnableToAllocateResource
        | Unsupported
        | UnexpectedInput
        | UnverifiedPeer => 400,
    }
}

/// Errors about the request itself (not the operation), shared by every REST form.
pub mod request_errors {
    use std::borrow::Cow;

    use crate::model::{ErrorType, VapiError};

    /// Longest piece of a request echoed back in an error, in characters: a 60 KiB path must
    /// not come back twice in a 120 KiB answer.
    pub const ECHO_CHARS: usize = 256;

    /// Client text as echoed in an error: cut to [`ECHO_CHARS`], marked with `…` when cut.
    pub fn clip(text: &str) -> Cow<'_, str> {
        match text.char_indices().nth(ECHO_CHARS) {
            None => Cow::Borrowed(text),
            Some((end, _)) => Cow::Owned(format!("{}…", &text[..end])),
        }
    }

    pub fn malformed_json(detail: &str) -> VapiError {
        VapiError::new(
            ErrorType::InvalidRequest,
            "com.vmware.vapi.rest.badRequest.invalidJson",
            format!("The request body is not valid JSON: {detail}"),
            vec![detail.to_string()],
        )
    }

    pub fn invalid_input(detail: &str) -> VapiError {
        let detail = clip(detail);
        VapiError::new(
            ErrorType::InvalidArgument,
            "com.vmware.vapi.rest.badRequest.invalidInput",
            format!("The request input is not valid: {detail}"),
            vec![detail.to_string()],
        )
    }

    pub fn body_too_large(limit: usize) -> VapiError {
        VapiError::new(
            ErrorType::InvalidRequest,
            "com.vmware.vapi.rest.badRequest.bodyTooLarge",
            format!("The request body is larger than the limit of {limit} bytes."),
            vec![limit.to_string()],
        )
    }

    pub fn headers_too_large(limit: usize) -> VapiError {
        VapiError::new(
            ErrorType::InvalidRequest,
            "com.vmware.vapi.rest.badRequest.headersTooLarge",
            format!("The request headers are larger than the limit of {limit} bytes."),
            vec![limit.to_string()],
        )
    }

    pub fn unreadable_body(detail: &str) -> VapiError {
        VapiError::new(
            ErrorType::InvalidRequest,
            "com.vmware.vapi.rest.badRequest.unreadableBody",
            format!("The request body cannot be read: {detail}"),
            vec![detail.to_string()],
        )
    }

    pub fn unknown_action(action: Option<&str>, allowed: &[&str]) -> VapiError {
        let given = clip(action.unwrap_or("(none)"));
        VapiError::new(
            ErrorType::InvalidRequest,
            "com.vmware.vapi.rest.badRequest.unknownAction",
            format!(
                "Unknown or missing action {given:?} for this resource; expected one of: {}.",
                allowed.join(", ")
            ),
            vec![given.to_string()],
        )
    }

    pub fn missing_query(name: &str) -> VapiError {
        VapiError::new(
            ErrorType::InvalidArgument,
            "com.vmware.vapi.rest.badRequest.missingParameter",
            format!("The required parameter {name:?} is missing."),
            vec![name.to_string()],
        )
    }

    pub fn unknown_route(method: &str, path: &str) -> VapiError {
        let (method, path) = (clip(method), clip(path));
        VapiError::new(
            ErrorType::NotFound,
            "com.vmware.vapi.rest.httpNotFound",
            format!("No operation is served at {method} {path}."),
            vec![method.to_string(), path.to_string()],
        )
    }

    pub fn method_not_allowed(method: &str, path: &str) -> VapiError {
        let (method, path) = (clip(method), clip(path));
        VapiError::new(
            ErrorType::OperationNotFound,
            "com.vmware.vapi.rest.httpMethodNotAllowed",
            format!("The method {method} is not allowed on {path}."),
            vec![method.to_string(), path.to_string()],
        )
    }

    pub fn internal(detail: &str) -> VapiError {
        VapiError::new(
            ErrorType::InternalServerError,
            "com.vmware.vapi.rest.internalServerError",
            format!("Internal server error: {detail}"),
            vec![detail.to_string()],
        )
    }
}

/// Decode a request body as the structure `def`; an empty body reads as `{}`.
pub fn decode_body(
    body: &[u8],
    def: &'static StructDef,
    style: MapStyle,
) -> Result<crate::model::Value, VapiError> {
    let json: Json = if body.iter().all(u8::is_ascii_whitespace) {
        Json::Object(Default::default())
    } else {
        serde_json::from_slice(body).map_err(|e| request_errors::malformed_json(&e.to_string()))?
    };
    static_struct_decode(&json, def, style)
}

fn static_struct_decode(
    json: &Json,
    def: &'static StructDef,
    style: MapStyle,
) -> Result<crate::model::Value, VapiError> {
    // A `Type` for the struct is needed by the decoder; build it on the stack.
    let ty = Type::Struct(def);
    json::decode(json, &ty, style).map_err(|e| {
        let at = if e.path.is_empty() {
            "body".to_string()
        } else {
            format!("body{}", e.path)
        };
        request_errors::invalid_input(&format!("{at}: {}", e.message))
    })
}

/// Decode a whole model value of type `T` from JSON in the given map style.
#[cfg(test)]
pub fn decode_model<T: VapiType>(
    json: &Json,
    style: MapStyle,
) -> Result<T, crate::model::DecodeError> {
    let v = json::decode(json, T::vapi_type(), style)?;
    T::from_value(v)
}

/// Decode a standard error whose type is known from outside the struct (a `/rest` `type`).
#[cfg(test)]
pub(crate) fn decode_model_named(
    json: &Json,
    style: MapStyle,
    named: ErrorType,
) -> Result<VapiError, crate::model::DecodeError> {
    let mut v = json::decode(json, VapiError::vapi_type(), style)?;
    if let crate::model::Value::Struct(s) = &mut v {
        s.name = named.canonical_name();
    }
    VapiError::from_value(v)
}

/// Encode a model value as JSON in the given map style.
#[cfg(test)]
pub fn encode_model<T: VapiType>(v: &T, style: MapStyle) -> Json {
    json::encode(&v.to_value(), style)
}

#[cfg(test)]
mod tests {
    use super::request_errors::{clip, unknown_route, ECHO_CHARS};

    #[test]
    fn echoed_client_text_is_clipped_on_a_character_boundary() {
        assert_eq!(clip("short"), "short");
        let long = "é".repeat(ECHO_CHARS + 10);
        let clipped = clip(&long);
        assert_eq!(clipped.chars().count(), ECHO_CHARS + 1);
        assert!(clipped.ends_with('…'));
        let e = unknown_route("GET", &"/x".repeat(30_000));
        assert!(e.messages[0].default_message.len() < 2 * ECHO_CHARS + 64);
    }
}

#[cfg(test)]
mod fixture_tests;
#[cfg(test)]
mod roundtrip_tests;
