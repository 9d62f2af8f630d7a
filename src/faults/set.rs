//! The faults loaded in one server, consulted at the named injection points.
//!
//! Rules are indexed by operation, so a request only looks at the rules that can match it,
//! and a server with no faults pays one atomic load per request. Every probabilistic choice
//! draws from one seeded random source, so a scenario replays exactly.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde::Serialize;

use super::rule::{glob_match, Family, Fault, FormName, What};
use super::{Violation, Violations};
use crate::model::Timestamp;
use crate::op::OpName;

/// Where a request stands when the faults are consulted.
#[derive(Debug, Clone, Copy)]
pub struct Point<'a> {
    pub op: OpName,
    pub form: FormName,
    pub item: Option<&'a str>,
    pub file: Option<&'a str>,
    pub user: Option<&'a str>,
    /// The ordinal of the download session the request concerns (1-based).
    pub session: Option<u64>,
    pub now: Timestamp,
}

/// A fault that fired at a point.
#[derive(Debug, Clone, PartialEq)]
pub struct Fired {
    pub id: u64,
    /// `kind`, or `kind:name` for a named fault.
    pub label: String,
    pub what: What,
    /// The rule's file glob: which files of a session a session fault marks.
    pub files: Option<String>,
}

/// A loaded fault and what it has done so far ([`Dlsim::faults`](crate::Dlsim::faults)).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use dlsim::{Fault, OpName, What};
/// let fake = dlsim::Dlsim::start().await;
/// // Every second login answers 503.
/// fake.add_fault(Fault::new(What::HttpError { status: 503, retry_after_secs: None }).on(OpName::Login).every(2));
/// let http = reqwest::Client::new();
/// for _ in 0..3 {
///     http.post(format!("{}/session", fake.api_url()))
///         .basic_auth(fake.username(), Some(fake.password()))
///         .send().await.unwrap();
/// }
/// let status = &fake.faults()[0];
/// assert_eq!((status.calls, status.fired), (3, 1));
/// # }
/// ```
#[derive(Debug, Serialize)]
pub struct RuleStatus {
    /// The id [`Dlsim::add_fault`](crate::Dlsim::add_fault) returned.
    pub id: u64,
    /// The fault as loaded.
    pub fault: Fault,
    /// Calls that met the rule's conditions (before call counts and probability).
    pub calls: u64,
    /// Times it fired.
    pub fired: u64,
}

#[derive(Debug)]
struct Rule {
    id: u64,
    fault: Fault,
    calls: AtomicU64,
    fired: AtomicU64,
}

/// The rules of one operation: those aimed at one user or item are looked up by it, so they
/// cost other requests nothing.
#[derive(Debug, Default, Clone)]
struct OpRules {
    any: Vec<usize>,
    by_user: HashMap<String, Vec<usize>>,
    by_item: HashMap<String, Vec<usize>>,
}

impl OpRules {
    /// The rules that may match a request of this user and item, in load order.
    fn candidates(&self, user: Option<&str>, item: Option<&str>) -> Cow<'_, [usize]> {
        let users = user.and_then(|u| self.by_user.get(u));
        let items = item.and_then(|i| self.by_item.get(i));
        match (users, items) {
            (None, None) => Cow::Borrowed(&self.any),
            (Some(v), None) | (None, Some(v)) if self.any.is_empty() => Cow::Borrowed(v),
            _ => {
                let mut all: Vec<usize> = self.any.clone();
                all.extend(users.into_iter().flatten());
                all.extend(items.into_iter().flatten());
                all.sort_unstable();
                Cow::Owned(all)
            }
        }
    }
}

#[derive(Debug, Default)]
struct Loaded {
    rules: Vec<Arc<Rule>>,
    /// Indexes into `rules`, by operation.
    by_op: Vec<OpRules>,
    violations: Violations,
    needs_user: bool,
    needs_session: bool,
}

