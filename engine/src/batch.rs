//! [`WriteBatch`]: a group of writes applied atomically, and its WAL encoding.
//!
//! A batch is one WAL record. Its payload:
//!
//! ```text
//! +-----------+----------+----------------------------------------------+
//! | seq u64LE | count u32LE | count x entry                             |
//! +-----------+----------+----------------------------------------------+
//! entry := kind u8 | keyspace varint | key (varint len + bytes) | value (varint len + bytes, Put only)
//! ```
//!
//! Entry `i` gets sequence number `seq + i`, so a batch of `n` entries uses `n` consecutive
//! sequence numbers and a later write to the same key in the batch wins.

use crate::coding::{get_bytes, get_varint, put_bytes, put_varint, take};
use crate::key::Kind;
use crate::{Error, Result};
use bytes::Bytes;

/// The largest key accepted, in bytes.
pub const MAX_KEY_SIZE: usize = 64 * 1024;
/// The largest value accepted, in bytes.
pub const MAX_VALUE_SIZE: usize = 64 * 1024 * 1024;
/// The default keyspace's id.
pub(crate) const DEFAULT_KEYSPACE: u32 = 0;

/// One write in a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BatchEntry {
    pub(crate) keyspace: u32,
    pub(crate) kind: Kind,
    pub(crate) key: Bytes,
    pub(crate) value: Bytes,
}

/// Writes to be applied atomically by [`crate::Db::write`]: after a crash either all of them
/// are present or none.
///
/// ```
/// let mut batch = strata_engine::WriteBatch::new();
/// batch.put("a", "1").delete("b");
/// assert_eq!(batch.len(), 2);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteBatch {
    pub(crate) entries: Vec<BatchEntry>,
    size: usize,
}

impl WriteBatch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a put of `key` → `value`.
    pub fn put(&mut self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> &mut Self {
        self.push(
            DEFAULT_KEYSPACE,
            Kind::Put,
            Bytes::copy_from_slice(key.as_ref()),
            Bytes::copy_from_slice(value.as_ref()),
        );
        self
    }

    /// Adds a deletion of `key`.
    pub fn delete(&mut self, key: impl AsRef<[u8]>) -> &mut Self {
        self.push(
            DEFAULT_KEYSPACE,
            Kind::Delete,
            Bytes::copy_from_slice(key.as_ref()),
            Bytes::new(),
        );
        self
    }

    fn push(&mut self, keyspace: u32, kind: Kind, key: Bytes, value: Bytes) {
        self.size += key.len() + value.len() + 16;
        self.entries.push(BatchEntry {
            keyspace,
            kind,
            key,
            value,
        });
    }

    /// The number of writes in the batch.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the batch holds no writes.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// An estimate of the batch's size in memory and in the WAL, in bytes.
    pub fn approximate_size(&self) -> usize {
        self.size
    }

    /// Removes every write.
    pub fn clear(&mut self) {
        self.entries.clear();
        self.size = 0;
    }

    /// Checks every key and value against the size limits.
    pub(crate) fn validate(&self) -> Result<()> {
        for e in &self.entries {
            if e.key.len() > MAX_KEY_SIZE {
                return Err(Error::InvalidArgument(format!(
                    "key of {} bytes exceeds the limit of {MAX_KEY_SIZE} bytes",
                    e.key.len()
                )));
            }
            if e.value.len() > MAX_VALUE_SIZE {
                return Err(Error::InvalidArgument(format!(
                    "value of {} bytes exceeds the limit of {MAX_VALUE_SIZE} bytes",
                    e.value.len()
                )));
            }
        }
        if self.entries.len() as u64 > u64::from(u32::MAX) {
            return Err(Error::InvalidArgument("batch holds too many writes".into()));
        }
        Ok(())
    }

    /// Appends the WAL encoding of this batch, with first sequence number `seq`, to `buf`.
    pub(crate) fn encode(&self, seq: u64, buf: &mut Vec<u8>) {
        buf.reserve(self.size + 12);
        buf.extend_from_slice(&seq.to_le_bytes());
        buf.extend_from_slice(&(self.entries.len() as u32).to_le_bytes());
        for e in &self.entries {
            buf.push(e.kind as u8);
            put_varint(buf, u64::from(e.keyspace));
            put_bytes(buf, &e.key);
            if e.kind == Kind::Put {
                put_bytes(buf, &e.value);
            }
        }
    }
}

