//! The vAPI standard errors (`com.vmware.vapi.std.errors.*`): what every operation reports.
//!
//! One struct covers them all; the discriminator is [`ErrorType`], from which each wire form
//! derives its own spelling (`NOT_FOUND`, `com.vmware.vapi.std.errors.not_found`) and HTTP status.

use super::message::LocalizableMessage;
use super::value::{
    DecodeError, FieldDef, StructBuilder, StructDef, StructReader, Type, Value, VapiStruct,
    VapiType,
};

crate::model::value::vapi_enum!(
    /// The type of a vAPI standard error (`com.vmware.vapi.std.errors.error.type`): what
    /// `/api` writes as `error_type`, and what the journal records of every error answered,
    /// in every form (JSON-RPC sends its errors with HTTP 200).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use dlsim::ErrorType;
    /// assert_eq!(ErrorType::parse("NOT_FOUND"), Some(ErrorType::NotFound));
    /// assert_eq!(ErrorType::NotFound.canonical_name(), "com.vmware.vapi.std.errors.not_found");
    /// assert_eq!(ErrorType::from_canonical_name("com.vmware.vapi.std.errors.not_found"), Some(ErrorType::NotFound));
    ///
    /// let fake = dlsim::Dlsim::start().await;
    /// let http = reqwest::Client::new();
    /// let token: String = http.post(format!("{}/session", fake.api_url()))
    ///     .basic_auth(fake.username(), Some(fake.password()))
    ///     .send().await.unwrap().json().await.unwrap();
    /// let answer = http
    ///     .get(format!("{}/content/library/item/download-session/no-such-session", fake.api_url()))
    ///     .header("vmware-api-session-id", token)
    ///     .send().await.unwrap();
    /// assert_eq!(answer.status(), 404);
    /// let body: serde_json::Value = answer.json().await.unwrap();
    /// assert_eq!(body["error_type"], ErrorType::NotFound.as_str());
    /// assert_eq!(fake.journal()[1].error.as_deref(), Some(ErrorType::NotFound.as_str()));
    /// # }
    /// ```
    ErrorType, "com.vmware.vapi.std.errors.error.type", {
    Error => "ERROR",
    AlreadyExists => "ALREADY_EXISTS",
    AlreadyInDesiredState => "ALREADY_IN_DESIRED_STATE",
    Canceled => "CANCELED",
    ConcurrentChange => "CONCURRENT_CHANGE",
    FeatureInUse => "FEATURE_IN_USE",
    InternalServerError => "INTERNAL_SERVER_ERROR",
    InvalidArgument => "INVALID_ARGUMENT",
    InvalidElementConfiguration => "INVALID_ELEMENT_CONFIGURATION",
    InvalidElementType => "INVALID_ELEMENT_TYPE",
    InvalidRequest => "INVALID_REQUEST",
    NotAllowedInCurrentState => "NOT_ALLOWED_IN_CURRENT_STATE",
    NotFound => "NOT_FOUND",
    OperationNotFound => "OPERATION_NOT_FOUND",
    ResourceBusy => "RESOURCE_BUSY",
    ResourceInUse => "RESOURCE_IN_USE",
    ResourceInaccessible => "RESOURCE_INACCESSIBLE",
    ServiceUnavailable => "SERVICE_UNAVAILABLE",
    TimedOut => "TIMED_OUT",
    UnableToAllocateResource => "UNABLE_TO_ALLOCATE_RESOURCE",
    Unauthenticated => "UNAUTHENTICATED",
    Unauthorized => "UNAUTHORIZED",
    UnexpectedInput => "UNEXPECTED_INPUT",
    Unsupported => "UNSUPPORTED",
    UnverifiedPeer => "UNVERIFIED_PEER",
});

