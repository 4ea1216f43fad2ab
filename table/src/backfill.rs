//! Backfilling an index added to a table that already holds items (a GSI added by
//! UpdateTable, or the expiry index when time to live is enabled).
//!
//! The backfill walks the table in key order, a chunk at a time. Each chunk is one
//! serializable engine transaction that reads the chunk's items, puts their index entries
//! and advances a cursor stored in the catalog keyspace (`backfill/<table id>/<index id>`),
//! so a crash resumes after the last chunk committed and never skips one. Writes go on
//! meanwhile: they maintain the new index themselves (the index is published before the
//! backfill starts, see `Core::gate`), and a write committing inside a chunk's range while
//! the chunk runs makes the chunk conflict and run again. When the walk reaches the end the
//! index is marked ACTIVE in the catalog.

use crate::catalog::Core;
use crate::codec;
use crate::error::{Result, TableError};
use std::ops::Bound;
use std::sync::Weak;
use std::time::Duration;

/// Items per backfill transaction.
const CHUNK: usize = 256;

/// The catalog key of a backfill's cursor (the last table key indexed).
pub fn cursor_key(table: u64, index: u64) -> String {
    format!("backfill/{table}/{index}")
}

enum Step {
    More,
    Done,
}

impl Core {
    /// Starts (or resumes) the backfill of index `index` of table `table` in the background.
    pub(crate) fn start_backfill(&self, table: u64, index: u64) {
        let core = self.me.clone();
        self.workers
            .spawn(&format!("strata-backfill-{table}-{index}"), move || {
                run(core, table, index)
            });
    }
}

fn run(core: Weak<Core>, table: u64, index: u64) {
    loop {
        let Some(core) = core.upgrade() else { return };
        if core.workers.stopping() {
            return;
        }
        match step(&core, table, index) {
            Ok(Step::More) => {}
            Ok(Step::Done) => return,
            Err(e) => {
                tracing::warn!("backfill of index {index} of table {table} failed, retrying: {e}");
                if !core.workers.sleep(Duration::from_secs(1)) {
                    return;
                }
            }
        }
    }
}

/// Indexes one chunk; marks the index ACTIVE after the last.
fn step(core: &Core, table_id: u64, index_id: u64) -> Result<Step> {
    let Some(table) = core.live_table_by_id(table_id) else {
        return Ok(Step::Done);
    };
    let Some(index) = table
        .indexes
        .iter()
        .find(|i| i.meta.id == index_id && i.meta.backfilling)
    else {
        return Ok(Step::Done);
    };
    let cursor = cursor_key(table_id, index_id);
    let mut t = core.db.transaction();
    let lo = match t.get(&core.catalog, &cursor)? {
        Some(k) => Bound::Excluded(k.to_vec()),
        None => Bound::Unbounded,
    };
    // The chunk's end, chosen before the transaction reads it so that its read set (and
    // what a concurrent write can conflict with) is the chunk alone.
    let mut last = None;
    let mut n = 0;
    for entry in core
        .db
        .snapshot()
        .range(&table.items, (lo.clone(), Bound::<Vec<u8>>::Unbounded))
        .take(CHUNK)
    {
        last = Some(entry?.0.to_vec());
        n += 1;
    }
    let finished = n < CHUNK;
    let hi = match (&last, finished) {
        (Some(k), false) => Bound::Included(k.clone()),
        _ => Bound::Unbounded,
    };
    let mut entries = Vec::new();
    let mut end = None;
    for entry in t.range(&table.items, (lo, hi)) {
        let (key, value) = entry?;
        let item = codec::decode_item(&value).map_err(|e| {
            TableError::Internal(format!("item in table {} is damaged: {e}", table.meta.name))
        })?;
        if let Some(e) = index.meta.entry(&table.meta.key, &key, &item, false)? {
            entries.push(e);
        }
        end = Some(key);
    }
    for (k, v) in &entries {
        t.put(&index.entries, k, v);
    }
    match (&end, finished) {
        (_, true) => t.delete(&core.catalog, &cursor),
        (Some(k), false) => t.put(&core.catalog, &cursor, k),
        (None, false) => {}
    }
    match t.commit() {
        Ok(_) => {}
        Err(e) if e.is_conflict() => return Ok(Step::More),
        Err(e) => return Err(e.into()),
    }
    if !finished {
        return Ok(Step::More);
    }
    let _ddl = core.ddl.lock();
    let Some(table) = core.live_table_by_id(table_id) else {
        return Ok(Step::Done);
    };
    let mut meta = table.meta.clone();
    if let Some(i) = meta.indexes.iter_mut().find(|i| i.id == index_id) {
        i.backfilling = false;
        core.store_meta(&table, meta)?;
    }
    Ok(Step::Done)
}
