//! The probes: short scenarios run through each wire form, each checking the rules it touches.
//! Every answer also passes through the checks that hold for all answers (error bodies,
//! date-time format).

use std::time::{Duration, Instant};

use serde_json::Value;

use super::target::{dlsim_advance, dlsim_clock, Exchange, Target};
use super::{CheckError, CheckOptions, Checker, Form, ItemUsed};
use crate::client::api::Http;
use crate::client::tls::{Pin, Thumbprint};
use crate::client::TlsPolicy;
use crate::content::checksum::Hasher;

/// JSON-RPC 2.0 protocol error codes.
const PARSE_ERROR: i64 = -32700;
const INVALID_REQUEST: i64 = -32600;
const METHOD_NOT_FOUND: i64 = -32601;
const NO_SUCH_FILE: &str = "dlsim-check-no-such-file.vmdk";
const NO_SUCH_ITEM: &str = "dlsim-check-no-such-item";
const NO_SUCH_SESSION: &str = "9b1f3c52-7d4e-4a61-8f0b-2c5d6e7f8a9b";
const FAIL_MESSAGE: &str = "dlsim check: simulated client failure";
/// How many items discovery looks into for one with a file.
const MAX_PROBED_ITEMS: usize = 20;
/// The rules that can only be checked on a file of the item.
const FILE_RULES: &[&str] = &[
    "schema.file-info",
    "lifecycle.files-start-unprepared",
    "lifecycle.prepare-forward-only",
    "lifecycle.endpoint-only-when-prepared",
    "content.size-and-checksum",
    "content.thumbprint",
];

pub struct Runner {
    opts: CheckOptions,
    root: String,
    api_http: Http,
    /// Download connections accept any certificate: the thumbprint rule compares what is
    /// reported with what is presented, so the connection must be made either way.
    any_http: Http,
    checker: Checker,
    /// Every session the run created (kept even after the run deleted it, since a broken
    /// server may answer a delete without deleting).
    created: Vec<(Form, String, Option<String>)>,
    forms: Vec<Form>,
    stop: Stop,
    /// Logins to close once the sessions are cleaned up.
    logins: Vec<(Form, String)>,
    /// The item each form's run exercised.
    items: Vec<ItemUsed>,
    /// Set when the endpoint cannot be reached at all.
    pub unreachable: Option<String>,
}

/// Asks a running check to stop at its next step (Ctrl-C).
#[derive(Clone, Default)]
pub struct Stop {
    flag: std::sync::Arc<std::sync::atomic::AtomicBool>,
    wake: std::sync::Arc<tokio::sync::Notify>,
}

impl Stop {
    pub fn stop(&self) {
        self.flag.store(true, std::sync::atomic::Ordering::SeqCst);
        self.wake.notify_waiters();
    }
    fn stopped(&self) -> bool {
        self.flag.load(std::sync::atomic::Ordering::SeqCst)
    }
    /// Sleep, unless asked to stop first; true if it slept the whole time.
    async fn sleep(&self, d: Duration) -> bool {
        let woken = self.wake.notified();
        if self.stopped() {
            return false;
        }
        tokio::select! {
            _ = tokio::time::sleep(d) => !self.stopped(),
            _ = woken => false,
        }
    }
}

fn pin_of(policy: &TlsPolicy) -> Result<Option<Pin>, CheckError> {
    Ok(match policy {
        TlsPolicy::Verify => None,
        TlsPolicy::Insecure => Some(Pin::Any),
        TlsPolicy::Thumbprint(t) => Some(Pin::Thumbprint(
            Thumbprint::parse(t).map_err(|e| CheckError::Setup(e.to_string()))?,
        )),
    })
}

impl Runner {
    pub fn new(opts: &CheckOptions, root: String) -> Result<Self, CheckError> {
        let setup = |e: crate::client::ClientError| CheckError::Setup(e.to_string());
        Ok(Runner {
            api_http: Http::new(pin_of(&opts.tls)?).map_err(setup)?,
            any_http: Http::new(Some(Pin::Any)).map_err(setup)?,
            opts: opts.clone(),
            root,
            checker: Checker::default(),
            created: vec![],
            forms: opts.forms.clone(),
            stop: Stop::default(),
            logins: vec![],
            items: vec![],
            unreachable: None,
        })
    }

    pub fn stop_handle(&self) -> Stop {
        self.stop.clone()
    }

    pub fn finish(self) -> (Checker, Vec<Form>, Vec<ItemUsed>) {
        (self.checker, self.forms, self.items)
    }

    /// Delete every session the run created that still exists (also after a failure or an
    /// interrupt); returns how many were still there.
    pub async fn cleanup(&mut self) -> usize {
        let mut n = 0;
        for (form, id, token) in std::mem::take(&mut self.created) {
            let t = Target {
                form,
                root: self.root.clone(),
                http: self.api_http.clone(),
                token,
            };
            if t.delete(&id).await.ok() {
                n += 1;
            }
        }
        for (form, token) in std::mem::take(&mut self.logins) {
            self.target(form, Some(token)).logout().await;
        }
        n
    }

    pub async fn run_all(&mut self, progress: &impl Fn(&str)) {
        for form in self.forms.clone() {
            self.run_form(form, progress).await;
        }
    }

    // ---- checking helpers ----

    fn pass(&mut self, rule: &str, form: Form) {
        self.checker.pass(rule, form);
    }

    fn fail(&mut self, rule: &str, form: Form, message: String, e: Option<&Exchange>) {
        self.checker
            .fail(rule, form, message, e.map(Exchange::evidence));
    }

