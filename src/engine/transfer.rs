//! What has been served of one session file: the byte ranges downloaded so far and, once the
//! whole file has been served, its size and checksum. Shared with the content plane, which
//! records bytes as it streams them, without taking the engine's lock.

use std::sync::{Mutex, OnceLock};

use crate::model::ChecksumInfo;

#[derive(Debug, Default)]
pub struct Transfer {
    served: Mutex<Coverage>,
    checksum: OnceLock<ChecksumInfo>,
    /// For the prepare-forward-only violation: whether the one backwards step was shown.
    regressed: std::sync::atomic::AtomicBool,
}

impl Transfer {
    /// Record that `start..end` has been sent to a client.
    pub fn record(&self, start: u64, end: u64) {
        let mut served = self.served.lock().unwrap_or_else(|p| p.into_inner());
        served.add(start, end);
    }

    /// Distinct bytes served so far (never more than the file).
    pub fn bytes_served(&self) -> u64 {
        self.served
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .total()
    }

    /// Whether every byte of a file of `size` has been served at least once.
    pub fn complete(&self, size: u64) -> bool {
        self.served
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .covers(size)
    }

    /// Publish the checksum (only the first one counts).
    pub fn set_checksum(&self, info: ChecksumInfo) {
        let _ = self.checksum.set(info);
    }

    /// True if the backwards step was already shown (and marks it shown).
    pub fn take_regression(&self) -> bool {
        self.regressed
            .swap(true, std::sync::atomic::Ordering::SeqCst)
    }

    pub fn checksum(&self) -> Option<&ChecksumInfo> {
        self.checksum.get()
    }
}

/// A set of byte ranges, kept merged and sorted.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Coverage(Vec<(u64, u64)>);

impl Coverage {
    pub fn add(&mut self, start: u64, end: u64) {
        if start >= end {
            return;
        }
        let (mut s, mut e) = (start, end);
        let mut out = Vec::with_capacity(self.0.len() + 1);
        for &(a, b) in &self.0 {
            if b < s || a > e {
                out.push((a, b));
            } else {
                s = s.min(a);
                e = e.max(b);
            }
        }
        out.push((s, e));
        out.sort_unstable();
        self.0 = out;
    }

    pub fn total(&self) -> u64 {
        self.0.iter().map(|(a, b)| b - a).sum()
    }

    pub fn covers(&self, size: u64) -> bool {
        size == 0 || self.0.first().is_some_and(|&(a, b)| a == 0 && b >= size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_merge_and_cover() {
        let mut c = Coverage::default();
        c.add(10, 20);
        c.add(0, 5);
        assert_eq!(c.total(), 15);
        assert!(!c.covers(20));
        c.add(5, 10);
        c.add(15, 30);
        assert_eq!(c, Coverage(vec![(0, 30)]));
        assert!(c.covers(30));
        assert!(!c.covers(31));
        c.add(40, 40);
        assert_eq!(c.total(), 30);
    }
}
