//! RocksDB through the `rocksdb` crate (which builds RocksDB from source).

use super::{Codec, Config, Engine, Result};
use rocksdb::{BlockBasedOptions, Cache, DBCompressionType, Options, WriteOptions, DB};
use std::path::Path;

pub struct Rocks {
    db: DB,
    nosync: WriteOptions,
    sync: WriteOptions,
}

/// The options every RocksDB flavour in the benchmark opens with.
pub fn options(cfg: &Config) -> Options {
    let mut opts = Options::default();
    opts.create_if_missing(true);
    opts.set_write_buffer_size(cfg.write_buffer_size as usize);
    // Two background jobs: one flush and one compaction, like strata's default.
    opts.set_max_background_jobs(2);
    opts.set_compression_type(match cfg.compression {
        Codec::None => DBCompressionType::None,
        Codec::Lz4 => DBCompressionType::Lz4,
        Codec::Zstd => DBCompressionType::Zstd,
    });
    let mut table = BlockBasedOptions::default();
    table.set_block_size(4096);
    table.set_bloom_filter(10.0, false);
    table.set_block_cache(&Cache::new_lru_cache(cfg.cache_size as usize));
    opts.set_block_based_table_factory(&table);
    opts
}

impl Rocks {
    pub fn open(dir: &Path, cfg: &Config) -> Result<Self> {
        let db = DB::open(&options(cfg), dir)?;
        let mut sync = WriteOptions::default();
        sync.set_sync(true);
        Ok(Rocks {
            db,
            nosync: WriteOptions::default(),
            sync,
        })
    }
}

/// The `Engine` methods every RocksDB flavour implements alike (`self.db`, `self.sync`,
/// `self.nosync`): both `DB` and `OptimisticTransactionDB` have these calls.
macro_rules! rocks_engine_common {
    () => {
        fn put(&self, key: &[u8], value: &[u8], sync: bool) -> Result<()> {
            let wo = if sync { &self.sync } else { &self.nosync };
            Ok(self.db.put_opt(key, value, wo)?)
        }

        fn get(&self, key: &[u8]) -> Result<bool> {
            Ok(self.db.get_pinned(key)?.is_some())
        }

        fn delete(&self, key: &[u8], sync: bool) -> Result<()> {
            let wo = if sync { &self.sync } else { &self.nosync };
            Ok(self.db.delete_opt(key, wo)?)
        }

        fn scan(&self, reverse: bool) -> Result<u64> {
            let mode = if reverse {
                rocksdb::IteratorMode::End
            } else {
                rocksdb::IteratorMode::Start
            };
            let mut n = 0;
            for e in self.db.iterator(mode) {
                e?;
                n += 1;
            }
            Ok(n)
        }

        fn seek(&self, key: &[u8], nexts: usize) -> Result<usize> {
            let mut it = self.db.raw_iterator();
            it.seek(key);
            let mut n = 0;
            while it.valid() && n <= nexts {
                n += 1;
                it.next();
            }
            it.status()?;
            Ok(n)
        }

        fn flush(&self) -> Result<()> {
            Ok(self.db.flush()?)
        }

        fn shape(&self) -> Option<String> {
            if std::env::var_os("STRATA_BENCH_ROCKSDB_STATS").is_some() {
                if let Ok(Some(stats)) = self.db.property_value("rocksdb.stats") {
                    eprintln!("{stats}");
                }
            }
            let stats = self.db.property_value("rocksdb.levelstats").ok()??;
            $crate::engines::rocksdb::shape_from_levelstats(&stats)
        }
    };
}
pub(crate) use rocks_engine_common;

/// `rocksdb.levelstats` (a table of level, files, MB) as strata's shape line: the non-empty
/// levels, `L<n> <files> files <MB> MB`.
pub fn shape_from_levelstats(stats: &str) -> Option<String> {
    let levels: Vec<String> = stats
        .lines()
        .filter_map(|line| {
            let mut cols = line.split_whitespace();
            let level: u32 = cols.next()?.parse().ok()?;
            let files: u64 = cols.next()?.parse().ok()?;
            let mb: f64 = cols.next()?.parse().ok()?;
            (files > 0).then(|| format!("L{level} {files} files {:.1} MB", mb * 1.048576))
        })
        .collect();
    Some(levels.join(", "))
}

impl Engine for Rocks {
    rocks_engine_common!();
}
