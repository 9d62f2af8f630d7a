//! Deliberate breaks of the contract, one per conformance rule, so that every rule of
//! `dlsim check` is proven able to fail.
//!
//! A [`Violation`] is a test-only switch (`Dlsim::builder().violate(..)`, or the hidden
//! `serve --violate RULE`) consulted at the one point of the engine, the wire or the content
//! plane where that rule's behaviour is decided. The fault engine of the next wave grows from
//! here: named injection points, consulted the same way.

pub mod rule;
pub mod scenario;
pub mod set;
pub mod verify;
pub mod wire;

pub use rule::{Fault, FormName, What, When};
pub use set::{Faults, Point};

use std::collections::BTreeSet;
use std::str::FromStr;

macro_rules! violations {
    ($($variant:ident => $rule:literal,)+) => {
        /// A break of exactly one conformance rule of `dlsim check`, named by that rule's id.
        ///
        /// A fake built with [`DlsimBuilder::violate`](crate::DlsimBuilder::violate) (or
        /// loaded with a [`What::Violate`] fault) breaks that rule, so a test can show that
        /// a checker catches it: `dlsim check` against it reports the rule failed.
        ///
        /// ```
        /// # #[tokio::main(flavor = "current_thread")]
        /// # async fn main() {
        /// use dlsim::Violation;
        /// let v: Violation = "status.success".parse().unwrap();
        /// assert_eq!(v, Violation::SuccessStatus);
        /// assert_eq!(v.rule(), "status.success");
        /// assert!(Violation::ALL.len() > 30);
        ///
        /// // A fake answering 200 where the contract says 201: the runner notices.
        /// # let small: dlsim::LibrarySpec = toml::from_str(
        /// #     "name = 'isos'\n[[items]]\nname = 'alpine'\nfiles = [{ name = 'alpine.iso', size = 4096 }]",
        /// # ).unwrap();
        /// let fake = dlsim::Dlsim::builder().libraries(vec![small]).violate(v).start().await;
        /// let opts = dlsim::CheckOptions::new(fake.base_url(), fake.username(), fake.password());
        /// let report = dlsim::check(&opts, |_| {}).await.unwrap();
        /// assert_eq!(report.failed_rules(), ["status.success"]);
        /// # }
        /// ```
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Violation { $(#[doc = concat!("Breaks `", $rule, "`.")] $variant),+ }

        impl Violation {
            /// Every violation, one per rule that can be broken on purpose.
            pub const ALL: &'static [Violation] = &[$(Violation::$variant),+];
            /// The id of the rule this violation breaks.
            pub fn rule(self) -> &'static str {
                match self { $(Violation::$variant => $rule),+ }
            }
        }
    };
}

violations! {
    LoginBody => "schema.login",
    SessionIdBody => "schema.session-id",
    SessionModelBody => "schema.session-model",
    IdListBody => "schema.id-list",
    FileInfoListBody => "schema.file-info-list",
    FileInfoBody => "schema.file-info",
    ErrorBody => "schema.error-body",
    LibraryBody => "schema.library",
    SuccessStatus => "status.success",
    UnknownSession => "error.unknown-session",
    UnknownFile => "error.unknown-file",
    NotActive => "error.not-active",
    Unauthenticated => "error.unauthenticated",
    UnknownItem => "error.unknown-item",
    InitialState => "lifecycle.create-initial-state",
    FilesStartUnprepared => "lifecycle.files-start-unprepared",
    PrepareForwardOnly => "lifecycle.prepare-forward-only",
    EndpointOnlyWhenPrepared => "lifecycle.endpoint-only-when-prepared",
    ProgressReflected => "lifecycle.progress-reflected",
    ExpiryMonotonic => "lifecycle.expiry-monotonic",
    Cancel => "lifecycle.cancel",
    Fail => "lifecycle.fail",
    Delete => "lifecycle.delete",
    ListFilter => "lifecycle.list-filter",
    ClientToken => "lifecycle.client-token",
    Expiry => "lifecycle.expiry",
    SizeAndChecksum => "content.size-and-checksum",
    Thumbprint => "content.thumbprint",
    DateTimeFormat => "format.date-time",
    SessionIdInGet => "format.no-session-id-in-get",
    JsonRpcEnvelope => "jsonrpc.envelope",
    JsonRpcIdEcho => "jsonrpc.id-echo",
    JsonRpcErrorsWith200 => "jsonrpc.errors-with-200",
    JsonRpcOptionalTagged => "jsonrpc.optional-tagged",
    JsonRpcProtocolErrors => "jsonrpc.protocol-errors",
}

impl FromStr for Violation {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Violation::ALL
            .iter()
            .copied()
            .find(|v| v.rule() == s)
            .ok_or_else(|| format!("no violation breaks the rule {s:?}"))
    }
}

/// The violations switched on in one server (empty in normal use).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Violations(BTreeSet<Violation>);

impl Violations {
    pub fn has(&self, v: Violation) -> bool {
        self.0.contains(&v)
    }
    pub fn insert(&mut self, v: Violation) {
        self.0.insert(v);
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_ids_are_unique_and_parse_back() {
        let mut ids: Vec<_> = Violation::ALL.iter().map(|v| v.rule()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), Violation::ALL.len());
        for v in Violation::ALL {
            assert_eq!(v.rule().parse::<Violation>(), Ok(*v));
        }
        assert!("no.such-rule".parse::<Violation>().is_err());
    }
}
