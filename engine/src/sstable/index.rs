//! A table's index, decoded once when the table opens: for each data block, its last internal
//! key and its handle, searched without decoding the index block again.
//!
//! A seek's binary search runs over an array of 8-byte integer *probes*, one per entry, so each
//! step reads one contiguous array instead of a restart offset and then a key somewhere else in
//! a block of hundreds of kilobytes; full keys are compared only among the few entries whose
//! probes tie.
//!
//! The probe of a key is the 8 bytes of its user key after `prefix` — the user-key prefix every
//! entry of the table shares — read big-endian and zero-padded. Invariant: for two user keys
//! that both begin with `prefix`, `a < b` implies `probe(a) <= probe(b)` (a big-endian read of
//! zero-padded bytes is a monotonic function of the bytes). So the entries whose probe is below
//! the target's all sort before the target, those above all sort after it, and only the run of
//! equal probes needs full comparisons.
//!
//! Worked example: keys `user0000017`, `user0000342`, `user0001000` share `user000`; their
//! probes are the big-endian values of `0017\0\0\0\0`, `0342\0\0\0\0` and `1000\0\0\0\0`. A seek
//! for `user0000400` probes `0400\0\0\0\0`, which lies between the second and third: the answer
//! is entry 2 with no key compared. A seek for `item5` differs from the prefix at its first
//! byte and, being smaller, lands on entry 0 with no search at all.

use super::block::{Block, BlockIter};
use super::format::BlockHandle;
use crate::iter::InternalIterator;
use crate::key;
use crate::{Error, Result};
use std::cmp::Ordering;
use std::path::Path;

/// A decoded index: entry `i` describes data block `i`, in key order.
pub(crate) struct Index {
    /// The user-key prefix of every entry.
    prefix: Box<[u8]>,
    /// Each entry's probe (see the module doc).
    probes: Vec<u64>,
    /// Entry `i`'s internal key is `keys[key_ends[i - 1]..key_ends[i]]` (from 0 for entry 0).
    key_ends: Vec<u32>,
    keys: Vec<u8>,
    handles: Vec<BlockHandle>,
}

/// The probe of the user-key bytes after the shared prefix.
fn probe(rest: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    let n = rest.len().min(8);
    b[..n].copy_from_slice(&rest[..n]);
    u64::from_be_bytes(b)
}

impl Index {
    /// Decodes an index block of the table at `path`, checking that its keys are well formed
    /// and strictly increasing and that every value is a block handle.
    pub(crate) fn decode(block: Block, path: &Path) -> Result<Index> {
        let offset = block.offset();
        let bad = |what: &str| Error::corruption(path, offset, format!("bad index block: {what}"));
        let mut it = BlockIter::new(std::sync::Arc::new(block));
        let mut key_ends = Vec::new();
        let mut keys: Vec<u8> = Vec::new();
        let mut handles = Vec::new();
        let mut last_start = 0;
        it.seek_to_first()?;
        while it.valid() {
            let handle =
                BlockHandle::decode(it.value_ref()).ok_or_else(|| bad("malformed block handle"))?;
            if !key_ends.is_empty() && key::compare(&keys[last_start..], it.key()) != Ordering::Less
            {
                return Err(bad("keys out of order"));
            }
            last_start = keys.len();
            keys.extend_from_slice(it.key());
            let end = u32::try_from(keys.len()).map_err(|_| bad("keys too large"))?;
            key_ends.push(end);
            handles.push(handle);
            it.next()?;
        }
        let mut index = Index {
            prefix: Box::default(),
            probes: Vec::with_capacity(handles.len()),
            key_ends,
            keys,
            handles,
        };
        if let (Some(first), Some(last)) = (
            index.user_key_at(0),
            index.user_key_at(index.len().wrapping_sub(1)),
        ) {
            let shared = first.iter().zip(last).take_while(|(a, b)| a == b).count();
            index.prefix = first[..shared].into();
        }
        for i in 0..index.len() {
            let rest = index
                .user_key_at(i)
                .map_or(&[][..], |k| &k[index.prefix.len()..]);
            index.probes.push(probe(rest));
        }
        Ok(index)
    }

    /// Number of entries (data blocks).
    pub(crate) fn len(&self) -> usize {
        self.handles.len()
    }

    /// Entry `i`'s internal key. `i < len()`.
    pub(crate) fn key(&self, i: usize) -> &[u8] {
        let start = if i == 0 {
            0
        } else {
            self.key_ends[i - 1] as usize
        };
        &self.keys[start..self.key_ends[i] as usize]
    }

    fn user_key_at(&self, i: usize) -> Option<&[u8]> {
        (i < self.len()).then(|| key::user_key(self.key(i)))
    }

    /// Entry `i`'s block handle. `i < len()`.
    pub(crate) fn handle(&self, i: usize) -> BlockHandle {
        self.handles[i]
    }

