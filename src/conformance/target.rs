//! One wire form of the endpoint under test: requests written the way that form wants them,
//! and every answer kept whole (status, headers, bytes) as evidence for the report.

use reqwest::Method;
use serde::Serialize;
use serde_json::{json, Value};

use super::Form;
use crate::client::api::{presented, Http};
use crate::client::tls::Thumbprints;

/// A request and its answer, as the report shows them.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub method: String,
    pub url: String,
    pub request_body: Option<String>,
    pub status: u16,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
    pub json: Option<Value>,
    pub presented: Option<Thumbprints>,
}

/// What a failure shows: the request and the offending bytes.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Evidence {
    pub request: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_body: Option<String>,
    pub status: u16,
    pub response_body: String,
}

const EVIDENCE_BYTES: usize = 2000;

impl Exchange {
    pub fn evidence(&self) -> Evidence {
        let text = String::from_utf8_lossy(&self.body);
        let mut body: String = text.chars().take(EVIDENCE_BYTES).collect();
        if text.chars().count() > EVIDENCE_BYTES {
            body.push_str(" …(truncated)");
        }
        Evidence {
            request: format!("{} {}", self.method, self.url),
            request_body: self.request_body.clone(),
            status: self.status,
            response_body: body,
        }
    }

    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The result value: the body on `/api`, the `value` member on `/rest`.
    pub fn value(&self, form: Form) -> Option<&Value> {
        let j = self.json.as_ref()?;
        match form {
            Form::Api => Some(j),
            Form::Rest => j.get("value"),
        }
    }

    /// A string result, read leniently (a bare string, or an object holding one) so that one
    /// broken shape does not stop the checks that follow.
    pub fn string(&self, form: Form) -> Option<String> {
        let v = self.value(form).or(self.json.as_ref())?;
        match v {
            Value::String(s) => Some(s.clone()),
            Value::Object(m) => m.values().find_map(|x| x.as_str().map(str::to_string)),
            _ => None,
        }
    }

    /// The error type of an error answer, e.g. `NOT_FOUND`.
    pub fn error_type(&self, form: Form) -> Option<String> {
        let j = self.json.as_ref()?;
        match form {
            Form::Api => j.get("error_type")?.as_str().map(str::to_string),
            Form::Rest => {
                let t = j.get("type")?.as_str()?;
                let name = t.strip_prefix("com.vmware.vapi.std.errors.")?;
                Some(name.to_ascii_uppercase())
            }
        }
    }
}

/// The endpoint under test, through one wire form.
#[derive(Clone)]
pub struct Target {
    pub form: Form,
    /// `https://host:port`, no trailing slash.
    pub root: String,
    pub http: Http,
    pub token: Option<String>,
}

const API_DS: &str = "/api/content/library/item/download-session";
const REST_CL: &str = "/rest/com/vmware/content/library";

