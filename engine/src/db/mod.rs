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
mod keyspace;
mod open;
mod snapshot;
mod txn;
mod wal_sync;
mod write;

pub use cursor::{Cursor, DbIter};
pub use keyspace::Keyspace;
pub use snapshot::Snapshot;
pub use txn::{Transaction, TxnIter};

use crate::compaction;
use crate::fs::{FileLock, FileSystem};
use crate::key::Kind;
use crate::manifest::VersionEdit;
use crate::memtable::MemTable;
use crate::options::{KeyspaceOptions, Options, TreeOptions, WriteOptions};
use crate::sstable::BlockCache;
use crate::stats::{LevelStats, Stats};
use crate::version::Version;
use crate::wal::LogWriter;
use crate::{Error, Result, WriteBatch};
use bytes::Bytes;
use parking_lot::{Condvar, Mutex, RwLock};
use std::collections::{BTreeMap, HashSet, VecDeque};
use std::ops::{Bound, RangeBounds};
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
    /// Set by [`Db::abandon`]: closing skips the final WAL sync.
    abandoned: std::sync::atomic::AtomicBool,
}

/// The active memtables (or one sealed generation of them), one per keyspace.
pub(crate) type MemSet = BTreeMap<u32, Arc<MemTable>>;

/// What a reader needs: every keyspace's memtables and table files at one moment; and, for
/// the writers' throttle, the compaction debt of those files (computed once per view, not per
/// write).
pub(crate) struct ReadView {
    pub(crate) mems: Arc<MemSet>,
    /// Sealed memtables waiting for their flush, newest first.
    pub(crate) imms: Vec<Arc<MemSet>>,
    /// Each live keyspace's files. A keyspace is live exactly when it has an entry here.
    pub(crate) versions: BTreeMap<u32, Arc<Version>>,
    /// Files in the fullest level 0 of any keyspace.
    pub(crate) l0_files: usize,
    /// Estimated bytes compaction still has to rewrite, over all keyspaces.
    pub(crate) pending_compaction_bytes: u64,
}

impl ReadView {
    pub(crate) fn new(
        mems: Arc<MemSet>,
        imms: Vec<Arc<MemSet>>,
        versions: BTreeMap<u32, Arc<Version>>,
        cfg: &compaction::picker::PickerConfig,
    ) -> Self {
        ReadView {
            l0_files: versions
                .values()
                .map(|v| v.levels[0].len())
                .max()
                .unwrap_or(0),
            pending_compaction_bytes: versions
                .values()
                .map(|v| compaction::picker::pending_bytes(v, cfg))
                .sum(),
            mems,
            imms,
            versions,
        }
    }

    /// Keyspace `ks`'s memtables, newest first, and files; `None` if it is not live.
    pub(crate) fn tree(&self, ks: u32) -> Option<(Vec<&Arc<MemTable>>, &Arc<Version>)> {
        let version = self.versions.get(&ks)?;
        let mems = std::iter::once(&self.mems)
            .chain(&self.imms)
            .filter_map(|set| set.get(&ks))
            .collect();
        Some((mems, version))
    }
}

/// A sealed generation of memtables waiting for its flush.
pub(crate) struct Imm {
    pub(crate) mems: Arc<MemSet>,
    /// The WAL that took over when these memtables were sealed: once they are flushed, logs
    /// before this number are no longer needed.
    pub(crate) next_log: u64,
    /// The last sequence number written before the seal: everything at or below it is in
    /// these memtables or older ones.
    pub(crate) last_seq: u64,
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
    /// The active memtables, one per live keyspace.
    pub(crate) mems: Arc<MemSet>,
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
    /// number, or `None` for a group that failed; and whether a thread awaits the outcome.
    pub(crate) finished: std::collections::HashMap<u64, (Option<u64>, bool)>,
    /// Whether each published ticket became visible; taken by its waiting thread.
    pub(crate) outcomes: std::collections::HashMap<u64, bool>,
}