    /// The first entry whose key is `>= target` (an encoded internal key), or `len()` if
    /// there is none: the only data block that can hold the first entry `>= target`.
    pub(crate) fn seek(&self, target: &[u8]) -> usize {
        let user = key::user_key(target);
        let p = &self.prefix[..];
        let common = user.len().min(p.len());
        match user[..common].cmp(&p[..common]) {
            Ordering::Less => return 0,
            Ordering::Greater => return self.len(),
            // `user` is a proper prefix of the shared prefix: before every entry.
            Ordering::Equal if user.len() < p.len() => return 0,
            Ordering::Equal => {}
        }
        let t = probe(&user[p.len()..]);
        let mut lo = self.probes.partition_point(|&x| x < t);
        let mut hi = lo + self.probes[lo..].partition_point(|&x| x == t);
        // Among equal probes, the first key >= target, by full comparison.
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if key::compare(self.key(mid), target) == Ordering::Less {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }

    /// Bytes of memory held.
    pub(crate) fn memory(&self) -> usize {
        self.prefix.len()
            + self.probes.capacity() * 8
            + self.key_ends.capacity() * 4
            + self.keys.capacity()
            + self.handles.capacity() * std::mem::size_of::<BlockHandle>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::{encode, Kind};
    use crate::sstable::block::BlockBuilder;
    use bytes::Bytes;
    use rand::{Rng, SeedableRng};

    fn index_of(keys: &[Bytes]) -> Index {
        let mut b = BlockBuilder::new(1);
        for (i, k) in keys.iter().enumerate() {
            let mut h = Vec::new();
            BlockHandle {
                offset: i as u64 * 100,
                size: 90,
            }
            .encode(&mut h);
            b.add(k, &h);
        }
        let block =
            Block::new(Bytes::from(b.finish()), std::sync::Arc::new("t".into()), 0).unwrap();
        Index::decode(block, Path::new("t")).unwrap()
    }

    /// The reference: a linear scan with full comparisons.
    fn reference(keys: &[Bytes], target: &[u8]) -> usize {
        keys.iter()
            .position(|k| key::compare(k, target) != Ordering::Less)
            .unwrap_or(keys.len())
    }

    #[test]
    fn seek_matches_a_linear_scan_on_random_keys() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        // Key sets with long shared prefixes, no shared prefix, prefixes of each other, many
        // versions of one user key, and ties in the probe bytes.
        let alphabets: [&[u8]; 3] = [b"ab", b"\x00\x01\xff", b"0123456789"];
        for round in 0..200 {
            let alphabet = alphabets[round % 3];
            let prefix: Vec<u8> = (0..rng.gen_range(0..12))
                .map(|_| alphabet[rng.gen_range(0..alphabet.len())])
                .collect();
            let mut users: Vec<Vec<u8>> = (0..rng.gen_range(1..60))
                .map(|_| {
                    let mut k = prefix.clone();
                    for _ in 0..rng.gen_range(0..14) {
                        k.push(alphabet[rng.gen_range(0..alphabet.len())]);
                    }
                    k
                })
                .collect();
            users.sort();
            users.dedup();
            let mut keys = Vec::new();
            for u in &users {
                for seq in (1..=rng.gen_range(1..3u64)).rev() {
                    keys.push(encode(u, seq * 10, Kind::Put));
                }
            }
            let index = index_of(&keys);
            assert_eq!(index.len(), keys.len());
            for _ in 0..200 {
                let mut target: Vec<u8> = if rng.gen_bool(0.5) {
                    users[rng.gen_range(0..users.len())].clone()
                } else {
                    prefix[..rng.gen_range(0..=prefix.len())].to_vec()
                };
                for _ in 0..rng.gen_range(0..4) {
                    target.push(alphabet[rng.gen_range(0..alphabet.len())]);
                }
                if rng.gen_bool(0.1) {
                    target = vec![rng.gen()];
                }
                let t = encode(&target, rng.gen_range(0..40), Kind::SEEK);
                assert_eq!(index.seek(&t), reference(&keys, &t), "target {target:?}");
            }
            for (i, k) in keys.iter().enumerate() {
                assert_eq!(index.key(i), &k[..]);
                assert_eq!(index.handle(i).offset, i as u64 * 100);
                assert_eq!(index.seek(k), i);
            }
        }
    }

    #[test]
    fn out_of_order_keys_or_bad_handles_are_corruption() {
        // A block with its keys out of order, written byte by byte (the builder asserts order
        // in debug builds): every entry a restart point, each key whole.
        let good = [encode(b"b", 1, Kind::Put), encode(b"a", 1, Kind::Put)];
        let mut raw = Vec::new();
        let mut restarts = Vec::new();
        for k in &good {
            restarts.push(raw.len() as u32);
            crate::coding::put_varint(&mut raw, 0);
            crate::coding::put_varint(&mut raw, k.len() as u64);
            crate::coding::put_varint(&mut raw, 2);
            raw.extend_from_slice(k);
            raw.extend_from_slice(&[0, 5]);
        }
        for r in &restarts {
            raw.extend_from_slice(&r.to_le_bytes());
        }
        raw.extend_from_slice(&(restarts.len() as u32).to_le_bytes());
        let block =
            Block::new(Bytes::from(raw.clone()), std::sync::Arc::new("t".into()), 7).unwrap();
        let err = Index::decode(block, Path::new("t.sst")).err().unwrap();
        assert!(
            err.is_corruption() && err.to_string().contains("out of order"),
            "{err}"
        );

        // A handle with trailing bytes.
        let mut b = BlockBuilder::new(1);
        b.add(&encode(b"a", 1, Kind::Put), &[0, 5, 9]);
        let block =
            Block::new(Bytes::from(b.finish()), std::sync::Arc::new("t".into()), 7).unwrap();
        let err = Index::decode(block, Path::new("t.sst")).err().unwrap();
        assert!(
            err.is_corruption() && err.to_string().contains("t.sst"),
            "{err}"
        );
    }
}
