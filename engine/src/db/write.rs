//! The commit pipeline: group commit with a leader and followers.
//!
//! Invariants: WAL order = sequence order = visibility order. Writers queue up; the writer at
//! the front of the queue is the leader. It takes a group of queued writers (bounded in bytes),
//! assigns each batch consecutive sequence numbers, appends all of them to the WAL in one write,
//! fsyncs once if any writer asked for it, inserts them into the memtable, publishes the last
//! sequence number to readers, and then wakes the followers with their results. Only the leader
//! touches the WAL and the active memtable, so no two groups interleave. While a leader works,
//! new writers queue behind it and form the next group: under load, many writers share each
//! fsync.
//!
//! A failed WAL append or fsync leaves the log in an unknown state (a torn record may sit in
//! it), so it puts the database into the read-only error state: no later write can be
//! acknowledged behind damage, and reopening recovers a prefix.

use super::{Imm, Inner, WalState};
use crate::fs::join;
use crate::memtable::MemTable;
use crate::options::WriteOptions;
use crate::wal::LogWriter;
use crate::{filename, Error, Result, WriteBatch};
use parking_lot::{Condvar, Mutex};
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// A writer waiting in the commit queue.
pub(crate) struct Pending {
    batch: WriteBatch,
    sync: bool,
    cv: Condvar,
    /// Set (under the queue lock) by the leader that committed this write.
    outcome: Mutex<Option<Result<u64>>>,
}

impl Inner {
    /// Commits `batch`; returns the sequence number of its last entry.
    pub(crate) fn write(&self, batch: WriteBatch, opts: WriteOptions) -> Result<u64> {
        batch.validate()?;
        if batch.is_empty() {
            self.check_writable()?;
            return Ok(self.visible_seq.load(Ordering::Acquire));
        }
        let me = Arc::new(Pending {
            batch,
            sync: opts.sync,
            cv: Condvar::new(),
            outcome: Mutex::new(None),
        });
        let mut queue = self.queue.lock();
        queue.push_back(me.clone());
        loop {
            if let Some(result) = me.outcome.lock().take() {
                return result;
            }
            if queue.front().is_some_and(|f| Arc::ptr_eq(f, &me)) {
                break;
            }
            me.cv.wait(&mut queue);
        }
        // Leader: take a group from the front of the queue.
        let mut group = Vec::new();
        let mut bytes = 0;
        for p in queue.iter() {
            let size = p.batch.approximate_size();
            if !group.is_empty() && bytes + size > self.opts.max_write_group_bytes {
                break;
            }
            bytes += size;
            group.push(p.clone());
        }
        drop(queue);

        let result = self.commit_group(&group);

        let mut queue = self.queue.lock();
        let mut mine = None;
        for (p, r) in group.iter().zip(result) {
            let front = queue.pop_front();
            debug_assert!(front.is_some_and(|f| Arc::ptr_eq(&f, p)));
            if Arc::ptr_eq(p, &me) {
                mine = Some(r);
            } else {
                *p.outcome.lock() = Some(r);
                p.cv.notify_one();
            }
        }
        if let Some(next) = queue.front() {
            next.cv.notify_one();
        }
        mine.unwrap_or_else(|| {
            Err(Error::InvalidArgument(
                "write lost its place in the queue".into(),
            ))
        })
    }