/// A batch decoded from the WAL.
#[derive(Debug)]
pub(crate) struct DecodedBatch {
    pub(crate) seq: u64,
    pub(crate) entries: Vec<BatchEntry>,
}

/// Decodes a WAL record payload; the error says which part was bad.
pub(crate) fn decode(payload: &Bytes) -> std::result::Result<DecodedBatch, String> {
    let mut src: &[u8] = payload;
    let head = take(&mut src, 12).ok_or("batch header truncated")?;
    let mut seq_bytes = [0u8; 8];
    seq_bytes.copy_from_slice(&head[..8]);
    let seq = u64::from_le_bytes(seq_bytes);
    let mut count_bytes = [0u8; 4];
    count_bytes.copy_from_slice(&head[8..]);
    let count = u32::from_le_bytes(count_bytes) as usize;
    // Each entry takes at least 3 bytes; don't trust the count for allocation beyond that.
    let mut entries = Vec::with_capacity(count.min(src.len() / 3 + 1));
    let slice = |s: &[u8]| payload.slice_ref(s);
    for i in 0..count {
        let kind_byte = *take(&mut src, 1)
            .and_then(|b| b.first())
            .ok_or_else(|| format!("entry {i} of {count}: truncated"))?;
        let kind = Kind::from_u8(kind_byte)
            .ok_or_else(|| format!("entry {i} of {count}: unknown kind {kind_byte}"))?;
        let keyspace = get_varint(&mut src)
            .and_then(|v| u32::try_from(v).ok())
            .ok_or_else(|| format!("entry {i} of {count}: bad keyspace id"))?;
        let key = get_bytes(&mut src).ok_or_else(|| format!("entry {i} of {count}: bad key"))?;
        let value = if kind == Kind::Put {
            slice(get_bytes(&mut src).ok_or_else(|| format!("entry {i} of {count}: bad value"))?)
        } else {
            Bytes::new()
        };
        entries.push(BatchEntry {
            keyspace,
            kind,
            key: slice(key),
            value,
        });
    }
    if !src.is_empty() {
        return Err(format!(
            "{} trailing bytes after {count} entries",
            src.len()
        ));
    }
    Ok(DecodedBatch { seq, entries })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip() {
        let mut b = WriteBatch::new();
        b.put("k1", "v1").delete("k2").put("", "");
        let mut buf = Vec::new();
        b.encode(42, &mut buf);
        let d = decode(&Bytes::from(buf)).unwrap();
        assert_eq!(d.seq, 42);
        assert_eq!(d.entries, b.entries);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let mut b = WriteBatch::new();
        b.put("key", "value");
        let mut buf = Vec::new();
        b.encode(1, &mut buf);
        for cut in 0..buf.len() {
            assert!(decode(&Bytes::copy_from_slice(&buf[..cut])).is_err());
        }
        let mut bad = buf.clone();
        bad[12] = 9;
        assert!(decode(&Bytes::from(bad))
            .unwrap_err()
            .contains("unknown kind"));
    }

    #[test]
    fn oversized_keys_and_values_are_rejected() {
        let mut b = WriteBatch::new();
        b.put(vec![0u8; MAX_KEY_SIZE + 1], "v");
        assert!(matches!(b.validate(), Err(Error::InvalidArgument(_))));
        let mut b = WriteBatch::new();
        b.put("k", vec![0u8; MAX_VALUE_SIZE + 1]);
        assert!(matches!(b.validate(), Err(Error::InvalidArgument(_))));
    }
}
