//! The database: ties the write-ahead log, memtables, table files and manifest together.
//!
//! Threads and locks (always taken in this order when nested):
//! 1. `queue`: the commit queue; the writer at its front is the *leader*.
//! 2. `wal`: the WAL writer and the active memtable; held only by the leader (or `flush()`).
//! 3. `versions`: the manifest writer and current version; held by the flush thread and open.
//! 4. `state`: the immutable-memtable queue and the background error; short critical sections.
//!
//! Readers take none of these: they clone the current [`ReadView`] (an `Arc` swap under a
//! read-write lock) and read at `visible_seq`.

mod checkpoint;
mod cursor;
mod flush;
mod open;
mod write;

pub use cursor::{Cursor, DbIter};

use crate::compaction;
use crate::fs::{FileLock, FileSystem};
use crate::key::Kind;
use crate::manifest::VersionEdit;
use crate::memtable::MemTable;
use crate::options::{Options, WriteOptions};
use crate::sstable::BlockCache;
use crate::stats::{LevelStats, Stats};
use crate::version::Version;
use crate::wal::LogWriter;
use crate::{Error, Result, WriteBatch};
use bytes::Bytes;
use parking_lot::{Condvar, Mutex, RwLock};
use std::collections::{HashSet, VecDeque};
use std::ops::RangeBounds;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

/// A handle to an open database. Cheap to clone; `Send + Sync`; the database closes in an
/// orderly way (background work finished, WAL synced, lock released) when the last clone drops.
///
/// ```
/// # fn main() -> strata_engine::Result<()> {
/// # let dir = tempfile::tempdir().unwrap();
/// use strata_engine::{Db, Options};
/// let db = Db::open(dir.path(), Options::default())?;
/// db.put("greeting", "hello")?;
/// assert_eq!(db.get("greeting")?.as_deref(), Some(&b"hello"[..]));
/// for entry in db.iter() {
///     let (key, value) = entry?;
///     println!("{key:?} = {value:?}");
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Db {
    handle: Arc<Handle>,
}

