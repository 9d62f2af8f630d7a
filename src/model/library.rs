//! The read-only library and item shapes a client needs to find something to download, and
//! `com.vmware.cis.session.info` for the login session.

use super::time::Timestamp;
use super::value::{
    DecodeError, FieldDef, StructBuilder, StructDef, StructReader, Type, Value, VapiStruct,
    VapiType,
};

crate::model::value::vapi_enum!(
    /// `com.vmware.content.library_model.library_type`
    LibraryType, "com.vmware.content.library_model.library_type", {
    Local => "LOCAL",
    Subscribed => "SUBSCRIBED",
});

/// The subset of `com.vmware.content.library_model` dlsim serves.
#[derive(Debug, Clone, PartialEq)]
pub struct LibraryModel {
    pub id: String,
    pub name: String,
    pub library_type: LibraryType,
    pub description: Option<String>,
    pub creation_time: Timestamp,
    pub last_modified_time: Timestamp,
    pub version: String,
}

/// The subset of `com.vmware.content.library.item_model` dlsim serves.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemModel {
    pub id: String,
    pub library_id: String,
    pub name: String,
    pub item_type: Option<String>,
    pub description: Option<String>,
    pub content_version: String,
    pub metadata_version: String,
    pub version: String,
    pub size: i64,
    pub cached: bool,
    pub creation_time: Timestamp,
    pub last_modified_time: Timestamp,
}

/// `com.vmware.cis.session.info`
#[derive(Debug, Clone, PartialEq)]
pub struct SessionInfo {
    pub user: String,
    pub created_time: Timestamp,
    pub last_accessed_time: Timestamp,
}

pub static LIBRARY_MODEL: StructDef = StructDef {
    name: "com.vmware.content.library_model",
    fields: &[
        FieldDef {
            name: "id",
            ty: Type::Optional(&Type::String),
        },
        FieldDef {
            name: "name",
            ty: Type::Optional(&Type::String),
        },
        FieldDef {
            name: "type",
            ty: Type::Optional(&Type::Enum(&LibraryType::DEF)),
        },
        FieldDef {
            name: "description",
            ty: Type::Optional(&Type::String),
        },
        FieldDef {
            name: "creation_time",
            ty: Type::Optional(&Type::DateTime),
        },
        FieldDef {
            name: "last_modified_time",
            ty: Type::Optional(&Type::DateTime),
        },
        FieldDef {
            name: "version",
            ty: Type::Optional(&Type::String),
        },
    ],
};

pub static ITEM_MODEL: StructDef = StructDef {
    name: "com.vmware.content.library.item_model",
    fields: &[
        FieldDef {
            name: "id",
            ty: Type::Optional(&Type::String),
        },
        FieldDef {
            name: "library_id",
            ty: Type::Optional(&Type::String),
        },
        FieldDef {
            name: "name",
            ty: Type::Optional(&Type::String),
        },
        FieldDef {
            name: "type",
            ty: Type::Optional(&Type::String),
        },
        FieldDef {
            name: "description",
            ty: Type::Optional(&Type::String),
        },
        FieldDef {
            name: "content_version",
            ty: Type::Optional(&Type::String),
        },
        FieldDef {
            name: "metadata_version",
            ty: Type::Optional(&Type::String),
        },
        FieldDef {
            name: "version",
            ty: Type::Optional(&Type::String),
        },
        FieldDef {
            name: "size",
            ty: Type::Optional(&Type::Long),
        },
        FieldDef {
            name: "cached",
            ty: Type::Optional(&Type::Bool),
        },
        FieldDef {
            name: "creation_time",
            ty: Type::Optional(&Type::DateTime),
        },
        FieldDef {
            name: "last_modified_time",
            ty: Type::Optional(&Type::DateTime),
        },
    ],
};

pub static SESSION_INFO: StructDef = StructDef {
    name: "com.vmware.cis.session.info",
    fields: &[
        FieldDef {
            name: "user",
            ty: Type::String,
        },
        FieldDef {
            name: "created_time",
            ty: Type::DateTime,
        },
        FieldDef {
            name: "last_accessed_time",
            ty: Type::DateTime,
        },
    ],
};

