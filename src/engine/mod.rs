//! The engine: every operation of the contract as a transition over one store.
//!
//! It knows the lifecycle rules and nothing of HTTP or JSON: inputs are model values, outputs are
//! model values or a [`VapiError`]. Time comes only from its [`Clock`], ids only from its seeded
//! random source, so the same calls with the same seed and clock give the same answers.
//!
//! It is handed, and does not know, everything else:
//! - no filesystem: the catalogue takes [`library::LibrarySpec`] values; directory libraries
//!   are read by `content::directory` before the engine is built, and a directory item's path
//!   is only carried to the content plane;
//! - no async runtime: the read preparing a file starts is a [`prepare::PrepareRead`] from a
//!   [`prepare::Preparer`] (the content plane), of which the engine only asks the result;
//! - no download-URI layout: HTTPS URIs come from the [`EndpointLayout`] in [`EngineConfig`]
//!   (the server's download route). DIRECT `ds:///vmfs/volumes/...` URIs are contract data
//!   made of the catalogue's ids and served by nothing, so the engine writes them itself;
//! - no clock kind: whether PREPARED waits for the file's read is
//!   [`PrepareTiming::wait_for_checksum`], which the server turns off on a virtual clock;
//! - no configuration file: `config` (and scenarios) read the file format and convert it into
//!   the plain types here.

pub mod auth;
pub mod clock;
pub mod errors;
pub mod library;
pub mod prepare;
pub mod sessions;
pub mod transfer;

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use crate::faults::{Faults, Violation, What};
use crate::model::{
    ChecksumAlgorithm, DownloadSessionModel, EndpointType, FileInfo, ItemModel, LibraryModel,
    PrepareStatus, SessionInfo, State, Timestamp, TransferEndpoint, VapiError,
};
use auth::{Caller, Login, Logins, User, PRIV_DOWNLOAD_SESSION, PRIV_READ_STORAGE};
pub use clock::Clock;
use library::{Catalog, CatalogError, ItemSource, LibrarySpec};
use prepare::{PrepareRead, Preparer};
use sessions::{PrepareRequest, Session, SessionFile, SessionStore};
use transfer::Transfer;

/// How long a prepare request stays in each intermediate status (no wait by default).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use std::time::Duration;
/// let slow = dlsim::PrepareTiming { requested_ms: 1_000, preparing_ms: 4_000, ..Default::default() };
/// let fake = dlsim::Dlsim::builder().prepare_timing(slow).start().await;
/// # let http = reqwest::Client::new();
/// # let api = fake.api_url();
/// # let token: String = http.post(format!("{api}/session"))
/// #     .basic_auth(fake.username(), Some(fake.password())).send().await.unwrap().json().await.unwrap();
/// # let call = |method: reqwest::Method, path: &str| {
/// #     http.request(method, format!("{api}{path}")).header("vmware-api-session-id", &token)
/// # };
/// // Create a session on the demo OVF template, and prepare its descriptor.
/// let session: String = call(reqwest::Method::POST, "/content/library/item/download-session")
///     .json(&serde_json::json!({ "library_item_id": dlsim::DEMO_OVF_ITEM_ID }))
///     .send().await.unwrap().json().await.unwrap();
/// let files = format!("/content/library/item/download-session/{session}/file");
/// call(reqwest::Method::POST, &format!("{files}?action=prepare"))
///     .json(&serde_json::json!({ "file_name": "photon-5.ovf", "endpoint_type": "HTTPS" }))
///     .send().await.unwrap();
/// let status = || async {
///     let info: serde_json::Value = call(reqwest::Method::GET, &format!("{files}?file_name=photon-5.ovf"))
///         .send().await.unwrap().json().await.unwrap();
///     info["status"].as_str().unwrap().to_string()
/// };
/// assert_eq!(status().await, "PREPARE_REQUESTED");
/// fake.clock().advance(Duration::from_secs(1));
/// assert_eq!(status().await, "PREPARING");
/// fake.clock().advance(Duration::from_secs(4));
/// assert_eq!(status().await, "PREPARED");
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrepareTiming {
    /// Time spent in PREPARE_REQUESTED, in milliseconds.
    pub requested_ms: u64,
    /// Time spent in PREPARING, in milliseconds.
    pub preparing_ms: u64,
    /// Stay PREPARING until the file has been read for its checksum (see `engine::prepare`). Off, a
    /// download that outruns the read waits at its last byte. The engine follows it as given;
    /// the server turns it off under a virtual clock (`server::prepare_timing_for`).
    pub wait_for_checksum: bool,
}

impl Default for PrepareTiming {
    fn default() -> Self {
        PrepareTiming {
            requested_ms: 0,
            preparing_ms: 0,
            wait_for_checksum: true,
        }
    }
}

