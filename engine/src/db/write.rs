//! The commit pipeline: group commit with a leader and followers.
//!
//! Invariants: WAL order = sequence order = visibility order. Writers queue up; the writer at
//! the front of the queue is the leader. It takes a group of queued writers (bounded in bytes)
//! off the queue, so the next writer can lead the next group at once. Under the WAL lock it
//! assigns each batch consecutive sequence numbers, appends the whole group to the WAL in one
//! write and inserts it into the memtable; only the WAL lock's holder touches the WAL and the
//! active memtable, so no two groups interleave. Then, outside the lock, it fsyncs if any writer
//! asked for it — while the next group is already appending — and one fsync covers every group
//! appended before it started (see `wal_sync.rs`). Finally groups publish their sequence
//! numbers to readers strictly in order (tickets), so a write is visible only when every
//! earlier write is, and a synced write only once it is durable.
//!
//! A group made only of deferred synced writes (`WriteOptions::defer_wait`) returns once
//! appended: its ticket goes to the fsyncs (`wal_sync.rs`), and whoever runs the fsync that
//! covers it publishes it. Its writers await `Db::durable`.
//!
//! Simpler design dropped: holding the WAL lock across the fsync (LevelDB's). With eight
//! synchronous writers it alternated groups of one and seven, sharing fsyncs poorly.
//!
//! A failed WAL append or fsync leaves the log in an unknown state (a torn record may sit in
//! it), so it puts the database into the read-only error state: no later write can be
//! acknowledged behind damage, and reopening recovers a prefix.

use super::{Imm, Inner, WalState};
use crate::memtable::MemTable;
use crate::options::WriteOptions;
use crate::wal::LogWriter;
use crate::{batch, filename, Error, Result, WriteBatch};
use bytes::Bytes;
use parking_lot::{Condvar, Mutex};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Publishes a poisoned ticket if its group is abandoned by a panic.
/// Passes the WAL turn ([`Inner::wal_turn`]) to the next group when dropped, however the
/// group's WAL section ends (error return or panic included).
struct TurnGuard<'a> {
    inner: &'a Inner,
    order: u64,
}

impl Drop for TurnGuard<'_> {
    fn drop(&mut self) {
        self.inner.wal_turn.store(self.order + 1, Ordering::Release);
        self.inner.wal_turn_cv.notify_all();
    }
}

struct TicketGuard<'a> {
    inner: &'a Inner,
    ticket: u64,
    armed: bool,
}

impl Drop for TicketGuard<'_> {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        self.inner.finish_ticket(self.ticket, None);
        self.inner.set_bg_error(&Error::ReadOnly(
            "a write was abandoned part-way (a thread panicked while committing)".into(),
        ));
    }
}

/// A writer waiting in the commit queue.
pub(crate) struct Pending {
    /// The batch's WAL record (sequence number not yet filled in).
    pub(crate) record: Bytes,
    sync: bool,
    /// A synced write whose caller does not wait for the fsync ([`WriteOptions::defer_wait`]).
    defer: bool,
    /// Where the leader stores the batch's last sequence number as soon as it is assigned
    /// (a transaction's commit record, for other transactions' conflict checks).
    seq_cell: Option<Arc<AtomicU64>>,
    cv: Condvar,
    /// Set (under the queue lock) by the leader that committed this write.
    outcome: Mutex<Option<Result<u64>>>,
}

impl Inner {
    /// Commits `batch`; returns the sequence number of its last entry.
    pub(crate) fn write(&self, batch: WriteBatch, opts: WriteOptions) -> Result<u64> {
        if batch.is_empty() {
            batch.validate()?;
            self.check_writable()?;
            let visible = self.visible_seq.load(Ordering::Acquire);
            if opts.sync {
                // A synced write of nothing still makes every earlier write durable (found by
                // the engine_model fuzz target: it returned at once, unsynced).
                let (log, end, handle) = {
                    let wal = self.wal.lock();
                    (wal.number, wal.writer.len(), wal.sync_handle.clone())
                };
                if let Err(e) = self.sync_wal(log, end, &handle) {
                    self.set_bg_error(&e);
                    return Err(e);
                }
            }
            return Ok(visible);
        }
        let (me, seq) = self.submit_tracked(batch, opts, |_| Ok(()))?;
        let result = self.await_commit(&me);
        if result.is_err() {
            seq.store(super::txn::SEQ_FAILED, Ordering::Release);
        }
        result
    }

