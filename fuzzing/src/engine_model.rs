//! The storage engine against a `BTreeMap`: an arbitrary sequence of puts, deletes, atomic
//! batches, reads, range scans both ways, snapshots, transactions committed and rolled
//! back, flushes, compactions, clean reopens and simulated power losses (unsynced data
//! dropped by the in-memory file system). Every read must equal the model; after a power
//! loss the database must hold one of the states the model went through since the last
//! durable point — every synced write kept, and a prefix of the rest.

use arbitrary::{Arbitrary, Unstructured};
use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Arc;
use strata_engine::fs::MemFs;
use strata_engine::{Db, Options, Snapshot, WriteBatch, WriteOptions};

type State = BTreeMap<Vec<u8>, Vec<u8>>;

#[derive(Arbitrary, Debug)]
enum Op {
    Put {
        key: u8,
        len: u8,
        sync: bool,
    },
    Delete {
        key: u8,
        sync: bool,
    },
    Batch {
        writes: Vec<(u8, Option<u8>)>,
        sync: bool,
    },
    Get {
        key: u8,
    },
    Range {
        lo: Option<u8>,
        hi: Option<u8>,
        reverse: bool,
    },
    TakeSnapshot,
    ReadSnapshot {
        which: u8,
        lo: Option<u8>,
        hi: Option<u8>,
        reverse: bool,
    },
    ReleaseSnapshot {
        which: u8,
    },
    Transaction {
        writes: Vec<(u8, Option<u8>)>,
        reads: Vec<u8>,
        commit: bool,
    },
    Flush,
    Compact {
        lo: Option<u8>,
        hi: Option<u8>,
    },
    Reopen,
    Crash,
}

const DIR: &str = "/db";
/// Operations per input at most (each reopen costs milliseconds).
const MAX_OPS: usize = 300;
/// Reopens and crashes per input at most.
const MAX_RESTARTS: usize = 8;

fn key(k: u8) -> Vec<u8> {
    format!("key{:02}", k % 48).into_bytes()
}

fn options(fs: &Arc<MemFs>) -> Options {
    Options::default()
        .file_system(fs.clone())
        .write_buffer_size(64 * 1024)
}

fn open(fs: &Arc<MemFs>) -> Db {
    match Db::open(DIR, options(fs)) {
        Ok(db) => db,
        Err(e) => panic!("the database does not reopen: {e}"),
    }
}

fn bounds(lo: Option<u8>, hi: Option<u8>) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
    (
        lo.map_or(Bound::Unbounded, |k| Bound::Included(key(k))),
        hi.map_or(Bound::Unbounded, |k| Bound::Excluded(key(k))),
    )
}

fn valid(b: &(Bound<Vec<u8>>, Bound<Vec<u8>>)) -> bool {
    match b {
        (Bound::Included(l), Bound::Excluded(h)) => l <= h,
        _ => true,
    }
}

fn expect_range(
    state: &State,
    b: &(Bound<Vec<u8>>, Bound<Vec<u8>>),
    reverse: bool,
) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut v: Vec<_> = state
        .range(b.clone())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if reverse {
        v.reverse();
    }
    v
}

fn collect(
    iter: impl DoubleEndedIterator<Item = strata_engine::Result<(bytes::Bytes, bytes::Bytes)>>,
    reverse: bool,
) -> Vec<(Vec<u8>, Vec<u8>)> {
    let step = |e: strata_engine::Result<(bytes::Bytes, bytes::Bytes)>| match e {
        Ok((k, v)) => (k.to_vec(), v.to_vec()),
        Err(e) => panic!("a scan failed: {e}"),
    };
    if reverse {
        iter.rev().map(step).collect()
    } else {
        iter.map(step).collect()
    }
}

