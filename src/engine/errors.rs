//! The engine's error catalogue: every documented error with a realistic message id.
//!
//! Ids use the Content Library prefix real vCenter uses (`com.vmware.vdcs.cls-main.`), so
//! clients that log or match message ids see familiar shapes.

use crate::model::{ErrorType, State, VapiError};
use crate::wire::request_errors::clip;

pub const PREFIX: &str = "com.vmware.vdcs.cls-main";

fn err(t: ErrorType, key: &str, text: String, args: Vec<String>) -> VapiError {
    VapiError::new(t, &format!("{PREFIX}.{key}"), text, args)
}

pub fn session_not_found(id: &str) -> VapiError {
    let id = clip(id);
    err(
        ErrorType::NotFound,
        "download_session_not_found",
        format!("Download session {id} does not exist."),
        vec![id.to_string()],
    )
}

pub fn item_not_found(id: &str) -> VapiError {
    let id = clip(id);
    err(
        ErrorType::NotFound,
        "library_item_not_found",
        format!("Library item {id} does not exist."),
        vec![id.to_string()],
    )
}

pub fn library_not_found(id: &str) -> VapiError {
    let id = clip(id);
    err(
        ErrorType::NotFound,
        "library_not_found",
        format!("Library {id} does not exist."),
        vec![id.to_string()],
    )
}

pub fn file_not_found(session: &str, name: &str) -> VapiError {
    let (session, name) = (clip(session), clip(name));
    err(
        ErrorType::InvalidArgument,
        "file_not_found_in_session",
        format!("File {name} does not exist in download session {session}."),
        vec![name.to_string(), session.to_string()],
    )
}

pub fn missing_item_id() -> VapiError {
    err(
        ErrorType::InvalidArgument,
        "invalid_session_spec",
        "The download session specification is not valid: library_item_id must be provided."
            .to_string(),
        vec!["library_item_id".to_string()],
    )
}

pub fn not_active(id: &str, state: State, operation: &str) -> VapiError {
    err(
        ErrorType::NotAllowedInCurrentState,
        "session_not_active",
        format!("Cannot {operation} download session {id} in state {state}; it must be ACTIVE."),
        vec![operation.to_string(), state.to_string(), id.to_string()],
    )
}

pub fn progress_out_of_range(progress: i64) -> VapiError {
    err(
        ErrorType::InvalidArgument,
        "invalid_progress",
        format!("Progress {progress} is out of range; it must be between 0 and 100."),
        vec![progress.to_string()],
    )
}

pub fn progress_went_down(progress: i64, current: i64) -> VapiError {
    err(
        ErrorType::InvalidArgument,
        "progress_decreased",
        format!("Progress {progress} is lower than the current progress {current}."),
        vec![progress.to_string(), current.to_string()],
    )
}

pub fn no_privilege(user: &str, privilege: &str, target: &str) -> VapiError {
    err(
        ErrorType::Unauthorized,
        "missing_privilege",
        format!("User {user} does not have the privilege {privilege} on {target}."),
        vec![user.to_string(), privilege.to_string(), target.to_string()],
    )
}

pub fn client_failed(message: &str) -> crate::model::LocalizableMessage {
    crate::model::LocalizableMessage::new(
        format!("{PREFIX}.client_error"),
        message.to_string(),
        vec![message.to_string()],
    )
}

/// A file's preparation failed because its content could not be read.
pub fn file_unreadable(name: &str, why: &str) -> crate::model::LocalizableMessage {
    crate::model::LocalizableMessage::new(
        format!("{PREFIX}.file_prepare_failed"),
        format!("Failed to prepare file {name} for download: {why}"),
        vec![name.to_string(), why.to_string()],
    )
}

pub fn unauthenticated(reason: &str) -> VapiError {
    VapiError::new(
        ErrorType::Unauthenticated,
        "vapi.security.authentication.invalid",
        format!("Authentication required: {reason}"),
        vec![],
    )
}
