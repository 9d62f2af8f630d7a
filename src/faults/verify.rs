//! Client verification: did the client under test behave well while the faults hit it?
//!
//! Faults make the server misbehave; whether the client coped is a separate question, and one
//! a test cannot answer from the client's own report (a client that leaks sessions or keeps a
//! truncated file believes it succeeded). So each [expectation](EXPECTATION_IDS) is a rule
//! about the client alone — it deletes its sessions, keeps them alive, stops polling a file in
//! ERROR, honours `Retry-After`, resumes or fails a cut download, verifies checksums, … — and is
//! judged from the journal only. That works on a live server (`GET /dlsim/verify`) as well as
//! on a JSON-lines journal read after the run. A broken expectation names the journal lines
//! that broke it and says in one line what was expected and what came instead.
//!
//! How the journal is read:
//! - Lines are in the order answered; a download is journaled when it ends, so a download
//!   that was in flight during another call may come after it.
//! - `time_ms` is when a request arrived, on the server clock. A virtual clock stands still
//!   until the test moves it, so equal times do not mean "at once".
//! - A download whose session the server could not resolve (its URI no longer serves) is
//!   attributed through its URI token, when another download of that token named the session.
//! - Faults are recognised by the kind in their journal label (`3:wrong_checksum`); a fault
//!   given its own `name` is labelled by that name and so is not recognised.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt::Write as _;
use std::ops::Range;

use serde::{Deserialize, Serialize};

use crate::journal::Entry;
use crate::op::OpName;

/// Every expectation: its id and the rule it checks.
pub const EXPECTATION_IDS: &[(&str, &str)] = &[
    (
        "sessions-deleted",
        "every download session the client creates is deleted by it",
    ),
    (
        "kept-alive",
        "no download session expires while the client still holds it",
    ),
    (
        "stops-polling-error",
        "once a file or session shows ERROR, the client polls that session at most \
         max_polls_after_error more times, then fails or deletes it",
    ),
    (
        "poll-rate",
        "consecutive file.get polls of one file are at least min_poll_interval_ms apart",
    ),
    (
        "honours-retry-after",
        "after a 503 or 429 with Retry-After: N, the client's retry of that operation waits N seconds",
    ),
    (
        "downloads-complete",
        "every file the client starts downloading is received in full (resumed with Range \
         when cut), or the session is failed",
    ),
    (
        "verifies-checksum",
        "after each full download the client reads the file's checksum_info, and it fails a \
         session whose data was wrong",
    ),
    (
        "no-uri-after-end",
        "the client uses no download URI of a session after canceling, failing or deleting it",
    ),
    ("logged-out", "every user that logs in logs out at the end"),
];

/// The checks, in the order of [`EXPECTATION_IDS`].
const CHECKS: [Check; 9] = [
    sessions_deleted,
    kept_alive,
    stops_polling_error,
    poll_rate,
    honours_retry_after,
    downloads_complete,
    verifies_checksum,
    no_uri_after_end,
    logged_out,
];
const _: () = assert!(CHECKS.len() == EXPECTATION_IDS.len());

/// At most this many lines of one kind are shown in a finding (its explanation counts all).
const SHOWN: usize = 10;

/// What to verify, as a scenario's `[expect]` table or built in Rust; give it to
/// [`DlsimBuilder::expect`](crate::DlsimBuilder::expect).
///
/// The expectations are `sessions-deleted`, `kept-alive`, `stops-polling-error`,
/// `poll-rate`, `honours-retry-after`, `downloads-complete`, `verifies-checksum`,
/// `no-uri-after-end` and `logged-out`.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let expect = dlsim::Expectations {
///     apply: Some(vec!["sessions-deleted".into(), "poll-rate".into()]),
///     min_poll_interval_ms: 500,
///     ..Default::default()
/// };
/// assert!(expect.validate().is_ok() && expect.applies("poll-rate") && !expect.applies("logged-out"));
/// let typo = dlsim::Expectations { apply: Some(vec!["logged_out".into()]), ..Default::default() };
/// assert!(typo.validate().unwrap_err().contains("known: sessions-deleted"));
///
/// // The same from a scenario's [expect] table.
/// let same: dlsim::Expectations =
///     toml::from_str("apply = ['sessions-deleted', 'poll-rate']\nmin_poll_interval_ms = 500").unwrap();
/// assert_eq!(same, expect);
///
/// let fake = dlsim::Dlsim::builder().expect(expect).start().await;
/// assert!(!fake.verify().outcome("logged-out").unwrap().applied);
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Expectations {
    /// Ids of the expectations to check; all when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub apply: Option<Vec<String>>,
    /// Polls of a session allowed after an answer showed ERROR.
    pub max_polls_after_error: u32,
    /// The least time between two `file.get` polls of one file; 0 turns `poll-rate` off.
    pub min_poll_interval_ms: u64,
}

impl Default for Expectations {
    fn default() -> Self {
        Expectations {
            apply: None,
            max_polls_after_error: 3,
            min_poll_interval_ms: 0,
        }
    }
}

impl Expectations {
    /// Refuse ids no expectation has.
    pub fn validate(&self) -> Result<(), String> {
        let unknown: Vec<&str> = self
            .apply
            .iter()
            .flatten()
            .map(String::as_str)
            .filter(|id| !EXPECTATION_IDS.iter().any(|(known, _)| known == id))
            .collect();
        if unknown.is_empty() {
            return Ok(());
        }
        let known: Vec<&str> = EXPECTATION_IDS.iter().map(|(id, _)| *id).collect();
        Err(format!(
            "unknown expectation id(s) {}; known: {}",
            unknown.join(", "),
            known.join(", ")
        ))
    }

    /// Whether the expectation `id` is selected.
    pub fn applies(&self, id: &str) -> bool {
        self.apply
            .as_ref()
            .is_none_or(|ids| ids.iter().any(|x| x == id))
    }
}

/// The verdict of [`Dlsim::verify`](crate::Dlsim::verify) on the client's behaviour.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let fake = dlsim::Dlsim::start().await;
/// // A client that logs in and never logs out.
/// reqwest::Client::new()
///     .post(format!("{}/session", fake.api_url()))
///     .basic_auth(fake.username(), Some(fake.password()))
///     .send().await.unwrap();
/// let report = fake.verify();
/// assert!(!report.passed);
/// assert!(report.outcome("sessions-deleted").unwrap().passed); // no session was created
/// assert!(report.to_text().contains("FAIL logged-out"), "{}", report.to_text());
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Every applied expectation passed.
    pub passed: bool,
    /// One per expectation, in the order of the expectation ids, applied or not.
    pub expectations: Vec<Outcome>,
    /// Journal lines dropped from memory before this verification: it saw only the rest.
    #[serde(default)]
    pub journal_dropped: u64,
}

