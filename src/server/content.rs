//! The download endpoints: `GET`/`HEAD /cls/data/<token>/<file>`, as real vCenter shapes them.
//!
//! The URI is its own bearer capability (no session header needed, as with vCenter). It serves
//! while its session is ACTIVE and the file PREPARED: 404 for unknown tokens or files (also
//! after delete or expiry), 410 Gone once the session was canceled or failed. Single byte
//! ranges are served with 206; an unsatisfiable range gets 416. Every refusal, a path that does
//! not decode included, is a JSON error in the `/api` form: the path is decoded here, not by an
//! extractor whose rejection would be plain text.
//!
//! The URI's form is this module's too: the engine reports what [`DataUris`] lays out.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use std::sync::atomic::{AtomicU64, Ordering};

use super::dispatch::{latency_ms, record};
use super::inject::{self, Target};
use super::respond::error_response;
use super::AppState;
use crate::content::ByteStream;
use crate::engine::{DownloadRefused, EndpointLayout};
use crate::faults::{FormName, What};
use crate::journal::Entry;
use crate::model::{ErrorType, VapiError};
use crate::op::OpName;
use crate::wire::Form;

const PREFIX: &str = "/cls/data";

pub fn routes() -> Router<Arc<AppState>> {
    Router::new().route("/cls/data/{token}/{file}", get(download))
}

/// The download URIs this module serves, `{base}/cls/data/{token}/{file}`, as the engine
/// reports them.
#[derive(Debug, Clone)]
pub struct DataUris {
    /// The server's base URL, e.g. `http://127.0.0.1:8080` (no trailing slash).
    base: String,
}

impl DataUris {
    pub fn new(base: &str) -> Self {
        DataUris {
            base: base.to_string(),
        }
    }
}

impl EndpointLayout for DataUris {
    fn https_uri(&self, token: &str, file: &str) -> String {
        format!("{}{PREFIX}/{token}/{}", self.base, crate::ids::escape(file))
    }
}

fn refusal(r: DownloadRefused, file: &str) -> Response {
    let (status, e) = match r {
        DownloadRefused::NotFound => (
            StatusCode::NOT_FOUND,
            VapiError::new(
                ErrorType::NotFound,
                "com.vmware.vdcs.cls-main.transfer_uri_not_found",
                format!("No download is served at this URI for {file}."),
                vec![file.to_string()],
            ),
        ),
        DownloadRefused::Ended(state) => (
            StatusCode::GONE,
            VapiError::new(
                ErrorType::NotAllowedInCurrentState,
                "com.vmware.vdcs.cls-main.transfer_uri_gone",
                format!("The download session of {file} is {state}; its URIs no longer serve."),
                vec![file.to_string(), state.to_string()],
            ),
        ),
        DownloadRefused::NotPrepared => (
            StatusCode::NOT_FOUND,
            VapiError::new(
                ErrorType::NotFound,
                "com.vmware.vdcs.cls-main.file_not_prepared",
                format!("{file} is not prepared for an HTTPS download."),
                vec![file.to_string()],
            ),
        ),
    };
    let mut resp = error_response(Form::Api, &e);
    *resp.status_mut() = status;
    resp
}

/// A `Range` header resolved against a size.
#[derive(Debug, PartialEq, Eq)]
pub enum RangeRequest {
    Whole,
    Part(u64, u64),
    Unsatisfiable,
}

