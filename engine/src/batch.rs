//! [`WriteBatch`]: a group of writes applied atomically, and its WAL encoding.
//!
//! A batch is kept in its WAL encoding from the start (as LevelDB does), so committing it
//! copies it once into the log and once, entry by entry, into the memtable's arena. A batch
//! is one WAL record:
//!
//! ```text
//! +-----------+-------------+----------------------------------------------+
//! | seq u64LE | count u32LE | count x entry                                |
//! +-----------+-------------+----------------------------------------------+
//! entry := flags|kind u8 | keyspace varint | [key stamp offset varint] | [value stamp offset varint]
//!          | key (varint len + bytes) | value (varint len + bytes, Put only)
//! ```
//!
//! The low bits of the first byte are the [`Kind`]; bit `0x80` says the key carries a
//! *versionstamp* and bit `0x40` that the value does, each at the offset that follows. A
//! versionstamp is the entry's own sequence number, 8 bytes big-endian, written over the
//! placeholder bytes at that offset when the batch is decoded with its sequence number (at commit
//! and again at replay, which gives the same number): keys that embed it sort in commit order.
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
/// Bytes of the record header (sequence number and count).
const HEADER: usize = 12;
/// Flag bit: the key carries a versionstamp.
const KEY_STAMP: u8 = 0x80;
/// Flag bit: the value carries a versionstamp.
const VALUE_STAMP: u8 = 0x40;
/// Bytes of a versionstamp (a big-endian sequence number).
pub const VERSIONSTAMP_SIZE: usize = 8;

/// One write in a batch, with its key and value as slices of the batch's buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BatchEntry {
    pub(crate) keyspace: u32,
    /// The key carries a versionstamp (filled in from the decoding sequence number).
    pub(crate) key_stamped: bool,
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteBatch {
    /// The WAL record: header (filled in at commit) and entries.
    rep: Vec<u8>,
    count: u32,
    /// The first problem found (a size limit broken, a bad stamp offset), reported by
    /// [`WriteBatch::validate`].
    invalid: Option<String>,
    /// The distinct keyspaces written, other than the default one.
    keyspaces: Vec<u32>,
}

impl Default for WriteBatch {
    fn default() -> Self {
        WriteBatch {
            rep: vec![0; HEADER],
            count: 0,
            invalid: None,
            keyspaces: Vec::new(),
        }
    }
}