    fn check(
        &mut self,
        rule: &str,
        form: Form,
        ok: bool,
        message: impl FnOnce() -> String,
        e: Option<&Exchange>,
    ) {
        if ok {
            self.pass(rule, form);
        } else {
            self.fail(rule, form, message(), e);
        }
    }

    /// The checks every answer gets: error bodies and date-times (and, on JSON-RPC, the
    /// envelope, the id echo and the status of vAPI errors).
    fn observe(&mut self, form: Form, e: &Exchange) {
        if form == Form::JsonRpc {
            self.observe_rpc(e);
            return;
        }
        if e.status >= 400 {
            let json = e
                .content_type
                .as_deref()
                .is_some_and(|c| c.starts_with("application/json"));
            let schema = format!("{}/error", form.name());
            match (&e.json, json) {
                (Some(body), true) => match crate::schemas::validate(&schema, body) {
                    Ok(()) => self.pass("schema.error-body", form),
                    Err(v) => self.fail(
                        "schema.error-body",
                        form,
                        format!("error body breaks {schema}: {}", describe(&v)),
                        Some(e),
                    ),
                },
                _ => self.fail(
                    "schema.error-body",
                    form,
                    format!(
                        "error answer {} is not JSON (Content-Type {:?})",
                        e.status, e.content_type
                    ),
                    Some(e),
                ),
            }
        }
        if let Some(j) = &e.json {
            self.date_times_in(j, form, e);
        }
    }

    /// `format.date-time` over every date-time in `doc` (the first bad one is reported).
    fn date_times_in(&mut self, doc: &Value, form: Form, e: &Exchange) {
        let mut bad = vec![];
        date_times(doc, &mut bad);
        if let Some((key, value)) = bad.first() {
            self.fail(
                "format.date-time",
                form,
                format!("{key} = {value:?} is not YYYY-MM-DDThh:mm:ss.sssZ"),
                Some(e),
            );
        } else if has_date_time(doc) {
            self.pass("format.date-time", form);
        }
    }

    fn observe_rpc(&mut self, e: &Exchange) {
        let form = Form::JsonRpc;
        let Some(body) = &e.json else {
            self.fail(
                "jsonrpc.envelope",
                form,
                format!(
                    "answer (HTTP {}) is not JSON (Content-Type {:?})",
                    e.status, e.content_type
                ),
                Some(e),
            );
            return;
        };
        match crate::schemas::validate("jsonrpc/envelope", body) {
            Ok(()) => self.pass("jsonrpc.envelope", form),
            Err(v) => self.fail(
                "jsonrpc.envelope",
                form,
                format!("answer breaks jsonrpc/envelope: {}", describe(&v)),
                Some(e),
            ),
        }
        // The id comes back as sent (a protocol error on an unreadable request has null).
        let unreadable = body["error"]["code"]
            .as_i64()
            .is_some_and(|c| c == PARSE_ERROR || c == INVALID_REQUEST);
        if let (Some(sent), false) = (&e.rpc_id, unreadable) {
            let got = body.get("id").unwrap_or(&Value::Null);
            self.check(
                "jsonrpc.id-echo",
                form,
                got == sent,
                || format!("the request had id {sent}; the answer has id {got}"),
                Some(e),
            );
        }
        if let Some(error) = e.rpc_error() {
            self.check(
                "jsonrpc.errors-with-200",
                form,
                e.status == 200,
                || {
                    format!(
                        "a vAPI error in result.error came with HTTP {} (the SDK reads only 200)",
                        e.status
                    )
                },
                Some(e),
            );
            self.typed_schema("schema.error-body", e, error, "jsonrpc/error");
        }
        if let Some(out) = &e.output {
            self.date_times_in(out, form, e);
        }
    }

    /// A JSON-RPC typed document against `schema`, for `rule`. A document whose only fault is a
    /// bare `null` where an `{"OPTIONAL": ...}` belongs passes `rule` and fails
    /// `jsonrpc.optional-tagged` instead, so each rule says one thing.
    fn typed_schema(&mut self, rule: &str, e: &Exchange, doc: &Value, schema: &str) {
        let form = Form::JsonRpc;
        match crate::schemas::validate(schema, doc) {
            Ok(()) => {
                self.pass(rule, form);
                self.pass("jsonrpc.optional-tagged", form);
            }
            Err(v) => {
                let mut bare = vec![];
                let tagged = tag_bare_nulls(doc, "", &mut bare);
                if !bare.is_empty() {
                    self.fail(
                        "jsonrpc.optional-tagged",
                        form,
                        format!(
                            "bare null where {{\"OPTIONAL\": null}} belongs (the SDK rejects it) at {}{}",
                            bare[..bare.len().min(3)].join(", "),
                            match bare.len() {
                                n if n > 3 => format!(" and {} more", n - 3),
                                _ => String::new(),
                            }
                        ),
                        Some(e),
                    );
                }
                match crate::schemas::validate(schema, &tagged) {
                    Ok(()) if !bare.is_empty() => self.pass(rule, form),
                    _ => self.fail(
                        rule,
                        form,
                        format!("document breaks {schema}: {}", describe(&v)),
                        Some(e),
                    ),
                }
            }
        }
    }