impl ErrorType {
    /// The canonical vAPI error name, e.g. `com.vmware.vapi.std.errors.not_found`.
    pub fn canonical_name(self) -> &'static str {
        use ErrorType::*;
        match self {
            Error => "com.vmware.vapi.std.errors.error",
            AlreadyExists => "com.vmware.vapi.std.errors.already_exists",
            AlreadyInDesiredState => "com.vmware.vapi.std.errors.already_in_desired_state",
            Canceled => "com.vmware.vapi.std.errors.canceled",
            ConcurrentChange => "com.vmware.vapi.std.errors.concurrent_change",
            FeatureInUse => "com.vmware.vapi.std.errors.feature_in_use",
            InternalServerError => "com.vmware.vapi.std.errors.internal_server_error",
            InvalidArgument => "com.vmware.vapi.std.errors.invalid_argument",
            InvalidElementConfiguration => {
                "com.vmware.vapi.std.errors.invalid_element_configuration"
            }
            InvalidElementType => "com.vmware.vapi.std.errors.invalid_element_type",
            InvalidRequest => "com.vmware.vapi.std.errors.invalid_request",
            NotAllowedInCurrentState => "com.vmware.vapi.std.errors.not_allowed_in_current_state",
            NotFound => "com.vmware.vapi.std.errors.not_found",
            OperationNotFound => "com.vmware.vapi.std.errors.operation_not_found",
            ResourceBusy => "com.vmware.vapi.std.errors.resource_busy",
            ResourceInUse => "com.vmware.vapi.std.errors.resource_in_use",
            ResourceInaccessible => "com.vmware.vapi.std.errors.resource_inaccessible",
            ServiceUnavailable => "com.vmware.vapi.std.errors.service_unavailable",
            TimedOut => "com.vmware.vapi.std.errors.timed_out",
            UnableToAllocateResource => "com.vmware.vapi.std.errors.unable_to_allocate_resource",
            Unauthenticated => "com.vmware.vapi.std.errors.unauthenticated",
            Unauthorized => "com.vmware.vapi.std.errors.unauthorized",
            UnexpectedInput => "com.vmware.vapi.std.errors.unexpected_input",
            Unsupported => "com.vmware.vapi.std.errors.unsupported",
            UnverifiedPeer => "com.vmware.vapi.std.errors.unverified_peer",
        }
    }

    /// The type with this canonical name.
    pub fn from_canonical_name(name: &str) -> Option<Self> {
        ErrorType::ALL
            .iter()
            .copied()
            .find(|t| t.canonical_name() == name)
    }
}

/// A vAPI standard error: `messages` (first is the top message), optional `data`, and its type.
#[derive(Debug, Clone, PartialEq)]
pub struct VapiError {
    pub error_type: ErrorType,
    pub messages: Vec<LocalizableMessage>,
    /// Boxed: errors travel in `Result`s and should stay small.
    pub data: Option<Box<serde_json::Value>>,
    /// Only `unauthenticated` and `unauthorized` carry a challenge.
    pub challenge: Option<String>,
}

/// The fields every standard error has. Its name is a placeholder: an error value is named
/// after its type (`com.vmware.vapi.std.errors.not_found`, ...).
pub static STD_ERROR: StructDef = StructDef {
    name: "com.vmware.vapi.std.errors.*",
    fields: &[
        FieldDef {
            name: "error_type",
            ty: Type::Optional(&Type::Enum(&ErrorType::DEF)),
        },
        FieldDef {
            name: "messages",
            ty: Type::List(&Type::Struct(&super::message::LOCALIZABLE_MESSAGE)),
        },
        FieldDef {
            name: "data",
            ty: Type::Optional(&Type::Dynamic),
        },
        FieldDef {
            name: "challenge",
            ty: Type::Optional(&Type::String),
        },
    ],
};

impl VapiError {
    /// An error with one message whose id and text are given, with positional arguments.
    pub fn new(
        error_type: ErrorType,
        id: &str,
        default_message: String,
        args: Vec<String>,
    ) -> Self {
        VapiError {
            error_type,
            messages: vec![LocalizableMessage::new(id, default_message, args)],
            data: None,
            challenge: None,
        }
    }

    /// The text of the top message, for logs and CLI output.
    pub fn summary(&self) -> String {
        match self.messages.first() {
            Some(m) => format!("{}: {}", self.error_type, m.default_message),
            None => self.error_type.to_string(),
        }
    }
}

impl std::fmt::Display for VapiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.summary())
    }
}

impl std::error::Error for VapiError {}

impl VapiType for VapiError {
    fn vapi_type() -> &'static Type {
        static T: Type = Type::Struct(&STD_ERROR);
        &T
    }
    fn to_value(&self) -> Value {
        let mut v = StructBuilder::new(Self::DEF)
            .field("error_type", Some(self.error_type))
            .field("messages", self.messages.clone())
            .field("data", self.data.as_deref().cloned())
            .field("challenge", self.challenge.clone())
            .build();
        if let Value::Struct(s) = &mut v {
            s.name = self.error_type.canonical_name();
        }
        v
    }
    fn from_value(value: Value) -> Result<Self, DecodeError> {
        let name = match &value {
            Value::Struct(s) => ErrorType::from_canonical_name(s.name),
            _ => None,
        };
        let mut r = StructReader::new(value, Self::DEF)?;
        let declared: Option<ErrorType> = r.opt("error_type")?;
        let error_type = declared
            .or(name)
            .ok_or_else(|| DecodeError::new("/error_type", "the error names no error type"))?;
        Ok(VapiError {
            error_type,
            messages: r.req("messages")?,
            data: r.opt::<serde_json::Value>("data")?.map(Box::new),
            challenge: r.opt("challenge")?,
        })
    }
}
crate::model::message::vapi_struct_type!(VapiError, STD_ERROR);
