//! Thin public wrappers over internal hot paths, for the criterion micro-benchmarks in
//! `bench/benches/`. Not part of the supported API.

use crate::iter::{InternalIterator, MergingIterator};
use crate::key::{self, Kind};
use crate::memtable::MemTable;
use crate::sstable::{Block, BlockBuilder, BlockIter, Bloom, BloomBuilder};
use crate::wal::LogWriter;
use crate::Result;
use bytes::Bytes;
use std::path::PathBuf;
use std::sync::Arc;

/// A memtable.
pub struct Memtable(Arc<MemTable>);

impl Default for Memtable {
    fn default() -> Self {
        Memtable(Arc::new(MemTable::new()))
    }
}

impl Memtable {
    /// Inserts a put.
    pub fn insert(&self, key: &[u8], seq: u64, value: Bytes) {
        self.0.insert(key, seq, Kind::Put, &value);
    }

    /// Looks a key up at the latest sequence number.
    pub fn get(&self, key: &[u8]) -> bool {
        self.0.get(key, key::MAX_SEQUENCE).is_some()
    }

    /// Walks every entry in order, reading each value in place; returns the value bytes seen.
    pub fn scan(&self) -> Result<usize> {
        let mut it = self.0.iter();
        it.seek_to_first()?;
        let mut bytes = 0;
        while it.valid() {
            bytes += it.value_ref().len();
            it.next()?;
        }
        Ok(bytes)
    }
}

/// Encodes sorted `(user key, value)` pairs into a block (restart interval 16).
pub fn encode_block(entries: &[(Vec<u8>, Vec<u8>)]) -> Bytes {
    let mut b = BlockBuilder::new(16);
    for (i, (k, v)) in entries.iter().enumerate() {
        b.add(&key::encode(k, i as u64 + 1, Kind::Put), v);
    }
    Bytes::from(b.finish())
}

/// Decodes a block and walks every entry; returns the count.
pub fn scan_block(data: Bytes) -> Result<usize> {
    let block = Arc::new(Block::new(data, Arc::new(PathBuf::from("bench")), 0)?);
    let mut it = BlockIter::new(block);
    it.seek_to_first()?;
    let mut n = 0;
    while it.valid() {
        n += 1;
        it.next()?;
    }
    Ok(n)
}

/// A bloom filter over some keys.
pub struct Filter(Bloom);

impl Filter {
    /// Builds a filter with `bits_per_key` over `keys`.
    pub fn build<'a>(keys: impl IntoIterator<Item = &'a [u8]>, bits_per_key: usize) -> Filter {
        let mut b = BloomBuilder::new(bits_per_key);
        for k in keys {
            b.add(k);
        }
        Filter(Bloom::decode(b.finish()).unwrap_or_else(|| unreachable!("built filters decode")))
    }

    /// Probes the filter.
    pub fn probe(&self, key: &[u8]) -> bool {
        self.0.may_contain_hash(crate::sstable::key_hash(key))
    }
}

/// A write-ahead log being appended to (no fsync).
pub struct Wal(LogWriter);

impl Wal {
    /// Creates a log file at `path` on the real file system.
    pub fn create(path: PathBuf) -> Result<Wal> {
        use crate::fs::FileSystem;
        let file = crate::fs::StdFs
            .create(&path)
            .map_err(|e| crate::Error::io("creating a bench WAL", e))?;
        Ok(Wal(LogWriter::new(file, path)))
    }

    /// Appends one record.
    pub fn append(&mut self, record: &[u8]) -> Result<()> {
        self.0.add_record(record)
    }
}

/// A merge of several memtables, for stepping through.
pub struct Merge(MergingIterator);

impl Merge {
    /// Merges `sources` memtables, each holding every `sources`-th key of `0..n`.
    pub fn new(sources: usize, n: u64) -> Result<Merge> {
        let mut children: Vec<Box<dyn InternalIterator>> = Vec::new();
        for s in 0..sources as u64 {
            let m = Arc::new(MemTable::new());
            for i in (s..n).step_by(sources) {
                m.insert(format!("{i:016}").as_bytes(), i + 1, Kind::Put, b"");
            }
            children.push(Box::new(m.iter()));
        }
        let mut merge = MergingIterator::new(children);
        merge.seek_to_first()?;
        Ok(Merge(merge))
    }

    /// Takes one step; starts over at the end. Returns the key length.
    pub fn step(&mut self) -> Result<usize> {
        if !self.0.valid() {
            self.0.seek_to_first()?;
        }
        let len = self.0.key().len();
        self.0.next()?;
        Ok(len)
    }
}
