//! The memtable: recent writes in a concurrent skiplist, ordered by internal key.
//!
//! Memory is what bounds a memtable (the write buffer size), so entries are packed densely:
//! each entry's internal key and value are copied into an arena of large chunks
//! (`[varint key length][internal key][value]`), and the skiplist node holds only a cached
//! 24-byte key prefix, a handle to those bytes and the entry's shadow (see `MemTable::map`).
//! A node costs 90–100 bytes beyond the entry's own (by the allocator; against about 190 when
//! the node held separately allocated key and value handles and the value kept its write batch
//! alive), so a write buffer holds about 1.5x the entries, flushes less often and leaves fewer
//! level-0 files to compact.

use crate::coding;
use crate::iter::InternalIterator;
use crate::key::{self, Kind};
use crate::Result;
use bytes::{Bytes, BytesMut};
use crossbeam_epoch as epoch;
use crossbeam_skiplist::base::SkipList;
use parking_lot::Mutex;
use std::cmp::Ordering as CmpOrdering;
use std::ops::Bound;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

/// Expected bytes the allocator hands out for one skiplist node: 72 bytes (the cached prefix,
/// the entry handle, the shadow sequence number, crossbeam's reference count) plus one 8-byte
/// link per tower level (mean height 2), rounded up to the allocator's size classes: about 88
/// bytes. glibc's malloc adds an 8-byte header to every allocation: 101 bytes per node by RSS
/// over a million inserts (`memtable_bytes_per_entry`), so there a full write buffer holds
/// about 6% more than its nominal size.
const NODE_BYTES: usize = 88;

/// Words of the user key cached in each node: 24 bytes, which covers the table layer's keys
/// past a partition's shared prefix (hash, a 16-byte partition key, terminator) into the sort
/// key. With 16, every comparison among one partition's items fell through to the full keys,
/// a cache miss each: a memtable get of such keys took 1.77x as long
/// (`cargo bench -p strata-bench --bench hot_paths -- memtable/get`).
const HEAD_WORDS: usize = 3;

/// The first arena chunk's size; each next chunk doubles, up to [`MAX_ARENA_CHUNK`], so a
/// small memtable (a small write buffer, a keyspace written rarely) holds little memory.
const MIN_ARENA_CHUNK: usize = 4 << 10;

/// The largest arena chunk.
const MAX_ARENA_CHUNK: usize = 1 << 20;

/// An entry at least this large gets an allocation of its own rather than a chunk's tail.
const OWN_ALLOCATION: usize = MAX_ARENA_CHUNK / 8;

/// Bytes of an entry a memtable iterator warms as it buffers the entry (see `Entry::warm`):
/// 4 KiB, DynamoDB's read unit and more than most items. Past that, the processor's own
/// prefetching of a sequential read has long taken over.
const WARM_BYTES: usize = 4 << 10;

/// Bytes of an entry, `[varint key length][internal key][value]`, as the arena stores it.
fn entry_len(ikey_len: usize, value_len: usize) -> usize {
    let mut varint = [0u8; 10];
    coding::varint_into(&mut varint, ikey_len as u64).len() + ikey_len + value_len
}

/// A memtable entry: `[varint internal-key length][internal key][value]`, with the first 24
/// bytes of the user key cached beside the handle (zero-padded, big-endian), so most skiplist
/// comparisons are integer compares on the node itself, without following the handle
/// (a cache miss per node visited). Zero-padding keeps the prefix order consistent with
/// bytewise order; equal prefixes fall back to comparing the full internal keys.
///
/// Invariant: `bytes` starts with a valid varint no larger than the bytes that follow it.
#[derive(Clone, Debug)]
struct Entry {
    /// The user key's first 24 bytes as big-endian words (`u64`s rather than a `u128`, whose
    /// 16-byte alignment would pad every node).
    head: [u64; HEAD_WORDS],
    bytes: Bytes,
}

impl Entry {
    /// Wraps entry bytes built by [`encode_entry`].
    fn new(bytes: Bytes) -> Self {
        let mut rest = &bytes[..];
        let len = coding::get_len(&mut rest).unwrap_or(0);
        let uk = key::user_key(&rest[..len.min(rest.len())]);
        let mut bytes_head = [0u8; HEAD_WORDS * 8];
        let n = uk.len().min(HEAD_WORDS * 8);
        bytes_head[..n].copy_from_slice(&uk[..n]);
        let mut head = [0u64; HEAD_WORDS];
        for (word, b) in head.iter_mut().zip(bytes_head.chunks_exact(8)) {
            *word = u64::from_be_bytes(b.try_into().unwrap_or_default());
        }
        Entry { head, bytes }
    }

