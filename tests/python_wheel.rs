//! The Python wheel (`python/`, built with maturin, `bindings = "bin"`) as a Python user gets
//! it: built from this tree, installed into a fresh virtual environment with pytest and the
//! official SDK (9.1.1.0, pinned), then its own tests (`python/tests`), the SDK examples
//! (`python/examples`, under `--dlsim-verify`) and the README's "Python users" example run
//! against the installed package and binary.
//!
//! maturin (pinned) is installed from PyPI into `target/maturin-venv` on first use; the wheel is
//! built with the dev profile, so it reuses most of what `cargo test` compiled. These tests
//! need `python3` with `venv` and PyPI, and fail loudly without them: they never skip.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

const MATURIN: &str = "maturin==1.16.0";
const PYTEST: &str = "pytest==9.2.0";
const SDK: &[&str] = &[
    "vmware-vcenter==9.1.1.0",
    "vmware-vapi-runtime==9.1.1.0",
    "vmware-vapi-common-client==9.1.1.0",
];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Run `cmd` to the end (a hang guard of `limit`, not a timing assertion); its output, or a
/// panic naming `what` with the output.
fn run(cmd: &mut Command, what: &str, limit: Duration) -> String {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e} (is python3 with venv installed?)"));
    // Read both pipes on threads, so a chatty child never blocks on a full pipe.
    let (mut out, mut err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let out = std::thread::spawn(move || {
        let mut s = Vec::new();
        std::io::Read::read_to_end(&mut out, &mut s).ok();
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = Vec::new();
        std::io::Read::read_to_end(&mut err, &mut s).ok();
        s
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the child") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.join().unwrap()),
        String::from_utf8_lossy(&err.join().unwrap())
    );
    assert!(status.success(), "{what} failed ({status}):\n{text}");
    text
}

fn pip_install(python: &Path, packages: &[&str], what: &str) {
    run(
        Command::new(python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .args(packages),
        what,
        Duration::from_secs(600),
    );
}

fn new_venv(dir: &Path) -> PathBuf {
    let _ = std::fs::remove_dir_all(dir);
    run(
        Command::new("python3").args(["-m", "venv"]).arg(dir),
        "python3 -m venv",
        Duration::from_secs(120),
    );
    dir.join("bin/python")
}

/// maturin, pinned, in its own venv under target/ (installed once).
fn maturin() -> PathBuf {
    let venv = root().join("target/maturin-venv");
    let marker = venv.join(".dlsim-maturin");
    let bin = venv.join("bin/maturin");
    if std::fs::read_to_string(&marker).ok().as_deref() == Some(MATURIN) && bin.exists() {
        return bin;
    }
    let python = new_venv(&venv);
    pip_install(&python, &[MATURIN], "pip install of maturin");
    std::fs::write(&marker, MATURIN).expect("write the maturin marker");
    bin
}

/// Build the wheel and install it into a fresh venv with pytest and the SDK, once per run;
/// the venv's directory.
fn installed() -> PathBuf {
    static VENV: OnceLock<PathBuf> = OnceLock::new();
    static ONE: Mutex<()> = Mutex::new(());
    let _one = ONE.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(v) = VENV.get() {
        return v.clone();
    }
    let wheels = root().join("target/python-wheel");
    let _ = std::fs::remove_dir_all(&wheels);
    let started = Instant::now();
    let mut build = Command::new(maturin());
    build
        .args(["build", "--profile", "dev", "--locked", "--out"])
        .arg(&wheels)
        .current_dir(root().join("python"));
    // The variables cargo sets for this test binary would reach the build scripts maturin's
    // cargo runs (ring's tracks CARGO_MANIFEST_DIR) and make them, and everything above them,
    // rebuild here and again in the next `cargo test`.
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if name == "CARGO_MANIFEST_DIR"
            || name == "CARGO_MANIFEST_PATH"
            || name == "CARGO_CRATE_NAME"
            || name == "CARGO_PRIMARY_PACKAGE"
            || name == "CARGO_TARGET_TMPDIR"
            || name == "CARGO_RUSTC_CURRENT_DIR"
            || name == "OUT_DIR"
            || name.starts_with("CARGO_PKG_")
            || name.starts_with("CARGO_BIN_")
        {
            build.env_remove(name.as_ref());
        }
    }
    run(
        &mut build,
        "maturin build of the wheel",
        Duration::from_secs(1500),
    );
    eprintln!("wheel built in {:.1} s", started.elapsed().as_secs_f64());
    let wheel: Vec<PathBuf> = std::fs::read_dir(&wheels)
        .expect("the wheel directory")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "whl"))
        .collect();
    assert_eq!(
        wheel.len(),
        1,
        "expected one wheel in {wheels:?}: {wheel:?}"
    );

    let venv = root().join("target/python-wheel-venv");
    let python = new_venv(&venv);
    let mut packages = vec![PYTEST, wheel[0].to_str().unwrap()];
    packages.extend_from_slice(SDK);
    pip_install(
        &python,
        &packages,
        "pip install of the wheel with pytest and the SDK",
    );
    eprintln!(
        "wheel built and installed in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    VENV.get_or_init(|| venv).clone()
}

