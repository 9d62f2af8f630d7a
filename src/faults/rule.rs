//! A fault as data: **when** it applies, **what** it does, and how many times at most.
//!
//! The same shape is read from scenario files (TOML), from the control plane (JSON) and built
//! in Rust, so a fault written once works in all three. Unknown keys are refused everywhere.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::Violation;
use crate::model::{
    LocalizableMessage, LocalizationParam, NestedLocalizableMessage, PrepareStatus,
};
use crate::op::OpName;

/// One fault rule: [`When`] it applies, [`What`] it does, and how many times at most.
///
/// Build it in Rust, or read the same rule from a scenario file (TOML) or a control-plane
/// call (JSON); then load it with [`Dlsim::add_fault`](crate::Dlsim::add_fault) or
/// [`DlsimBuilder::fault`](crate::DlsimBuilder::fault).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use dlsim::{Fault, OpName, What};
/// let busy = Fault::new(What::HttpError { status: 503, retry_after_secs: Some(1) })
///     .named("busy")
///     .on(OpName::Create)
///     .first(2);
/// assert!(busy.validate().is_ok());
///
/// // The same rule as a scenario file writes it.
/// let from_toml: Fault = toml::from_str(
///     r#"
///     name = "busy"
///     when = { op = "download_session.create", first = 2 }
///     what = { kind = "http_error", status = 503, retry_after_secs = 1 }
///     "#,
/// )
/// .unwrap();
/// assert_eq!(from_toml, busy);
///
/// // Loaded, it waits for matching calls.
/// let fake = dlsim::Dlsim::start().await;
/// let id = fake.add_fault(busy);
/// let status = &fake.faults()[0];
/// assert_eq!((status.id, status.fault.label().as_str(), status.fired), (id, "busy", 0));
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    /// A name for the journal and the control plane (defaults to the kind).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The conditions a call must meet (none: every call of the kind's operations).
    #[serde(default)]
    pub when: When,
    /// What happens when it fires.
    pub what: What,
    /// Fire at most this many times (unlimited when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u64>,
}

impl Fault {
    /// A fault that does `what` on every matching call; narrow it with the builder methods.
    pub fn new(what: What) -> Self {
        Fault {
            name: None,
            when: When::default(),
            what,
            times: None,
        }
    }
    /// Name it (for the journal and the control plane).
    pub fn named(mut self, name: &str) -> Self {
        self.name = Some(name.to_string());
        self
    }
    /// Only on these operations (contract names such as `file.prepare`).
    pub fn on(mut self, op: OpName) -> Self {
        self.when.op.push(op);
        self
    }
    /// Only for requests in this wire form.
    pub fn form(mut self, form: FormName) -> Self {
        self.when.form = Some(form);
        self
    }
    /// Only from this long after the server started (on its clock).
    pub fn after_ms(mut self, ms: u64) -> Self {
        self.when.after_ms = Some(ms);
        self
    }
    /// Only until this long after the server started (on its clock).
    pub fn before_ms(mut self, ms: u64) -> Self {
        self.when.before_ms = Some(ms);
        self
    }
    /// Only for files whose name matches this glob (`*` and `?`).
    pub fn file(mut self, glob: &str) -> Self {
        self.when.file = Some(glob.to_string());
        self
    }
    /// Only for this library item.
    pub fn item(mut self, id: &str) -> Self {
        self.when.item = Some(id.to_string());
        self
    }
    /// Only for calls of this logged-in user.
    pub fn user(mut self, name: &str) -> Self {
        self.when.user = Some(name.to_string());
        self
    }
    /// Only for the n-th download session created (1-based).
    pub fn session(mut self, ordinal: u64) -> Self {
        self.when.session = Some(ordinal);
        self
    }
    /// Only the n-th matching call (1-based).
    pub fn call(mut self, n: u64) -> Self {
        self.when.call = Some(n);
        self
    }
    /// Only the first n matching calls.
    pub fn first(mut self, n: u64) -> Self {
        self.when.first = Some(n);
        self
    }
    /// Only every k-th matching call.
    pub fn every(mut self, k: u64) -> Self {
        self.when.every = Some(k);
        self
    }
    /// With this probability, drawn from the seeded random source.
    pub fn probability(mut self, p: f64) -> Self {
        self.when.probability = Some(p);
        self
    }
    /// Fire at most n times in all.
    pub fn times(mut self, n: u64) -> Self {
        self.times = Some(n);
        self
    }
    /// The name shown in the journal.
    pub fn label(&self) -> String {
        self.name
            .clone()
            .unwrap_or_else(|| self.what.kind().to_string())
    }

