//! The bank test (Badger's and Jepsen's classic), across real `kill -9`s.
//!
//! 100 accounts live in two keyspaces. In a child process, transfer threads move random
//! amounts between random accounts in transactions (each also records the transfer under a
//! unique id), while reader threads sum every balance in read-only transactions and report any
//! total that is not the starting one. The parent kills the child at a random moment, reopens
//! the database, and checks that the total is unchanged and that every transfer the child
//! acknowledged is there. Rounds continue on the same directory. `STRATA_BANK_ROUNDS` sets
//! the number of rounds (default 6).

#![allow(clippy::unwrap_used, reason = "test code: a panic is a failed test")]

use rand::{Rng, SeedableRng};
use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use strata_engine::{Db, Keyspace, Options, Transaction, WriteOptions};

const CHILD_ENV: &str = "STRATA_BANK_CHILD";
const ACCOUNTS: u32 = 100;
const START_BALANCE: i64 = 1000;
const TOTAL: i64 = ACCOUNTS as i64 * START_BALANCE;

fn options() -> Options {
    // Small memtables: kills also land in flushes and compactions.
    Options::default().write_buffer_size(64 * 1024)
}

/// Account `i`'s keyspace and key: the first half in "checking", the rest in "savings".
fn account(db: &Db, i: u32) -> (Keyspace, String) {
    let ks = if i < ACCOUNTS / 2 {
        "checking"
    } else {
        "savings"
    };
    (db.keyspace(ks).unwrap(), format!("acct{i:03}"))
}

fn balance(t: &mut Transaction, ks: &Keyspace, key: &str) -> i64 {
    let v = t.get(ks, key).unwrap().expect("account missing");
    std::str::from_utf8(&v).unwrap().parse().unwrap()
}

/// Sums every balance through iterators (not point reads), so a scan sees one snapshot.
fn total(db: &Db, t: &mut Transaction) -> i64 {
    ["checking", "savings"]
        .iter()
        .flat_map(|name| {
            let ks = db.keyspace(name).unwrap();
            t.prefix(&ks, "acct")
                .map(|e| {
                    let (_, v) = e.unwrap();
                    std::str::from_utf8(&v).unwrap().parse::<i64>().unwrap()
                })
                .collect::<Vec<_>>()
        })
        .sum()
}

fn init(db: &Db) {
    let meta = db.default_keyspace();
    let mut t = db.transaction();
    if t.get(&meta, "initialized").unwrap().is_some() {
        return;
    }
    for i in 0..ACCOUNTS {
        let (ks, key) = account(db, i);
        t.put(&ks, key, START_BALANCE.to_string());
    }
    t.put(&meta, "initialized", "1");
    t.commit_with(WriteOptions::new().sync(true)).unwrap();
}

#[test]
#[ignore = "runs only as the bank test's child process"]
fn bank_child() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        panic!("bank_child runs only as a child of the bank test ({CHILD_ENV} unset)");
    };
    let round: u32 = std::env::var("STRATA_BANK_ROUND").unwrap().parse().unwrap();
    let db = Db::open(&dir, options()).unwrap();
    init(&db);
    let out = Arc::new(parking_lot::Mutex::new(std::io::stdout()));
    let stop = Arc::new(AtomicBool::new(false));
    let mut threads = Vec::new();
    for thread in 0..4u32 {
        let (db, out) = (db.clone(), out.clone());
        threads.push(std::thread::spawn(move || {
            let mut rng = rand::rngs::StdRng::seed_from_u64(u64::from(round * 100 + thread));
            let transfers = db.keyspace("transfers").unwrap();
            for n in 0u64.. {
                let (from, to) = (rng.gen_range(0..ACCOUNTS), rng.gen_range(0..ACCOUNTS));
                if from == to {
                    continue;
                }
                let amount = rng.gen_range(1..200);
                let (from_ks, from_key) = account(&db, from);
                let (to_ks, to_key) = account(&db, to);
                let id = format!("r{round}-t{thread}-{n}");
                let mut t = db.transaction();
                let a = balance(&mut t, &from_ks, &from_key);
                if a < amount {
                    continue;
                }
                let b = balance(&mut t, &to_ks, &to_key);
                t.put(&from_ks, &from_key, (a - amount).to_string());
                t.put(&to_ks, &to_key, (b + amount).to_string());
                t.put(&transfers, &id, format!("{from}->{to}:{amount}"));
                let sync = WriteOptions::new().sync(thread % 2 == 0);
                match t.commit_with(sync) {
                    Ok(_) => {
                        let mut o = out.lock();
                        writeln!(o, "ack {id}").unwrap();
                        o.flush().unwrap();
                    }
                    Err(e) if e.is_conflict() => {}
                    Err(e) => panic!("transfer failed: {e}"),
                }
            }
        }));
    }
    for _ in 0..2 {
        let (db, out, stop) = (db.clone(), out.clone(), stop.clone());
        threads.push(std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let mut t = db.transaction();
                let sum = total(&db, &mut t);
                if sum != TOTAL {
                    let mut o = out.lock();
                    writeln!(o, "bad-total {sum}").unwrap();
                    o.flush().unwrap();
                }
                let mut o = out.lock();
                writeln!(o, "read").unwrap();
                o.flush().unwrap();
            }
        }));
    }
    for t in threads {
        t.join().unwrap();
    }
}

#[test]
fn bank_transfers_keep_the_total_across_kill_9() {
    let rounds: u32 = std::env::var("STRATA_BANK_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(6);
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    let mut all_acked = HashSet::new();
    let (mut reads, mut transfers) = (0, 0);
    for round in 0..rounds {
        let mut child = Command::new(&exe)
            .args([
                "bank_child",
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, dir.path())
            .env("STRATA_BANK_ROUND", round.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            let (mut acked, mut bad, mut reads) = (Vec::new(), Vec::new(), 0);
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(id) = line.strip_prefix("ack ") {
                    acked.push(id.to_owned());
                } else if let Some(sum) = line.strip_prefix("bad-total ") {
                    bad.push(sum.to_owned());
                } else if line == "read" {
                    reads += 1;
                }
            }
            (acked, bad, reads)
        });
        std::thread::sleep(Duration::from_millis(rng.gen_range(300..900)));
        child.kill().unwrap(); // SIGKILL
        let _ = child.wait();
        let (acked, bad, round_reads) = reader.join().unwrap();
        assert!(
            bad.is_empty(),
            "round {round}: {} reads saw a wrong total, e.g. {:?}",
            bad.len(),
            &bad[..bad.len().min(5)]
        );
        reads += round_reads;
        transfers += acked.len();
        all_acked.extend(acked);

        let db = Db::open(dir.path(), options())
            .unwrap_or_else(|e| panic!("round {round}: reopen failed: {e}"));
        let mut t = db.transaction();
        if t.get(&db.default_keyspace(), "initialized")
            .unwrap()
            .is_none()
        {
            continue; // killed before the initial commit
        }
        assert_eq!(total(&db, &mut t), TOTAL, "round {round}: total changed");
        let recorded = db.keyspace("transfers").unwrap();
        for id in &all_acked {
            assert!(
                recorded.get(id).unwrap().is_some(),
                "round {round}: acknowledged transfer {id} is missing"
            );
        }
    }
    eprintln!("{transfers} acknowledged transfers, {reads} consistent reads");
    assert!(
        transfers > 100 && reads > 10,
        "the child did too little work"
    );
}
