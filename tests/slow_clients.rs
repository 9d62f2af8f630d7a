//! Slow and stuck clients: a connection that sends nothing, half a request line, half its
//! headers, or stays idle after an answer is closed once the header-read timeout passes, over
//! HTTP and over TLS, while other clients are served as usual.

mod common;

use std::time::Duration;

use common::forms::{Client, Form};
use dlsim::Dlsim;
use rstest::rstest;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Short enough for a test, long enough that a served request never trips it.
const TIMEOUT: Duration = Duration::from_millis(400);
/// How long a test waits for the server to close at most (a hang guard, not a timing check).
const HANG_GUARD: Duration = Duration::from_secs(10);

async fn fake(tls: bool) -> Dlsim {
    let b = Dlsim::builder().header_read_timeout(TIMEOUT);
    if tls { b.tls() } else { b }.start().await
}

fn addr(fake: &Dlsim) -> String {
    fake.base_url().split("://").nth(1).unwrap().to_string()
}

/// Read until the server closes the connection; what it sent before that.
async fn read_until_closed(io: &mut (impl AsyncRead + Unpin)) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = tokio::time::timeout(HANG_GUARD, io.read(&mut buf))
            .await
            .expect("the server closes a stuck connection")
            .unwrap_or(0);
        if n == 0 {
            return got;
        }
        got.extend_from_slice(&buf[..n]);
    }
}

/// A normal client gets its answer while stuck connections are open.
async fn others_are_served(fake: &Dlsim) {
    let c = Client::logged_in(fake, Form::Api).await;
    assert_eq!(c.libraries().await.status, 200);
}

#[rstest]
#[case::nothing(b"" as &[u8])]
#[case::half_a_request_line(b"GET /api/sess")]
#[case::a_request_line_without_headers(b"GET /api/session HTTP/1.1\r\n")]
#[case::half_the_headers(b"GET /api/session HTTP/1.1\r\nHost: x\r\nvmware-api-sess")]
#[tokio::test]
async fn a_stuck_connection_is_closed_after_the_header_timeout(#[case] sent: &[u8]) {
    let fake = fake(false).await;
    let mut sock = TcpStream::connect(addr(&fake)).await.unwrap();
    sock.write_all(sent).await.unwrap();
    others_are_served(&fake).await;
    let answer = read_until_closed(&mut sock).await;
    // hyper closes without an answer: nothing was asked that could be answered.
    assert!(answer.is_empty(), "{}", String::from_utf8_lossy(&answer));
    others_are_served(&fake).await;
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_header_timeout() {
    let fake = fake(false).await;
    let mut sock = TcpStream::connect(addr(&fake)).await.unwrap();
    sock.write_all(b"GET /api/session HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let answer = String::from_utf8_lossy(&read_until_closed(&mut sock).await).to_string();
    assert!(answer.starts_with("HTTP/1.1 401 "), "{answer}");
    assert!(answer.contains("UNAUTHENTICATED"), "{answer}");
}

#[tokio::test]
async fn over_tls_a_silent_connection_is_closed_after_the_header_timeout() {
    let fake = fake(true).await;
    let pem = &fake.certificate().expect("started with TLS").pem;
    let connector = tokio_rustls::TlsConnector::from(common::tls::trusting(pem));
    let tcp = TcpStream::connect(addr(&fake)).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let mut tls = connector.connect(name, tcp).await.unwrap();
    tls.write_all(b"GET /api/ses").await.unwrap();
    tls.flush().await.unwrap();
    others_are_served(&fake).await;
    assert!(read_until_closed(&mut tls).await.is_empty());
}

/// Many stuck connections at once neither stop the server nor linger.
#[tokio::test]
async fn many_stuck_connections_are_all_closed_and_others_are_served() {
    let fake = fake(false).await;
    let mut socks = Vec::new();
    for i in 0..50 {
        let mut s = TcpStream::connect(addr(&fake)).await.unwrap();
        if i % 2 == 1 {
            s.write_all(b"POST /api/session HTTP/1.1\r\n")
                .await
                .unwrap();
        }
        socks.push(s);
    }
    others_are_served(&fake).await;
    for s in &mut socks {
        assert!(read_until_closed(s).await.is_empty());
    }
    others_are_served(&fake).await;
}
