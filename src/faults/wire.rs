//! The violations that bend what goes on the wire rather than what the engine decides: body
//! shapes, status codes and formats, applied to a finished [`Reply`] of a known operation.

use serde_json::{json, Value};

use super::{Violation, Violations};
use crate::op::OpName;
use crate::wire::{Form, Reply};

/// Bend a reply as the switched-on violations say.
pub fn apply(v: &Violations, form: Form, op: Option<OpName>, reply: &mut Reply) {
    let ok = reply.status < 400;
    let rest = form == Form::Rest;
    // The value inside a /rest wrapper, or the /api body itself.
    fn value(body: &mut Option<Value>, rest: bool) -> Option<&mut Value> {
        let b = body.as_mut()?;
        if rest {
            b.get_mut("value")
        } else {
            Some(b)
        }
    }
    if ok {
        match op {
            Some(OpName::Login) if v.has(Violation::LoginBody) => {
                if let Some(b) = reply.body.take() {
                    reply.body = Some(if rest {
                        b["value"].clone()
                    } else {
                        json!({ "token": b })
                    });
                }
            }
            Some(OpName::Create) if v.has(Violation::SessionIdBody) => {
                if let Some(id) = value(&mut reply.body, rest) {
                    *id = json!({ "id": id.clone() });
                }
            }
            Some(OpName::Get) if v.has(Violation::SessionModelBody) => {
                if let Some(Value::Object(m)) = value(&mut reply.body, rest) {
                    m.insert("owner".into(), json!("administrator@vsphere.local"));
                }
            }
            Some(OpName::List) if v.has(Violation::IdListBody) => {
                if let Some(Value::Array(a)) = value(&mut reply.body, rest) {
                    a.push(Value::Null);
                }
            }
            Some(OpName::FileList) if v.has(Violation::FileInfoListBody) => {
                if let Some(Value::Array(a)) = value(&mut reply.body, rest) {
                    for f in a.iter_mut().filter_map(Value::as_object_mut) {
                        f.insert("path".into(), json!("/storage/lib/file"));
                    }
                }
            }
            Some(OpName::FileGet | OpName::FilePrepare) if v.has(Violation::FileInfoBody) => {
                if let Some(Value::Object(m)) = value(&mut reply.body, rest) {
                    m.insert("path".into(), json!("/storage/lib/file"));
                }
            }
            Some(OpName::LibraryGet) if v.has(Violation::LibraryBody) => {
                if let Some(Value::Object(m)) = value(&mut reply.body, rest) {
                    m.remove("name");
                }
            }
            _ => {}
        }
        if v.has(Violation::SuccessStatus) {
            match (form, op) {
                (Form::Api, Some(OpName::Create)) => reply.status = 200,
                (Form::Rest, _) if reply.body.is_none() => reply.status = 204,
                _ => {}
            }
        }
    } else {
        if v.has(Violation::Unauthenticated) && reply.status == 401 && op != Some(OpName::Login) {
            reply.status = 403;
            if let Some(b) = reply.body.as_mut() {
                if rest {
                    b["type"] = json!("com.vmware.vapi.std.errors.unauthorized");
                    b["value"]["error_type"] = json!("UNAUTHORIZED");
                } else {
                    b["error_type"] = json!("UNAUTHORIZED");
                }
            }
        }
        if v.has(Violation::ErrorBody) {
            if let Some(Value::Object(m)) = value(&mut reply.body, rest) {
                m.remove("messages");
            }
        }
    }
    if v.has(Violation::DateTimeFormat) {
        if let Some(b) = reply.body.as_mut() {
            strip_milliseconds(b);
        }
    }
}

