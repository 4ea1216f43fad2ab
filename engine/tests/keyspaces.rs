//! Keyspaces: independent trees sharing one WAL. Cross-keyspace batches are atomic through
//! power loss; drops are durable, free only the dropped keyspace's files, and are consistent
//! whatever point a crash interrupts them at; options are per keyspace and persist.

#![allow(clippy::unwrap_used, reason = "test code: a panic is a failed test")]

use std::io::ErrorKind;
use std::path::Path;
use std::sync::Arc;
use strata_engine::fs::{FaultOp, FaultRule, FileSystem, MemFs};
use strata_engine::{Compression, Db, Error, KeyspaceOptions, Options, WriteBatch, WriteOptions};

const DIR: &str = "/db";

fn options(fs: &MemFs) -> Options {
    Options::default()
        .file_system(Arc::new(fs.clone()))
        .write_buffer_size(64 * 1024)
}

fn table_files(fs: &MemFs) -> usize {
    fs.list_dir(Path::new(DIR))
        .unwrap()
        .iter()
        .filter(|n| n.ends_with(".sst"))
        .count()
}

fn count(ks: &strata_engine::Keyspace) -> usize {
    let mut n = 0;
    for entry in ks.iter() {
        entry.unwrap();
        n += 1;
    }
    n
}

#[test]
fn keyspaces_are_independent_and_persist_with_their_options() {
    let fs = MemFs::new();
    let db = Db::open(DIR, options(&fs)).unwrap();
    let plain = db
        .open_keyspace(
            "plain",
            KeyspaceOptions::new().compression(Compression::None),
        )
        .unwrap();
    let packed = db
        .open_keyspace(
            "packed",
            KeyspaceOptions::new().compression(Compression::Zstd { level: 3 }),
        )
        .unwrap();
    let value = "abcdefgh".repeat(32);
    for i in 0..2000 {
        plain.put(format!("k{i:05}"), &value).unwrap();
        packed.put(format!("k{i:05}"), &value).unwrap();
    }
    db.put("k00001", "default").unwrap();
    db.flush().unwrap();
    assert_eq!(
        db.keyspace_names(),
        ["default", "packed", "plain"].map(String::from)
    );
    assert_eq!(plain.get("k00001").unwrap().unwrap(), value.as_bytes());
    assert_eq!(db.get("k00001").unwrap().as_deref(), Some(&b"default"[..]));
    assert_eq!(count(&db.default_keyspace()), 1);
    drop((plain, packed));
    db.close().unwrap();

    let db = Db::open(DIR, options(&fs)).unwrap();
    assert_eq!(db.keyspace_names().len(), 3);
    // The options stored at creation win over the ones given at reopen.
    let plain = db
        .open_keyspace(
            "plain",
            KeyspaceOptions::new().compression(Compression::Zstd { level: 3 }),
        )
        .unwrap();
    let packed = db.existing_keyspace("packed").unwrap();
    assert_eq!(count(&plain), 2000);
    assert_eq!(count(&packed), 2000);
    plain.compact_range::<&[u8], _>(..).unwrap();
    packed.compact_range::<&[u8], _>(..).unwrap();
    let plain_bytes = plain.disk_size().unwrap();
    let packed_bytes = packed.disk_size().unwrap();
    let default_bytes = db.default_keyspace().disk_size().unwrap();
    assert_eq!(
        plain_bytes + packed_bytes + default_bytes,
        db.stats().table_bytes()
    );
    assert!(
        packed_bytes * 4 < plain_bytes,
        "zstd keyspace {packed_bytes} bytes vs uncompressed {plain_bytes}"
    );
    assert!(matches!(
        db.existing_keyspace("nope"),
        Err(Error::KeyspaceNotFound { .. })
    ));
    assert!(matches!(db.keyspace(""), Err(Error::InvalidArgument(_))));
    assert!(matches!(
        db.drop_keyspace("default"),
        Err(Error::InvalidArgument(_))
    ));
}

#[test]
fn cross_keyspace_batches_survive_power_loss_as_a_unit() {
    for synced_every in [1, 7, 1000] {
        let fs = MemFs::new();
        let db = Db::open(DIR, options(&fs)).unwrap();
        let a = db.keyspace("a").unwrap();
        let b = db.keyspace("b").unwrap();
        let mut acked_synced = 0;
        for i in 0..3000u32 {
            let mut batch = WriteBatch::new();
            batch.put_in(&a, format!("{i:06}"), format!("a{i}"));
            batch.put_in(&b, format!("{i:06}"), format!("b{i}"));
            batch.put(format!("{i:06}"), "d");
            let sync = i % synced_every == 0;
            db.write(batch, WriteOptions::new().sync(sync)).unwrap();
            if sync {
                acked_synced = i + 1;
            }
        }
        db.abandon();
        drop((a, b));
        fs.crash();
        let db = Db::open(DIR, options(&fs)).unwrap();
        let a = db.existing_keyspace("a").unwrap();
        let b = db.existing_keyspace("b").unwrap();
        let (na, nb, nd) = (count(&a), count(&b), count(&db.default_keyspace()));
        assert_eq!((na, nb), (nd, nd), "a batch was split across keyspaces");
        assert!(
            na >= acked_synced as usize,
            "lost synced batches: {na} < {acked_synced}"
        );
        // A prefix of the commit order.
        for (i, e) in a.iter().enumerate() {
            assert_eq!(e.unwrap().0, format!("{i:06}").as_bytes());
        }
    }
}

