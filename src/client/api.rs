//! The `/api` calls the client makes, with its own small serde types (it never uses dlsim's
//! model, so it can talk to a real vCenter as well).

use std::sync::Arc;
use std::time::Duration;

use reqwest::{Client, RequestBuilder, Response, Url};
use serde::Deserialize;
use serde_json::json;

use super::error::chain;
use super::tls::{client_config, Pin, PinVerifier, Thumbprints};
use super::ClientError;

/// The session header of `/api`.
pub const SESSION_HEADER: &str = "vmware-api-session-id";

/// How long one API call may take (downloads have no overall limit).
const CALL_TIMEOUT: Duration = Duration::from_secs(120);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a connection may stay silent, downloads included.
const READ_TIMEOUT: Duration = Duration::from_secs(120);

/// `downloadsession.File.Info`, as much of it as the client reads.
#[derive(Debug, Clone, Deserialize)]
pub struct FileInfo {
    pub name: String,
    #[serde(default)]
    pub size: Option<i64>,
    #[serde(default)]
    pub bytes_transferred: Option<i64>,
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

/// The certificate a response's connection presented, if it was TLS.
pub fn presented(resp: &Response) -> Option<Thumbprints> {
    resp.extensions()
        .get::<reqwest::tls::TlsInfo>()
        .and_then(|i| i.peer_certificate())
        .map(Thumbprints::of)
}

/// Turn an error status into [`ClientError::Api`], reading the `/api` error body.
pub async fn error_from(resp: Response, context: &str) -> ClientError {
    let status = resp.status();
    let body = resp.bytes().await.unwrap_or_default();
    let (error_type, message) = match serde_json::from_slice::<ErrorBody>(&body) {
        Ok(b) => (b.error_type, b.messages.first().map(Message::text)),
        Err(_) => {
            let text = String::from_utf8_lossy(&body);
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

/// The `/api` of one server, logged in or not.
#[derive(Debug, Clone)]
pub struct Api {
    pub http: Http,
    /// `https://host/api` (no trailing slash).
    api: Url,
    token: Option<String>,
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

impl Api {
    pub fn new(api: Url, http: Http) -> Self {
        Api {
            http,
            api,
            token: None,
        }
    }

    pub fn url(&self) -> &Url {
        &self.api
    }

    /// `{api}/seg/seg...?query` with each segment percent-encoded.
    fn at(&self, segments: &[&str], query: Option<String>) -> Url {
        let mut url = self.api.clone();
        if let Ok(mut s) = url.path_segments_mut() {
            s.extend(segments);
        }
        url.set_query(query.as_deref());
        url
    }

    fn session_url(&self, id: &str, query: Option<String>) -> Url {
        self.at(
            &["content", "library", "item", "download-session", id],
            query,
        )
    }

    fn files_url(&self, id: &str, query: Option<String>) -> Url {
        self.at(
            &["content", "library", "item", "download-session", id, "file"],
            query,
        )
    }

    fn authed(&self, req: RequestBuilder) -> RequestBuilder {
        let req = req.timeout(CALL_TIMEOUT);
        match &self.token {
            Some(t) => req.header(SESSION_HEADER, t),
            None => req,
        }
    }

    /// Send, and insist on a 2xx status.
    async fn call(&self, req: RequestBuilder, context: &str) -> Result<Response, ClientError> {
        let resp = self.http.send(self.authed(req), context).await?;
        if resp.status().is_success() {
            Ok(resp)
        } else {
            Err(error_from(resp, context).await)
        }
    }

    async fn json<T: serde::de::DeserializeOwned>(
        resp: Response,
        context: &str,
    ) -> Result<T, ClientError> {
        let body = resp.bytes().await.map_err(|e| ClientError::Transport {
            context: context.to_string(),
            message: chain(&e),
        })?;
        serde_json::from_slice(&body).map_err(|e| ClientError::Protocol {
            context: context.to_string(),
            message: format!(
                "{e} in {:?}",
                String::from_utf8_lossy(&body)
                    .chars()
                    .take(200)
                    .collect::<String>()
            ),
        })
    }

    /// `POST /api/session` with Basic auth; returns the certificate the server presented.
    pub async fn login(
        &mut self,
        user: &str,
        password: &str,
    ) -> Result<Option<Thumbprints>, ClientError> {
        let context = format!("logging in to {} as {user}", self.api);
        let req = self
            .http
            .client
            .post(self.at(&["session"], None))
            .basic_auth(user, Some(password));
        let resp = self.call(req, &context).await?;
        let cert = presented(&resp);
        let token: String = Self::json(resp, &context).await?;
        self.token = Some(token);
        Ok(cert)
    }

    /// `DELETE /api/session`.
    pub async fn logout(&mut self) -> Result<(), ClientError> {
        if self.token.is_none() {
            return Ok(());
        }
        let req = self.http.client.delete(self.at(&["session"], None));
        let result = self.call(req, "logging out").await.map(|_| ());
        self.token = None;
        result
    }

    /// `POST /api/content/library/item/download-session` with a `Client-Token`.
    pub async fn create_session(
        &self,
        item: &str,
        client_token: &str,
    ) -> Result<String, ClientError> {
        let context = format!("creating a download session for item {item}");
        let req = self
            .http
            .client
            .post(self.at(&["content", "library", "item", "download-session"], None))
            .header("Client-Token", client_token)
            .json(&json!({ "library_item_id": item }));
        let resp = self.call(req, &context).await?;
        Self::json(resp, &context).await
    }

    pub async fn list_files(&self, id: &str) -> Result<Vec<FileInfo>, ClientError> {
        let context = format!("listing the files of download session {id}");
        let resp = self
            .call(self.http.client.get(self.files_url(id, None)), &context)
            .await?;
        Self::json(resp, &context).await
    }

    pub async fn prepare(&self, id: &str, file: &str) -> Result<FileInfo, ClientError> {
        let context = format!("preparing {file}");
        let req = self
            .http
            .client
            .post(self.files_url(id, Some("action=prepare".into())))
            .json(&json!({ "file_name": file, "endpoint_type": "HTTPS" }));
        let resp = self.call(req, &context).await?;
        Self::json(resp, &context).await
    }

    pub async fn get_file(&self, id: &str, file: &str) -> Result<FileInfo, ClientError> {
        let context = format!("getting the status of {file}");
        let url = self.files_url(id, Some(format!("file_name={}", crate::ids::escape(file))));
        let resp = self.call(self.http.client.get(url), &context).await?;
        Self::json(resp, &context).await
    }

    pub async fn keep_alive(&self, id: &str, progress: u64) -> Result<(), ClientError> {
        let req = self
            .http
            .client
            .post(self.session_url(id, Some("action=keep-alive".into())))
            .json(&json!({ "progress": progress }));
        self.call(req, &format!("keep-alive (progress {progress})"))
            .await
            .map(|_| ())
    }

    pub async fn fail(&self, id: &str, message: &str) -> Result<(), ClientError> {
        let req = self
            .http
            .client
            .post(self.session_url(id, Some("action=fail".into())))
            .json(&json!({ "client_error_message": message }));
        self.call(req, &format!("failing download session {id}"))
            .await
            .map(|_| ())
    }

    pub async fn delete_session(&self, id: &str) -> Result<(), ClientError> {
        let req = self.http.client.delete(self.session_url(id, None));
        self.call(req, &format!("deleting download session {id}"))
            .await
            .map(|_| ())
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
    fn query_values_are_percent_encoded() {}
}