/// One keyspace's durable description and current files.
pub(crate) struct Tree {
    pub(crate) name: String,
    pub(crate) opts: TreeOptions,
    pub(crate) version: Arc<Version>,
    /// Per level, the largest user key last compacted there (round-robin picking).
    pub(crate) pointers: Vec<Option<Vec<u8>>>,
}

impl Tree {
    pub(crate) fn new(name: String, opts: TreeOptions, version: Version) -> Self {
        Tree {
            name,
            opts,
            version: Arc::new(version),
            pointers: vec![None; crate::version::NUM_LEVELS],
        }
    }
}

/// The manifest records that describe keyspaces `trees` and their files: the body of a
/// snapshot edit (the caller adds log number, next file and last sequence).
pub(crate) fn snapshot_edit(trees: &BTreeMap<u32, Tree>, next_keyspace_id: u32) -> VersionEdit {
    let mut edit = VersionEdit {
        next_keyspace_id: Some(next_keyspace_id),
        ..VersionEdit::default()
    };
    for (&id, tree) in trees {
        if id != crate::batch::DEFAULT_KEYSPACE {
            edit.created.push((id, tree.name.clone(), tree.opts));
        }
        for (level, f) in tree.version.files() {
            edit.added.push((id, level, f.meta.clone()));
        }
    }
    edit
}

/// The manifest writer, the keyspaces and their versions, and compaction bookkeeping.
pub(crate) struct VersionSet {
    pub(crate) manifest: LogWriter,
    /// Live keyspaces by id.
    pub(crate) trees: BTreeMap<u32, Tree>,
    /// The id the next keyspace created gets (ids are never reused).
    pub(crate) next_keyspace_id: u32,
    /// Every write at or below this sequence number is in a table file.
    pub(crate) flushed_seq: u64,
    /// Files that a running compaction reads.
    pub(crate) compacting: HashSet<u64>,
}

impl VersionSet {
    /// Each live keyspace's current version.
    pub(crate) fn versions(&self) -> BTreeMap<u32, Arc<Version>> {
        self.trees
            .iter()
            .map(|(&id, t)| (id, t.version.clone()))
            .collect()
    }

