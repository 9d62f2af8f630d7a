//! A small HTTP client for the integration tests. Every body the server sends is checked
//! against the hand-written JSON Schema for what it should be, so no test can pass on a
//! response that breaks the contract's shape.

#![allow(dead_code)]

use reqwest::Method;
use serde_json::Value;

pub struct Resp {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: Option<Value>,
}

impl Resp {
    pub fn json(&self) -> &Value {
        self.body.as_ref().expect("response has a JSON body")
    }
    pub fn str(&self) -> &str {
        self.json().as_str().expect("body is a JSON string")
    }
    /// The `error_type` of an /api error body.
    pub fn error_type(&self) -> &str {
        self.json()["error_type"]
            .as_str()
            .expect("error body has error_type")
    }
}

/// Assert `doc` is valid against the named schema, listing every violation if not.
pub fn assert_schema(schema: &str, doc: &Value) {
    if let Err(violations) = schema::validate(schema, doc) {
        panic!(
            "response breaks schema {schema}:\n{}\n{doc:#}",
            violations.join("\n")
        );
    }
}

pub struct Api {
    pub base: String,
    pub http: reqwest::Client,
    pub token: Option<String>,
}

impl Api {
    pub fn new(api_url: String) -> Self {
        Api {
            base: api_url,
            http: {
                dlsim::install_crypto();
                reqwest::Client::new()
            },
            token: None,
        }
    }

    /// Log in with Basic auth; keep the token for later calls.
    pub async fn login(&mut self, user: &str, password: &str) -> String {
        let r = self
            .http
            .post(format!("{}/session", self.base))
            .basic_auth(user, Some(password))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 201, "login answers 201");
        let token: Value = r.json().await.unwrap();
        assert_schema("api/id", &token);
        let t = token.as_str().unwrap().to_string();
        self.token = Some(t.clone());
        t
    }

    /// Send a request; `body` is sent as raw bytes when given.
    pub async fn call(&self, method: Method, path: &str, body: Option<&str>) -> Resp {
        self.call_with(method, path, body, &[]).await
    }

    pub async fn call_with(
        &self,
        method: Method,
        path: &str,
        body: Option<&str>,
        headers: &[(&str, &str)],
    ) -> Resp {
        let mut req = self.http.request(method, format!("{}{}", self.base, path));
        if let Some(t) = &self.token {
            req = req.header("vmware-api-session-id", t);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req
                .header("content-type", "application/json")
                .body(b.to_string());
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        let content_type = r
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string());
        let bytes = r.bytes().await.unwrap();
        let body = if bytes.is_empty() {
            None
        } else {
            let v: Value = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                panic!(
                    "body is not JSON ({e}): {}",
                    String::from_utf8_lossy(&bytes)
                )
            });
            assert_eq!(content_type.as_deref(), Some("application/json"));
            Some(v)
        };
        if status >= 400 {
            assert_schema(
                "api/error",
                body.as_ref().expect("errors carry a JSON body"),
            );
        }
        Resp {
            status,
            content_type,
            body,
        }
    }

    /// Call and require `status`, and (for a body) that it passes `schema`.
    pub async fn expect(
        &self,
        method: Method,
        path: &str,
        body: Option<&str>,
        status: u16,
        schema: Option<&str>,
    ) -> Resp {
        let r = self.call(method.clone(), path, body).await;
        assert_eq!(
            r.status, status,
            "{method} {path} answered {} with {:?}",
            r.status, r.body
        );
        match schema {
            Some(s) => assert_schema(s, r.json()),
            None => assert!(r.body.is_none() || status >= 400, "no body expected"),
        }
        r
    }

    /// The /api error type of a call that must fail with `status`.
    pub async fn expect_error(
        &self,
        method: Method,
        path: &str,
        body: Option<&str>,
        status: u16,
    ) -> String {
        let r = self.call(method.clone(), path, body).await;
        assert_eq!(r.status, status, "{method} {path}: {:?}", r.body);
        r.error_type().to_string()
    }
}

pub const DS: &str = "/content/library/item/download-session";
pub const OVF_ITEM: &str = dlsim::DEMO_OVF_ITEM_ID;
pub const ISO_ITEM: &str = dlsim::DEMO_ISO_ITEM_ID;
pub mod forms;
pub mod schema;
pub mod serve;
pub mod tls;
