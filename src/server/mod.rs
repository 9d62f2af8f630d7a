//! The HTTP server: glues routes to the engine and the wire forms.
//!
//! [`start`] binds first and builds the engine second, so download URIs name the real address
//! even when the port was 0. The returned [`RunningServer`] shuts down gracefully on request.
//!
//! Connections are served by our own accept loop over hyper's HTTP/1 connection (not
//! `axum::serve`), because only that exposes a header-read timeout (a client that connects and
//! sends nothing, or half a request, is cut off), hands each request its peer address (the
//! control plane's access rule) and lets a stop count the connections it waits for.

pub mod admin;
pub mod apply;
pub mod auth;
pub mod content;
pub mod dispatch;
pub mod inject;
pub mod respond;
pub mod tls;
pub mod transport;

#[cfg(test)]
mod control_plane_tests;

use std::net::SocketAddr;
use std::sync::Arc;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};
use tokio::task::{JoinHandle, JoinSet};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

use crate::engine::library::CatalogError;
use crate::engine::{Clock, Engine, EngineConfig, PrepareTiming};

/// Shared by every handler.
#[derive(Debug)]
pub struct AppState {
    pub engine: Arc<Engine>,
    pub content: Arc<crate::content::ContentPlane>,
    /// Largest request body accepted, in bytes.
    pub body_limit: usize,
    pub journal: Arc<crate::journal::Journal>,
    /// What client verification checks (a scenario's `[expect]`).
    pub expect: std::sync::RwLock<crate::faults::verify::Expectations>,
    /// Seed of the fault draws and the clock time at start, for a reset.
    pub fault_seed: u64,
    pub started: crate::model::Timestamp,
    /// When set, every `/dlsim/` call must carry it in `dlsim-control-token`; when unset, the
    /// control plane answers loopback peers only.
    pub control_token: Option<String>,
}

impl AppState {
    pub fn expectations(&self) -> crate::faults::verify::Expectations {
        self.expect
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Verify the client's behaviour over the journal kept so far.
    pub fn verify(&self) -> crate::faults::verify::Report {
        let page = self.journal.since(0);
        let mut report = crate::faults::verify::verify(&page.entries, &self.expectations());
        report.journal_dropped = page.dropped;
        report
    }

    /// Load a scenario at run time: its faults, seed and expectations (its library and
    /// timeouts apply only at start). Faults loaded before are unloaded.
    pub fn load_scenario(&self, s: &crate::faults::scenario::Scenario) -> Result<Vec<u64>, String> {
        for f in &s.faults {
            f.validate()?;
        }
        s.expect.validate()?;
        let faults = self.engine.faults();
        faults.reset(s.seed.unwrap_or(self.fault_seed), self.engine.clock().now());
        let ids = s
            .faults
            .iter()
            .map(|f| faults.add(f.clone()))
            .collect::<Result<_, _>>()?;
        *self.expect.write().unwrap_or_else(|p| p.into_inner()) = s.expect.clone();
        Ok(ids)
    }

    /// Back to the state at start: no sessions, logins, faults or journal; the virtual clock
    /// at its start time; expectations to their defaults.
    pub fn reset(&self) {
        self.engine.reset();
        self.engine.clock().set(self.started);
        self.engine.faults().reset(self.fault_seed, self.started);
        self.journal.clear();
        *self.expect.write().unwrap_or_else(|p| p.into_inner()) = Default::default();
    }
}

/// How to run one server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    pub engine: EngineConfig,
    pub clock: Clock,
    pub body_limit: usize,
    /// Serve HTTPS (API and content) instead of HTTP.
    pub tls: Option<TlsOptions>,
    /// Compute checksums: preparing reads each file once and downloads report `checksum_info`.
    pub checksums: bool,
    /// How long a stop waits for open connections before it closes them.
    pub shutdown_grace: std::time::Duration,
    /// Faults loaded at start (a scenario's, `--violate`'s).
    pub faults: Vec<crate::faults::Fault>,
    /// Seed of the faults' random draws (defaults to the engine's seed).
    pub fault_seed: Option<u64>,
    /// Journal entries kept in memory (0: none).
    pub journal_cap: usize,
    /// What client verification checks.
    pub expect: crate::faults::verify::Expectations,
    /// Also stream the journal to this file, as JSON lines.
    pub journal_file: Option<std::path::PathBuf>,
    /// A connection that has not sent a whole request head this long after it opened (or
    /// after its last answer) is closed.
    pub header_read_timeout: std::time::Duration,
    /// See [`AppState::control_token`].
    pub control_token: Option<String>,
}

