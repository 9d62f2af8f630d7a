//! Hand-written JSON Schemas (draft 2020-12) for the wire documents of the
//! download-session API, and a validator over them.
//!
//! The schemas live in `schemas/` at the crate root and are written from the
//! wire contract (`contract.md` §3 data types, §4 map encoding, §5 error
//! bodies), **not** derived from dlsim's Rust types. That is deliberate: the
//! conformance runner uses them to judge what a server (dlsim itself, vcsim, a
//! real vCenter) puts on the wire, and it must not judge dlsim with dlsim's own
//! types. A serde bug in `model` (say, `params` serialized as an object on
//! `/rest`, or an unset optional emitted as `null`) would pass any schema
//! generated from those same types, but fails these.
//!
//! Layout (names are the path under `schemas/` without `.json`):
//! * `common`: shared scalars and enums (`$defs/date_time`, `$defs/long`, ...);
//! * `api/<type>`: bare `/api` documents, maps as JSON objects;
//! * `rest/<type>`: `/rest` documents, maps as `[{"key", "value"}]` lists, and
//!   the `{"value": ...}` response wrappers `rest/value_<type>`;
//! * `jsonrpc/<type>`: vAPI JSON-RPC typed values (`{"STRUCTURE": ...}`, optionals as
//!   `{"OPTIONAL": ...}`, maps as `map-entry` lists), `jsonrpc/envelope` the response envelope;
//! * `api/error`, `rest/error`, `jsonrpc/error`: error bodies.
//!
//! Every schema has the `$id` `https://dlsim.dev/schemas/<name>.json` and
//! refers to the others by relative `$ref`. All files are embedded at compile
//! time and registered in one [`jsonschema::Registry`] under their `$id`, so
//! references resolve offline; each validator is compiled lazily, once.

use std::fmt;
use std::sync::OnceLock;

use jsonschema::{Draft, Registry, Validator};
use serde_json::Value;

/// Base URI of every schema `$id`: `https://dlsim.dev/schemas/<name>.json`.
pub const BASE_URI: &str = "https://dlsim.dev/schemas/";

/// One violation reported by [`validate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaViolation {
    /// JSON Pointer of the offending value in the validated document (`""` is the root).
    pub instance_path: String,
    /// The JSON Schema keyword that failed (`required`, `type`, `enum`, `pattern`,
    /// `additionalProperties`, ...), or `unknown-schema` / `invalid-schema` when
    /// the named schema does not exist or does not compile.
    pub keyword: String,
    /// Human-readable description.
    pub message: String,
}

impl fmt::Display for SchemaViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = if self.instance_path.is_empty() {
            "/"
        } else {
            &self.instance_path
        };
        write!(f, "{} [{}]: {}", path, self.keyword, self.message)
    }
}

macro_rules! schema_table {
    ($($name:literal),* $(,)?) => {
        /// (name, text) of every embedded schema.
        const SCHEMAS: &[(&str, &str)] = &[
            $(($name, include_str!(concat!("../schemas/", $name, ".json")))),*
        ];
    };
}

schema_table![
    "common",
    // The scenario file format (TOML, validated as its JSON equivalent).
    "dlsim/scenario",
    // The ready file of `dlsim serve --ready-file`.
    "dlsim/ready",
    // /api: bare bodies, maps as JSON objects.
    "api/checksum_info",
    "api/download_session_model",
    "api/error",
    "api/file_info",
    "api/file_info_list",
    "api/id",
    "api/id_list",
    "api/item_model",
    "api/library_list",
    "api/library_model",
    "api/localizable_message",
    "api/localization_param",
    "api/nested_localizable_message",
    "api/session_info",
    "api/transfer_endpoint",
    // /rest: maps as key/value lists, responses wrapped in {"value": ...}.
    "rest/checksum_info",
    "rest/download_session_model",
    "rest/error",
    "rest/file_info",
    "rest/item_model",
    "rest/library_model",
    "rest/localizable_message",
    "rest/localization_param",
    "rest/nested_localizable_message",
    "rest/session_info",
    "rest/transfer_endpoint",
    "rest/value_download_session_model",
    "rest/value_file_info",
    "rest/value_file_info_list",
    "rest/value_id",
    "rest/value_id_list",
    "rest/value_item_model",
    "rest/value_library_model",
    "rest/value_session_info",
    // JSON-RPC (POST /api): typed values (STRUCTURE, OPTIONAL, SECRET, ERROR) and the envelope.
    "jsonrpc/checksum_info",
    "jsonrpc/download_session_model",
    "jsonrpc/envelope",
    "jsonrpc/error",
    "jsonrpc/file_info",
    "jsonrpc/file_info_list",
    "jsonrpc/id",
    "jsonrpc/id_list",
    "jsonrpc/item_model",
    "jsonrpc/library_model",
    "jsonrpc/localizable_message",
    "jsonrpc/localization_param",
    "jsonrpc/nested_localizable_message",
    "jsonrpc/secret",
    "jsonrpc/transfer_endpoint",
];

