//! fjall 3 (an LSM tree in Rust), one keyspace.
//!
//! fjall's journal buffers writes in the process (an 8 KiB `BufWriter`) until a `persist`:
//! an acknowledged write is lost if the process is killed, where strata's and RocksDB's are
//! in the kernel's page cache when the write returns. With `STRATA_BENCH_FJALL_PERSIST=1`
//! every write is followed by `persist(PersistMode::Buffer)`, the same guarantee as theirs.

use super::{Codec, Config, Engine, Result};
use fjall::config::CompressionPolicy;
use fjall::{CompressionType, Database, Keyspace, KeyspaceCreateOptions, PersistMode};
use std::path::Path;

pub struct Fjall {
    db: Database,
    ks: Keyspace,
    /// Hand every write to the OS before it returns (`STRATA_BENCH_FJALL_PERSIST=1`).
    persist_each: bool,
}

impl Fjall {
    pub fn open(dir: &Path, cfg: &Config) -> Result<Self> {
        let db = Database::builder(dir).cache_size(cfg.cache_size).open()?;
        let compression = cfg.compression;
        let buffer = cfg.write_buffer_size;
        let ks = db.keyspace("bench", move || {
            let o = KeyspaceCreateOptions::default().max_memtable_size(buffer);
            if compression != Codec::None {
                o.data_block_compression_policy(CompressionPolicy::all(CompressionType::Lz4))
            } else {
                o.data_block_compression_policy(CompressionPolicy::disabled())
            }
        })?;
        let persist_each = std::env::var_os("STRATA_BENCH_FJALL_PERSIST").is_some_and(|v| v == "1");
        Ok(Fjall {
            db,
            ks,
            persist_each,
        })
    }
}

impl Fjall {
    /// After a write: fsync when the workload asks; else, with `persist_each`, hand the
    /// journal's buffer to the OS.
    fn persist(&self, sync: bool) -> Result<()> {
        if sync {
            self.db.persist(PersistMode::SyncData)?;
        } else if self.persist_each {
            self.db.persist(PersistMode::Buffer)?;
        }
        Ok(())
    }
}

impl Engine for Fjall {
    fn put(&self, key: &[u8], value: &[u8], sync: bool) -> Result<()> {
        self.ks.insert(key, value)?;
        self.persist(sync)
    }

    fn get(&self, key: &[u8]) -> Result<bool> {
        Ok(self.ks.get(key)?.is_some())
    }

    fn delete(&self, key: &[u8], sync: bool) -> Result<()> {
        self.ks.remove(key)?;
        self.persist(sync)
    }

    fn scan(&self, reverse: bool) -> Result<u64> {
        let mut n = 0;
        if reverse {
            for g in self.ks.iter().rev() {
                g.into_inner()?;
                n += 1;
            }
        } else {
            for g in self.ks.iter() {
                g.into_inner()?;
                n += 1;
            }
        }
        Ok(n)
    }

    fn seek(&self, key: &[u8], nexts: usize) -> Result<usize> {
        let mut n = 0;
        for g in self.ks.range(key..).take(nexts + 1) {
            g.into_inner()?;
            n += 1;
        }
        Ok(n)
    }

    fn flush(&self) -> Result<()> {
        self.db.persist(PersistMode::Buffer)?;
        Ok(())
    }
}
