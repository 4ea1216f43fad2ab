//! A durable change log kept in engine keyspaces.
//!
//! Layout, for a log named `L`:
//! - keyspace `streams/L/meta`: the configuration, the current epoch, every shard's
//!   [`ShardMeta`] (`shard/<number BE>`), and named consumers' checkpoints (`consumer/<name>`);
//! - one keyspace per epoch, `streams/L/e<epoch>`: records keyed `shard number (4 bytes BE) |
//!   sequence number (8 bytes BE)`, the payload as value.
//!
//! The sequence number in a record's key is its commit's own sequence number, written by the
//! engine at commit (a versionstamp): records are appended inside the writer's batch or
//! transaction with no lock around the transaction, and a shard's records sort in commit
//! order. A record goes to the shard of its partition key's hash, so one item's changes stay
//! in one shard, in order.
//!
//! **Epochs and rotation.** Every `rotate_interval` the current shards close and child shards
//! open (lineage through `parent`), in a new epoch keyspace. Writers hold a read lock on the
//! current epoch from choosing their shard until their commit returns; rotation takes the write
//! lock, so every record of a closing shard is committed — and at or below the sequence number
//! rotation records as the shard's end — before the shard closes.
//!
//! **Retention.** Records are trimmed by epoch: once every shard of an epoch is closed and
//! closed longer ago than the retention period, its keyspace is dropped (no per-record
//! deletes, nothing on the write path). Records live at least the retention period, at most
//! that plus one rotation interval.

use crate::error::{Result, StreamError};
use crate::shard::ShardMeta;
use parking_lot::{RwLock, RwLockReadGuard};
use std::sync::Arc;
use std::time::Duration;
use strata_engine::{Db, Keyspace, Transaction, WriteBatch, WriteOptions};

/// A log's settings, stored with it at creation.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LogOptions {
    /// Shards per epoch (1..=1024).
    pub shards: u32,
    /// How long records are kept.
    pub retention: Duration,
    /// How often shards close and are succeeded by children.
    pub rotate_interval: Duration,
    /// Also rotate once this many records were appended to the current shards (0: never).
    #[serde(default)]
    pub rotate_after_records: u64,
}

impl Default for LogOptions {
    /// 4 shards, 24 hours of retention, shards rotating every hour.
    fn default() -> Self {
        LogOptions {
            shards: 4,
            retention: Duration::from_secs(24 * 3600),
            rotate_interval: Duration::from_secs(3600),
            rotate_after_records: 0,
        }
    }
}

impl LogOptions {
    /// Sets the shard count.
    pub fn shards(mut self, n: u32) -> Self {
        self.shards = n;
        self
    }

    /// Sets the retention period.
    pub fn retention(mut self, d: Duration) -> Self {
        self.retention = d;
        self
    }

    /// Sets the rotation interval.
    pub fn rotate_interval(mut self, d: Duration) -> Self {
        self.rotate_interval = d;
        self
    }

    /// Rotates shards also after this many records (0: by time only).
    pub fn rotate_after_records(mut self, n: u64) -> Self {
        self.rotate_after_records = n;
        self
    }
}

/// The shards records are appended to now.
pub(crate) struct Current {
    /// Records appended to these shards by this process (for size-based rotation).
    pub(crate) appended: std::sync::atomic::AtomicU64,
    pub(crate) records: Keyspace,
    /// Open shard numbers, by hash slot.
    pub(crate) shards: Vec<u32>,
    pub(crate) opened_ms: u64,
}

/// A durable, sharded change log. Cheap to clone.
#[derive(Clone)]
pub struct ChangeLog {
    pub(crate) inner: Arc<LogInner>,
}

pub(crate) struct LogInner {
    pub(crate) db: Db,
    pub(crate) name: String,
    pub(crate) opts: LogOptions,
    pub(crate) meta: Keyspace,
    pub(crate) current: RwLock<Current>,
    /// Serializes rotation and trimming.
    pub(crate) maintenance: parking_lot::Mutex<()>,
    /// Whether a maintenance thread runs for this log.
    pub(crate) maintained: std::sync::atomic::AtomicBool,
    /// Tells the maintenance thread to stop (set when the log is dropped).
    pub(crate) stop: Arc<(parking_lot::Mutex<bool>, parking_lot::Condvar)>,
    /// The maintenance thread, joined when the log is dropped.
    pub(crate) worker: parking_lot::Mutex<Option<std::thread::JoinHandle<()>>>,
    /// Set once the log is sealed (read from the metadata at open, set by `seal`).
    pub(crate) sealed: std::sync::atomic::AtomicBool,
    /// The shard list and trim mark as of a metadata generation (readers reload them when
    /// it changes: every rotation, trim and seal bumps it in the same commit).
    pub(crate) shard_cache: parking_lot::Mutex<Option<ShardCache>>,
}

