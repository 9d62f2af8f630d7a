//! `dlsim download` is a careful client: under every shelf scenario (each fault the fake can
//! throw at a client) it gets the outcome right — it downloads byte-identical, verified files
//! when the fault is recoverable and fails clearly when it is not — and it passes dlsim's own
//! client verification of the journal (sessions deleted, kept alive, Retry-After honoured,
//! cut downloads resumed, checksums verified, logged out, ...).
//!
//! Each test starts a fake on the real clock (session expiry and prepare times must move with
//! real time) with one small OVF item named like the demo's, and runs the client with a short
//! poll interval. The scenario tests below speak `/api`; the last ones run the same client in
//! the `/rest` and JSON-RPC forms through every shelf scenario too.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use dlsim::Dlsim;
use dlsim::JournalEntry as Entry;
use dlsim::OpName;
use dlsim::PrepareTiming;
use dlsim::{DownloadError as ClientError, DownloadOptions, DownloadReport as Report, Form};
use dlsim::{FileSpec, ItemSpec, LibrarySpec};

const ITEM: &str = "b1e2c3d4-5f60-4718-8a9b-0c1d2e3f4a5b";
const OVF: &str = "photon-5.ovf";
const MF: &str = "photon-5.mf";
const VMDK: &str = "photon-5-disk1.vmdk";
/// The demo's file names, small: listed (and so downloaded) in this order.
const FILES: &[(&str, u64)] = &[(OVF, 9 * 1024), (MF, 236), (VMDK, 256 * 1024)];

const POLL: Duration = Duration::from_millis(150);
const PREPARE_TIMEOUT: Duration = Duration::from_secs(15);

fn library() -> Vec<LibrarySpec> {
    vec![LibrarySpec {
        id: Some("0d000000-0000-4000-8000-000000000000".into()),
        name: "careful".into(),
        description: None,
        items: vec![ItemSpec {
            id: Some(ITEM.into()),
            name: "photon-5".into(),
            item_type: Some("ovf".into()),
            description: None,
            content_version: "1".into(),
            checksum_algorithm: None,
            files: FILES
                .iter()
                .map(|(name, size)| FileSpec {
                    name: name.to_string(),
                    size: *size,
                })
                .collect(),
            path: None,
        }],
    }]
}

fn options(fake: &Dlsim, dir: &Path, prepare_timeout: Duration) -> DownloadOptions {
    options_in(Form::Api, fake, dir, prepare_timeout)
}

fn options_in(form: Form, fake: &Dlsim, dir: &Path, prepare_timeout: Duration) -> DownloadOptions {
    let mut o = DownloadOptions::new(fake.base_url(), fake.username(), fake.password(), ITEM);
    o.form = form;
    o.output_dir = dir.to_path_buf();
    o.poll_interval = POLL;
    o.prepare_timeout = prepare_timeout;
    o
}

/// The bytes a fault-free server serves, by file name.
async fn reference() -> BTreeMap<String, Vec<u8>> {
    let fake = Dlsim::builder().libraries(library()).start().await;
    let dir = tempfile::tempdir().unwrap();
    let report = dlsim::download(&options(&fake, dir.path(), PREPARE_TIMEOUT), |_| {})
        .await
        .expect("a fault-free download");
    report
        .files
        .iter()
        .map(|f| (f.name.clone(), std::fs::read(&f.path).unwrap()))
        .collect()
}

/// One run of the client against a fake serving `scenario`.
struct Run {
    scenario: &'static str,
    fake: Dlsim,
    dir: tempfile::TempDir,
    result: Result<Report, ClientError>,
    took: Duration,
}

async fn run(scenario: &'static str) -> Run {
    run_with(scenario, PREPARE_TIMEOUT).await
}

async fn run_with(scenario: &'static str, prepare_timeout: Duration) -> Run {
    run_in(Form::Api, scenario, prepare_timeout, None).await
}

