//! The benchmark harness (`cargo bench --bench harness`) in its smoke mode, so every
//! `cargo test` runs each of its sections for a moment and it cannot rot. No timing is
//! asserted: only that every section ran, measured something and met no error.

#[path = "../benches/harness/mod.rs"]
mod harness;

use serde_json::Value;

#[test]
fn the_benchmark_harness_runs_every_section_in_smoke_mode() {
    let out = harness::run(harness::Options {
        smoke: true,
        only: vec![],
    })
    .unwrap_or_else(|e| panic!("{e}"));
    for section in harness::SECTIONS {
        assert!(out.get(*section).is_some(), "section {section} missing");
    }
    // Every form × operation at every connection count, each with answers and no error.
    let api = out["api"].as_array().unwrap();
    assert_eq!(api.len(), 3 * 4 * 2, "{api:#?}");
    for r in api.iter().chain(out["api_baseline"].as_array().unwrap()) {
        assert!(r["units"].as_u64().unwrap() > 0, "{r}");
        assert_eq!(r["errors"], 0, "{r}");
        assert!(r["p99_ms"].as_f64().unwrap() >= r["median_ms"].as_f64().unwrap());
    }
    for kind in ["plain", "tls"] {
        assert_eq!(
            out["cold_start"][kind]["runs_ms"].as_array().unwrap().len(),
            3
        );
    }
    // HTTP and HTTPS × synthetic and directory × checksums off and on.
    let downloads = out["downloads"].as_array().unwrap();
    assert_eq!(downloads.len(), 8);
    assert!(downloads
        .iter()
        .all(|d| d["median_gb_per_s"].as_f64().unwrap() > 0.0));
    assert!(
        out["download_baseline"][0]["median_gb_per_s"]
            .as_f64()
            .unwrap()
            > 0.0
    );
    assert!(out["download_peak_rss"]["peak_rss_kib"].as_u64().unwrap() > 0);
    let scaling = out["scaling"].as_array().unwrap();
    assert_eq!(scaling.len(), 6, "three levels, journal on and off");
    for s in scaling {
        // At least the level asked for (creation is spread over connections, so a few more).
        let (level, live) = (
            s["level"].as_u64().unwrap(),
            s["live_sessions"].as_u64().unwrap(),
        );
        assert!(live >= level && live < level + 8, "{s}");
    }
    assert_eq!(out["journal_and_faults"].as_array().unwrap().len(), 3);
    assert_eq!(out["conformance"]["passed"], true);
    assert!(
        out["conformance"]["outcomes"]["pass"].as_u64().unwrap() > 0,
        "{}",
        out["conformance"]
    );
    // Every ratio the targets are stated in was computed.
    let ratios = out["ratios"].as_object().unwrap();
    assert!(ratios.len() >= 20, "{ratios:#?}");
    for (k, v) in ratios {
        // CPU time comes in clock ticks (10 ms): a smoke run's short loads and 8 MiB downloads
        // can take less than one, so a CPU ratio may be 0 or undefined here.
        if k.contains("CPU") {
            assert!(
                v.is_null() || v.as_f64().is_some_and(|x| x >= 0.0),
                "ratio {k} is {v}"
            );
            continue;
        }
        assert!(v.as_f64().is_some_and(|x| x > 0.0), "ratio {k} is {v}");
    }
    let _: &Value = &out["elapsed_seconds"];
}
