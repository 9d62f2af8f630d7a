//! The download-session store: sessions by id, an expiry index, and the client-token index.
//!
//! A session belongs to the user who created it. Lookups by id take that owner, so another
//! user's session reads exactly like one that does not exist: ids cannot be probed, and no
//! engine operation can reach a session it was not given the owner of.
//!
//! Expiry follows mini-redis: a `BTreeSet<(deadline, id)>` ordered by time, purged of everything
//! due whenever the engine is consulted, so expired sessions vanish exactly when the clock says.

use std::collections::BTreeSet;

// Keys are ids and tokens; a fast hash is enough (no key here is worth flooding a test double).
use foldhash::HashMap;
use std::sync::{Arc, OnceLock};

use super::prepare::PrepareRead;
use super::transfer::Transfer;

use crate::model::{EndpointType, LocalizableMessage, State, Timestamp};

/// One download session, as the engine keeps it.
#[derive(Debug, Clone)]
pub struct Session {
    /// Shared with the store's indexes.
    pub id: Arc<str>,
    /// Shared with the user's logins.
    pub owner: Arc<str>,
    /// Shared with the catalogue.
    pub item_id: Arc<str>,
    pub content_version: Arc<str>,
    pub client_token: Option<String>,
    pub state: State,
    pub progress: i64,
    /// Boxed: most sessions never have one, and every session is stored.
    pub error_message: Option<Box<LocalizableMessage>>,
    pub expires: Timestamp,
    /// The n-th session created on this server (1-based), for fault rules.
    pub ordinal: u64,
    /// This session's idle timeout when a fault changed it.
    pub idle_ms: Option<i64>,
    /// Secret path segment of this session's download URIs; revoked when the session ends.
    pub content_token: Arc<str>,
    /// Whether the creator held ContentLibrary.ReadStorage (needed for DIRECT endpoints).
    pub may_read_storage: bool,
    pub files: Vec<SessionFile>,
}

/// A file of a session and how far its preparation went.
#[derive(Debug, Clone)]
pub struct SessionFile {
    /// Shared with the catalogue.
    pub name: Arc<str>,
    pub size: u64,
    pub prepare: Option<PrepareRequest>,
    /// What has been downloaded of this file through this session; made when the file is
    /// first served (most session files never are).
    transfer: OnceLock<Arc<Transfer>>,
    /// The checksum computation the first HTTPS prepare started.
    pub checksum: Option<Arc<dyn PrepareRead>>,
    /// What injected faults did to this file; none until a fault marks it (most files never
    /// carry one, and a session keeps its files for its whole life).
    pub faults: Option<Box<FileFaults>>,
}

impl SessionFile {
    /// A file of a new session: not prepared, nothing served.
    pub fn new(name: Arc<str>, size: u64) -> Self {
        SessionFile {
            name,
            size,
            prepare: None,
            transfer: OnceLock::new(),
            checksum: None,
            faults: None,
        }
    }

    /// What has been served of this file, recorded from now on.
    pub fn transfer(&self) -> &Arc<Transfer> {
        self.transfer.get_or_init(Arc::default)
    }

    /// Distinct bytes served so far.
    pub fn bytes_served(&self) -> u64 {
        self.transfer.get().map_or(0, |t| t.bytes_served())
    }

    /// The checksum published once the whole file was served.
    pub fn served_checksum(&self) -> Option<&crate::model::ChecksumInfo> {
        self.transfer.get().and_then(|t| t.checksum())
    }

    /// The fault marks on this file (all off when none was left).
    pub fn marks(&self) -> &FileFaults {
        static NONE: FileFaults = FileFaults {
            error: None,
            stuck: None,
            extra_ms: 0,
            wrong_checksum: false,
            size_delta: 0,
            wrong_thumbprint: false,
            corrupt_at: None,
        };
        self.faults.as_deref().unwrap_or(&NONE)
    }
}

/// The marks session faults leave on a file (all off by default).
#[derive(Debug, Clone, Default)]
pub struct FileFaults {
    /// Preparation ends in ERROR with this message.
    pub error: Option<LocalizableMessage>,
    /// Preparation stays in this status, until the given time or forever.
    pub stuck: Option<(crate::model::PrepareStatus, Option<Timestamp>)>,
    /// Preparation takes this much longer.
    pub extra_ms: u64,
    pub wrong_checksum: bool,
    pub size_delta: i64,
    pub wrong_thumbprint: bool,
    /// One byte served flipped at this offset.
    pub corrupt_at: Option<u64>,
}

/// A prepare request: when it was made and for which endpoint type.
#[derive(Debug, Clone, Copy)]
pub struct PrepareRequest {
    pub at: Timestamp,
    pub endpoint: EndpointType,
}