async fn run_in(
    form: Form,
    scenario: &'static str,
    prepare_timeout: Duration,
    timing: Option<PrepareTiming>,
) -> Run {
    let mut builder = Dlsim::builder();
    if let Some(t) = timing {
        builder = builder.prepare_timing(t);
    }
    let fake = builder
        .real_clock()
        .scenario(scenario)
        .libraries(library())
        .start()
        .await;
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let result = dlsim::download(
        &options_in(form, &fake, dir.path(), prepare_timeout),
        |_| {},
    )
    .await;
    Run {
        scenario,
        fake,
        dir,
        result,
        took: started.elapsed(),
    }
}

impl Run {
    /// Client verification passed, and no session is left on the server.
    fn assert_verified(&self) {
        let report = self.fake.verify();
        assert!(
            report.passed,
            "{}: client verification failed (client outcome: {:?})\n{}",
            self.scenario,
            self.result.as_ref().map(|r| &r.retries),
            report.to_text()
        );
        assert_eq!(
            self.fake.session_count(),
            0,
            "{}: a session was left",
            self.scenario
        );
    }

    /// The run succeeded with every file verified and byte-identical to a fault-free server's.
    async fn assert_success(&self) -> &Report {
        let report = match &self.result {
            Ok(r) => r,
            Err(e) => panic!("{}: the client failed: {e}\n{}", self.scenario, self.text()),
        };
        assert!(report.all_verified(), "{}", report.summary());
        assert!(report.session_deleted, "{}", report.summary());
        let expected = reference().await;
        let names: Vec<&str> = report.files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, [OVF, MF, VMDK], "{}", self.scenario);
        for f in &report.files {
            let bytes = std::fs::read(&f.path).unwrap();
            assert!(
                bytes == expected[&f.name],
                "{}: {} differs from what a fault-free server serves ({} bytes, {} expected)",
                self.scenario,
                f.name,
                bytes.len(),
                expected[&f.name].len()
            );
        }
        self.assert_verified();
        report
    }

    /// The run failed; the session was failed (or was already ERROR on the server) and
    /// deleted, and no unverified file is left: a file left on disk is one the client verified
    /// before the failure (byte-identical to a fault-free server's).
    async fn assert_failure(&self) -> &ClientError {
        let e = match &self.result {
            Ok(r) => panic!("{}: the client succeeded:\n{}", self.scenario, r.summary()),
            Err(e) => e,
        };
        let expected = reference().await;
        for entry in std::fs::read_dir(self.dir.path()).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name().to_string_lossy().to_string();
            assert!(
                expected.get(&name) == Some(&std::fs::read(entry.path()).unwrap()),
                "{}: {name:?} left behind after `{e}`",
                self.scenario
            );
        }
        self.assert_verified();
        e
    }

    fn journal(&self) -> Vec<Entry> {
        self.fake.journal()
    }

    /// The journal lines of `op`.
    fn lines(&self, op: OpName) -> Vec<Entry> {
        self.journal()
            .into_iter()
            .filter(|e| e.op == Some(op))
            .collect()
    }

    /// The journal, one JSON line per entry, for assertion messages.
    fn text(&self) -> String {
        self.journal()
            .iter()
            .map(|e| serde_json::to_string(e).unwrap())
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Whether the client failed its session (accepted by the server).
    fn failed_the_session(&self) -> bool {
        self.lines(OpName::Fail).iter().any(|e| e.status == 204)
    }
}

/// Downloads of `file` that resumed (206) from byte `at` or later.
fn resumed(run: &Run, file: &str) -> Vec<Entry> {
    run.lines(OpName::Download)
        .into_iter()
        .filter(|e| e.file.as_deref() == Some(file) && e.status == 206)
        .filter(|e| e.range.is_some_and(|(a, _)| a > 0))
        .collect()
}

// ---- recoverable: the client must succeed ----

#[tokio::test]
async fn slow_prepare_is_waited_out_at_a_modest_poll_rate() {
    let run = run("slow-prepare").await;
    run.assert_success().await;
    assert!(
        run.took >= Duration::from_secs(3),
        "every file takes 3 s to prepare, the run took {:?}",
        run.took
    );
    // Polls of each file are spaced by the poll interval (the scenario allows 100 ms).
    let gets = run.lines(OpName::FileGet);
    assert!(gets.len() >= 3 * 10, "{}", run.text());
    for (file, _) in FILES {
        let times: Vec<i64> = gets
            .iter()
            .filter(|e| e.file.as_deref() == Some(*file))
            .map(|e| e.time_ms)
            .collect();
        assert!(
            times.windows(2).all(|w| w[1] - w[0] >= 100),
            "{file}: {times:?}"
        );
    }
}

