//! Dynoxide's embedded library (crate `dynoxide-rs`: DynamoDB's API on SQLite), for the
//! table workloads only — it is a DynamoDB implementation, not a key-value engine. Opened on
//! a file in the benchmark directory (SQLite's defaults), or in memory with
//! `STRATA_BENCH_DYNOXIDE_MEMORY=1`.

use super::{Config, Engine, Result};
use crate::dynamo::{Call, DynamoApi};
use serde_json::Value;
use std::path::Path;

pub struct Dynoxide {
    db: dynoxide::Database,
}

impl Dynoxide {
    pub fn open(dir: &Path, _cfg: &Config) -> Result<Self> {
        std::fs::create_dir_all(dir)?;
        let db = if std::env::var_os("STRATA_BENCH_DYNOXIDE_MEMORY").is_some() {
            dynoxide::Database::memory()?
        } else {
            let path = dir.join("dynoxide.sqlite");
            dynoxide::Database::new(path.to_str().ok_or("a non-UTF-8 path")?)?
        };
        Ok(Dynoxide { db })
    }
}

fn only_tables<T>() -> Result<T> {
    Err("dynoxide runs the table workloads only".into())
}

impl Engine for Dynoxide {
    fn put(&self, _: &[u8], _: &[u8], _: bool) -> Result<()> {
        only_tables()
    }
    fn get(&self, _: &[u8]) -> Result<bool> {
        only_tables()
    }
    fn delete(&self, _: &[u8], _: bool) -> Result<()> {
        only_tables()
    }
    fn scan(&self, _: bool) -> Result<u64> {
        only_tables()
    }
    fn seek(&self, _: &[u8], _: usize) -> Result<usize> {
        only_tables()
    }
    fn flush(&self) -> Result<()> {
        Ok(())
    }
    fn dynamo(&self) -> Option<&dyn DynamoApi> {
        Some(self)
    }
}

impl DynamoApi for Dynoxide {
    fn has_table(&self, name: &str) -> bool {
        let req = serde_json::json!({ "TableName": name });
        serde_json::from_value(req)
            .ok()
            .is_some_and(|r| self.db.describe_table(r).is_ok())
    }

    fn create_table(&self, request: Value) -> Result<()> {
        self.db.create_table(serde_json::from_value(request)?)?;
        Ok(())
    }

    fn put_item(&self, request: Value) -> Result<Call<'_, ()>> {
        let r = serde_json::from_value(request)?;
        Ok(Box::new(move || {
            self.db.put_item(r)?;
            Ok(())
        }))
    }

    fn get_item(&self, request: Value) -> Result<Call<'_, bool>> {
        let r = serde_json::from_value(request)?;
        Ok(Box::new(move || Ok(self.db.get_item(r)?.item.is_some())))
    }

    fn update_item(&self, request: Value) -> Result<Call<'_, ()>> {
        let r = serde_json::from_value(request)?;
        Ok(Box::new(move || {
            self.db.update_item(r)?;
            Ok(())
        }))
    }

    fn query(&self, request: Value) -> Result<Call<'_, usize>> {
        let r = serde_json::from_value(request)?;
        Ok(Box::new(move || Ok(self.db.query(r)?.count)))
    }

    fn query_reading(&self, request: Value, attribute: &'static str) -> Result<Call<'_, usize>> {
        // Dynoxide's query returns its items decoded: reading one is a map lookup.
        let r = serde_json::from_value(request)?;
        Ok(Box::new(move || {
            let items = self.db.query(r)?.items.unwrap_or_default();
            Ok(items.iter().filter(|i| i.get(attribute).is_some()).count())
        }))
    }
}
