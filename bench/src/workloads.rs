//! The db_bench workloads, with RocksDB's names.

use crate::engines::{Engine, Result};
use crate::metrics;
use hdrhistogram::Histogram;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Every workload, in the order a full run uses.
pub const ALL: &[&str] = &[
    "fillseq",
    "fillrandom",
    "overwrite",
    "readrandom",
    "readmissing",
    "readseq",
    "readreverse",
    "seekrandom",
    "readwhilewriting",
    "deleterandom",
    "fillsync",
    "fillsync:8",
];

/// The transaction workloads, run only on engines with transactions (strata, rocksdb-otxn):
/// read two keys and write both back, keys uniform over `--num`, zipfian (θ = 0.99) over
/// `--num`, or uniform over a hot set of 1000 keys where conflicts are frequent.
pub const TRANSACTIONS: &[&str] = &["txn-readwrite", "txn-readwrite-zipf", "txn-conflict-rate"];

/// The table-layer workloads (strata only): PutItem, GetItem, UpdateItem of single items
/// and Query of 100-item partitions, over a table of `--num`/10 items (`table-query100-read`:
/// the same Query through the fastest API each implementation has for reading its items,
/// reading attribute `v` of each, see [`crate::dynamo::DynamoApi::query_reading`]); `scan100` is the raw
/// engine's equivalent of one such Query (a seek and 100 steps), for the overhead ratio;
/// `table-put-stream` is `table-put` on a table with a NEW_AND_OLD_IMAGES stream;
/// `table-put-gsi0`/`1`/`5` are `table-put` with five GSI attributes per item, on tables with
/// 0, 1 and 5 GSIs, and `table-query-gsi` a 100-item Query of a GSI partition of the
/// `table-put-gsi1` table (see [`crate::tables`]).
pub const TABLE: &[&str] = &[
    "table-put",
    "table-put-stream",
    "table-get",
    "table-update",
    "table-query100",
    "table-query100-read",
    "table-put-gsi0",
    "table-put-gsi1",
    "table-put-gsi5",
    "table-query-gsi",
];

/// The stream workloads (strata only): `stream-write` writes `--num`/10 keys each with a
/// change record in the same commit, `stream-write-off` the same writes without; and
/// `stream-latency` measures commit-to-subscriber latency under a steady write load.
pub const STREAM: &[&str] = &["stream-write", "stream-write-off", "stream-latency"];

/// Keys the conflict-rate workload writes to.
const HOT_KEYS: u64 = 1000;

/// Parameters of a run.
#[derive(Debug, Clone)]
pub struct Params {
    pub num: u64,
    pub key_size: usize,
    pub value_size: usize,
    pub threads: usize,
    pub compression_ratio: f64,
    pub seed: u64,
    pub sync_num: u64,
}

/// One workload's figures.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Outcome {
    pub engine: String,
    pub workload: String,
    pub ops: u64,
    pub found: u64,
    pub seconds: f64,
    pub cpu_seconds: f64,
    pub user_bytes: u64,
    pub p50_us: f64,
    pub p99_us: f64,
    pub p999_us: f64,
    /// Transactions aborted on a conflict (transaction workloads only).
    #[serde(default)]
    pub aborts: u64,
    /// Bytes written to storage per user byte (fills only).
    pub write_amp: Option<f64>,
    /// Bytes on disk per logical byte of live data (fills only).
    pub space_amp: Option<f64>,
    pub peak_rss: u64,
}

impl Outcome {
    pub fn ops_per_sec(&self) -> f64 {
        self.ops as f64 / self.seconds.max(1e-9)
    }
    pub fn ops_per_cpu_sec(&self) -> f64 {
        self.ops as f64 / self.cpu_seconds.max(1e-9)
    }
    pub fn mb_per_sec(&self) -> f64 {
        self.user_bytes as f64 / 1e6 / self.seconds.max(1e-9)
    }
}

/// Formats key `i` as `key_size` bytes: zero-padded decimal, like db_bench.
pub fn key(i: u64, size: usize, buf: &mut Vec<u8>) {
    buf.clear();
    let digits = format!("{i:0width$}", width = size.max(1));
    let d = digits.as_bytes();
    buf.extend_from_slice(&d[d.len().saturating_sub(size)..]);
}

