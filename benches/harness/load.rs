//! The load generator: HTTP/1.1 keep-alive connections over loopback (plain or TLS), one
//! request at a time per connection (no pipelining), requests written from prepared bytes and
//! answers read with a minimal parser, so the client costs little next to the server.
//! Every load loop stops at its deadline or its request bound, whichever comes first.

use std::sync::Arc;
use std::time::{Duration, Instant};

use dlsim::bench_support::{client_config, Pin, PinVerifier};
use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub trait Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> Io for T {}

/// Where to connect: `host:port` and whether to speak TLS (any certificate is accepted: the
/// harness measures transfer, not trust).
#[derive(Debug, Clone)]
pub struct Target {
    pub host: String,
    pub tls: bool,
}

impl Target {
    /// From a base URL such as `http://127.0.0.1:8080` (a path after the authority is ignored).
    pub fn from_url(url: &str) -> Target {
        let (tls, rest) = match url.strip_prefix("https://") {
            Some(r) => (true, r),
            None => (false, url.strip_prefix("http://").unwrap_or(url)),
        };
        let host = rest.split('/').next().unwrap_or(rest).to_string();
        Target { host, tls }
    }
}

pub async fn connect(t: &Target) -> std::io::Result<Box<dyn Io>> {
    let tcp = tokio::net::TcpStream::connect(&t.host).await?;
    tcp.set_nodelay(true)?;
    if !t.tls {
        return Ok(Box::new(tcp));
    }
    let verifier = Arc::new(PinVerifier::new(Pin::Any));
    let config = client_config(verifier).map_err(std::io::Error::other)?;
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let name = ServerName::try_from("localhost").map_err(std::io::Error::other)?;
    Ok(Box::new(connector.connect(name, tcp).await?))
}

/// One request's bytes, built once.
pub fn request(
    method: &str,
    path: &str,
    host: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Vec<u8> {
    let mut r = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\n");
    for (k, v) in headers {
        r.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() || method == "POST" {
        r.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    r.push_str("\r\n");
    r.push_str(body);
    r.into_bytes()
}

/// An answer: its status and body.
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    /// The body read as a JSON string (`"id"`), or `{"value": "id"}`, or a JSON-RPC output.
    pub fn id(&self) -> Option<String> {
        let v: serde_json::Value = serde_json::from_slice(&self.body).ok()?;
        let s = v
            .as_str()
            .or_else(|| v["value"].as_str())
            .or_else(|| v["result"]["output"].as_str())
            .or_else(|| v["result"]["output"]["SECRET"].as_str())?;
        Some(s.to_string())
    }
}

/// One keep-alive connection.
pub struct Conn {
    io: Box<dyn Io>,
    buf: Vec<u8>,
    /// Bytes of `buf` already read but not yet consumed.
    filled: usize,
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn bad(msg: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, msg)
}

impl Conn {
    pub async fn open(t: &Target) -> std::io::Result<Conn> {
        Ok(Conn {
            io: connect(t).await?,
            buf: vec![0; 64 * 1024],
            filled: 0,
        })
    }

    /// Send one request and read its whole answer (`Content-Length` bodies only, which is all
    /// dlsim and the baselines send for these requests).
    pub async fn send(&mut self, req: &[u8]) -> std::io::Result<Answer> {
        self.io.write_all(req).await?;
        let head_end = loop {
            if let Some(e) = find(&self.buf[..self.filled], b"\r\n\r\n") {
                break e + 4;
            }
            if self.filled == self.buf.len() {
                return Err(bad("answer head too large".into()));
            }
            let n = self.io.read(&mut self.buf[self.filled..]).await?;
            if n == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            self.filled += n;
        };
        let head = std::str::from_utf8(&self.buf[..head_end]).map_err(|e| bad(e.to_string()))?;
        let status: u16 = head
            .get(9..12)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad(format!("no status line: {head:?}")))?;
        let mut length = 0usize;
        for line in head.split("\r\n").skip(1) {
            if let Some((k, v)) = line.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    length = v.trim().parse().map_err(|_| bad(line.to_string()))?;
                } else if k.eq_ignore_ascii_case("transfer-encoding") {
                    return Err(bad(format!("chunked answers are not read: {head:?}")));
                }
            }
        }
        let mut body = Vec::with_capacity(length);
        let have = (self.filled - head_end).min(length);
        body.extend_from_slice(&self.buf[head_end..head_end + have]);
        let rest = head_end + have;
        self.buf.copy_within(rest..self.filled, 0);
        self.filled -= rest;
        while body.len() < length {
            let want = (length - body.len()).min(self.buf.len());
            let n = self.io.read(&mut self.buf[..want]).await?;
            if n == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            body.extend_from_slice(&self.buf[..n]);
        }
        Ok(Answer { status, body })
    }
}