#[test]
fn a_dropped_keyspace_frees_only_its_files_and_its_handles_fail() {
    let fs = MemFs::new();
    let db = Db::open(DIR, options(&fs)).unwrap();
    let keep = db.keyspace("keep").unwrap();
    let gone = db.keyspace("gone").unwrap();
    for i in 0..3000 {
        keep.put(format!("k{i:05}"), "v".repeat(50)).unwrap();
        gone.put(format!("k{i:05}"), "v".repeat(50)).unwrap();
    }
    db.flush().unwrap();
    let before = table_files(&fs);
    let iter = gone.iter(); // an open iterator keeps reading the dropped keyspace's files
    db.drop_keyspace("gone").unwrap();
    assert_eq!(iter.count(), 3000);
    let after = table_files(&fs);
    assert!(after < before, "no file was freed: {before} -> {after}");
    assert!(matches!(
        gone.get("k00001"),
        Err(Error::KeyspaceNotFound { .. })
    ));
    assert!(matches!(
        gone.put("k", "v"),
        Err(Error::KeyspaceNotFound { .. })
    ));
    assert!(gone.iter().next().unwrap().is_err());
    assert_eq!(count(&keep), 3000);
    // A new keyspace under the same name starts empty; the old handle still fails.
    let again = db.keyspace("gone").unwrap();
    assert_eq!(count(&again), 0);
    again.put("fresh", "1").unwrap();
    assert!(gone.get("fresh").is_err());
    drop((keep, gone, again));
    db.close().unwrap();
    let db = Db::open(DIR, options(&fs)).unwrap();
    assert_eq!(count(&db.existing_keyspace("keep").unwrap()), 3000);
    assert_eq!(count(&db.existing_keyspace("gone").unwrap()), 1);
}

#[test]
fn a_drop_interrupted_by_power_loss_at_any_point_is_all_or_nothing() {
    let (mut kept, mut dropped_ok) = (0, 0);
    for n in 0..6 {
        let fs = MemFs::new();
        let db = Db::open(DIR, options(&fs)).unwrap();
        let keep = db.keyspace("keep").unwrap();
        let gone = db.keyspace("gone").unwrap();
        for i in 0..2000 {
            let mut batch = WriteBatch::new();
            batch.put_in(&keep, format!("k{i:05}"), "x".repeat(40));
            batch.put_in(&gone, format!("k{i:05}"), "y".repeat(40));
            db.write(batch, WriteOptions::new().sync(i % 100 == 99))
                .unwrap();
        }
        // Flushed files and unflushed WAL entries of the keyspace, then the drop.
        db.flush().unwrap();
        for i in 0..500 {
            gone.put(format!("late{i:04}"), "z").unwrap();
        }
        db.write(WriteBatch::new(), WriteOptions::new().sync(true))
            .unwrap();
        keep.put("sync", "1").unwrap();
        fs.inject(
            FaultRule::new(FaultOp::Sync, ErrorKind::Other)
                .after(n)
                .sticky(),
        );
        fs.inject(
            FaultRule::new(FaultOp::SyncDir, ErrorKind::Other)
                .after(n)
                .sticky(),
        );
        let dropped = db.drop_keyspace("gone");
        db.abandon();
        drop((keep, gone));
        fs.clear_faults();
        fs.crash();
        let db = Db::open(DIR, options(&fs)).unwrap_or_else(|e| panic!("n={n}: {e}"));
        let keep = db.existing_keyspace("keep").unwrap();
        assert_eq!(count(&keep), 2000, "n={n}");
        match db.existing_keyspace("gone") {
            Ok(gone) => {
                assert!(dropped.is_err(), "n={n}: an acknowledged drop came back");
                let n_gone = count(&gone);
                assert!(
                    n_gone >= 2000,
                    "n={n}: {n_gone} keys left in an undropped keyspace"
                );
                kept += 1;
            }
            Err(Error::KeyspaceNotFound { .. }) => {
                // Its files are deleted at open; only "keep"'s remain.
                db.flush().unwrap();
                keep.compact_range::<&[u8], _>(..).unwrap();
                let files = table_files(&fs);
                assert!(files <= 2, "n={n}: {files} table files after the drop");
                dropped_ok += 1;
            }
            Err(e) => panic!("n={n}: {e}"),
        }
    }
    // The crash points cover both outcomes.
    assert!(
        kept > 0 && dropped_ok > 0,
        "kept {kept}, dropped {dropped_ok}"
    );
}

#[test]
fn checkpoints_carry_every_keyspace() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path().join("db"), Options::default()).unwrap();
    let users = db.keyspace("users").unwrap();
    for i in 0..100 {
        users.put(format!("u{i}"), "x").unwrap();
        db.put(format!("d{i}"), "y").unwrap();
    }
    db.checkpoint(dir.path().join("copy")).unwrap();
    let copy = Db::open(dir.path().join("copy"), Options::default()).unwrap();
    assert_eq!(count(&copy.existing_keyspace("users").unwrap()), 100);
    assert_eq!(count(&copy.default_keyspace()), 100);
    // Keyspace ids continue where the original left off.
    let more = copy.keyspace("more").unwrap();
    more.put("a", "b").unwrap();
    assert_eq!(count(&copy.existing_keyspace("users").unwrap()), 100);
}
