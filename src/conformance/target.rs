//! The runner speaks through the clients' one request layer ([`crate::client::forms`]): the
//! endpoint under test through one wire form, every answer kept whole as evidence. Only
//! dlsim's own clock control is the runner's alone.

use reqwest::Method;
use serde_json::Value;

pub use crate::client::forms::{Endpoint as Target, Evidence, Exchange};

/// The control-plane token header dlsim asks for when started with `--control-token`.
const CONTROL_TOKEN_HEADER: &str = "dlsim-control-token";

/// dlsim's clock, if the endpoint is a dlsim on a virtual clock (one started with
/// `--control-token` needs the same token in `DLSIM_CONTROL_TOKEN`).
pub async fn dlsim_clock(t: &Target) -> Option<Value> {
    let e = t
        .raw(Method::GET, "/dlsim/clock", None, &control_token())
        .await;
    e.ok().then_some(e.json).flatten()
}

/// Move dlsim's virtual clock on by `ms`; whether it moved.
pub async fn dlsim_advance(t: &Target, ms: u64) -> bool {
    let path = format!("/dlsim/clock?advance_ms={ms}");
    t.raw(Method::POST, &path, None, &control_token())
        .await
        .ok()
}

/// The control-plane token header, when `DLSIM_CONTROL_TOKEN` gives one.
fn control_token() -> Vec<(&'static str, String)> {
    std::env::var("DLSIM_CONTROL_TOKEN")
        .ok()
        .filter(|t| !t.is_empty())
        .map(|t| vec![(CONTROL_TOKEN_HEADER, t)])
        .unwrap_or_default()
}
