//! Why a download did not complete, in words a user can act on.

use super::tls::Thumbprints;

/// Why a [`download`](crate::download) did not complete. Its `Display` text says what
/// happened in words a user can act on; match the variants to test a client's failure modes.
///
/// Inject a fault into the fake to get a particular error; here the server's checksum does
/// not match the bytes it serves:
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
/// use dlsim::{DownloadError, Fault, What};
/// fake.add_fault(Fault::new(What::WrongChecksum));
/// let err = dlsim::download(&opts, |_event| {}).await.unwrap_err();
/// match &err {
///     DownloadError::ChecksumMismatch { file, expected, actual, .. } => {
///         assert_eq!(file, "alpine.iso");
///         assert_ne!(expected, actual);
///     }
///     other => panic!("unexpected error: {other}"),
/// }
/// assert!(err.to_string().contains("checksum mismatch"));
/// // The file was not kept, and the session was failed and deleted.
/// assert!(!dir.path().join("alpine.iso").exists());
/// assert_eq!(fake.session_count(), 0);
/// # }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The base URL is not an `http(s)://host[:port]` URL.
    #[error("invalid base URL {url:?}: {reason}")]
    BadUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The thumbprint of [`TlsPolicy::Thumbprint`](crate::TlsPolicy::Thumbprint) is not
    /// SHA-1 or SHA-256 hex.
    #[error("invalid thumbprint {thumbprint:?}: {reason}")]
    BadThumbprint {
        /// The thumbprint as given.
        thumbprint: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The options cannot work (a zero interval), or the HTTP client could not be built.
    #[error("cannot start: {0}")]
    Setup(String),
    /// The server answered with an error: an error status with (usually) an error body, or on
    /// JSON-RPC a vAPI error (with HTTP 200).
    #[error("{context}: {}{}", status_text(*.status), api_detail(.error_type, .message))]
    Api {
        /// What the client was doing.
        context: String,
        /// The HTTP status (200 for a JSON-RPC error).
        status: u16,
        /// The vAPI error type (`NOT_FOUND`, `SERVICE_UNAVAILABLE`, ...), if the body named one.
        error_type: Option<String>,
        /// The error's default message, if the body had one.
        message: Option<String>,
    },
    /// The connection failed (refused, reset, TLS, timeout...).
    #[error("{context}: {message}")]
    Transport {
        /// What the client was doing.
        context: String,
        /// The failure, with its causes.
        message: String,
    },
    /// A pinned connection was offered another certificate.
    #[error(
        "TLS certificate thumbprint mismatch on {context}: expected {expected}, the server presented {presented}"
    )]
    ThumbprintMismatch {
        /// What the client was doing.
        context: String,
        /// The pin, as text.
        expected: String,
        /// The certificate the server presented.
        presented: Thumbprints,
    },
    /// A response that does not follow the contract.
    #[error("{context}: unexpected response: {message}")]
    Protocol {
        /// What the client was doing.
        context: String,
        /// What is wrong with the response.
        message: String,
    },
    /// A file's preparation ended in ERROR.
    #[error("file {file:?} failed to prepare (status ERROR): {message}")]
    PrepareFailed {
        /// The file's name.
        file: String,
        /// The server's error message for it.
        message: String,
    },
    /// A file was not PREPARED within
    /// [`prepare_timeout`](crate::DownloadOptions::prepare_timeout).
    #[error("file {file:?} was not PREPARED within {seconds:.1} s (still {status})")]
    PrepareTimeout {
        /// The first file not yet prepared.
        file: String,
        /// Its last status.
        status: String,
        /// The timeout, in seconds.
        seconds: f64,
    },
    /// The server named a file that cannot safely be written (a path, `..`, or empty).
    #[error("refusing to write the file name {0:?} (it contains '/', '\\', '..' or control characters, or is empty)")]
    UnsafeFileName(String),
    /// The server listed one file name twice.
    #[error("the item lists the file name {0:?} twice")]
    DuplicateFileName(String),
    /// A local file or directory could not be written.
    #[error("{path}: {message}")]
    Io {
        /// The local path.
        path: String,
        /// The I/O error.
        message: String,
    },
    /// A download ended with fewer or more bytes than its `Content-Length`.
    #[error("{file}: received {received} bytes but Content-Length announced {announced}")]
    LengthMismatch {
        /// The file's name.
        file: String,
        /// Bytes received.
        received: u64,
        /// Bytes announced.
        announced: u64,
    },
    /// After the download the server reports another size than the bytes received.
    #[error("{file}: after the download the server reports size {}, but {received} bytes were received", .reported.map_or("none".to_string(), |s| s.to_string()))]
    SizeMismatch {
        /// The file's name.
        file: String,
        /// The size the server reports (none when it reports none).
        reported: Option<i64>,
        /// Bytes received.
        received: u64,
    },
    /// After a complete download the server reports no checksum to verify against.
    #[error("{file}: the server reports no checksum_info after a complete download")]
    NoChecksum {
        /// The file's name.
        file: String,
    },
    /// The server's checksum algorithm is not one the client knows.
    #[error(
        "{file}: unknown checksum algorithm {algorithm:?} (expected SHA1, MD5, SHA256 or SHA512)"
    )]
    UnknownAlgorithm {
        /// The file's name.
        file: String,
        /// The algorithm the server named.
        algorithm: String,
    },
    /// The checksum of the downloaded bytes is not the one the server reports.
    #[error("{file}: {algorithm} checksum mismatch: the server reports {expected}, the downloaded file has {actual}")]
    ChecksumMismatch {
        /// The file's name.
        file: String,
        /// The checksum algorithm.
        algorithm: String,
        /// The checksum the server reports.
        expected: String,
        /// The checksum of the downloaded file.
        actual: String,
    },
    /// A file that showed ERROR after its download.
    #[error("file {file:?} is in ERROR after its download: {message}")]
    FileError {
        /// The file's name.
        file: String,
        /// The server's error message for it.
        message: String,
    },
    /// A download cut more often than the retry policy allows.
    #[error("{file}: the transfer stopped at {received} of {} bytes and could not be resumed ({attempts} attempt(s)): {last}", .expected.map_or("?".to_string(), |s| s.to_string()))]
    DownloadIncomplete {
        /// The file's name.
        file: String,
        /// Bytes received in all.
        received: u64,
        /// The file's size, when known.
        expected: Option<u64>,
        /// How many times the transfer was cut.
        attempts: u32,
        /// The last cut, as text.
        last: String,
    },
    /// The download session is gone (NOT_FOUND), as after a server restart.
    #[error(
        "download session {session} is gone ({context}: NOT_FOUND); the server may have restarted"
    )]
    SessionLost {
        /// The session's id.
        session: String,
        /// What the client was doing.
        context: String,
    },
    /// The server put the download session in ERROR (or another state than ACTIVE).
    #[error("download session {session} is {state} on the server: {message}")]
    SessionFailed {
        /// The session's id.
        session: String,
        /// Its state on the server.
        state: String,
        /// The server's error message for it.
        message: String,
    },
    /// The interrupt of [`download_until`](crate::download_until) completed.
    #[error("interrupted")]
    Interrupted,
}

