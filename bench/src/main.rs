//! `strata-bench`: db_bench-style workloads against strata and its peers, side by side.
//!
//! Each (engine, repetition) runs in its own child process on a fresh directory, so peak RSS
//! and CPU time are the engine's own; engines are interleaved across repetitions to spread the
//! noise of a shared machine. See bench/README.md.

mod dynamo;
mod engines;
mod metrics;
mod streams;
mod tables;
mod workloads;

use clap::Parser;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;
use workloads::{Live, Outcome, Params};

/// Every engine runs on the same allocator (glibc's malloc is slow under cross-thread frees,
/// which would measure the allocator rather than the engines).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser, Debug, Clone)]
#[command(about = "db_bench-style benchmarks of strata against RocksDB, fjall and redb")]
struct Args {
    /// Comma-separated workloads (db_bench names); `name:N` runs it on N threads.
    #[arg(long, default_value_t = workloads::ALL.join(","))]
    benchmarks: String,
    /// Comma-separated engines: strata, rocksdb, fjall, redb (peers need --features peers).
    #[arg(long, default_value = "strata")]
    engines: String,
    /// Number of keys.
    #[arg(long, default_value_t = 1_000_000)]
    num: u64,
    /// Key size in bytes.
    #[arg(long, default_value_t = 16)]
    key_size: usize,
    /// Value size in bytes.
    #[arg(long, default_value_t = 100)]
    value_size: usize,
    /// Reader threads for the read workloads.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// How compressible values are (compressed size / size).
    #[arg(long, default_value_t = 0.5)]
    compression_ratio: f64,
    /// Random seed.
    #[arg(long, default_value_t = 301)]
    seed: u64,
    /// Writes in the fillsync workloads (default: num / 100, at most 20000).
    #[arg(long)]
    sync_num: Option<u64>,
    /// Write buffer (memtable) size in MiB.
    #[arg(long, default_value_t = 64)]
    write_buffer_mb: u64,
    /// Block cache size in MiB.
    #[arg(long, default_value_t = 64)]
    cache_mb: u64,
    /// Block compression for every engine that has it.
    #[arg(long, value_enum, default_value = "lz4")]
    compression: engines::Codec,
    /// Turn block compression off (same as `--compression none`).
    #[arg(long)]
    no_compression: bool,
    /// Runs of each engine (interleaved); the table shows medians.
    #[arg(long, default_value_t = 2)]
    repeats: usize,
    /// Where databases are created (default: a temporary directory).
    #[arg(long)]
    db: Option<PathBuf>,
    /// Also write the results as a Markdown table to this file.
    #[arg(long)]
    markdown: Option<PathBuf>,
    /// Internal: run one engine in this process and print results as JSON lines.
    #[arg(long, hide = true)]
    child: Option<String>,
}

/// A stable hash of a workload name, for per-workload seeds.
pub fn hash_name(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

fn params(a: &Args) -> Params {
    Params {
        num: a.num,
        key_size: a.key_size,
        value_size: a.value_size,
        threads: a.threads.max(1),
        compression_ratio: a.compression_ratio,
        seed: a.seed,
        sync_num: a.sync_num.unwrap_or((a.num / 100).clamp(100, 20_000)),
    }
}

/// The codec the flags ask for.
fn codec(a: &Args) -> engines::Codec {
    if a.no_compression {
        engines::Codec::None
    } else {
        a.compression
    }
}

fn config(a: &Args) -> engines::Config {
    engines::Config {
        write_buffer_size: a.write_buffer_mb << 20,
        cache_size: a.cache_mb << 20,
        compression: codec(a),
    }
}

/// Child mode: runs every workload on one engine, printing a JSON line per workload.
fn run_child(a: &Args, engine_name: &str, root: &Path) -> engines::Result<()> {
    let p = params(a);
    let cfg = config(a);
    let dir = root.join(engine_name);
    let _ = std::fs::remove_dir_all(&dir);
    let mut engine = engines::open(engine_name, &dir, &cfg)?;
    let mut live = Live::new(p.num);
    let mut fresh = true;
    for name in a
        .benchmarks
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let base = name.split(':').next().unwrap_or(name);
        if matches!(base, "fillseq" | "fillrandom") && !fresh {
            drop(engine);
            std::fs::remove_dir_all(&dir)?;
            engine = engines::open(engine_name, &dir, &cfg)?;
            live = Live::new(p.num);
        }
        fresh = false;
        if workloads::STREAM.contains(&base) && engine.strata_db().is_none() {
            eprintln!("   {name}: skipped, change logs are strata's");
            continue;
        }
        if workloads::TABLE.contains(&base) && engine.dynamo().is_none() {
            eprintln!("   {name}: skipped, {engine_name} has no DynamoDB API");
            continue;
        }
        if workloads::TRANSACTIONS.contains(&base) && !engine.supports_transactions() {
            eprintln!("   {name}: skipped, {engine_name} runs no transactions here");
            continue;
        }
        let outcome = workloads::run(engine_name, engine.as_ref(), &dir, name, &p, &mut live)?;
        println!("RESULT {}", serde_json::to_string(&outcome)?);
    }
    drop(engine);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return 0.0;
    }
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}

