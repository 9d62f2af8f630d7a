//! The legacy REST form (`/rest/com/vmware/...`): `{"value": ...}` wrappers, maps as
//! `[{"key","value"}]` lists, 200 everywhere (void operations without a body).
//!
//! Errors are `{"type": "com.vmware.vapi.std.errors.<name>", "value": {...}}`. Like vCenter
//! from 7.0U3 on, `value` also carries `error_type`.

use super::json::MapStyle;
#[cfg(test)]
use crate::model::VapiError;
#[cfg(test)]
use serde_json::Value as Json;

/// Maps are key/value entry lists on this form.
pub const STYLE: MapStyle = MapStyle::EntryList;

/// Read a `/rest` error body; `type` names the error when `value` carries no `error_type`.
#[cfg(test)]
pub fn decode_error(body: &Json) -> Result<VapiError, crate::model::DecodeError> {
    use crate::model::{DecodeError, ErrorType};
    let name = body
        .get("type")
        .and_then(Json::as_str)
        .ok_or_else(|| DecodeError::new("/type", "an error body needs a string \"type\""))?;
    let named = ErrorType::from_canonical_name(name)
        .ok_or_else(|| DecodeError::new("/type", format!("{name:?} is not a standard error")))?;
    let value = body
        .get("value")
        .ok_or_else(|| DecodeError::new("/value", "an error body needs a \"value\""))?;
    let mut e: VapiError =
        super::decode_model_named(value, STYLE, named).map_err(|e| e.within("value"))?;
    if value.get("error_type").is_none() {
        e.error_type = named;
    }
    Ok(e)
}
