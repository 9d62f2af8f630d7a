//! Transport faults: bending the bytes of a response body on their way out.
//!
//! A [`Shaping`] says what to do (cut the connection after N bytes, throttle, stall, flip a
//! byte); [`shape`] wraps a body stream to do it. Cutting ends the stream with an error, which
//! makes hyper close the connection with the body short of its `Content-Length`, as a reset or
//! a truncated transfer looks to a client.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Bytes;
use futures_core::Stream;
use tokio::time::Sleep;

use crate::content::ByteStream;
use crate::faults::What;

/// What to do to one body.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Shaping {
    /// End the connection once this many body bytes went out.
    pub cut_after: Option<u64>,
    /// Send at most this many bytes per second.
    pub bytes_per_sec: Option<u64>,
    /// Pause this long once this many body bytes went out.
    pub stall: Option<(u64, Duration)>,
    /// Flip the byte at this offset of the body.
    pub corrupt_at: Option<u64>,
}

impl Shaping {
    /// Add a transport fault; other kinds are ignored.
    pub fn add(&mut self, what: &What) {
        match what {
            What::Reset { after_bytes } | What::Truncate { after_bytes } => {
                self.cut_after = Some(self.cut_after.map_or(*after_bytes, |c| c.min(*after_bytes)));
            }
            What::Throttle { bytes_per_sec } => self.bytes_per_sec = Some(*bytes_per_sec),
            What::Stall { ms, after_bytes } => {
                self.stall = Some((*after_bytes, Duration::from_millis(*ms)))
            }
            _ => {}
        }
    }

    pub fn is_empty(&self) -> bool {
        *self == Shaping::default()
    }
}

/// Wrap `inner` so it goes out as `shaping` says; `sent` counts the bytes that went out.
pub fn shape(inner: ByteStream, shaping: Shaping, sent: Arc<AtomicU64>) -> ByteStream {
    Box::pin(Shaped {
        inner,
        shaping,
        sent,
        pos: 0,
        pending: None,
        sleep: None,
        stalled: false,
        cutting: false,
        done: false,
    })
}

struct Shaped {
    inner: ByteStream,
    shaping: Shaping,
    sent: Arc<AtomicU64>,
    /// Body bytes handed on so far.
    pos: u64,
    /// The rest of a chunk not yet handed on.
    pending: Option<Bytes>,
    sleep: Option<Pin<Box<Sleep>>>,
    stalled: bool,
    cutting: bool,
    done: bool,
}

/// How long a cut waits for the bytes before it to leave.
const FLUSH_BEFORE_CUT: Duration = Duration::from_millis(20);

impl Shaped {
    /// Hand on `chunk` (at `self.pos`), possibly only its first part, keeping the rest.
    fn emit(&mut self, mut chunk: Bytes) -> Poll<Option<io::Result<Bytes>>> {
        let s = &self.shaping;
        let mut take = chunk.len() as u64;
        if let Some(cut) = s.cut_after {
            take = take.min(cut.saturating_sub(self.pos));
        }
        if let Some((after, _)) = s.stall.filter(|_| !self.stalled) {
            if after > self.pos {
                take = take.min(after - self.pos);
            }
        }
        if let Some(rate) = s.bytes_per_sec {
            // Pieces of a twentieth of a second, each followed by its share of time.
            take = take.min((rate / 20).max(1));
        }
        // The poll loop handles a cut or a stall due at this very position, so at least one
        // byte goes out here.
        let take = usize::try_from(take.max(1))
            .unwrap_or(usize::MAX)
            .min(chunk.len());
        if take < chunk.len() {
            self.pending = Some(chunk.split_off(take));
        }
        if let Some(at) = s.corrupt_at {
            if (self.pos..self.pos + take as u64).contains(&at) {
                let mut owned = chunk.to_vec();
                let i = usize::try_from(at - self.pos).unwrap_or(0);
                owned[i] ^= 0xFF;
                chunk = Bytes::from(owned);
            }
        }
        self.pos += take as u64;
        self.sent.fetch_add(take as u64, Ordering::Relaxed);
        if let Some(rate) = self.shaping.bytes_per_sec {
            let secs = take as f64 / rate as f64;
            self.sleep = Some(Box::pin(tokio::time::sleep(Duration::from_secs_f64(secs))));
        }
        Poll::Ready(Some(Ok(chunk)))
    }
}

