//! Users, their privileges, and login sessions (`com.vmware.cis.session`).
//!
//! Credentials come from configuration; a login yields an opaque token that every later call
//! presents. Privileges are the two the download-session API checks.

use foldhash::HashMap;

use crate::model::{SessionInfo, Timestamp};

/// Needed to create and list download sessions.
pub const PRIV_DOWNLOAD_SESSION: &str = "ContentLibrary.DownloadSession";
/// Needed to prepare DIRECT (datastore) endpoints.
pub const PRIV_READ_STORAGE: &str = "ContentLibrary.ReadStorage";
/// Every privilege dlsim checks; configuration may name only these.
pub const KNOWN_PRIVILEGES: &[&str] = &[PRIV_DOWNLOAD_SESSION, PRIV_READ_STORAGE];

/// A user who may log in, with their privileges. Give users to
/// [`DlsimBuilder::users`](crate::DlsimBuilder::users) to replace the demo users.
///
/// The two privileges the API checks are `ContentLibrary.DownloadSession` (to create and list
/// download sessions) and `ContentLibrary.ReadStorage` (to prepare datastore endpoints).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use dlsim::User;
/// let reader = User::new("reader@vsphere.local", "s3cret!", &[]);
/// assert!(!reader.has("ContentLibrary.DownloadSession"));
/// let fake = dlsim::Dlsim::builder().users(vec![reader]).start().await;
///
/// // The user can log in, but may not create a download session.
/// let http = reqwest::Client::new();
/// let token: String = http
///     .post(format!("{}/session", fake.api_url()))
///     .basic_auth("reader@vsphere.local", Some("s3cret!"))
///     .send().await.unwrap()
///     .json().await.unwrap();
/// let create = http
///     .post(format!("{}/content/library/item/download-session", fake.api_url()))
///     .header("vmware-api-session-id", token)
///     .json(&serde_json::json!({ "library_item_id": dlsim::DEMO_ISO_ITEM_ID }))
///     .send().await.unwrap();
/// assert_eq!(create.status(), 403);
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// The login name.
    pub name: String,
    /// The password.
    pub password: String,
    /// The privileges held.
    pub privileges: Vec<String>,
}

impl User {
    /// A user with these privileges.
    pub fn new(name: &str, password: &str, privileges: &[&str]) -> Self {
        User {
            name: name.into(),
            password: password.into(),
            privileges: privileges.iter().map(|p| p.to_string()).collect(),
        }
    }
    /// Whether the user holds `privilege`.
    pub fn has(&self, privilege: &str) -> bool {
        self.privileges.iter().any(|p| p == privilege)
    }
}

/// The demo users: an administrator with every privilege, and an operator without ReadStorage.
pub fn demo_users() -> Vec<User> {
    vec![
        User::new(
            DEMO_USER,
            DEMO_PASSWORD,
            &[PRIV_DOWNLOAD_SESSION, PRIV_READ_STORAGE],
        ),
        User::new(
            "operator@vsphere.local",
            DEMO_PASSWORD,
            &[PRIV_DOWNLOAD_SESSION],
        ),
    ]
}

pub const DEMO_USER: &str = "administrator@vsphere.local";
pub const DEMO_PASSWORD: &str = "VMware1!";

/// Byte strings equal, compared in time that depends only on their lengths (a length
/// mismatch answers at once: lengths are not secret here).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> subtle::Choice {
    use subtle::ConstantTimeEq;
    a.ct_eq(b)
}

/// Who is calling: the authenticated user and what they may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// Shared with the login session: naming the caller costs no allocation.
    pub user: std::sync::Arc<str>,
    pub privileges: std::sync::Arc<[String]>,
}

impl Caller {
    pub fn has(&self, privilege: &str) -> bool {
        self.privileges.iter().any(|p| p == privilege)
    }
}

#[derive(Debug, Clone)]
pub struct Login {
    /// Who logged in, shared with every request made under this login.
    pub caller: Caller,
    pub created: Timestamp,
    pub last_accessed: Timestamp,
}

impl Login {
    pub fn info(&self) -> SessionInfo {
        SessionInfo {
            user: self.caller.user.to_string(),
            created_time: self.created,
            last_accessed_time: self.last_accessed,
        }
    }
}

#[derive(Debug, Default)]
pub struct Logins {
    by_token: HashMap<String, Login>,
}

impl Logins {
    pub fn insert(&mut self, token: String, login: Login) {
        self.by_token.insert(token, login);
    }
    pub fn touch(&mut self, token: &str, now: Timestamp) -> Option<&Login> {
        let l = self.by_token.get_mut(token)?;
        l.last_accessed = now;
        Some(l)
    }
    /// The user of a login, without touching it.
    pub fn user_of(&self, token: &str) -> Option<std::sync::Arc<str>> {
        self.by_token.get(token).map(|l| l.caller.user.clone())
    }

    pub fn remove(&mut self, token: &str) -> Option<Login> {
        self.by_token.remove(token)
    }
}
