//! The operations both REST forms share, written once over a [`Call`]: each reads its inputs,
//! asks the engine, and returns the outcome for the call's form to write down.

use super::call::Call;
use crate::model::{EndpointType, VapiError};
use crate::wire::{bodies, request_errors, Outcome};

pub type OpResult = Result<Outcome, VapiError>;

pub fn ds_get(call: &Call, id: &str) -> OpResult {
    let who = call.caller()?;
    Ok(Outcome::read(&call.engine().get(&who, id)?))
}

pub fn ds_list(call: &Call) -> OpResult {
    let who = call.caller()?;
    let item = call.query("library_item_id");
    Ok(Outcome::read_ids(call.engine().list(&who, item)?))
}

pub fn ds_delete(call: &Call, id: &str) -> OpResult {
    let who = call.caller()?;
    call.engine().delete(&who, id)?;
    Ok(Outcome::Done)
}

/// `keep-alive`, `cancel` and `fail`, chosen by the action name.
pub fn ds_action(call: &Call, id: &str, action: Option<&str>) -> OpResult {
    let who = call.caller()?;
    let engine = call.engine();
    match action {
        Some("keep-alive") => {
            let progress = call.body(&bodies::KEEP_ALIVE)?.opt("progress")?;
            engine.keep_alive(&who, id, progress)?;
        }
        Some("cancel") => {
            call.body(&bodies::EMPTY)?;
            engine.cancel(&who, id)?;
        }
        Some("fail") => {
            // govmomi sends no body at all; /rest accepts that as a failure without a message.
            let message: String = if !call.has_body() && call.form == crate::wire::Form::Rest {
                String::new()
            } else {
                call.body(&bodies::FAIL)?.req("client_error_message")?
            };
            engine.fail(&who, id, &message)?;
        }
        other => {
            return Err(request_errors::unknown_action(
                other,
                &["keep-alive", "cancel", "fail"],
            ))
        }
    }
    Ok(Outcome::Done)
}

pub fn file_list(call: &Call, id: &str) -> OpResult {
    let who = call.caller()?;
    Ok(Outcome::read_list(&call.engine().file_list(&who, id)?))
}

pub fn file_get(call: &Call, id: &str, name: &str) -> OpResult {
    let who = call.caller()?;
    Ok(Outcome::read(&call.engine().file_get(&who, id, name)?))
}

/// File `get` with the name in a `{"file_name"}` body.
pub fn file_get_by_body(call: &Call, id: &str) -> OpResult {
    let who = call.caller()?;
    let name: Option<String> = call.body(&bodies::FILE_GET)?.opt("file_name")?;
    let name = name.ok_or_else(|| request_errors::missing_query("file_name"))?;
    Ok(Outcome::read(&call.engine().file_get(&who, id, &name)?))
}

pub fn file_prepare(call: &Call, id: &str) -> OpResult {
    let who = call.caller()?;
    let mut body = call.body(&bodies::PREPARE)?;
    let name: String = body.req("file_name")?;
    let endpoint: Option<EndpointType> = body.opt("endpoint_type")?;
    Ok(Outcome::read(
        &call.engine().file_prepare(&who, id, &name, endpoint)?,
    ))
}

pub fn library_list(call: &Call) -> OpResult {
    call.caller()?;
    Ok(Outcome::read_ids(call.engine().library_ids()))
}

pub fn library_get(call: &Call, id: &str) -> OpResult {
    call.caller()?;
    Ok(Outcome::read(&call.engine().library(id)?))
}

pub fn item_list(call: &Call) -> OpResult {
    call.caller()?;
    let lib = call
        .query("library_id")
        .ok_or_else(|| request_errors::missing_query("library_id"))?;
    Ok(Outcome::read_ids(call.engine().item_ids(lib)?))
}

pub fn item_get(call: &Call, id: &str) -> OpResult {
    call.caller()?;
    Ok(Outcome::read(&call.engine().item(id)?))
}

pub fn session_info(call: &Call) -> OpResult {
    let token = super::auth::required_token(&call.headers, call.form)?;
    Ok(Outcome::read(&call.engine().session_info(&token)?))
}

pub fn logout(call: &Call) -> OpResult {
    let token = super::auth::required_token(&call.headers, call.form)?;
    call.engine().logout(&token)?;
    Ok(Outcome::Done)
}