impl Drop for LogInner {
    /// Stops the maintenance thread and waits for it, so that nothing of the log outlives
    /// its last handle (the database can be reopened at once). When the thread itself held
    /// the last handle (a drop at the end of its own maintenance round), it just ends.
    fn drop(&mut self) {
        let (stopped, wake) = &*self.stop;
        *stopped.lock() = true;
        wake.notify_all();
        if let Some(handle) = self.worker.lock().take() {
            if handle.thread().id() != std::thread::current().id() {
                let _ = handle.join();
            }
        }
    }
}

impl std::fmt::Debug for ChangeLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChangeLog")
            .field("name", &self.inner.name)
            .field("opts", &self.inner.opts)
            .finish()
    }
}

pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn shard_key(number: u32) -> Vec<u8> {
    let mut k = b"shard/".to_vec();
    k.extend_from_slice(&number.to_be_bytes());
    k
}

fn corrupt(what: impl std::fmt::Display) -> StreamError {
    StreamError::Corrupt(what.to_string())
}

/// Something a record can be appended into: a write batch or a transaction.
pub trait Append {
    /// Adds a versionstamped put.
    fn put_stamped(&mut self, ks: &Keyspace, key: &[u8], offset: usize, value: &[u8]);
}

impl Append for WriteBatch {
    fn put_stamped(&mut self, ks: &Keyspace, key: &[u8], offset: usize, value: &[u8]) {
        self.put_versionstamped(ks, key, Some(offset), value, None);
    }
}

impl Append for Transaction {
    fn put_stamped(&mut self, ks: &Keyspace, key: &[u8], offset: usize, value: &[u8]) {
        self.put_versionstamped(ks, key, Some(offset), value, None);
    }
}

/// A writer's hold on the current shards: append records through it, and keep it until the
/// batch or transaction holding them has committed (see the module docs).
pub struct Appender<'a> {
    current: RwLockReadGuard<'a, Current>,
}

impl Appender<'_> {
    /// Appends `payload` for partition key `partition` into `target`; the record takes the
    /// commit's sequence number.
    pub fn append(&self, target: &mut impl Append, partition: &[u8], payload: &[u8]) {
        let slot =
            (xxhash_rust::xxh3::xxh3_64(partition) % self.current.shards.len() as u64) as usize;
        // The sequence-number half of the key is a placeholder the commit fills in.
        let key = crate::reader::record_key(self.current.shards[slot], 0);
        target.put_stamped(&self.current.records, &key, 4, payload);
        self.current
            .appended
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// The metadata generation, the shard list and the trim mark as of that generation.
pub(crate) type ShardCache = (u64, Arc<Vec<ShardMeta>>, u64);

/// Live logs of this process by (database directory, name): one instance per log, so every
/// writer of a log shares one epoch lock (rotation must exclude all of them).
type Registry = parking_lot::Mutex<Vec<((std::path::PathBuf, String), std::sync::Weak<LogInner>)>>;

fn registry() -> &'static Registry {
    static LOGS: std::sync::OnceLock<Registry> = std::sync::OnceLock::new();
    LOGS.get_or_init(Default::default)
}

impl ChangeLog {
    /// Opens the log named `name` in `db`, creating it with `opts` if it does not exist (an
    /// existing log keeps its stored options). Opening a log that is already open in this
    /// process returns the same log.
    pub fn open(db: &Db, name: &str, opts: LogOptions) -> Result<ChangeLog> {
        let id = (db.path().to_path_buf(), name.to_owned());
        let mut logs = registry().lock();
        logs.retain(|(_, w)| w.strong_count() > 0);
        if let Some(inner) = logs
            .iter()
            .find(|(k, _)| *k == id)
            .and_then(|(_, w)| w.upgrade())
        {
            return Ok(ChangeLog { inner });
        }
        let log = Self::open_new(db, name, opts)?;
        logs.push((id, Arc::downgrade(&log.inner)));
        Ok(log)
    }