    /// The manifest records that describe every live keyspace and file.
    pub(crate) fn snapshot_edit(&self) -> VersionEdit {
        snapshot_edit(&self.trees, self.next_keyspace_id)
    }

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
    /// The last sequence number assigned to a write (in the WAL and a memtable, perhaps not
    /// yet visible).
    pub(crate) ordered_seq: AtomicU64,
    pub(crate) next_file: AtomicU64,
    pub(crate) queue: Mutex<VecDeque<Arc<write::Pending>>>,
    /// The order number the next group taken from `queue` gets (taken under `queue`'s lock).
    pub(crate) next_group: AtomicU64,
    /// The order number of the group whose turn it is to take sequence numbers under the
    /// WAL lock. **Invariant:** groups take sequence numbers in the order they left the
    /// queue, so sequence order is queue order — which is the order of transactions'
    /// conflict checks (a later leader reaching the WAL lock first would otherwise commit a
    /// transaction checked after another under an older sequence number, and a write it
    /// must follow would overwrite it).
    pub(crate) wal_turn: AtomicU64,
    /// Signalled when `wal_turn` advances.
    pub(crate) wal_turn_cv: Condvar,
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
    pub(crate) wal_sync: Mutex<wal_sync::WalSync>,
    /// Signalled when a WAL fsync ends: `[n % 2]` when fsync number `n` does.
    pub(crate) wal_sync_cvs: [Condvar; 2],
    /// Wakes the sync thread: an fsync was handed to it, or the database is closing.
    pub(crate) wal_sync_thread_cv: Condvar,
    /// Live snapshots (transactions hold one): sequence number → how many.
    pub(crate) snapshots: Mutex<BTreeMap<u64, usize>>,
    /// Recent commits' write sets, for transactions' conflict checks.
    pub(crate) oracle: Mutex<txn::Oracle>,
    /// `"default"`, shared by the default keyspace's handles.
    pub(crate) default_name: Arc<str>,
    /// Tasks to wake when the next commit becomes visible (async subscribers).
    pub(crate) commit_wakers: Mutex<Vec<std::task::Waker>>,
    /// Whether `commit_wakers` may be non-empty (keeps the commit path free of the lock).
    pub(crate) has_commit_wakers: std::sync::atomic::AtomicBool,
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
            abandoned: Default::default(),
        };
        handle.threads.lock().push(flush::spawn(inner.clone())?);
        handle.threads.lock().push(wal_sync::spawn(inner.clone())?);
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

    pub(crate) fn inner(&self) -> &Arc<Inner> {
        &self.handle.inner
    }

    /// The value of `key` in the default keyspace, or `None` if it is absent.
    pub fn get(&self, key: impl AsRef<[u8]>) -> Result<Option<Bytes>> {
        self.inner()
            .get_in(self.inner().default_keyspace(), key.as_ref(), None)
    }

    /// Sets `key` to `value` in the default keyspace (not fsynced; see [`WriteOptions`]).
    pub fn put(&self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Result<()> {
        let mut batch = WriteBatch::new();
        batch.put(key, value);
        self.write(batch, WriteOptions::default())
    }

    /// Deletes `key` from the default keyspace (not fsynced; see [`WriteOptions`]). Deleting an
    /// absent key is not an error.
    pub fn delete(&self, key: impl AsRef<[u8]>) -> Result<()> {
        let mut batch = WriteBatch::new();
        batch.delete(key);
        self.write(batch, WriteOptions::default())
    }

    /// Applies `batch` atomically, across all the keyspaces it writes. Concurrent writers are
    /// committed in groups sharing one WAL append and, if any asked for it, one fsync. Fails
    /// with [`Error::KeyspaceNotFound`] if the batch writes to a dropped keyspace.
    pub fn write(&self, batch: WriteBatch, opts: WriteOptions) -> Result<()> {
        self.inner().write(batch, opts).map(|_| ())
    }

    /// Iterates over every key of the default keyspace (forwards, or backwards with `.rev()`)
    /// at a snapshot taken now. The iterator owns what it needs: it may outlive this borrow and
    /// move to another thread.
    pub fn iter(&self) -> DbIter {
        self.range::<&[u8], _>(..)
    }

    /// Iterates over the keys in `range` of the default keyspace, at a snapshot taken now;
    /// `.rev()` walks backwards.
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
        self.inner()
            .iter_in(self.inner().default_keyspace(), range, None)
    }

    /// Iterates over the keys of the default keyspace that start with `prefix`.
    pub fn prefix(&self, prefix: impl AsRef<[u8]>) -> DbIter {
        let (lo, hi) = prefix_range(prefix.as_ref());
        self.range((lo, hi))
    }

    /// A cursor over the default keyspace at a snapshot taken now, for seeking and stepping
    /// in both directions.
    pub fn cursor(&self) -> Cursor {
        self.cursor_in::<&[u8], _>(..)
    }

    /// A cursor over `range` of the default keyspace.
    pub fn cursor_in<K: AsRef<[u8]>, R: RangeBounds<K>>(&self, range: R) -> Cursor {
        self.inner()
            .cursor_in(self.inner().default_keyspace(), range, None)
    }

    /// The keyspace named `name`, created (with the database's options) if it does not exist.
    /// The default keyspace is named `"default"`.
    pub fn keyspace(&self, name: &str) -> Result<Keyspace> {
        self.open_keyspace(name, KeyspaceOptions::default())
    }

    /// The keyspace named `name`, created with `opts` if it does not exist (an existing
    /// keyspace keeps the options it was created with). Creating one is durable when this
    /// returns.
    pub fn open_keyspace(&self, name: &str, opts: KeyspaceOptions) -> Result<Keyspace> {
        let id = self.inner().open_keyspace(name, &opts)?;
        Ok(Keyspace::new(self.clone(), id, name))
    }

    /// The existing keyspace named `name`; [`Error::KeyspaceNotFound`] if there is none.
    pub fn existing_keyspace(&self, name: &str) -> Result<Keyspace> {
        let id = self
            .inner()
            .keyspace_id(name)
            .ok_or_else(|| Error::KeyspaceNotFound { name: name.into() })?;
        Ok(Keyspace::new(self.clone(), id, name))
    }

    /// The default keyspace (the one [`Db::get`], [`Db::put`] and the like use).
    pub fn default_keyspace(&self) -> Keyspace {
        Keyspace::new(
            self.clone(),
            crate::batch::DEFAULT_KEYSPACE,
            DEFAULT_KEYSPACE_NAME,
        )
    }

    /// The names of every keyspace, the default one included, sorted.
    pub fn keyspace_names(&self) -> Vec<String> {
        let vs = self.inner().versions.lock();
        let mut names: Vec<String> = vs.trees.values().map(|t| t.name.clone()).collect();
        names.sort();
        names
    }

    /// Drops the keyspace named `name` and everything in it. Durable when this returns; its
    /// files are deleted once no iterator or snapshot still reads them (or at the next open,
    /// after a crash). Other keyspaces' files are not touched. Handles to it fail from then on
    /// with [`Error::KeyspaceNotFound`]. The default keyspace cannot be dropped.
    pub fn drop_keyspace(&self, name: &str) -> Result<()> {
        self.inner().drop_keyspace(name)
    }

    /// A consistent read-only view of every keyspace as of now, kept (with every version it
    /// needs, through flushes and compactions) for as long as the snapshot lives.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot::new(self.clone())
    }

    /// Starts a serializable transaction (see [`Transaction`]).
    pub fn transaction(&self) -> Transaction {
        Transaction::new(self.clone())
    }

    /// Writes the memtables to table files and waits until every full memtable is flushed.
    pub fn flush(&self) -> Result<()> {
        self.inner().flush()
    }

    /// Compacts the keys in `range` of the default keyspace down to the deepest level holding
    /// data, after flushing the memtables: afterwards they are stored once, without overwritten
    /// versions or deletion markers (unless a snapshot still needs them).
    /// `compact_range::<&[u8], _>(..)` compacts everything.
    pub fn compact_range<K: AsRef<[u8]>, R: RangeBounds<K>>(&self, range: R) -> Result<()> {
        self.default_keyspace().compact_range(range)
    }

    /// Writes a consistent copy of the database (every keyspace) into `dest` (which must not
    /// exist), hard-linking table files where possible. The copy holds every write
    /// acknowledged before the call and opens as a normal database; writes may go on while it
    /// is made.
    pub fn checkpoint(&self, dest: impl AsRef<Path>) -> Result<()> {
        self.inner().checkpoint(dest.as_ref())
    }

    /// The sequence number of the last write visible to readers.
    pub fn last_sequence(&self) -> u64 {
        self.inner().visible_seq.load(Ordering::Acquire)
    }

    /// Blocks until a commit with a sequence number above `after` is visible, or `timeout`
    /// passes; returns the last visible sequence number. Woken by commits, not by polling.
    pub fn wait_for_commit(&self, after: u64, timeout: std::time::Duration) -> u64 {
        let inner = self.inner();
        let deadline = std::time::Instant::now() + timeout;
        let mut p = inner.publish.lock();
        loop {
            let visible = inner.visible_seq.load(Ordering::Acquire);
            if visible > after {
                return visible;
            }
            if inner.publish_cv.wait_until(&mut p, deadline).timed_out() {
                return inner.visible_seq.load(Ordering::Acquire);
            }
        }
    }

    /// For async readers: returns `true` if a commit above `after` is already visible;
    /// otherwise registers `waker` to be woken once when the next commit becomes visible and
    /// returns `false`. The check and the registration are atomic with publication, so no
    /// commit can slip between them.
    pub fn wake_on_commit(&self, after: u64, waker: &std::task::Waker) -> bool {
        matches!(
            self.inner().register_commit_waker(after, waker),
            CommitWake::Visible
        )
    }

    /// Resolves once every write ordered so far — those made with
    /// [`WriteOptions::defer_wait`] included — is durable (if it asked for sync) and visible;
    /// fails if an fsync failed first (the database is then read-only). Writes ordered after
    /// the call are not waited for.
    pub fn durable(&self) -> Durable {
        Durable {
            db: self.clone(),
            target: self.inner().ordered_seq.load(Ordering::Acquire),
        }
    }

    /// Blocks until every write ordered so far is durable and visible: [`Db::durable`] for
    /// callers without an async runtime.
    pub fn wait_durable(&self) -> Result<()> {
        let inner = self.inner();
        let target = inner.ordered_seq.load(Ordering::Acquire);
        let mut p = inner.publish.lock();
        loop {
            if inner.visible_seq.load(Ordering::Acquire) >= target {
                return Ok(());
            }
            if p.poisoned {
                drop(p);
                return Err(inner.publication_stopped());
            }
            inner.publish_cv.wait(&mut p);
        }
    }

    /// Whether writes are being delayed or stopped right now for compaction to catch up (the
    /// slowdown or stop triggers are past): a write may then block for a while.
    pub fn writes_throttled(&self) -> bool {
        let inner = self.inner();
        let o = &inner.opts;
        let view = inner.view.read();
        view.l0_files >= o.level0_slowdown_trigger
            || view.pending_compaction_bytes >= o.soft_pending_compaction_bytes
    }

    /// The database directory.
    pub fn path(&self) -> &Path {
        &self.inner().dir
    }

    /// The block cache (for its statistics).
    pub fn block_cache(&self) -> &BlockCache {
        &self.inner().cache
    }

    /// Current figures: levels (summed over keyspaces), memtables, block cache, memory held.
    pub fn stats(&self) -> Stats {
        let inner = self.inner();
        let view = inner.view.read().clone();
        let size = |set: &MemSet| -> (u64, u64) {
            set.values().fold((0, 0), |(b, n), m| {
                (b + m.approximate_size() as u64, n + m.len() as u64)
            })
        };
        let (memtable_bytes, memtable_entries) = size(&view.mems);
        let mut stats = Stats {
            memtable_bytes,
            memtable_entries,
            immutable_memtables: view.imms.len(),
            immutable_memtable_bytes: view.imms.iter().map(|m| size(m).0).sum(),
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
            keyspaces: view.versions.len(),
            live_snapshots: inner.snapshots.lock().values().sum(),
            ..Stats::default()
        };
        stats.levels = vec![LevelStats::default(); crate::version::NUM_LEVELS];
        for version in view.versions.values() {
            for (level, files) in version.levels.iter().enumerate() {
                for f in files {
                    stats.levels[level].files += 1;
                    stats.levels[level].bytes += f.table.size();
                    stats.levels[level].entries += f.table.props().num_entries;
                    stats.table_metadata_bytes += f.table.pinned_memory() as u64;
                }
            }
        }
        stats
    }

    /// Closes the database, reporting any error from syncing the WAL. Other clones of this
    /// handle (and keyspaces, snapshots and transactions, which hold one) keep it open; the
    /// close happens when the last one goes.
    pub fn close(self) -> Result<()> {
        match Arc::try_unwrap(self.handle) {
            Ok(handle) => handle.shutdown(),
            Err(_) => Ok(()),
        }
    }
}