#[derive(Debug, Default)]
pub struct SessionStore {
    // Ids and tokens are shared `Arc<str>`s: one allocation each, however many indexes hold them.
    by_id: HashMap<Arc<str>, Session>,
    expiry: BTreeSet<(Timestamp, Arc<str>)>,
    by_token: HashMap<(Arc<str>, String), Arc<str>>,
    by_content_token: HashMap<Arc<str>, Arc<str>>,
    /// Download tokens of removed sessions, newest last (bounded), so the journal can name the
    /// session of a URI used after its end.
    ended_tokens: HashMap<Arc<str>, Arc<str>>,
    ended_order: std::collections::VecDeque<Arc<str>>,
}

/// How many removed sessions' download tokens are remembered.
const ENDED_TOKENS: usize = 10_000;

impl SessionStore {
    /// Remove every session whose expiration time lies before `now`; returns their deadlines
    /// and ids.
    pub fn purge_expired(&mut self, now: Timestamp) -> Vec<(Timestamp, Arc<str>)> {
        let mut purged = Vec::new();
        while let Some((deadline, _)) = self.expiry.first() {
            if *deadline >= now {
                break;
            }
            if let Some((deadline, id)) = self.expiry.pop_first() {
                self.remove_any(&id);
                purged.push((deadline, id));
            }
        }
        purged
    }

    pub fn insert(&mut self, s: Session) {
        self.expiry.insert((s.expires, s.id.clone()));
        self.by_content_token
            .insert(s.content_token.clone(), s.id.clone());
        if let Some(t) = &s.client_token {
            self.by_token
                .insert((s.owner.clone(), t.clone()), s.id.clone());
        }
        self.by_id.insert(s.id.clone(), s);
    }

    /// Who created the session `id` (for the fault engine, which acts on any session).
    pub fn owner_of(&self, id: &str) -> Option<&str> {
        self.by_id.get(id).map(|s| &*s.owner)
    }

    /// The session `id` if `owner` created it.
    pub fn get(&self, owner: &str, id: &str) -> Option<&Session> {
        self.by_id.get(id).filter(|s| &*s.owner == owner)
    }

    pub fn get_mut(&mut self, owner: &str, id: &str) -> Option<&mut Session> {
        self.by_id.get_mut(id).filter(|s| &*s.owner == owner)
    }

    /// The session an owner created earlier with this client token, if it still exists.
    pub fn by_client_token(&self, owner: &str, token: &str) -> Option<&Session> {
        let id = self.by_token.get(&(Arc::from(owner), token.to_string()))?;
        self.by_id.get(id)
    }

    /// The session whose download URIs carry this token.
    pub fn by_content_token(&self, token: &str) -> Option<&Session> {
        self.by_id.get(self.by_content_token.get(token)?)
    }

    /// The id of the session a download token belongs or belonged to.
    pub fn id_of_token(&self, token: &str) -> Option<&str> {
        self.by_content_token
            .get(token)
            .or_else(|| self.ended_tokens.get(token))
            .map(|id| &**id)
    }

    /// Move a session's expiration time, keeping the index in step.
    pub fn set_expiry(&mut self, owner: &str, id: &str, expires: Timestamp) {
        if let Some(s) = self.by_id.get_mut(id).filter(|s| &*s.owner == owner) {
            self.expiry.remove(&(s.expires, s.id.clone()));
            s.expires = expires;
            self.expiry.insert((expires, s.id.clone()));
        }
    }

    /// Remove the session `id` if `owner` created it.
    pub fn remove(&mut self, owner: &str, id: &str) -> Option<Session> {
        self.get(owner, id)?;
        self.remove_any(id)
    }

    fn remove_any(&mut self, id: &str) -> Option<Session> {
        let s = self.by_id.remove(id)?;
        self.expiry.remove(&(s.expires, s.id.clone()));
        self.by_content_token.remove(&s.content_token);
        if self.ended_order.len() == ENDED_TOKENS {
            if let Some(old) = self.ended_order.pop_front() {
                self.ended_tokens.remove(&old);
            }
        }
        self.ended_order.push_back(s.content_token.clone());
        self.ended_tokens
            .insert(s.content_token.clone(), s.id.clone());
        if let Some(t) = &s.client_token {
            self.by_token.remove(&(s.owner.clone(), t.clone()));
        }
        Some(s)
    }

    /// Ids of the sessions owned by `owner`, sorted, optionally only those of one item.
    pub fn ids_of(&self, owner: &str, item: Option<&str>) -> Vec<String> {
        let mut ids: Vec<String> = self
            .by_id
            .values()
            .filter(|s| &*s.owner == owner && item.is_none_or(|i| &*s.item_id == i))
            .map(|s| s.id.to_string())
            .collect();
        ids.sort();
        ids
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }
}
#[cfg(all(test, target_pointer_width = "64"))]
mod tests {
    /// Every live session keeps one `Session` and a `SessionFile` per file: a field added
    /// inline costs 100 000 sessions its size each (BENCHMARKS.md, "Memory per session").
    #[test]
    fn what_every_session_keeps_stays_small() {
        use std::mem::size_of;
        assert!(
            size_of::<super::Session>() <= 184,
            "{}",
            size_of::<super::Session>()
        );
        assert!(
            size_of::<super::SessionFile>() <= 80,
            "{}",
            size_of::<super::SessionFile>()
        );
    }
}
