//! The DynamoDB operations the table workloads time, over any embedded implementation:
//! strata's table layer, or Dynoxide's library (feature `dynoxide`). Each call parses its
//! JSON request up front and returns the operation as a closure, so only the operation itself
//! is timed, the same way for every implementation.

use crate::engines::Result;
use serde_json::Value;

/// A prepared operation, run by calling it.
pub type Call<'a, T> = Box<dyn FnOnce() -> Result<T> + 'a>;

/// DynamoDB's item operations, embedded.
pub trait DynamoApi: Send + Sync {
    /// Whether table `name` exists.
    fn has_table(&self, name: &str) -> bool;
    /// CreateTable.
    fn create_table(&self, request: Value) -> Result<()>;
    /// PutItem.
    fn put_item(&self, request: Value) -> Result<Call<'_, ()>>;
    /// GetItem; the call returns whether the item exists.
    fn get_item(&self, request: Value) -> Result<Call<'_, bool>>;
    /// UpdateItem.
    fn update_item(&self, request: Value) -> Result<Call<'_, ()>>;
    /// Query; the call returns the number of items.
    fn query(&self, request: Value) -> Result<Call<'_, usize>>;
    /// Query through the implementation's fastest way to read the items it returns, then
    /// read attribute `attribute` of each, as a caller using the items would; the call
    /// returns how many items have it. strata: [`strata_table::Database::query_stored`],
    /// whose items are read in place ([`strata_table::stored::ReadItem::get`]).
    fn query_reading(&self, request: Value, attribute: &'static str) -> Result<Call<'_, usize>>;
}

impl DynamoApi for strata_table::Database {
    fn has_table(&self, name: &str) -> bool {
        self.live_table(name).is_ok()
    }

    fn create_table(&self, request: Value) -> Result<()> {
        strata_table::Database::create_table(self, serde_json::from_value(request)?)?;
        Ok(())
    }

    fn put_item(&self, request: Value) -> Result<Call<'_, ()>> {
        let r = serde_json::from_value(request)?;
        Ok(Box::new(move || {
            strata_table::Database::put_item(self, r)?;
            Ok(())
        }))
    }

    fn get_item(&self, request: Value) -> Result<Call<'_, bool>> {
        let r = serde_json::from_value(request)?;
        Ok(Box::new(move || {
            Ok(strata_table::Database::get_item(self, r)?.item.is_some())
        }))
    }

    fn update_item(&self, request: Value) -> Result<Call<'_, ()>> {
        let r = serde_json::from_value(request)?;
        Ok(Box::new(move || {
            strata_table::Database::update_item(self, r)?;
            Ok(())
        }))
    }

    fn query(&self, request: Value) -> Result<Call<'_, usize>> {
        let r = serde_json::from_value(request)?;
        Ok(Box::new(move || {
            Ok(strata_table::Database::query(self, r)?.count as usize)
        }))
    }

    fn query_reading(&self, request: Value, attribute: &'static str) -> Result<Call<'_, usize>> {
        let r = serde_json::from_value(request)?;
        Ok(Box::new(move || {
            let items = strata_table::Database::query_stored(self, r)?.items;
            let mut found = 0;
            for item in items.iter().flatten() {
                found += usize::from(item.get(attribute)?.is_some());
            }
            Ok(found)
        }))
    }
}
