//! Transactions: the classic anomalies (write skew, lost update, phantom, non-repeatable
//! read) are prevented; read-only and blind-write transactions never conflict; own writes are
//! visible to the transaction's reads and scans (checked against a model); versionstamped keys
//! follow commit order; snapshots stay repeatable through flushes and compactions and their
//! old versions are reclaimed once dropped.

#![allow(clippy::unwrap_used, reason = "test code: a panic is a failed test")]

use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use strata_engine::{versionstamp, Db, Error, Keyspace, Options, Transaction};

fn open() -> (tempfile::TempDir, Db) {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), Options::default().write_buffer_size(64 * 1024)).unwrap();
    (dir, db)
}

fn num(t: &mut Transaction, ks: &Keyspace, key: &str) -> i64 {
    t.get(ks, key)
        .unwrap()
        .map_or(0, |v| std::str::from_utf8(&v).unwrap().parse().unwrap())
}

fn conflict(r: Result<u64, Error>) -> bool {
    match r {
        Err(e) => {
            assert!(e.is_conflict(), "expected a conflict, got {e}");
            true
        }
        Ok(_) => false,
    }
}

#[test]
fn write_skew_is_prevented() {
    // Two on-call doctors; each transaction checks that both are on call and takes one off.
    let (_d, db) = open();
    let ks = db.default_keyspace();
    db.put("alice", "1").unwrap();
    db.put("bob", "1").unwrap();
    let mut t1 = db.transaction();
    let mut t2 = db.transaction();
    assert_eq!(num(&mut t1, &ks, "alice") + num(&mut t1, &ks, "bob"), 2);
    assert_eq!(num(&mut t2, &ks, "alice") + num(&mut t2, &ks, "bob"), 2);
    t1.put(&ks, "alice", "0");
    t2.put(&ks, "bob", "0");
    t1.commit().unwrap();
    assert!(conflict(t2.commit()), "write skew was allowed");
    assert_eq!(db.get("bob").unwrap().as_deref(), Some(&b"1"[..]));
}

#[test]
fn lost_update_is_prevented() {
    let (_d, db) = open();
    let ks = db.default_keyspace();
    db.put("counter", "0").unwrap();
    let mut t1 = db.transaction();
    let mut t2 = db.transaction();
    let a = num(&mut t1, &ks, "counter");
    let b = num(&mut t2, &ks, "counter");
    t1.put(&ks, "counter", (a + 1).to_string());
    t2.put(&ks, "counter", (b + 1).to_string());
    t2.commit().unwrap();
    assert!(conflict(t1.commit()));
    // A plain (non-transactional) write after begin conflicts too.
    let mut t3 = db.transaction();
    let c = num(&mut t3, &ks, "counter");
    db.put("counter", "100").unwrap();
    t3.put(&ks, "counter", (c + 1).to_string());
    assert!(conflict(t3.commit()));
    assert_eq!(db.get("counter").unwrap().as_deref(), Some(&b"100"[..]));
}

#[test]
fn phantom_insert_into_a_scanned_range_is_detected() {
    let (_d, db) = open();
    let orders = db.keyspace("orders").unwrap();
    orders.put("o/1", "10").unwrap();
    orders.put("o/2", "20").unwrap();
    // t1 sums the orders and writes the total; t2 inserts a new order meanwhile.
    let mut t1 = db.transaction();
    let total: i64 = t1
        .prefix(&orders, "o/")
        .map(|e| {
            let (_, v) = e.unwrap();
            std::str::from_utf8(&v).unwrap().parse::<i64>().unwrap()
        })
        .sum();
    assert_eq!(total, 30);
    let mut t2 = db.transaction();
    t2.put(&orders, "o/3", "5");
    t2.commit().unwrap();
    t1.put(&orders, "total", total.to_string());
    assert!(conflict(t1.commit()), "the phantom went unnoticed");

    // An insert outside the scanned range is not a conflict.
    let mut t3 = db.transaction();
    let n = t3.range(&orders, "o/1".."o/3").count();
    assert_eq!(n, 2);
    orders.put("p/1", "x").unwrap();
    orders.put("o/3", "changed").unwrap(); // the end bound is excluded
    t3.put(&orders, "count", n.to_string());
    t3.commit().unwrap();
}

#[test]
fn snapshot_reads_are_repeatable_and_read_only_transactions_never_conflict() {
    let (_d, db) = open();
    let ks = db.default_keyspace();
    for i in 0..100 {
        db.put(format!("k{i:03}"), "before").unwrap();
    }
    let mut t = db.transaction();
    let first: Vec<_> = t.iter(&ks).map(|e| e.unwrap()).collect();
    for i in 0..100 {
        db.put(format!("k{i:03}"), "after").unwrap();
        db.put(format!("new{i:03}"), "x").unwrap();
    }
    db.flush().unwrap();
    db.compact_range::<&[u8], _>(..).unwrap();
    let again: Vec<_> = t.iter(&ks).map(|e| e.unwrap()).collect();
    assert_eq!(first, again);
    assert_eq!(t.get(&ks, "k050").unwrap().as_deref(), Some(&b"before"[..]));
    // It read keys that changed, but it writes nothing: no conflict.
    t.commit().unwrap();
}

