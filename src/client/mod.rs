//! `dlsim download`: a reference client that runs one whole download session over `/api`,
//! `/rest` or JSON-RPC ([`DownloadOptions::form`]; every request is written by [`forms`]).
//!
//! It logs in, creates a session for one library item, prepares every file and polls until
//! each is PREPARED (or ERROR, or a timeout), keeps the session alive with its progress while
//! it works, streams each file to disk, verifies status, length, the size the server reports
//! afterwards and the checksum (recomputed from the file on disk), then reports progress 100,
//! deletes the session and logs out. On any failure it fails the session with the error
//! message and deletes it. It uses none of dlsim's model, wire or engine types, so it can be
//! pointed at a real vCenter too.
//!
//! It is a *careful* client, meant to pass client verification under every shelf scenario:
//! - every API call waits out a 503 or 429 for its `Retry-After`, retries after a connection
//!   error, and logs in again after a 401 (see [`api`] and [`RetryPolicy`]);
//! - a cut download is resumed with `Range: bytes=<have>-` (a bounded number of times);
//! - the keep-alive interval is at most a third of the session's idle time, learned from its
//!   `expiration_time` right after create;
//! - the session's state is polled with its files, and no file is asked about more often
//!   than once per poll interval; a file or session in ERROR stops the polling at once;
//! - a session that vanished (NOT_FOUND) is given up and started over once;
//! - whatever happens, the session is deleted (failed first, when it still can be) and the
//!   client logs out.
//!
//! Its entry point is [`run`], exported as `dlsim::download` (with its runnable example).

pub mod api;
mod error;
pub mod forms;
#[cfg(feature = "cli")]
pub mod progress;
pub mod tls;

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::Url;
use tokio::io::{AsyncSeekExt, AsyncWriteExt};
use tokio::time::Instant;

use crate::content::checksum::Hasher;
pub use api::RetryPolicy;
use api::{presented, Api, FileInfo, Http};
pub use error::ClientError;
pub use forms::Form;
use tls::Pin;
pub use tls::{Thumbprint, Thumbprints};

/// How [`download`](crate::download) checks the server's TLS certificate: the `tls` field of
/// [`DownloadOptions`](crate::DownloadOptions) and of [`CheckOptions`](crate::CheckOptions).
///
/// The policy applies to the API connection. A download connection is pinned to the
/// certificate or thumbprint the server reports for the file's endpoint, and falls back to
/// this policy when it reports neither. A fake started with
/// [`DlsimBuilder::tls`](crate::DlsimBuilder::tls) has a self-signed certificate, so the
/// default [`Verify`](TlsPolicy::Verify) refuses it and a pinned thumbprint accepts it:
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// # let library: dlsim::LibrarySpec = toml::from_str(
/// #     "name = \"isos\"\n[[items]]\nname = \"alpine\"\nfiles = [{ name = \"alpine.iso\", size = 4096 }]",
/// # ).unwrap();
/// use dlsim::{DownloadError, TlsPolicy};
/// let fake = dlsim::Dlsim::builder().libraries(vec![library]).tls().start().await;
/// let sha256 = fake.certificate().unwrap().sha256.clone();
/// let item = fake.item_ids(&fake.library_ids()[0]).unwrap()[0].clone();
/// let mut opts =
///     dlsim::DownloadOptions::new(fake.base_url(), fake.username(), fake.password(), &item);
/// # let dir = tempfile::tempdir().unwrap();
/// # opts.output_dir = dir.path().to_path_buf();
/// # opts.poll_interval = std::time::Duration::from_millis(10);
/// assert_eq!(opts.tls, TlsPolicy::Verify);
/// let err = dlsim::download(&opts, |_event| {}).await.unwrap_err();
/// assert!(matches!(err, DownloadError::Transport { .. }), "{err}");
///
/// opts.tls = TlsPolicy::Thumbprint(sha256.clone());
/// let report = dlsim::download(&opts, |_event| {}).await.unwrap();
/// assert_eq!(report.api_certificate.unwrap().sha256, sha256);
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum TlsPolicy {
    /// Platform (WebPKI) verification.
    #[default]
    Verify,
    /// Accept any certificate (`--insecure`).
    Insecure,
    /// Accept exactly the certificate with this SHA-1 or SHA-256 thumbprint (`--thumbprint`).
    Thumbprint(String),
}

/// What [`download`](crate::download) fetches, from where, and how patiently.
///
/// Start from [`DownloadOptions::new`] (the defaults of `dlsim download`) and set the public
/// fields you need. In tests against a fake, a short [`poll_interval`](Self::poll_interval)
/// keeps the run fast, and [`output_dir`](Self::output_dir) is best a temporary directory:
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use std::time::Duration;
/// use dlsim::{DownloadOptions, Form, TlsPolicy};
///
/// let mut opts = DownloadOptions::new("https://vc.example", "user", "secret", "item-id");
/// assert_eq!(opts.form, Form::Api);
/// assert_eq!(opts.tls, TlsPolicy::Verify);
/// assert_eq!(opts.output_dir, std::path::PathBuf::from("."));
/// assert_eq!(opts.poll_interval, Duration::from_secs(1));
/// assert_eq!(opts.prepare_timeout, Duration::from_secs(300));
///
/// opts.form = Form::JsonRpc;
/// opts.poll_interval = Duration::from_millis(10);
/// opts.retry.attempts = 1;
///
/// // Options that cannot work are refused before anything is sent.
/// opts.keep_alive_interval = Duration::ZERO;
/// let err = dlsim::download(&opts, |_event| {}).await.unwrap_err();
/// assert!(matches!(err, dlsim::DownloadError::Setup(_)), "{err}");
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct DownloadOptions {
    /// `https://host[:port]`, with or without a trailing `/api`.
    pub base_url: String,
    /// The user to log in as.
    pub username: String,
    /// That user's password.
    pub password: String,
    /// The id of the library item whose files are downloaded.
    pub item_id: String,
    /// The wire form the API calls use (`/api` by default).
    pub form: Form,
    /// Files are written here as `<dir>/<file name>` (created if missing).
    pub output_dir: PathBuf,
    /// How the server's certificate is checked (see [`TlsPolicy`](crate::TlsPolicy)).
    pub tls: TlsPolicy,
    /// How often to ask whether a file is prepared.
    pub poll_interval: Duration,
    /// How long all files together may take to become PREPARED.
    pub prepare_timeout: Duration,
    /// How often to send keep-alive (with progress) while working, at most: a session that
    /// would expire sooner is kept alive every third of its idle time.
    pub keep_alive_interval: Duration,
    /// How patiently calls and downloads are retried.
    pub retry: RetryPolicy,
}