/// Values that compress to about `ratio` of their size: random bytes, then repeats of them.
pub struct ValueGen {
    data: Vec<u8>,
    pos: usize,
    size: usize,
}

impl ValueGen {
    pub fn new(size: usize, ratio: f64, seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed ^ 0x5eed);
        let mut data = Vec::with_capacity(1 << 20);
        while data.len() < (1 << 20) {
            let piece = 100;
            let random = ((piece as f64) * ratio).round().max(1.0) as usize;
            let start = data.len();
            for _ in 0..random {
                data.push(rng.gen_range(b' '..=b'~'));
            }
            while data.len() < start + piece {
                let b = data[start + (data.len() - start) % random];
                data.push(b);
            }
        }
        ValueGen { data, pos: 0, size }
    }

    pub fn next(&mut self) -> &[u8] {
        if self.pos + self.size > self.data.len() {
            self.pos = 0;
        }
        let v = &self.data[self.pos..self.pos + self.size];
        self.pos += self.size;
        v
    }
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000_000, 3).expect("valid histogram bounds")
}

/// Which keys exist, to compute the logical size of live data.
pub struct Live {
    bits: Vec<bool>,
    count: u64,
}

impl Live {
    pub fn new(num: u64) -> Self {
        Live {
            bits: vec![false; num as usize],
            count: 0,
        }
    }
    fn set(&mut self, i: u64, present: bool) {
        let slot = &mut self.bits[i as usize];
        if *slot != present {
            *slot = present;
            if present {
                self.count += 1;
            } else {
                self.count -= 1;
            }
        }
    }
}

/// Timing and counting shared by the workloads.
pub(crate) struct Run {
    start: Instant,
    cpu: f64,
    io: u64,
    hist: Histogram<u64>,
    ops: u64,
    found: u64,
    pub(crate) user_bytes: u64,
    /// Wall time spent in [`Run::untimed`], left out of the workload's seconds.
    untimed: Duration,
    /// CPU time spent in [`Run::untimed`], left out of the workload's CPU seconds.
    untimed_cpu: f64,
}

impl Run {
    fn start() -> Run {
        metrics::reset_peak_rss();
        Run {
            start: Instant::now(),
            cpu: metrics::cpu_seconds(),
            io: metrics::io_write_bytes(),
            hist: histogram(),
            ops: 0,
            found: 0,
            user_bytes: 0,
            untimed: Duration::ZERO,
            untimed_cpu: 0.0,
        }
    }

    /// Runs `prepare` outside the measurement: its wall and CPU time are left out of the
    /// workload's throughput. The table workloads build their requests (JSON, parsed into
    /// each implementation's request type) here, a few hundred at a time: that is the
    /// benchmark's work, and at several microseconds a request it would otherwise be most
    /// of what a fast implementation's throughput measures.
    pub(crate) fn untimed<T>(&mut self, prepare: impl FnOnce() -> Result<T>) -> Result<T> {
        let (wall, cpu) = (Instant::now(), metrics::cpu_seconds());
        let r = prepare();
        self.untimed += wall.elapsed();
        self.untimed_cpu += metrics::cpu_seconds() - cpu;
        r
    }

    /// Adds a latency measured elsewhere (nanoseconds) as one operation.
    pub(crate) fn record(&mut self, nanos: u64) {
        let _ = self.hist.record(nanos.max(1));
        self.ops += 1;
    }

    pub(crate) fn timed<T>(&mut self, f: impl FnOnce() -> Result<T>) -> Result<T> {
        let t = Instant::now();
        let r = f()?;
        let _ = self.hist.record(t.elapsed().as_nanos().max(1) as u64);
        self.ops += 1;
        Ok(r)
    }