    /// Validates `batch` and puts it in the commit queue; queue order is sequence order.
    /// The caller must then [`Inner::await_commit`] it.
    pub(crate) fn submit(
        &self,
        batch: WriteBatch,
        opts: WriteOptions,
        seq_cell: Option<Arc<AtomicU64>>,
    ) -> Result<Arc<Pending>> {
        batch.validate()?;
        if !batch.keyspaces().is_empty() {
            let view = self.view.read();
            if let Some(id) = batch
                .keyspaces()
                .iter()
                .find(|id| !view.versions.contains_key(id))
            {
                return Err(Error::KeyspaceNotFound {
                    name: format!("#{id} (dropped)"),
                });
            }
        }
        let me = Arc::new(Pending {
            record: batch.into_record(),
            sync: opts.sync,
            defer: opts.sync && opts.defer_wait,
            seq_cell,
            cv: Condvar::new(),
            outcome: Mutex::new(None),
        });
        self.queue.lock().push_back(me.clone());
        Ok(me)
    }

    /// Waits for a submitted batch to commit, leading a group if it reaches the front of
    /// the queue; returns the sequence number of its last entry.
    pub(crate) fn await_commit(&self, me: &Arc<Pending>) -> Result<u64> {
        let mut queue = self.queue.lock();
        loop {
            if let Some(result) = me.outcome.lock().take() {
                return result;
            }
            if queue.front().is_some_and(|f| Arc::ptr_eq(f, me)) {
                break;
            }
            me.cv.wait(&mut queue);
        }
        // Leader: take a group from the front of the queue and hand the lead to the next
        // writer at once, so its group can be appended while this one waits for its fsync.
        let mut group = Vec::new();
        let mut bytes = 0;
        let order = self.next_group.fetch_add(1, Ordering::AcqRel);
        while let Some(p) = queue.front() {
            let size = p.record.len();
            if !group.is_empty() && bytes + size > self.opts.max_write_group_bytes {
                break;
            }
            bytes += size;
            group.extend(queue.pop_front());
        }
        if let Some(next) = queue.front() {
            next.cv.notify_one();
        }
        drop(queue);

        let results = self.commit_group(&group, order);

        let queue = self.queue.lock();
        let mut mine = None;
        for (p, r) in group.iter().zip(results) {
            if Arc::ptr_eq(p, me) {
                mine = Some(r);
            } else {
                *p.outcome.lock() = Some(r);
                p.cv.notify_one();
            }
        }
        drop(queue);
        mine.unwrap_or_else(|| {
            Err(Error::InvalidArgument(
                "write lost its place in the queue".into(),
            ))
        })
    }

