//! Sorted string tables: immutable files of internal keys, written by flushes (and later
//! compactions) and read through the block cache. The file format is described in `format.rs`.

mod block;
mod builder;
mod cache;
mod filter;
mod format;
mod index;
mod reader;

pub(crate) use block::{Block, BlockBuilder, BlockIter};
pub(crate) use builder::{TableBuilder, TableBuilderOptions};
pub use cache::BlockCache;
pub(crate) use filter::{Bloom, BloomBuilder};
pub(crate) use reader::{key_hash, Table, TableIter};

use crate::coding::{get_varint, put_varint};

/// Facts about a table, stored in its props block.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct TableProps {
    pub(crate) num_entries: u64,
    pub(crate) num_deletions: u64,
    pub(crate) smallest_seq: u64,
    pub(crate) largest_seq: u64,
    pub(crate) raw_key_bytes: u64,
    pub(crate) raw_value_bytes: u64,
}

/// Props block format version. Written to disk: never change.
const PROPS_VERSION: u64 = 1;

impl TableProps {
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for v in [
            PROPS_VERSION,
            self.num_entries,
            self.num_deletions,
            self.smallest_seq,
            self.largest_seq,
            self.raw_key_bytes,
            self.raw_value_bytes,
        ] {
            put_varint(&mut out, v);
        }
        out
    }

    fn decode(mut src: &[u8]) -> Result<TableProps, String> {
        let mut next = |name: &str| get_varint(&mut src).ok_or(format!("props: bad {name}"));
        let version = next("version")?;
        if version != PROPS_VERSION {
            return Err(format!("props: unsupported version {version}"));
        }
        Ok(TableProps {
            num_entries: next("num_entries")?,
            num_deletions: next("num_deletions")?,
            smallest_seq: next("smallest_seq")?,
            largest_seq: next("largest_seq")?,
            raw_key_bytes: next("raw_key_bytes")?,
            raw_value_bytes: next("raw_value_bytes")?,
        })
    }
}

#[cfg(test)]
mod tests;
