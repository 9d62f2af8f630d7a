//! The content plane: the bytes behind download URIs, streamed in constant memory.
//!
//! A file's bytes come from a [`synthetic`] generator or from a directory. [`ContentPlane::open`]
//! returns a stream over any byte range; as it is polled it records what was served (so
//! `bytes_transferred` grows) and, once the whole file has been served, publishes its size and
//! checksum. The bytes themselves are never copied on the way out.
//!
//! Checksums are not computed while serving: on a 2-core machine one SHA-1 stream (about
//! 1.4 GB/s) is slower than serving (about 2 GB/s), so hashing inline would cap every first
//! download. Instead the content plane is the engine's [`Preparer`]: a prepare request reads
//! the file once, on its own thread, as vCenter's preparation transfer does, and the result is
//! shared by every session that prepares the same content.
//!
//! A directory library is checked when it loads ([`directory`]), but its files can change
//! afterwards; every read goes through [`open_in_library`], which never follows a symlink, so
//! nothing outside the library directory is ever read.

pub mod checksum;
pub mod directory;
pub mod job;
pub mod ovf;
pub mod synthetic;

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::path::Path;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use axum::body::Bytes;
use futures_core::Stream;

use crate::engine::library::ItemSource;
use crate::engine::prepare::{PrepareRead, Preparer};
use crate::engine::Download;
use crate::model::{ChecksumAlgorithm, ChecksumInfo};
use checksum::Hasher;
pub use job::ChecksumJob;
use synthetic::{SyntheticFile, SyntheticSlices, CHUNK};

/// A stream of file bytes.
pub type ByteStream = Pin<Box<dyn Stream<Item = io::Result<Bytes>> + Send>>;

/// Waiting for a file's checksum.
type ChecksumWait = Pin<Box<dyn Future<Output = Result<String, String>> + Send>>;

/// Shared state of the content plane.
#[derive(Debug)]
pub struct ContentPlane {
    /// Checksum computations by content and algorithm: each is done at most once.
    jobs: Mutex<HashMap<(String, ChecksumAlgorithm), Arc<ChecksumJob>>>,
    /// Whether checksums are computed at all (off: preparing reads nothing, none is reported).
    enabled: bool,
    /// Set when the content plane is dropped, so reads under way stop.
    stopping: Arc<AtomicBool>,
}

impl Drop for ContentPlane {
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::Relaxed);
    }
}

impl Preparer for ContentPlane {
    fn prepare(&self, file: &Download) -> Option<Arc<dyn PrepareRead>> {
        if !self.enabled {
            return None;
        }
        let mut jobs = self.jobs.lock().unwrap_or_else(|p| p.into_inner());
        let key = (identity(file), file.algorithm);
        match jobs.get(&key) {
            // A read that failed (the file was missing, say) is tried again by the next prepare.
            Some(job) if !matches!(job.result(), Some(Err(_))) => return Some(job.clone() as _),
            _ => {}
        }
        let job = Arc::new(ChecksumJob::default());
        let (mine, file, stopping) = (job.clone(), file.clone(), self.stopping.clone());
        let read = move || {
            let result = checksum_from_source(&file, &stopping).map_err(|e| e.to_string());
            mine.finish(result);
        };
        if let Err(e) = std::thread::Builder::new()
            .name("dlsim-prepare".into())
            .spawn(read)
        {
            job.finish(Err(format!("cannot start reading the file: {e}")));
        }
        jobs.insert(key, job.clone());
        Some(job as _)
    }
}

impl ContentPlane {
    pub fn new(checksums: bool) -> Self {
        ContentPlane {
            jobs: Mutex::default(),
            enabled: checksums,
            stopping: Arc::default(),
        }
    }

    /// Stream `start..end` (end exclusive, within the file) of a download, with transport
    /// faults between the source and the meter, so what is recorded as served is what went
    /// out. Also returns the count of bytes sent.
    pub async fn open(
        &self,
        download: &Download,
        start: u64,
        end: u64,
        shaping: crate::server::transport::Shaping,
    ) -> io::Result<(ByteStream, Arc<std::sync::atomic::AtomicU64>)> {
        let sent = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let raw = raw_stream(download, start, end).await?;
        let raw = crate::server::transport::shape(raw, shaping, sent.clone());
        Ok((self.metered(raw, download, start, end).await, sent))
    }

    /// Meter `raw`, the bytes `start..end` of a download.
    async fn metered(
        &self,
        raw: ByteStream,
        download: &Download,
        start: u64,
        end: u64,
    ) -> ByteStream {
        let metered = Metered {
            inner: raw,
            pos: start,
            end,
            download: download.clone(),
            finishing: None,
        };
        if download.size == 0 {
            // An empty body is never polled: the empty file is complete once asked for.
            if let Some(wait) = metered.completion() {
                if let Ok(sum) = wait.await {
                    metered.publish(sum);
                }
            }
        }
        Box::pin(metered)
    }
}

