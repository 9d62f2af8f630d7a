//! One client for both REST forms, so a test is written once and run against `/api` and
//! `/rest` alike. It checks each answer's status class and validates every body against the
//! schema of that form (success bodies and error bodies), then hands back the unwrapped value.

use reqwest::Method;
use serde_json::{json, Value};

use super::assert_schema;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    Api,
    Rest,
}

/// What a call gave back: its status and either the (unwrapped) value or the error type.
#[derive(Debug)]
pub struct Out {
    pub status: u16,
    pub value: Option<Value>,
    pub error_type: Option<String>,
    pub raw: Option<Value>,
}

impl Out {
    /// The value of a successful call.
    pub fn ok(&self) -> &Value {
        assert!(self.error_type.is_none(), "call failed: {:?}", self.raw);
        self.value.as_ref().expect("a value")
    }
    /// The error type of a failed call, e.g. `NOT_FOUND`.
    pub fn err(&self) -> &str {
        self.error_type
            .as_deref()
            .unwrap_or_else(|| panic!("call succeeded with {:?}", self.value))
    }
    /// The string value of a successful call (an id or a token).
    pub fn string(&self) -> String {
        self.ok().as_str().expect("a string value").to_string()
    }
    /// The first string of a successful call's list (a library or item id).
    pub fn first(&self) -> String {
        self.ok()[0]
            .as_str()
            .expect("a list of strings")
            .to_string()
    }
    pub fn done(&self) {
        assert!(self.error_type.is_none(), "call failed: {:?}", self.raw);
        assert!(self.value.is_none(), "void call returned {:?}", self.value);
    }
}

pub struct Client {
    pub form: Form,
    pub root: String,
    pub http: reqwest::Client,
    pub token: Option<String>,
}

const API_DS: &str = "/api/content/library/item/download-session";
const REST_CL: &str = "/rest/com/vmware/content/library";

impl Client {
    /// A client of `fake` through `form`, logged in as the fake's user.
    pub async fn logged_in(fake: &dlsim::Dlsim, form: Form) -> Self {
        let mut c = Client::new(form, fake.base_url());
        c.login(fake.username(), fake.password()).await.ok();
        c
    }

    pub fn new(form: Form, root: &str) -> Self {
        Client {
            form,
            root: root.to_string(),
            http: super::tls::any_cert_client(),
            token: None,
        }
    }

    fn schema(&self, api: &str, rest: &str) -> String {
        match self.form {
            Form::Api => format!("api/{api}"),
            Form::Rest => format!("rest/{rest}"),
        }
    }

    pub async fn login(&mut self, user: &str, password: &str) -> Out {
        let path = match self.form {
            Form::Api => "/api/session",
            Form::Rest => "/rest/com/vmware/cis/session",
        };
        let req = self
            .http
            .post(format!("{}{path}", self.root))
            .basic_auth(user, Some(password))
            .header("vmware-use-header-authn", "true");
        let out = self
            .finish(req, Some(self.schema("id", "value_id")), true)
            .await;
        if let Some(v) = &out.value {
            self.token = Some(v.as_str().unwrap().to_string());
        }
        out
    }