    /// A search key for an encoded internal key (it carries no value).
    fn search(ikey: &[u8]) -> Self {
        let mut buf = Vec::with_capacity(ikey.len() + 2);
        coding::put_varint(&mut buf, ikey.len() as u64);
        buf.extend_from_slice(ikey);
        Entry::new(Bytes::from(buf))
    }

    /// Where the internal key starts and ends in `bytes`.
    #[inline]
    fn key_range(&self) -> (usize, usize) {
        let mut rest = &self.bytes[..];
        let len = coding::get_len(&mut rest).unwrap_or(0);
        let start = self.bytes.len() - rest.len();
        (start, (start + len).min(self.bytes.len()))
    }

    /// The encoded internal key.
    #[inline]
    fn ikey(&self) -> &[u8] {
        let (start, end) = self.key_range();
        &self.bytes[start..end]
    }

    /// Reads one byte of each cache line of the entry's first [`WARM_BYTES`], so that they
    /// are on their way into the cache before the reader gets to them. A safe stand-in for
    /// a prefetch: the loads depend on nothing the skiplist walk is waiting for, so the
    /// processor overlaps their misses with the walk's (see [`MemTableIter::fill`]), where a
    /// reader touching each value for the first time (a UTF-8 check, a copy) waited for every
    /// line alone. The walk itself gets slower by what it loads, and by less than the reader
    /// saves: a 100-item Query of 1 KB items served over HTTP took 165 µs of server CPU
    /// against 175 without it (`bench/http-ab.py`, six rounds).
    #[inline]
    fn warm(&self) {
        let lines = self.bytes[..self.bytes.len().min(WARM_BYTES)]
            .iter()
            .step_by(64);
        std::hint::black_box(lines.fold(0u8, |acc, b| acc ^ b));
    }

    /// The value to hand out of the memtable. A value in an arena chunk is copied, so that a
    /// caller keeping it (a user holding a `get` result) does not keep the whole chunk (up to
    /// 1 MiB) alive after the memtable is gone; a value in an allocation of its own (the
    /// entry is [`OWN_ALLOCATION`] bytes or more) is shared.
    fn detached_value(&self) -> Bytes {
        let end = self.key_range().1;
        if self.bytes.len() >= OWN_ALLOCATION {
            self.bytes.slice(end..)
        } else {
            Bytes::copy_from_slice(&self.bytes[end..])
        }
    }
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == CmpOrdering::Equal
    }
}

impl Eq for Entry {}

impl Ord for Entry {
    fn cmp(&self, other: &Self) -> CmpOrdering {
        self.head
            .cmp(&other.head)
            .then_with(|| key::compare(self.ikey(), other.ikey()))
    }
}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<CmpOrdering> {
        Some(self.cmp(other))
    }
}

/// Chunks that entries are copied into. Each entry is a slice of a chunk; a chunk is freed
/// when the last entry (or reader's handle) into it goes.
struct Arena {
    chunk: BytesMut,
    /// Size of the next chunk.
    next_chunk: usize,
}

impl Arena {
    /// Copies one entry in; returns its bytes and what it added to the memtable's size (its
    /// length, plus the unused tail of a chunk it had to leave).
    fn add(&mut self, len: usize, write: impl FnOnce(&mut BytesMut)) -> (Bytes, usize) {
        if len >= OWN_ALLOCATION {
            let mut own = BytesMut::with_capacity(len);
            write(&mut own);
            debug_assert_eq!(own.len(), len);
            return (own.freeze(), len);
        }
        let mut charged = len;
        if self.chunk.capacity() - self.chunk.len() < len {
            charged += self.chunk.capacity() - self.chunk.len();
            // Entries below OWN_ALLOCATION fit a full-size chunk; early, smaller chunks grow
            // to fit them.
            self.chunk = BytesMut::with_capacity(self.next_chunk.max(len));
            self.next_chunk = (self.next_chunk * 2).min(MAX_ARENA_CHUNK);
        }
        write(&mut self.chunk);
        debug_assert_eq!(self.chunk.len(), len);
        (self.chunk.split().freeze(), charged)
    }
}

