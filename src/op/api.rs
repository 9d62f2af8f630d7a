//! Decoding the current REST form (`/api/...`): ids in the path, `?action=` for the non-CRUD
//! operations, bare JSON bodies, `Client-Token` as a header on create.

use super::{
    basic_credentials, file_get_by_body, file_prepare, method_not_allowed, model, segments,
    session_action, unknown_route, Op, OpName, Query, RawRequest, Request,
};
use crate::server::auth::SESSION_HEADER;
use crate::wire::Form;

const FORM: Form = Form::Api;

/// Decode one `/api` request.
pub fn decode(raw: &RawRequest<'_>) -> Request {
    let mut req = decode_op(raw);
    req.token = raw
        .headers
        .get(SESSION_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    req
}

fn decode_op(raw: &RawRequest<'_>) -> Request {
    let segs = match segments(raw.path, "/api") {
        None => return Request::unnamed(FORM, unknown_route(raw)),
        Some(Err(e)) => return Request::unnamed(FORM, e),
        Some(Ok(s)) => s,
    };
    let q = Query(raw.query_pairs());
    let m = raw.method;
    let segs: Vec<&str> = segs.iter().map(|s| s.as_ref()).collect();
    let named = |name: OpName, op| Request::of(FORM, name, op);
    match segs.as_slice() {
        ["session"] => match m {
            "POST" => named(OpName::Login, basic_credentials(raw.headers)),
            "GET" => named(OpName::SessionGet, Ok(Op::SessionGet)),
            "DELETE" => named(OpName::Logout, Ok(Op::Logout)),
            _ => Request::unnamed(FORM, method_not_allowed(raw)),
        },
        ["content", "library"] => match m {
            "GET" => named(OpName::LibraryList, Ok(Op::LibraryList)),
            _ => Request::unnamed(FORM, method_not_allowed(raw)),
        },
        ["content", "library", "item"] => match m {
            "GET" => named(
                OpName::ItemList,
                q.required("library_id")
                    .map(|library| Op::ItemList { library }),
            ),
            _ => Request::unnamed(FORM, method_not_allowed(raw)),
        },
        ["content", "library", "item", "download-session"] => match m {
            "GET" => named(
                OpName::List,
                Ok(Op::List {
                    item: q.get("library_item_id").map(str::to_string),
                }),
            ),
            "POST" => {
                let client_token = raw
                    .headers
                    .get("client-token")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                named(
                    OpName::Create,
                    model(raw.body, FORM).map(|spec| Op::Create { client_token, spec }),
                )
            }
            _ => Request::unnamed(FORM, method_not_allowed(raw)),
        },
        ["content", "library", "item", "download-session", id] if !id.is_empty() => {
            let session = id.to_string();
            match m {
                "GET" => named(OpName::Get, Ok(Op::Get { session })),
                "DELETE" => named(OpName::Delete, Ok(Op::Delete { session })),
                "POST" => session_action(FORM, session, q.get("action"), raw.body),
                _ => Request::unnamed(FORM, method_not_allowed(raw)),
            }
        }
        ["content", "library", "item", "download-session", id, "file"] if !id.is_empty() => {
            let session = id.to_string();
            match m {
                // With `?file_name=x` one file; the Python SDK's 'rest' mode sends a bare
                // `?file_name` with the name in a JSON body.
                "GET" => match q.get("file_name") {
                    None => named(OpName::FileList, Ok(Op::FileList { session })),
                    Some("") => named(OpName::FileGet, file_get_by_body(FORM, session, raw.body)),
                    Some(file) => named(
                        OpName::FileGet,
                        Ok(Op::FileGet {
                            session,
                            file: file.to_string(),
                        }),
                    ),
                },
                "POST" => match q.get("action") {
                    Some("prepare") => {
                        named(OpName::FilePrepare, file_prepare(FORM, session, raw.body))
                    }
                    other => Request::unknown_action(FORM, other, &["prepare"]),
                },
                _ => Request::unnamed(FORM, method_not_allowed(raw)),
            }
        }
        ["content", "library", "item", id] if !id.is_empty() => match m {
            "GET" => named(
                OpName::ItemGet,
                Ok(Op::ItemGet {
                    item: id.to_string(),
                }),
            ),
            _ => Request::unnamed(FORM, method_not_allowed(raw)),
        },
        ["content", "library", id] if !id.is_empty() => match m {
            "GET" => named(
                OpName::LibraryGet,
                Ok(Op::LibraryGet {
                    library: id.to_string(),
                }),
            ),
            _ => Request::unnamed(FORM, method_not_allowed(raw)),
        },
        _ => Request::unnamed(FORM, unknown_route(raw)),
    }
}
