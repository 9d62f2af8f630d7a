//! Checks the hand-written wire schemas (`schemas/`, via `crate::schemas`)
//! against the fixture documents in `fixtures/`.
//!
//! Layout: `fixtures/<form>/<type>/valid/<what-it-shows>.json` and
//! `fixtures/<form>/<type>/invalid/<what-it-breaks>.json`, where `<form>/<type>`
//! is a schema name (`api/file_info`, `rest/value_id`, ...). Every invalid
//! fixture has a sidecar `<same-name>.expect.json` naming the keyword and the
//! instance path of a violation the schema must report.
//!
//! Every test collects all failures (each naming its file) before asserting.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use crate::schemas::{self, SchemaViolation};
use serde_json::{Map, Value};

fn fixtures_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// One fixture document.
struct Fixture {
    /// Path relative to `fixtures/`, for messages.
    rel: String,
    path: PathBuf,
    /// `<form>/<type>`, the schema to validate against.
    schema: String,
    /// `true` under `valid/`, `false` under `invalid/`.
    valid: bool,
}

fn sorted_entries(dir: &Path) -> Vec<PathBuf> {
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    entries
}

/// Every fixture document (sidecars excluded), plus every layout problem found.
fn collect() -> (Vec<Fixture>, Vec<String>) {
    let root = fixtures_root();
    let mut fixtures = Vec::new();
    let mut problems = Vec::new();
    for form_dir in sorted_entries(&root) {
        let form = file_name(&form_dir);
        if !form_dir.is_dir() {
            problems.push(format!("{form}: stray file at the top of fixtures/"));
            continue;
        }
        for type_dir in sorted_entries(&form_dir) {
            let schema = format!("{form}/{}", file_name(&type_dir));
            if !type_dir.is_dir() {
                problems.push(format!("{schema}: expected a directory"));
                continue;
            }
            if !schemas::names().any(|n| n == schema) {
                problems.push(format!("{schema}: no schema of that name"));
            }
            for kind_dir in sorted_entries(&type_dir) {
                let kind = file_name(&kind_dir);
                let valid = match kind.as_str() {
                    "valid" => true,
                    "invalid" => false,
                    _ => {
                        problems.push(format!("{schema}/{kind}: expected valid/ or invalid/"));
                        continue;
                    }
                };
                for path in sorted_entries(&kind_dir) {
                    let name = file_name(&path);
                    let rel = format!("{schema}/{kind}/{name}");
                    if name.ends_with(".expect.json") {
                        let doc = name.trim_end_matches(".expect.json").to_owned() + ".json";
                        if valid {
                            problems.push(format!("{rel}: sidecar in a valid/ directory"));
                        } else if !kind_dir.join(&doc).is_file() {
                            problems.push(format!("{rel}: sidecar without {doc}"));
                        }
                    } else if name.ends_with(".json") {
                        fixtures.push(Fixture {
                            rel,
                            path,
                            schema: schema.clone(),
                            valid,
                        });
                    } else {
                        problems.push(format!("{rel}: not a .json file"));
                    }
                }
            }
        }
    }
    (fixtures, problems)
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .expect("file name")
        .to_string_lossy()
        .into_owned()
}

fn read_json(path: &Path) -> Result<Value, String> {
    let text = fs::read_to_string(path).map_err(|e| format!("cannot read: {e}"))?;
    serde_json::from_str(&text).map_err(|e| format!("not JSON: {e}"))
}

fn list(violations: &[SchemaViolation]) -> String {
    violations.iter().map(|v| format!("\n      {v}")).collect()
}

