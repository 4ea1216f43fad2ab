//! Entry points for the fuzz targets (`fuzz/`, and the replay test of their corpora): every
//! decoder of what the engine reads from disk, fed arbitrary bytes. Each returns an error or
//! a value; a panic, a hang or an allocation sized by an unchecked length is a bug. Not part
//! of the supported API.

use crate::fs::RandomAccessFile;
use crate::iter::InternalIterator;
use crate::sstable::{Block, BlockCache, BlockIter, Bloom, Table};
use crate::wal::{DamagePolicy, LogReader};
use crate::Result;
use bytes::Bytes;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;

/// A file held in memory.
struct InMemory(Vec<u8>);

impl RandomAccessFile for InMemory {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        let start = usize::try_from(offset)
            .ok()
            .filter(|&s| s <= self.0.len())
            .ok_or_else(|| io::Error::from(io::ErrorKind::UnexpectedEof))?;
        let end = start
            .checked_add(buf.len())
            .filter(|&e| e <= self.0.len())
            .ok_or_else(|| io::Error::from(io::ErrorKind::UnexpectedEof))?;
        buf.copy_from_slice(&self.0[start..end]);
        Ok(())
    }

    fn len(&self) -> u64 {
        self.0.len() as u64
    }
}

/// Reads `data` as a write-ahead log under each damage policy, decoding every record as a
/// write batch (as recovery does); returns the entries decoded.
pub fn read_wal(data: &[u8]) -> usize {
    let file: Arc<dyn RandomAccessFile> = Arc::new(InMemory(data.to_vec()));
    let mut entries = 0;
    for policy in [
        DamagePolicy::TornTail,
        DamagePolicy::TruncationOnly,
        DamagePolicy::StopAtDamage,
    ] {
        let mut reader = LogReader::new(file.clone(), PathBuf::from("fuzz.log"), policy);
        // Each record is at least one byte of input: the loop is bounded.
        while let Ok(Some((record, _offset))) = reader.next_record() {
            if let Ok(batch) = crate::batch::decode_at(&record, 1) {
                entries += batch.entries.len();
            }
        }
    }
    entries
}

/// Reads `data` as a manifest: log records decoded as version edits (as recovery does);
/// returns the edits decoded.
pub fn read_manifest(data: &[u8]) -> usize {
    let file: Arc<dyn RandomAccessFile> = Arc::new(InMemory(data.to_vec()));
    let mut reader = LogReader::new(
        file,
        PathBuf::from("MANIFEST-fuzz"),
        DamagePolicy::TruncationOnly,
    );
    let mut edits = 0;
    while let Ok(Some((record, _))) = reader.next_record() {
        if let Ok(edit) = crate::manifest::VersionEdit::decode(&record) {
            // Encoding what was decoded must not fail either.
            let _ = edit.encode();
            edits += 1;
        }
    }
    edits
}

/// Decodes a version edit from `data` directly (the record format under the manifest's log
/// framing).
pub fn decode_version_edit(data: &[u8]) -> bool {
    crate::manifest::VersionEdit::decode(data)
        .map(|e| e.encode())
        .is_ok()
}

/// Opens `data` as a table file and walks it: every entry forwards and backwards, then
/// point lookups of the keys found (through the bloom filter and index). Returns the
/// entries seen, or the first error.
pub fn read_table(data: &[u8]) -> Result<usize> {
    let file: Arc<dyn RandomAccessFile> = Arc::new(InMemory(data.to_vec()));
    let table = Arc::new(Table::open(
        file,
        PathBuf::from("000001.sst"),
        1,
        Arc::new(BlockCache::new(1 << 20)),
    )?);
    let mut it = table.iter();
    let keys = walk(&mut it)?;
    for k in keys.iter().take(64) {
        let user = crate::key::user_key(k);
        table.get(
            user,
            crate::sstable::key_hash(user),
            crate::key::MAX_SEQUENCE,
        )?;
        it.seek(k)?;
    }
    Ok(keys.len())
}

/// Decodes `data` as a data or index block and walks it both ways; returns the entries.
pub fn read_block(data: &[u8]) -> Result<usize> {
    let block = Arc::new(Block::new(
        Bytes::copy_from_slice(data),
        Arc::new(PathBuf::from("fuzz.sst")),
        0,
    )?);
    let mut it = BlockIter::new(block);
    let keys = walk(&mut it)?;
    for k in keys.iter().take(64) {
        it.seek(k)?;
    }
    Ok(keys.len())
}

/// Walks `it` forwards (collecting the keys) and then backwards.
fn walk(it: &mut impl InternalIterator) -> Result<Vec<Vec<u8>>> {
    it.seek_to_first()?;
    let mut keys = Vec::new();
    while it.valid() {
        keys.push(it.key().to_vec());
        it.next()?;
    }
    it.seek_to_last()?;
    while it.valid() {
        it.prev()?;
    }
    Ok(keys)
}

/// Decodes `data` as a bloom filter and probes it.
pub fn read_filter(data: &[u8]) -> bool {
    match Bloom::decode(data.to_vec()) {
        Some(bloom) => {
            bloom.may_contain_hash(crate::sstable::key_hash(b"key"))
                | bloom.may_contain_hash(crate::sstable::key_hash(data))
        }
        None => false,
    }
}