impl Loaded {
    fn build(rules: Vec<Arc<Rule>>) -> Loaded {
        let mut by_op = vec![OpRules::default(); OpName::ALL.len()];
        let mut violations = Violations::default();
        let (mut needs_user, mut needs_session) = (false, false);
        for (i, r) in rules.iter().enumerate() {
            if let What::Violate { rule } = r.fault.what {
                violations.insert(rule);
                continue;
            }
            let w = &r.fault.when;
            needs_user |= w.user.is_some();
            needs_session |= w.session.is_some() || w.item.is_some();
            let ops = if w.op.is_empty() {
                r.fault.what.default_ops()
            } else {
                &w.op
            };
            for op in ops {
                let rules = &mut by_op[*op as usize];
                match (&w.user, &w.item) {
                    (Some(u), _) => rules.by_user.entry(u.clone()).or_default().push(i),
                    (None, Some(item)) => rules.by_item.entry(item.clone()).or_default().push(i),
                    (None, None) => rules.any.push(i),
                }
            }
        }
        Loaded {
            rules,
            by_op,
            violations,
            needs_user,
            needs_session,
        }
    }
}

/// What matching needs to know beyond the request itself (looked up only when a rule asks).
#[derive(Debug, Clone, Copy, Default)]
pub struct Needs {
    pub user: bool,
    pub session: bool,
}

/// The fault rules of one server.
#[derive(Debug)]
pub struct Faults {
    loaded: RwLock<Arc<Loaded>>,
    any: AtomicBool,
    next_id: AtomicU64,
    rng: Mutex<StdRng>,
    /// Time zero of `after_ms`/`before_ms` windows.
    start: Mutex<Timestamp>,
}

impl Faults {
    pub fn new(seed: u64, start: Timestamp) -> Self {
        Faults {
            loaded: RwLock::default(),
            any: AtomicBool::new(false),
            next_id: AtomicU64::new(1),
            rng: Mutex::new(StdRng::seed_from_u64(seed)),
            start: Mutex::new(start),
        }
    }

    /// True when no fault at all is loaded (the fast path).
    pub fn is_empty(&self) -> bool {
        !self.any.load(Ordering::Relaxed)
    }

