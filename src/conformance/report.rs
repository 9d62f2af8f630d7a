//! The runner's verdict written for people (text), for programs (JSON) and for CI systems
//! (JUnit XML: one test suite per wire form, one test case per rule).

use std::fmt::Write as _;

use super::{Outcome, Report, RuleResult};

/// Readable text, grouped by rule, with the request and the offending bytes of each failure.
pub fn text(r: &Report, strict: bool) -> String {
    let mut out = String::new();
    let forms: Vec<&str> = r.forms.iter().map(|f| f.name()).collect();
    let _ = writeln!(
        out,
        "dlsim check {} (forms: {})",
        r.target,
        forms.join(", ")
    );
    for u in &r.items {
        let files = match u.files {
            0 => "no files: no library item has a file".to_string(),
            1 => "1 file".to_string(),
            n => format!("{n} files"),
        };
        let name = u.name.as_deref().unwrap_or("(no name)");
        let _ = writeln!(out, "item ({}): {name} {} ({files})", u.form.name(), u.id);
    }
    let _ = writeln!(out);
    let mut current = "";
    for res in &r.results {
        if res.rule.id != current {
            current = &res.rule.id;
            let _ = writeln!(
                out,
                "{} [{}] {}",
                res.rule.id, res.rule.level, res.rule.title
            );
        }
        let mark = match res.outcome {
            Outcome::Pass => "pass",
            Outcome::Fail | Outcome::NotReached => "FAIL",
            Outcome::Skip => "skip",
        };
        let detail = match res.outcome {
            Outcome::Pass => format!("{} check(s)", res.checks),
            Outcome::Fail => format!("{} of {} check(s) failed", res.failures.len(), res.checks),
            Outcome::NotReached => "not reached".to_string(),
            Outcome::Skip => res.skip_reason.clone().unwrap_or_default(),
        };
        let _ = writeln!(out, "  {mark} {:<7} {detail}", res.form.name());
        for f in &res.failures {
            let _ = writeln!(out, "       - {}", f.message);
            if let Some(e) = &f.evidence {
                let _ = writeln!(out, "         request:  {}", e.request);
                if let Some(b) = &e.request_body {
                    let _ = writeln!(out, "         sent:     {b}");
                }
                let _ = writeln!(
                    out,
                    "         answer:   HTTP {} {}",
                    e.status, e.response_body
                );
            }
        }
        if matches!(res.outcome, Outcome::Fail | Outcome::NotReached) {
            let _ = writeln!(
                out,
                "       (see {}; VMware: {})",
                res.rule.doc,
                res.rule.api.join(" ")
            );
        }
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "{}", summary(r, strict));
    out
}

/// The one-line verdict: counts, time, how many MUST rules were verified, sessions cleaned up.
pub fn summary(r: &Report, strict: bool) -> String {
    let verdict = if r.passed(strict) { "PASSED" } else { "FAILED" };
    let verified: Vec<String> = r
        .forms
        .iter()
        .map(|f| {
            let (n, of) = r.must_verified(*f);
            format!("{n} of {of} ({})", f.name())
        })
        .collect();
    format!(
        "{verdict}: {} passed, {} failed, {} not reached, {} skipped in {:.2} s; \
         MUST rules verified: {}; {} session(s) cleaned up{}",
        r.count(Outcome::Pass),
        r.count(Outcome::Fail),
        r.count(Outcome::NotReached),
        r.count(Outcome::Skip),
        r.seconds,
        verified.join(", "),
        r.sessions_cleaned,
        if strict {
            " (strict: SHOULD rules count)"
        } else {
            ""
        },
    )
}

/// The whole report as JSON.
pub fn json(r: &Report, strict: bool) -> String {
    let mut v = serde_json::to_value(r).unwrap_or_default();
    v["passed"] = serde_json::Value::Bool(r.passed(strict));
    v["strict"] = serde_json::Value::Bool(strict);
    format!("{v:#}\n")
}