    /// Check what serde cannot: ranges, globs, names that must exist.
    pub fn validate(&self) -> Result<(), String> {
        let w = &self.when;
        if let Some(p) = w.probability {
            if !(0.0..=1.0).contains(&p) {
                return Err(format!("probability must be within 0..=1, not {p}"));
            }
        }
        for (name, v) in [("session", w.session), ("call", w.call), ("every", w.every)] {
            if v == Some(0) {
                return Err(format!("`{name}` counts from 1; 0 never matches"));
            }
        }
        if let (Some(a), Some(b)) = (w.after_ms, w.before_ms) {
            if a >= b {
                return Err(format!("after_ms ({a}) must be less than before_ms ({b})"));
            }
        }
        match &self.what {
            What::HttpError { status, .. } if !(400..=599).contains(status) => {
                Err(format!("http_error status must be 400..=599, not {status}"))
            }
            What::Latency {
                ms: None,
                min_ms: None,
                max_ms: None,
            } => Err("latency needs `ms`, or `min_ms` and `max_ms`".into()),
            What::Latency {
                min_ms: Some(a),
                max_ms: Some(b),
                ..
            } if a > b => Err(format!("latency min_ms ({a}) exceeds max_ms ({b})")),
            What::Throttle { bytes_per_sec: 0 } => Err("throttle needs bytes_per_sec > 0".into()),
            What::PrepareStuck { status, .. }
                if !matches!(
                    status,
                    PrepareStatusName::PrepareRequested | PrepareStatusName::Preparing
                ) =>
            {
                Err("prepare_stuck status must be PREPARE_REQUESTED or PREPARING".into())
            }
            _ => Ok(()),
        }
    }
}

/// When a fault applies: every condition given must hold. Usually set through the
/// [`Fault`] builder methods.
///
/// ```
/// use dlsim::{Fault, FormName, OpName, What, When};
/// let slow = What::Latency { ms: Some(250), min_ms: None, max_ms: None };
/// let by_hand = Fault {
///     when: When {
///         op: vec![OpName::FileGet],
///         form: Some(FormName::JsonRpc),
///         every: Some(2),
///         after_ms: Some(60_000),
///         ..When::default()
///     },
///     ..Fault::new(slow.clone())
/// };
/// let built = Fault::new(slow)
///     .on(OpName::FileGet)
///     .form(FormName::JsonRpc)
///     .every(2)
///     .after_ms(60_000);
/// assert_eq!(by_hand, built);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct When {
    /// Operations, by contract name; empty means the kind's default (see [`What::default_ops`]).
    #[serde(
        default,
        deserialize_with = "one_or_many",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub op: Vec<OpName>,
    /// Wire form: `api`, `rest`, `jsonrpc`, `sdk-rest` or `content` (the download endpoints).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub form: Option<FormName>,
    /// Library item id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<String>,
    /// File name glob (`*`, `?`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// Login user name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The n-th download session created on this server (1-based).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<u64>,
    /// Only the n-th call that meets the other conditions (1-based).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call: Option<u64>,
    /// Only the first n such calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first: Option<u64>,
    /// Only every k-th such call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub every: Option<u64>,
    /// With this probability (seeded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
    /// Only from this long after the server started (on its clock).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_ms: Option<u64>,
    /// Only until this long after the server started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before_ms: Option<u64>,
}

/// A wire form as fault rules and the journal name it.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use dlsim::FormName;
/// let form: FormName = serde_json::from_str("\"jsonrpc\"").unwrap();
/// assert_eq!(form.as_str(), "jsonrpc");
///
/// // The journal names the form of every request.
/// let fake = dlsim::Dlsim::start().await;
/// reqwest::get(format!("{}/rest/com/vmware/cis/session", fake.base_url())).await.unwrap();
/// assert_eq!(fake.journal()[0].form, Some(FormName::Rest));
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum FormName {
    /// The REST API under `/api`.
    Api,
    /// The legacy REST API under `/rest` (`{"value": ...}` answers).
    Rest,
    /// vAPI JSON-RPC at `POST /api`, as the SDKs send it.
    #[serde(rename = "jsonrpc")]
    JsonRpc,
    /// The Python SDK's `rest` mode under `/sdk-rest/api/...`: `/api` paths, `/rest` bodies.
    #[serde(rename = "sdk-rest")]
    SdkRest,
    /// The download endpoints that serve file bytes.
    Content,
}