impl Target {
    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, String)],
    ) -> Exchange {
        let url = if path.starts_with("http://") || path.starts_with("https://") {
            path.to_string()
        } else {
            format!("{}{path}", self.root)
        };
        let mut req = self.http.client.request(method.clone(), &url);
        if let Some(t) = &self.token {
            req = req.header("vmware-api-session-id", t);
        }
        for (k, v) in headers {
            req = req.header(*k, v);
        }
        let request_body = body.as_ref().map(Value::to_string);
        if let Some(b) = &request_body {
            req = req
                .header("content-type", "application/json")
                .body(b.clone());
        } else if method == Method::POST {
            req = req.header("content-type", "application/json");
        }
        let method = method.to_string();
        match req.send().await {
            Err(e) => Exchange {
                method,
                url,
                request_body,
                status: 0,
                content_type: None,
                body: format!("transport error: {e}").into_bytes(),
                json: None,
                presented: None,
            },
            Ok(r) => {
                let status = r.status().as_u16();
                let content_type = r
                    .headers()
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                let presented = presented(&r);
                let body = r.bytes().await.map(|b| b.to_vec()).unwrap_or_default();
                let json = serde_json::from_slice(&body).ok();
                Exchange {
                    method,
                    url,
                    request_body,
                    status,
                    content_type,
                    body,
                    json,
                    presented,
                }
            }
        }
    }

    pub async fn login(&self, user: &str, password: &str) -> Exchange {
        use base64::Engine as _;
        let path = match self.form {
            Form::Api => "/api/session",
            Form::Rest => "/rest/com/vmware/cis/session",
        };
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        let headers = [
            ("authorization", format!("Basic {basic}")),
            ("vmware-use-header-authn", "true".to_string()),
        ];
        let anonymous = Target {
            token: None,
            ..self.clone()
        };
        anonymous.send(Method::POST, path, None, &headers).await
    }

    pub async fn logout(&self) -> Exchange {
        let path = match self.form {
            Form::Api => "/api/session",
            Form::Rest => "/rest/com/vmware/cis/session",
        };
        self.send(Method::DELETE, path, None, &[]).await
    }

    pub async fn libraries(&self) -> Exchange {
        let path = match self.form {
            Form::Api => "/api/content/library".to_string(),
            Form::Rest => REST_CL.to_string(),
        };
        self.send(Method::GET, &path, None, &[]).await
    }

    pub async fn library(&self, id: &str) -> Exchange {
        let path = match self.form {
            Form::Api => format!("/api/content/library/{id}"),
            Form::Rest => format!("{REST_CL}/id:{id}"),
        };
        self.send(Method::GET, &path, None, &[]).await
    }

    pub async fn items(&self, library: &str) -> Exchange {
        let path = match self.form {
            Form::Api => format!("/api/content/library/item?library_id={library}"),
            Form::Rest => format!("{REST_CL}/item?library_id={library}"),
        };
        self.send(Method::GET, &path, None, &[]).await
    }

    pub async fn item(&self, id: &str) -> Exchange {
        let path = match self.form {
            Form::Api => format!("/api/content/library/item/{id}"),
            Form::Rest => format!("{REST_CL}/item/id:{id}"),
        };
        self.send(Method::GET, &path, None, &[]).await
    }

    pub async fn create(&self, item: &str, client_token: Option<&str>) -> Exchange {
        let spec = json!({ "library_item_id": item });
        match self.form {
            Form::Api => {
                let headers: Vec<(&str, String)> = client_token
                    .map(|t| ("Client-Token", t.to_string()))
                    .into_iter()
                    .collect();
                self.send(Method::POST, API_DS, Some(spec), &headers).await
            }
            Form::Rest => {
                let mut body = json!({ "create_spec": spec });
                if let Some(t) = client_token {
                    body["client_token"] = json!(t);
                }
                self.send(
                    Method::POST,
                    &format!("{REST_CL}/item/download-session"),
                    Some(body),
                    &[],
                )
                .await
            }
        }
    }

    fn ds(&self, id: &str) -> String {
        match self.form {
            Form::Api => format!("{API_DS}/{id}"),
            Form::Rest => format!("{REST_CL}/item/download-session/id:{id}"),
        }
    }

    fn action(&self, id: &str, action: &str) -> String {
        match self.form {
            Form::Api => format!("{}?action={action}", self.ds(id)),
            Form::Rest => format!("{}?~action={action}", self.ds(id)),
        }
    }

    pub async fn get(&self, id: &str) -> Exchange {
        self.send(Method::GET, &self.ds(id), None, &[]).await
    }

    pub async fn list(&self, item: Option<&str>) -> Exchange {
        let base = match self.form {
            Form::Api => API_DS.to_string(),
            Form::Rest => format!("{REST_CL}/item/download-session"),
        };
        let path = match item {
            Some(i) => format!("{base}?library_item_id={i}"),
            None => base,
        };
        self.send(Method::GET, &path, None, &[]).await
    }

    pub async fn keep_alive(&self, id: &str, progress: Option<i64>) -> Exchange {
        let body = progress.map(|p| json!({ "progress": p }));
        self.send(Method::POST, &self.action(id, "keep-alive"), body, &[])
            .await
    }

    pub async fn cancel(&self, id: &str) -> Exchange {
        self.send(Method::POST, &self.action(id, "cancel"), None, &[])
            .await
    }

    pub async fn fail(&self, id: &str, message: &str) -> Exchange {
        let body = json!({ "client_error_message": message });
        self.send(Method::POST, &self.action(id, "fail"), Some(body), &[])
            .await
    }

    pub async fn delete(&self, id: &str) -> Exchange {
        self.send(Method::DELETE, &self.ds(id), None, &[]).await
    }

    pub async fn file_list(&self, id: &str) -> Exchange {
        let path = match self.form {
            Form::Api => format!("{API_DS}/{id}/file"),
            Form::Rest => format!("{REST_CL}/item/downloadsession/file?download_session_id={id}"),
        };
        self.send(Method::GET, &path, None, &[]).await
    }

    pub async fn file_get(&self, id: &str, name: &str) -> Exchange {
        match self.form {
            Form::Api => {
                let q: String = form_urlencoded::byte_serialize(name.as_bytes()).collect();
                self.send(
                    Method::GET,
                    &format!("{API_DS}/{id}/file?file_name={q}"),
                    None,
                    &[],
                )
                .await
            }
            Form::Rest => {
                let path = format!("{REST_CL}/item/downloadsession/file/id:{id}?~action=get");
                self.send(Method::POST, &path, Some(json!({ "file_name": name })), &[])
                    .await
            }
        }
    }

    pub async fn prepare(&self, id: &str, name: &str) -> Exchange {
        let body = json!({ "file_name": name, "endpoint_type": "HTTPS" });
        let path = match self.form {
            Form::Api => format!("{API_DS}/{id}/file?action=prepare"),
            Form::Rest => format!("{REST_CL}/item/downloadsession/file/id:{id}?~action=prepare"),
        };
        self.send(Method::POST, &path, Some(body), &[]).await
    }

    /// A plain GET of any URL (a download URI), without the session header.
    pub async fn fetch(&self, url: &str) -> Exchange {
        let anonymous = Target {
            token: None,
            ..self.clone()
        };
        anonymous.send(Method::GET, url, None, &[]).await
    }

    /// dlsim's clock control, if the endpoint is a dlsim on a virtual clock (one started with
    /// `--control-token` needs the same token in `DLSIM_CONTROL_TOKEN`).
    pub async fn dlsim_clock(&self) -> Option<Value> {
        let e = self
            .send(Method::GET, "/dlsim/clock", None, &control_token())
            .await;
        e.ok().then_some(e.json).flatten()
    }

    pub async fn dlsim_advance(&self, ms: u64) -> bool {
        let e = self
            .send(
                Method::POST,
                &format!("/dlsim/clock?advance_ms={ms}"),
                None,
                &control_token(),
            )
            .await;
        e.ok()
    }
}

/// The control-plane token header, when `DLSIM_CONTROL_TOKEN` gives one.
fn control_token() -> Vec<(&'static str, String)> {
    std::env::var("DLSIM_CONTROL_TOKEN")
        .ok()
        .filter(|t| !t.is_empty())
        .map(|t| vec![(crate::server::admin::CONTROL_TOKEN_HEADER, t)])
        .unwrap_or_default()
}
