//! Checksums as the contract names them (SHA1 when unset, MD5, SHA256, SHA512).

use md5::Md5;
use sha1::{Digest, Sha1};
use sha2::{Sha256, Sha512};

use crate::model::ChecksumAlgorithm;

/// A running checksum in one of the contract's algorithms.
#[derive(Clone)]
pub enum Hasher {
    Sha1(Sha1),
    Md5(Md5),
    Sha256(Sha256),
    Sha512(Sha512),
}

impl Hasher {
    pub fn new(algorithm: ChecksumAlgorithm) -> Self {
        match algorithm {
            ChecksumAlgorithm::Sha1 => Hasher::Sha1(Sha1::new()),
            ChecksumAlgorithm::Md5 => Hasher::Md5(Md5::new()),
            ChecksumAlgorithm::Sha256 => Hasher::Sha256(Sha256::new()),
            ChecksumAlgorithm::Sha512 => Hasher::Sha512(Sha512::new()),
        }
    }

    /// A hasher for the algorithm the contract names `name` (`SHA1`, `MD5`, `SHA256`,
    /// `SHA512`, exactly), for clients that read the name off the wire.
    pub fn named(name: &str) -> Option<Self> {
        ChecksumAlgorithm::parse(name).map(Hasher::new)
    }

    pub fn update(&mut self, bytes: &[u8]) {
        match self {
            Hasher::Sha1(h) => h.update(bytes),
            Hasher::Md5(h) => h.update(bytes),
            Hasher::Sha256(h) => h.update(bytes),
            Hasher::Sha512(h) => h.update(bytes),
        }
    }

    /// The checksum as lowercase hex, as vCenter writes it.
    pub fn finish_hex(self) -> String {
        let bytes: Vec<u8> = match self {
            Hasher::Sha1(h) => h.finalize().to_vec(),
            Hasher::Md5(h) => h.finalize().to_vec(),
            Hasher::Sha256(h) => h.finalize().to_vec(),
            Hasher::Sha512(h) => h.finalize().to_vec(),
        };
        hex(&bytes)
    }
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digests_of_abc() {
        let digest = |a| {
            let mut h = Hasher::new(a);
            h.update(b"a");
            h.update(b"bc");
            h.finish_hex()
        };
        assert_eq!(
            digest(ChecksumAlgorithm::Sha1),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert_eq!(
            digest(ChecksumAlgorithm::Md5),
            "900150983cd24fb0d6963f7d28e17f72"
        );
        assert_eq!(
            digest(ChecksumAlgorithm::Sha256),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(digest(ChecksumAlgorithm::Sha512).starts_with("ddaf35a193617aba"));
    }
}
