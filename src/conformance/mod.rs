//! `dlsim check`: a conformance runner for any endpoint of the download-session API.
//!
//! It is a client. It speaks HTTP to the endpoint through each wire form, judges bodies with
//! the hand-written JSON Schemas in `schemas/` (never with dlsim's own types, so a bug in the
//! model cannot hide itself) and the lifecycle with the rules in `conformance/rules.toml`, and
//! reports per rule and form. Every rule has a violation in `crate::faults` that breaks exactly
//! it, and a test that shows the runner catches it.

pub mod catalog;
#[cfg(test)]
mod contract_links_tests;
mod probes;
pub mod report;
#[cfg(test)]
mod rules_tests;
mod target;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::Serialize;

pub use catalog::{Level, Rule};
pub use target::Evidence;

/// A wire form the runner can test (the clients' one list of forms).
pub use crate::client::forms::Form;

/// What to check and how.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// `https://host[:port]` (a trailing `/api` is accepted).
    pub base_url: String,
    pub username: String,
    pub password: String,
    pub forms: Vec<Form>,
    pub tls: crate::client::TlsPolicy,
    /// The library item to use; discovered when unset.
    pub item: Option<String>,
    /// Run slow rules (real expiry) by waiting.
    pub slow: bool,
    /// The longest a slow rule may wait.
    pub slow_timeout: Duration,
    /// How long after `expiration_time` an expired session may still answer (lazy cleanup).
    pub expiry_grace: Duration,
    pub poll_interval: Duration,
    pub prepare_timeout: Duration,
}

impl CheckOptions {
    pub fn new(base_url: &str, username: &str, password: &str) -> Self {
        CheckOptions {
            base_url: base_url.to_string(),
            username: username.to_string(),
            password: password.to_string(),
            forms: Form::ALL.to_vec(),
            tls: crate::client::TlsPolicy::Verify,
            item: None,
            slow: false,
            slow_timeout: Duration::from_secs(660),
            expiry_grace: Duration::from_secs(60),
            poll_interval: Duration::from_millis(250),
            prepare_timeout: Duration::from_secs(60),
        }
    }
}

/// Why a run could not happen at all (rule failures are not errors: they are the report).
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("{0} (give the server's base URL, e.g. https://vcenter.example.com)")]
    BadUrl(String),
    #[error("cannot set up the HTTP client: {0}")]
    Setup(String),
    #[error("interrupted; the sessions the run created were deleted")]
    Interrupted,
    #[error("cannot reach the endpoint: {0}")]
    Unreachable(String),
}

/// A rule's verdict in one form. A rule the run never got to check is `NotReached`: it fails
/// the run like a failure (whatever the level), so a run that checked little cannot pass.
/// `Skip` is only for rules that do not apply to this endpoint or run (plain HTTP, no --slow).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Pass,
    Fail,
    NotReached,
    Skip,
}

/// One way a rule was broken.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Failure {
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence: Option<Evidence>,
}

/// The verdict on one rule in one form.
#[derive(Debug, Clone, Serialize)]
pub struct RuleResult {
    pub rule: Rule,
    pub form: Form,
    pub outcome: Outcome,
    /// How many times the rule was checked.
    pub checks: u32,
    /// The time spent on this rule in this form: every verdict on it counts the time since the
    /// run's previous verdict (so the rules' times add up to the run's, discovery aside).
    pub seconds: f64,
    pub failures: Vec<Failure>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skip_reason: Option<String>,
}

/// The library item a form's run exercised, and how many files it has.
#[derive(Debug, Clone, Serialize)]
pub struct ItemUsed {
    pub form: Form,
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub files: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub target: String,
    pub forms: Vec<Form>,
    pub seconds: f64,
    /// The item each form's run used (none when discovery failed).
    pub items: Vec<ItemUsed>,
    pub results: Vec<RuleResult>,
    /// Sessions the run created and deleted again.
    pub sessions_cleaned: usize,
}

impl Report {
    /// The report as `dlsim check` prints it: one line per rule and form, then a summary.
    pub fn text(&self, strict: bool) -> String {
        report::text(self, strict)
    }

    /// The report as one JSON document (`dlsim check --format json`).
    pub fn json(&self, strict: bool) -> String {
        report::json(self, strict)
    }

    /// The report as a JUnit XML document (`dlsim check --format junit`).
    pub fn junit(&self, strict: bool) -> String {
        report::junit(self, strict)
    }

    /// Whether the run passes: every rule was reached, and every MUST rule (with `strict`,
    /// every SHOULD rule too) holds.
    pub fn passed(&self, strict: bool) -> bool {
        self.results.iter().all(|r| match r.outcome {
            Outcome::Pass | Outcome::Skip => true,
            Outcome::NotReached => false,
            Outcome::Fail => r.rule.level == Level::Should && !strict,
        })
    }
    /// How many MUST rules were verified (passed) in `form`, of how many apply to it.
    pub fn must_verified(&self, form: Form) -> (usize, usize) {
        let must = self
            .results
            .iter()
            .filter(|r| r.form == form && r.rule.level == Level::Must);
        let total = must.clone().count();
        (must.filter(|r| r.outcome == Outcome::Pass).count(), total)
    }
    /// The ids of the rules that failed in any form.
    pub fn failed_rules(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = self
            .results
            .iter()
            .filter(|r| r.outcome == Outcome::Fail)
            .map(|r| r.rule.id.as_str())
            .collect();
        ids.sort();
        ids.dedup();
        ids
    }
    pub fn count(&self, outcome: Outcome) -> usize {
        self.results.iter().filter(|r| r.outcome == outcome).count()
    }
}

