//! Blocks: sorted key/value entries with prefix-compressed keys and restart points.
//!
//! ```text
//! +---------+---------+-----+---------+----------------------+--------------------+
//! | entry 0 | entry 1 | ... | entry n | restarts: u32LE x r  | r: u32LE           |
//! +---------+---------+-----+---------+----------------------+--------------------+
//! entry := shared varint | unshared varint | value_len varint | key[shared..] | value
//! ```
//!
//! `shared` is the length of the prefix this key has in common with the previous key. Every
//! `restart_interval` entries the key is written whole (`shared == 0`) and the entry's offset is
//! recorded as a restart point, so a seek binary-searches the restart points and then scans at
//! most one interval, and a backward step rescans from the restart point before the entry. A
//! block always has at least one restart point (offset 0).

use crate::coding::{get_len, put_varint, take, u32_at};
use crate::iter::InternalIterator;
use crate::key;
use crate::{Error, Result};
use bytes::Bytes;
use std::cmp::Ordering;
use std::path::PathBuf;
use std::sync::Arc;

/// Builds one block. Keys must be added in strictly increasing internal-key order.
pub(crate) struct BlockBuilder {
    buf: Vec<u8>,
    restarts: Vec<u32>,
    restart_interval: usize,
    /// Entries since the last restart point.
    counter: usize,
    last_key: Vec<u8>,
    entries: usize,
}

impl BlockBuilder {
    pub(crate) fn new(restart_interval: usize) -> Self {
        BlockBuilder {
            buf: Vec::new(),
            restarts: vec![0],
            restart_interval: restart_interval.max(1),
            counter: 0,
            last_key: Vec::new(),
            entries: 0,
        }
    }

    /// Adds an entry; `key` must sort after every key added so far.
    pub(crate) fn add(&mut self, key: &[u8], value: &[u8]) {
        debug_assert!(
            self.entries == 0 || key::compare(&self.last_key, key) == Ordering::Less,
            "keys must be added in increasing order"
        );
        let shared = if self.counter < self.restart_interval {
            self.last_key
                .iter()
                .zip(key)
                .take_while(|(a, b)| a == b)
                .count()
        } else {
            self.restarts.push(self.buf.len() as u32);
            self.counter = 0;
            0
        };
        put_varint(&mut self.buf, shared as u64);
        put_varint(&mut self.buf, (key.len() - shared) as u64);
        put_varint(&mut self.buf, value.len() as u64);
        self.buf.extend_from_slice(&key[shared..]);
        self.buf.extend_from_slice(value);
        self.last_key.clear();
        self.last_key.extend_from_slice(key);
        self.counter += 1;
        self.entries += 1;
    }

    /// Size of the block if finished now.
    pub(crate) fn estimated_size(&self) -> usize {
        self.buf.len() + 4 * self.restarts.len() + 4
    }

    /// Whether no entry was added.
    pub(crate) fn is_empty(&self) -> bool {
        self.entries == 0
    }

    /// The last key added.
    pub(crate) fn last_key(&self) -> &[u8] {
        &self.last_key
    }

    /// Returns the finished block and resets the builder for the next one.
    pub(crate) fn finish(&mut self) -> Vec<u8> {
        let mut out = std::mem::take(&mut self.buf);
        for r in &self.restarts {
            out.extend_from_slice(&r.to_le_bytes());
        }
        out.extend_from_slice(&(self.restarts.len() as u32).to_le_bytes());
        self.restarts = vec![0];
        self.counter = 0;
        self.last_key.clear();
        self.entries = 0;
        out
    }
}

/// A decoded, verified block, shared between the block cache and iterators.
pub(crate) struct Block {
    data: Bytes,
    /// Offset of the restart array.
    restarts_at: usize,
    num_restarts: usize,
    /// For error messages: the file and the block's offset in it.
    file: Arc<PathBuf>,
    offset: u64,
}

impl Block {
    /// Parses a block's restart array; `file`/`offset` locate it for errors.
    pub(crate) fn new(data: Bytes, file: Arc<PathBuf>, offset: u64) -> Result<Block> {
        let bad = |d: &str| Error::corruption(file.as_path(), offset, format!("bad block: {d}"));
        if data.len() < 4 {
            return Err(bad("shorter than its restart count"));
        }
        let num_restarts = u32_at(&data, data.len() - 4).unwrap_or(0) as usize;
        let max = (data.len() - 4) / 4;
        if num_restarts == 0 || num_restarts > max {
            return Err(bad(&format!("restart count {num_restarts} does not fit")));
        }
        let restarts_at = data.len() - 4 - 4 * num_restarts;
        Ok(Block {
            data,
            restarts_at,
            num_restarts,
            file,
            offset,
        })
    }

    /// The block's offset in its file.
    pub(crate) fn offset(&self) -> u64 {
        self.offset
    }

    /// Bytes of memory held.
    pub(crate) fn size(&self) -> usize {
        self.data.len()
    }

