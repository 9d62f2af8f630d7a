//! The journal: one line per request the server answered, in the order answered.
//!
//! It is what client verification reads, what a user greps when a test fails, and, on the
//! virtual clock, a byte-for-byte replayable record of a run. It is bounded in memory (the
//! oldest lines go first, counted in `dropped`) and can be streamed to a file as JSON lines.

use std::borrow::Cow;
use std::collections::{BTreeMap, VecDeque};
use std::io::Write;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::faults::FormName;
use crate::op::OpName;

/// Default number of entries kept in memory.
pub const DEFAULT_CAP: usize = 100_000;

/// One answered request, as [`Dlsim::journal`](crate::Dlsim::journal) lists them and
/// `dlsim serve --journal FILE` writes them (one JSON object per line).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use dlsim::{FormName, OpName};
/// # let small: dlsim::LibrarySpec = toml::from_str(
/// #     "name = 'isos'\n[[items]]\nname = 'alpine'\nfiles = [{ name = 'alpine.iso', size = 4096 }]",
/// # ).unwrap();
/// let fake = dlsim::Dlsim::builder().libraries(vec![small]).start().await;
/// # let item = &fake.item_ids(&fake.library_ids()[0]).unwrap()[0];
/// # let dir = tempfile::tempdir().unwrap();
/// # let mut opts = dlsim::DownloadOptions::new(fake.base_url(), fake.username(), fake.password(), item);
/// # opts.output_dir = dir.path().to_path_buf();
/// # opts.poll_interval = std::time::Duration::from_millis(10);
/// dlsim::download(&opts, |_| {}).await.unwrap();
///
/// let journal = fake.journal();
/// let download = journal.iter().find(|e| e.op == Some(OpName::Download)).unwrap();
/// assert_eq!((download.form, download.status, download.bytes), (Some(FormName::Content), 200, 4096));
/// let create = journal.iter().find(|e| e.op == Some(OpName::Create)).unwrap();
/// assert_eq!(create.user.as_deref(), Some(fake.username()));
/// assert_eq!(create.session, download.session);
///
/// // As a JSON line.
/// let line = serde_json::to_value(download).unwrap();
/// assert_eq!(line["op"], "content.download");
/// assert_eq!(line["time"], "2026-01-01T00:00:00.000Z");
/// # }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// 1, 2, 3, … in the order answered (downloads: in the order they ended).
    pub seq: u64,
    /// The server clock when the request arrived, in ms since the Unix epoch, and as text
    /// (written out only when the entry is).
    pub time_ms: i64,
    /// The same time.
    #[serde(with = "as_text")]
    pub time: crate::model::Timestamp,
    /// The wire form of the request (none for a request no form serves).
    pub form: Option<FormName>,
    /// The contract operation (`download_session.keep_alive`, `content.download`, …); none
    /// for a request no operation serves.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "op_name")]
    pub op: Option<OpName>,
    /// The HTTP method.
    pub method: Cow<'static, str>,
    /// The request path, without the query.
    pub path: String,
    /// The logged-in user who called.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<std::sync::Arc<str>>,
    /// The download session concerned (for a create, the one created).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// The library item concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<String>,
    /// The file concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// The HTTP status answered.
    pub status: u16,
    /// The vAPI error type answered (`NOT_FOUND`, …), whatever the form. JSON-RPC sends its
    /// errors with HTTP 200, so this, not `status`, says whether an operation failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<Cow<'static, str>>,
    /// Time to answer: measured on the real clock; on a virtual clock only injected delays
    /// count, so runs replay exactly.
    pub latency_ms: u64,
    /// Body bytes sent (for a download, what actually went out).
    pub bytes: u64,
    /// Faults applied, as `id:label`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub faults: Vec<String>,
    /// `download_session.get`: the state answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<Cow<'static, str>>,
    /// File operations: the status answered for each file.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub files: BTreeMap<String, Cow<'static, str>>,
    /// `file.get`: whether `checksum_info` was in the answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum: Option<bool>,
    /// The `Retry-After` sent, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
    /// Downloads: the byte range asked for (end exclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<(u64, u64)>,
    /// Downloads: the file's size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
}

