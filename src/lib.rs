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
//! The modules listed under "Modules" are hidden from these docs: they serve the `dlsim`
//! command and the project's own tests, and may change in any release.
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
//! assert!(report.passed(true), "{}", dlsim::conformance::report::text(&report, true));
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
//! let item = fake.engine().item_ids(&fake.engine().library_ids()[0]).unwrap()[0].clone();
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

#[cfg(feature = "cli")]
#[doc(hidden)]
pub mod cli;
#[doc(hidden)]
pub mod client;
#[doc(hidden)]
pub mod config;
#[doc(hidden)]
pub mod conformance;
#[doc(hidden)]
pub mod content;
#[doc(hidden)]
pub mod engine;
#[doc(hidden)]
pub mod fake;
#[doc(hidden)]
pub mod faults;
#[doc(hidden)]
pub mod fuzzing;
#[doc(hidden)]
pub mod ids;
#[doc(hidden)]
pub mod journal;
#[doc(hidden)]
pub mod model;
#[doc(hidden)]
pub mod op;
#[doc(hidden)]
pub mod schemas;
#[doc(hidden)]
pub mod server;
#[doc(hidden)]
pub mod wire;

pub use client::{run as download, DownloadOptions, TlsPolicy};
pub use config::{FileSpec, ItemSpec, LibrarySpec};
pub use conformance::{run as check, CheckOptions};
pub use engine::library::{DEMO_ISO_ITEM_ID, DEMO_LIBRARY_ID, DEMO_OVF_ITEM_ID};
pub use engine::{Clock, PrepareTiming};
pub use fake::{Dlsim, DlsimBuilder};
pub use model::Timestamp;

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
