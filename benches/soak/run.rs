//! The soak, shared by `cargo bench --bench soak` (the long run) and `tests/soak_smoke.rs`
//! (a few seconds inside `cargo test`).
//!
//! It starts `dlsim serve --virtual-clock` as its own process on loopback and drives it in
//! rounds until the duration is up (bounded in rounds too). Each round, every worker opens new
//! connections (a fresh client), logs in, creates sessions, prepares and downloads a file of
//! the ones it keeps and keeps those alive while the virtual clock moves past the idle
//! timeout, so the others expire; then it checks the expired ones are gone and the kept ones
//! alive, deletes the kept ones and logs out. After each round the soak reads the server's
//! journal (every request sent must be there, and one expiry event per expired session), and
//! the server's VmRSS from /proc. It fails on any 5xx or unexpected status, a lost journal
//! line, or memory that grows from round to round past a slack once warmed up.

#![allow(dead_code)]

use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// How long and how hard to soak.
#[derive(Debug, Clone)]
pub struct Options {
    pub duration: Duration,
    /// Concurrent clients, each with its own connections.
    pub workers: usize,
    /// Sessions each worker creates per round (half kept alive, half left to expire).
    pub sessions: usize,
    /// A bound on rounds whatever the duration.
    pub max_rounds: usize,
    /// RSS growth allowed after the warm-up rounds, in KiB.
    pub rss_slack_kib: u64,
    /// Print one line per round.
    pub verbose: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            duration: Duration::from_secs(60),
            workers: 8,
            sessions: 4,
            max_rounds: 100_000,
            rss_slack_kib: 16 * 1024,
            verbose: true,
        }
    }
}

/// The longest soak allowed.
pub const MAX_DURATION: Duration = Duration::from_secs(300);

#[derive(Debug, Clone)]
pub struct Round {
    pub requests: u64,
    pub journaled: u64,
    pub expired: u64,
    pub rss_kib: u64,
}

#[derive(Debug, Clone)]
pub struct Report {
    pub rounds: Vec<Round>,
    pub elapsed: Duration,
}

impl Report {
    pub fn requests(&self) -> u64 {
        self.rounds.iter().map(|r| r.requests).sum()
    }
    /// RSS after the warm-up rounds (a tenth of them, at least three), and the highest after.
    pub fn rss_warm_and_peak(&self) -> (u64, u64) {
        let warm = (self.rounds.len() / 10).max(2).min(self.rounds.len() - 1);
        let base = self.rounds[warm].rss_kib;
        let peak = self.rounds[warm..]
            .iter()
            .map(|r| r.rss_kib)
            .max()
            .unwrap_or(base);
        (base, peak)
    }
}

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The user worker `i` logs in as (each its own, so `list` shows only its sessions).
fn user(i: usize) -> String {
    format!("soak-{i}@vsphere.local")
}

/// Journal lines kept: two rounds' worth at most (16 sessions a worker), so the journal reaches
/// its bound early and its growth is not mistaken for a leak; the soak reads every round's
/// lines before they could be dropped.
fn journal_cap(workers: usize) -> usize {
    (workers * (16 * 6 + 4) * 2).max(1000)
}

