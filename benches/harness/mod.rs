//! The benchmark harness, shared by `cargo bench --bench harness` (the full run) and
//! `tests/bench_smoke.rs` (its smoke mode, a few seconds inside `cargo test`).
//!
//! It starts the `dlsim` binary of the same build as separate processes on 127.0.0.1 (port 0,
//! ready files), drives them with its own HTTP/1.1 keep-alive load generator (`load.rs`) and
//! measures, in one run and next to baselines it builds itself (`baseline.rs`): API throughput
//! and latency per operation, wire form and connection count; cold start; downloads; scaling
//! with live sessions; the cost of the journal and of loaded faults; the conformance runner.
//! It prints a table as it goes and returns every figure as one JSON document.
//! Every loop is bounded in count and in time.

#![allow(dead_code)]

pub mod baseline;
pub mod load;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};

use load::{Answer, Conn, Shape, Stats, Target, Unit};

/// The sections every run writes (the smoke test checks each is there).
pub const SECTIONS: &[&str] = &[
    "machine",
    "api",
    "api_baseline",
    "api_alternating",
    "cold_start",
    "downloads",
    "download_baseline",
    "download_peak_rss",
    "scaling",
    "journal_and_faults",
    "conformance",
    "nginx",
    "ratios",
];

/// How big a run is.
#[derive(Debug, Clone)]
pub struct Options {
    /// The smoke mode: tiny durations, few connections, small files.
    pub smoke: bool,
    /// Only these sections (all when empty).
    pub only: Vec<String>,
}

impl Options {
    fn connections(&self) -> Vec<usize> {
        if self.smoke {
            vec![1, 4]
        } else {
            vec![1, 16, 128]
        }
    }
    fn shape(&self, connections: usize) -> Shape {
        if self.smoke {
            Shape {
                connections,
                duration: Duration::from_millis(150),
                max_units_per_conn: 2_000,
                warmup: Duration::from_millis(30),
            }
        } else {
            Shape {
                connections,
                duration: Duration::from_secs(2),
                max_units_per_conn: 5_000_000,
                warmup: Duration::from_millis(300),
            }
        }
    }
    /// The connection count of the single-level measurements (scaling, journal, faults).
    fn mid_connections(&self) -> usize {
        if self.smoke {
            4
        } else {
            16
        }
    }
    fn wants(&self, section: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|s| s == section)
    }
}

pub const ITEM: &str = "b1e2c3d4-5f60-4718-8a9b-0c1d2e3f4a5b";
pub const FILE: &str = "photon-5.ovf";
const DS: &str = "com.vmware.content.library.item.download_session";
const FILES: &str = "com.vmware.content.library.item.downloadsession.file";

// ---------------------------------------------------------------------------------------------
// dlsim as a child process

/// A `dlsim serve` child; killed when dropped.
pub struct Server {
    child: Child,
    pub base: String,
    pub target: Target,
    pub user: String,
    pub password: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

fn dlsim_bin() -> &'static str {
    env!("CARGO_BIN_EXE_dlsim")
}

fn ready_path(dir: &Path) -> PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    dir.join(format!("ready-{}.json", N.fetch_add(1, Ordering::SeqCst)))
}

/// Start `dlsim serve --listen 127.0.0.1:0 --seed 1 ARGS` and wait (at most 30 s, polling every
/// 0.2 ms) for its ready file. Returns the server and the time from spawn to ready.
pub fn start(dir: &Path, args: &[&str]) -> Result<(Server, Duration), String> {
    start_bin(dlsim_bin(), dir, args)
}

/// [`start`] with another `dlsim` binary.
pub fn start_bin(bin: &str, dir: &Path, args: &[&str]) -> Result<(Server, Duration), String> {
    let ready = ready_path(dir);
    let t = Instant::now();
    let mut child = Command::new(bin)
        .args(["serve", "--listen", "127.0.0.1:0", "--seed", "1"])
        .args(args)
        .arg("--ready-file")
        .arg(&ready)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start dlsim serve: {e}"))?;
    let deadline = t + Duration::from_secs(30);
    loop {
        if let Some(v) = std::fs::read_to_string(&ready)
            .ok()
            .and_then(|s| serde_json::from_str::<Value>(&s).ok())
        {
            let base = v["base_url"].as_str().unwrap_or_default().to_string();
            return Ok((
                Server {
                    child,
                    target: Target::from_url(&base),
                    base,
                    user: v["username"].as_str().unwrap_or_default().to_string(),
                    password: v["password"].as_str().unwrap_or_default().to_string(),
                },
                t.elapsed(),
            ));
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("dlsim serve {args:?} exited early with {status}"));
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("dlsim serve {args:?} did not become ready"));
        }
        std::thread::sleep(Duration::from_micros(200));
    }
}

/// A `/proc/PID/status` figure in KiB (`VmRSS`, `VmHWM`), 0 where there is no /proc.
pub fn proc_kib(pid: u32, key: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// The CPU time a process has used (user + system), from `/proc/PID/stat`; zero without /proc.
pub fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The fields after the command name, which is in parentheses and may hold spaces.
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<u64> = after
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
    let ticks = f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0);
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Duration::from_nanos(ticks * 1_000_000_000 / hz)
}

/// One request on a fresh connection.
pub async fn call(t: &Target, req: &[u8]) -> Result<Answer, String> {
    let mut c = Conn::open(t).await.map_err(|e| format!("connect: {e}"))?;
    c.send(req).await.map_err(|e| e.to_string())
}

