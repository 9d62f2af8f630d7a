//! The rule catalogue, read from `conformance/rules.toml` (embedded at build time).

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

/// How binding a [`Rule`](crate::Rule) is: a broken MUST rule fails the run, a broken SHOULD
/// rule only with `strict` (see [`CheckReport::passed`](crate::CheckReport::passed)).
///
/// Here the fake writes date-times without milliseconds, which breaks a SHOULD rule:
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// # let library: dlsim::LibrarySpec = toml::from_str(
/// #     "name = \"isos\"\n[[items]]\nname = \"alpine\"\nfiles = [{ name = \"alpine.iso\", size = 4096 }]",
/// # ).unwrap();
/// use dlsim::RuleLevel;
/// let fake = dlsim::Dlsim::builder()
///     .libraries(vec![library])
///     .violate(dlsim::Violation::DateTimeFormat)
///     .start()
///     .await;
/// let mut opts = dlsim::CheckOptions::new(fake.base_url(), fake.username(), fake.password());
/// opts.forms = vec![dlsim::Form::Api];
/// let report = dlsim::check(&opts, |_step| {}).await.unwrap();
/// assert_eq!(report.failed_rules(), ["format.date-time"]);
/// let rule = &report.results.iter().find(|r| r.rule.id == "format.date-time").unwrap().rule;
/// assert_eq!(rule.level, RuleLevel::Should);
/// assert_eq!(rule.level.to_string(), "SHOULD");
/// assert!(report.passed(false));
/// assert!(!report.passed(true), "strict counts SHOULD rules");
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Level {
    /// Required by the contract: breaking it fails the run.
    #[serde(rename = "MUST")]
    Must,
    /// Recommended: breaking it fails the run only with `strict`.
    #[serde(rename = "SHOULD")]
    Should,
}

impl std::fmt::Display for Level {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Level::Must => "MUST",
            Level::Should => "SHOULD",
        })
    }
}

/// One rule of the contract that [`check`](crate::check) tests, as its catalogue
/// (`conformance/rules.toml`) states it; each [`RuleResult`](crate::RuleResult) carries its rule.
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
/// let result = report.results.iter().find(|r| r.rule.id == "lifecycle.expiry").unwrap();
/// let rule = &result.rule;
/// assert_eq!(rule.level, dlsim::RuleLevel::Must);
/// assert!(rule.doc.starts_with("docs/contract.md#"));
/// assert!(rule.api[0].starts_with("https://"));
/// assert_eq!(rule.forms, ["api", "rest", "jsonrpc"]);
/// // A slow rule, yet checked at once: the runner moves the fake's virtual clock.
/// assert!(rule.slow);
/// assert_eq!(result.outcome, dlsim::RuleOutcome::Pass);
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// The rule's stable id, e.g. `lifecycle.cancel` (also the name of the
    /// [`Violation`](crate::Violation) that breaks it).
    pub id: String,
    /// What a conforming server does, in one sentence.
    pub title: String,
    /// The section of docs/contract.md that states the rule (`docs/contract.md#anchor`).
    pub doc: String,
    /// VMware's API reference page(s) for the operation the rule is about.
    pub api: Vec<String>,
    /// How binding it is.
    pub level: Level,
    /// The names of the forms it applies to (`api`, `rest`, `jsonrpc`).
    pub forms: Vec<String>,
    /// Whether checking it needs real time (expiry): only with
    /// [`CheckOptions::slow`](crate::CheckOptions::slow), or at once against a dlsim whose
    /// virtual clock the runner can move.
    #[serde(default)]
    pub slow: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    rule: Vec<Rule>,
}

/// Every rule, in catalogue order.
pub fn rules() -> &'static [Rule] {
    static RULES: OnceLock<Vec<Rule>> = OnceLock::new();
    RULES.get_or_init(|| {
        let text = include_str!("../../conformance/rules.toml");
        toml::from_str::<File>(text)
            .expect("conformance/rules.toml is valid (checked by a unit test)")
            .rule
    })
}

#[cfg(test)]
pub fn rule(id: &str) -> Option<&'static Rule> {
    rules().iter().find(|r| r.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalogue_parses_with_unique_ids_and_known_forms() {
        let rules = rules();
        assert!(rules.len() >= 25);
        let mut ids: Vec<&str> = rules.iter().map(|r| r.id.as_str()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), rules.len());
        for r in rules {
            assert!(!r.forms.is_empty(), "{}", r.id);
            assert!(
                r.forms
                    .iter()
                    .all(|f| f == "api" || f == "rest" || f == "jsonrpc"),
                "{}",
                r.id
            );
            assert!(r.doc.starts_with("docs/contract.md#"), "{}", r.id);
            assert!(!r.api.is_empty() && !r.title.is_empty(), "{}", r.id);
        }
    }

    #[test]
    fn every_rule_has_a_violation_that_breaks_it_and_back() {
        for r in rules() {
            assert!(
                r.id.parse::<crate::faults::Violation>().is_ok(),
                "rule {} has no violation to prove it can fail",
                r.id
            );
        }
        for v in crate::faults::Violation::ALL {
            assert!(rule(v.rule()).is_some(), "violation {v:?} names no rule");
        }
    }
}
