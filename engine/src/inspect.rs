//! Inspection tools in the spirit of RocksDB's `sst_dump` and `ldb manifest_dump`: read a
//! table file or a manifest and describe it, verifying every checksum on the way (damage is
//! reported as [`Error::Corruption`] naming the file and offset, like any other read).

use crate::fs::{FileSystem, StdFs};
use crate::iter::InternalIterator;
use crate::key::{self, Kind};
use crate::manifest::VersionEdit;
use crate::sstable::{BlockCache, Table};
use crate::wal::{DamagePolicy, LogReader};
use crate::{Error, Result};
use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

fn printable(bytes: &[u8]) -> String {
    if bytes.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
        String::from_utf8_lossy(bytes).into_owned()
    } else {
        format!(
            "0x{}",
            bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
        )
    }
}

/// Describes table file `path`: its properties, and with `entries` every entry (user key,
/// sequence number, kind, value size) — reading and checksum-verifying every block.
pub fn dump_table(path: &Path, entries: bool) -> Result<String> {
    let fs = StdFs;
    let file = fs
        .open(path)
        .map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
    let table = Arc::new(Table::open(
        file,
        path.to_path_buf(),
        0,
        Arc::new(BlockCache::new(0)),
    )?);
    let p = table.props();
    let mut out = String::new();
    let _ = writeln!(out, "file: {}", path.display());
    let _ = writeln!(out, "size: {} bytes", table.size());
    let _ = writeln!(
        out,
        "entries: {} ({} deletions), sequence numbers {}..={}",
        p.num_entries, p.num_deletions, p.smallest_seq, p.largest_seq
    );
    let _ = writeln!(
        out,
        "raw key bytes: {}, raw value bytes: {}",
        p.raw_key_bytes, p.raw_value_bytes
    );
    let l = table.layout()?;
    let per_entry = |bytes: u64| bytes as f64 / p.num_entries.max(1) as f64;
    let _ = writeln!(
        out,
        "data blocks: {} ({} bytes, {:.1} per entry, {:.3} of the raw key and value bytes)",
        l.data_blocks,
        l.data_bytes,
        per_entry(l.data_bytes),
        l.data_bytes as f64 / (p.raw_key_bytes + p.raw_value_bytes).max(1) as f64
    );
    let _ = writeln!(
        out,
        "index block: {} bytes ({:.2} per entry), filter block: {} bytes ({:.2} per entry), \
         props block: {} bytes, footer: {} bytes",
        l.index_bytes,
        per_entry(l.index_bytes),
        l.filter_bytes,
        per_entry(l.filter_bytes),
        l.props_bytes,
        l.footer_bytes
    );
    let mut it = table.iter();
    it.seek_to_first()?;
    let mut n = 0u64;
    while it.valid() {
        if entries {
            let k = it.key();
            let kind = match key::kind_of(k) {
                Some(Kind::Put) => "put",
                Some(Kind::Delete) => "delete",
                None => "?",
            };
            let _ = writeln!(
                out,
                "{} @{} {kind} ({} value bytes)",
                printable(key::user_key(k)),
                key::seq_of(k),
                it.value().len()
            );
        }
        n += 1;
        it.next()?;
    }
    let _ = writeln!(
        out,
        "verified: {n} entries read, every block's checksum matched"
    );
    Ok(out)
}

