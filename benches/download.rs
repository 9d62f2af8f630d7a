//! Download throughput and server memory, measured end to end over loopback.
//!
//! `cargo bench --bench download` starts the release `dlsim serve` as its own process with a
//! 4 GiB synthetic file, downloads it with a streaming client in this process, and reports
//! how long preparing the file took (with checksums on, preparing reads the whole file once to
//! compute its SHA-1), then GB/s for three downloads and the server's peak RSS (VmHWM). Runs:
//! plain HTTP and TLS; for each, a server with checksums off and one with them on run side by
//! side and downloads alternate between them (`DLSIM_BENCH_ROUNDS`, default 5 each), then the
//! mean throughputs are compared. Set `DLSIM_BENCH_GIB` to change the size. Results also go to
//! `target/bench-download.json`.

use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dlsim::bench_support::{client_config, Pin, PinVerifier};
use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use reqwest::Method;
use serde_json::{json, Value};

struct Server {
    child: Child,
    api: String,
    user: String,
    password: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(dir: &Path, size: u64, tls: bool, checksums: bool) -> Server {
    let config = dir.join("bench.toml");
    std::fs::write(
        &config,
        format!(
            "[[libraries]]\nname = \"bench\"\n[[libraries.items]]\nname = \"big\"\nchecksum_algorithm = \"SHA1\"\nfiles = [{{ name = \"disk.vmdk\", size = {size} }}]\n"
        ),
    )
    .unwrap();
    let ready = dir.join(format!("ready-{tls}-{checksums}.json"));
    let _ = std::fs::remove_file(&ready);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dlsim"));
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&config)
        .arg("--ready-file")
        .arg(&ready)
        .stderr(Stdio::null());
    if tls {
        cmd.arg("--tls");
    }
    if !checksums {
        cmd.arg("--no-checksums");
    }
    let child = cmd.spawn().expect("start dlsim serve");
    let deadline = Instant::now() + Duration::from_secs(30);
    let info: Value = loop {
        if let Ok(t) = std::fs::read_to_string(&ready) {
            if let Ok(v) = serde_json::from_str(&t) {
                break v;
            }
        }
        assert!(Instant::now() < deadline, "dlsim did not start");
        std::thread::sleep(Duration::from_millis(20));
    };
    Server {
        child,
        api: info["api_url"].as_str().unwrap().to_string(),
        user: info["username"].as_str().unwrap().to_string(),
        password: info["password"].as_str().unwrap().to_string(),
    }
}

fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// Send a request and read its JSON answer.
async fn call<T: serde::de::DeserializeOwned>(req: reqwest::RequestBuilder) -> T {
    req.send().await.unwrap().json().await.unwrap()
}

/// Log in, create a session on the one item, prepare its file and poll (every 10 ms) until it
/// is PREPARED; returns its URI and how long preparing took.
async fn prepare(http: &reqwest::Client, s: &Server) -> (String, f64) {
    let login = http.post(format!("{}/session", s.api));
    let token: String = call(login.basic_auth(&s.user, Some(&s.password))).await;
    let req = |method: reqwest::Method, path: String| {
        http.request(method, format!("{}{path}", s.api))
            .header("vmware-api-session-id", &token)
    };
    let libs: Vec<String> = call(req(Method::GET, "/content/library".into())).await;
    let items: Vec<String> = call(req(
        Method::GET,
        format!("/content/library/item?library_id={}", libs[0]),
    ))
    .await;
    let ds = "/content/library/item/download-session".to_string();
    let id: String =
        call(req(Method::POST, ds.clone()).json(&json!({"library_item_id": items[0]}))).await;
    let t = Instant::now();
    let mut info: Value = call(
        req(Method::POST, format!("{ds}/{id}/file?action=prepare"))
            .json(&json!({"file_name": "disk.vmdk"})),
    )
    .await;
    let deadline = t + Duration::from_secs(600);
    while info["status"] != "PREPARED" {
        assert!(Instant::now() < deadline, "not prepared: {info}");
        tokio::time::sleep(Duration::from_millis(10)).await;
        info = call(req(
            Method::GET,
            format!("{ds}/{id}/file?file_name=disk.vmdk"),
        ))
        .await;
    }
    let uri = info["download_endpoint"]["uri"].as_str().unwrap();
    (uri.to_string(), t.elapsed().as_secs_f64())
}

