//! The ready file of `dlsim serve --ready-file PATH` (a module of the command line): one JSON
//! object that tells a test harness everything it needs to drive the server it started.
//! Its fields are documented by the JSON Schema `schemas/dlsim/ready.json`.
//!
//! It is written atomically: the object goes to a temporary file in the same directory, which
//! is then renamed over `PATH`, so a poller sees either no file or the whole object.

use std::io::Write;
use std::path::Path;

use serde_json::{json, Value};

use crate::server::RunningServer;

/// The ready document of a started server, logging in as `user` / `password`.
pub fn document(running: &RunningServer, user: &str, password: &str, control_token: bool) -> Value {
    let base = running.base_url();
    let engine = running.engine();
    let catalog = engine.catalog();
    let libraries: Vec<Value> = engine
        .library_ids()
        .iter()
        .filter_map(|id| catalog.library(id))
        .map(|lib| {
            let items: Vec<Value> = catalog
                .item_ids(&lib.id)
                .unwrap_or_default()
                .iter()
                .filter_map(|id| catalog.item(id))
                .map(|item| {
                    let files: Vec<Value> = item
                        .files
                        .iter()
                        .map(|f| json!({"name": f.name, "size": f.size}))
                        .collect();
                    json!({
                        "id": item.id,
                        "name": item.name,
                        "type": item.item_type,
                        "size": item.files.iter().map(|f| f.size).sum::<u64>(),
                        "files": files,
                    })
                })
                .collect();
            json!({"id": lib.id, "name": lib.name, "items": items})
        })
        .collect();
    json!({
        "version": env!("CARGO_PKG_VERSION"),
        "pid": std::process::id(),
        "base_url": base,
        "api_url": format!("{base}/api"),
        "rest_url": format!("{base}/rest"),
        "control_url": format!("{base}/dlsim/"),
        "control_token_required": control_token,
        "virtual_clock": engine.clock().is_virtual(),
        "username": user,
        "password": password,
        "libraries": engine.library_ids(),
        "catalog": libraries,
        "tls": running.certificate().map(|c| json!({
            "sha1_thumbprint": c.sha1,
            "sha256_thumbprint": c.sha256,
            "certificate_pem": c.pem,
        })),
    })
}

/// Write `doc` to `path` atomically (a temporary file beside it, then a rename).
pub fn write(path: &Path, doc: &Value) -> Result<(), String> {
    let fail =
        |e: &dyn std::fmt::Display| format!("cannot write the ready file {}: {e}", path.display());
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".dlsim-ready-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| fail(&e))?;
    writeln!(tmp, "{doc}")
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| fail(&e))?;
    tmp.persist(path).map_err(|e| fail(&e.error))?;
    Ok(())
}
