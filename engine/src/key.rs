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