/// Collects checks per rule and form as the probes run.
#[derive(Debug, Default)]
pub(crate) struct Checker {
    acc: BTreeMap<(String, Form), (u32, Vec<Failure>)>,
    time: BTreeMap<(String, Form), Duration>,
    last: Option<Instant>,
    skips: BTreeMap<(String, Form), String>,
    missed: BTreeMap<(String, Form), String>,
}

impl Checker {
    /// Count the time since the previous verdict to `rule` in `form`.
    fn lap(&mut self, rule: &str, form: Form) {
        let now = Instant::now();
        if let Some(last) = self.last {
            *self.time.entry((rule.to_string(), form)).or_default() += now - last;
        }
        self.last = Some(now);
    }
    pub fn pass(&mut self, rule: &str, form: Form) {
        self.lap(rule, form);
        self.acc.entry((rule.to_string(), form)).or_default().0 += 1;
    }
    pub fn fail(&mut self, rule: &str, form: Form, message: String, evidence: Option<Evidence>) {
        self.lap(rule, form);
        let e = self.acc.entry((rule.to_string(), form)).or_default();
        e.0 += 1;
        if e.1.len() < 5 {
            e.1.push(Failure { message, evidence });
        }
    }
    pub fn skip(&mut self, rule: &str, form: Form, reason: &str) {
        self.skips
            .entry((rule.to_string(), form))
            .or_insert_with(|| reason.to_string());
    }

    /// The rule could not be checked, for `reason`: the run fails (see [`Outcome::NotReached`]).
    pub fn not_reached(&mut self, rule: &str, form: Form, reason: &str) {
        self.missed
            .entry((rule.to_string(), form))
            .or_insert_with(|| reason.to_string());
    }

    fn results(mut self, forms: &[Form]) -> Vec<RuleResult> {
        let mut out = vec![];
        for rule in catalog::rules() {
            for form in forms {
                if !rule.forms.iter().any(|f| f == form.name()) {
                    continue;
                }
                let key = (rule.id.clone(), *form);
                let (checks, mut failures) = self.acc.remove(&key).unwrap_or_default();
                let seconds = self.time.remove(&key).unwrap_or_default().as_secs_f64();
                let missed = self.missed.remove(&key);
                let skip = self.skips.remove(&key);
                let (outcome, skip_reason) = if !failures.is_empty() {
                    (Outcome::Fail, None)
                } else if checks > 0 {
                    (Outcome::Pass, None)
                } else if let (None, Some(why)) = (&missed, skip) {
                    (Outcome::Skip, Some(why))
                } else {
                    let why = missed.unwrap_or_else(|| "an earlier step failed".to_string());
                    failures.push(Failure {
                        message: format!("not reached: {why}"),
                        evidence: None,
                    });
                    (Outcome::NotReached, None)
                };
                out.push(RuleResult {
                    rule: rule.clone(),
                    form: *form,
                    outcome,
                    checks,
                    seconds,
                    failures,
                    skip_reason,
                });
            }
        }
        out
    }
}

/// Run every rule against the endpoint. `progress` hears what is being checked.
pub async fn run(opts: &CheckOptions, progress: impl Fn(&str)) -> Result<Report, CheckError> {
    run_until(opts, progress, std::future::pending()).await
}

/// Like [`run`], but stops when `interrupt` completes; the sessions created are deleted first.
pub async fn run_until(
    opts: &CheckOptions,
    progress: impl Fn(&str),
    interrupt: impl std::future::Future<Output = ()>,
) -> Result<Report, CheckError> {
    let started = Instant::now();
    let root = root_url(&opts.base_url)?;
    let mut runner = probes::Runner::new(opts, root.clone())?;
    let stop = runner.stop_handle();
    let interrupted = {
        // An interrupt stops the run at its next step (never mid-request, so no session is
        // created without the runner knowing its id), then everything it created is deleted.
        let work = runner.run_all(&progress);
        tokio::pin!(work);
        tokio::select! {
            _ = &mut work => false,
            _ = interrupt => {
                stop.stop();
                work.await;
                true
            }
        }
    };
    let cleaned = runner.cleanup().await;
    if interrupted {
        return Err(CheckError::Interrupted);
    }
    if let Some(why) = runner.unreachable.take() {
        return Err(CheckError::Unreachable(why));
    }
    let (checker, forms, items) = runner.finish();
    Ok(Report {
        target: root,
        forms: forms.clone(),
        seconds: started.elapsed().as_secs_f64(),
        items,
        results: checker.results(&forms),
        sessions_cleaned: cleaned,
    })
}

/// `https://host:port` from what the user typed.
fn root_url(base: &str) -> Result<String, CheckError> {
    let url = reqwest::Url::parse(base.trim())
        .map_err(|e| CheckError::BadUrl(format!("{base:?} is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(CheckError::BadUrl(format!(
            "{base:?} is not an http(s) URL"
        )));
    }
    let mut root = format!("{}://{}", url.scheme(), url.host_str().unwrap_or_default());
    if let Some(port) = url.port() {
        root.push_str(&format!(":{port}"));
    }
    Ok(root)
}
