//! The `dlsim` command line: the whole binary, behind the `cli` feature. `src/main.rs` only
//! calls [`main`].

// The doc comments of the argument types are the `--help` text, URLs shown as written.
#![allow(rustdoc::bare_urls)]

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{CommandFactory, Parser, Subcommand, ValueEnum};

use crate::config::FileConfig;
use crate::engine::Clock;
use crate::server::{self, ServerConfig};

mod ready_file;

#[derive(Parser)]
#[command(
    name = "dlsim",
    version,
    about = "A fake vCenter and conformance harness for Content Library download sessions",
    after_help = ENV_HELP
)]
struct Cli {
    /// Log format on stderr: text (coloured only on a terminal) or json (one object a line).
    #[arg(
        long,
        global = true,
        value_enum,
        default_value_t = LogFormat::Text,
        env = "DLSIM_LOG_FORMAT"
    )]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

/// What every command reads from the environment besides its flags' own variables.
const ENV_HELP: &str = "\
Environment:
  DLSIM_LOG     what to log: a tracing filter such as debug, or dlsim=trace [default: dlsim=info]
  NO_COLOR      set (to anything) to never colour the logs; they are coloured only on a terminal";

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object a line, for CI log collectors.
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the download-session API (zero configuration: the built-in demo library).
    Serve(ServeArgs),
    /// Download every file of a library item through one download session (a reference
    /// client of the /api, /rest or JSON-RPC form; it works against a real vCenter too).
    Download(DownloadArgs),
    /// Check any endpoint (vCenter, a simulator, dlsim) against the contract's rules.
    /// Exit code: 0 all MUST rules pass (with --strict: SHOULD too), 1 a rule failed, 2 error.
    Check(CheckArgs),
    /// List the shelf of fault scenarios (`serve --scenario NAME`), or print one's TOML.
    Scenarios {
        /// Print this scenario's TOML instead of the list.
        name: Option<String>,
    },
    /// Print a shell completion script, e.g. `dlsim completions bash > ~/.local/share/bash-completion/completions/dlsim`.
    Completions {
        /// The shell to complete for.
        shell: Shell,
    },
}

/// The shells `dlsim completions` writes scripts for.
#[derive(Clone, Copy, ValueEnum)]
enum Shell {
    Bash,
    Zsh,
    Fish,
}

#[derive(clap::Args)]
struct CheckArgs {
    /// Base URL of the endpoint, e.g. https://vcenter.example.com (a trailing /api is accepted).
    base_url: String,
    /// User name to log in with.
    #[arg(long)]
    user: String,
    /// Password of --user.
    #[arg(long, env = "DLSIM_PASSWORD", hide_env_values = true)]
    password: String,
    /// Wire forms to check: api, rest, jsonrpc or all.
    #[arg(long, default_value = "all", value_parser = ["api", "rest", "jsonrpc", "all"])]
    form: String,
    /// Report format.
    #[arg(long, default_value = "text", value_parser = ["text", "json", "junit"])]
    format: String,
    /// Write the report here instead of stdout.
    #[arg(long)]
    output: Option<PathBuf>,
    /// Accept any TLS certificate on the API connection.
    #[arg(long, conflicts_with = "thumbprint")]
    insecure: bool,
    /// Accept exactly the API certificate with this SHA-1 or SHA-256 thumbprint.
    #[arg(long)]
    thumbprint: Option<String>,
    /// Library item to use (default: the first one discovered).
    #[arg(long)]
    item: Option<String>,
    /// Also run slow rules (real session expiry: waits up to the idle timeout).
    #[arg(long)]
    slow: bool,
    /// SHOULD rules fail the run too.
    #[arg(long)]
    strict: bool,
    /// No progress lines on stderr.
    #[arg(long)]
    quiet: bool,
}

