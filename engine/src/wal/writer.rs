//! Appends records to a log (see the format in `wal/mod.rs`).

use super::{fragment, fragment_checksum, BLOCK_SIZE, HEADER_SIZE};
use crate::fs::WritableFile;
use crate::{Error, Result};
use std::path::PathBuf;

/// Writes records to one log file. Not thread-safe by itself: the commit pipeline's leader is
/// its only user at any moment.
pub(crate) struct LogWriter {
    file: Box<dyn WritableFile>,
    path: PathBuf,
    /// Offset of the next byte within the current block.
    block_offset: usize,
    /// Reused encode buffer.
    buf: Vec<u8>,
    /// The file holds durable zeros up to here (see [`LogWriter::prepare_for_sync`]).
    zeroed_to: u64,
    /// Zero-filling failed once; this log goes on without it.
    zero_fill_failed: bool,
}

/// How far ahead of the appends a synced log is zero-filled at a time.
pub(crate) const ZERO_FILL_STEP: u64 = 1 << 20;

impl LogWriter {
    /// A writer appending to `file` (which may already hold records).
    pub(crate) fn new(file: Box<dyn WritableFile>, path: PathBuf) -> Self {
        let block_offset = (file.len() % BLOCK_SIZE as u64) as usize;
        LogWriter {
            file,
            path,
            block_offset,
            buf: Vec::new(),
            zeroed_to: 0,
            zero_fill_failed: false,
        }
    }

    /// Bytes in the log so far.
    pub(crate) fn len(&self) -> u64 {
        self.file.len()
    }

    /// A handle that syncs this log from another thread.
    pub(crate) fn sync_handle(&self) -> Result<crate::fs::SyncHandle> {
        self.file
            .sync_handle()
            .map_err(|e| Error::io(format!("opening {} for syncing", self.path.display()), e))
    }

    /// Appends several records with a single write to the file. On error the file may hold a
    /// prefix of them (possibly a torn fragment); the caller must stop using this log.
    /// With `will_sync`, the bytes are about to be fsynced: they are written into a zero-filled
    /// region (see [`LogWriter::prepare_for_sync`]).
    pub(crate) fn add_records<'a>(
        &mut self,
        records: impl IntoIterator<Item = &'a [u8]>,
        will_sync: bool,
    ) -> Result<()> {
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        for record in records {
            self.encode_record(record, &mut buf);
        }
        if will_sync {
            self.prepare_for_sync(buf.len());
        }
        let result = self
            .file
            .append(&buf)
            .map_err(|e| Error::io(format!("appending to {}", self.path.display()), e));
        if buf.capacity() <= 4 * 1024 * 1024 {
            self.buf = buf;
        }
        result
    }

    /// Before appending `incoming` bytes (framed records) that will be fsynced: makes sure they
    /// land in a durable zero-filled region, extending it by about a megabyte when needed, so
    /// the fsync writes the data alone — no size or block-map change, hence no file-system
    /// journal commit (`strata-bench` prints the disk's append + fdatasync rate both ways).
    /// Best effort: if zero-filling fails (say, the disk is nearly full) the log goes on
    /// without it. The reader treats zeros to the end of the file as the log's end.
    fn prepare_for_sync(&mut self, incoming: usize) {
        let end = self.len() + incoming as u64;
        if self.zero_fill_failed || end <= self.zeroed_to {
            return;
        }
        let target = (end / ZERO_FILL_STEP + 1) * ZERO_FILL_STEP;
        match self.file.zero_fill(target) {
            Ok(()) => self.zeroed_to = target,
            Err(_) => self.zero_fill_failed = true,
        }
    }

    /// Appends one record.
    pub(crate) fn add_record(&mut self, record: &[u8]) -> Result<()> {
        self.add_records(std::iter::once(record), false)
    }

    /// Makes everything appended so far durable.
    pub(crate) fn sync(&mut self) -> Result<()> {
        self.file
            .sync()
            .map_err(|e| Error::io(format!("syncing {}", self.path.display()), e))
    }

    fn encode_record(&mut self, mut record: &[u8], buf: &mut Vec<u8>) {
        let mut first = true;
        loop {
            let left_in_block = BLOCK_SIZE - self.block_offset;
            if left_in_block < HEADER_SIZE {
                buf.extend(std::iter::repeat_n(0u8, left_in_block));
                self.block_offset = 0;
                continue;
            }
            let avail = left_in_block - HEADER_SIZE;
            let len = record.len().min(avail);
            let last = len == record.len();
            let kind = match (first, last) {
                (true, true) => fragment::FULL,
                (true, false) => fragment::FIRST,
                (false, true) => fragment::LAST,
                (false, false) => fragment::MIDDLE,
            };
            let (payload, rest) = record.split_at(len);
            buf.extend_from_slice(&fragment_checksum(kind, payload).to_le_bytes());
            buf.extend_from_slice(&(len as u16).to_le_bytes());
            buf.push(kind);
            buf.extend_from_slice(payload);
            self.block_offset += HEADER_SIZE + len;
            record = rest;
            first = false;
            if last {
                return;
            }
        }
    }
}