/// The future [`Db::durable`] returns.
#[must_use = "a future does nothing unless awaited"]
pub struct Durable {
    db: Db,
    target: u64,
}

impl std::future::Future for Durable {
    type Output = Result<()>;

    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<()>> {
        let inner = self.db.inner();
        loop {
            let visible = inner.visible_seq.load(Ordering::Acquire);
            if visible >= self.target {
                return std::task::Poll::Ready(Ok(()));
            }
            // A failed fsync stops publication for good: report it instead of waiting.
            inner.check_writable()?;
            // The failure may also come between that check and the registration: then its
            // publication has woken the wakers already, and this one would wait for good.
            match inner.register_commit_waker(visible, cx.waker()) {
                CommitWake::Visible => {}
                CommitWake::Registered { stopped: false } => return std::task::Poll::Pending,
                CommitWake::Registered { stopped: true } => {
                    return std::task::Poll::Ready(Err(inner.publication_stopped()))
                }
            }
        }
    }
}

/// What [`Inner::register_commit_waker`] did.
pub(crate) enum CommitWake {
    /// A commit above the caller's sequence number is visible: nothing was registered.
    Visible,
    /// The waker waits for the next commit; `stopped`: publication has stopped (an fsync
    /// failed), so none will come.
    Registered { stopped: bool },
}

