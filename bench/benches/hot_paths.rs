//! Criterion micro-benchmarks of the engine's hot paths: memtable insert, lookup and scan, block
//! encode and decode, bloom probe, WAL append, merging-iterator step.
//!
//! `cargo bench -p strata-bench --bench hot_paths`

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use std::hint::black_box;
use strata_engine::bench_support::{encode_block, scan_block, Filter, Memtable, Merge, Wal};

fn keys(n: u64) -> Vec<Vec<u8>> {
    // A fixed pseudo-random permutation, so inserts are not sequential.
    (0..n)
        .map(|i| {
            format!(
                "{:016}",
                i.wrapping_mul(0x9E37_79B9_7F4A_7C15) % 1_000_000_007
            )
            .into_bytes()
        })
        .collect()
}

fn memtable(c: &mut Criterion) {
    let ks = keys(100_000);
    let value = Bytes::from(vec![7u8; 100]);
    let mut g = c.benchmark_group("memtable");
    g.throughput(Throughput::Elements(ks.len() as u64));
    g.bench_function("insert 100k random", |b| {
        b.iter_batched(
            Memtable::default,
            |m| {
                for (i, k) in ks.iter().enumerate() {
                    m.insert(k, i as u64 + 1, value.clone());
                }
                m
            },
            BatchSize::LargeInput,
        )
    });
    let m = Memtable::default();
    for (i, k) in ks.iter().enumerate() {
        m.insert(k, i as u64 + 1, value.clone());
    }
    g.bench_function("get 100k", |b| {
        b.iter(|| ks.iter().filter(|k| m.get(k)).count())
    });
    g.bench_function("scan 100k", |b| {
        b.iter(|| m.scan().map_err(|e| e.to_string()))
    });
    // Keys shaped like the table layer's: items of one partition share a 22-byte prefix
    // (partition hash, escaped partition key, terminator), then the sort key.
    let table_keys: Vec<Vec<u8>> = (0..100_000u64)
        .map(|i| {
            let partition = (i / 100).wrapping_mul(0x9e37_79b9_7f4a_7c15);
            let mut k = (partition >> 32).to_be_bytes()[4..].to_vec();
            k.extend_from_slice(format!("{:016}", i / 100).as_bytes());
            k.extend_from_slice(&[0, 1, 0x40 + (i % 100) as u8]);
            k
        })
        .collect();
    // Inserted and read in a scattered order (a permutation: 7919 is prime to 100 000).
    let scattered: Vec<&[u8]> = (0..table_keys.len())
        .map(|i| &table_keys[i * 7919 % table_keys.len()][..])
        .collect();
    let t = Memtable::default();
    for (i, k) in scattered.iter().enumerate() {
        t.insert(k, i as u64 + 1, value.clone());
    }
    g.bench_function("get 100k table keys", |b| {
        b.iter(|| scattered.iter().rev().filter(|k| t.get(k)).count())
    });
    g.finish();
}

fn block(c: &mut Criterion) {
    let entries: Vec<(Vec<u8>, Vec<u8>)> = (0..32u32)
        .map(|i| (format!("{i:016}").into_bytes(), vec![i as u8; 100]))
        .collect();
    let encoded = encode_block(&entries);
    let mut g = c.benchmark_group("block");
    g.throughput(Throughput::Elements(entries.len() as u64));
    g.bench_function("encode 32 entries", |b| {
        b.iter(|| encode_block(black_box(&entries)))
    });
    g.bench_function("decode and scan 32 entries", |b| {
        b.iter(|| scan_block(black_box(encoded.clone())).map_err(|e| e.to_string()))
    });
    g.finish();
}

fn bloom(c: &mut Criterion) {
    let ks = keys(100_000);
    let filter = Filter::build(ks.iter().map(Vec::as_slice), 10);
    let absent: Vec<Vec<u8>> = (0..1000u32)
        .map(|i| format!("absent{i:010}").into_bytes())
        .collect();
    c.bench_function("bloom probe (1000 absent keys)", |b| {
        b.iter(|| absent.iter().filter(|k| filter.probe(k)).count())
    });
}

fn wal(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut w = Wal::create(dir.path().join("bench.log")).expect("create wal");
    let record = vec![3u8; 128];
    let mut g = c.benchmark_group("wal");
    g.throughput(Throughput::Bytes(record.len() as u64));
    g.bench_function("append 128 B (no fsync)", |b| {
        b.iter(|| w.append(black_box(&record)).map_err(|e| e.to_string()))
    });
    g.finish();
}

fn merge(c: &mut Criterion) {
    let mut m = Merge::new(6, 60_000).expect("merge");
    c.bench_function("merging iterator step (6 sources)", |b| {
        b.iter(|| m.step().map_err(|e| e.to_string()))
    });
}

criterion_group!(benches, memtable, block, bloom, wal, merge);
criterion_main!(benches);
