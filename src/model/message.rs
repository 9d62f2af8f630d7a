//! Localizable messages (`com.vmware.vapi.std`): what errors and ERROR states carry.
//!
//! `params` is a map, the one place where the wire forms disagree (object on `/api`, key/value
//! list on `/rest`), and it nests through [`NestedLocalizableMessage`] without bound.

use super::time::Timestamp;
use super::value::{
    DecodeError, FieldDef, Map, StructBuilder, StructDef, StructReader, Type, Value, VapiStruct,
    VapiType,
};

crate::model::value::vapi_enum!(
    /// How a `dt` localization parameter is displayed.
    DateTimeFormat, "com.vmware.vapi.std.localization_param.date_time_format", {
    ShortDate => "SHORT_DATE",
    MedDate => "MED_DATE",
    LongDate => "LONG_DATE",
    FullDate => "FULL_DATE",
    ShortTime => "SHORT_TIME",
    MedTime => "MED_TIME",
    LongTime => "LONG_TIME",
    FullTime => "FULL_TIME",
    ShortDateTime => "SHORT_DATE_TIME",
    MedDateTime => "MED_DATE_TIME",
    LongDateTime => "LONG_DATE_TIME",
    FullDateTime => "FULL_DATE_TIME",
});

/// `com.vmware.vapi.std.localizable_message`
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LocalizableMessage {
    pub id: String,
    pub default_message: String,
    pub args: Vec<String>,
    pub params: Option<Map<LocalizationParam>>,
    pub localized: Option<String>,
}

/// `com.vmware.vapi.std.localization_param`: normally exactly one value field is set.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LocalizationParam {
    pub s: Option<String>,
    pub dt: Option<Timestamp>,
    pub i: Option<i64>,
    pub d: Option<f64>,
    pub l: Option<NestedLocalizableMessage>,
    pub format: Option<DateTimeFormat>,
    pub precision: Option<i64>,
}

/// `com.vmware.vapi.std.nested_localizable_message`
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NestedLocalizableMessage {
    pub id: String,
    pub params: Option<Map<LocalizationParam>>,
}

pub static LOCALIZABLE_MESSAGE: StructDef = StructDef {
    name: "com.vmware.vapi.std.localizable_message",
    fields: &[
        FieldDef {
            name: "id",
            ty: Type::String,
        },
        FieldDef {
            name: "default_message",
            ty: Type::String,
        },
        FieldDef {
            name: "args",
            ty: Type::List(&Type::String),
        },
        FieldDef {
            name: "params",
            ty: Type::Optional(&Type::Map(&Type::Struct(&LOCALIZATION_PARAM))),
        },
        FieldDef {
            name: "localized",
            ty: Type::Optional(&Type::String),
        },
    ],
};

pub static LOCALIZATION_PARAM: StructDef = StructDef {
    name: "com.vmware.vapi.std.localization_param",
    fields: &[
        FieldDef {
            name: "s",
            ty: Type::Optional(&Type::String),
        },
        FieldDef {
            name: "dt",
            ty: Type::Optional(&Type::DateTime),
        },
        FieldDef {
            name: "i",
            ty: Type::Optional(&Type::Long),
        },
        FieldDef {
            name: "d",
            ty: Type::Optional(&Type::Double),
        },
        FieldDef {
            name: "l",
            ty: Type::Optional(&Type::Struct(&NESTED_LOCALIZABLE_MESSAGE)),
        },
        FieldDef {
            name: "format",
            ty: Type::Optional(&Type::Enum(&DateTimeFormat::DEF)),
        },
        FieldDef {
            name: "precision",
            ty: Type::Optional(&Type::Long),
        },
    ],
};

pub static NESTED_LOCALIZABLE_MESSAGE: StructDef = StructDef {
    name: "com.vmware.vapi.std.nested_localizable_message",
    fields: &[
        FieldDef {
            name: "id",
            ty: Type::String,
        },
        FieldDef {
            name: "params",
            ty: Type::Optional(&Type::Map(&Type::Struct(&LOCALIZATION_PARAM))),
        },
    ],
};

/// Implements [`VapiType`] for a structure given its [`StructDef`] static.
macro_rules! vapi_struct_type {
    ($ty:ty, $def:expr) => {
        impl $crate::model::value::VapiStruct for $ty {
            const DEF: &'static $crate::model::value::StructDef = &$def;
        }
    };
}
pub(crate) use vapi_struct_type;

impl LocalizableMessage {
    /// A message with positional arguments.
    pub fn new(
        id: impl Into<String>,
        default_message: impl Into<String>,
        args: Vec<String>,
    ) -> Self {
        LocalizableMessage {
            id: id.into(),
            default_message: default_message.into(),
            args,
            params: None,
            localized: None,
        }
    }
}

impl VapiType for LocalizableMessage {
    fn vapi_type() -> &'static Type {
        static T: Type = Type::Struct(&LOCALIZABLE_MESSAGE);
        &T
    }
    fn to_value(&self) -> Value {
        StructBuilder::new(Self::DEF)
            .field("id", self.id.clone())
            .field("default_message", self.default_message.clone())
            .field("args", self.args.clone())
            .field("params", self.params.clone())
            .field("localized", self.localized.clone())
            .build()
    }
    fn from_value(value: Value) -> Result<Self, DecodeError> {
        let mut r = StructReader::new(value, Self::DEF)?;
        Ok(LocalizableMessage {
            id: r.req("id")?,
            default_message: r.req("default_message")?,
            args: r.req("args")?,
            params: r.opt("params")?,
            localized: r.opt("localized")?,
        })
    }
}
vapi_struct_type!(LocalizableMessage, LOCALIZABLE_MESSAGE);

impl VapiType for LocalizationParam {
    fn vapi_type() -> &'static Type {
        static T: Type = Type::Struct(&LOCALIZATION_PARAM);
        &T
    }
    fn to_value(&self) -> Value {
        StructBuilder::new(Self::DEF)
            .field("s", self.s.clone())
            .field("dt", self.dt)
            .field("i", self.i)
            .field("d", self.d)
            .field("l", self.l.clone())
            .field("format", self.format)
            .field("precision", self.precision)
            .build()
    }
    fn from_value(value: Value) -> Result<Self, DecodeError> {
        let mut r = StructReader::new(value, Self::DEF)?;
        Ok(LocalizationParam {
            s: r.opt("s")?,
            dt: r.opt("dt")?,
            i: r.opt("i")?,
            d: r.opt("d")?,
            l: r.opt("l")?,
            format: r.opt("format")?,
            precision: r.opt("precision")?,
        })
    }
}
vapi_struct_type!(LocalizationParam, LOCALIZATION_PARAM);

impl VapiType for NestedLocalizableMessage {
    fn vapi_type() -> &'static Type {
        static T: Type = Type::Struct(&NESTED_LOCALIZABLE_MESSAGE);
        &T
    }
    fn to_value(&self) -> Value {
        StructBuilder::new(Self::DEF)
            .field("id", self.id.clone())
            .field("params", self.params.clone())
            .build()
    }
    fn from_value(value: Value) -> Result<Self, DecodeError> {
        let mut r = StructReader::new(value, Self::DEF)?;
        Ok(NestedLocalizableMessage {
            id: r.req("id")?,
            params: r.opt("params")?,
        })
    }
}
vapi_struct_type!(NestedLocalizableMessage, NESTED_LOCALIZABLE_MESSAGE);
