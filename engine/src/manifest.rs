//! The manifest: a log of [`VersionEdit`]s from which the file set is rebuilt on open.
//!
//! A manifest file (`MANIFEST-<number>`) uses the log format of `wal/mod.rs`; each record is one
//! edit. The first record is always a full snapshot of the state (every live file, the log
//! number, the next file number and the last sequence), so a manifest stands alone. `CURRENT`
//! names the live manifest; it is replaced atomically (write a temporary file, sync, rename,
//! sync the directory).
//!
//! Edit encoding: a sequence of fields, each a varint tag followed by its value.
//!
//! ```text
//! tag 1 LogNumber       varint   oldest WAL still needed
//! tag 2 NextFileNumber  varint
//! tag 3 LastSequence    varint   every write at or below it is in a table file
//! tag 4 AddFile         keyspace varint | level varint | number varint | size varint |
//!                       smallest bytes | largest bytes | smallest_seq varint | largest_seq varint
//! tag 5 DeleteFile      keyspace varint | level varint | number varint
//! tag 6 CreateKeyspace  keyspace varint | name bytes | options (see `TreeOptions::encode`)
//! tag 7 DropKeyspace    keyspace varint   the keyspace and all its files are gone
//! tag 8 NextKeyspaceId  varint   ids are never reused, so a dropped keyspace's WAL entries
//!                                are recognised and skipped at replay
//! ```
//!
//! Keyspace 0 is the default keyspace: it always exists and is never created or dropped.
//!
//! Tags are written to disk: never change or reuse one; a retired tag stays here as a comment.

use crate::coding::{get_bytes, get_varint, put_bytes, put_varint};
use crate::options::TreeOptions;
use crate::version::{FileMeta, NUM_LEVELS};
use bytes::Bytes;

mod tag {
    pub(super) const LOG_NUMBER: u64 = 1;
    pub(super) const NEXT_FILE_NUMBER: u64 = 2;
    pub(super) const LAST_SEQUENCE: u64 = 3;
    pub(super) const ADD_FILE: u64 = 4;
    pub(super) const DELETE_FILE: u64 = 5;
    pub(super) const CREATE_KEYSPACE: u64 = 6;
    pub(super) const DROP_KEYSPACE: u64 = 7;
    pub(super) const NEXT_KEYSPACE_ID: u64 = 8;
}

/// A change to the database's durable state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct VersionEdit {
    pub(crate) log_number: Option<u64>,
    pub(crate) next_file_number: Option<u64>,
    pub(crate) last_sequence: Option<u64>,
    /// (keyspace, level, file)
    pub(crate) added: Vec<(u32, usize, FileMeta)>,
    /// (keyspace, level, file number)
    pub(crate) deleted: Vec<(u32, usize, u64)>,
    /// Keyspaces created: (id, name, options).
    pub(crate) created: Vec<(u32, String, TreeOptions)>,
    /// Keyspaces dropped.
    pub(crate) dropped: Vec<u32>,
    pub(crate) next_keyspace_id: Option<u32>,
}