/// Owns the background threads; dropping it shuts the database down.
struct Handle {
    inner: Arc<Inner>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

/// What a reader needs: the memtables and table files at one moment; and, for the writers'
/// throttle, the compaction debt of those files (computed once per view, not per write).
pub(crate) struct ReadView {
    pub(crate) mem: Arc<MemTable>,
    /// Immutable memtables, newest first.
    pub(crate) imms: Vec<Arc<MemTable>>,
    pub(crate) version: Arc<Version>,
    /// Files in level 0.
    pub(crate) l0_files: usize,
    /// Estimated bytes compaction still has to rewrite.
    pub(crate) pending_compaction_bytes: u64,
}

impl ReadView {
    pub(crate) fn new(
        mem: Arc<MemTable>,
        imms: Vec<Arc<MemTable>>,
        version: Arc<Version>,
        cfg: &compaction::picker::PickerConfig,
    ) -> Self {
        ReadView {
            l0_files: version.levels[0].len(),
            pending_compaction_bytes: compaction::picker::pending_bytes(&version, cfg),
            mem,
            imms,
            version,
        }
    }
}

/// A full memtable waiting for its flush.
pub(crate) struct Imm {
    pub(crate) mem: Arc<MemTable>,
    /// The WAL that took over when this memtable was sealed: once it is flushed, logs before
    /// this number are no longer needed.
    pub(crate) next_log: u64,
}

/// Mutable structure shared with the flush thread.
pub(crate) struct State {
    /// Oldest first.
    pub(crate) imms: VecDeque<Imm>,
    /// Set by a failed flush or WAL write; the database is read-only from then on.
    pub(crate) bg_error: Option<Error>,
    pub(crate) shutting_down: bool,
    /// Bumped whenever the version or the set of files being compacted changes; waiters
    /// compare it to know something happened (no missed wake-ups).
    pub(crate) generation: u64,
}

/// The leader's state: the WAL being appended to and the memtable being filled.
pub(crate) struct WalState {
    pub(crate) writer: LogWriter,
    pub(crate) number: u64,
    pub(crate) mem: Arc<MemTable>,
    /// The last sequence number assigned.
    pub(crate) last_seq: u64,
    /// Syncs the current log from outside the WAL lock.
    pub(crate) sync_handle: crate::fs::SyncHandle,
    /// The ticket the next committed group gets (see `write.rs`).
    pub(crate) next_ticket: u64,
    /// Reused buffer for a group's WAL records.
    pub(crate) scratch: Vec<u8>,
}

/// Ordered publication of committed groups (see `write.rs`).
#[derive(Default)]
pub(crate) struct Publish {
    /// The ticket allowed to publish next.
    pub(crate) next_ticket: u64,
    /// Set when a group failed to sync: nothing after it may become visible.
    pub(crate) poisoned: bool,
    /// Groups done but not yet published (waiting for an earlier ticket): their last sequence
    /// number, or `None` for a group that failed.
    pub(crate) finished: std::collections::HashMap<u64, Option<u64>>,
    /// Whether each published ticket became visible; taken by its waiting thread.
    pub(crate) outcomes: std::collections::HashMap<u64, bool>,
}

/// The manifest writer, the current version, and compaction bookkeeping.
pub(crate) struct VersionSet {
    pub(crate) manifest: LogWriter,
    pub(crate) version: Arc<Version>,
    /// Every write at or below this sequence number is in a table file.
    pub(crate) flushed_seq: u64,
    /// Files that a running compaction reads.
    pub(crate) compacting: HashSet<u64>,
    /// Per level, the largest user key last compacted there (round-robin picking).
    pub(crate) pointers: Vec<Option<Vec<u8>>>,
}

impl VersionSet {
    /// Appends an edit to the manifest and syncs it.
    pub(crate) fn log_edit(&mut self, edit: &VersionEdit) -> Result<()> {
        self.manifest.add_record(&edit.encode())?;
        self.manifest.sync()
    }
}

/// Running totals for [`Stats`].
#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) user_bytes: AtomicU64,
    pub(crate) wal_bytes: AtomicU64,
    pub(crate) flush_bytes: AtomicU64,
    pub(crate) flushes: AtomicU64,
    pub(crate) compaction_bytes_read: AtomicU64,
    pub(crate) compaction_bytes_written: AtomicU64,
    pub(crate) compactions: AtomicU64,
    pub(crate) trivial_moves: AtomicU64,
    pub(crate) stall_micros: AtomicU64,
    pub(crate) slowdown_micros: AtomicU64,
}

pub(crate) struct Inner {
    pub(crate) dir: PathBuf,
    pub(crate) opts: Options,
    pub(crate) fs: Arc<dyn FileSystem>,
    pub(crate) _lock: Box<dyn FileLock>,
    pub(crate) cache: Arc<BlockCache>,
    pub(crate) view: RwLock<Arc<ReadView>>,
    /// Every write with a sequence number at or below this is in a memtable and may be read.
    pub(crate) visible_seq: AtomicU64,
    pub(crate) next_file: AtomicU64,
    pub(crate) queue: Mutex<VecDeque<Arc<write::Pending>>>,
    pub(crate) wal: Mutex<WalState>,
    pub(crate) versions: Mutex<VersionSet>,
    pub(crate) state: Mutex<State>,
    /// Signalled when an immutable memtable is added or flushed, on a background error, and on
    /// shutdown.
    pub(crate) state_cv: Condvar,
    pub(crate) counters: Counters,
    pub(crate) publish: Mutex<Publish>,
    pub(crate) publish_cv: Condvar,
    /// (log number, bytes) appended to the current WAL so far.
    pub(crate) appended: Mutex<(u64, u64)>,
    /// What of the WAL is durable, and whether an fsync is running.
    pub(crate) wal_sync: Mutex<WalSync>,
    /// Signalled when a WAL fsync ends.
    pub(crate) wal_sync_cv: Condvar,
}

/// Shared WAL fsyncs (see `write.rs`).
#[derive(Default)]
pub(crate) struct WalSync {
    /// (log number, bytes) known to be durable.
    pub(crate) synced: (u64, u64),
    /// An fsync is running; others wait for it and re-check.
    pub(crate) syncing: bool,
}