impl Entry {
    /// Become a copy of `e`, reusing this entry's buffers.
    fn overwrite(&mut self, e: &Entry) {
        let Entry {
            seq,
            time_ms,
            time,
            form,
            op,
            method,
            path,
            user,
            session,
            item,
            file,
            status,
            error,
            latency_ms,
            bytes,
            faults,
            state,
            files,
            checksum,
            retry_after,
            range,
            size,
        } = e;
        (self.seq, self.time_ms, self.time) = (*seq, *time_ms, *time);
        (self.form, self.op, self.status) = (*form, *op, *status);
        (self.latency_ms, self.bytes, self.checksum) = (*latency_ms, *bytes, *checksum);
        (self.retry_after, self.range, self.size) = (*retry_after, *range, *size);
        self.method.clone_from(method);
        self.path.clone_from(path);
        self.user.clone_from(user);
        self.session.clone_from(session);
        self.item.clone_from(item);
        self.file.clone_from(file);
        self.error.clone_from(error);
        self.faults.clone_from(faults);
        self.state.clone_from(state);
        self.files.clone_from(files);
    }
}

/// A request method as the journal keeps it: the common ones without an allocation.
pub fn method_name(m: &axum::http::Method) -> Cow<'static, str> {
    use axum::http::Method;
    match *m {
        Method::GET => Cow::Borrowed("GET"),
        Method::POST => Cow::Borrowed("POST"),
        Method::DELETE => Cow::Borrowed("DELETE"),
        Method::HEAD => Cow::Borrowed("HEAD"),
        Method::PUT => Cow::Borrowed("PUT"),
        _ => Cow::Owned(m.to_string()),
    }
}

/// A state or status as the journal keeps it: the contract's words without an allocation.
pub fn word(s: &str) -> Cow<'static, str> {
    const WORDS: [&str; 7] = [
        "ACTIVE",
        "CANCELED",
        "ERROR",
        "UNPREPARED",
        "PREPARE_REQUESTED",
        "PREPARING",
        "PREPARED",
    ];
    match WORDS.iter().find(|w| **w == s) {
        Some(w) => Cow::Borrowed(w),
        None => Cow::Owned(s.to_string()),
    }
}

mod as_text {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::model::Timestamp;

    pub fn serialize<S: Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(t)
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
        let text = String::deserialize(d)?;
        Timestamp::parse(&text).ok_or_else(|| serde::de::Error::custom("not an RFC 3339 time"))
    }
}

mod op_name {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::op::OpName;

    pub fn serialize<S: Serializer>(op: &Option<OpName>, s: S) -> Result<S::Ok, S::Error> {
        match op {
            Some(op) => s.serialize_str(op.contract()),
            None => s.serialize_none(),
        }
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<OpName>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|s| s.parse().map_err(serde::de::Error::custom))
            .transpose()
    }
}

#[derive(Debug, Default)]
struct Inner {
    entries: VecDeque<Entry>,
    next_seq: u64,
    dropped: u64,
}

/// The journal of one server.
#[derive(Debug)]
pub struct Journal {
    inner: Mutex<Inner>,
    cap: usize,
    sink: Option<Mutex<std::io::BufWriter<std::fs::File>>>,
}

/// A page of the journal.
#[derive(Debug, Clone, Serialize)]
pub struct Page {
    pub entries: Vec<Entry>,
    /// Entries dropped from memory so far (the oldest go first).
    pub dropped: u64,
    /// The last sequence number recorded: pass it as `since` to read only what comes next.
    pub last: u64,
}

impl Journal {
    /// A journal keeping at most `cap` entries in memory (0: record nothing).
    pub fn new(cap: usize) -> Self {
        Journal {
            inner: Mutex::new(Inner {
                next_seq: 1,
                ..Inner::default()
            }),
            cap,
            sink: None,
        }
    }

    /// Also append every entry to `file` as a JSON line.
    pub fn with_sink(mut self, file: std::fs::File) -> Self {
        self.sink = Some(Mutex::new(std::io::BufWriter::new(file)));
        self
    }

    pub fn is_on(&self) -> bool {
        self.cap > 0 || self.sink.is_some()
    }

