//! Crash tests with a real `kill -9`.
//!
//! A child process (this test binary, re-run with `STRATA_CRASH_CHILD` set) writes numbered
//! batches and prints each one's number to stdout after the write is acknowledged. The parent
//! kills it with SIGKILL at a random moment, reopens the database, and checks:
//! - with `sync = true`: every acknowledged write is present;
//! - always: the state is a prefix of the write order (batch `i` present implies every batch
//!   before it is, and a batch is all-or-nothing).
//!
//! Rounds continue on the same directory, so recovery runs on top of earlier recoveries.
//! `STRATA_CRASH_ROUNDS` sets the number of rounds (default 30).

#![allow(clippy::unwrap_used, reason = "test code: a panic is a failed test")]

use rand::{Rng, SeedableRng};
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use strata_engine::{Db, Options, WriteBatch, WriteOptions};

const CHILD_ENV: &str = "STRATA_CRASH_CHILD";

fn options() -> Options {
    // A small write buffer so crashes also land during flushes and WAL switches.
    Options::default().write_buffer_size(128 * 1024)
}

fn value(i: u64) -> Vec<u8> {
    format!("value-{i}-")
        .repeat(1 + (i % 7) as usize)
        .into_bytes()
}

/// Batch `i` writes `n/<i>` and sets `last` to `i`; every 10th batch also deletes `n/<i-5>`
/// and writes `gone/<i-5>` in its place.
fn batch(i: u64) -> WriteBatch {
    let mut b = WriteBatch::new();
    b.put(format!("n/{i:010}"), value(i));
    b.put("last", i.to_string());
    if i.is_multiple_of(10) && i >= 5 {
        b.delete(format!("n/{:010}", i - 5));
        b.put(format!("gone/{:010}", i - 5), "x");
    }
    b
}

/// Entry point of the child process; ignored in normal runs (it only runs as the child, with
/// `--ignored`), so it is not counted as a passing test.
#[test]
#[ignore = "runs only as the crash tests' child process"]
fn crash_child() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        panic!("crash_child runs only as a child of the crash tests ({CHILD_ENV} unset)");
    };
    let sync = std::env::var("STRATA_CRASH_SYNC").as_deref() == Ok("1");
    let db = Db::open(&dir, options()).expect("child open");
    let start: u64 = db
        .get("last")
        .expect("child get")
        .map(|v| std::str::from_utf8(&v).unwrap().parse::<u64>().unwrap() + 1)
        .unwrap_or(0);
    let mut out = std::io::stdout().lock();
    for i in start.. {
        db.write(batch(i), WriteOptions::new().sync(sync))
            .expect("child write");
        use std::io::Write;
        writeln!(out, "ack {i}").unwrap();
        out.flush().unwrap();
    }
}

/// Verifies the recovered state; returns the last batch present.
fn verify(dir: &Path, acked: Option<u64>, sync: bool, round: usize) -> Option<u64> {
    let t = Instant::now();
    let db =
        Db::open(dir, options()).unwrap_or_else(|e| panic!("round {round}: reopen failed: {e}"));
    let reopen = t.elapsed();
    let last = db
        .get("last")
        .unwrap()
        .map(|v| std::str::from_utf8(&v).unwrap().parse::<u64>().unwrap());
    if sync {
        if let Some(a) = acked {
            assert!(
                last.is_some_and(|l| l >= a),
                "round {round}: acknowledged batch {a} lost (recovered up to {last:?})"
            );
        }
    }
    // Prefix property: exactly batches 0..=last are applied, each completely.
    let n: Vec<_> = db.prefix("n/").map(Result::unwrap).collect();
    let gone: Vec<_> = db.prefix("gone/").map(Result::unwrap).collect();
    let mut expect_n = Vec::new();
    let mut expect_gone = Vec::new();
    if let Some(last) = last {
        for i in 0..=last {
            // Batch j (a multiple of 10) deletes batch j - 5.
            let deleted = i % 10 == 5 && i + 5 <= last;
            if deleted {
                expect_gone.push(format!("gone/{i:010}"));
            } else {
                expect_n.push(format!("n/{i:010}"));
            }
        }
    }
    let got_n: Vec<String> = n
        .iter()
        .map(|(k, _)| String::from_utf8(k.to_vec()).unwrap())
        .collect();
    assert_eq!(
        got_n, expect_n,
        "round {round}: keys are not a prefix of the write order"
    );
    for (k, v) in &n {
        let i: u64 = std::str::from_utf8(&k[2..]).unwrap().parse().unwrap();
        assert_eq!(
            v.to_vec(),
            value(i),
            "round {round}: wrong value for batch {i}"
        );
    }
    let got_gone: Vec<String> = gone
        .iter()
        .map(|(k, _)| String::from_utf8(k.to_vec()).unwrap())
        .collect();
    assert_eq!(
        got_gone, expect_gone,
        "round {round}: deletes are not a prefix"
    );
    eprintln!(
        "round {round}: recovered through batch {last:?} (acked {acked:?}) in {reopen:?}, {} L0 files",
        db.stats().levels[0].files
    );
    last
}