    fn finish(self, engine: &str, workload: &str) -> Outcome {
        let seconds = self
            .start
            .elapsed()
            .saturating_sub(self.untimed)
            .as_secs_f64();
        let q = |p: f64| self.hist.value_at_quantile(p) as f64 / 1000.0;
        Outcome {
            engine: engine.to_string(),
            workload: workload.to_string(),
            ops: self.ops,
            found: self.found,
            seconds,
            cpu_seconds: metrics::cpu_seconds() - self.cpu - self.untimed_cpu,
            user_bytes: self.user_bytes,
            p50_us: q(0.5),
            p99_us: q(0.99),
            p999_us: q(0.999),
            aborts: 0,
            write_amp: None,
            space_amp: None,
            peak_rss: metrics::peak_rss(),
        }
    }
}

/// Waits until the directory stops changing size (background flushes and compactions done),
/// at most `limit`.
fn settle(dir: &Path, limit: Duration) {
    let deadline = Instant::now() + limit;
    let mut last = metrics::dir_bytes(dir);
    let mut stable = 0;
    while Instant::now() < deadline && stable < 4 {
        std::thread::sleep(Duration::from_millis(500));
        let now = metrics::dir_bytes(dir);
        if now == last {
            stable += 1;
        } else {
            stable = 0;
            last = now;
        }
    }
}

