//! Serializable transactions: optimistic, with conflict checks against recent commits' write
//! sets (serializable snapshot isolation, the Badger / mini-lsm model).
//!
//! A transaction reads at a snapshot taken when it begins, buffers its writes, and records
//! what it read: keys, and whole ranges for scans (so inserts into a scanned range — phantoms
//! — are caught). At commit, under the oracle lock, it fails with [`Error::Conflict`] if a
//! commit not visible to its snapshot wrote a key it read or a key in a range it scanned;
//! otherwise its write set is recorded and its batch queued for the commit pipeline — still
//! under the oracle lock, so the order of conflict checks is the order of the commit queue,
//! which is sequence order, which is visibility order.
//!
//! Invariant (why the check is complete): a commit `C` that a transaction `T` must be checked
//! against is one whose sequence number is above `T`'s read sequence number, or not yet
//! assigned. The oracle keeps every commit record until its sequence number is at or below
//! both the oldest active transaction's read sequence and the visible sequence number, so any
//! transaction that begins later reads at or above it and sees it.

use super::{Db, DbIter, Keyspace};
use crate::options::WriteOptions;
use crate::{Error, Result, Snapshot, WriteBatch};
use bytes::Bytes;
use std::collections::{BTreeMap, HashSet, VecDeque};
use std::ops::{Bound, RangeBounds};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// A commit's sequence number while it is queued: not assigned yet.
pub(crate) const SEQ_PENDING: u64 = 0;
/// A commit that failed: it wrote nothing and conflicts with nothing.
pub(crate) const SEQ_FAILED: u64 = u64::MAX;

/// A key in a keyspace.
type KsKey = (u32, Bytes);

/// A queued or committed batch, kept for transactions' conflict checks. Every write is
/// recorded, transactional or not, so a plain write also conflicts with a transaction that
/// read what it overwrote.
struct CommitRecord {
    /// Filled in by the commit pipeline when sequence numbers are assigned (the last one of
    /// the batch); [`SEQ_PENDING`] until then, [`SEQ_FAILED`] if the commit failed.
    seq: Arc<AtomicU64>,
    /// The batch's record (shared with the commit pipeline, not copied).
    batch: Bytes,
}

/// Recent commits and active transactions (see the module docs).
///
/// Memory bound: the records a long-running transaction keeps alive are capped at
/// `limit_bytes` (the write buffer size). Past it, the oldest are dropped anyway and
/// `trimmed_through` remembers the newest dropped sequence number: a transaction that read
/// anything at a snapshot below it can no longer be checked, so its commit fails with a
/// conflict (read-only transactions and blind writes are unaffected).
#[derive(Default)]
pub(crate) struct Oracle {
    /// In commit-queue order.
    committed: VecDeque<CommitRecord>,
    /// Bytes of the batches in `committed`.
    retained_bytes: usize,
    /// The most `retained_bytes` may reach.
    limit_bytes: usize,
    /// Records at or below this sequence number were dropped while a transaction needed them.
    trimmed_through: u64,
    /// Active transactions' read sequence numbers → how many.
    active: BTreeMap<u64, usize>,
}

impl Oracle {
    /// An oracle keeping at most `limit_bytes` of commit records for long transactions.
    pub(crate) fn new(limit_bytes: usize) -> Self {
        Oracle {
            limit_bytes,
            ..Oracle::default()
        }
    }

    /// Drops records no active or future transaction can conflict with, and the oldest ones
    /// past the memory limit.
    fn prune(&mut self, visible: u64) {
        let watermark = self
            .active
            .keys()
            .next()
            .map_or(visible, |&oldest| oldest.min(visible));
        while let Some(front) = self.committed.front() {
            let seq = front.seq.load(Ordering::Acquire);
            let assigned = seq != SEQ_PENDING && seq != SEQ_FAILED;
            let unneeded = seq == SEQ_FAILED || (assigned && seq <= watermark);
            let over_limit = assigned && self.retained_bytes > self.limit_bytes;
            if !(unneeded || over_limit) {
                break;
            }
            if !unneeded {
                self.trimmed_through = self.trimmed_through.max(seq);
            }
            self.retained_bytes -= front.batch.len();
            self.committed.pop_front();
        }
    }

