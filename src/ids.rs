//! Small encodings several parts share: UUID strings, path-segment escaping, certificate
//! thumbprints. Each is the wire's spelling of something, so it lives once, here.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sha1::Digest;

/// A version-4 UUID string from 16 random bytes (the version and variant bits are set).
pub fn uuid_v4(bytes: [u8; 16]) -> String {
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string()
}

/// A name-based (version-5, SHA-1) UUID string, as RFC 4122 §4.3 defines it. Computed with
/// the `sha1` crate dlsim already uses: uuid's `v5` feature would pull in a second SHA-1.
pub fn uuid_v5(namespace: &uuid::Uuid, name: &[u8]) -> String {
    let mut h = sha1::Sha1::new();
    h.update(namespace.as_bytes());
    h.update(name);
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&h.finalize()[..16]);
    uuid::Builder::from_sha1_bytes(bytes)
        .into_uuid()
        .to_string()
}

/// Everything but RFC 3986 unreserved characters is escaped.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encode a path segment or query value (spaces become `%20`, never `+`).
pub fn escape(value: &str) -> String {
    utf8_percent_encode(value, UNRESERVED).to_string()
}

/// Colon-separated uppercase hex, as vSphere prints thumbprints.
pub fn thumbprint(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// The SHA-1 and SHA-256 thumbprints of one DER certificate, `AB:CD:...`, as the
/// [`download`](crate::download) reports name the certificates they were shown.
///
/// ```
/// use rustls::pki_types::{pem::PemObject, CertificateDer};
/// let cert = dlsim::Certificate::generate(&[]).unwrap();
/// let der = CertificateDer::from_pem_slice(cert.pem.as_bytes()).unwrap();
/// let seen = dlsim::Thumbprints::of(&der);
/// assert_eq!((&seen.sha1, &seen.sha256), (&cert.sha1, &cert.sha256));
/// assert_eq!(seen.to_string(), format!("SHA-1 {}, SHA-256 {}", cert.sha1, cert.sha256));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thumbprints {
    /// SHA-1, 20 bytes in upper-case hex separated by colons.
    pub sha1: String,
    /// SHA-256, 32 bytes written the same way.
    pub sha256: String,
}

impl Thumbprints {
    /// The thumbprints of a DER certificate.
    pub fn of(der: &[u8]) -> Self {
        Thumbprints {
            sha1: thumbprint(&sha1::Sha1::digest(der)),
            sha256: thumbprint(&sha2::Sha256::digest(der)),
        }
    }
}

impl std::fmt::Display for Thumbprints {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SHA-1 {}, SHA-256 {}", self.sha1, self.sha256)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids() {
        let u = uuid_v4([0xff; 16]);
        assert_eq!(u, "ffffffff-ffff-4fff-bfff-ffffffffffff");
        // The RFC 4122 namespace-URL example, as Python's uuid.uuid5 computes it.
        assert_eq!(
            uuid_v5(&uuid::Uuid::NAMESPACE_URL, b"x"),
            "4cd605e7-afa2-5360-b5b9-c5e9fb5c76f4"
        );
    }

    #[test]
    fn escaping_keeps_only_unreserved_characters() {
        assert_eq!(escape("my disk#1.vmdk"), "my%20disk%231.vmdk");
        assert_eq!(escape("a-b_c.d~e"), "a-b_c.d~e");
        assert_eq!(escape("a b+c/ä"), "a%20b%2Bc%2F%C3%A4");
    }

    #[test]
    fn thumbprints_are_colon_separated_uppercase_hex() {
        assert_eq!(thumbprint(&[0xab, 0x01]), "AB:01");
        let t = Thumbprints::of(b"x");
        assert_eq!(t.sha1.len(), 59);
        assert_eq!(t.sha256.len(), 95);
    }
}