impl Db {
    /// Opens (or creates) the database in directory `path`.
    ///
    /// Recovery replays only the write-ahead logs written since the last flush. Fails with
    /// [`Error::Locked`] if another process has it open, [`Error::Corruption`] if its files are
    /// damaged beyond a torn WAL tail, and [`Error::NotFound`] if there is no database and
    /// `create_if_missing` is off.
    pub fn open(path: impl AsRef<Path>, opts: Options) -> Result<Db> {
        let (inner, flush_now) = open::open(path.as_ref(), opts)?;
        let inner = Arc::new(inner);
        let handle = Handle {
            inner: inner.clone(),
            threads: Mutex::new(Vec::new()),
        };
        handle.threads.lock().push(flush::spawn(inner.clone())?);
        let compactors = compaction::spawn(&inner, inner.opts.background_compactions)?;
        handle.threads.lock().extend(compactors);
        let db = Db {
            handle: Arc::new(handle),
        };
        if flush_now {
            db.flush()?;
        }
        Ok(db)
    }

    fn inner(&self) -> &Arc<Inner> {
        &self.handle.inner
    }

    /// The value of `key`, or `None` if it is absent.
    pub fn get(&self, key: impl AsRef<[u8]>) -> Result<Option<Bytes>> {
        let (view, seq) = self.inner().read_point();
        get_at(&view, key.as_ref(), seq)
    }

