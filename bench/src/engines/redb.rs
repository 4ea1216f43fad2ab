//! redb 4 (a copy-on-write B-tree in Rust). It has no WAL: every write is its own transaction,
//! committed with `Durability::None` unless the workload asks for fsync (`Immediate`).

use super::{Config, Engine, Result};
use redb::{Database, Durability, ReadableDatabase, ReadableTable, TableDefinition};
use std::path::Path;

const TABLE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("bench");

pub struct Redb {
    db: Database,
}

impl Redb {
    pub fn open(dir: &Path, cfg: &Config) -> Result<Self> {
        std::fs::create_dir_all(dir)?;
        let db = Database::builder()
            .set_cache_size(cfg.cache_size as usize)
            .create(dir.join("redb.db"))?;
        let tx = db.begin_write()?;
        tx.open_table(TABLE)?;
        tx.commit()?;
        Ok(Redb { db })
    }

    fn write(
        &self,
        sync: bool,
        f: impl FnOnce(&mut redb::Table<&[u8], &[u8]>) -> Result<()>,
    ) -> Result<()> {
        let mut tx = self.db.begin_write()?;
        tx.set_durability(if sync {
            Durability::Immediate
        } else {
            Durability::None
        })?;
        {
            let mut table = tx.open_table(TABLE)?;
            f(&mut table)?;
        }
        tx.commit()?;
        Ok(())
    }
}

impl Engine for Redb {
    fn put(&self, key: &[u8], value: &[u8], sync: bool) -> Result<()> {
        self.write(sync, |t| {
            t.insert(key, value)?;
            Ok(())
        })
    }

    fn get(&self, key: &[u8]) -> Result<bool> {
        let tx = self.db.begin_read()?;
        let table = tx.open_table(TABLE)?;
        Ok(table.get(key)?.is_some())
    }

    fn delete(&self, key: &[u8], sync: bool) -> Result<()> {
        self.write(sync, |t| {
            t.remove(key)?;
            Ok(())
        })
    }

    fn scan(&self, reverse: bool) -> Result<u64> {
        let tx = self.db.begin_read()?;
        let table = tx.open_table(TABLE)?;
        let mut n = 0;
        if reverse {
            for e in table.iter()?.rev() {
                e?;
                n += 1;
            }
        } else {
            for e in table.iter()? {
                e?;
                n += 1;
            }
        }
        Ok(n)
    }

    fn seek(&self, key: &[u8], nexts: usize) -> Result<usize> {
        let tx = self.db.begin_read()?;
        let table = tx.open_table(TABLE)?;
        let mut n = 0;
        for e in table.range(key..)?.take(nexts + 1) {
            e?;
            n += 1;
        }
        Ok(n)
    }

    fn flush(&self) -> Result<()> {
        // A durable empty commit makes every earlier non-durable commit durable.
        self.write(true, |_| Ok(()))
    }
}
