//! What preparing a file does besides waiting: reading it once to compute its checksum.
//!
//! The contract describes PREPARING as the server's own transfer of the file (`bytes_transferred`
//! "while preparing") and says the checksum "is always calculated"; vCenter reads the file from
//! its datastore at that point. dlsim does the same: a prepare request starts a read through
//! the engine's [`Preparer`] (the content plane), so the checksum is ready before the first
//! byte is served and serving never pays for hashing. The engine only looks at the read's
//! [`PrepareRead::result`]; how a read runs and how one waits for it is the content plane's.
//!
//! With [`super::PrepareTiming::wait_for_checksum`] on, a file stays PREPARING until its read
//! is done (and goes to ERROR if the file cannot be read). The server turns it off under a
//! virtual clock (see `server::prepare_timing_for`), so statuses follow virtual time alone and
//! runs stay replayable. Either way a download that outruns its read waits for it at its last
//! byte, so `checksum_info` is there once it ends.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use super::Download;

/// Starts the read that preparing a file implies.
pub trait Preparer: Send + Sync + fmt::Debug {
    /// Start computing the checksum of `file` (or join the computation already under way or
    /// done for the same content). `None` when checksums are off.
    fn prepare(&self, file: &Download) -> Option<Arc<dyn PrepareRead>>;
}

/// One checksum computation as the engine sees it: pending, then a lowercase hex checksum or
/// why the file could not be read.
pub trait PrepareRead: Send + Sync + fmt::Debug {
    /// The result, if the computation has finished.
    fn result(&self) -> Option<&Result<String, String>>;

    /// This read as its own type, for the [`Preparer`] that made it (the engine never looks).
    fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync>;
}
