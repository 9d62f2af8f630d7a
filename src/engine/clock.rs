//! Where the engine gets the time: the wall clock, or a virtual clock tests move by hand.
//!
//! Nothing in the engine reads the system time directly, so every expiry and every prepare step
//! is replayable: a test advances the virtual clock instead of sleeping.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::model::Timestamp;

/// A shared clock handle; clones see the same time.
///
/// ```
/// use std::time::Duration;
/// let clock = dlsim::Clock::virtual_at(dlsim::Timestamp(0));
/// let seen_by_the_server = clock.clone();
/// assert!(clock.advance(Duration::from_secs(301)));
/// assert_eq!(seen_by_the_server.now().millis(), 301_000);
/// ```
#[derive(Clone, Debug)]
pub struct Clock(Arc<Source>);

#[derive(Debug)]
enum Source {
    Real,
    Virtual(AtomicI64),
}

/// The default start of a virtual clock: 2026-01-01T00:00:00.000Z. A fake from
/// [`Dlsim::builder`](crate::Dlsim::builder) starts there.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// assert_eq!(dlsim::VIRTUAL_EPOCH.to_string(), "2026-01-01T00:00:00.000Z");
/// let fake = dlsim::Dlsim::start().await;
/// assert_eq!(fake.clock().now(), dlsim::VIRTUAL_EPOCH);
/// # }
/// ```
pub const VIRTUAL_EPOCH: Timestamp = Timestamp(1_767_225_600_000);

impl Clock {
    /// The system's wall clock.
    pub fn real() -> Self {
        Clock(Arc::new(Source::Real))
    }

    /// A virtual clock standing still at `start` until [`Clock::advance`] moves it.
    pub fn virtual_at(start: Timestamp) -> Self {
        Clock(Arc::new(Source::Virtual(AtomicI64::new(start.millis()))))
    }

    /// Whether this is a virtual clock (one that [`Clock::advance`] moves).
    pub fn is_virtual(&self) -> bool {
        matches!(*self.0, Source::Virtual(_))
    }

    /// The time now.
    pub fn now(&self) -> Timestamp {
        match &*self.0 {
            Source::Real => {
                let ms = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map(|d| d.as_millis() as i64)
                    .unwrap_or(0);
                Timestamp(ms)
            }
            Source::Virtual(ms) => Timestamp(ms.load(Ordering::SeqCst)),
        }
    }

    /// Set a virtual clock to `at` (also backwards). Returns false (and does nothing) on the
    /// real clock.
    pub fn set(&self, at: Timestamp) -> bool {
        match &*self.0 {
            Source::Real => false,
            Source::Virtual(ms) => {
                ms.store(at.millis(), Ordering::SeqCst);
                true
            }
        }
    }

    /// Move a virtual clock forward. Returns false (and does nothing) on the real clock.
    pub fn advance(&self, by: Duration) -> bool {
        match &*self.0 {
            Source::Real => false,
            Source::Virtual(ms) => {
                let step = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
                ms.fetch_add(step, Ordering::SeqCst);
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn virtual_clock_moves_only_when_advanced() {
        let c = Clock::virtual_at(VIRTUAL_EPOCH);
        let shared = c.clone();
        assert_eq!(c.now(), VIRTUAL_EPOCH);
        assert!(shared.advance(Duration::from_millis(1500)));
        assert_eq!(c.now(), VIRTUAL_EPOCH.plus_millis(1500));
    }

    #[test]
    fn real_clock_cannot_be_advanced() {
        let c = Clock::real();
        assert!(!c.advance(Duration::from_secs(1)));
        assert!(c.now().millis() > VIRTUAL_EPOCH.millis());
    }
}
