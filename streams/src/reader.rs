//! Reading shards: iterators of DynamoDB Streams' four kinds and `get_records`.

use crate::error::{Result, StreamError};
use crate::log::{now_ms, ChangeLog};
use crate::shard::{format_sequence, ShardMeta};
use base64::Engine as _;
use bytes::Bytes;
use std::ops::Bound;

/// The most records one `get_records` returns.
pub const MAX_RECORDS: usize = 1000;
/// The most payload bytes one `get_records` returns.
pub const MAX_BYTES: usize = 1024 * 1024;
/// How long an iterator handed out as a token stays valid.
pub const ITERATOR_LIFETIME_MS: u64 = 15 * 60 * 1000;

/// Where a new iterator starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IteratorType {
    /// The oldest record the shard still has.
    TrimHorizon,
    /// Just after the newest record at the time the iterator is made.
    Latest,
    /// At the record with this sequence number (or the first after it).
    AtSequenceNumber(u64),
    /// Just after this sequence number.
    AfterSequenceNumber(u64),
}

/// A position in one shard: records with sequence numbers above `after` come next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardIterator {
    /// The shard.
    pub shard: u32,
    /// Every record at or below this was read.
    pub after: u64,
    /// When the iterator was made (milliseconds), for expiry of tokens.
    pub issued_ms: u64,
}

impl ShardIterator {
    /// An opaque token for the wire.
    pub fn to_token(&self, log: &str) -> String {
        let raw = format!("{}|{}|{}|{}", self.shard, self.after, self.issued_ms, log);
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
    }

    /// Reads a token back: the log name and the iterator; `ExpiredIterator` past 15 minutes.
    pub fn from_token(token: &str) -> Result<(String, ShardIterator)> {
        let bad = || StreamError::Validation("Invalid ShardIterator".into());
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(token)
            .map_err(|_| bad())?;
        let raw = String::from_utf8(raw).map_err(|_| bad())?;
        let mut parts = raw.splitn(4, '|');
        let mut num =
            || -> Result<u64> { parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad) };
        let shard = u32::try_from(num()?).map_err(|_| bad())?;
        let after = num()?;
        let issued_ms = num()?;
        let log = parts.next().ok_or_else(bad)?.to_owned();
        if now_ms().saturating_sub(issued_ms) > ITERATOR_LIFETIME_MS {
            return Err(StreamError::ExpiredIterator(
                "Iterator expired. The iterator was created more than 15 minutes ago.".into(),
            ));
        }
        Ok((
            log,
            ShardIterator {
                shard,
                after,
                issued_ms,
            },
        ))
    }
}

/// One record read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The commit sequence number.
    pub seq: u64,
    /// The shard it is in.
    pub shard: u32,
    /// What was appended.
    pub payload: Bytes,
}

impl Record {
    /// The sequence number in DynamoDB Streams' form.
    pub fn sequence_number(&self) -> String {
        format_sequence(self.seq)
    }
}

/// A `get_records` answer.
#[derive(Debug, Clone)]
pub struct Records {
    /// The records, in order.
    pub records: Vec<Record>,
    /// Where to continue; `None` once a closed shard is drained.
    pub next: Option<ShardIterator>,
}

/// The engine key of `shard`'s record at `seq`: shard number then sequence number, both
/// big-endian, so a shard's records are contiguous and in commit order.
pub(crate) fn record_key(shard: u32, seq: u64) -> Vec<u8> {
    let mut k = shard.to_be_bytes().to_vec();
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

fn not_found(shard: u32) -> StreamError {
    StreamError::ResourceNotFound(format!(
        "Requested resource not found: Shard {shard} does not exist"
    ))
}

/// The record stored under engine key `key` with value `payload`; `None` if the key is not
/// a record of `shard` (the scan went past it).
pub(crate) fn parse_record(shard: u32, key: &[u8], payload: Bytes) -> Option<Record> {
    if key.len() != 4 + strata_engine::VERSIONSTAMP_SIZE || key[..4] != shard.to_be_bytes() {
        return None;
    }
    Some(Record {
        seq: strata_engine::versionstamp(&key[4..])?,
        shard,
        payload,
    })
}

impl ChangeLog {
    fn existing_shard(&self, shard: u32) -> Result<ShardMeta> {
        self.shard(shard)?.ok_or_else(|| not_found(shard))
    }

    /// A new iterator on `shard`.
    pub fn iterator(&self, shard: u32, kind: IteratorType) -> Result<ShardIterator> {
        let meta = self.existing_shard(shard)?;
        let after = match kind {
            IteratorType::TrimHorizon => meta.after_seq,
            IteratorType::Latest => {
                let last = self.db().last_sequence();
                meta.end_seq
                    .map_or(last, |e| e.min(last))
                    .max(meta.after_seq)
            }
            IteratorType::AtSequenceNumber(s) | IteratorType::AfterSequenceNumber(s) => {
                if s <= meta.after_seq || meta.end_seq.is_some_and(|e| s > e) {
                    return Err(StreamError::Validation(format!(
                        "Invalid SequenceNumber for ShardIterator: {} is not in shard {}",
                        format_sequence(s),
                        meta.id()
                    )));
                }
                if matches!(kind, IteratorType::AtSequenceNumber(_)) {
                    s - 1
                } else {
                    s
                }
            }
        };
        Ok(ShardIterator {
            shard,
            after,
            issued_ms: now_ms(),
        })
    }

    /// Up to `limit` (at most 1000) records after `iter`, at most 1 MB of payload, and where
    /// to go on. A closed shard, once read to its end, gives no next iterator.
    pub fn get_records(&self, iter: &ShardIterator, limit: usize) -> Result<Records> {
        if !(1..=MAX_RECORDS).contains(&limit) {
            return Err(StreamError::Validation(format!(
                "1 validation error detected: Value '{limit}' at 'limit' failed to satisfy constraint: Member must have value {} 1000",
                if limit == 0 { "greater than or equal to 1, and less than or equal to" } else { "less than or equal to" }
            )));
        }
        let meta = self.shard(iter.shard)?.ok_or_else(|| {
            StreamError::TrimmedDataAccess(format!(
                "The shard {} has been trimmed: its records are past the retention period",
                iter.shard
            ))
        })?;
        let Some(records) = self.records_of(&meta)? else {
            return Err(StreamError::TrimmedDataAccess(format!(
                "The records of shard {} are past the retention period",
                meta.id()
            )));
        };
        // Read at one point: every commit at or below `visible` is there, in order.
        let visible = self.db().last_sequence();
        let lo = Bound::Excluded(record_key(iter.shard, iter.after));
        let hi = Bound::Included(record_key(iter.shard, visible));
        let mut out = Vec::new();
        let mut bytes = 0;
        let mut last = iter.after;
        let mut full = false;
        for entry in records.range((lo, hi)) {
            let (k, v) = entry?;
            let record = parse_record(iter.shard, &k, v)
                .ok_or_else(|| StreamError::Corrupt("a record key of the wrong shape".into()))?;
            bytes += record.payload.len();
            last = record.seq;
            out.push(record);
            if out.len() >= limit || bytes >= MAX_BYTES {
                full = true;
                break;
            }
        }
        if !full {
            last = last.max(visible.min(meta.end_seq.unwrap_or(u64::MAX)));
        }
        let drained = !full && meta.end_seq.is_some_and(|e| last >= e);
        Ok(Records {
            records: out,
            next: (!drained).then_some(ShardIterator {
                shard: iter.shard,
                after: last,
                issued_ms: now_ms(),
            }),
        })
    }
}