/// HTTPS settings, for [`DlsimBuilder::tls_options`](crate::DlsimBuilder::tls_options).
///
/// By default download endpoints report the certificate's SHA-1 thumbprint, as vCenter 7 and 8
/// do; clients of vCenter 9 expect SHA-256, or the certificate itself.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// # let small: dlsim::LibrarySpec = toml::from_str(
/// #     "name = 'isos'\n[[items]]\nname = 'alpine'\nfiles = [{ name = 'alpine.iso', size = 4096 }]",
/// # ).unwrap();
/// let tls = dlsim::TlsOptions { sha256_thumbprint: true, ..Default::default() };
/// let fake = dlsim::Dlsim::builder().libraries(vec![small]).tls_options(tls).start().await;
/// let item = &fake.item_ids(&fake.library_ids()[0]).unwrap()[0];
/// let dir = tempfile::tempdir().unwrap();
/// let mut opts = dlsim::DownloadOptions::new(fake.base_url(), fake.username(), fake.password(), item);
/// opts.output_dir = dir.path().to_path_buf();
/// opts.poll_interval = std::time::Duration::from_millis(10);
/// opts.tls = dlsim::TlsPolicy::Thumbprint(fake.certificate().unwrap().sha256.clone());
/// let report = dlsim::download(&opts, |_| {}).await.unwrap();
/// // The careful client pins each download to the thumbprint its endpoint reports.
/// assert_eq!(report.files[0].trust, "pinned to the endpoint's SHA-256 ssl_certificate_thumbprint");
/// # }
/// ```
#[derive(Debug, Clone, Default)]
pub struct TlsOptions {
    /// PEM certificate chain and key; a self-signed certificate is generated when unset.
    pub cert_and_key: Option<(std::path::PathBuf, std::path::PathBuf)>,
    /// Report the SHA-256 thumbprint (9.x) instead of SHA-1 (7.x/8.x) on download endpoints.
    pub sha256_thumbprint: bool,
    /// Also report the PEM certificate (`ssl_certificate`, API 9.0) on download endpoints.
    pub report_certificate: bool,
}

/// Default request body limit: 1 MiB (the API's bodies are tiny).
pub const DEFAULT_BODY_LIMIT: usize = 1 << 20;

/// Request headers above this many bytes (names and values) get 431 with a JSON error. Far
/// larger heads (over hyper's ~400 KiB read buffer) are refused by hyper itself with a bare 431.
pub const MAX_HEADER_BYTES: usize = 64 * 1024;

/// The size of a request's headers, as [`MAX_HEADER_BYTES`] counts it.
pub fn header_bytes(headers: &axum::http::HeaderMap) -> usize {
    headers
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 4)
        .sum()
}

/// Default header-read timeout.
pub const DEFAULT_HEADER_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            engine: EngineConfig::default(),
            clock: Clock::real(),
            body_limit: DEFAULT_BODY_LIMIT,
            tls: None,
            checksums: true,
            shutdown_grace: std::time::Duration::from_secs(10),
            faults: Vec::new(),
            fault_seed: None,
            journal_cap: crate::journal::DEFAULT_CAP,
            expect: Default::default(),
            journal_file: None,
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            control_token: None,
        }
    }
}

impl ServerConfig {
    /// Start with a scenario: its seed, timeouts, library, faults and expectations.
    pub fn apply_scenario(&mut self, s: &crate::faults::scenario::Scenario) {
        if let Some(seed) = s.seed {
            self.engine.seed = seed;
            self.fault_seed = Some(seed);
        }
        if let Some(secs) = s.idle_timeout_secs {
            self.engine.idle_timeout = std::time::Duration::from_secs(secs);
        }
        if let Some(p) = s.prepare {
            self.engine.prepare = p.engine();
        }
        if !s.libraries.is_empty() {
            self.engine.libraries = crate::config::libraries(s.libraries.clone());
        }
        self.faults.extend(s.faults.iter().cloned());
        self.expect = s.expect.clone();
    }
}