/// Runs one workload. `name` may carry a thread count (`fillsync:8`).
pub fn run(
    engine_name: &str,
    engine: &dyn Engine,
    dir: &Path,
    name: &str,
    p: &Params,
    live: &mut Live,
) -> Result<Outcome> {
    let (base, threads) = match name.split_once(':') {
        Some((b, t)) => (
            b,
            t.parse()
                .map_err(|_| format!("bad thread count in {name}"))?,
        ),
        None => (name, p.threads),
    };
    let mut rng = StdRng::seed_from_u64(p.seed ^ crate::hash_name(name));
    let mut kbuf = Vec::with_capacity(p.key_size);
    let mut values = ValueGen::new(p.value_size, p.compression_ratio, p.seed);
    let entry = (p.key_size + p.value_size) as u64;
    let mut run = Run::start();
    match base {
        "fillseq" | "fillrandom" | "overwrite" => {
            for n in 0..p.num {
                let i = if base == "fillseq" {
                    n
                } else {
                    rng.gen_range(0..p.num)
                };
                key(i, p.key_size, &mut kbuf);
                let v = values.next();
                run.timed(|| engine.put(&kbuf, v, false))?;
                live.set(i, true);
            }
            run.user_bytes = p.num * entry;
        }
        "fillsync" => {
            let per_thread = (p.sync_num / threads as u64).max(1);
            let outcomes = parallel(threads, |t| {
                let mut kb = Vec::new();
                let mut vals = ValueGen::new(p.value_size, p.compression_ratio, p.seed + t as u64);
                let mut h = histogram();
                for n in 0..per_thread {
                    key(p.num + t as u64 * per_thread + n, p.key_size, &mut kb);
                    let v = vals.next();
                    let s = Instant::now();
                    engine.put(&kb, v, true)?;
                    let _ = h.record(s.elapsed().as_nanos().max(1) as u64);
                }
                Ok((h, per_thread, 0))
            })?;
            run.merge(outcomes);
            run.user_bytes = run.ops * entry;
        }
        "readrandom" | "readmissing" => {
            let missing = base == "readmissing";
            let outcomes = parallel(threads, |t| {
                random_probes(p, p.seed + 100 + t as u64, p.num / threads as u64, |kb| {
                    if missing {
                        // Same length, never written: a '.' sorts apart from every digit key.
                        if let Some(last) = kb.last_mut() {
                            *last = b'.';
                        }
                    }
                    engine.get(kb)
                })
            })?;
            run.merge(outcomes);
        }
        "readseq" | "readreverse" => {
            let n = engine.scan(base == "readreverse")?;
            run.ops = n;
            run.found = n;
            run.user_bytes = n * entry;
        }
        "seekrandom" => {
            let outcomes = parallel(threads, |t| {
                random_probes(p, p.seed + 200 + t as u64, p.num / threads as u64, |kb| {
                    Ok(engine.seek(kb, 10)? > 0)
                })
            })?;
            run.merge(outcomes);
        }
        "readwhilewriting" => {
            let stop = AtomicBool::new(false);
            let per_thread = p.num / threads as u64;
            let outcomes = std::thread::scope(|s| -> Result<Vec<(Histogram<u64>, u64, u64)>> {
                let writer = s.spawn(|| -> Result<()> {
                    let mut r = StdRng::seed_from_u64(p.seed + 300);
                    let mut kb = Vec::new();
                    let mut vals = ValueGen::new(p.value_size, p.compression_ratio, p.seed + 300);
                    while !stop.load(Ordering::Relaxed) {
                        key(r.gen_range(0..p.num), p.key_size, &mut kb);
                        engine.put(&kb, vals.next(), false)?;
                    }
                    Ok(())
                });
                let readers: Vec<_> = (0..threads)
                    .map(|t| {
                        s.spawn(move || {
                            random_probes(p, p.seed + 400 + t as u64, per_thread, |kb| {
                                engine.get(kb)
                            })
                        })
                    })
                    .collect();
                let mut out = Vec::new();
                for r in readers {
                    out.push(r.join().map_err(|_| "reader panicked")??);
                }
                stop.store(true, Ordering::Relaxed);
                writer.join().map_err(|_| "writer panicked")??;
                Ok(out)
            })?;
            run.merge(outcomes);
        }
        "deleterandom" => {
            for _ in 0..p.num {
                let i = rng.gen_range(0..p.num);
                key(i, p.key_size, &mut kbuf);
                run.timed(|| engine.delete(&kbuf, false))?;
                live.set(i, false);
            }
            run.user_bytes = p.num * p.key_size as u64;
        }
        "txn-readwrite" | "txn-readwrite-zipf" | "txn-conflict-rate" => {
            let space = if base == "txn-conflict-rate" {
                HOT_KEYS.min(p.num)
            } else {
                p.num
            };
            let zipf = (base == "txn-readwrite-zipf")
                .then(|| rand_distr::Zipf::new(space, 0.99))
                .transpose()
                .map_err(|e| format!("zipf: {e}"))?;
            let per_thread = (p.num / 10 / threads as u64).max(1);
            let outcomes = parallel(threads, |t| {
                let mut r = StdRng::seed_from_u64(p.seed + 500 + t as u64);
                let mut vals = ValueGen::new(p.value_size, p.compression_ratio, p.seed + 500);
                let mut h = histogram();
                let (mut commits, mut aborts) = (0u64, 0u64);
                let (mut k1, mut k2) = (Vec::new(), Vec::new());
                let pick = |r: &mut StdRng| match &zipf {
                    // Zipf ranks scattered over the key space, so hot keys are not neighbours.
                    Some(z) => crate::hash_name(&(r.sample(z) as u64).to_string()) % space,
                    None => r.gen_range(0..space),
                };
                while commits < per_thread {
                    let a = pick(&mut r);
                    let mut b = pick(&mut r);
                    if b == a {
                        b = (a + 1) % space;
                    }
                    key(a, p.key_size, &mut k1);
                    key(b, p.key_size, &mut k2);
                    let v1 = vals.next().to_vec();
                    let v2 = vals.next().to_vec();
                    let s = Instant::now();
                    let committed = engine.transact(&[&k1, &k2], &[&v1, &v2])?;
                    let _ = h.record(s.elapsed().as_nanos().max(1) as u64);
                    if committed {
                        commits += 1;
                    } else {
                        aborts += 1;
                    }
                }
                Ok((h, commits, aborts))
            })?;
            run.merge(outcomes);
            run.user_bytes = run.ops * 2 * entry;
        }
        _ if TABLE.contains(&base) => {
            let tables = engine
                .dynamo()
                .ok_or("the table workloads run on strata and dynoxide only")?;
            crate::tables::run(tables, base, p, &mut run, &mut values)?;
        }
        "stream-write" | "stream-write-off" | "stream-latency" => {
            let db = engine
                .strata_db()
                .ok_or("the stream workloads run on strata only")?;
            crate::streams::run(db, base, p, &mut run, &mut values)?;
        }
        "scan100" => {
            let outcomes = parallel(threads, |t| {
                random_probes(
                    p,
                    p.seed + 600 + t as u64,
                    p.num / 100 / threads as u64,
                    |kb| Ok(engine.seek(kb, 99)? > 0),
                )
            })?;
            run.merge(outcomes);
            run.user_bytes = run.ops * 100 * entry;
        }
        other => return Err(format!("unknown workload {other:?}").into()),
    }
    let io_before = run.io;
    let mut outcome = run.finish(engine_name, name);
    if TRANSACTIONS.contains(&base) {
        // `found` counted the aborted attempts.
        outcome.aborts = outcome.found;
        outcome.found = 0;
    }
    if matches!(base, "fillseq" | "fillrandom" | "overwrite") {
        // Let background work finish so both amplifications count it, for every engine alike.
        engine.flush()?;
        settle(dir, Duration::from_secs(120));
        if let Some(shape) = engine.shape() {
            // The tree's shape after the fill: what the reads that follow run against.
            eprintln!("      after {name}: {shape}");
        }
        let written = metrics::io_write_bytes() - io_before;
        outcome.write_amp = Some(written as f64 / outcome.user_bytes.max(1) as f64);
        let logical = live.count * entry;
        outcome.space_amp = Some(metrics::dir_bytes(dir) as f64 / logical.max(1) as f64);
    }
    Ok(outcome)
}

