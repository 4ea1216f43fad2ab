//! Change logs: iterators of every kind, get_records limits and next iterators, shard rollover
//! and lineage, retention and trimmed positions, subscribers (many, concurrent, async, a
//! stalled one), named consumers resuming after a restart, and per-key order under concurrent
//! writers.

#![allow(clippy::unwrap_used, reason = "test code: a panic is a failed test")]

use std::collections::HashMap;
use std::time::Duration;
use strata_engine::{Db, WriteOptions};
use strata_streams::{ChangeLog, IteratorType, LogOptions, Start, StreamError};

fn open(dir: &std::path::Path) -> Db {
    Db::open(dir, Default::default()).unwrap()
}

fn payloads(records: &[strata_streams::Record]) -> Vec<String> {
    records
        .iter()
        .map(|r| String::from_utf8(r.payload.to_vec()).unwrap())
        .collect()
}

#[test]
fn iterators_and_get_records_follow_dynamodb_streams() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    let log = ChangeLog::open(&db, "l", LogOptions::default().shards(1)).unwrap();
    let shard = log.all_shards().unwrap()[0].number;
    let mut seqs = Vec::new();
    for i in 0..10 {
        seqs.push(
            log.append(b"k", format!("r{i}").as_bytes(), WriteOptions::default())
                .unwrap(),
        );
    }
    assert!(seqs.windows(2).all(|w| w[0] < w[1]));
    let all = log
        .get_records(
            &log.iterator(shard, IteratorType::TrimHorizon).unwrap(),
            1000,
        )
        .unwrap();
    assert_eq!(
        payloads(&all.records),
        (0..10).map(|i| format!("r{i}")).collect::<Vec<_>>()
    );
    assert_eq!(all.records.iter().map(|r| r.seq).collect::<Vec<_>>(), seqs);
    assert!(
        all.next.is_some(),
        "an open shard always has a next iterator"
    );
    let page = log
        .get_records(&log.iterator(shard, IteratorType::TrimHorizon).unwrap(), 3)
        .unwrap();
    assert_eq!(payloads(&page.records), ["r0", "r1", "r2"]);
    let rest = log.get_records(&page.next.unwrap(), 1000).unwrap();
    assert_eq!(rest.records.len(), 7);
    let at = log
        .iterator(shard, IteratorType::AtSequenceNumber(seqs[4]))
        .unwrap();
    assert_eq!(payloads(&log.get_records(&at, 1).unwrap().records), ["r4"]);
    let after = log
        .iterator(shard, IteratorType::AfterSequenceNumber(seqs[4]))
        .unwrap();
    assert_eq!(
        payloads(&log.get_records(&after, 1).unwrap().records),
        ["r5"]
    );
    let latest = log.iterator(shard, IteratorType::Latest).unwrap();
    assert!(log.get_records(&latest, 10).unwrap().records.is_empty());
    log.append(b"k", b"new", WriteOptions::default()).unwrap();
    assert_eq!(
        payloads(&log.get_records(&latest, 10).unwrap().records),
        ["new"]
    );
    assert!(matches!(
        log.get_records(&latest, 0),
        Err(StreamError::Validation(_))
    ));
    assert!(matches!(
        log.get_records(&latest, 1001),
        Err(StreamError::Validation(_))
    ));
    // Tokens round-trip and name their log.
    let token = latest.to_token("l");
    let (name, back) = strata_streams::ShardIterator::from_token(&token).unwrap();
    assert_eq!((name.as_str(), back), ("l", latest));
}

#[test]
fn rollover_closes_shards_with_lineage_and_drains_them() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    let log = ChangeLog::open(&db, "l", LogOptions::default().shards(2)).unwrap();
    for i in 0..20 {
        log.append(
            format!("k{i}").as_bytes(),
            b"before",
            WriteOptions::default(),
        )
        .unwrap();
    }
    let old = log.all_shards().unwrap();
    log.rotate_now().unwrap();
    for i in 0..20 {
        log.append(
            format!("k{i}").as_bytes(),
            b"after",
            WriteOptions::default(),
        )
        .unwrap();
    }
    let shards = log.all_shards().unwrap();
    assert_eq!(shards.len(), 4);
    let children: Vec<_> = shards.iter().filter(|s| s.end_seq.is_none()).collect();
    let parents: Vec<u32> = old.iter().map(|s| s.number).collect();
    for c in &children {
        assert!(
            parents.contains(&c.parent.unwrap()),
            "child without its parent"
        );
    }
    let mut before = 0;
    for s in shards.iter().filter(|s| s.end_seq.is_some()) {
        let mut it = log.iterator(s.number, IteratorType::TrimHorizon).unwrap();
        loop {
            let r = log.get_records(&it, 7).unwrap();
            for rec in &r.records {
                assert_eq!(&rec.payload[..], b"before");
                before += 1;
            }
            match r.next {
                Some(n) => it = n,
                None => break,
            }
        }
    }
    assert_eq!(
        before, 20,
        "closed shards hold exactly the records before the rollover"
    );
    // The same key goes to the child of the shard it was in.
    let reopened = ChangeLog::open(&db, "l", LogOptions::default()).unwrap();
    assert_eq!(reopened.all_shards().unwrap().len(), 4);
    assert_eq!(reopened.options().shards, 2, "stored options win");
}

