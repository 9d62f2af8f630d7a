//! The vAPI JSON-RPC 2.0 value encoding (`POST /api`, what the official SDKs speak by default).
//!
//! Every value says what it is: structures are `{"STRUCTURE": {"<canonical name>": {...}}}`
//! with every field written (unset optionals as `{"OPTIONAL": null}`), errors
//! `{"ERROR": {"com.vmware.vapi.std.errors.<name>": {...}}}`, optionals `{"OPTIONAL": v}`,
//! maps lists of `map-entry` structures, secrets `{"SECRET": "..."}`, void `null`. Scalars are
//! bare. Decoding is strict and typed by the same [`Type`] descriptions as the REST forms.

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map as JsonMap, Value as Json};

use super::json::{check_text, map_entry, mismatch, number_or_flag};
use crate::model::value::{DecodeError, StructValue, Type, Value};
#[cfg(test)]
use crate::model::{VapiError, VapiType};

/// A value in the JSON-RPC encoding, written as it is serialized: answers go out without an
/// intermediate document (see [`encode`] for one).
pub struct Typed<'a>(pub &'a Value);

/// A standard error in the JSON-RPC encoding, `{"ERROR": {"<canonical name>": {...}}}`.
pub struct TypedError<'a>(pub &'a Value);

/// The `result` of a JSON-RPC answer: `{"output": value}` (void: `null`), or a vAPI error as
/// `{"error": {"ERROR": ...}}` (its standard-error value).
pub enum RpcResult<'a> {
    Output(&'a Value),
    Error(&'a Value),
}

impl Serialize for RpcResult<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(1))?;
        match self {
            RpcResult::Output(v) => m.serialize_entry("output", &Typed(v))?,
            RpcResult::Error(v) => m.serialize_entry("error", &TypedError(v))?,
        }
        m.end()
    }
}

/// `{tag: inside}`.
struct Tag<'a, T>(&'a str, T);

/// A structure's fields, each in the JSON-RPC encoding.
struct Fields<'a>(&'a [(&'static str, Value)]);

/// A map entry, `{"key": k, "value": v}`.
struct MapEntry<'a>(&'a str, &'a Value);

/// A dynamic structure (an error's `data`), written as typed values.
struct Dynamic<'a>(&'a Json);

impl<T: Serialize> Serialize for Tag<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(1))?;
        m.serialize_entry(self.0, &self.1)?;
        m.end()
    }
}

impl Serialize for Fields<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (n, v) in self.0 {
            m.serialize_entry(n, &Typed(v))?;
        }
        m.end()
    }
}

impl Serialize for MapEntry<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("key", self.0)?;
        m.serialize_entry("value", &Typed(self.1))?;
        m.end()
    }
}

impl Serialize for Typed<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Struct(StructValue { name, fields }) => {
                Tag("STRUCTURE", Tag(name, Fields(fields))).serialize(s)
            }
            Value::Optional(None) => Tag("OPTIONAL", ()).serialize(s),
            Value::Optional(Some(v)) => Tag("OPTIONAL", Typed(v)).serialize(s),
            Value::Void => s.serialize_unit(),
            Value::List(items) => s.collect_seq(items.iter().map(Typed)),
            Value::Map(entries) => s.collect_seq(
                entries
                    .iter()
                    .map(|(k, v)| Tag("STRUCTURE", Tag("map-entry", MapEntry(k, v)))),
            ),
            Value::String(x) => s.serialize_str(x),
            Value::Secret(x) => Tag("SECRET", x.as_str()).serialize(s),
            Value::Long(n) => s.serialize_i64(*n),
            // JSON has no NaN or infinity.
            Value::Double(d) if d.is_finite() => s.serialize_f64(*d),
            Value::Double(_) => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Dynamic(j) => Dynamic(j).serialize(s),
        }
    }
}

impl Serialize for TypedError<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Struct(StructValue { name, fields }) => {
                Tag("ERROR", Tag(name, Fields(fields))).serialize(s)
            }
            other => Typed(other).serialize(s),
        }
    }
}

impl Serialize for Dynamic<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        struct Members<'a>(&'a JsonMap<String, Json>);
        impl Serialize for Members<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_map(self.0.iter().map(|(k, v)| (k, Dynamic(v))))
            }
        }
        match self.0 {
            Json::Object(m) => Tag("STRUCTURE", Tag("dynamic_structure", Members(m))).serialize(s),
            Json::Array(a) => s.collect_seq(a.iter().map(Dynamic)),
            Json::Null => Tag("OPTIONAL", ()).serialize(s),
            other => other.serialize(s),
        }
    }
}

