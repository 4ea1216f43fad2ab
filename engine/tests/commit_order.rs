//! Sequence order must be conflict-check order.
//!
//! A scanner walks a keyspace in chunks, each a transaction that scans its chunk and commits
//! a write elsewhere; a writer thread meanwhile changes random keys in read-modify-write
//! transactions. Every scanner commit must have been checked against every write it did not
//! see: no writer commit may land in a chunk's range with a sequence number between the
//! chunk's snapshot and its own commit. It once did — a leader that handed the commit queue
//! on could reach the WAL lock after the next leader, giving a group checked later older
//! sequence numbers (found by the table layer's index backfill test).

#![allow(clippy::unwrap_used, reason = "test code: a panic is a failed test")]

use rand::{Rng, SeedableRng};
use std::ops::Bound;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// The writer's commits: sequence number and key.
type Writes = Vec<(u64, Vec<u8>)>;

fn key(i: u32) -> Vec<u8> {
    format!("k{:08x}", i.wrapping_mul(2_654_435_761)).into_bytes()
}

fn within(k: &[u8], lo: &Bound<Vec<u8>>, hi: &Bound<Vec<u8>>) -> bool {
    let above = match lo {
        Bound::Included(l) => k >= &l[..],
        Bound::Excluded(l) => k > &l[..],
        Bound::Unbounded => true,
    };
    let below = match hi {
        Bound::Included(h) => k <= &h[..],
        Bound::Excluded(h) => k < &h[..],
        Bound::Unbounded => true,
    };
    above && below
}

#[test]
fn no_commit_lands_unchecked_inside_a_scanned_range() {
    const KEYS: u32 = 30_000;
    const CHUNK: usize = 256;
    let dir = tempfile::tempdir().unwrap();
    let db = strata_engine::Db::open(
        dir.path(),
        strata_engine::Options::default().write_buffer_size(128 * 1024),
    )
    .unwrap();
    let data = db.keyspace("data").unwrap();
    let out = db.keyspace("out").unwrap();
    for i in 0..KEYS {
        data.put(key(i), b"0").unwrap();
    }
    let writes: Arc<Mutex<Writes>> = Default::default();
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (db, data, out, writes, stop) = (
            db.clone(),
            data.clone(),
            out.clone(),
            writes.clone(),
            stop.clone(),
        );
        std::thread::spawn(move || {
            let mut rng = rand::rngs::StdRng::seed_from_u64(1);
            while !stop.load(Ordering::Relaxed) {
                let k = key(rng.gen_range(0..KEYS));
                loop {
                    let mut t = db.transaction();
                    t.get(&data, &k).unwrap();
                    t.put(&data, &k, b"1");
                    t.put(&out, b"writer", b"x");
                    match t.commit() {
                        Ok(seq) => {
                            writes.lock().unwrap().push((seq, k.clone()));
                            break;
                        }
                        Err(e) if e.is_conflict() => continue,
                        Err(e) => panic!("{e}"),
                    }
                }
            }
        })
    };
    let mut chunks = Vec::new();
    let mut cursor: Option<Vec<u8>> = None;
    loop {
        let mut t = db.transaction();
        let lo = match &cursor {
            Some(k) => Bound::Excluded(k.clone()),
            None => Bound::Unbounded,
        };
        let mut last = None;
        let mut n = 0;
        for e in db
            .snapshot()
            .range(&data, (lo.clone(), Bound::<Vec<u8>>::Unbounded))
            .take(CHUNK)
        {
            last = Some(e.unwrap().0.to_vec());
            n += 1;
        }
        let finished = n < CHUNK;
        let hi = match (&last, finished) {
            (Some(k), false) => Bound::Included(k.clone()),
            _ => Bound::Unbounded,
        };
        let mut end = None;
        for e in t.range(&data, (lo.clone(), hi.clone())) {
            end = Some(e.unwrap().0.to_vec());
        }
        t.put(&out, b"cursor", end.clone().unwrap_or_default());
        let read = t.read_sequence();
        match t.commit() {
            Ok(seq) => {
                chunks.push((read, seq, lo, hi));
                cursor = end;
                if finished {
                    break;
                }
            }
            Err(e) if e.is_conflict() => continue,
            Err(e) => panic!("{e}"),
        }
    }
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    let writes = writes.lock().unwrap();
    assert!(!writes.is_empty());
    for (read, seq, lo, hi) in &chunks {
        for (w, k) in writes.iter() {
            assert!(
                !(w > read && w < seq && within(k, lo, hi)),
                "a write at {w} into a range scanned at {read} was not checked by its commit at {seq}"
            );
        }
    }
}