fn human(x: f64) -> String {
    if x >= 1e6 {
        format!("{:.2}M", x / 1e6)
    } else if x >= 1e3 {
        format!("{:.1}k", x / 1e3)
    } else {
        format!("{x:.0}")
    }
}

fn main() -> engines::Result<()> {
    let a = Args::parse();
    let tmp;
    let root = match &a.db {
        Some(p) => p.clone(),
        None => {
            tmp = tempfile::Builder::new().prefix("strata-bench").tempdir()?;
            tmp.path().to_path_buf()
        }
    };
    std::fs::create_dir_all(&root)?;
    if let Some(engine) = &a.child {
        return run_child(&a, engine, &root);
    }
    let engines: Vec<String> = a.engines.split(',').map(|s| s.trim().to_string()).collect();
    for e in &engines {
        if !engines::available().contains(&e.as_str()) {
            return Err(format!(
                "engine {e:?} is not in this build (available: {}); build with --features peers",
                engines::available().join(", ")
            )
            .into());
        }
    }
    let p = params(&a);
    eprintln!(
        "strata-bench: {} keys, {} B keys, {} B values, {} reader thread(s), compression {}, write buffer {} MiB, cache {} MiB, {} repeat(s), in {}",
        p.num, p.key_size, p.value_size, p.threads, format!("{:?}", codec(&a)).to_lowercase(), a.write_buffer_mb, a.cache_mb, a.repeats, root.display()
    );
    let record = p.key_size + p.value_size + 16;
    let disk = workloads::disk_sync_rate(&root, record, Duration::from_secs(2), false)?;
    let zero_filled = workloads::disk_sync_rate(&root, record, Duration::from_secs(2), true)?;
    eprintln!(
        "disk: append + fdatasync of one record: {} ops/s; into a zero-filled file: {} ops/s",
        human(disk),
        human(zero_filled)
    );

    let exe = std::env::current_exe()?;
    let mut results: Vec<Outcome> = Vec::new();
    for rep in 0..a.repeats {
        for e in &engines {
            eprintln!("-- run {} of {}: {e}", rep + 1, a.repeats);
            let mut child = Command::new(&exe)
                .args(forwarded_args())
                .arg("--child")
                .arg(e)
                .arg("--db")
                .arg(&root)
                .stdout(Stdio::piped())
                .spawn()?;
            let out = child.stdout.take().ok_or("no child stdout")?;
            for line in BufReader::new(out).lines() {
                let line = line?;
                if let Some(json) = line.strip_prefix("RESULT ") {
                    let o: Outcome = serde_json::from_str(json)?;
                    eprintln!(
                        "   {:<18} {:>9} ops/s {:>9} ops/cpu-s  p50 {:>7.1}us  p99 {:>7.1}us{}{}{}",
                        o.workload,
                        human(o.ops_per_sec()),
                        human(o.ops_per_cpu_sec()),
                        o.p50_us,
                        o.p99_us,
                        o.write_amp
                            .map(|w| format!("  w-amp {w:.2}"))
                            .unwrap_or_default(),
                        o.space_amp
                            .map(|s| format!("  s-amp {s:.2}"))
                            .unwrap_or_default(),
                        abort_rate(&o)
                            .map(|a| format!("  aborts {:.1}%", a * 100.0))
                            .unwrap_or_default(),
                    );
                    results.push(o);
                }
            }
            let status = child.wait()?;
            if !status.success() {
                return Err(format!("{e} run failed: {status}").into());
            }
        }
    }
    let table = report(&engines, &results, disk, &a);
    println!("{table}");
    if let Some(path) = &a.markdown {
        std::fs::write(path, &table)?;
    }
    Ok(())
}

