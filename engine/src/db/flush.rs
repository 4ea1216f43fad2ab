//! The flush thread: writes sealed memtables to level-0 table files, oldest first.
//!
//! A flush is durable before it is visible: the table file is written and fsynced, the
//! directory synced, then the manifest edit (new file, new log number, last flushed sequence)
//! is appended and fsynced; only then does the read view switch from the memtable to the file
//! and the WAL files before the new log number get deleted. A crash at any point leaves either
//! the memtable's WAL or the table file (or both) to recover from.

use super::{Imm, Inner};
use crate::iter::InternalIterator;
use crate::key;
use crate::manifest::VersionEdit;
use crate::memtable::MemTable;
use crate::options::TreeOptions;
use crate::sstable::{Table, TableBuilder, TableBuilderOptions};
use crate::version::{FileMeta, LiveTable};
use crate::{filename, Error, Result};
use bytes::Bytes;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;

/// Starts the flush thread.
pub(crate) fn spawn(inner: Arc<Inner>) -> Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("strata-flush".into())
        .spawn(move || run(&inner))
        .map_err(|e| Error::io("starting the flush thread", e))
}

fn run(inner: &Inner) {
    loop {
        let imm = {
            let mut st = inner.state.lock();
            loop {
                if st.shutting_down {
                    return;
                }
                if st.bg_error.is_none() {
                    if let Some(imm) = st.imms.front() {
                        break Imm {
                            mems: imm.mems.clone(),
                            next_log: imm.next_log,
                            last_seq: imm.last_seq,
                        };
                    }
                }
                inner.state_cv.wait(&mut st);
            }
        };
        if let Err(e) = inner.flush_memtable(&imm) {
            inner.set_bg_error(&e);
        }
    }
}

impl Inner {
    /// How table files of a keyspace with options `opts` are built.
    pub(crate) fn table_options(&self, opts: &TreeOptions) -> TableBuilderOptions {
        TableBuilderOptions {
            block_size: opts.block_size,
            restart_interval: self.opts.block_restart_interval,
            compression: opts.compression,
            bloom_bits_per_key: opts.bloom_bits_per_key,
        }
    }

    /// Writes the oldest sealed generation of memtables to level-0 table files (one per
    /// non-empty keyspace) and installs them with one manifest edit, so the generation's
    /// writes become durable in table files together, as they were committed.
    fn flush_memtable(&self, imm: &Imm) -> Result<()> {
        let mut written: Vec<(u32, LiveTable)> = Vec::new();
        let discard = |tables: &[(u32, LiveTable)]| {
            for (_, t) in tables {
                t.table.mark_obsolete(self.fs.clone());
            }
        };
        // Taken before any table is written; see `write_memtable`.
        let snapshots = self.live_snapshots();
        for (&ks, mem) in imm.mems.iter() {
            if mem.is_empty() {
                continue;
            }
            let Some(opts) = self.versions.lock().trees.get(&ks).map(|t| t.opts) else {
                continue; // dropped
            };
            let (builder, number) = self.new_table(&opts)?;
            match self.write_memtable(mem, builder, number, &snapshots) {
                Ok(live) => written.push((ks, live)),
                Err(e) => {
                    let _ = self.fs.remove_file(&filename::table(&self.dir, number));
                    discard(&written);
                    return Err(e);
                }
            }
        }
        if !written.is_empty() {
            if let Err(e) = self
                .fs
                .sync_dir(&self.dir)
                .map_err(|e| Error::io(format!("syncing directory {}", self.dir.display()), e))
            {
                discard(&written);
                return Err(e);
            }
        }
        let mut vs = self.versions.lock();
        // A keyspace dropped while its table was written: the table goes unreferenced.
        let (live, dropped): (Vec<_>, Vec<_>) = written
            .into_iter()
            .partition(|(ks, _)| vs.trees.contains_key(ks));
        discard(&dropped);
        let edit = VersionEdit {
            log_number: Some(imm.next_log),
            next_file_number: Some(self.next_file.load(Ordering::SeqCst)),
            last_sequence: Some(imm.last_seq.max(vs.flushed_seq)),
            added: live
                .iter()
                .map(|(ks, t)| (*ks, 0, t.meta.clone()))
                .collect(),
            ..VersionEdit::default()
        };
        // On failure the tables stay on disk: the edit may have reached the manifest. If it
        // did not, the next open deletes them as unreferenced.
        vs.log_edit(&edit)?;
        let bytes: u64 = live.iter().map(|(_, t)| t.meta.size).sum();
        for (ks, t) in live {
            if let Some(tree) = vs.trees.get_mut(&ks) {
                tree.version = Arc::new(tree.version.with_file(0, Arc::new(t)));
            }
        }
        vs.flushed_seq = imm.last_seq.max(vs.flushed_seq);
        self.counters
            .flush_bytes
            .fetch_add(bytes, Ordering::Relaxed);
        self.counters.flushes.fetch_add(1, Ordering::Relaxed);

        let mut st = self.state.lock();
        st.imms.pop_front();
        self.republish_view(&vs, &st);
        st.generation += 1;
        drop(st);
        drop(vs);
        self.state_cv.notify_all();
        self.delete_obsolete_logs(imm.next_log);
        Ok(())
    }