/// Write a value in the JSON-RPC encoding, as a document.
#[cfg(test)]
pub fn encode(value: &Value) -> Json {
    serde_json::to_value(Typed(value)).unwrap_or(Json::Null)
}

/// Read a dynamic structure back into plain JSON (the inverse of [`dynamic`]).
fn undynamic(j: &Json) -> Json {
    if let Ok((_, fields)) = structure(j) {
        return Json::Object(
            fields
                .iter()
                .map(|(k, v)| (k.clone(), undynamic(v)))
                .collect(),
        );
    }
    if let Some(inside) = tagged(j, "OPTIONAL") {
        return undynamic(inside);
    }
    match j {
        Json::Array(a) => Json::Array(a.iter().map(undynamic).collect()),
        other => other.clone(),
    }
}

/// Write a standard error as `{"ERROR": {"<canonical name>": {...}}}`, as a document.
#[cfg(test)]
pub fn encode_error(e: &VapiError) -> Json {
    serde_json::to_value(TypedError(&e.to_value())).unwrap_or(Json::Null)
}

/// Read a JSON-RPC value as type `ty`.
pub fn decode(json: &Json, ty: &Type) -> Result<Value, DecodeError> {
    match ty {
        Type::Optional(inner) => {
            let inside = tagged(json, "OPTIONAL").ok_or_else(|| {
                mismatch(json, "an optional, written {\"OPTIONAL\": value or null}")
            })?;
            match inside {
                Json::Null => Ok(Value::Optional(None)),
                j => Ok(Value::Optional(Some(Box::new(
                    decode(j, inner).map_err(|e| e.within("OPTIONAL"))?,
                )))),
            }
        }
        Type::Struct(def) => {
            let (name, fields) = structure(json)?;
            let at = |e: DecodeError| e.within(name).within("STRUCTURE");
            if let Some(unknown) = fields
                .keys()
                .find(|k| !def.fields.iter().any(|f| f.name == *k))
            {
                return Err(at(DecodeError::new(
                    format!("/{unknown}"),
                    format!("unknown field {unknown:?} (not a field of {})", def.name),
                )));
            }
            let mut out = Vec::with_capacity(def.fields.len());
            for f in def.fields {
                let v = match fields.get(f.name) {
                    Some(j) => decode(j, &f.ty).map_err(|e| at(e.within(f.name)))?,
                    None if matches!(f.ty, Type::Optional(_)) => Value::Optional(None),
                    None => {
                        return Err(at(DecodeError::new(
                            format!("/{}", f.name),
                            format!("required field {:?} is missing", f.name),
                        )))
                    }
                };
                out.push((f.name, v));
            }
            Ok(Value::Struct(StructValue {
                name: def.name,
                fields: out,
            }))
        }
        Type::List(inner) => json
            .as_array()
            .ok_or_else(|| mismatch(json, "an array"))?
            .iter()
            .enumerate()
            .map(|(i, j)| decode(j, inner).map_err(|e| e.within(&i.to_string())))
            .collect::<Result<_, _>>()
            .map(Value::List),
        Type::Map(inner) => decode_map(json, inner),
        Type::String | Type::DateTime | Type::Enum(_) => {
            let s = json.as_str().ok_or_else(|| mismatch(json, "a string"))?;
            check_text(s, ty)?;
            Ok(Value::String(s.to_string()))
        }
        Type::Long | Type::Double | Type::Bool => number_or_flag(json, ty),
        Type::Dynamic => Ok(Value::Dynamic(undynamic(json))),
    }
}

/// The inside of a one-key `{"TAG": inside}` object.
fn tagged<'a>(json: &'a Json, tag: &str) -> Option<&'a Json> {
    match json.as_object() {
        Some(m) if m.len() == 1 => m.get(tag),
        _ => None,
    }
}

/// The name and fields of `{"STRUCTURE": {"<name>": {...}}}`.
fn structure(json: &Json) -> Result<(&str, &JsonMap<String, Json>), DecodeError> {
    let wrong = || {
        mismatch(
            json,
            "a structure, written {\"STRUCTURE\": {\"<name>\": {...}}}",
        )
    };
    let inner = tagged(json, "STRUCTURE")
        .and_then(Json::as_object)
        .filter(|m| m.len() == 1)
        .ok_or_else(wrong)?;
    let (name, fields) = inner.iter().next().ok_or_else(wrong)?;
    let fields = fields.as_object().ok_or_else(wrong)?;
    Ok((name, fields))
}