const SCHEMA_COUNT: usize = SCHEMAS.len();

/// Names of all schemas, e.g. `"api/file_info"`, `"rest/value_id"`, `"common"`.
pub fn names() -> impl Iterator<Item = &'static str> {
    SCHEMAS.iter().map(|(name, _)| *name)
}

/// The embedded JSON text of the named schema, or `None` if there is no such schema.
#[cfg(test)]
#[must_use]
pub fn source(name: &str) -> Option<&'static str> {
    SCHEMAS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, text)| *text)
}

/// Validate `doc` against the named schema.
///
/// # Errors
///
/// `Err` lists every violation. An unknown `name` gives one violation with the
/// keyword `unknown-schema`; a schema that fails to compile (a bug in the
/// schema files, caught by this module's tests) gives one with `invalid-schema`.
pub fn validate(name: &str, doc: &Value) -> Result<(), Vec<SchemaViolation>> {
    let Some(index) = SCHEMAS.iter().position(|(n, _)| *n == name) else {
        return Err(vec![SchemaViolation {
            instance_path: String::new(),
            keyword: "unknown-schema".to_owned(),
            message: format!(
                "no schema named {name:?}; known: {}",
                names().collect::<Vec<_>>().join(", ")
            ),
        }]);
    };
    let validator = match validator(index) {
        Ok(v) => v,
        Err(message) => {
            return Err(vec![SchemaViolation {
                instance_path: String::new(),
                keyword: "invalid-schema".to_owned(),
                message: message.clone(),
            }])
        }
    };
    let violations: Vec<SchemaViolation> = validator
        .iter_errors(doc)
        .map(|e| SchemaViolation {
            instance_path: e.instance_path().as_str().to_owned(),
            keyword: e.kind().keyword().to_owned(),
            message: e.to_string(),
        })
        .collect();
    if violations.is_empty() {
        Ok(())
    } else {
        Err(violations)
    }
}

/// `$id` of the named schema.
fn schema_id(name: &str) -> String {
    format!("{BASE_URI}{name}.json")
}

/// Every schema parsed, or the first parse error.
fn parsed() -> &'static Result<Vec<Value>, String> {
    static PARSED: OnceLock<Result<Vec<Value>, String>> = OnceLock::new();
    PARSED.get_or_init(|| {
        SCHEMAS
            .iter()
            .map(|(name, text)| {
                serde_json::from_str::<Value>(text)
                    .map_err(|e| format!("schemas/{name}.json is not valid JSON: {e}"))
            })
            .collect()
    })
}

/// All schemas registered under their `$id`, so cross-file `$ref`s resolve offline.
fn registry() -> &'static Result<Registry<'static>, String> {
    static REGISTRY: OnceLock<Result<Registry<'static>, String>> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let docs = parsed().as_ref().map_err(Clone::clone)?;
        let mut builder = Registry::new().draft(Draft::Draft202012);
        for ((name, _), doc) in SCHEMAS.iter().zip(docs) {
            builder = builder
                .add(schema_id(name), doc.clone())
                .map_err(|e| format!("cannot register schemas/{name}.json: {e}"))?;
        }
        builder
            .prepare()
            .map_err(|e| format!("cannot resolve the schema set: {e}"))
    })
}

