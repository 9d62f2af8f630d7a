//! Request bodies of the REST forms, described once like the model types so the generic
//! decoder reads them strictly (unknown fields refused, types checked).

use crate::model::session::DOWNLOAD_SESSION_MODEL;
use crate::model::value::{FieldDef, StructDef, Type};
use crate::model::EndpointType;

/// `keep-alive`: `{"progress"?: long}`.
pub static KEEP_ALIVE: StructDef = StructDef {
    name: "operation-input",
    fields: &[FieldDef {
        name: "progress",
        ty: Type::Optional(&Type::Long),
    }],
};

/// `fail`: `{"client_error_message": string}`.
pub static FAIL: StructDef = StructDef {
    name: "operation-input",
    fields: &[FieldDef {
        name: "client_error_message",
        ty: Type::String,
    }],
};

/// `prepare`: `{"file_name", "endpoint_type"?}`.
pub static PREPARE: StructDef = StructDef {
    name: "operation-input",
    fields: &[
        FieldDef {
            name: "file_name",
            ty: Type::String,
        },
        FieldDef {
            name: "endpoint_type",
            ty: Type::Optional(&Type::Enum(&EndpointType::DEF)),
        },
    ],
};

/// File `get` on `/rest` (`{"file_name"}`), and as the Python SDK's 'rest' mode sends it on
/// `/api` (`GET file?file_name` with this body; there the name may also be in the query).
pub static FILE_GET: StructDef = StructDef {
    name: "operation-input",
    fields: &[FieldDef {
        name: "file_name",
        ty: Type::Optional(&Type::String),
    }],
};

/// `cancel`: nothing (an empty body or `{}`).
pub static EMPTY: StructDef = StructDef {
    name: "operation-input",
    fields: &[],
};

/// `/rest` create: `{"client_token"?, "create_spec"}`.
pub static REST_CREATE: StructDef = StructDef {
    name: "operation-input",
    fields: &[
        FieldDef {
            name: "client_token",
            ty: Type::Optional(&Type::String),
        },
        FieldDef {
            name: "create_spec",
            ty: Type::Struct(&DOWNLOAD_SESSION_MODEL),
        },
    ],
};

/// `/rest` library `find`: `{"spec": {"name"?, "type"?}}`.
pub static LIBRARY_FIND: StructDef = StructDef {
    name: "operation-input",
    fields: &[FieldDef {
        name: "spec",
        ty: Type::Struct(&LIBRARY_FIND_SPEC),
    }],
};

pub static LIBRARY_FIND_SPEC: StructDef = StructDef {
    name: "com.vmware.content.library.find_spec",
    fields: &[
        FieldDef {
            name: "name",
            ty: Type::Optional(&Type::String),
        },
        FieldDef {
            name: "type",
            ty: Type::Optional(&Type::String),
        },
    ],
};

/// `/rest` item `find`: `{"spec": {"name"?, "library_id"?, "source_id"?, "type"?, "cached"?}}`.
pub static ITEM_FIND: StructDef = StructDef {
    name: "operation-input",
    fields: &[FieldDef {
        name: "spec",
        ty: Type::Struct(&ITEM_FIND_SPEC),
    }],
};

pub static ITEM_FIND_SPEC: StructDef = StructDef {
    name: "com.vmware.content.library.item.find_spec",
    fields: &[
        FieldDef {
            name: "name",
            ty: Type::Optional(&Type::String),
        },
        FieldDef {
            name: "library_id",
            ty: Type::Optional(&Type::String),
        },
        FieldDef {
            name: "source_id",
            ty: Type::Optional(&Type::String),
        },
        FieldDef {
            name: "type",
            ty: Type::Optional(&Type::String),
        },
        FieldDef {
            name: "cached",
            ty: Type::Optional(&Type::Bool),
        },
    ],
};
