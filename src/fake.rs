//! A fake vCenter for tests, started in one line (the wiremock-rs experience).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let fake = dlsim::Dlsim::start().await;
//! let url = fake.api_url(); // http://127.0.0.1:<port>/api
//! assert!(url.starts_with("http://127.0.0.1:"));
//! fake.clock().advance(std::time::Duration::from_secs(301)); // expire idle sessions
//! # }
//! ```
//! It binds 127.0.0.1 on a free port, serves the demo library with the demo users, and runs on
//! a virtual clock with a fixed seed, so ids, times and expiry are the same on every run.

use std::time::Duration;

use crate::config::LibrarySpec;
use crate::engine::auth::{User, DEMO_PASSWORD, DEMO_USER};
use crate::engine::{Clock, Engine, PrepareTiming};
use crate::faults::scenario::{Scenario, ScenarioError};
use crate::faults::set::RuleStatus as FaultStatus;
use crate::faults::verify::{Expectations, Report};
use crate::faults::Fault;
use crate::journal::Entry;
use crate::server::tls::Certificate;
use crate::server::{self, AppState, RunningServer, ServerConfig, TlsOptions};

/// A running fake; it stops when dropped.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let fake = dlsim::Dlsim::start().await;
/// // Log in over /api the way any client does (Basic credentials, a JSON string back).
/// let token: String = reqwest::Client::new()
///     .post(format!("{}/session", fake.api_url()))
///     .basic_auth(fake.username(), Some(fake.password()))
///     .send()
///     .await
///     .unwrap()
///     .json()
///     .await
///     .unwrap();
/// assert_eq!(token.len(), 32);
/// assert_eq!(fake.journal().len(), 1, "the fake recorded the login");
/// # }
/// ```
#[derive(Debug)]
pub struct Dlsim {
    server: RunningServer,
    clock: Clock,
    user: String,
    password: String,
    verify_on_drop: bool,
}

/// Configures a [`Dlsim`] before it starts.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use std::time::Duration;
/// let fake = dlsim::Dlsim::builder()
///     .seed(7)
///     .idle_timeout(Duration::from_secs(60))
///     .prepare_timing(dlsim::PrepareTiming {
///         requested_ms: 100,
///         preparing_ms: 500,
///         wait_for_checksum: false,
///     })
///     .start()
///     .await;
/// assert_eq!(fake.library_ids(), [dlsim::DEMO_LIBRARY_ID]);
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct DlsimBuilder {
    config: ServerConfig,
    verify_on_drop: bool,
}

impl Dlsim {
    /// Start a fake with every default.
    pub async fn start() -> Dlsim {
        Dlsim::builder().start().await
    }

    /// A builder for a fake on `127.0.0.1` and a free port, on a virtual clock at
    /// [`VIRTUAL_EPOCH`](crate::VIRTUAL_EPOCH) with seed 0, serving the demo library.
    pub fn builder() -> DlsimBuilder {
        crate::install_crypto();
        let mut config = ServerConfig {
            listen: ([127, 0, 0, 1], 0).into(),
            clock: Clock::virtual_at(crate::engine::clock::VIRTUAL_EPOCH),
            ..ServerConfig::default()
        };
        config.engine.seed = 0;
        DlsimBuilder {
            config,
            verify_on_drop: false,
        }
    }

    /// `http://127.0.0.1:<port>`
    pub fn base_url(&self) -> &str {
        self.server.base_url()
    }
    /// `http://127.0.0.1:<port>/api`
    pub fn api_url(&self) -> String {
        format!("{}/api", self.server.base_url())
    }
    /// The clock the fake runs on; advance it to move time.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }
    pub(crate) fn engine(&self) -> &Engine {
        self.server.engine()
    }
    /// The ids of the libraries served.
    pub fn library_ids(&self) -> Vec<String> {
        self.engine().library_ids()
    }
    /// The ids of one library's items, or `None` when no library has that id.
    pub fn item_ids(&self, library_id: &str) -> Option<Vec<String>> {
        self.engine().item_ids(library_id).ok()
    }
    /// How many download sessions exist now (in any state).
    pub fn session_count(&self) -> usize {
        self.engine().session_count()
    }
    /// The faults loaded now, each with the id it was given and how often it matched and fired.
    pub fn faults(&self) -> Vec<FaultStatus> {
        self.engine().faults().list()
    }
    /// A user name that can log in (with every privilege).
    pub fn username(&self) -> &str {
        &self.user
    }
    /// The password of [`Dlsim::username`].
    pub fn password(&self) -> &str {
        &self.password
    }
    /// The certificate served, when started with TLS.
    pub fn certificate(&self) -> Option<&Certificate> {
        self.server.certificate()
    }
    /// Stop the fake and wait until it has stopped (verifying first, if asked to on drop).
    pub async fn stop(mut self) -> std::io::Result<()> {
        self.check_on_drop();
        self.server.stop().await
    }