impl WriteBatch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a put of `key` → `value`.
    pub fn put(&mut self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> &mut Self {
        self.push_raw(DEFAULT_KEYSPACE, Kind::Put, key.as_ref(), value.as_ref());
        self
    }

    /// Adds a deletion of `key`.
    pub fn delete(&mut self, key: impl AsRef<[u8]>) -> &mut Self {
        self.push_raw(DEFAULT_KEYSPACE, Kind::Delete, key.as_ref(), &[]);
        self
    }

    /// Adds a put of `key` → `value` in `keyspace`.
    pub fn put_in(
        &mut self,
        keyspace: &crate::Keyspace,
        key: impl AsRef<[u8]>,
        value: impl AsRef<[u8]>,
    ) -> &mut Self {
        self.push_raw(keyspace.id(), Kind::Put, key.as_ref(), value.as_ref());
        self
    }

    /// Adds a deletion of `key` in `keyspace`.
    pub fn delete_in(&mut self, keyspace: &crate::Keyspace, key: impl AsRef<[u8]>) -> &mut Self {
        self.push_raw(keyspace.id(), Kind::Delete, key.as_ref(), &[]);
        self
    }

    /// Adds a put whose key and/or value embed the write's own commit sequence number (a
    /// *versionstamp*, FoundationDB's versionstamped keys): the [`VERSIONSTAMP_SIZE`] bytes at
    /// `key_offset` in `key` (and at `value_offset` in `value`) are placeholders, replaced at
    /// commit by the entry's sequence number in big-endian order. Keys stamped this way sort
    /// in commit order, across concurrent committers, with no lock around the transaction.
    /// The number can be read back with [`crate::versionstamp`]. A placeholder that does not
    /// fit makes the batch invalid.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let db = strata_engine::Db::open(dir.path(), Default::default()).unwrap();
    /// let log = db.keyspace("log")?;
    /// let mut batch = strata_engine::WriteBatch::new();
    /// batch.put_versionstamped(&log, b"evt/\0\0\0\0\0\0\0\0", Some(4), "first", None);
    /// db.write(batch, Default::default())?;
    /// let (key, _) = log.iter().next().unwrap()?;
    /// assert_eq!(strata_engine::versionstamp(&key[4..]), Some(db.last_sequence()));
    /// # Ok::<(), strata_engine::Error>(())
    /// ```
    pub fn put_versionstamped(
        &mut self,
        keyspace: &crate::Keyspace,
        key: impl AsRef<[u8]>,
        key_offset: Option<usize>,
        value: impl AsRef<[u8]>,
        value_offset: Option<usize>,
    ) -> &mut Self {
        let (key, value) = (key.as_ref(), value.as_ref());
        let fits = |offset: Option<usize>, len: usize| {
            offset.is_none_or(|o| {
                o.checked_add(VERSIONSTAMP_SIZE)
                    .is_some_and(|end| end <= len)
            })
        };
        if !fits(key_offset, key.len()) || !fits(value_offset, value.len()) {
            if self.invalid.is_none() {
                self.invalid = Some(format!(
                    "a versionstamp of {VERSIONSTAMP_SIZE} bytes at key offset {key_offset:?} / value \
                     offset {value_offset:?} does not fit a key of {} and a value of {} bytes",
                    key.len(),
                    value.len()
                ));
            }
            return self;
        }
        self.push_stamped(
            keyspace.id(),
            Kind::Put,
            key,
            value,
            key_offset,
            value_offset,
        );
        self
    }

    /// Adds a write to keyspace id `keyspace`.
    pub(crate) fn push_raw(&mut self, keyspace: u32, kind: Kind, key: &[u8], value: &[u8]) {
        self.push_stamped(keyspace, kind, key, value, None, None);
    }

    fn push_stamped(
        &mut self,
        keyspace: u32,
        kind: Kind,
        key: &[u8],
        value: &[u8],
        key_stamp: Option<usize>,
        value_stamp: Option<usize>,
    ) {
        if self.invalid.is_none() {
            if key.len() > MAX_KEY_SIZE {
                self.invalid = Some(format!(
                    "key of {} bytes exceeds the limit of {MAX_KEY_SIZE} bytes",
                    key.len()
                ));
            } else if value.len() > MAX_VALUE_SIZE {
                self.invalid = Some(format!(
                    "value of {} bytes exceeds the limit of {MAX_VALUE_SIZE} bytes",
                    value.len()
                ));
            } else if self.count == u32::MAX {
                self.invalid = Some("batch holds too many writes".into());
            }
        }
        if self.invalid.is_some() {
            // Nothing more is stored: the batch will be rejected as a whole.
            return;
        }
        if keyspace != DEFAULT_KEYSPACE && !self.keyspaces.contains(&keyspace) {
            self.keyspaces.push(keyspace);
        }
        self.rep.reserve(key.len() + value.len() + 12);
        let mut flags = kind as u8;
        if key_stamp.is_some() {
            flags |= KEY_STAMP;
        }
        if value_stamp.is_some() {
            flags |= VALUE_STAMP;
        }
        self.rep.push(flags);
        put_varint(&mut self.rep, u64::from(keyspace));
        for offset in [key_stamp, value_stamp].into_iter().flatten() {
            put_varint(&mut self.rep, offset as u64);
        }
        put_bytes(&mut self.rep, key);
        if kind == Kind::Put {
            put_bytes(&mut self.rep, value);
        }
        self.count += 1;
    }

    /// The number of writes in the batch.
    pub fn len(&self) -> usize {
        self.count as usize
    }

    /// Whether the batch holds no writes.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The batch's size in the WAL, in bytes.
    pub fn approximate_size(&self) -> usize {
        self.rep.len()
    }

    /// Removes every write.
    pub fn clear(&mut self) {
        self.rep.truncate(HEADER);
        self.count = 0;
        self.invalid = None;
        self.keyspaces.clear();
    }

    /// The keyspaces written other than the default one (each once).
    pub(crate) fn keyspaces(&self) -> &[u32] {
        &self.keyspaces
    }

    /// Checks every key and value against the size limits.
    pub(crate) fn validate(&self) -> Result<()> {
        match &self.invalid {
            Some(m) => Err(Error::InvalidArgument(m.clone())),
            None => Ok(()),
        }
    }

    /// The batch as a WAL record (with a zero sequence number until committed).
    pub(crate) fn into_record(mut self) -> Bytes {
        self.rep[8..12].copy_from_slice(&self.count.to_le_bytes());
        Bytes::from(self.rep)
    }
}

/// Writes a commit's first sequence number into a batch record, appending it to `buf`.
pub(crate) fn encode_with_seq(record: &[u8], seq: u64, buf: &mut Vec<u8>) {
    buf.extend_from_slice(&seq.to_le_bytes());
    buf.extend_from_slice(&record[8..]);
}

/// The entry count of a batch record.
pub(crate) fn record_count(record: &[u8]) -> u64 {
    let mut count = [0u8; 4];
    count.copy_from_slice(&record[8..12]);
    u64::from(u32::from_le_bytes(count))
}

/// A batch decoded from the WAL.
#[derive(Debug)]
pub(crate) struct DecodedBatch {
    pub(crate) seq: u64,
    pub(crate) entries: Vec<BatchEntry>,
}