fn start(dir: &std::path::Path, workers: usize) -> Result<Server, String> {
    let ready = dir.join("ready.json");
    let config = dir.join("soak.toml");
    let users: String = (0..workers)
        .map(|i| format!("[[users]]\nname = \"{}\"\npassword = \"soak\"\n", user(i)))
        .collect();
    std::fs::write(&config, users).map_err(|e| e.to_string())?;
    let child = Command::new(env!("CARGO_BIN_EXE_dlsim"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--virtual-clock",
            "--config",
        ])
        .arg(&config)
        .args([
            "--no-checksums",
            "--journal-cap",
            &journal_cap(workers).to_string(),
        ])
        .arg("--ready-file")
        .arg(&ready)
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start dlsim serve: {e}"))?;
    let mut server = Server {
        child,
        base: String::new(),
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(v) = std::fs::read_to_string(&ready)
            .ok()
            .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        {
            server.base = v["base_url"].as_str().unwrap_or_default().to_string();
            return Ok(server);
        }
        if Instant::now() > deadline {
            return Err("dlsim serve did not become ready".into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn rss_kib(pid: u32) -> Result<u64, String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(|e| format!("cannot read the server's memory: {e}"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| "no VmRSS in /proc status".to_string())
}

/// One HTTP client of the soak: counts what it sends, refuses 5xx and unexpected statuses.
#[derive(Clone)]
struct Worker {
    user: String,
    http: reqwest::Client,
    base: String,
    token: String,
    sent: Arc<AtomicU64>,
}

const DS: &str = "/api/content/library/item/download-session";
const ITEM: &str = "b1e2c3d4-5f60-4718-8a9b-0c1d2e3f4a5b";
/// Every request of a soak must be answered within this long (a hang guard).
const HANG_GUARD: Duration = Duration::from_secs(30);

impl Worker {
    async fn call(
        &self,
        method: reqwest::Method,
        url: &str,
        body: Option<Value>,
        want: u16,
    ) -> Result<Option<Value>, String> {
        let mut req = self.http.request(method.clone(), url);
        if !self.token.is_empty() {
            req = req.header("vmware-api-session-id", &self.token);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        self.sent.fetch_add(1, Ordering::Relaxed);
        let r = tokio::time::timeout(HANG_GUARD, req.send())
            .await
            .map_err(|_| format!("{method} {url}: no answer within {HANG_GUARD:?}"))?
            .map_err(|e| format!("{method} {url}: {e}"))?;
        let status = r.status().as_u16();
        let bytes = r
            .bytes()
            .await
            .map_err(|e| format!("{method} {url}: {e}"))?;
        if status != want {
            return Err(format!(
                "{method} {url}: {status} (expected {want}): {}",
                String::from_utf8_lossy(&bytes)
            ));
        }
        Ok(serde_json::from_slice(&bytes).ok())
    }

    fn api(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Log in, create sessions; prepare and download a file of the kept ones.
    async fn open(mut self, sessions: usize) -> Result<(Worker, Vec<String>, Vec<String>), String> {
        use reqwest::Method;
        let r = self
            .http
            .post(self.api("/api/session"))
            .basic_auth(&self.user, Some("soak"))
            .send()
            .await
            .map_err(|e| format!("login: {e}"))?;
        self.sent.fetch_add(1, Ordering::Relaxed);
        if r.status() != 201 {
            return Err(format!("login answered {}", r.status()));
        }
        self.token = r
            .json::<String>()
            .await
            .map_err(|e| format!("login: {e}"))?;
        let (mut kept, mut left) = (vec![], vec![]);
        for i in 0..sessions {
            let id = self
                .call(
                    Method::POST,
                    &self.api(DS),
                    Some(json!({"library_item_id": ITEM})),
                    201,
                )
                .await?
                .and_then(|v| v.as_str().map(str::to_string))
                .ok_or("create gave no id")?;
            if i % 2 == 0 {
                let f = self
                    .call(
                        Method::POST,
                        &self.api(&format!("{DS}/{id}/file?action=prepare")),
                        Some(json!({"file_name": "photon-5.mf"})),
                        200,
                    )
                    .await?
                    .ok_or("prepare gave no body")?;
                let uri = f["download_endpoint"]["uri"]
                    .as_str()
                    .ok_or("no download URI")?
                    .to_string();
                self.call(Method::GET, &uri, None, 200).await?;
                self.call(
                    Method::POST,
                    &self.api(&format!("{DS}/{id}?action=keep-alive")),
                    Some(json!({"progress": 50})),
                    204,
                )
                .await?;
                kept.push(id);
            } else {
                left.push(id);
            }
        }
        Ok((self, kept, left))
    }

    async fn keep_alive(self, kept: Vec<String>) -> Result<(), String> {
        for id in &kept {
            self.call(
                reqwest::Method::POST,
                &self.api(&format!("{DS}/{id}?action=keep-alive")),
                Some(json!({"progress": 100})),
                204,
            )
            .await?;
        }
        Ok(())
    }

    /// The left sessions are gone, the kept ones alive: delete them, log out.
    async fn close(self, kept: Vec<String>, left: Vec<String>) -> Result<(), String> {
        use reqwest::Method;
        for id in &left {
            self.call(Method::GET, &self.api(&format!("{DS}/{id}")), None, 404)
                .await?;
        }
        for id in &kept {
            let s = self
                .call(Method::GET, &self.api(&format!("{DS}/{id}")), None, 200)
                .await?
                .ok_or("get gave no body")?;
            if s["state"] != "ACTIVE" || s["client_progress"] != 100 {
                return Err(format!("kept session {id} is {s}"));
            }
            self.call(Method::DELETE, &self.api(&format!("{DS}/{id}")), None, 204)
                .await?;
        }
        let list = self.call(Method::GET, &self.api(DS), None, 200).await?;
        if list != Some(json!([])) {
            return Err(format!("sessions left over: {list:?}"));
        }
        self.call(Method::DELETE, &self.api("/api/session"), None, 204)
            .await?;
        Ok(())
    }
}

/// Run every worker's part of a phase concurrently; the first error wins.
async fn all<T: Send + 'static>(
    tasks: Vec<tokio::task::JoinHandle<Result<T, String>>>,
) -> Result<Vec<T>, String> {
    let mut out = Vec::with_capacity(tasks.len());
    for t in tasks {
        out.push(t.await.map_err(|e| e.to_string())??);
    }
    Ok(out)
}

/// Journal lines after `since`: (requests, expiry events, the last line's seq). Lines must
/// follow `since` without a gap: a gap is a line dropped before it was read.
async fn journal(
    http: &reqwest::Client,
    base: &str,
    since: u64,
) -> Result<(u64, u64, u64), String> {
    let text = http
        .get(format!("{base}/dlsim/journal?since={since}"))
        .send()
        .await
        .map_err(|e| format!("journal: {e}"))?
        .text()
        .await
        .map_err(|e| format!("journal: {e}"))?;
    let (mut requests, mut events, mut last) = (0, 0, since);
    for line in text.lines() {
        let v: Value = serde_json::from_str(line).map_err(|e| format!("journal line: {e}"))?;
        let seq = v["seq"].as_u64().unwrap_or(0);
        if seq != last + 1 {
            return Err(format!(
                "journal lines {} to {} were lost",
                last + 1,
                seq - 1
            ));
        }
        last = seq;
        if v["status"].as_u64().unwrap_or(0) >= 500 {
            return Err(format!("a 5xx in the journal: {line}"));
        }
        if v["method"] == "EVENT" {
            events += 1;
        } else {
            requests += 1;
        }
    }
    Ok((requests, events, last))
}

async fn advance(http: &reqwest::Client, base: &str, secs: u64) -> Result<(), String> {
    let r = http
        .post(format!("{base}/dlsim/clock?advance_ms={}", secs * 1000))
        .send()
        .await
        .map_err(|e| format!("clock: {e}"))?;
    if r.status() != 200 {
        return Err(format!("the clock did not move: {}", r.status()));
    }
    Ok(())
}

/// Soak a fresh server as `opts` says; the report, or what went wrong.
pub fn run(opts: &Options) -> Result<Report, String> {
    dlsim::install_crypto();
    let opts = Options {
        duration: opts.duration.min(MAX_DURATION),
        workers: opts.workers.clamp(1, 64),
        sessions: opts.sessions.clamp(2, 16),
        ..opts.clone()
    };
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let server = start(dir.path(), opts.workers)?;
    let pid = server.child.id();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let started = Instant::now();
    let report = rt.block_on(async {
        let control = reqwest::Client::new();
        let base = server.base.clone();
        let mut rounds: Vec<Round> = Vec::new();
        let mut since = 0;
        while rounds.is_empty()
            || (started.elapsed() < opts.duration && rounds.len() < opts.max_rounds)
        {
            let sent = Arc::new(AtomicU64::new(0));
            let workers: Vec<Worker> = (0..opts.workers)
                .map(|i| Worker {
                    user: user(i),
                    http: reqwest::Client::new(),
                    base: base.clone(),
                    token: String::new(),
                    sent: sent.clone(),
                })
                .collect();
            let opened = all(workers
                .into_iter()
                .map(|w| tokio::spawn(w.open(opts.sessions)))
                .collect())
            .await?;
            // Past two thirds of the idle timeout, keep the kept ones alive...
            advance(&control, &base, 200).await?;
            all(opened
                .iter()
                .map(|(w, kept, _)| tokio::spawn(w.clone().keep_alive(kept.clone())))
                .collect())
            .await?;
            // ...and past the idle timeout of the others: they expire.
            advance(&control, &base, 200).await?;
            all(opened
                .into_iter()
                .map(|(w, kept, left)| tokio::spawn(w.close(kept, left)))
                .collect())
            .await?;
            let requests = sent.load(Ordering::Relaxed);
            let expected_events = (opts.workers * (opts.sessions / 2)) as u64;
            // A download is journaled when its body ends, which may trail its client by a
            // moment: read again (bounded) until every line is there.
            let (mut journaled, mut expired) = (0, 0);
            let mut next = since;
            for _ in 0..100 {
                let (r, e, n) = journal(&control, &base, next).await?;
                journaled += r;
                expired += e;
                next = n;
                if journaled >= requests && expired >= expected_events {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            since = next;
            if journaled != requests {
                return Err(format!(
                    "round {}: {requests} request(s) sent, {journaled} journaled",
                    rounds.len() + 1
                ));
            }
            if expired != expected_events {
                return Err(format!(
                    "round {}: {expected_events} session(s) should have expired, {expired} did",
                    rounds.len() + 1
                ));
            }
            let round = Round {
                requests,
                journaled,
                expired,
                rss_kib: rss_kib(pid)?,
            };
            if opts.verbose {
                eprintln!(
                    "round {:>4}: {:>5} requests, {:>5} journaled, {:>3} expired, server RSS {:>7.1} MiB",
                    rounds.len() + 1,
                    round.requests,
                    round.journaled,
                    round.expired,
                    round.rss_kib as f64 / 1024.0
                );
            }
            rounds.push(round);
        }
        Ok::<_, String>(Report {
            rounds,
            elapsed: started.elapsed(),
        })
    })?;
    let (warm, peak) = report.rss_warm_and_peak();
    if peak > warm + opts.rss_slack_kib {
        return Err(format!(
            "server memory grew from {warm} KiB after warm-up to {peak} KiB (slack {} KiB)",
            opts.rss_slack_kib
        ));
    }
    Ok(report)
}
