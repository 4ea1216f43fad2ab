//! The memtable: recent writes in a concurrent skiplist, ordered by internal key.

use crate::iter::InternalIterator;
use crate::key::{self, InternalKey, Kind};
use crate::Result;
use bytes::Bytes;
use crossbeam_skiplist::SkipMap;
use std::ops::Bound;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Per-entry overhead counted towards the memtable's size: the skiplist node (key and value
/// handles, cached prefix and trailer, tower of links) as the allocator rounds it.
const ENTRY_OVERHEAD: usize = 128;

/// Bytes the allocator hands out for a request of `n` bytes (16-byte size classes).
fn allocation(n: usize) -> usize {
    (n + 15) & !15
}

/// A sorted in-memory table of internal keys. Inserts and reads run concurrently without locks;
/// every internal key is unique (it carries its sequence number), so an insert never replaces.
pub(crate) struct MemTable {
    map: SkipMap<InternalKey, Bytes>,
    /// Approximate bytes held: keys, values and per-entry overhead.
    size: AtomicUsize,
}

impl MemTable {
    pub(crate) fn new() -> Self {
        MemTable {
            map: SkipMap::new(),
            size: AtomicUsize::new(0),
        }
    }

    /// Adds one entry.
    pub(crate) fn insert(&self, user_key: &[u8], seq: u64, kind: Kind, value: Bytes) {
        let ikey = key::encode(user_key, seq, kind);
        self.size.fetch_add(
            allocation(ikey.len()) + allocation(value.len()) + ENTRY_OVERHEAD,
            Ordering::Relaxed,
        );
        self.map.insert(InternalKey::new(ikey), value);
    }

    /// The newest entry for `user_key` with a sequence number `<= read_seq`.
    pub(crate) fn get(&self, user_key: &[u8], read_seq: u64) -> Option<(Kind, Bytes)> {
        let seek = InternalKey::new(key::encode(user_key, read_seq, Kind::SEEK));
        let entry = self.map.lower_bound(Bound::Included(&seek))?;
        let ikey = entry.key().bytes();
        if key::user_key(ikey) != user_key {
            return None;
        }
        Some((key::kind_of(ikey)?, entry.value().clone()))
    }

    /// Approximate bytes held.
    pub(crate) fn approximate_size(&self) -> usize {
        self.size.load(Ordering::Relaxed)
    }

    /// Whether nothing was inserted.
    pub(crate) fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Number of entries.
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    /// A cursor over all entries; it keeps the memtable alive.
    pub(crate) fn iter(self: &Arc<Self>) -> MemTableIter {
        MemTableIter {
            mem: self.clone(),
            buf: Vec::new(),
            idx: 0,
            forward: true,
            chunk: MIN_CHUNK,
        }
    }
}

const MIN_CHUNK: usize = 8;
const MAX_CHUNK: usize = 256;

/// A cursor over a memtable that owns its memtable (no borrow), so it can live in a `'static`
/// user iterator. It copies small runs of entries (cheap `Bytes` clones) out of the skiplist and
/// re-seeks when a run is used up, so each step is amortised O(1).
pub(crate) struct MemTableIter {
    mem: Arc<MemTable>,
    /// Entries in the direction of travel; `buf[idx]` is current.
    buf: Vec<(Bytes, Bytes)>,
    idx: usize,
    forward: bool,
    /// Size of the next refill; grows while scanning.
    chunk: usize,
}

impl MemTableIter {
    /// Refills the buffer with entries from `from` on, in the direction of travel.
    fn fill(&mut self, from: Bound<&InternalKey>, forward: bool) {
        self.buf.clear();
        self.idx = 0;
        self.forward = forward;
        let mut entry = if forward {
            self.mem.map.lower_bound(from)
        } else {
            self.mem.map.upper_bound(from)
        };
        while let Some(e) = entry {
            self.buf.push((e.key().bytes().clone(), e.value().clone()));
            if self.buf.len() >= self.chunk {
                break;
            }
            entry = if forward { e.next() } else { e.prev() };
        }
        self.chunk = (self.chunk * 2).min(MAX_CHUNK);
    }