/// Read a single `bytes=` range (end exclusive in the result). Anything else means the whole
/// file, as RFC 9110 allows a server to ignore ranges it does not support.
pub fn parse_range(value: Option<&str>, size: u64) -> RangeRequest {
    let Some(spec) = value.and_then(|v| v.trim().strip_prefix("bytes=")) else {
        return RangeRequest::Whole;
    };
    if spec.contains(',') {
        return RangeRequest::Whole;
    }
    let Some((a, b)) = spec.split_once('-') else {
        return RangeRequest::Whole;
    };
    let (a, b) = (a.trim(), b.trim());
    let parsed = match (a.is_empty(), b.is_empty()) {
        (true, false) => match b.parse::<u64>() {
            Ok(0) => return RangeRequest::Unsatisfiable,
            Ok(n) => Some((size.saturating_sub(n), size)),
            Err(_) => None,
        },
        (false, _) => match (a.parse::<u64>(), b.parse::<u64>()) {
            (Ok(s), _) if s >= size => return RangeRequest::Unsatisfiable,
            (Ok(s), Ok(e)) if e >= s => Some((s, (e + 1).min(size))),
            (Ok(s), Err(_)) if b.is_empty() => Some((s, size)),
            _ => None,
        },
        (true, true) => None,
    };
    match parsed {
        Some((s, e)) => RangeRequest::Part(s, e),
        None => RangeRequest::Whole,
    }
}

/// The token and file name of a download path, percent-decoded.
fn token_and_file(uri: &Uri) -> Result<(String, String), Box<Response>> {
    let unknown = || Box::new(refusal(DownloadRefused::NotFound, uri.path()));
    match crate::op::segments(uri.path(), PREFIX) {
        Some(Ok(segs)) => match <[_; 2]>::try_from(segs) {
            Ok([token, file]) => Ok((token.into_owned(), file.into_owned())),
            Err(_) => Err(unknown()),
        },
        Some(Err(r)) => Err(Box::new(error_response(Form::Api, &r.error))),
        None => Err(unknown()),
    }
}

async fn download(
    State(s): State<Arc<AppState>>,
    method: Method,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let (token, file) = match token_and_file(&uri) {
        Ok(tf) => tf,
        Err(resp) => return *resp,
    };
    let started = std::time::Instant::now();
    let arrived = s.engine.clock().now();
    let mut entry = Entry {
        time_ms: arrived.millis(),
        time: arrived,
        form: Some(FormName::Content),
        op: Some(OpName::Download),
        method: crate::journal::method_name(&method),
        path: uri.path().to_string(),
        session: s.engine.session_of_token(&token),
        file: Some(file.clone()),
        ..Entry::default()
    };
    if super::header_bytes(&headers) > super::MAX_HEADER_BYTES {
        let e = crate::wire::request_errors::headers_too_large(super::MAX_HEADER_BYTES);
        let mut resp = error_response(Form::Api, &e);
        *resp.status_mut() = StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE;
        entry.status = resp.status().as_u16();
        entry.latency_ms = latency_ms(&s, started, std::time::Duration::ZERO);
        record(&s, entry);
        return resp;
    }
    let injected = inject::consult(
        &s,
        &Target {
            op: OpName::Download,
            form: FormName::Content,
            session: entry.session.as_deref(),
            item: None,
            file: Some(&file),
            token: None,
            login_user: None,
        },
    );
    entry.faults = injected.labels.clone();
    if let Some(id) = entry.session.as_deref() {
        for (what, glob) in &injected.session {
            s.engine.inject(id, Some(&file), glob.as_deref(), what);
        }
    }
    if !injected.delay.is_zero() {
        tokio::time::sleep(injected.delay).await;
    }
    let finish = |mut entry: Entry, resp: Response| {
        entry.status = resp.status().as_u16();
        entry.latency_ms = latency_ms(&s, started, injected.delay);
        record(&s, entry);
        resp
    };
    if let Some(What::HttpError {
        status,
        retry_after_secs,
    }) = &injected.answer
    {
        let mut resp = error_response(Form::Api, &inject::http_error(*status));
        *resp.status_mut() =
            StatusCode::from_u16(*status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        if let Some(secs) = retry_after_secs {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(*secs));
            entry.retry_after = Some(*secs);
        }
        return finish(entry, resp);
    }
    let d = match s.engine.open_download(&token, &file) {
        Ok(d) => d,
        Err(r) => return finish(entry, refusal(r, &file)),
    };
    entry.item = Some(d.item_id.clone());
    entry.size = Some(d.size);
    let range = headers.get(header::RANGE).and_then(|v| v.to_str().ok());
    let (status, start, end) = match parse_range(range, d.size) {
        RangeRequest::Whole => (StatusCode::OK, 0, d.size),
        RangeRequest::Part(a, b) => (StatusCode::PARTIAL_CONTENT, a, b),
        RangeRequest::Unsatisfiable => {
            let e = VapiError::new(
                ErrorType::InvalidArgument,
                "com.vmware.vdcs.cls-main.range_not_satisfiable",
                format!(
                    "The range {} cannot be served from {file} of {} bytes.",
                    range.unwrap_or_default(),
                    d.size
                ),
                vec![file.clone(), d.size.to_string()],
            );
            let mut resp = error_response(Form::Api, &e);
            *resp.status_mut() = StatusCode::RANGE_NOT_SATISFIABLE;
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{}", d.size)) {
                resp.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            return finish(entry, resp);
        }
    };
    entry.range = Some((start, end));
    let mut shaping = injected.shaping.clone();
    shaping.corrupt_at = d
        .corrupt_at
        .filter(|at| (start..end).contains(at))
        .map(|at| at - start);
    let body = if method == Method::HEAD {
        Body::empty()
    } else {
        match s.content.open(&d, start, end, shaping).await {
            Ok((stream, sent)) => {
                // The entry is journaled when the body is done with: sent in full or cut.
                let guard = JournalOnDrop {
                    state: s.clone(),
                    entry: Some(Entry {
                        status: status.as_u16(),
                        latency_ms: latency_ms(&s, started, injected.delay),
                        ..entry.clone()
                    }),
                    sent,
                };
                Body::from_stream(Guarded {
                    inner: stream,
                    _guard: guard,
                })
            }
            Err(e) => {
                tracing::warn!(file = %file, error = %e, "cannot open content");
                return finish(entry, refusal(DownloadRefused::NotFound, &file));
            }
        }
    };
    let mut resp = (status, body).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(end - start));
    if status == StatusCode::PARTIAL_CONTENT {
        if let Ok(v) = HeaderValue::from_str(&format!("bytes {}-{}/{}", start, end - 1, d.size)) {
            h.insert(header::CONTENT_RANGE, v);
        }
    }
    if method == Method::HEAD {
        return finish(entry, resp);
    }
    resp
}

