//! `dlsim serve` as a child process: start it, wait (bounded) for its ready file, stop it.

use std::path::Path;
use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The `dlsim` binary under test.
pub fn dlsim() -> Command {
    dlsim::install_crypto();
    Command::new(env!("CARGO_BIN_EXE_dlsim"))
}

/// Kills the child when dropped, so a failing test never leaves a server behind.
pub struct ChildGuard(pub Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Wait (bounded) for the ready file to hold one JSON object.
pub fn wait_ready(child: &mut Child, path: &Path) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(text) = std::fs::read_to_string(path) {
            if let Ok(v) = serde_json::from_str::<Value>(&text) {
                return v;
            }
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("dlsim serve exited early with {status}");
        }
        assert!(
            Instant::now() < deadline,
            "dlsim serve did not become ready"
        );
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// Everything the (exited) child wrote to its piped stderr.
pub fn stderr_of(child: &mut Child) -> String {
    use std::io::Read;
    let mut text = String::new();
    child
        .stderr
        .take()
        .expect("stderr was piped")
        .read_to_string(&mut text)
        .unwrap();
    text
}

/// Send SIGTERM and wait (bounded) for the exit.
pub fn terminate(child: &mut Child) -> ExitStatus {
    let ok = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "dlsim did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(25));
    }
}
