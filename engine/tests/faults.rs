//! Fault injection through the file-system seam: failed and short WAL writes, failed fsyncs,
//! ENOSPC in flushes, and power loss (dropping unsynced data).

#![allow(clippy::unwrap_used, reason = "test code: a panic is a failed test")]

use std::io::ErrorKind;
use std::sync::Arc;
use strata_engine::fs::{FaultOp, FaultRule, MemFs};
use strata_engine::{Db, Error, Options, WriteBatch, WriteOptions};

const DIR: &str = "/db";

fn options(fs: &MemFs) -> Options {
    Options::default()
        .file_system(Arc::new(fs.clone()))
        .write_buffer_size(64 * 1024)
}

fn put(db: &Db, i: u32, sync: bool) -> Result<(), Error> {
    let mut b = WriteBatch::new();
    b.put(format!("k{i:06}"), format!("v{i}"));
    db.write(b, WriteOptions::new().sync(sync))
}

/// The keys present, as numbers.
fn present(db: &Db) -> Vec<u32> {
    db.iter()
        .map(|r| {
            let (k, _) = r.unwrap();
            std::str::from_utf8(&k[1..]).unwrap().parse().unwrap()
        })
        .collect()
}

#[test]
fn failed_wal_write_fails_the_writer_and_nothing_after_it_is_acknowledged() {
    for short in [false, true] {
        let fs = MemFs::new();
        let db = Db::open(DIR, options(&fs)).unwrap();
        for i in 0..50 {
            put(&db, i, true).unwrap();
        }
        let mut rule = FaultRule::new(FaultOp::Append, ErrorKind::Other).on_files(".log");
        if short {
            rule = rule.short();
        }
        fs.inject(rule);
        let err = put(&db, 50, true).unwrap_err();
        assert!(matches!(err, Error::Io { .. }), "{err}");
        assert!(
            err.to_string().contains(".log"),
            "the error names the log: {err}"
        );
        // The database is now read-only and says why; reads still work.
        fs.clear_faults();
        let err = put(&db, 51, true).unwrap_err();
        assert!(matches!(err, Error::ReadOnly(_)), "{err}");
        assert!(err.to_string().contains("injected fault"), "{err}");
        assert_eq!(db.get("k000049").unwrap().as_deref(), Some(&b"v49"[..]));
        drop(db);
        // After power loss, every acknowledged write is there, and nothing after the failure.
        fs.crash();
        let db = Db::open(DIR, options(&fs)).unwrap();
        let keys = present(&db);
        assert_eq!(&keys[..50], &(0..50).collect::<Vec<_>>()[..]);
        assert!(keys.len() <= 51, "short={short}: {keys:?}");
        // And it takes writes again.
        put(&db, 52, true).unwrap();
    }
}

#[test]
fn failed_fsync_is_reported_and_makes_the_database_read_only() {
    let fs = MemFs::new();
    let db = Db::open(DIR, options(&fs)).unwrap();
    put(&db, 0, true).unwrap();
    fs.inject(FaultRule::new(FaultOp::Sync, ErrorKind::Other).on_files(".log"));
    let err = put(&db, 1, true).unwrap_err();
    assert!(err.to_string().contains("syncing"), "{err}");
    assert!(matches!(put(&db, 2, false), Err(Error::ReadOnly(_))));
    drop(db);
    fs.clear_faults();
    fs.crash();
    let db = Db::open(DIR, options(&fs)).unwrap();
    assert_eq!(present(&db)[..1], [0]);
    assert!(present(&db).len() <= 2);
}