/// Reads the versionstamp (the commit sequence number) at the start of `bytes`.
pub fn versionstamp(bytes: &[u8]) -> Option<u64> {
    let stamp: [u8; VERSIONSTAMP_SIZE] = bytes.get(..VERSIONSTAMP_SIZE)?.try_into().ok()?;
    Some(u64::from_be_bytes(stamp))
}

/// A copy of `bytes` with sequence number `seq` written at `offset` (big-endian).
fn stamped(bytes: &[u8], offset: usize, seq: u64) -> Option<Bytes> {
    let mut out = bytes.to_vec();
    out.get_mut(offset..offset.checked_add(VERSIONSTAMP_SIZE)?)?
        .copy_from_slice(&seq.to_be_bytes());
    Some(Bytes::from(out))
}

/// Decodes a batch record with the sequence number in its header; keys and values are slices
/// of `record` (except versionstamped ones). The error says which part was bad.
pub(crate) fn decode(record: &Bytes) -> std::result::Result<DecodedBatch, String> {
    let mut seq_bytes = [0u8; 8];
    seq_bytes.copy_from_slice(record.get(..8).ok_or("batch header truncated")?);
    decode_at(record, u64::from_le_bytes(seq_bytes))
}

/// Decodes a batch record as if committed at sequence number `seq`.
pub(crate) fn decode_at(record: &Bytes, seq: u64) -> std::result::Result<DecodedBatch, String> {
    let mut src: &[u8] = record;
    let head = take(&mut src, HEADER).ok_or("batch header truncated")?;
    let count = record_count(head) as usize;
    // Each entry takes at least 3 bytes; don't trust the count for allocation beyond that.
    let mut entries = Vec::with_capacity(count.min(src.len() / 3 + 1));
    let slice = |s: &[u8]| record.slice_ref(s);
    for i in 0..count {
        let kind_byte = *take(&mut src, 1)
            .and_then(|b| b.first())
            .ok_or_else(|| format!("entry {i} of {count}: truncated"))?;
        let kind = Kind::from_u8(kind_byte & !(KEY_STAMP | VALUE_STAMP))
            .ok_or_else(|| format!("entry {i} of {count}: unknown kind {kind_byte}"))?;
        let keyspace = get_varint(&mut src)
            .and_then(|v| u32::try_from(v).ok())
            .ok_or_else(|| format!("entry {i} of {count}: bad keyspace id"))?;
        let mut offset = |flag: u8, what: &str| -> std::result::Result<Option<usize>, String> {
            if kind_byte & flag == 0 {
                return Ok(None);
            }
            get_varint(&mut src)
                .and_then(|v| usize::try_from(v).ok())
                .map(Some)
                .ok_or_else(|| format!("entry {i} of {count}: bad {what} stamp offset"))
        };
        let key_stamp = offset(KEY_STAMP, "key")?;
        let value_stamp = offset(VALUE_STAMP, "value")?;
        let key = get_bytes(&mut src).ok_or_else(|| format!("entry {i} of {count}: bad key"))?;
        let value = if kind == Kind::Put {
            get_bytes(&mut src).ok_or_else(|| format!("entry {i} of {count}: bad value"))?
        } else {
            &[]
        };
        let entry_seq = seq.wrapping_add(i as u64);
        let fill = |bytes: &[u8], stamp: Option<usize>, what: &str| match stamp {
            None => Ok(slice(bytes)),
            Some(o) => stamped(bytes, o, entry_seq).ok_or_else(|| {
                format!("entry {i} of {count}: {what} stamp offset {o} out of range")
            }),
        };
        entries.push(BatchEntry {
            keyspace,
            key_stamped: key_stamp.is_some(),
            kind,
            key: fill(key, key_stamp, "key")?,
            value: fill(value, value_stamp, "value")?,
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

    fn encoded(b: WriteBatch, seq: u64) -> Vec<u8> {
        let record = b.into_record();
        let mut buf = Vec::new();
        encode_with_seq(&record, seq, &mut buf);
        buf
    }

    #[test]
    fn roundtrip() {
        let mut b = WriteBatch::new();
        b.put("k1", "v1").delete("k2").put("", "");
        let d = decode(&Bytes::from(encoded(b, 42))).unwrap();
        assert_eq!(d.seq, 42);
        let got: Vec<_> = d
            .entries
            .iter()
            .map(|e| (e.kind, e.key.to_vec(), e.value.to_vec()))
            .collect();
        assert_eq!(
            got,
            [
                (Kind::Put, b"k1".to_vec(), b"v1".to_vec()),
                (Kind::Delete, b"k2".to_vec(), vec![]),
                (Kind::Put, vec![], vec![]),
            ]
        );
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let mut b = WriteBatch::new();
        b.put("key", "value");
        let buf = encoded(b, 1);
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
        b.clear();
        assert!(b.validate().is_ok());
    }
}