#[derive(clap::Args)]
#[command(after_help = ENV_HELP)]
struct ServeArgs {
    /// Address to listen on, HOST:PORT with a host name or an IP address
    /// [default: 127.0.0.1:8080] (port 0 picks a free port).
    #[arg(long, value_name = "HOST:PORT", env = "DLSIM_LISTEN", value_parser = crate::config::parse_listen)]
    listen: Option<SocketAddr>,
    /// TOML configuration file (users, library, timeouts). Its [[users]] replace the demo users.
    #[arg(long, value_name = "FILE", env = "DLSIM_CONFIG")]
    config: Option<PathBuf>,
    /// Write one JSON object (base URL, credentials) here once listening.
    #[arg(long, value_name = "FILE", env = "DLSIM_READY_FILE")]
    ready_file: Option<PathBuf>,
    /// Seed for ids and tokens (default: random).
    #[arg(long, env = "DLSIM_SEED")]
    seed: Option<u64>,
    /// Idle timeout of download sessions, in seconds [default: 300, or the config file's
    /// idle_timeout_secs].
    #[arg(long, value_name = "SECS", env = "DLSIM_IDLE_TIMEOUT")]
    idle_timeout: Option<u64>,
    /// Serve a directory as the library: one item per subdirectory, its files as the item's.
    #[arg(long, value_name = "DIR", env = "DLSIM_LIBRARY")]
    library: Option<PathBuf>,
    /// Serve HTTPS (API and downloads) with a certificate generated at start.
    #[arg(long, env = "DLSIM_TLS")]
    tls: bool,
    /// PEM certificate chain to serve (implies --tls; needs --key).
    #[arg(long, value_name = "FILE", requires = "key", env = "DLSIM_CERT")]
    cert: Option<PathBuf>,
    /// PEM private key of --cert.
    #[arg(long, value_name = "FILE", requires = "cert", env = "DLSIM_KEY")]
    key: Option<PathBuf>,
    /// Report SHA-256 thumbprints on download endpoints (as 9.x does) instead of SHA-1.
    #[arg(long, env = "DLSIM_SHA256_THUMBPRINT")]
    sha256_thumbprint: bool,
    /// Also report the PEM certificate (ssl_certificate) on download endpoints.
    #[arg(long, env = "DLSIM_REPORT_CERTIFICATE")]
    report_certificate: bool,
    /// Do not compute checksums: preparing does not read files, no checksum_info is reported.
    #[arg(long, env = "DLSIM_NO_CHECKSUMS")]
    no_checksums: bool,
    /// Break a conformance rule on purpose (rule id; repeatable). For testing checkers.
    #[arg(long, value_name = "RULE", hide = true)]
    violate: Vec<crate::faults::Violation>,
    /// Run on a virtual clock that only moves through POST /dlsim/clock (for `dlsim check`).
    #[arg(long, env = "DLSIM_VIRTUAL_CLOCK")]
    virtual_clock: bool,
    /// Load a fault scenario: a shelf name (see `dlsim scenarios`) or a TOML file.
    #[arg(long, value_name = "NAME|FILE", env = "DLSIM_SCENARIO")]
    scenario: Option<String>,
    /// Also stream the journal (one JSON line per request) to this file.
    #[arg(long, value_name = "FILE", env = "DLSIM_JOURNAL")]
    journal: Option<PathBuf>,
    /// Journal entries kept in memory for GET /dlsim/journal and verification.
    #[arg(
        long,
        value_name = "N",
        default_value_t = crate::journal::DEFAULT_CAP,
        env = "DLSIM_JOURNAL_CAP"
    )]
    journal_cap: usize,
    /// Exit non-zero when the client under test broke an expectation (report on stop).
    #[arg(long, env = "DLSIM_VERIFY")]
    verify: bool,
    /// Close a connection that sends no whole request head for this long [default: 30, or the
    /// config file's header_timeout_secs].
    #[arg(
        long,
        value_name = "SECS",
        value_parser = clap::value_parser!(u64).range(1..),
        env = "DLSIM_HEADER_TIMEOUT"
    )]
    header_timeout: Option<u64>,
    /// Require this token (header dlsim-control-token) on every /dlsim/ call; without it the
    /// control plane answers loopback peers only.
    #[arg(
        long,
        value_name = "TOKEN",
        env = "DLSIM_CONTROL_TOKEN",
        hide_env_values = true
    )]
    control_token: Option<String>,
}