/// Why a server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot listen on {addr}: {source} (is another server using the port? try --listen 127.0.0.1:0)")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("the library configuration is not valid: {0}")]
    Catalog(#[from] CatalogError),
    #[error("cannot set up TLS: {0} (use --cert/--key with PEM files, or --tls alone for a generated certificate)")]
    Tls(#[from] tls::TlsError),
    #[error("fault {index} is not valid: {reason}")]
    Fault { index: usize, reason: String },
    #[error("cannot write the journal to {path}: {source}")]
    Journal {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
}

/// A server running in the background of the current tokio runtime.
#[derive(Debug)]
pub struct RunningServer {
    base_url: String,
    engine: Arc<Engine>,
    state: Arc<AppState>,
    certificate: Option<tls::Certificate>,
    shutdown_grace: std::time::Duration,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
    open: Arc<AtomicUsize>,
}

impl RunningServer {
    /// `http://host:port`, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }
    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }
    /// What every handler shares: the engine, the journal, the content plane.
    pub fn state(&self) -> &Arc<AppState> {
        &self.state
    }
    /// The certificate served, when serving HTTPS.
    pub fn certificate(&self) -> Option<&tls::Certificate> {
        self.certificate.as_ref()
    }

    /// Connections open right now (served or idle).
    pub fn open_connections(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }

    /// Stop accepting connections, let in-flight requests finish, and wait for the server.
    ///
    /// Connections still busy after the grace period (a client that stopped reading a large
    /// download, say) are dropped, so a stop never hangs.
    pub async fn stop(&mut self) -> std::io::Result<()> {
        self.stop_unless(std::future::pending(), |_, _| {}).await
    }

    /// Stop gracefully, but at once when `now` completes first (a second Ctrl-C). When
    /// connections are still open once idle ones are closed, `waiting` is told how many and
    /// for how long the stop will wait for them.
    pub async fn stop_unless(
        &mut self,
        now: impl std::future::Future<Output = ()>,
        waiting: impl FnOnce(usize, std::time::Duration),
    ) -> std::io::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let Some(mut task) = self.task.take() else {
            return Ok(());
        };
        // Idle connections close at once; only say what we wait for if anything is left.
        let settle = std::time::Duration::from_millis(100).min(self.shutdown_grace);
        if let Ok(joined) = tokio::time::timeout(settle, &mut task).await {
            return joined.unwrap_or_else(|e| Err(std::io::Error::other(e)));
        }
        waiting(self.open_connections(), self.shutdown_grace - settle);
        tokio::select! {
            joined = tokio::time::timeout(self.shutdown_grace - settle, &mut task) => match joined {
                Ok(joined) => joined.unwrap_or_else(|e| Err(std::io::Error::other(e))),
                Err(_) => {
                    tracing::warn!(
                        "connections still open after {:?}; closing them",
                        self.shutdown_grace
                    );
                    task.abort();
                    Ok(())
                }
            },
            _ = now => {
                // Dropping the accept loop drops every connection it serves.
                task.abort();
                let _ = task.await;
                Ok(())
            }
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// The whole application: every wire form's routes plus the safety nets.
pub fn router(state: Arc<AppState>) -> Router {
    content::routes()
        .merge(
            admin::routes().route_layer(axum::middleware::from_fn_with_state(
                state.clone(),
                admin::guard,
            )),
        )
        .fallback(dispatch::handle)
        .method_not_allowed_fallback(respond::method_not_allowed)
        .with_state(state)
        .layer(CatchPanicLayer::custom(respond::panic_response))
        .layer(TraceLayer::new_for_http())
}

/// Bind, build the engine for the bound address, and serve in the background.
pub async fn start(mut config: ServerConfig) -> Result<RunningServer, StartError> {
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|source| StartError::Bind {
            addr: config.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| StartError::Bind {
        addr: config.listen,
        source,
    })?;
    let certificate = match &config.tls {
        None => None,
        Some(opts) => Some(match &opts.cert_and_key {
            Some((cert, key)) => tls::Certificate::from_files(cert, key)?,
            None => tls::Certificate::generate(&[addr.ip().to_string()])?,
        }),
    };
    let scheme = if certificate.is_some() {
        "https"
    } else {
        "http"
    };
    let base_url = base_url_for(scheme, addr);
    config.engine.endpoint_layout = Arc::new(content::DataUris::new(&base_url));
    if let (Some(cert), Some(opts)) = (&certificate, &config.tls) {
        config.engine.endpoint_thumbprint = Some(if opts.sha256_thumbprint {
            cert.sha256.clone()
        } else {
            cert.sha1.clone()
        });
        config.engine.endpoint_certificate = opts.report_certificate.then(|| cert.pem.clone());
    }
    let content = Arc::new(crate::content::ContentPlane::new(config.checksums));
    let fault_seed = config.fault_seed.unwrap_or(config.engine.seed);
    let started = config.clock.now();
    let faults = Arc::new(crate::faults::Faults::new(fault_seed, started));
    for (index, fault) in config.faults.iter().enumerate() {
        faults
            .add(fault.clone())
            .map_err(|reason| StartError::Fault { index, reason })?;
    }
    let mut journal = crate::journal::Journal::new(config.journal_cap);
    if let Some(path) = &config.journal_file {
        let file = std::fs::File::create(path).map_err(|source| StartError::Journal {
            path: path.clone(),
            source,
        })?;
        journal = journal.with_sink(file);
    }
    crate::content::directory::read_directories(&mut config.engine.libraries)?;
    config.engine.prepare = prepare_timing_for(&config.clock, config.engine.prepare);
    let engine = Arc::new(
        Engine::new(config.engine, config.clock)?
            .with_preparer(content.clone())
            .with_faults(faults),
    );
    let state = Arc::new(AppState {
        engine: engine.clone(),
        content,
        body_limit: config.body_limit,
        journal: Arc::new(journal),
        expect: std::sync::RwLock::new(config.expect),
        fault_seed,
        started,
        control_token: config.control_token.clone(),
    });
    let app = router(state.clone());
    let (tx, rx) = oneshot::channel::<()>();
    let open = Arc::new(AtomicUsize::new(0));
    let conns = Connections {
        app,
        header_read_timeout: config.header_read_timeout,
        open: open.clone(),
    };
    let task = match &certificate {
        None => tokio::spawn(conns.serve(listener, rx)),
        Some(cert) => {
            let listener =
                tls::TlsListener::new(listener, cert.config.clone()).map_err(|source| {
                    StartError::Bind {
                        addr: config.listen,
                        source,
                    }
                })?;
            tokio::spawn(conns.serve(listener, rx))
        }
    };
    Ok(RunningServer {
        base_url,
        engine,
        state,
        certificate,
        shutdown_grace: config.shutdown_grace,
        shutdown: Some(tx),
        task: Some(task),
        open,
    })
}

/// The prepare timing the engine is handed on `clock`: under a virtual clock no file waits for
/// its checksum read, so statuses follow virtual time alone and runs stay replayable.
pub fn prepare_timing_for(clock: &Clock, timing: PrepareTiming) -> PrepareTiming {
    PrepareTiming {
        wait_for_checksum: timing.wait_for_checksum && !clock.is_virtual(),
        ..timing
    }
}

/// How accepted connections are served.
struct Connections {
    app: Router,
    header_read_timeout: Duration,
    /// Connections open now.
    open: Arc<AtomicUsize>,
}

/// Counts a connection as open while it lives.
struct Open(Arc<AtomicUsize>);

impl Open {
    fn new(open: &Arc<AtomicUsize>) -> Self {
        open.fetch_add(1, Ordering::Relaxed);
        Open(open.clone())
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Connections {
    /// Accept until `stop`, then close idle connections, let busy ones finish their exchange,
    /// and return once every connection is closed. Dropping the future drops them all.
    async fn serve<L>(self, mut listener: L, mut stop: oneshot::Receiver<()>) -> std::io::Result<()>
    where
        L: axum::serve::Listener<Addr = SocketAddr>,
    {
        let mut http = hyper::server::conn::http1::Builder::new();
        http.timer(TokioTimer::new())
            .header_read_timeout(self.header_read_timeout);
        let (stopping, stop_rx) = watch::channel(false);
        let mut tasks = JoinSet::new();
        loop {
            tokio::select! {
                (io, peer) = listener.accept() => {
                    let app = self.app.clone();
                    let service = hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
                        // Only the control plane asks who is calling; other requests are
                        // spared the extension map.
                        if req.uri().path().starts_with("/dlsim/") {
                            req.extensions_mut().insert(ConnectInfo(peer));
                        }
                        tower::ServiceExt::oneshot(app.clone(), req)
                    });
                    let conn = http.serve_connection(TokioIo::new(io), service);
                    let mut stop_rx = stop_rx.clone();
                    let open = Open::new(&self.open);
                    tasks.spawn(async move {
                        let _open = open;
                        let mut conn = std::pin::pin!(conn);
                        let stopping = async move {
                            let _ = stop_rx.wait_for(|s| *s).await;
                        };
                        let result = tokio::select! {
                            r = conn.as_mut() => r,
                            _ = stopping => {
                                conn.as_mut().graceful_shutdown();
                                conn.await
                            }
                        };
                        if let Err(e) = result {
                            tracing::debug!(%peer, error = %e, "connection ended");
                        }
                    });
                }
                Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
                _ = &mut stop => break,
            }
        }
        drop(listener);
        let _ = stopping.send(true);
        while tasks.join_next().await.is_some() {}
        Ok(())
    }
}

/// The URL clients use for a bound address; an unspecified IP is reached through loopback.
fn base_url_for(scheme: &str, addr: SocketAddr) -> String {
    let ip = if addr.ip().is_unspecified() {
        match addr {
            SocketAddr::V4(_) => "127.0.0.1".to_string(),
            SocketAddr::V6(_) => "[::1]".to_string(),
        }
    } else {
        match addr {
            SocketAddr::V4(a) => a.ip().to_string(),
            SocketAddr::V6(a) => format!("[{}]", a.ip()),
        }
    };
    format!("{scheme}://{ip}:{}", addr.port())
}