    /// Writes one memtable into a table file (fsynced; the caller syncs the directory),
    /// leaving out the versions no reader can see, by compaction's rule (see
    /// [`crate::compaction`]): a version is dropped when the next newer version of its key lies
    /// in the same *stripe* of `snapshots` (the live snapshots and the visible sequence number,
    /// taken before the flush began). Every reader sees the newer one instead: a snapshot
    /// between them would split the stripe, a reader of the memtable keeps its memtable, and
    /// a reader of the new table reads at or above the visible sequence number taken here.
    /// Tombstones are kept: older tables may hold the key.
    fn write_memtable(
        &self,
        mem: &Arc<MemTable>,
        mut builder: TableBuilder,
        number: u64,
        snapshots: &[u64],
    ) -> Result<LiveTable> {
        let stripe = |seq: u64| snapshots.partition_point(|&s| s < seq);
        let mut it = mem.iter();
        it.seek_to_first()?;
        let mut newer_key: Vec<u8> = Vec::new();
        // The stripe of the newest version of `newer_key` kept so far, if any.
        let mut newer_stripe: Option<usize> = None;
        while it.valid() {
            let ikey = it.key();
            let user_key = key::user_key(ikey);
            let here = stripe(key::seq_of(ikey));
            let shadowed = newer_stripe == Some(here) && newer_key == user_key;
            if !shadowed {
                builder.add(ikey, &it.value())?;
                if newer_key != user_key {
                    newer_key.clear();
                    newer_key.extend_from_slice(user_key);
                }
                newer_stripe = Some(here);
            }
            it.next()?;
        }
        self.finish_table(builder, number)
    }

    /// Starts a new table file (flush or compaction output); returns its builder and number.
    pub(crate) fn new_table(&self, opts: &TreeOptions) -> Result<(TableBuilder, u64)> {
        let number = self.next_file.fetch_add(1, Ordering::SeqCst);
        let path = filename::table(&self.dir, number);
        let file = self
            .fs
            .create(&path)
            .map_err(|e| Error::io(format!("creating {}", path.display()), e))?;
        Ok((
            TableBuilder::new(file, path, self.table_options(opts))?,
            number,
        ))
    }

    /// Finishes (and fsyncs) a table file and opens it for reading. The caller syncs the
    /// directory before the file is referenced by the manifest.
    pub(crate) fn finish_table(&self, builder: TableBuilder, number: u64) -> Result<LiveTable> {
        let path = filename::table(&self.dir, number);
        let summary = builder.finish()?;
        let reader = self
            .fs
            .open(&path)
            .map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
        let table = Table::open(reader, path, number, self.cache.clone())?;
        Ok(LiveTable {
            meta: FileMeta {
                number,
                size: summary.file_size,
                smallest: Bytes::from(summary.smallest),
                largest: Bytes::from(summary.largest),
                smallest_seq: summary.props.smallest_seq,
                largest_seq: summary.props.largest_seq,
            },
            table: Arc::new(table),
        })
    }

    /// Deletes write-ahead logs numbered below `log_number` (their data is in table files).
    pub(crate) fn delete_obsolete_logs(&self, log_number: u64) {
        let Ok(names) = self.fs.list_dir(&self.dir) else {
            return;
        };
        for name in names {
            if let Some(filename::FileKind::Wal(n)) = filename::parse(&name) {
                if n < log_number {
                    let _ = self.fs.remove_file(&self.dir.join(&name));
                }
            }
        }
    }
}