    fn open_new(db: &Db, name: &str, opts: LogOptions) -> Result<ChangeLog> {
        if !(1..=1024).contains(&opts.shards) {
            return Err(StreamError::Validation(format!(
                "a log needs 1 to 1024 shards (got {})",
                opts.shards
            )));
        }
        let meta = db.keyspace(&format!("streams/{name}/meta"))?;
        let stored = match meta.get("config")? {
            Some(b) => serde_json::from_slice(&b).map_err(corrupt)?,
            None => {
                let mut batch = WriteBatch::new();
                batch.put_in(&meta, "config", serde_json::to_vec(&opts).map_err(corrupt)?);
                db.write(batch, WriteOptions::new().sync(true))?;
                opts
            }
        };
        let inner = LogInner {
            db: db.clone(),
            name: name.to_owned(),
            opts: stored,
            meta,
            current: RwLock::new(Current {
                appended: Default::default(),
                records: db.default_keyspace(),
                shards: Vec::new(),
                opened_ms: 0,
            }),
            maintenance: parking_lot::Mutex::new(()),
            shard_cache: parking_lot::Mutex::new(None),
            sealed: Default::default(),
            maintained: Default::default(),
            stop: Default::default(),
            worker: parking_lot::Mutex::new(None),
        };
        let log = ChangeLog {
            inner: Arc::new(inner),
        };
        log.load_or_start()?;
        Ok(log)
    }

    /// Starts a background thread that rotates and trims the log on time even when nobody
    /// writes (checking every quarter rotation interval, at least once a minute). Dropping
    /// the last handle to this log stops it and waits for it.
    pub fn spawn_maintenance(&self) -> Result<()> {
        // One thread per log, however many times this is asked for (a log is shared by every
        // handle to it in the process).
        if self
            .inner
            .maintained
            .swap(true, std::sync::atomic::Ordering::AcqRel)
        {
            return Ok(());
        }
        let weak = Arc::downgrade(&self.inner);
        let stop = self.inner.stop.clone();
        let period = (self.inner.opts.rotate_interval / 4)
            .min(Duration::from_secs(60))
            .max(Duration::from_millis(10));
        let handle = std::thread::Builder::new()
            .name(format!("strata-log-{}", self.inner.name))
            .spawn(move || loop {
                {
                    let (stopped, wake) = &*stop;
                    let mut stopped = stopped.lock();
                    if !*stopped {
                        wake.wait_for(&mut stopped, period);
                    }
                    if *stopped {
                        return;
                    }
                }
                let Some(inner) = weak.upgrade() else { return };
                // Errors (a read-only database, a closing one) are retried next period.
                let _ = ChangeLog { inner }.maintain();
            })
            .map_err(|e| {
                self.inner
                    .maintained
                    .store(false, std::sync::atomic::Ordering::Release);
                StreamError::Validation(format!("cannot start the log's maintenance thread: {e}"))
            })?;
        *self.inner.worker.lock() = Some(handle);
        Ok(())
    }

    /// The log's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The log's options.
    pub fn options(&self) -> &LogOptions {
        &self.inner.opts
    }

    /// The engine the log lives in.
    pub fn db(&self) -> &Db {
        &self.inner.db
    }

    fn epoch_keyspace(&self, epoch: u32) -> String {
        format!("streams/{}/e{epoch}", self.inner.name)
    }

    /// Restores the current epoch from the metadata, or opens the first one.
    fn load_or_start(&self) -> Result<()> {
        if self.inner.meta.get("sealed")?.is_some() {
            self.inner
                .sealed
                .store(true, std::sync::atomic::Ordering::Release);
            return Ok(());
        }
        let shards = self.all_shards()?;
        let open: Vec<&ShardMeta> = shards.iter().filter(|s| s.end_seq.is_none()).collect();
        if open.is_empty() {
            return self.rotate_now();
        }
        let epoch = open.iter().map(|s| s.epoch).max().unwrap_or(0);
        let mut numbers: Vec<u32> = open
            .iter()
            .filter(|s| s.epoch == epoch)
            .map(|s| s.number)
            .collect();
        numbers.sort_unstable();
        let records = self
            .inner
            .db
            .existing_keyspace(&self.epoch_keyspace(epoch))?;
        let opened_ms = open.iter().map(|s| s.created_ms).min().unwrap_or(0);
        *self.inner.current.write() = Current {
            appended: Default::default(),
            records,
            shards: numbers,
            opened_ms,
        };
        Ok(())
    }

    /// Every shard the log still has (open, or closed but not yet trimmed), by number.
    pub fn all_shards(&self) -> Result<Vec<ShardMeta>> {
        let mut out = Vec::new();
        for entry in self.inner.meta.prefix("shard/") {
            let (_, v) = entry?;
            out.push(serde_json::from_slice::<ShardMeta>(&v).map_err(corrupt)?);
        }
        Ok(out)
    }