/// How HTTPS download URIs are laid out: the engine hands over a session's download token and
/// a file name, reports the URI, and later resolves the same token and name in
/// [`Engine::open_download`]. The server that serves the URIs knows their form.
pub trait EndpointLayout: Send + Sync + std::fmt::Debug {
    /// The URI serving `file` (a plain name, not yet escaped) to the holder of `token`.
    fn https_uri(&self, token: &str, file: &str) -> String;
}

/// The layout of engine-only use: the relative `{token}/{file}`, which nothing serves.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokenPath;

impl EndpointLayout for TokenPath {
    fn https_uri(&self, token: &str, file: &str) -> String {
        format!("{token}/{}", crate::ids::escape(file))
    }
}

/// Everything the engine needs to know up front.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// A session with no keep-alive for this long expires (default 300 s).
    pub idle_timeout: Duration,
    pub prepare: PrepareTiming,
    pub users: Vec<User>,
    pub libraries: Vec<LibrarySpec>,
    /// Seed of every id and token the engine makes.
    pub seed: u64,
    /// When set, ids and tokens come from this 256-bit seed instead of `seed`: what `dlsim
    /// serve` uses when no seed is given, so its tokens are as unpredictable as their 128 bits.
    pub secret_seed: Option<[u8; 32]>,
    /// Seed of synthetic file content (fixed by default, so demo files never change).
    pub content_seed: u64,
    /// Where HTTPS download URIs point (the server's route; [`TokenPath`] by default).
    pub endpoint_layout: Arc<dyn EndpointLayout>,
    /// Reported as `ssl_certificate_thumbprint` on download endpoints, when serving TLS.
    pub endpoint_thumbprint: Option<String>,
    /// Reported as `ssl_certificate` (PEM) on download endpoints, when configured.
    pub endpoint_certificate: Option<String>,
    /// Whether `get` includes the session `id` (documented as absent; vcsim includes it).
    pub emit_session_id: bool,
    /// Datastore UUID used in DIRECT (`ds://`) endpoint URIs.
    pub datastore_uuid: String,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            idle_timeout: Duration::from_secs(300),
            prepare: PrepareTiming::default(),
            users: auth::demo_users(),
            libraries: library::demo_library(),
            seed: 0,
            secret_seed: None,
            content_seed: 0,
            endpoint_layout: Arc::new(TokenPath),
            endpoint_thumbprint: None,
            endpoint_certificate: None,
            emit_session_id: false,
            datastore_uuid: "5f1e2d3c-4b5a6978-1a2b-3c4d5e6f7a8b".to_string(),
        }
    }
}

/// The state behind one fake server.
#[derive(Debug)]
pub struct Engine {
    clock: Clock,
    config: EngineConfig,
    catalog: Catalog,
    store: Mutex<Store>,
    /// Reads a file when it is prepared (the content plane); none in engine-only use.
    preparer: Option<Arc<dyn Preparer>>,
    /// The faults loaded in this server: rule breaks are consulted here.
    faults: Arc<Faults>,
    /// Set when sessions expired since the server last took them (see [`Engine::take_expired`]).
    expired_pending: std::sync::atomic::AtomicBool,
    /// Each configured user (in the configuration's order) as a caller: name and privileges
    /// are shared by every login and request, so a request copies neither.
    callers: Vec<Caller>,
}

#[derive(Debug)]
struct Store {
    sessions: SessionStore,
    logins: Logins,
    rng: StdRng,
    /// Sessions created so far (the last ordinal given).
    created: u64,
    /// Sessions that expired, not yet taken by the server: (deadline, id).
    expired: Vec<(Timestamp, Arc<str>)>,
    /// Content versions changed by faults, by item id.
    item_versions: std::collections::HashMap<String, Arc<str>>,
}

impl Store {
    fn hex_token(&mut self) -> String {
        format!("{:032x}", self.rng.random::<u128>())
    }
    fn uuid(&mut self) -> String {
        crate::ids::uuid_v4(self.rng.random::<u128>().to_be_bytes())
    }
}

impl Engine {
    pub fn new(config: EngineConfig, clock: Clock) -> Result<Self, CatalogError> {
        let catalog = Catalog::new(&config.libraries, clock.now())?;
        let rng = rng_of(&config);
        let callers = config
            .users
            .iter()
            .map(|u| Caller {
                user: Arc::from(u.name.as_str()),
                privileges: Arc::from(u.privileges.clone()),
            })
            .collect();
        Ok(Engine {
            callers,
            clock,
            config,
            catalog,
            store: Mutex::new(Store {
                sessions: SessionStore::default(),
                logins: Logins::default(),
                rng,
                created: 0,
                expired: Vec::new(),
                item_versions: Default::default(),
            }),
            preparer: None,
            faults: Arc::new(Faults::new(0, crate::model::Timestamp(0))),
            expired_pending: Default::default(),
        })
    }