    /// A successful answer whose body must pass `api_schema` / `rest_schema` (on JSON-RPC, its
    /// `result.output` the `jsonrpc/` schema of the same type).
    fn schema(
        &mut self,
        rule: &str,
        form: Form,
        e: &Exchange,
        api_schema: &str,
        rest_schema: &str,
    ) {
        let rpc_schema;
        let name = match form {
            Form::Api => api_schema,
            Form::Rest => rest_schema,
            Form::JsonRpc => {
                rpc_schema = rpc_schema_of(rule, api_schema);
                rpc_schema.as_str()
            }
        };
        if form == Form::JsonRpc {
            match e.rpc_output().filter(|_| e.ok()) {
                Some(out) => self.typed_schema(rule, e, out, name),
                None => self.fail(
                    rule,
                    form,
                    format!(
                        "expected result.output, got HTTP {} {}",
                        e.status,
                        e.error_type(form).as_deref().unwrap_or("(no vAPI error)")
                    ),
                    Some(e),
                ),
            }
            return;
        }
        if !e.ok() {
            self.fail(
                rule,
                form,
                format!("expected success, got HTTP {}", e.status),
                Some(e),
            );
            return;
        }
        match &e.json {
            None => self.fail(
                rule,
                form,
                format!("body is not JSON (schema {name})"),
                Some(e),
            ),
            Some(body) => match crate::schemas::validate(name, body) {
                Ok(()) => self.pass(rule, form),
                Err(v) => self.fail(
                    rule,
                    form,
                    format!("body breaks {name}: {}", describe(&v)),
                    Some(e),
                ),
            },
        }
    }

    /// An answer that must be the error `error_type` with HTTP `status`.
    fn expect_error(
        &mut self,
        rule: &str,
        form: Form,
        e: &Exchange,
        status: u16,
        error_type: &str,
    ) {
        let got = e.error_type(form);
        // On JSON-RPC every vAPI error has HTTP 200: jsonrpc.errors-with-200 judges the status.
        let status_ok = form == Form::JsonRpc || e.status == status;
        self.check(
            rule,
            form,
            status_ok && got.as_deref() == Some(error_type),
            || {
                format!(
                    "expected {status} {error_type}, got {} {}",
                    e.status,
                    got.as_deref().unwrap_or("(no error type)")
                )
            },
            Some(e),
        );
    }

    /// A success status as the form has it: /api 201 for creates, 204 for void, 200 for reads;
    /// /rest 200 always, void without a body.
    fn success_status(&mut self, form: Form, e: &Exchange, create: bool, void: bool) {
        let expected = match (form, create, void) {
            (Form::Api, true, _) => 201,
            (Form::Api, _, true) => 204,
            _ => 200,
        };
        let body_ok = match form {
            // JSON-RPC: a void operation's output is null.
            Form::JsonRpc => e.rpc_output().is_some_and(|o| !void || o.is_null()),
            _ => !void || e.body.is_empty(),
        };
        self.check(
            "status.success",
            form,
            e.status == expected && body_ok,
            || {
                if body_ok {
                    format!("expected HTTP {expected}, got {}", e.status)
                } else {
                    "a void operation answered with a body".to_string()
                }
            },
            Some(e),
        );
    }

    fn target(&self, form: Form, token: Option<String>) -> Target {
        Target {
            form,
            root: self.root.clone(),
            http: self.api_http.clone(),
            token,
        }
    }

    async fn create(
        &mut self,
        t: &Target,
        item: &str,
        client_token: Option<&str>,
    ) -> (Exchange, Option<String>) {
        let e = t.create(item, client_token).await;
        self.observe(t.form, &e);
        let id = if e.ok() { e.string(t.form) } else { None };
        if let Some(id) = &id {
            if !self.created.iter().any(|(f, x, _)| *f == t.form && x == id) {
                self.created.push((t.form, id.clone(), t.token.clone()));
            }
        }
        (e, id)
    }

    async fn delete(&mut self, t: &Target, id: &str) -> Exchange {
        let e = t.delete(id).await;
        self.observe(t.form, &e);
        e
    }

    // ---- the probes ----

    async fn run_form(&mut self, form: Form, progress: &impl Fn(&str)) {
        let say = |what: &str| progress(&format!("[{}] {what}", form.name()));
        macro_rules! step {
            ($what:expr) => {
                if self.stop.stopped() {
                    return;
                }
                say($what);
            };
        }
        let anonymous = self.target(form, None);

        step!("authentication");
        let e = anonymous.list(None).await;
        if e.status == 0 {
            self.unreachable = Some(String::from_utf8_lossy(&e.body).into_owned());
            return;
        }
        self.observe(form, &e);
        self.expect_error("error.unauthenticated", form, &e, 401, "UNAUTHENTICATED");
        let e = anonymous
            .login(&self.opts.username, &self.opts.password)
            .await;
        self.observe(form, &e);
        self.schema("schema.login", form, &e, "api/id", "rest/value_id");
        let Some(token) = e.ok().then(|| e.string(form)).flatten() else {
            self.fail(
                "schema.login",
                form,
                "login gave no session token; nothing else can be checked".into(),
                Some(&e),
            );
            return;
        };
        self.logins.push((form, token.clone()));
        let t = self.target(form, Some(token));

        step!("discovery");
        let Some((item, other_item, content_version)) = self.discover(&t).await else {
            return;
        };

        step!("lifecycle");
        self.lifecycle(&t, &item, content_version.as_deref()).await;
        step!("fail");
        self.fail_probe(&t, &item).await;
        step!("documented errors");
        self.errors_probe(&t, &item).await;
        step!("list filter and client tokens");
        self.list_probe(&t, &item, other_item.as_deref()).await;
        self.client_token_probe(&t, &item).await;
        step!("expiry");
        self.expiry_probe(&t, &item).await;
        if form == Form::JsonRpc {
            step!("protocol errors");
            self.protocol_probe(&t).await;
        }
    }