/// One unit of work on a connection (one request, or a create → prepare → delete cycle);
/// an `Err` is counted as an error.
pub trait Unit: Send + Sync + 'static {
    fn run<'a>(
        &'a self,
        conn: &'a mut Conn,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>> + Send + 'a>>;
}

/// A load's shape.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    pub connections: usize,
    pub duration: Duration,
    /// Units per connection at most, whatever the duration.
    pub max_units_per_conn: u64,
    /// Discarded before measuring.
    pub warmup: Duration,
}

#[derive(Debug, Clone, Default)]
pub struct Stats {
    pub units: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    pub seconds: f64,
    /// Latency of every unit, in nanoseconds, sorted.
    pub latencies: Vec<u64>,
}

impl Stats {
    pub fn per_second(&self) -> f64 {
        self.units as f64 / self.seconds.max(1e-9)
    }
    fn quantile_ms(&self, q: f64) -> f64 {
        if self.latencies.is_empty() {
            return 0.0;
        }
        let i = ((self.latencies.len() as f64 - 1.0) * q).round() as usize;
        self.latencies[i] as f64 / 1e6
    }
    pub fn median_ms(&self) -> f64 {
        self.quantile_ms(0.5)
    }
    pub fn p99_ms(&self) -> f64 {
        self.quantile_ms(0.99)
    }
}

/// Drive `unit` on `shape.connections` connections for the warm-up, then for the duration.
pub async fn drive(target: &Target, unit: Arc<dyn Unit>, shape: Shape) -> Stats {
    if !shape.warmup.is_zero() {
        let warm = Shape {
            duration: shape.warmup,
            warmup: Duration::ZERO,
            ..shape
        };
        Box::pin(drive(target, unit.clone(), warm)).await;
    }
    let start = Instant::now();
    let deadline = start + shape.duration;
    let mut tasks = vec![];
    for _ in 0..shape.connections {
        let (target, unit) = (target.clone(), unit.clone());
        tasks.push(tokio::spawn(async move {
            let mut s = Stats::default();
            let mut conn = None;
            // At least one attempt per connection, even if it starts after the deadline.
            while (s.units + s.errors == 0 || Instant::now() < deadline)
                && s.units + s.errors < shape.max_units_per_conn
            {
                let c = match conn.as_mut() {
                    Some(c) => c,
                    None => match Conn::open(&target).await {
                        Ok(c) => conn.insert(c),
                        Err(e) => {
                            s.errors += 1;
                            s.first_error.get_or_insert(format!("connect: {e}"));
                            tokio::time::sleep(Duration::from_millis(10)).await;
                            continue;
                        }
                    },
                };
                let t = Instant::now();
                match unit.run(c).await {
                    Ok(()) => {
                        s.units += 1;
                        s.latencies.push(t.elapsed().as_nanos() as u64);
                    }
                    Err(e) => {
                        s.errors += 1;
                        s.first_error.get_or_insert(e);
                        conn = None; // a fresh connection after any error
                    }
                }
            }
            s
        }));
    }
    let mut all = Stats::default();
    for t in tasks {
        let s = t.await.expect("a load task panicked");
        all.units += s.units;
        all.errors += s.errors;
        if all.first_error.is_none() {
            all.first_error = s.first_error;
        }
        all.latencies.extend(s.latencies);
    }
    all.seconds = start.elapsed().as_secs_f64();
    all.latencies.sort_unstable();
    all
}

/// Download a URI over a fresh connection (plain or TLS), reading 1 MiB at a time and
/// discarding the bytes. Returns (bytes, seconds).
pub async fn download(uri: &str) -> Result<(u64, f64), String> {
    let target = Target::from_url(uri);
    let path = uri
        .splitn(4, '/')
        .nth(3)
        .ok_or_else(|| format!("no path in {uri}"))?;
    let request = format!(
        "GET /{path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        target.host
    );
    let t = Instant::now();
    let mut stream = connect(&target).await.map_err(|e| e.to_string())?;
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut buf = vec![0u8; 1 << 20];
    let mut head = Vec::new();
    let mut body = 0u64;
    let mut length = None;
    loop {
        let n = stream.read(&mut buf).await.map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        match length {
            Some(_) => body += n as u64,
            None => {
                head.extend_from_slice(&buf[..n]);
                if let Some(end) = find(&head, b"\r\n\r\n") {
                    let text = String::from_utf8_lossy(&head[..end]).to_lowercase();
                    if !text.starts_with("http/1.1 200") {
                        return Err(format!("download answered {text}"));
                    }
                    let cl = text
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse::<u64>().ok())
                        .ok_or("no Content-Length")?;
                    length = Some(cl);
                    body = (head.len() - end - 4) as u64;
                }
            }
        }
        if length.is_some_and(|l| body >= l) {
            break;
        }
    }
    match length {
        Some(l) if body == l => Ok((body, t.elapsed().as_secs_f64())),
        _ => Err(format!("download cut after {body} bytes")),
    }
}