    /// Consult these faults for rule breaks.
    pub fn with_faults(mut self, faults: Arc<Faults>) -> Self {
        self.faults = faults;
        self
    }

    pub fn faults(&self) -> &Arc<Faults> {
        &self.faults
    }

    /// Have prepare requests start `preparer`'s read of the file (see [`prepare`]).
    pub fn with_preparer(mut self, preparer: Arc<dyn Preparer>) -> Self {
        self.preparer = Some(preparer);
        self
    }

    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Lock the store after purging every session that expired by now.
    fn store(&self) -> (MutexGuard<'_, Store>, Timestamp) {
        let now = self.clock.now();
        let mut store = self.store.lock().unwrap_or_else(|p| p.into_inner());
        if !self.violates(Violation::Expiry) {
            let gone = store.sessions.purge_expired(now);
            if !gone.is_empty() {
                store.expired.extend(gone);
                self.expired_pending
                    .store(true, std::sync::atomic::Ordering::Relaxed);
            }
        }
        (store, now)
    }

    fn violates(&self, v: Violation) -> bool {
        self.faults.violates(v)
    }

    fn idle_ms(&self) -> i64 {
        i64::try_from(self.config.idle_timeout.as_millis()).unwrap_or(i64::MAX)
    }

    /// Sessions that expired since the last call: (deadline, id), oldest first.
    pub fn take_expired(&self) -> Vec<(Timestamp, Arc<str>)> {
        use std::sync::atomic::Ordering;
        // A load first: the common case writes nothing, so cores do not fight over the line.
        if !self.expired_pending.load(Ordering::Relaxed)
            || !self.expired_pending.swap(false, Ordering::Relaxed)
        {
            return Vec::new();
        }
        std::mem::take(&mut self.store().0.expired)
    }

    // ---- login sessions (com.vmware.cis.session) ----

    /// Check credentials and open a login session; returns its token.
    pub fn login(&self, user: &str, password: &str) -> Result<String, VapiError> {
        // Every configured user is compared, name and password in constant time, so the
        // answer's timing tells nothing of how much of a guess was right.
        let mut found = None;
        for (i, u) in self.config.users.iter().enumerate() {
            let hit = auth::constant_time_eq(u.name.as_bytes(), user.as_bytes())
                & auth::constant_time_eq(u.password.as_bytes(), password.as_bytes());
            if bool::from(hit) && found.is_none() {
                found = Some(i);
            }
        }
        let Some(caller) = found.map(|i| self.callers[i].clone()) else {
            return Err(errors::unauthenticated(
                "the user name or password is not valid.",
            ));
        };
        let (mut store, now) = self.store();
        let token = store.hex_token();
        store.logins.insert(
            token.clone(),
            Login {
                caller,
                created: now,
                last_accessed: now,
            },
        );
        Ok(token)
    }

    /// Resolve a login token to its caller.
    pub fn authenticate(&self, token: &str) -> Result<Caller, VapiError> {
        let (mut store, now) = self.store();
        let login = store
            .logins
            .touch(token, now)
            .ok_or_else(|| errors::unauthenticated("the session id is missing or not valid."))?;
        Ok(login.caller.clone())
    }

    pub fn session_info(&self, token: &str) -> Result<SessionInfo, VapiError> {
        let (mut store, now) = self.store();
        store
            .logins
            .touch(token, now)
            .map(Login::info)
            .ok_or_else(|| errors::unauthenticated("the session id is missing or not valid."))
    }

    pub fn logout(&self, token: &str) -> Result<(), VapiError> {
        let (mut store, _) = self.store();
        store
            .logins
            .remove(token)
            .map(|_| ())
            .ok_or_else(|| errors::unauthenticated("the session id is missing or not valid."))
    }

    // ---- library discovery ----

    pub fn library_ids(&self) -> Vec<String> {
        self.catalog.library_ids()
    }

    pub fn library(&self, id: &str) -> Result<LibraryModel, VapiError> {
        self.catalog
            .library(id)
            .ok_or_else(|| errors::library_not_found(id))
    }

    pub fn item_ids(&self, library_id: &str) -> Result<Vec<String>, VapiError> {
        self.catalog
            .item_ids(library_id)
            .ok_or_else(|| errors::library_not_found(library_id))
    }

