//! The files of a download session: `downloadsession.File.Info` and what it holds.

use super::message::{LocalizableMessage, LOCALIZABLE_MESSAGE};
use super::value::{
    DecodeError, FieldDef, StructBuilder, StructDef, StructReader, Type, Value, VapiStruct,
    VapiType,
};

crate::model::value::vapi_enum!(
    /// `com.vmware.content.library.item.downloadsession.file.prepare_status`
    PrepareStatus, "com.vmware.content.library.item.downloadsession.file.prepare_status", {
    Unprepared => "UNPREPARED",
    PrepareRequested => "PREPARE_REQUESTED",
    Preparing => "PREPARING",
    Prepared => "PREPARED",
    Error => "ERROR",
});

crate::model::value::vapi_enum!(
    /// `com.vmware.content.library.item.downloadsession.file.endpoint_type`
    EndpointType, "com.vmware.content.library.item.downloadsession.file.endpoint_type", {
    Https => "HTTPS",
    Direct => "DIRECT",
});

crate::model::value::vapi_enum!(
    /// `com.vmware.content.library.item.file.checksum_algorithm`; unset means SHA1.
    ChecksumAlgorithm, "com.vmware.content.library.item.file.checksum_algorithm", {
    Sha1 => "SHA1",
    Md5 => "MD5",
    Sha256 => "SHA256",
    Sha512 => "SHA512",
});

/// `com.vmware.content.library.item.transfer_endpoint`
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TransferEndpoint {
    pub uri: String,
    pub ssl_certificate_thumbprint: Option<String>,
    pub ssl_certificate: Option<String>,
}

/// `com.vmware.content.library.item.file.checksum_info`
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChecksumInfo {
    pub algorithm: Option<ChecksumAlgorithm>,
    pub checksum: String,
}

/// `com.vmware.content.library.item.downloadsession.file.info`
#[derive(Debug, Clone, PartialEq)]
pub struct FileInfo {
    pub name: String,
    pub size: Option<i64>,
    pub bytes_transferred: i64,
    pub status: PrepareStatus,
    pub download_endpoint: Option<TransferEndpoint>,
    pub checksum_info: Option<ChecksumInfo>,
    pub error_message: Option<LocalizableMessage>,
}

pub static TRANSFER_ENDPOINT: StructDef = StructDef {
    name: "com.vmware.content.library.item.transfer_endpoint",
    fields: &[
        FieldDef {
            name: "uri",
            ty: Type::String,
        },
        FieldDef {
            name: "ssl_certificate_thumbprint",
            ty: Type::Optional(&Type::String),
        },
        FieldDef {
            name: "ssl_certificate",
            ty: Type::Optional(&Type::String),
        },
    ],
};

pub static CHECKSUM_INFO: StructDef = StructDef {
    name: "com.vmware.content.library.item.file.checksum_info",
    fields: &[
        FieldDef {
            name: "algorithm",
            ty: Type::Optional(&Type::Enum(&ChecksumAlgorithm::DEF)),
        },
        FieldDef {
            name: "checksum",
            ty: Type::String,
        },
    ],
};

pub static FILE_INFO: StructDef = StructDef {
    name: "com.vmware.content.library.item.downloadsession.file.info",
    fields: &[
        FieldDef {
            name: "name",
            ty: Type::String,
        },
        FieldDef {
            name: "size",
            ty: Type::Optional(&Type::Long),
        },
        FieldDef {
            name: "bytes_transferred",
            ty: Type::Long,
        },
        FieldDef {
            name: "status",
            ty: Type::Enum(&PrepareStatus::DEF),
        },
        FieldDef {
            name: "download_endpoint",
            ty: Type::Optional(&Type::Struct(&TRANSFER_ENDPOINT)),
        },
        FieldDef {
            name: "checksum_info",
            ty: Type::Optional(&Type::Struct(&CHECKSUM_INFO)),
        },
        FieldDef {
            name: "error_message",
            ty: Type::Optional(&Type::Struct(&LOCALIZABLE_MESSAGE)),
        },
    ],
};

impl VapiType for TransferEndpoint {
    fn vapi_type() -> &'static Type {
        static T: Type = Type::Struct(&TRANSFER_ENDPOINT);
        &T
    }
    fn to_value(&self) -> Value {
        StructBuilder::new(Self::DEF)
            .field("uri", self.uri.clone())
            .field(
                "ssl_certificate_thumbprint",
                self.ssl_certificate_thumbprint.clone(),
            )
            .field("ssl_certificate", self.ssl_certificate.clone())
            .build()
    }
    fn from_value(value: Value) -> Result<Self, DecodeError> {
        let mut r = StructReader::new(value, Self::DEF)?;
        Ok(TransferEndpoint {
            uri: r.req("uri")?,
            ssl_certificate_thumbprint: r.opt("ssl_certificate_thumbprint")?,
            ssl_certificate: r.opt("ssl_certificate")?,
        })
    }
}
crate::model::message::vapi_struct_type!(TransferEndpoint, TRANSFER_ENDPOINT);

impl VapiType for ChecksumInfo {
    fn vapi_type() -> &'static Type {
        static T: Type = Type::Struct(&CHECKSUM_INFO);
        &T
    }
    fn to_value(&self) -> Value {
        StructBuilder::new(Self::DEF)
            .field("algorithm", self.algorithm)
            .field("checksum", self.checksum.clone())
            .build()
    }
    fn from_value(value: Value) -> Result<Self, DecodeError> {
        let mut r = StructReader::new(value, Self::DEF)?;
        Ok(ChecksumInfo {
            algorithm: r.opt("algorithm")?,
            checksum: r.req("checksum")?,
        })
    }
}
crate::model::message::vapi_struct_type!(ChecksumInfo, CHECKSUM_INFO);

impl VapiType for FileInfo {
    fn vapi_type() -> &'static Type {
        static T: Type = Type::Struct(&FILE_INFO);
        &T
    }
    fn to_value(&self) -> Value {
        StructBuilder::new(Self::DEF)
            .field("name", self.name.clone())
            .field("size", self.size)
            .field("bytes_transferred", self.bytes_transferred)
            .field("status", self.status)
            .field("download_endpoint", self.download_endpoint.clone())
            .field("checksum_info", self.checksum_info.clone())
            .field("error_message", self.error_message.clone())
            .build()
    }
    fn from_value(value: Value) -> Result<Self, DecodeError> {
        let mut r = StructReader::new(value, Self::DEF)?;
        Ok(FileInfo {
            name: r.req("name")?,
            size: r.opt("size")?,
            bytes_transferred: r.req("bytes_transferred")?,
            status: r.req("status")?,
            download_endpoint: r.opt("download_endpoint")?,
            checksum_info: r.opt("checksum_info")?,
            error_message: r.opt("error_message")?,
        })
    }
}
crate::model::message::vapi_struct_type!(FileInfo, FILE_INFO);