/// Bend a finished JSON-RPC answer (the whole envelope) as the switched-on violations say: the
/// same breaks as [`apply`] on `result.output` / `result.error`, and the JSON-RPC-only ones.
pub fn apply_jsonrpc(v: &Violations, op: Option<OpName>, reply: &mut Reply) {
    let Some(body) = reply.body.as_mut() else {
        return;
    };
    /// The fields of a typed structure or error.
    fn fields(v: &mut Value) -> Option<&mut serde_json::Map<String, Value>> {
        let m = v.as_object_mut()?;
        let tag = if m.contains_key("STRUCTURE") {
            "STRUCTURE"
        } else {
            "ERROR"
        };
        m.get_mut(tag)?
            .as_object_mut()?
            .values_mut()
            .next()?
            .as_object_mut()
    }
    if let Some(out) = body.get_mut("result").and_then(|r| r.get_mut("output")) {
        match op {
            Some(OpName::Login) if v.has(Violation::LoginBody) => {
                *out = json!({ "token": out.clone() });
            }
            Some(OpName::Create) if v.has(Violation::SessionIdBody) => {
                *out = json!({ "id": out.clone() });
            }
            Some(OpName::Get) if v.has(Violation::SessionModelBody) => {
                if let Some(m) = fields(out) {
                    m.insert("owner".into(), json!("administrator@vsphere.local"));
                }
            }
            Some(OpName::List) if v.has(Violation::IdListBody) => {
                if let Value::Array(a) = out {
                    a.push(Value::Null);
                }
            }
            Some(OpName::FileList) if v.has(Violation::FileInfoListBody) => {
                if let Value::Array(a) = out {
                    for m in a.iter_mut().filter_map(fields) {
                        m.insert("path".into(), json!("/storage/lib/file"));
                    }
                }
            }
            Some(OpName::FileGet | OpName::FilePrepare) if v.has(Violation::FileInfoBody) => {
                if let Some(m) = fields(out) {
                    m.insert("path".into(), json!("/storage/lib/file"));
                }
            }
            Some(OpName::LibraryGet) if v.has(Violation::LibraryBody) => {
                if let Some(m) = fields(out) {
                    m.remove("name");
                }
            }
            _ => {}
        }
        if v.has(Violation::JsonRpcOptionalTagged) {
            untag_unset(out);
        }
        if v.has(Violation::SuccessStatus) && op == Some(OpName::Create) {
            reply.status = 201;
        }
    }
    if let Some(error) = body.get_mut("result").and_then(|r| r.get_mut("error")) {
        let unauthenticated = "com.vmware.vapi.std.errors.unauthenticated";
        if v.has(Violation::Unauthenticated) && op != Some(OpName::Login) {
            if let Some(named) = error.get_mut("ERROR").and_then(Value::as_object_mut) {
                if let Some(mut e) = named.remove(unauthenticated) {
                    e["error_type"] = json!({ "OPTIONAL": "UNAUTHORIZED" });
                    named.insert("com.vmware.vapi.std.errors.unauthorized".into(), e);
                }
            }
        }
        if v.has(Violation::ErrorBody) {
            if let Some(m) = fields(error) {
                m.remove("messages");
            }
        }
        if v.has(Violation::JsonRpcErrorsWith200) {
            reply.status = 400;
        }
    }
    if v.has(Violation::JsonRpcProtocolErrors) {
        if let Some(code) = body.get_mut("error").and_then(|e| e.get_mut("code")) {
            // Parse error → invalid request, method not found → invalid params.
            *code = match code.as_i64() {
                Some(-32700) => json!(-32600),
                Some(-32601) => json!(-32602),
                _ => code.clone(),
            };
        }
    }
    if v.has(Violation::JsonRpcIdEcho) {
        if let Some(id) = body.get_mut("id").filter(|id| !id.is_null()) {
            *id = json!(format!("{}-other", id.as_str().unwrap_or("0")));
        }
    }
    if v.has(Violation::JsonRpcEnvelope) {
        if let Some(m) = body.as_object_mut() {
            m.remove("jsonrpc");
        }
    }
    if v.has(Violation::DateTimeFormat) {
        strip_milliseconds(body);
    }
}

/// Every `{"OPTIONAL": null}` in a document written as a bare `null`.
fn untag_unset(v: &mut Value) {
    match v {
        Value::Object(m) if m.len() == 1 && m.get("OPTIONAL") == Some(&Value::Null) => {
            *v = Value::Null;
        }
        Value::Object(m) => m.values_mut().for_each(untag_unset),
        Value::Array(a) => a.iter_mut().for_each(untag_unset),
        _ => {}
    }
}

/// `2026-01-01T00:05:00.000Z` → `2026-01-01T00:05:00Z`, everywhere in a document.
fn strip_milliseconds(v: &mut Value) {
    match v {
        Value::String(s) => {
            let b = s.as_bytes();
            if b.len() == 24 && b[10] == b'T' && b[19] == b'.' && b[23] == b'Z' {
                *s = format!("{}Z", &s[..19]);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(strip_milliseconds),
        Value::Object(m) => m.values_mut().for_each(strip_milliseconds),
        _ => {}
    }
}