    pub fn item(&self, id: &str) -> Result<ItemModel, VapiError> {
        let mut item = self
            .catalog
            .item_model(id)
            .ok_or_else(|| errors::item_not_found(id))?;
        if let Some(v) = self.store().0.item_versions.get(id) {
            item.content_version = v.to_string();
        }
        Ok(item)
    }

    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    // ---- DownloadSession ----

    /// `create`: a new ACTIVE session on an item; the same client token returns the same session.
    pub fn create(
        &self,
        caller: &Caller,
        client_token: Option<&str>,
        spec: &DownloadSessionModel,
    ) -> Result<String, VapiError> {
        let item_id = spec
            .library_item_id
            .as_deref()
            .ok_or_else(errors::missing_item_id)?;
        let item = self.catalog.item(item_id).ok_or_else(|| {
            let mut e = errors::item_not_found(item_id);
            if self.violates(Violation::UnknownItem) {
                e.error_type = crate::model::ErrorType::InvalidArgument;
            }
            e
        })?;
        if !caller.has(PRIV_DOWNLOAD_SESSION) {
            return Err(errors::no_privilege(
                &caller.user,
                PRIV_DOWNLOAD_SESSION,
                item_id,
            ));
        }
        let (mut store, now) = self.store();
        let client_token = client_token.filter(|_| !self.violates(Violation::ClientToken));
        if let Some(token) = client_token {
            if let Some(existing) = store.sessions.by_client_token(&caller.user, token) {
                return Ok(existing.id.to_string());
            }
        }
        let id = store.uuid();
        let content_token = store.hex_token();
        store.created += 1;
        let ordinal = store.created;
        let content_version = store
            .item_versions
            .get(&*item.id)
            .cloned()
            .unwrap_or_else(|| item.content_version.clone());
        store.sessions.insert(Session {
            id: id.as_str().into(),
            owner: caller.user.clone(),
            item_id: item.id.clone(),
            content_version,
            ordinal,
            idle_ms: None,
            client_token: client_token.map(str::to_string),
            state: State::Active,
            progress: 0,
            error_message: None,
            expires: now.plus_millis(self.idle_ms()),
            content_token: content_token.into(),
            may_read_storage: caller.has(PRIV_READ_STORAGE),
            files: item
                .files
                .iter()
                .map(|f| SessionFile::new(f.name.clone(), f.size))
                .collect(),
        });
        Ok(id)
    }

    /// `get`: the session's current model, in any state.
    pub fn get(&self, caller: &Caller, id: &str) -> Result<DownloadSessionModel, VapiError> {
        let (store, _) = self.store();
        let s = store
            .sessions
            .get(&caller.user, id)
            .ok_or_else(|| errors::session_not_found(id))?;
        let emit_id = self.config.emit_session_id || self.violates(Violation::SessionIdInGet);
        let version = if self.violates(Violation::InitialState) {
            "0".to_string()
        } else {
            s.content_version.to_string()
        };
        Ok(DownloadSessionModel {
            id: emit_id.then(|| s.id.to_string()),
            library_item_id: Some(s.item_id.to_string()),
            library_item_content_version: Some(version),
            error_message: s.error_message.as_deref().cloned(),
            client_progress: Some(s.progress),
            state: Some(s.state),
            expiration_time: Some(s.expires),
        })
    }

    /// `list`: the caller's sessions, optionally only those of one item.
    pub fn list(&self, caller: &Caller, item_id: Option<&str>) -> Result<Vec<String>, VapiError> {
        if let Some(item) = item_id {
            if self.catalog.item(item).is_none() {
                return Err(errors::item_not_found(item));
            }
        }
        let (store, _) = self.store();
        let item_id = item_id.filter(|_| !self.violates(Violation::ListFilter));
        Ok(store.sessions.ids_of(&caller.user, item_id))
    }

    /// `keep_alive`: extend an ACTIVE session's life and optionally record progress.
    pub fn keep_alive(
        &self,
        caller: &Caller,
        id: &str,
        progress: Option<i64>,
    ) -> Result<(), VapiError> {
        let (mut store, now) = self.store();
        let s = match active(&mut store.sessions, caller, id, "keep alive") {
            Err(e) => return self.refused(e),
            Ok(s) => s,
        };
        let progress = progress.filter(|_| !self.violates(Violation::ProgressReflected));
        if let Some(p) = progress {
            if !(0..=100).contains(&p) {
                return Err(errors::progress_out_of_range(p));
            }
            if p < s.progress {
                return Err(errors::progress_went_down(p, s.progress));
            }
            s.progress = p;
        }
        let expires = if self.violates(Violation::ExpiryMonotonic) {
            s.expires.plus_millis(-60_000)
        } else {
            now.plus_millis(s.idle_ms.unwrap_or_else(|| self.idle_ms()))
        };
        store.sessions.set_expiry(&caller.user, id, expires);
        Ok(())
    }

