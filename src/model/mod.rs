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
#[cfg(test)]
pub use message::DateTimeFormat;
pub use message::{LocalizableMessage, LocalizationParam, NestedLocalizableMessage};
pub use session::{DownloadSessionModel, State};
pub use time::Timestamp;
#[cfg(test)]
pub use value::Map;
pub(crate) use value::VapiType;
pub use value::{DecodeError, Value};