    fn restart(&self, i: usize) -> usize {
        u32_at(&self.data, self.restarts_at + 4 * i).unwrap_or(u32::MAX) as usize
    }

    fn corruption(&self, at: usize, detail: &str) -> Error {
        Error::corruption(
            self.file.as_path(),
            self.offset,
            format!("bad block entry at block offset {at}: {detail}"),
        )
    }
}

/// An entry decoded on the way to a previous entry, kept so the next backward steps don't
/// decode the restart interval again.
struct CachedEntry {
    current: usize,
    next: usize,
    key: (usize, usize),
    value: (usize, usize),
}

/// A cursor over one block.
///
/// Moving backward decodes the restart interval before the current entry once and caches its
/// entries, so a reverse scan costs about as much as a forward one (as RocksDB's block iterator
/// does).
pub(crate) struct BlockIter {
    block: Arc<Block>,
    /// Offset of the current entry (== `restarts_at` when past the end).
    current: usize,
    /// Offset of the entry after the current one.
    next: usize,
    /// Index of the restart interval holding `current`.
    restart_index: usize,
    key: Vec<u8>,
    value: (usize, usize),
    valid: bool,
    /// Entries of the current restart interval before the current one (backward steps).
    prev_cache: Vec<CachedEntry>,
    /// Their keys, concatenated.
    prev_keys: Vec<u8>,
}

impl BlockIter {
    pub(crate) fn new(block: Arc<Block>) -> Self {
        BlockIter {
            current: block.restarts_at,
            next: block.restarts_at,
            restart_index: 0,
            key: Vec::new(),
            value: (0, 0),
            valid: false,
            prev_cache: Vec::new(),
            prev_keys: Vec::new(),
            block,
        }
    }

    /// Decodes the entry at `self.next`, making it current.
    fn parse_next(&mut self) -> Result<bool> {
        self.current = self.next;
        if self.current >= self.block.restarts_at {
            self.valid = false;
            return Ok(false);
        }
        let data = &self.block.data[self.current..self.block.restarts_at];
        let mut src = data;
        let parsed = (|| {
            let shared = get_len(&mut src)?;
            let unshared = get_len(&mut src)?;
            let vlen = get_len(&mut src)?;
            let delta = take(&mut src, unshared)?;
            take(&mut src, vlen)?;
            Some((shared, delta, vlen))
        })();
        let Some((shared, delta, vlen)) = parsed else {
            self.valid = false;
            return Err(self.block.corruption(self.current, "truncated entry"));
        };
        if shared > self.key.len() {
            self.valid = false;
            return Err(self
                .block
                .corruption(self.current, "shared prefix longer than previous key"));
        }
        self.key.truncate(shared);
        self.key.extend_from_slice(delta);
        if !key::is_valid(&self.key) {
            self.valid = false;
            return Err(self
                .block
                .corruption(self.current, "malformed internal key"));
        }
        let consumed = data.len() - src.len();
        let value_start = self.current + consumed - vlen;
        self.value = (value_start, value_start + vlen);
        self.next = self.current + consumed;
        while self.restart_index + 1 < self.block.num_restarts
            && self.block.restart(self.restart_index + 1) <= self.current
        {
            self.restart_index += 1;
        }
        self.valid = true;
        Ok(true)
    }

    fn seek_to_restart(&mut self, index: usize) -> Result<()> {
        self.prev_cache.clear();
        self.prev_keys.clear();
        let offset = self.block.restart(index);
        if offset > self.block.restarts_at {
            self.valid = false;
            return Err(self.block.corruption(offset, "restart point out of range"));
        }
        self.key.clear();
        self.restart_index = index;
        self.next = offset;
        Ok(())
    }

    /// The full key stored at restart point `index`.
    fn restart_key(&self, index: usize) -> Result<&[u8]> {
        let offset = self.block.restart(index);
        let bad = || self.block.corruption(offset, "bad restart entry");
        let mut src = self
            .block
            .data
            .get(offset..self.block.restarts_at)
            .ok_or_else(bad)?;
        let shared = get_len(&mut src).ok_or_else(bad)?;
        let unshared = get_len(&mut src).ok_or_else(bad)?;
        let _vlen = get_len(&mut src).ok_or_else(bad)?;
        if shared != 0 {
            return Err(bad());
        }
        take(&mut src, unshared).ok_or_else(bad)
    }
}

impl InternalIterator for BlockIter {
    fn valid(&self) -> bool {
        self.valid
    }

    fn key(&self) -> &[u8] {
        &self.key
    }

    fn value(&self) -> Bytes {
        self.block.data.slice(self.value.0..self.value.1)
    }

    fn value_ref(&self) -> &[u8] {
        &self.block.data[self.value.0..self.value.1]
    }

