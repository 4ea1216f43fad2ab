//! Reads records back from a log (see the format in `wal/mod.rs`), telling torn tails from
//! corruption.

use super::{fragment, fragment_checksum, BLOCK_SIZE, HEADER_SIZE};
use crate::coding::u32_at;
use crate::fs::RandomAccessFile;
use crate::{Error, Result};
use bytes::{Bytes, BytesMut};
use std::path::PathBuf;
use std::sync::Arc;

/// Which damage a reader treats as the end of the log rather than an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DamagePolicy {
    /// Damage with nothing valid after it is a torn tail (the WAL: an unsynced tail may hold
    /// anything after power loss).
    TornTail,
    /// Only a record cut off by the end of the file, or a zero-filled tail, is a torn tail; a
    /// complete record with a bad checksum is corruption even at the end (the manifest: every
    /// edit is synced before anything relies on it, so a damaged last edit may be one that
    /// mattered).
    TruncationOnly,
    /// Any damage ends the log (point-in-time recovery).
    StopAtDamage,
}

/// Reads the records of one log file in order.
pub(crate) struct LogReader {
    file: Arc<dyn RandomAccessFile>,
    path: PathBuf,
    file_len: u64,
    /// The current block's bytes.
    block: Vec<u8>,
    /// File offset of `block[0]`.
    block_start: u64,
    /// Read position within `block`.
    pos: usize,
    /// What damage is tolerated.
    policy: DamagePolicy,
    /// Set when reading stopped early at damage: (offset, what was wrong).
    pub(crate) dropped_tail: Option<(u64, String)>,
    done: bool,
}

enum Fragment {
    Ok {
        kind: u8,
        payload_start: usize,
        len: usize,
    },
    /// A damaged fragment; `next` is where the following fragment would start if the damaged
    /// one's length field can be trusted; `truncation` is set when the damage is the file
    /// ending early or a zero-filled tail, rather than bytes failing their checksum.
    Bad {
        detail: String,
        next: Option<u64>,
        truncation: bool,
    },
    End,
}

fn bad(detail: impl Into<String>) -> Fragment {
    Fragment::Bad {
        detail: detail.into(),
        next: None,
        truncation: false,
    }
}

fn cut_off(detail: impl Into<String>) -> Fragment {
    Fragment::Bad {
        detail: detail.into(),
        next: None,
        truncation: true,
    }
}

impl LogReader {
    /// A reader over `file`, treating damage as `policy` says.
    pub(crate) fn new(
        file: Arc<dyn RandomAccessFile>,
        path: PathBuf,
        policy: DamagePolicy,
    ) -> Self {
        let file_len = file.len();
        LogReader {
            file,
            path,
            file_len,
            block: Vec::new(),
            block_start: 0,
            pos: 0,
            policy,
            dropped_tail: None,
            done: false,
        }
    }

    fn load_block(&mut self, start: u64) -> Result<bool> {
        if start >= self.file_len {
            return Ok(false);
        }
        let len = (self.file_len - start).min(BLOCK_SIZE as u64) as usize;
        self.block.resize(len, 0);
        self.file
            .read_exact_at(&mut self.block, start)
            .map_err(|e| Error::io(format!("reading {}", self.path.display()), e))?;
        self.block_start = start;
        self.pos = 0;
        Ok(true)
    }

    /// Parses the fragment at the current position.
    fn next_fragment(&mut self) -> Result<Fragment> {
        loop {
            if self.block.is_empty() || self.block.len() - self.pos < HEADER_SIZE {
                // Trailer padding (or the end of a short final block).
                let next = if self.block.is_empty() {
                    0
                } else {
                    self.block_start + BLOCK_SIZE as u64
                };
                if self.block.len() - self.pos > 0 && self.block.len() < BLOCK_SIZE {
                    // A partial header at the very end of the file.
                    return Ok(cut_off("truncated fragment header"));
                }
                if !self.load_block(next)? {
                    return Ok(Fragment::End);
                }
                continue;
            }
            let h = self.pos;
            let checksum = u32_at(&self.block, h).unwrap_or(0);
            let len = u16::from_le_bytes([self.block[h + 4], self.block[h + 5]]) as usize;
            let kind = self.block[h + 6];
            if kind == 0 && len == 0 && checksum == 0 {
                // Zeros to the end of the file are the log's clean end: a synced log is
                // zero-filled ahead of its appends (`LogWriter::prepare_for_sync`). Zeros
                // followed by anything else are damage.
                if self.zeros_to_end(self.block_start + h as u64)? {
                    return Ok(Fragment::End);
                }
                return Ok(cut_off("zero-filled region"));
            }
            let payload_start = h + HEADER_SIZE;
            if payload_start + len > self.block.len() {
                let detail = format!("fragment length {len} runs past the end of its block");
                // In a short (final) block this is the file ending mid-fragment.
                return Ok(if self.block.len() < BLOCK_SIZE {
                    cut_off(detail)
                } else {
                    bad(detail)
                });
            }
            let payload = &self.block[payload_start..payload_start + len];
            if fragment_checksum(kind, payload) != checksum {
                return Ok(Fragment::Bad {
                    detail: "checksum mismatch".into(),
                    next: Some(self.block_start + (payload_start + len) as u64),
                    truncation: false,
                });
            }
            if !(fragment::FULL..=fragment::LAST).contains(&kind) {
                return Ok(bad(format!("unknown fragment type {kind}")));
            }
            self.pos = payload_start + len;
            return Ok(Fragment::Ok {
                kind,
                payload_start,
                len,
            });
        }
    }

