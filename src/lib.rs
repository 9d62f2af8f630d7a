//! dlsim: a test double and conformance harness for the vSphere Content Library item
//! download-session API.
//!
//! In-process use needs only what this page exports:
//!
//! - [`Dlsim`] and [`DlsimBuilder`]: a fake vCenter on `127.0.0.1` and a free port, started in
//!   one line, on a virtual [`Clock`] with a fixed seed;
//! - [`LibrarySpec`], [`ItemSpec`], [`FileSpec`]: the library it serves (the demo library,
//!   [`DEMO_OVF_ITEM_ID`] and [`DEMO_ISO_ITEM_ID`], when none is given), and [`PrepareTiming`];
//! - [`check`] with [`CheckOptions`]: the conformance runner of `dlsim check`, against any
//!   endpoint;
//! - [`download`] with [`DownloadOptions`] and [`TlsPolicy`]: the careful reference client of
//!   `dlsim download`.
//!
//! With them come the types their signatures use: faults to inject ([`Fault`], [`What`],
//! [`When`], [`OpName`], [`Violation`]), the journal ([`JournalEntry`]) and its verification
//! ([`Expectations`], [`VerifyReport`]), and the reports of [`check`] and [`download`].
//! Everything else is private to the crate; the modules hidden from these docs (`cli`,
//! `fuzzing`, `bench_support`) serve only the `dlsim` binary, the fuzz targets and the
//! benchmarks, and may change in any release.
//!
//! Check that an endpoint follows the contract (here the fake itself, serving one small item):
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let library: dlsim::LibrarySpec = toml::from_str(
//!     r#"
//!     name = "isos"
//!     [[items]]
//!     name = "alpine"
//!     files = [{ name = "alpine.iso", size = 4096 }]
//!     "#,
//! )
//! .unwrap();
//! let fake = dlsim::Dlsim::builder().libraries(vec![library]).start().await;
//! let opts = dlsim::CheckOptions::new(fake.base_url(), fake.username(), fake.password());
//! let report = dlsim::check(&opts, |_step| {}).await.unwrap();
//! assert!(report.passed(true), "{}", report.text(true));
//! # }
//! ```
//!
//! Download an item the careful way, verifying every byte:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! # let library: dlsim::LibrarySpec = toml::from_str(
//! #     "name = \"isos\"\n[[items]]\nname = \"alpine\"\nfiles = [{ name = \"alpine.iso\", size = 4096 }]",
//! # ).unwrap();
//! let fake = dlsim::Dlsim::builder().libraries(vec![library]).start().await;
//! let item = fake.item_ids(&fake.library_ids()[0]).unwrap()[0].clone();
//! let dir = tempfile::tempdir().unwrap();
//! let mut opts =
//!     dlsim::DownloadOptions::new(fake.base_url(), fake.username(), fake.password(), &item);
//! opts.output_dir = dir.path().to_path_buf();
//! opts.poll_interval = std::time::Duration::from_millis(10);
//! let report = dlsim::download(&opts, |_event| {}).await.unwrap();
//! assert!(report.all_verified());
//! assert_eq!(std::fs::metadata(dir.path().join("alpine.iso")).unwrap().len(), 4096);
//! # }
//! ```

#![warn(unnameable_types, missing_docs)]

#[cfg(feature = "cli")]
#[doc(hidden)]
pub mod cli;
mod client;
mod config;
mod conformance;
mod content;
mod engine;
mod fake;
mod faults;
/// The entry points of the cargo-fuzz targets in `fuzz/` (a crate of its own); not an API.
#[doc(hidden)]
pub mod fuzzing;
mod ids;
mod journal;
mod model;
mod op;
mod schemas;
mod server;
mod wire;

pub use client::{
    run as download, run_until as download_until, ClientError as DownloadError, DownloadOptions,
    Event as DownloadEvent, FileReport as DownloadFileReport, Form, Report as DownloadReport,
    RetryPolicy, TlsPolicy,
};
pub use config::{FileSpec, ItemSpec, LibrarySpec};
pub use conformance::{
    run as check, run_until as check_until, CheckError, CheckOptions, Evidence,
    Failure as RuleFailure, ItemUsed, Level as RuleLevel, Outcome as RuleOutcome,
    Report as CheckReport, Rule, RuleResult,
};
pub use engine::auth::User;
pub use engine::clock::VIRTUAL_EPOCH;
pub use engine::library::{DEMO_ISO_ITEM_ID, DEMO_LIBRARY_ID, DEMO_OVF_ITEM_ID};
pub use engine::{Clock, PrepareTiming};
pub use fake::{Dlsim, DlsimBuilder};
pub use faults::rule::{
    Family as FaultFamily, MessageSpec, NestedSpec, ParamSpec, PrepareStatusName,
};
pub use faults::scenario::{shelf_names as scenario_names, ScenarioError};
pub use faults::set::RuleStatus as FaultStatus;
pub use faults::verify::{
    Expectations, Finding, Outcome as ExpectationOutcome, Report as VerifyReport,
};
pub use faults::{Fault, FormName, Violation, What, When};
pub use ids::Thumbprints;
pub use journal::Entry as JournalEntry;
pub use model::{ErrorType, Timestamp};
pub use op::OpName;
pub use server::tls::{Certificate, TlsError};
pub use server::TlsOptions;

/// TLS plumbing the benchmarks in `benches/` use (a client configuration that accepts any
/// certificate); not an API.
#[doc(hidden)]
pub mod bench_support {
    pub use crate::client::tls::{client_config, Pin, PinVerifier, Refused, Thumbprint};
}

/// Make ring the process-wide rustls crypto provider (dlsim builds without aws-lc). Call it
/// before building an HTTP client; calling it again does nothing. [`Dlsim::builder`] calls it.
///
/// ```
/// dlsim::install_crypto();
/// dlsim::install_crypto(); // harmless
/// ```
pub fn install_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