    /// The records a transaction reading at `read_seq` must be checked against: commits it
    /// does not see. Yields each batch with its last sequence number (or [`SEQ_PENDING`]).
    fn unseen(&self, read_seq: u64) -> impl Iterator<Item = (&Bytes, u64)> {
        self.committed.iter().filter_map(move |r| {
            let seq = r.seq.load(Ordering::Acquire);
            let seen = seq == SEQ_FAILED || (seq != SEQ_PENDING && seq <= read_seq);
            (!seen).then_some((&r.batch, seq))
        })
    }
}

impl super::Inner {
    /// Queues `batch` for commit, recorded in the oracle. `check` runs first, under the
    /// oracle lock (a transaction's conflict check): the order of checks is the order of the
    /// commit queue. Returns the queued write and the cell its sequence number will be in.
    pub(crate) fn submit_tracked(
        &self,
        batch: WriteBatch,
        opts: WriteOptions,
        check: impl FnOnce(&Oracle) -> Result<()>,
    ) -> Result<(Arc<super::write::Pending>, Arc<AtomicU64>)> {
        let cell = Arc::new(AtomicU64::new(SEQ_PENDING));
        let mut oracle = self.oracle.lock();
        oracle.prune(self.visible_seq.load(Ordering::Acquire));
        check(&oracle)?;
        let pending = self.submit(batch, opts, Some(cell.clone()))?;
        oracle.retained_bytes += pending.record.len();
        oracle.committed.push_back(CommitRecord {
            seq: cell.clone(),
            batch: pending.record.clone(),
        });
        Ok((pending, cell))
    }
}

/// A serializable transaction over any number of keyspaces.
///
/// Reads see a snapshot taken at [`Db::transaction`] plus the transaction's own writes.
/// [`Transaction::commit`] applies every write atomically, or fails with [`Error::Conflict`]
/// (writing nothing) if another commit since the snapshot changed a key this transaction read
/// or a range it scanned. Read-only transactions never conflict; writes to keys never read
/// (blind writes) do not conflict either. Dropping a transaction without committing rolls it
/// back. A transaction that stays open while more than a write buffer's worth of other
/// commits lands cannot be checked any more and fails with a conflict too (the tracking
/// memory is bounded); keep read-write transactions short.
///
/// ```
/// # let dir = tempfile::tempdir().unwrap();
/// # let db = strata_engine::Db::open(dir.path(), Default::default()).unwrap();
/// let accounts = db.keyspace("accounts")?;
/// accounts.put("alice", "10")?;
/// let mut t1 = db.transaction();
/// let mut t2 = db.transaction();
/// for t in [&mut t1, &mut t2] {
///     let balance = t.get(&accounts, "alice")?.unwrap();
///     let n: u32 = std::str::from_utf8(&balance).unwrap().parse().unwrap();
///     t.put(&accounts, "alice", (n + 1).to_string());
/// }
/// t1.commit()?;
/// assert!(t2.commit().unwrap_err().is_conflict()); // a lost update, prevented
/// assert_eq!(accounts.get("alice")?.as_deref(), Some(&b"11"[..]));
/// # Ok::<(), strata_engine::Error>(())
/// ```
pub struct Transaction {
    db: Db,
    snapshot: Snapshot,
    /// Buffered writes (`None` = delete), in key order for merged iteration.
    writes: BTreeMap<KsKey, Option<Bytes>>,
    /// Versionstamped puts, applied after `writes` in the order made.
    stamped: Vec<Stamped>,
    /// Keys read from the database.
    reads: HashSet<KsKey>,
    /// Ranges scanned.
    ranges: Vec<(u32, Bound<Bytes>, Bound<Bytes>)>,
    /// Still registered with the oracle as active.
    active: bool,
}

/// A versionstamped put waiting for commit.
struct Stamped {
    keyspace: Keyspace,
    key: Bytes,
    key_offset: Option<usize>,
    value: Bytes,
    value_offset: Option<usize>,
}

fn owned_bound(b: Bound<&impl AsRef<[u8]>>) -> Bound<Bytes> {
    match b {
        Bound::Included(k) => Bound::Included(Bytes::copy_from_slice(k.as_ref())),
        Bound::Excluded(k) => Bound::Excluded(Bytes::copy_from_slice(k.as_ref())),
        Bound::Unbounded => Bound::Unbounded,
    }
}