#[test]
fn retention_trims_whole_epochs() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    let log = ChangeLog::open(
        &db,
        "l",
        LogOptions::default().shards(1).retention(Duration::ZERO),
    )
    .unwrap();
    let first = log.all_shards().unwrap()[0].number;
    let mut sub = log.subscribe(Start::TrimHorizon).unwrap();
    log.append(b"k", b"old", WriteOptions::default()).unwrap();
    let it = log.iterator(first, IteratorType::TrimHorizon).unwrap();
    log.rotate_now().unwrap();
    log.maintain().unwrap();
    log.append(b"k", b"new", WriteOptions::default()).unwrap();
    assert!(
        log.shard(first).unwrap().is_none(),
        "the closed epoch was trimmed"
    );
    assert!(matches!(
        log.get_records(&it, 10),
        Err(StreamError::TrimmedDataAccess(_))
    ));
    assert!(matches!(
        sub.next_timeout(Duration::ZERO),
        Err(StreamError::TrimmedDataAccess(_))
    ));
    let mut fresh = log.subscribe(Start::TrimHorizon).unwrap();
    let r = fresh.next_timeout(Duration::from_secs(5)).unwrap().unwrap();
    assert_eq!(&r.payload[..], b"new");
}

#[test]
fn subscribers_see_every_record_in_commit_order_and_never_block_writers() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    let log = ChangeLog::open(&db, "l", LogOptions::default().shards(4)).unwrap();
    // Not read until the writers are done: it must hold nobody up, and lose nothing.
    let mut stalled = log.subscribe(Start::Latest).unwrap();
    let readers: Vec<_> = (0..4)
        .map(|_| {
            let mut sub = log.subscribe(Start::Latest).unwrap();
            std::thread::spawn(move || {
                let mut got = Vec::new();
                while got.len() < 2000 {
                    got.push(sub.next().unwrap().unwrap());
                }
                got
            })
        })
        .collect();
    let writers: Vec<_> = (0..2)
        .map(|w| {
            let log = log.clone();
            std::thread::spawn(move || {
                for i in 0..1000 {
                    let key = format!("w{w}-k{}", i % 17);
                    log.append(
                        key.as_bytes(),
                        format!("{key}:{i}").as_bytes(),
                        WriteOptions::default(),
                    )
                    .unwrap();
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    let mut views = Vec::new();
    for r in readers {
        let got = r.join().unwrap();
        assert!(got.windows(2).all(|w| w[0].seq < w[1].seq), "commit order");
        // Per key, versions in order.
        let mut last: HashMap<String, i64> = HashMap::new();
        for rec in &got {
            let text = String::from_utf8(rec.payload.to_vec()).unwrap();
            let (key, i) = text.rsplit_once(':').unwrap();
            let i: i64 = i.parse().unwrap();
            let prev = last.insert(key.to_owned(), i).unwrap_or(-1);
            assert!(i > prev, "{key}: {i} after {prev}");
        }
        views.push(got.iter().map(|r| r.seq).collect::<Vec<_>>());
    }
    assert!(
        views.windows(2).all(|w| w[0] == w[1]),
        "every subscriber saw the same records"
    );
    let late: Vec<u64> = (0..2000)
        .map(|_| stalled.next().unwrap().unwrap().seq)
        .collect();
    assert_eq!(
        late, views[0],
        "the stalled subscriber still gets everything, in order"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_subscribers_are_woken_by_commits() {
    use futures::StreamExt;
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    let log = ChangeLog::open(&db, "l", LogOptions::default()).unwrap();
    let mut sub = log.subscribe(Start::Latest).unwrap();
    let writer = {
        let log = log.clone();
        std::thread::spawn(move || {
            for i in 0..100 {
                std::thread::sleep(Duration::from_millis(1));
                log.append(b"k", format!("{i}").as_bytes(), WriteOptions::default())
                    .unwrap();
            }
        })
    };
    let mut got = Vec::new();
    while got.len() < 100 {
        let r = tokio::time::timeout(Duration::from_secs(10), StreamExt::next(&mut sub))
            .await
            .expect("a commit did not wake the subscriber")
            .unwrap()
            .unwrap();
        got.push(String::from_utf8(r.payload.to_vec()).unwrap());
    }
    writer.join().unwrap();
    assert_eq!(got, (0..100).map(|i| i.to_string()).collect::<Vec<_>>());
}

#[test]
fn a_named_consumer_resumes_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = open(dir.path());
        let log = ChangeLog::open(&db, "l", LogOptions::default()).unwrap();
        for i in 0..10 {
            log.append(b"k", format!("{i}").as_bytes(), WriteOptions::default())
                .unwrap();
        }
        let consumer = log.consumer("billing");
        let mut sub = consumer.subscribe().unwrap();
        for _ in 0..4 {
            let r = sub.next().unwrap().unwrap();
            consumer.commit(r.seq).unwrap();
        }
    }
    let db = open(dir.path());
    let log = ChangeLog::open(&db, "l", LogOptions::default()).unwrap();
    let mut sub = log.consumer("billing").subscribe().unwrap();
    let r = sub.next().unwrap().unwrap();
    assert_eq!(&r.payload[..], b"4");
    assert!(log.consumer("other").checkpoint().unwrap().is_none());
}

#[test]
fn background_maintenance_rotates_and_trims_an_idle_log() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    let log = ChangeLog::open(
        &db,
        "idle",
        LogOptions::default()
            .shards(1)
            .rotate_interval(Duration::from_millis(100))
            .retention(Duration::from_millis(100)),
    )
    .unwrap();
    log.append(b"k", b"x", WriteOptions::default()).unwrap();
    let first = log.all_shards().unwrap()[0].number;
    log.spawn_maintenance().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while log.shard(first).unwrap().is_some() {
        assert!(
            std::time::Instant::now() < deadline,
            "the idle log was never trimmed"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        !log.all_shards().unwrap().is_empty(),
        "children keep the log open"
    );
}

#[test]
fn shards_also_roll_over_by_size() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    let log = ChangeLog::open(
        &db,
        "sized",
        LogOptions::default().shards(1).rotate_after_records(10),
    )
    .unwrap();
    for i in 0..35 {
        log.append(b"k", format!("{i}").as_bytes(), WriteOptions::default())
            .unwrap();
    }
    let shards = log.all_shards().unwrap();
    assert_eq!(shards.len(), 4, "35 records in shards of 10");
    let mut total = 0;
    for s in &shards {
        let r = log
            .get_records(
                &log.iterator(s.number, IteratorType::TrimHorizon).unwrap(),
                100,
            )
            .unwrap();
        assert!(r.records.len() <= 10);
        total += r.records.len();
    }
    assert_eq!(total, 35);
}

/// Names of this process's threads (Linux: `/proc/self/task/*/comm`, 15 characters at most).
fn thread_names() -> Vec<String> {
    std::fs::read_dir("/proc/self/task")
        .map(|tasks| {
            tasks
                .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
                .map(|n| n.trim_end().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn dropping_the_last_handle_stops_and_joins_the_maintenance_thread() {
    if !std::path::Path::new("/proc/self/task").exists() {
        return; // Thread names are read from Linux's /proc.
    }
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    // A long period: the thread sits waiting when the log is dropped.
    let log = ChangeLog::open(&db, "zq9x", LogOptions::default()).unwrap();
    log.spawn_maintenance().unwrap();
    let name = "strata-log-zq9x";
    // A new thread names itself once it runs.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !thread_names().iter().any(|n| n == name) {
        assert!(std::time::Instant::now() < deadline, "{:?}", thread_names());
        std::thread::sleep(Duration::from_millis(1));
    }
    let again = log.clone();
    drop(log);
    assert!(
        thread_names().iter().any(|n| n == name),
        "a clone keeps the log and its thread"
    );
    drop(again);
    // Joined in the drop. `pthread_join` returns once the kernel clears the thread's id,
    // a moment before it removes `/proc/self/task/N`, so the name may linger for that
    // moment (this raced on CI); it must be gone well within the thread's 60 s period.
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    while thread_names().iter().any(|n| n == name) {
        assert!(
            std::time::Instant::now() < deadline,
            "the maintenance thread outlived its log: {:?}",
            thread_names()
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    drop(db);
    let db = open(dir.path());
    assert!(ChangeLog::open(&db, "zq9x", LogOptions::default()).is_ok());
}
