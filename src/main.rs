//! The `dlsim` command line.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

use dlsim::config::FileConfig;
use dlsim::engine::Clock;
use dlsim::server::{self, ServerConfig};

#[derive(Parser)]
#[command(
    name = "dlsim",
    version,
    about = "A fake vCenter and conformance harness for Content Library download sessions"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the download-session API (zero configuration: the built-in demo library).
    Serve(ServeArgs),
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:8080] (port 0 picks a free port).
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// TOML configuration file (users, library, timeouts).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Write one JSON object (base URL, credentials) here once listening.
    #[arg(long)]
    ready_file: Option<PathBuf>,
    /// Seed for ids and tokens (default: random).
    #[arg(long)]
    seed: Option<u64>,
    /// Idle timeout of download sessions, in seconds.
    #[arg(long)]
    idle_timeout: Option<u64>,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("DLSIM_LOG")
                .unwrap_or_else(|_| "dlsim=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = match cli.command {
        Command::Serve(args) => runtime.block_on(serve(args)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(args: ServeArgs) -> Result<(), String> {
    let mut config = ServerConfig {
        clock: Clock::real(),
        ..ServerConfig::default()
    };
    config.engine.seed = rand_seed();
    if let Some(path) = &args.config {
        FileConfig::load(path)
            .and_then(|fc| fc.apply(&mut config))
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
    let (user, password) = config
        .engine
        .users
        .first()
        .map(|u| (u.name.clone(), u.password.clone()))
        .ok_or("the configuration has no users")?;
    let running = server::start(config).await.map_err(|e| e.to_string())?;
    let base = running.base_url().to_string();
    let engine = running.engine().clone();
    let ready = serde_json::json!({
        "base_url": base,
        "api_url": format!("{base}/api"),
        "username": user,
        "password": password,
        "libraries": engine.library_ids(),
    });
    eprintln!(
        "dlsim listening on {base}\n  /api:     {base}/api\n  login:    {user} / {password}\n  library:  {} item(s) in {} librar(y/ies)\n  stop:     Ctrl-C",
        engine
            .library_ids()
            .iter()
            .filter_map(|l| engine.item_ids(l).ok())
            .map(|v| v.len())
            .sum::<usize>(),
        engine.library_ids().len()
    );
    if let Some(path) = &args.ready_file {
        std::fs::write(path, format!("{ready}\n"))
            .map_err(|e| format!("cannot write the ready file {}: {e}", path.display()))?;
    }
    running
        .run_until(shutdown_signal())
        .await
        .map_err(|e| format!("server error: {e}"))?;
    eprintln!("dlsim stopped");
    Ok(())
}

fn rand_seed() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(std::time::SystemTime::now())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
