//! Scenarios: a seed, faults and client expectations in one TOML file, replayable.
//!
//! A ready shelf of them ships inside the binary (`conformance/scenarios/*.toml`), picked by
//! name (`dlsim serve --scenario prepare-error`); any other file is read by path. Unknown keys
//! and bad values are refused at load with their line and column.

use std::path::Path;

use serde::Deserialize;

use super::verify::Expectations;
use super::Fault;
use crate::config::{LibrarySpec, PrepareTiming};

/// One scenario file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Seed of ids, tokens and every probabilistic fault.
    #[serde(default)]
    pub seed: Option<u64>,
    /// Idle timeout of download sessions, in seconds (at start only).
    #[serde(default)]
    pub idle_timeout_secs: Option<u64>,
    /// How long preparing takes (at start only).
    #[serde(default)]
    pub prepare: Option<PrepareTiming>,
    /// A library instead of the demo (at start only).
    #[serde(default)]
    pub libraries: Vec<LibrarySpec>,
    #[serde(default)]
    pub faults: Vec<Fault>,
    /// Which client expectations apply, and how they are tuned.
    #[serde(default)]
    pub expect: Expectations,
}

/// Why a scenario could not be loaded.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let fake = dlsim::Dlsim::start().await;
/// let err = fake.load_scenario("prepare_error").unwrap_err();
/// assert!(matches!(err, dlsim::ScenarioError::Unknown { .. }));
/// assert!(err.to_string().contains("the shelf has: prepare-error, "), "{err}");
///
/// let dir = tempfile::tempdir().unwrap();
/// let file = dir.path().join("mine.toml");
/// std::fs::write(&file, "[[faults]]\nwhat = { kind = 'http_error', status = 200 }\n").unwrap();
/// let err = fake.load_scenario(file.to_str().unwrap()).unwrap_err();
/// assert!(err.to_string().contains("http_error status must be 400..=599, not 200"), "{err}");
/// # }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScenarioError {
    /// Neither a shelf scenario nor an existing file has that name.
    #[error("no scenario {name:?} on the shelf and no such file; the shelf has: {shelf}")]
    Unknown {
        /// The name asked for.
        name: String,
        /// The shelf's names, comma-separated.
        shelf: String,
    },
    /// The file exists but cannot be read.
    #[error("cannot read scenario {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why it cannot be read.
        source: std::io::Error,
    },
    /// The text is not a valid scenario (TOML, unknown keys, or a fault or expectation that
    /// cannot hold).
    #[error("scenario {origin} is not valid: {message}")]
    Invalid {
        /// The shelf name or the file.
        origin: String,
        /// What is wrong, and where.
        message: String,
    },
}

macro_rules! shelf {
    ($($name:literal,)+) => {
        /// The shelf: every ready scenario, by name, with its text.
        pub const SHELF: &[(&str, &str)] = &[
            $(($name, include_str!(concat!("../../conformance/scenarios/", $name, ".toml")))),+
        ];
    };
}

shelf! {
    "prepare-error",
    "session-error",
    "stuck-prepare",
    "slow-prepare",
    "expiry-during-download",
    "checksum-mismatch",
    "corrupt-bytes",
    "truncated-transfer",
    "connection-reset",
    "throttled",
    "service-unavailable",
    "login-expired",
    "lost-session",
    "flaky-network",
}

impl Scenario {
    /// Parse scenario text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Scenario, ScenarioError> {
        let invalid = |message: String| ScenarioError::Invalid {
            origin: origin.to_string(),
            message,
        };
        let s: Scenario = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
        for (i, f) in s.faults.iter().enumerate() {
            f.validate()
                .map_err(|m| invalid(format!("fault {} ({}): {m}", i + 1, f.label())))?;
        }
        s.expect.validate().map_err(invalid)?;
        Ok(s)
    }

    /// A shelf scenario by name, or else a file by path.
    pub fn load(name_or_path: &str) -> Result<Scenario, ScenarioError> {
        if let Some((name, text)) = SHELF.iter().find(|(n, _)| *n == name_or_path) {
            return Scenario::parse(text, name);
        }
        let path = Path::new(name_or_path);
        if !path.exists() {
            return Err(ScenarioError::Unknown {
                name: name_or_path.to_string(),
                shelf: shelf_names().join(", "),
            });
        }
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Read {
            path: name_or_path.to_string(),
            source,
        })?;
        Scenario::parse(&text, name_or_path)
    }
}

