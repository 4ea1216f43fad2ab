//! BatchGetItem and BatchWriteItem.
//!
//! A batch write is validated whole before anything is written, then applied as one atomic
//! engine batch (DynamoDB applies each request on its own; doing them together is a stronger
//! guarantee and one WAL append). Every request is processed, so `UnprocessedItems` is empty;
//! a batch get returns `UnprocessedKeys` only past DynamoDB's 16 MB response limit.

use crate::capacity::{self, Report};
use crate::catalog::{check_table_name, Database};
use crate::codec;
use crate::error::{violation, Result, TableError};
use crate::exprs::Exprs;
use crate::items::{check_item, project};
use crate::model::{
    BatchGetItemInput, BatchGetItemOutput, BatchWriteItemInput, BatchWriteItemOutput,
    KeysAndAttributes,
};
use crate::value::item_size;
use std::collections::{BTreeMap, HashSet};

/// The most keys one BatchGetItem reads.
const MAX_GET_KEYS: usize = 100;
/// The most requests one BatchWriteItem makes.
const MAX_WRITES: usize = 25;
/// The response size past which BatchGetItem leaves keys unprocessed.
const MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;

/// `ItemCollectionMetrics` of a batch or transaction: per table, its collections written.
pub(crate) fn collection_map(
    collections: Vec<(String, crate::value::Item, u64)>,
) -> BTreeMap<String, Vec<crate::model::ItemCollectionMetrics>> {
    let mut out: BTreeMap<String, Vec<_>> = BTreeMap::new();
    for (table, key, size) in collections {
        out.entry(table)
            .or_default()
            .push(crate::model::ItemCollectionMetrics::of(key, size));
    }
    out
}

fn not_found() -> TableError {
    TableError::ResourceNotFound("Requested resource not found".into())
}