#[tokio::test]
async fn a_short_idle_timeout_is_learned_and_the_session_kept_alive() {
    let run = run("expiry-during-download").await;
    run.assert_success().await;
    let journal = run.journal();
    assert!(
        !journal.iter().any(|e| e.path == "session.expired"),
        "{}",
        run.text()
    );
    // The descriptor took about 4 s; the 2 s session was kept alive meanwhile.
    let ovf = journal
        .iter()
        .find(|e| e.op == Some(OpName::Download) && e.file.as_deref() == Some(OVF))
        .unwrap();
    // Its checksum is read once it has ended.
    let download_ended = journal
        .iter()
        .filter(|e| e.op == Some(OpName::FileGet) && e.file.as_deref() == Some(OVF))
        .map(|e| e.time_ms)
        .find(|&t| t > ovf.time_ms)
        .unwrap();
    let during = journal
        .iter()
        .filter(|e| e.op == Some(OpName::KeepAlive) && e.status == 204)
        .filter(|e| e.time_ms > ovf.time_ms && e.time_ms < download_ended)
        .count();
    assert!(
        run.took >= Duration::from_secs(3),
        "the descriptor downloads slowly: {:?}",
        run.took
    );
    assert!(
        during >= 3,
        "{during} keep-alive(s) during the download\n{}",
        run.text()
    );
}

#[tokio::test]
async fn a_truncated_transfer_is_resumed_with_range() {
    let run = run("truncated-transfer").await;
    let report = run.assert_success().await;
    let resumes = resumed(&run, OVF);
    assert_eq!(resumes.len(), 1, "{}", run.text());
    assert_eq!(resumes[0].range, Some((4096, 9 * 1024)), "{}", run.text());
    assert!(
        report
            .retries
            .iter()
            .any(|r| r.contains("resuming at byte 4096")),
        "{:?}",
        report.retries
    );
}

#[tokio::test]
async fn connection_resets_are_retried_and_resumed() {
    let run = run("connection-reset").await;
    let report = run.assert_success().await;
    let resumes = resumed(&run, MF);
    assert_eq!(resumes.len(), 1, "{}", run.text());
    assert_eq!(resumes[0].range, Some((100, 236)), "{}", run.text());
    // The reset poll was asked again.
    assert!(
        report
            .retries
            .iter()
            .any(|r| r.starts_with("getting the status of")),
        "{:?}",
        report.retries
    );
}

#[tokio::test]
async fn throttled_downloads_are_waited_out() {
    let run = run("throttled").await;
    run.assert_success().await;
    assert!(
        run.took >= Duration::from_secs(2),
        "9 KiB at 4 KB/s: {:?}",
        run.took
    );
}

#[tokio::test]
async fn service_unavailable_is_retried_after_retry_after() {
    let run = run("service-unavailable").await;
    let report = run.assert_success().await;
    let creates: Vec<u16> = run.lines(OpName::Create).iter().map(|e| e.status).collect();
    assert_eq!(creates, [503, 503, 201], "{}", run.text());
    assert_eq!(report.retries.len(), 3, "{:?}", report.retries);
    assert!(run.took >= Duration::from_secs(3), "{:?}", run.took);
}

#[tokio::test]
async fn an_expired_login_is_renewed_and_the_session_carried_on() {
    let run = run("login-expired").await;
    let report = run.assert_success().await;
    let logins = run
        .lines(OpName::Login)
        .iter()
        .filter(|e| e.status == 201 || e.status == 200)
        .count();
    assert_eq!(logins, 2, "{}", run.text());
    assert_eq!(
        run.lines(OpName::Create).len(),
        1,
        "the same session carried on"
    );
    assert!(
        run.lines(OpName::FileGet).iter().any(|e| e.status == 401),
        "{}",
        run.text()
    );
    assert!(
        report
            .retries
            .iter()
            .any(|r| r.contains("logging in again")),
        "{:?}",
        report.retries
    );
}

