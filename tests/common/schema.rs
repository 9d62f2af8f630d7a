//! The hand-written JSON Schemas of `schemas/`, read from the files and checked with the
//! jsonschema crate (each file registered under its `$id`, so cross-file `$ref`s resolve
//! offline), for tests that judge what the server puts on the wire.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use jsonschema::{Draft, Registry, Validator};
use serde_json::Value;

const BASE_URI: &str = "https://dlsim.dev/schemas/";

/// Every schema file, by name: its path under `schemas/` without `.json`.
fn documents() -> &'static HashMap<String, Value> {
    static DOCS: OnceLock<HashMap<String, Value>> = OnceLock::new();
    DOCS.get_or_init(|| {
        fn walk(root: &Path, dir: &Path, out: &mut HashMap<String, Value>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    walk(root, &path, out);
                } else if path.extension().is_some_and(|e| e == "json") {
                    let name = path.strip_prefix(root).unwrap().with_extension("");
                    let text = std::fs::read_to_string(&path).unwrap();
                    let doc = serde_json::from_str(&text)
                        .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()));
                    out.insert(name.to_str().unwrap().replace('\\', "/"), doc);
                }
            }
        }
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas");
        let mut docs = HashMap::new();
        walk(&root, &root, &mut docs);
        docs
    })
}

fn registry() -> &'static Registry<'static> {
    static REGISTRY: OnceLock<Registry<'static>> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let mut builder = Registry::new().draft(Draft::Draft202012);
        for (name, doc) in documents() {
            builder = builder
                .add(format!("{BASE_URI}{name}.json"), doc.clone())
                .unwrap_or_else(|e| panic!("cannot register schemas/{name}.json: {e}"));
        }
        builder.prepare().expect("the schema set resolves")
    })
}

fn validator(name: &str) -> Arc<Validator> {
    static VALIDATORS: OnceLock<Mutex<HashMap<String, Arc<Validator>>>> = OnceLock::new();
    let mut cache = VALIDATORS.get_or_init(Mutex::default).lock().unwrap();
    cache
        .entry(name.to_string())
        .or_insert_with(|| {
            let doc = documents()
                .get(name)
                .unwrap_or_else(|| panic!("no schema named {name:?}"));
            let validator = jsonschema::options()
                .with_draft(Draft::Draft202012)
                .with_registry(registry())
                .offline()
                .build(doc)
                .unwrap_or_else(|e| panic!("schemas/{name}.json does not compile: {e}"));
            Arc::new(validator)
        })
        .clone()
}

/// Validate `doc` against the named schema (`api/error`, `dlsim/ready`, ...); `Err` lists every
/// violation as `path [keyword]: message`.
pub fn validate(name: &str, doc: &Value) -> Result<(), Vec<String>> {
    let violations: Vec<String> = validator(name)
        .iter_errors(doc)
        .map(|e| {
            let path = e.instance_path().as_str().to_owned();
            format!("{path} [{}]: {e}", e.kind().keyword())
        })
        .collect();
    if violations.is_empty() {
        Ok(())
    } else {
        Err(violations)
    }
}