impl DownloadOptions {
    /// Options with the command's defaults: the `/api` form, output `.`, platform TLS
    /// verification, polling every second, 300 s to prepare, keep-alive every 60 s, the
    /// default [`RetryPolicy`](crate::RetryPolicy).
    pub fn new(base_url: &str, username: &str, password: &str, item_id: &str) -> Self {
        DownloadOptions {
            base_url: base_url.to_string(),
            username: username.to_string(),
            password: password.to_string(),
            item_id: item_id.to_string(),
            form: Form::Api,
            output_dir: PathBuf::from("."),
            tls: TlsPolicy::Verify,
            poll_interval: Duration::from_secs(1),
            prepare_timeout: Duration::from_secs(300),
            keep_alive_interval: Duration::from_secs(60),
            retry: RetryPolicy::default(),
        }
    }
}

/// What [`download`](crate::download) is doing, told to its `progress` callback as it
/// happens (for progress bars and logs).
///
/// The event borrows from the client, so keep what you need as owned values:
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// # let library: dlsim::LibrarySpec = toml::from_str(
/// #     "name = \"isos\"\n[[items]]\nname = \"alpine\"\nfiles = [{ name = \"alpine.iso\", size = 4096 }]",
/// # ).unwrap();
/// use std::sync::Mutex;
/// use dlsim::DownloadEvent;
///
/// let fake = dlsim::Dlsim::builder().libraries(vec![library]).start().await;
/// let item = fake.item_ids(&fake.library_ids()[0]).unwrap()[0].clone();
/// let mut opts =
///     dlsim::DownloadOptions::new(fake.base_url(), fake.username(), fake.password(), &item);
/// # let dir = tempfile::tempdir().unwrap();
/// # opts.output_dir = dir.path().to_path_buf();
/// # opts.poll_interval = std::time::Duration::from_millis(10);
/// let seen = Mutex::new(Vec::new());
/// let report = dlsim::download(&opts, |event| {
///     let line = match event {
///         DownloadEvent::LoggedIn { .. } => "logged in".to_string(),
///         DownloadEvent::Status { file, status } => format!("{file} {status}"),
///         DownloadEvent::Verified { file, algorithm, .. } => format!("{file} {algorithm} ok"),
///         _ => return,
///     };
///     seen.lock().unwrap().push(line);
/// })
/// .await
/// .unwrap();
/// assert_eq!(
///     seen.into_inner().unwrap(),
///     ["logged in", "alpine.iso PREPARED", "alpine.iso SHA1 ok"]
/// );
/// assert!(report.all_verified());
/// # }
/// ```
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum Event<'a> {
    /// The client logged in.
    LoggedIn {
        /// The `/api` URL it talks to.
        api_url: &'a str,
        /// The certificate the API connection presented (TLS only).
        certificate: Option<&'a Thumbprints>,
    },
    /// The download session was created.
    SessionCreated {
        /// The new session's id.
        session_id: &'a str,
    },
    /// A file's prepare status: the one `prepare` answered, then each change.
    Status {
        /// The file's name.
        file: &'a str,
        /// Its new status, as the server spells it (`PREPARING`, `PREPARED`, ...).
        status: &'a str,
    },
    /// A file's download began.
    DownloadStarted {
        /// The file's name.
        file: &'a str,
        /// The size the server announced, if it did.
        size: Option<u64>,
    },
    /// Bytes of `file` received so far.
    Progress {
        /// The file's name.
        file: &'a str,
        /// Bytes received so far.
        bytes: u64,
    },
    /// A file's checksum, recomputed from the file on disk, matches the server's.
    Verified {
        /// The file's name.
        file: &'a str,
        /// The checksum algorithm (`SHA1`, `MD5`, `SHA256` or `SHA512`).
        algorithm: &'a str,
        /// The checksum, as the server reported it.
        checksum: &'a str,
    },
    /// Something went wrong that does not decide the outcome (a keep-alive or cleanup call).
    Warning {
        /// What went wrong.
        message: &'a str,
    },
}

/// One downloaded and verified file, in [`DownloadReport::files`](crate::DownloadReport::files).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// # let library: dlsim::LibrarySpec = toml::from_str(
/// #     "name = \"isos\"\n[[items]]\nname = \"alpine\"\nfiles = [{ name = \"alpine.iso\", size = 4096 }]",
/// # ).unwrap();
/// let fake = dlsim::Dlsim::builder().libraries(vec![library]).start().await;
/// # let item = fake.item_ids(&fake.library_ids()[0]).unwrap()[0].clone();
/// # let dir = tempfile::tempdir().unwrap();
/// # let mut opts =
/// #     dlsim::DownloadOptions::new(fake.base_url(), fake.username(), fake.password(), &item);
/// # opts.output_dir = dir.path().to_path_buf();
/// # opts.poll_interval = std::time::Duration::from_millis(10);
/// let report = dlsim::download(&opts, |_event| {}).await.unwrap();
/// let file = &report.files[0];
/// assert_eq!(file.name, "alpine.iso");
/// assert_eq!(file.bytes, 4096);
/// assert_eq!(std::fs::metadata(&file.path).unwrap().len(), 4096);
/// assert_eq!(file.algorithm, "SHA1");
/// assert_eq!(file.checksum, file.computed);
/// assert!(file.verified);
/// assert!(file.uri.starts_with(fake.base_url()));
/// assert!(file.certificate.is_none(), "the fake serves plain HTTP");
/// assert_eq!(file.trust, "plain HTTP");
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct FileReport {
    /// The file's name in the library item.
    pub name: String,
    /// Where it was written (`<output_dir>/<name>`).
    pub path: PathBuf,
    /// How many bytes were written.
    pub bytes: u64,
    /// The algorithm of the server's `checksum_info` (`SHA1` when it left it unset).
    pub algorithm: String,
    /// The checksum the server reported.
    pub checksum: String,
    /// The checksum recomputed from the file on disk.
    pub computed: String,
    /// Whether the two checksums match (always true in a report: a mismatch is an error).
    pub verified: bool,
    /// The download URI the server gave for the file.
    pub uri: String,
    /// The certificate the download connection presented (TLS only).
    pub certificate: Option<Thumbprints>,
    /// How that certificate was checked, in words (`plain HTTP` without TLS).
    pub trust: String,
}

