//! An HTTP client for tests that accepts any certificate (dlsim's own `Pin::Any` verifier) and
//! keeps the certificate each connection was shown, so a test can compare a reported
//! thumbprint with the certificate actually presented (`dlsim::client::api::presented`).

use dlsim::client::api::Http;
use dlsim::client::tls::Pin;

pub fn any_cert_client() -> reqwest::Client {
    Http::new(Some(Pin::Any)).expect("an HTTP client").client
}
