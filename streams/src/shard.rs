//! Shards: their metadata, lineage, and the identifiers and sequence numbers in DynamoDB
//! Streams' textual forms.

use serde::{Deserialize, Serialize};

/// What the log stores about one shard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardMeta {
    /// The shard's number, unique in its log.
    pub number: u32,
    /// The epoch (generation of shards) it belongs to; its records live in that epoch's
    /// keyspace.
    pub epoch: u32,
    /// The shard of the previous epoch it succeeds, if any.
    pub parent: Option<u32>,
    /// When it was opened (milliseconds since the Unix epoch).
    pub created_ms: u64,
    /// Every record in it has a sequence number above this.
    pub after_seq: u64,
    /// Set when closed: no record in it has a sequence number above this.
    pub end_seq: Option<u64>,
    /// When it was closed.
    pub closed_ms: Option<u64>,
}

impl ShardMeta {
    /// The shard id in DynamoDB's form: `shardId-<20 digits>-<8 hex digits>`.
    pub fn id(&self) -> String {
        shard_id(self.created_ms, self.number)
    }

    /// The parent's id, if there is a parent.
    pub fn parent_id(&self, parent_created_ms: u64) -> Option<String> {
        self.parent.map(|p| shard_id(parent_created_ms, p))
    }
}

/// `shardId-<creation time, 20 digits>-<shard number, 8 hex digits>` (41 characters, inside
/// the 28–65 the SDKs accept).
pub fn shard_id(created_ms: u64, number: u32) -> String {
    format!("shardId-{created_ms:020}-{number:08x}")
}

/// The shard number in a shard id.
pub fn parse_shard_id(id: &str) -> Option<u32> {
    let hex = id.strip_prefix("shardId-")?.rsplit('-').next()?;
    if hex.len() != 8 {
        return None;
    }
    u32::from_str_radix(hex, 16).ok()
}

/// A sequence number as DynamoDB Streams writes it: decimal, at least 21 digits.
pub fn format_sequence(seq: u64) -> String {
    format!("{seq:021}")
}

/// Parses a sequence number (21 to 40 decimal digits).
pub fn parse_sequence(s: &str) -> Option<u64> {
    if !(21..=40).contains(&s.len()) || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn ids_and_sequence_numbers_round_trip() {
        let id = shard_id(1_700_000_000_123, 0x2a);
        assert_eq!(id, "shardId-00000001700000000123-0000002a");
        assert!((28..=65).contains(&id.len()));
        assert_eq!(parse_shard_id(&id), Some(42));
        assert_eq!(parse_shard_id("shardId-1-zz"), None);
        let s = format_sequence(123);
        assert_eq!(s.len(), 21);
        assert_eq!(parse_sequence(&s), Some(123));
        assert_eq!(parse_sequence("123"), None);
        assert_eq!(
            parse_sequence(&format!("{}", u64::MAX)),
            None,
            "20 digits is too short"
        );
        assert_eq!(parse_sequence(&format!("0{}", u64::MAX)), Some(u64::MAX));
        assert_eq!(parse_sequence("9".repeat(40).as_str()), None, "beyond u64");
    }
}
