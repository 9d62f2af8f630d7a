//! Synthetic file content: deterministic bytes of any size from a seed, costing no disk.
//!
//! One pattern buffer (1 MiB of seeded noise plus a chunk of overlap) is made once; a file is a
//! sequence of 256 KiB chunks, each a zero-copy slice of the pattern starting at an offset
//! drawn from (seed, file, chunk index). Serving a chunk copies nothing, so the generator is
//! never the bottleneck, and any byte can be found in O(1) for Range requests.

use std::sync::OnceLock;

use axum::body::Bytes;

/// Bytes per chunk (a multiple of the pattern slice granularity).
pub const CHUNK: u64 = 256 * 1024;
const PATTERN: usize = 1 << 20;

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

fn pattern() -> &'static Bytes {
    static P: OnceLock<Bytes> = OnceLock::new();
    P.get_or_init(|| {
        let len = PATTERN + CHUNK as usize;
        let mut v = Vec::with_capacity(len);
        let mut state = 0x5EED_D151_u64;
        while v.len() < len {
            state = splitmix(state);
            v.extend_from_slice(&state.to_le_bytes());
        }
        v.truncate(len);
        Bytes::from(v)
    })
}

/// The identity of one synthetic file: the server seed and the file's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SyntheticFile {
    key: u64,
    pub size: u64,
}

impl SyntheticFile {
    pub fn new(seed: u64, item_id: &str, name: &str, size: u64) -> Self {
        let mut key = splitmix(seed);
        for b in item_id.bytes().chain([0]).chain(name.bytes()) {
            key = splitmix(key ^ u64::from(b));
        }
        SyntheticFile { key, size }
    }

    fn chunk_start(&self, index: u64) -> usize {
        (splitmix(self.key ^ index.wrapping_mul(0xD6E8_FEB8_6659_FD93)) % PATTERN as u64) as usize
    }

    /// The bytes in `start..end` as zero-copy slices, at most one chunk each.
    pub fn slices(&self, start: u64, end: u64) -> SyntheticSlices {
        SyntheticSlices {
            file: *self,
            pos: start,
            end: end.min(self.size),
        }
    }
}

/// An iterator over a range of a synthetic file, chunk by chunk.
#[derive(Debug, Clone)]
pub struct SyntheticSlices {
    file: SyntheticFile,
    pos: u64,
    end: u64,
}

impl Iterator for SyntheticSlices {
    type Item = Bytes;

    fn next(&mut self) -> Option<Bytes> {
        if self.pos >= self.end {
            return None;
        }
        let index = self.pos / CHUNK;
        let within = (self.pos % CHUNK) as usize;
        let take = (CHUNK - within as u64).min(self.end - self.pos) as usize;
        let start = self.file.chunk_start(index) + within;
        self.pos += take as u64;
        Some(pattern().slice(start..start + take))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(f: &SyntheticFile, a: u64, b: u64) -> Vec<u8> {
        f.slices(a, b).flat_map(|s| s.to_vec()).collect()
    }

    #[test]
    fn same_seed_same_bytes_and_ranges_agree_with_the_whole() {
        let f = SyntheticFile::new(1, "item", "disk.vmdk", 3 * CHUNK + 17);
        let whole = collect(&f, 0, f.size);
        assert_eq!(whole.len() as u64, f.size);
        assert_eq!(
            whole,
            collect(
                &SyntheticFile::new(1, "item", "disk.vmdk", f.size),
                0,
                f.size
            )
        );
        for (a, b) in [
            (0, 1),
            (5, CHUNK + 9),
            (CHUNK - 1, 2 * CHUNK + 1),
            (f.size - 3, f.size + 50),
        ] {
            assert_eq!(collect(&f, a, b), whole[a as usize..b.min(f.size) as usize]);
        }
    }

    #[test]
    fn different_files_and_seeds_differ() {
        let a = collect(&SyntheticFile::new(1, "i", "a", 4096), 0, 4096);
        let b = collect(&SyntheticFile::new(1, "i", "b", 4096), 0, 4096);
        let c = collect(&SyntheticFile::new(2, "i", "a", 4096), 0, 4096);
        assert_ne!(a, b);
        assert_ne!(a, c);
        // Chunks of one file do not simply repeat.
        let f = SyntheticFile::new(1, "i", "a", 2 * CHUNK);
        assert_ne!(collect(&f, 0, 64), collect(&f, CHUNK, CHUNK + 64));
    }
}
