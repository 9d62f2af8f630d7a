//! The content plane's checksum computation: the engine sees it as a [`PrepareRead`]; the
//! download that outruns it waits for it here.

use std::any::Any;
use std::sync::{Arc, OnceLock};

use tokio::sync::Notify;

use crate::engine::prepare::PrepareRead;

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

impl PrepareRead for ChecksumJob {
    fn result(&self) -> Option<&Result<String, String>> {
        ChecksumJob::result(self)
    }

    fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
        self
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
