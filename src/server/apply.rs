//! Applying a decoded [`Op`] to the engine, once, whatever form it arrived in.
//!
//! JSON-RPC protocol errors come first; then login, for every route that needs it (as
//! vCenter's authentication filter does); then the decoder's verdict on the inputs; then the
//! operation itself.

use crate::engine::auth::Caller;
use crate::engine::{errors, Engine};
use crate::model::VapiError;
use crate::op::{Op, Rejection, Request};
use crate::wire::{Form, Outcome};

/// What applying a request gave: the outcome or the rejection, and who the caller was.
#[derive(Debug)]
pub struct Applied {
    pub result: Result<Outcome, Rejection>,
    /// The authenticated user, when the request had to log in (or logged in).
    pub user: Option<std::sync::Arc<str>>,
}

/// The login token of a request, or Unauthenticated with a hint at how to log in.
pub fn login_token(req: &Request) -> Result<&str, VapiError> {
    req.token.as_deref().ok_or_else(|| {
        errors::unauthenticated(match req.form {
            Form::Api | Form::SdkRest => {
                "send the vmware-api-session-id header (log in with POST /api/session)."
            }
            Form::Rest => {
                "send the vmware-api-session-id header or cookie (log in with POST /rest/com/vmware/cis/session)."
            }
            Form::JsonRpc => {
                "send a session_id security context (log in with com.vmware.cis.session create)."
            }
        })
    })
}

pub fn apply(engine: &Engine, req: &Request) -> Applied {
    // A request that is not a well-formed JSON-RPC call is refused as such before any login.
    if let Err(r) = &req.op {
        if r.protocol.is_some() {
            return Applied {
                result: Err(r.clone()),
                user: None,
            };
        }
    }
    let caller = if req.needs_login {
        match login_token(req).and_then(|t| engine.authenticate(t)) {
            Ok(c) => Some(c),
            Err(e) => {
                return Applied {
                    result: Err(e.into()),
                    user: None,
                }
            }
        }
    } else {
        None
    };
    let user = caller.as_ref().map(|c| c.user.clone());
    let result = match (&req.op, caller) {
        (Err(r), _) => Err(r.clone()),
        (Ok(Op::Login { user, password }), _) => {
            return Applied {
                result: engine
                    .login(user, password)
                    .map(|token| Outcome::Created(crate::model::Value::Secret(token)))
                    .map_err(Rejection::from),
                user: Some(std::sync::Arc::from(user.as_str())),
            }
        }
        (Ok(op), Some(who)) => run(engine, req, &who, op).map_err(Rejection::from),
        (Ok(_), None) => Err(Rejection::from(errors::unauthenticated(
            "this operation needs a login session.",
        ))),
    };
    Applied { result, user }
}

fn run(engine: &Engine, req: &Request, who: &Caller, op: &Op) -> Result<Outcome, VapiError> {
    Ok(match op {
        Op::Login { .. } => {
            return Err(errors::unauthenticated(
                "log in with Basic authentication alone.",
            ))
        }
        Op::SessionGet => Outcome::read(&engine.session_info(login_token(req)?)?),
        Op::Logout => {
            engine.logout(login_token(req)?)?;
            Outcome::Done
        }
        Op::LibraryList => Outcome::read_ids(engine.library_ids()),
        Op::LibraryGet { library } => Outcome::read(&engine.library(library)?),
        Op::LibraryFind { name, kind } => Outcome::read_ids(
            engine
                .catalog()
                .find_libraries(name.as_deref(), kind.as_deref()),
        ),
        Op::ItemList { library } => Outcome::read_ids(engine.item_ids(library)?),
        Op::ItemGet { item } => Outcome::read(&engine.item(item)?),
        Op::ItemFind(find) => Outcome::read_ids(engine.catalog().find_items(find)),
        Op::Create { client_token, spec } => {
            Outcome::created_string(engine.create(who, client_token.as_deref(), spec)?)
        }
        Op::Get { session } => Outcome::read(&engine.get(who, session)?),
        Op::List { item } => Outcome::read_ids(engine.list(who, item.as_deref())?),
        Op::KeepAlive { session, progress } => {
            engine.keep_alive(who, session, *progress)?;
            Outcome::Done
        }
        Op::Cancel { session } => {
            engine.cancel(who, session)?;
            Outcome::Done
        }
        Op::Fail { session, message } => {
            engine.fail(who, session, message)?;
            Outcome::Done
        }
        Op::Delete { session } => {
            engine.delete(who, session)?;
            Outcome::Done
        }
        Op::FileList { session } => Outcome::read_list(&engine.file_list(who, session)?),
        Op::FileGet { session, file } => Outcome::read(&engine.file_get(who, session, file)?),
        Op::FilePrepare {
            session,
            file,
            endpoint,
        } => Outcome::read(&engine.file_prepare(who, session, file, *endpoint)?),
    })
}
