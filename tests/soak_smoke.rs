//! The soak (`cargo bench --bench soak`) in a short smoke mode, so every `cargo test` runs
//! the same rounds and checks for a couple of seconds.

#[path = "../benches/soak/run.rs"]
mod run;

use std::time::Duration;

#[test]
fn a_short_soak_loses_nothing_answers_no_5xx_and_stays_flat() {
    let opts = run::Options {
        duration: Duration::from_secs(2),
        workers: 4,
        sessions: 4,
        max_rounds: 200,
        // Debug builds and a short run: a generous bound, the long soak is the real measure.
        rss_slack_kib: 32 * 1024,
        // Shown only when the test fails.
        verbose: true,
    };
    let report = run::run(&opts).unwrap_or_else(|e| panic!("{e}"));
    assert!(!report.rounds.is_empty());
    assert!(report.rounds.iter().all(|r| r.journaled == r.requests));
}