fn in_range(key: &[u8], lo: &Bound<Bytes>, hi: &Bound<Bytes>) -> bool {
    let above = match lo {
        Bound::Included(l) => key >= &l[..],
        Bound::Excluded(l) => key > &l[..],
        Bound::Unbounded => true,
    };
    let below = match hi {
        Bound::Included(h) => key <= &h[..],
        Bound::Excluded(h) => key < &h[..],
        Bound::Unbounded => true,
    };
    above && below
}

impl Transaction {
    pub(crate) fn new(db: Db) -> Self {
        let inner = db.inner().clone();
        // Registered with the oracle under its lock, so no record this transaction must be
        // checked against is pruned before it is counted.
        let mut oracle = inner.oracle.lock();
        let snapshot = Snapshot::new(db.clone());
        *oracle.active.entry(snapshot.sequence()).or_insert(0) += 1;
        drop(oracle);
        Transaction {
            db,
            snapshot,
            writes: BTreeMap::new(),
            stamped: Vec::new(),
            reads: HashSet::new(),
            ranges: Vec::new(),
            active: true,
        }
    }

    /// The sequence number the transaction reads at.
    pub fn read_sequence(&self) -> u64 {
        self.snapshot.sequence()
    }

    /// The value of `key` in `keyspace`: the transaction's own write if it made one, else the
    /// snapshot's. Recorded as read (a later commit changing it makes this one conflict).
    pub fn get(&mut self, keyspace: &Keyspace, key: impl AsRef<[u8]>) -> Result<Option<Bytes>> {
        let k = (keyspace.id(), Bytes::copy_from_slice(key.as_ref()));
        if let Some(own) = self.writes.get(&k) {
            return Ok(own.clone());
        }
        let value = self.snapshot.get(keyspace, &k.1)?;
        self.reads.insert(k);
        Ok(value)
    }

    /// Sets `key` to `value` in `keyspace` at commit.
    pub fn put(&mut self, keyspace: &Keyspace, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) {
        let k = (keyspace.id(), Bytes::copy_from_slice(key.as_ref()));
        self.writes
            .insert(k, Some(Bytes::copy_from_slice(value.as_ref())));
    }

    /// Deletes `key` from `keyspace` at commit.
    pub fn delete(&mut self, keyspace: &Keyspace, key: impl AsRef<[u8]>) {
        let k = (keyspace.id(), Bytes::copy_from_slice(key.as_ref()));
        self.writes.insert(k, None);
    }

    /// A put whose key and/or value embed the commit's sequence number (see
    /// [`WriteBatch::put_versionstamped`]). Its final key is unknown until commit, so the
    /// transaction's own reads do not see it.
    pub fn put_versionstamped(
        &mut self,
        keyspace: &Keyspace,
        key: impl AsRef<[u8]>,
        key_offset: Option<usize>,
        value: impl AsRef<[u8]>,
        value_offset: Option<usize>,
    ) {
        self.stamped.push(Stamped {
            keyspace: keyspace.clone(),
            key: Bytes::copy_from_slice(key.as_ref()),
            key_offset,
            value: Bytes::copy_from_slice(value.as_ref()),
            value_offset,
        });
    }

    /// Iterates over `range` of `keyspace`: the snapshot merged with the transaction's own
    /// writes as they are now. The whole range is recorded as read, so a concurrent insert
    /// into it (a phantom) makes this transaction conflict.
    pub fn range<K: AsRef<[u8]>, R: RangeBounds<K>>(
        &mut self,
        keyspace: &Keyspace,
        range: R,
    ) -> TxnIter {
        let lo = owned_bound(range.start_bound());
        let hi = owned_bound(range.end_bound());
        let ks = keyspace.id();
        let own: Vec<(Bytes, Option<Bytes>)> = self
            .writes
            .range((
                Bound::Included((ks, Bytes::new())),
                Bound::Excluded((ks.wrapping_add(1), Bytes::new())),
            ))
            .filter(|((_, k), _)| in_range(k, &lo, &hi))
            .map(|((_, k), v)| (k.clone(), v.clone()))
            .collect();
        let db = self.snapshot.range(keyspace, (lo.clone(), hi.clone()));
        self.ranges.push((ks, lo, hi));
        TxnIter {
            hi: own.len(),
            own,
            lo: 0,
            db,
            front: None,
            back: None,
            db_front_done: false,
            db_back_done: false,
            done: false,
        }
    }