#[derive(clap::Args)]
struct DownloadArgs {
    /// Base URL of the server, e.g. https://vcenter.example.com (a trailing /api is accepted).
    base_url: String,
    /// User name to log in with.
    #[arg(long)]
    user: String,
    /// Password of --user.
    #[arg(long, env = "DLSIM_PASSWORD", hide_env_values = true)]
    password: String,
    /// Id of the library item to download.
    #[arg(long)]
    item: String,
    /// Wire form of the API calls: api, rest or jsonrpc (vAPI JSON-RPC at POST /api).
    #[arg(long, default_value = "api", value_parser = ["api", "rest", "jsonrpc"])]
    form: String,
    /// Directory to write the files to (created if missing).
    #[arg(long, default_value = ".")]
    output: PathBuf,
    /// Accept any TLS certificate on the API connection.
    #[arg(long, conflicts_with = "thumbprint")]
    insecure: bool,
    /// Accept exactly the API certificate with this SHA-1 or SHA-256 thumbprint (hex, colons optional).
    #[arg(long)]
    thumbprint: Option<String>,
    /// How often to poll a file's prepare status, in milliseconds.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    poll_interval_ms: u64,
    /// How long the files may take to become PREPARED, in seconds.
    #[arg(long, default_value_t = 300)]
    prepare_timeout_secs: u64,
    /// How often to send keep-alive with the progress, in seconds.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    keep_alive_secs: u64,
    /// No progress bars (they are also hidden when stderr is not a terminal).
    #[arg(long)]
    quiet: bool,
}