/// One expectation's verdict, in a [`VerifyReport`](crate::VerifyReport).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let fake = dlsim::Dlsim::start().await;
/// // A client that logs in and never logs out.
/// reqwest::Client::new()
///     .post(format!("{}/session", fake.api_url()))
///     .basic_auth(fake.username(), Some(fake.password()))
///     .send().await.unwrap();
/// let report = fake.verify();
/// let logged_out = report.outcome("logged-out").unwrap();
/// assert!(logged_out.applied && !logged_out.passed);
/// assert_eq!(logged_out.rule, "every user that logs in logs out at the end");
/// assert_eq!(logged_out.findings.len(), 1);
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    /// The expectation's id (`logged-out`, ...).
    pub id: String,
    /// The rule it checks, in words.
    pub rule: String,
    /// False when not selected by `apply`, or switched off by its setting.
    pub applied: bool,
    /// True when not applied.
    pub passed: bool,
    /// What was checked, or why it was not.
    pub detail: String,
    /// Each break found (none when it passed).
    pub findings: Vec<Finding>,
}

/// One break of an expectation, with the journal lines that show it.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let fake = dlsim::Dlsim::start().await;
/// // A client that logs in and never logs out.
/// reqwest::Client::new()
///     .post(format!("{}/session", fake.api_url()))
///     .basic_auth(fake.username(), Some(fake.password()))
///     .send().await.unwrap();
/// let report = fake.verify();
/// let finding = &report.outcome("logged-out").unwrap().findings[0];
/// assert_eq!(finding.seqs(), [1]); // the login, the first line of the journal
/// assert_eq!(finding.lines[0].op, Some(dlsim::OpName::Login));
/// assert!(finding.explanation.contains(fake.username()), "{}", finding.explanation);
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// What was expected and what came instead, in one line.
    pub explanation: String,
    /// The journal lines that show it, in journal order.
    pub lines: Vec<Entry>,
}

impl Finding {
    /// The sequence numbers of its lines.
    pub fn seqs(&self) -> Vec<u64> {
        self.lines.iter().map(|e| e.seq).collect()
    }
}

impl Report {
    /// The outcome of expectation `id`.
    pub fn outcome(&self, id: &str) -> Option<&Outcome> {
        self.expectations.iter().find(|o| o.id == id)
    }

    /// A summary for people: one line per expectation, then each finding with its lines.
    pub fn to_text(&self) -> String {
        let applied = self.expectations.iter().filter(|o| o.applied).count();
        let broken = self.expectations.iter().filter(|o| !o.passed).count();
        let mut out = String::new();
        let _ = writeln!(
            out,
            "client verification: {} ({broken} of {applied} applied expectation(s) broken)",
            if self.passed { "PASSED" } else { "FAILED" }
        );
        if self.journal_dropped > 0 {
            let _ = writeln!(
                out,
                "warning: {} journal line(s) were dropped (raise --journal-cap); only the rest was checked",
                self.journal_dropped
            );
        }
        for o in &self.expectations {
            let mark = match (o.applied, o.passed) {
                (false, _) => "OFF ",
                (true, true) => "PASS",
                (true, false) => "FAIL",
            };
            let _ = writeln!(out, "{mark} {} — {} ({})", o.id, o.rule, o.detail);
            for f in &o.findings {
                let _ = writeln!(out, "     - {}", f.explanation);
                for line in &f.lines {
                    let json = serde_json::to_string(line).unwrap_or_default();
                    let _ = writeln!(out, "         {json}");
                }
            }
        }
        out
    }
}

/// Check the client's behaviour recorded in `journal` (call [`Expectations::validate`] first:
/// unknown ids in `apply` select nothing).
pub fn verify(journal: &[Entry], expect: &Expectations) -> Report {
    let v = View::new(journal);
    let expectations: Vec<Outcome> = EXPECTATION_IDS
        .iter()
        .zip(CHECKS)
        .map(|(&(id, rule), check)| {
            let (applied, checked) = if expect.applies(id) {
                let c = check(&v, expect);
                (!c.off, c)
            } else {
                (false, Checked::off("not selected by `apply`"))
            };
            Outcome {
                id: id.to_string(),
                rule: rule.to_string(),
                applied,
                passed: checked.findings.is_empty(),
                detail: checked.detail,
                findings: checked.findings,
            }
        })
        .collect();
    Report {
        passed: expectations.iter().all(|o| o.passed),
        expectations,
        journal_dropped: 0,
    }
}

// ---- reading the journal ----

type Check = fn(&View, &Expectations) -> Checked;

/// What one check found.
struct Checked {
    off: bool,
    detail: String,
    findings: Vec<Finding>,
}

impl Checked {
    fn off(why: &str) -> Self {
        Checked {
            off: true,
            detail: why.to_string(),
            findings: Vec::new(),
        }
    }
    fn on(detail: String, findings: Vec<Finding>) -> Self {
        Checked {
            off: false,
            detail,
            findings,
        }
    }
}

/// The journal with the session each line concerns resolved once.
struct View<'a> {
    lines: &'a [Entry],
    session: Vec<Option<&'a str>>,
}

impl<'a> View<'a> {
    fn new(lines: &'a [Entry]) -> Self {
        let mut tokens: HashMap<&str, &str> = HashMap::new();
        for e in lines.iter().filter(|e| is(e, OpName::Download)) {
            if let (Some(s), Some(t)) = (e.session.as_deref(), uri_token(e)) {
                tokens.entry(t).or_insert(s);
            }
        }
        let session = lines
            .iter()
            .map(|e| match e.session.as_deref() {
                Some(s) => Some(s),
                None if is(e, OpName::Download) => {
                    uri_token(e).and_then(|t| tokens.get(t).copied())
                }
                None => None,
            })
            .collect();
        View { lines, session }
    }

    fn line(&self, i: usize) -> &'a Entry {
        &self.lines[i]
    }

    /// The lines of session `s` within `range`.
    fn of<'s>(
        &'s self,
        s: &'s str,
        range: Range<usize>,
    ) -> impl Iterator<Item = (usize, &'a Entry)> + 's {
        let lines = self.lines;
        range
            .filter(move |&i| self.session[i] == Some(s))
            .map(move |i| (i, &lines[i]))
    }

    /// The lines of session `s` after line `i`.
    fn after<'s>(&'s self, i: usize, s: &'s str) -> impl Iterator<Item = (usize, &'a Entry)> + 's {
        self.of(s, i + 1..self.lines.len())
    }

    fn entries(&self, idx: impl IntoIterator<Item = usize>) -> Vec<Entry> {
        idx.into_iter().map(|i| self.lines[i].clone()).collect()
    }
}

fn is(e: &Entry, op: OpName) -> bool {
    e.op == Some(op)
}

fn ok(e: &Entry) -> bool {
    (200..300).contains(&status(e))
}

/// The status an answer stands for, the same in every form: its HTTP status, or for an error
/// JSON-RPC sent with 200, the status `/api` gives that error (a busy server's 429 included).
fn status(e: &Entry) -> u16 {
    use crate::model::ErrorType;
    match (e.error.as_deref().map(ErrorType::parse), e.status) {
        (Some(Some(ErrorType::ResourceBusy)), 200..=299) => 429,
        (Some(Some(t)), 200..=299) => crate::wire::http_status(t),
        (Some(None), 200..=299) => 500,
        _ => e.status,
    }
}