fn assert_no_failures(what: &str, failures: &[String]) {
    assert!(
        failures.is_empty(),
        "{} {what}:\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
}

#[test]
fn fixture_tree_is_well_formed() {
    let (fixtures, problems) = collect();
    assert_no_failures("layout problems under fixtures/", &problems);
    assert!(
        fixtures.iter().any(|f| f.valid) && fixtures.iter().any(|f| !f.valid),
        "expected both valid and invalid fixtures, found {}",
        fixtures.len()
    );
}

#[test]
fn valid_fixtures_pass_their_schema() {
    let (fixtures, _) = collect();
    let mut failures = Vec::new();
    let mut checked = 0;
    for f in fixtures.iter().filter(|f| f.valid) {
        checked += 1;
        match read_json(&f.path) {
            Err(e) => failures.push(format!("{}: {e}", f.rel)),
            Ok(doc) => {
                if let Err(violations) = schemas::validate(&f.schema, &doc) {
                    failures.push(format!(
                        "{}: rejected by {}:{}",
                        f.rel,
                        f.schema,
                        list(&violations)
                    ));
                }
            }
        }
    }
    assert!(checked > 0, "no valid fixtures found");
    assert_no_failures("valid fixtures rejected", &failures);
}

#[test]
fn invalid_fixtures_fail_with_the_expected_violation() {
    let (fixtures, _) = collect();
    let mut failures = Vec::new();
    let mut checked = 0;
    for f in fixtures.iter().filter(|f| !f.valid) {
        checked += 1;
        let sidecar = f.path.with_extension("expect.json");
        let expect = match read_json(&sidecar) {
            Ok(v) => v,
            Err(e) => {
                failures.push(format!("{}: sidecar {}: {e}", f.rel, file_name(&sidecar)));
                continue;
            }
        };
        let (Some(keyword), Some(instance_path)) = (
            expect.get("keyword").and_then(Value::as_str),
            expect.get("instance_path").and_then(Value::as_str),
        ) else {
            failures.push(format!(
                "{}: sidecar needs string fields keyword and instance_path, got {expect}",
                f.rel
            ));
            continue;
        };
        let doc = match read_json(&f.path) {
            Ok(v) => v,
            Err(e) => {
                failures.push(format!("{}: {e}", f.rel));
                continue;
            }
        };
        match schemas::validate(&f.schema, &doc) {
            Ok(()) => failures.push(format!("{}: accepted by {}", f.rel, f.schema)),
            Err(violations) => {
                let hit = violations
                    .iter()
                    .any(|v| v.keyword == keyword && v.instance_path == instance_path);
                if !hit {
                    failures.push(format!(
                        "{}: expected [{keyword}] at {instance_path:?}, got:{}",
                        f.rel,
                        list(&violations)
                    ));
                }
            }
        }
    }
    assert!(checked > 0, "no invalid fixtures found");
    assert_no_failures("invalid fixtures not rejected as expected", &failures);
}

#[test]
fn every_schema_has_a_valid_fixture() {
    let (fixtures, _) = collect();
    let covered: BTreeSet<&str> = fixtures
        .iter()
        .filter(|f| f.valid)
        .map(|f| f.schema.as_str())
        .collect();
    let missing: Vec<String> = schemas::names()
        .filter(|n| *n != "common" && !covered.contains(n))
        .map(|n| format!("{n}: no fixture under fixtures/{n}/valid/"))
        .collect();
    assert!(schemas::names().count() > 1, "no schemas embedded");
    assert_no_failures("schemas without a valid fixture", &missing);
}

/// Every model type has a minimal and a full valid fixture in every form, and
/// every form-independent invalid fixture exists in both forms.
#[test]
fn model_types_are_covered_in_both_forms() {
    const MODEL_TYPES: &[&str] = &[
        "download_session_model",
        "file_info",
        "transfer_endpoint",
        "checksum_info",
        "localizable_message",
        "localization_param",
        "nested_localizable_message",
        "session_info",
        "library_model",
        "item_model",
    ];
    let (fixtures, _) = collect();
    let mut failures = Vec::new();
    for form in ["api", "rest", "jsonrpc"] {
        // JSON-RPC: the types the runner reads (cis.session.get is not checked there).
        for t in MODEL_TYPES
            .iter()
            .filter(|t| form != "jsonrpc" || **t != "session_info")
        {
            let schema = format!("{form}/{t}");
            for prefix in ["minimal", "full"] {
                let found = fixtures.iter().any(|f| {
                    f.valid
                        && f.schema == schema
                        && file_name(&f.path).starts_with(&format!("{prefix}-"))
                });
                if !found {
                    failures.push(format!("{schema}/valid/{prefix}-*.json missing"));
                }
            }
        }
    }
    assert_no_failures("coverage gaps", &failures);
}

/// `/rest` → `/api` map encoding: every `params` field holding a key/value
/// list becomes an object. Fails (returns `Err`) on a malformed entry.
fn rest_to_api(value: &Value) -> Result<Value, String> {
    Ok(match value {
        Value::Object(fields) => {
            let mut out = Map::new();
            for (name, field) in fields {
                let converted = match (name.as_str(), field) {
                    ("params", Value::Array(entries)) => {
                        let mut map = Map::new();
                        for entry in entries {
                            let key =
                                entry.get("key").and_then(Value::as_str).ok_or_else(|| {
                                    format!("map entry without a string key: {entry}")
                                })?;
                            let value = entry
                                .get("value")
                                .ok_or_else(|| format!("map entry without a value: {entry}"))?;
                            if map.insert(key.to_owned(), rest_to_api(value)?).is_some() {
                                return Err(format!("duplicate map key {key:?}"));
                            }
                        }
                        Value::Object(map)
                    }
                    _ => rest_to_api(field)?,
                };
                out.insert(name.clone(), converted);
            }
            Value::Object(out)
        }
        Value::Array(items) => {
            Value::Array(items.iter().map(rest_to_api).collect::<Result<_, _>>()?)
        }
        other => other.clone(),
    })
}

/// How many `l` (NestedLocalizableMessage) levels are nested inside `value`.
fn nested_l_depth(value: &Value) -> usize {
    match value {
        Value::Object(fields) => fields
            .iter()
            .map(|(name, v)| usize::from(name == "l") + nested_l_depth(v))
            .max()
            .unwrap_or(0),
        Value::Array(items) => items.iter().map(nested_l_depth).max().unwrap_or(0),
        _ => 0,
    }
}

#[test]
fn api_and_rest_nested_params_fixtures_carry_the_same_content() {
    let pairs = [
        "file_info/valid/error-with-nested-params.json",
        "file_info/valid/full-every-field-set.json",
        "download_session_model/valid/full-every-field-set.json",
        "localizable_message/valid/nested-params.json",
        "nested_localizable_message/valid/full-recursive-params.json",
        "localization_param/valid/full-every-field-set.json",
    ];
    let root = fixtures_root();
    let mut failures = Vec::new();
    for rel in pairs {
        let api = read_json(&root.join("api").join(rel));
        let rest = read_json(&root.join("rest").join(rel));
        let (api, rest) = match (api, rest) {
            (Ok(a), Ok(r)) => (a, r),
            (a, r) => {
                failures.push(format!("{rel}: api {:?}, rest {:?}", a.err(), r.err()));
                continue;
            }
        };
        // The two forms must differ on the wire (otherwise the pair proves nothing)...
        if api == rest {
            failures.push(format!("{rel}: api and rest documents are identical"));
        }
        // ...and agree once the rest key/value lists are turned into objects.
        match rest_to_api(&rest) {
            Err(e) => failures.push(format!("rest/{rel}: {e}")),
            Ok(converted) => {
                if let Some(diff) = first_difference(&api, &converted, String::new()) {
                    failures.push(format!(
                        "{rel}: rest content differs from api after conversion: {diff}"
                    ));
                }
            }
        }
    }
    // The headline pair must really be deep: an `l` whose params hold another `l`.
    let deep = read_json(&root.join("api/file_info/valid/error-with-nested-params.json"))
        .expect("api/file_info/valid/error-with-nested-params.json");
    if nested_l_depth(&deep) < 2 {
        failures.push(
            "api/file_info/valid/error-with-nested-params.json: fewer than two nested `l` levels"
                .to_owned(),
        );
    }
    for field in ["s", "dt", "i", "d", "format", "precision"] {
        if !contains_key(&deep["error_message"]["params"], field) {
            failures.push(format!(
                "api/file_info/valid/error-with-nested-params.json: no LocalizationParam uses {field:?}"
            ));
        }
    }
    assert_no_failures("api/rest content mismatches", &failures);
}

/// JSON Pointer and values of the first place where `a` and `b` differ.
fn first_difference(a: &Value, b: &Value, at: String) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, v) in x {
                let here = format!("{at}/{k}");
                match y.get(k) {
                    None => return Some(format!("{here}: only in api")),
                    Some(w) => {
                        if let Some(d) = first_difference(v, w, here) {
                            return Some(d);
                        }
                    }
                }
            }
            y.keys()
                .find(|k| !x.contains_key(*k))
                .map(|k| format!("{at}/{k}: only in rest"))
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (v, w))| first_difference(v, w, format!("{at}/{i}"))),
        _ if a == b => None,
        _ => Some(format!("{at}: api {a} vs rest {b}")),
    }
}

fn contains_key(value: &Value, key: &str) -> bool {
    match value {
        Value::Object(fields) => fields.iter().any(|(k, v)| k == key || contains_key(v, key)),
        Value::Array(items) => items.iter().any(|v| contains_key(v, key)),
        _ => false,
    }
}

#[test]
fn rest_to_api_conversion_rejects_malformed_entries() {
    let missing_key = serde_json::json!({"params": [{"value": {"s": "x"}}]});
    assert!(rest_to_api(&missing_key).is_err());
    let nested = serde_json::json!({"params": [{"key": "a", "value": {"l": {"id": "x", "params": [{"key": "b", "value": {"i": 1}}]}}}]});
    assert_eq!(
        rest_to_api(&nested).unwrap(),
        serde_json::json!({"params": {"a": {"l": {"id": "x", "params": {"b": {"i": 1}}}}}})
    );
}