    /// Sets `key` to `value` (not fsynced; see [`WriteOptions`]).
    pub fn put(&self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Result<()> {
        let mut batch = WriteBatch::new();
        batch.put(key, value);
        self.write(batch, WriteOptions::default())
    }

    /// Deletes `key` (not fsynced; see [`WriteOptions`]). Deleting an absent key is not an error.
    pub fn delete(&self, key: impl AsRef<[u8]>) -> Result<()> {
        let mut batch = WriteBatch::new();
        batch.delete(key);
        self.write(batch, WriteOptions::default())
    }

    /// Applies `batch` atomically. Concurrent writers are committed in groups sharing one WAL
    /// append and, if any asked for it, one fsync.
    pub fn write(&self, batch: WriteBatch, opts: WriteOptions) -> Result<()> {
        self.inner().write(batch, opts).map(|_| ())
    }

    /// Iterates over every key (forwards, or backwards with `.rev()`) at a snapshot taken now.
    /// The iterator owns what it needs: it may outlive this borrow and move to another thread.
    pub fn iter(&self) -> DbIter {
        self.range::<&[u8], _>(..)
    }

    /// Iterates over the keys in `range`, at a snapshot taken now; `.rev()` walks backwards.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let db = strata_engine::Db::open(dir.path(), Default::default()).unwrap();
    /// for k in ["a", "b", "c", "d"] { db.put(k, "")?; }
    /// let keys: Vec<_> = db.range("b".."d").map(|e| e.map(|(k, _)| k)).collect::<Result<_, _>>()?;
    /// assert_eq!(keys, ["b", "c"]);
    /// let last = db.iter().next_back().transpose()?.map(|(k, _)| k);
    /// assert_eq!(last.as_deref(), Some(&b"d"[..]));
    /// # Ok::<(), strata_engine::Error>(())
    /// ```
    pub fn range<K: AsRef<[u8]>, R: RangeBounds<K>>(&self, range: R) -> DbIter {
        let (view, seq) = self.inner().read_point();
        DbIter::new(view, seq, range)
    }

    /// Iterates over the keys that start with `prefix`.
    pub fn prefix(&self, prefix: impl AsRef<[u8]>) -> DbIter {
        let prefix = prefix.as_ref();
        match prefix_successor(prefix) {
            Some(end) => self.range(prefix..end.as_slice()),
            None => self.range(prefix..),
        }
    }

    /// A cursor over the whole database at a snapshot taken now, for seeking and stepping in
    /// both directions.
    pub fn cursor(&self) -> Cursor {
        self.cursor_in::<&[u8], _>(..)
    }

    /// A cursor limited to `range`.
    pub fn cursor_in<K: AsRef<[u8]>, R: RangeBounds<K>>(&self, range: R) -> Cursor {
        let (view, seq) = self.inner().read_point();
        Cursor::new(&view, seq, range)
    }

    /// Writes the memtable to a table file and waits until every full memtable is flushed.
    pub fn flush(&self) -> Result<()> {
        self.inner().flush()
    }

    /// Compacts the keys in `range` down to the deepest level holding data, after flushing the
    /// memtable: afterwards they are stored once, without overwritten versions or deletion
    /// markers (unless a snapshot still needs them). `compact_range::<&[u8], _>(..)` compacts
    /// everything.
    pub fn compact_range<K: AsRef<[u8]>, R: RangeBounds<K>>(&self, range: R) -> Result<()> {
        let key = |b: std::ops::Bound<&K>| match b {
            std::ops::Bound::Included(k) | std::ops::Bound::Excluded(k) => {
                Some(k.as_ref().to_vec())
            }
            std::ops::Bound::Unbounded => None,
        };
        let (lo, hi) = (key(range.start_bound()), key(range.end_bound()));
        self.inner().compact_range(lo.as_deref(), hi.as_deref())
    }

    /// Writes a consistent copy of the database into `dest` (which must not exist), hard-linking
    /// table files where possible. The copy holds every write acknowledged before the call and
    /// opens as a normal database; writes may go on while it is made.
    pub fn checkpoint(&self, dest: impl AsRef<Path>) -> Result<()> {
        self.inner().checkpoint(dest.as_ref())
    }

    /// The sequence number of the last write visible to readers.
    pub fn last_sequence(&self) -> u64 {
        self.inner().visible_seq.load(Ordering::Acquire)
    }

    /// The database directory.
    pub fn path(&self) -> &Path {
        &self.inner().dir
    }

    /// The block cache (for its statistics).
    pub fn block_cache(&self) -> &BlockCache {
        &self.inner().cache
    }

    /// Current figures: levels, memtables, block cache, memory held.
    pub fn stats(&self) -> Stats {
        let inner = self.inner();
        let view = inner.view.read().clone();
        let mut stats = Stats {
            memtable_bytes: view.mem.approximate_size() as u64,
            memtable_entries: view.mem.len() as u64,
            immutable_memtables: view.imms.len(),
            immutable_memtable_bytes: view.imms.iter().map(|m| m.approximate_size() as u64).sum(),
            block_cache_bytes: inner.cache.usage(),
            block_cache_capacity: inner.cache.capacity(),
            block_cache_hits: inner.cache.hits(),
            block_cache_misses: inner.cache.misses(),
            last_sequence: inner.visible_seq.load(Ordering::Acquire),
            user_bytes_written: inner.counters.user_bytes.load(Ordering::Relaxed),
            wal_bytes_written: inner.counters.wal_bytes.load(Ordering::Relaxed),
            flush_bytes_written: inner.counters.flush_bytes.load(Ordering::Relaxed),
            flushes: inner.counters.flushes.load(Ordering::Relaxed),
            compaction_bytes_read: inner.counters.compaction_bytes_read.load(Ordering::Relaxed),
            compaction_bytes_written: inner
                .counters
                .compaction_bytes_written
                .load(Ordering::Relaxed),
            compactions: inner.counters.compactions.load(Ordering::Relaxed),
            trivial_moves: inner.counters.trivial_moves.load(Ordering::Relaxed),
            stall_micros: inner.counters.stall_micros.load(Ordering::Relaxed),
            slowdown_micros: inner.counters.slowdown_micros.load(Ordering::Relaxed),
            pending_compaction_bytes: view.pending_compaction_bytes,
            ..Stats::default()
        };
        for files in &view.version.levels {
            let mut level = LevelStats::default();
            for f in files {
                level.files += 1;
                level.bytes += f.table.size();
                level.entries += f.table.props().num_entries;
                stats.table_metadata_bytes += f.table.pinned_memory() as u64;
            }
            stats.levels.push(level);
        }
        stats
    }

    /// Closes the database, reporting any error from syncing the WAL. Other clones of this
    /// handle keep it open; the close happens when the last one goes.
    pub fn close(self) -> Result<()> {
        match Arc::try_unwrap(self.handle) {
            Ok(handle) => handle.shutdown(),
            Err(_) => Ok(()),
        }
    }
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("path", &self.inner().dir)
            .finish_non_exhaustive()
    }
}