impl FormName {
    /// The name as rules and the journal write it (`api`, `rest`, `jsonrpc`, `sdk-rest`,
    /// `content`).
    pub fn as_str(self) -> &'static str {
        match self {
            FormName::Api => "api",
            FormName::Rest => "rest",
            FormName::JsonRpc => "jsonrpc",
            FormName::SdkRest => "sdk-rest",
            FormName::Content => "content",
        }
    }
}

impl FormName {
    /// The name of a wire form.
    pub(crate) fn of(f: crate::wire::Form) -> Self {
        match f {
            crate::wire::Form::Api => FormName::Api,
            crate::wire::Form::Rest => FormName::Rest,
            crate::wire::Form::JsonRpc => FormName::JsonRpc,
            crate::wire::Form::SdkRest => FormName::SdkRest,
        }
    }
}

/// A file's prepare status, as rules write it (in [`What::PrepareStuck`]).
///
/// ```
/// use dlsim::{Fault, PrepareStatusName, What};
/// let stuck: Fault = toml::from_str(
///     "what = { kind = 'prepare_stuck', status = 'PREPARE_REQUESTED', for_ms = 30000 }",
/// )
/// .unwrap();
/// assert_eq!(
///     stuck.what,
///     What::PrepareStuck { status: PrepareStatusName::PrepareRequested, for_ms: Some(30_000) }
/// );
/// // Only the two statuses a file passes through can hold it.
/// let never = Fault::new(What::PrepareStuck { status: PrepareStatusName::Prepared, for_ms: None });
/// assert!(never.validate().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PrepareStatusName {
    /// `PREPARE_REQUESTED`: asked for, not started.
    PrepareRequested,
    /// `PREPARING`: being made ready (the default).
    #[default]
    Preparing,
    /// `PREPARED`: ready to download.
    Prepared,
    /// `ERROR`: preparation failed.
    Error,
}

impl From<PrepareStatusName> for PrepareStatus {
    fn from(s: PrepareStatusName) -> Self {
        match s {
            PrepareStatusName::PrepareRequested => PrepareStatus::PrepareRequested,
            PrepareStatusName::Preparing => PrepareStatus::Preparing,
            PrepareStatusName::Prepared => PrepareStatus::Prepared,
            PrepareStatusName::Error => PrepareStatus::Error,
        }
    }
}