fn crash_loop(sync: bool) {
    let rounds: usize = std::env::var("STRATA_CRASH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30);
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(if sync { 1 } else { 2 });
    let mut previous = None;
    for round in 0..rounds {
        let mut child = Command::new(&exe)
            .args([
                "crash_child",
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, dir.path())
            .env("STRATA_CRASH_SYNC", if sync { "1" } else { "0" })
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        // Read acks on a thread; kill after a random delay once the child is writing.
        let reader = std::thread::spawn(move || {
            let mut acked = None;
            let mut lines = BufReader::new(stdout);
            let mut line = String::new();
            while lines.read_line(&mut line).map(|n| n > 0).unwrap_or(false) {
                if let Some(n) = line.trim().strip_prefix("ack ") {
                    acked = n.parse::<u64>().ok();
                }
                line.clear();
            }
            let mut rest = String::new();
            let _ = lines.read_to_string(&mut rest);
            acked
        });
        std::thread::sleep(Duration::from_millis(rng.gen_range(30..400)));
        child.kill().unwrap(); // SIGKILL
        let _ = child.wait();
        let acked = reader.join().unwrap().or(previous);
        let last = verify(dir.path(), acked, sync, round);
        if let (Some(p), Some(l)) = (previous, last) {
            assert!(l >= p, "round {round}: recovered state went backwards");
        }
        previous = last;
    }
    assert!(
        previous.is_some_and(|p| p > 0),
        "the child never got to write"
    );
}

#[test]
fn kill_9_with_sync_loses_no_acknowledged_write() {
    crash_loop(true);
}

#[test]
fn kill_9_without_sync_recovers_a_prefix() {
    crash_loop(false);
}

#[test]
fn reopen_time_with_a_full_memtable_is_bounded() {
    // Fill most of a 16 MiB memtable, drop without flush, and time recovery.
    let dir = tempfile::tempdir().unwrap();
    let opts = || Options::default().write_buffer_size(16 << 20);
    let db = Db::open(dir.path(), opts()).unwrap();
    let mut i = 0u64;
    while db.stats().memtable_bytes < 15 << 20 {
        let mut b = WriteBatch::new();
        for _ in 0..100 {
            b.put(format!("{i:016}"), [7u8; 100]);
            i += 1;
        }
        db.write(b, WriteOptions::default()).unwrap();
    }
    drop(db);
    let t = Instant::now();
    let db = Db::open(dir.path(), opts()).unwrap();
    let elapsed = t.elapsed();
    eprintln!("reopen replaying a 15 MiB memtable ({i} entries): {elapsed:?}");
    assert_eq!(
        db.get(format!("{:016}", i - 1)).unwrap().as_deref(),
        Some(&[7u8; 100][..])
    );
    // After the recovered memtable is flushed, the next open replays nothing.
    db.flush().unwrap();
    drop(db);
    let t = Instant::now();
    let db = Db::open(dir.path(), opts()).unwrap();
    eprintln!("reopen after flush: {:?}", t.elapsed());
    assert_eq!(db.stats().immutable_memtables, 0);
    assert_eq!(db.stats().memtable_entries, 0);
}
