//! Model-based test: random operations against the engine and a `BTreeMap`, with flushes and
//! close/reopen cycles in between, comparing every read, point and range, forwards and backwards.
//! Snapshots taken along the way are checked against copies of the model from their moment,
//! while compactions (background and manual) run underneath them.
//!
//! `STRATA_MODEL_OPS` sets the number of operations per seed (default 6000);
//! `STRATA_MODEL_SEEDS` the number of seeds (default 3).

#![allow(clippy::unwrap_used, reason = "test code: a panic is a failed test")]

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use std::ops::Bound;
use strata_engine::{Compression, Db, Options, Snapshot, WriteBatch, WriteOptions};

/// The reference: what the database should hold.
type Model = BTreeMap<Vec<u8>, Vec<u8>>;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn options(seed: u64) -> Options {
    // Tiny buffers and levels so flushes and compactions through several levels happen
    // constantly, concurrently with the operations.
    Options::default()
        .write_buffer_size(64 * 1024)
        .level_base_bytes(128 * 1024)
        .level_multiplier(4)
        .target_file_size(64 * 1024)
        .level0_compaction_trigger(2 + (seed % 3) as usize)
        .block_size(if seed.is_multiple_of(2) { 256 } else { 4096 })
        .block_cache_capacity(if seed.is_multiple_of(3) { 0 } else { 1 << 20 })
        .compression(match (seed + 1) % 3 {
            0 => Compression::Zstd { level: 1 },
            1 => Compression::Lz4,
            _ => Compression::None,
        })
}

fn random_key(rng: &mut StdRng) -> Vec<u8> {
    // A small key space so that overwrites and deletes hit existing keys; some keys are
    // prefixes of others.
    let n = rng.gen_range(0..400u32);
    let mut k = format!("k{n:03}").into_bytes();
    if rng.gen_bool(0.2) {
        k.push(b'/');
        k.push(rng.gen_range(b'a'..=b'c'));
    }
    k
}

fn random_value(rng: &mut StdRng) -> Vec<u8> {
    let len = if rng.gen_bool(0.02) {
        rng.gen_range(5000..40_000)
    } else {
        rng.gen_range(0..120)
    };
    (0..len).map(|_| rng.gen()).collect()
}

fn random_bound(rng: &mut StdRng) -> Bound<Vec<u8>> {
    match rng.gen_range(0..3) {
        0 => Bound::Unbounded,
        1 => Bound::Included(random_key(rng)),
        _ => Bound::Excluded(random_key(rng)),
    }
}

