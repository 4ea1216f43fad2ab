//! The flush thread: writes sealed memtables to level-0 table files, oldest first.
//!
//! A flush is durable before it is visible: the table file is written and fsynced, the
//! directory synced, then the manifest edit (new file, new log number, last flushed sequence)
//! is appended and fsynced; only then does the read view switch from the memtable to the file
//! and the WAL files before the new log number get deleted. A crash at any point leaves either
//! the memtable's WAL or the table file (or both) to recover from.

use super::{Imm, Inner};
use crate::iter::InternalIterator;
use crate::manifest::VersionEdit;
use crate::options::Compression;
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
        let (mem, next_log) = {
            let mut st = inner.state.lock();
            loop {
                if st.shutting_down {
                    return;
                }
                if st.bg_error.is_none() {
                    if let Some(imm) = st.imms.front() {
                        break (imm.mem.clone(), imm.next_log);
                    }
                }
                inner.state_cv.wait(&mut st);
            }
        };
        if let Err(e) = inner.flush_memtable(&Imm { mem, next_log }) {
            inner.set_bg_error(&e);
        }
    }
}

impl Inner {
    pub(crate) fn table_options(&self) -> TableBuilderOptions {
        TableBuilderOptions {
            block_size: self.opts.block_size,
            restart_interval: self.opts.block_restart_interval,
            zstd_level: match self.opts.compression {
                Compression::None => None,
                Compression::Zstd { level } => Some(level),
            },
            bloom_bits_per_key: self.opts.bloom_bits_per_key,
        }
    }

    /// Writes the oldest immutable memtable to a table file and installs it.
    fn flush_memtable(&self, imm: &Imm) -> Result<()> {
        let (builder, number) = self.new_table()?;
        let live = match self.write_memtable(imm, builder, number) {
            Ok(live) => live,
            Err(e) => {
                let _ = self.fs.remove_file(&filename::table(&self.dir, number));
                return Err(e);
            }
        };
        let edit = VersionEdit {
            log_number: Some(imm.next_log),
            next_file_number: Some(self.next_file.load(Ordering::SeqCst)),
            last_sequence: Some(imm.mem.max_seq()),
            added: vec![(0, 0, live.meta.clone())],
            deleted: Vec::new(),
        };
        let size = live.meta.size;
        let mut versions = self.versions.lock();
        versions.log_edit(&edit)?;
        let version = Arc::new(versions.version.with_file(0, Arc::new(live)));
        versions.version = version.clone();
        versions.flushed_seq = imm.mem.max_seq();
        drop(versions);
        self.counters.flush_bytes.fetch_add(size, Ordering::Relaxed);
        self.counters.flushes.fetch_add(1, Ordering::Relaxed);

        let mut st = self.state.lock();
        st.imms.pop_front();
        let mem = self.view.read().mem.clone();
        self.install_view(mem, &st, version);
        st.generation += 1;
        drop(st);
        self.state_cv.notify_all();
        self.delete_obsolete_logs(imm.next_log);
        Ok(())
    }

    fn write_memtable(
        &self,
        imm: &Imm,
        mut builder: TableBuilder,
        number: u64,
    ) -> Result<LiveTable> {
        let mut it = imm.mem.iter();
        it.seek_to_first()?;
        while it.valid() {
            builder.add(it.key(), &it.value())?;
            it.next()?;
        }
        let live = self.finish_table(builder, number)?;
        self.fs
            .sync_dir(&self.dir)
            .map_err(|e| Error::io(format!("syncing directory {}", self.dir.display()), e))?;
        Ok(live)
    }

    /// Starts a new table file (flush or compaction output); returns its builder and number.
    pub(crate) fn new_table(&self) -> Result<(TableBuilder, u64)> {
        let number = self.next_file.fetch_add(1, Ordering::SeqCst);
        let path = filename::table(&self.dir, number);
        let file = self
            .fs
            .create(&path)
            .map_err(|e| Error::io(format!("creating {}", path.display()), e))?;
        Ok((TableBuilder::new(file, path, self.table_options())?, number))
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
