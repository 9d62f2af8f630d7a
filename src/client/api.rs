//! The calls the careful client makes, in any of the three wire forms (written by
//! [`super::forms`]), with its own small serde types read from each answer's plain document
//! (it never uses dlsim's model, so it can talk to a real vCenter as well).
//!
//! Every call is careful: it waits out a busy server (503 or 429; on JSON-RPC, whose errors
//! come with HTTP 200, SERVICE_UNAVAILABLE or RESOURCE_BUSY) for its `Retry-After` (1 s when
//! absent) and tries again, retries after a connection error with a growing pause, and logs
//! in again when a login has expired (401 or UNAUTHENTICATED), each a bounded number of times
//! (see [`RetryPolicy`]). Calls go one at a time, so no request of this client overtakes a
//! `Retry-After` it was given.

use std::future::Future;
use std::pin::Pin as StdPin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::{Client, RequestBuilder, Response, StatusCode, Url};
use serde::Deserialize;
use tokio::time::Instant;

use super::error::chain;
use super::forms::{self, Call, Exchange, Form};
use super::tls::{client_config, Pin, PinVerifier, Thumbprints};
use super::ClientError;

/// How long one API call may take (downloads have no overall limit).
const CALL_TIMEOUT: Duration = Duration::from_secs(120);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a connection may stay silent, downloads included.
const READ_TIMEOUT: Duration = Duration::from_secs(120);
/// The wait after a 503 or 429 that names none.
pub const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(1);
/// Logins repeated within one call after its answer was 401.
const MAX_RELOGINS: u32 = 2;

/// How patiently [`download`](crate::download) retries: the `retry` field of
/// [`DownloadOptions`](crate::DownloadOptions).
///
/// A call answered 503 or 429 is retried after its `Retry-After`, a call that lost its
/// connection after a pause, and a cut download is resumed where it stopped; each a bounded
/// number of times, and each retry is noted in
/// [`DownloadReport::retries`](crate::DownloadReport::retries). Here the first `create` is
/// answered 503:
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// # let library: dlsim::LibrarySpec = toml::from_str(
/// #     "name = \"isos\"\n[[items]]\nname = \"alpine\"\nfiles = [{ name = \"alpine.iso\", size = 4096 }]",
/// # ).unwrap();
/// use std::time::Duration;
/// use dlsim::{Fault, OpName, RetryPolicy, What};
///
/// let policy = RetryPolicy::default();
/// assert_eq!(policy.attempts, 5);
/// assert_eq!(policy.max_wait, Duration::from_secs(30));
///
/// let fake = dlsim::Dlsim::builder().libraries(vec![library]).start().await;
/// let busy = Fault::new(What::HttpError { status: 503, retry_after_secs: Some(0) })
///     .on(OpName::Create)
///     .call(1);
/// # let item = fake.item_ids(&fake.library_ids()[0]).unwrap()[0].clone();
/// # let dir = tempfile::tempdir().unwrap();
/// # let mut opts =
/// #     dlsim::DownloadOptions::new(fake.base_url(), fake.username(), fake.password(), &item);
/// # opts.output_dir = dir.path().to_path_buf();
/// # opts.poll_interval = std::time::Duration::from_millis(10);
///
/// // With the default policy the client waits the 503 out.
/// fake.add_fault(busy.clone());
/// let report = dlsim::download(&opts, |_event| {}).await.unwrap();
/// assert_eq!(report.retries.len(), 1);
///
/// // Without retries the 503 is the outcome.
/// fake.reset();
/// fake.add_fault(busy);
/// opts.retry = RetryPolicy { attempts: 0, ..RetryPolicy::default() };
/// let err = dlsim::download(&opts, |_event| {}).await.unwrap_err();
/// assert!(err.is_error(503, "SERVICE_UNAVAILABLE"), "{err}");
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries of one call answered 503 or 429, and resumptions of one cut download.
    pub attempts: u32,
    /// The longest `Retry-After` waited; a server asking for more gets its error reported.
    pub max_wait: Duration,
    /// Retries of one API call after a connection error (refused, reset, timeout).
    pub transport_attempts: u32,
    /// The pause before the first such retry (doubling each time), and before resuming a cut
    /// download.
    pub backoff: Duration,
}