    /// Seeks: a fresh, small first refill.
    fn seek_from(&mut self, from: Bound<&InternalKey>, forward: bool) {
        self.chunk = MIN_CHUNK;
        self.fill(from, forward);
    }

    /// One step forward or backward. Continuing in the same direction consumes the buffer
    /// and refills after its last entry; turning around refills from the current entry.
    fn step(&mut self, forward: bool) {
        if !self.valid() {
            return;
        }
        if self.forward == forward {
            self.idx += 1;
            if self.idx == self.buf.len() {
                if let Some(last) = self.buf.last().map(|(k, _)| InternalKey::new(k.clone())) {
                    self.fill(Bound::Excluded(&last), forward);
                }
            }
        } else {
            let cur = InternalKey::new(self.buf[self.idx].0.clone());
            self.seek_from(Bound::Excluded(&cur), forward);
        }
    }
}

impl InternalIterator for MemTableIter {
    fn valid(&self) -> bool {
        self.idx < self.buf.len()
    }

    fn key(&self) -> &[u8] {
        &self.buf[self.idx].0
    }

    fn value(&self) -> Bytes {
        self.buf[self.idx].1.clone()
    }

    fn seek(&mut self, target: &[u8]) -> Result<()> {
        let target = InternalKey::new(Bytes::copy_from_slice(target));
        self.seek_from(Bound::Included(&target), true);
        Ok(())
    }

    fn seek_for_prev(&mut self, target: &[u8]) -> Result<()> {
        let target = InternalKey::new(Bytes::copy_from_slice(target));
        self.seek_from(Bound::Included(&target), false);
        Ok(())
    }

    fn seek_to_first(&mut self) -> Result<()> {
        self.seek_from(Bound::Unbounded, true);
        Ok(())
    }

    fn seek_to_last(&mut self) -> Result<()> {
        self.seek_from(Bound::Unbounded, false);
        Ok(())
    }

    fn next(&mut self) -> Result<()> {
        self.step(true);
        Ok(())
    }

    fn prev(&mut self) -> Result<()> {
        self.step(false);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_returns_newest_visible_version() {
        let m = MemTable::new();
        m.insert(b"k", 1, Kind::Put, Bytes::from("v1"));
        m.insert(b"k", 3, Kind::Delete, Bytes::new());
        m.insert(b"k", 5, Kind::Put, Bytes::from("v5"));
        m.insert(b"kk", 2, Kind::Put, Bytes::from("x"));
        assert_eq!(m.get(b"k", 0), None);
        assert_eq!(m.get(b"k", 2), Some((Kind::Put, Bytes::from("v1"))));
        assert_eq!(m.get(b"k", 4).map(|(k, _)| k), Some(Kind::Delete));
        assert_eq!(m.get(b"k", 9), Some((Kind::Put, Bytes::from("v5"))));
        assert_eq!(m.get(b"", 9), None);
    }

    #[test]
    fn iterator_walks_both_ways_across_refills() {
        let m = Arc::new(MemTable::new());
        for i in 0..1000u32 {
            m.insert(
                format!("{i:05}").as_bytes(),
                u64::from(i) + 1,
                Kind::Put,
                Bytes::new(),
            );
        }
        let mut it = m.iter();
        it.seek_to_first().unwrap();
        let mut n = 0;
        while it.valid() {
            assert_eq!(key::user_key(it.key()), format!("{n:05}").as_bytes());
            n += 1;
            it.next().unwrap();
        }
        assert_eq!(n, 1000);
        it.seek_to_last().unwrap();
        let mut n = 1000;
        while it.valid() {
            n -= 1;
            assert_eq!(key::user_key(it.key()), format!("{n:05}").as_bytes());
            it.prev().unwrap();
        }
        assert_eq!(n, 0);
        it.seek(&key::encode(b"00500", u64::MAX >> 8, Kind::SEEK))
            .unwrap();
        it.prev().unwrap();
        assert_eq!(key::user_key(it.key()), b"00499");
        it.next().unwrap();
        assert_eq!(key::user_key(it.key()), b"00500");
    }
}