#[tokio::test]
async fn a_flaky_network_is_retried_and_resumed_until_done() {
    // Three downloads in a row on one server, for the noise to hit more often.
    let run = run("flaky-network").await;
    let mut retries = run.assert_success().await.retries.clone();
    let expected = reference().await;
    for _ in 0..2 {
        let dir = tempfile::tempdir().unwrap();
        let report = dlsim::download(&options(&run.fake, dir.path(), PREPARE_TIMEOUT), |_| {})
            .await
            .unwrap_or_else(|e| panic!("{e}\n{}", run.text()));
        for f in &report.files {
            assert!(
                std::fs::read(&f.path).unwrap() == expected[&f.name],
                "{}",
                f.name
            );
        }
        retries.extend(report.retries);
    }
    run.assert_verified();
    let journal = run.journal();
    // Every 503 was retried, and every cut download resumed.
    let busy = journal.iter().filter(|e| e.status == 503).count();
    let cut = journal
        .iter()
        .filter(|e| e.op == Some(OpName::Download) && matches!(e.status, 200 | 206))
        .filter(|e| e.range.is_some_and(|(a, b)| e.bytes < b - a))
        .count();
    assert!(busy + cut > 0, "the noise hit nothing:\n{}", run.text());
    assert_eq!(retries.len(), busy + cut, "{retries:?}\n{}", run.text());
}

#[tokio::test]
async fn a_lost_session_is_started_over_once() {
    let run = run("lost-session").await;
    let report = run.assert_success().await;
    let creates = run.lines(OpName::Create);
    assert_eq!(creates.len(), 2, "{}", run.text());
    let lost = creates[0].session.clone().unwrap();
    // The lost session was deleted once (found gone), and never failed.
    let deletes: Vec<u16> = run
        .lines(OpName::Delete)
        .iter()
        .filter(|e| e.session.as_deref() == Some(lost.as_str()))
        .map(|e| e.status)
        .collect();
    assert_eq!(deletes, [404], "{}", run.text());
    assert!(run.lines(OpName::Fail).is_empty(), "{}", run.text());
    assert_ne!(report.session_id, lost);
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.contains(&lost) && w.contains("starting over")),
        "{:?}",
        report.warnings
    );
}

// ---- not recoverable: the client must fail clearly ----

