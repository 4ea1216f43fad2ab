//! Compaction under load: space amplification converges, background errors make the database
//! read-only without losing data, throttling never deadlocks, checkpoints hold a prefix.

#![allow(clippy::unwrap_used, reason = "test code: a panic is a failed test")]

use std::io::ErrorKind;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use strata_engine::fs::{FaultOp, FaultRule, MemFs};
use strata_engine::{Compression, Db, Error, Options, WriteBatch, WriteOptions};

fn small_tree() -> Options {
    Options::default()
        .write_buffer_size(256 * 1024)
        .level_base_bytes(1 << 20)
        .target_file_size(256 * 1024)
        .compression(Compression::None)
}

fn disk_bytes(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum()
}

#[test]
fn overwriting_a_key_set_converges_to_its_live_size_after_full_compaction() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), small_tree()).unwrap();
    let keys = 20_000u32;
    let value_len = 100;
    for round in 0..6u32 {
        for chunk in (0..keys).collect::<Vec<_>>().chunks(500) {
            let mut b = WriteBatch::new();
            for k in chunk {
                // Incompressible-ish values so the ratio measures versions, not zstd.
                let v: Vec<u8> = (0..value_len)
                    .map(|i| (k.wrapping_mul(31) ^ round ^ i) as u8)
                    .collect();
                b.put(format!("key{k:08}"), v);
            }
            db.write(b, WriteOptions::default()).unwrap();
        }
        // Delete a tenth of the keys in the last round: tombstones must vanish too.
        if round == 5 {
            for k in (0..keys).step_by(10) {
                db.delete(format!("key{k:08}")).unwrap();
            }
        }
    }
    db.compact_range::<&[u8], _>(..).unwrap();
    let stats = db.stats();
    let live_keys = u64::from(keys - keys / 10);
    let logical = live_keys * (11 + value_len as u64);
    let tables = stats.table_bytes();
    let space_amp = tables as f64 / logical as f64;
    eprintln!(
        "tables {tables} B for {logical} B live data: space amplification {space_amp:.3}; levels {:?}",
        stats.levels.iter().map(|l| l.files).collect::<Vec<_>>()
    );
    assert!(space_amp <= 1.2, "space amplification {space_amp:.3} > 1.2");
    let entries: u64 = stats.levels.iter().map(|l| l.entries).sum();
    assert_eq!(entries, live_keys, "old versions or tombstones survived");
    assert_eq!(db.iter().count() as u64, live_keys);
    // Files replaced by compaction are gone from the directory once nothing reads them.
    drop(db);
    let on_disk = disk_bytes(dir.path());
    assert!(
        (on_disk as f64) < tables as f64 * 1.1 + 200_000.0,
        "obsolete files left: {on_disk} B on disk"
    );
}

/// Polls until compaction has nothing left to do (or panics after a minute).
fn wait_for_compactions(db: &Db) -> strata_engine::Stats {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let stats = db.stats();
        if stats.pending_compaction_bytes == 0 && stats.levels[0].files < 4 {
            return stats;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "compaction never settled: {stats:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn most_data_sits_in_the_last_level_and_the_levels_above_the_base_stay_empty() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), small_tree()).unwrap();
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut model = std::collections::BTreeMap::new();
    for _ in 0..100_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let key = format!("key{:012}", x % 1_000_000_000);
        let value = vec![(x >> 8) as u8; 100];
        db.put(&key, &value).unwrap();
        model.insert(key, value);
    }
    db.flush().unwrap();
    let stats = wait_for_compactions(&db);
    let per_level: Vec<u64> = stats.levels.iter().map(|l| l.bytes).collect();
    let last = per_level.len() - 1;
    let below_l0: u64 = per_level[1..].iter().sum();
    // About 11 MB in the last level with 1 MiB base: level 0 compacts into the level whose
    // target is the last one's over multiplier squared, the levels above it are empty.
    let base = (1..=last).find(|&l| per_level[l] > 0).unwrap();
    eprintln!("bytes per level {per_level:?}");
    assert!(base >= last - 2, "data above the base level: {per_level:?}");
    assert!(
        per_level[last] as f64 >= 0.8 * below_l0 as f64,
        "the last level should hold most of the data: {per_level:?}"
    );
    // Every key reads back, in order, from the reshaped tree.
    assert!(db
        .iter()
        .map(|e| e.unwrap())
        .map(|(k, v)| (String::from_utf8(k.to_vec()).unwrap(), v.to_vec()))
        .eq(model.into_iter()));
}

