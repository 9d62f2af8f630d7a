//! The rule catalogue, read from `conformance/rules.toml` (embedded at build time).

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Level {
    #[serde(rename = "MUST")]
    Must,
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub id: String,
    pub title: String,
    /// The section of docs/contract.md that states the rule (`docs/contract.md#anchor`).
    pub doc: String,
    /// VMware's API reference page(s) for the operation the rule is about.
    pub api: Vec<String>,
    pub level: Level,
    pub forms: Vec<String>,
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
