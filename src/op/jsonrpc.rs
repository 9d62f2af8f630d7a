//! Decoding vAPI JSON-RPC 2.0 (`POST /api`): the `invoke` envelope names the service and
//! operation, the typed `operation-input` carries the parameters, and the security context the
//! credentials (user and password to log in, the session id afterwards).
//!
//! Envelope faults are JSON-RPC protocol errors (-32700 parse, -32600 invalid request, -32601
//! unknown method, service or operation, -32602 invalid params); everything after that is a vAPI
//! error, answered in `result.error`.

use serde_json::Value as Json;

use super::{Op, OpName, Rejection, Request};
use crate::engine::library::ItemFind;
use crate::model::session::DOWNLOAD_SESSION_MODEL;
use crate::model::value::{FieldDef, FromValue, StructDef, StructReader, Type};
use crate::model::EndpointType;
use crate::wire::{bodies, jsonrpc, request_errors, Form};

const FORM: Form = Form::JsonRpc;

pub const PARSE_ERROR: i64 = -32700;
pub const INVALID_REQUEST: i64 = -32600;
pub const METHOD_NOT_FOUND: i64 = -32601;
pub const INVALID_PARAMS: i64 = -32602;

fn protocol(code: i64, message: &'static str, detail: String) -> Rejection {
    Rejection {
        error: request_errors::invalid_input(&detail),
        status: None,
        protocol: Some((code, message)),
    }
}

fn rejected(name: Option<OpName>, r: Rejection) -> Request {
    let mut req = Request::unnamed(FORM, r);
    req.name = name;
    req
}

/// The same request, answering to `id`.
fn with_id(mut r: Request, id: &Option<Json>) -> Request {
    r.rpc_id = id.clone();
    r
}

macro_rules! input {
    ($name:ident { $($field:literal : $ty:expr),* $(,)? }) => {
        static $name: StructDef = StructDef {
            name: "operation-input",
            fields: &[$(FieldDef { name: $field, ty: $ty }),*],
        };
    };
}

input!(NO_INPUT {});
input!(LIBRARY_ID { "library_id": Type::String });
input!(ITEM_ID { "library_item_id": Type::String });
input!(SESSION_ID { "download_session_id": Type::String });
input!(LIBRARY_FIND { "spec": Type::Struct(&bodies::LIBRARY_FIND_SPEC) });
input!(ITEM_FIND { "spec": Type::Struct(&bodies::ITEM_FIND_SPEC) });
input!(CREATE {
    "client_token": Type::Optional(&Type::String),
    "create_spec": Type::Struct(&DOWNLOAD_SESSION_MODEL),
});
input!(LIST { "library_item_id": Type::Optional(&Type::String) });
input!(KEEP_ALIVE {
    "download_session_id": Type::String,
    "progress": Type::Optional(&Type::Long),
});
input!(FAIL {
    "download_session_id": Type::String,
    "client_error_message": Type::String,
});
input!(FILE {
    "download_session_id": Type::String,
    "file_name": Type::String,
});
input!(PREPARE {
    "download_session_id": Type::String,
    "file_name": Type::String,
    "endpoint_type": Type::Optional(&Type::Enum(&EndpointType::DEF)),
});

/// Which operation a service and operation id name, and the shape of its input.
fn operation(service: &str, operation: &str) -> Option<(OpName, &'static StructDef)> {
    use OpName::*;
    Some(match (service, operation) {
        ("com.vmware.cis.session", "create") => (Login, &NO_INPUT),
        ("com.vmware.cis.session", "get") => (SessionGet, &NO_INPUT),
        ("com.vmware.cis.session", "delete") => (Logout, &NO_INPUT),
        ("com.vmware.content.library", "list") => (LibraryList, &NO_INPUT),
        ("com.vmware.content.library", "get") => (LibraryGet, &LIBRARY_ID),
        ("com.vmware.content.library", "find") => (LibraryFind, &LIBRARY_FIND),
        ("com.vmware.content.library.item", "list") => (ItemList, &LIBRARY_ID),
        ("com.vmware.content.library.item", "get") => (ItemGet, &ITEM_ID),
        ("com.vmware.content.library.item", "find") => (ItemFind, &ITEM_FIND),
        (DS, "create") => (Create, &CREATE),
        (DS, "get") => (Get, &SESSION_ID),
        (DS, "list") => (List, &LIST),
        (DS, "keep_alive") => (KeepAlive, &KEEP_ALIVE),
        (DS, "cancel") => (Cancel, &SESSION_ID),
        (DS, "fail") => (Fail, &FAIL),
        (DS, "delete") => (Delete, &SESSION_ID),
        (FILES, "list") => (FileList, &SESSION_ID),
        (FILES, "get") => (FileGet, &FILE),
        (FILES, "prepare") => (FilePrepare, &PREPARE),
        _ => return None,
    })
}