/// Run the venv's pytest on `args` from `cwd` (never the source tree's python/, so the
/// installed package is what is imported); its output.
fn pytest(venv: &Path, cwd: &Path, args: &[&Path], extra: &[&str], what: &str) -> String {
    let out = run(
        Command::new(venv.join("bin/pytest"))
            .args(["-p", "no:cacheprovider", "-rA"])
            .args(extra)
            .args(args)
            .current_dir(cwd)
            .env_remove("DLSIM_BINARY")
            .env_remove("PYTEST_ADDOPTS"),
        what,
        Duration::from_secs(900),
    );
    let summary = out
        .lines()
        .rev()
        .find(|l| l.starts_with('=') && l.contains(" in "))
        .unwrap_or_default()
        .to_string();
    assert!(
        summary.contains(" passed") && !summary.contains("skipped") && !summary.contains("xfail"),
        "{what}: every test must run and pass, got {summary:?}:\n{out}"
    );
    out
}

#[test]
fn the_wheel_puts_dlsim_on_the_path_and_finds_its_own_binary() {
    let venv = installed();
    let version = run(
        Command::new(venv.join("bin/dlsim")).arg("--version"),
        "the installed dlsim --version",
        Duration::from_secs(30),
    );
    assert!(version.contains(env!("CARGO_PKG_VERSION")), "{version}");
    let found = run(
        Command::new(venv.join("bin/python"))
            .args(["-c", "import dlsim; print(dlsim.binary())"])
            .current_dir(&venv)
            .env_remove("DLSIM_BINARY"),
        "dlsim.binary()",
        Duration::from_secs(30),
    );
    assert_eq!(
        Path::new(found.trim()),
        venv.join("bin/dlsim"),
        "the package runs the binary its wheel installed"
    );
    // The package is typed.
    let typed = run(
        Command::new(venv.join("bin/python"))
            .args([
                "-c",
                "import dlsim, pathlib; print((pathlib.Path(dlsim.__file__).parent / 'py.typed').exists())",
            ])
            .current_dir(&venv),
        "py.typed",
        Duration::from_secs(30),
    );
    assert_eq!(typed.trim(), "True");
}

#[test]
fn the_plugins_own_tests_pass_against_the_installed_wheel() {
    let venv = installed();
    let out = pytest(
        &venv,
        &venv,
        &[&root().join("python/tests")],
        &[],
        "pytest python/tests",
    );
    assert!(
        out.contains("test_a_leaky_client_fails_under_dlsim_verify_and_passes_without"),
        "{out}"
    );
}

#[test]
fn the_sdk_examples_pass_under_dlsim_verify() {
    let venv = installed();
    let out = pytest(
        &venv,
        &venv,
        &[&root().join("python/examples")],
        &["--dlsim-verify"],
        "pytest --dlsim-verify python/examples",
    );
    for name in [
        "test_whole_download[json]",
        "test_whole_download[rest]",
        "test_prepare_error_fails_the_session[rest]",
        "test_a_cut_download_is_resumed[json]",
        "test_a_checksum_mismatch_fails_the_session[json]",
    ] {
        let suffix = format!("test_sdk_download.py::{name}");
        assert!(
            out.lines()
                .any(|l| l.starts_with("PASSED ") && l.trim_end().ends_with(&suffix)),
            "{name} did not pass:\n{out}"
        );
    }
}

/// The README's "Python users" section: its pytest file, pasted as a new user would, passes.
#[test]
fn a_new_users_pytest_file_from_the_readme_passes() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    let section = readme
        .split("\n## Python users")
        .nth(1)
        .expect("the README has a \"## Python users\" section");
    let section = section.split("\n## ").next().unwrap();
    let code = section
        .split("```python\n")
        .nth(1)
        .and_then(|rest| rest.split("\n```").next())
        .expect("a ```python block in \"Python users\"");
    assert!(
        section.contains("pip install") && section.contains("pytest"),
        "the section shows the two commands"
    );
    let venv = installed();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("test_my_client.py");
    std::fs::write(&file, code).unwrap();
    pytest(
        &venv,
        dir.path(),
        &[&file],
        &["--dlsim-verify"],
        "pytest on the README's example",
    );
}
