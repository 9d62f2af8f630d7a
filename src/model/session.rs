//! `DownloadSessionModel`: the state of one download session as clients see it.

use super::message::{LocalizableMessage, LOCALIZABLE_MESSAGE};
use super::time::Timestamp;
use super::value::{
    DecodeError, FieldDef, StructBuilder, StructDef, StructReader, Type, Value, VapiStruct,
    VapiType,
};

crate::model::value::vapi_enum!(
    /// `com.vmware.content.library.item.download_session_model.state`
    State, "com.vmware.content.library.item.download_session_model.state", {
    Active => "ACTIVE",
    Canceled => "CANCELED",
    Error => "ERROR",
});

/// `com.vmware.content.library.item.download_session_model` (every field optional).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DownloadSessionModel {
    pub id: Option<String>,
    pub library_item_id: Option<String>,
    pub library_item_content_version: Option<String>,
    pub error_message: Option<LocalizableMessage>,
    pub client_progress: Option<i64>,
    pub state: Option<State>,
    pub expiration_time: Option<Timestamp>,
}

pub static DOWNLOAD_SESSION_MODEL: StructDef = StructDef {
    name: "com.vmware.content.library.item.download_session_model",
    fields: &[
        FieldDef {
            name: "id",
            ty: Type::Optional(&Type::String),
        },
        FieldDef {
            name: "library_item_id",
            ty: Type::Optional(&Type::String),
        },
        FieldDef {
            name: "library_item_content_version",
            ty: Type::Optional(&Type::String),
        },
        FieldDef {
            name: "error_message",
            ty: Type::Optional(&Type::Struct(&LOCALIZABLE_MESSAGE)),
        },
        FieldDef {
            name: "client_progress",
            ty: Type::Optional(&Type::Long),
        },
        FieldDef {
            name: "state",
            ty: Type::Optional(&Type::Enum(&State::DEF)),
        },
        FieldDef {
            name: "expiration_time",
            ty: Type::Optional(&Type::DateTime),
        },
    ],
};

impl VapiType for DownloadSessionModel {
    fn vapi_type() -> &'static Type {
        static T: Type = Type::Struct(&DOWNLOAD_SESSION_MODEL);
        &T
    }
    fn to_value(&self) -> Value {
        StructBuilder::new(Self::DEF)
            .field("id", self.id.clone())
            .field("library_item_id", self.library_item_id.clone())
            .field(
                "library_item_content_version",
                self.library_item_content_version.clone(),
            )
            .field("error_message", self.error_message.clone())
            .field("client_progress", self.client_progress)
            .field("state", self.state)
            .field("expiration_time", self.expiration_time)
            .build()
    }
    fn from_value(value: Value) -> Result<Self, DecodeError> {
        let mut r = StructReader::new(value, Self::DEF)?;
        Ok(DownloadSessionModel {
            id: r.opt("id")?,
            library_item_id: r.opt("library_item_id")?,
            library_item_content_version: r.opt("library_item_content_version")?,
            error_message: r.opt("error_message")?,
            client_progress: r.opt("client_progress")?,
            state: r.opt("state")?,
            expiration_time: r.opt("expiration_time")?,
        })
    }
}
crate::model::message::vapi_struct_type!(DownloadSessionModel, DOWNLOAD_SESSION_MODEL);