    /// The metadata generation: bumped by every rotation and trim, in the same commit.
    pub(crate) fn generation(&self) -> Result<u64> {
        Ok(match self.inner.meta.get("generation")? {
            Some(v) => std::str::from_utf8(&v)
                .ok()
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| corrupt("bad generation"))?,
            None => 0,
        })
    }

    /// The shards, sorted by number, and the trim mark, from a cache checked against the
    /// generation (one point read when nothing changed).
    pub(crate) fn shards_cached(&self) -> Result<(Arc<Vec<ShardMeta>>, u64)> {
        let generation = self.generation()?;
        if let Some((g, shards, trimmed)) = &*self.inner.shard_cache.lock() {
            if *g == generation {
                return Ok((shards.clone(), *trimmed));
            }
        }
        let mut shards = self.all_shards()?;
        shards.sort_by_key(|s| s.number);
        let shards = Arc::new(shards);
        let trimmed = self.trimmed_through()?;
        *self.inner.shard_cache.lock() = Some((generation, shards.clone(), trimmed));
        Ok((shards, trimmed))
    }

    fn bump_generation(&self, batch: &mut WriteBatch) -> Result<()> {
        let next = self.generation()? + 1;
        batch.put_in(&self.inner.meta, "generation", next.to_string());
        Ok(())
    }

    /// The shard numbered `number`.
    pub fn shard(&self, number: u32) -> Result<Option<ShardMeta>> {
        match self.inner.meta.get(shard_key(number))? {
            Some(v) => Ok(Some(serde_json::from_slice(&v).map_err(corrupt)?)),
            None => Ok(None),
        }
    }

    /// Whether the current shards are due to close (by age or by records appended).
    fn rotation_due(&self) -> bool {
        let c = self.inner.current.read();
        let old = now_ms().saturating_sub(c.opened_ms)
            >= self.inner.opts.rotate_interval.as_millis() as u64;
        let max = self.inner.opts.rotate_after_records;
        let full = max > 0 && c.appended.load(std::sync::atomic::Ordering::Relaxed) >= max;
        old || full
    }

    /// Whether the log was sealed (see [`ChangeLog::seal`]). No I/O: one log instance per
    /// process sees every seal.
    pub fn is_sealed(&self) -> Result<bool> {
        Ok(self.inner.sealed.load(std::sync::atomic::Ordering::Acquire))
    }

    /// Closes every open shard for good, with no children: the log takes no more records,
    /// stays readable, and is trimmed as its retention passes (a disabled table stream).
    pub fn seal(&self) -> Result<()> {
        let _m = self.inner.maintenance.lock();
        let current = self.inner.current.write();
        let end = self.inner.db.last_sequence();
        let now = now_ms();
        let mut batch = WriteBatch::new();
        self.close_open_shards(&self.all_shards()?, end, now, &mut batch)?;
        batch.put_in(&self.inner.meta, "sealed", "1");
        self.bump_generation(&mut batch)?;
        self.inner.db.write(batch, WriteOptions::new().sync(true))?;
        self.inner
            .sealed
            .store(true, std::sync::atomic::Ordering::Release);
        drop(current);
        Ok(())
    }

    /// Holds the current shards for one commit (rotating first if they are due).
    pub fn appender(&self) -> Result<Appender<'_>> {
        if self.is_sealed()? {
            return Err(StreamError::Validation(format!(
                "the log {} is sealed: it takes no more records",
                self.inner.name
            )));
        }
        if self.rotation_due() {
            self.maintain()?;
        }
        Ok(Appender {
            current: self.inner.current.read(),
        })
    }

    /// Appends one record in its own commit (for logs used directly); returns its sequence
    /// number.
    pub fn append(&self, partition: &[u8], payload: &[u8], opts: WriteOptions) -> Result<u64> {
        let appender = self.appender()?;
        let mut t = self.inner.db.transaction();
        appender.append(&mut t, partition, payload);
        let seq = t.commit_with(opts)?;
        drop(appender);
        Ok(seq)
    }

    /// Rotates shards that are due and trims epochs past retention. Runs on the write path
    /// only when a rotation is due; call it from a timer to trim idle logs too.
    pub fn maintain(&self) -> Result<()> {
        let _m = self.inner.maintenance.lock();
        if self.is_sealed()? {
            return self.trim_locked();
        }
        if self.rotation_due() {
            self.rotate_locked()?;
        }
        self.trim_locked()
    }

    /// Closes the current shards and opens their children now.
    pub fn rotate_now(&self) -> Result<()> {
        let _m = self.inner.maintenance.lock();
        self.rotate_locked()
    }

    /// Adds to `batch` the closing, at sequence number `end`, of every open shard among
    /// `shards`; returns their numbers.
    fn close_open_shards(
        &self,
        shards: &[ShardMeta],
        end: u64,
        now: u64,
        batch: &mut WriteBatch,
    ) -> Result<Vec<u32>> {
        let mut closed = Vec::new();
        for s in shards.iter().filter(|s| s.end_seq.is_none()) {
            let meta = ShardMeta {
                end_seq: Some(end),
                closed_ms: Some(now),
                ..s.clone()
            };
            batch.put_in(
                &self.inner.meta,
                shard_key(s.number),
                serde_json::to_vec(&meta).map_err(corrupt)?,
            );
            closed.push(s.number);
        }
        Ok(closed)
    }

    fn rotate_locked(&self) -> Result<()> {
        let db = &self.inner.db;
        // Every writer holding the old shards has committed once this lock is ours.
        let mut current = self.inner.current.write();
        let end = db.last_sequence();
        let now = now_ms();
        let existing = self.all_shards()?;
        let next_number = existing.iter().map(|s| s.number + 1).max().unwrap_or(0);
        let epoch = existing.iter().map(|s| s.epoch + 1).max().unwrap_or(0);
        let records = db.keyspace(&self.epoch_keyspace(epoch))?;
        let mut batch = WriteBatch::new();
        let closed = self.close_open_shards(&existing, end, now, &mut batch)?;
        // Each new shard succeeds the shard that held its hash slot.
        let mut parents: Vec<Option<u32>> = vec![None; self.inner.opts.shards as usize];
        for number in closed {
            if let Some(slot) = current.shards.iter().position(|&n| n == number) {
                if slot < parents.len() {
                    parents[slot] = Some(number);
                }
            }
        }
        let mut numbers = Vec::with_capacity(parents.len());
        for (i, parent) in parents.into_iter().enumerate() {
            let meta = ShardMeta {
                number: next_number + i as u32,
                epoch,
                parent,
                created_ms: now,
                after_seq: end,
                end_seq: None,
                closed_ms: None,
            };
            numbers.push(meta.number);
            batch.put_in(
                &self.inner.meta,
                shard_key(meta.number),
                serde_json::to_vec(&meta).map_err(corrupt)?,
            );
        }
        self.bump_generation(&mut batch)?;
        db.write(batch, WriteOptions::new().sync(true))?;
        *current = Current {
            appended: Default::default(),
            records,
            shards: numbers,
            opened_ms: now,
        };
        Ok(())
    }

    /// Drops epochs whose shards all closed longer ago than the retention period.
    fn trim_locked(&self) -> Result<()> {
        let shards = self.all_shards()?;
        let retention = self.inner.opts.retention.as_millis() as u64;
        let now = now_ms();
        let mut epochs: Vec<u32> = shards.iter().map(|s| s.epoch).collect();
        epochs.sort_unstable();
        epochs.dedup();
        for epoch in epochs {
            let members: Vec<&ShardMeta> = shards.iter().filter(|s| s.epoch == epoch).collect();
            let expired = members.iter().all(|s| {
                s.closed_ms
                    .is_some_and(|c| now.saturating_sub(c) >= retention)
            });
            if !expired {
                continue;
            }
            let mut batch = WriteBatch::new();
            for s in &members {
                batch.delete_in(&self.inner.meta, shard_key(s.number));
            }
            let through = members.iter().filter_map(|s| s.end_seq).max().unwrap_or(0);
            if through > self.trimmed_through()? {
                batch.put_in(&self.inner.meta, "trimmed", through.to_string());
            }
            self.bump_generation(&mut batch)?;
            self.inner.db.write(batch, WriteOptions::new().sync(true))?;
            match self.inner.db.drop_keyspace(&self.epoch_keyspace(epoch)) {
                Ok(()) | Err(strata_engine::Error::KeyspaceNotFound { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// The keyspace holding `shard`'s records, if its epoch is not trimmed.
    pub(crate) fn records_of(&self, shard: &ShardMeta) -> Result<Option<Keyspace>> {
        match self
            .inner
            .db
            .existing_keyspace(&self.epoch_keyspace(shard.epoch))
        {
            Ok(ks) => Ok(Some(ks)),
            Err(strata_engine::Error::KeyspaceNotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}