    /// Commits a group; one result per writer.
    ///
    /// 1. Under the WAL lock: check for room, assign sequence numbers, append the group to the
    ///    WAL in one write, insert it into the memtable, and take a *ticket* (groups get
    ///    tickets in sequence order).
    /// 2. Without the WAL lock: if any writer asked for it, fsync the WAL — unless a concurrent
    ///    group's fsync already covered this group's bytes (fsyncs are shared).
    /// 3. In ticket order: publish the group's last sequence number to readers.
    ///
    /// A failed fsync poisons publication: that group and every later one stay invisible and
    /// fail, and the database turns read-only.
    fn commit_group(&self, group: &[Arc<Pending>], order: u64) -> Vec<Result<u64>> {
        let all = |r: &Error| group.iter().map(|_| Err(r.duplicate())).collect();
        let sync = group.iter().any(|p| p.sync);
        // Only a group of deferred writes returns before its fsync: any other writer in the
        // group expects its write durable or visible when it returns.
        let defer = group.iter().all(|p| p.defer);
        let (ticket, last_seqs, sync_target) = {
            let mut wal = self.wal.lock();
            // Groups take sequence numbers in queue order (see `Inner::wal_turn`).
            while self.wal_turn.load(Ordering::Acquire) != order {
                self.wal_turn_cv.wait(&mut wal);
            }
            // Declared after `wal`: dropped first, so the turn passes on under the lock.
            let _turn = TurnGuard { inner: self, order };
            if let Err(e) = self
                .check_writable()
                .and_then(|()| self.make_room(&mut wal))
            {
                return all(&e);
            }
            let mut seq = wal.last_seq + 1;
            let mut encoded = std::mem::take(&mut wal.scratch);
            encoded.clear();
            let mut bounds = Vec::with_capacity(group.len());
            let mut last_seqs = Vec::with_capacity(group.len());
            for p in group {
                let start = encoded.len();
                batch::encode_with_seq(&p.record, seq, &mut encoded);
                bounds.push((start, encoded.len()));
                seq += batch::record_count(&p.record);
                last_seqs.push(seq - 1);
                if let Some(cell) = &p.seq_cell {
                    cell.store(seq - 1, Ordering::Release);
                }
            }
            self.counters
                .wal_bytes
                .fetch_add(encoded.len() as u64, Ordering::Relaxed);
            let appended = wal
                .writer
                .add_records(bounds.iter().map(|&(s, e)| &encoded[s..e]), sync);
            if encoded.capacity() <= 1 << 20 {
                wal.scratch = encoded;
            }
            if let Err(e) = appended {
                // The log may now end in a torn record: nothing may be appended after it.
                self.set_bg_error(&e);
                return all(&e);
            }
            *self.appended.lock() = (wal.number, wal.writer.len());
            let mut seq = wal.last_seq + 1;
            let mut user_bytes = 0;
            for p in group {
                // Our own encoding, validated when built: decoding cannot fail.
                let count = batch::record_count(&p.record);
                if let Ok(decoded) = batch::decode_at(&p.record, seq) {
                    for (entry, entry_seq) in decoded.entries.into_iter().zip(seq..) {
                        user_bytes += entry.key.len() + entry.value.len();
                        // A keyspace dropped since the batch was checked: the write lands
                        // just before the drop, and goes with it.
                        if let Some(mem) = wal.mems.get(&entry.keyspace) {
                            mem.insert(&entry.key, entry_seq, entry.kind, &entry.value);
                        }
                    }
                }
                seq += count;
            }
            self.counters
                .user_bytes
                .fetch_add(user_bytes as u64, Ordering::Relaxed);
            wal.last_seq = seq - 1;
            self.ordered_seq.store(wal.last_seq, Ordering::Release);
            let ticket = wal.next_ticket;
            wal.next_ticket += 1;
            let target = sync.then(|| (wal.number, wal.writer.len(), wal.sync_handle.clone()));
            (ticket, last_seqs, target)
        };

        if let (true, Some((log, end, handle))) = (defer, &sync_target) {
            // Published (made visible) by whoever runs the fsync that covers it.
            let last = last_seqs.last().copied().unwrap_or(0);
            self.defer_publication(ticket, last, (*log, *end), handle);
            return last_seqs.into_iter().map(Ok).collect();
        }
        // From here on the ticket must be used, even if this thread panics, or every later
        // group would wait for it forever.
        let mut ticket_guard = TicketGuard {
            inner: self,
            ticket,
            armed: true,
        };
        let synced = match sync_target {
            Some((log, end, handle)) => self.sync_wal(log, end, &handle),
            None => Ok(()),
        };
        if let Err(e) = &synced {
            self.set_bg_error(e);
        }

        let last = last_seqs.last().copied().unwrap_or(0);
        let published = self.finish_ticket(ticket, synced.is_ok().then_some(last));
        ticket_guard.armed = false;
        match (synced, published) {
            (Err(e), _) => all(&e),
            (Ok(()), false) => all(&Error::ReadOnly(
                "an earlier write failed to sync; this write was not made durable".into(),
            )),
            (Ok(()), true) => last_seqs.into_iter().map(Ok).collect(),
        }
    }

    /// Records that group `ticket` is done (`Some(last sequence)` if it may be published) and
    /// publishes every finished group in ticket order, whoever finished it: a group whose
    /// predecessors are done is published by the thread that completes the chain, so groups
    /// covered by one fsync become visible together instead of waking each other one by one.
    /// Returns whether this group was published (false once an earlier group failed).
    fn finish_ticket(&self, ticket: u64, last_seq: Option<u64>) -> bool {
        let mut p = self.record_finished(ticket, last_seq, true);
        while p.next_ticket <= ticket {
            self.publish_cv.wait(&mut p);
        }
        p.outcomes.remove(&ticket).unwrap_or(false)
    }