    /// `cancel`: ACTIVE → CANCELED; download URIs stop working.
    pub fn cancel(&self, caller: &Caller, id: &str) -> Result<(), VapiError> {
        let (mut store, _) = self.store();
        let s = match active(&mut store.sessions, caller, id, "cancel") {
            Err(e) => return self.refused(e),
            Ok(s) => s,
        };
        s.state = State::Canceled;
        Ok(())
    }

    /// `fail`: ACTIVE → ERROR with the client's message (not localized).
    pub fn fail(&self, caller: &Caller, id: &str, message: &str) -> Result<(), VapiError> {
        let (mut store, _) = self.store();
        let s = match active(&mut store.sessions, caller, id, "fail") {
            Err(e) => return self.refused(e),
            Ok(s) => s,
        };
        s.state = State::Error;
        let message = if self.violates(Violation::Fail) {
            "Download failed."
        } else {
            message
        };
        s.error_message = Some(Box::new(errors::client_failed(message)));
        Ok(())
    }

    /// `delete`: remove a session in any state.
    pub fn delete(&self, caller: &Caller, id: &str) -> Result<(), VapiError> {
        let (mut store, _) = self.store();
        if self.violates(Violation::Delete) && store.sessions.get(&caller.user, id).is_some() {
            return Ok(());
        }
        match store.sessions.remove(&caller.user, id) {
            Some(_) => Ok(()),
            None => self.refused(errors::session_not_found(id)),
        }
    }

    /// An error of keep_alive, cancel, fail or delete, as the violations switched on bend it.
    fn refused(&self, e: VapiError) -> Result<(), VapiError> {
        use crate::model::ErrorType;
        match e.error_type {
            ErrorType::NotAllowedInCurrentState if self.violates(Violation::NotActive) => Ok(()),
            ErrorType::NotFound if self.violates(Violation::UnknownSession) => Err(VapiError {
                error_type: ErrorType::InvalidArgument,
                ..e
            }),
            _ => Err(e),
        }
    }

    fn unknown_file(&self, id: &str, name: &str) -> VapiError {
        let mut e = errors::file_not_found(id, name);
        if self.violates(Violation::UnknownFile) {
            e.error_type = crate::model::ErrorType::NotFound;
        }
        e
    }

    // ---- downloadsession.File ----

    /// `File.list`: every file of the session's item with its status.
    pub fn file_list(&self, caller: &Caller, id: &str) -> Result<Vec<FileInfo>, VapiError> {
        let (store, now) = self.store();
        let Some(s) = store.sessions.get(&caller.user, id) else {
            return self.refused(errors::session_not_found(id)).map(|_| vec![]);
        };
        Ok(s.files.iter().map(|f| self.file_info(s, f, now)).collect())
    }

    /// `File.get`: one file's status; an unknown name is InvalidArgument.
    pub fn file_get(&self, caller: &Caller, id: &str, name: &str) -> Result<FileInfo, VapiError> {
        let (store, now) = self.store();
        let s = store
            .sessions
            .get(&caller.user, id)
            .ok_or_else(|| errors::session_not_found(id))?;
        let pos = s
            .files
            .iter()
            .position(|f| &*f.name == name)
            .ok_or_else(|| self.unknown_file(id, name))?;
        let mut info = self.file_info(s, &s.files[pos], now);
        if self.violates(Violation::PrepareForwardOnly) && info.status == PrepareStatus::Prepared {
            // Report PREPARING once after PREPARED: a status that moves backwards.
            if !s.files[pos].transfer().take_regression() {
                info.status = PrepareStatus::Preparing;
                info.download_endpoint = None;
            }
        }
        Ok(info)
    }

    /// `File.prepare`: request preparation (HTTPS unless told otherwise); returns the status.
    pub fn file_prepare(
        &self,
        caller: &Caller,
        id: &str,
        name: &str,
        endpoint_type: Option<EndpointType>,
    ) -> Result<FileInfo, VapiError> {
        let endpoint = endpoint_type.unwrap_or(EndpointType::Https);
        let (mut store, now) = self.store();
        let s = store
            .sessions
            .get_mut(&caller.user, id)
            .ok_or_else(|| errors::session_not_found(id))?;
        let pos = s
            .files
            .iter()
            .position(|f| &*f.name == name)
            .ok_or_else(|| self.unknown_file(id, name))?;
        if s.state != State::Active {
            return Err(errors::not_active(id, s.state, "prepare a file of"));
        }
        if endpoint == EndpointType::Direct && !s.may_read_storage {
            return Err(errors::no_privilege(&s.owner, PRIV_READ_STORAGE, id));
        }
        // An HTTPS prepare starts reading the file, once per session file (see `prepare`).
        let read = match &self.preparer {
            Some(p) if endpoint == EndpointType::Https && s.files[pos].checksum.is_none() => self
                .download_of(s, &s.files[pos])
                .and_then(|d| p.prepare(&d)),
            _ => None,
        };
        let file = &mut s.files[pos];
        match file.prepare {
            Some(p) if p.endpoint == endpoint => {}
            _ => file.prepare = Some(PrepareRequest { at: now, endpoint }),
        }
        if read.is_some() {
            file.checksum = read;
        }
        Ok(self.file_info(s, &s.files[pos], now))
    }