/// What a successful [`download`](crate::download) did: the files it wrote and verified, the
/// session it used, and what it had to retry on the way.
///
/// A run that does not complete returns a [`DownloadError`](crate::DownloadError) instead.
/// Here the first `create` is answered 503 once, and the client waits it out:
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// # let library: dlsim::LibrarySpec = toml::from_str(
/// #     "name = \"isos\"\n[[items]]\nname = \"alpine\"\nfiles = [{ name = \"alpine.iso\", size = 4096 }]",
/// # ).unwrap();
/// let fake = dlsim::Dlsim::builder().libraries(vec![library]).start().await;
/// # let item = fake.item_ids(&fake.library_ids()[0]).unwrap()[0].clone();
/// # let dir = tempfile::tempdir().unwrap();
/// # let mut opts =
/// #     dlsim::DownloadOptions::new(fake.base_url(), fake.username(), fake.password(), &item);
/// # opts.output_dir = dir.path().to_path_buf();
/// # opts.poll_interval = std::time::Duration::from_millis(10);
/// use dlsim::{Fault, OpName, What};
/// fake.add_fault(
///     Fault::new(What::HttpError { status: 503, retry_after_secs: Some(0) })
///         .on(OpName::Create)
///         .call(1),
/// );
/// let report = dlsim::download(&opts, |_event| {}).await.unwrap();
/// assert!(report.all_verified());
/// assert_eq!(report.total_bytes(), 4096);
/// assert_eq!(report.item_id, item);
/// assert!(report.session_deleted);
/// assert!(report.warnings.is_empty());
/// assert_eq!(report.retries.len(), 1, "{:?}", report.retries);
/// assert!(report.summary().contains("alpine.iso"));
/// assert_eq!(fake.session_count(), 0);
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Report {
    /// The `/api` URL the client talked to.
    pub api_url: String,
    /// The library item downloaded.
    pub item_id: String,
    /// The download session used (the last one, if a lost session was started over).
    pub session_id: String,
    /// The certificate the API connection presented (TLS only).
    pub api_certificate: Option<Thumbprints>,
    /// Every file of the item, in the order the server listed them.
    pub files: Vec<FileReport>,
    /// Whether the final `delete` of the session succeeded.
    pub session_deleted: bool,
    /// Keep-alive and cleanup calls that failed without deciding the outcome, and a session
    /// that was lost and started over.
    pub warnings: Vec<String>,
    /// What was retried (a 503, a connection error, a login again, a resumed download) and why.
    pub retries: Vec<String>,
}

impl Report {
    /// Whether every file's checksum was verified.
    pub fn all_verified(&self) -> bool {
        self.files.iter().all(|f| f.verified)
    }

    /// The bytes of all files together.
    pub fn total_bytes(&self) -> u64 {
        self.files.iter().map(|f| f.bytes).sum()
    }

    /// A per-file summary for humans (one line per file, then the certificates).
    pub fn summary(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "item {}: {} file(s), {} bytes, download session {} ({})",
            self.item_id,
            self.files.len(),
            self.total_bytes(),
            self.session_id,
            if self.session_deleted {
                "deleted"
            } else {
                "NOT deleted"
            }
        );
        let width = self.files.iter().map(|f| f.name.len()).max().unwrap_or(0);
        for f in &self.files {
            let _ = writeln!(
                out,
                "  {:<width$}  {:>12} bytes  {:<6}  {}  {}",
                f.name,
                f.bytes,
                f.algorithm,
                f.checksum,
                if f.verified {
                    "verified"
                } else {
                    "NOT VERIFIED"
                },
            );
        }
        match &self.api_certificate {
            Some(c) => {
                let _ = writeln!(out, "API certificate ({}): {c}", self.api_url);
            }
            None => {
                let _ = writeln!(out, "API connection ({}): no TLS", self.api_url);
            }
        }
        for f in &self.files {
            if let Some(c) = &f.certificate {
                let _ = writeln!(out, "  {}: certificate {c}, {}", f.name, f.trust);
            }
        }
        if !self.retries.is_empty() {
            let _ = writeln!(out, "retried {} time(s):", self.retries.len());
            for r in &self.retries {
                let _ = writeln!(out, "  {r}");
            }
        }
        out
    }
}