impl Database {
    /// Applies puts (`Some`) and deletes (`None`) atomically in one engine transaction,
    /// with their stream records and index entries; retried when it loses a race (like
    /// single-item writes). Returns the item collections written (tables with LSIs): table
    /// name, collection key, size.
    fn apply_writes(
        &self,
        ops: &[(
            std::sync::Arc<crate::catalog::Table>,
            Vec<u8>,
            Option<crate::value::Item>,
        )],
    ) -> Result<Vec<(String, crate::value::Item, u64)>> {
        for _ in 0..10_000 {
            // One appender per stream, held until the commit returns.
            let mut appenders: Vec<(u64, strata_streams::Appender<'_>)> = Vec::new();
            for (table, _, _) in ops {
                if let Some(s) = &table.stream {
                    if !appenders.iter().any(|(id, _)| *id == table.meta.id) {
                        if let Some(a) = crate::streams::appender(s)? {
                            appenders.push((table.meta.id, a));
                        }
                    }
                }
            }
            let mut t = self.engine().transaction();
            let mut collections = Vec::new();
            for (table, key, new) in ops {
                let old = if crate::write::table_needs_old_image(table) {
                    match t.get(&table.items, key)? {
                        Some(b) => Some(codec::decode_item(&b).map_err(TableError::Internal)?),
                        None => None,
                    }
                } else {
                    None
                };
                match new {
                    Some(item) => t.put(&table.items, key, codec::encode_item(item)),
                    None => t.delete(&table.items, key),
                }
                let collection =
                    crate::index::maintain(&mut t, table, key, old.as_ref(), new.as_ref())?;
                if let Some((k, size)) = collection {
                    // The last write to a collection has its final size.
                    collections.retain(|(n, c, _)| !(*n == table.meta.name && *c == k));
                    collections.push((table.meta.name.clone(), k, size));
                }
                if let Some(stream) = &table.stream {
                    if let Some((_, a)) = appenders.iter().find(|(id, _)| *id == table.meta.id) {
                        crate::streams::append_change(
                            stream,
                            a,
                            &mut t,
                            &table.meta.key,
                            old.as_ref(),
                            new.as_ref(),
                            false,
                        )?;
                    }
                }
            }
            match t.commit_with(self.write_options()) {
                Ok(_) => return Ok(collections),
                Err(e) if e.is_conflict() => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(TableError::Internal(
            "a batch write lost 10000 races in a row".into(),
        ))
    }

    /// BatchGetItem.
    pub fn batch_get_item(&self, input: BatchGetItemInput) -> Result<BatchGetItemOutput> {
        let requests = input.request_items.ok_or_else(|| {
            TableError::constraints(vec![violation(
                None,
                "requestItems",
                "Member must not be null",
            )])
        })?;
        let report = Report::parse(input.return_consumed_capacity.as_deref())?;
        if requests.is_empty() || requests.len() > 100 {
            return Err(TableError::constraints(vec![violation(
                Some("{}"),
                "requestItems",
                if requests.is_empty() {
                    "Member must have length greater than or equal to 1"
                } else {
                    "Member must have length less than or equal to 100"
                },
            )]));
        }
        let total: usize = requests
            .values()
            .map(|r| r.keys.as_ref().map_or(0, Vec::len))
            .sum();
        if total > MAX_GET_KEYS {
            return Err(TableError::validation(
                "Too many items requested for the BatchGetItem call",
            ));
        }
        // DynamoDB checks the request as a whole: one table's AttributesToGet and another's
        // ProjectionExpression are mixed styles too.
        crate::exprs::mixed(
            &[(
                "AttributesToGet",
                requests.values().any(|r| r.attributes_to_get.is_some()),
            )],
            &[(
                "ProjectionExpression",
                requests.values().any(|r| r.projection_expression.is_some()),
            )],
        )?;
        // Validate everything before reading anything: the request's own checks first, then
        // (DynamoDB reports those ahead of a missing table) the tables and their key schemas.
        let duplicates =
            || TableError::validation("Provided list of item keys contains duplicates");
        let mut checked = Vec::with_capacity(requests.len());
        for (name, req) in &requests {
            check_table_name(Some(name), "requestItems.member.key")?;
            let keys = req.keys.as_ref().filter(|k| !k.is_empty()).ok_or_else(|| {
                TableError::constraints(vec![violation(
                    None,
                    &format!("requestItems.{name}.member.keys"),
                    "Member must have length greater than or equal to 1",
                )])
            })?;
            // Identical keys as given (at most 100: pairwise is cheap).
            if keys.iter().enumerate().any(|(i, k)| keys[..i].contains(k)) {
                return Err(duplicates());
            }
            let projection = match (&req.attributes_to_get, &req.projection_expression) {
                (Some(a), _) => {
                    Exprs::new(
                        req.expression_attribute_names.as_ref(),
                        None,
                        "ProjectionExpression is null",
                        false,
                    )?;
                    Some(crate::legacy::attributes_to_get(a)?)
                }
                (None, p) => {
                    let mut exprs = Exprs::new(
                        req.expression_attribute_names.as_ref(),
                        None,
                        "ProjectionExpression is null",
                        p.is_some(),
                    )?;
                    let proj = exprs.projection(p.as_deref())?;
                    exprs.finish()?;
                    proj
                }
            };
            checked.push((name, req, keys, projection));
        }
        let mut plans = Vec::with_capacity(checked.len());
        for (name, req, keys, projection) in checked {
            let table = self.live_table(name).map_err(|_| not_found())?;
            let mut seen = HashSet::new();
            let mut engine_keys = Vec::with_capacity(keys.len());
            for k in keys {
                let ek = table.meta.key.key_of(k)?;
                if !seen.insert(ek.clone()) {
                    return Err(duplicates());
                }
                engine_keys.push(ek);
            }
            plans.push((name.clone(), table, req, engine_keys, projection));
        }
        let snapshot = self.engine().snapshot();
        let mut out = BatchGetItemOutput::default();
        let mut capacity = Vec::new();
        let mut bytes = 0;
        for (name, table, req, keys, projection) in plans {
            let consistent = req.consistent_read.unwrap_or(false);
            let mut found = Vec::new();
            let mut unprocessed = Vec::new();
            for (i, ek) in keys.iter().enumerate() {
                if bytes > MAX_RESPONSE_BYTES {
                    unprocessed.push(req.keys.as_ref().map(|k| k[i].clone()).unwrap_or_default());
                    continue;
                }
                let item = match snapshot.get(&table.items, ek)? {
                    Some(b) => Some(codec::decode_item(&b).map_err(TableError::Internal)?),
                    None => None,
                }
                .filter(|i| !self.hidden(&table, i));
                let size = item.as_ref().map_or(0, item_size);
                bytes += size;
                capacity::add(
                    &mut capacity,
                    report.consumed(&name, capacity::read_units(size, consistent), true),
                );
                if let Some(item) = item {
                    found.push(project(item, projection.as_ref()));
                }
            }
            out.responses.insert(name.clone(), found);
            if !unprocessed.is_empty() {
                out.unprocessed_keys.insert(
                    name,
                    KeysAndAttributes {
                        keys: Some(unprocessed),
                        ..req.clone()
                    },
                );
            }
        }
        out.consumed_capacity = (report != Report::None).then_some(capacity);
        Ok(out)
    }

    /// BatchWriteItem.
    pub fn batch_write_item(&self, input: BatchWriteItemInput) -> Result<BatchWriteItemOutput> {
        // Held until the write commits: see `Core::gate`.
        let _gate = self.gate.read_recursive();
        let requests = input.request_items.ok_or_else(|| {
            TableError::constraints(vec![violation(
                None,
                "requestItems",
                "Member must not be null",
            )])
        })?;
        let report = Report::parse(input.return_consumed_capacity.as_deref())?;
        let metrics =
            crate::items::collection_metrics(input.return_item_collection_metrics.as_deref())?;
        let total: usize = requests.values().map(Vec::len).sum();
        if requests.is_empty() || total == 0 {
            return Err(TableError::constraints(vec![violation(
                Some("{}"),
                "requestItems",
                "Member must have length greater than or equal to 1",
            )]));
        }
        if total > MAX_WRITES || requests.values().any(|r| r.len() > MAX_WRITES) {
            return Err(TableError::constraints(vec![violation(
                Some(&format!("{{{} requests}}", total)),
                "requestItems",
                "Map value must satisfy constraint: [Member must have length less than or equal to 25, Member must have length greater than or equal to 1]",
            )]));
        }
        // Before any table is looked up: DynamoDB reports this ahead of a missing table.
        if let Some((name, _)) = requests.iter().find(|(_, writes)| writes.is_empty()) {
            return Err(TableError::validation(format!(
                "The batch write request list for a table cannot be null or empty: {name}"
            )));
        }
        let mut ops: Vec<(
            std::sync::Arc<crate::catalog::Table>,
            Vec<u8>,
            Option<crate::value::Item>,
        )> = Vec::new();
        let mut capacity = Vec::new();
        for (name, writes) in &requests {
            check_table_name(Some(name), "requestItems.member.key")?;
            let table = self.live_table(name).map_err(|_| not_found())?;
            let mut seen = HashSet::new();
            for w in writes {
                let (key, value) = match (&w.put_request, &w.delete_request) {
                    (Some(p), None) => {
                        let item = p.item.as_ref().ok_or_else(|| {
                            TableError::constraints(vec![violation(
                                None,
                                "requestItems.member.member.putRequest.item",
                                "Member must not be null",
                            )])
                        })?;
                        let key = table.meta.key.item_key(item)?;
                        check_item(item)?;
                        capacity::add(
                            &mut capacity,
                            report.consumed(name, capacity::write_units(item_size(item)), false),
                        );
                        (key, Some(item.clone()))
                    }
                    (None, Some(d)) => {
                        let k = d.key.as_ref().ok_or_else(|| {
                            TableError::constraints(vec![violation(
                                None,
                                "requestItems.member.member.deleteRequest.key",
                                "Member must not be null",
                            )])
                        })?;
                        capacity::add(&mut capacity, report.consumed(name, 1.0, false));
                        (table.meta.key.key_of(k)?, None)
                    }
                    _ => return Err(TableError::validation(
                        "A WriteRequest must contain exactly one of PutRequest or DeleteRequest",
                    )),
                };
                if !seen.insert(key.clone()) {
                    return Err(TableError::validation(
                        "Provided list of item keys contains duplicates",
                    ));
                }
                ops.push((table.clone(), key, value));
            }
        }
        let collections = self.apply_writes(&ops)?;
        Ok(BatchWriteItemOutput {
            unprocessed_items: BTreeMap::new(),
            consumed_capacity: (report != Report::None).then_some(capacity),
            item_collection_metrics: metrics.then(|| collection_map(collections)),
        })
    }
}