    /// Whether a valid fragment starts at `next` (the fragment after the damaged one, if its length
    /// is to be trusted) or at the start of any block after the one holding `offset`.
    fn valid_data_follows(&self, offset: u64, next: Option<u64>) -> Result<bool> {
        if let Some(next) = next {
            if next / BLOCK_SIZE as u64 == offset / BLOCK_SIZE as u64
                && (next % BLOCK_SIZE as u64) as usize + HEADER_SIZE <= BLOCK_SIZE
                && self.valid_fragment_at(next)?
            {
                return Ok(true);
            }
        }
        let mut start = (offset / BLOCK_SIZE as u64 + 1) * BLOCK_SIZE as u64;
        while start + HEADER_SIZE as u64 <= self.file_len {
            if self.valid_fragment_at(start)? {
                return Ok(true);
            }
            start += BLOCK_SIZE as u64;
        }
        Ok(false)
    }

    /// Whether every byte from `start` to the end of the file is zero.
    fn zeros_to_end(&self, start: u64) -> Result<bool> {
        let mut buf = vec![0u8; 64 * 1024];
        let mut at = start;
        while at < self.file_len {
            let n = (self.file_len - at).min(buf.len() as u64) as usize;
            self.file
                .read_exact_at(&mut buf[..n], at)
                .map_err(|e| Error::io(format!("reading {}", self.path.display()), e))?;
            if buf[..n].iter().any(|&b| b != 0) {
                return Ok(false);
            }
            at += n as u64;
        }
        Ok(true)
    }

    /// Whether a fragment with a valid checksum starts at `start`.
    fn valid_fragment_at(&self, start: u64) -> Result<bool> {
        let mut header = [0u8; HEADER_SIZE];
        let mut payload = Vec::new();
        if start + HEADER_SIZE as u64 > self.file_len {
            return Ok(false);
        }
        {
            self.file
                .read_exact_at(&mut header, start)
                .map_err(|e| Error::io(format!("reading {}", self.path.display()), e))?;
            let checksum = u32_at(&header, 0).unwrap_or(0);
            let len = u16::from_le_bytes([header[4], header[5]]) as usize;
            let kind = header[6];
            let end = start + (HEADER_SIZE + len) as u64;
            if len + HEADER_SIZE <= BLOCK_SIZE && end <= self.file_len && kind != 0 {
                payload.resize(len, 0);
                self.file
                    .read_exact_at(&mut payload, start + HEADER_SIZE as u64)
                    .map_err(|e| Error::io(format!("reading {}", self.path.display()), e))?;
                return Ok(fragment_checksum(kind, &payload) == checksum);
            }
        }
        Ok(false)
    }

    /// Handles damage at `offset`: a torn tail ends the log, anything else is corruption
    /// (unless the policy tolerates it). `truncation` says whether the damage is a cut-off or
    /// zero-filled tail rather than bytes that fail their checksum.
    fn damaged(
        &mut self,
        offset: u64,
        detail: String,
        next: Option<u64>,
        truncation: bool,
    ) -> Result<Option<(Bytes, u64)>> {
        self.done = true;
        let fatal = match self.policy {
            DamagePolicy::StopAtDamage => false,
            DamagePolicy::TornTail => self.valid_data_follows(offset, next)?,
            DamagePolicy::TruncationOnly => !truncation || self.valid_data_follows(offset, next)?,
        };
        if fatal {
            return Err(Error::corruption(
                &self.path,
                offset,
                format!("{detail} in the middle of the log (valid records follow)"),
            ));
        }
        self.dropped_tail = Some((offset, detail));
        Ok(None)
    }

    /// The next record and its file offset; `None` at the end of the log or at a torn tail (then
    /// `dropped_tail` says where and why).
    pub(crate) fn next_record(&mut self) -> Result<Option<(Bytes, u64)>> {
        if self.done {
            return Ok(None);
        }
        let mut assembled: Option<(BytesMut, u64)> = None;
        loop {
            let frag_offset = self.block_start + self.pos as u64;
            match self.next_fragment()? {
                Fragment::End => {
                    self.done = true;
                    if let Some((_, start)) = assembled {
                        self.dropped_tail =
                            Some((start, "record cut off by the end of the log".into()));
                    }
                    return Ok(None);
                }
                Fragment::Bad {
                    detail,
                    next,
                    truncation,
                } => {
                    let at = assembled.as_ref().map_or(frag_offset, |(_, s)| *s);
                    return self.damaged(at, detail, next, truncation);
                }
                Fragment::Ok {
                    kind,
                    payload_start,
                    len,
                } => {
                    let payload = &self.block[payload_start..payload_start + len];
                    match (kind, assembled.as_mut()) {
                        (fragment::FULL, None) => {
                            return Ok(Some((Bytes::copy_from_slice(payload), frag_offset)));
                        }
                        (fragment::FIRST, None) => {
                            let mut buf = BytesMut::with_capacity(len * 2);
                            buf.extend_from_slice(payload);
                            assembled = Some((buf, frag_offset));
                        }
                        (fragment::MIDDLE, Some((buf, _))) => buf.extend_from_slice(payload),
                        (fragment::LAST, Some((buf, _))) => {
                            buf.extend_from_slice(payload);
                            let (buf, start) = assembled.take().unwrap_or_default();
                            return Ok(Some((buf.freeze(), start)));
                        }
                        (k, _) => {
                            let at = assembled.as_ref().map_or(frag_offset, |(_, s)| *s);
                            let next = Some(self.block_start + self.pos as u64);
                            return self.damaged(
                                at,
                                format!("fragment type {k} out of order"),
                                next,
                                false,
                            );
                        }
                    }
                }
            }
        }
    }
}