impl Handle {
    fn shutdown(&self) -> Result<()> {
        {
            let mut st = self.inner.state.lock();
            st.shutting_down = true;
        }
        self.inner.state_cv.notify_all();
        for t in self.threads.lock().drain(..) {
            let _ = t.join();
        }
        // Make unsynced writes durable on an orderly close.
        let mut wal = self.inner.wal.lock();
        if self.inner.state.lock().bg_error.is_some() {
            return Ok(());
        }
        wal.writer.sync()
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}

/// Point lookup in a view: memtables newest first, then level 0 newest first, then each level.
pub(crate) fn get_at(view: &ReadView, key: &[u8], seq: u64) -> Result<Option<Bytes>> {
    let found = |hit: Option<(Kind, Bytes)>| {
        hit.map(|(kind, v)| match kind {
            Kind::Put => Some(v),
            Kind::Delete => None,
        })
    };
    if let Some(r) = found(view.mem.get(key, seq)) {
        return Ok(r);
    }
    for imm in &view.imms {
        if let Some(r) = found(imm.get(key, seq)) {
            return Ok(r);
        }
    }
    let hash = crate::sstable::key_hash(key);
    for level in 0..view.version.levels.len() {
        for f in view.version.files_for_key(level, key) {
            if let Some(r) = found(f.table.get(key, hash, seq)?) {
                return Ok(r);
            }
        }
    }
    Ok(None)
}

/// The smallest key greater than every key starting with `prefix` (`None` if there is none).
fn prefix_successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

impl Inner {
    /// The read view and the sequence number to read it at. The sequence number is read while
    /// the view is pinned: a view is only replaced under the write lock, so every write at or
    /// below the sequence number is in this view's memtables or files, and no compaction that
    /// produced this view dropped a version this reader needs.
    pub(crate) fn read_point(&self) -> (Arc<ReadView>, u64) {
        let view = self.view.read();
        let seq = self.visible_seq.load(Ordering::Acquire);
        (view.clone(), seq)
    }

    /// The oldest sequence number any reader may still read at: versions shadowed at or
    /// below it may be dropped. (Iterators pin their own files, so only snapshots count.)
    pub(crate) fn oldest_snapshot(&self) -> u64 {
        self.visible_seq.load(Ordering::Acquire)
    }

    pub(crate) fn picker_config(&self) -> compaction::picker::PickerConfig {
        compaction::picker::PickerConfig::from_options(&self.opts)
    }

    /// Fails if a background error made the database read-only.
    pub(crate) fn check_writable(&self) -> Result<()> {
        match &self.state.lock().bg_error {
            Some(e) => Err(Error::ReadOnly(e.to_string())),
            None => Ok(()),
        }
    }

    /// Records a background error (the first one wins) and wakes everyone waiting.
    pub(crate) fn set_bg_error(&self, e: &Error) {
        let mut st = self.state.lock();
        if st.bg_error.is_none() {
            st.bg_error = Some(e.duplicate());
        }
        drop(st);
        self.state_cv.notify_all();
    }

    /// Publishes a new read view built from the current state.
    pub(crate) fn install_view(&self, mem: Arc<MemTable>, st: &State, version: Arc<Version>) {
        let imms = st.imms.iter().rev().map(|i| i.mem.clone()).collect();
        let view = ReadView::new(mem, imms, version, &self.picker_config());
        *self.view.write() = Arc::new(view);
    }

    /// Seals the active memtable (if it holds anything) and waits for all flushes.
    pub(crate) fn flush(&self) -> Result<()> {
        {
            let mut wal = self.wal.lock();
            self.rotate_memtable(&mut wal, true)?;
        }
        let mut st = self.state.lock();
        loop {
            if let Some(e) = &st.bg_error {
                return Err(Error::ReadOnly(e.to_string()));
            }
            if st.imms.is_empty() {
                return Ok(());
            }
            self.state_cv.wait(&mut st);
        }
    }
}