/// What a fault does. Families: state, expiry, data, HTTP, transport, and rule breaks; each
/// kind applies by default to the operations of [`What::default_ops`].
///
/// A file whose preparation ends in ERROR, as the careful client of [`download`](crate::download)
/// sees it:
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use dlsim::{Fault, MessageSpec, What};
/// # let small: dlsim::LibrarySpec = toml::from_str(
/// #     "name = 'isos'\n[[items]]\nname = 'alpine'\nfiles = [{ name = 'alpine.iso', size = 4096 }]",
/// # ).unwrap();
/// let out_of_space = What::PrepareError(MessageSpec {
///     message: Some("The datastore is full.".into()),
///     ..MessageSpec::default()
/// });
/// assert_eq!((out_of_space.kind(), out_of_space.family()), ("prepare_error", dlsim::FaultFamily::Session));
/// assert_eq!(out_of_space.default_ops(), [dlsim::OpName::FilePrepare]);
///
/// let fake = dlsim::Dlsim::builder().libraries(vec![small]).fault(Fault::new(out_of_space)).start().await;
/// let item = &fake.item_ids(&fake.library_ids()[0]).unwrap()[0];
/// let dir = tempfile::tempdir().unwrap();
/// let mut opts = dlsim::DownloadOptions::new(fake.base_url(), fake.username(), fake.password(), item);
/// opts.output_dir = dir.path().to_path_buf();
/// opts.poll_interval = std::time::Duration::from_millis(10);
/// let err = dlsim::download(&opts, |_| {}).await.unwrap_err();
/// assert!(err.to_string().contains("The datastore is full."), "{err}");
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum What {
    // ---- state ----
    /// The file's preparation ends in ERROR with this message.
    PrepareError(MessageSpec),
    /// The file's preparation stays in `status` (for `for_ms`, or forever).
    PrepareStuck {
        /// `PREPARE_REQUESTED` or `PREPARING` (the default).
        #[serde(default)]
        status: PrepareStatusName,
        /// How long it is held (forever when unset).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        for_ms: Option<u64>,
    },
    /// The file's preparation takes `extra_ms` longer.
    PrepareSlow {
        /// Added to the preparation time.
        extra_ms: u64,
    },
    /// The session goes to ERROR with this message.
    SessionError(MessageSpec),
    /// The session disappears (NOT_FOUND from then on, as after a vCenter restart).
    SessionVanish,
    /// The item's content version changes (new sessions and item reads see it).
    ContentVersionChange {
        /// The new version (the next number when unset).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        version: Option<String>,
    },
    // ---- expiry ----
    /// The session's idle timeout becomes `ms`.
    IdleTimeout {
        /// The new idle timeout.
        ms: u64,
    },
    /// The session expires now.
    ExpireNow,
    // ---- data ----
    /// `checksum_info` does not match the bytes.
    WrongChecksum,
    /// One byte at `offset` is served flipped; the checksum stays honest.
    CorruptBytes {
        /// The byte's offset in the file.
        offset: u64,
    },
    /// The reported `size` is off by `delta` bytes.
    WrongSize {
        /// Added to the true size (1 by default; may be negative).
        #[serde(default = "one")]
        delta: i64,
    },
    /// The endpoint's `ssl_certificate_thumbprint` is not the served certificate's.
    WrongThumbprint,
    // ---- HTTP ----
    /// Answer with this status and the standard error body of the request's form.
    HttpError {
        /// 400 to 599.
        status: u16,
        /// Sent as `Retry-After`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after_secs: Option<u64>,
    },
    /// Answer 401 and end the login session, as when a login expires.
    LoginExpired,
    /// Delay the answer: `ms`, or uniformly within `min_ms..=max_ms` (seeded).
    Latency {
        /// A fixed delay.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ms: Option<u64>,
        /// The least delay of a random one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min_ms: Option<u64>,
        /// The most delay of a random one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_ms: Option<u64>,
    },
    // ---- transport ----
    /// Close the connection after this many body bytes.
    Reset {
        /// Body bytes sent before the reset.
        after_bytes: u64,
    },
    /// Send this many body bytes, though `Content-Length` promises more, then close.
    Truncate {
        /// Body bytes sent before the close.
        after_bytes: u64,
    },
    /// Send the body at this rate.
    Throttle {
        /// The rate, above 0.
        bytes_per_sec: u64,
    },
    /// Stop sending for `ms` after `after_bytes` body bytes.
    Stall {
        /// How long the pause lasts.
        ms: u64,
        /// Body bytes sent before the pause (0 by default).
        #[serde(default)]
        after_bytes: u64,
    },
    // ---- rule breaks ----
    /// Break one conformance rule (see `dlsim check`), for as long as the fault is loaded.
    Violate {
        /// The rule broken.
        rule: Violation,
    },
}

fn one() -> i64 {
    1
}

/// Which part of the server consults a fault ([`What::family`]).
///
/// ```
/// use dlsim::{FaultFamily, What};
/// assert_eq!(What::Throttle { bytes_per_sec: 1024 }.family(), FaultFamily::Transport);
/// assert_eq!(What::LoginExpired.family(), FaultFamily::Answer);
/// assert_eq!(What::ExpireNow.family(), FaultFamily::Session);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Family {
    /// Changes a session or its files in the engine.
    Session,
    /// Replaces the answer (status, login).
    Answer,
    /// Delays the answer.
    Delay,
    /// Bends the bytes of the body on their way out.
    Transport,
    /// A standing rule break.
    Violation,
}

