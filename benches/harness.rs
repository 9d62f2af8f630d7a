//! The benchmark command (see BENCHMARKS.md):
//!
//! ```sh
//! cargo bench --bench harness                       # the full run, under 10 minutes
//! cargo bench --bench harness -- --smoke            # a few seconds
//! cargo bench --bench harness -- --only api,downloads --out target/bench/api.json
//! ```
//!
//! Without `--bench` (which `cargo bench` passes), as under `cargo test --benches`, it runs the
//! smoke mode unless `--full` is given.
//!
//! It prints a table as it goes and writes every figure as JSON to `target/bench/results.json`
//! (`smoke.json` in the smoke mode; or `--out FILE`). Sections: machine, api, api_baseline, cold_start, downloads,
//! download_baseline, download_peak_rss, scaling, journal_and_faults, conformance, nginx,
//! ratios. Exit code 1 when a measurement could not be made (a server that failed to start, an
//! error answer where none belongs).

#[path = "harness/mod.rs"]
mod harness;

use std::path::PathBuf;

fn main() {
    let mut opts = harness::Options {
        smoke: !std::env::args().any(|a| a == "--bench" || a == "--full"),
        only: vec![],
    };
    let mut out = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--smoke" => opts.smoke = true,
            "--full" => opts.smoke = false,
            "--only" => {
                let list = args.next().expect("--only needs a list of sections");
                opts.only = list.split(',').map(str::to_string).collect();
            }
            "--out" => out = Some(PathBuf::from(args.next().expect("--out needs a file"))),
            // `cargo test --benches` asks for the list of benchmarks: there is none to run.
            "--list" => return,
            _ => {} // cargo bench passes --bench
        }
    }
    // A smoke run never overwrites the full run's results.
    let name = if opts.smoke {
        "smoke.json"
    } else {
        "results.json"
    };
    let out = out.unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("target/bench")
            .join(name)
    });
    match harness::run(opts) {
        Ok(results) => {
            if let Some(dir) = out.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            std::fs::write(&out, format!("{results:#}\n"))
                .unwrap_or_else(|e| panic!("cannot write {}: {e}", out.display()));
            println!("results written to {}", out.display());
        }
        Err(e) => {
            eprintln!("benchmark failed: {e}");
            std::process::exit(1);
        }
    }
}
