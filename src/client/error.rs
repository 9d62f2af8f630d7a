//! Why a download did not complete, in words a user can act on.

use super::tls::Thumbprints;

/// An error of the reference client.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("invalid base URL {url:?}: {reason}")]
    BadUrl { url: String, reason: String },
    #[error("invalid thumbprint {thumbprint:?}: {reason}")]
    BadThumbprint { thumbprint: String, reason: String },
    #[error("cannot set up the HTTP client: {0}")]
    Setup(String),
    /// The server answered with an error: an error status with (usually) an error body, or on
    /// JSON-RPC a vAPI error (with HTTP 200).
    #[error("{context}: {}{}", status_text(*.status), api_detail(.error_type, .message))]
    Api {
        context: String,
        status: u16,
        error_type: Option<String>,
        message: Option<String>,
    },
    /// The connection failed (refused, reset, TLS, timeout...).
    #[error("{context}: {message}")]
    Transport { context: String, message: String },
    /// A pinned connection was offered another certificate.
    #[error(
        "TLS certificate thumbprint mismatch on {context}: expected {expected}, the server presented {presented}"
    )]
    ThumbprintMismatch {
        context: String,
        expected: String,
        presented: Thumbprints,
    },
    /// A response that does not follow the contract.
    #[error("{context}: unexpected response: {message}")]
    Protocol { context: String, message: String },
    #[error("file {file:?} failed to prepare (status ERROR): {message}")]
    PrepareFailed { file: String, message: String },
    #[error("file {file:?} was not PREPARED within {seconds:.1} s (still {status})")]
    PrepareTimeout {
        file: String,
        status: String,
        seconds: f64,
    },
    #[error("refusing to write the file name {0:?} (it contains '/', '\\', '..' or control characters, or is empty)")]
    UnsafeFileName(String),
    #[error("the item lists the file name {0:?} twice")]
    DuplicateFileName(String),
    #[error("{path}: {message}")]
    Io { path: String, message: String },
    #[error("{file}: received {received} bytes but Content-Length announced {announced}")]
    LengthMismatch {
        file: String,
        received: u64,
        announced: u64,
    },
    #[error("{file}: after the download the server reports size {}, but {received} bytes were received", .reported.map_or("none".to_string(), |s| s.to_string()))]
    SizeMismatch {
        file: String,
        reported: Option<i64>,
        received: u64,
    },
    #[error("{file}: the server reports no checksum_info after a complete download")]
    NoChecksum { file: String },
    #[error(
        "{file}: unknown checksum algorithm {algorithm:?} (expected SHA1, MD5, SHA256 or SHA512)"
    )]
    UnknownAlgorithm { file: String, algorithm: String },
    #[error("{file}: {algorithm} checksum mismatch: the server reports {expected}, the downloaded file has {actual}")]
    ChecksumMismatch {
        file: String,
        algorithm: String,
        expected: String,
        actual: String,
    },
    /// A file that showed ERROR after its download.
    #[error("file {file:?} is in ERROR after its download: {message}")]
    FileError { file: String, message: String },
    /// A download cut more often than the retry policy allows.
    #[error("{file}: the transfer stopped at {received} of {} bytes and could not be resumed ({attempts} attempt(s)): {last}", .expected.map_or("?".to_string(), |s| s.to_string()))]
    DownloadIncomplete {
        file: String,
        received: u64,
        expected: Option<u64>,
        attempts: u32,
        last: String,
    },
    /// The download session is gone (NOT_FOUND), as after a server restart.
    #[error(
        "download session {session} is gone ({context}: NOT_FOUND); the server may have restarted"
    )]
    SessionLost { session: String, context: String },
    /// The server put the download session in ERROR (or another state than ACTIVE).
    #[error("download session {session} is {state} on the server: {message}")]
    SessionFailed {
        session: String,
        state: String,
        message: String,
    },
    #[error("interrupted")]
    Interrupted,
}

impl ClientError {
    /// Whether the server said NOT_FOUND (or 404 without saying more).
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