/// This process's arguments minus the ones the parent handles (`--db`, `--markdown`).
fn forwarded_args() -> Vec<std::ffi::OsString> {
    let mut out = Vec::new();
    let mut skip_next = false;
    for arg in std::env::args_os().skip(1) {
        if skip_next {
            skip_next = false;
            continue;
        }
        let s = arg.to_string_lossy();
        if s == "--db" || s == "--markdown" {
            skip_next = true;
            continue;
        }
        if s.starts_with("--db=") || s.starts_with("--markdown=") {
            continue;
        }
        out.push(arg);
    }
    out
}

/// The share of transaction attempts that aborted, for transaction workloads.
fn abort_rate(o: &Outcome) -> Option<f64> {
    workloads::TRANSACTIONS
        .contains(&o.workload.split(':').next().unwrap_or(""))
        .then(|| o.aborts as f64 / (o.ops + o.aborts).max(1) as f64)
}

/// The side-by-side table (medians over repeats) and strata's ratio to the best peer.
fn report(engines: &[String], results: &[Outcome], disk: f64, a: &Args) -> String {
    let mut by: BTreeMap<(String, String), Vec<&Outcome>> = BTreeMap::new();
    for o in results {
        by.entry((o.workload.clone(), o.engine.clone()))
            .or_default()
            .push(o);
    }
    let workloads: Vec<String> = a
        .benchmarks
        .split(',')
        .map(|s| s.trim().to_string())
        .collect();
    let mut out = String::new();
    out.push_str(&format!(
        "{} keys, {} B keys, {} B values, {} reader thread(s), compression {}; medians of {} runs; disk append+fdatasync: {} ops/s\n\n",
        a.num, a.key_size, a.value_size, a.threads.max(1), format!("{:?}", codec(a)).to_lowercase(), a.repeats, human(disk)
    ));
    out.push_str("| workload | engine | ops/s | ops/CPU-s | MB/s | p50 µs | p99 µs | p99.9 µs | w-amp | s-amp | aborts | peak RSS MiB |\n");
    out.push_str("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    let stat =
        |v: &[&Outcome], f: &dyn Fn(&Outcome) -> f64| median(v.iter().map(|o| f(o)).collect());
    let mut ratios = Vec::new();
    for w in &workloads {
        let mut best_peer: Option<(String, f64)> = None;
        let mut ours = None;
        for e in engines {
            let Some(v) = by.get(&(w.clone(), e.clone())) else {
                continue;
            };
            let ops = stat(v, &|o| o.ops_per_sec());
            let opt = |f: &dyn Fn(&Outcome) -> Option<f64>| {
                let xs: Vec<f64> = v.iter().filter_map(|o| f(o)).collect();
                if xs.is_empty() {
                    "".to_string()
                } else {
                    format!("{:.2}", median(xs))
                }
            };
            out.push_str(&format!(
                "| {w} | {e} | {} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {} | {} | {} | {:.0} |\n",
                human(ops),
                human(stat(v, &|o| o.ops_per_cpu_sec())),
                stat(v, &|o| o.mb_per_sec()),
                stat(v, &|o| o.p50_us),
                stat(v, &|o| o.p99_us),
                stat(v, &|o| o.p999_us),
                opt(&|o| o.write_amp),
                opt(&|o| o.space_amp),
                if v.iter().any(|o| abort_rate(o).is_some()) {
                    format!("{:.1}%", stat(v, &|o| abort_rate(o).unwrap_or(0.0)) * 100.0)
                } else {
                    String::new()
                },
                stat(v, &|o| o.peak_rss as f64) / 1048576.0,
            ));
            if e == "strata" {
                ours = Some(ops);
            } else if best_peer.as_ref().is_none_or(|(_, b)| ops > *b) {
                best_peer = Some((e.clone(), ops));
            }
        }
        if let (Some(ours), Some((peer, best))) = (ours, best_peer) {
            ratios.push(format!(
                "| {w} | {} | {peer} {} | {:.2}x |",
                human(ours),
                human(best),
                ours / best
            ));
        }
    }
    if !ratios.is_empty() {
        out.push_str("\n| workload | strata ops/s | best peer ops/s | strata / best peer |\n|---|---:|---:|---:|\n");
        for r in ratios {
            out.push_str(&r);
            out.push('\n');
        }
    }
    out
}
