//! A fake vCenter for tests, started in one line (the wiremock-rs experience).
//!
//! ```no_run
//! # async fn demo() {
//! let fake = dlsim::Dlsim::start().await;
//! let url = fake.api_url();              // http://127.0.0.1:<port>/api
//! fake.clock().advance(std::time::Duration::from_secs(301)); // expire idle sessions
//! # }
//! ```
//! It binds 127.0.0.1 on a free port, serves the demo library with the demo users, and runs on
//! a virtual clock with a fixed seed, so ids, times and expiry are the same on every run.

use std::time::Duration;

use crate::engine::auth::{User, DEMO_PASSWORD, DEMO_USER};
use crate::engine::library::LibrarySpec;
use crate::engine::{Clock, Engine, PrepareTiming};
use crate::server::tls::Certificate;
use crate::server::{self, RunningServer, ServerConfig, TlsOptions};

/// A running fake; it stops when dropped.
#[derive(Debug)]
pub struct Dlsim {
    server: RunningServer,
    clock: Clock,
    user: String,
    password: String,
}

/// Configures a [`Dlsim`] before it starts.
#[derive(Debug, Clone)]
pub struct DlsimBuilder {
    config: ServerConfig,
}

impl Dlsim {
    /// Start a fake with every default.
    pub async fn start() -> Dlsim {
        Dlsim::builder().start().await
    }

    pub fn builder() -> DlsimBuilder {
        crate::install_crypto();
        let mut config = ServerConfig {
            listen: ([127, 0, 0, 1], 0).into(),
            clock: Clock::virtual_at(crate::engine::clock::VIRTUAL_EPOCH),
            ..ServerConfig::default()
        };
        config.engine.seed = 0;
        DlsimBuilder { config }
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
    pub fn engine(&self) -> &Engine {
        self.server.engine()
    }
    /// A user name that can log in (with every privilege).
    pub fn username(&self) -> &str {
        &self.user
    }
    pub fn password(&self) -> &str {
        &self.password
    }
    /// The certificate served, when started with TLS.
    pub fn certificate(&self) -> Option<&Certificate> {
        self.server.certificate()
    }
    /// Stop the fake and wait until it has stopped.
    pub async fn stop(self) -> std::io::Result<()> {
        self.server.shutdown().await
    }
}

impl DlsimBuilder {
    /// Use the wall clock instead of a virtual one.
    pub fn real_clock(mut self) -> Self {
        self.config.clock = Clock::real();
        self
    }
    pub fn seed(mut self, seed: u64) -> Self {
        self.config.engine.seed = seed;
        self
    }
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.config.engine.idle_timeout = timeout;
        self
    }
    pub fn prepare_timing(mut self, timing: PrepareTiming) -> Self {
        self.config.engine.prepare = timing;
        self
    }
    pub fn users(mut self, users: Vec<User>) -> Self {
        self.config.engine.users = users;
        self
    }
    pub fn libraries(mut self, libraries: Vec<LibrarySpec>) -> Self {
        self.config.engine.libraries = libraries;
        self
    }
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.config.body_limit = bytes;
        self
    }
    /// Serve HTTPS with a generated certificate (see [`Dlsim::certificate`]).
    pub fn tls(mut self) -> Self {
        self.config.tls = Some(TlsOptions::default());
        self
    }
    pub fn tls_options(mut self, options: TlsOptions) -> Self {
        self.config.tls = Some(options);
        self
    }
    /// Serve a directory as the library: one item per subdirectory.
    pub fn library_dir(mut self, dir: &std::path::Path) -> Self {
        self.config.engine.libraries = crate::engine::library::library_from_directory(dir)
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
    pub fn content_seed(mut self, seed: u64) -> Self {
        self.config.engine.content_seed = seed;
        self
    }
    /// Break one conformance rule on purpose (see [`crate::faults::Violation`]).
    pub fn violate(mut self, violation: crate::faults::Violation) -> Self {
        self.config
            .faults
            .push(crate::faults::Fault::new(crate::faults::What::Violate {
                rule: violation,
            }));
        self
    }
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
        }
    }
}