fn is_expiry(e: &Entry) -> bool {
    e.op.is_none() && e.method == "EVENT" && e.path == "session.expired"
}

fn is_request(e: &Entry) -> bool {
    e.method != "EVENT"
}

/// A download that asked for bytes (a HEAD gets none).
fn is_download(e: &Entry) -> bool {
    is(e, OpName::Download) && e.method != "HEAD"
}

/// The client ended the session itself.
fn ends(e: &Entry) -> bool {
    ok(e) && matches!(e.op, Some(OpName::Cancel | OpName::Fail | OpName::Delete))
}

/// The client failed the session: accepted, or refused because the session was already not
/// ACTIVE (400) or gone (404) — either way the client did its part.
fn failed(e: &Entry) -> bool {
    is(e, OpName::Fail) && (ok(e) || matches!(status(e), 400 | 404))
}

/// The client deleted the session, or found it already gone.
fn deleted(e: &Entry) -> bool {
    is(e, OpName::Delete) && (ok(e) || status(e) == 404)
}

fn shows_error(e: &Entry) -> bool {
    e.state.as_deref() == Some("ERROR") || e.files.values().any(|s| s == "ERROR")
}

/// The fault labels of `e` that name one of `kinds`.
fn labels<'e>(e: &'e Entry, kinds: &[&str]) -> Vec<&'e str> {
    e.faults
        .iter()
        .filter(|l| kinds.iter().any(|k| l.contains(k)))
        .map(String::as_str)
        .collect()
}

const DATA_FAULTS: &[&str] = &["wrong_checksum", "corrupt_bytes", "wrong_size"];

/// The token of a download URI `/cls/data/<token>/<file>`.
fn uri_token(e: &Entry) -> Option<&str> {
    e.path
        .strip_prefix("/cls/data/")?
        .split('/')
        .next()
        .filter(|t| !t.is_empty())
}

/// The file a download fetched.
fn download_file(e: &Entry) -> String {
    e.file.clone().unwrap_or_else(|| {
        let last = e.path.rsplit('/').next().unwrap_or_default();
        percent_encoding::percent_decode_str(last)
            .decode_utf8_lossy()
            .into_owned()
    })
}

/// `file.get → 404`, `file.get → 200 NOT_FOUND` (JSON-RPC), or the event's name.
fn brief(e: &Entry) -> String {
    match e.op {
        Some(op) => format!("{op} → {}", answer(e)),
        None => format!("{} {}", e.method, e.path),
    }
}

/// The HTTP status, with the error type when the status does not tell it (JSON-RPC).
fn answer(e: &Entry) -> String {
    match &e.error {
        Some(t) if (200..300).contains(&e.status) => format!("{} {t}", e.status),
        _ => e.status.to_string(),
    }
}

fn finding(explanation: String, lines: Vec<Entry>) -> Finding {
    Finding { explanation, lines }
}

// ---- the expectations ----

fn sessions_deleted(v: &View, _: &Expectations) -> Checked {
    let mut created = 0;
    let mut findings = Vec::new();
    for (i, e) in v.lines.iter().enumerate() {
        let Some(s) = e
            .session
            .as_deref()
            .filter(|_| is(e, OpName::Create) && ok(e))
        else {
            continue;
        };
        created += 1;
        let tries: Vec<usize> = v
            .after(i, s)
            .filter(|(_, x)| is(x, OpName::Delete))
            .map(|(j, _)| j)
            .collect();
        if tries.iter().any(|&j| deleted(v.line(j))) {
            continue;
        }
        let explanation = if tries.is_empty() {
            format!(
                "session {s} (created at seq {}) was never deleted: no download_session.delete \
                 of it followed",
                e.seq
            )
        } else {
            let answers: Vec<String> = tries.iter().map(|&j| answer(v.line(j))).collect();
            format!(
                "session {s} (created at seq {}) was never deleted: its delete was answered {} \
                 and not retried to success",
                e.seq,
                answers.join(", ")
            )
        };
        let shown = std::iter::once(i).chain(tries.into_iter().take(SHOWN));
        findings.push(finding(explanation, v.entries(shown)));
    }
    Checked::on(format!("{created} session(s) created"), findings)
}

fn kept_alive(v: &View, _: &Expectations) -> Checked {
    let mut expiries = 0;
    let mut findings = Vec::new();
    for (i, e) in v.lines.iter().enumerate() {
        let Some(s) = e.session.as_deref().filter(|_| is_expiry(e)) else {
            continue;
        };
        expiries += 1;
        // Not the client's doing: it had ended the session, the session could no longer be
        // kept alive (ERROR, CANCELED), or a fault expired or removed it.
        let excused = v.of(s, 0..i + 1).any(|(_, x)| {
            ends(x)
                || matches!(x.state.as_deref(), Some("ERROR" | "CANCELED"))
                || !labels(x, &["expire_now", "session_error", "session_vanish"]).is_empty()
        });
        if excused {
            continue;
        }
        let used = v.after(i, s).find(|(_, x)| is_request(x));
        let f = match used {
            Some((j, x)) => finding(
                format!(
                    "session {s} expired at seq {} while the client still held it, and the \
                     client used it again at seq {} ({}): it should have kept it alive",
                    e.seq,
                    x.seq,
                    brief(x)
                ),
                v.entries([i, j]),
            ),
            None => finding(
                format!(
                    "session {s} expired at seq {} before the client had canceled, failed or \
                     deleted it: it should have kept it alive until done",
                    e.seq
                ),
                v.entries([i]),
            ),
        };
        findings.push(f);
    }
    Checked::on(format!("{expiries} session expiry event(s)"), findings)
}

fn stops_polling_error(v: &View, x: &Expectations) -> Checked {
    let max = x.max_polls_after_error as usize;
    let mut seen: HashSet<&str> = HashSet::new();
    let mut findings = Vec::new();
    for (i, e) in v.lines.iter().enumerate() {
        let Some(s) = v.session[i].filter(|_| shows_error(e)) else {
            continue;
        };
        if !seen.insert(s) {
            continue;
        }
        // An ERROR the client caused by failing the session itself is no news to it.
        if v.of(s, 0..i).any(|(_, p)| is(p, OpName::Fail) && ok(p)) {
            continue;
        }
        let what = match e.files.iter().find(|(_, st)| *st == "ERROR") {
            Some((file, _)) => format!("file {file} in ERROR"),
            None => "the session in ERROR".to_string(),
        };
        let polls: Vec<usize> = v
            .after(i, s)
            .filter(|(_, p)| matches!(p.op, Some(OpName::FileGet | OpName::FileList | OpName::Get)))
            .map(|(j, _)| j)
            .collect();
        if polls.len() > max {
            let excess = &polls[max..];
            findings.push(finding(
                format!(
                    "seq {} showed {what} (session {s}); the client polled the session {} more \
                     time(s), at most {max} expected ({} excess, from seq {})",
                    e.seq,
                    polls.len(),
                    excess.len(),
                    v.line(excess[0]).seq
                ),
                v.entries(std::iter::once(i).chain(excess.iter().copied().take(SHOWN))),
            ));
        }
        if !v.after(i, s).any(|(_, p)| failed(p) || deleted(p)) {
            findings.push(finding(
                format!(
                    "seq {} showed {what} (session {s}); the client never failed or deleted the \
                     session afterwards",
                    e.seq
                ),
                v.entries([i]),
            ));
        }
    }
    Checked::on(
        format!(
            "{} session(s) showed ERROR; at most {max} poll(s) after it expected",
            seen.len()
        ),
        findings,
    )
}

