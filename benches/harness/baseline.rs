//! The baselines the harness builds itself, each on its own threads so it does not share a
//! runtime with the load generator: a bare hyper server answering every request with fixed
//! bytes (those of a get-session answer), and a bare file server writing a file with
//! `sendfile(2)` (Linux; elsewhere a plain read/write loop).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use http_body_util::Full;
use hyper::body::Bytes;

/// A running baseline; stopped when dropped.
pub struct Baseline {
    pub base_url: String,
    stop: Arc<AtomicBool>,
    addr: std::net::SocketAddr,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Baseline {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = TcpStream::connect(self.addr);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A bare hyper HTTP/1.1 server on 127.0.0.1 (port 0), its own two-worker runtime, answering
/// every request 200 with `body` as `application/json`.
pub fn bare_hyper(body: Vec<u8>) -> Baseline {
    let std_listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let addr = std_listener.local_addr().unwrap();
    std_listener.set_nonblocking(true).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let body = Bytes::from(body);
    let thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(std_listener).unwrap();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                if flag.load(Ordering::SeqCst) {
                    break;
                }
                let _ = stream.set_nodelay(true);
                let body = body.clone();
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |_req| {
                        let body = body.clone();
                        async move {
                            Ok::<_, std::convert::Infallible>(
                                hyper::Response::builder()
                                    .header("content-type", "application/json")
                                    .body(Full::new(body))
                                    .unwrap(),
                            )
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        rt.shutdown_background();
    });
    Baseline {
        base_url: format!("http://{addr}"),
        stop,
        addr,
        thread: Some(thread),
    }
}

/// A bare file server on 127.0.0.1 (port 0): one thread per connection, every `GET` answered
/// 200 with the whole file, its bytes moved by `sendfile(2)`.
pub fn sendfile_server(file: PathBuf) -> Baseline {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let thread = std::thread::spawn(move || {
        let mut workers = vec![];
        for stream in listener.incoming() {
            if flag.load(Ordering::SeqCst) {
                break;
            }
            let Ok(stream) = stream else { continue };
            let file = file.clone();
            workers.push(std::thread::spawn(move || {
                let _ = serve_file(stream, &file);
            }));
        }
        for w in workers {
            let _ = w.join();
        }
    });
    Baseline {
        base_url: format!("http://{addr}"),
        stop,
        addr,
        thread: Some(thread),
    }
}

fn serve_file(mut stream: TcpStream, path: &std::path::Path) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = stream.read(&mut buf)?;
            if n == 0 {
                return Ok(());
            }
            head.extend_from_slice(&buf[..n]);
            if head.len() > 64 * 1024 {
                return Ok(());
            }
        }
        let close = String::from_utf8_lossy(&head)
            .to_ascii_lowercase()
            .contains("connection: close");
        head.clear();
        let file = std::fs::File::open(path)?;
        let size = file.metadata()?.len();
        write!(
            stream,
            "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {size}\r\n\r\n"
        )?;
        copy_file(&file, &mut stream, size)?;
        if close {
            return Ok(());
        }
    }
}

#[cfg(target_os = "linux")]
fn copy_file(file: &std::fs::File, stream: &mut TcpStream, size: u64) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let mut offset: libc::off_t = 0;
    while (offset as u64) < size {
        let left = (size - offset as u64).min(1 << 30) as usize;
        // SAFETY: both descriptors are open for the duration of the call, and `offset` is a
        // valid pointer to an off_t the kernel advances.
        let n = unsafe { libc::sendfile(stream.as_raw_fd(), file.as_raw_fd(), &mut offset, left) };
        if n < 0 {
            return Err(std::io::Error::last_os_error());
        }
        if n == 0 {
            break;
        }
    }
    Ok(())
}

#[cfg(not(target_os = "linux"))]
fn copy_file(file: &std::fs::File, stream: &mut TcpStream, _size: u64) -> std::io::Result<()> {
    std::io::copy(
        &mut std::io::BufReader::with_capacity(1 << 20, file),
        stream,
    )?;
    Ok(())
}
