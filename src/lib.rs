//! dlsim: a test double and conformance harness for the vSphere Content Library item
//! download-session API.

pub mod config;
pub mod content;
pub mod engine;
pub mod fake;
pub mod model;
pub mod schemas;
pub mod server;
pub mod wire;

pub use fake::{Dlsim, DlsimBuilder};