fn poll_rate(v: &View, x: &Expectations) -> Checked {
    let min = x.min_poll_interval_ms;
    if min == 0 {
        return Checked::off("off: min_poll_interval_ms is 0");
    }
    struct Polls {
        last: usize,
        count: usize,
        close: usize,
        first_close: Option<(usize, usize)>,
        closest: i64,
    }
    let mut by_file: Vec<((&str, &str), Polls)> = Vec::new();
    for (i, e) in v.lines.iter().enumerate() {
        let (Some(s), Some(f)) = (v.session[i], e.file.as_deref()) else {
            continue;
        };
        if !is(e, OpName::FileGet) {
            continue;
        }
        let Some((_, p)) = by_file.iter_mut().find(|(k, _)| *k == (s, f)) else {
            by_file.push((
                (s, f),
                Polls {
                    last: i,
                    count: 1,
                    close: 0,
                    first_close: None,
                    closest: i64::MAX,
                },
            ));
            continue;
        };
        let gap = e.time_ms - v.line(p.last).time_ms;
        if gap < min as i64 {
            p.close += 1;
            p.first_close.get_or_insert((p.last, i));
            p.closest = p.closest.min(gap);
        }
        p.last = i;
        p.count += 1;
    }
    let polls: usize = by_file.iter().map(|(_, p)| p.count).sum();
    let findings = by_file
        .iter()
        .filter_map(|((s, f), p)| {
            let (a, b) = p.first_close?;
            Some(finding(
                format!(
                    "file.get of {f} (session {s}): {} of {} consecutive polls came closer than \
                     {min} ms (closest {} ms; first at seq {} → seq {})",
                    p.close,
                    p.count - 1,
                    p.closest,
                    v.line(a).seq,
                    v.line(b).seq
                ),
                v.entries([a, b]),
            ))
        })
        .collect();
    Checked::on(
        format!(
            "{polls} file.get poll(s) of {} file(s); at least {min} ms apart expected",
            by_file.len()
        ),
        findings,
    )
}

fn honours_retry_after(v: &View, _: &Expectations) -> Checked {
    let mut asked = 0;
    let mut findings = Vec::new();
    for (i, e) in v.lines.iter().enumerate() {
        let Some(n) = e.retry_after.filter(|_| matches!(status(e), 503 | 429)) else {
            continue;
        };
        asked += 1;
        // The same client: the same user, or for a line without one, the same session.
        let (user, session) = (e.user.as_deref(), v.session[i]);
        let who = match (user, session) {
            (Some(u), _) => format!("user {u}"),
            (None, Some(s)) => format!("session {s}"),
            (None, None) => continue,
        };
        let same = |j: usize| match user {
            Some(_) => v.line(j).user.as_deref() == user,
            None => v.session[j] == session,
        };
        // The retry: the same operation again (giving up and cleaning up is no retry). A line
        // that arrived before this one was not a reaction to it.
        let next = (i + 1..v.lines.len()).find(|&j| {
            let x = v.line(j);
            is_request(x) && x.op == e.op && x.time_ms >= e.time_ms && same(j)
        });
        let Some(j) = next else { continue };
        let gap = v.line(j).time_ms - e.time_ms;
        let wait = i64::try_from(n.saturating_mul(1000)).unwrap_or(i64::MAX);
        if gap < wait {
            findings.push(finding(
                format!(
                    "seq {} answered {} with Retry-After: {n} s; the next request by {who} (seq \
                     {}, {}) came {gap} ms later, at least {wait} ms expected",
                    e.seq,
                    answer(e),
                    v.line(j).seq,
                    brief(v.line(j))
                ),
                v.entries([i, j]),
            ));
        }
    }
    Checked::on(format!("{asked} answer(s) with Retry-After"), findings)
}

/// One file as the client downloaded it, over all its successful downloads.
struct FileDownload<'a> {
    session: Option<&'a str>,
    /// The session, or the URI token when no session is known.
    owner: String,
    file: String,
    size: Option<u64>,
    lines: Vec<usize>,
    /// The line after which `[0, size)` was covered.
    complete_at: Option<usize>,
    received: u64,
    /// The first range not received.
    gap: Option<(u64, u64)>,
}

fn file_downloads<'a>(v: &View<'a>) -> Vec<FileDownload<'a>> {
    let mut files: Vec<FileDownload<'a>> = Vec::new();
    for (i, e) in v.lines.iter().enumerate() {
        if !is_download(e) || !matches!(e.status, 200 | 206) {
            continue;
        }
        let session = v.session[i];
        let owner = match session {
            Some(s) => format!("session {s}"),
            None => format!("URI token {}", uri_token(e).unwrap_or(&e.path)),
        };
        let file = download_file(e);
        let at = files
            .iter()
            .position(|d| d.owner == owner && d.file == file)
            .unwrap_or_else(|| {
                files.push(FileDownload {
                    session,
                    owner,
                    file,
                    size: None,
                    lines: Vec::new(),
                    complete_at: None,
                    received: 0,
                    gap: None,
                });
                files.len() - 1
            });
        let d = &mut files[at];
        d.lines.push(i);
        d.size = e.size.or(d.size);
    }
    for d in &mut files {
        let size = d.size.or_else(|| {
            d.lines
                .iter()
                .filter_map(|&i| v.line(i).range.map(|r| r.1))
                .max()
        });
        let Some(size) = size else { continue };
        d.size = Some(size);
        let mut spans = Vec::new();
        for &i in &d.lines {
            let e = v.line(i);
            let start = e.range.map_or(0, |r| r.0);
            spans.push((start, start.saturating_add(e.bytes)));
            let (_, gap) = coverage(&spans, size);
            if gap.is_none() && d.complete_at.is_none() {
                d.complete_at = Some(i);
            }
        }
        (d.received, d.gap) = coverage(&spans, size);
    }
    files
}

/// Bytes of `[0, size)` covered by `spans`, and the first range not covered.
fn coverage(spans: &[(u64, u64)], size: u64) -> (u64, Option<(u64, u64)>) {
    let mut s: Vec<(u64, u64)> = spans
        .iter()
        .map(|&(a, b)| (a.min(size), b.min(size)))
        .filter(|(a, b)| a < b)
        .collect();
    s.sort_unstable();
    let (mut covered, mut at, mut gap) = (0, 0, None);
    for (a, b) in s {
        if a > at {
            gap.get_or_insert((at, a));
        }
        if b > at {
            covered += b - a.max(at);
            at = b;
        }
    }
    if at < size {
        gap.get_or_insert((at, size));
    }
    (covered, gap)
}