#[test]
fn a_flush_writes_only_the_versions_a_snapshot_or_the_latest_read_can_see() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), small_tree()).unwrap();
    let ks = db.default_keyspace();
    let keys = 300u32;
    let put_all = |version: u32| {
        for k in 0..keys {
            db.put(format!("k{k:04}"), format!("v{version}")).unwrap();
        }
    };
    put_all(1);
    put_all(2);
    let at_2 = db.snapshot();
    put_all(3);
    put_all(4);
    put_all(5);
    let at_5 = db.snapshot();
    put_all(6);
    for k in (0..keys).step_by(3) {
        db.delete(format!("k{k:04}")).unwrap();
    }
    db.flush().unwrap();
    let stats = db.stats();
    assert_eq!(stats.memtable_entries, 0);
    // Versions 2 and 5 (seen by the snapshots), and the newest: 6, or its tombstone.
    assert_eq!(stats.levels[0].entries, u64::from(keys) * 3);
    for k in 0..keys {
        let key = format!("k{k:04}");
        let latest = db.get(&key).unwrap();
        if k % 3 == 0 {
            assert_eq!(latest, None, "{key}");
        } else {
            assert_eq!(latest.as_deref(), Some(&b"v6"[..]), "{key}");
        }
        assert_eq!(at_2.get(&ks, &key).unwrap().as_deref(), Some(&b"v2"[..]));
        assert_eq!(at_5.get(&ks, &key).unwrap().as_deref(), Some(&b"v5"[..]));
    }
    // With the snapshots gone, a flush keeps the newest version of each key alone.
    drop((at_2, at_5));
    put_all(7);
    put_all(8);
    db.flush().unwrap();
    let stats = db.stats();
    assert_eq!(stats.levels[0].entries, u64::from(keys) * 4);
    for k in 0..keys {
        assert_eq!(
            db.get(format!("k{k:04}")).unwrap().as_deref(),
            Some(&b"v8"[..])
        );
    }
}

#[test]
fn snapshot_iterators_keep_reading_files_that_compaction_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), small_tree()).unwrap();
    for i in 0..20_000u32 {
        db.put(format!("{i:08}"), format!("old{i}")).unwrap();
    }
    db.flush().unwrap();
    let mut it = db.iter();
    let first = it.next().unwrap().unwrap();
    for i in 0..20_000u32 {
        db.put(format!("{i:08}"), "new").unwrap();
    }
    db.compact_range::<&[u8], _>(..).unwrap();
    assert_eq!(first.1, "old0");
    let rest: Vec<_> = it.map(Result::unwrap).collect();
    assert_eq!(rest.len(), 19_999);
    assert!(rest
        .iter()
        .enumerate()
        .all(|(i, (_, v))| v == format!("old{}", i + 1).as_bytes()));
}