/// The default keyspace's name.
pub(crate) const DEFAULT_KEYSPACE_NAME: &str = "default";

/// A keyspace as the read helpers take it: its id, and its name for errors.
pub(crate) type KsRef<'a> = (u32, &'a Arc<str>);

/// The key range holding exactly the keys that start with `prefix`.
pub(crate) fn prefix_range(prefix: &[u8]) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
    let hi = match prefix_successor(prefix) {
        Some(end) => Bound::Excluded(end),
        None => Bound::Unbounded,
    };
    (Bound::Included(prefix.to_vec()), hi)
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
        self.inner.stop_wal_sync();
        for t in self.threads.lock().drain(..) {
            let _ = t.join();
        }
        if self.abandoned.load(Ordering::Acquire) {
            return Ok(());
        }
        // Make unsynced writes durable on an orderly close.
        let mut wal = self.inner.wal.lock();
        if self.inner.state.lock().bg_error.is_some() {
            return Ok(());
        }
        wal.writer.sync()
    }
}

impl Db {
    /// Closes this handle without syncing the WAL (once every clone is dropped): what a
    /// power loss at a quiet moment leaves behind (with [`crate::fs::MemFs::crash`]). For
    /// crash simulation in tests and fuzz targets; not part of the supported API.
    #[doc(hidden)]
    pub fn abandon(self) {
        self.handle.abandoned.store(true, Ordering::Release);
        drop(self);
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}

/// Point lookup in keyspace `ks`'s memtables (newest first), then level 0 newest first, then
/// each level; `None` from the outer option if the keyspace is not live in `view`.
pub(crate) fn get_at(
    view: &ReadView,
    ks: u32,
    key: &[u8],
    seq: u64,
) -> Result<Option<Option<Bytes>>> {
    let found = |hit: Option<(Kind, Bytes)>| {
        hit.map(|(kind, v)| match kind {
            Kind::Put => Some(v),
            Kind::Delete => None,
        })
    };
    let Some(version) = view.versions.get(&ks) else {
        return Ok(None);
    };
    for set in std::iter::once(&view.mems).chain(&view.imms) {
        if let Some(r) = set.get(&ks).and_then(|m| found(m.get(key, seq))) {
            return Ok(Some(r));
        }
    }
    let hash = crate::sstable::key_hash(key);
    for level in 0..version.levels.len() {
        for f in version.files_for_key(level, key) {
            if let Some(r) = found(f.table.get(key, hash, seq)?) {
                return Ok(Some(r));
            }
        }
    }
    Ok(Some(None))
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

    /// The sequence numbers of the live snapshots, ascending, ending with the visible
    /// sequence number (the newest any reader without a snapshot reads at). Taken under the
    /// registry's lock, so a snapshot registered later reads at or above the last of them.
    pub(crate) fn live_snapshots(&self) -> Vec<u64> {
        let snapshots = self.snapshots.lock();
        let mut seqs: Vec<u64> = snapshots.keys().copied().collect();
        let visible = self.visible_seq.load(Ordering::Acquire);
        if seqs.last().is_none_or(|&last| last < visible) {
            seqs.push(visible);
        }
        seqs
    }

    /// Registers a snapshot at the visible sequence number and returns it.
    pub(crate) fn register_snapshot(&self) -> u64 {
        let mut snapshots = self.snapshots.lock();
        let seq = self.visible_seq.load(Ordering::Acquire);
        *snapshots.entry(seq).or_insert(0) += 1;
        seq
    }

    /// Releases a snapshot taken by [`Inner::register_snapshot`].
    pub(crate) fn release_snapshot(&self, seq: u64) {
        let mut snapshots = self.snapshots.lock();
        if let std::collections::btree_map::Entry::Occupied(mut e) = snapshots.entry(seq) {
            *e.get_mut() -= 1;
            if *e.get() == 0 {
                e.remove();
            }
        }
    }

    /// The default keyspace, as the read helpers take it.
    pub(crate) fn default_keyspace(&self) -> KsRef<'_> {
        (crate::batch::DEFAULT_KEYSPACE, &self.default_name)
    }