fn downloads_complete(v: &View, _: &Expectations) -> Checked {
    let files = file_downloads(v);
    let unknown = files.iter().filter(|d| d.size.is_none()).count();
    let mut findings = Vec::new();
    for d in &files {
        let (Some(size), Some((a, b))) = (d.size, d.gap) else {
            continue;
        };
        let first = d.lines[0];
        let gave_up = d
            .session
            .is_some_and(|s| v.after(first, s).any(|(_, x)| failed(x)));
        if gave_up {
            continue;
        }
        let faults: BTreeSet<&str> = d
            .lines
            .iter()
            .flat_map(|&i| v.line(i).faults.iter().map(String::as_str))
            .collect();
        let cut = if faults.is_empty() {
            String::new()
        } else {
            format!(
                " (faults: {})",
                faults.into_iter().collect::<Vec<_>>().join(", ")
            )
        };
        findings.push(finding(
            format!(
                "{} of {}: {} of {size} bytes received over {} download(s){cut}, bytes {a}..{b} \
                 missing; the client neither resumed with a Range request nor failed the session",
                d.file,
                d.owner,
                d.received,
                d.lines.len()
            ),
            v.entries(d.lines.iter().copied().take(SHOWN)),
        ));
    }
    let mut detail = format!("{} file(s) downloaded", files.len());
    if unknown > 0 {
        let _ = write!(detail, "; {unknown} of unknown size not judged");
    }
    Checked::on(detail, findings)
}

fn verifies_checksum(v: &View, _: &Expectations) -> Checked {
    let files = file_downloads(v);
    let mut findings = Vec::new();
    let mut full = 0;
    // Each file downloaded in full: a later file.get must have answered its checksum_info.
    for d in &files {
        let (Some(s), Some(c)) = (d.session, d.complete_at) else {
            continue;
        };
        full += 1;
        let gets: Vec<(usize, &Entry)> = v
            .after(c, s)
            .filter(|(_, x)| {
                is(x, OpName::FileGet) && ok(x) && x.file.as_deref() == Some(d.file.as_str())
            })
            .collect();
        if gets.iter().any(|(_, x)| x.checksum == Some(true)) {
            continue;
        }
        findings.push(match gets.first() {
            Some(&(j, x)) => finding(
                format!(
                    "{} of session {s} was downloaded in full (seq {}); file.get of it \
                     afterwards (seq {}) answered without checksum_info, so the client could not \
                     verify it",
                    d.file,
                    v.line(c).seq,
                    x.seq
                ),
                v.entries([c, j]),
            ),
            None => finding(
                format!(
                    "{} of session {s} was downloaded in full (seq {}), but the client never \
                     read its checksum_info afterwards (no file.get of it)",
                    d.file,
                    v.line(c).seq
                ),
                v.entries([c]),
            ),
        });
    }
    // Each session whose data a fault bent, once the client downloaded the file concerned: the
    // client must have failed the session.
    let mut judged: HashSet<&str> = HashSet::new();
    let mut bent = 0;
    for (i, e) in v.lines.iter().enumerate() {
        let found = labels(e, DATA_FAULTS);
        let Some(s) = v.session[i].filter(|_| !found.is_empty()) else {
            continue;
        };
        if judged.contains(s) {
            continue;
        }
        let Some(d) = files
            .iter()
            .find(|d| d.session == Some(s) && e.file.as_deref().is_none_or(|f| f == d.file))
        else {
            continue;
        };
        judged.insert(s);
        bent += 1;
        if v.after(i, s).any(|(_, x)| failed(x)) {
            continue;
        }
        findings.push(finding(
            format!(
                "fault {} bent the data of session {s} (seq {}) and the client downloaded {} \
                 (seq {}), but it never failed the session: it kept data it should have rejected",
                found.join(", "),
                e.seq,
                d.file,
                v.line(d.lines[0]).seq
            ),
            v.entries(std::iter::once(i).chain(d.lines.iter().copied().take(SHOWN))),
        ));
    }
    Checked::on(
        format!("{full} file(s) downloaded in full; {bent} session(s) with wrong data"),
        findings,
    )
}

fn no_uri_after_end(v: &View, _: &Expectations) -> Checked {
    let mut ended: Vec<(&str, usize)> = Vec::new();
    for (i, e) in v.lines.iter().enumerate() {
        if let Some(s) = v.session[i].filter(|_| ends(e)) {
            if !ended.iter().any(|(x, _)| *x == s) {
                ended.push((s, i));
            }
        }
    }
    let mut findings = Vec::new();
    for &(s, k) in &ended {
        let end = v.line(k);
        // A download served after the end began before it (URIs stop serving at once), and
        // was only journaled when it ended.
        let uses: Vec<usize> = v
            .after(k, s)
            .filter(|(_, x)| is(x, OpName::Download) && !(ok(x) && x.time_ms <= end.time_ms))
            .map(|(j, _)| j)
            .collect();
        let Some(&first) = uses.first() else { continue };
        let how = match end.op {
            Some(OpName::Cancel) => "canceled",
            Some(OpName::Fail) => "failed",
            _ => "deleted",
        };
        let x = v.line(first);
        findings.push(finding(
            format!(
                "the client {how} session {s} at seq {}, then used its download URI {} time(s) \
                 (first at seq {}: {} {})",
                end.seq,
                uses.len(),
                x.seq,
                download_file(x),
                brief(x)
            ),
            v.entries(std::iter::once(k).chain(uses.into_iter().take(SHOWN))),
        ));
    }
    Checked::on(
        format!("{} session(s) ended by the client", ended.len()),
        findings,
    )
}

