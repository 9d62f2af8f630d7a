//! The violations that bend what goes on the wire rather than what the engine decides: body
//! shapes, status codes and formats, applied to a finished [`Reply`] of a known operation.

use serde_json::{json, Value};

use super::{Violation, Violations};
use crate::wire::{Form, Reply};

/// Which operation a reply answers, as far as the wire violations care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Login,
    Create,
    Get,
    List,
    Void,
    FileList,
    FileInfo,
    LibraryGet,
    Other,
}

/// The operation of a request, from its method, route template and action.
pub fn op_of(method: &str, template: &str, action: Option<&str>, has_file_name: bool) -> Op {
    let t = template;
    match method {
        "POST" if (t.ends_with("/session") && action.is_none()) => Op::Login,
        "POST" if t.ends_with("/download-session") => Op::Create,
        "GET" if t.ends_with("/download-session") => Op::List,
        "GET" if t.ends_with("/download-session/{id}") => Op::Get,
        "DELETE" if t.ends_with("/download-session/{id}") || t.ends_with("/session") => Op::Void,
        "POST" if t.ends_with("/download-session/{id}") => Op::Void,
        "GET" if t.ends_with("/download-session/{id}/file") && has_file_name => Op::FileInfo,
        "GET" if t.ends_with("/download-session/{id}/file") => Op::FileList,
        "POST" if t.ends_with("/download-session/{id}/file") => Op::FileInfo,
        "GET" if t.ends_with("/downloadsession/file") => Op::FileList,
        "POST" if t.ends_with("/downloadsession/file/{id}") => Op::FileInfo,
        "GET" if t.ends_with("/content/library/{id}") => Op::LibraryGet,
        _ => Op::Other,
    }
}

/// Bend a reply as the switched-on violations say.
pub fn apply(v: &Violations, form: Form, op: Op, reply: &mut Reply) {
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
            Op::Login if v.has(Violation::LoginBody) => {
                if let Some(b) = reply.body.take() {
                    reply.body = Some(if rest {
                        b["value"].clone()
                    } else {
                        json!({ "token": b })
                    });
                }
            }
            Op::Create if v.has(Violation::SessionIdBody) => {
                if let Some(id) = value(&mut reply.body, rest) {
                    *id = json!({ "id": id.clone() });
                }
            }
            Op::Get if v.has(Violation::SessionModelBody) => {
                if let Some(Value::Object(m)) = value(&mut reply.body, rest) {
                    m.insert("owner".into(), json!("administrator@vsphere.local"));
                }
            }
            Op::List if v.has(Violation::IdListBody) => {
                if let Some(Value::Array(a)) = value(&mut reply.body, rest) {
                    a.push(Value::Null);
                }
            }
            Op::FileList if v.has(Violation::FileInfoListBody) => {
                if let Some(Value::Array(a)) = value(&mut reply.body, rest) {
                    for f in a.iter_mut().filter_map(Value::as_object_mut) {
                        f.insert("path".into(), json!("/storage/lib/file"));
                    }
                }
            }
            Op::FileInfo if v.has(Violation::FileInfoBody) => {
                if let Some(Value::Object(m)) = value(&mut reply.body, rest) {
                    m.insert("path".into(), json!("/storage/lib/file"));
                }
            }
            Op::LibraryGet if v.has(Violation::LibraryBody) => {
                if let Some(Value::Object(m)) = value(&mut reply.body, rest) {
                    m.remove("name");
                }
            }
            _ => {}
        }
        if v.has(Violation::SuccessStatus) {
            match (form, op) {
                (Form::Api, Op::Create) => reply.status = 200,
                (Form::Rest, _) if reply.body.is_none() => reply.status = 204,
                _ => {}
            }
        }
    } else {
        if v.has(Violation::Unauthenticated) && reply.status == 401 && op != Op::Login {
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