#[test]
fn blind_writes_do_not_conflict_and_dropping_rolls_back() {
    let (_d, db) = open();
    let ks = db.default_keyspace();
    db.put("k", "0").unwrap();
    let mut t1 = db.transaction();
    let mut t2 = db.transaction();
    t1.put(&ks, "k", "1");
    t2.put(&ks, "k", "2");
    t1.commit().unwrap();
    t2.commit().unwrap(); // never read "k": last writer wins
    assert_eq!(db.get("k").unwrap().as_deref(), Some(&b"2"[..]));

    let mut t3 = db.transaction();
    t3.put(&ks, "k", "3");
    t3.delete(&ks, "other");
    drop(t3);
    let t4 = db.transaction();
    t4.rollback();
    assert_eq!(db.get("k").unwrap().as_deref(), Some(&b"2"[..]));
    assert_eq!(db.stats().live_snapshots, 0);
}

#[test]
fn own_writes_are_visible_in_reads_and_scans_both_ways() {
    // Random own writes over random database contents, scanned against a model.
    let (_d, db) = open();
    let ks = db.keyspace("data").unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    for round in 0..40 {
        let mut model = BTreeMap::new();
        for (k, _) in ks.iter().map(|e| e.unwrap()) {
            ks.delete(&k).unwrap();
        }
        for _ in 0..rng.gen_range(0..30) {
            let k = format!("{:02}", rng.gen_range(0..40));
            ks.put(&k, format!("db{k}")).unwrap();
            model.insert(k.clone(), format!("db{k}"));
        }
        let mut t = db.transaction();
        for _ in 0..rng.gen_range(0..30) {
            let k = format!("{:02}", rng.gen_range(0..40));
            if rng.gen_bool(0.3) {
                t.delete(&ks, &k);
                model.remove(&k);
            } else {
                t.put(&ks, &k, format!("own{k}"));
                model.insert(k.clone(), format!("own{k}"));
            }
        }
        let (a, b) = (rng.gen_range(0..40), rng.gen_range(0..45));
        let lo = format!("{:02}", a.min(b));
        let hi = format!("{:02}", a.max(b));
        let want: Vec<(String, String)> = model
            .range(lo.clone()..hi.clone())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let as_strings = |e: Result<(bytes::Bytes, bytes::Bytes), Error>| {
            let (k, v) = e.unwrap();
            (
                String::from_utf8(k.to_vec()).unwrap(),
                String::from_utf8(v.to_vec()).unwrap(),
            )
        };
        let forward: Vec<_> = t
            .range(&ks, lo.as_str()..hi.as_str())
            .map(as_strings)
            .collect();
        assert_eq!(forward, want, "round {round} forward");
        let mut backward: Vec<_> = t
            .range(&ks, lo.as_str()..hi.as_str())
            .rev()
            .map(as_strings)
            .collect();
        backward.reverse();
        assert_eq!(backward, want, "round {round} backward");
        // Both ends at once meet in the middle without repeating or skipping.
        let mut it = t.range(&ks, lo.as_str()..hi.as_str());
        let (mut front, mut back) = (Vec::new(), Vec::new());
        loop {
            let f = if rng.gen_bool(0.5) {
                it.next().map(|e| (true, e))
            } else {
                it.next_back().map(|e| (false, e))
            };
            match f {
                Some((true, e)) => front.push(as_strings(e)),
                Some((false, e)) => back.push(as_strings(e)),
                None => break,
            }
        }
        back.reverse();
        front.extend(back);
        assert_eq!(front, want, "round {round} mixed");
        for k in 0..40 {
            let k = format!("{k:02}");
            let got = t.get(&ks, &k).unwrap().map(|v| v.to_vec());
            assert_eq!(got, model.get(&k).map(|v| v.clone().into_bytes()));
        }
        t.commit().unwrap();
        let after: Vec<_> = ks.iter().map(as_strings).collect();
        let all: Vec<_> = model.into_iter().collect();
        assert_eq!(after, all, "round {round} committed");
    }
}