/// A stable name for a file's content, the key of the checksum cache.
fn identity(d: &Download) -> String {
    match &d.source {
        ItemSource::Synthetic => format!(
            "synthetic:{}:{}:{}:{}",
            d.content_seed, d.item_id, d.file_name, d.size
        ),
        ItemSource::Directory(dir) => {
            format!("dir:{}:{}", dir.join(on_disk(d)).display(), d.size)
        }
    }
}

/// The name of the file in the item's directory that holds a download's bytes.
fn on_disk(d: &Download) -> &str {
    d.target.as_deref().unwrap_or(&d.file_name)
}

/// Open file `name` of directory `dir` (a library item's) for reading without following a
/// symlink: a file, or on Linux the item directory itself, replaced by a link after the
/// library loaded is refused. What is opened must be a regular file (a FIFO put in its place
/// neither blocks the open nor gets read).
pub fn open_in_library(dir: &Path, name: &str) -> io::Result<std::fs::File> {
    let refused = |why: &str| io::Error::new(io::ErrorKind::NotFound, format!("{name} {why}"));
    // Names come from the catalogue: plain names only. Check again that none leaves `dir`.
    if !crate::engine::library::is_safe_file_name(name) {
        return Err(refused("is not a safe file name"));
    }
    let path = dir.join(name);
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    #[cfg(not(unix))]
    if std::fs::symlink_metadata(&path)?.file_type().is_symlink() {
        return Err(refused("is a symbolic link, which is never followed"));
    }
    let file = options.open(&path).map_err(|e| {
        #[cfg(unix)]
        if e.raw_os_error() == Some(libc::ELOOP) {
            return refused("is a symbolic link, which is never followed");
        }
        e
    })?;
    if !file.metadata()?.is_file() {
        return Err(refused("is not a regular file"));
    }
    // O_NOFOLLOW guards the last component only: ask the kernel where the opened file is.
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let fd = format!("/proc/self/fd/{}", file.as_raw_fd());
        if std::fs::read_link(fd).is_ok_and(|real| real != path) {
            return Err(refused("is no longer inside the library directory"));
        }
    }
    Ok(file)
}

/// The unmetered bytes of `start..end`.
async fn raw_stream(d: &Download, start: u64, end: u64) -> io::Result<ByteStream> {
    match &d.source {
        ItemSource::Synthetic if ovf::is_generated(&d.file_name) => {
            let mine = d.clone();
            let made = tokio::task::spawn_blocking(move || ovf::generated(&mine))
                .await
                .map_err(io::Error::other)?;
            if let Some(bytes) = made {
                let end = (end as usize).min(bytes.len());
                let part = bytes.slice((start as usize).min(end)..end);
                return Ok(Box::pin(Whole(Some(part))));
            }
            let file = SyntheticFile::new(d.content_seed, &d.item_id, &d.file_name, d.size);
            Ok(Box::pin(Synthetic(file.slices(start, end))))
        }
        ItemSource::Synthetic => {
            let file = SyntheticFile::new(d.content_seed, &d.item_id, &d.file_name, d.size);
            Ok(Box::pin(Synthetic(file.slices(start, end))))
        }
        ItemSource::Directory(dir) => {
            let (dir, name) = (dir.clone(), on_disk(d).to_string());
            let f = tokio::task::spawn_blocking(move || open_in_library(&dir, &name))
                .await
                .map_err(io::Error::other)??;
            Ok(read_ahead(f, start, end))
        }
    }
}

/// Bytes read from a directory file per chunk.
const FILE_CHUNK: usize = 1 << 20;
/// Chunks read ahead of the one being sent.
const READ_AHEAD: usize = 2;

/// Stream `start..end` of an open file: a blocking task reads it in [`FILE_CHUNK`]s, each
/// straight into the buffer that is sent (no copy between buffers), up to [`READ_AHEAD`]
/// chunks ahead, so reading overlaps sending. It stops when the stream is dropped (the client
/// went away), at the end of the range, or at the end of the file (a file that shrank after
/// start is then a short stream, which [`Metered`] reports).
///
/// This replaced `tokio::fs::File` under a `ReaderStream`, whose reads land in the file's own
/// buffer and are then copied into the stream's: callgrind put 95 % of the server's
/// instructions in that copy while serving a directory file.
fn read_ahead(file: std::fs::File, start: u64, end: u64) -> ByteStream {
    use std::io::{Read, Seek};
    let (tx, rx) = tokio::sync::mpsc::channel::<io::Result<Bytes>>(READ_AHEAD);
    tokio::task::spawn_blocking(move || {
        let mut file = file;
        if let Err(e) = file.seek(io::SeekFrom::Start(start)) {
            let _ = tx.blocking_send(Err(e));
            return;
        }
        let mut pos = start;
        while pos < end {
            let want = (end - pos).min(FILE_CHUNK as u64);
            // read_to_end fills the vector's spare capacity without zeroing it first.
            let mut buf = Vec::with_capacity(want as usize);
            match (&mut file).take(want).read_to_end(&mut buf) {
                Ok(0) => return,
                Ok(n) => {
                    pos += n as u64;
                    if tx.blocking_send(Ok(Bytes::from(buf))).is_err() {
                        return;
                    }
                }
                Err(e) => {
                    let _ = tx.blocking_send(Err(e));
                    return;
                }
            }
        }
    });
    Box::pin(Chunks(rx))
}