/// A sorted in-memory table of internal keys. Inserts and reads run concurrently without locks
/// on the read side (inserts serialize on the arena's short lock); every internal key is unique
/// (it carries its sequence number), so an insert never replaces.
pub(crate) struct MemTable {
    /// The skiplist's base API: a reader walks entries under one epoch guard, with no
    /// reference count taken and dropped per entry (as the `SkipMap` wrapper does). Nothing
    /// is ever removed, so an entry seen under a guard stays linked.
    ///
    /// Each node's value is its entry's *shadow*: the sequence number of the next newer
    /// version of the same user key in this memtable (`u64::MAX` while there is none). A
    /// reader at `read_seq >= shadow` can never be answered by that entry — the newer version
    /// is visible to it, here, and sorts first — so [`MemTable::iter_at`] passes such entries
    /// over on the node, without reading their bytes (a cache miss each: most of a range
    /// read's cost over keys updated since the last flush).
    ///
    /// Invariant: a shadow, once set, is the sequence number of a newer version of the same
    /// user key that is already linked. (A shadow left at `u64::MAX` only costs that read.)
    map: SkipList<Entry, AtomicU64>,
    arena: Mutex<Arena>,
    /// Approximate bytes held: entry bytes, chunk tails left unused, and per-node overhead.
    size: AtomicUsize,
}

impl MemTable {
    pub(crate) fn new() -> Self {
        MemTable {
            map: SkipList::new(epoch::default_collector().clone()),
            arena: Mutex::new(Arena {
                chunk: BytesMut::new(),
                next_chunk: MIN_ARENA_CHUNK,
            }),
            size: AtomicUsize::new(0),
        }
    }

    /// Adds one entry, copying the key and value.
    pub(crate) fn insert(&self, user_key: &[u8], seq: u64, kind: Kind, value: &[u8]) {
        let ikey_len = user_key.len() + key::TRAILER_LEN;
        let mut varint = [0u8; 10];
        let varint = coding::varint_into(&mut varint, ikey_len as u64);
        let len = entry_len(ikey_len, value.len());
        let (bytes, charged) = self.arena.lock().add(len, |buf| {
            buf.extend_from_slice(varint);
            buf.extend_from_slice(user_key);
            buf.extend_from_slice(&key::trailer(seq, kind).to_be_bytes());
            buf.extend_from_slice(value);
        });
        self.size.fetch_add(charged + NODE_BYTES, Ordering::Relaxed);
        let guard = &epoch::pin();
        let entry = Entry::new(bytes);
        let head = entry.head;
        let inserted = self.map.insert(entry, AtomicU64::new(u64::MAX), guard);
        // The next entry is the newest older version of this key, if the key has one here.
        // (Inserts come in sequence order; `fetch_min` keeps the nearest newer version should
        // one ever come out of order.) The cached heads tell most other keys apart without
        // reading the next entry's bytes.
        if let Some(older) = inserted.next(guard) {
            if older.key().head == head && key::user_key(older.key().ikey()) == user_key {
                older.value().fetch_min(seq, Ordering::Release);
            }
            older.release(guard);
        }
        inserted.release(guard);
    }

    /// The newest entry for `user_key` with a sequence number `<= read_seq`.
    pub(crate) fn get(&self, user_key: &[u8], read_seq: u64) -> Option<(Kind, Bytes)> {
        let seek = Entry::search(&key::encode(user_key, read_seq, Kind::SEEK));
        let guard = &epoch::pin();
        let entry = self.map.lower_bound(Bound::Included(&seek), guard)?;
        let found = entry.key();
        let ikey = found.ikey();
        if key::user_key(ikey) != user_key {
            return None;
        }
        let kind = key::kind_of(ikey)?;
        Some((kind, found.detached_value()))
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
        self.iter_at(0)
    }