    fn snapshot(&self) -> Arc<Loaded> {
        self.loaded
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn replace(&self, rules: Vec<Arc<Rule>>) {
        let any = !rules.is_empty();
        *self.loaded.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(Loaded::build(rules));
        self.any.store(any, Ordering::Relaxed);
    }

    /// Load one more fault; returns its id.
    pub fn add(&self, fault: Fault) -> Result<u64, String> {
        fault.validate()?;
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut rules = self.snapshot().rules.clone();
        rules.push(Arc::new(Rule {
            id,
            fault,
            calls: AtomicU64::new(0),
            fired: AtomicU64::new(0),
        }));
        self.replace(rules);
        Ok(id)
    }

    /// Unload one fault; false if no fault has that id.
    pub fn remove(&self, id: u64) -> bool {
        let mut rules = self.snapshot().rules.clone();
        let before = rules.len();
        rules.retain(|r| r.id != id);
        let found = rules.len() != before;
        if found {
            self.replace(rules);
        }
        found
    }

    /// Unload every fault.
    pub fn clear(&self) {
        self.replace(Vec::new());
    }

    /// Start over: no faults, ids from 1, the random source at `seed`, windows from `start`.
    pub fn reset(&self, seed: u64, start: Timestamp) {
        self.clear();
        self.next_id.store(1, Ordering::Relaxed);
        *self.rng.lock().unwrap_or_else(|p| p.into_inner()) = StdRng::seed_from_u64(seed);
        *self.start.lock().unwrap_or_else(|p| p.into_inner()) = start;
    }

    pub fn list(&self) -> Vec<RuleStatus> {
        self.snapshot()
            .rules
            .iter()
            .map(|r| RuleStatus {
                id: r.id,
                fault: r.fault.clone(),
                calls: r.calls.load(Ordering::Relaxed),
                fired: r.fired.load(Ordering::Relaxed),
            })
            .collect()
    }

    /// Whether a loaded fault breaks this conformance rule.
    pub fn violates(&self, v: Violation) -> bool {
        !self.is_empty() && self.snapshot().violations.has(v)
    }

    /// The rule breaks loaded now.
    pub fn violations(&self) -> Violations {
        if self.is_empty() {
            return Violations::default();
        }
        self.snapshot().violations.clone()
    }

    /// What matching needs looked up beyond the request.
    pub fn needs(&self) -> Needs {
        if self.is_empty() {
            return Needs::default();
        }
        let l = self.snapshot();
        Needs {
            user: l.needs_user,
            session: l.needs_session,
        }
    }

    /// The faults that fire at this point, in the order they were loaded.
    pub fn consult(&self, p: &Point<'_>) -> Vec<Fired> {
        if self.is_empty() {
            return Vec::new();
        }
        let loaded = self.snapshot();
        let start = *self.start.lock().unwrap_or_else(|e| e.into_inner());
        let mut fired = Vec::new();
        for &i in loaded.by_op[p.op as usize]
            .candidates(p.user, p.item)
            .iter()
        {
            let r = &loaded.rules[i];
            if !self.matches(r, p, start) {
                continue;
            }
            fired.push(Fired {
                id: r.id,
                label: match &r.fault.name {
                    Some(name) => format!("{}:{name}", r.fault.what.kind()),
                    None => r.fault.what.kind().to_string(),
                },
                what: r.fault.what.clone(),
                files: r.fault.when.file.clone(),
            });
        }
        fired
    }

    fn matches(&self, r: &Rule, p: &Point<'_>, start: Timestamp) -> bool {
        let w = &r.fault.when;
        let elapsed = u64::try_from(p.now.millis() - start.millis()).unwrap_or(0);
        let fixed = w.form.is_none_or(|f| f == p.form)
            && w.item.as_deref().is_none_or(|i| p.item == Some(i))
            && w.user.as_deref().is_none_or(|u| p.user == Some(u))
            && w.session.is_none_or(|n| p.session == Some(n))
            // A glob is checked against the request's file; a session fault on an operation
            // without one marks the session's matching files instead.
            && match (w.file.as_deref(), p.file) {
                (Some(g), Some(f)) => glob_match(g, f),
                (Some(_), None) => r.fault.what.family() == Family::Session,
                (None, _) => true,
            }
            && w.after_ms.is_none_or(|a| elapsed >= a)
            && w.before_ms.is_none_or(|b| elapsed < b);
        if !fixed {
            return false;
        }
        let n = r.calls.fetch_add(1, Ordering::Relaxed) + 1;
        let counted = w.call.is_none_or(|c| n == c)
            && w.first.is_none_or(|f| n <= f)
            && w.every.is_none_or(|k| n % k == 0);
        if !counted {
            return false;
        }
        if let Some(prob) = w.probability {
            if self.draw() >= prob {
                return false;
            }
        }
        // Claim one of the allowed firings atomically, so concurrent calls never exceed it.
        let limit = r.fault.times.unwrap_or(u64::MAX);
        r.fired
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |f| {
                (f < limit).then_some(f + 1)
            })
            .is_ok()
    }

    /// A uniform draw in `0..1` from the seeded source.
    pub fn draw(&self) -> f64 {
        self.rng
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .random::<f64>()
    }