/// Run the `dlsim` command with the process's arguments and environment; the binary's entry
/// point.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logs(cli.log_format);
    crate::install_crypto();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = match cli.command {
        Command::Serve(args) => runtime.block_on(serve(args)),
        Command::Scenarios { name } => scenarios(name.as_deref()),
        Command::Completions { shell } => {
            completions(shell);
            Ok(())
        }
        Command::Download(args) => runtime.block_on(download(args)),
        Command::Check(args) => {
            return match runtime.block_on(check(args)) {
                Ok(true) => ExitCode::SUCCESS,
                Ok(false) => ExitCode::from(1),
                Err(message) => {
                    eprintln!("error: {message}");
                    ExitCode::from(2)
                }
            }
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Logs to stderr, filtered by DLSIM_LOG; colour only on a terminal and never with NO_COLOR set.
fn init_logs(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("DLSIM_LOG")
        .unwrap_or_else(|_| "dlsim=info".into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => {
            let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
            builder
                .with_ansi(std::io::stderr().is_terminal() && !no_color)
                .init()
        }
    }
}

fn completions(shell: Shell) {
    use clap_complete::Shell as S;
    let shell = match shell {
        Shell::Bash => S::Bash,
        Shell::Zsh => S::Zsh,
        Shell::Fish => S::Fish,
    };
    clap_complete::generate(shell, &mut Cli::command(), "dlsim", &mut std::io::stdout());
}

async fn serve(args: ServeArgs) -> Result<(), String> {
    let mut config = ServerConfig {
        clock: Clock::real(),
        ..ServerConfig::default()
    };
    let drawn = rand_seed();
    config.engine.seed = drawn;
    let mut own_users = false;
    if let Some(path) = &args.config {
        FileConfig::load(path)
            .and_then(|fc| {
                own_users = !fc.users.is_empty();
                fc.apply(&mut config)
            })
            .map_err(|e| e.to_string())?;
    }
    // Flags win over the file.
    if let Some(listen) = args.listen {
        config.listen = listen;
    }
    if let Some(seed) = args.seed {
        config.engine.seed = seed;
    }
    if let Some(t) = args.idle_timeout {
        if t == 0 {
            return Err("--idle-timeout must be at least 1 second".into());
        }
        config.engine.idle_timeout = Duration::from_secs(t);
    }
    if let Some(dir) = &args.library {
        config.engine.libraries =
            crate::content::directory::library_from_directory(dir).map_err(|e| e.to_string())?;
    }
    if args.tls || args.cert.is_some() {
        let mut opts = config.tls.take().unwrap_or_default();
        if let (Some(c), Some(k)) = (&args.cert, &args.key) {
            opts.cert_and_key = Some((c.clone(), k.clone()));
        }
        config.tls = Some(opts);
    }
    if let Some(opts) = config.tls.as_mut() {
        opts.sha256_thumbprint |= args.sha256_thumbprint;
        opts.report_certificate |= args.report_certificate;
    }
    if args.no_checksums {
        config.checksums = false;
    }
    for v in &args.violate {
        config
            .faults
            .push(crate::faults::Fault::new(crate::faults::What::Violate {
                rule: *v,
            }));
    }
    if args.virtual_clock {
        config.clock = Clock::virtual_at(crate::model::Timestamp(Clock::real().now().millis()));
    }
    if let Some(name) = &args.scenario {
        let s = crate::faults::scenario::Scenario::load(name).map_err(|e| e.to_string())?;
        config.apply_scenario(&s);
        if let Some(seed) = args.seed {
            // --seed wins over the scenario's.
            config.engine.seed = seed;
            config.fault_seed = Some(seed);
        }
    }
    if let Some(secs) = args.header_timeout {
        config.header_read_timeout = Duration::from_secs(secs);
    }
    if let Some(token) = &args.control_token {
        if token.is_empty() {
            return Err("--control-token must not be empty".into());
        }
        config.control_token = Some(token.clone());
    }
    if config.engine.seed == drawn {
        // No seed given anywhere: tokens from 256 random bits, not from a 64-bit seed.
        config.engine.secret_seed = Some(secret_seed());
    }
    config.journal_file = args.journal.clone();
    config.journal_cap = args.journal_cap;
    let (user, password) = config
        .engine
        .users
        .first()
        .map(|u| (u.name.clone(), u.password.clone()))
        .ok_or("the configuration has no users")?;
    let users_note = if own_users {
        format!(
            "{} user(s) of the config file (its [[users]] replace the demo users)",
            config.engine.users.len()
        )
    } else {
        "the demo users (define [[users]] in --config to replace them)".to_string()
    };
    let control_token = config.control_token.is_some();
    let control_note = if control_token {
        "dlsim-control-token header required"
    } else {
        "loopback clients only"
    };
    let scenario_note = args
        .scenario
        .as_deref()
        .map(|s| format!("\n  scenario: {s} ({} fault(s))", config.faults.len()))
        .unwrap_or_default();
    let mut running = server::start(config).await.map_err(|e| e.to_string())?;
    // Listen for signals before announcing readiness, so an early stop is not a kill.
    let mut signals = StopSignals::new().map_err(|e| format!("cannot listen for signals: {e}"))?;
    let state = running.state().clone();
    let base = running.base_url().to_string();
    let engine = running.engine().clone();
    let cert = running.certificate();
    if let Some(c) = cert {
        eprintln!(
            "TLS certificate thumbprints\n  SHA-1:    {}\n  SHA-256:  {}",
            c.sha1, c.sha256
        );
    }
    eprintln!(
        "dlsim listening on {base}\n  /api:     {base}/api\n  /rest:    {base}/rest\n  control:  {base}/dlsim/ ({control_note})\n  login:    {user} / {password}, one of {users_note}\n  library:  {} item(s) in {} librar(y/ies){scenario_note}\n  stop:     Ctrl-C",
        engine
            .library_ids()
            .iter()
            .filter_map(|l| engine.item_ids(l).ok())
            .map(|v| v.len())
            .sum::<usize>(),
        engine.library_ids().len()
    );
    if let Some(path) = &args.ready_file {
        let doc = ready_file::document(&running, &user, &password, control_token);
        ready_file::write(path, &doc)?;
    }
    signals.next().await;
    running
        .stop_unless(signals.next(), |open, wait| {
            eprintln!(
                "waiting up to {} s for {open} open connection(s); press Ctrl-C again to stop now",
                wait.as_millis().div_ceil(1000)
            )
        })
        .await
        .map_err(|e| format!("server error: {e}"))?;
    eprintln!("dlsim stopped");
    let report = state.verify();
    eprint!("{}", report.to_text());
    if args.verify && !report.passed {
        return Err("the client under test broke an expectation (see above)".into());
    }
    Ok(())
}

fn scenarios(name: Option<&str>) -> Result<(), String> {
    use crate::faults::scenario::{shelf_names, summary, SHELF};
    match name {
        None => {
            for (name, text) in SHELF {
                println!("{name:<24} {}", summary(text));
            }
            Ok(())
        }
        Some(name) => match SHELF.iter().find(|(n, _)| *n == name) {
            Some((_, text)) => {
                print!("{text}");
                Ok(())
            }
            None => Err(format!(
                "no scenario {name:?} on the shelf; it has: {}",
                shelf_names().join(", ")
            )),
        },
    }
}

async fn download(args: DownloadArgs) -> Result<(), String> {
    use crate::client::{self, DownloadOptions, TlsPolicy};
    let mut opts = DownloadOptions::new(&args.base_url, &args.user, &args.password, &args.item);
    opts.output_dir = args.output;
    opts.form = client::Form::from_name(&args.form).ok_or("--form must be api, rest or jsonrpc")?;
    opts.tls = match (args.insecure, args.thumbprint) {
        (_, Some(t)) => TlsPolicy::Thumbprint(t),
        (true, None) => TlsPolicy::Insecure,
        (false, None) => TlsPolicy::Verify,
    };
    opts.poll_interval = Duration::from_millis(args.poll_interval_ms);
    opts.prepare_timeout = Duration::from_secs(args.prepare_timeout_secs);
    opts.keep_alive_interval = Duration::from_secs(args.keep_alive_secs);
    let bars = client::progress::Bars::new(!args.quiet && std::io::stderr().is_terminal());
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await
        }
    };
    let result = client::run_until(&opts, |e| bars.handle(&e), interrupt).await;
    bars.clear();
    let report = result.map_err(|e| e.to_string())?;
    print!("{}", report.summary());
    if report.all_verified() {
        Ok(())
    } else {
        Err("not every file was verified".into())
    }
}

