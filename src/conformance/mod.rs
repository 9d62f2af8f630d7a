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

/// What [`check`](crate::check) tests, and how.
///
/// Start from [`CheckOptions::new`] (the defaults of `dlsim check`: every form, no slow
/// rules) and set the public fields you need:
///
/// ```
/// use std::time::Duration;
/// use dlsim::{CheckOptions, Form, TlsPolicy};
///
/// let mut opts = CheckOptions::new("https://vc.example", "user", "secret");
/// assert_eq!(opts.forms, Form::ALL);
/// assert_eq!(opts.tls, TlsPolicy::Verify);
/// assert_eq!(opts.item, None);
/// assert!(!opts.slow);
///
/// opts.forms = vec![Form::Api, Form::JsonRpc];
/// opts.tls = TlsPolicy::Insecure;
/// opts.item = Some("an-item-id".into());
/// opts.poll_interval = Duration::from_millis(10);
/// ```
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// `https://host[:port]` (a trailing `/api` is accepted).
    pub base_url: String,
    /// The user to log in as.
    pub username: String,
    /// That user's password.
    pub password: String,
    /// The wire forms to test, each in a run of its own (all of them by default).
    pub forms: Vec<Form>,
    /// How the server's certificate is checked (see [`TlsPolicy`](crate::TlsPolicy)).
    pub tls: crate::client::TlsPolicy,
    /// The library item to use; discovered when unset.
    pub item: Option<String>,
    /// Run slow rules (real expiry) by waiting.
    pub slow: bool,
    /// The longest a slow rule may wait.
    pub slow_timeout: Duration,
    /// How long after `expiration_time` an expired session may still answer (lazy cleanup).
    pub expiry_grace: Duration,
    /// How often to ask whether a file is prepared.
    pub poll_interval: Duration,
    /// How long a file may take to become PREPARED.
    pub prepare_timeout: Duration,
}

impl CheckOptions {
    /// Options with the command's defaults: every form, platform TLS verification, the item
    /// discovered, no slow rules, polling every 250 ms, 60 s to prepare.
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

/// Why a [`check`](crate::check) run could not happen at all. Broken rules are not errors:
/// they are in the [`CheckReport`](crate::CheckReport).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use dlsim::{CheckError, CheckOptions};
///
/// let opts = CheckOptions::new("vcenter.example", "user", "secret");
/// let err = dlsim::check(&opts, |_step| {}).await.unwrap_err();
/// assert!(matches!(err, CheckError::BadUrl(_)), "{err}");
///
/// // Nothing listens any more where a stopped fake was.
/// let fake = dlsim::Dlsim::start().await;
/// let opts = CheckOptions::new(fake.base_url(), fake.username(), fake.password());
/// fake.stop().await.unwrap();
/// let err = dlsim::check(&opts, |_step| {}).await.unwrap_err();
/// assert!(matches!(err, CheckError::Unreachable(_)), "{err}");
/// # }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CheckError {
    /// The base URL is not an `http(s)://host[:port]` URL.
    #[error("{0} (give the server's base URL, e.g. https://vcenter.example.com)")]
    BadUrl(String),
    /// The options cannot work (a malformed thumbprint), or the HTTP client could not be built.
    #[error("cannot start: {0}")]
    Setup(String),
    /// The interrupt of [`check_until`](crate::check_until) completed; the sessions the run
    /// created were deleted.
    #[error("interrupted; the sessions the run created were deleted")]
    Interrupted,
    /// The endpoint could not be reached at all (refused, TLS, timeout).
    #[error("cannot reach the endpoint: {0}")]
    Unreachable(String),
}

