//! Decoding the legacy REST form (`/rest/com/vmware/...`): `id:` path ids, `?~action=`, inputs
//! in JSON bodies named after the vAPI parameters, and the session id as header or cookie.

use super::{
    basic_credentials, file_get_by_body, file_prepare, item_find, method_not_allowed, segments,
    session_action, unknown_route, Body, Op, OpName, Query, RawRequest, Rejection, Request,
};
use crate::server::auth::presented_token;
use crate::wire::{bodies, request_errors, Form};

const FORM: Form = Form::Rest;

/// Decode one `/rest` request.
pub fn decode(raw: &RawRequest<'_>) -> Request {
    let mut req = decode_op(raw);
    req.token = presented_token(raw.headers, FORM);
    if req.name == Some(OpName::Login) {
        // The session cookie, unless the client opts out (a CSRF guard govmomi uses).
        req.set_cookie = !raw
            .headers
            .get("vmware-use-header-authn")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    }
    req
}

/// A `/rest` path id: `id:<id>`.
fn with_id(segment: &str) -> Result<String, Rejection> {
    segment
        .strip_prefix("id:")
        .map(str::to_string)
        .ok_or_else(|| {
            request_errors::invalid_input(&format!(
                "the path id {segment:?} must be written id:{segment} on /rest"
            ))
            .into()
        })
}

fn decode_op(raw: &RawRequest<'_>) -> Request {
    let segs = match segments(raw.path, "/rest/com/vmware") {
        None => return Request::unnamed(FORM, unknown_route(raw)),
        Some(Err(e)) => return Request::unnamed(FORM, e),
        Some(Ok(s)) => s,
    };
    let q = Query(raw.query_pairs());
    let action = q.get("~action");
    let m = raw.method;
    let body = raw.body;
    // The longest route has seven segments; a longer path matches none (no allocation).
    let mut parts = [""; 8];
    let n = segs.len().min(parts.len());
    for (part, seg) in parts.iter_mut().zip(&segs) {
        *part = seg.as_ref();
    }
    let segs = &parts[..n];
    let named = |name: OpName, op| Request::of(FORM, name, op);
    let not_allowed = || Request::unnamed(FORM, method_not_allowed(raw));
    match segs {
        ["cis", "session"] => match (m, action) {
            ("POST", None) => named(OpName::Login, basic_credentials(raw.headers)),
            ("POST", Some("get")) => named(OpName::SessionGet, Ok(Op::SessionGet)),
            ("POST", other) => Request::unknown_action(FORM, other, &["get"]),
            ("DELETE", _) => named(OpName::Logout, Ok(Op::Logout)),
            _ => not_allowed(),
        },
        ["content", "library"] => match (m, action) {
            ("GET", _) => named(OpName::LibraryList, Ok(Op::LibraryList)),
            ("POST", Some("find")) => named(OpName::LibraryFind, library_find(body)),
            ("POST", other) => Request::unknown_action(FORM, other, &["find"]),
            _ => not_allowed(),
        },
        ["content", "library", "item"] => match (m, action) {
            ("GET", _) => named(
                OpName::ItemList,
                q.required("library_id")
                    .map(|library| Op::ItemList { library }),
            ),
            ("POST", Some("find")) => named(
                OpName::ItemFind,
                Body::decode(body, &bodies::ITEM_FIND, FORM)
                    .and_then(|mut b| b.nested("spec", &bodies::ITEM_FIND_SPEC))
                    .and_then(|mut spec| item_find(&mut spec))
                    .map(Op::ItemFind),
            ),
            ("POST", other) => Request::unknown_action(FORM, other, &["find"]),
            _ => not_allowed(),
        },
        ["content", "library", "item", "download-session"] => match m {
            "GET" => named(
                OpName::List,
                Ok(Op::List {
                    item: q.get("library_item_id").map(str::to_string),
                }),
            ),
            "POST" => named(OpName::Create, create(body)),
            _ => not_allowed(),
        },
        ["content", "library", "item", "download-session", id] if !id.is_empty() => {
            let session = match with_id(id) {
                Ok(s) => s,
                Err(e) => return rejected_with_login(e),
            };
            match m {
                "GET" => named(OpName::Get, Ok(Op::Get { session })),
                "DELETE" => named(OpName::Delete, Ok(Op::Delete { session })),
                "POST" => session_action(FORM, session, action, body),
                _ => not_allowed(),
            }
        }
        ["content", "library", "item", "downloadsession", "file"] => match m {
            "GET" => named(
                OpName::FileList,
                q.required("download_session_id")
                    .map(|session| Op::FileList { session }),
            ),
            _ => not_allowed(),
        },
        ["content", "library", "item", "downloadsession", "file", id] if !id.is_empty() => {
            if m != "POST" {
                return not_allowed();
            }
            let session = match with_id(id) {
                Ok(s) => s,
                Err(e) => return rejected_with_login(e),
            };
            match action {
                Some("get") => named(OpName::FileGet, file_get_by_body(FORM, session, body)),
                Some("prepare") => named(OpName::FilePrepare, file_prepare(FORM, session, body)),
                other => Request::unknown_action(FORM, other, &["get", "prepare"]),
            }
        }
        ["content", "library", "item", id] if !id.is_empty() => match m {
            "GET" => named(
                OpName::ItemGet,
                with_id(id).map(|item| Op::ItemGet { item }),
            ),
            _ => not_allowed(),
        },
        ["content", "library", id] if !id.is_empty() => match m {
            "GET" => named(
                OpName::LibraryGet,
                with_id(id).map(|library| Op::LibraryGet { library }),
            ),
            _ => not_allowed(),
        },
        _ => Request::unnamed(FORM, unknown_route(raw)),
    }
}

/// A request to a served resource that could not be read further (a path id without `id:`).
fn rejected_with_login(e: Rejection) -> Request {
    Request {
        needs_login: true,
        ..Request::unnamed(FORM, e)
    }
}

/// `POST download-session`: `{"client_token"?, "create_spec"}`.
fn create(body: &[u8]) -> Result<Op, Rejection> {
    let mut b = Body::decode(body, &bodies::REST_CREATE, FORM)?;
    Ok(Op::Create {
        client_token: b.opt("client_token")?,
        spec: b.req("create_spec")?,
    })
}

/// `POST library?~action=find` with `{"spec": {"name"?, "type"?}}`.
fn library_find(body: &[u8]) -> Result<Op, Rejection> {
    let mut spec = Body::decode(body, &bodies::LIBRARY_FIND, FORM)?
        .nested("spec", &bodies::LIBRARY_FIND_SPEC)?;
    Ok(Op::LibraryFind {
        name: spec.opt("name")?,
        kind: spec.opt("type")?,
    })
}