    /// A uniform draw in `min..=max` from the seeded source.
    pub fn draw_range(&self, min: u64, max: u64) -> u64 {
        if min >= max {
            return min;
        }
        self.rng
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .random_range(min..=max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::faults::rule::What;

    fn point(op: OpName) -> Point<'static> {
        Point {
            op,
            form: FormName::Api,
            item: None,
            file: None,
            user: None,
            session: None,
            now: Timestamp(0),
        }
    }

    #[test]
    fn nothing_fires_when_nothing_is_loaded() {
        let f = Faults::new(0, Timestamp(0));
        assert!(f.is_empty());
        assert!(f.consult(&point(OpName::Get)).is_empty());
    }

    #[test]
    fn call_counts_times_and_ops_select_the_calls() {
        let f = Faults::new(0, Timestamp(0));
        let e503 = What::HttpError {
            status: 503,
            retry_after_secs: None,
        };
        f.add(Fault::new(e503.clone()).on(OpName::Get).call(2))
            .unwrap();
        f.add(
            Fault::new(e503.clone())
                .on(OpName::FileGet)
                .every(2)
                .times(2),
        )
        .unwrap();
        let fires = |op| {
            (0..6)
                .map(|_| !f.consult(&point(op)).is_empty())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            fires(OpName::Get),
            [false, true, false, false, false, false]
        );
        assert_eq!(
            fires(OpName::FileGet),
            [false, true, false, true, false, false]
        );
        assert_eq!(fires(OpName::List), [false; 6]);
        let listed = f.list();
        assert_eq!(listed[0].calls, 6);
        assert_eq!(listed[0].fired, 1);
        assert_eq!(listed[1].fired, 2);
    }

    #[test]
    fn globs_users_sessions_and_windows_narrow_a_rule() {
        let f = Faults::new(0, Timestamp(1000));
        f.add(
            Fault::new(What::WrongChecksum)
                .file("*.vmdk")
                .user("alice")
                .session(2),
        )
        .unwrap();
        let mut p = point(OpName::FilePrepare);
        p.file = Some("disk.vmdk");
        p.user = Some("alice");
        p.session = Some(2);
        assert_eq!(f.consult(&p).len(), 1);
        for change in 0..3 {
            let mut q = p;
            match change {
                0 => q.file = Some("a.ovf"),
                1 => q.user = Some("bob"),
                _ => q.session = Some(1),
            }
            assert!(f.consult(&q).is_empty(), "change {change}");
        }
        f.clear();
        let mut late = Fault::new(What::ExpireNow).on(OpName::Get);
        late.when.after_ms = Some(500);
        f.add(late).unwrap();
        let mut early = point(OpName::Get);
        early.now = Timestamp(1400);
        assert!(f.consult(&early).is_empty());
        early.now = Timestamp(1500);
        assert_eq!(f.consult(&early).len(), 1);
    }

    #[test]
    fn rules_aimed_at_users_and_items_fire_in_load_order_with_the_rest() {
        let f = Faults::new(0, Timestamp(0));
        f.add(Fault::new(What::ExpireNow).on(OpName::Get).item("x"))
            .unwrap();
        f.add(Fault::new(What::ExpireNow).on(OpName::Get)).unwrap();
        f.add(Fault::new(What::ExpireNow).on(OpName::Get).user("alice"))
            .unwrap();
        let mut p = point(OpName::Get);
        let ids = |p: &Point<'_>| f.consult(p).iter().map(|x| x.id).collect::<Vec<_>>();
        assert_eq!(ids(&p), [2]);
        p.user = Some("alice");
        assert_eq!(ids(&p), [2, 3]);
        p.item = Some("x");
        assert_eq!(ids(&p), [1, 2, 3]);
        p.user = Some("bob");
        assert_eq!(ids(&p), [1, 2]);
    }

    #[test]
    fn probabilities_replay_with_the_same_seed_and_differ_with_another() {
        let run = |seed| {
            let f = Faults::new(seed, Timestamp(0));
            f.add(Fault::new(What::ExpireNow).on(OpName::Get).probability(0.5))
                .unwrap();
            (0..64)
                .map(|_| !f.consult(&point(OpName::Get)).is_empty())
                .collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
        let hits = run(7).iter().filter(|b| **b).count();
        assert!((16..=48).contains(&hits), "{hits} of 64");
    }

    #[test]
    fn violations_are_faults_too() {
        let f = Faults::new(0, Timestamp(0));
        assert!(!f.violates(Violation::Cancel));
        let id = f
            .add(Fault::new(What::Violate {
                rule: Violation::Cancel,
            }))
            .unwrap();
        assert!(f.violates(Violation::Cancel));
        assert!(f.remove(id));
        assert!(!f.violates(Violation::Cancel));
        assert!(!f.remove(id));
    }
}