/// A map: a list of `map-entry` structures, or (as the Python runtime also reads it) one
/// structure whose fields are the keys.
fn decode_map(json: &Json, inner: &Type) -> Result<Value, DecodeError> {
    let mut out = Vec::new();
    if let Some(items) = json.as_array() {
        for (i, entry) in items.iter().enumerate() {
            let at = i.to_string();
            let (_, e) = structure(entry).map_err(|e| e.within(&at))?;
            let (key, value) = map_entry(e, &at, "map-entry")?;
            out.push((
                key.to_string(),
                decode(value, inner).map_err(|e| e.within("value").within(&at))?,
            ));
        }
        return Ok(Value::Map(out));
    }
    let (_, fields) = structure(json).map_err(|_| {
        mismatch(
            json,
            "a map, written as a list of {\"STRUCTURE\": {\"map-entry\": {\"key\", \"value\"}}}",
        )
    })?;
    for (k, j) in fields {
        out.push((k.clone(), decode(j, inner).map_err(|e| e.within(k))?));
    }
    Ok(Value::Map(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{DownloadSessionModel, FileInfo, LocalizableMessage, VapiType};
    use serde_json::json;

    #[test]
    fn a_file_info_reads_back_and_optionals_are_tagged() {
        let info = FileInfo {
            name: "a.ovf".into(),
            size: Some(1234),
            bytes_transferred: 0,
            status: crate::model::PrepareStatus::Unprepared,
            download_endpoint: None,
            checksum_info: None,
            error_message: None,
        };
        let j = encode(&info.to_value());
        let body = &j["STRUCTURE"]["com.vmware.content.library.item.downloadsession.file.info"];
        assert_eq!(body["size"], json!({"OPTIONAL": 1234}));
        assert_eq!(body["download_endpoint"], json!({"OPTIONAL": null}));
        assert_eq!(body["status"], "UNPREPARED");
        let back = FileInfo::from_value(decode(&j, FileInfo::vapi_type()).unwrap()).unwrap();
        assert_eq!(back, info);
    }

    #[test]
    fn the_sdks_create_spec_decodes() {
        let spec = json!({"STRUCTURE": {"com.vmware.content.library.item.download_session_model": {
            "id": {"OPTIONAL": null}, "library_item_id": {"OPTIONAL": "item-1"},
            "library_item_content_version": {"OPTIONAL": null}, "error_message": {"OPTIONAL": null},
            "client_progress": {"OPTIONAL": null}, "state": {"OPTIONAL": null},
            "expiration_time": {"OPTIONAL": null}}}});
        let v = decode(&spec, DownloadSessionModel::vapi_type()).unwrap();
        let m = DownloadSessionModel::from_value(v).unwrap();
        assert_eq!(m.library_item_id.as_deref(), Some("item-1"));
    }

    #[test]
    fn maps_are_map_entries_and_the_api_object_form_is_refused() {
        let mut m = LocalizableMessage::new("id.x", "text", vec![]);
        m.params = Some(crate::model::value::Map(vec![(
            "k".into(),
            crate::model::LocalizationParam {
                s: Some("v".into()),
                ..Default::default()
            },
        )]));
        let j = encode(&m.to_value());
        let params =
            &j["STRUCTURE"]["com.vmware.vapi.std.localizable_message"]["params"]["OPTIONAL"];
        assert_eq!(params[0]["STRUCTURE"]["map-entry"]["key"], "k");
        let back = decode(&j, LocalizableMessage::vapi_type()).unwrap();
        assert_eq!(LocalizableMessage::from_value(back).unwrap(), m);
        let mut bad = j.clone();
        bad["STRUCTURE"]["com.vmware.vapi.std.localizable_message"]["params"]["OPTIONAL"] =
            json!({"k": {"s": "v"}});
        assert!(decode(&bad, LocalizableMessage::vapi_type()).is_err());
    }

    #[test]
    fn errors_are_tagged_with_their_canonical_name() {
        let e = crate::engine::errors::session_not_found("nope");
        let j = encode_error(&e);
        let body = &j["ERROR"]["com.vmware.vapi.std.errors.not_found"];
        assert_eq!(body["error_type"], json!({"OPTIONAL": "NOT_FOUND"}));
        assert_eq!(body["data"], json!({"OPTIONAL": null}));
        assert!(
            body["messages"][0]["STRUCTURE"]["com.vmware.vapi.std.localizable_message"].is_object()
        );
    }

    #[test]
    fn a_bare_null_is_not_an_unset_optional() {
        assert!(decode(&Json::Null, &Type::Optional(&Type::Long)).is_err());
        assert_eq!(
            decode(&json!({"OPTIONAL": 5}), &Type::Optional(&Type::Long)).unwrap(),
            Value::Optional(Some(Box::new(Value::Long(5))))
        );
    }
}