    /// JSON-RPC protocol errors: a body that is not JSON gets -32700 with id null; an invoke of
    /// a service the endpoint does not have gets -32601.
    async fn protocol_probe(&mut self, t: &Target) {
        let form = Form::JsonRpc;
        let e = t.rpc_raw("{not json".to_string(), None, &[]).await;
        self.observe(form, &e);
        let j = e.json.clone().unwrap_or_default();
        let code = j["error"]["code"].as_i64();
        self.check(
            "jsonrpc.protocol-errors",
            form,
            code == Some(PARSE_ERROR) && j.get("id") == Some(&Value::Null),
            || {
                format!(
                    "a body that is not JSON got error code {code:?} with id {}",
                    j["id"]
                )
            },
            Some(&e),
        );
        let e = t.rpc_unknown_service().await;
        self.observe(form, &e);
        let code = e.json.as_ref().and_then(|j| j["error"]["code"].as_i64());
        self.check(
            "jsonrpc.protocol-errors",
            form,
            code == Some(METHOD_NOT_FOUND),
            || format!("an unknown service got error code {code:?}, not -32601"),
            Some(&e),
        );
    }

    /// Find the item to use (and a second one for the list filter); check discovery shapes.
    async fn discover(&mut self, t: &Target) -> Option<(String, Option<String>, Option<String>)> {
        let form = t.form;
        let libs = t.libraries().await;
        self.observe(form, &libs);
        self.schema(
            "schema.library",
            form,
            &libs,
            "api/library_list",
            "rest/value_id_list",
        );
        let lib_ids = strings(libs.value(form));
        let mut items = vec![];
        for lib in &lib_ids {
            let l = t.library(lib).await;
            self.observe(form, &l);
            self.schema(
                "schema.library",
                form,
                &l,
                "api/library_model",
                "rest/value_library_model",
            );
            let its = t.items(lib).await;
            self.observe(form, &its);
            self.schema(
                "schema.library",
                form,
                &its,
                "api/id_list",
                "rest/value_id_list",
            );
            items.extend(strings(its.value(form)));
        }
        let candidates = match &self.opts.item {
            Some(i) => vec![i.clone()],
            None => items.clone(),
        };
        if candidates.is_empty() {
            self.fail(
                "schema.library",
                form,
                "no library item found to download; give one with --item".into(),
                Some(&libs),
            );
            return None;
        }
        // The first item with a file to download, else the first item (the file rules then
        // cannot be reached, and the run fails).
        let mut chosen = None;
        for it in candidates.iter().take(MAX_PROBED_ITEMS) {
            if self.stop.stopped() {
                return None;
            }
            let files = self.count_files(t, it).await;
            if files > 0 {
                chosen = Some((it.clone(), files));
                break;
            }
        }
        let (item, files) = chosen.unwrap_or_else(|| (candidates[0].clone(), 0));
        let other = items.iter().find(|i| **i != item).cloned();
        let m = t.item(&item).await;
        self.observe(form, &m);
        self.schema(
            "schema.library",
            form,
            &m,
            "api/item_model",
            "rest/value_item_model",
        );
        let field = |name: &str| {
            m.value(form)
                .and_then(|v| v.get(name))
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        self.items.push(ItemUsed {
            form,
            id: item.clone(),
            name: field("name"),
            files,
        });
        Some((item, other, field("content_version")))
    }

    /// How many files a session on `item` lists (0 when it cannot be told).
    async fn count_files(&mut self, t: &Target, item: &str) -> usize {
        let (_, Some(id)) = self.create(t, item, None).await else {
            return 0;
        };
        let fl = t.file_list(&id).await;
        self.observe(t.form, &fl);
        let files = fl
            .value(t.form)
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        self.delete(t, &id).await;
        files
    }

    async fn get_model(&mut self, t: &Target, id: &str) -> (Exchange, Option<Value>) {
        let e = t.get(id).await;
        self.observe(t.form, &e);
        if e.ok() {
            self.schema(
                "schema.session-model",
                t.form,
                &e,
                "api/download_session_model",
                "rest/value_download_session_model",
            );
        }
        let v = e.ok().then(|| e.value(t.form).cloned()).flatten();
        (e, v)
    }

    async fn file_get(&mut self, t: &Target, id: &str, name: &str) -> (Exchange, Option<Value>) {
        let e = t.file_get(id, name).await;
        self.observe(t.form, &e);
        self.schema(
            "schema.file-info",
            t.form,
            &e,
            "api/file_info",
            "rest/value_file_info",
        );
        let v = e.ok().then(|| e.value(t.form).cloned()).flatten();
        if let Some(f) = &v {
            self.endpoint_rule(t.form, f, &e);
        }
        (e, v)
    }

    /// `download_endpoint` present exactly when PREPARED.
    fn endpoint_rule(&mut self, form: Form, f: &Value, e: &Exchange) {
        let prepared = f.get("status").and_then(Value::as_str) == Some("PREPARED");
        let has = f.get("download_endpoint").is_some_and(|x| !x.is_null());
        self.check(
            "lifecycle.endpoint-only-when-prepared",
            form,
            prepared == has,
            || {
                format!(
                    "file {} is {} but download_endpoint is {}",
                    f["name"],
                    f["status"],
                    if has { "present" } else { "absent" }
                )
            },
            Some(e),
        );
    }

    async fn lifecycle(&mut self, t: &Target, item: &str, content_version: Option<&str>) {
        let form = t.form;
        let (e, id) = self.create(t, item, None).await;
        self.success_status(form, &e, true, false);
        self.schema("schema.session-id", form, &e, "api/id", "rest/value_id");
        let Some(id) = id else { return };

        let (e, model) = self.get_model(t, &id).await;
        let Some(model) = model else { return };
        let state_ok = model.get("state").and_then(Value::as_str) == Some("ACTIVE");
        let progress_ok = model.get("client_progress").and_then(Value::as_i64) == Some(0);
        let version = model
            .get("library_item_content_version")
            .and_then(Value::as_str);
        let version_ok = content_version.is_none() || version == content_version;
        self.check(
            "lifecycle.create-initial-state",
            form,
            state_ok && progress_ok && version_ok,
            || format!(
                "expected state ACTIVE, client_progress 0, content version {content_version:?}; got {}, {}, {version:?}",
                model["state"], model["client_progress"]
            ),
            Some(&e),
        );
        self.check(
            "format.no-session-id-in-get",
            form,
            model.get("id").is_none(),
            || "get includes the session id, documented as absent".to_string(),
            Some(&e),
        );
        let mut expiry = model
            .get("expiration_time")
            .and_then(Value::as_str)
            .map(str::to_string);

        // Files: all UNPREPARED, no endpoints.
        let fl = t.file_list(&id).await;
        self.observe(form, &fl);
        self.schema(
            "schema.file-info-list",
            form,
            &fl,
            "api/file_info_list",
            "rest/value_file_info_list",
        );
        let files: Vec<Value> = fl
            .value(form)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for f in &files {
            let status = f.get("status").and_then(Value::as_str).unwrap_or("(none)");
            self.check(
                "lifecycle.files-start-unprepared",
                form,
                status == "UNPREPARED",
                || format!("file {} starts {status}", f["name"]),
                Some(&fl),
            );
            self.endpoint_rule(form, f, &fl);
        }
        // The smallest file is the one downloaded.
        let name = files
            .iter()
            .min_by_key(|f| f.get("size").and_then(Value::as_u64).unwrap_or(u64::MAX))
            .and_then(|f| f.get("name").and_then(Value::as_str))
            .map(str::to_string);
        let uri = match &name {
            Some(name) => self.file_probe(t, &id, name).await,
            None => {
                let why = if self.opts.item.is_some() {
                    "the item given with --item has no files"
                } else {
                    "no library item has a file (give one with --item)"
                };
                for rule in FILE_RULES {
                    self.checker.not_reached(rule, form, why);
                }
                None
            }
        };
        if self.stop.stopped() {
            return;
        }

        // keep_alive: progress reflected, expiration never backwards.
        let k = t.keep_alive(&id, Some(40)).await;
        self.observe(form, &k);
        self.success_status(form, &k, false, true);
        if let (_, Some(m)) = self.get_model(t, &id).await {
            self.check(
                "lifecycle.progress-reflected",
                form,
                m["client_progress"] == 40,
                || {
                    format!(
                        "keep_alive sent progress 40; get reports {}",
                        m["client_progress"]
                    )
                },
                Some(&k),
            );
            let now = m
                .get("expiration_time")
                .and_then(Value::as_str)
                .map(str::to_string);
            self.expiry_not_backwards(form, &expiry, &now, &k);
            expiry = now;
        }
        let k = t.keep_alive(&id, None).await;
        self.observe(form, &k);
        if let (_, Some(m)) = self.get_model(t, &id).await {
            let now = m
                .get("expiration_time")
                .and_then(Value::as_str)
                .map(str::to_string);
            self.expiry_not_backwards(form, &expiry, &now, &k);
        }

        // cancel: CANCELED, URIs dead, transitions refused.
        let c = t.cancel(&id).await;
        self.observe(form, &c);
        self.success_status(form, &c, false, true);
        if let (e, Some(m)) = self.get_model(t, &id).await {
            self.check(
                "lifecycle.cancel",
                form,
                m["state"] == "CANCELED",
                || format!("after cancel the state is {}", m["state"]),
                Some(&e),
            );
        }
        if let Some(uri) = &uri {
            let d = self.any_target(form).fetch(uri).await;
            self.check(
                "lifecycle.cancel",
                form,
                !d.ok(),
                || {
                    format!(
                        "the download URI still serves (HTTP {}) after cancel",
                        d.status
                    )
                },
                Some(&d),
            );
        }
        for e in [
            t.keep_alive(&id, None).await,
            t.cancel(&id).await,
            t.fail(&id, FAIL_MESSAGE).await,
        ] {
            self.observe(form, &e);
            self.expect_error(
                "error.not-active",
                form,
                &e,
                400,
                "NOT_ALLOWED_IN_CURRENT_STATE",
            );
        }

        // delete: gone.
        let d = self.delete(t, &id).await;
        self.success_status(form, &d, false, true);
        let g = t.get(&id).await;
        self.observe(form, &g);
        self.expect_error("lifecycle.delete", form, &g, 404, "NOT_FOUND");
    }

    /// Prepare file `name` of session `id`, poll it to PREPARED, download it and check what
    /// is reported about it; returns its download URI once PREPARED.
    async fn file_probe(&mut self, t: &Target, id: &str, name: &str) -> Option<String> {
        let form = t.form;
        // Prepare and poll: statuses only move forward.
        let p = t.prepare(id, name).await;
        self.observe(form, &p);
        self.schema(
            "schema.file-info",
            form,
            &p,
            "api/file_info",
            "rest/value_file_info",
        );
        let mut statuses = vec![];
        let mut last = None;
        if let Some(f) = p.ok().then(|| p.value(form).cloned()).flatten() {
            self.endpoint_rule(form, &f, &p);
            statuses.push(f["status"].as_str().unwrap_or("").to_string());
            last = Some(f);
        }
        let deadline = Instant::now() + self.opts.prepare_timeout;
        loop {
            let done = statuses
                .last()
                .is_some_and(|s| s == "PREPARED" || s == "ERROR");
            if done || Instant::now() > deadline {
                break;
            }
            if !self.stop.sleep(self.opts.poll_interval).await {
                return None;
            }
            let (_, f) = self.file_get(t, id, name).await;
            let Some(f) = f else { break };
            statuses.push(f["status"].as_str().unwrap_or("").to_string());
            last = Some(f);
        }
        // Once more after PREPARED: it must stay PREPARED.
        let (after_e, after) = self.file_get(t, id, name).await;
        if let Some(f) = &after {
            statuses.push(f["status"].as_str().unwrap_or("").to_string());
            if f["status"] == "PREPARED" {
                last = Some(f.clone());
            }
        }
        let rank = |s: &str| match s {
            "UNPREPARED" => 0,
            "PREPARE_REQUESTED" => 1,
            "PREPARING" => 2,
            "PREPARED" | "ERROR" => 3,
            _ => -1,
        };
        let forward = statuses
            .windows(2)
            .all(|w| rank(&w[0]) <= rank(&w[1]) && rank(&w[1]) >= 0);
        self.check(
            "lifecycle.prepare-forward-only",
            form,
            forward,
            || format!("file {name} went through {}", statuses.join(" → ")),
            Some(&after_e),
        );

        // Download it whole; then size, checksum and thumbprint.
        let uri = last
            .as_ref()
            .filter(|f| f["status"] == "PREPARED")
            .and_then(|f| f["download_endpoint"]["uri"].as_str())
            .map(str::to_string);
        match &uri {
            Some(uri) => {
                self.content(t, id, name, uri, last.as_ref().unwrap_or(&Value::Null))
                    .await
            }
            None => {
                for rule in ["content.size-and-checksum", "content.thumbprint"] {
                    self.checker
                        .not_reached(rule, form, "the file never became PREPARED");
                }
            }
        }
        uri
    }

    fn expiry_not_backwards(
        &mut self,
        form: Form,
        before: &Option<String>,
        after: &Option<String>,
        e: &Exchange,
    ) {
        let parse = |s: &Option<String>| {
            s.as_deref().and_then(|s| {
                time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()
            })
        };
        if let (Some(a), Some(b)) = (parse(before), parse(after)) {
            self.check(
                "lifecycle.expiry-monotonic",
                form,
                b >= a,
                || {
                    format!(
                        "keep_alive moved expiration_time back from {} to {}",
                        before.as_deref().unwrap_or(""),
                        after.as_deref().unwrap_or("")
                    )
                },
                Some(e),
            );
        }
    }

    fn any_target(&self, form: Form) -> Target {
        Target {
            form,
            root: self.root.clone(),
            http: self.any_http.clone(),
            token: None,
        }
    }

    async fn content(&mut self, t: &Target, id: &str, name: &str, uri: &str, info: &Value) {
        let form = t.form;
        let d = self.any_target(form).fetch(uri).await;
        if !d.ok() {
            self.fail(
                "content.size-and-checksum",
                form,
                format!("the download URI answered HTTP {}", d.status),
                Some(&d),
            );
            return;
        }
        // Thumbprint: what the endpoint reports against what its server presented.
        let reported = info["download_endpoint"]["ssl_certificate_thumbprint"].as_str();
        match (uri.starts_with("https://"), reported, &d.presented) {
            (true, Some(r), Some(p)) => {
                let norm = |s: &str| s.replace(':', "").to_ascii_uppercase();
                let ok = norm(r) == norm(&p.sha1) || norm(r) == norm(&p.sha256);
                self.check(
                    "content.thumbprint",
                    form,
                    ok,
                    || format!("endpoint reports thumbprint {r}; the server presented {p}"),
                    Some(&d),
                );
            }
            (true, None, _) => self.checker.skip(
                "content.thumbprint",
                form,
                "the HTTPS endpoint reports no thumbprint",
            ),
            _ => self.checker.skip(
                "content.thumbprint",
                form,
                "the download endpoint is not HTTPS",
            ),
        }
        let (e, after) = self.file_get(t, id, name).await;
        let Some(f) = after else { return };
        let n = d.body.len() as u64;
        let size = f.get("size").and_then(Value::as_u64);
        self.check(
            "content.size-and-checksum",
            form,
            size == Some(n),
            || format!("{n} bytes were served but size is {size:?}"),
            Some(&e),
        );
        let algorithm = f["checksum_info"]["algorithm"].as_str().unwrap_or("SHA1");
        let reported = f["checksum_info"]["checksum"].as_str();
        let own = digest(algorithm, &d.body);
        self.check(
            "content.size-and-checksum",
            form,
            matches!((reported, &own), (Some(r), Some(o)) if r.eq_ignore_ascii_case(o)),
            || {
                format!(
                    "checksum_info {algorithm} is {reported:?}; the bytes served hash to {own:?}"
                )
            },
            Some(&e),
        );
    }

    async fn fail_probe(&mut self, t: &Target, item: &str) {
        let form = t.form;
        let (_, Some(id)) = self.create(t, item, None).await else {
            return;
        };
        let f = t.fail(&id, FAIL_MESSAGE).await;
        self.observe(form, &f);
        self.success_status(form, &f, false, true);
        if let (e, Some(m)) = self.get_model(t, &id).await {
            let text = m["error_message"]["default_message"].as_str();
            self.check(
                "lifecycle.fail",
                form,
                m["state"] == "ERROR" && text == Some(FAIL_MESSAGE),
                || {
                    format!(
                        "after fail(\"{FAIL_MESSAGE}\") the state is {} with message {text:?}",
                        m["state"]
                    )
                },
                Some(&e),
            );
        }
        self.delete(t, &id).await;
    }

    async fn errors_probe(&mut self, t: &Target, item: &str) {
        let form = t.form;
        for e in [
            t.keep_alive(NO_SUCH_SESSION, None).await,
            t.delete(NO_SUCH_SESSION).await,
            t.file_list(NO_SUCH_SESSION).await,
        ] {
            self.observe(form, &e);
            self.expect_error("error.unknown-session", form, &e, 404, "NOT_FOUND");
        }
        let (e, stray) = self.create(t, NO_SUCH_ITEM, None).await;
        self.expect_error("error.unknown-item", form, &e, 404, "NOT_FOUND");
        if let Some(stray) = stray {
            self.delete(t, &stray).await;
        }
        let (_, Some(id)) = self.create(t, item, None).await else {
            return;
        };
        for e in [
            t.file_get(&id, NO_SUCH_FILE).await,
            t.prepare(&id, NO_SUCH_FILE).await,
        ] {
            self.observe(form, &e);
            self.expect_error("error.unknown-file", form, &e, 400, "INVALID_ARGUMENT");
        }
        self.delete(t, &id).await;
    }

    async fn list_probe(&mut self, t: &Target, item: &str, other: Option<&str>) {
        let form = t.form;
        let all = t.list(None).await;
        self.observe(form, &all);
        self.schema(
            "schema.id-list",
            form,
            &all,
            "api/id_list",
            "rest/value_id_list",
        );
        let Some(other) = other else {
            self.checker.skip(
                "lifecycle.list-filter",
                form,
                "the endpoint has only one library item",
            );
            return;
        };
        let (_, a) = self.create(t, item, None).await;
        let (_, b) = self.create(t, other, None).await;
        if let (Some(a), Some(b)) = (&a, &b) {
            for (it, mine, theirs) in [(item, a, b), (other, b, a)] {
                let l = t.list(Some(it)).await;
                self.observe(form, &l);
                self.schema(
                    "schema.id-list",
                    form,
                    &l,
                    "api/id_list",
                    "rest/value_id_list",
                );
                let ids = strings(l.value(form));
                self.check(
                    "lifecycle.list-filter",
                    form,
                    ids.contains(mine) && !ids.contains(theirs),
                    || format!("list(library_item_id={it}) gave {ids:?}: it should hold {mine} and not {theirs}"),
                    Some(&l),
                );
            }
        }
        for id in [a, b].into_iter().flatten() {
            self.delete(t, &id).await;
        }
    }

    async fn client_token_probe(&mut self, t: &Target, item: &str) {
        let form = t.form;
        let Ok(token) = crate::client::tls::random_uuid() else {
            return;
        };
        let (e1, a) = self.create(t, item, Some(&token)).await;
        let (e2, b) = self.create(t, item, Some(&token)).await;
        if let (Some(a), Some(b)) = (&a, &b) {
            self.check(
                "lifecycle.client-token",
                form,
                a == b,
                || format!("the same client token gave two sessions, {a} and {b}"),
                Some(&e2),
            );
        } else {
            self.fail(
                "lifecycle.client-token",
                form,
                "create with a client token failed".into(),
                Some(if a.is_none() { &e1 } else { &e2 }),
            );
        }
        for id in [a, b]
            .into_iter()
            .flatten()
            .collect::<std::collections::BTreeSet<_>>()
        {
            self.delete(t, &id).await;
        }
    }

    async fn expiry_probe(&mut self, t: &Target, item: &str) {
        let form = t.form;
        let virtual_clock = dlsim_clock(t)
            .await
            .is_some_and(|c| c["virtual"] == Value::Bool(true));
        if !virtual_clock && !self.opts.slow {
            self.checker.skip(
                "lifecycle.expiry",
                form,
                "slow rule: run with --slow (or against dlsim serve --virtual-clock)",
            );
            return;
        }
        let (_, Some(id)) = self.create(t, item, None).await else {
            return;
        };
        let Some(m) = self.get_model(t, &id).await.1 else {
            return;
        };
        let parse = |s: &str| {
            time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()
        };
        let Some(expires) = m["expiration_time"].as_str().and_then(parse) else {
            self.fail(
                "lifecycle.expiry",
                form,
                "the session has no readable expiration_time".into(),
                None,
            );
            return;
        };
        if virtual_clock {
            let now = dlsim_clock(t)
                .await
                .and_then(|c| c["now"].as_str().and_then(parse));
            let wait = now.map(|n| (expires - n).whole_milliseconds().max(0) as u64 + 1_000);
            if !dlsim_advance(t, wait.unwrap_or(0)).await {
                self.checker.not_reached(
                    "lifecycle.expiry",
                    form,
                    "the dlsim clock could not be moved",
                );
                return;
            }
        } else {
            let wait = (expires - time::OffsetDateTime::now_utc())
                .whole_milliseconds()
                .max(0) as u64
                + 100;
            if Duration::from_millis(wait) > self.opts.slow_timeout {
                let why = format!(
                    "the session expires later than the slow timeout ({} s) allows",
                    self.opts.slow_timeout.as_secs()
                );
                self.checker.skip("lifecycle.expiry", form, &why);
                return;
            }
            if !self.stop.sleep(Duration::from_millis(wait)).await {
                return;
            }
            // A server may remove expired sessions lazily: allow it a grace period.
            let grace = Instant::now() + self.opts.expiry_grace;
            while t.get(&id).await.error_type(form).as_deref() != Some("NOT_FOUND")
                && Instant::now() < grace
            {
                if !self.stop.sleep(self.opts.poll_interval).await {
                    return;
                }
            }
        }
        let g = t.get(&id).await;
        self.observe(form, &g);
        self.expect_error("lifecycle.expiry", form, &g, 404, "NOT_FOUND");
        if g.ok() {
            self.delete(t, &id).await;
        }
    }
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The `jsonrpc/` schema for a rule checked with `api_schema` on `/api`.
fn rpc_schema_of(rule: &str, api_schema: &str) -> String {
    let t = api_schema.strip_prefix("api/").unwrap_or(api_schema);
    let t = match (rule, t) {
        ("schema.login", _) => "secret",
        (_, "library_list") => "id_list",
        (_, t) => t,
    };
    format!("jsonrpc/{t}")
}

/// `doc` with every bare `null` field of a structure written `{"OPTIONAL": null}`; the paths
/// of those fields go to `found`.
fn tag_bare_nulls(doc: &Value, at: &str, found: &mut Vec<String>) -> Value {
    match doc {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, x)| {
                    let here = format!("{at}/{k}");
                    let tagged = match (k.as_str(), x) {
                        ("STRUCTURE" | "ERROR", Value::Object(named)) => Value::Object(
                            named
                                .iter()
                                .map(|(name, body)| {
                                    let inner = format!("{here}/{name}");
                                    let body = match body {
                                        Value::Object(fields) => Value::Object(
                                            fields
                                                .iter()
                                                .map(|(f, v)| {
                                                    let p = format!("{inner}/{f}");
                                                    let v = if v.is_null() {
                                                        found.push(p);
                                                        serde_json::json!({ "OPTIONAL": null })
                                                    } else {
                                                        tag_bare_nulls(v, &p, found)
                                                    };
                                                    (f.clone(), v)
                                                })
                                                .collect(),
                                        ),
                                        other => tag_bare_nulls(other, &inner, found),
                                    };
                                    (name.clone(), body)
                                })
                                .collect(),
                        ),
                        _ => tag_bare_nulls(x, &here, found),
                    };
                    (k.clone(), tagged)
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(
            a.iter()
                .enumerate()
                .map(|(i, x)| tag_bare_nulls(x, &format!("{at}/{i}"), found))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn describe(v: &[crate::schemas::SchemaViolation]) -> String {
    v.iter()
        .take(3)
        .map(|x| x.to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

const DATE_TIME_KEYS: &[&str] = &[
    "expiration_time",
    "created_time",
    "last_accessed_time",
    "creation_time",
    "last_modified_time",
    "last_sync_time",
    "dt",
];

fn is_canonical_date_time(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 24
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 => *c == b':',
            19 => *c == b'.',
            23 => *c == b'Z',
            _ => c.is_ascii_digit(),
        })
}

fn date_times(v: &Value, bad: &mut Vec<(String, String)>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                match x {
                    Value::String(s) if DATE_TIME_KEYS.contains(&k.as_str()) => {
                        if !is_canonical_date_time(s) {
                            bad.push((k.clone(), s.clone()));
                        }
                    }
                    other => date_times(other, bad),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| date_times(x, bad)),
        _ => {}
    }
}

fn has_date_time(v: &Value) -> bool {
    match v {
        Value::Object(m) => m.iter().any(|(k, x)| {
            (DATE_TIME_KEYS.contains(&k.as_str()) && x.is_string()) || has_date_time(x)
        }),
        Value::Array(a) => a.iter().any(has_date_time),
        _ => false,
    }
}

fn digest(algorithm: &str, bytes: &[u8]) -> Option<String> {
    let mut h = Hasher::named(algorithm)?;
    h.update(bytes);
    Some(h.finish_hex())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_nulls_in_structures_are_found_and_tagged_and_nothing_else() {
        use serde_json::json;
        let m = "com.vmware.content.library.item.download_session_model";
        let doc = json!([{ "STRUCTURE": { m: {
            "id": null,
            "state": { "OPTIONAL": "ACTIVE" },
            "error_message": { "OPTIONAL": { "STRUCTURE": { "msg": { "localized": null } } } },
        } } }, null]);
        let mut found = vec![];
        let tagged = tag_bare_nulls(&doc, "", &mut found);
        assert_eq!(
            found,
            [
                format!("/0/STRUCTURE/{m}/id"),
                format!("/0/STRUCTURE/{m}/error_message/OPTIONAL/STRUCTURE/msg/localized"),
            ]
        );
        assert_eq!(tagged[0]["STRUCTURE"][m]["id"], json!({ "OPTIONAL": null }));
        assert_eq!(tagged[1], Value::Null, "a list item is not an optional");
        let mut none = vec![];
        assert_eq!(tag_bare_nulls(&tagged, "", &mut none), tagged);
        assert!(none.is_empty());
    }

    #[test]
    fn jsonrpc_schemas_follow_the_api_ones() {
        assert_eq!(rpc_schema_of("schema.login", "api/id"), "jsonrpc/secret");
        assert_eq!(rpc_schema_of("schema.session-id", "api/id"), "jsonrpc/id");
        assert_eq!(
            rpc_schema_of("schema.library", "api/library_list"),
            "jsonrpc/id_list"
        );
        for (rule, api) in [
            ("schema.session-model", "api/download_session_model"),
            ("schema.file-info", "api/file_info"),
            ("schema.file-info-list", "api/file_info_list"),
            ("schema.library", "api/library_model"),
            ("schema.library", "api/item_model"),
        ] {
            let name = rpc_schema_of(rule, api);
            assert!(crate::schemas::source(&name).is_some(), "{name}");
        }
    }

    #[test]
    fn canonical_date_times() {
        assert!(is_canonical_date_time("2026-11-23T17:08:15.651Z"));
        assert!(!is_canonical_date_time("2026-11-23T17:08:15Z"));
        assert!(!is_canonical_date_time("2026-11-23T17:08:15.651+00:00"));
        assert!(!is_canonical_date_time("2026-11-23 17:08:15.651Z"));
    }
}
