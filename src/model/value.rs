//! The vAPI data model: one form-neutral value tree and one description of each type.
//!
//! Every contract type describes itself once (a [`StructDef`] with its canonical vAPI name and
//! fields) and converts to and from a [`Value`]. The wire forms (`/api`, `/rest`, and later
//! JSON-RPC) are each a single generic encoder/decoder over these descriptions, so a new form is
//! one new encoder rather than a second copy of every type.

use std::fmt;

/// A vAPI value, independent of how any wire form writes it down.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Struct(StructValue),
    Optional(Option<Box<Value>>),
    List(Vec<Value>),
    /// A map with string keys, in insertion order.
    Map(Vec<(String, Value)>),
    String(String),
    Long(i64),
    Double(f64),
    Bool(bool),
    Secret(String),
    Void,
    /// An opaque dynamic structure (e.g. `data` of a standard error), carried as JSON.
    Dynamic(serde_json::Value),
}

/// A structure value: its canonical name and its fields in declaration order.
#[derive(Debug, Clone, PartialEq)]
pub struct StructValue {
    pub name: &'static str,
    pub fields: Vec<(&'static str, Value)>,
}

/// The type of a value, enough for a decoder to read any wire form strictly.
#[derive(Debug)]
pub enum Type {
    Struct(&'static StructDef),
    Optional(&'static Type),
    List(&'static Type),
    Map(&'static Type),
    String,
    /// A date-time, written as a string (`YYYY-MM-DDThh:mm:ss.sssZ`).
    DateTime,
    /// An enumeration, written as its value name.
    Enum(&'static EnumDef),
    Long,
    Double,
    Bool,
    Dynamic,
}

#[derive(Debug)]
pub struct StructDef {
    /// Canonical vAPI name, e.g. `com.vmware.vapi.std.localizable_message`.
    pub name: &'static str,
    pub fields: &'static [FieldDef],
}

#[derive(Debug)]
pub struct FieldDef {
    pub name: &'static str,
    pub ty: Type,
}

#[derive(Debug)]
pub struct EnumDef {
    pub name: &'static str,
    pub values: &'static [&'static str],
}

/// Why a value could not be read as a type; `path` is a JSON-pointer-like location.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct DecodeError {
    pub path: String,
    pub message: String,
}

impl DecodeError {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        DecodeError {
            path: path.into(),
            message: message.into(),
        }
    }
    /// Prefix the location with an outer path segment.
    pub fn within(mut self, segment: &str) -> Self {
        self.path = format!("/{segment}{}", self.path);
        self
    }
}

/// A contract type that knows its vAPI description and converts to and from a [`Value`].
pub(crate) trait VapiType: Sized {
    /// Read only by the wire round-trip tests, which decode whole model values.
    #[cfg_attr(not(test), allow(dead_code))]
    fn vapi_type() -> &'static Type;
    fn to_value(&self) -> Value;
    fn from_value(value: Value) -> Result<Self, DecodeError>;
}

/// A contract structure: its [`StructDef`] is its type.
pub trait VapiStruct: VapiType {
    const DEF: &'static StructDef;
}

impl Value {
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Struct(_) => "structure",
            Value::Optional(_) => "optional",
            Value::List(_) => "list",
            Value::Map(_) => "map",
            Value::String(_) => "string",
            Value::Long(_) => "long",
            Value::Double(_) => "double",
            Value::Bool(_) => "boolean",
            Value::Secret(_) => "secret",
            Value::Void => "void",
            Value::Dynamic(_) => "dynamic structure",
        }
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::Struct(d) => write!(f, "structure {}", d.name),
            Type::Optional(t) => write!(f, "optional {t}"),
            Type::List(t) => write!(f, "list of {t}"),
            Type::Map(t) => write!(f, "map of string to {t}"),
            Type::String => f.write_str("string"),
            Type::DateTime => f.write_str("date-time"),
            Type::Enum(e) => write!(f, "enumeration {}", e.name),
            Type::Long => f.write_str("long"),
            Type::Double => f.write_str("double"),
            Type::Bool => f.write_str("boolean"),
            Type::Dynamic => f.write_str("dynamic structure"),
        }
    }
}

