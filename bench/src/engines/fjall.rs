//! fjall 3 (an LSM tree in Rust), one keyspace.

use super::{Config, Engine, Result};
use fjall::config::CompressionPolicy;
use fjall::{CompressionType, Database, Keyspace, KeyspaceCreateOptions, PersistMode};
use std::path::Path;

pub struct Fjall {
    db: Database,
    ks: Keyspace,
}

impl Fjall {
    pub fn open(dir: &Path, cfg: &Config) -> Result<Self> {
        let db = Database::builder(dir).cache_size(cfg.cache_size).open()?;
        let compression = cfg.compression;
        let buffer = cfg.write_buffer_size;
        let ks = db.keyspace("bench", move || {
            let o = KeyspaceCreateOptions::default().max_memtable_size(buffer);
            if compression {
                o.data_block_compression_policy(CompressionPolicy::all(CompressionType::Lz4))
            } else {
                o.data_block_compression_policy(CompressionPolicy::disabled())
            }
        })?;
        Ok(Fjall { db, ks })
    }
}

impl Engine for Fjall {
    fn put(&self, key: &[u8], value: &[u8], sync: bool) -> Result<()> {
        self.ks.insert(key, value)?;
        if sync {
            self.db.persist(PersistMode::SyncData)?;
        }
        Ok(())
    }

    fn get(&self, key: &[u8]) -> Result<bool> {
        Ok(self.ks.get(key)?.is_some())
    }

    fn delete(&self, key: &[u8], sync: bool) -> Result<()> {
        self.ks.remove(key)?;
        if sync {
            self.db.persist(PersistMode::SyncData)?;
        }
        Ok(())
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