#[test]
fn versionstamped_keys_follow_commit_order_across_concurrent_transactions() {
    // Each transaction increments a counter (serialized by conflicts and retries) and appends a
    // versionstamped log entry holding the counter's new value: reading the log in key order
    // must give 1, 2, 3, ... — commit order — and each stamp is the commit's sequence number.
    let (_d, db) = open();
    let meta = db.keyspace("meta").unwrap();
    let log = db.keyspace("log").unwrap();
    let commits = Arc::new(parking_lot::Mutex::new(Vec::new()));
    let retries = Arc::new(AtomicU64::new(0));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (db, meta, log) = (db.clone(), meta.clone(), log.clone());
            let (commits, retries) = (commits.clone(), retries.clone());
            std::thread::spawn(move || {
                for _ in 0..100 {
                    loop {
                        let mut t = db.transaction();
                        let n = num(&mut t, &meta, "counter") + 1;
                        t.put(&meta, "counter", n.to_string());
                        t.put_versionstamped(&log, [0u8; 8], Some(0), n.to_string(), None);
                        match t.commit() {
                            Ok(seq) => {
                                commits.lock().push((seq, n));
                                break;
                            }
                            Err(e) if e.is_conflict() => {
                                retries.fetch_add(1, Ordering::Relaxed);
                            }
                            Err(e) => panic!("{e}"),
                        }
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let entries: Vec<(u64, i64)> = log
        .iter()
        .map(|e| {
            let (k, v) = e.unwrap();
            (
                versionstamp(&k).unwrap(),
                std::str::from_utf8(&v).unwrap().parse().unwrap(),
            )
        })
        .collect();
    assert_eq!(entries.len(), 400);
    let values: Vec<i64> = entries.iter().map(|e| e.1).collect();
    assert_eq!(
        values,
        (1..=400).collect::<Vec<_>>(),
        "log order != commit order"
    );
    let mut commits = commits.lock().clone();
    commits.sort();
    // The stamp is the log entry's own sequence number: the commit's last one (it is the last
    // write of each transaction's batch).
    let stamps: Vec<(u64, i64)> = entries.clone();
    assert_eq!(stamps, commits);
    eprintln!("{} conflicts retried", retries.load(Ordering::Relaxed));
}

#[test]
fn a_long_lived_snapshot_is_stable_and_its_versions_are_reclaimed_when_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(
        dir.path(),
        Options::default()
            .write_buffer_size(64 * 1024)
            .compression(strata_engine::Compression::None),
    )
    .unwrap();
    let ks = db.default_keyspace();
    let value = |round: usize| format!("{round:04}").repeat(25);
    for i in 0..2000 {
        db.put(format!("k{i:05}"), value(0)).unwrap();
    }
    let snap = db.snapshot();
    let expected: Vec<_> = snap.iter(&ks).map(|e| e.unwrap()).collect();
    for round in 1..=5 {
        for i in 0..2000 {
            db.put(format!("k{i:05}"), value(round)).unwrap();
        }
        db.flush().unwrap();
        db.compact_range::<&[u8], _>(..).unwrap();
        let seen: Vec<_> = snap.iter(&ks).map(|e| e.unwrap()).collect();
        assert_eq!(seen, expected, "round {round}: the snapshot changed");
        assert_eq!(
            snap.get(&ks, "k01234").unwrap().unwrap(),
            value(0).as_bytes()
        );
    }
    db.compact_range::<&[u8], _>(..).unwrap();
    let held = db.stats().table_bytes();
    drop(snap);
    db.compact_range::<&[u8], _>(..).unwrap();
    let freed = db.stats().table_bytes();
    // With the snapshot: its version and the latest (about 2x live); without: live only.
    assert!(
        (freed as f64) < held as f64 * 0.7,
        "dropping the snapshot reclaimed too little: {held} -> {freed} bytes"
    );
    let live = 2000 * (6 + 100) as u64;
    assert!(
        (freed as f64) < live as f64 * 1.3,
        "{freed} bytes on disk for {live} bytes of live data"
    );
}

#[test]
fn conflict_tracking_memory_is_bounded_by_the_write_buffer() {
    // A transaction left open while far more than the write buffer is committed: the records
    // it would be checked against are dropped, and it fails to commit rather than keep them.
    let (_d, db) = open(); // 64 KiB write buffer
    let ks = db.default_keyspace();
    let mut reader_writer = db.transaction();
    let mut read_only = db.transaction();
    let mut blind = db.transaction();
    assert_eq!(reader_writer.get(&ks, "x").unwrap(), None);
    assert_eq!(read_only.get(&ks, "x").unwrap(), None);
    for i in 0..2000 {
        db.put(format!("other{i:05}"), "v".repeat(100)).unwrap();
    }
    reader_writer.put(&ks, "x", "1");
    let err = reader_writer.commit().unwrap_err();
    assert!(
        err.is_conflict() && err.to_string().contains("ran so long"),
        "{err}"
    );
    read_only.commit().unwrap();
    blind.put(&ks, "y", "1");
    blind.commit().unwrap();
    // New transactions are not affected.
    let mut fresh = db.transaction();
    assert_eq!(fresh.get(&ks, "x").unwrap(), None);
    fresh.put(&ks, "x", "2");
    fresh.commit().unwrap();
}