/// Runs one input.
pub fn run(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let mut ops = Vec::new();
    while ops.len() < MAX_OPS {
        match Op::arbitrary(&mut u) {
            Ok(op) => ops.push(op),
            Err(_) => break,
        }
    }
    if std::env::var_os("STRATA_FUZZ_DEBUG").is_some() {
        eprintln!("{ops:#?}");
    }
    let fs = Arc::new(MemFs::new());
    let mut db = Some(open(&fs));
    let mut model = State::new();
    // States since the last point where everything written was durable, oldest first.
    let mut since_durable: Vec<State> = vec![State::new()];
    let mut snapshots: Vec<(Snapshot, State)> = Vec::new();
    let mut restarts = 0;
    let mut version = 0u64;
    let mut value = |k: u8, len: u8| {
        version += 1;
        let mut v = format!("{version}:{k}:").into_bytes();
        v.resize(v.len() + usize::from(len) * 3, b'v');
        v
    };
    for op in ops {
        let Some(d) = db.as_ref() else { return };
        let ks = d.default_keyspace();
        let wrote = |model: &State, sync: bool, since: &mut Vec<State>| {
            if sync {
                since.clear();
            }
            since.push(model.clone());
        };
        match op {
            Op::Put { key: k, len, sync } => {
                let v = value(k, len);
                let mut b = WriteBatch::new();
                b.put(key(k), &v);
                if let Err(e) = d.write(b, WriteOptions::new().sync(sync)) {
                    panic!("put failed: {e}");
                }
                model.insert(key(k), v);
                wrote(&model, sync, &mut since_durable);
            }
            Op::Delete { key: k, sync } => {
                let mut b = WriteBatch::new();
                b.delete(key(k));
                if let Err(e) = d.write(b, WriteOptions::new().sync(sync)) {
                    panic!("delete failed: {e}");
                }
                model.remove(&key(k));
                wrote(&model, sync, &mut since_durable);
            }
            Op::Batch { writes, sync } => {
                let mut b = WriteBatch::new();
                for (k, w) in writes.iter().take(32) {
                    match w {
                        Some(len) => {
                            let v = value(*k, *len);
                            b.put(key(*k), &v);
                            model.insert(key(*k), v);
                        }
                        None => {
                            b.delete(key(*k));
                            model.remove(&key(*k));
                        }
                    }
                }
                if let Err(e) = d.write(b, WriteOptions::new().sync(sync)) {
                    panic!("batch failed: {e}");
                }
                wrote(&model, sync, &mut since_durable);
            }
            Op::Get { key: k } => {
                let got = d.get(key(k)).unwrap_or_else(|e| panic!("get failed: {e}"));
                assert_eq!(got.as_deref(), model.get(&key(k)).map(Vec::as_slice));
            }
            Op::Range { lo, hi, reverse } => {
                let b = bounds(lo, hi);
                if valid(&b) {
                    assert_eq!(
                        collect(d.range(b.clone()), reverse),
                        expect_range(&model, &b, reverse),
                        "range {b:?} reverse {reverse}"
                    );
                }
            }
            Op::TakeSnapshot => {
                if snapshots.len() < 8 {
                    snapshots.push((d.snapshot(), model.clone()));
                }
            }
            Op::ReadSnapshot {
                which,
                lo,
                hi,
                reverse,
            } => {
                if !snapshots.is_empty() {
                    let (s, state) = &snapshots[usize::from(which) % snapshots.len()];
                    let b = bounds(lo, hi);
                    if valid(&b) {
                        assert_eq!(
                            collect(s.range(&ks, b.clone()), reverse),
                            expect_range(state, &b, reverse),
                            "snapshot range {b:?}"
                        );
                    }
                }
            }
            Op::ReleaseSnapshot { which } => {
                if !snapshots.is_empty() {
                    let i = usize::from(which) % snapshots.len();
                    snapshots.remove(i);
                }
            }
            Op::Transaction {
                writes,
                reads,
                commit,
            } => {
                let mut t = d.transaction();
                let mut mine = model.clone();
                for (k, w) in writes.iter().take(16) {
                    match w {
                        Some(len) => {
                            let v = value(*k, *len);
                            t.put(&ks, key(*k), &v);
                            mine.insert(key(*k), v);
                        }
                        None => {
                            t.delete(&ks, key(*k));
                            mine.remove(&key(*k));
                        }
                    }
                }
                for k in reads.iter().take(16) {
                    let got = t
                        .get(&ks, key(*k))
                        .unwrap_or_else(|e| panic!("transaction get failed: {e}"));
                    assert_eq!(got.as_deref(), mine.get(&key(*k)).map(Vec::as_slice));
                }
                let all = collect(t.iter(&ks), false);
                assert_eq!(
                    all,
                    expect_range(&mine, &(Bound::Unbounded, Bound::Unbounded), false)
                );
                if commit {
                    if let Err(e) = t.commit() {
                        panic!("an uncontended transaction failed to commit: {e}");
                    }
                    if !writes.is_empty() {
                        model = mine;
                        wrote(&model, false, &mut since_durable);
                    }
                } else {
                    t.rollback();
                }
            }
            Op::Flush => {
                if let Err(e) = d.flush() {
                    panic!("flush failed: {e}");
                }
                // A flush makes everything before it durable.
                since_durable = vec![model.clone()];
            }
            Op::Compact { lo, hi } => {
                let b = bounds(lo, hi);
                if valid(&b) {
                    if let Err(e) = d.compact_range(b) {
                        panic!("compaction failed: {e}");
                    }
                }
            }
            Op::Reopen | Op::Crash => {
                if restarts >= MAX_RESTARTS {
                    continue;
                }
                restarts += 1;
                snapshots.clear();
                drop(ks);
                let crash = matches!(op, Op::Crash);
                let old = db.take();
                if let Some(old) = old {
                    if crash {
                        old.abandon();
                        fs.crash();
                    } else {
                        drop(old);
                        // An orderly close syncs everything.
                        since_durable = vec![model.clone()];
                    }
                }
                let reopened = open(&fs);
                let state: State = collect(reopened.range::<&[u8], _>(..), false)
                    .into_iter()
                    .collect();
                assert!(
                    since_durable.contains(&state),
                    "after a power loss the database holds a state it never was in: {} keys; model had {} keys",
                    state.len(),
                    model.len()
                );
                model = state;
                since_durable = vec![model.clone()];
                db = Some(reopened);
            }
        }
    }
}