impl Default for RetryPolicy {
    /// 5 retries, `Retry-After` up to 30 s, 2 retries after a connection error from 250 ms.
    fn default() -> Self {
        RetryPolicy {
            attempts: 5,
            max_wait: Duration::from_secs(30),
            transport_attempts: 2,
            backoff: Duration::from_millis(250),
        }
    }
}

/// `downloadsession.File.Info`, as much of it as the client reads.
#[derive(Debug, Clone, Deserialize)]
pub struct FileInfo {
    pub name: String,
    #[serde(default)]
    pub size: Option<i64>,
    pub status: String,
    #[serde(default)]
    pub download_endpoint: Option<Endpoint>,
    #[serde(default)]
    pub checksum_info: Option<ChecksumInfo>,
    #[serde(default)]
    pub error_message: Option<Message>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Endpoint {
    pub uri: String,
    #[serde(default)]
    pub ssl_certificate_thumbprint: Option<String>,
    #[serde(default)]
    pub ssl_certificate: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ChecksumInfo {
    #[serde(default)]
    pub algorithm: Option<String>,
    pub checksum: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Message {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub default_message: Option<String>,
}

impl Message {
    pub fn text(&self) -> String {
        self.default_message
            .clone()
            .or_else(|| self.id.clone())
            .unwrap_or_else(|| "(no message)".into())
    }
}

/// `DownloadSession.Info`, as much of it as the client reads.
#[derive(Debug, Clone, Deserialize)]
pub struct SessionInfo {
    #[serde(default)]
    pub state: Option<String>,
    /// RFC 3339.
    #[serde(default)]
    pub expiration_time: Option<String>,
    #[serde(default)]
    pub error_message: Option<Message>,
}

/// The `/api` error body.
#[derive(Debug, Deserialize)]
struct ErrorBody {
    #[serde(default)]
    error_type: Option<String>,
    #[serde(default)]
    messages: Vec<Message>,
}

/// An HTTP client with the TLS policy of one kind of connection.
#[derive(Debug, Clone)]
pub struct Http {
    pub client: Client,
    /// The pinning verifier, when the policy is not platform verification.
    verifier: Option<Arc<PinVerifier>>,
}

impl Http {
    /// `pin: None` means platform (WebPKI) verification.
    pub fn new(pin: Option<Pin>) -> Result<Self, ClientError> {
        crate::install_crypto();
        let mut builder = Client::builder()
            .tls_info(true)
            .connect_timeout(CONNECT_TIMEOUT)
            .read_timeout(READ_TIMEOUT)
            .user_agent(concat!("dlsim-download/", env!("CARGO_PKG_VERSION")));
        let verifier = pin.map(|p| Arc::new(PinVerifier::new(p)));
        if let Some(v) = &verifier {
            builder = builder.tls_backend_preconfigured(client_config(v.clone())?);
        }
        let client = builder.build().map_err(|e| ClientError::Setup(chain(&e)))?;
        Ok(Http { client, verifier })
    }

    /// Send a request; connection errors become readable errors naming `context`.
    pub async fn send(&self, req: RequestBuilder, context: &str) -> Result<Response, ClientError> {
        match req.send().await {
            Ok(r) => Ok(r),
            Err(e) => Err(self.send_error(context, &e)),
        }
    }

    fn send_error(&self, context: &str, e: &reqwest::Error) -> ClientError {
        if let Some(r) = self.verifier.as_ref().and_then(|v| v.take_refused()) {
            return ClientError::ThumbprintMismatch {
                context: context.to_string(),
                expected: r.expected,
                presented: r.presented,
            };
        }
        let mut message = chain(e);
        if message.contains("invalid peer certificate") {
            message.push_str(
                " (for a self-signed certificate, pin it with --thumbprint or use --insecure)",
            );
        }
        ClientError::Transport {
            context: context.to_string(),
            message,
        }
    }
}

/// Whether an error is a connection failure that trying again may cure (not a refused
/// certificate, which will be refused again).
pub fn transient(e: &ClientError) -> bool {
    match e {
        ClientError::Transport { message, .. } => {
            !message.to_ascii_lowercase().contains("certificate")
        }
        _ => false,
    }
}

/// The wait a `Retry-After` header asks for, in seconds (the HTTP-date form is not read).
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// The certificate a response's connection presented, if it was TLS.
pub fn presented(resp: &Response) -> Option<Thumbprints> {
    resp.extensions()
        .get::<reqwest::tls::TlsInfo>()
        .and_then(|i| i.peer_certificate())
        .map(Thumbprints::of)
}

/// Turn an error status of a download URI into [`ClientError::Api`], reading an `/api`-style
/// error body if it has one.
pub async fn error_from(resp: Response, context: &str) -> ClientError {
    let status = resp.status();
    let body = resp.bytes().await.unwrap_or_default();
    error_of(status, &body, context)
}

fn error_of(status: StatusCode, body: &[u8], context: &str) -> ClientError {
    let (error_type, message) = match serde_json::from_slice::<ErrorBody>(body) {
        Ok(b) => (b.error_type, b.messages.first().map(Message::text)),
        Err(_) => {
            let text = String::from_utf8_lossy(body);
            let text = text.trim();
            let snippet: String = text.chars().take(200).collect();
            (None, (!snippet.is_empty()).then_some(snippet))
        }
    };
    ClientError::Api {
        context: context.to_string(),
        status: status.as_u16(),
        error_type,
        message,
    }
}

/// What the client's calls share: the login, and the pace set by the server.
#[derive(Debug, Default)]
struct Calls {
    /// The login token (`vmware-api-session-id`, or JSON-RPC's session id).
    token: Mutex<Option<String>>,
    /// The credentials, to log in again when a login expires.
    credentials: Mutex<Option<(String, String)>>,
    /// One call at a time, so none overtakes a `Retry-After`.
    turn: tokio::sync::Mutex<()>,
    /// One login again at a time.
    relogin: tokio::sync::Mutex<()>,
    /// No request before this (a `Retry-After`, or a pause after a connection error).
    not_before: Mutex<Option<Instant>>,
    /// What was retried and why, for the report.
    notes: Mutex<Vec<String>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The future of [`Api::exchange`].
type Pending<'a> = StdPin<Box<dyn Future<Output = Result<Exchange, ClientError>> + Send + 'a>>;

/// The API of one server in one wire form, logged in or not. Clones share the login and the
/// pace.
#[derive(Debug, Clone)]
pub struct Api {
    pub http: Http,
    /// The server in the chosen form (never logged in itself: the token is in `calls`).
    endpoint: forms::Endpoint,
    /// `https://host/api` (no trailing slash), as given.
    api: Url,
    retry: RetryPolicy,
    calls: Arc<Calls>,
}

/// Resolve a base URL given with or without `/api` (and trailing slashes) to its `/api` URL.
pub fn api_url(base: &str) -> Result<Url, ClientError> {
    let bad = |reason: &str| ClientError::BadUrl {
        url: base.to_string(),
        reason: reason.to_string(),
    };
    let mut url = Url::parse(base.trim()).map_err(|e| bad(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("the scheme must be http or https"));
    }
    if url.host_str().is_none() {
        return Err(bad("no host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("no query or fragment, please"));
    }
    let mut path = url.path().trim_end_matches('/').to_string();
    if let Some(p) = path.strip_suffix("/api") {
        path = p.to_string();
    }
    url.set_path(&format!("{path}/api"));
    Ok(url)
}

/// The server's root (`https://host[:port][/prefix]`) of its `/api` URL.
fn root_of(api: &Url) -> String {
    let s = api.as_str().trim_end_matches('/');
    s.strip_suffix("/api").unwrap_or(s).to_string()
}

fn seconds(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

/// What an error answer says, in the client's terms.
fn call_error(form: Form, answer: &Exchange, context: &str) -> ClientError {
    if answer.rpc && (200..300).contains(&answer.status) {
        let message = match answer.rpc_protocol_error() {
            Some((code, message)) => format!("JSON-RPC error {code} {message:?}"),
            None if answer.rpc_error().is_none() => format!(
                "neither result.output nor result.error in {:?}",
                snippet(&answer.body)
            ),
            None => String::new(),
        };
        if !message.is_empty() {
            return ClientError::Protocol {
                context: context.to_string(),
                message,
            };
        }
    }
    ClientError::Api {
        context: context.to_string(),
        status: answer.status,
        error_type: answer.error_type(form),
        message: answer.error_message(form),
    }
}

fn snippet(body: &[u8]) -> String {
    String::from_utf8_lossy(body).chars().take(200).collect()
}

impl Api {
    /// The `/api` form of the server at `api` (see [`api_url`]).
    pub fn new(api: Url, http: Http) -> Self {
        Api {
            endpoint: forms::Endpoint::new(Form::Api, &root_of(&api), http.clone()),
            http,
            api,
            retry: RetryPolicy::default(),
            calls: Arc::default(),
        }
    }

    /// Speak `form` instead.
    pub fn with_form(mut self, form: Form) -> Self {
        self.endpoint.form = form;
        self
    }

    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    pub fn form(&self) -> Form {
        self.endpoint.form
    }

    /// The URL the calls go to: `…/api` (also JSON-RPC's), or `…/rest`.
    pub fn url(&self) -> String {
        match self.endpoint.form {
            Form::Api | Form::JsonRpc => self.api.to_string(),
            Form::Rest => format!("{}/rest", self.endpoint.root),
        }
    }

    pub fn retry_policy(&self) -> RetryPolicy {
        self.retry
    }

    fn token(&self) -> Option<String> {
        lock(&self.calls.token).clone()
    }

    /// Record something that was retried (see [`Api::take_notes`]).
    pub fn note(&self, what: String) {
        lock(&self.calls.notes).push(what);
    }

    /// What was retried so far, and why.
    pub fn take_notes(&self) -> Vec<String> {
        std::mem::take(&mut *lock(&self.calls.notes))
    }

    /// Send nothing before `d` from now (downloads honour it too).
    pub fn hold_off(&self, d: Duration) {
        let until = Instant::now() + d;
        let mut nb = lock(&self.calls.not_before);
        *nb = Some(nb.map_or(until, |t| t.max(until)));
    }

    /// Wait until requests may be sent again.
    pub async fn pause(&self) {
        let until = *lock(&self.calls.not_before);
        if let Some(t) = until {
            tokio::time::sleep_until(t).await;
        }
    }

    /// The typed result of a successful answer, read from its plain document.
    fn read<T: serde::de::DeserializeOwned>(
        &self,
        answer: &Exchange,
        context: &str,
    ) -> Result<T, ClientError> {
        serde_json::from_value(answer.document(self.form())).map_err(|e| ClientError::Protocol {
            context: context.to_string(),
            message: format!("{e} in {:?}", snippet(&answer.body)),
        })
    }

    /// A call with the login; see [`Api::exchange`].
    async fn call(&self, context: &str, call: Call<'_>) -> Result<Exchange, ClientError> {
        self.exchange(context, true, call).await
    }

    /// Make `call` until it succeeds: when the server is busy (503 or 429, or on JSON-RPC the
    /// errors SERVICE_UNAVAILABLE and RESOURCE_BUSY) wait its `Retry-After` and try again,
    /// after a connection error pause and try again, when the login has expired (401
    /// UNAUTHENTICATED, when `authed`) log in again and try again, each a bounded number of
    /// times. Any other error is the answer.
    ///
    /// Boxed, with `Send` spelled out: logging in again is itself an exchange.
    fn exchange<'a>(&'a self, context: &'a str, authed: bool, call: Call<'a>) -> Pending<'a> {
        Box::pin(async move {
            let form = self.form();
            let (mut busy, mut cuts, mut relogins) = (0, 0, 0);
            loop {
                let turn = self.calls.turn.lock().await;
                self.pause().await;
                let token = if authed { self.token() } else { None };
                let endpoint = forms::Endpoint {
                    token: token.clone(),
                    ..self.endpoint.clone()
                };
                let request = endpoint.request(&call);
                let answer = match request.send(&self.http, context, Some(CALL_TIMEOUT)).await {
                    Ok(a) => a,
                    Err(e) if transient(&e) && cuts < self.retry.transport_attempts => {
                        cuts += 1;
                        let pause = self.retry.backoff * 2u32.pow(cuts - 1);
                        self.note(format!("{e}; retrying in {}", seconds(pause)));
                        self.hold_off(pause);
                        continue;
                    }
                    Err(e) => return Err(e),
                };
                if answer.ok() {
                    return Ok(answer);
                }
                let status = answer.status;
                let error_type = answer.error_type(form);
                let what = match error_type.as_deref() {
                    Some(t) if form == Form::JsonRpc => t.to_string(),
                    _ => format!("HTTP {status}"),
                };
                let is_busy = matches!(status, 429 | 503)
                    || matches!(
                        error_type.as_deref(),
                        Some("SERVICE_UNAVAILABLE" | "RESOURCE_BUSY")
                    );
                if is_busy && busy < self.retry.attempts {
                    let wait = answer.retry_after().unwrap_or(DEFAULT_RETRY_AFTER);
                    if wait <= self.retry.max_wait {
                        busy += 1;
                        self.note(format!(
                            "{context}: {what}, retrying after {}",
                            seconds(wait)
                        ));
                        self.hold_off(wait);
                        continue;
                    }
                }
                let expired = status == 401 || error_type.as_deref() == Some("UNAUTHENTICATED");
                let credentials = lock(&self.calls.credentials).clone();
                if expired && authed && relogins < MAX_RELOGINS {
                    if let Some(credentials) = credentials {
                        relogins += 1;
                        drop(turn);
                        self.note(format!("{context}: {what}, logging in again"));
                        self.relogin(token.as_deref(), credentials).await?;
                        continue;
                    }
                }
                return Err(call_error(form, &answer, context));
            }
        })
    }

    /// Log in again after a 401 to the token `stale`, unless another call already has.
    async fn relogin(
        &self,
        stale: Option<&str>,
        (user, password): (String, String),
    ) -> Result<(), ClientError> {
        let _one = self.calls.relogin.lock().await;
        if self.token().as_deref() != stale {
            return Ok(());
        }
        self.login(&user, &password).await.map(|_| ())
    }

    /// Log in (`/api` and `/rest` with Basic auth, JSON-RPC with a user/password security
    /// context); returns the certificate the server presented.
    pub async fn login(
        &self,
        user: &str,
        password: &str,
    ) -> Result<Option<Thumbprints>, ClientError> {
        let context = format!("logging in to {} as {user}", self.url());
        let answer = self
            .exchange(&context, false, Call::Login { user, password })
            .await?;
        let token: String = self.read(&answer, &context)?;
        *lock(&self.calls.token) = Some(token);
        *lock(&self.calls.credentials) = Some((user.to_string(), password.to_string()));
        Ok(answer.presented)
    }

    /// Log out (a client never logged in has nothing to do).
    pub async fn logout(&self) -> Result<(), ClientError> {
        if self.token().is_none() {
            return Ok(());
        }
        let result = self.call("logging out", Call::Logout).await.map(|_| ());
        *lock(&self.calls.token) = None;
        *lock(&self.calls.credentials) = None;
        result
    }

    /// Create a download session with a client token (so a retried create makes one session).
    pub async fn create_session(
        &self,
        item: &str,
        client_token: &str,
    ) -> Result<String, ClientError> {
        let context = format!("creating a download session for item {item}");
        let call = Call::Create {
            item,
            client_token: Some(client_token),
        };
        let answer = self.call(&context, call).await?;
        self.read(&answer, &context)
    }

    pub async fn get_session(&self, id: &str) -> Result<SessionInfo, ClientError> {
        let context = format!("getting download session {id}");
        let answer = self
            .call(&context, Call::Get(id))
            .await
            .map_err(|e| e.if_lost(id))?;
        self.read(&answer, &context)
    }

    pub async fn list_files(&self, id: &str) -> Result<Vec<FileInfo>, ClientError> {
        let context = format!("listing the files of download session {id}");
        let answer = self
            .call(&context, Call::FileList(id))
            .await
            .map_err(|e| e.if_lost(id))?;
        self.read(&answer, &context)
    }

    /// Prepare `file` for an HTTPS download.
    pub async fn prepare(&self, id: &str, file: &str) -> Result<FileInfo, ClientError> {
        let context = format!("preparing {file}");
        let call = Call::Prepare { session: id, file };
        let answer = self.call(&context, call).await.map_err(|e| e.if_lost(id))?;
        self.read(&answer, &context)
    }

    pub async fn get_file(&self, id: &str, file: &str) -> Result<FileInfo, ClientError> {
        let context = format!("getting the status of {file}");
        let call = Call::FileGet { session: id, file };
        let answer = self.call(&context, call).await.map_err(|e| e.if_lost(id))?;
        self.read(&answer, &context)
    }

    pub async fn keep_alive(&self, id: &str, progress: u64) -> Result<(), ClientError> {
        let call = Call::KeepAlive {
            session: id,
            progress: Some(i64::try_from(progress).unwrap_or(i64::MAX)),
        };
        self.call(&format!("keep-alive (progress {progress})"), call)
            .await
            .map(|_| ())
            .map_err(|e| e.if_lost(id))
    }

    pub async fn fail(&self, id: &str, message: &str) -> Result<(), ClientError> {
        let call = Call::Fail {
            session: id,
            message,
        };
        self.call(&format!("failing download session {id}"), call)
            .await
            .map(|_| ())
            .map_err(|e| e.if_lost(id))
    }

    /// `delete`; `Ok(false)` when the session was already gone (NOT_FOUND).
    pub async fn delete_session(&self, id: &str) -> Result<bool, ClientError> {
        let context = format!("deleting download session {id}");
        match self.call(&context, Call::Delete(id)).await {
            Ok(_) => Ok(true),
            Err(e) if e.is_not_found() => Ok(false),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_with_or_without_api() {
        for base in [
            "https://vc.example:8443",
            "https://vc.example:8443/",
            "https://vc.example:8443/api",
            "https://vc.example:8443/api/",
        ] {
            assert_eq!(
                api_url(base).unwrap().as_str(),
                "https://vc.example:8443/api",
                "{base}"
            );
        }
        assert_eq!(
            api_url("http://h/prefix/api").unwrap().as_str(),
            "http://h/prefix/api"
        );
        assert!(api_url("ftp://h").is_err());
        assert!(api_url("not a url").is_err());
    }

    #[test]
    fn retry_after_reads_seconds_only() {
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert(reqwest::header::RETRY_AFTER, "3".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(3)));
        h.insert(
            reqwest::header::RETRY_AFTER,
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&h), None);
    }

    #[test]
    fn only_connection_failures_are_worth_retrying() {
        let transport = |m: &str| ClientError::Transport {
            context: "c".into(),
            message: m.into(),
        };
        assert!(transient(&transport("connection reset by peer")));
        assert!(!transient(&transport(
            "invalid peer certificate: UnknownIssuer"
        )));
        assert!(!transient(&ClientError::Api {
            context: "c".into(),
            status: 500,
            error_type: None,
            message: None,
        }));
    }
}