/// A field the model declares optional (as vAPI does) but dlsim always sets.
fn need<T: crate::model::value::FromValue>(
    r: &mut StructReader,
    name: &'static str,
) -> Result<T, DecodeError> {
    r.opt(name)?
        .ok_or_else(|| DecodeError::new(format!("/{name}"), "required field is missing"))
}

impl VapiType for LibraryModel {
    fn vapi_type() -> &'static Type {
        static T: Type = Type::Struct(&LIBRARY_MODEL);
        &T
    }
    fn to_value(&self) -> Value {
        StructBuilder::new(Self::DEF)
            .field("id", Some(self.id.clone()))
            .field("name", Some(self.name.clone()))
            .field("type", Some(self.library_type))
            .field("description", self.description.clone())
            .field("creation_time", Some(self.creation_time))
            .field("last_modified_time", Some(self.last_modified_time))
            .field("version", Some(self.version.clone()))
            .build()
    }
    fn from_value(value: Value) -> Result<Self, DecodeError> {
        let mut r = StructReader::new(value, Self::DEF)?;
        Ok(LibraryModel {
            id: need(&mut r, "id")?,
            name: need(&mut r, "name")?,
            library_type: need(&mut r, "type")?,
            description: r.opt("description")?,
            creation_time: need(&mut r, "creation_time")?,
            last_modified_time: need(&mut r, "last_modified_time")?,
            version: need(&mut r, "version")?,
        })
    }
}
crate::model::message::vapi_struct_type!(LibraryModel, LIBRARY_MODEL);

impl VapiType for ItemModel {
    fn vapi_type() -> &'static Type {
        static T: Type = Type::Struct(&ITEM_MODEL);
        &T
    }
    fn to_value(&self) -> Value {
        StructBuilder::new(Self::DEF)
            .field("id", Some(self.id.clone()))
            .field("library_id", Some(self.library_id.clone()))
            .field("name", Some(self.name.clone()))
            .field("type", self.item_type.clone())
            .field("description", self.description.clone())
            .field("content_version", Some(self.content_version.clone()))
            .field("metadata_version", Some(self.metadata_version.clone()))
            .field("version", Some(self.version.clone()))
            .field("size", Some(self.size))
            .field("cached", Some(self.cached))
            .field("creation_time", Some(self.creation_time))
            .field("last_modified_time", Some(self.last_modified_time))
            .build()
    }
    fn from_value(value: Value) -> Result<Self, DecodeError> {
        let mut r = StructReader::new(value, Self::DEF)?;
        Ok(ItemModel {
            id: need(&mut r, "id")?,
            library_id: need(&mut r, "library_id")?,
            name: need(&mut r, "name")?,
            item_type: r.opt("type")?,
            description: r.opt("description")?,
            content_version: need(&mut r, "content_version")?,
            metadata_version: need(&mut r, "metadata_version")?,
            version: need(&mut r, "version")?,
            size: need(&mut r, "size")?,
            cached: need(&mut r, "cached")?,
            creation_time: need(&mut r, "creation_time")?,
            last_modified_time: need(&mut r, "last_modified_time")?,
        })
    }
}
crate::model::message::vapi_struct_type!(ItemModel, ITEM_MODEL);

impl VapiType for SessionInfo {
    fn vapi_type() -> &'static Type {
        static T: Type = Type::Struct(&SESSION_INFO);
        &T
    }
    fn to_value(&self) -> Value {
        StructBuilder::new(Self::DEF)
            .field("user", self.user.clone())
            .field("created_time", self.created_time)
            .field("last_accessed_time", self.last_accessed_time)
            .build()
    }
    fn from_value(value: Value) -> Result<Self, DecodeError> {
        let mut r = StructReader::new(value, Self::DEF)?;
        Ok(SessionInfo {
            user: r.req("user")?,
            created_time: r.req("created_time")?,
            last_accessed_time: r.req("last_accessed_time")?,
        })
    }
}
crate::model::message::vapi_struct_type!(SessionInfo, SESSION_INFO);
