//! Decoding the current REST form (`/api/...`): ids in the path, `?action=` for the non-CRUD
//! operations, bare JSON bodies, `Client-Token` as a header on create.

use super::{
    basic_credentials, file_get_by_body, file_prepare, item_find, method_not_allowed, model,
    segments, session_action, unknown_route, Body, Op, OpName, Query, RawRequest, Request,
};
use crate::server::auth::SESSION_HEADER;
use crate::wire::{bodies, Form};

/// Decode one `/api` request.
pub fn decode(raw: &RawRequest<'_>) -> Request {
    decode_as(raw, Form::Api, "/api")
}

/// Decode an `/api`-shaped request whose bodies follow `form`, under the path `prefix` (the
/// Python SDK's `'rest'` mode: `/sdk-rest/api`).
pub fn decode_as(raw: &RawRequest<'_>, form: Form, prefix: &str) -> Request {
    let mut req = decode_op(raw, form, prefix);
    req.token = raw
        .headers
        .get(SESSION_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    req
}

fn decode_op(raw: &RawRequest<'_>, form: Form, prefix: &str) -> Request {
    let segs = match segments(raw.path, prefix) {
        None => return Request::unnamed(form, unknown_route(raw)),
        Some(Err(e)) => return Request::unnamed(form, e),
        Some(Ok(s)) => s,
    };
    let mut q = Query(raw.query_pairs());
    if form == Form::SdkRest {
        q.fill_from_body(raw.body);
    }
    let m = raw.method;
    // The longest route has seven segments; a longer path matches none (no allocation).
    let mut parts = [""; 8];
    let n = segs.len().min(parts.len());
    for (part, seg) in parts.iter_mut().zip(&segs) {
        *part = seg.as_ref();
    }
    let segs = &parts[..n];
    let named = |name: OpName, op| Request::of(form, name, op);
    match segs {
        ["session"] => match m {
            "POST" => named(OpName::Login, basic_credentials(raw.headers)),
            "GET" => named(OpName::SessionGet, Ok(Op::SessionGet)),
            "DELETE" => named(OpName::Logout, Ok(Op::Logout)),
            _ => Request::unnamed(form, method_not_allowed(raw)),
        },
        ["content", "library"] => match (m, q.get("action")) {
            ("GET", _) => named(OpName::LibraryList, Ok(Op::LibraryList)),
            // `?action=find` with the find spec as the whole body.
            ("POST", Some("find")) => named(
                OpName::LibraryFind,
                Body::decode(raw.body, &bodies::LIBRARY_FIND_SPEC, form).and_then(|mut spec| {
                    Ok(Op::LibraryFind {
                        name: spec.opt("name")?,
                        kind: spec.opt("type")?,
                    })
                }),
            ),
            ("POST", other) => Request::unknown_action(form, other, &["find"]),
            _ => Request::unnamed(form, method_not_allowed(raw)),
        },
        ["content", "library", "item"] => match (m, q.get("action")) {
            ("GET", _) => named(
                OpName::ItemList,
                q.required("library_id")
                    .map(|library| Op::ItemList { library }),
            ),
            ("POST", Some("find")) => named(
                OpName::ItemFind,
                Body::decode(raw.body, &bodies::ITEM_FIND_SPEC, form)
                    .and_then(|mut spec| item_find(&mut spec))
                    .map(Op::ItemFind),
            ),
            ("POST", other) => Request::unknown_action(form, other, &["find"]),
            _ => Request::unnamed(form, method_not_allowed(raw)),
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
                    model(raw.body, form).map(|spec| Op::Create { client_token, spec }),
                )
            }
            _ => Request::unnamed(form, method_not_allowed(raw)),
        },
        ["content", "library", "item", "download-session", id] if !id.is_empty() => {
            let session = id.to_string();
            match m {
                "GET" => named(OpName::Get, Ok(Op::Get { session })),
                "DELETE" => named(OpName::Delete, Ok(Op::Delete { session })),
                "POST" => session_action(form, session, q.get("action"), raw.body),
                _ => Request::unnamed(form, method_not_allowed(raw)),
            }
        }
        ["content", "library", "item", "download-session", id, "file"] if !id.is_empty() => {
            let session = id.to_string();
            match m {
                // With `?file_name=x` one file; the Python SDK's 'rest' mode sends a bare
                // `?file_name` with the name in a JSON body.
                "GET" => match q.get("file_name") {
                    None => named(OpName::FileList, Ok(Op::FileList { session })),
                    Some("") => named(OpName::FileGet, file_get_by_body(form, session, raw.body)),
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
                        named(OpName::FilePrepare, file_prepare(form, session, raw.body))
                    }
                    other => Request::unknown_action(form, other, &["prepare"]),
                },
                _ => Request::unnamed(form, method_not_allowed(raw)),
            }
        }
        ["content", "library", "item", id] if !id.is_empty() => match m {
            "GET" => named(
                OpName::ItemGet,
                Ok(Op::ItemGet {
                    item: id.to_string(),
                }),
            ),
            _ => Request::unnamed(form, method_not_allowed(raw)),
        },
        ["content", "library", id] if !id.is_empty() => match m {
            "GET" => named(
                OpName::LibraryGet,
                Ok(Op::LibraryGet {
                    library: id.to_string(),
                }),
            ),
            _ => Request::unnamed(form, method_not_allowed(raw)),
        },
        _ => Request::unnamed(form, unknown_route(raw)),
    }
}