#[test]
fn power_loss_keeps_synced_writes_and_a_prefix_of_the_rest() {
    let fs = MemFs::new();
    let db = Db::open(DIR, options(&fs)).unwrap();
    // Enough data for several flushes and WAL switches.
    for i in 0..3000 {
        put(&db, i, i % 100 == 99).unwrap();
    }
    drop(db);
    fs.crash();
    let db = Db::open(DIR, options(&fs)).unwrap();
    let keys = present(&db);
    // Orderly close syncs the WAL, so everything survives a crash after close.
    assert_eq!(keys, (0..3000).collect::<Vec<_>>());

    // Now crash without a close: abandon the handle (no final sync) after unsynced writes.
    for i in 3000..3100 {
        put(&db, i, i == 3049).unwrap();
    }
    db.abandon();
    fs.crash();
    let db = Db::open(DIR, options(&fs)).unwrap();
    let keys = present(&db);
    assert!(keys.len() >= 3050, "synced write 3049 lost: {}", keys.len());
    assert_eq!(
        keys,
        (0..keys.len() as u32).collect::<Vec<_>>(),
        "not a prefix"
    );
}

#[test]
fn flush_failure_enospc_puts_database_in_read_only_state_and_reopen_recovers() {
    for op in [FaultOp::Append, FaultOp::Sync, FaultOp::Create] {
        let fs = MemFs::new();
        let db = Db::open(DIR, options(&fs)).unwrap();
        for i in 0..100 {
            put(&db, i, false).unwrap();
        }
        fs.inject(
            FaultRule::new(op, ErrorKind::StorageFull)
                .on_files(".sst")
                .sticky(),
        );
        let err = db.flush().unwrap_err();
        assert!(matches!(err, Error::ReadOnly(_)), "{op:?}: {err}");
        assert!(
            err.to_string().contains(".sst"),
            "{op:?}: names the file: {err}"
        );
        let err = put(&db, 100, false).unwrap_err();
        assert!(matches!(err, Error::ReadOnly(_)), "{op:?}: {err}");
        assert_eq!(db.get("k000099").unwrap().as_deref(), Some(&b"v99"[..]));
        drop(db);
        fs.clear_faults();
        fs.crash();
        let db = Db::open(DIR, options(&fs)).unwrap();
        assert_eq!(present(&db), (0..100).collect::<Vec<_>>(), "{op:?}");
        db.flush().unwrap();
        put(&db, 100, true).unwrap();
    }
}

#[test]
fn failed_manifest_write_during_flush_loses_nothing() {
    let fs = MemFs::new();
    let db = Db::open(DIR, options(&fs)).unwrap();
    for i in 0..100 {
        put(&db, i, true).unwrap();
    }
    fs.inject(
        FaultRule::new(FaultOp::Append, ErrorKind::Other)
            .on_files("MANIFEST")
            .sticky(),
    );
    let err = db.flush().unwrap_err();
    assert!(err.to_string().contains("MANIFEST"), "{err}");
    assert!(matches!(put(&db, 100, true), Err(Error::ReadOnly(_))));
    drop(db);
    fs.clear_faults();
    fs.crash();
    let db = Db::open(DIR, options(&fs)).unwrap();
    assert_eq!(present(&db), (0..100).collect::<Vec<_>>());
}

#[test]
fn power_loss_at_every_point_of_a_flush_recovers_everything_synced() {
    // Crash after N successful file-system syncs, for every N through a flush and reopen.
    for n in 0..12 {
        let fs = MemFs::new();
        let db = Db::open(DIR, options(&fs)).unwrap();
        for i in 0..200 {
            put(&db, i, true).unwrap();
        }
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
        let _ = db.flush();
        db.abandon();
        fs.clear_faults();
        fs.crash();
        let db = Db::open(DIR, options(&fs)).unwrap_or_else(|e| panic!("n={n}: {e}"));
        assert_eq!(present(&db), (0..200).collect::<Vec<_>>(), "n={n}");
    }
}