impl What {
    /// The kind's name, as rules write it in `kind = "..."`.
    pub fn kind(&self) -> &'static str {
        match self {
            What::PrepareError(_) => "prepare_error",
            What::PrepareStuck { .. } => "prepare_stuck",
            What::PrepareSlow { .. } => "prepare_slow",
            What::SessionError(_) => "session_error",
            What::SessionVanish => "session_vanish",
            What::ContentVersionChange { .. } => "content_version_change",
            What::IdleTimeout { .. } => "idle_timeout",
            What::ExpireNow => "expire_now",
            What::WrongChecksum => "wrong_checksum",
            What::CorruptBytes { .. } => "corrupt_bytes",
            What::WrongSize { .. } => "wrong_size",
            What::WrongThumbprint => "wrong_thumbprint",
            What::HttpError { .. } => "http_error",
            What::LoginExpired => "login_expired",
            What::Latency { .. } => "latency",
            What::Reset { .. } => "reset",
            What::Truncate { .. } => "truncate",
            What::Throttle { .. } => "throttle",
            What::Stall { .. } => "stall",
            What::Violate { .. } => "violate",
        }
    }

    /// The part of the server that applies it.
    pub fn family(&self) -> Family {
        match self {
            What::HttpError { .. } | What::LoginExpired => Family::Answer,
            What::Latency { .. } => Family::Delay,
            What::Reset { .. }
            | What::Truncate { .. }
            | What::Throttle { .. }
            | What::Stall { .. } => Family::Transport,
            What::Violate { .. } => Family::Violation,
            _ => Family::Session,
        }
    }

    /// The operations a fault of this kind applies to when its rule names none.
    pub fn default_ops(&self) -> &'static [OpName] {
        use OpName::*;
        const API: &[OpName] = &[
            Login,
            SessionGet,
            Logout,
            LibraryList,
            LibraryGet,
            LibraryFind,
            ItemList,
            ItemGet,
            ItemFind,
            Create,
            Get,
            List,
            KeepAlive,
            Cancel,
            Fail,
            Delete,
            FileList,
            FileGet,
            FilePrepare,
        ];
        match self {
            What::PrepareError(_)
            | What::PrepareStuck { .. }
            | What::PrepareSlow { .. }
            | What::WrongChecksum
            | What::CorruptBytes { .. }
            | What::WrongSize { .. }
            | What::WrongThumbprint => &[FilePrepare],
            What::IdleTimeout { .. } => &[Create],
            What::SessionError(_)
            | What::SessionVanish
            | What::ExpireNow
            | What::ContentVersionChange { .. } => &[
                Get,
                KeepAlive,
                Cancel,
                Fail,
                Delete,
                FileList,
                FileGet,
                FilePrepare,
            ],
            What::HttpError { .. } | What::LoginExpired | What::Latency { .. } => API,
            What::Reset { .. }
            | What::Truncate { .. }
            | What::Throttle { .. }
            | What::Stall { .. } => &[Download],
            What::Violate { .. } => &[],
        }
    }
}

/// A localizable message as a rule writes it (the `error_message` of a session or file in
/// ERROR); the id and text default to a Content Library message.
///
/// ```
/// use dlsim::{MessageSpec, What};
/// let what: What = toml::from_str(
///     r#"
///     kind = "session_error"
///     id = "com.vmware.vdcs.cls-main.transfer_failed"
///     message = "Transfer of {0} failed: {1}."
///     args = ["disk-0.vmdk", "host unreachable"]
///     params.file = { s = "disk-0.vmdk" }
///     params.attempts = { i = 3 }
///     params.cause = { l = { id = "com.vmware.vdcs.cls-main.host_unreachable" } }
///     "#,
/// )
/// .unwrap();
/// let What::SessionError(message) = what else { panic!("{what:?}") };
/// assert_eq!(message.args.len(), 2);
/// assert_eq!(message.params["attempts"].i, Some(3));
/// assert_eq!(message.params["cause"].l.as_ref().unwrap().id, "com.vmware.vdcs.cls-main.host_unreachable");
/// assert_eq!(MessageSpec::default().id, None); // a Content Library id is used
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageSpec {
    /// The message id (a Content Library id of the fault's kind when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The default English text (one of the fault's kind when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Positional arguments of the text.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// Named parameters (`s`, `i`, `d`, or a nested message `l`), as the seeds show them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub params: BTreeMap<String, ParamSpec>,
}

/// One named parameter of a [`MessageSpec`]: give one of its values.
///
/// ```
/// use dlsim::ParamSpec;
/// let size: ParamSpec = toml::from_str("d = 1.5").unwrap();
/// assert_eq!(size, ParamSpec { d: Some(1.5), ..ParamSpec::default() });
/// assert!(toml::from_str::<ParamSpec>("x = 1").is_err()); // unknown keys are refused
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParamSpec {
    /// A string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s: Option<String>,
    /// An integer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub i: Option<i64>,
    /// A number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub d: Option<f64>,
    /// A nested message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub l: Option<NestedSpec>,
}

