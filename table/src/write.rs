//! The single-item write path: read the current item, decide (condition, update), write —
//! all in one serializable engine transaction, so every single-item write is atomic and
//! isolated. A transaction that loses a race to a concurrent commit is retried here; callers
//! never see engine conflicts.

use crate::catalog::Table;
use crate::codec;
use crate::error::{Result, TableError};
use crate::value::Item;
use strata_engine::Db;

/// What a write does once it has seen the current item.
pub enum Decision {
    /// Store this item.
    Put(Item),
    /// Delete the item.
    Delete,
    /// Leave it as it is (e.g. a delete of a missing item).
    Nothing,
}

/// The outcome: the item before and after.
pub struct Written {
    /// The item before the write.
    pub old: Option<Item>,
    /// The item after the write.
    pub new: Option<Item>,
    /// The item collection written (tables with LSIs): its key and size in bytes.
    pub collection: Option<(Item, u64)>,
}

/// Whether a write to `table` must see the item it replaces for reasons of the table's own
/// (a stream record carries the old image; index entries of the old item are replaced). Requests add theirs: a condition, ReturnValues,
/// consumed capacity (sized by the larger of the two items).
pub fn table_needs_old_image(table: &Table) -> bool {
    table.stream.is_some() || !table.indexes.is_empty()
}

/// Stores `item` at `key` without reading what it replaces: one engine write, no
/// transaction. For puts that need nothing of the old item (see [`table_needs_old_image`]);
/// still serializable against transactions, which see every write in their conflict check.
pub fn put_blind(
    db: &Db,
    opts: strata_engine::WriteOptions,
    table: &Table,
    key: &[u8],
    item: &Item,
) -> Result<()> {
    let mut batch = strata_engine::WriteBatch::new();
    batch.put_in(&table.items, key, codec::encode_item(item));
    db.write(batch, opts)?;
    Ok(())
}

/// How many times a write is retried after losing a race before giving up.
const MAX_ATTEMPTS: usize = 10_000;

/// Reads the item at `key`, asks `decide` what to do, and commits that atomically.
/// `decide` may run more than once (once per attempt), so it must not have side effects.
pub fn write_item(
    db: &Db,
    opts: strata_engine::WriteOptions,
    table: &Table,
    key: &[u8],
    decide: impl Fn(Option<&Item>) -> Result<Decision>,
) -> Result<Written> {
    write_item_as(db, opts, table, key, false, decide)
}

/// [`write_item`], made by the service itself when `by_service` (a time-to-live expiry,
/// whose stream record says so).
pub fn write_item_as(
    db: &Db,
    opts: strata_engine::WriteOptions,
    table: &Table,
    key: &[u8],
    by_service: bool,
    decide: impl Fn(Option<&Item>) -> Result<Decision>,
) -> Result<Written> {
    for attempt in 0..MAX_ATTEMPTS {
        // Held from choosing the stream shard until the commit returns (see strata-streams).
        let appender = match &table.stream {
            Some(s) => crate::streams::appender(s)?,
            None => None,
        };
        let mut t = db.transaction();
        let old = match t.get(&table.items, key)? {
            Some(bytes) => Some(codec::decode_item(&bytes).map_err(|e| {
                TableError::Internal(format!("item in table {} is damaged: {e}", table.meta.name))
            })?),
            None => None,
        };
        let new = match decide(old.as_ref())? {
            Decision::Put(item) => {
                t.put(&table.items, key, codec::encode_item(&item));
                Some(item)
            }
            Decision::Delete => {
                if old.is_some() {
                    t.delete(&table.items, key);
                }
                None
            }
            Decision::Nothing => {
                return Ok(Written {
                    new: old.clone(),
                    old,
                    collection: None,
                })
            }
        };
        let collection = crate::index::maintain(&mut t, table, key, old.as_ref(), new.as_ref())?;
        if let (Some(stream), Some(appender)) = (&table.stream, &appender) {
            crate::streams::append_change(
                stream,
                appender,
                &mut t,
                &table.meta.key,
                old.as_ref(),
                new.as_ref(),
                by_service,
            )?;
        }
        let committed = t.commit_with(opts);
        drop(appender);
        match committed {
            Ok(_) => {
                return Ok(Written {
                    old,
                    new,
                    collection,
                })
            }
            Err(e) if e.is_conflict() => {
                if attempt > 8 {
                    std::thread::yield_now();
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(TableError::Internal(format!(
        "a write to table {} lost {MAX_ATTEMPTS} races in a row",
        table.meta.name
    )))
}