    /// Records that group `ticket` is done and publishes every finished group in ticket order
    /// (see [`Inner::finish_ticket`]), without waiting for this one's turn. `awaited`: a thread
    /// will take the group's outcome (a deferred group has nobody waiting). Returns the
    /// publication lock.
    pub(crate) fn record_finished(
        &self,
        ticket: u64,
        last_seq: Option<u64>,
        awaited: bool,
    ) -> parking_lot::MutexGuard<'_, super::Publish> {
        let mut p = self.publish.lock();
        p.finished.insert(ticket, (last_seq, awaited));
        let mut advanced = false;
        loop {
            let next = p.next_ticket;
            let Some((done, awaited)) = p.finished.remove(&next) else {
                break;
            };
            match done {
                Some(last) if !p.poisoned => {
                    self.visible_seq.store(last, Ordering::Release);
                }
                _ => p.poisoned = true,
            }
            let visible = !p.poisoned;
            if awaited {
                p.outcomes.insert(next, visible);
            }
            p.next_ticket += 1;
            advanced = true;
        }
        if advanced {
            self.publish_cv.notify_all();
            if self.has_commit_wakers.load(Ordering::Acquire) {
                let wakers = std::mem::take(&mut *self.commit_wakers.lock());
                self.has_commit_wakers.store(false, Ordering::Release);
                for w in wakers {
                    w.wake();
                }
            }
        }
        p
    }

    /// Makes sure the active memtable has room, sealing it when full; stalls while the
    /// immutable queue is full. Throttles writes while compaction is behind: a short delay past
    /// the soft limits (level-0 files, compaction debt), a stop until compaction catches up
    /// past the hard ones.
    fn make_room(&self, wal: &mut WalState) -> Result<()> {
        self.throttle()?;
        self.rotate_memtable(wal, false)
    }

    fn throttle(&self) -> Result<()> {
        let past = |files: usize, bytes: u64| {
            let view = self.view.read();
            view.l0_files >= files || view.pending_compaction_bytes >= bytes
        };
        let o = &self.opts;
        if past(o.level0_stop_trigger, o.hard_pending_compaction_bytes) {
            self.stall_until(|_| !past(o.level0_stop_trigger, o.hard_pending_compaction_bytes))?;
        } else if past(o.level0_slowdown_trigger, o.soft_pending_compaction_bytes) {
            std::thread::sleep(std::time::Duration::from_millis(1));
            self.counters
                .slowdown_micros
                .fetch_add(1000, Ordering::Relaxed);
        }
        Ok(())
    }

    /// Stops the writer until `ready` holds (re-checked whenever the state changes), the
    /// database fails, or it closes; counts the time as stall time.
    fn stall_until(&self, ready: impl Fn(&super::State) -> bool) -> Result<()> {
        let start = std::time::Instant::now();
        let mut st = self.state.lock();
        loop {
            if let Some(e) = &st.bg_error {
                return Err(Error::ReadOnly(e.to_string()));
            }
            if st.shutting_down {
                return Err(Error::ShuttingDown);
            }
            if ready(&st) {
                break;
            }
            self.state_cv.wait(&mut st);
        }
        let waited = start.elapsed().as_micros() as u64;
        if waited > 10 {
            self.counters
                .stall_micros
                .fetch_add(waited, Ordering::Relaxed);
        }
        Ok(())
    }

    /// Seals the active memtables and starts new ones with a new WAL. With `force`, seals
    /// even memtables that are not full (but never empty ones). The write buffer size bounds
    /// all keyspaces' memtables together.
    pub(crate) fn rotate_memtable(&self, wal: &mut WalState, force: bool) -> Result<()> {
        let size: usize = wal.mems.values().map(|m| m.approximate_size()).sum();
        if wal.mems.values().all(|m| m.is_empty()) || (!force && size < self.opts.write_buffer_size)
        {
            return Ok(());
        }
        // Stall while too many memtables wait for their flush.
        self.stall_until(|st| st.imms.len() < self.opts.max_immutable_memtables)?;
        let number = self.next_file.fetch_add(1, Ordering::SeqCst);
        let path = filename::wal(&self.dir, number);
        let file = self
            .fs
            .create(&path)
            .map_err(|e| Error::io(format!("creating {}", path.display()), e))?;
        self.fs
            .sync_dir(&self.dir)
            .map_err(|e| Error::io(format!("syncing directory {}", self.dir.display()), e))?;
        // The old log must be durable before anything lands in the new one, or a power loss
        // could keep later writes and lose earlier ones.
        if let Err(e) = wal.writer.sync() {
            self.set_bg_error(&e);
            return Err(e);
        }
        let fresh: super::MemSet = wal
            .mems
            .keys()
            .map(|&id| (id, Arc::new(MemTable::new())))
            .collect();
        let old = std::mem::replace(&mut wal.mems, Arc::new(fresh));
        let writer = LogWriter::new(file, path);
        wal.sync_handle = writer.sync_handle()?;
        wal.writer = writer;
        wal.number = number;
        let vs = self.versions.lock();
        let mut st = self.state.lock();
        st.imms.push_back(Imm {
            mems: old,
            next_log: number,
            last_seq: wal.last_seq,
        });
        self.publish_view(&vs, &st, wal.mems.clone());
        drop(st);
        drop(vs);
        self.state_cv.notify_all();
        Ok(())
    }
}
