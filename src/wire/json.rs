//! The one generic JSON encoder and decoder behind the REST forms.
//!
//! `/api` and `/rest` write vAPI values the same way except for maps: a JSON object on `/api`,
//! a list of `{"key","value"}` entries on `/rest`. Decoding is strict and typed by the
//! [`Type`] description: unknown fields, wrong types and the wrong map encoding are refused with
//! the JSON pointer of the offending value.

use serde::{Serialize, Serializer};
use serde_json::{Map as JsonMap, Value as Json};

use crate::model::value::{DecodeError, StructValue, Type, Value};

/// How a form writes a vAPI map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapStyle {
    /// `{"key": value, ...}` (`/api`).
    Object,
    /// `[{"key": key, "value": value}, ...]` (`/rest`).
    EntryList,
}

/// A value in a REST form's JSON, written as it is serialized (no intermediate document).
/// Unset optional fields are left out of structures.
pub struct Plain<'a>(pub &'a Value, pub MapStyle);

impl Serialize for Plain<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let Plain(value, style) = *self;
        match value {
            Value::Struct(StructValue { fields, .. }) => s.collect_map(
                fields
                    .iter()
                    .filter(|(_, v)| !matches!(v, Value::Optional(None)))
                    .map(|(name, v)| (*name, Plain(v, style))),
            ),
            Value::Optional(None) | Value::Void => s.serialize_unit(),
            Value::Optional(Some(v)) => Plain(v, style).serialize(s),
            Value::List(items) => s.collect_seq(items.iter().map(|v| Plain(v, style))),
            Value::Map(entries) => match style {
                MapStyle::Object => {
                    s.collect_map(entries.iter().map(|(k, v)| (k, Plain(v, style))))
                }
                MapStyle::EntryList => s.collect_seq(entries.iter().map(|(k, v)| JsonEntry {
                    key: k,
                    value: Plain(v, style),
                })),
            },
            Value::String(x) | Value::Secret(x) => s.serialize_str(x),
            Value::Long(n) => s.serialize_i64(*n),
            // JSON has no NaN or infinity.
            Value::Double(d) if d.is_finite() => s.serialize_f64(*d),
            Value::Double(_) => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Dynamic(j) => j.serialize(s),
        }
    }
}

/// A `/rest` map entry, `{"key": k, "value": v}`.
#[derive(Serialize)]
struct JsonEntry<'a> {
    key: &'a str,
    value: Plain<'a>,
}

/// Write a value as a JSON document. Unset optional fields are left out of structures.
#[cfg(test)]
pub fn encode(value: &Value, style: MapStyle) -> Json {
    serde_json::to_value(Plain(value, style)).unwrap_or(Json::Null)
}

/// Read JSON as a value of type `ty`. JSON `null` and absence both mean an unset optional.
pub fn decode(json: &Json, ty: &Type, style: MapStyle) -> Result<Value, DecodeError> {
    match ty {
        Type::Optional(inner) => match json {
            Json::Null => Ok(Value::Optional(None)),
            j => Ok(Value::Optional(Some(Box::new(decode(j, inner, style)?)))),
        },
        Type::Struct(def) => {
            let obj = json
                .as_object()
                .ok_or_else(|| mismatch(json, "an object"))?;
            if let Some(unknown) = obj
                .keys()
                .find(|k| !def.fields.iter().any(|f| f.name == *k))
            {
                return Err(DecodeError::new(
                    format!("/{unknown}"),
                    format!("unknown field {unknown:?} (not a field of {})", def.name),
                ));
            }
            let mut fields = Vec::with_capacity(def.fields.len());
            for f in def.fields {
                let v = match obj.get(f.name) {
                    Some(j) => decode(j, &f.ty, style).map_err(|e| e.within(f.name))?,
                    None if matches!(f.ty, Type::Optional(_)) => Value::Optional(None),
                    None => {
                        return Err(DecodeError::new(
                            format!("/{}", f.name),
                            format!("required field {:?} is missing", f.name),
                        ))
                    }
                };
                fields.push((f.name, v));
            }
            Ok(Value::Struct(StructValue {
                name: def.name,
                fields,
            }))
        }
        Type::List(inner) => {
            let items = json.as_array().ok_or_else(|| mismatch(json, "an array"))?;
            items
                .iter()
                .enumerate()
                .map(|(i, j)| decode(j, inner, style).map_err(|e| e.within(&i.to_string())))
                .collect::<Result<_, _>>()
                .map(Value::List)
        }
        Type::Map(inner) => decode_map(json, inner, style),
        Type::String | Type::DateTime | Type::Enum(_) => {
            let s = json.as_str().ok_or_else(|| mismatch(json, "a string"))?;
            check_text(s, ty)?;
            Ok(Value::String(s.to_string()))
        }
        Type::Long | Type::Double | Type::Bool => number_or_flag(json, ty),
        Type::Dynamic => match json {
            Json::Object(_) => Ok(Value::Dynamic(json.clone())),
            j => Err(mismatch(j, "an object")),
        },
    }
}

