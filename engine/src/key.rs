//! Internal keys: a user key tagged with the sequence number and kind of the write.
//!
//! Encoding (used in the memtable, SSTables and iterators):
//!
//! ```text
//! +-----------------+-------------------------------------+
//! | user key (n B)  | trailer: (seq << 8 | kind), u64 BE  |
//! +-----------------+-------------------------------------+
//! ```
//!
//! Ordering: user key ascending (bytewise), then trailer **descending**, so the newest version of
//! a key comes first. Plain bytewise order of the encoding is *not* this order (a user key that is
//! a prefix of another would sort wrongly), so all comparisons go through [`compare`].

use bytes::{BufMut, Bytes, BytesMut};
use std::cmp::Ordering;

/// Size of the trailer appended to every user key.
pub(crate) const TRAILER_LEN: usize = 8;

/// The largest sequence number (56 bits; the low byte of the trailer holds the kind).
pub const MAX_SEQUENCE: u64 = (1 << 56) - 1;

/// What an entry records. Written to disk: values never change, retired ones are never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub(crate) enum Kind {
    /// A deletion marker (tombstone).
    Delete = 0,
    /// A value.
    Put = 1,
}

impl Kind {
    /// The kind that sorts first among entries with the same sequence number, for seeks.
    pub(crate) const SEEK: Kind = Kind::Put;

    pub(crate) fn from_u8(b: u8) -> Option<Kind> {
        match b {
            0 => Some(Kind::Delete),
            1 => Some(Kind::Put),
            _ => None,
        }
    }
}

/// Packs a sequence number and kind into a trailer.
pub(crate) fn trailer(seq: u64, kind: Kind) -> u64 {
    debug_assert!(seq <= MAX_SEQUENCE);
    (seq << 8) | kind as u64
}

/// Encodes an internal key.
pub(crate) fn encode(user_key: &[u8], seq: u64, kind: Kind) -> Bytes {
    let mut buf = BytesMut::with_capacity(user_key.len() + TRAILER_LEN);
    buf.put_slice(user_key);
    buf.put_u64(trailer(seq, kind));
    buf.freeze()
}

/// The user-key part of an encoded internal key. Callers only pass keys produced by [`encode`]
/// or validated by [`is_valid`].
pub(crate) fn user_key(ikey: &[u8]) -> &[u8] {
    &ikey[..ikey.len().saturating_sub(TRAILER_LEN)]
}

/// The trailer of an encoded internal key.
pub(crate) fn trailer_of(ikey: &[u8]) -> u64 {
    let start = ikey.len().saturating_sub(TRAILER_LEN);
    let mut b = [0u8; 8];
    b.copy_from_slice(&ikey[start..]);
    u64::from_be_bytes(b)
}

/// The sequence number of an encoded internal key.
pub(crate) fn seq_of(ikey: &[u8]) -> u64 {
    trailer_of(ikey) >> 8
}

/// The kind of an encoded internal key (`None` for an unknown kind byte).
pub(crate) fn kind_of(ikey: &[u8]) -> Option<Kind> {
    Kind::from_u8(trailer_of(ikey) as u8)
}

/// Whether bytes read from disk form a well-formed internal key.
pub(crate) fn is_valid(ikey: &[u8]) -> bool {
    ikey.len() >= TRAILER_LEN && kind_of(ikey).is_some()
}

/// Compares two encoded internal keys: user key ascending, then trailer descending.
pub(crate) fn compare(a: &[u8], b: &[u8]) -> Ordering {
    user_key(a)
        .cmp(user_key(b))
        .then_with(|| trailer_of(b).cmp(&trailer_of(a)))
}

/// An owned encoded internal key, ordered by [`compare`]; the memtable's key type.
///
/// It caches the first 16 bytes of the user key (zero-padded, as a big-endian integer) and the
/// trailer beside the bytes, so most skiplist comparisons are two integer compares on the node
/// itself, without following the pointer to the key's bytes (a cache miss per node visited).
/// Zero-padding keeps the prefix order consistent with bytewise order; equal prefixes fall back
/// to comparing the full user keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct InternalKey {
    prefix: u128,
    trailer: u64,
    bytes: Bytes,
}

impl InternalKey {
    /// Wraps an encoded internal key.
    pub(crate) fn new(bytes: Bytes) -> Self {
        let uk = user_key(&bytes);
        let mut head = [0u8; 16];
        let n = uk.len().min(16);
        head[..n].copy_from_slice(&uk[..n]);
        InternalKey {
            prefix: u128::from_be_bytes(head),
            trailer: trailer_of(&bytes),
            bytes,
        }
    }

    /// The encoded internal key.
    pub(crate) fn bytes(&self) -> &Bytes {
        &self.bytes
    }
}

impl Ord for InternalKey {
    fn cmp(&self, other: &Self) -> Ordering {
        self.prefix
            .cmp(&other.prefix)
            .then_with(|| user_key(&self.bytes).cmp(user_key(&other.bytes)))
            .then_with(|| other.trailer.cmp(&self.trailer))
    }
}

impl PartialOrd for InternalKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newest_version_sorts_first_and_prefixes_sort_before_extensions() {
        let a5 = encode(b"a", 5, Kind::Put);
        let a7 = encode(b"a", 7, Kind::Delete);
        let ab1 = encode(b"ab", 1, Kind::Put);
        assert_eq!(compare(&a7, &a5), Ordering::Less);
        assert_eq!(compare(&a5, &ab1), Ordering::Less);
        assert_eq!(compare(&a7, &ab1), Ordering::Less);
        assert_eq!(user_key(&ab1), b"ab");
        assert_eq!(seq_of(&a7), 7);
        assert_eq!(kind_of(&a7), Some(Kind::Delete));
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
            keys.push(encode(&k, rng.gen_range(0..4), kind));
        }
        for a in &keys[..200] {
            for b in &keys {
                let fast = InternalKey::new(a.clone()).cmp(&InternalKey::new(b.clone()));
                assert_eq!(fast, compare(a, b), "{a:?} vs {b:?}");
            }
        }
    }

    #[test]
    fn seek_key_lands_on_first_visible_version() {
        // At read sequence 6, seeking (a, 6, SEEK) must land at or before (a, 5) and after (a, 7).
        let seek = encode(b"a", 6, Kind::SEEK);
        assert_eq!(compare(&seek, &encode(b"a", 5, Kind::Put)), Ordering::Less);
        assert_eq!(
            compare(&seek, &encode(b"a", 6, Kind::Delete)),
            Ordering::Less
        );
        assert_eq!(
            compare(&seek, &encode(b"a", 7, Kind::Put)),
            Ordering::Greater
        );
    }
}
