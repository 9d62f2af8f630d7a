//! The dependency diet: a crate that uses dlsim with `default-features = false` (to start the
//! fake in its tests) compiles none of the command line's dependencies, and every direct
//! dependency is used by the code.

use std::path::Path;
use std::process::Command;

const CLI_ONLY: &[&str] = &["clap", "clap_complete", "indicatif", "tracing-subscriber"];

/// The package names in `cargo tree -e normal` of this crate with these extra arguments.
fn normal_tree(extra: &[&str]) -> Vec<String> {
    let cargo = option_env!("CARGO").unwrap_or("cargo");
    let out = Command::new(cargo)
        .args(["tree", "--locked", "-e", "normal", "--prefix", "none"])
        .args(["--format", "{p}"])
        .args(extra)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

#[test]
fn without_default_features_no_cli_dependency_is_compiled() {
    let with_cli = normal_tree(&[]);
    for name in CLI_ONLY {
        assert!(
            with_cli.iter().any(|p| p == name),
            "{name} is a dependency of the default build (else this test proves nothing)"
        );
    }
    let lean = normal_tree(&["--no-default-features"]);
    assert!(lean.iter().any(|p| p == "tokio"), "{lean:?}");
    for name in CLI_ONLY {
        assert!(
            !lean.iter().any(|p| p == name),
            "{name} is compiled without the cli feature"
        );
    }
}

/// Every `*.rs` file under `dir`, recursively.
fn sources(dir: &Path, out: &mut String) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push_str(&std::fs::read_to_string(&path).unwrap());
        }
    }
}

#[test]
fn every_direct_dependency_is_used_by_the_library_or_the_command() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let manifest: toml::Table = std::fs::read_to_string(root.join("Cargo.toml"))
        .unwrap()
        .parse()
        .unwrap();
    let mut deps: Vec<String> = manifest["dependencies"]
        .as_table()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    for target in manifest["target"].as_table().unwrap().values() {
        deps.extend(target["dependencies"].as_table().unwrap().keys().cloned());
    }
    let mut code = String::new();
    sources(&root.join("src"), &mut code);
    assert!(deps.len() > 10, "{deps:?}");
    for dep in deps {
        // md-5's library is `md5`; every other crate's is its name with `_` for `-`.
        let lib = if dep == "md-5" {
            "md5".to_string()
        } else {
            dep.replace('-', "_")
        };
        let used = [format!("{lib}::"), format!("use {lib}")]
            .iter()
            .any(|p| code.contains(p.as_str()));
        assert!(used, "direct dependency {dep} is not used in src/");
    }
}