fn check_range(db: &Db, model: &BTreeMap<Vec<u8>, Vec<u8>>, rng: &mut StdRng) {
    let lower = random_bound(rng);
    let upper = random_bound(rng);
    let empty_range = match (&lower, &upper) {
        (Bound::Included(l) | Bound::Excluded(l), Bound::Included(u) | Bound::Excluded(u)) => {
            l > u
                || (l == u && !matches!((&lower, &upper), (Bound::Included(_), Bound::Included(_))))
        }
        _ => false,
    };
    let expect: Vec<(Vec<u8>, Vec<u8>)> = if empty_range {
        Vec::new()
    } else {
        model
            .range::<Vec<u8>, _>((lower.clone(), upper.clone()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    let range = (lower.clone(), upper.clone());
    let got: Vec<(Vec<u8>, Vec<u8>)> = db
        .range(range.clone())
        .map(|r| r.map(|(k, v)| (k.to_vec(), v.to_vec())))
        .collect::<Result<_, _>>()
        .expect("forward scan");
    assert_eq!(got.len(), expect.len(), "forward scan of {range:?}");
    assert!(got == expect, "forward scan of {range:?} differs");
    let mut back: Vec<(Vec<u8>, Vec<u8>)> = db
        .range(range.clone())
        .rev()
        .map(|r| r.map(|(k, v)| (k.to_vec(), v.to_vec())))
        .collect::<Result<_, _>>()
        .expect("reverse scan");
    back.reverse();
    assert!(back == expect, "reverse scan of {range:?} differs");
    // Both ends at once meet in the middle without crossing.
    let mut it = db.range(range.clone());
    let (mut head, mut tail) = (Vec::new(), Vec::new());
    loop {
        let (from_front, item) = if rng.gen_bool(0.5) {
            (true, it.next())
        } else {
            (false, it.next_back())
        };
        let Some(item) = item else { break };
        let (k, v) = item.expect("two-ended scan");
        let kv = (k.to_vec(), v.to_vec());
        if from_front {
            head.push(kv);
        } else {
            tail.push(kv);
        }
    }
    tail.reverse();
    head.extend(tail);
    let front = head;
    assert!(front == expect, "two-ended scan of {range:?} differs");
}

fn check_cursor_walk(db: &Db, model: &BTreeMap<Vec<u8>, Vec<u8>>, rng: &mut StdRng) {
    // Random seeks and zig-zag steps against the model; the value is read both borrowed and
    // owned (copied and pinned) at every step, in either direction.
    let at = |c: &strata_engine::Cursor| {
        c.key().map(|k| {
            let v = c.value().unwrap_or_default().to_vec();
            assert_eq!(
                c.value_bytes().as_deref(),
                Some(&v[..]),
                "owned value of {k:?}"
            );
            assert_eq!(
                c.value_pinned().as_deref(),
                Some(&v[..]),
                "pinned value of {k:?}"
            );
            (k.to_vec(), v)
        })
    };
    let entry = |(k, v): (&Vec<u8>, &Vec<u8>)| (k.clone(), v.clone());
    let mut c = db.cursor();
    let target = random_key(rng);
    c.seek(&target).unwrap();
    let mut expect = model.range(target.clone()..).next().map(entry);
    for _ in 0..20 {
        assert_eq!(at(&c), expect, "cursor after seek/steps");
        let Some((cur, _)) = expect.clone() else {
            break;
        };
        if rng.gen_bool(0.5) {
            c.next().unwrap();
            expect = model
                .range::<Vec<u8>, _>((Bound::Excluded(cur), Bound::Unbounded))
                .next()
                .map(entry);
        } else {
            c.prev().unwrap();
            expect = model.range(..cur).next_back().map(entry);
        }
    }
    let target = random_key(rng);
    c.seek_for_prev(&target).unwrap();
    let expect = model.range(..=target).next_back().map(entry);
    assert_eq!(at(&c), expect);
}

fn run(seed: u64, ops: usize) {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = StdRng::seed_from_u64(seed);
    let mut model: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
    let mut db = Db::open(dir.path(), options(seed)).unwrap();
    let mut snapshots: Vec<(Snapshot, Model)> = Vec::new();
    for op in 0..ops {
        if !snapshots.is_empty() && rng.gen_bool(0.05) {
            let (snap, then) = &snapshots[rng.gen_range(0..snapshots.len())];
            let ks = db.default_keyspace();
            let k = random_key(&mut rng);
            assert_eq!(
                snap.get(&ks, &k).unwrap().as_deref(),
                then.get(&k).map(Vec::as_slice),
                "seed {seed} op {op}: snapshot get {k:?}"
            );
            if rng.gen_bool(0.2) {
                let all: Vec<(Vec<u8>, Vec<u8>)> = snap
                    .iter(&ks)
                    .map(|r| r.map(|(k, v)| (k.to_vec(), v.to_vec())))
                    .collect::<Result<_, _>>()
                    .unwrap();
                let expect: Vec<(Vec<u8>, Vec<u8>)> =
                    then.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
                assert!(all == expect, "seed {seed} op {op}: snapshot scan differs");
            }
        }
        match rng.gen_range(0..100) {
            0..=39 => {
                let (k, v) = (random_key(&mut rng), random_value(&mut rng));
                db.put(&k, &v).unwrap();
                model.insert(k, v);
            }
            40..=54 => {
                let k = random_key(&mut rng);
                db.delete(&k).unwrap();
                model.remove(&k);
            }
            55..=64 => {
                let mut batch = WriteBatch::new();
                for _ in 0..rng.gen_range(1..20) {
                    let k = random_key(&mut rng);
                    if rng.gen_bool(0.7) {
                        let v = random_value(&mut rng);
                        batch.put(&k, &v);
                        model.insert(k, v);
                    } else {
                        batch.delete(&k);
                        model.remove(&k);
                    }
                }
                db.write(batch, WriteOptions::new().sync(rng.gen_bool(0.1)))
                    .unwrap();
            }
            65..=84 => {
                let k = random_key(&mut rng);
                let got = db.get(&k).unwrap();
                assert_eq!(
                    got.as_deref(),
                    model.get(&k).map(Vec::as_slice),
                    "seed {seed} op {op}: get {k:?}"
                );
            }
            85..=91 => check_range(&db, &model, &mut rng),
            92..=95 => check_cursor_walk(&db, &model, &mut rng),
            96 => db.flush().unwrap(),
            97 => {
                let (a, b) = (random_key(&mut rng), random_key(&mut rng));
                let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
                if rng.gen_bool(0.3) {
                    db.compact_range::<&[u8], _>(..).unwrap();
                } else {
                    db.compact_range(lo.as_slice()..=hi.as_slice()).unwrap();
                }
            }
            98 => {
                if snapshots.len() < 3 && rng.gen_bool(0.6) {
                    snapshots.push((db.snapshot(), model.clone()));
                } else if !snapshots.is_empty() {
                    snapshots.remove(rng.gen_range(0..snapshots.len()));
                }
            }
            _ => {
                // Snapshots hold the database open.
                snapshots.clear();
                drop(db);
                db = Db::open(dir.path(), options(seed)).unwrap();
            }
        }
    }
    snapshots.clear();
    let stats = db.stats();
    eprintln!(
        "seed {seed}: files per level {:?}, {} compactions, {} trivial moves, {} flushes",
        stats.levels.iter().map(|l| l.files).collect::<Vec<_>>(),
        stats.compactions,
        stats.trivial_moves,
        stats.flushes
    );
    // Final full comparison, after one more reopen.
    drop(db);
    let db = Db::open(dir.path(), options(seed)).unwrap();
    let all: Vec<(Vec<u8>, Vec<u8>)> = db
        .iter()
        .map(|r| r.map(|(k, v)| (k.to_vec(), v.to_vec())))
        .collect::<Result<_, _>>()
        .unwrap();
    let expect: Vec<(Vec<u8>, Vec<u8>)> = model.into_iter().collect();
    assert!(all == expect, "seed {seed}: final contents differ");
}

#[test]
fn random_operations_match_a_btreemap() {
    let ops = env_usize("STRATA_MODEL_OPS", 6000);
    let seeds = env_usize("STRATA_MODEL_SEEDS", 3) as u64;
    for seed in 0..seeds {
        run(seed, ops);
    }
}

#[test]
fn snapshot_iterators_are_unaffected_by_later_writes_and_flushes() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), options(1)).unwrap();
    for i in 0..2000u32 {
        db.put(format!("{i:05}"), format!("v{i}")).unwrap();
    }
    let it = db.iter();
    for i in 0..2000u32 {
        if i % 2 == 0 {
            db.delete(format!("{i:05}")).unwrap();
        } else {
            db.put(format!("{i:05}"), "changed").unwrap();
        }
    }
    db.flush().unwrap();
    let seen: Vec<_> = it.map(Result::unwrap).collect();
    assert_eq!(seen.len(), 2000);
    for (i, (k, v)) in seen.iter().enumerate() {
        assert_eq!(k, format!("{i:05}").as_bytes());
        assert_eq!(v, format!("v{i}").as_bytes());
    }
    assert_eq!(db.iter().count(), 1000);
}