async fn check(args: CheckArgs) -> Result<bool, String> {
    use crate::client::TlsPolicy;
    use crate::conformance::{self, report, CheckOptions, Form};
    let mut opts = CheckOptions::new(&args.base_url, &args.user, &args.password);
    opts.forms = Form::parse(&args.form).ok_or("--form must be api, rest, jsonrpc or all")?;
    opts.tls = match (args.insecure, args.thumbprint) {
        (_, Some(t)) => TlsPolicy::Thumbprint(t),
        (true, None) => TlsPolicy::Insecure,
        (false, None) => TlsPolicy::Verify,
    };
    opts.item = args.item;
    opts.slow = args.slow;
    let quiet = args.quiet;
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await
        }
    };
    let progress = |what: &str| {
        if !quiet {
            eprintln!("checking {what}");
        }
    };
    let r = conformance::run_until(&opts, progress, interrupt)
        .await
        .map_err(|e| e.to_string())?;
    let text = match args.format.as_str() {
        "json" => report::json(&r, args.strict),
        "junit" => report::junit(&r, args.strict),
        _ => report::text(&r, args.strict),
    };
    match &args.output {
        Some(path) => {
            std::fs::write(path, &text)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            if !quiet {
                eprintln!("{}", report::summary(&r, args.strict));
            }
        }
        None => print!("{text}"),
    }
    Ok(r.passed(args.strict))
}

/// 32 random bytes: std's hasher keys come from the OS's random source (128 bits, per
/// thread), and four keyed hashes of distinct inputs spread them over the 256-bit seed.
fn secret_seed() -> [u8; 32] {
    use std::hash::{BuildHasher, RandomState};
    let mut out = [0u8; 32];
    for (i, chunk) in out.chunks_mut(8).enumerate() {
        let h = RandomState::new().hash_one((i, std::time::SystemTime::now(), std::process::id()));
        chunk.copy_from_slice(&h.to_le_bytes());
    }
    out
}

fn rand_seed() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(std::time::SystemTime::now())
}

/// SIGINT and SIGTERM, as often as they come: the first stops gracefully, the next at once.
struct StopSignals {
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
}

impl StopSignals {
    fn new() -> std::io::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Ok(StopSignals {
                int: signal(SignalKind::interrupt())?,
                term: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        Ok(StopSignals {})
    }

    /// The next SIGINT or SIGTERM.
    async fn next(&mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.int.recv() => {},
            _ = self.term.recv() => {},
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