/// A rule's verdict in one form, in [`RuleResult::outcome`](crate::RuleResult::outcome).
///
/// A rule the run never got to check is `NotReached`: it fails the run like a failure
/// (whatever the level), so a run that checked little cannot pass. `Skip` is only for rules
/// that do not apply to this endpoint or run (plain HTTP, no `--slow`).
///
/// Here every `create` fails, so the rules that need a session are not reached:
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// # let library: dlsim::LibrarySpec = toml::from_str(
/// #     "name = \"isos\"\n[[items]]\nname = \"alpine\"\nfiles = [{ name = \"alpine.iso\", size = 4096 }]",
/// # ).unwrap();
/// let fake = dlsim::Dlsim::builder().libraries(vec![library]).start().await;
/// let mut opts = dlsim::CheckOptions::new(fake.base_url(), fake.username(), fake.password());
/// opts.forms = vec![dlsim::Form::Api];
/// use dlsim::{Fault, OpName, RuleOutcome, What};
/// let error = What::HttpError { status: 500, retry_after_secs: None };
/// fake.add_fault(Fault::new(error).on(OpName::Create));
/// let report = dlsim::check(&opts, |_step| {}).await.unwrap();
/// let outcome = |id: &str| report.results.iter().find(|r| r.rule.id == id).unwrap().outcome;
/// assert_eq!(outcome("schema.login"), RuleOutcome::Pass);
/// assert_eq!(outcome("schema.session-id"), RuleOutcome::Fail);
/// assert_eq!(outcome("lifecycle.cancel"), RuleOutcome::NotReached);
/// // The fake serves one item: the list filter cannot be told apart.
/// assert_eq!(outcome("lifecycle.list-filter"), RuleOutcome::Skip);
/// assert!(report.count(RuleOutcome::NotReached) > 0);
/// assert!(!report.passed(false));
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Outcome {
    /// Every check of the rule held.
    Pass,
    /// At least one check of the rule failed.
    Fail,
    /// The run never got to check the rule (an earlier step failed); fails the run.
    NotReached,
    /// The rule does not apply to this endpoint or run.
    Skip,
}

/// One way a rule was broken, in [`RuleResult::failures`](crate::RuleResult::failures) (at
/// most five are kept per rule and form).
///
/// Here the fake writes date-times without milliseconds, breaking `format.date-time`:
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// # let library: dlsim::LibrarySpec = toml::from_str(
/// #     "name = \"isos\"\n[[items]]\nname = \"alpine\"\nfiles = [{ name = \"alpine.iso\", size = 4096 }]",
/// # ).unwrap();
/// let fake = dlsim::Dlsim::builder()
///     .libraries(vec![library])
///     .violate(dlsim::Violation::DateTimeFormat)
///     .start()
///     .await;
/// let mut opts = dlsim::CheckOptions::new(fake.base_url(), fake.username(), fake.password());
/// opts.forms = vec![dlsim::Form::Api];
/// let report = dlsim::check(&opts, |_step| {}).await.unwrap();
/// let result = report.results.iter().find(|r| r.rule.id == "format.date-time").unwrap();
/// let failure = &result.failures[0];
/// assert!(failure.message.contains("is not YYYY-MM-DDThh:mm:ss.sssZ"), "{}", failure.message);
/// assert_eq!(failure.evidence.as_ref().unwrap().status, 200);
/// # }
/// ```
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Failure {
    /// What was wrong, in words (`not reached: ...` for a rule not reached).
    pub message: String,
    /// The request and answer that showed it, when one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence: Option<Evidence>,
}