/// Journals a download once its body is dropped, with the bytes that actually went out.
struct JournalOnDrop {
    state: Arc<AppState>,
    entry: Option<Entry>,
    sent: Arc<AtomicU64>,
}

impl Drop for JournalOnDrop {
    fn drop(&mut self) {
        if let Some(mut entry) = self.entry.take() {
            entry.bytes = self.sent.load(Ordering::Relaxed);
            record(&self.state, entry);
        }
    }
}

/// A body stream that carries its journal guard.
struct Guarded {
    inner: ByteStream,
    _guard: JournalOnDrop,
}

impl futures_core::Stream for Guarded {
    type Item = std::io::Result<axum::body::Bytes>;
    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::RangeRequest::*;
    use super::*;

    #[test]
    fn ranges() {
        let p = |v: &str| parse_range(Some(v), 100);
        assert_eq!(parse_range(None, 100), Whole);
        assert_eq!(p("bytes=0-9"), Part(0, 10));
        assert_eq!(p("bytes=90-"), Part(90, 100));
        assert_eq!(p("bytes=-10"), Part(90, 100));
        assert_eq!(p("bytes=-1000"), Part(0, 100));
        assert_eq!(p("bytes=95-1000"), Part(95, 100));
        assert_eq!(p("bytes=100-"), Unsatisfiable);
        assert_eq!(p("bytes=-0"), Unsatisfiable);
        assert_eq!(p("bytes=5-2"), Whole);
        assert_eq!(p("bytes=0-1,5-6"), Whole);
        assert_eq!(p("items=0-1"), Whole);
        assert_eq!(p("bytes=x-"), Whole);
    }
}