/// A message given as a parameter of another ([`ParamSpec::l`]).
///
/// ```
/// use dlsim::{NestedSpec, ParamSpec};
/// let cause: ParamSpec = toml::from_str(
///     "l = { id = 'com.vmware.vdcs.cls-main.host_unreachable', params.host = { s = 'esx-01' } }",
/// )
/// .unwrap();
/// let nested: &NestedSpec = cause.l.as_ref().unwrap();
/// assert_eq!(nested.params["host"].s.as_deref(), Some("esx-01"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NestedSpec {
    /// The nested message's id.
    pub id: String,
    /// Its own named parameters.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub params: BTreeMap<String, ParamSpec>,
}

fn params_of(
    p: &BTreeMap<String, ParamSpec>,
) -> Option<crate::model::value::Map<LocalizationParam>> {
    (!p.is_empty()).then(|| {
        crate::model::value::Map(
            p.iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        LocalizationParam {
                            s: v.s.clone(),
                            i: v.i,
                            d: v.d,
                            l: v.l.as_ref().map(|n| NestedLocalizableMessage {
                                id: n.id.clone(),
                                params: params_of(&n.params),
                            }),
                            ..Default::default()
                        },
                    )
                })
                .collect(),
        )
    })
}

impl MessageSpec {
    /// The message a fault reports, with `default_id` and `default_text` where the rule says
    /// nothing.
    pub(crate) fn to_message(&self, default_id: &str, default_text: &str) -> LocalizableMessage {
        LocalizableMessage {
            id: self.id.clone().unwrap_or_else(|| default_id.to_string()),
            default_message: self
                .message
                .clone()
                .unwrap_or_else(|| default_text.to_string()),
            args: self.args.clone(),
            params: params_of(&self.params),
            localized: None,
        }
    }
}

/// Accept `op = "file.get"` as well as `op = ["file.get", "file.list"]`.
fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<OpName>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    let names = match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
    };
    names
        .iter()
        .map(|s| s.parse::<OpName>().map_err(serde::de::Error::custom))
        .collect()
}

impl Serialize for OpName {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.contract())
    }
}

impl Serialize for Violation {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.rule())
    }
}

impl<'de> Deserialize<'de> for Violation {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Does `name` match the glob `pattern` (`*` any run, `?` one character)?
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    let (mut pi, mut ni) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match("*.vmdk", "photon-5-disk1.vmdk"));
        assert!(!glob_match("*.vmdk", "photon-5.ovf"));
        assert!(glob_match("photon-?.ovf", "photon-5.ovf"));
        assert!(glob_match("*", ""));
        assert!(glob_match("a*b*c", "aXXbYYc"));
        assert!(!glob_match("a*b*c", "aXXbYY"));
    }

    #[test]
    fn a_fault_reads_from_toml_and_json_alike() {
        let toml_text = r#"
            name = "disk fails"
            times = 1
            when = { op = "file.prepare", file = "*.vmdk" }
            what = { kind = "prepare_error", id = "com.vmware.vdcs.cls-main.file_transfer_failed", args = ["x"] }
        "#;
        let from_toml: Fault = toml::from_str(toml_text).unwrap();
        let json = serde_json::to_value(&from_toml).unwrap();
        let from_json: Fault = serde_json::from_value(json).unwrap();
        assert_eq!(from_toml, from_json);
        assert_eq!(from_toml.when.op, vec![OpName::FilePrepare]);
        assert_eq!(from_toml.times, Some(1));
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused() {
        let bad = [
            r#"what = { kind = "http_error", status = 503, retry = 2 }"#,
            r#"what = { kind = "nope" }"#,
            r#"when = { op = "download_session.nope" }
               what = { kind = "expire_now" }"#,
            r#"when = { opp = "file.get" }
               what = { kind = "expire_now" }"#,
            r#"what = { kind = "violate", rule = "no.such-rule" }"#,
        ];
        for text in bad {
            assert!(toml::from_str::<Fault>(text).is_err(), "{text}");
        }
        let out_of_range: Fault =
            toml::from_str(r#"what = { kind = "http_error", status = 200 }"#).unwrap();
        assert!(out_of_range.validate().is_err());
        let p: Fault = toml::from_str(
            r#"when = { probability = 1.5 }
               what = { kind = "expire_now" }"#,
        )
        .unwrap();
        assert!(p.validate().is_err());
    }
}
