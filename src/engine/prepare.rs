//! What preparing a file does besides waiting: reading it once to compute its checksum.
//!
//! The contract describes PREPARING as the server's own transfer of the file (`bytes_transferred`
//! "while preparing") and says the checksum "is always calculated"; vCenter reads the file from
//! its datastore at that point. dlsim does the same: a prepare request starts a [`ChecksumJob`]
//! through the engine's [`Preparer`] (the content plane), so the checksum is ready before the
//! first byte is served and serving never pays for hashing.
//!
//! Under the real clock a file stays PREPARING until its job is done (and goes to ERROR if the
//! file cannot be read), unless `[prepare] wait_for_checksum` is off. Under a virtual clock
//! statuses follow virtual time alone, so runs stay replayable. Either way a download that
//! outruns its job waits for it at its last byte, so `checksum_info` is there once it ends.

use std::fmt;
use std::sync::{Arc, OnceLock};

use tokio::sync::Notify;

use super::Download;

/// Starts the read that preparing a file implies.
pub trait Preparer: Send + Sync + fmt::Debug {
    /// Start computing the checksum of `file` (or join the computation already under way or
    /// done for the same content). `None` when checksums are off.
    fn prepare(&self, file: &Download) -> Option<Arc<ChecksumJob>>;
}

/// One checksum computation: pending, then a lowercase hex checksum or why the file could not
/// be read.
#[derive(Debug, Default)]
pub struct ChecksumJob {
    result: OnceLock<Result<String, String>>,
    done: Notify,
}

impl ChecksumJob {
    /// The result, if the computation has finished.
    pub fn result(&self) -> Option<&Result<String, String>> {
        self.result.get()
    }

    /// Record the result (only the first one counts) and wake whoever waits.
    pub fn finish(&self, result: Result<String, String>) {
        let _ = self.result.set(result);
        self.done.notify_waiters();
    }

    /// Wait for the result.
    pub async fn wait(&self) -> Result<String, String> {
        loop {
            // Register before checking, so a finish in between is not missed.
            let notified = self.done.notified();
            if let Some(r) = self.result.get() {
                return r.clone();
            }
            notified.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn waiters_see_the_first_result() {
        let job = Arc::new(ChecksumJob::default());
        assert!(job.result().is_none());
        let waiter = tokio::spawn({
            let job = job.clone();
            async move { job.wait().await }
        });
        tokio::task::yield_now().await;
        let from_thread = job.clone();
        std::thread::spawn(move || from_thread.finish(Ok("abc".into())))
            .join()
            .unwrap();
        job.finish(Err("too late".into()));
        assert_eq!(waiter.await.unwrap(), Ok("abc".to_string()));
        assert_eq!(job.wait().await, Ok("abc".to_string()));
    }
}