    fn state(&self) -> &AppState {
        self.server.state()
    }

    /// Load a fault now; returns its id.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use dlsim::{Fault, OpName, What};
    /// let fake = dlsim::Dlsim::start().await;
    /// // The second create answers 503 with Retry-After: 2.
    /// let id = fake.add_fault(
    ///     Fault::new(What::HttpError { status: 503, retry_after_secs: Some(2) })
    ///         .on(OpName::Create)
    ///         .call(2),
    /// );
    /// assert!(fake.remove_fault(id));
    /// # }
    /// ```
    pub fn add_fault(&self, fault: Fault) -> u64 {
        self.engine()
            .faults()
            .add(fault)
            .unwrap_or_else(|e| panic!("dlsim refused the fault: {e}"))
    }

    /// Unload one fault; false if no fault has that id.
    pub fn remove_fault(&self, id: u64) -> bool {
        self.engine().faults().remove(id)
    }

    /// Unload every fault.
    pub fn clear_faults(&self) {
        self.engine().faults().clear()
    }

    /// Load a shelf scenario by name (or a scenario file by path): its faults, seed and
    /// expectations replace those loaded before.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let fake = dlsim::Dlsim::start().await;
    /// fake.load_scenario("lost-session").unwrap();
    /// assert!(fake.load_scenario("no-such-scenario").is_err());
    /// # }
    /// ```
    pub fn load_scenario(&self, name_or_path: &str) -> Result<(), ScenarioError> {
        let s = Scenario::load(name_or_path)?;
        self.state()
            .load_scenario(&s)
            .map(drop)
            .map_err(|message| ScenarioError::Invalid {
                origin: name_or_path.to_string(),
                message,
            })
    }

    /// Every journal entry kept so far.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let fake = dlsim::Dlsim::start().await;
    /// let login = reqwest::Client::new()
    ///     .post(format!("{}/session", fake.api_url()))
    ///     .basic_auth(fake.username(), Some(fake.password()))
    ///     .send()
    ///     .await
    ///     .unwrap();
    /// assert_eq!(login.status(), 201);
    /// let journal = fake.journal();
    /// assert_eq!(journal[0].op, Some(dlsim::OpName::Login));
    /// assert_eq!(journal[0].status, 201);
    /// # }
    /// ```
    pub fn journal(&self) -> Vec<Entry> {
        self.state().journal.entries()
    }

    /// Check the client's behaviour over the journal so far.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let fake = dlsim::Dlsim::start().await;
    /// // Nothing happened yet, so no expectation is broken.
    /// let report = fake.verify();
    /// assert!(report.passed, "{}", report.to_text());
    /// # }
    /// ```
    pub fn verify(&self) -> Report {
        self.state().verify()
    }

    /// Panic with the verification report if the client broke an expectation.
    pub fn assert_verified(&self) {
        let report = self.verify();
        assert!(
            report.passed,
            "the client under test broke dlsim's expectations:\n{}",
            report.to_text()
        );
    }

    /// Back to the state at start: no sessions, logins, faults or journal.
    pub fn reset(&self) {
        self.state().reset()
    }

    fn check_on_drop(&mut self) {
        if std::mem::take(&mut self.verify_on_drop) && !std::thread::panicking() {
            self.assert_verified();
        }
    }
}

impl Drop for Dlsim {
    fn drop(&mut self) {
        self.check_on_drop();
    }
}