impl Stream for Shaped {
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if let Some(sleep) = this.sleep.as_mut() {
                if sleep.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                this.sleep = None;
            }
            if this.done {
                return Poll::Ready(None);
            }
            if this.shaping.cut_after.is_some_and(|c| this.pos >= c) {
                // First let hyper flush what went out (it flushes while the body is pending),
                // so the client really receives those bytes; then cut.
                if !this.cutting {
                    this.cutting = true;
                    this.sleep = Some(Box::pin(tokio::time::sleep(FLUSH_BEFORE_CUT)));
                    continue;
                }
                this.done = true;
                return Poll::Ready(Some(Err(io::Error::new(
                    io::ErrorKind::ConnectionReset,
                    "dlsim fault: connection cut",
                ))));
            }
            if let Some((after, pause)) = this.shaping.stall {
                if !this.stalled && this.pos >= after {
                    this.stalled = true;
                    this.sleep = Some(Box::pin(tokio::time::sleep(pause)));
                    continue;
                }
            }
            let chunk = match this.pending.take() {
                Some(c) => c,
                None => match this.inner.as_mut().poll_next(cx) {
                    Poll::Ready(Some(Ok(c))) => c,
                    other => return other,
                },
            };
            if chunk.is_empty() {
                continue;
            }
            return this.emit(chunk);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks(n: usize, size: usize) -> ByteStream {
        let items: Vec<io::Result<Bytes>> = (0..n)
            .map(|i| Ok(Bytes::from(vec![i as u8; size])))
            .collect();
        Box::pin(Iter(items.into_iter()))
    }

    struct Iter(std::vec::IntoIter<io::Result<Bytes>>);
    impl Stream for Iter {
        type Item = io::Result<Bytes>;
        fn poll_next(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Self::Item>> {
            Poll::Ready(self.0.next())
        }
    }

    async fn collect(mut s: ByteStream) -> (Vec<u8>, bool) {
        let mut out = Vec::new();
        while let Some(item) = std::future::poll_fn(|cx| s.as_mut().poll_next(cx)).await {
            match item {
                Ok(b) => out.extend_from_slice(&b),
                Err(_) => return (out, true),
            }
        }
        (out, false)
    }

    #[tokio::test]
    async fn a_cut_sends_exactly_that_many_bytes_then_fails() {
        let sent = Arc::new(AtomicU64::new(0));
        let shaping = Shaping {
            cut_after: Some(250),
            ..Shaping::default()
        };
        let (bytes, failed) = collect(shape(chunks(4, 100), shaping, sent.clone())).await;
        assert_eq!(bytes.len(), 250);
        assert!(failed);
        assert_eq!(sent.load(Ordering::Relaxed), 250);
    }

    #[tokio::test]
    async fn a_corrupt_byte_is_flipped_and_nothing_else_changes() {
        let shaping = Shaping {
            corrupt_at: Some(150),
            ..Shaping::default()
        };
        let (bytes, failed) = collect(shape(chunks(3, 100), shaping, Arc::default())).await;
        assert!(!failed);
        assert_eq!(bytes.len(), 300);
        assert_eq!(bytes[150], 1 ^ 0xFF);
        assert_eq!(bytes[149], 1);
        assert_eq!(bytes[151], 1);
    }

    #[tokio::test(start_paused = true)]
    async fn throttling_and_stalls_take_their_time() {
        let shaping = Shaping {
            bytes_per_sec: Some(1000),
            stall: Some((100, Duration::from_secs(5))),
            ..Shaping::default()
        };
        let start = tokio::time::Instant::now();
        let (bytes, failed) = collect(shape(chunks(2, 100), shaping, Arc::default())).await;
        assert!(!failed);
        assert_eq!(bytes.len(), 200);
        // 200 bytes at 1000 B/s is 0.2 s, plus the 5 s stall (virtual tokio time).
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(5150), "{took:?}");
        assert!(took < Duration::from_millis(5400), "{took:?}");
    }
}
