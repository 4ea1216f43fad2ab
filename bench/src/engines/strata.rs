//! strata's engine.

use super::{Codec, Config, Engine, Result};
use std::path::Path;
use strata_engine::{Compression, Db, Options, WriteBatch, WriteOptions};

pub struct Strata {
    db: Db,
    /// The table layer, opened on first use by a table workload.
    tables: std::sync::OnceLock<strata_table::Database>,
}

impl Strata {
    pub fn open(dir: &Path, cfg: &Config) -> Result<Self> {
        let opts = Options::default()
            .write_buffer_size(cfg.write_buffer_size as usize)
            .block_cache_capacity(cfg.cache_size)
            .block_size(4096)
            .bloom_bits_per_key(10)
            .compression(match cfg.compression {
                Codec::None => Compression::None,
                Codec::Lz4 => Compression::Lz4,
                Codec::Zstd => Compression::Zstd { level: 1 },
            });
        Ok(Strata {
            db: Db::open(dir, opts)?,
            tables: std::sync::OnceLock::new(),
        })
    }
}

impl Engine for Strata {
    fn put(&self, key: &[u8], value: &[u8], sync: bool) -> Result<()> {
        let mut b = WriteBatch::new();
        b.put(key, value);
        Ok(self.db.write(b, WriteOptions::new().sync(sync))?)
    }

    fn get(&self, key: &[u8]) -> Result<bool> {
        Ok(self.db.get(key)?.is_some())
    }

    fn delete(&self, key: &[u8], sync: bool) -> Result<()> {
        let mut b = WriteBatch::new();
        b.delete(key);
        Ok(self.db.write(b, WriteOptions::new().sync(sync))?)
    }

    // Scans use the cursor, which hands out borrowed keys and values (like RocksDB's raw
    // iterator), rather than `DbIter`, which copies each key out.
    fn scan(&self, reverse: bool) -> Result<u64> {
        let mut c = self.db.cursor();
        let mut n = 0;
        if reverse {
            c.seek_to_last()?;
            while c.valid() {
                n += 1;
                c.prev()?;
            }
        } else {
            c.seek_to_first()?;
            while c.valid() {
                n += 1;
                c.next()?;
            }
        }
        Ok(n)
    }

    fn seek(&self, key: &[u8], nexts: usize) -> Result<usize> {
        let mut c = self.db.cursor();
        c.seek(key)?;
        let mut n = 0;
        while c.valid() && n <= nexts {
            n += 1;
            c.next()?;
        }
        Ok(n)
    }

    fn flush(&self) -> Result<()> {
        Ok(self.db.flush()?)
    }

    fn shape(&self) -> Option<String> {
        let levels: Vec<String> = self
            .db
            .stats()
            .levels
            .iter()
            .enumerate()
            .filter(|(_, l)| l.files > 0)
            .map(|(i, l)| {
                format!(
                    "L{i} {} files {:.1} MB {} entries",
                    l.files,
                    l.bytes as f64 / 1e6,
                    l.entries
                )
            })
            .collect();
        Some(levels.join(", "))
    }

    fn strata_db(&self) -> Option<&Db> {
        Some(&self.db)
    }

    fn dynamo(&self) -> Option<&dyn crate::dynamo::DynamoApi> {
        if self.tables.get().is_none() {
            let db = strata_table::Database::new(self.db.clone()).ok()?;
            let _ = self.tables.set(db);
        }
        self.tables
            .get()
            .map(|t| t as &dyn crate::dynamo::DynamoApi)
    }

    fn supports_transactions(&self) -> bool {
        true
    }

    fn transact(&self, keys: &[&[u8]], values: &[&[u8]]) -> Result<bool> {
        let ks = self.db.default_keyspace();
        let mut t = self.db.transaction();
        for k in keys {
            t.get(&ks, k)?;
        }
        for (k, v) in keys.iter().zip(values) {
            t.put(&ks, k, v);
        }
        match t.commit() {
            Ok(_) => Ok(true),
            Err(e) if e.is_conflict() => Ok(false),
            Err(e) => Err(e.into()),
        }
    }
}
