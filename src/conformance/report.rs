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
            let _ = writeln!(out, "       ({})", res.rule.reference);
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

fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\t' | '\r') => o.push(' '),
            c => o.push(c),
        }
    }
    o
}

/// JUnit XML. A failed SHOULD rule is a failure only with `strict`; otherwise it is reported
/// as skipped with the failure in its message, so CI shows it without failing the build. A
/// rule not reached is always a failure.
pub fn junit(r: &Report, strict: bool) -> String {
    let counted_fail = |x: &RuleResult| match x.outcome {
        Outcome::NotReached => true,
        Outcome::Fail => strict || x.rule.level == super::Level::Must,
        Outcome::Pass | Outcome::Skip => false,
    };
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let fails = r.results.iter().filter(|x| counted_fail(x)).count();
    let skips = r
        .results
        .iter()
        .filter(|x| x.outcome != Outcome::Pass && !counted_fail(x))
        .count();
    let _ = writeln!(
        out,
        "<testsuites name=\"dlsim check\" tests=\"{}\" failures=\"{fails}\" skipped=\"{skips}\" time=\"{:.3}\">",
        r.results.len(),
        r.seconds
    );
    for form in &r.forms {
        let cases: Vec<&RuleResult> = r.results.iter().filter(|x| x.form == *form).collect();
        let f = cases.iter().filter(|x| counted_fail(x)).count();
        let s = cases
            .iter()
            .filter(|x| x.outcome != Outcome::Pass && !counted_fail(x))
            .count();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{f}\" errors=\"0\" skipped=\"{s}\">",
            esc(&format!("{} {}", r.target, form.name())),
            cases.len()
        );
        for c in cases {
            let _ = write!(
                out,
                "    <testcase classname=\"dlsim.check.{}\" name=\"{}\"",
                form.name(),
                esc(&format!(
                    "{} [{}] {}",
                    c.rule.id, c.rule.level, c.rule.title
                ))
            );
            let details = || {
                let mut d = String::new();
                for f in &c.failures {
                    let _ = writeln!(d, "{}", f.message);
                    if let Some(e) = &f.evidence {
                        let _ = writeln!(d, "request: {}", e.request);
                        if let Some(b) = &e.request_body {
                            let _ = writeln!(d, "sent: {b}");
                        }
                        let _ = writeln!(d, "answer: HTTP {} {}", e.status, e.response_body);
                    }
                }
                let _ = writeln!(d, "contract: {}", c.rule.reference);
                d
            };
            match c.outcome {
                Outcome::Pass => out.push_str("/>\n"),
                Outcome::Fail | Outcome::NotReached if counted_fail(c) => {
                    let first = c.failures.first().map(|f| f.message.as_str()).unwrap_or("");
                    let _ = write!(
                        out,
                        ">\n      <failure message=\"{}\" type=\"{}\">{}</failure>\n    </testcase>\n",
                        esc(first),
                        c.rule.level,
                        esc(&details())
                    );
                }
                Outcome::Fail | Outcome::NotReached => {
                    let first = c.failures.first().map(|f| f.message.as_str()).unwrap_or("");
                    let _ = write!(
                        out,
                        ">\n      <skipped message=\"{}\"/>\n    </testcase>\n",
                        esc(&format!(
                            "SHOULD rule failed (not counted without --strict): {first}"
                        ))
                    );
                }
                Outcome::Skip => {
                    let _ = write!(
                        out,
                        ">\n      <skipped message=\"{}\"/>\n    </testcase>\n",
                        esc(c.skip_reason.as_deref().unwrap_or(""))
                    );
                }
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}