fn logged_out(v: &View, _: &Expectations) -> Checked {
    // Only the last login of a user must be logged out: an earlier one may have expired.
    let mut last_login: Vec<(&str, usize)> = Vec::new();
    for (i, e) in v.lines.iter().enumerate() {
        let Some(u) = e.user.as_deref().filter(|_| is(e, OpName::Login) && ok(e)) else {
            continue;
        };
        match last_login.iter_mut().find(|(x, _)| *x == u) {
            Some(l) => l.1 = i,
            None => last_login.push((u, i)),
        }
    }
    let findings = last_login
        .iter()
        .filter(|&&(u, i)| {
            !v.lines[i + 1..]
                .iter()
                .any(|x| is(x, OpName::Logout) && ok(x) && x.user.as_deref() == Some(u))
        })
        .map(|&(u, i)| {
            finding(
                format!(
                    "user {u} logged in at seq {} and never logged out (no session.delete by {u} \
                     followed)",
                    v.line(i).seq
                ),
                v.entries([i]),
            )
        })
        .collect();
    Checked::on(format!("{} user(s) logged in", last_login.len()), findings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use OpName::*;

    /// A journal written by hand: lines numbered from 1, on a clock moved by `wait`.
    struct Run {
        lines: Vec<Entry>,
        now: i64,
    }

    impl Run {
        fn new() -> Self {
            Run {
                lines: Vec::new(),
                now: 1_767_225_600_000,
            }
        }
        fn wait(&mut self, ms: i64) -> &mut Self {
            self.now += ms;
            self
        }
        fn push(&mut self, e: Entry) -> &mut Entry {
            self.lines.push(Entry {
                seq: self.lines.len() as u64 + 1,
                time_ms: self.now,
                ..e
            });
            self.lines.last_mut().unwrap()
        }
        /// An API call by alice.
        fn call(&mut self, op: OpName, status: u16) -> &mut Entry {
            self.push(Entry {
                op: Some(op),
                method: "POST".into(),
                path: format!("/api/{op}"),
                user: Some("alice".into()),
                status,
                ..Entry::default()
            })
        }
        /// A GET of a download URI of `session` (token `t-<session>`).
        fn download(&mut self, session: &str, file: &str, status: u16) -> &mut Entry {
            self.push(Entry {
                op: Some(Download),
                method: "GET".into(),
                path: format!("/cls/data/t-{session}/{file}"),
                session: Some(session.into()),
                file: Some(file.into()),
                status,
                ..Entry::default()
            })
        }
        /// A whole download of a file of `size` bytes, of which `bytes` went out.
        fn fetch(&mut self, session: &str, file: &str, size: u64, bytes: u64) -> &mut Entry {
            let e = self.download(session, file, 200);
            e.range = Some((0, size));
            e.size = Some(size);
            e.bytes = bytes;
            e
        }
        fn expire(&mut self, session: &str) -> &mut Entry {
            self.push(Entry {
                method: "EVENT".into(),
                path: "session.expired".into(),
                session: Some(session.into()),
                ..Entry::default()
            })
        }
        /// Log in and create `session`.
        fn start(&mut self, session: &str) -> &mut Self {
            self.call(Login, 200);
            self.call(Create, 201).s(session);
            self
        }
        /// A careful download of one file: prepare, poll, fetch, verify.
        fn careful_file(&mut self, session: &str, file: &str, size: u64) -> &mut Self {
            self.call(FilePrepare, 200)
                .s(session)
                .f(file)
                .file_is(file, "PREPARE_REQUESTED");
            self.wait(1000);
            self.call(FileGet, 200)
                .s(session)
                .f(file)
                .file_is(file, "PREPARED");
            self.fetch(session, file, size, size);
            self.wait(1000);
            self.call(FileGet, 200)
                .s(session)
                .f(file)
                .file_is(file, "PREPARED")
                .checksum = Some(true);
            self
        }
        fn end(&mut self, session: &str) -> &mut Self {
            self.call(Delete, 204).s(session);
            self.call(Logout, 204);
            self
        }
        fn verify(&self, x: &Expectations) -> Report {
            verify(&self.lines, x)
        }
    }

    trait Set {
        fn s(&mut self, session: &str) -> &mut Self;
        fn f(&mut self, file: &str) -> &mut Self;
        fn file_is(&mut self, file: &str, status: &str) -> &mut Self;
        fn fault(&mut self, label: &str) -> &mut Self;
    }

    impl Set for Entry {
        fn s(&mut self, session: &str) -> &mut Self {
            self.session = Some(session.into());
            self
        }
        fn f(&mut self, file: &str) -> &mut Self {
            self.file = Some(file.into());
            self
        }
        fn file_is(&mut self, file: &str, status: &str) -> &mut Self {
            self.files.insert(file.into(), crate::journal::word(status));
            self
        }
        fn fault(&mut self, label: &str) -> &mut Self {
            self.faults.push(label.into());
            self
        }
    }

    fn all() -> Expectations {
        Expectations {
            min_poll_interval_ms: 500,
            ..Expectations::default()
        }
    }

    /// The outcome of `id`, which must have been applied.
    fn outcome<'r>(r: &'r Report, id: &str) -> &'r Outcome {
        let o = r.outcome(id).unwrap();
        assert!(o.applied, "{id} not applied: {}", r.to_text());
        o
    }

    /// Assert `id` broke, with these findings' seqs, and that nothing else did.
    fn breaks_only(r: &Report, id: &str, seqs: &[&[u64]]) {
        let o = outcome(r, id);
        assert!(!o.passed, "{id} passed:\n{}", r.to_text());
        let got: Vec<Vec<u64>> = o.findings.iter().map(Finding::seqs).collect();
        assert_eq!(got, seqs, "{}", r.to_text());
        assert!(!r.passed);
        for other in &r.expectations {
            if other.id != id {
                assert!(other.passed, "{} broke too:\n{}", other.id, r.to_text());
            }
        }
    }

    /// A careful client that meets a 503, a cut download, a file in ERROR and wrong data.
    fn careful() -> Run {
        let mut r = Run::new();
        r.call(Login, 200);
        r.call(Create, 503).retry_after = Some(2);
        r.wait(2000);
        r.call(Create, 201).s("s1");
        r.careful_file("s1", "a.ovf", 100);
        // Cut at 1000 bytes by a transport fault; resumed with a Range request.
        r.call(FilePrepare, 200).s("s1").f("b.vmdk");
        r.wait(600);
        r.call(FileGet, 200)
            .s("s1")
            .f("b.vmdk")
            .file_is("b.vmdk", "PREPARED");
        r.fetch("s1", "b.vmdk", 4096, 1000).fault("4:truncate");
        let e = r.download("s1", "b.vmdk", 206);
        (e.range, e.size, e.bytes) = (Some((1000, 4096)), Some(4096), 3096);
        r.call(KeepAlive, 204).s("s1");
        r.wait(600);
        r.call(FileGet, 200).s("s1").f("b.vmdk").checksum = Some(true);
        r.call(Delete, 204).s("s1");
        // A file in ERROR: one more look, then fail and delete.
        r.call(Create, 201).s("s2");
        r.call(FilePrepare, 200).s("s2").f("c.vmdk");
        r.wait(1000);
        r.call(FileGet, 200)
            .s("s2")
            .f("c.vmdk")
            .file_is("c.vmdk", "ERROR");
        r.call(Get, 200).s("s2").state = Some("ACTIVE".into());
        r.call(Fail, 204).s("s2");
        r.call(Delete, 204).s("s2");
        // Wrong data: downloaded, found wrong, failed.
        r.call(Create, 201).s("s3");
        r.call(FilePrepare, 200)
            .s("s3")
            .f("d.iso")
            .fault("7:wrong_checksum");
        r.fetch("s3", "d.iso", 10, 10);
        r.call(FileGet, 200).s("s3").f("d.iso").checksum = Some(true);
        r.call(Fail, 204).s("s3");
        r.call(Delete, 204).s("s3");
        // Canceled, then deleted long after: it expired in between, unused.
        r.call(Create, 201).s("s4");
        r.call(Cancel, 204).s("s4");
        r.wait(300_000);
        r.expire("s4");
        r.call(Delete, 404).s("s4");
        r.call(Logout, 204);
        r
    }

    #[test]
    fn a_careful_client_passes_everything() {
        let r = careful().verify(&all());
        assert!(r.passed, "{}", r.to_text());
        assert!(r
            .expectations
            .iter()
            .all(|o| o.applied && o.findings.is_empty()));
        assert_eq!(
            outcome(&r, "downloads-complete").detail,
            "3 file(s) downloaded"
        );
    }

    #[test]
    fn a_client_that_leaks_sessions() {
        let mut r = Run::new();
        r.start("s1").careful_file("s1", "a.ovf", 10);
        r.call(Create, 201).s("s2");
        r.call(Delete, 503).s("s2");
        r.call(Logout, 204);
        breaks_only(&r.verify(&all()), "sessions-deleted", &[&[2], &[7, 8]]);
        let f = outcome(&r.verify(&all()), "sessions-deleted")
            .findings
            .clone();
        assert!(
            f[0].explanation.contains("session s1"),
            "{}",
            f[0].explanation
        );
        assert!(
            f[1].explanation.contains("answered 503"),
            "{}",
            f[1].explanation
        );

        // A delete answered 404 after the session vanished is fine.
        let mut r = Run::new();
        r.start("s1");
        r.call(FileList, 404).s("s1").fault("1:session_vanish");
        r.call(Delete, 404).s("s1");
        r.call(Logout, 204);
        assert!(r.verify(&all()).passed, "{}", r.verify(&all()).to_text());
    }

    #[test]
    fn a_client_that_never_keeps_alive() {
        let mut r = Run::new();
        r.start("s1");
        r.call(FilePrepare, 200).s("s1").f("a.ovf");
        r.wait(600_000);
        r.expire("s1");
        r.call(FileGet, 404).s("s1").f("a.ovf");
        r.call(Delete, 404).s("s1");
        r.call(Logout, 204);
        breaks_only(&r.verify(&all()), "kept-alive", &[&[4, 5]]);

        // Expired and simply abandoned: broken too (and leaked).
        let mut r = Run::new();
        r.start("s1").wait(600_000).expire("s1");
        r.call(Logout, 204);
        let report = r.verify(&all());
        assert_eq!(outcome(&report, "kept-alive").findings[0].seqs(), [3]);
        assert!(!outcome(&report, "sessions-deleted").passed);

        // Expired by a fault, not by the client's neglect: fine.
        let mut r = Run::new();
        r.start("s1");
        r.call(FileGet, 200).s("s1").fault("2:expire_now");
        r.expire("s1");
        r.call(Get, 404).s("s1");
        r.call(Delete, 404).s("s1");
        r.call(Logout, 204);
        assert!(r.verify(&all()).passed, "{}", r.verify(&all()).to_text());
    }

    #[test]
    fn a_client_that_polls_a_file_in_error_forever() {
        let mut r = Run::new();
        r.start("s1");
        r.call(FilePrepare, 200)
            .s("s1")
            .f("a.vmdk")
            .fault("1:prepare_error");
        for _ in 0..8 {
            r.wait(1000);
            r.call(FileGet, 200)
                .s("s1")
                .f("a.vmdk")
                .file_is("a.vmdk", "ERROR");
        }
        r.call(Delete, 204).s("s1");
        r.call(Logout, 204);
        // The first ERROR answer is seq 4; seqs 5..=11 are 7 polls after it, 4 too many.
        breaks_only(
            &r.verify(&all()),
            "stops-polling-error",
            &[&[4, 8, 9, 10, 11]],
        );
        let more = Expectations {
            max_polls_after_error: 7,
            ..all()
        };
        assert!(r.verify(&more).passed);

        // Stopped polling but never gave the session up.
        let mut r = Run::new();
        r.start("s1");
        r.call(Get, 200).s("s1").state = Some("ERROR".into());
        r.call(Logout, 204);
        let report = r.verify(&all());
        let o = outcome(&report, "stops-polling-error");
        assert_eq!(o.findings.len(), 1);
        assert_eq!(o.findings[0].seqs(), [3]);
        assert!(o.findings[0]
            .explanation
            .contains("never failed or deleted"));
    }

    #[test]
    fn a_client_that_polls_too_fast() {
        let mut r = Run::new();
        r.start("s1");
        r.call(FilePrepare, 200).s("s1").f("a.ovf");
        r.call(FileGet, 200).s("s1").f("a.ovf");
        r.wait(100);
        r.call(FileGet, 200).s("s1").f("a.ovf");
        r.wait(100);
        r.call(FileGet, 200).s("s1").f("a.ovf");
        r.wait(1000);
        r.call(FileGet, 200).s("s1").f("a.ovf");
        r.end("s1");
        breaks_only(&r.verify(&all()), "poll-rate", &[&[4, 5]]);
        let f = outcome(&r.verify(&all()), "poll-rate").findings[0].clone();
        assert!(f.explanation.contains("2 of 3"), "{}", f.explanation);

        // Off by default.
        let report = r.verify(&Expectations::default());
        let o = report.outcome("poll-rate").unwrap();
        assert!(!o.applied && o.passed && o.detail.starts_with("off"));
        assert!(report.passed);
    }

    #[test]
    fn a_client_that_retries_a_503_too_soon() {
        let mut r = Run::new();
        r.call(Login, 200);
        r.call(Create, 503).retry_after = Some(5);
        r.wait(1000);
        r.call(Create, 201).s("s1");
        r.wait(5000);
        r.call(Delete, 503).s("s1").retry_after = Some(5);
        r.wait(5000);
        r.call(Delete, 204).s("s1");
        r.call(Logout, 204);
        breaks_only(&r.verify(&all()), "honours-retry-after", &[&[2, 3]]);
        let f = outcome(&r.verify(&all()), "honours-retry-after").findings[0].clone();
        assert!(f
            .explanation
            .contains("came 1000 ms later, at least 5000 ms"));

        // Giving up and cleaning up at once is no retry.
        let mut r = Run::new();
        r.call(Login, 200);
        r.call(Create, 503).retry_after = Some(60);
        r.call(Logout, 204);
        assert!(outcome(&r.verify(&all()), "honours-retry-after").passed);
    }

    #[test]
    fn a_client_that_keeps_a_truncated_file() {
        let mut r = Run::new();
        r.start("s1");
        r.call(FilePrepare, 200).s("s1").f("a.vmdk");
        r.call(FileGet, 200).s("s1").f("a.vmdk");
        r.fetch("s1", "a.vmdk", 4096, 1000).fault("2:truncate");
        r.end("s1");
        breaks_only(&r.verify(&all()), "downloads-complete", &[&[5]]);
        let f = outcome(&r.verify(&all()), "downloads-complete").findings[0].clone();
        assert!(
            f.explanation.contains("1000 of 4096 bytes") && f.explanation.contains("2:truncate"),
            "{}",
            f.explanation
        );

        // Failing the session instead of resuming is fine.
        let mut r = Run::new();
        r.start("s1");
        r.fetch("s1", "a.vmdk", 4096, 1000).fault("2:reset");
        r.call(Fail, 204).s("s1");
        r.end("s1");
        assert!(r.verify(&all()).passed, "{}", r.verify(&all()).to_text());
    }

    #[test]
    fn a_client_that_ignores_a_wrong_checksum() {
        let mut r = Run::new();
        r.start("s1");
        r.call(FilePrepare, 200)
            .s("s1")
            .f("a.iso")
            .fault("1:wrong_checksum");
        r.fetch("s1", "a.iso", 10, 10);
        r.call(FileGet, 200).s("s1").f("a.iso").checksum = Some(true);
        r.end("s1");
        breaks_only(&r.verify(&all()), "verifies-checksum", &[&[3, 4]]);

        // Never reading the checksum after downloading.
        let mut r = Run::new();
        r.start("s1");
        r.call(FileGet, 200).s("s1").f("a.iso").checksum = Some(true);
        r.fetch("s1", "a.iso", 10, 10);
        r.end("s1");
        breaks_only(&r.verify(&all()), "verifies-checksum", &[&[4]]);

        // Reading it, but the answer has none.
        let mut r = Run::new();
        r.start("s1");
        r.fetch("s1", "a.iso", 10, 10);
        r.call(FileGet, 200).s("s1").f("a.iso").checksum = Some(false);
        r.end("s1");
        breaks_only(&r.verify(&all()), "verifies-checksum", &[&[3, 4]]);
    }

    #[test]
    fn json_rpc_errors_are_judged_by_their_type_not_their_200() {
        // A file.get answered NOT_FOUND (HTTP 200 in JSON-RPC) read no checksum.
        let mut r = Run::new();
        r.start("s1");
        r.fetch("s1", "a.iso", 10, 10);
        let e = r.call(FileGet, 200).s("s1").f("a.iso");
        e.error = Some("NOT_FOUND".into());
        r.end("s1");
        breaks_only(&r.verify(&all()), "verifies-checksum", &[&[3]]);

        // SERVICE_UNAVAILABLE with Retry-After, retried after 1 s instead of 5.
        let mut r = Run::new();
        r.call(Login, 200);
        let e = r.call(Create, 200);
        (e.error, e.retry_after) = (Some("SERVICE_UNAVAILABLE".into()), Some(5));
        r.wait(1000);
        r.call(Create, 200).s("s1");
        r.call(Delete, 200).s("s1");
        r.call(Logout, 200);
        let report = r.verify(&all());
        breaks_only(&report, "honours-retry-after", &[&[2, 3]]);
        let f = &outcome(&report, "honours-retry-after").findings[0];
        assert!(
            f.explanation.contains("answered 200 SERVICE_UNAVAILABLE"),
            "{}",
            f.explanation
        );

        // A delete answered NOT_FOUND: the session was already gone, the client did its part.
        let mut r = Run::new();
        r.call(Login, 200);
        r.call(Create, 200).s("s1");
        r.call(Delete, 200).s("s1").error = Some("NOT_FOUND".into());
        r.call(Logout, 200);
        assert!(outcome(&r.verify(&all()), "sessions-deleted").passed);
    }

    #[test]
    fn a_client_that_downloads_after_canceling() {
        let mut r = Run::new();
        r.start("s1");
        r.fetch("s1", "a.ovf", 10, 10);
        r.call(FileGet, 200).s("s1").f("a.ovf").checksum = Some(true);
        r.call(Cancel, 204).s("s1");
        // In flight when canceled: served, journaled later, fine.
        r.fetch("s1", "b.vmdk", 10, 10);
        r.wait(10);
        r.call(FileGet, 200).s("s1").f("b.vmdk").checksum = Some(true);
        // Started after: refused with 410, and the server no longer names the session.
        r.download("s1", "c.vmdk", 410).session = None;
        r.end("s1");
        breaks_only(&r.verify(&all()), "no-uri-after-end", &[&[5, 8]]);
    }

    #[test]
    fn a_client_that_never_logs_out() {
        let mut r = Run::new();
        r.start("s1").careful_file("s1", "a.ovf", 10);
        r.call(Delete, 204).s("s1");
        breaks_only(&r.verify(&all()), "logged-out", &[&[1]]);
        // A second login that logs out covers an earlier one that expired.
        r.call(Login, 200);
        r.call(Logout, 204);
        assert!(r.verify(&all()).passed);
    }

    #[test]
    fn apply_selects_and_unknown_ids_are_refused() {
        let mut r = Run::new();
        r.start("s1");
        let only = Expectations {
            apply: Some(vec!["poll-rate".into(), "honours-retry-after".into()]),
            ..all()
        };
        only.validate().unwrap();
        let report = r.verify(&only);
        assert!(report.passed, "{}", report.to_text());
        let applied: Vec<&str> = report
            .expectations
            .iter()
            .filter(|o| o.applied)
            .map(|o| o.id.as_str())
            .collect();
        assert_eq!(applied, ["poll-rate", "honours-retry-after"]);
        assert_eq!(report.expectations.len(), EXPECTATION_IDS.len());
        assert!(!r.verify(&all()).passed);

        let bad = Expectations {
            apply: Some(vec!["logged-out".into(), "sessions-leaked".into()]),
            ..Expectations::default()
        };
        let err = bad.validate().unwrap_err();
        assert!(
            err.contains("sessions-leaked") && err.contains("sessions-deleted"),
            "{err}"
        );
    }

    #[test]
    fn expectations_read_from_toml() {
        #[derive(Deserialize)]
        struct Scenario {
            expect: Expectations,
        }
        let s: Scenario =
            toml::from_str("[expect]\napply = [\"kept-alive\"]\nmin_poll_interval_ms = 250\n")
                .unwrap();
        assert_eq!(
            s.expect,
            Expectations {
                apply: Some(vec!["kept-alive".into()]),
                max_polls_after_error: 3,
                min_poll_interval_ms: 250,
            }
        );
        assert!(toml::from_str::<Scenario>("[expect]\nmax_polls = 2\n").is_err());
        let json = serde_json::to_value(Expectations::default()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"max_polls_after_error": 3, "min_poll_interval_ms": 0})
        );
    }

    #[test]
    fn the_text_says_what_broke_and_shows_the_lines() {
        let mut r = Run::new();
        r.start("s1");
        let text = r.verify(&Expectations::default()).to_text();
        assert!(text.starts_with("client verification: FAILED"), "{text}");
        assert!(
            text.contains("FAIL sessions-deleted — every download session"),
            "{text}"
        );
        assert!(text.contains("PASS kept-alive"), "{text}");
        assert!(text.contains("OFF  poll-rate"), "{text}");
        assert!(
            text.contains("session s1 (created at seq 2) was never deleted"),
            "{text}"
        );
        assert!(
            text.contains(r#"         {"seq":2,"#)
                && text.contains(r#""op":"download_session.create""#),
            "{text}"
        );
        let json = serde_json::to_value(r.verify(&Expectations::default())).unwrap();
        assert_eq!(json["passed"], false);
        assert_eq!(json["expectations"][0]["findings"][0]["lines"][0]["seq"], 2);
    }

    #[test]
    fn coverage_merges_overlapping_ranges() {
        assert_eq!(coverage(&[(0, 10)], 10), (10, None));
        assert_eq!(coverage(&[(5, 10), (0, 3)], 10), (8, Some((3, 5))));
        assert_eq!(coverage(&[(0, 6), (4, 12)], 10), (10, None));
        assert_eq!(coverage(&[], 0), (0, None));
        assert_eq!(coverage(&[(0, 4)], 10), (4, Some((4, 10))));
    }
}
