//! Writes, reads, scans, reopens and prints what it did.
//!
//! `cargo run --release --example quickstart [DIR]` (default `./strata-data`).

use std::time::Instant;
use strata::{Db, Options, WriteBatch, WriteOptions};

fn main() -> strata::Result<()> {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "strata-data".into());
    let n: u64 = 200_000;

    let db = Db::open(&dir, Options::default())?;
    println!("opened {dir} (last sequence {})", db.last_sequence());

    let t = Instant::now();
    for chunk in 0..n / 1000 {
        let mut batch = WriteBatch::new();
        for i in chunk * 1000..(chunk + 1) * 1000 {
            batch.put(format!("key{i:08}"), format!("value-{i}"));
        }
        db.write(batch, WriteOptions::default())?;
    }
    db.write(
        {
            let mut b = WriteBatch::new();
            b.put("meta/written", n.to_string());
            b
        },
        WriteOptions::new().sync(true),
    )?;
    println!("wrote {n} keys in batches of 1000 in {:?}", t.elapsed());

    let t = Instant::now();
    for i in (0..n).step_by(97) {
        let v = db.get(format!("key{i:08}"))?;
        assert_eq!(v.as_deref(), Some(format!("value-{i}").as_bytes()));
    }
    println!("read {} keys back in {:?}", n / 97 + 1, t.elapsed());

    let first: Vec<_> = db.prefix("key").take(3).collect::<strata::Result<_>>()?;
    let last = db.prefix("key").next_back().transpose()?;
    println!(
        "first keys: {:?}; last key: {:?}",
        first
            .iter()
            .map(|(k, _)| String::from_utf8_lossy(k).into_owned())
            .collect::<Vec<_>>(),
        last.map(|(k, _)| String::from_utf8_lossy(&k).into_owned())
    );

    db.flush()?;
    drop(db);
    let t = Instant::now();
    let db = Db::open(&dir, Options::default())?;
    let reopen = t.elapsed();
    let count = db.prefix("key").count();
    println!(
        "reopened in {reopen:?}: {count} keys, meta/written = {:?}",
        db.get("meta/written")?
            .map(|v| String::from_utf8_lossy(&v).into_owned())
    );
    let stats = db.stats();
    println!(
        "tables: {} files, {} bytes on disk; block cache {} / {} bytes",
        stats.levels.iter().map(|l| l.files).sum::<usize>(),
        stats.table_bytes(),
        stats.block_cache_bytes,
        stats.block_cache_capacity
    );
    Ok(())
}