const DS: &str = "com.vmware.content.library.item.download_session";
const FILES: &str = "com.vmware.content.library.item.downloadsession.file";

/// The services served, for "not found" answers.
pub const SERVICES: &[&str] = &[
    "com.vmware.cis.session",
    "com.vmware.content.library",
    "com.vmware.content.library.item",
    DS,
    FILES,
];

/// Decode one JSON-RPC request body (its `id` is kept for the answer; `null` if unreadable).
pub fn decode(body: &[u8]) -> Request {
    let mut req = decode_call(body);
    req.rpc_id.get_or_insert(Json::Null);
    req
}

/// A well-formed `invoke` call, read straight into its parts (strings borrowed from the body
/// where they need no unescaping). Anything this does not read, malformed or not, is left to
/// the document reading in [`decode_call`], which says exactly what is wrong.
#[derive(serde::Deserialize)]
struct Call<'a> {
    #[serde(borrow)]
    jsonrpc: std::borrow::Cow<'a, str>,
    id: Json,
    #[serde(borrow)]
    method: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    params: Params<'a>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Params<'a> {
    #[serde(borrow)]
    service_id: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    operation_id: std::borrow::Cow<'a, str>,
    #[serde(default)]
    input: Option<Json>,
    #[serde(default)]
    ctx: Option<Ctx>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Ctx {
    #[serde(default)]
    security_ctx: Option<SecurityCtx>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct SecurityCtx {
    #[serde(default)]
    session_id: Option<String>,
    #[serde(default)]
    user_name: Option<String>,
    #[serde(default)]
    password: Option<String>,
}

/// The fast reading of a well-formed call; none when the document reading must judge it.
fn fast_call(body: &[u8]) -> Option<Request> {
    let call: Call = serde_json::from_slice(body).ok()?;
    let id_ok = call.id.is_string() || call.id.is_number();
    if call.jsonrpc != "2.0" || !id_ok || call.method != "invoke" {
        return None;
    }
    let (name, def) = operation(&call.params.service_id, &call.params.operation_id)?;
    let security = call.params.ctx.and_then(|c| c.security_ctx);
    let (token, login) = match security {
        Some(SecurityCtx {
            session_id,
            user_name,
            password,
        }) => (session_id, user_name.zip(password)),
        None => (None, None),
    };
    let input = call.params.input.unwrap_or(Json::Null);
    Some(invoke(name, def, &input, token, login, Some(call.id)))
}

/// The request an `invoke` of operation `name` makes.
fn invoke(
    name: OpName,
    def: &'static StructDef,
    input: &Json,
    token: Option<String>,
    login: Option<(String, String)>,
    id: Option<Json>,
) -> Request {
    let op = read_input(input, def).and_then(|r| build(name, r, login));
    Request {
        form: FORM,
        name: Some(name),
        op,
        token,
        set_cookie: false,
        needs_login: name.needs_login(),
        rpc_id: id,
    }
}

fn decode_call(body: &[u8]) -> Request {
    fast_call(body).unwrap_or_else(|| document_call(body))
}

/// Read the call as a JSON document, judging every part of the envelope.
fn document_call(body: &[u8]) -> Request {
    let json: Json = match serde_json::from_slice(body) {
        Ok(j) => j,
        Err(e) => {
            return rejected(
                None,
                protocol(PARSE_ERROR, "Parse error.", format!("not JSON: {e}")),
            )
        }
    };
    let invalid = |detail: &str| {
        rejected(
            None,
            protocol(INVALID_REQUEST, "Invalid request.", detail.to_string()),
        )
    };
    let Some(env) = json.as_object() else {
        return invalid("the request is not a JSON object");
    };
    let id = env.get("id").cloned();
    if env.get("jsonrpc").and_then(Json::as_str) != Some("2.0") {
        return invalid("\"jsonrpc\" must be \"2.0\"");
    }
    if !env
        .get("id")
        .is_some_and(|id| id.is_string() || id.is_number())
    {
        return invalid("\"id\" must be a string or a number");
    }
    match env.get("method").and_then(Json::as_str) {
        Some("invoke") => {}
        Some(_) => {
            return with_id(
                rejected(
                    None,
                    protocol(
                        METHOD_NOT_FOUND,
                        "Method not found.",
                        "the only method is \"invoke\"".into(),
                    ),
                ),
                &id,
            )
        }
        None => return invalid("\"method\" is missing"),
    }
    let Some(params) = env.get("params").and_then(Json::as_object) else {
        return invalid("\"params\" must be an object");
    };
    let text = |k: &str| params.get(k).and_then(Json::as_str);
    let (Some(service), Some(op_id)) = (text("serviceId"), text("operationId")) else {
        return with_id(
            rejected(
                None,
                protocol(
                    INVALID_PARAMS,
                    "Invalid params.",
                    "params needs serviceId and operationId".into(),
                ),
            ),
            &id,
        );
    };
    let Some((name, def)) = operation(service, op_id) else {
        let what = if SERVICES.contains(&service) {
            format!("operation {op_id:?} of {service}")
        } else {
            format!("service {service:?}")
        };
        return with_id(
            rejected(
                None,
                protocol(
                    METHOD_NOT_FOUND,
                    "Method not found.",
                    format!("no {what} is served"),
                ),
            ),
            &id,
        );
    };
    let ctx = params.get("ctx").and_then(|c| c.get("securityCtx"));
    let text = |k: &str| {
        ctx.and_then(|c| c.get(k))
            .and_then(Json::as_str)
            .map(str::to_string)
    };
    let login = text("userName").zip(text("password"));
    let input = params.get("input").unwrap_or(&Json::Null);
    invoke(name, def, input, text("sessionId"), login, id)
}

fn read_input(input: &Json, def: &'static StructDef) -> Result<StructReader, Rejection> {
    let invalid = |e: crate::model::DecodeError| {
        protocol(
            INVALID_PARAMS,
            "Invalid params.",
            format!("input{}: {}", e.path, e.message),
        )
    };
    let value = jsonrpc::decode(input, &Type::Struct(def)).map_err(invalid)?;
    StructReader::new(value, def).map_err(invalid)
}

fn req<T: FromValue>(r: &mut StructReader, name: &'static str) -> Result<T, Rejection> {
    r.req(name).map_err(field_error)
}

fn opt<T: FromValue>(r: &mut StructReader, name: &'static str) -> Result<Option<T>, Rejection> {
    r.opt(name).map_err(field_error)
}

fn field_error(e: crate::model::DecodeError) -> Rejection {
    protocol(
        INVALID_PARAMS,
        "Invalid params.",
        format!("input{}: {}", e.path, e.message),
    )
}

/// The operation from its decoded input.
fn build(
    name: OpName,
    mut r: StructReader,
    login: Option<(String, String)>,
) -> Result<Op, Rejection> {
    let session = |r: &mut StructReader| req::<String>(r, "download_session_id");
    Ok(match name {
        OpName::Login => match login {
            Some((user, password)) => Op::Login { user, password },
            None => {
                return Err(crate::engine::errors::unauthenticated(
                    "log in with a user_pass security context (userName and password).",
                )
                .into())
            }
        },
        OpName::SessionGet => Op::SessionGet,
        OpName::Logout => Op::Logout,
        OpName::LibraryList => Op::LibraryList,
        OpName::LibraryGet => Op::LibraryGet {
            library: req(&mut r, "library_id")?,
        },
        OpName::LibraryFind => {
            let spec: crate::model::Value = req(&mut r, "spec")?;
            let mut s = StructReader::new(spec, &bodies::LIBRARY_FIND_SPEC).map_err(field_error)?;
            Op::LibraryFind {
                name: opt(&mut s, "name")?,
                kind: opt(&mut s, "type")?,
            }
        }
        OpName::ItemList => Op::ItemList {
            library: req(&mut r, "library_id")?,
        },
        OpName::ItemGet => Op::ItemGet {
            item: req(&mut r, "library_item_id")?,
        },
        OpName::ItemFind => {
            let spec: crate::model::Value = req(&mut r, "spec")?;
            let mut s = StructReader::new(spec, &bodies::ITEM_FIND_SPEC).map_err(field_error)?;
            Op::ItemFind(ItemFind {
                name: opt(&mut s, "name")?,
                library_id: opt(&mut s, "library_id")?,
                source_id: opt(&mut s, "source_id")?,
                item_type: opt(&mut s, "type")?,
                cached: opt(&mut s, "cached")?,
            })
        }
        OpName::Create => Op::Create {
            client_token: opt(&mut r, "client_token")?,
            spec: req(&mut r, "create_spec")?,
        },
        OpName::Get => Op::Get {
            session: session(&mut r)?,
        },
        OpName::List => Op::List {
            item: opt(&mut r, "library_item_id")?,
        },
        OpName::KeepAlive => Op::KeepAlive {
            session: session(&mut r)?,
            progress: opt(&mut r, "progress")?,
        },
        OpName::Cancel => Op::Cancel {
            session: session(&mut r)?,
        },
        OpName::Fail => Op::Fail {
            session: session(&mut r)?,
            message: req(&mut r, "client_error_message")?,
        },
        OpName::Delete => Op::Delete {
            session: session(&mut r)?,
        },
        OpName::FileList => Op::FileList {
            session: session(&mut r)?,
        },
        OpName::FileGet => Op::FileGet {
            session: session(&mut r)?,
            file: req(&mut r, "file_name")?,
        },
        OpName::FilePrepare => Op::FilePrepare {
            session: session(&mut r)?,
            file: req(&mut r, "file_name")?,
            endpoint: opt(&mut r, "endpoint_type")?,
        },
        OpName::Download => {
            return Err(protocol(
                METHOD_NOT_FOUND,
                "Method not found.",
                "downloads are not a JSON-RPC operation".into(),
            ))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn capture(name: &str) -> Vec<u8> {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/sdk/captures/requests/");
        std::fs::read(format!("{dir}{name}.request.json")).unwrap()
    }

    /// The fast reading and the document reading agree on every request the SDK sends, and on
    /// variations of it; the fast one declines what it cannot read.
    #[test]
    fn the_fast_reading_agrees_with_the_document_reading() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/sdk/captures/requests/");
        let mut n = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let body = std::fs::read(entry.unwrap().path()).unwrap();
            let fast = fast_call(&body).expect("the fast reading reads the SDK's requests");
            assert_eq!(fast, document_call(&body));
            // An escaped string, an unknown member, a numeric id, a session id that is no
            // string, a second `params`: the same request, or left to the document reading.
            let mut doc: Json = serde_json::from_slice(&body).unwrap();
            doc["params"]["extra"] = Json::from("x");
            doc["id"] = Json::from(42);
            let body = serde_json::to_vec(&doc).unwrap();
            assert_eq!(fast_call(&body).unwrap(), document_call(&body));
            let text = String::from_utf8(body).unwrap();
            let escaped = text.replacen("\"invoke\"", "\"\\u0069nvoke\"", 1);
            assert_eq!(
                fast_call(escaped.as_bytes()).unwrap(),
                document_call(escaped.as_bytes())
            );
            let twice = text.replacen("{", "{\"params\":{},", 1);
            assert!(fast_call(twice.as_bytes()).is_none());
            let mut odd = doc.clone();
            odd["params"]["ctx"] = serde_json::json!({"securityCtx": {"sessionId": 5}});
            let odd = serde_json::to_vec(&odd).unwrap();
            assert!(fast_call(&odd).is_none());
            assert_eq!(decode_call(&odd), document_call(&odd));
            n += 1;
        }
        assert!(n >= 20, "{n} captured requests");
    }

    #[test]
    fn the_sdks_requests_decode_into_operations() {
        let keep = decode(&capture(
            "com.vmware.content.library.item.download_session.keep_alive",
        ));
        assert_eq!(keep.token.as_deref(), Some("<session-id>"));
        assert_eq!(
            keep.op,
            Ok(Op::KeepAlive {
                session: "sess-1".into(),
                progress: Some(50)
            })
        );
        let login = decode(&capture("com.vmware.cis.session.create"));
        assert_eq!(
            login.op,
            Ok(Op::Login {
                user: "probe-user".into(),
                password: "<password>".into()
            })
        );
        let prepare = decode(&capture(
            "com.vmware.content.library.item.downloadsession.file.prepare",
        ));
        assert_eq!(
            prepare.op,
            Ok(Op::FilePrepare {
                session: "sess-1".into(),
                file: "a.ovf".into(),
                endpoint: Some(EndpointType::Https)
            })
        );
    }

    #[test]
    fn envelope_faults_are_protocol_errors() {
        let code = |body: &str| decode(body.as_bytes()).op.unwrap_err().protocol.unwrap().0;
        assert_eq!(code("{nope"), PARSE_ERROR);
        assert_eq!(code("[]"), INVALID_REQUEST);
        assert_eq!(
            code(r#"{"jsonrpc":"1.0","id":"1","method":"invoke"}"#),
            INVALID_REQUEST
        );
        assert_eq!(
            code(r#"{"jsonrpc":"2.0","id":"1","method":"frob","params":{}}"#),
            METHOD_NOT_FOUND
        );
        let call = |svc: &str, op: &str, input: &str| {
            format!(
                r#"{{"jsonrpc":"2.0","id":"1","method":"invoke","params":{{"serviceId":"{svc}","operationId":"{op}","input":{input},"ctx":{{}}}}}}"#
            )
        };
        assert_eq!(
            code(&call("com.vmware.nope", "get", "{}")),
            METHOD_NOT_FOUND
        );
        assert_eq!(code(&call(DS, "frob", "{}")), METHOD_NOT_FOUND);
        assert_eq!(
            code(&call(DS, "get", r#"{"STRUCTURE":{"operation-input":{}}}"#)),
            INVALID_PARAMS
        );
        assert_eq!(
            code(&call(
                DS,
                "keep_alive",
                r#"{"STRUCTURE":{"operation-input":{"download_session_id":"s","progress":50}}}"#
            )),
            INVALID_PARAMS,
            "a bare value where an OPTIONAL is expected"
        );
    }
}
