//! The types of the contract, written once, with no knowledge of HTTP, JSON or state.
//!
//! Each type describes itself ([`value::StructDef`]) and converts to and from the form-neutral
//! [`value::Value`]; the wire forms in `crate::wire` write those values down.

pub mod error;
pub mod file;
pub mod library;
pub mod message;
pub mod session;
pub mod time;
pub mod value;

pub use error::{ErrorType, VapiError};
pub use file::{
    ChecksumAlgorithm, ChecksumInfo, EndpointType, FileInfo, PrepareStatus, TransferEndpoint,
};
pub use library::{ItemModel, LibraryModel, LibraryType, SessionInfo};
pub use message::{
    DateTimeFormat, LocalizableMessage, LocalizationParam, NestedLocalizableMessage,
};
pub use session::{DownloadSessionModel, State};
pub use time::Timestamp;
pub use value::{DecodeError, Map, Type, Value, VapiType};