    fn seek(&mut self, target: &[u8]) -> Result<()> {
        // Find the last restart point whose key is < target.
        let (mut lo, mut hi) = (0usize, self.block.num_restarts);
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            let k = self.restart_key(mid)?;
            if key::is_valid(k) && key::compare(k, target) == Ordering::Less {
                lo = mid;
            } else if key::is_valid(k) {
                hi = mid;
            } else {
                return Err(self
                    .block
                    .corruption(self.block.restart(mid), "bad restart key"));
            }
        }
        self.seek_to_restart(lo)?;
        while self.parse_next()? {
            if key::compare(&self.key, target) != Ordering::Less {
                return Ok(());
            }
        }
        Ok(())
    }

    fn seek_to_first(&mut self) -> Result<()> {
        self.seek_to_restart(0)?;
        self.parse_next()?;
        Ok(())
    }

    fn seek_to_last(&mut self) -> Result<()> {
        self.seek_to_restart(self.block.num_restarts - 1)?;
        while self.parse_next()? && self.next < self.block.restarts_at {}
        Ok(())
    }

    fn next(&mut self) -> Result<()> {
        if self.valid {
            self.prev_cache.clear();
            self.prev_keys.clear();
            self.parse_next()?;
        }
        Ok(())
    }

    fn prev(&mut self) -> Result<()> {
        if !self.valid {
            return Ok(());
        }
        if let Some(e) = self.prev_cache.pop() {
            self.current = e.current;
            self.next = e.next;
            self.key.clear();
            self.key
                .extend_from_slice(&self.prev_keys[e.key.0..e.key.1]);
            self.prev_keys.truncate(e.key.0);
            self.value = e.value;
            return Ok(());
        }
        let original = self.current;
        // Back up to a restart point before the current entry.
        while self.block.restart(self.restart_index) >= original {
            if self.restart_index == 0 {
                self.valid = false;
                self.current = self.block.restarts_at;
                self.next = self.block.restarts_at;
                return Ok(());
            }
            self.restart_index -= 1;
        }
        let index = self.restart_index;
        self.seek_to_restart(index)?;
        while self.parse_next()? && self.next < original {
            let start = self.prev_keys.len();
            self.prev_keys.extend_from_slice(&self.key);
            self.prev_cache.push(CachedEntry {
                current: self.current,
                next: self.next,
                key: (start, self.prev_keys.len()),
                value: self.value,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::{encode, Kind};

    fn build(n: usize, interval: usize) -> (Arc<Block>, Vec<Bytes>) {
        let mut b = BlockBuilder::new(interval);
        let keys: Vec<Bytes> = (0..n)
            .map(|i| encode(format!("key{:06}", i * 2).as_bytes(), 7, Kind::Put))
            .collect();
        for (i, k) in keys.iter().enumerate() {
            b.add(k, format!("v{i}").as_bytes());
        }
        let data = Bytes::from(b.finish());
        (
            Arc::new(Block::new(data, Arc::new("t".into()), 0).unwrap()),
            keys,
        )
    }

    #[test]
    fn iterates_and_seeks_both_ways() {
        for interval in [1, 3, 16] {
            let (block, keys) = build(100, interval);
            let mut it = BlockIter::new(block.clone());
            it.seek_to_first().unwrap();
            for k in &keys {
                assert_eq!(it.key(), &k[..]);
                it.next().unwrap();
            }
            assert!(!it.valid());
            it.seek_to_last().unwrap();
            for k in keys.iter().rev() {
                assert_eq!(it.key(), &k[..]);
                it.prev().unwrap();
            }
            assert!(!it.valid());
            // Seek between keys lands on the next one; seek_for_prev on the previous one.
            let between = encode(b"key000051", 7, Kind::Put);
            it.seek(&between).unwrap();
            assert_eq!(key::user_key(it.key()), b"key000052");
            assert_eq!(it.value(), "v26");
            it.seek_for_prev(&between).unwrap();
            assert_eq!(key::user_key(it.key()), b"key000050");
            it.seek(&encode(b"zzz", 1, Kind::Put)).unwrap();
            assert!(!it.valid());
        }
    }

    #[test]
    fn garbage_blocks_are_errors_not_panics() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let (good, _) = build(50, 4);
        for _ in 0..2000 {
            let mut data = good.data.to_vec();
            for _ in 0..rng.gen_range(1..5) {
                let i = rng.gen_range(0..data.len());
                data[i] = rng.gen();
            }
            let Ok(block) = Block::new(Bytes::from(data), Arc::new("t".into()), 0) else {
                continue;
            };
            let mut it = BlockIter::new(Arc::new(block));
            let _ = it.seek_to_first();
            for _ in 0..60 {
                if it.next().is_err() || !it.valid() {
                    break;
                }
            }
            let _ = it.seek(&encode(b"key000040", 1, Kind::Put));
            let _ = it.seek_to_last();
            for _ in 0..60 {
                if it.prev().is_err() || !it.valid() {
                    break;
                }
            }
        }
    }
}
