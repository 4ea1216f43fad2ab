//! Shared WAL fsyncs, and the sync thread that runs them back to back under load.
//!
//! One fsync covers every byte appended to the log before it started, so a group whose bytes
//! are covered skips its own. When no fsync is running, the group that needs one runs it on
//! its own thread (a lone synchronous writer pays no hand-off). When one is running, the group
//! records what it needs in [`WalSync::wanted`] and waits; the moment the running fsync ends,
//! the **sync thread** starts the next one, covering everything appended meanwhile, and keeps
//! going while writers keep asking.
//!
//! Simpler design dropped: the waiting groups raced to start the next fsync themselves. Each
//! fsync then began only after a waiting writer was woken and scheduled, 60–250 µs later on
//! two busy cores (measured with `strace -T -ttt` under `fillsync:8`), leaving the disk idle
//! for a third of the time.
//!
//! **Invariants:** `synced` only grows, and only past bytes an fsync that succeeded covered; a
//! failed fsync is sticky (`failed`): every write not covered before it fails, and no later
//! fsync of the same log is trusted (a retried fsync can report success for pages the kernel
//! already dropped).

use super::Inner;
use crate::fs::SyncHandle;
use crate::{Error, Result};
use std::sync::Arc;
use std::thread::JoinHandle;

/// What of the WAL is durable and who is making more of it durable.
#[derive(Default)]
pub(crate) struct WalSync {
    /// (log number, bytes) known to be durable.
    pub(crate) synced: (u64, u64),
    /// An fsync is running, or was handed to the sync thread; others wait for it.
    pub(crate) syncing: bool,
    /// The running fsync's owner handed the next one to the sync thread (`syncing` stays set
    /// so no writer starts one in between).
    handed_over: bool,
    /// How many fsyncs have started. Writers waiting for fsync `n` wait on
    /// `Inner::wal_sync_cvs[n % 2]`, so an fsync's end wakes only the writers it covered, not
    /// those waiting for the next one.
    started: u64,
    /// What the running fsync (number `started`) covers.
    running_covers: (u64, u64),
    /// The furthest point a waiting writer needs durable, and its log's sync handle.
    wanted: Option<((u64, u64), SyncHandle)>,
    /// The first failed fsync; every write it did not cover fails with it.
    failed: Option<Error>,
    /// Deferred groups ([`crate::WriteOptions::defer_wait`]) waiting for an fsync: ticket,
    /// the point of the log they need durable, their last sequence number. Whoever runs the
    /// fsync that covers one publishes it.
    deferred: Vec<(u64, (u64, u64), u64)>,
    /// The database is closing: the sync thread exits.
    stopping: bool,
}

impl WalSync {
    /// The state of a log that is durable up to `synced`.
    pub(crate) fn new(synced: (u64, u64)) -> WalSync {
        WalSync {
            synced,
            ..WalSync::default()
        }
    }

    /// Whether a waiting writer needs more than is durable.
    fn more_wanted(&self) -> bool {
        self.failed.is_none()
            && self
                .wanted
                .as_ref()
                .is_some_and(|(point, _)| *point > self.synced)
    }
}

/// Starts the sync thread.
pub(crate) fn spawn(inner: Arc<Inner>) -> Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("strata-wal-sync".into())
        .spawn(move || run(&inner))
        .map_err(|e| Error::io("starting the WAL sync thread", e))
}

fn run(inner: &Inner) {
    let mut st = inner.wal_sync.lock();
    loop {
        if st.stopping {
            return;
        }
        let runnable = st.more_wanted() && (!st.syncing || st.handed_over);
        if !runnable {
            inner.wal_sync_thread_cv.wait(&mut st);
            continue;
        }
        let Some(((log, end), handle)) = st.wanted.take() else {
            continue;
        };
        st.syncing = true;
        st.handed_over = false;
        let covers = inner.start_fsync(&mut st, log, end);
        drop(st);
        // Errors reach the waiting writers through `failed` and the database's error state.
        let _ = inner.run_fsync(log, covers, &handle, true);
        st = inner.wal_sync.lock();
    }
}