    /// Point read in a keyspace at `seq` (or at the latest write).
    pub(crate) fn get_in(
        &self,
        (ks, name): KsRef<'_>,
        key: &[u8],
        seq: Option<u64>,
    ) -> Result<Option<Bytes>> {
        let (view, latest) = self.read_point();
        get_at(&view, ks, key, seq.unwrap_or(latest))?.ok_or_else(|| Error::KeyspaceNotFound {
            name: name.to_string(),
        })
    }

    /// An iterator over `range` of a keyspace at `seq` (or at the latest write).
    pub(crate) fn iter_in<K: AsRef<[u8]>, R: RangeBounds<K>>(
        &self,
        (ks, name): KsRef<'_>,
        range: R,
        seq: Option<u64>,
    ) -> DbIter {
        let (view, latest) = self.read_point();
        DbIter::new(view, (ks, name.clone()), seq.unwrap_or(latest), range)
    }

    /// A cursor over `range` of a keyspace at `seq` (or at the latest write).
    pub(crate) fn cursor_in<K: AsRef<[u8]>, R: RangeBounds<K>>(
        &self,
        ks: KsRef<'_>,
        range: R,
        seq: Option<u64>,
    ) -> Cursor {
        let (view, latest) = self.read_point();
        Cursor::new(&view, ks, seq.unwrap_or(latest), range)
    }

