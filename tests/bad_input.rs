//! The bad-input matrix, per wire form (`/api`, `/rest`, and the `/cls/data` downloads):
//! malformed, truncated and non-UTF-8 bodies and paths, deep nesting, huge numbers, unknown
//! enum values, path traversal (plain and percent-encoded), oversized bodies and headers,
//! unknown actions and methods, missing, forged and logged-out tokens, another user's session.
//!
//! Each request is sent raw over TCP (so anything can be sent) and must be answered within a
//! hang guard with the right status and a JSON error body of its form that passes the form's
//! schema; the store (both users' session lists, each session's model and files) must be the
//! same afterwards, and the server must go on serving. What hyper refuses before any handler
//! sees the request (a bare 400 without a body) is pinned down in its own test and listed in
//! the README as a known limit.

mod common;

use std::time::Duration;

use common::forms::{Client, Form};
use common::{ISO_ITEM, OVF_ITEM};
use dlsim::Dlsim;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Not a timing check: a request that is not answered within this long has hung.
const HANG_GUARD: Duration = Duration::from_secs(5);

const API_DS: &str = "/api/content/library/item/download-session";
const REST_DS: &str = "/rest/com/vmware/content/library/item/download-session";
const REST_FILE: &str = "/rest/com/vmware/content/library/item/downloadsession/file";