/// Download every file of one library item the careful way, as `dlsim download` does, and
/// verify each one.
///
/// It logs in, creates a download session, prepares the files and polls until they are
/// PREPARED, keeps the session alive, streams each file into
/// [`output_dir`](crate::DownloadOptions::output_dir) (resuming a cut transfer), checks
/// length, size and checksum, then deletes the session and logs out. Busy answers (503, 429),
/// connection errors and an expired login are retried as the
/// [`RetryPolicy`](crate::RetryPolicy) allows. Whatever fails, the session is failed and
/// deleted before the [`DownloadError`](crate::DownloadError) is returned.
///
/// `progress` hears each [`DownloadEvent`](crate::DownloadEvent). Point it at a
/// [`Dlsim`](crate::Dlsim) to see how a careful client behaves, or at a real vCenter.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// # let library: dlsim::LibrarySpec = toml::from_str(
/// #     "name = \"isos\"\n[[items]]\nname = \"alpine\"\nfiles = [{ name = \"alpine.iso\", size = 4096 }]",
/// # ).unwrap();
/// let fake = dlsim::Dlsim::builder().libraries(vec![library]).start().await;
/// let item = fake.item_ids(&fake.library_ids()[0]).unwrap()[0].clone();
/// let dir = tempfile::tempdir().unwrap();
/// let mut opts =
///     dlsim::DownloadOptions::new(fake.base_url(), fake.username(), fake.password(), &item);
/// opts.output_dir = dir.path().to_path_buf();
/// opts.poll_interval = std::time::Duration::from_millis(10);
///
/// let events = std::sync::atomic::AtomicUsize::new(0);
/// let report = dlsim::download(&opts, |_event| {
///     events.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
/// })
/// .await
/// .unwrap();
/// assert!(report.all_verified());
/// assert!(events.into_inner() > 0);
/// assert!(dir.path().join("alpine.iso").exists());
/// // The session was deleted and the client logged out, as the fake's journal shows.
/// assert_eq!(fake.session_count(), 0);
/// assert_eq!(fake.journal().last().unwrap().op, Some(dlsim::OpName::Logout));
/// # }
/// ```
pub async fn run<F>(opts: &DownloadOptions, progress: F) -> Result<Report, ClientError>
where
    F: Fn(Event<'_>),
{
    run_until(opts, progress, std::future::pending()).await
}

/// Like [`download`](crate::download), but stops with
/// [`DownloadError::Interrupted`](crate::DownloadError::Interrupted) when `interrupt` completes
/// (e.g. on Ctrl-C), after failing and deleting the session.
///
/// Here the run is interrupted as soon as its session exists:
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// # let library: dlsim::LibrarySpec = toml::from_str(
/// #     "name = \"isos\"\n[[items]]\nname = \"alpine\"\nfiles = [{ name = \"alpine.iso\", size = 4096 }]",
/// # ).unwrap();
/// let fake = dlsim::Dlsim::builder().libraries(vec![library]).start().await;
/// # let item = fake.item_ids(&fake.library_ids()[0]).unwrap()[0].clone();
/// # let dir = tempfile::tempdir().unwrap();
/// # let mut opts =
/// #     dlsim::DownloadOptions::new(fake.base_url(), fake.username(), fake.password(), &item);
/// # opts.output_dir = dir.path().to_path_buf();
/// # opts.poll_interval = std::time::Duration::from_millis(10);
/// use dlsim::{DownloadError, DownloadEvent, OpName};
/// let stop = tokio::sync::Notify::new();
/// let result = dlsim::download_until(
///     &opts,
///     |event| {
///         if let DownloadEvent::SessionCreated { .. } = event {
///             stop.notify_one();
///         }
///     },
///     stop.notified(),
/// )
/// .await;
/// assert!(matches!(result, Err(DownloadError::Interrupted)));
/// // The session was failed, then deleted.
/// assert_eq!(fake.session_count(), 0);
/// let ops: Vec<_> = fake.journal().iter().filter_map(|e| e.op).collect();
/// assert!(ops.ends_with(&[OpName::Fail, OpName::Delete, OpName::Logout]), "{ops:?}");
/// # }
/// ```
pub async fn run_until<F, I>(
    opts: &DownloadOptions,
    progress: F,
    interrupt: I,
) -> Result<Report, ClientError>
where
    F: Fn(Event<'_>),
    I: Future<Output = ()>,
{
    for (name, d) in [
        ("poll interval", opts.poll_interval),
        ("keep-alive interval", opts.keep_alive_interval),
    ] {
        if d.is_zero() {
            return Err(ClientError::Setup(format!("the {name} must not be zero")));
        }
    }
    let api_url = api::api_url(&opts.base_url)?;
    let pin = match &opts.tls {
        TlsPolicy::Verify => None,
        TlsPolicy::Insecure => Some(Pin::Any),
        TlsPolicy::Thumbprint(t) => Some(Pin::Thumbprint(Thumbprint::parse(t)?)),
    };
    let api = Api::new(api_url, Http::new(pin)?)
        .with_form(opts.form)
        .with_retry(opts.retry);
    tokio::pin!(interrupt);

    let api_certificate = tokio::select! {
        biased;
        _ = &mut interrupt => return Err(ClientError::Interrupted),
        r = api.login(&opts.username, &opts.password) => r?,
    };
    let api_url = api.url();
    progress(Event::LoggedIn {
        api_url: &api_url,
        certificate: api_certificate.as_ref(),
    });

    let warnings = Mutex::new(Vec::<String>::new());
    let warn = |message: String| {
        progress(Event::Warning { message: &message });
        warnings
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(message);
    };

    // A session lost (NOT_FOUND, as after a server restart) is started over, once.
    let mut restarted = false;
    let result = loop {
        match one_session(&api, opts, &progress, &warn, interrupt.as_mut()).await {
            Err(e @ ClientError::SessionLost { .. }) if !restarted => {
                restarted = true;
                warn(format!("{e}; starting over with a new session"));
            }
            r => break r,
        }
    };
    if let Err(e) = api.logout().await {
        warn(e.to_string());
    }
    let retries = api.take_notes();
    let (session_id, files, session_deleted) = result?;
    Ok(Report {
        api_url,
        item_id: opts.item_id.clone(),
        session_id,
        api_certificate,
        files,
        session_deleted,
        warnings: warnings.into_inner().unwrap_or_else(|p| p.into_inner()),
        retries,
    })
}

/// Create a session, do the work, and end the session whatever happened: on success report
/// progress 100 and delete it; on failure fail it (when it can still be failed) and delete
/// it, once. Returns the session, its files and whether the delete succeeded.
async fn one_session<F, I>(
    api: &Api,
    opts: &DownloadOptions,
    progress: &F,
    warn: &dyn Fn(String),
    mut interrupt: std::pin::Pin<&mut I>,
) -> Result<(String, Vec<FileReport>, bool), ClientError>
where
    F: Fn(Event<'_>),
    I: Future<Output = ()>,
{
    // Not raced with `interrupt`: an interrupted create would leave a session we cannot name.
    let client_token = tls::random_uuid()?;
    let session_id = api.create_session(&opts.item_id, &client_token).await?;
    progress(Event::SessionCreated {
        session_id: &session_id,
    });

    let shared = Arc::new(Shared::default());
    let outcome = match keep_alive_every(api, &session_id, opts.keep_alive_interval, warn).await {
        Err(e) => Err(e),
        Ok(every) => {
            let keeper = KeepAlive::start(api.clone(), session_id.clone(), every, shared.clone());
            let job = Job {
                api,
                session: &session_id,
                opts,
                progress,
                shared: &shared,
            };
            let outcome = tokio::select! {
                biased;
                _ = &mut interrupt => Err(ClientError::Interrupted),
                r = work(&job) => r,
            };
            keeper.stop().await;
            outcome
        }
    };
    for w in shared.take_warnings() {
        warn(w);
    }

    match outcome {
        Ok(files) => {
            if let Err(e) = api.keep_alive(&session_id, 100).await {
                warn(e.to_string());
            }
            let deleted = match api.delete_session(&session_id).await {
                Ok(true) => true,
                Ok(false) => {
                    warn(format!("download session {session_id} was already gone"));
                    false
                }
                Err(e) => {
                    warn(e.to_string());
                    false
                }
            };
            Ok((session_id, files, deleted))
        }
        Err(e) => {
            // A session gone or already ended by the server cannot be failed: only deleted.
            if !matches!(
                e,
                ClientError::SessionLost { .. } | ClientError::SessionFailed { .. }
            ) {
                let message = match &e {
                    ClientError::Interrupted => "dlsim download was interrupted".to_string(),
                    e => format!("dlsim download: {e}"),
                };
                if let Err(w) = api.fail(&session_id, &message).await {
                    warn(format!("could not fail the session: {w}"));
                }
            }
            if let Err(w) = api.delete_session(&session_id).await {
                warn(format!("could not delete the session: {w}"));
            }
            Err(e)
        }
    }
}

/// The shortest keep-alive interval learned from a session's expiration time.
const MIN_KEEP_ALIVE: Duration = Duration::from_millis(100);

/// How often to keep `session` alive: see [`keep_alive_interval`], with the session's
/// `expiration_time` read now, right after create. A session that is gone or not ACTIVE is
/// an error; any other failure to read it, a warning (and the configured interval).
async fn keep_alive_every(
    api: &Api,
    session: &str,
    configured: Duration,
    warn: &dyn Fn(String),
) -> Result<Duration, ClientError> {
    let info = match api.get_session(session).await {
        Ok(info) => info,
        Err(e @ ClientError::SessionLost { .. }) => return Err(e),
        Err(e) => {
            warn(format!("cannot read the session's expiration time: {e}"));
            return Ok(configured);
        }
    };
    session_active(session, &info)?;
    Ok(keep_alive_interval(
        configured,
        info.expiration_time.as_deref(),
        time::OffsetDateTime::now_utc(),
    ))
}

/// The configured interval, or a third of the time left until `expiration` (RFC 3339) when
/// that is shorter (but not under [`MIN_KEEP_ALIVE`]). An expiration that makes no sense on
/// this machine's clock (past, more than a day away, unreadable) is ignored.
fn keep_alive_interval(
    configured: Duration,
    expiration: Option<&str>,
    now: time::OffsetDateTime,
) -> Duration {
    let left = expiration.and_then(|t| {
        let at =
            time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()?;
        let left = at - now;
        (left.is_positive() && left <= time::Duration::DAY)
            .then(|| Duration::try_from(left).ok())
            .flatten()
    });
    match left {
        Some(left) => configured.min(left / 3).max(MIN_KEEP_ALIVE),
        None => configured,
    }
}

/// [`ClientError::SessionFailed`] unless the session is ACTIVE (or says nothing).
fn session_active(session: &str, info: &api::SessionInfo) -> Result<(), ClientError> {
    match info.state.as_deref() {
        None | Some("ACTIVE") => Ok(()),
        Some(state) => Err(ClientError::SessionFailed {
            session: session.to_string(),
            state: state.to_string(),
            message: info
                .error_message
                .as_ref()
                .map(api::Message::text)
                .unwrap_or_else(|| "the server gave no error_message".into()),
        }),
    }
}

/// What the keep-alive task shares with the run.
#[derive(Debug, Default)]
struct Shared {
    /// Bytes received so far, over all files.
    done: AtomicU64,
    /// Sum of the prepared files' sizes (0 while unknown).
    total: AtomicU64,
    warnings: Mutex<Vec<String>>,
}

impl Shared {
    /// Percent of bytes downloaded, below 100 (the final keep-alive alone says 100).
    fn percent(&self) -> u64 {
        let total = self.total.load(Ordering::Relaxed);
        if total == 0 {
            return 0;
        }
        let done = self.done.load(Ordering::Relaxed);
        ((u128::from(done) * 100 / u128::from(total)) as u64).min(99)
    }

    fn take_warnings(&self) -> Vec<String> {
        std::mem::take(&mut *self.warnings.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// The background keep-alive: every interval, `keep-alive` with the progress so far. It
/// stops by itself once the session is gone or no longer ACTIVE (404, 400).
struct KeepAlive {
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl KeepAlive {
    fn start(api: Api, session: String, every: Duration, shared: Arc<Shared>) -> Self {
        let (stop, mut stopped) = tokio::sync::watch::channel(false);
        let task = tokio::spawn(async move {
            let mut sent = 0u64;
            loop {
                tokio::select! {
                    _ = stopped.changed() => return,
                    _ = tokio::time::sleep(every) => {}
                }
                // Never decreasing, even if the sizes were guessed low.
                sent = sent.max(shared.percent());
                if let Err(e) = api.keep_alive(&session, sent).await {
                    let over = matches!(
                        e,
                        ClientError::SessionLost { .. } | ClientError::Api { status: 400, .. }
                    ) || e.is_error(400, "NOT_ALLOWED_IN_CURRENT_STATE");
                    shared
                        .warnings
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push(e.to_string());
                    if over {
                        return;
                    }
                }
            }
        });
        KeepAlive { stop, task }
    }

    /// Stop after any keep-alive in flight has been answered (so none overtakes the final one).
    async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// Whether a file name is safe to create inside the output directory.
pub fn is_safe_file_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && !name.contains(['/', '\\'])
        && !name.chars().any(char::is_control)
}

/// What every step of one session's work needs.
struct Job<'a, F> {
    api: &'a Api,
    session: &'a str,
    opts: &'a DownloadOptions,
    progress: &'a F,
    shared: &'a Shared,
}

/// List, prepare, and download every file; any error stops the work.
async fn work<F: Fn(Event<'_>)>(job: &Job<'_, F>) -> Result<Vec<FileReport>, ClientError> {
    let (api, session, opts) = (job.api, job.session, job.opts);
    let files = api.list_files(session).await?;
    let mut seen = HashSet::new();
    for f in &files {
        if !is_safe_file_name(&f.name) {
            return Err(ClientError::UnsafeFileName(f.name.clone()));
        }
        if !seen.insert(f.name.as_str()) {
            return Err(ClientError::DuplicateFileName(f.name.clone()));
        }
    }
    tokio::fs::create_dir_all(&opts.output_dir)
        .await
        .map_err(|e| io_error(&opts.output_dir, e))?;
    let mut pacer = Pacer::new(opts.poll_interval);
    let prepared = prepare_all(job, &files, &mut pacer).await?;
    let total: u64 = prepared
        .iter()
        .map(|f| f.size.and_then(|s| u64::try_from(s).ok()).unwrap_or(0))
        .sum();
    job.shared.total.store(total, Ordering::Relaxed);
    let mut downloaders = Downloaders::new(api.http.clone());
    let mut reports = Vec::new();
    for info in prepared {
        let report = download_one(job, info, &mut downloaders, &mut pacer).await?;
        reports.push(report);
    }
    Ok(reports)
}

/// Spaces the `File.get` calls of each file at least one poll interval apart, the polls while
/// it prepares and the read of its checksum after the download alike.
struct Pacer {
    every: Duration,
    last: HashMap<String, Instant>,
}

impl Pacer {
    fn new(every: Duration) -> Self {
        Pacer {
            every,
            last: HashMap::new(),
        }
    }

    /// Wait until `file` may be asked about again.
    async fn wait(&mut self, file: &str) {
        if let Some(&last) = self.last.get(file) {
            tokio::time::sleep_until(last + self.every).await;
        }
        self.last.insert(file.to_string(), Instant::now());
    }
}

/// [`ClientError::PrepareFailed`] for a file in ERROR.
fn prepare_failed(f: &FileInfo) -> ClientError {
    ClientError::PrepareFailed {
        file: f.name.clone(),
        message: f
            .error_message
            .as_ref()
            .map(api::Message::text)
            .unwrap_or_else(|| "the server gave no error_message".into()),
    }
}

/// Prepare every file, then poll the session and the files not yet PREPARED until all are;
/// a file in ERROR stops the polling at once, as do a session no longer ACTIVE and the
/// timeout.
async fn prepare_all<F: Fn(Event<'_>)>(
    job: &Job<'_, F>,
    files: &[FileInfo],
    pacer: &mut Pacer,
) -> Result<Vec<FileInfo>, ClientError> {
    let (api, session, opts, progress) = (job.api, job.session, job.opts, job.progress);
    let deadline = Instant::now() + opts.prepare_timeout;
    let mut infos = Vec::with_capacity(files.len());
    for f in files {
        let info = api.prepare(session, &f.name).await?;
        progress(Event::Status {
            file: &info.name,
            status: &info.status,
        });
        if info.status == "ERROR" {
            return Err(prepare_failed(&info));
        }
        infos.push(info);
    }
    loop {
        let pending: Vec<usize> = (0..infos.len())
            .filter(|&i| infos[i].status != "PREPARED")
            .collect();
        let Some(&first) = pending.first() else {
            return Ok(infos);
        };
        let now = Instant::now();
        if now >= deadline {
            return Err(ClientError::PrepareTimeout {
                file: infos[first].name.clone(),
                status: infos[first].status.clone(),
                seconds: opts.prepare_timeout.as_secs_f64(),
            });
        }
        tokio::time::sleep(opts.poll_interval.min(deadline - now)).await;
        session_active(session, &api.get_session(session).await?)?;
        for i in pending {
            pacer.wait(&infos[i].name).await;
            let info = api.get_file(session, &infos[i].name).await?;
            if info.status != infos[i].status {
                progress(Event::Status {
                    file: &info.name,
                    status: &info.status,
                });
            }
            if info.status == "ERROR" {
                return Err(prepare_failed(&info));
            }
            infos[i] = info;
        }
    }
}

/// HTTP clients for download connections, one per pin (so connections are reused).
struct Downloaders {
    api: Http,
    pinned: Vec<(Pin, Http)>,
}

impl Downloaders {
    fn new(api: Http) -> Self {
        Downloaders {
            api,
            pinned: Vec::new(),
        }
    }

    /// The client for an endpoint and how it checks the certificate: the endpoint's
    /// `ssl_certificate`, else its `ssl_certificate_thumbprint`, else the API's policy.
    fn for_endpoint(
        &mut self,
        url: &Url,
        endpoint: &api::Endpoint,
    ) -> Result<(Http, String), ClientError> {
        if url.scheme() != "https" {
            return Ok((self.api.clone(), "plain HTTP".into()));
        }
        let nonempty = |s: &Option<String>| s.clone().filter(|s| !s.trim().is_empty());
        let (pin, trust) = if let Some(pem) = nonempty(&endpoint.ssl_certificate) {
            (
                Pin::certificate_pem(&pem)?,
                "pinned to the endpoint's ssl_certificate".to_string(),
            )
        } else if let Some(t) = nonempty(&endpoint.ssl_certificate_thumbprint) {
            let t = Thumbprint::parse(&t).map_err(|e| ClientError::Protocol {
                context: format!("reading the endpoint of {url}"),
                message: format!("ssl_certificate_thumbprint: {e}"),
            })?;
            let trust = format!(
                "pinned to the endpoint's {} ssl_certificate_thumbprint",
                t.algorithm()
            );
            (Pin::Thumbprint(t), trust)
        } else {
            return Ok((
                self.api.clone(),
                "no endpoint thumbprint; checked as the API connection".into(),
            ));
        };
        if let Some((_, http)) = self.pinned.iter().find(|(p, _)| *p == pin) {
            return Ok((http.clone(), trust));
        }
        let http = Http::new(Some(pin.clone()))?;
        self.pinned.push((pin, http.clone()));
        Ok((http, trust))
    }
}

/// Removes a partly written or unverified file unless told to keep it.
struct PartialFile {
    path: PathBuf,
    keep: bool,
}

impl Drop for PartialFile {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

fn io_error(path: &Path, e: std::io::Error) -> ClientError {
    ClientError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

/// The algorithm a `checksum_info` names (`SHA1` when unset), and a hasher for it.
fn algorithm_of(file: &str, name: Option<&str>) -> Result<(String, Hasher), ClientError> {
    let name = name.unwrap_or("SHA1").trim().to_string();
    match Hasher::named(&name.to_ascii_uppercase()) {
        Some(h) => Ok((name, h)),
        None => Err(ClientError::UnknownAlgorithm {
            file: file.to_string(),
            algorithm: name,
        }),
    }
}

/// The checksum of a file on disk, read back on a blocking thread.
async fn checksum_of(path: &Path, mut h: Hasher) -> Result<String, ClientError> {
    let p = path.to_path_buf();
    let result = tokio::task::spawn_blocking(move || -> std::io::Result<String> {
        use std::io::Read;
        let mut f = std::fs::File::open(&p)?;
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = f.read(&mut buf)?;
            if n == 0 {
                return Ok(h.finish_hex());
            }
            h.update(&buf[..n]);
        }
    })
    .await
    .map_err(|e| ClientError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    result.map_err(|e| io_error(path, e))
}

/// Stream one PREPARED file to disk (resuming it when cut) and verify it.
async fn download_one<F: Fn(Event<'_>)>(
    job: &Job<'_, F>,
    info: FileInfo,
    downloaders: &mut Downloaders,
    pacer: &mut Pacer,
) -> Result<FileReport, ClientError> {
    let (api, session, progress) = (job.api, job.session, job.progress);
    let name = info.name.clone();
    let endpoint = info
        .download_endpoint
        .clone()
        .ok_or_else(|| ClientError::Protocol {
            context: format!("preparing {name}"),
            message: "the file is PREPARED but has no download_endpoint".into(),
        })?;
    let url = Url::parse(&endpoint.uri).map_err(|e| ClientError::Protocol {
        context: format!("preparing {name}"),
        message: format!("download_endpoint.uri {:?}: {e}", endpoint.uri),
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(ClientError::Protocol {
            context: format!("preparing {name}"),
            message: format!(
                "download_endpoint.uri {:?} is not HTTP(S) (an HTTPS endpoint was requested)",
                endpoint.uri
            ),
        });
    }
    let (http, trust) = downloaders.for_endpoint(&url, &endpoint)?;
    let path = job.opts.output_dir.join(&name);
    let mut out = tokio::fs::File::create(&path)
        .await
        .map_err(|e| io_error(&path, e))?;
    let mut guard = PartialFile {
        path: path.clone(),
        keep: false,
    };
    let mut target = Target {
        name: &name,
        path: &path,
        out: &mut out,
        have: 0,
        progress,
        shared: job.shared,
    };
    let fetched = fetch(api, &http, &url, info.size, &mut target).await;
    let (received, certificate) = match fetched {
        Ok(r) => r,
        Err(e) => return Err(why_refused(api, session, e).await),
    };
    drop(out);

    pacer.wait(&name).await;
    let after = api.get_file(session, &name).await?;
    if after.status == "ERROR" {
        return Err(ClientError::FileError {
            file: name,
            message: after
                .error_message
                .as_ref()
                .map(api::Message::text)
                .unwrap_or_else(|| "the server gave no error_message".into()),
        });
    }
    if after.size != i64::try_from(received).ok() {
        return Err(ClientError::SizeMismatch {
            file: name,
            reported: after.size,
            received,
        });
    }
    let info = after
        .checksum_info
        .ok_or_else(|| ClientError::NoChecksum { file: name.clone() })?;
    let (algorithm, a) = algorithm_of(&name, info.algorithm.as_deref())?;
    let computed = checksum_of(&path, a).await?;
    let expected = info.checksum.trim().to_string();
    if !computed.eq_ignore_ascii_case(&expected) {
        return Err(ClientError::ChecksumMismatch {
            file: name,
            algorithm,
            expected,
            actual: computed,
        });
    }
    guard.keep = true;
    progress(Event::Verified {
        file: &name,
        algorithm: &algorithm,
        checksum: &expected,
    });
    Ok(FileReport {
        name,
        path,
        bytes: received,
        algorithm,
        checksum: expected,
        computed,
        verified: true,
        uri: endpoint.uri,
        certificate,
        trust,
    })
}

/// A download URI refused (404 Not Found, 410 Gone): say why, when the session tells.
async fn why_refused(api: &Api, session: &str, e: ClientError) -> ClientError {
    if !matches!(
        e,
        ClientError::Api {
            status: 404 | 410,
            ..
        }
    ) {
        return e;
    }
    match api.get_session(session).await {
        Ok(info) => session_active(session, &info).err().unwrap_or(e),
        Err(lost @ ClientError::SessionLost { .. }) => lost,
        Err(_) => e,
    }
}

/// Where a download goes.
struct Target<'a, F> {
    name: &'a str,
    path: &'a Path,
    out: &'a mut tokio::fs::File,
    /// Bytes written so far.
    have: u64,
    progress: &'a F,
    shared: &'a Shared,
}

impl<F: Fn(Event<'_>)> Target<'_, F> {
    async fn write(&mut self, chunk: &[u8]) -> Result<(), ClientError> {
        self.out
            .write_all(chunk)
            .await
            .map_err(|e| io_error(self.path, e))?;
        self.have += chunk.len() as u64;
        self.shared
            .done
            .fetch_add(chunk.len() as u64, Ordering::Relaxed);
        (self.progress)(Event::Progress {
            file: self.name,
            bytes: self.have,
        });
        Ok(())
    }

    /// Throw away what was written (the server answered a resume with the whole file).
    async fn restart(&mut self) -> Result<(), ClientError> {
        self.out
            .set_len(0)
            .await
            .map_err(|e| io_error(self.path, e))?;
        self.out
            .seek(std::io::SeekFrom::Start(0))
            .await
            .map_err(|e| io_error(self.path, e))?;
        self.shared.done.fetch_sub(self.have, Ordering::Relaxed);
        self.have = 0;
        Ok(())
    }
}

/// `Content-Range: bytes <first>-<last>/<size>` → (first, size).
fn content_range(headers: &reqwest::header::HeaderMap) -> Option<(u64, u64)> {
    let v = headers.get(reqwest::header::CONTENT_RANGE)?.to_str().ok()?;
    let (range, size) = v.trim().strip_prefix("bytes ")?.split_once('/')?;
    let (first, _) = range.split_once('-')?;
    Some((first.trim().parse().ok()?, size.trim().parse().ok()?))
}

fn content_length(resp: &reqwest::Response) -> Option<u64> {
    resp.headers()
        .get(reqwest::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
}

/// Download `url` into `to` until its size is reached. A cut transfer (a connection error, or
/// a body shorter than announced) is resumed with `Range: bytes=<have>-`, and a 503 or 429
/// waited out for its `Retry-After`, each at most `attempts` times. Returns the bytes
/// received and the certificate the connection presented.
async fn fetch<F: Fn(Event<'_>)>(
    api: &Api,
    http: &Http,
    url: &Url,
    reported_size: Option<i64>,
    to: &mut Target<'_, F>,
) -> Result<(u64, Option<Thumbprints>), ClientError> {
    let retry = api.retry_policy();
    let context = format!("downloading {} from {url}", to.name);
    // The file's size as the server announced it.
    let mut size: Option<u64> = None;
    let mut certificate = None;
    let mut started = false;
    let (mut busy, mut cuts) = (0, 0);
    loop {
        api.pause().await;
        let mut req = http.client.get(url.clone());
        if to.have > 0 {
            req = req.header(reqwest::header::RANGE, format!("bytes={}-", to.have));
        }
        let cut = match http.send(req, &context).await {
            Err(e) if api::transient(&e) => e,
            Err(e) => return Err(e),
            Ok(mut resp) => {
                let status = resp.status().as_u16();
                if matches!(status, 429 | 503) && busy < retry.attempts {
                    let wait = api::retry_after(resp.headers()).unwrap_or(api::DEFAULT_RETRY_AFTER);
                    if wait <= retry.max_wait {
                        busy += 1;
                        api.note(format!(
                            "{context}: HTTP {status}, retrying after {:.2} s",
                            wait.as_secs_f64()
                        ));
                        api.hold_off(wait);
                        continue;
                    }
                }
                match (status, to.have) {
                    (200, have) => {
                        if have > 0 {
                            to.restart().await?;
                        }
                        size = content_length(&resp).or(size);
                    }
                    (206, have) if have > 0 => match content_range(resp.headers()) {
                        Some((first, total)) if first == have => size = Some(total),
                        _ => {
                            return Err(ClientError::Protocol {
                                context,
                                message: format!(
                                    "asked for bytes={have}-, answered 206 with Content-Range {:?}",
                                    resp.headers().get(reqwest::header::CONTENT_RANGE)
                                ),
                            })
                        }
                    },
                    _ => return Err(api::error_from(resp, &context).await),
                }
                if !started {
                    started = true;
                    certificate = presented(&resp);
                    (to.progress)(Event::DownloadStarted {
                        file: to.name,
                        size: size.or_else(|| reported_size.and_then(|s| u64::try_from(s).ok())),
                    });
                }
                match receive(&mut resp, &context, to).await? {
                    Some(cut) => cut,
                    None => match size {
                        Some(size) if to.have < size => ClientError::Transport {
                            context: context.clone(),
                            message: format!("the body ended at byte {} of {size}", to.have),
                        },
                        Some(size) if to.have > size => {
                            return Err(ClientError::LengthMismatch {
                                file: to.name.to_string(),
                                received: to.have,
                                announced: size,
                            })
                        }
                        _ => {
                            to.out.flush().await.map_err(|e| io_error(to.path, e))?;
                            return Ok((to.have, certificate));
                        }
                    },
                }
            }
        };
        cuts += 1;
        if cuts > retry.attempts {
            return Err(ClientError::DownloadIncomplete {
                file: to.name.to_string(),
                received: to.have,
                expected: size,
                attempts: cuts,
                last: cut.to_string(),
            });
        }
        api.note(format!(
            "{cut}; resuming at byte {} in {:.2} s",
            to.have,
            retry.backoff.as_secs_f64()
        ));
        tokio::time::sleep(retry.backoff).await;
    }
}

/// Write the body to `to`; `Ok(Some(cut))` when the connection failed before its end.
async fn receive<F: Fn(Event<'_>)>(
    resp: &mut reqwest::Response,
    context: &str,
    to: &mut Target<'_, F>,
) -> Result<Option<ClientError>, ClientError> {
    loop {
        match resp.chunk().await {
            Ok(Some(chunk)) => to.write(&chunk).await?,
            Ok(None) => return Ok(None),
            Err(e) => {
                return Ok(Some(ClientError::Transport {
                    context: context.to_string(),
                    message: error::chain(&e),
                }))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsafe_names_are_refused() {
        for bad in ["", ".", "..", "../x", "a/b", "a\\b", "x\0", "..\\evil"] {
            assert!(!is_safe_file_name(bad), "{bad:?}");
        }
        for good in ["photon-5.ovf", "a..b", ".hidden", "disk 1.vmdk"] {
            assert!(is_safe_file_name(good), "{good:?}");
        }
    }

    #[test]
    fn progress_stays_below_100_until_the_end() {
        let s = Shared::default();
        assert_eq!(s.percent(), 0);
        s.total.store(200, Ordering::Relaxed);
        s.done.store(50, Ordering::Relaxed);
        assert_eq!(s.percent(), 25);
        s.done.store(400, Ordering::Relaxed);
        assert_eq!(s.percent(), 99);
    }

    #[test]
    fn keep_alive_comes_every_third_of_the_time_left_at_most() {
        let now = time::macros::datetime!(2026-11-30 12:00:00 UTC);
        let every = |expiration: Option<&str>| {
            keep_alive_interval(Duration::from_secs(60), expiration, now)
        };
        // vCenter's 5 minutes: the configured minute is often enough.
        assert_eq!(
            every(Some("2026-11-30T12:05:00.000Z")),
            Duration::from_secs(60)
        );
        // A 2 s idle timeout: every 667 ms.
        assert_eq!(
            every(Some("2026-11-30T12:00:02Z")),
            Duration::from_nanos(666_666_666)
        );
        assert_eq!(every(Some("2026-11-30T12:00:00.100Z")), MIN_KEEP_ALIVE);
        // Nonsense on this clock (past, far away, unreadable, none): as configured.
        for nonsense in [
            Some("2026-11-30T11:59:00Z"),
            Some("2026-12-05T12:00:00Z"),
            Some("soon"),
            None,
        ] {
            assert_eq!(every(nonsense), Duration::from_secs(60), "{nonsense:?}");
        }
    }

    #[test]
    fn content_range_gives_the_first_byte_and_the_size() {
        let mut h = reqwest::header::HeaderMap::new();
        assert_eq!(content_range(&h), None);
        h.insert(
            reqwest::header::CONTENT_RANGE,
            "bytes 4096-9215/9216".parse().unwrap(),
        );
        assert_eq!(content_range(&h), Some((4096, 9216)));
        h.insert(
            reqwest::header::CONTENT_RANGE,
            "bytes */9216".parse().unwrap(),
        );
        assert_eq!(content_range(&h), None);
    }

    #[tokio::test(start_paused = true)]
    async fn polls_of_one_file_are_spaced_by_the_interval() {
        let mut pacer = Pacer::new(Duration::from_millis(150));
        let start = Instant::now();
        pacer.wait("a").await;
        pacer.wait("b").await;
        assert_eq!(start.elapsed(), Duration::ZERO, "other files do not wait");
        pacer.wait("a").await;
        assert_eq!(start.elapsed(), Duration::from_millis(150));
        tokio::time::sleep(Duration::from_millis(400)).await;
        pacer.wait("a").await;
        assert_eq!(
            start.elapsed(),
            Duration::from_millis(550),
            "no wait when due"
        );
    }

    #[test]
    fn unset_algorithm_means_sha1() {
        assert_eq!(algorithm_of("f", None).unwrap().0, "SHA1");
        let (name, mut h) = algorithm_of("f", Some("sha256")).unwrap();
        assert_eq!(name, "sha256");
        h.update(b"abc");
        assert_eq!(
            h.finish_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(algorithm_of("f", Some("CRC32")).is_err());
    }
}