impl Inner {
    /// Makes log `log` durable up to at least `end` (see the module doc).
    pub(crate) fn sync_wal(&self, log: u64, end: u64, handle: &SyncHandle) -> Result<()> {
        let mut st = self.wal_sync.lock();
        let covers = loop {
            if st.synced >= (log, end) {
                return Ok(());
            }
            if let Some(e) = &st.failed {
                return Err(e.duplicate());
            }
            if !st.syncing {
                st.syncing = true;
                break self.start_fsync(&mut st, log, end);
            }
            // Covered by the running fsync, or in need of the next one (which the sync thread
            // starts the moment the running one ends).
            let awaited = if !st.handed_over && (log, end) <= st.running_covers {
                st.started
            } else {
                if st
                    .wanted
                    .as_ref()
                    .is_none_or(|(point, _)| *point < (log, end))
                {
                    st.wanted = Some(((log, end), handle.clone()));
                }
                st.started + 1
            };
            self.wal_sync_cvs[(awaited % 2) as usize].wait(&mut st);
        };
        drop(st);
        self.run_fsync(log, covers, handle, false)
    }

    /// Numbers a new fsync of log `log` and works out what it will cover: at least `end`, and
    /// everything appended to the log before it starts. The caller has set `syncing`.
    fn start_fsync(&self, st: &mut WalSync, log: u64, end: u64) -> u64 {
        let (appended_log, appended) = *self.appended.lock();
        let covers = if appended_log == log {
            appended.max(end)
        } else {
            end
        };
        st.started += 1;
        st.running_covers = (log, covers);
        covers
    }

    /// Runs the fsync numbered by [`Inner::start_fsync`], records what it covered and wakes the
    /// writers it covered. If writers asked for more meanwhile, the next fsync goes to the
    /// sync thread at once: `by_thread` (the sync thread loops without sleeping) or a
    /// hand-over.
    fn run_fsync(&self, log: u64, covers: u64, handle: &SyncHandle, by_thread: bool) -> Result<()> {
        let result = handle().map_err(|e| Error::io(format!("syncing {log:06}.log"), e));
        let mut st = self.wal_sync.lock();
        let failed = match &result {
            Ok(()) => {
                if (log, covers) > st.synced {
                    st.synced = (log, covers);
                }
                false
            }
            Err(e) => {
                if st.failed.is_none() {
                    st.failed = Some(e.duplicate());
                }
                true
            }
        };
        let mut covered = Vec::new();
        if !st.deferred.is_empty() {
            let synced = st.synced;
            let (done, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut st.deferred)
                .into_iter()
                .partition(|&(_, point, _)| failed || point <= synced);
            st.deferred = rest;
            covered = done;
        }
        let hand_over = st.more_wanted();
        if hand_over {
            st.handed_over = true;
        } else {
            st.syncing = false;
        }
        let finished = st.started;
        drop(st);
        if let Err(e) = &result {
            // Before publishing: whoever wakes on the failed groups must find the error.
            self.set_bg_error(e);
        }
        covered.sort_unstable_by_key(|&(ticket, _, _)| ticket);
        for (ticket, _, last) in covered {
            drop(self.record_finished(ticket, (!failed).then_some(last), false));
        }
        if hand_over && !by_thread {
            self.wal_sync_thread_cv.notify_one();
        }
        self.wal_sync_cvs[(finished % 2) as usize].notify_all();
        if failed || !hand_over {
            // Nobody will start the next fsync: whoever waits for it must look again.
            self.wal_sync_cvs[((finished + 1) % 2) as usize].notify_all();
        }
        result
    }

    /// Hands group `ticket` (last sequence number `last`), which needs log `point.0` durable up
    /// to `point.1`, to the fsyncs: it is published once one covers it. Starts one (on the
    /// sync thread) if none is running.
    pub(crate) fn defer_publication(
        &self,
        ticket: u64,
        last: u64,
        point: (u64, u64),
        handle: &SyncHandle,
    ) {
        let mut st = self.wal_sync.lock();
        if st.synced >= point || st.failed.is_some() {
            let ok = st.failed.is_none();
            drop(st);
            drop(self.record_finished(ticket, ok.then_some(last), false));
            return;
        }
        st.deferred.push((ticket, point, last));
        if st.wanted.as_ref().is_none_or(|(p, _)| *p < point) {
            st.wanted = Some((point, handle.clone()));
        }
        if !st.syncing {
            st.syncing = true;
            st.handed_over = true;
            drop(st);
            self.wal_sync_thread_cv.notify_one();
        }
    }

    /// Stops the sync thread (on close, when no writer is left).
    pub(crate) fn stop_wal_sync(&self) {
        self.wal_sync.lock().stopping = true;
        self.wal_sync_thread_cv.notify_all();
    }
}