/// An HTTP answer read off the wire.
#[derive(Debug)]
struct Answer {
    status: u16,
    head: String,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

/// A raw request: method, path (any bytes), extra headers, body.
struct Raw {
    method: Vec<u8>,
    path: Vec<u8>,
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
}

impl Raw {
    fn new(method: &str, path: impl Into<Vec<u8>>) -> Self {
        Raw {
            method: method.as_bytes().to_vec(),
            path: path.into(),
            headers: vec![],
            body: vec![],
        }
    }
    fn header(mut self, name: &str, value: impl Into<Vec<u8>>) -> Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }
    fn token(self, token: &str) -> Self {
        self.header("vmware-api-session-id", token)
    }
    fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }
    fn bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&self.method);
        out.push(b' ');
        out.extend_from_slice(&self.path);
        out.extend_from_slice(b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
        for (k, v) in &self.headers {
            out.extend_from_slice(k.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(v);
            out.extend_from_slice(b"\r\n");
        }
        if !self.body.is_empty() {
            out.extend_from_slice(b"Content-Type: application/json\r\n");
            out.extend_from_slice(format!("Content-Length: {}\r\n", self.body.len()).as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&self.body);
        out
    }
}

fn addr(fake: &Dlsim) -> String {
    fake.base_url().trim_start_matches("http://").to_string()
}

/// Send raw bytes and read the answer until the server closes (within the hang guard).
async fn send_bytes(fake: &Dlsim, bytes: &[u8]) -> Vec<u8> {
    tokio::time::timeout(HANG_GUARD, async {
        let mut sock = tokio::net::TcpStream::connect(addr(fake)).await.unwrap();
        // The server may answer (413, 431) and close before it read everything.
        let _ = sock.write_all(bytes).await;
        let mut got = Vec::new();
        let _ = sock.read_to_end(&mut got).await;
        got
    })
    .await
    .expect("answered within the hang guard")
}

fn parse(got: &[u8]) -> Answer {
    let split = got
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP head in {:?}", String::from_utf8_lossy(got)));
    let head = String::from_utf8_lossy(&got[..split]).to_string();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {head}"));
    let mut body = got[split + 4..].to_vec();
    let answer = Answer {
        status,
        head,
        body: vec![],
    };
    if let Some(len) = answer.header("content-length").and_then(|v| v.parse().ok()) {
        body.truncate(len);
    }
    Answer { body, ..answer }
}

async fn send(fake: &Dlsim, raw: &Raw) -> Answer {
    parse(&send_bytes(fake, &raw.bytes()).await)
}

/// The error type of an error answer, after checking it is a JSON error body of `form`.
fn error_type(answer: &Answer, form: Form, what: &str) -> String {
    assert_eq!(
        answer.header("content-type"),
        Some("application/json"),
        "{what}: {answer:?}"
    );
    let body: Value = serde_json::from_slice(&answer.body).unwrap_or_else(|e| {
        panic!(
            "{what}: not JSON ({e}): {}",
            String::from_utf8_lossy(&answer.body)
        )
    });
    match form {
        Form::Api => {
            common::assert_schema("api/error", &body);
            body["error_type"].as_str().unwrap().to_string()
        }
        Form::Rest => {
            common::assert_schema("rest/error", &body);
            dlsim::ErrorType::from_canonical_name(body["type"].as_str().unwrap())
                .expect("a standard error type")
                .as_str()
                .to_string()
        }
    }
}

/// Two users with a session each, a prepared file with its download URI, and a logged-out
/// token.
struct World {
    fake: Dlsim,
    admin: Client,
    operator: Client,
    token: String,
    stale: String,
    mine: String,
    theirs: String,
    download: String,
}

async fn world() -> World {
    let fake = Dlsim::start().await;
    let mut admin = Client::new(Form::Api, fake.base_url());
    admin.login(fake.username(), fake.password()).await;
    let mut operator = Client::new(Form::Api, fake.base_url());
    operator
        .login("operator@vsphere.local", fake.password())
        .await;
    let mine = admin.create(OVF_ITEM, None).await.string();
    let theirs = operator.create(ISO_ITEM, None).await.string();
    let f = admin.prepare(&mine, "photon-5.ovf", None).await;
    let uri = f.ok()["download_endpoint"]["uri"].as_str().unwrap();
    let download = format!("/{}", uri.splitn(4, '/').nth(3).unwrap());
    let mut gone = Client::new(Form::Api, fake.base_url());
    let stale = gone.login(fake.username(), fake.password()).await.string();
    gone.logout().await.done();
    World {
        token: admin.token.clone().unwrap(),
        fake,
        admin,
        operator,
        stale,
        mine,
        theirs,
        download,
    }
}

impl World {
    /// Everything observable about the store, through both users.
    async fn observe(&self) -> Value {
        let mut out = vec![];
        for c in [&self.admin, &self.operator] {
            let ids = c.list(None).await.ok().clone();
            let mut sessions = vec![];
            for id in ids.as_array().unwrap() {
                let id = id.as_str().unwrap();
                sessions.push(json!({
                    "id": id,
                    "model": c.get(id).await.ok(),
                    "files": c.file_list(id).await.ok(),
                }));
            }
            out.push(Value::Array(sessions));
        }
        Value::Array(out)
    }

    /// Send each case; check its answer, that the store did not change and that others are
    /// still served.
    async fn check(&self, form: Form, cases: Vec<(&str, Raw, u16, &str)>) {
        let before = self.observe().await;
        for (name, raw, status, expected) in cases {
            let answer = send(&self.fake, &raw).await;
            assert_eq!(answer.status, status, "{name}: {answer:?}");
            // What the client sent is echoed clipped: no answer is an amplified request.
            assert!(
                answer.body.len() < 4096,
                "{name}: a {} byte answer",
                answer.body.len()
            );
            let got = error_type(&answer, form, name);
            assert_eq!(got, expected, "{name}");
            assert_eq!(self.observe().await, before, "{name} changed the store");
        }
    }
}

fn nested(depth: usize) -> Vec<u8> {
    let mut v = vec![b'['; depth];
    v.extend(std::iter::repeat_n(b']', depth));
    v
}

fn nested_objects(depth: usize) -> Vec<u8> {
    let mut v = b"{\"progress\":".repeat(depth);
    v.extend_from_slice(b"1");
    v.extend(std::iter::repeat_n(b'}', depth));
    v
}

/// The bad inputs both REST forms share, with the paths and names of `form`.
fn shared_cases(w: &World, form: Form) -> Vec<(&'static str, Raw, u16, &'static str)> {
    let t = w.token.as_str();
    let (ds, ka, create, prepare, file_get) = match form {
        Form::Api => (
            format!("{API_DS}/{}", w.mine),
            format!("{API_DS}/{}?action=keep-alive", w.mine),
            API_DS.to_string(),
            format!("{API_DS}/{}/file?action=prepare", w.mine),
            format!("{API_DS}/{}/file?file_name=", w.mine),
        ),
        Form::Rest => (
            format!("{REST_DS}/id:{}", w.mine),
            format!("{REST_DS}/id:{}?~action=keep-alive", w.mine),
            REST_DS.to_string(),
            format!("{REST_FILE}/id:{}?~action=prepare", w.mine),
            format!("{REST_FILE}/id:{}?~action=get", w.mine),
        ),
    };
    let create_body = |json: &str| match form {
        Form::Api => json.as_bytes().to_vec(),
        Form::Rest => format!(r#"{{"create_spec":{json}}}"#).into_bytes(),
    };
    let file_get_raw = |name: &str| match form {
        Form::Api => Raw::new("GET", format!("{file_get}{name}")).token(t),
        Form::Rest => Raw::new("POST", file_get.clone())
            .token(t)
            .body(format!(r#"{{"file_name":"{name}"}}"#)),
    };
    let of = |id: &str| match form {
        Form::Api => format!("{API_DS}/{id}"),
        Form::Rest => format!("{REST_DS}/id:{id}"),
    };
    let action = |id: &str, a: &str| match form {
        Form::Api => format!("{API_DS}/{id}?action={a}"),
        Form::Rest => format!("{REST_DS}/id:{id}?~action={a}"),
    };
    let mut big = create_body(&format!(
        r#"{{"library_item_id":"{}"}}"#,
        "x".repeat(1 << 20)
    ));
    big.truncate((1 << 20) + 10);
    vec![
        (
            "malformed JSON",
            Raw::new("POST", create.clone())
                .token(t)
                .body("{\"library_item_id\" 1}"),
            400,
            "INVALID_REQUEST",
        ),
        (
            "truncated JSON",
            Raw::new("POST", ka.clone())
                .token(t)
                .body("{\"progress\": 5"),
            400,
            "INVALID_REQUEST",
        ),
        (
            "a body that is not UTF-8",
            Raw::new("POST", create.clone()).token(t).body(
                create_body(r#"{"library_item_id":"@"}"#)
                    .iter()
                    .map(|&b| if b == b'@' { 0xff } else { b })
                    .collect::<Vec<u8>>(),
            ),
            400,
            "INVALID_REQUEST",
        ),
        (
            "10 000 nested arrays",
            Raw::new("POST", ka.clone()).token(t).body(nested(10_000)),
            400,
            "INVALID_REQUEST",
        ),
        (
            "10 000 nested objects",
            Raw::new("POST", ka.clone())
                .token(t)
                .body(nested_objects(10_000)),
            400,
            "INVALID_REQUEST",
        ),
        (
            "progress 1e400",
            Raw::new("POST", ka.clone())
                .token(t)
                .body("{\"progress\":1e400}"),
            400,
            "INVALID_REQUEST",
        ),
        (
            "progress 2^70",
            Raw::new("POST", ka.clone())
                .token(t)
                .body("{\"progress\":1180591620717411303424}"),
            400,
            "INVALID_ARGUMENT",
        ),
        (
            "progress -2^70",
            Raw::new("POST", ka.clone())
                .token(t)
                .body("{\"progress\":-1180591620717411303424}"),
            400,
            "INVALID_ARGUMENT",
        ),
        (
            "progress i64::MAX",
            Raw::new("POST", ka.clone())
                .token(t)
                .body("{\"progress\":9223372036854775807}"),
            400,
            "INVALID_ARGUMENT",
        ),
        (
            "endpoint_type FTP",
            Raw::new("POST", prepare.clone())
                .token(t)
                .body(r#"{"file_name":"photon-5.ovf","endpoint_type":"FTP"}"#),
            400,
            "INVALID_ARGUMENT",
        ),
        (
            "a traversing file name to prepare",
            Raw::new("POST", prepare.clone())
                .token(t)
                .body(r#"{"file_name":"../../../etc/passwd"}"#),
            400,
            "INVALID_ARGUMENT",
        ),
        (
            "a traversing file name to get",
            file_get_raw("..%2F..%2Fetc%2Fpasswd"),
            400,
            "INVALID_ARGUMENT",
        ),
        (
            "an encoded traversing file name to get",
            file_get_raw("%2e%2e%2f%2e%2e%2fphoton-5.ovf"),
            400,
            "INVALID_ARGUMENT",
        ),
        (
            "a traversing session id",
            Raw::new("GET", of("..%2F..%2F..%2Fsession")).token(t),
            404,
            "NOT_FOUND",
        ),
        (
            "an encoded traversing session id",
            Raw::new("GET", of("%2e%2e%2f%2e%2e%2fsession")).token(t),
            404,
            "NOT_FOUND",
        ),
        (
            "a traversing path",
            Raw::new("GET", format!("{ds}/../../../../session")).token(t),
            404,
            "NOT_FOUND",
        ),
        (
            "a 60 KiB session id",
            Raw::new("GET", of(&"a".repeat(60 << 10))).token(t),
            404,
            "NOT_FOUND",
        ),
        (
            "a 512 KiB file name",
            Raw::new("POST", prepare.clone())
                .token(t)
                .body(format!(r#"{{"file_name":"{}"}}"#, "b".repeat(512 << 10))),
            400,
            "INVALID_ARGUMENT",
        ),
        (
            "a body over 1 MiB",
            Raw::new("POST", create.clone()).token(t).body(big),
            413,
            "INVALID_REQUEST",
        ),
        (
            "a 100 KiB header",
            Raw::new("GET", ds.clone())
                .token(t)
                .header("x-padding", "a".repeat(100 << 10)),
            431,
            "INVALID_REQUEST",
        ),
        (
            "an unknown action",
            Raw::new("POST", action(&w.mine, "explode")).token(t),
            400,
            "INVALID_REQUEST",
        ),
        (
            "PATCH",
            Raw::new("PATCH", ds.clone()).token(t),
            405,
            "OPERATION_NOT_FOUND",
        ),
        (
            "an unknown method",
            Raw::new("BREW", ds.clone()).token(t),
            405,
            "OPERATION_NOT_FOUND",
        ),
        (
            "a lowercase method",
            Raw::new("get", ds.clone()).token(t),
            405,
            "OPERATION_NOT_FOUND",
        ),
        (
            "no token",
            Raw::new("GET", ds.clone()),
            401,
            "UNAUTHENTICATED",
        ),
        (
            "a forged token",
            Raw::new("POST", action(&w.mine, "cancel")).token("0123456789abcdef0123456789abcdef"),
            401,
            "UNAUTHENTICATED",
        ),
        (
            "a token that is not ASCII",
            Raw::new("DELETE", ds.clone()).header("vmware-api-session-id", b"\xff\xfe".to_vec()),
            401,
            "UNAUTHENTICATED",
        ),
        (
            "a logged-out token",
            Raw::new("DELETE", ds.clone()).token(&w.stale),
            401,
            "UNAUTHENTICATED",
        ),
        (
            "another user's session: get",
            Raw::new("GET", of(&w.theirs)).token(t),
            404,
            "NOT_FOUND",
        ),
        (
            "another user's session: cancel",
            Raw::new("POST", action(&w.theirs, "cancel")).token(t),
            404,
            "NOT_FOUND",
        ),
        (
            "another user's session: delete",
            Raw::new("DELETE", of(&w.theirs)).token(t),
            404,
            "NOT_FOUND",
        ),
        (
            "a path segment that is not UTF-8 once decoded",
            Raw::new("GET", of("%ff%fe")).token(t),
            400,
            "INVALID_ARGUMENT",
        ),
    ]
}

#[tokio::test]
async fn api_bad_inputs_get_api_errors_and_change_nothing() {
    let w = world().await;
    let mut cases = shared_cases(&w, Form::Api);
    cases.push((
        "an unknown route",
        Raw::new("GET", "/api/content/library/item/download-sessions").token(&w.token),
        404,
        "NOT_FOUND",
    ));
    w.check(Form::Api, cases).await;
}

#[tokio::test]
async fn rest_bad_inputs_get_rest_errors_and_change_nothing() {
    let w = world().await;
    let mut cases = shared_cases(&w, Form::Rest);
    cases.push((
        "a path id without id:",
        Raw::new("GET", format!("{REST_DS}/{}", w.mine)).token(&w.token),
        400,
        "INVALID_ARGUMENT",
    ));
    cases.push((
        "a session cookie that is forged",
        Raw::new("GET", format!("{REST_DS}/id:{}", w.mine))
            .header("cookie", "vmware-api-session-id=../../etc"),
        401,
        "UNAUTHENTICATED",
    ));
    w.check(Form::Rest, cases).await;
}

#[tokio::test]
async fn download_bad_inputs_get_api_errors_and_change_nothing() {
    let w = world().await;
    let d = w.download.clone();
    let (token_path, _) = d.rsplit_once('/').unwrap();
    let cases = vec![
        (
            "a forged token",
            Raw::new(
                "GET",
                "/cls/data/0123456789abcdef0123456789abcdef/photon-5.ovf",
            ),
            404,
            "NOT_FOUND",
        ),
        (
            "a traversing file",
            Raw::new("GET", format!("{token_path}/..%2F..%2Fetc%2Fpasswd")),
            404,
            "NOT_FOUND",
        ),
        (
            "an encoded traversing file",
            Raw::new(
                "GET",
                format!("{token_path}/%2e%2e%2f%2e%2e%2fphoton-5.ovf"),
            ),
            404,
            "NOT_FOUND",
        ),
        (
            "a traversing path",
            Raw::new("GET", format!("{token_path}/../../../etc/passwd")),
            404,
            "NOT_FOUND",
        ),
        (
            "a traversing token",
            Raw::new("GET", "/cls/data/..%2F..%2Fetc/passwd"),
            404,
            "NOT_FOUND",
        ),
        (
            "a file of another item",
            Raw::new(
                "GET",
                format!("{token_path}/ubuntu-24.04-live-server-amd64.iso"),
            ),
            404,
            "NOT_FOUND",
        ),
        (
            "a file not prepared",
            Raw::new("GET", format!("{token_path}/photon-5.mf")),
            404,
            "NOT_FOUND",
        ),
        (
            "a file name that is not UTF-8 once decoded",
            Raw::new("GET", format!("{token_path}/%ff")),
            400,
            "INVALID_ARGUMENT",
        ),
        (
            "a range past the end",
            Raw::new("GET", d.clone()).header("range", "bytes=99999999999999-"),
            416,
            "INVALID_ARGUMENT",
        ),
        (
            "a 100 KiB header",
            Raw::new("GET", d.clone()).header("x-padding", "a".repeat(100 << 10)),
            431,
            "INVALID_REQUEST",
        ),
        (
            "POST",
            Raw::new("POST", d.clone()).body("{}"),
            405,
            "OPERATION_NOT_FOUND",
        ),
        (
            "an unknown method",
            Raw::new("BREW", d.clone()),
            405,
            "OPERATION_NOT_FOUND",
        ),
    ];
    w.check(Form::Api, cases).await;
}

/// What hyper refuses before a handler runs gets a bare 400 (no JSON body, the README's known
/// limits): a request line that is not HTTP, raw non-ASCII bytes in the path, a bad
/// Content-Length. The server goes on serving; nothing changes.
#[tokio::test]
async fn what_hyper_refuses_before_any_handler_is_a_bare_400_and_the_server_goes_on() {
    let w = world().await;
    let before = w.observe().await;
    let t = &w.token;
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "raw non-ASCII bytes in the path",
            Raw::new("GET", b"/api/content/library/\xff\xfe".to_vec()).token(t).bytes(),
        ),
        (
            "a Content-Length that is not a number",
            format!("POST {API_DS} HTTP/1.1\r\nHost: x\r\nvmware-api-session-id: {t}\r\nContent-Length: abc\r\n\r\n{{}}")
                .into_bytes(),
        ),
        (
            "two different Content-Lengths",
            format!("POST {API_DS} HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{{}}")
                .into_bytes(),
        ),
        ("a request line that is not HTTP", b"HELLO\r\n\r\n".to_vec()),
    ];
    for (name, bytes) in cases {
        let got = send_bytes(&w.fake, &bytes).await;
        let answer = parse(&got);
        assert_eq!(answer.status, 400, "{name}: {answer:?}");
        assert!(answer.body.is_empty(), "{name}: {answer:?}");
        assert_eq!(w.observe().await, before, "{name} changed the store");
    }
    // An HTTP/2 preface on this HTTP/1.1 server: the connection is closed without an answer.
    let got = send_bytes(&w.fake, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").await;
    assert!(got.is_empty() || got.starts_with(b"HTTP/1.1 "), "{got:?}");
    assert_eq!(w.observe().await, before);
}
