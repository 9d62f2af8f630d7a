//! Every item the crate exports at its root has a doc example that runs as a doctest.
//!
//! rustdoc's own lint for this (`missing_doc_code_examples`) is nightly-only, so this test
//! reads the sources: it lists the root exports of `src/lib.rs`, finds where each is defined,
//! and checks that the doc comment just above it holds a code block that is neither `ignore`
//! nor `no_run`. (`#![warn(missing_docs)]` in `src/lib.rs` covers their fields and methods.)

use std::path::{Path, PathBuf};

/// `(exported name, defining name, module path)` for each root export of `lib`.
fn exports(lib: &str) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    let mut rest = lib;
    while let Some(at) = rest.find("\npub use ") {
        let after = &rest[at + "\npub use ".len()..];
        let end = after.find(';').expect("a `pub use` ends with `;`");
        let stmt: String = after[..end]
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        rest = &after[end..];
        let (module, names) = match stmt.split_once("::{") {
            Some((m, names)) => (m.to_string(), names.trim_end_matches('}').to_string()),
            None => {
                let (m, name) = stmt.rsplit_once("::").expect("a path");
                (m.to_string(), name.to_string())
            }
        };
        for n in names.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let (defined, exported) = n.split_once(" as ").unwrap_or((n, n));
            out.push((exported.to_string(), defined.to_string(), module.clone()));
        }
    }
    for line in lib.lines() {
        if let Some(f) = line.strip_prefix("pub fn ") {
            let name = f.split('(').next().unwrap_or_default();
            out.push((name.to_string(), name.to_string(), String::new()));
        }
    }
    out
}

/// The `.rs` files of a module path (`faults::rule` looks in all of `src/faults/`).
fn module_files(src: &Path, module: &str) -> Vec<PathBuf> {
    let top = module.split("::").next().unwrap_or_default();
    if top.is_empty() {
        return vec![src.join("lib.rs")];
    }
    let mut files = rs_files(&src.join(top));
    let file = src.join(format!("{top}.rs"));
    if file.exists() {
        files.insert(0, file);
    }
    files
}

/// Every `.rs` file under `dir`, sorted.
fn rs_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                files.push(p);
            }
        }
    }
    files.sort();
    files
}

/// The doc comment above the definition of `name` in `text`, if `text` defines it (a
/// `pub` item, or the name as a `vapi_enum!` argument).
fn doc_of(text: &str, name: &str) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let defines = |l: &str| {
        let l = l.trim_start();
        let item = ["fn", "struct", "enum", "const", "trait", "type"]
            .iter()
            .any(|k| {
                let rest = l
                    .strip_prefix("pub ")
                    .map(|r| r.strip_prefix("async ").unwrap_or(r));
                rest.and_then(|r| r.strip_prefix(k))
                    .and_then(|r| r.strip_prefix(' '))
                    .and_then(|r| r.strip_prefix(name))
                    .is_some_and(|r| !r.starts_with(|c: char| c.is_alphanumeric() || c == '_'))
            });
        item || l.starts_with(&format!("{name}, \""))
    };
    let at = lines.iter().position(|l| defines(l))?;
    let mut doc = Vec::new();
    for l in lines[..at].iter().rev() {
        let t = l.trim_start();
        if let Some(d) = t.strip_prefix("///") {
            doc.push(d);
        } else if t.starts_with("#[") || t.starts_with("//") {
            continue;
        } else {
            break;
        }
    }
    doc.reverse();
    Some(doc.join("\n"))
}

/// Whether a doc comment has a code block rustdoc runs: an opening fence with no tag or a
/// `rust` tag, and none that is `ignore`, `no_run` or `compile_fail` (a `text` block is no
/// example).
fn has_running_example(doc: &str) -> bool {
    // Fences alternate: opening, closing. An opening fence's tag is its attribute list.
    let openings: Vec<Vec<&str>> = doc
        .lines()
        .filter_map(|l| l.trim().strip_prefix("```"))
        .step_by(2)
        .map(|tag| tag.split(',').map(str::trim).collect())
        .collect();
    let not_run = |attrs: &Vec<&str>| {
        attrs
            .iter()
            .any(|a| matches!(*a, "ignore" | "no_run" | "compile_fail"))
    };
    !openings.iter().any(not_run) && openings.iter().any(|a| matches!(a[0], "" | "rust"))
}

/// The root exports without a running doc example, or whose definition was not found.
fn missing(src: &Path) -> Vec<String> {
    let lib = std::fs::read_to_string(src.join("lib.rs")).unwrap();
    let mut missing = Vec::new();
    for (exported, defined, module) in exports(&lib) {
        // A module may re-export an item of another (`conformance` one of `client`): look
        // in the module first, then everywhere.
        let doc = module_files(src, &module)
            .into_iter()
            .chain(rs_files(src))
            .find_map(|f| doc_of(&std::fs::read_to_string(f).unwrap(), &defined));
        match doc {
            None => missing.push(format!(
                "{exported}: no definition of {defined} in {module}"
            )),
            Some(d) if !has_running_example(&d) => {
                missing.push(format!("{exported}: no doc example"))
            }
            Some(_) => {}
        }
    }
    missing
}

#[test]
fn every_root_export_has_a_running_doc_example() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let lib = std::fs::read_to_string(src.join("lib.rs")).unwrap();
    let n = exports(&lib).len();
    assert!(n >= 60, "only {n} root exports were read from src/lib.rs");
    let missing = missing(&src);
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}

#[test]
fn the_check_finds_an_export_without_example() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    std::fs::write(
        src.join("lib.rs"),
        "mod shapes;\npub use shapes::{Circle, square as unit_square};\n\n/// Shown.\n///\n/// ```\n/// dlsim_like::go();\n/// ```\npub fn go() {}\n",
    )
    .unwrap();
    std::fs::create_dir(src.join("shapes")).unwrap();
    std::fs::write(
        src.join("shapes").join("mod.rs"),
        "/// A circle.\n///\n/// ```no_run\n/// let c = Circle;\n/// ```\n#[derive(Debug)]\npub struct Circle;\n\n/// A square, with text only.\n///\n/// ```text\n/// [ ]\n/// ```\npub fn square() {}\n",
    )
    .unwrap();
    assert_eq!(
        missing(src),
        ["Circle: no doc example", "unit_square: no doc example"]
    );
    std::fs::write(src.join("shapes").join("mod.rs"), "pub struct Other;\n").unwrap();
    assert_eq!(
        missing(src),
        [
            "Circle: no definition of Circle in shapes",
            "unit_square: no definition of square in shapes"
        ]
    );
}