/// The verdict on one rule in one form: an entry of
/// [`CheckReport::results`](crate::CheckReport::results).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// # let library: dlsim::LibrarySpec = toml::from_str(
/// #     "name = \"isos\"\n[[items]]\nname = \"alpine\"\nfiles = [{ name = \"alpine.iso\", size = 4096 }]",
/// # ).unwrap();
/// let fake = dlsim::Dlsim::builder().libraries(vec![library]).start().await;
/// let mut opts = dlsim::CheckOptions::new(fake.base_url(), fake.username(), fake.password());
/// opts.forms = vec![dlsim::Form::Api];
/// let report = dlsim::check(&opts, |_step| {}).await.unwrap();
/// let result = report
///     .results
///     .iter()
///     .find(|r| r.rule.id == "lifecycle.cancel" && r.form == dlsim::Form::Api)
///     .unwrap();
/// assert_eq!(result.outcome, dlsim::RuleOutcome::Pass);
/// assert!(result.checks > 0);
/// assert!(result.failures.is_empty());
/// assert!(result.seconds >= 0.0);
/// assert_eq!(result.skip_reason, None);
///
/// // The fake serves one item: the list filter cannot be told apart.
/// let skipped = report.results.iter().find(|r| r.rule.id == "lifecycle.list-filter").unwrap();
/// assert_eq!(skipped.outcome, dlsim::RuleOutcome::Skip);
/// assert!(skipped.skip_reason.is_some());
/// # }
/// ```
#[derive(Debug, Clone, Serialize)]
pub struct RuleResult {
    /// The rule.
    pub rule: Rule,
    /// The form it was checked in.
    pub form: Form,
    /// The verdict.
    pub outcome: Outcome,
    /// How many times the rule was checked.
    pub checks: u32,
    /// The time spent on this rule in this form: every verdict on it counts the time since the
    /// run's previous verdict (so the rules' times add up to the run's, discovery aside).
    pub seconds: f64,
    /// How the rule was broken (empty when it passed or was skipped).
    pub failures: Vec<Failure>,
    /// Why the rule was skipped, for [`RuleOutcome::Skip`](crate::RuleOutcome::Skip).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skip_reason: Option<String>,
}

/// The library item a form's run exercised, and how many files it has: an entry of
/// [`CheckReport::items`](crate::CheckReport::items). Unless
/// [`CheckOptions::item`](crate::CheckOptions::item) names one, the run discovers it.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// # let library: dlsim::LibrarySpec = toml::from_str(
/// #     "name = \"isos\"\n[[items]]\nname = \"alpine\"\nfiles = [{ name = \"alpine.iso\", size = 4096 }]",
/// # ).unwrap();
/// let fake = dlsim::Dlsim::builder().libraries(vec![library]).start().await;
/// let mut opts = dlsim::CheckOptions::new(fake.base_url(), fake.username(), fake.password());
/// opts.forms = vec![dlsim::Form::Api];
/// let report = dlsim::check(&opts, |_step| {}).await.unwrap();
/// let used = &report.items[0];
/// assert_eq!(used.form, dlsim::Form::Api);
/// assert_eq!(used.id, fake.item_ids(&fake.library_ids()[0]).unwrap()[0]);
/// assert_eq!(used.name.as_deref(), Some("alpine"));
/// assert_eq!(used.files, 1);
/// # }
/// ```
#[derive(Debug, Clone, Serialize)]
pub struct ItemUsed {
    /// The form whose run used it.
    pub form: Form,
    /// The item's id.
    pub id: String,
    /// The item's name, if the endpoint gave one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// How many files it has.
    pub files: usize,
}