#[tokio::test]
async fn a_file_in_error_fails_the_session_at_once() {
    let run = run("prepare-error").await;
    match run.assert_failure().await {
        ClientError::PrepareFailed { file, message } => {
            assert_eq!(file, VMDK);
            assert!(message.contains("IO error during transfer"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert!(run.failed_the_session(), "{}", run.text());
    assert!(run.lines(OpName::Download).is_empty(), "{}", run.text());
}

#[tokio::test]
async fn a_session_in_error_on_the_server_is_noticed_and_deleted() {
    let run = run("session-error").await;
    match run.assert_failure().await {
        ClientError::SessionFailed { state, message, .. } => {
            assert_eq!(state, "ERROR");
            assert!(message.contains(VMDK), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert!(
        run.lines(OpName::Get)
            .iter()
            .any(|e| e.state.as_deref() == Some("ERROR")),
        "{}",
        run.text()
    );
}

#[tokio::test]
async fn a_stuck_prepare_times_out_and_fails_the_session() {
    let run = run_with("stuck-prepare", Duration::from_secs(2)).await;
    match run.assert_failure().await {
        ClientError::PrepareTimeout { file, status, .. } => {
            assert_eq!(file, VMDK);
            assert_eq!(status, "PREPARING");
        }
        other => panic!("{other:?}"),
    }
    assert!(run.failed_the_session(), "{}", run.text());
    assert!(run.took >= Duration::from_secs(2), "{:?}", run.took);
}

#[tokio::test]
async fn a_wrong_checksum_fails_the_session() {
    let run = run("checksum-mismatch").await;
    match run.assert_failure().await {
        ClientError::ChecksumMismatch { file, .. } => assert_eq!(file, OVF),
        other => panic!("{other:?}"),
    }
    assert!(run.failed_the_session(), "{}", run.text());
}

#[tokio::test]
async fn corrupt_bytes_fail_the_checksum_and_the_session() {
    let run = run("corrupt-bytes").await;
    match run.assert_failure().await {
        ClientError::ChecksumMismatch { file, .. } => assert_eq!(file, OVF),
        other => panic!("{other:?}"),
    }
    assert!(run.failed_the_session(), "{}", run.text());
}

#[test]
fn every_shelf_scenario_is_covered_here() {
    let source = include_str!("careful_client.rs");
    for name in dlsim::scenario_names() {
        assert!(
            source.contains(&format!("run(\"{name}\")"))
                || source.contains(&format!("run_with(\"{name}\"")),
            "no test runs the shelf scenario {name}"
        );
    }
}

// ---- what retrying cannot cure is reported at once ----

#[tokio::test]
async fn a_retry_after_beyond_the_limit_and_other_errors_are_not_retried() {
    use dlsim::{Fault, What};
    let http_error = |status, retry_after_secs| What::HttpError {
        status,
        retry_after_secs,
    };
    let fake = Dlsim::builder().libraries(library()).start().await;
    let dir = tempfile::tempdir().unwrap();
    let o = options(&fake, dir.path(), PREPARE_TIMEOUT);
    let count = |op| fake.journal().iter().filter(|e| e.op == Some(op)).count();

    // Asked to come back in a minute (over the 30 s limit): the 503 is the answer.
    let id = fake.add_fault(Fault::new(http_error(503, Some(60))).on(OpName::Create));
    let started = Instant::now();
    let e = dlsim::download(&o, |_| {}).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(1), "{e}");
    assert!(matches!(e, ClientError::Api { status: 503, .. }), "{e:?}");
    assert_eq!(count(OpName::Create), 1);
    // Giving up, it logs out at once (honours-retry-after would say it did not wait).
    let report = fake.verify();
    assert!(
        report.outcome("logged-out").unwrap().passed,
        "{}",
        report.to_text()
    );
    assert!(fake.remove_fault(id));
    fake.reset();

    // A 400 is not retried; the session is failed and deleted.
    fake.add_fault(Fault::new(http_error(400, None)).on(OpName::FilePrepare));
    let e = dlsim::download(&o, |_| {}).await.unwrap_err();
    assert!(matches!(e, ClientError::Api { status: 400, .. }), "{e:?}");
    assert_eq!(count(OpName::FilePrepare), 1);
    assert_eq!(count(OpName::Fail), 1);
    assert_eq!(fake.session_count(), 0);
    let report = fake.verify();
    assert!(report.passed, "{}", report.to_text());
}

// ---- the same client in the other two forms ----

/// What each shelf scenario must end in, whatever the form: success, or this error.
fn expected_outcome(scenario: &str) -> Option<&'static str> {
    match scenario {
        "prepare-error" => Some("PrepareFailed"),
        // The session goes ERROR at the second file poll: while preparing, or (when every file
        // was PREPARED at once) at the status read after the second download.
        "session-error" => Some("SessionFailed|FileError"),
        "stuck-prepare" => Some("PrepareTimeout"),
        "checksum-mismatch" | "corrupt-bytes" => Some("ChecksumMismatch"),
        _ => None,
    }
}

fn variant(e: &ClientError) -> &'static str {
    match e {
        ClientError::PrepareFailed { .. } => "PrepareFailed",
        ClientError::SessionFailed { .. } => "SessionFailed",
        ClientError::FileError { .. } => "FileError",
        ClientError::PrepareTimeout { .. } => "PrepareTimeout",
        ClientError::ChecksumMismatch { .. } => "ChecksumMismatch",
        _ => "other",
    }
}

/// Every shelf scenario, all at once, with the client speaking `form`: each ends as it does
/// on `/api`, passes client verification, and every API call the server saw was in `form`.
///
/// Files take 300 ms to prepare, so the scenarios that strike at the second file poll always
/// strike while the files prepare (with files PREPARED at once, that poll would be the status
/// read after a download, and the outcome would depend on timing).
async fn every_scenario_in(form: Form) -> Vec<Run> {
    let timing = PrepareTiming {
        requested_ms: 0,
        preparing_ms: 300,
        wait_for_checksum: true,
    };
    let runs = dlsim::scenario_names().into_iter().map(|name| {
        let timeout = match name {
            "stuck-prepare" => Duration::from_secs(2),
            _ => PREPARE_TIMEOUT,
        };
        run_in(form, name, timeout, Some(timing))
    });
    let runs = join_all(runs).await;
    let wire = match form {
        Form::Api => "api",
        Form::Rest => "rest",
        Form::JsonRpc => "jsonrpc",
    };
    for run in &runs {
        match expected_outcome(run.scenario) {
            None => {
                run.assert_success().await;
            }
            Some(errors) => {
                let e = run.assert_failure().await;
                assert!(
                    errors.split('|').any(|v| v == variant(e)),
                    "{} in {wire}: {e:?}",
                    run.scenario
                );
            }
        }
        let forms: Vec<String> = run
            .journal()
            .iter()
            .filter(|e| e.op.is_some_and(|op| op != OpName::Download))
            .map(|e| {
                serde_json::to_value(e.form)
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        assert!(!forms.is_empty(), "{}: no call", run.scenario);
        assert!(
            forms.iter().all(|f| f == wire),
            "{} in {wire}: calls in {forms:?}",
            run.scenario
        );
    }
    runs
}

/// The runs of `futures` side by side on this task (the fakes serve on it too).
async fn join_all<F: std::future::Future<Output = Run>>(
    futures: impl Iterator<Item = F>,
) -> Vec<Run> {
    let mut set = Vec::new();
    for f in futures {
        set.push(Box::pin(f));
    }
    let mut out: Vec<Option<Run>> = set.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in set.iter_mut().enumerate() {
            if out[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(r) => out[i] = Some(r),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.into_iter().map(Option::unwrap).collect()
}

fn find<'a>(runs: &'a [Run], scenario: &str) -> &'a Run {
    runs.iter().find(|r| r.scenario == scenario).unwrap()
}

#[tokio::test]
async fn every_shelf_scenario_in_the_rest_form() {
    let runs = every_scenario_in(Form::Rest).await;
    // /rest answers with HTTP statuses, as /api does: the 503s were waited out.
    let run = find(&runs, "service-unavailable");
    let creates: Vec<u16> = run.lines(OpName::Create).iter().map(|e| e.status).collect();
    assert_eq!(creates, [503, 503, 200], "{}", run.text());
    assert!(run.took >= Duration::from_secs(3), "{:?}", run.took);
    let run = find(&runs, "lost-session");
    assert_eq!(run.lines(OpName::Create).len(), 2, "{}", run.text());
}

#[tokio::test]
async fn every_shelf_scenario_in_the_jsonrpc_form() {
    let runs = every_scenario_in(Form::JsonRpc).await;
    // vAPI errors come with HTTP 200: SERVICE_UNAVAILABLE was read from the body and its
    // Retry-After honoured all the same.
    let run = find(&runs, "service-unavailable");
    let creates: Vec<u16> = run.lines(OpName::Create).iter().map(|e| e.status).collect();
    assert_eq!(creates, [200, 200, 200], "{}", run.text());
    let report = run.result.as_ref().unwrap();
    assert_eq!(
        report
            .retries
            .iter()
            .filter(|r| r.contains("SERVICE_UNAVAILABLE, retrying after 1.00 s"))
            .count(),
        3,
        "{:?}",
        report.retries
    );
    assert!(run.took >= Duration::from_secs(3), "{:?}", run.took);
    // An UNAUTHENTICATED answer was a login to renew, and NOT_FOUND a session lost.
    let run = find(&runs, "login-expired");
    let report = run.result.as_ref().unwrap();
    assert!(
        report
            .retries
            .iter()
            .any(|r| r.contains("UNAUTHENTICATED, logging in again")),
        "{:?}",
        report.retries
    );
    assert_eq!(run.lines(OpName::Create).len(), 1, "{}", run.text());
    let run = find(&runs, "lost-session");
    assert_eq!(run.lines(OpName::Create).len(), 2, "{}", run.text());
}