    /// Commits a group; one result per writer.
    fn commit_group(&self, group: &[Arc<Pending>]) -> Vec<Result<u64>> {
        let all = |r: &Error| group.iter().map(|_| Err(r.duplicate())).collect();
        let mut wal = self.wal.lock();
        if let Err(e) = self
            .check_writable()
            .and_then(|()| self.make_room(&mut wal))
        {
            return all(&e);
        }
        let mut seq = wal.last_seq + 1;
        let mut encoded = Vec::new();
        let mut bounds = Vec::with_capacity(group.len());
        let mut last_seqs = Vec::with_capacity(group.len());
        for p in group {
            let start = encoded.len();
            p.batch.encode(seq, &mut encoded);
            bounds.push((start, encoded.len()));
            seq += p.batch.len() as u64;
            last_seqs.push(seq - 1);
        }
        let sync = group.iter().any(|p| p.sync);
        self.counters
            .wal_bytes
            .fetch_add(encoded.len() as u64, Ordering::Relaxed);
        let user_bytes: usize = group
            .iter()
            .flat_map(|p| &p.batch.entries)
            .map(|e| e.key.len() + e.value.len())
            .sum();
        self.counters
            .user_bytes
            .fetch_add(user_bytes as u64, Ordering::Relaxed);
        let wal_result = wal
            .writer
            .add_records(bounds.iter().map(|&(s, e)| &encoded[s..e]))
            .and_then(|()| if sync { wal.writer.sync() } else { Ok(()) });
        if let Err(e) = wal_result {
            self.set_bg_error(&e);
            return all(&e);
        }
        let mut seq = wal.last_seq + 1;
        for p in group {
            for entry in &p.batch.entries {
                wal.mem
                    .insert(&entry.key, seq, entry.kind, entry.value.clone());
                seq += 1;
            }
        }
        wal.last_seq = seq - 1;
        self.visible_seq.store(wal.last_seq, Ordering::Release);
        last_seqs.into_iter().map(Ok).collect()
    }

    /// Makes sure the active memtable has room, sealing it when full; stalls while the
    /// immutable queue is full. Throttles writes while compaction is behind: a short delay past
    /// the soft limits (level-0 files, compaction debt), a stop until compaction catches up
    /// past the hard ones.
    fn make_room(&self, wal: &mut WalState) -> Result<()> {
        self.throttle()?;
        if wal.mem.approximate_size() < self.opts.write_buffer_size {
            return Ok(());
        }
        self.rotate_memtable(wal, false)
    }

    fn throttle(&self) -> Result<()> {
        let cfg = self.picker_config();
        let debt = |v: &crate::version::Version| {
            (
                v.levels[0].len(),
                crate::compaction::picker::pending_bytes(v, &cfg),
            )
        };
        let (l0, pending) = debt(&self.view.read().version);
        if l0 >= self.opts.level0_stop_trigger || pending >= self.opts.hard_pending_compaction_bytes
        {
            let start = std::time::Instant::now();
            let mut st = self.state.lock();
            loop {
                if let Some(e) = &st.bg_error {
                    return Err(Error::ReadOnly(e.to_string()));
                }
                if st.shutting_down {
                    return Err(Error::ShuttingDown);
                }
                let (l0, pending) = debt(&self.view.read().version);
                if l0 < self.opts.level0_stop_trigger
                    && pending < self.opts.hard_pending_compaction_bytes
                {
                    break;
                }
                self.state_cv.wait(&mut st);
            }
            self.counters
                .stall_micros
                .fetch_add(start.elapsed().as_micros() as u64, Ordering::Relaxed);
        } else if l0 >= self.opts.level0_slowdown_trigger
            || pending >= self.opts.soft_pending_compaction_bytes
        {
            std::thread::sleep(std::time::Duration::from_millis(1));
            self.counters
                .slowdown_micros
                .fetch_add(1000, Ordering::Relaxed);
        }
        Ok(())
    }

    /// Seals the active memtable and starts a new one with a new WAL. With `force`, seals even
    /// a memtable that is not full (but never an empty one).
    pub(crate) fn rotate_memtable(&self, wal: &mut WalState, force: bool) -> Result<()> {
        if wal.mem.is_empty()
            || (!force && wal.mem.approximate_size() < self.opts.write_buffer_size)
        {
            return Ok(());
        }
        // Stall while too many memtables wait for their flush.
        {
            let start = std::time::Instant::now();
            let mut st = self.state.lock();
            loop {
                if let Some(e) = &st.bg_error {
                    return Err(Error::ReadOnly(e.to_string()));
                }
                if st.shutting_down {
                    return Err(Error::ShuttingDown);
                }
                if st.imms.len() < self.opts.max_immutable_memtables {
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
        }
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
        let old = std::mem::replace(&mut wal.mem, Arc::new(MemTable::new()));
        wal.writer = LogWriter::new(file, join(&self.dir, &format!("{number:06}.log")));
        wal.number = number;
        let mut st = self.state.lock();
        st.imms.push_back(Imm {
            mem: old,
            next_log: number,
        });
        let version = self.view.read().version.clone();
        self.install_view(wal.mem.clone(), &st, version);
        drop(st);
        self.state_cv.notify_all();
        Ok(())
    }
}