    /// Send and judge one call. `schema` is for a success body; `creates` marks a create
    /// (201 on /api).
    async fn finish(
        &self,
        mut req: reqwest::RequestBuilder,
        schema: Option<String>,
        creates: bool,
    ) -> Out {
        if let Some(t) = &self.token {
            req = req.header("vmware-api-session-id", t);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        let ct = r
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string());
        let bytes = r.bytes().await.unwrap();
        let raw: Option<Value> =
            if bytes.is_empty() {
                None
            } else {
                assert_eq!(
                    ct.as_deref(),
                    Some("application/json"),
                    "JSON bodies are typed"
                );
                Some(serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                    panic!("not JSON ({e}): {}", String::from_utf8_lossy(&bytes))
                }))
            };
        if status >= 400 {
            let body = raw.clone().expect("errors always carry a body");
            let error_type = match self.form {
                Form::Api => {
                    assert_schema("api/error", &body);
                    body["error_type"].as_str().unwrap().to_string()
                }
                Form::Rest => {
                    assert_schema("rest/error", &body);
                    let t = dlsim::ErrorType::from_canonical_name(body["type"].as_str().unwrap())
                        .expect("a standard error type");
                    if let Some(inner) = body["value"].get("error_type") {
                        assert_eq!(inner, t.as_str(), "type and error_type agree");
                    }
                    t.as_str().to_string()
                }
            };
            return Out {
                status,
                value: None,
                error_type: Some(error_type),
                raw,
            };
        }
        let expected = match (self.form, &raw, creates) {
            (Form::Api, Some(_), true) => 201,
            (Form::Api, None, _) => 204,
            _ => 200,
        };
        assert_eq!(status, expected, "success status on {:?}", self.form);
        let value = match (&raw, schema) {
            (None, _) => None,
            (Some(body), Some(s)) => {
                assert_schema(&s, body);
                Some(match self.form {
                    Form::Api => body.clone(),
                    Form::Rest => body["value"].clone(),
                })
            }
            (Some(body), None) => panic!("unexpected body {body}"),
        };
        Out {
            status,
            value,
            error_type: None,
            raw,
        }
    }

    fn req(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http.request(method, format!("{}{path}", self.root))
    }

    fn post_json(&self, path: &str, body: Option<Value>) -> reqwest::RequestBuilder {
        let r = self
            .req(Method::POST, path)
            .header("content-type", "application/json");
        match body {
            Some(b) => r.body(b.to_string()),
            None => r,
        }
    }

    pub async fn libraries(&self) -> Out {
        let path = match self.form {
            Form::Api => "/api/content/library".to_string(),
            Form::Rest => REST_CL.to_string(),
        };
        self.finish(
            self.req(Method::GET, &path),
            Some(self.schema("library_list", "value_id_list")),
            false,
        )
        .await
    }

    pub async fn library(&self, id: &str) -> Out {
        let path = match self.form {
            Form::Api => format!("/api/content/library/{id}"),
            Form::Rest => format!("{REST_CL}/id:{id}"),
        };
        self.finish(
            self.req(Method::GET, &path),
            Some(self.schema("library_model", "value_library_model")),
            false,
        )
        .await
    }

    pub async fn items(&self, library: &str) -> Out {
        let path = match self.form {
            Form::Api => format!("/api/content/library/item?library_id={library}"),
            Form::Rest => format!("{REST_CL}/item?library_id={library}"),
        };
        self.finish(
            self.req(Method::GET, &path),
            Some(self.schema("id_list", "value_id_list")),
            false,
        )
        .await
    }

    pub async fn item(&self, id: &str) -> Out {
        let path = match self.form {
            Form::Api => format!("/api/content/library/item/{id}"),
            Form::Rest => format!("{REST_CL}/item/id:{id}"),
        };
        self.finish(
            self.req(Method::GET, &path),
            Some(self.schema("item_model", "value_item_model")),
            false,
        )
        .await
    }

    pub async fn create(&self, item: &str, client_token: Option<&str>) -> Out {
        let spec = json!({ "library_item_id": item });
        let req = match self.form {
            Form::Api => {
                let r = self.post_json(API_DS, Some(spec));
                match client_token {
                    Some(t) => r.header("Client-Token", t),
                    None => r,
                }
            }
            Form::Rest => {
                let mut body = json!({ "create_spec": spec });
                if let Some(t) = client_token {
                    body["client_token"] = json!(t);
                }
                self.post_json(&format!("{REST_CL}/item/download-session"), Some(body))
            }
        };
        self.finish(req, Some(self.schema("id", "value_id")), true)
            .await
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

    pub async fn get(&self, id: &str) -> Out {
        let s = self.schema("download_session_model", "value_download_session_model");
        self.finish(self.req(Method::GET, &self.ds(id)), Some(s), false)
            .await
    }

    pub async fn list(&self, item: Option<&str>) -> Out {
        let base = match self.form {
            Form::Api => API_DS.to_string(),
            Form::Rest => format!("{REST_CL}/item/download-session"),
        };
        let path = match item {
            Some(i) => format!("{base}?library_item_id={i}"),
            None => base,
        };
        self.finish(
            self.req(Method::GET, &path),
            Some(self.schema("id_list", "value_id_list")),
            false,
        )
        .await
    }

    pub async fn keep_alive(&self, id: &str, progress: Option<i64>) -> Out {
        let body = progress.map(|p| json!({ "progress": p }));
        self.finish(
            self.post_json(&self.action(id, "keep-alive"), body),
            None,
            false,
        )
        .await
    }

    pub async fn cancel(&self, id: &str) -> Out {
        self.finish(
            self.post_json(&self.action(id, "cancel"), None),
            None,
            false,
        )
        .await
    }

    pub async fn fail(&self, id: &str, message: &str) -> Out {
        let body = json!({ "client_error_message": message });
        self.finish(
            self.post_json(&self.action(id, "fail"), Some(body)),
            None,
            false,
        )
        .await
    }

    pub async fn delete(&self, id: &str) -> Out {
        self.finish(self.req(Method::DELETE, &self.ds(id)), None, false)
            .await
    }

    pub async fn file_list(&self, id: &str) -> Out {
        let path = match self.form {
            Form::Api => format!("{API_DS}/{id}/file"),
            Form::Rest => format!("{REST_CL}/item/downloadsession/file?download_session_id={id}"),
        };
        let s = self.schema("file_info_list", "value_file_info_list");
        self.finish(self.req(Method::GET, &path), Some(s), false)
            .await
    }

    pub async fn file_get(&self, id: &str, name: &str) -> Out {
        let s = self.schema("file_info", "value_file_info");
        let req = match self.form {
            Form::Api => self.req(Method::GET, &format!("{API_DS}/{id}/file?file_name={name}")),
            Form::Rest => self.post_json(
                &format!("{REST_CL}/item/downloadsession/file/id:{id}?~action=get"),
                Some(json!({ "file_name": name })),
            ),
        };
        self.finish(req, Some(s), false).await
    }

    pub async fn prepare(&self, id: &str, name: &str, endpoint: Option<&str>) -> Out {
        let mut body = json!({ "file_name": name });
        if let Some(e) = endpoint {
            body["endpoint_type"] = json!(e);
        }
        let path = match self.form {
            Form::Api => format!("{API_DS}/{id}/file?action=prepare"),
            Form::Rest => format!("{REST_CL}/item/downloadsession/file/id:{id}?~action=prepare"),
        };
        let s = self.schema("file_info", "value_file_info");
        self.finish(self.post_json(&path, Some(body)), Some(s), false)
            .await
    }

    pub async fn logout(&self) -> Out {
        let path = match self.form {
            Form::Api => "/api/session",
            Form::Rest => "/rest/com/vmware/cis/session",
        };
        self.finish(self.req(Method::DELETE, path), None, false)
            .await
    }
}