/// Download the URI with a lean HTTP/1.1 client reading 1 MiB at a time, discarding the
/// bytes, so the server (not the client library) is what is measured. Returns (bytes, seconds).
async fn download(uri: &str) -> (u64, f64) {
    let (tls, rest) = match uri.strip_prefix("https://") {
        Some(r) => (true, r),
        None => (false, uri.strip_prefix("http://").unwrap()),
    };
    let (host, path) = rest.split_once('/').unwrap();
    let request = format!("GET /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    let t = Instant::now();
    let tcp = tokio::net::TcpStream::connect(host).await.unwrap();
    tcp.set_nodelay(true).unwrap();
    let mut stream: Box<dyn Io> = if tls {
        // Any certificate: the benchmark measures transfer, not trust.
        let verifier = Arc::new(PinVerifier::new(Pin::Any));
        let config = client_config(verifier).unwrap();
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        let name = ServerName::try_from("localhost").unwrap();
        Box::new(connector.connect(name, tcp).await.unwrap())
    } else {
        Box::new(tcp)
    };
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 1 << 20];
    let mut head = Vec::new();
    let mut body = 0u64;
    let mut length = None;
    loop {
        let n = stream.read(&mut buf).await.unwrap();
        if n == 0 {
            break;
        }
        match length {
            Some(_) => body += n as u64,
            None => {
                head.extend_from_slice(&buf[..n]);
                if let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
                    let text = String::from_utf8_lossy(&head[..end]).to_lowercase();
                    assert!(text.starts_with("http/1.1 200"), "{text}");
                    let cl = text
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .map(|v| v.trim().parse::<u64>().unwrap())
                        .unwrap();
                    length = Some(cl);
                    body = (head.len() - end - 4) as u64;
                }
            }
        }
        if length.is_some_and(|l| body >= l) {
            break;
        }
    }
    (body, t.elapsed().as_secs_f64())
}

trait Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> Io for T {}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo test --benches` lists benchmarks; there is nothing to run then.
    }
    dlsim::install_crypto();
    let gib: u64 = std::env::var("DLSIM_BENCH_GIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4);
    let size = gib << 30;
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let http = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .build()
        .unwrap();
    let rounds: usize = std::env::var("DLSIM_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let mut results = vec![];
    println!("download of one {gib} GiB synthetic file over loopback (2-core machine)");
    println!(
        "{:<6} {:<10} {:>10} {:>6} {:>9} {:>15}",
        "scheme", "checksums", "prepare s", "round", "GB/s", "server VmHWM"
    );
    for tls in [false, true] {
        let scheme = if tls { "https" } else { "http" };
        // Both servers run side by side and downloads alternate between them, so drift in the
        // machine's speed hits both alike.
        let servers = [false, true].map(|checksums| start(dir.path(), size, tls, checksums));
        let mut mean = [0.0f64; 2];
        rt.block_on(async {
            let mut prepared = vec![];
            for server in &servers {
                prepared.push(prepare(&http, server).await);
            }
            for round in 1..=rounds {
                for (i, (server, (uri, prepare_s))) in servers.iter().zip(&prepared).enumerate() {
                    let (n, secs) = download(uri).await;
                    assert_eq!(n, size);
                    let gbps = n as f64 / secs / 1e9;
                    mean[i] += gbps / rounds as f64;
                    let rss = peak_rss_kib(server.child.id());
                    let sums = if i == 1 { "SHA1" } else { "off" };
                    println!(
                        "{scheme:<6} {sums:<10} {prepare_s:>10.2} {round:>6} {gbps:>9.2} {:>11.1} MiB",
                        rss as f64 / 1024.0
                    );
                    results.push(json!({
                        "scheme": scheme, "checksums": sums, "prepare_seconds": prepare_s,
                        "round": round, "bytes": n, "seconds": secs, "gb_per_s": gbps,
                        "server_peak_rss_kib": rss,
                    }));
                }
            }
        });
        println!(
            "{scheme}: mean {:.2} GB/s without checksums, {:.2} GB/s with: {:+.1} %",
            mean[0],
            mean[1],
            (mean[1] / mean[0] - 1.0) * 100.0
        );
    }
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-download.json");
    if let Ok(mut f) = std::fs::File::create(&out) {
        let _ = writeln!(f, "{:#}", Value::Array(results));
    }
}