impl ClientError {
    /// Whether the server said NOT_FOUND (or 404 without saying more).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let fake = dlsim::Dlsim::start().await;
    /// // No library item has this id.
    /// let opts = dlsim::DownloadOptions::new(
    ///     fake.base_url(),
    ///     fake.username(),
    ///     fake.password(),
    ///     "no-such-item",
    /// );
    /// let err = dlsim::download(&opts, |_event| {}).await.unwrap_err();
    /// assert!(err.is_not_found(), "{err}");
    /// assert!(err.is_error(404, "NOT_FOUND"));
    /// # }
    /// ```
    pub fn is_not_found(&self) -> bool {
        self.is_error(404, "NOT_FOUND")
    }

    /// Whether this is the server's error `error_type`, or the HTTP `status` of an answer
    /// that names no error type.
    pub fn is_error(&self, status: u16, error_type: &str) -> bool {
        match self {
            ClientError::Api {
                error_type: Some(t),
                ..
            } => t == error_type,
            ClientError::Api { status: s, .. } => *s == status,
            _ => false,
        }
    }

    /// On a call about download session `id`, NOT_FOUND means the session is gone.
    pub(crate) fn if_lost(self, id: &str) -> Self {
        match self {
            ClientError::Api { context, .. } if self.is_not_found() => ClientError::SessionLost {
                session: id.to_string(),
                context,
            },
            e => e,
        }
    }
}

/// `HTTP 404`, or for a vAPI error that came with a success status (JSON-RPC) `vAPI error`.
fn status_text(status: u16) -> String {
    if (200..300).contains(&status) {
        "vAPI error".to_string()
    } else {
        format!("HTTP {status}")
    }
}

fn api_detail(error_type: &Option<String>, message: &Option<String>) -> String {
    match (error_type, message) {
        (Some(t), Some(m)) => format!(" {t}: {m}"),
        (Some(t), None) => format!(" {t}"),
        (None, Some(m)) => format!(": {m}"),
        (None, None) => String::new(),
    }
}

/// An error and every error that caused it, joined with ": " (reqwest hides the interesting
/// part, such as the TLS alert, in its sources).
pub(crate) fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}