    /// Iterates over all of `keyspace` (see [`Transaction::range`]).
    pub fn iter(&mut self, keyspace: &Keyspace) -> TxnIter {
        self.range::<&[u8], _>(keyspace, ..)
    }

    /// Iterates over the keys of `keyspace` starting with `prefix`.
    pub fn prefix(&mut self, keyspace: &Keyspace, prefix: impl AsRef<[u8]>) -> TxnIter {
        self.range(keyspace, super::prefix_range(prefix.as_ref()))
    }

    /// Commits with default write options (not fsynced). See [`Transaction::commit_with`].
    pub fn commit(self) -> Result<u64> {
        self.commit_with(WriteOptions::default())
    }

    /// Commits: checks for conflicts, then applies every write atomically (durably, if `opts`
    /// asks for it). Returns the commit's sequence number (the last of its writes; for a
    /// transaction that wrote nothing, its read sequence number). On [`Error::Conflict`]
    /// nothing was written and the transaction may be retried from the start.
    pub fn commit_with(mut self, opts: WriteOptions) -> Result<u64> {
        if self.writes.is_empty() && self.stamped.is_empty() {
            return Ok(self.read_sequence());
        }
        let mut batch = WriteBatch::new();
        for ((ks, key), value) in std::mem::take(&mut self.writes) {
            match &value {
                Some(v) => batch.push_raw(ks, crate::key::Kind::Put, &key, v),
                None => batch.push_raw(ks, crate::key::Kind::Delete, &key, &[]),
            }
        }
        for s in std::mem::take(&mut self.stamped) {
            batch.put_versionstamped(&s.keyspace, &s.key, s.key_offset, &s.value, s.value_offset);
        }
        let inner = self.db.inner().clone();
        let read_seq = self.read_sequence();
        let (pending, seq) = inner.submit_tracked(batch, opts, |oracle| {
            let read_anything = !self.reads.is_empty() || !self.ranges.is_empty();
            if read_anything && read_seq < oracle.trimmed_through {
                return Err(Error::Conflict(format!(
                    "the transaction ran so long that the commits it must be checked against \
                     outgrew the conflict-tracking memory ({} bytes, the write buffer size)",
                    oracle.limit_bytes
                )));
            }
            for (batch, seq) in oracle.unseen(read_seq) {
                if let Some(what) = self.conflict_with(batch, seq) {
                    return Err(Error::Conflict(what));
                }
            }
            Ok(())
        })?;
        {
            let mut oracle = inner.oracle.lock();
            self.deactivate(&mut oracle);
        }
        let result = inner.await_commit(&pending);
        if result.is_err() {
            seq.store(SEQ_FAILED, Ordering::Release);
        }
        result
    }

    /// What in another commit's batch (with its last sequence number, or [`SEQ_PENDING`])
    /// this transaction read or scanned, described for the error.
    fn conflict_with(&self, batch: &Bytes, last_seq: u64) -> Option<String> {
        let pending = last_seq == SEQ_PENDING;
        let count = crate::batch::record_count(batch);
        let first_seq = if pending {
            0
        } else {
            (last_seq + 1).saturating_sub(count)
        };
        let decoded = crate::batch::decode_at(batch, first_seq).ok()?;
        let show = |key: &[u8]| String::from_utf8_lossy(key).into_owned();
        for e in decoded.entries {
            let scanned = |key: &[u8]| {
                self.ranges
                    .iter()
                    .any(|(ks, lo, hi)| *ks == e.keyspace && in_range(key, lo, hi))
            };
            if e.key_stamped && pending {
                // Its key is not known yet: it may land in any range scanned in its keyspace.
                if self.ranges.iter().any(|(ks, _, _)| *ks == e.keyspace) {
                    return Some(
                        "a versionstamped write by a concurrent commit may fall in a range it \
                         scanned"
                            .into(),
                    );
                }
                continue;
            }
            if self.reads.contains(&(e.keyspace, e.key.clone())) {
                return Some(format!(
                    "key {:?} it read was changed by a later commit",
                    show(&e.key)
                ));
            }
            if scanned(&e.key) {
                return Some(format!(
                    "key {:?} in a range it scanned was written by a later commit",
                    show(&e.key)
                ));
            }
        }
        None
    }