fn basic(user: &str, password: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

/// Log in through `/api`; the token works in every form.
pub async fn login(s: &Server) -> Result<String, String> {
    let auth = basic(&s.user, &s.password);
    let req = load::request(
        "POST",
        "/api/session",
        &s.target.host,
        &[("Authorization", &auth)],
        "",
    );
    let a = call(&s.target, &req).await?;
    if a.status / 100 != 2 {
        return Err(format!("login answered {}: {}", a.status, a.text()));
    }
    a.id().ok_or_else(|| format!("login answer {}", a.text()))
}

// ---------------------------------------------------------------------------------------------
// The API workloads

pub use dlsim::Form;

/// How the tables and the JSON name a form.
pub fn label(form: Form) -> &'static str {
    match form {
        Form::Api => "/api",
        Form::Rest => "/rest",
        Form::JsonRpc => "JSON-RPC",
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    GetSession,
    FileList,
    KeepAlive,
    Cycle,
}

impl Op {
    pub const ALL: [Op; 4] = [Op::GetSession, Op::FileList, Op::KeepAlive, Op::Cycle];
    pub fn name(self) -> &'static str {
        match self {
            Op::GetSession => "get-session",
            Op::FileList => "File.list",
            Op::KeepAlive => "keep_alive",
            Op::Cycle => "create-prepare-delete",
        }
    }
}

/// The requests of one form for one login.
#[derive(Clone)]
pub struct Requests {
    form: Form,
    host: String,
    token: String,
}

fn rpc(service: &str, op: &str, input: Value, token: &str) -> String {
    json!({"jsonrpc": "2.0", "method": "invoke", "id": "1", "params": {
        "serviceId": service, "operationId": op,
        "input": {"STRUCTURE": {"operation-input": input}},
        "ctx": {"securityCtx": {"schemeId": "com.vmware.vapi.std.security.session_id",
                                "sessionId": token}}}})
    .to_string()
}

const API_DS: &str = "/api/content/library/item/download-session";
const REST_DS: &str = "/rest/com/vmware/content/library/item/download-session";
const REST_FILE: &str = "/rest/com/vmware/content/library/item/downloadsession/file";

impl Requests {
    pub fn new(form: Form, host: &str, token: &str) -> Self {
        Requests {
            form,
            host: host.to_string(),
            token: token.to_string(),
        }
    }
    fn build(&self, method: &str, path: &str, body: &str) -> Vec<u8> {
        match self.form {
            Form::JsonRpc => load::request("POST", "/api", &self.host, &[], body),
            _ => load::request(
                method,
                path,
                &self.host,
                &[("vmware-api-session-id", &self.token)],
                body,
            ),
        }
    }
    pub fn get(&self, s: &str) -> Vec<u8> {
        match self.form {
            Form::Api => self.build("GET", &format!("{API_DS}/{s}"), ""),
            Form::Rest => self.build("GET", &format!("{REST_DS}/id:{s}"), ""),
            Form::JsonRpc => self.build(
                "",
                "",
                &rpc(DS, "get", json!({"download_session_id": s}), &self.token),
            ),
        }
    }
    pub fn list_files(&self, s: &str) -> Vec<u8> {
        match self.form {
            Form::Api => self.build("GET", &format!("{API_DS}/{s}/file"), ""),
            Form::Rest => self.build("GET", &format!("{REST_FILE}?download_session_id={s}"), ""),
            Form::JsonRpc => self.build(
                "",
                "",
                &rpc(
                    FILES,
                    "list",
                    json!({"download_session_id": s}),
                    &self.token,
                ),
            ),
        }
    }
    pub fn keep_alive(&self, s: &str) -> Vec<u8> {
        let body = r#"{"progress":50}"#;
        match self.form {
            Form::Api => self.build("POST", &format!("{API_DS}/{s}?action=keep-alive"), body),
            Form::Rest => self.build(
                "POST",
                &format!("{REST_DS}/id:{s}?~action=keep-alive"),
                body,
            ),
            Form::JsonRpc => self.build(
                "",
                "",
                &rpc(
                    DS,
                    "keep_alive",
                    json!({"download_session_id": s, "progress": {"OPTIONAL": 50}}),
                    &self.token,
                ),
            ),
        }
    }
    pub fn create(&self) -> Vec<u8> {
        match self.form {
            Form::Api => self.build(
                "POST",
                API_DS,
                &json!({"library_item_id": ITEM}).to_string(),
            ),
            Form::Rest => self.build(
                "POST",
                REST_DS,
                &json!({"create_spec": {"library_item_id": ITEM}}).to_string(),
            ),
            Form::JsonRpc => {
                let spec = json!({"STRUCTURE": {"com.vmware.content.library.item.download_session_model": {
                    "library_item_id": {"OPTIONAL": ITEM}}}});
                self.build(
                    "",
                    "",
                    &rpc(
                        DS,
                        "create",
                        json!({"client_token": {"OPTIONAL": null}, "create_spec": spec}),
                        &self.token,
                    ),
                )
            }
        }
    }
    pub fn prepare(&self, s: &str) -> Vec<u8> {
        match self.form {
            Form::Api => self.build(
                "POST",
                &format!("{API_DS}/{s}/file?action=prepare"),
                &json!({"file_name": FILE, "endpoint_type": "HTTPS"}).to_string(),
            ),
            Form::Rest => self.build(
                "POST",
                &format!("{REST_FILE}/id:{s}?~action=prepare"),
                &json!({"file_name": FILE}).to_string(),
            ),
            Form::JsonRpc => self.build(
                "",
                "",
                &rpc(
                    FILES,
                    "prepare",
                    json!({"download_session_id": s, "file_name": FILE,
                           "endpoint_type": {"OPTIONAL": "HTTPS"}}),
                    &self.token,
                ),
            ),
        }
    }
    pub fn delete(&self, s: &str) -> Vec<u8> {
        match self.form {
            Form::Api => self.build("DELETE", &format!("{API_DS}/{s}"), ""),
            Form::Rest => self.build("DELETE", &format!("{REST_DS}/id:{s}"), ""),
            Form::JsonRpc => self.build(
                "",
                "",
                &rpc(DS, "delete", json!({"download_session_id": s}), &self.token),
            ),
        }
    }
}

