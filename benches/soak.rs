//! A bounded soak of `dlsim serve` over loopback (see `soak/run.rs` for what a round does and
//! what is checked).
//!
//! ```sh
//! cargo bench --bench soak                          # 60 s, 8 workers, 4 sessions each per round
//! cargo bench --bench soak -- --duration 180 --workers 16 --sessions 8
//! ```
//!
//! The duration is capped at 300 s, workers at 64, sessions at 16. Exit code 0 when nothing
//! was lost, nothing answered 5xx and the server's memory stayed flat.

#[path = "soak/run.rs"]
mod run;

use std::time::Duration;

fn main() {
    let mut opts = run::Options::default();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut number = |name: &str| -> u64 {
            args.next()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("{name} needs a whole number"))
        };
        match a.as_str() {
            "--duration" => opts.duration = Duration::from_secs(number("--duration")),
            "--workers" => opts.workers = number("--workers") as usize,
            "--sessions" => opts.sessions = number("--sessions") as usize,
            "--rss-slack-mib" => opts.rss_slack_kib = number("--rss-slack-mib") * 1024,
            _ => {} // cargo bench passes --bench
        }
    }
    eprintln!(
        "soak: {:?} (at most {:?}), {} workers, {} sessions each per round",
        opts.duration,
        run::MAX_DURATION,
        opts.workers,
        opts.sessions
    );
    match run::run(&opts) {
        Ok(report) => {
            let (warm, peak) = report.rss_warm_and_peak();
            println!(
                "soak passed: {} rounds, {} requests in {:.1} s ({:.0}/s), none lost, no 5xx; \
                 server RSS {:.1} MiB after warm-up, peak {:.1} MiB",
                report.rounds.len(),
                report.requests(),
                report.elapsed.as_secs_f64(),
                report.requests() as f64 / report.elapsed.as_secs_f64(),
                warm as f64 / 1024.0,
                peak as f64 / 1024.0
            );
        }
        Err(e) => {
            eprintln!("soak failed: {e}");
            std::process::exit(1);
        }
    }
}