    fn deactivate(&mut self, oracle: &mut Oracle) {
        if !self.active {
            return;
        }
        self.active = false;
        let seq = self.snapshot.sequence();
        if let std::collections::btree_map::Entry::Occupied(mut e) = oracle.active.entry(seq) {
            *e.get_mut() -= 1;
            if *e.get() == 0 {
                e.remove();
            }
        }
    }

    /// Abandons the transaction (what dropping it does).
    pub fn rollback(self) {}
}

impl Drop for Transaction {
    fn drop(&mut self) {
        if self.active {
            let inner = self.db.inner().clone();
            let mut oracle = inner.oracle.lock();
            self.deactivate(&mut oracle);
        }
    }
}

impl std::fmt::Debug for Transaction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transaction")
            .field("read_sequence", &self.read_sequence())
            .field("writes", &(self.writes.len() + self.stamped.len()))
            .field("reads", &self.reads.len())
            .field("ranges", &self.ranges.len())
            .finish()
    }
}

/// An iterator over a transaction's view of a range: the snapshot merged with its own writes
/// (own writes win; own deletes hide keys). Double-ended; the ends never cross. The first
/// error is returned as an item, after which it ends.
pub struct TxnIter {
    /// Own writes in the range, sorted; `[lo, hi)` not yet yielded.
    own: Vec<(Bytes, Option<Bytes>)>,
    lo: usize,
    hi: usize,
    db: DbIter,
    /// Entries taken from the front / back of `db` but not yet yielded.
    front: Option<(Bytes, Bytes)>,
    back: Option<(Bytes, Bytes)>,
    db_front_done: bool,
    db_back_done: bool,
    done: bool,
}

impl TxnIter {
    /// The next database entry from the front, if any: the front slot, refilled from the
    /// database; once that is exhausted, whatever the back end took but did not yield.
    fn fill_front(&mut self) -> Result<()> {
        if self.front.is_none() && !self.db_front_done {
            match self.db.next() {
                Some(Ok(e)) => self.front = Some(e),
                Some(Err(e)) => return Err(e),
                None => self.db_front_done = true,
            }
        }
        if self.front.is_none() && self.db_front_done {
            self.front = self.back.take();
        }
        Ok(())
    }

    fn fill_back(&mut self) -> Result<()> {
        if self.back.is_none() && !self.db_back_done {
            match self.db.next_back() {
                Some(Ok(e)) => self.back = Some(e),
                Some(Err(e)) => return Err(e),
                None => self.db_back_done = true,
            }
        }
        if self.back.is_none() && self.db_back_done {
            self.back = self.front.take();
        }
        Ok(())
    }

    fn step(&mut self, from_back: bool) -> Option<Result<(Bytes, Bytes)>> {
        while !self.done {
            let filled = if from_back {
                self.fill_back()
            } else {
                self.fill_front()
            };
            if let Err(e) = filled {
                self.done = true;
                return Some(Err(e));
            }
            let slot = if from_back {
                &mut self.back
            } else {
                &mut self.front
            };
            let own = if self.lo < self.hi {
                Some(if from_back {
                    &self.own[self.hi - 1]
                } else {
                    &self.own[self.lo]
                })
            } else {
                None
            };
            let take_own = match (slot.as_ref(), own) {
                (None, None) => {
                    self.done = true;
                    return None;
                }
                (Some(_), None) => false,
                (None, Some(_)) => true,
                (Some((dk, _)), Some((ok, _))) => {
                    let order = ok.cmp(dk);
                    if order == std::cmp::Ordering::Equal {
                        *slot = None; // shadowed by the own write
                        true
                    } else {
                        (order == std::cmp::Ordering::Less) != from_back
                    }
                }
            };
            if !take_own {
                return slot.take().map(Ok);
            }
            let (key, value) = if from_back {
                self.hi -= 1;
                self.own[self.hi].clone()
            } else {
                self.lo += 1;
                self.own[self.lo - 1].clone()
            };
            if let Some(v) = value {
                return Some(Ok((key, v)));
            }
        }
        None
    }
}

impl Iterator for TxnIter {
    type Item = Result<(Bytes, Bytes)>;

    fn next(&mut self) -> Option<Self::Item> {
        self.step(false)
    }
}

impl DoubleEndedIterator for TxnIter {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.step(true)
    }
}

impl std::iter::FusedIterator for TxnIter {}