#[test]
fn compaction_io_errors_make_the_database_read_only_and_reopen_recovers() {
    for (op, kind) in [
        (FaultOp::Append, ErrorKind::Other),
        (FaultOp::Append, ErrorKind::StorageFull),
        (FaultOp::Sync, ErrorKind::Other),
    ] {
        let fs = MemFs::new();
        // No background compaction: the manual one below must do (and fail at) the work.
        let opts = || {
            small_tree()
                .file_system(Arc::new(fs.clone()))
                .level0_compaction_trigger(100)
                .level0_slowdown_trigger(200)
                .level0_stop_trigger(300)
        };
        let db = Db::open("/db", opts()).unwrap();
        // Scattered order, so level-0 files overlap and compaction must rewrite them.
        for n in 0..5000u32 {
            let i = n * 7919 % 5000;
            db.put(format!("{i:06}"), [i as u8; 100]).unwrap();
        }
        db.flush().unwrap();
        // Let compactions start writing, then fail them (flushes too: every .sst).
        fs.inject(FaultRule::new(op, kind).on_files(".sst").sticky());
        let err = db.compact_range::<&[u8], _>(..).unwrap_err();
        assert!(
            matches!(err, Error::ReadOnly(_) | Error::Io { .. }),
            "{op:?}: {err}"
        );
        let err = db.put("x", "y").unwrap_err();
        assert!(matches!(err, Error::ReadOnly(_)), "{op:?}: {err}");
        assert!(
            err.to_string().contains("injected fault"),
            "says why: {err}"
        );
        // Reads still work and see everything.
        assert_eq!(db.iter().count(), 5000);
        drop(db);
        fs.clear_faults();
        fs.crash();
        let db = Db::open("/db", opts()).unwrap();
        assert_eq!(db.iter().count(), 5000, "{op:?}: acknowledged data lost");
        db.compact_range::<&[u8], _>(..).unwrap();
        assert_eq!(db.iter().count(), 5000);
        db.put("x", "y").unwrap();
    }
}

#[test]
fn heavy_writes_are_throttled_but_never_deadlock() {
    let dir = tempfile::tempdir().unwrap();
    let opts = small_tree()
        .write_buffer_size(64 * 1024)
        .max_immutable_memtables(1)
        .level0_compaction_trigger(2)
        .level0_slowdown_trigger(3)
        .level0_stop_trigger(4);
    let db = Db::open(dir.path(), opts).unwrap();
    let written = Arc::new(AtomicU64::new(0));
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let db = db.clone();
            let written = written.clone();
            std::thread::spawn(move || {
                for i in 0..3000u32 {
                    db.put(format!("{t}/{i:06}"), [7u8; 200]).unwrap();
                    written.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let stats = db.stats();
    eprintln!(
        "stall {} us, slowdown {} us, L0 files {}, compactions {}",
        stats.stall_micros, stats.slowdown_micros, stats.levels[0].files, stats.compactions
    );
    assert!(
        stats.levels[0].files < 4 + 2,
        "level 0 grew past the stop trigger"
    );
    assert!(
        stats.stall_micros + stats.slowdown_micros > 0,
        "writes were never throttled"
    );
    assert_eq!(db.iter().count(), 12_000);
}

#[test]
fn checkpoint_during_concurrent_writes_holds_a_prefix_and_opens() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path().join("db"), small_tree()).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(AtomicU64::new(0));
    let writer = {
        let (db, stop, acked) = (db.clone(), stop.clone(), acked.clone());
        std::thread::spawn(move || {
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let mut b = WriteBatch::new();
                b.put(format!("n{i:010}"), [1u8; 64])
                    .put("last", i.to_string());
                db.write(b, WriteOptions::default()).unwrap();
                acked.store(i, Ordering::Release);
                i += 1;
            }
        })
    };
    while acked.load(Ordering::Acquire) < 5000 {
        std::thread::yield_now();
    }
    let before = acked.load(Ordering::Acquire);
    let ckpt = dir.path().join("backup");
    db.checkpoint(&ckpt).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(50));
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    assert!(matches!(
        db.checkpoint(&ckpt),
        Err(Error::InvalidArgument(_))
    ));
    drop(db);

    let copy = Db::open(&ckpt, small_tree()).unwrap();
    let last: u64 = std::str::from_utf8(&copy.get("last").unwrap().unwrap())
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        last >= before,
        "checkpoint misses write {before} acknowledged before it"
    );
    let keys: Vec<_> = copy.prefix("n").map(|r| r.unwrap().0).collect();
    assert_eq!(keys.len() as u64, last + 1, "not a prefix");
    for (i, k) in keys.iter().enumerate() {
        assert_eq!(k, format!("n{i:010}").as_bytes());
    }
    // The checkpoint is independent: writing to it leaves the original alone.
    copy.put("only-in-copy", "1").unwrap();
    drop(copy);
    let db = Db::open(dir.path().join("db"), small_tree()).unwrap();
    assert_eq!(db.get("only-in-copy").unwrap(), None);
}