/// A server to load in alternating rounds: its name, address, unit of work and pid.
type Variant = (String, Target, Arc<dyn Unit>, Option<u32>);

/// An answer is a success: 2xx, and over JSON-RPC no vAPI error in the result.
fn judge(a: &Answer, rpc: bool) -> Result<(), String> {
    let err = a.status / 100 != 2
        || (rpc && a.body.windows(9).any(|w| w == br#"{"ERROR":"#))
        || (rpc && a.body.windows(8).any(|w| w == br#""error":"#));
    if err {
        Err(format!("HTTP {}: {}", a.status, a.text()))
    } else {
        Ok(())
    }
}

/// The same prepared request again and again.
struct Fixed {
    req: Vec<u8>,
    rpc: bool,
}

impl Unit for Fixed {
    fn run<'a>(
        &'a self,
        conn: &'a mut Conn,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>> + Send + 'a>> {
        Box::pin(async move {
            let a = conn.send(&self.req).await.map_err(|e| e.to_string())?;
            judge(&a, self.rpc)
        })
    }
}

/// create → prepare → delete, one unit; or create alone (`keep`: the session stays live).
struct Cycle {
    r: Requests,
    create: Vec<u8>,
    keep: bool,
}

impl Unit for Cycle {
    fn run<'a>(
        &'a self,
        conn: &'a mut Conn,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>> + Send + 'a>> {
        let rpc = self.r.form == Form::JsonRpc;
        Box::pin(async move {
            let a = conn.send(&self.create).await.map_err(|e| e.to_string())?;
            judge(&a, rpc)?;
            if self.keep {
                return Ok(());
            }
            let id = a
                .id()
                .ok_or_else(|| format!("create answered {}", a.text()))?;
            let a = conn
                .send(&self.r.prepare(&id))
                .await
                .map_err(|e| e.to_string())?;
            judge(&a, rpc)?;
            let a = conn
                .send(&self.r.delete(&id))
                .await
                .map_err(|e| e.to_string())?;
            judge(&a, rpc)
        })
    }
}

fn unit(op: Op, r: &Requests, session: &str) -> Arc<dyn Unit> {
    let rpc = r.form == Form::JsonRpc;
    match op {
        Op::GetSession => Arc::new(Fixed {
            req: r.get(session),
            rpc,
        }),
        Op::FileList => Arc::new(Fixed {
            req: r.list_files(session),
            rpc,
        }),
        Op::KeepAlive => Arc::new(Fixed {
            req: r.keep_alive(session),
            rpc,
        }),
        Op::Cycle => Arc::new(Cycle {
            r: r.clone(),
            create: r.create(),
            keep: false,
        }),
    }
}

/// Create one session through `/api`; its id.
async fn create_session(s: &Server, token: &str) -> Result<String, String> {
    let r = Requests::new(Form::Api, &s.target.host, token);
    let a = call(&s.target, &r.create()).await?;
    judge(&a, false)?;
    a.id()
        .ok_or_else(|| format!("create answered {}", a.text()))
}

/// Measure a load, and the server's CPU time per unit when a pid is given.
async fn measure(
    t: &Target,
    u: Arc<dyn Unit>,
    shape: Shape,
    pid: Option<u32>,
) -> (Stats, Option<f64>) {
    // The warm-up first, so the CPU time read around the measured part is its own.
    if !shape.warmup.is_zero() {
        let warm = Shape {
            duration: shape.warmup,
            warmup: Duration::ZERO,
            ..shape
        };
        load::drive(t, u.clone(), warm).await;
    }
    let measured = Shape {
        warmup: Duration::ZERO,
        ..shape
    };
    let before = pid.map(cpu_time);
    let stats = load::drive(t, u, measured).await;
    let cpu = pid
        .zip(before)
        .map(|(p, b)| (cpu_time(p) - b).as_secs_f64() * 1e6 / (stats.units as f64).max(1.0));
    (stats, cpu)
}

fn stats_json(s: &Stats, cpu_us: Option<f64>) -> Value {
    json!({
        "units": s.units, "errors": s.errors, "first_error": s.first_error,
        "seconds": s.seconds, "per_second": s.per_second(),
        "median_ms": s.median_ms(), "p99_ms": s.p99_ms(),
        "server_cpu_us_per_unit": cpu_us,
    })
}

fn row(label: &str, conns: usize, s: &Stats, cpu: Option<f64>) {
    println!(
        "  {label:<34} {conns:>4} conn {:>10.0}/s  median {:>7.3} ms  p99 {:>7.3} ms  errors {:>3}{}",
        s.per_second(),
        s.median_ms(),
        s.p99_ms(),
        s.errors,
        cpu.map(|c| format!("  server CPU {c:>6.1} µs/unit"))
            .unwrap_or_default()
    );
    if let Some(e) = &s.first_error {
        println!(
            "    first error: {}",
            e.chars().take(300).collect::<String>()
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The sections

struct Run {
    opts: Options,
    dir: tempfile::TempDir,
    out: Map<String, Value>,
}

/// The machine the figures come from.
fn machine() -> Value {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, m)| m.trim().to_string());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .unwrap_or_default()
        .trim()
        .to_string();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    json!({
        "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "cpu_model": model, "kernel": kernel, "os": std::env::consts::OS,
        "loadavg_at_start": load.trim(),
        "dlsim_binary": dlsim_bin(),
        "profile": if cfg!(debug_assertions) { "debug" } else { "release" },
    })
}

async fn api(run: &mut Run) -> Result<(), String> {
    println!("API throughput and latency (one request at a time per keep-alive connection)");
    let (server, _) = start(run.dir.path(), &["--no-checksums"])?;
    let token = login(&server).await?;
    let session = create_session(&server, &token).await?;
    // The bytes a get-session answers, for the bare baseline.
    let get = Requests::new(Form::Api, &server.target.host, &token).get(&session);
    let body = call(&server.target, &get).await?.body;
    let bare = baseline::bare_hyper(body.clone());
    let bare_target = Target::from_url(&bare.base_url);
    let mut rows = vec![];
    let mut base_rows = vec![];
    for conns in run.opts.connections() {
        let shape = run.opts.shape(conns);
        let (b, _) = measure(
            &bare_target,
            Arc::new(Fixed {
                req: get.clone(),
                rpc: false,
            }),
            shape,
            None,
        )
        .await;
        row("bare hyper, same bytes", conns, &b, None);
        let mut j = stats_json(&b, None);
        j["connections"] = json!(conns);
        j["body_bytes"] = json!(body.len());
        base_rows.push(j);
        for op in Op::ALL {
            for form in Form::ALL {
                let r = Requests::new(form, &server.target.host, &token);
                let (s, cpu) = measure(
                    &server.target,
                    unit(op, &r, &session),
                    shape,
                    Some(server.pid()),
                )
                .await;
                row(&format!("{} {}", label(form), op.name()), conns, &s, cpu);
                let mut j = stats_json(&s, cpu);
                j["form"] = json!(label(form));
                j["op"] = json!(op.name());
                j["connections"] = json!(conns);
                rows.push(j);
            }
        }
    }
    run.out.insert("api".into(), Value::Array(rows));
    run.out
        .insert("api_baseline".into(), Value::Array(base_rows));

    // The targets' comparison again, in alternating rounds so that drift in the machine's
    // speed hits every server alike: the ratios are taken from these medians.
    let conns = run.opts.mid_connections();
    let (rounds, shape) = if run.opts.smoke {
        (1, run.opts.shape(conns))
    } else {
        let mut shape = run.opts.shape(conns);
        shape.duration = Duration::from_secs(1);
        shape.warmup = Duration::from_millis(100);
        (5, shape)
    };
    println!("get-session at {conns} connections, {rounds} alternating round(s)");
    let mut variants: Vec<Variant> = vec![(
        "bare hyper".into(),
        bare_target.clone(),
        Arc::new(Fixed {
            req: get.clone(),
            rpc: false,
        }),
        None,
    )];
    for form in Form::ALL {
        let r = Requests::new(form, &server.target.host, &token);
        variants.push((
            label(form).into(),
            server.target.clone(),
            unit(Op::GetSession, &r, &session),
            Some(server.pid()),
        ));
    }
    let mut rates = vec![vec![]; variants.len()];
    let mut p99s = vec![vec![]; variants.len()];
    let mut cpus = vec![vec![]; variants.len()];
    for _ in 0..rounds {
        for (i, (name, target, u, pid)) in variants.iter().enumerate() {
            let (s, cpu) = measure(target, u.clone(), shape, *pid).await;
            row(name, conns, &s, cpu);
            if s.errors > 0 {
                return Err(format!("{name}: {:?}", s.first_error));
            }
            rates[i].push(s.per_second());
            p99s[i].push(s.p99_ms());
            cpus[i].extend(cpu);
        }
    }
    let alternating: Vec<Value> = variants
        .iter()
        .enumerate()
        .map(|(i, (name, ..))| {
            json!({"server": name, "connections": conns, "per_second": rates[i],
                   "p99_ms": p99s[i], "median_per_second": median(&rates[i]),
                   "median_p99_ms": median(&p99s[i]), "server_cpu_us_per_unit": cpus[i],
                   "median_server_cpu_us_per_unit": (!cpus[i].is_empty()).then(|| median(&cpus[i]))})
        })
        .collect();
    run.out
        .insert("api_alternating".into(), Value::Array(alternating));
    Ok(())
}

async fn cold_start(run: &mut Run) -> Result<(), String> {
    let n = if run.opts.smoke { 3 } else { 20 };
    println!("Cold start: spawn to the first successful login, {n} starts each");
    let mut section = Map::new();
    for tls in [false, true] {
        let mut ms = vec![];
        for _ in 0..n {
            let t = Instant::now();
            let args: &[&str] = if tls { &["--tls"] } else { &[] };
            let (server, _) = start(run.dir.path(), args)?;
            // Retry (bounded) while the listener is not yet accepting.
            let mut result = Err(String::new());
            for _ in 0..1000 {
                result = login(&server).await;
                if result.is_ok() {
                    break;
                }
                tokio::time::sleep(Duration::from_micros(200)).await;
            }
            result?;
            ms.push(t.elapsed().as_secs_f64() * 1e3);
        }
        let mut sorted = ms.clone();
        sorted.sort_by(f64::total_cmp);
        let median = sorted[sorted.len() / 2];
        let name = if tls { "tls" } else { "plain" };
        println!(
            "  {name:<6} median {median:>7.2} ms  (min {:.2}, max {:.2})",
            sorted[0],
            sorted[sorted.len() - 1]
        );
        section.insert(name.into(), json!({"median_ms": median, "runs_ms": ms}));
    }
    run.out.insert("cold_start".into(), Value::Object(section));
    Ok(())
}

/// Prepare `file` of the first item of the server's first library through `/api`, polling
/// (every 10 ms, bounded) until PREPARED. Returns its URI and how long preparing took.
async fn prepare_file(s: &Server, file: &str) -> Result<(String, f64), String> {
    let token = login(s).await?;
    let r = Requests::new(Form::Api, &s.target.host, &token);
    let get = |path: String| r.build("GET", &path, "");
    let json_of = |a: Answer| -> Result<Value, String> {
        judge(&a, false)?;
        serde_json::from_slice(&a.body).map_err(|e| e.to_string())
    };
    let libs = json_of(call(&s.target, &get("/api/content/library".into())).await?)?;
    let lib = libs[0].as_str().ok_or("no library")?;
    let items = json_of(
        call(
            &s.target,
            &get(format!("/api/content/library/item?library_id={lib}")),
        )
        .await?,
    )?;
    let item = items[0].as_str().ok_or("no item")?;
    let create = r.build(
        "POST",
        API_DS,
        &json!({"library_item_id": item}).to_string(),
    );
    let id = call(&s.target, &create)
        .await?
        .id()
        .ok_or("create failed")?;
    let t = Instant::now();
    let prep = r.build(
        "POST",
        &format!("{API_DS}/{id}/file?action=prepare"),
        &json!({"file_name": file, "endpoint_type": "HTTPS"}).to_string(),
    );
    let mut info = json_of(call(&s.target, &prep).await?)?;
    let poll = get(format!("{API_DS}/{id}/file?file_name={file}"));
    let deadline = t + Duration::from_secs(600);
    while info["status"] != "PREPARED" {
        if Instant::now() > deadline || info["status"] == "ERROR" {
            return Err(format!("not prepared: {info}"));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
        info = json_of(call(&s.target, &poll).await?)?;
    }
    let uri = info["download_endpoint"]["uri"]
        .as_str()
        .ok_or("no URI")?
        .to_string();
    Ok((uri, t.elapsed().as_secs_f64()))
}

/// A file of `size` bytes of seeded pseudo-random data.
fn write_file(path: &Path, size: u64) -> Result<(), String> {
    use std::io::Write;
    std::fs::create_dir_all(path.parent().unwrap()).map_err(|e| e.to_string())?;
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).map_err(|e| e.to_string())?);
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut chunk = vec![0u8; 1 << 20];
    let mut left = size;
    while left > 0 {
        for w in chunk.chunks_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            w.copy_from_slice(&x.to_le_bytes()[..w.len()]);
        }
        let n = left.min(chunk.len() as u64) as usize;
        f.write_all(&chunk[..n]).map_err(|e| e.to_string())?;
        left -= n as u64;
    }
    f.flush().map_err(|e| e.to_string())
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s.get(s.len() / 2).copied().unwrap_or(0.0)
}

async fn downloads(run: &mut Run) -> Result<(), String> {
    let (size, rss_size, rounds) = if run.opts.smoke {
        (8u64 << 20, 16u64 << 20, 1)
    } else {
        (1u64 << 30, 4u64 << 30, 5)
    };
    println!(
        "Downloads of a {} MiB file over loopback, {rounds} round(s), downloads alternating between servers",
        size >> 20
    );
    let dir = run.dir.path().to_path_buf();
    let config = dir.join("synthetic.toml");
    std::fs::write(
        &config,
        format!("[[libraries]]\nname = \"bench\"\n[[libraries.items]]\nname = \"big\"\nchecksum_algorithm = \"SHA1\"\nfiles = [{{ name = \"disk.vmdk\", size = {size} }}]\n"),
    )
    .map_err(|e| e.to_string())?;
    let libdir = dir.join("library");
    let file = libdir.join("bench").join("disk.vmdk");
    write_file(&file, size)?;
    let config = config.to_string_lossy().into_owned();
    let libdir = libdir.to_string_lossy().into_owned();
    let sendfile = baseline::sendfile_server(file.clone());
    let sendfile_uri = format!("{}/disk.vmdk", sendfile.base_url);
    let mut rows = vec![];
    let mut base_rows = vec![];
    for tls in [false, true] {
        let scheme = if tls { "https" } else { "http" };
        for source in ["synthetic", "directory"] {
            let mut servers = vec![];
            for checksums in [false, true] {
                let mut args = match source {
                    "synthetic" => vec!["--config", config.as_str()],
                    _ => vec!["--library", libdir.as_str()],
                };
                if tls {
                    args.push("--tls");
                }
                if !checksums {
                    args.push("--no-checksums");
                }
                let (server, _) = start(&dir, &args)?;
                let (uri, prep) = prepare_file(&server, "disk.vmdk").await?;
                servers.push((
                    server,
                    uri,
                    prep,
                    if checksums { "SHA1" } else { "off" },
                    vec![],
                    vec![],
                ));
            }
            // DLSIM_BENCH_BEFORE=<an older dlsim binary>: its server joins the alternation of
            // plain HTTP without checksums, to measure a change before and after in one run.
            if let (false, Ok(before)) = (tls, std::env::var("DLSIM_BENCH_BEFORE")) {
                let mut args = match source {
                    "synthetic" => vec!["--config", config.as_str()],
                    _ => vec!["--library", libdir.as_str()],
                };
                args.push("--no-checksums");
                let (server, _) = start_bin(&before, &dir, &args)?;
                let (uri, prep) = prepare_file(&server, "disk.vmdk").await?;
                servers.push((server, uri, prep, "off, before", vec![], vec![]));
            }
            let with_baseline = !tls && source == "directory";
            let mut base = vec![];
            for _ in 0..rounds {
                for (server, uri, _, _, speeds, cpus) in servers.iter_mut() {
                    let cpu = cpu_time(server.pid());
                    let (n, secs) = load::download(uri).await?;
                    if n != size {
                        return Err(format!("downloaded {n} of {size} bytes"));
                    }
                    speeds.push(n as f64 / secs / 1e9);
                    cpus.push((cpu_time(server.pid()) - cpu).as_secs_f64() / (n as f64 / 1e9));
                }
                if with_baseline {
                    let (n, secs) = load::download(&sendfile_uri).await?;
                    base.push(n as f64 / secs / 1e9);
                }
            }
            for (server, _, prep, checksums, speeds, cpus) in &servers {
                let rss = proc_kib(server.pid(), "VmHWM:");
                let sums = *checksums;
                println!(
                    "  {scheme:<5} {source:<9} checksums {sums:<11} prepare {prep:>5.2} s {:>6.2} GB/s (median of {speeds:.2?}) server CPU {:>5.3} s/GB, peak RSS {:>5.1} MiB",
                    median(speeds),
                    median(cpus),
                    rss as f64 / 1024.0
                );
                rows.push(json!({
                    "scheme": scheme, "source": source, "checksums": sums, "bytes": size,
                    "prepare_seconds": prep, "gb_per_s": speeds, "median_gb_per_s": median(speeds),
                    "server_cpu_s_per_gb": cpus, "median_server_cpu_s_per_gb": median(cpus),
                    "server_peak_rss_kib": rss,
                }));
            }
            if with_baseline {
                println!(
                    "  {scheme:<5} {source:<9} bare sendfile server          {:>6.2} GB/s (median of {base:.2?})",
                    median(&base)
                );
                base_rows.push(
                    json!({"scheme": scheme, "server": "bare sendfile", "bytes": size,
                    "gb_per_s": base, "median_gb_per_s": median(&base)}),
                );
            }
        }
    }
    drop(sendfile);
    // Peak RSS of a fresh server during one big synthetic download.
    let big = dir.join("big.toml");
    std::fs::write(
        &big,
        format!("[[libraries]]\nname = \"bench\"\n[[libraries.items]]\nname = \"big\"\nfiles = [{{ name = \"disk.vmdk\", size = {rss_size} }}]\n"),
    )
    .map_err(|e| e.to_string())?;
    let (server, _) = start(
        &dir,
        &["--config", &big.to_string_lossy(), "--no-checksums"],
    )?;
    let (uri, _) = prepare_file(&server, "disk.vmdk").await?;
    let before = proc_kib(server.pid(), "VmHWM:");
    let (n, secs) = load::download(&uri).await?;
    let peak = proc_kib(server.pid(), "VmHWM:");
    println!(
        "  peak RSS during a {} MiB synthetic download over HTTP: {:.1} MiB ({:.1} MiB before; {:.2} GB/s)",
        rss_size >> 20,
        peak as f64 / 1024.0,
        before as f64 / 1024.0,
        n as f64 / secs / 1e9
    );
    run.out.insert("downloads".into(), Value::Array(rows));
    run.out
        .insert("download_baseline".into(), Value::Array(base_rows));
    run.out.insert(
        "download_peak_rss".into(),
        json!({"bytes": rss_size, "peak_rss_kib": peak, "rss_before_kib": before,
               "gb_per_s": n as f64 / secs / 1e9}),
    );
    Ok(())
}

async fn scaling(run: &mut Run) -> Result<(), String> {
    let levels: &[u64] = if run.opts.smoke {
        &[10, 100, 500]
    } else {
        &[10, 10_000, 100_000]
    };
    let conns = run.opts.mid_connections();
    println!("Scaling with live sessions (get-session over /api at {conns} connections)");
    let mut rows = vec![];
    for journal in [true, false] {
        let args: &[&str] = if journal {
            &["--no-checksums"]
        } else {
            &["--no-checksums", "--journal-cap", "0"]
        };
        println!(
            "  journal {}",
            if journal {
                "on (default)"
            } else {
                "off (--journal-cap 0)"
            }
        );
        let (server, _) = start(run.dir.path(), args)?;
        let token = login(&server).await?;
        let session = create_session(&server, &token).await?;
        let r = Requests::new(Form::Api, &server.target.host, &token);
        let creator: Arc<dyn Unit> = Arc::new(Cycle {
            r: r.clone(),
            create: r.create(),
            keep: true,
        });
        let mut live = 1u64;
        for &level in levels {
            let need = level.saturating_sub(live);
            let mut rate = None;
            if need > 0 {
                let c = (conns as u64).min(need);
                let per_conn = need.div_ceil(c);
                let shape = Shape {
                    connections: c as usize,
                    duration: Duration::from_secs(120),
                    max_units_per_conn: per_conn,
                    warmup: Duration::ZERO,
                };
                let s = load::drive(&server.target, creator.clone(), shape).await;
                if s.errors > 0 {
                    return Err(format!("creating sessions: {:?}", s.first_error));
                }
                live += s.units;
                rate = Some(s.per_second());
            }
            let rss_idle = proc_kib(server.pid(), "VmRSS:");
            let (s, cpu) = measure(
                &server.target,
                unit(Op::GetSession, &r, &session),
                run.opts.shape(conns),
                Some(server.pid()),
            )
            .await;
            row(&format!("{live} live sessions"), conns, &s, cpu);
            println!(
                "    RSS {:.1} MiB; created at {}",
                rss_idle as f64 / 1024.0,
                rate.map(|r| format!("{r:.0}/s")).unwrap_or("-".into())
            );
            let mut j = stats_json(&s, cpu);
            j["level"] = json!(level);
            j["journal"] = json!(journal);
            j["live_sessions"] = json!(live);
            j["rss_kib"] = json!(rss_idle);
            j["creation_per_second"] = json!(rate);
            rows.push(j);
        }
    }
    run.out.insert("scaling".into(), Value::Array(rows));
    Ok(())
}

async fn journal_and_faults(run: &mut Run) -> Result<(), String> {
    let conns = run.opts.mid_connections();
    let rounds = if run.opts.smoke { 1 } else { 3 };
    println!(
        "The journal and loaded faults (get-session over /api at {conns} connections, {rounds} alternating round(s))"
    );
    let dir = run.dir.path().to_path_buf();
    let variants: [(&str, &[&str]); 3] = [
        ("journal on (default)", &["--no-checksums"]),
        (
            "journal off (--journal-cap 0)",
            &["--no-checksums", "--journal-cap", "0"],
        ),
        ("1000 non-matching faults, journal on", &["--no-checksums"]),
    ];
    let mut servers = vec![];
    for (i, (name, args)) in variants.iter().enumerate() {
        let (server, _) = start(&dir, args)?;
        if i == 2 {
            let rules: Vec<Value> = (0..1000)
                .map(|i| json!({"when": {"op": "download_session.get", "user": format!("nobody-{i}@vsphere.local")},
                                "what": {"kind": "http_error", "status": 500}}))
                .collect();
            let req = load::request(
                "POST",
                "/dlsim/faults",
                &server.target.host,
                &[],
                &Value::Array(rules).to_string(),
            );
            let a = call(&server.target, &req).await?;
            let ids: Value = serde_json::from_slice(&a.body).map_err(|e| e.to_string())?;
            if ids["ids"].as_array().map(Vec::len) != Some(1000) {
                return Err(format!(
                    "loading faults answered {}: {}",
                    a.status,
                    a.text()
                ));
            }
        }
        let token = login(&server).await?;
        let session = create_session(&server, &token).await?;
        let r = Requests::new(Form::Api, &server.target.host, &token);
        let u = unit(Op::GetSession, &r, &session);
        servers.push((name.to_string(), server, u, vec![], vec![]));
    }
    for _ in 0..rounds {
        for (name, server, u, rates, cpus) in servers.iter_mut() {
            let (s, cpu) = measure(
                &server.target,
                u.clone(),
                run.opts.shape(conns),
                Some(server.pid()),
            )
            .await;
            if s.errors > 0 {
                return Err(format!("{name}: {:?}", s.first_error));
            }
            row(name, conns, &s, cpu);
            rates.push(s.per_second());
            cpus.extend(cpu);
        }
    }
    let rows: Vec<Value> = servers
        .iter()
        .map(|(name, _, _, rates, cpus)| {
            json!({"server": name, "per_second": rates, "median_per_second": median(rates),
                   "server_cpu_us_per_unit": cpus, "median_server_cpu_us_per_unit": median(cpus)})
        })
        .collect();
    run.out
        .insert("journal_and_faults".into(), Value::Array(rows));
    Ok(())
}

async fn conformance(run: &mut Run) -> Result<(), String> {
    let n = if run.opts.smoke { 1 } else { 3 };
    println!("The conformance runner: `dlsim check` (all forms) against `dlsim serve --virtual-clock`, {n} run(s)");
    let (server, _) = start(run.dir.path(), &["--virtual-clock"])?;
    let mut secs = vec![];
    let mut last = Value::Null;
    for _ in 0..n {
        let t = Instant::now();
        let out = Command::new(dlsim_bin())
            .args(["check", &server.base, "--user", &server.user, "--password"])
            .arg(&server.password)
            .args(["--format", "json", "--quiet"])
            .stderr(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run dlsim check: {e}"))?;
        secs.push(t.elapsed().as_secs_f64());
        last = serde_json::from_slice(&out.stdout)
            .map_err(|e| format!("dlsim check printed no JSON report: {e}"))?;
        if !out.status.success() {
            return Err(format!("dlsim check failed: {last}"));
        }
    }
    let mut outcomes = Map::new();
    for r in last["results"].as_array().into_iter().flatten() {
        let o = r["outcome"].as_str().unwrap_or("?").to_string();
        let n = outcomes.get(&o).and_then(Value::as_u64).unwrap_or(0);
        outcomes.insert(o, json!(n + 1));
    }
    println!(
        "  median {:.3} s per run (wall clock, process start included); outcomes {}",
        median(&secs),
        Value::Object(outcomes.clone())
    );
    run.out.insert(
        "conformance".into(),
        json!({"seconds": secs, "median_seconds": median(&secs), "passed": last["passed"],
               "outcomes": outcomes, "runner_seconds": last["seconds"]}),
    );
    Ok(())
}

fn nginx(run: &mut Run) {
    let found = Command::new("sh")
        .args(["-c", "command -v nginx"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    println!(
        "nginx: {}",
        found
            .as_deref()
            .map(|p| format!("found at {p}, not driven by this harness yet"))
            .unwrap_or("not installed; not measured".into())
    );
    run.out.insert(
        "nginx".into(),
        json!({"installed": found.is_some(), "path": found, "measured": false}),
    );
}

/// The ratios the targets are stated in, from this run's figures.
fn ratios(run: &mut Run) {
    let get = |form: &str, op: &str, conns: usize| -> Option<&Value> {
        run.out
            .get("api")?
            .as_array()?
            .iter()
            .find(|r| r["form"] == form && r["op"] == op && r["connections"] == conns)
    };
    let base = |conns: usize| -> Option<&Value> {
        run.out
            .get("api_baseline")?
            .as_array()?
            .iter()
            .find(|r| r["connections"] == conns)
    };
    let div = |a: Option<&Value>, b: Option<&Value>, k: &str| -> Value {
        match (a.and_then(|a| a[k].as_f64()), b.and_then(|b| b[k].as_f64())) {
            (Some(a), Some(b)) if b > 0.0 => json!(a / b),
            _ => Value::Null,
        }
    };
    let alt = |server: &str| -> Option<&Value> {
        run.out
            .get("api_alternating")?
            .as_array()?
            .iter()
            .find(|r| r["server"] == server)
    };
    let mut r = Map::new();
    let mid = run.opts.mid_connections();
    for form in Form::ALL {
        r.insert(
            format!(
                "{} get-session vs bare hyper, req/s, {mid} conn, alternating",
                label(form)
            ),
            div(alt(label(form)), alt("bare hyper"), "median_per_second"),
        );
        r.insert(
            format!(
                "{} get-session vs bare hyper, p99, {mid} conn, alternating",
                label(form)
            ),
            div(alt(label(form)), alt("bare hyper"), "median_p99_ms"),
        );
    }
    for form in [Form::Rest, Form::JsonRpc] {
        r.insert(
            format!(
                "{} vs /api get-session, req/s, {mid} conn, alternating",
                label(form)
            ),
            div(alt(label(form)), alt("/api"), "median_per_second"),
        );
        r.insert(
            format!(
                "{} vs /api get-session, server CPU per request, alternating",
                label(form)
            ),
            div(
                alt(label(form)),
                alt("/api"),
                "median_server_cpu_us_per_unit",
            ),
        );
    }
    let largest = *run.opts.connections().last().unwrap_or(&1);
    r.insert(
        format!("/api get-session at {largest} vs {mid} conn, req/s"),
        div(
            get("/api", "get-session", largest),
            get("/api", "get-session", mid),
            "per_second",
        ),
    );
    r.insert(
        format!("bare hyper at {largest} vs {mid} conn, req/s"),
        div(base(largest), base(mid), "per_second"),
    );
    for form in [Form::Rest, Form::JsonRpc] {
        for op in Op::ALL {
            r.insert(
                format!("{} vs /api {}, req/s, {mid} conn", label(form), op.name()),
                div(
                    get(label(form), op.name(), mid),
                    get("/api", op.name(), mid),
                    "per_second",
                ),
            );
        }
    }
    if let Some(d) = run.out.get("downloads").and_then(Value::as_array) {
        let find = |scheme: &str, source: &str, sums: &str| {
            d.iter()
                .find(|x| x["scheme"] == scheme && x["source"] == source && x["checksums"] == sums)
        };
        let sf = run
            .out
            .get("download_baseline")
            .and_then(|b| b.as_array()?.first());
        r.insert(
            "directory file over HTTP vs bare sendfile".into(),
            div(find("http", "directory", "off"), sf, "median_gb_per_s"),
        );
        r.insert(
            "directory file vs synthetic file over HTTP, server CPU per GB".into(),
            div(
                find("http", "directory", "off"),
                find("http", "synthetic", "off"),
                "median_server_cpu_s_per_gb",
            ),
        );
        r.insert(
            "directory file vs synthetic file over HTTP".into(),
            div(
                find("http", "directory", "off"),
                find("http", "synthetic", "off"),
                "median_gb_per_s",
            ),
        );
        r.insert(
            "synthetic file over HTTP vs bare sendfile".into(),
            div(find("http", "synthetic", "off"), sf, "median_gb_per_s"),
        );
        for source in ["synthetic", "directory"] {
            if find("http", source, "off, before").is_some() {
                r.insert(
                    format!("{source} file over HTTP, this build vs DLSIM_BENCH_BEFORE"),
                    div(
                        find("http", source, "off"),
                        find("http", source, "off, before"),
                        "median_gb_per_s",
                    ),
                );
                r.insert(
                    format!("{source} file over HTTP, server CPU per GB, this build vs before"),
                    div(
                        find("http", source, "off"),
                        find("http", source, "off, before"),
                        "median_server_cpu_s_per_gb",
                    ),
                );
            }
        }
        for scheme in ["http", "https"] {
            for source in ["synthetic", "directory"] {
                r.insert(
                    format!("{scheme} {source}: with checksums vs without"),
                    div(
                        find(scheme, source, "SHA1"),
                        find(scheme, source, "off"),
                        "median_gb_per_s",
                    ),
                );
            }
        }
    }
    if let Some(s) = run.out.get("scaling").and_then(Value::as_array) {
        let s: Vec<&Value> = s.iter().filter(|r| r["journal"] == true).collect();
        let s = &s;
        r.insert(
            "CPU per get-session, most vs fewest live sessions".into(),
            div(
                s.last().copied(),
                s.first().copied(),
                "server_cpu_us_per_unit",
            ),
        );
        r.insert(
            "get-session req/s, most vs fewest live sessions".into(),
            div(s.last().copied(), s.first().copied(), "per_second"),
        );
    }
    if let Some(j) = run.out.get("journal_and_faults").and_then(Value::as_array) {
        r.insert(
            "journal on vs off, req/s".into(),
            div(j.first(), j.get(1), "median_per_second"),
        );
        r.insert(
            "1000 faults vs none (journal on), req/s".into(),
            div(j.get(2), j.first(), "median_per_second"),
        );
    }
    println!("Ratios (this run)");
    for (k, v) in &r {
        match v.as_f64() {
            Some(x) => println!("  {k:<64} {x:>7.3}"),
            None => println!("  {k:<64}       -"),
        }
    }
    run.out.insert("ratios".into(), Value::Object(r));
}

/// Run the harness; returns the JSON document (every section in [`SECTIONS`] that was asked
/// for), or the first failure.
pub fn run(opts: Options) -> Result<Value, String> {
    dlsim::install_crypto();
    let started = Instant::now();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let mut run = Run {
        dir: tempfile::tempdir().map_err(|e| e.to_string())?,
        opts,
        out: Map::new(),
    };
    run.out.insert("machine".into(), machine());
    println!(
        "dlsim benchmark harness ({} mode), {}",
        if run.opts.smoke { "smoke" } else { "full" },
        run.out["machine"]
    );
    rt.block_on(async {
        if run.opts.wants("api") {
            api(&mut run).await?;
        }
        if run.opts.wants("cold_start") {
            cold_start(&mut run).await?;
        }
        if run.opts.wants("downloads") {
            downloads(&mut run).await?;
        }
        if run.opts.wants("scaling") {
            scaling(&mut run).await?;
        }
        if run.opts.wants("journal_and_faults") {
            journal_and_faults(&mut run).await?;
        }
        if run.opts.wants("conformance") {
            conformance(&mut run).await?;
        }
        Ok::<_, String>(())
    })?;
    nginx(&mut run);
    ratios(&mut run);
    run.out.insert(
        "elapsed_seconds".into(),
        json!(started.elapsed().as_secs_f64()),
    );
    rt.shutdown_timeout(Duration::from_secs(1));
    Ok(Value::Object(run.out))
}