    /// A cursor for a reader at `read_seq` (a published sequence number: every write at or
    /// below it is in the memtable): every entry but those shadowed at `read_seq`, older
    /// versions of a key whose newer version the reader sees. It keeps the memtable alive.
    pub(crate) fn iter_at(self: &Arc<Self>, read_seq: u64) -> MemTableIter {
        MemTableIter {
            mem: self.clone(),
            read_seq,
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
    /// Entries shadowed at this sequence number are passed over (0: none are).
    read_seq: u64,
    /// Entries in the direction of travel (handles: one reference count each), each with
    /// where its internal key starts and ends in its bytes (a merge asks for the current key
    /// several times per step); `buf[idx]` is current.
    ///
    /// The key's place is decoded as the entry is buffered, not when the cursor reaches it:
    /// decoding reads the entry's first byte, a cache miss, and during the refill that miss
    /// overlaps with the skiplist walk's own miss on the next node, which does not depend on
    /// it (see [`MemTableIter::fill`]). Decoded on arrival, each miss was paid alone: 8% of a
    /// 100-item Query served over HTTP (`perf`).
    buf: Vec<(Entry, (usize, usize))>,
    idx: usize,
    forward: bool,
    /// Size of the next refill; grows while scanning.
    chunk: usize,
}

impl MemTableIter {
    /// Refills the buffer with entries from `from` on, in the direction of travel, warming
    /// each one (`Entry::warm`) and decoding where its key lies.
    fn fill(&mut self, from: Bound<&Entry>, forward: bool) {
        self.buf.clear();
        self.idx = 0;
        self.forward = forward;
        let guard = &epoch::pin();
        let mut entry = if forward {
            self.mem.map.lower_bound(from, guard)
        } else {
            self.mem.map.upper_bound(from, guard)
        };
        // Borrowed first, cloned after: a clone takes a reference on the entry's arena
        // chunk, an atomic increment, and a locked instruction lets no later load start
        // before it, so cloning in the walk paid each node's and each entry's cache miss
        // one at a time.
        let mut found = Vec::with_capacity(self.chunk);
        while let Some(e) = entry {
            if e.value().load(Ordering::Acquire) > self.read_seq {
                let entry = e.key();
                entry.warm();
                found.push((entry, entry.key_range()));
                if found.len() >= self.chunk {
                    break;
                }
            }
            entry = if forward { e.next() } else { e.prev() };
        }
        self.buf.extend(
            found
                .into_iter()
                .map(|(entry, key_at)| (entry.clone(), key_at)),
        );
        self.chunk = (self.chunk * 2).min(MAX_CHUNK);
    }

    /// The current entry and where its internal key lies in its bytes.
    #[inline]
    fn current(&self) -> (&Entry, (usize, usize)) {
        let (entry, key_at) = &self.buf[self.idx];
        (entry, *key_at)
    }

    /// Seeks: a fresh, small first refill.
    fn seek_from(&mut self, from: Bound<&Entry>, forward: bool) {
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
                // The refill starts by clearing the buffer: its last entry is moved out, not
                // cloned (an atomic increment and decrement saved).
                if let Some((last, _)) = self.buf.pop() {
                    self.fill(Bound::Excluded(&last), forward);
                }
            }
        } else {
            let cur = self.buf[self.idx].0.clone();
            self.seek_from(Bound::Excluded(&cur), forward);
        }
    }
}

impl InternalIterator for MemTableIter {
    fn valid(&self) -> bool {
        self.idx < self.buf.len()
    }

    fn key(&self) -> &[u8] {
        let (entry, (start, end)) = self.current();
        &entry.bytes[start..end]
    }

    fn value(&self) -> Bytes {
        self.current().0.detached_value()
    }

    fn value_ref(&self) -> &[u8] {
        let (entry, (_, end)) = self.current();
        &entry.bytes[end..]
    }

    fn value_pinned(&self) -> Bytes {
        let (entry, (_, end)) = self.current();
        entry.bytes.slice(end..)
    }

    fn seek(&mut self, target: &[u8]) -> Result<()> {
        let target = Entry::search(target);
        self.seek_from(Bound::Included(&target), true);
        Ok(())
    }

    fn seek_for_prev(&mut self, target: &[u8]) -> Result<()> {
        let target = Entry::search(target);
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
        m.insert(b"k", 1, Kind::Put, b"v1");
        m.insert(b"k", 3, Kind::Delete, b"");
        m.insert(b"k", 5, Kind::Put, b"v5");
        m.insert(b"kk", 2, Kind::Put, b"x");
        assert_eq!(m.get(b"k", 0), None);
        assert_eq!(m.get(b"k", 2), Some((Kind::Put, Bytes::from("v1"))));
        assert_eq!(m.get(b"k", 4).map(|(k, _)| k), Some(Kind::Delete));
        assert_eq!(m.get(b"k", 9), Some((Kind::Put, Bytes::from("v5"))));
        assert_eq!(m.get(b"", 9), None);
    }