/// The names of the built-in fault scenarios (what `dlsim scenarios` lists), each loadable
/// with [`Dlsim::load_scenario`](crate::Dlsim::load_scenario) or `dlsim serve --scenario NAME`.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let names = dlsim::scenario_names();
/// assert!(names.contains(&"checksum-mismatch") && names.contains(&"flaky-network"));
/// let fake = dlsim::Dlsim::start().await;
/// for name in names {
///     fake.load_scenario(name).unwrap();
///     assert!(!fake.faults().is_empty(), "{name} loads faults");
/// }
/// # }
/// ```
pub fn shelf_names() -> Vec<&'static str> {
    SHELF.iter().map(|(n, _)| *n).collect()
}

/// The one-line summary at the top of a scenario: its first comment line.
pub fn summary(text: &str) -> &str {
    text.lines()
        .find_map(|l| l.trim().strip_prefix('#'))
        .map(str::trim)
        .unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shelf_scenario_parses_and_says_what_it_does() {
        for (name, text) in SHELF {
            let s = Scenario::parse(text, name).unwrap_or_else(|e| panic!("{e}"));
            assert!(!s.faults.is_empty(), "{name} has no fault");
            assert!(
                text.trim_start().starts_with('#') && summary(text).len() > 20,
                "{name} must open with a one-line comment saying what it does"
            );
        }
    }

    #[test]
    fn unknown_keys_are_refused_with_line_and_column() {
        let text = "seed = 1\n[[faults]]\nwhat = { kind = \"expire_now\" }\nwhen = { opp = \"file.get\" }\n";
        let e = Scenario::parse(text, "t.toml").unwrap_err().to_string();
        assert!(e.contains("line 4"), "{e}");
        assert!(e.contains("opp"), "{e}");
        let bad_value = "[[faults]]\nwhat = { kind = \"http_error\", status = 42 }\n";
        let e = Scenario::parse(bad_value, "t.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("400..=599"), "{e}");
    }

    fn as_json(text: &str) -> serde_json::Value {
        serde_json::to_value(toml::from_str::<toml::Table>(text).unwrap()).unwrap()
    }

    #[test]
    fn the_scenario_schema_accepts_the_shelf_and_refuses_what_the_loader_refuses() {
        for (name, text) in SHELF {
            if let Err(v) = crate::schemas::validate("dlsim/scenario", &as_json(text)) {
                panic!("{name}: {v:?}");
            }
        }
        let bad = [
            "seeed = 1",
            "[[faults]]\nwhat = { kind = \"nope\" }",
            "[[faults]]\nwhat = { kind = \"http_error\", status = 200 }",
            "[[faults]]\nwhen = { op = \"file.nope\" }\nwhat = { kind = \"expire_now\" }",
            "[[faults]]\nwhat = { kind = \"violate\", rule = \"no.such-rule\" }",
            "[expect]\napply = [\"sessions-leaked\"]",
        ];
        for text in bad {
            assert!(
                crate::schemas::validate("dlsim/scenario", &as_json(text)).is_err(),
                "the schema accepts {text}"
            );
            assert!(
                Scenario::parse(text, "t").is_err(),
                "the loader accepts {text}"
            );
        }
    }

    #[test]
    fn a_name_not_on_the_shelf_lists_the_shelf() {
        let e = Scenario::load("no-such-scenario").unwrap_err().to_string();
        assert!(e.contains("prepare-error"), "{e}");
    }
}