impl VersionEdit {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut buf = Vec::new();
        for (t, v) in [
            (tag::LOG_NUMBER, self.log_number),
            (tag::NEXT_FILE_NUMBER, self.next_file_number),
            (tag::LAST_SEQUENCE, self.last_sequence),
        ] {
            if let Some(v) = v {
                put_varint(&mut buf, t);
                put_varint(&mut buf, v);
            }
        }
        if let Some(id) = self.next_keyspace_id {
            put_varint(&mut buf, tag::NEXT_KEYSPACE_ID);
            put_varint(&mut buf, u64::from(id));
        }
        // Creations before files (a snapshot adds a keyspace's files after creating it), drops
        // last.
        for (id, name, opts) in &self.created {
            put_varint(&mut buf, tag::CREATE_KEYSPACE);
            put_varint(&mut buf, u64::from(*id));
            put_bytes(&mut buf, name.as_bytes());
            opts.encode(&mut buf);
        }
        for (ks, level, f) in &self.added {
            put_varint(&mut buf, tag::ADD_FILE);
            put_varint(&mut buf, u64::from(*ks));
            put_varint(&mut buf, *level as u64);
            put_varint(&mut buf, f.number);
            put_varint(&mut buf, f.size);
            put_bytes(&mut buf, &f.smallest);
            put_bytes(&mut buf, &f.largest);
            put_varint(&mut buf, f.smallest_seq);
            put_varint(&mut buf, f.largest_seq);
        }
        for (ks, level, number) in &self.deleted {
            put_varint(&mut buf, tag::DELETE_FILE);
            put_varint(&mut buf, u64::from(*ks));
            put_varint(&mut buf, *level as u64);
            put_varint(&mut buf, *number);
        }
        for id in &self.dropped {
            put_varint(&mut buf, tag::DROP_KEYSPACE);
            put_varint(&mut buf, u64::from(*id));
        }
        buf
    }

    /// Decodes an edit; the error names the field that could not be decoded.
    pub(crate) fn decode(mut src: &[u8]) -> Result<VersionEdit, String> {
        let mut edit = VersionEdit::default();
        fn num(src: &mut &[u8], field: &str) -> Result<u64, String> {
            get_varint(src).ok_or_else(|| format!("truncated or malformed {field}"))
        }
        fn keyspace(src: &mut &[u8], field: &str) -> Result<u32, String> {
            u32::try_from(num(src, field)?).map_err(|_| format!("{field}: keyspace id too large"))
        }
        fn level(src: &mut &[u8], field: &str) -> Result<usize, String> {
            let l = num(src, field)?;
            usize::try_from(l)
                .ok()
                .filter(|&l| l < NUM_LEVELS)
                .ok_or_else(|| format!("{field}: level {l} out of range"))
        }
        fn bytes(src: &mut &[u8], field: &str) -> Result<Bytes, String> {
            let b = get_bytes(src).ok_or_else(|| format!("truncated {field}"))?;
            if !crate::key::is_valid(b) {
                return Err(format!("{field} is not a valid internal key"));
            }
            Ok(Bytes::copy_from_slice(b))
        }
        while !src.is_empty() {
            let t = num(&mut src, "tag")?;
            match t {
                tag::LOG_NUMBER => edit.log_number = Some(num(&mut src, "log number")?),
                tag::NEXT_FILE_NUMBER => {
                    edit.next_file_number = Some(num(&mut src, "next file number")?)
                }
                tag::LAST_SEQUENCE => edit.last_sequence = Some(num(&mut src, "last sequence")?),
                tag::ADD_FILE => {
                    let ks = keyspace(&mut src, "added file's keyspace")?;
                    let level = level(&mut src, "added file's level")?;
                    let meta = FileMeta {
                        number: num(&mut src, "added file's number")?,
                        size: num(&mut src, "added file's size")?,
                        smallest: bytes(&mut src, "added file's smallest key")?,
                        largest: bytes(&mut src, "added file's largest key")?,
                        smallest_seq: num(&mut src, "added file's smallest sequence")?,
                        largest_seq: num(&mut src, "added file's largest sequence")?,
                    };
                    edit.added.push((ks, level, meta));
                }
                tag::DELETE_FILE => {
                    let ks = keyspace(&mut src, "deleted file's keyspace")?;
                    let level = level(&mut src, "deleted file's level")?;
                    let number = num(&mut src, "deleted file's number")?;
                    edit.deleted.push((ks, level, number));
                }
                tag::CREATE_KEYSPACE => {
                    let id = keyspace(&mut src, "created keyspace's id")?;
                    let name = get_bytes(&mut src)
                        .and_then(|b| std::str::from_utf8(b).ok())
                        .ok_or("truncated or non-UTF-8 keyspace name")?
                        .to_owned();
                    let opts = TreeOptions::decode(&mut src)
                        .map_err(|e| format!("keyspace {name:?} options: {e}"))?;
                    edit.created.push((id, name, opts));
                }
                tag::DROP_KEYSPACE => edit.dropped.push(keyspace(&mut src, "dropped keyspace")?),
                tag::NEXT_KEYSPACE_ID => {
                    edit.next_keyspace_id = Some(keyspace(&mut src, "next keyspace id")?)
                }
                other => return Err(format!("unknown tag {other}")),
            }
        }
        Ok(edit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::{encode, Kind};

    fn sample() -> VersionEdit {
        VersionEdit {
            log_number: Some(12),
            next_file_number: Some(40),
            last_sequence: Some(123_456),
            added: vec![(
                0,
                0,
                FileMeta {
                    number: 17,
                    size: 4096,
                    smallest: encode(b"a", 3, Kind::Put),
                    largest: encode(b"zz", 9, Kind::Delete),
                    smallest_seq: 3,
                    largest_seq: 9,
                },
            )],
            deleted: vec![(0, 1, 5)],
            created: vec![
                (
                    3,
                    "events".into(),
                    TreeOptions {
                        compression: crate::Compression::Zstd { level: -3 },
                        bloom_bits_per_key: 12,
                        block_size: 8192,
                    },
                ),
                (
                    4,
                    "fast".into(),
                    TreeOptions {
                        compression: crate::Compression::Lz4,
                        bloom_bits_per_key: 10,
                        block_size: 4096,
                    },
                ),
            ],
            dropped: vec![2],
            next_keyspace_id: Some(5),
        }
    }

    #[test]
    fn roundtrip() {
        let e = sample();
        assert_eq!(VersionEdit::decode(&e.encode()).unwrap(), e);
    }

    #[test]
    fn every_truncation_and_bad_tag_is_a_named_error() {
        let buf = sample().encode();
        for cut in 1..buf.len() {
            let _ = VersionEdit::decode(&buf[..cut]); // must not panic
        }
        assert!(VersionEdit::decode(&buf[..buf.len() - 1]).is_err());
        assert_eq!(VersionEdit::decode(&[99]).unwrap_err(), "unknown tag 99");
        let mut bad_level = Vec::new();
        put_varint(&mut bad_level, tag::DELETE_FILE);
        put_varint(&mut bad_level, 0);
        put_varint(&mut bad_level, 42);
        assert!(VersionEdit::decode(&bad_level)
            .unwrap_err()
            .contains("level 42"));
    }
}
