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
