//! The engines under test, behind one small trait. Each is configured alike: the same write
//! buffer, block cache, block size, bloom filter bits and compression (each engine's own fast
//! codec), write-ahead logging on, fsync only when a workload asks for it.

mod strata;

#[cfg(feature = "dynoxide")]
mod dynoxide;
#[cfg(feature = "fjall")]
mod fjall;
#[cfg(feature = "redb")]
mod redb;
#[cfg(feature = "rocksdb")]
mod rocksdb;
#[cfg(feature = "rocksdb")]
mod rocksdb_otxn;

use std::path::Path;

/// An error from any engine.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// A result from any engine.
pub type Result<T> = std::result::Result<T, BoxError>;

/// Settings shared by every engine.
#[derive(Debug, Clone)]
pub struct Config {
    /// Memtable / write buffer size in bytes.
    pub write_buffer_size: u64,
    /// Block cache (or page cache for redb) in bytes.
    pub cache_size: u64,
    /// How blocks are compressed.
    pub compression: Codec,
}

/// Block compression, the same for every engine that has it (redb has none; fjall 3 has only
/// LZ4, so it runs LZ4 when zstd is asked for).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Codec {
    /// No compression.
    None,
    /// LZ4: the one codec RocksDB, fjall and strata all have.
    Lz4,
    /// zstd level 1 (fjall: LZ4).
    Zstd,
}

/// What the workloads need from an engine.
pub trait Engine: Send + Sync {
    /// Writes one key.
    fn put(&self, key: &[u8], value: &[u8], sync: bool) -> Result<()>;
    /// Reads one key; returns whether it was found.
    fn get(&self, key: &[u8]) -> Result<bool>;
    /// Deletes one key.
    fn delete(&self, key: &[u8], sync: bool) -> Result<()>;
    /// Iterates over every key, forwards or backwards; returns how many were seen.
    fn scan(&self, reverse: bool) -> Result<u64>;
    /// Seeks to `key` and reads `nexts` entries after it; returns how many were read.
    fn seek(&self, key: &[u8], nexts: usize) -> Result<usize>;
    /// Writes memtables out to disk.
    fn flush(&self) -> Result<()>;
    /// The tree's shape (files and bytes per level), for engines that report one.
    fn shape(&self) -> Option<String> {
        None
    }
    /// strata's engine, for the stream workloads (strata only).
    fn strata_db(&self) -> Option<&strata_engine::Db> {
        None
    }
    /// DynamoDB's item operations over this engine, for the table workloads (strata's
    /// table layer, Dynoxide).
    fn dynamo(&self) -> Option<&dyn crate::dynamo::DynamoApi> {
        None
    }
    /// Whether [`Engine::transact`] is implemented.
    fn supports_transactions(&self) -> bool {
        false
    }
    /// One optimistic read-modify-write transaction at a snapshot taken at its start: reads
    /// every key, then sets `keys[i]` to `values[i]`, and commits. Returns `false` if the
    /// commit failed on a conflict (nothing written).
    fn transact(&self, keys: &[&[u8]], values: &[&[u8]]) -> Result<bool> {
        let _ = (keys, values);
        Err("this engine runs no transactions in the benchmark (strata, rocksdb-otxn do)".into())
    }
}

/// The engines this build can run.
pub fn available() -> Vec<&'static str> {
    let mut v = vec!["strata"];
    if cfg!(feature = "rocksdb") {
        v.push("rocksdb");
        v.push("rocksdb-otxn");
    }
    if cfg!(feature = "fjall") {
        v.push("fjall");
    }
    if cfg!(feature = "redb") {
        v.push("redb");
    }
    if cfg!(feature = "dynoxide") {
        v.push("dynoxide");
    }
    v
}

/// Opens engine `name` in `dir`.
pub fn open(name: &str, dir: &Path, cfg: &Config) -> Result<Box<dyn Engine>> {
    match name {
        "strata" => Ok(Box::new(strata::Strata::open(dir, cfg)?)),
        #[cfg(feature = "rocksdb")]
        "rocksdb" => Ok(Box::new(rocksdb::Rocks::open(dir, cfg)?)),
        #[cfg(feature = "rocksdb")]
        "rocksdb-otxn" => Ok(Box::new(rocksdb_otxn::RocksOtxn::open(dir, cfg)?)),
        #[cfg(feature = "fjall")]
        "fjall" => Ok(Box::new(fjall::Fjall::open(dir, cfg)?)),
        #[cfg(feature = "dynoxide")]
        "dynoxide" => Ok(Box::new(dynoxide::Dynoxide::open(dir, cfg)?)),
        #[cfg(feature = "redb")]
        "redb" => Ok(Box::new(redb::Redb::open(dir, cfg)?)),
        other => Err(format!(
            "engine {other:?} is not in this build (available: {}; peers need --features peers)",
            available().join(", ")
        )
        .into()),
    }
}