    pub(crate) fn picker_config(&self) -> compaction::picker::PickerConfig {
        compaction::picker::PickerConfig::from_options(&self.opts)
    }

    /// Unless a commit above `after` is visible, registers `waker` to be woken once when the
    /// next commit becomes visible; atomic with publication (under its lock).
    pub(crate) fn register_commit_waker(&self, after: u64, waker: &std::task::Waker) -> CommitWake {
        let publication = self.publish.lock();
        if self.visible_seq.load(Ordering::Acquire) > after {
            return CommitWake::Visible;
        }
        let mut wakers = self.commit_wakers.lock();
        if !wakers.iter().any(|w| w.will_wake(waker)) {
            wakers.push(waker.clone());
        }
        self.has_commit_wakers.store(true, Ordering::Release);
        CommitWake::Registered {
            stopped: publication.poisoned,
        }
    }

    /// The error for a waiter on writes that will never become visible: publication stopped
    /// when an fsync failed.
    pub(crate) fn publication_stopped(&self) -> Error {
        match self.check_writable() {
            Err(e) => e,
            Ok(()) => Error::ReadOnly(
                "an earlier write failed to sync; later writes were not made durable".into(),
            ),
        }
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

    /// Publishes a new read view: active memtables `mems`, the sealed ones in `st`, the
    /// versions in `vs`. Every view change goes through here with both locks held, so views
    /// are installed in the order the state changed (never a stale version over a newer one).
    pub(crate) fn publish_view(&self, vs: &VersionSet, st: &State, mems: Arc<MemSet>) {
        let imms = st.imms.iter().rev().map(|i| i.mems.clone()).collect();
        let view = ReadView::new(mems, imms, vs.versions(), &self.picker_config());
        *self.view.write() = Arc::new(view);
    }

    /// Republishes the read view after `vs` or `st` changed, keeping the active memtables.
    pub(crate) fn republish_view(&self, vs: &VersionSet, st: &State) {
        let mems = self.view.read().mems.clone();
        self.publish_view(vs, st, mems);
    }

    /// Seals the active memtables (if they hold anything) and waits for all flushes.
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