    fn file_info(&self, s: &Session, f: &SessionFile, now: Timestamp) -> FileInfo {
        let marks = f.marks();
        let status = match f.prepare {
            None => PrepareStatus::Unprepared,
            Some(p) => {
                let elapsed = u64::try_from(now.millis() - p.at.millis()).unwrap_or(0);
                let t = self.config.prepare;
                let preparing = t.preparing_ms.saturating_add(marks.extra_ms);
                match marks.stuck {
                    Some((stuck, until)) if until.is_none_or(|u| now < u) => stuck,
                    _ if elapsed < t.requested_ms => PrepareStatus::PrepareRequested,
                    _ if elapsed < t.requested_ms.saturating_add(preparing) => {
                        PrepareStatus::Preparing
                    }
                    _ => PrepareStatus::Prepared,
                }
            }
        };
        // Waiting for the checksum, preparing also means the file has been read (see `prepare`).
        let mut error_message = None;
        let waits = self.config.prepare.wait_for_checksum;
        let status = match (&f.checksum, status) {
            (Some(job), PrepareStatus::Prepared) if waits => match job.result() {
                None => PrepareStatus::Preparing,
                Some(Ok(_)) => PrepareStatus::Prepared,
                Some(Err(why)) => {
                    error_message = Some(errors::file_unreadable(&f.name, why));
                    PrepareStatus::Error
                }
            },
            (_, other) => other,
        };
        let status = match status {
            PrepareStatus::Unprepared if self.violates(Violation::FilesStartUnprepared) => {
                PrepareStatus::PrepareRequested
            }
            PrepareStatus::Prepared if marks.error.is_some() => {
                error_message = marks.error.clone();
                PrepareStatus::Error
            }
            other => other,
        };
        let prepared = status == PrepareStatus::Prepared;
        let mut checksum_info = f.served_checksum().cloned();
        if marks.wrong_checksum || self.violates(Violation::SizeAndChecksum) {
            if let Some(c) = checksum_info.as_mut() {
                c.checksum = c.checksum.chars().rev().collect();
            }
        }
        FileInfo {
            name: f.name.to_string(),
            size: (prepared || checksum_info.is_some())
                .then_some((f.size as i64).saturating_add(marks.size_delta)),
            bytes_transferred: f.bytes_served() as i64,
            status,
            download_endpoint: match f.prepare {
                Some(p) if prepared => Some(self.endpoint(s, f, p.endpoint)),
                None if self.violates(Violation::EndpointOnlyWhenPrepared) => {
                    Some(self.endpoint(s, f, EndpointType::Https))
                }
                _ => None,
            },
            checksum_info,
            error_message,
        }
    }

    fn endpoint(&self, s: &Session, file: &SessionFile, kind: EndpointType) -> TransferEndpoint {
        let wrong_thumbprint =
            file.marks().wrong_thumbprint || self.violates(Violation::Thumbprint);
        match kind {
            EndpointType::Https => TransferEndpoint {
                uri: self
                    .config
                    .endpoint_layout
                    .https_uri(&s.content_token, &file.name),
                ssl_certificate_thumbprint: self.config.endpoint_thumbprint.as_ref().map(|t| {
                    if wrong_thumbprint {
                        t.chars().rev().collect()
                    } else {
                        t.clone()
                    }
                }),
                ssl_certificate: self.config.endpoint_certificate.clone(),
            },
            EndpointType::Direct => {
                let library = self
                    .catalog
                    .item(&s.item_id)
                    .map(|i| i.library_id.clone())
                    .unwrap_or_default();
                let name = crate::ids::escape(&file.name);
                TransferEndpoint {
                    uri: format!(
                        "ds:///vmfs/volumes/{}/contentlib-{}/{}/{}",
                        self.config.datastore_uuid, library, s.item_id, name
                    ),
                    ssl_certificate_thumbprint: None,
                    ssl_certificate: None,
                }
            }
        }
    }

    // ---- the content plane ----