impl DlsimBuilder {
    /// Use the wall clock instead of a virtual one.
    pub fn real_clock(mut self) -> Self {
        self.config.clock = Clock::real();
        self
    }
    /// Seed of ids, tokens and probabilistic faults (it wins over a scenario's set before).
    pub fn seed(mut self, seed: u64) -> Self {
        self.config.engine.seed = seed;
        self.config.fault_seed = None;
        self
    }
    /// How long a download session lives without a call before it expires (5 minutes by
    /// default, as on vCenter).
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.config.engine.idle_timeout = timeout;
        self
    }
    /// How long a file's preparation takes (at once by default).
    pub fn prepare_timing(mut self, timing: PrepareTiming) -> Self {
        self.config.engine.prepare = timing;
        self
    }
    /// The users who may log in, replacing the demo users; the first is
    /// [`Dlsim::username`].
    pub fn users(mut self, users: Vec<User>) -> Self {
        self.config.engine.users = users;
        self
    }
    /// Serve these libraries (as a configuration file's `[[libraries]]` would list them).
    pub fn libraries(mut self, libraries: Vec<LibrarySpec>) -> Self {
        self.config.engine.libraries = crate::config::libraries(libraries);
        self
    }
    /// The largest request body accepted (1 MiB by default); larger ones get 413 in the
    /// form's error format.
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.config.body_limit = bytes;
        self
    }
    /// Serve HTTPS with a generated certificate (see [`Dlsim::certificate`]).
    pub fn tls(mut self) -> Self {
        self.config.tls = Some(TlsOptions::default());
        self
    }
    /// Serve HTTPS with these settings.
    pub fn tls_options(mut self, options: TlsOptions) -> Self {
        self.config.tls = Some(options);
        self
    }
    /// Serve a directory as the library: one item per subdirectory.
    pub fn library_dir(mut self, dir: &std::path::Path) -> Self {
        self.config.engine.libraries = crate::content::directory::library_from_directory(dir)
            .unwrap_or_else(|e| panic!("dlsim cannot serve {}: {e}", dir.display()));
        self
    }
    /// How long [`Dlsim::stop`] waits for open connections before closing them.
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.config.shutdown_grace = grace;
        self
    }
    /// Compute checksums (on by default): off, preparing reads nothing and no `checksum_info` is reported.
    pub fn checksums(mut self, on: bool) -> Self {
        self.config.checksums = on;
        self
    }
    /// Seed of the synthetic file bytes (0 by default): the same seed serves the same bytes.
    pub fn content_seed(mut self, seed: u64) -> Self {
        self.config.engine.content_seed = seed;
        self
    }
    /// Break one conformance rule on purpose (see [`Violation`](crate::Violation)).
    pub fn violate(mut self, violation: crate::faults::Violation) -> Self {
        self.config
            .faults
            .push(crate::faults::Fault::new(crate::faults::What::Violate {
                rule: violation,
            }));
        self
    }
    /// Start with a shelf scenario by name (or a scenario file by path): its seed, timeouts,
    /// library, faults and expectations. Panics with the reason if it cannot be loaded.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let fake = dlsim::Dlsim::builder().scenario("prepare-error").start().await;
    /// assert_eq!(fake.faults().len(), 1);
    /// # }
    /// ```
    pub fn scenario(mut self, name_or_path: &str) -> Self {
        let s = Scenario::load(name_or_path).unwrap_or_else(|e| panic!("{e}"));
        self.config.apply_scenario(&s);
        self
    }
    /// Load a fault at start.
    pub fn fault(mut self, fault: Fault) -> Self {
        self.config.faults.push(fault);
        self
    }
    /// What client verification checks (all expectations, with defaults, unless set).
    pub fn expect(mut self, expect: Expectations) -> Self {
        self.config.expect = expect;
        self
    }
    /// Verify the client when the fake is dropped or stopped, panicking with the report if
    /// it broke an expectation (as wiremock-rs checks its mocks).
    pub fn verify_on_drop(mut self) -> Self {
        self.verify_on_drop = true;
        self
    }
    /// How many journal entries to keep in memory (default 100 000).
    pub fn journal_cap(mut self, entries: usize) -> Self {
        self.config.journal_cap = entries;
        self
    }
    /// Close a connection that has not sent a whole request head this long after it opened
    /// or after its last answer (default 30 s).
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.config.header_read_timeout = timeout;
        self
    }
    /// Require this token in the `dlsim-control-token` header of every `/dlsim/` call (by
    /// default the control plane answers loopback peers only, without a token).
    pub fn control_token(mut self, token: &str) -> Self {
        self.config.control_token = Some(token.to_string());
        self
    }
    /// Include the session `id` in `download_session.get` answers, as vcsim does (off by
    /// default: vCenter leaves it out).
    pub fn emit_session_id(mut self, on: bool) -> Self {
        self.config.engine.emit_session_id = on;
        self
    }

    /// Start the fake. Panics with a clear message if it cannot (tests want that).
    pub async fn start(self) -> Dlsim {
        let clock = self.config.clock.clone();
        let (user, password) = self
            .config
            .engine
            .users
            .first()
            .map(|u| (u.name.clone(), u.password.clone()))
            .unwrap_or_else(|| (DEMO_USER.to_string(), DEMO_PASSWORD.to_string()));
        let server = server::start(self.config)
            .await
            .unwrap_or_else(|e| panic!("dlsim could not start: {e}"));
        Dlsim {
            server,
            clock,
            user,
            password,
            verify_on_drop: self.verify_on_drop,
        }
    }
}