/// A rule's failures as text: each message, with the request sent and the answer received
/// when there is one (the offending exchange).
fn exchanges(c: &RuleResult) -> String {
    let mut d = String::new();
    for f in &c.failures {
        let _ = writeln!(d, "{}", f.message);
        if let Some(e) = &f.evidence {
            let _ = writeln!(d, "  request: {}", e.request);
            if let Some(b) = &e.request_body {
                let _ = writeln!(d, "  sent:    {b}");
            }
            let _ = writeln!(d, "  answer:  HTTP {} {}", e.status, e.response_body);
        }
    }
    d
}

/// JUnit XML (written by quick-junit): one suite per form, one test case per rule with the time
/// spent on it and, when it failed, the offending exchanges in `system-out`. A failed SHOULD
/// rule is a failure only with `strict`; otherwise it is reported as skipped with the failure
/// in its message, so CI shows it without failing the build. A rule not reached is always a
/// failure.
pub fn junit(r: &Report, strict: bool) -> String {
    use quick_junit::{NonSuccessKind, TestCase, TestCaseStatus, TestSuite};
    use std::time::Duration;
    let counted_fail = |x: &RuleResult| match x.outcome {
        Outcome::NotReached => true,
        Outcome::Fail => strict || x.rule.level == super::Level::Must,
        Outcome::Pass | Outcome::Skip => false,
    };
    let mut report = quick_junit::Report::new("dlsim check");
    report.set_time(Duration::from_secs_f64(r.seconds));
    for form in &r.forms {
        let mut suite = TestSuite::new(format!("{} {}", r.target, form.name()));
        let mut total = Duration::ZERO;
        for c in r.results.iter().filter(|x| x.form == *form) {
            let first = c.failures.first().map(|f| f.message.as_str()).unwrap_or("");
            let status = match c.outcome {
                Outcome::Pass => TestCaseStatus::success(),
                Outcome::Fail | Outcome::NotReached if counted_fail(c) => {
                    let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    s.set_message(first)
                        .set_type(c.rule.level.to_string())
                        .set_description(format!(
                            "{} of {} check(s) failed; see {} and {}",
                            c.failures.len(),
                            c.checks.max(1),
                            c.rule.doc,
                            c.rule.api.join(" ")
                        ));
                    s
                }
                Outcome::Fail | Outcome::NotReached => {
                    let mut s = TestCaseStatus::skipped();
                    s.set_message(format!(
                        "SHOULD rule failed (not counted without --strict): {first}"
                    ));
                    s
                }
                Outcome::Skip => {
                    let mut s = TestCaseStatus::skipped();
                    s.set_message(c.skip_reason.as_deref().unwrap_or(""));
                    s
                }
            };
            let mut case = TestCase::new(
                format!("{} [{}] {}", c.rule.id, c.rule.level, c.rule.title),
                status,
            );
            let time = Duration::from_secs_f64(c.seconds);
            total += time;
            // No `assertions` count: junit-10.xsd has no such attribute.
            case.set_classname(format!("dlsim.check.{}", form.name()))
                .set_time(time);
            if !c.failures.is_empty() {
                case.set_system_out_lossy(exchanges(c));
            }
            suite.add_test_case(case);
        }
        suite.set_time(total);
        report.add_test_suite(suite);
    }
    let xml = report
        .to_string()
        .unwrap_or_else(|e| format!("<!-- cannot write the JUnit report: {e} -->\n"));
    without_root_skipped(xml)
}

/// The document without the `skipped` count quick-junit puts on `<testsuites>`: the Jenkins
/// JUnit schema (junit-10.xsd) allows it on `<testsuite>` only, where each suite keeps its own.
fn without_root_skipped(mut xml: String) -> String {
    if let Some(open) = xml.find("<testsuites ") {
        let close = xml[open..].find('>').map_or(xml.len(), |i| open + i);
        if let Some(at) = xml[open..close].find(" skipped=\"") {
            let start = open + at;
            let value_end = xml[start + 10..close].find('"').map(|i| start + 10 + i + 1);
            if let Some(end) = value_end {
                xml.replace_range(start..end, "");
            }
        }
    }
    xml
}