    #[test]
    fn cached_prefix_order_matches_the_encoded_order() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let mut keys = Vec::new();
        for _ in 0..2000 {
            let len = rng.gen_range(0..24);
            // A small alphabet with zero bytes, so prefixes and padding collide often.
            let k: Vec<u8> = (0..len)
                .map(|_| [0u8, 1, b'a'][rng.gen_range(0..3)])
                .collect();
            let kind = if rng.gen_bool(0.5) {
                Kind::Put
            } else {
                Kind::Delete
            };
            keys.push(key::encode(&k, rng.gen_range(0..4), kind));
        }
        for a in &keys[..200] {
            for b in &keys {
                let fast = Entry::search(a).cmp(&Entry::search(b));
                assert_eq!(fast, key::compare(a, b), "{a:?} vs {b:?}");
            }
        }
    }

    #[test]
    fn iterator_walks_both_ways_across_refills() {
        let m = Arc::new(MemTable::new());
        for i in 0..1000u32 {
            m.insert(
                format!("{i:05}").as_bytes(),
                u64::from(i) + 1,
                Kind::Put,
                b"",
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

    /// Every entry `it` yields walking `forward` from its first entry (else back from its
    /// last), in key order, as `(user key, seq)`.
    fn entries(mut it: MemTableIter, forward: bool) -> Vec<(Vec<u8>, u64)> {
        if forward {
            it.seek_to_first().unwrap();
        } else {
            it.seek_to_last().unwrap();
        }
        let mut out = Vec::new();
        while it.valid() {
            out.push((key::user_key(it.key()).to_vec(), key::seq_of(it.key())));
            if forward {
                it.next().unwrap();
            } else {
                it.prev().unwrap();
            }
        }
        if !forward {
            out.reverse();
        }
        out
    }

    #[test]
    fn a_reader_is_spared_exactly_the_versions_shadowed_at_its_sequence_number() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(5);
        let m = Arc::new(MemTable::new());
        let mut all = Vec::new();
        for seq in 1..=2000u64 {
            let key = format!("k{:03}", rng.gen_range(0..150)).into_bytes();
            let kind = if rng.gen_bool(0.2) {
                Kind::Delete
            } else {
                Kind::Put
            };
            m.insert(&key, seq, kind, b"v");
            all.push((key, seq));
        }
        // Internal order: user key ascending, newer versions first.
        all.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
        assert_eq!(entries(m.iter(), true), all, "iter() hides nothing");
        for read_seq in [1, 2, 77, 500, 1000, 1999, 2000, u64::MAX >> 8] {
            // Model: an entry is passed over iff a newer version of its key is visible.
            let expected: Vec<_> = all
                .iter()
                .filter(|(k, s)| {
                    !all.iter()
                        .any(|(k2, s2)| k2 == k && s2 > s && *s2 <= read_seq)
                })
                .cloned()
                .collect();
            assert_eq!(
                entries(m.iter_at(read_seq), true),
                expected,
                "at {read_seq}"
            );
            // Backwards, the same entries, across refills.
            let back = entries(m.iter_at(read_seq), false);
            assert_eq!(back, expected, "backwards at {read_seq}");
        }
    }

    #[test]
    fn values_handed_out_do_not_keep_an_arena_chunk_alive() {
        let m = Arc::new(MemTable::new());
        m.insert(b"a", 1, Kind::Put, b"small");
        m.insert(b"b", 2, Kind::Put, b"neighbour in the same chunk");
        let big = vec![9u8; OWN_ALLOCATION];
        m.insert(b"c", 3, Kind::Put, &big);
        // A copy of a small value is its own; a slice of the chunk would share it.
        let (_, small) = m.get(b"a", 9).unwrap();
        assert_eq!(&small[..], b"small");
        assert!(small.is_unique());
        let mut it = m.iter();
        it.seek_to_first().unwrap();
        assert!(it.value().is_unique());
        // A large value has an allocation of its own, shared rather than copied.
        let (_, large) = m.get(b"c", 9).unwrap();
        assert_eq!(large, big);
        assert!(!large.is_unique());
    }

    #[test]
    fn entries_of_every_size_read_back_as_written() {
        use rand::{Rng, SeedableRng};
        use std::collections::BTreeMap;
        let mut rng = rand::rngs::StdRng::seed_from_u64(11);
        let m = Arc::new(MemTable::new());
        // Model: user key -> (seq, kind, value) of the newest version.
        let mut model: BTreeMap<Vec<u8>, (u64, Kind, Vec<u8>)> = BTreeMap::new();
        type Versions = Vec<(u64, Kind, Vec<u8>)>;
        let mut history: BTreeMap<Vec<u8>, Versions> = BTreeMap::new();
        let mut entry_bytes = 0;
        for seq in 1..=3000u64 {
            // Keys past 127 bytes take a two-byte length; values past OWN_ALLOCATION get their
            // own allocation; the rest fill and cross arena chunks of every size.
            let key_len = [1, 8, 16, 40, 200][rng.gen_range(0..5)];
            let key: Vec<u8> = (0..key_len).map(|_| rng.gen_range(b'a'..b'e')).collect();
            let value_len = match rng.gen_range(0..100) {
                0 => OWN_ALLOCATION + rng.gen_range(0..1000),
                1..=5 => rng.gen_range(1000..40_000),
                _ => rng.gen_range(0..200),
            };
            let value: Vec<u8> = (0..value_len).map(|_| rng.gen()).collect();
            let kind = if rng.gen_bool(0.1) {
                Kind::Delete
            } else {
                Kind::Put
            };
            m.insert(&key, seq, kind, &value);
            entry_bytes += key.len() + key::TRAILER_LEN + value.len();
            history
                .entry(key.clone())
                .or_default()
                .push((seq, kind, value.clone()));
            model.insert(key, (seq, kind, value));
        }
        for (k, (seq, kind, value)) in &model {
            let (got_kind, got) = m.get(k, u64::MAX >> 8).unwrap();
            assert_eq!((got_kind, &got[..]), (*kind, &value[..]));
            // One sequence number earlier: an older version of the key, or none.
            let older = history[k].iter().rev().find(|(s, ..)| s < seq);
            let got = m.get(k, seq - 1);
            assert_eq!(
                got.as_ref().map(|(kind, v)| (*kind, &v[..])),
                older.map(|(_, kind, v)| (*kind, &v[..]))
            );
        }
        // The newest version of each key, in order, from a full scan.
        let mut it = m.iter();
        it.seek_to_first().unwrap();
        let mut newest = Vec::new();
        while it.valid() {
            let uk = key::user_key(it.key()).to_vec();
            if newest
                .last()
                .map(|(k, _): &(Vec<u8>, Bytes)| k != &uk)
                .unwrap_or(true)
            {
                newest.push((uk, it.value()));
            }
            it.next().unwrap();
        }
        let expected: Vec<_> = model
            .iter()
            .map(|(k, (_, _, v))| (k.clone(), v.clone()))
            .collect();
        assert_eq!(newest.len(), expected.len());
        for ((k, v), (ek, ev)) in newest.iter().zip(&expected) {
            assert_eq!((k, &v[..]), (ek, &ev[..]));
        }
        // The size counts every entry's bytes and a node for each, and not much more.
        let size = m.approximate_size();
        let floor = entry_bytes + 3000 * NODE_BYTES;
        assert!(size >= floor, "{size} < {floor}");
        assert!(size <= floor + floor / 10, "{size} much over {floor}");
    }
}

/// The memory a memtable really takes, for the figure in bench/README.md:
/// `cargo test --release -p strata-engine --lib memtable_bytes_per_entry -- --ignored --nocapture`.
#[cfg(test)]
mod measure {
    use super::*;

    fn rss() -> usize {
        let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
        let pages: usize = statm
            .split_whitespace()
            .nth(1)
            .and_then(|p| p.parse().ok())
            .unwrap_or(0);
        pages * 4096
    }

    #[test]
    #[ignore = "a measurement, not a check: prints RSS per entry"]
    fn memtable_bytes_per_entry() {
        let m = MemTable::new();
        let value = [7u8; 100];
        let n = 1_000_000u64;
        let before = rss();
        for i in 0..n {
            let k = format!("{:016}", (i * 7919) % n);
            m.insert(k.as_bytes(), i + 1, Kind::Put, &value);
        }
        let used = rss().saturating_sub(before) as u64;
        eprintln!(
            "{} bytes per entry by RSS, {} accounted",
            used / n,
            m.approximate_size() as u64 / n
        );
    }
}
