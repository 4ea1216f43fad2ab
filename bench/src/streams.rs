//! The stream workloads: writer throughput with a change record in every commit (and
//! without, for the ratio), and commit-to-subscriber latency under a steady write load.

use crate::engines::Result;
use crate::workloads::{key, Params, Run, ValueGen};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::time::{Duration, Instant};
use strata_engine::{Db, WriteBatch, WriteOptions};
use strata_streams::{ChangeLog, LogOptions, Start};

/// Runs stream workload `name`, timing in `run`.
pub fn run(db: &Db, name: &str, p: &Params, run: &mut Run, values: &mut ValueGen) -> Result<()> {
    let data = db.keyspace("stream-bench")?;
    let log = ChangeLog::open(db, "bench", LogOptions::default())?;
    let n = (p.num / 10).max(1000);
    let mut rng = StdRng::seed_from_u64(p.seed ^ crate::hash_name(name));
    let mut kb = Vec::new();
    match name {
        "stream-write" | "stream-write-off" => {
            let with_stream = name == "stream-write";
            for _ in 0..n {
                key(rng.gen_range(0..p.num), p.key_size, &mut kb);
                let v = values.next();
                run.timed(|| {
                    let mut batch = WriteBatch::new();
                    batch.put_in(&data, &kb, v);
                    if with_stream {
                        let appender = log.appender()?;
                        appender.append(&mut batch, &kb, v);
                        db.write(batch, WriteOptions::default())?;
                    } else {
                        db.write(batch, WriteOptions::default())?;
                    }
                    Ok(())
                })?;
            }
            run.user_bytes = n * (p.key_size + p.value_size) as u64;
        }
        _ => {
            // A writer at a steady ~10k commits/s (10 per millisecond, paced by sleeping, not
            // spinning); the subscriber measures, for each record, the time from just before
            // its commit to its delivery.
            let count = (p.num / 100).max(1000);
            let start = Instant::now();
            let mut sub = log.subscribe(Start::Latest)?;
            let writer = {
                let log = log.clone();
                let db = db.clone();
                let data = data.clone();
                std::thread::spawn(move || -> Result<()> {
                    let mut next = Instant::now();
                    for i in 0..count {
                        if i % 10 == 0 {
                            next += Duration::from_millis(1);
                            if let Some(wait) = next.checked_duration_since(Instant::now()) {
                                std::thread::sleep(wait);
                            }
                        }
                        let sent = start.elapsed().as_nanos() as u64;
                        let mut batch = WriteBatch::new();
                        batch.put_in(&data, i.to_be_bytes(), b"v");
                        let appender = log.appender()?;
                        appender.append(&mut batch, &i.to_be_bytes(), &sent.to_be_bytes());
                        db.write(batch, WriteOptions::default())?;
                    }
                    Ok(())
                })
            };
            for _ in 0..count {
                let r = sub
                    .next_timeout(Duration::from_secs(30))?
                    .ok_or("stream-latency: a record was not delivered within 30 s")?;
                let now = start.elapsed().as_nanos() as u64;
                let mut sent = [0u8; 8];
                sent.copy_from_slice(r.payload.get(..8).ok_or("short payload")?);
                run.record(now.saturating_sub(u64::from_be_bytes(sent)));
            }
            writer
                .join()
                .map_err(|_| "stream-latency: the writer panicked")??;
        }
    }
    Ok(())
}