    /// Resolve a download URI (its token and file, see [`EndpointLayout`]) to what it serves. The URI works
    /// only while its session is ACTIVE and the file is PREPARED for an HTTPS endpoint.
    pub fn open_download(&self, token: &str, file_name: &str) -> Result<Download, DownloadRefused> {
        let (store, now) = self.store();
        let s = store
            .sessions
            .by_content_token(token)
            .ok_or(DownloadRefused::NotFound)?;
        let serves_canceled = self.violates(Violation::Cancel) && s.state == State::Canceled;
        if s.state != State::Active && !serves_canceled {
            return Err(DownloadRefused::Ended(s.state));
        }
        let f = s
            .files
            .iter()
            .find(|f| &*f.name == file_name)
            .ok_or(DownloadRefused::NotFound)?;
        let info = self.file_info(s, f, now);
        let https = f.prepare.is_some_and(|p| p.endpoint == EndpointType::Https);
        if info.status != PrepareStatus::Prepared || !https {
            return Err(DownloadRefused::NotPrepared);
        }
        self.download_of(s, f).ok_or(DownloadRefused::NotFound)
    }

    /// What serving (or reading) file `f` of session `s` needs.
    fn download_of(&self, s: &Session, f: &SessionFile) -> Option<Download> {
        let item = self.catalog.item(&s.item_id)?;
        let target = item
            .files
            .iter()
            .find(|i| i.name == f.name)
            .and_then(|i| i.target.clone());
        Some(Download {
            item_id: s.item_id.to_string(),
            file_name: f.name.to_string(),
            target,
            size: f.size,
            source: item.source.clone(),
            item_files: item
                .files
                .iter()
                .map(|i| (i.name.to_string(), i.size))
                .collect(),
            content_seed: self.config.content_seed,
            algorithm: item.checksum_algorithm.unwrap_or(ChecksumAlgorithm::Sha1),
            transfer: f.transfer().clone(),
            checksum: f.checksum.clone(),
            corrupt_at: f.marks().corrupt_at,
        })
    }

    /// Forget every session and login and start the id source over, as at start.
    pub fn reset(&self) {
        let mut store = self.store.lock().unwrap_or_else(|p| p.into_inner());
        *store = Store {
            sessions: SessionStore::default(),
            logins: Logins::default(),
            rng: rng_of(&self.config),
            created: 0,
            expired: Vec::new(),
            item_versions: Default::default(),
        };
        self.expired_pending
            .store(false, std::sync::atomic::Ordering::Relaxed);
    }

    /// Number of live download sessions (after expiry).
    pub fn session_count(&self) -> usize {
        self.store().0.sessions.len()
    }

    // ---- what the fault engine asks and does ----

    /// What fault rules match on about a session, if it exists.
    pub fn session_facts(&self, id: &str) -> Option<SessionFacts> {
        let (store, _) = self.store();
        let owner = store.sessions.owner_of(id)?;
        store.sessions.get(owner, id).map(SessionFacts::of)
    }

    /// The id of the session a download token belongs (or, recently, belonged) to.
    pub fn session_of_token(&self, token: &str) -> Option<String> {
        self.store()
            .0
            .sessions
            .id_of_token(token)
            .map(str::to_string)
    }

    /// The ordinal the next created session will get.
    pub fn next_ordinal(&self) -> u64 {
        self.store().0.created + 1
    }

    /// The user a login token belongs to, without touching the login.
    pub fn user_of(&self, token: &str) -> Option<Arc<str>> {
        self.store().0.logins.user_of(token)
    }