/// What a [`check`](crate::check) run found: a [`RuleResult`](crate::RuleResult) per rule and
/// form, readable by a test or written out as text, JSON or JUnit XML.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// # let library: dlsim::LibrarySpec = toml::from_str(
/// #     "name = \"isos\"\n[[items]]\nname = \"alpine\"\nfiles = [{ name = \"alpine.iso\", size = 4096 }]",
/// # ).unwrap();
/// let fake = dlsim::Dlsim::builder().libraries(vec![library]).start().await;
/// let mut opts = dlsim::CheckOptions::new(fake.base_url(), fake.username(), fake.password());
/// opts.forms = vec![dlsim::Form::Api];
/// let report = dlsim::check(&opts, |_step| {}).await.unwrap();
/// assert!(report.passed(true), "{}", report.text(true));
/// assert!(report.target.starts_with("http://127.0.0.1:"));
/// assert_eq!(report.forms, [dlsim::Form::Api]);
/// assert!(report.failed_rules().is_empty());
/// assert_eq!(report.count(dlsim::RuleOutcome::Fail), 0);
/// let (verified, of) = report.must_verified(dlsim::Form::Api);
/// assert!(verified > 0 && verified <= of);
///
/// assert!(report.text(true).contains("PASSED"));
/// let json: serde_json::Value = serde_json::from_str(&report.json(true)).unwrap();
/// assert_eq!(json["passed"], true);
/// assert!(report.junit(true).contains("<testsuite "));
/// # }
/// ```
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The endpoint checked, `scheme://host[:port]`.
    pub target: String,
    /// The forms checked.
    pub forms: Vec<Form>,
    /// How long the run took, in seconds.
    pub seconds: f64,
    /// The item each form's run used (none when discovery failed).
    pub items: Vec<ItemUsed>,
    /// One verdict per rule and form, in catalogue order.
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
    /// The ids of the rules that failed in any form. Rules the run could not reach are not
    /// listed, though they fail it too: count them with `count(RuleOutcome::NotReached)`.
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
    /// How many verdicts (rules times forms) have this outcome.
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

/// Check an endpoint of the download-session API against every rule of the contract, as
/// `dlsim check` does, in each form of [`CheckOptions::forms`](crate::CheckOptions::forms).
///
/// It is an ordinary client (point it at a real vCenter or at your own fake): it logs in,
/// finds an item, drives download sessions through their lifecycle and judges every answer.
/// Against a [`Dlsim`](crate::Dlsim) it also moves the virtual clock, so the expiry rules run
/// at once. `progress` hears each step as it starts. The sessions it creates are deleted.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// # let library: dlsim::LibrarySpec = toml::from_str(
/// #     "name = \"isos\"\n[[items]]\nname = \"alpine\"\nfiles = [{ name = \"alpine.iso\", size = 4096 }]",
/// # ).unwrap();
/// let fake = dlsim::Dlsim::builder().libraries(vec![library]).start().await;
/// let mut opts = dlsim::CheckOptions::new(fake.base_url(), fake.username(), fake.password());
/// opts.forms = vec![dlsim::Form::Api];
/// let steps = std::sync::Mutex::new(Vec::new());
/// let report = dlsim::check(&opts, |step| steps.lock().unwrap().push(step.to_string()))
///     .await
///     .unwrap();
/// assert!(report.passed(false), "{}", report.text(false));
/// assert!(steps.into_inner().unwrap().contains(&"[api] lifecycle".to_string()));
/// assert_eq!(fake.session_count(), 0);
/// # }
/// ```
pub async fn run(opts: &CheckOptions, progress: impl Fn(&str)) -> Result<Report, CheckError> {
    run_until(opts, progress, std::future::pending()).await
}

/// Like [`check`](crate::check), but stops with
/// [`CheckError::Interrupted`](crate::CheckError::Interrupted) when `interrupt` completes
/// (e.g. on Ctrl-C); the sessions created are deleted first.
///
/// The run stops at its next step, never in the middle of a request:
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// # let library: dlsim::LibrarySpec = toml::from_str(
/// #     "name = \"isos\"\n[[items]]\nname = \"alpine\"\nfiles = [{ name = \"alpine.iso\", size = 4096 }]",
/// # ).unwrap();
/// let fake = dlsim::Dlsim::builder().libraries(vec![library]).start().await;
/// let mut opts = dlsim::CheckOptions::new(fake.base_url(), fake.username(), fake.password());
/// opts.forms = vec![dlsim::Form::Api];
/// let stop = tokio::sync::Notify::new();
/// let result = dlsim::check_until(
///     &opts,
///     |step| {
///         if step == "[api] fail" {
///             stop.notify_one();
///         }
///     },
///     stop.notified(),
/// )
/// .await;
/// assert!(matches!(result, Err(dlsim::CheckError::Interrupted)));
/// assert_eq!(fake.session_count(), 0);
/// # }
/// ```
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