    /// Record an entry; its `seq` is assigned here.
    pub fn record(&self, mut e: Entry) {
        if !self.is_on() {
            return;
        }
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        e.seq = inner.next_seq;
        inner.next_seq += 1;
        if let Some(sink) = &self.sink {
            let mut w = sink.lock().unwrap_or_else(|p| p.into_inner());
            if let Ok(line) = serde_json::to_string(&e) {
                let _ = writeln!(w, "{line}");
                let _ = w.flush();
            }
        }
        if self.cap == 0 {
            return;
        }
        // A full ring writes the new entry over the oldest one's buffers: nothing is freed
        // on one thread that another allocated (which makes the allocator's arenas contend),
        // and `e` itself is freed after the lock, by the thread that built it.
        if inner.entries.len() == self.cap {
            inner.dropped += 1;
            if let Some(mut slot) = inner.entries.pop_front() {
                slot.overwrite(&e);
                inner.entries.push_back(slot);
            }
        } else {
            inner.entries.push_back(e);
        }
    }

    /// Entries after sequence number `since` (0 for all kept).
    pub fn since(&self, since: u64) -> Page {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let start = inner.entries.partition_point(|e| e.seq <= since);
        Page {
            entries: inner.entries.range(start..).cloned().collect(),
            dropped: inner.dropped,
            last: inner.next_seq - 1,
        }
    }

    /// Every entry kept.
    pub fn entries(&self) -> Vec<Entry> {
        self.since(0).entries
    }

    /// Forget everything, and number from 1 again.
    pub fn clear(&self) {
        *self.inner.lock().unwrap_or_else(|p| p.into_inner()) = Inner {
            next_seq: 1,
            ..Inner::default()
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_with_a_count_of_what_was_dropped() {
        let j = Journal::new(3);
        for _ in 0..5 {
            j.record(Entry::default());
        }
        let page = j.since(0);
        assert_eq!(page.dropped, 2);
        assert_eq!(page.last, 5);
        let seqs: Vec<u64> = page.entries.iter().map(|e| e.seq).collect();
        assert_eq!(seqs, [3, 4, 5]);
        assert_eq!(j.since(4).entries.len(), 1);
        j.clear();
        assert!(j.entries().is_empty());
    }

    /// A full ring reuses its oldest entry's buffers: what it keeps is exactly what was
    /// recorded, with nothing left over from the entry it replaced.
    #[test]
    fn a_full_ring_keeps_exact_copies() {
        let full = Entry {
            op: Some(OpName::FileGet),
            path: "/api/a/long/path/to/a/file".into(),
            user: Some("alice".into()),
            session: Some("s-1".into()),
            item: Some("i-1".into()),
            file: Some("disk.vmdk".into()),
            status: 200,
            error: Some("NOT_FOUND".into()),
            faults: vec!["1:http_error".into()],
            state: Some("ACTIVE".into()),
            files: [("disk.vmdk".to_string(), word("PREPARED"))].into(),
            checksum: Some(true),
            retry_after: Some(3),
            range: Some((0, 10)),
            size: Some(10),
            ..Entry::default()
        };
        let sparse = Entry {
            path: "/x".into(),
            status: 204,
            ..Entry::default()
        };
        let j = Journal::new(2);
        for e in [&full, &full, &sparse, &full, &sparse] {
            j.record(e.clone());
        }
        let kept = j.since(0).entries;
        assert_eq!(kept.len(), 2);
        assert_eq!(kept[0], Entry { seq: 4, ..full });
        assert_eq!(kept[1], Entry { seq: 5, ..sparse });
    }

    #[test]
    fn entries_round_trip_as_json_lines() {
        let e = Entry {
            seq: 1,
            op: Some(OpName::KeepAlive),
            form: Some(FormName::Rest),
            status: 204,
            ..Entry::default()
        };
        let line = serde_json::to_string(&e).unwrap();
        assert!(
            line.contains("\"op\":\"download_session.keep_alive\""),
            "{line}"
        );
        assert_eq!(serde_json::from_str::<Entry>(&line).unwrap(), e);
    }
}