/// The compiled validator of `SCHEMAS[index]`, built on first use.
fn validator(index: usize) -> &'static Result<Validator, String> {
    static VALIDATORS: [OnceLock<Result<Validator, String>>; SCHEMA_COUNT] =
        [const { OnceLock::new() }; SCHEMA_COUNT];
    VALIDATORS[index].get_or_init(|| {
        let (name, _) = SCHEMAS[index];
        let docs = parsed().as_ref().map_err(Clone::clone)?;
        let registry = registry().as_ref().map_err(Clone::clone)?;
        jsonschema::options()
            .with_draft(Draft::Draft202012)
            .with_registry(registry)
            .offline()
            .build(&docs[index])
            .map_err(|e| format!("schemas/{name}.json does not compile: {e}"))
    })
}

#[cfg(test)]
mod fixture_tests;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_schema_compiles() {
        for name in names() {
            let index = SCHEMAS.iter().position(|(n, _)| *n == name).unwrap();
            if let Err(e) = validator(index) {
                panic!("{e}");
            }
        }
    }

    #[test]
    fn every_schema_declares_its_id_and_draft() {
        let docs = parsed().as_ref().expect("schemas parse");
        for ((name, _), doc) in SCHEMAS.iter().zip(docs) {
            assert_eq!(doc["$id"], json!(schema_id(name)), "$id of {name}");
            assert_eq!(
                doc["$schema"],
                json!("https://json-schema.org/draft/2020-12/schema"),
                "$schema of {name}"
            );
        }
    }

    #[test]
    fn table_matches_the_schemas_directory() {
        fn walk(dir: &std::path::Path, root: &std::path::Path, out: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    walk(&path, root, out);
                } else if path.extension().is_some_and(|e| e == "json") {
                    let rel = path.strip_prefix(root).unwrap().with_extension("");
                    out.push(rel.to_string_lossy().replace('\\', "/"));
                }
            }
        }
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas");
        let mut on_disk = Vec::new();
        walk(&root, &root, &mut on_disk);
        on_disk.sort();
        let mut embedded: Vec<String> = names().map(str::to_owned).collect();
        embedded.sort();
        assert_eq!(on_disk, embedded);
    }

    #[test]
    fn unknown_name_is_an_error_not_a_panic() {
        let err = validate("api/no_such_type", &json!({})).unwrap_err();
        assert_eq!(err.len(), 1);
        assert_eq!(err[0].keyword, "unknown-schema");
        assert!(err[0].message.contains("api/no_such_type"));
    }

    #[test]
    fn cross_file_refs_resolve() {
        // rest/value_file_info -> rest/file_info -> rest/localizable_message
        // -> rest/localization_param#/$defs/map -> ../common.json#/$defs/date_time
        let doc = json!({"value": {
            "name": "a.ovf", "bytes_transferred": 0, "status": "ERROR",
            "error_message": {"id": "x", "default_message": "x", "args": [],
                "params": [{"key": "when", "value": {"dt": "2026-11-23T17:08:15"}}]}
        }});
        let err = validate("rest/value_file_info", &doc).unwrap_err();
        assert_eq!(err.len(), 1, "{err:?}");
        assert_eq!(err[0].keyword, "pattern");
        assert_eq!(
            err[0].instance_path,
            "/value/error_message/params/0/value/dt"
        );
    }

    #[test]
    fn date_time_needs_a_zone_and_ascii_digits() {
        let check = |s: &str| {
            validate(
                "api/session_info",
                &json!({
                    "user": "VSPHERE.LOCAL\\Administrator", "created_time": s, "last_accessed_time": s,
                }),
            )
        };
        assert!(check("2026-11-23T17:08:15.651Z").is_ok());
        assert!(check("2026-11-23T17:08:15+02:00").is_ok());
        assert!(check("2026-11-23T17:08:15.123456789-05:30").is_ok());
        assert!(check("2026-11-23T17:08:15.651").is_err());
        assert!(check("2026-11-23 17:08:15.651Z").is_err());
        assert!(check("٢٠٢٦-11-23T17:08:15.651Z").is_err());
    }

    #[test]
    fn long_is_an_int64() {
        let check = |v: Value| {
            validate(
                "api/file_info",
                &json!({"name": "a", "status": "PREPARED", "bytes_transferred": v}),
            )
        };
        assert!(check(json!(i64::MAX)).is_ok());
        assert!(check(json!(i64::MIN)).is_ok());
        assert!(check(json!(u64::MAX)).is_err());
        assert!(check(json!(1.5)).is_err());
        assert!(check(json!("1")).is_err());
    }
}