    /// Apply a session fault to a session: to `file` when the operation named one, else to
    /// its files matching `glob` (all when none). Returns false if the session is gone.
    pub fn inject(&self, id: &str, file: Option<&str>, glob: Option<&str>, what: &What) -> bool {
        let (mut store, now) = self.store();
        let Some(owner) = store.sessions.owner_of(id).map(str::to_string) else {
            return false;
        };
        let item = match store.sessions.get(&owner, id) {
            Some(s) => s.item_id.clone(),
            None => return false,
        };
        match what {
            What::SessionVanish => {
                store.sessions.remove(&owner, id);
                return true;
            }
            What::ExpireNow => {
                store.sessions.set_expiry(&owner, id, now.plus_millis(-1));
                return true;
            }
            What::ContentVersionChange { version } => {
                let current = store
                    .item_versions
                    .get(&*item)
                    .cloned()
                    .or_else(|| self.catalog.item(&item).map(|i| i.content_version.clone()));
                let next = version.clone().unwrap_or_else(|| {
                    let n = current.and_then(|c| c.parse::<u64>().ok()).unwrap_or(1);
                    (n + 1).to_string()
                });
                store.item_versions.insert(item.to_string(), next.into());
                return true;
            }
            _ => {}
        }
        let idle = self.idle_ms();
        let Some(s) = store.sessions.get_mut(&owner, id) else {
            return false;
        };
        match what {
            What::SessionError(m) => {
                if s.state == State::Active {
                    s.state = State::Error;
                    s.error_message = Some(Box::new(m.to_message(
                        &format!("{}.session_error", errors::PREFIX),
                        "The download session failed on the server.",
                    )));
                }
                return true;
            }
            What::IdleTimeout { ms } => {
                let ms = i64::try_from(*ms).unwrap_or(i64::MAX);
                s.idle_ms = Some(ms);
                let expires = now.plus_millis(ms.min(idle));
                store.sessions.set_expiry(&owner, id, expires);
                return true;
            }
            _ => {}
        }
        for f in s.files.iter_mut().filter(|f| match (file, glob) {
            (Some(name), _) => &*f.name == name,
            (None, Some(g)) => crate::faults::rule::glob_match(g, &f.name),
            (None, None) => true,
        }) {
            let name = &f.name;
            let m = f.faults.get_or_insert_with(Default::default);
            match what {
                What::PrepareError(spec) => {
                    m.error = Some(spec.to_message(
                        &format!("{}.file_transfer_failed", errors::PREFIX),
                        &format!("Error transferring file {name} to the transfer service."),
                    ))
                }
                What::PrepareStuck { status, for_ms } => {
                    let until =
                        for_ms.map(|ms| now.plus_millis(i64::try_from(ms).unwrap_or(i64::MAX)));
                    m.stuck = Some(((*status).into(), until));
                }
                What::PrepareSlow { extra_ms } => m.extra_ms = *extra_ms,
                What::WrongChecksum => m.wrong_checksum = true,
                What::CorruptBytes { offset } => m.corrupt_at = Some(*offset),
                What::WrongSize { delta } => m.size_delta = *delta,
                What::WrongThumbprint => m.wrong_thumbprint = true,
                _ => {}
            }
        }
        true
    }
}

/// The random source of ids and tokens: the secret seed when there is one, else the seed.
fn rng_of(config: &EngineConfig) -> StdRng {
    match config.secret_seed {
        Some(bytes) => StdRng::from_seed(bytes),
        None => StdRng::seed_from_u64(config.seed),
    }
}

/// What fault rules match on about a download session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionFacts {
    pub id: Arc<str>,
    pub ordinal: u64,
    pub item: Arc<str>,
    pub owner: Arc<str>,
}

impl SessionFacts {
    fn of(s: &Session) -> Self {
        SessionFacts {
            id: s.id.clone(),
            ordinal: s.ordinal,
            item: s.item_id.clone(),
            owner: s.owner.clone(),
        }
    }
}

/// One file a download URI serves, with what the content plane needs to stream it.
#[derive(Debug, Clone)]
pub struct Download {
    pub item_id: String,
    pub file_name: String,
    /// Directory items: the file in the item's directory to read (see `ItemFile::target`).
    pub target: Option<String>,
    pub size: u64,
    pub source: ItemSource,
    /// Every file of the item with its size, in catalogue order (a synthetic item's OVF
    /// descriptor and manifest are made from them).
    pub item_files: Vec<(String, u64)>,
    pub content_seed: u64,
    /// The algorithm `checksum_info` reports (the item's, else SHA1).
    pub algorithm: ChecksumAlgorithm,
    pub transfer: Arc<Transfer>,
    /// The checksum computation prepare started; none when checksums are off.
    pub checksum: Option<Arc<dyn PrepareRead>>,
    /// Serve the byte at this offset flipped (a fault; the checksum stays honest).
    pub corrupt_at: Option<u64>,
}

/// Why a download URI does not serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DownloadRefused {
    /// No such token or file (also once the session is deleted or expired).
    NotFound,
    /// The session was canceled or failed: its URIs are dead.
    Ended(State),
    /// The file is not (or not yet) prepared for an HTTPS endpoint.
    NotPrepared,
}

/// The caller's session if it is ACTIVE; NotFound (also for another user's session) or
/// NotAllowedInCurrentState otherwise.
fn active<'a>(
    sessions: &'a mut SessionStore,
    caller: &Caller,
    id: &str,
    operation: &str,
) -> Result<&'a mut Session, VapiError> {
    let s = sessions
        .get_mut(&caller.user, id)
        .ok_or_else(|| errors::session_not_found(id))?;
    if s.state != State::Active {
        return Err(errors::not_active(id, s.state, operation));
    }
    Ok(s)
}

#[cfg(test)]
mod tests;
