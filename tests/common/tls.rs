//! TLS for tests: an HTTP client that accepts any certificate and keeps the certificate each
//! connection was shown, so a test can compare a reported thumbprint with the certificate
//! actually presented ([`presented`]); and a rustls client configuration that trusts exactly
//! the fake's own certificate, for raw TLS connections.

use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;

pub fn any_cert_client() -> reqwest::Client {
    dlsim::install_crypto();
    reqwest::Client::builder()
        .tls_info(true)
        .danger_accept_invalid_certs(true)
        .build()
        .expect("an HTTP client")
}

/// The thumbprints of the certificate the server presented for `resp` (a client built by
/// [`any_cert_client`] keeps it).
pub fn presented(resp: &reqwest::Response) -> Option<dlsim::Thumbprints> {
    resp.extensions()
        .get::<reqwest::tls::TlsInfo>()
        .and_then(|i| i.peer_certificate())
        .map(dlsim::Thumbprints::of)
}

/// A rustls client configuration whose only trust anchor is `pem`, the certificate a fake
/// started with TLS serves.
pub fn trusting(pem: &str) -> Arc<rustls::ClientConfig> {
    dlsim::install_crypto();
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(pem.as_bytes()).expect("a PEM certificate"))
        .expect("a usable trust anchor");
    Arc::new(
        rustls::ClientConfig::builder()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}
