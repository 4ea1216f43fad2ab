//! Many threads writing and reading at once: group commit keeps every batch atomic and in
//! order, readers always see whole batches, and large values and limits behave.

#![allow(clippy::unwrap_used, reason = "test code: a panic is a failed test")]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use strata_engine::{Db, Error, Options, WriteBatch, WriteOptions, MAX_KEY_SIZE};

#[test]
fn concurrent_writers_and_readers_see_atomic_batches() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), Options::default().write_buffer_size(256 * 1024)).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    // Each writer t owns keys w<t>/a and w<t>/b and always writes the same counter to both in
    // one batch; a reader must never see them differ.
    let writers: Vec<_> = (0..6)
        .map(|t| {
            let db = db.clone();
            std::thread::spawn(move || {
                for i in 0..1500u32 {
                    let mut b = WriteBatch::new();
                    b.put(format!("w{t}/a"), i.to_string());
                    b.put(format!("w{t}/b"), i.to_string());
                    b.put(format!("log/{t}/{i:06}"), [t as u8; 50]);
                    db.write(b, WriteOptions::new().sync(i % 50 == 0)).unwrap();
                }
            })
        })
        .collect();
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let db = db.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut checks = 0;
                while !stop.load(Ordering::Relaxed) {
                    for t in 0..6 {
                        let entries: Vec<_> =
                            db.prefix(format!("w{t}/")).map(Result::unwrap).collect();
                        if entries.len() == 2 {
                            assert_eq!(entries[0].1, entries[1].1, "torn batch seen by a scan");
                        } else {
                            assert!(entries.is_empty());
                        }
                        // Writes become visible in commit order: once the counter is seen,
                        // a later scan sees every log entry up to it.
                        let last = db.get(format!("w{t}/a")).unwrap();
                        let n = db.prefix(format!("log/{t}/")).count();
                        if let Some(last) = last {
                            let last: usize = std::str::from_utf8(&last).unwrap().parse().unwrap();
                            assert!(n > last, "log for writer {t} behind its counter");
                        }
                    }
                    checks += 1;
                }
                checks
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    for r in readers {
        assert!(r.join().unwrap() > 0);
    }
    for t in 0..6 {
        assert_eq!(
            db.get(format!("w{t}/a")).unwrap().as_deref(),
            Some(&b"1499"[..])
        );
        assert_eq!(db.prefix(format!("log/{t}/")).count(), 1500);
    }
    drop(db);
    let db = Db::open(dir.path(), Options::default()).unwrap();
    assert_eq!(db.prefix("log/").count(), 6 * 1500);
}

#[test]
fn sixteen_mib_values_and_64_kib_keys_roundtrip_through_wal_and_tables() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), Options::default().write_buffer_size(8 << 20)).unwrap();
    let big: Vec<u8> = (0..16 << 20).map(|i: u32| (i % 251) as u8).collect();
    let long_key = vec![b'k'; MAX_KEY_SIZE];
    db.put("big", &big).unwrap();
    db.put(&long_key, "v").unwrap();
    assert_eq!(db.get("big").unwrap().as_deref(), Some(&big[..]));
    drop(db);
    // Replayed from the WAL...
    let db = Db::open(dir.path(), Options::default()).unwrap();
    assert_eq!(db.get("big").unwrap().as_deref(), Some(&big[..]));
    db.flush().unwrap();
    drop(db);
    // ...and read back from a table.
    let db = Db::open(dir.path(), Options::default()).unwrap();
    assert_eq!(db.get("big").unwrap().as_deref(), Some(&big[..]));
    assert_eq!(db.get(&long_key).unwrap().as_deref(), Some(&b"v"[..]));
}

#[test]
fn oversized_keys_are_rejected_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), Options::default()).unwrap();
    let mut b = WriteBatch::new();
    b.put("ok", "1");
    b.put(vec![0u8; MAX_KEY_SIZE + 1], "x");
    let err = db.write(b, WriteOptions::default()).unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)), "{err}");
    assert!(err.to_string().contains("65537"), "{err}");
    assert_eq!(
        db.get("ok").unwrap(),
        None,
        "a rejected batch writes nothing"
    );
    let err = Db::open(
        dir.path().join("x"),
        Options::default().write_buffer_size(10),
    )
    .unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)), "{err}");
}

#[test]
fn handles_are_clone_send_sync_and_iterators_are_static() {
    fn assert_send_sync<T: Send + Sync + Clone + 'static>() {}
    fn assert_send_static<T: Send + 'static>() {}
    assert_send_sync::<Db>();
    assert_send_static::<strata_engine::DbIter>();
    assert_send_static::<strata_engine::Cursor>();
}
