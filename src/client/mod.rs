//! `dlsim download`: a reference client that runs one whole download session over `/api`.
//!
//! It logs in, creates a session for one library item, prepares every file and polls until
//! each is PREPARED (or ERROR, or a timeout), keeps the session alive with its progress while
//! it works, streams each file to disk, verifies status, length, the size the server reports
//! afterwards and the checksum (recomputed from the file on disk), then reports progress 100,
//! deletes the session and logs out. On any failure it fails the session with the error
//! message and deletes it. It uses none of dlsim's model, wire or engine types, so it can be
//! pointed at a real vCenter too.
//!
//! ```no_run
//! # async fn demo() -> Result<(), dlsim::client::ClientError> {
//! use dlsim::client::{run, DownloadOptions, TlsPolicy};
//! let mut opts = DownloadOptions::new("https://vc.example", "user", "secret", "item-id");
//! opts.tls = TlsPolicy::Thumbprint("AB:CD:...".into());
//! let report = run(&opts, |_event| {}).await?;
//! print!("{}", report.summary());
//! # Ok(()) }
//! ```

pub mod api;
mod error;
pub mod progress;
pub mod tls;

use std::collections::HashSet;
use std::fmt::Write as _;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::Url;
use tokio::io::AsyncWriteExt;
use tokio::time::Instant;

use crate::content::checksum::Hasher;
use crate::model::ChecksumAlgorithm;
use api::{presented, Api, FileInfo, Http};
pub use error::ClientError;
use tls::Pin;
pub use tls::{Thumbprint, Thumbprints};

/// How the API connection checks the server's certificate.
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

/// What to download, from where, and how patiently.
#[derive(Debug, Clone)]
pub struct DownloadOptions {
    /// `https://host[:port]`, with or without a trailing `/api`.
    pub base_url: String,
    pub username: String,
    pub password: String,
    pub item_id: String,
    /// Files are written here as `<dir>/<file name>` (created if missing).
    pub output_dir: PathBuf,
    pub tls: TlsPolicy,
    /// How often to ask whether a file is prepared.
    pub poll_interval: Duration,
    /// How long all files together may take to become PREPARED.
    pub prepare_timeout: Duration,
    /// How often to send keep-alive (with progress) while working.
    pub keep_alive_interval: Duration,
}

impl DownloadOptions {
    /// Options with the command's defaults: output `.`, platform TLS verification, polling
    /// every second, 300 s to prepare, keep-alive every 60 s.
    pub fn new(base_url: &str, username: &str, password: &str, item_id: &str) -> Self {
        DownloadOptions {
            base_url: base_url.to_string(),
            username: username.to_string(),
            password: password.to_string(),
            item_id: item_id.to_string(),
            output_dir: PathBuf::from("."),
            tls: TlsPolicy::Verify,
            poll_interval: Duration::from_secs(1),
            prepare_timeout: Duration::from_secs(300),
            keep_alive_interval: Duration::from_secs(60),
        }
    }
}

/// What the client is doing, for progress displays.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum Event<'a> {
    LoggedIn {
        api_url: &'a str,
        certificate: Option<&'a Thumbprints>,
    },
    SessionCreated {
        session_id: &'a str,
    },
    /// A file's prepare status, whenever it changes.
    Status {
        file: &'a str,
        status: &'a str,
    },
    DownloadStarted {
        file: &'a str,
        size: Option<u64>,
    },
    /// Bytes of `file` received so far.
    Progress {
        file: &'a str,
        bytes: u64,
    },
    Verified {
        file: &'a str,
        algorithm: &'a str,
        checksum: &'a str,
    },
    /// Something went wrong that does not decide the outcome (a keep-alive or cleanup call).
    Warning {
        message: &'a str,
    },
}

/// One downloaded and verified file.
#[derive(Debug, Clone)]
pub struct FileReport {
    pub name: String,
    pub path: PathBuf,
    pub bytes: u64,
    /// The algorithm of the server's `checksum_info` (`SHA1` when it left it unset).
    pub algorithm: String,
    /// The checksum the server reported.
    pub checksum: String,
    /// The checksum recomputed from the file on disk.
    pub computed: String,
    pub verified: bool,
    pub uri: String,
    /// The certificate the download connection presented (TLS only).
    pub certificate: Option<Thumbprints>,
    /// How that certificate was checked.
    pub trust: String,
}