impl Run {
    fn merge(&mut self, parts: Vec<(Histogram<u64>, u64, u64)>) {
        for (h, ops, found) in parts {
            let _ = self.hist.add(&h);
            self.ops += ops;
            self.found += found;
        }
    }
}

/// `count` timed probes of random existing key numbers (seeded by `seed`); `probe` gets the
/// key buffer and says whether it found something. Returns (latencies, probes, found).
fn random_probes(
    p: &Params,
    seed: u64,
    count: u64,
    probe: impl Fn(&mut Vec<u8>) -> Result<bool>,
) -> Result<(Histogram<u64>, u64, u64)> {
    let mut r = StdRng::seed_from_u64(seed);
    let mut kb = Vec::new();
    let mut h = histogram();
    let mut found = 0;
    for _ in 0..count {
        key(r.gen_range(0..p.num), p.key_size, &mut kb);
        let start = Instant::now();
        found += u64::from(probe(&mut kb)?);
        let _ = h.record(start.elapsed().as_nanos().max(1) as u64);
    }
    Ok((h, count, found))
}

/// Runs `f(thread_index)` on `n` threads and collects the results.
fn parallel<T: Send>(n: usize, f: impl Fn(usize) -> Result<T> + Sync) -> Result<Vec<T>> {
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..n)
            .map(|t| {
                let f = &f;
                s.spawn(move || f(t))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().map_err(|_| "worker thread panicked")?)
            .collect()
    })
}

/// Measures the disk's own append + fdatasync rate in `dir`, for `duration`. With
/// `zero_filled`, the records overwrite zeros written and synced beforehand (what a synced
/// strata WAL does): the fdatasyncs then change no file size.
pub fn disk_sync_rate(
    dir: &Path,
    record: usize,
    duration: Duration,
    zero_filled: bool,
) -> Result<f64> {
    use std::io::{Seek, Write};
    /// The zeros written ahead (for `zero_filled`): more than two seconds of records here.
    const ZEROS: usize = 32 << 20;
    std::fs::create_dir_all(dir)?;
    let path = dir.join("fsync-probe");
    let mut f = std::fs::File::create(&path)?;
    if zero_filled {
        f.write_all(&vec![0u8; ZEROS])?;
        f.sync_data()?;
        f.rewind()?;
    }
    let buf = vec![7u8; record];
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < duration && (!zero_filled || (n as usize + 1) * record <= ZEROS) {
        f.write_all(&buf)?;
        f.sync_data()?;
        n += 1;
    }
    let rate = n as f64 / start.elapsed().as_secs_f64();
    drop(f);
    std::fs::remove_file(&path)?;
    Ok(rate)
}
