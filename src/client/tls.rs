//! TLS for the reference client: certificate pinning by thumbprint (SHA-1 or SHA-256 of the
//! DER certificate, as vSphere reports it) or by exact certificate, "accept anything", and a
//! record of the certificate each server actually presented.

use std::fmt;
use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use sha1::Digest;

use super::ClientError;

pub use crate::ids::{thumbprint as format_thumbprint, Thumbprints};

/// A parsed thumbprint; its length tells the algorithm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Thumbprint {
    /// A SHA-1 thumbprint (20 bytes).
    Sha1(Vec<u8>),
    /// A SHA-256 thumbprint (32 bytes).
    Sha256(Vec<u8>),
}

impl Thumbprint {
    /// Parse hex with or without colons (any case); 20 bytes is SHA-1, 32 bytes SHA-256.
    pub fn parse(text: &str) -> Result<Self, ClientError> {
        let bad = |reason: &str| ClientError::BadThumbprint {
            thumbprint: text.to_string(),
            reason: reason.to_string(),
        };
        let digits: Vec<u8> = text
            .trim()
            .bytes()
            .filter(|b| *b != b':' && *b != b' ')
            .collect();
        if digits.len() % 2 != 0 {
            return Err(bad("an odd number of hex digits"));
        }
        let mut bytes = Vec::with_capacity(digits.len() / 2);
        for pair in digits.chunks(2) {
            let s = std::str::from_utf8(pair).map_err(|_| bad("not hex"))?;
            bytes.push(u8::from_str_radix(s, 16).map_err(|_| bad("not hex"))?);
        }
        match bytes.len() {
            20 => Ok(Thumbprint::Sha1(bytes)),
            32 => Ok(Thumbprint::Sha256(bytes)),
            n => Err(bad(&format!(
                "{n} bytes; a SHA-1 thumbprint has 20 bytes, a SHA-256 thumbprint 32"
            ))),
        }
    }

    /// Whether a DER certificate has this thumbprint.
    pub fn matches(&self, der: &[u8]) -> bool {
        match self {
            Thumbprint::Sha1(t) => sha1::Sha1::digest(der).as_slice() == t.as_slice(),
            Thumbprint::Sha256(t) => sha2::Sha256::digest(der).as_slice() == t.as_slice(),
        }
    }

    /// `SHA-1` or `SHA-256`.
    pub fn algorithm(&self) -> &'static str {
        match self {
            Thumbprint::Sha1(_) => "SHA-1",
            Thumbprint::Sha256(_) => "SHA-256",
        }
    }
}

impl fmt::Display for Thumbprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bytes = match self {
            Thumbprint::Sha1(b) | Thumbprint::Sha256(b) => b,
        };
        write!(f, "{} {}", self.algorithm(), format_thumbprint(bytes))
    }
}

/// What a connection accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pin {
    /// Any certificate (`--insecure`).
    Any,
    /// Exactly the certificate with this thumbprint; nothing else is checked.
    Thumbprint(Thumbprint),
    /// Exactly this DER certificate (an endpoint's `ssl_certificate`).
    Certificate(Vec<u8>),
}

impl Pin {
    /// Pin the PEM certificate an endpoint reported in `ssl_certificate`.
    pub fn certificate_pem(pem: &str) -> Result<Self, ClientError> {
        let der =
            CertificateDer::from_pem_slice(pem.as_bytes()).map_err(|e| ClientError::Protocol {
                context: "reading the endpoint's ssl_certificate".into(),
                message: format!("not a PEM certificate: {e}"),
            })?;
        Ok(Pin::Certificate(der.to_vec()))
    }

    fn accepts(&self, der: &[u8]) -> bool {
        match self {
            Pin::Any => true,
            Pin::Thumbprint(t) => t.matches(der),
            Pin::Certificate(c) => c.as_slice() == der,
        }
    }

    fn describe(&self) -> String {
        match self {
            Pin::Any => "any certificate".into(),
            Pin::Thumbprint(t) => t.to_string(),
            Pin::Certificate(c) => format!("the certificate with {}", Thumbprints::of(c)),
        }
    }
}

/// A certificate a pinned connection refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// What the pin accepts, as text.
    pub expected: String,
    /// The certificate the server presented.
    pub presented: Thumbprints,
}

/// A [`ServerCertVerifier`] that accepts what its [`Pin`] allows, and remembers what it refused.
#[derive(Debug)]
pub struct PinVerifier {
    pin: Pin,
    provider: Arc<CryptoProvider>,
    refused: Mutex<Option<Refused>>,
}

impl PinVerifier {
    /// A verifier that accepts what `pin` allows.
    pub fn new(pin: Pin) -> Self {
        PinVerifier {
            pin,
            provider: Arc::new(rustls::crypto::ring::default_provider()),
            refused: Mutex::new(None),
        }
    }

    /// The certificate refused most recently, if any (and forget it).
    pub fn take_refused(&self) -> Option<Refused> {
        self.refused
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
    }
}

impl ServerCertVerifier for PinVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if self.pin.accepts(end_entity) {
            return Ok(ServerCertVerified::assertion());
        }
        let refused = Refused {
            expected: self.pin.describe(),
            presented: Thumbprints::of(end_entity),
        };
        let message = format!(
            "certificate thumbprint mismatch: expected {}, the server presented {}",
            refused.expected, refused.presented
        );
        *self.refused.lock().unwrap_or_else(|p| p.into_inner()) = Some(refused);
        Err(rustls::Error::General(message))
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// A rustls client configuration (ring, HTTP/1.1) that verifies with `verifier`.
pub fn client_config(verifier: Arc<PinVerifier>) -> Result<rustls::ClientConfig, ClientError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ClientError::Setup(format!("TLS configuration: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// A random UUID (version 4), for the `Client-Token` header.
pub fn random_uuid() -> Result<String, ClientError> {
    let mut b = [0u8; 16];
    rustls::crypto::ring::default_provider()
        .secure_random
        .fill(&mut b)
        .map_err(|_| ClientError::Setup("no random numbers available".into()))?;
    Ok(crate::ids::uuid_v4(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thumbprints_parse_with_or_without_colons_in_any_case() {
        let t = Thumbprint::parse("ab:CD:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01")
            .unwrap();
        assert_eq!(
            t,
            Thumbprint::parse(&"ABCDEF0123456789ABCDEF0123456789ABCDEF01".to_lowercase()).unwrap()
        );
        assert!(matches!(t, Thumbprint::Sha1(_)));
        assert!(matches!(
            Thumbprint::parse(&"00".repeat(32)).unwrap(),
            Thumbprint::Sha256(_)
        ));
        let e = Thumbprint::parse("00:11").unwrap_err().to_string();
        assert!(e.contains("2 bytes"), "{e}");
        assert!(Thumbprint::parse("zz").is_err());
        assert!(Thumbprint::parse("abc").is_err());
    }

    #[test]
    fn a_pin_matches_both_algorithms_of_the_same_certificate() {
        let der = b"not really a certificate";
        let t = Thumbprints::of(der);
        assert!(Thumbprint::parse(&t.sha1).unwrap().matches(der));
        assert!(Thumbprint::parse(&t.sha256).unwrap().matches(der));
        assert!(!Thumbprint::parse(&t.sha1).unwrap().matches(b"other"));
    }

    #[test]
    fn uuids_are_version_4() {
        let u = random_uuid().unwrap();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert!(matches!(&u[19..20], "8" | "9" | "a" | "b"), "{u}");
        assert_ne!(u, random_uuid().unwrap());
    }
}