fn decode_map(json: &Json, inner: &Type, style: MapStyle) -> Result<Value, DecodeError> {
    let mut out = Vec::new();
    match style {
        MapStyle::Object => {
            let obj = json
                .as_object()
                .ok_or_else(|| mismatch(json, "an object (a map on this API form)"))?;
            for (k, j) in obj {
                out.push((k.clone(), decode(j, inner, style).map_err(|e| e.within(k))?));
            }
        }
        MapStyle::EntryList => {
            let items = json.as_array().ok_or_else(|| {
                mismatch(
                    json,
                    "a list of {\"key\",\"value\"} entries (a map on this API form)",
                )
            })?;
            for (i, entry) in items.iter().enumerate() {
                let at = i.to_string();
                let e = entry
                    .as_object()
                    .ok_or_else(|| mismatch(entry, "a {\"key\",\"value\"} entry").within(&at))?;
                let (key, value) = map_entry(e, &at, "map entry")?;
                let v = decode(value, inner, style).map_err(|e| e.within("value").within(&at))?;
                out.push((key.to_string(), v));
            }
        }
    }
    Ok(Value::Map(out))
}

/// A long, double, boolean or void: written the same way in every JSON encoding.
pub(crate) fn number_or_flag(json: &Json, ty: &Type) -> Result<Value, DecodeError> {
    match ty {
        Type::Long => json
            .as_i64()
            .map(Value::Long)
            .ok_or_else(|| mismatch(json, "an integer (int64)")),
        Type::Double => json
            .as_f64()
            .map(Value::Double)
            .ok_or_else(|| mismatch(json, "a number")),
        Type::Bool => json
            .as_bool()
            .map(Value::Bool)
            .ok_or_else(|| mismatch(json, "a boolean")),
        _ => match json {
            Json::Null => Ok(Value::Void),
            j => Err(mismatch(j, "nothing (null)")),
        },
    }
}

/// The key and value of map entry number `at` (`what` names it in errors): exactly a string
/// `key` and a `value`.
pub(crate) fn map_entry<'a>(
    e: &'a JsonMap<String, Json>,
    at: &str,
    what: &str,
) -> Result<(&'a str, &'a Json), DecodeError> {
    if let Some(unknown) = e.keys().find(|k| *k != "key" && *k != "value") {
        return Err(DecodeError::new(
            format!("/{at}/{unknown}"),
            format!("unknown field {unknown:?} in a {what}"),
        ));
    }
    let key = e.get("key").and_then(Json::as_str).ok_or_else(|| {
        DecodeError::new(format!("/{at}/key"), format!("{what} needs a string key"))
    })?;
    let value = e
        .get("value")
        .ok_or_else(|| DecodeError::new(format!("/{at}/value"), format!("{what} needs a value")))?;
    Ok((key, value))
}

/// A string read as an enum value or a date-time must be one; every form checks the same.
pub(crate) fn check_text(s: &str, ty: &Type) -> Result<(), DecodeError> {
    if let Type::Enum(def) = ty {
        if !def.values.contains(&s) {
            return Err(DecodeError::new(
                "",
                format!("{s:?} is not one of {}", def.values.join(", ")),
            ));
        }
    }
    if matches!(ty, Type::DateTime) && crate::model::Timestamp::parse(s).is_none() {
        return Err(DecodeError::new(
            "",
            format!("{s:?} is not a date-time such as 2015-01-01T22:13:05.651Z"),
        ));
    }
    Ok(())
}

/// `expected …, found …` for a JSON value of the wrong kind.
pub(crate) fn mismatch(json: &Json, expected: &str) -> DecodeError {
    let found = match json {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    };
    DecodeError::new("", format!("expected {expected}, found {found}"))
}