/// The receiving end of [`read_ahead`].
struct Chunks(tokio::sync::mpsc::Receiver<io::Result<Bytes>>);

impl Stream for Chunks {
    type Item = io::Result<Bytes>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_recv(cx)
    }
}

/// Compute a whole file's checksum from its source (blocking; run it off the async threads).
/// Gives up once `stop` is set.
pub fn checksum_from_source(d: &Download, stop: &AtomicBool) -> io::Result<String> {
    let stopped = || io::Error::new(io::ErrorKind::Interrupted, "the server is stopping");
    let mut h = Hasher::new(d.algorithm);
    match &d.source {
        ItemSource::Synthetic => match ovf::generated(d) {
            Some(bytes) => h.update(&bytes),
            None => {
                let file = SyntheticFile::new(d.content_seed, &d.item_id, &d.file_name, d.size);
                for s in file.slices(0, d.size) {
                    if stop.load(Ordering::Relaxed) {
                        return Err(stopped());
                    }
                    h.update(&s);
                }
            }
        },
        ItemSource::Directory(dir) => {
            use std::io::Read;
            let mut f = open_in_library(dir, on_disk(d))?.take(d.size);
            let mut buf = vec![0u8; CHUNK as usize];
            loop {
                let n = f.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                if stop.load(Ordering::Relaxed) {
                    return Err(stopped());
                }
                h.update(&buf[..n]);
            }
        }
    }
    Ok(h.finish_hex())
}

struct Synthetic(SyntheticSlices);

/// Bytes made whole in memory (a generated descriptor or manifest), in one piece.
struct Whole(Option<Bytes>);

impl Stream for Whole {
    type Item = io::Result<Bytes>;
    fn poll_next(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Poll::Ready(self.0.take().filter(|b| !b.is_empty()).map(Ok))
    }
}

impl Stream for Synthetic {
    type Item = io::Result<Bytes>;
    fn poll_next(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Poll::Ready(self.0.next().map(Ok))
    }
}

/// Records served ranges and publishes the checksum when the whole file has been served.
///
/// Completion is handled when the last byte goes out, not at end of stream: with a known
/// `Content-Length`, hyper stops polling once it has sent that many bytes.
struct Metered {
    inner: ByteStream,
    pos: u64,
    end: u64,
    download: Download,
    /// Waiting for the checksum, holding back the last chunk until it is published.
    finishing: Option<(ChecksumWait, Bytes)>,
}

impl Metered {
    fn publish(&self, checksum: String) {
        self.download.transfer.set_checksum(ChecksumInfo {
            algorithm: Some(self.download.algorithm),
            checksum,
        });
    }
}

impl Stream for Metered {
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if let Some((wait, _)) = this.finishing.as_mut() {
            let result = match wait.as_mut().poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(r) => r,
            };
            let (_, last) = this.finishing.take().expect("finishing is set");
            return match result {
                Ok(sum) => {
                    this.publish(sum);
                    Poll::Ready(Some(Ok(last)))
                }
                Err(e) => Poll::Ready(Some(Err(io::Error::other(e)))),
            };
        }
        match this.inner.as_mut().poll_next(cx) {
            Poll::Ready(Some(Ok(bytes))) => {
                let next = this.pos + bytes.len() as u64;
                this.download.transfer.record(this.pos, next);
                this.pos = next;
                if this.pos < this.end {
                    return Poll::Ready(Some(Ok(bytes)));
                }
                match this.completion() {
                    None => Poll::Ready(Some(Ok(bytes))),
                    Some(wait) => {
                        this.finishing = Some((wait, bytes));
                        cx.waker().wake_by_ref();
                        Poll::Pending
                    }
                }
            }
            Poll::Ready(None) if this.pos < this.end => Poll::Ready(Some(Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the file ended before its declared size",
            )))),
            Poll::Ready(None) => Poll::Ready(None),
            other => other,
        }
    }
}

impl Metered {
    /// Once this range is served: if the file is now complete and its checksum not yet
    /// published, the wait for that checksum.
    fn completion(&self) -> Option<ChecksumWait> {
        let t = &self.download.transfer;
        if t.checksum().is_some() || !t.complete(self.download.size) {
            return None;
        }
        let read = self.download.checksum.clone()?;
        // Reads reach a download only from this content plane's `prepare`: they are its jobs.
        let job = read.into_any().downcast::<ChecksumJob>().ok()?;
        Some(Box::pin(async move { job.wait().await }))
    }
}