/// The outcome of a successful run.
#[derive(Debug, Clone)]
pub struct Report {
    pub api_url: String,
    pub item_id: String,
    pub session_id: String,
    /// The certificate the API connection presented (TLS only).
    pub api_certificate: Option<Thumbprints>,
    pub files: Vec<FileReport>,
    /// Whether the final `delete` of the session succeeded.
    pub session_deleted: bool,
    /// Keep-alive and cleanup calls that failed without deciding the outcome.
    pub warnings: Vec<String>,
}

impl Report {
    pub fn all_verified(&self) -> bool {
        self.files.iter().all(|f| f.verified)
    }

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
        out
    }
}

/// Run one whole download session (see the module documentation).
pub async fn run<F>(opts: &DownloadOptions, progress: F) -> Result<Report, ClientError>
where
    F: Fn(Event<'_>),
{
    run_until(opts, progress, std::future::pending()).await
}

/// [`run`], stopping with [`ClientError::Interrupted`] (after failing and deleting the session)
/// when `interrupt` completes, e.g. on Ctrl-C.
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
    let mut api = Api::new(api_url, Http::new(pin)?);
    tokio::pin!(interrupt);

    let api_certificate = tokio::select! {
        biased;
        _ = &mut interrupt => return Err(ClientError::Interrupted),
        r = api.login(&opts.username, &opts.password) => r?,
    };
    let api_url = api.url().to_string();
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

    // Not raced with `interrupt`: an interrupted create would leave a session we cannot name.
    let client_token = tls::random_uuid()?;
    let session_id = match api.create_session(&opts.item_id, &client_token).await {
        Ok(id) => id,
        Err(e) => {
            if let Err(w) = api.logout().await {
                warn(w.to_string());
            }
            return Err(e);
        }
    };
    progress(Event::SessionCreated {
        session_id: &session_id,
    });

    let shared = Arc::new(Shared::default());
    let keeper = KeepAlive::start(
        api.clone(),
        session_id.clone(),
        opts.keep_alive_interval,
        shared.clone(),
    );
    let outcome = tokio::select! {
        biased;
        _ = &mut interrupt => Err(ClientError::Interrupted),
        r = work(&api, &session_id, opts, &progress, &shared) => r,
    };
    keeper.stop().await;
    for w in shared.take_warnings() {
        warn(w);
    }

    let result = match outcome {
        Ok(files) => {
            if let Err(e) = api.keep_alive(&session_id, 100).await {
                warn(e.to_string());
            }
            let deleted = match api.delete_session(&session_id).await {
                Ok(()) => true,
                Err(e) => {
                    warn(e.to_string());
                    false
                }
            };
            Ok((files, deleted))
        }
        Err(e) => {
            let message = match &e {
                ClientError::Interrupted => "dlsim download was interrupted".to_string(),
                e => format!("dlsim download: {e}"),
            };
            if let Err(w) = api.fail(&session_id, &message).await {
                warn(format!("could not fail the session: {w}"));
            }
            if let Err(w) = api.delete_session(&session_id).await {
                warn(format!("could not delete the session: {w}"));
            }
            Err(e)
        }
    };
    if let Err(e) = api.logout().await {
        warn(e.to_string());
    }
    let (files, session_deleted) = result?;
    Ok(Report {
        api_url,
        item_id: opts.item_id.clone(),
        session_id,
        api_certificate,
        files,
        session_deleted,
        warnings: warnings.into_inner().unwrap_or_else(|p| p.into_inner()),
    })
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

/// The background keep-alive: every interval, `keep-alive` with the progress so far.
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
                    shared
                        .warnings
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push(e.to_string());
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

/// List, prepare, and download every file; any error stops the work.
async fn work<F: Fn(Event<'_>)>(
    api: &Api,
    session: &str,
    opts: &DownloadOptions,
    progress: &F,
    shared: &Shared,
) -> Result<Vec<FileReport>, ClientError> {
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
    let prepared = prepare_all(api, session, &files, opts, progress).await?;
    let total: u64 = prepared
        .iter()
        .map(|f| f.size.and_then(|s| u64::try_from(s).ok()).unwrap_or(0))
        .sum();
    shared.total.store(total, Ordering::Relaxed);
    let mut downloaders = Downloaders::new(api.http.clone());
    let mut reports = Vec::new();
    for info in prepared {
        let report = download_one(
            api,
            session,
            info,
            &opts.output_dir,
            &mut downloaders,
            progress,
            shared,
        )
        .await?;
        reports.push(report);
    }
    Ok(reports)
}

/// Prepare every file, then poll until all are PREPARED; ERROR or the timeout ends it.
async fn prepare_all<F: Fn(Event<'_>)>(
    api: &Api,
    session: &str,
    files: &[FileInfo],
    opts: &DownloadOptions,
    progress: &F,
) -> Result<Vec<FileInfo>, ClientError> {
    let deadline = Instant::now() + opts.prepare_timeout;
    let mut infos = Vec::with_capacity(files.len());
    for f in files {
        let info = api.prepare(session, &f.name).await?;
        progress(Event::Status {
            file: &info.name,
            status: &info.status,
        });
        infos.push(info);
    }
    loop {
        if let Some(f) = infos.iter().find(|f| f.status == "ERROR") {
            return Err(ClientError::PrepareFailed {
                file: f.name.clone(),
                message: f
                    .error_message
                    .as_ref()
                    .map(api::Message::text)
                    .unwrap_or_else(|| "the server gave no error_message".into()),
            });
        }
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
        for i in pending {
            let info = api.get_file(session, &infos[i].name).await?;
            if info.status != infos[i].status {
                progress(Event::Status {
                    file: &info.name,
                    status: &info.status,
                });
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

fn algorithm_of(
    file: &str,
    name: Option<&str>,
) -> Result<(String, ChecksumAlgorithm), ClientError> {
    let name = name.unwrap_or("SHA1").trim().to_string();
    let a = match name.to_ascii_uppercase().as_str() {
        "SHA1" => ChecksumAlgorithm::Sha1,
        "MD5" => ChecksumAlgorithm::Md5,
        "SHA256" => ChecksumAlgorithm::Sha256,
        "SHA512" => ChecksumAlgorithm::Sha512,
        _ => {
            return Err(ClientError::UnknownAlgorithm {
                file: file.to_string(),
                algorithm: name,
            })
        }
    };
    Ok((name, a))
}

/// The checksum of a file on disk, read back on a blocking thread.
async fn checksum_of(path: &Path, algorithm: ChecksumAlgorithm) -> Result<String, ClientError> {
    let p = path.to_path_buf();
    let result = tokio::task::spawn_blocking(move || -> std::io::Result<String> {
        use std::io::Read;
        let mut f = std::fs::File::open(&p)?;
        let mut h = Hasher::new(algorithm);
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

/// Stream one PREPARED file to disk and verify it.
async fn download_one<F: Fn(Event<'_>)>(
    api: &Api,
    session: &str,
    info: FileInfo,
    dir: &Path,
    downloaders: &mut Downloaders,
    progress: &F,
    shared: &Shared,
) -> Result<FileReport, ClientError> {
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
    let context = format!("downloading {name} from {url}");
    let mut resp = http.send(http.client.get(url.clone()), &context).await?;
    if resp.status() != reqwest::StatusCode::OK {
        return Err(api::error_from(resp, &context).await);
    }
    let certificate = presented(&resp);
    let announced = resp
        .headers()
        .get(reqwest::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    progress(Event::DownloadStarted {
        file: &name,
        size: announced.or_else(|| info.size.and_then(|s| u64::try_from(s).ok())),
    });

    let path = dir.join(&name);
    let mut out = tokio::fs::File::create(&path)
        .await
        .map_err(|e| io_error(&path, e))?;
    let mut guard = PartialFile {
        path: path.clone(),
        keep: false,
    };
    let mut received = 0u64;
    loop {
        let chunk = resp.chunk().await.map_err(|e| ClientError::Transport {
            context: context.clone(),
            message: error::chain(&e),
        })?;
        let Some(chunk) = chunk else { break };
        out.write_all(&chunk)
            .await
            .map_err(|e| io_error(&path, e))?;
        received += chunk.len() as u64;
        shared.done.fetch_add(chunk.len() as u64, Ordering::Relaxed);
        progress(Event::Progress {
            file: &name,
            bytes: received,
        });
    }
    out.flush().await.map_err(|e| io_error(&path, e))?;
    drop(out);
    if let Some(announced) = announced {
        if announced != received {
            return Err(ClientError::LengthMismatch {
                file: name,
                received,
                announced,
            });
        }
    }

    let after = api.get_file(session, &name).await?;
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
    fn unset_algorithm_means_sha1() {
        assert_eq!(algorithm_of("f", None).unwrap().0, "SHA1");
        assert!(matches!(
            algorithm_of("f", Some("sha256")).unwrap().1,
            ChecksumAlgorithm::Sha256
        ));
        assert!(algorithm_of("f", Some("CRC32")).is_err());
    }
}