#[test]
fn concurrent_synced_writers_survive_power_loss_and_a_failing_fsync() {
    for fail_after in [None, Some(40), Some(200)] {
        let fs = MemFs::new();
        let db = Db::open(DIR, options(&fs)).unwrap();
        if let Some(n) = fail_after {
            fs.inject(
                FaultRule::new(FaultOp::Sync, ErrorKind::Other)
                    .on_files(".log")
                    .after(n)
                    .sticky(),
            );
        }
        // Eight writers, each with its own key range; each records what was acknowledged.
        let acked: Vec<Vec<u32>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8u32)
                .map(|t| {
                    let db = db.clone();
                    s.spawn(move || {
                        let mut ok = Vec::new();
                        for i in 0..150u32 {
                            let k = t * 1000 + i;
                            match put(&db, k, true) {
                                Ok(()) => ok.push(k),
                                Err(_) => break,
                            }
                        }
                        ok
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        db.abandon();
        fs.clear_faults();
        fs.crash();
        let db = Db::open(DIR, options(&fs)).unwrap();
        let present: std::collections::HashSet<u32> = present(&db).into_iter().collect();
        for (t, ks) in acked.iter().enumerate() {
            for k in ks {
                assert!(
                    present.contains(k),
                    "{fail_after:?}: writer {t} lost acknowledged key {k}"
                );
            }
            // Per writer, what survived is a prefix of what it wrote.
            let mine: Vec<u32> = (t as u32 * 1000..t as u32 * 1000 + 150)
                .take_while(|k| present.contains(k))
                .collect();
            let count = present.iter().filter(|k| **k / 1000 == t as u32).count();
            assert_eq!(mine.len(), count, "{fail_after:?}: writer {t} has a hole");
        }
        if fail_after.is_none() {
            assert_eq!(present.len(), 8 * 150);
        }
    }
}

#[test]
fn a_synced_empty_batch_makes_earlier_writes_durable() {
    // Found by the engine_model fuzz target: an empty batch returned before syncing.
    let fs = Arc::new(MemFs::new());
    let db = Db::open(DIR, options(&fs)).unwrap();
    for i in 0..10 {
        put(&db, i, false).unwrap();
    }
    db.write(WriteBatch::new(), WriteOptions::new().sync(true))
        .unwrap();
    db.abandon();
    fs.crash();
    let db = Db::open(DIR, options(&fs)).unwrap();
    assert_eq!(present(&db), (0..10).collect::<Vec<_>>());
}

#[test]
fn a_failing_zero_fill_costs_speed_not_writes() {
    // Zero-filling ahead of a synced log is an optimisation: when it fails (here, as when the
    // disk is nearly full) synced writes go on and stay durable.
    let fs = Arc::new(MemFs::new());
    fs.inject(
        FaultRule::new(FaultOp::ZeroFill, ErrorKind::StorageFull)
            .on_files(".log")
            .sticky(),
    );
    let db = Db::open(DIR, options(&fs)).unwrap();
    for i in 0..100 {
        put(&db, i, true).unwrap();
    }
    db.abandon();
    fs.clear_faults();
    fs.crash();
    let db = Db::open(DIR, options(&fs)).unwrap();
    assert_eq!(present(&db), (0..100).collect::<Vec<_>>());
}

/// Runs a future to completion on this thread (the engine's futures need no runtime).
fn block_on<F: std::future::Future>(fut: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl std::task::Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = std::task::Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = std::task::Context::from_waker(&waker);
    let mut fut = std::pin::pin!(fut);
    loop {
        if let std::task::Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
            return out;
        }
        std::thread::park();
    }
}

fn deferred_put(db: &Db, i: u32) -> Result<(), Error> {
    let mut b = WriteBatch::new();
    b.put(format!("k{i:06}"), format!("v{i}"));
    db.write(b, WriteOptions::new().sync(true).defer_wait(true))
}

#[test]
fn deferred_synced_writes_are_durable_once_awaited_beside_every_other_kind_of_writer() {
    // Writers of three kinds share commit groups and fsyncs: deferred (return when ordered,
    // then await `durable` or call `wait_durable`), blocking synced, and plain. Every deferred write that was awaited
    // and every blocking synced write survives power loss; each writer's keys survive as a
    // prefix.
    let fs = MemFs::new();
    let db = Db::open(DIR, options(&fs)).unwrap();
    let acked: Vec<Vec<u32>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..9u32)
            .map(|t| {
                let db = db.clone();
                s.spawn(move || {
                    let mut durable = Vec::new();
                    for i in 0..120u32 {
                        let k = t * 1000 + i;
                        match t % 3 {
                            0 => {
                                deferred_put(&db, k).unwrap();
                                if i % 2 == 0 {
                                    block_on(db.durable()).unwrap();
                                } else {
                                    db.wait_durable().unwrap();
                                }
                                // Durable means visible too.
                                assert!(db.get(format!("k{k:06}")).unwrap().is_some());
                                durable.push(k);
                            }
                            1 => {
                                put(&db, k, true).unwrap();
                                durable.push(k);
                            }
                            _ => put(&db, k, false).unwrap(),
                        }
                    }
                    durable
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    db.abandon();
    fs.crash();
    let db = Db::open(DIR, options(&fs)).unwrap();
    let present: std::collections::HashSet<u32> = present(&db).into_iter().collect();
    for (t, keys) in acked.iter().enumerate() {
        for k in keys {
            assert!(present.contains(k), "writer {t} lost durable key {k}");
        }
        let prefix = (t as u32 * 1000..t as u32 * 1000 + 120)
            .take_while(|k| present.contains(k))
            .count();
        let count = present.iter().filter(|k| **k / 1000 == t as u32).count();
        assert_eq!(prefix, count, "writer {t} has a hole");
    }
}

#[test]
fn a_deferred_write_whose_fsync_fails_is_never_visible_and_its_wait_fails() {
    let fs = MemFs::new();
    let db = Db::open(DIR, options(&fs)).unwrap();
    deferred_put(&db, 1).unwrap();
    block_on(db.durable()).unwrap();
    fs.inject(
        FaultRule::new(FaultOp::Sync, ErrorKind::Other)
            .on_files(".log")
            .sticky(),
    );
    // Ordered (the call succeeds), but the fsync that would publish it fails.
    deferred_put(&db, 2).unwrap();
    let err = block_on(db.durable()).unwrap_err();
    assert!(matches!(err, Error::ReadOnly(_)), "{err}");
    let err = db.wait_durable().unwrap_err();
    assert!(matches!(err, Error::ReadOnly(_)), "{err}");
    assert_eq!(
        present(&db),
        vec![1],
        "a write that never became durable was read"
    );
    assert!(deferred_put(&db, 3).is_err(), "the database is read-only");
    drop(db);
    fs.clear_faults();
    fs.crash();
    let db = Db::open(DIR, options(&fs)).unwrap();
    assert_eq!(present(&db)[0], 1);
}

#[test]
fn point_in_time_recovery_reads_past_the_zero_filled_end_of_every_log() {
    // Synced logs end in zeros written ahead of the appends: the clean end of a log, not
    // damage. Point-in-time recovery, which drops every log after a damaged one, must keep
    // them all. To have several logs live at the crash, the first flush fails (its manifest
    // write), so no log is retired; writes go on into the next log until the failure turns
    // the database read-only.
    for round in 0..5 {
        let fs = MemFs::new();
        let opts = || options(&fs).wal_recovery(strata_engine::WalRecovery::PointInTime);
        let db = Db::open(DIR, opts()).unwrap();
        fs.inject(
            FaultRule::new(FaultOp::Append, ErrorKind::Other)
                .on_files("MANIFEST")
                .sticky(),
        );
        let mut acked = 0;
        for i in 0..4000 {
            let mut b = WriteBatch::new();
            b.put(format!("k{i:06}"), vec![b'v'; 100]);
            if db.write(b, WriteOptions::new().sync(true)).is_err() {
                break;
            }
            acked += 1;
        }
        let logs = fs_logs(&fs);
        db.abandon();
        fs.clear_faults();
        fs.crash();
        let db = Db::open(DIR, opts()).unwrap();
        let present = present(&db);
        assert!(
            present.len() >= acked,
            "round {round}: {} of {acked} acknowledged writes after recovery ({logs} logs)",
            present.len()
        );
        assert!(logs >= 2 || round > 0, "the test needs two live logs");
    }
}

/// How many WAL files the database directory holds.
fn fs_logs(fs: &MemFs) -> usize {
    use strata_engine::fs::FileSystem;
    fs.list_dir(std::path::Path::new(DIR))
        .unwrap()
        .iter()
        .filter(|n| n.ends_with(".log"))
        .count()
}