/// Builds a [`StructValue`] field by field; unset optionals become `Optional(None)`.
pub struct StructBuilder(StructValue);

impl StructBuilder {
    pub fn new(def: &'static StructDef) -> Self {
        StructBuilder(StructValue {
            name: def.name,
            fields: Vec::with_capacity(def.fields.len()),
        })
    }
    pub fn field(mut self, name: &'static str, value: impl ToValue) -> Self {
        self.0.fields.push((name, value.to_value()));
        self
    }
    pub fn build(self) -> Value {
        Value::Struct(self.0)
    }
}

/// Reads the fields of a [`StructValue`] by name, for `from_value` implementations.
pub struct StructReader {
    fields: Vec<(&'static str, Value)>,
}

impl StructReader {
    pub fn new(value: Value, def: &'static StructDef) -> Result<Self, DecodeError> {
        match value {
            Value::Struct(s) => Ok(StructReader { fields: s.fields }),
            other => Err(DecodeError::new(
                "",
                format!("expected structure {}, found {}", def.name, other.kind()),
            )),
        }
    }
    fn take(&mut self, name: &str) -> Option<Value> {
        let pos = self.fields.iter().position(|(n, _)| *n == name)?;
        Some(self.fields.swap_remove(pos).1)
    }
    /// A required field.
    pub fn req<T: FromValue>(&mut self, name: &'static str) -> Result<T, DecodeError> {
        match self.take(name) {
            Some(v) => T::from_value(v).map_err(|e| e.within(name)),
            None => Err(DecodeError::new(
                format!("/{name}"),
                "required field is missing",
            )),
        }
    }
    /// An optional field: absent or `Optional(None)` is `None`.
    pub fn opt<T: FromValue>(&mut self, name: &'static str) -> Result<Option<T>, DecodeError> {
        match self.take(name) {
            None | Some(Value::Optional(None)) => Ok(None),
            Some(Value::Optional(Some(v))) => {
                T::from_value(*v).map(Some).map_err(|e| e.within(name))
            }
            Some(v) => T::from_value(v).map(Some).map_err(|e| e.within(name)),
        }
    }
}

/// Conversion of field values into [`Value`]s.
pub trait ToValue {
    fn to_value(&self) -> Value;
}

/// Conversion of [`Value`]s into field values.
pub trait FromValue: Sized {
    fn from_value(value: Value) -> Result<Self, DecodeError>;
}

impl<T: VapiType> ToValue for T {
    fn to_value(&self) -> Value {
        VapiType::to_value(self)
    }
}
impl<T: VapiType> FromValue for T {
    fn from_value(value: Value) -> Result<Self, DecodeError> {
        VapiType::from_value(value)
    }
}

impl<T: ToValue> ToValue for Option<T> {
    fn to_value(&self) -> Value {
        Value::Optional(self.as_ref().map(|v| Box::new(v.to_value())))
    }
}

impl<T: ToValue> ToValue for Vec<T> {
    fn to_value(&self) -> Value {
        Value::List(self.iter().map(ToValue::to_value).collect())
    }
}
impl<T: FromValue> FromValue for Vec<T> {
    fn from_value(value: Value) -> Result<Self, DecodeError> {
        match value {
            Value::List(items) => items
                .into_iter()
                .enumerate()
                .map(|(i, v)| T::from_value(v).map_err(|e| e.within(&i.to_string())))
                .collect(),
            other => Err(DecodeError::new(
                "",
                format!("expected list, found {}", other.kind()),
            )),
        }
    }
}

/// A vAPI map with string keys; insertion order is kept so encodings are stable.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Map<T>(pub Vec<(String, T)>);

impl<T: ToValue> ToValue for Map<T> {
    fn to_value(&self) -> Value {
        Value::Map(
            self.0
                .iter()
                .map(|(k, v)| (k.clone(), v.to_value()))
                .collect(),
        )
    }
}
impl<T: FromValue> FromValue for Map<T> {
    fn from_value(value: Value) -> Result<Self, DecodeError> {
        match value {
            Value::Map(entries) => entries
                .into_iter()
                .map(|(k, v)| {
                    T::from_value(v)
                        .map(|v| (k.clone(), v))
                        .map_err(|e| e.within(&k))
                })
                .collect::<Result<_, _>>()
                .map(Map),
            other => Err(DecodeError::new(
                "",
                format!("expected map, found {}", other.kind()),
            )),
        }
    }
}

/// A value read as itself (for callers that read a structure field by field).
impl FromValue for Value {
    fn from_value(value: Value) -> Result<Self, DecodeError> {
        Ok(value)
    }
}

impl ToValue for String {
    fn to_value(&self) -> Value {
        Value::String(self.clone())
    }
}
impl FromValue for String {
    fn from_value(value: Value) -> Result<Self, DecodeError> {
        match value {
            Value::String(s) => Ok(s),
            other => Err(DecodeError::new(
                "",
                format!("expected string, found {}", other.kind()),
            )),
        }
    }
}
impl ToValue for i64 {
    fn to_value(&self) -> Value {
        Value::Long(*self)
    }
}
impl FromValue for i64 {
    fn from_value(value: Value) -> Result<Self, DecodeError> {
        match value {
            Value::Long(n) => Ok(n),
            other => Err(DecodeError::new(
                "",
                format!("expected long, found {}", other.kind()),
            )),
        }
    }
}
impl ToValue for f64 {
    fn to_value(&self) -> Value {
        Value::Double(*self)
    }
}
impl FromValue for f64 {
    fn from_value(value: Value) -> Result<Self, DecodeError> {
        match value {
            Value::Double(n) => Ok(n),
            Value::Long(n) => Ok(n as f64),
            other => Err(DecodeError::new(
                "",
                format!("expected double, found {}", other.kind()),
            )),
        }
    }
}
impl ToValue for bool {
    fn to_value(&self) -> Value {
        Value::Bool(*self)
    }
}
impl FromValue for bool {
    fn from_value(value: Value) -> Result<Self, DecodeError> {
        match value {
            Value::Bool(b) => Ok(b),
            other => Err(DecodeError::new(
                "",
                format!("expected boolean, found {}", other.kind()),
            )),
        }
    }
}
impl ToValue for serde_json::Value {
    fn to_value(&self) -> Value {
        Value::Dynamic(self.clone())
    }
}
impl FromValue for serde_json::Value {
    fn from_value(value: Value) -> Result<Self, DecodeError> {
        match value {
            Value::Dynamic(v) => Ok(v),
            other => Err(DecodeError::new(
                "",
                format!("expected dynamic structure, found {}", other.kind()),
            )),
        }
    }
}

/// Declares a vAPI enumeration: the Rust enum, its [`EnumDef`], and its value conversions.
macro_rules! vapi_enum {
    ($(#[$m:meta])* $name:ident, $canonical:literal, { $($(#[$vm:meta])* $variant:ident => $wire:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $(#[doc = concat!("`", $wire, "`")] $(#[$vm])* $variant),+ }

        impl $name {
            pub(crate) const DEF: $crate::model::value::EnumDef = $crate::model::value::EnumDef {
                name: $canonical,
                values: &[$($wire),+],
            };
            /// Every value, in declaration order.
            // Generated for every enum; the tests' generators and `ErrorType` use it.
            #[allow(dead_code)]
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// The value name as written on every wire form.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $wire),+ }
            }
            /// The value with this wire name.
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($wire => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl $crate::model::value::VapiType for $name {
            fn vapi_type() -> &'static $crate::model::value::Type {
                static T: $crate::model::value::Type = $crate::model::value::Type::Enum(&$name::DEF);
                &T
            }
            fn to_value(&self) -> $crate::model::value::Value {
                $crate::model::value::Value::String(self.as_str().to_string())
            }
            fn from_value(value: $crate::model::value::Value) -> Result<Self, $crate::model::value::DecodeError> {
                match value {
                    $crate::model::value::Value::String(s) => $name::parse(&s).ok_or_else(|| {
                        $crate::model::value::DecodeError::new(
                            "",
                            format!("{:?} is not a value of {}", s, $canonical),
                        )
                    }),
                    other => Err($crate::model::value::DecodeError::new(
                        "",
                        format!("expected enumeration {}, found {}", $canonical, other.kind()),
                    )),
                }
            }
        }
    };
}
pub(crate) use vapi_enum;