/// Describes the manifest that `CURRENT` names in database directory `dir`: every edit.
pub fn dump_manifest(dir: &Path) -> Result<String> {
    let fs = StdFs;
    let current = crate::filename::current(dir);
    let name = crate::fs::read_all(&fs, &current)
        .map_err(|e| Error::io(format!("reading {}", current.display()), e))?;
    let name = String::from_utf8_lossy(&name).trim().to_owned();
    let path = dir.join(&name);
    let file = fs
        .open(&path)
        .map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
    let mut reader = LogReader::new(file, path.clone(), DamagePolicy::TruncationOnly);
    let mut out = String::new();
    let _ = writeln!(out, "manifest: {}", path.display());
    let mut n = 0;
    while let Some((record, offset)) = reader.next_record()? {
        let edit = VersionEdit::decode(&record)
            .map_err(|d| Error::corruption(&path, offset, format!("bad manifest record: {d}")))?;
        n += 1;
        let _ = writeln!(out, "edit {n} at offset {offset}:");
        if let Some(v) = edit.log_number {
            let _ = writeln!(out, "  log number {v}");
        }
        if let Some(v) = edit.next_file_number {
            let _ = writeln!(out, "  next file number {v}");
        }
        if let Some(v) = edit.last_sequence {
            let _ = writeln!(out, "  last sequence {v}");
        }
        if let Some(v) = edit.next_keyspace_id {
            let _ = writeln!(out, "  next keyspace id {v}");
        }
        for (id, name, opts) in &edit.created {
            let _ = writeln!(out, "  create keyspace #{id} {name:?} {opts:?}");
        }
        for (ks, level, f) in &edit.added {
            let _ = writeln!(
                out,
                "  add keyspace #{ks} L{level} {:06}.sst {} bytes [{} .. {}] seq {}..={}",
                f.number,
                f.size,
                printable(f.smallest_user_key()),
                printable(f.largest_user_key()),
                f.smallest_seq,
                f.largest_seq
            );
        }
        for (ks, level, number) in &edit.deleted {
            let _ = writeln!(out, "  delete keyspace #{ks} L{level} {number:06}.sst");
        }
        for id in &edit.dropped {
            let _ = writeln!(out, "  drop keyspace #{id}");
        }
    }
    if let Some((offset, detail)) = &reader.dropped_tail {
        let _ = writeln!(out, "torn tail at offset {offset}: {detail}");
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn dumps_tables_and_manifests_and_reports_damage() {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::Db::open(dir.path(), Default::default()).unwrap();
        let ks = db.keyspace("events").unwrap();
        for i in 0..100 {
            ks.put(format!("k{i:03}"), "v").unwrap();
        }
        db.delete("gone").unwrap();
        db.flush().unwrap();
        drop(ks);
        db.close().unwrap();
        let manifest = dump_manifest(dir.path()).unwrap();
        assert!(
            manifest.contains(r#"create keyspace #1 "events""#),
            "{manifest}"
        );
        assert!(manifest.contains("add keyspace #1 L0"), "{manifest}");
        let sst = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "sst"))
            .max_by_key(|p| std::fs::metadata(p).unwrap().len())
            .unwrap();
        let out = dump_table(&sst, true).unwrap();
        assert!(
            out.contains("entries: 100") && out.contains("k042 @"),
            "{out}"
        );
        assert!(out.contains("data blocks: 1 ("), "{out}");
        let mut bytes = std::fs::read(&sst).unwrap();
        bytes[20] ^= 0xff;
        std::fs::write(&sst, bytes).unwrap();
        let err = dump_table(&sst, false).unwrap_err();
        assert!(err.is_corruption(), "{err}");
    }

    #[test]
    fn a_tables_layout_accounts_for_every_byte_of_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let opts = crate::Options::default();
        let db = crate::Db::open(dir.path(), opts).unwrap();
        for i in 0..5000 {
            db.put(format!("key{i:06}"), format!("value {i} ").repeat(8))
                .unwrap();
        }
        db.flush().unwrap();
        db.close().unwrap();
        let sst = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|x| x == "sst"))
            .unwrap();
        let file = StdFs.open(&sst).unwrap();
        let table = Table::open(file, sst.clone(), 0, Arc::new(BlockCache::new(0))).unwrap();
        let l = table.layout().unwrap();
        assert!(l.data_blocks > 10, "{l:?}");
        assert_eq!(
            l.data_bytes + l.index_bytes + l.filter_bytes + l.props_bytes + l.footer_bytes,
            table.size(),
            "{l:?}"
        );
    }
}
