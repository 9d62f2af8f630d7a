//! dlsim: a test double and conformance harness for the vSphere Content Library item
//! download-session API.

pub mod client;
pub mod config;
pub mod conformance;
pub mod content;
pub mod engine;
pub mod fake;
pub mod faults;
#[doc(hidden)]
pub mod fuzzing;
pub mod ids;
pub mod journal;
pub mod model;
pub mod op;
pub mod schemas;
pub mod server;
pub mod wire;

pub use fake::{Dlsim, DlsimBuilder};

/// Make ring the process-wide rustls crypto provider (dlsim builds without aws-lc). Call it
/// before building an HTTP client; calling it again does nothing.
pub fn install_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
