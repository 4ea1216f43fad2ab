//! Time to live: UpdateTimeToLive, DescribeTimeToLive and the background sweeper that
//! deletes expired items.
//!
//! Enabling time to live adds the table's **expiry index** (see [`crate::index`]): entries
//! `expiry time | table key`, maintained by every write in the item's own commit and
//! backfilled from the items already present. The sweeper reads that index from five years
//! ago (DynamoDB ignores older expiry times) up to now, so a round costs a single seek when
//! nothing has expired, and deletes what it finds — at most
//! [`DatabaseOptions::ttl_sweep_batch`](crate::DatabaseOptions::ttl_sweep_batch) items per
//! round. Each deletion re-checks the item in its own transaction (an item rewritten with a
//! later expiry time is left alone), removes its index entries in the same commit and
//! appends a `REMOVE` stream record whose `userIdentity` is the DynamoDB service. The index
//! itself is the sweeper's persisted cursor: a crash mid-round loses nothing, and the next
//! round finds what the last one did not delete.
//!
//! Items whose attribute is missing or not a Number never expire. Expired items not yet
//! swept still read back, as in DynamoDB, unless
//! [`DatabaseOptions::hide_expired_items`](crate::DatabaseOptions::hide_expired_items) hides
//! them.

use crate::catalog::{check_table_name, Core, Database};
use crate::error::{violation, Result, TableError};
use crate::index::{IndexKind, Projected, StoredIndex};
use crate::model::{
    DescribeTimeToLiveOutput, TableNameInput, TimeToLiveDescription, UpdateTimeToLiveInput,
    UpdateTimeToLiveOutput,
};
use crate::number::Number;
use crate::schema::{KeyAttribute, KeySchema};
use crate::value::{AttributeValue, Item};
use crate::write::Decision;
use std::ops::Bound;

/// Expiry times further back than this are ignored, as DynamoDB ignores them.
const IGNORED_AFTER_SECS: i64 = 5 * 365 * 24 * 3600;

/// Whether `item` has expired at `now` by its attribute `attribute`.
pub fn expired(item: &Item, attribute: &str, now: f64) -> bool {
    match item.get(attribute) {
        Some(AttributeValue::N(n)) => {
            let t = n.to_f64();
            t < now && t >= now - IGNORED_AFTER_SECS as f64
        }
        _ => false,
    }
}

impl Database {
    /// UpdateTimeToLive: enables (on an attribute) or disables expiry.
    pub fn update_time_to_live(
        &self,
        input: UpdateTimeToLiveInput,
    ) -> Result<UpdateTimeToLiveOutput> {
        let name = check_table_name(input.table_name.as_deref(), "tableName")?;
        let Some(spec) = &input.time_to_live_specification else {
            return Err(TableError::constraints(vec![violation(
                None,
                "timeToLiveSpecification",
                "Member must not be null",
            )]));
        };
        let mut problems = Vec::new();
        if spec.enabled.is_none() {
            problems.push(violation(
                None,
                "timeToLiveSpecification.enabled",
                "Member must not be null",
            ));
        }
        match spec.attribute_name.as_deref() {
            None => problems.push(violation(
                None,
                "timeToLiveSpecification.attributeName",
                "Member must not be null",
            )),
            Some(a) if a.is_empty() || a.len() > 255 => problems.push(violation(
                Some(a),
                "timeToLiveSpecification.attributeName",
                if a.is_empty() {
                    "Member must have length greater than or equal to 1"
                } else {
                    "Member must have length less than or equal to 255"
                },
            )),
            _ => {}
        }
        if !problems.is_empty() {
            return Err(TableError::constraints(problems));
        }
        let attribute = spec.attribute_name.clone().unwrap_or_default();
        let enable = spec.enabled == Some(true);
        let _ddl = self.ddl.lock();
        let table = self.live_table(name)?;
        let mut meta = table.meta.clone();
        let current = meta.ttl_attribute().map(str::to_owned);
        match (enable, current) {
            (true, Some(_)) => {
                return Err(TableError::validation("TimeToLive is already enabled"))
            }
            (false, None) => {
                return Err(TableError::validation("TimeToLive is already disabled"))
            }
            (false, Some(current)) if current != attribute => {
                return Err(TableError::validation(format!(
                    "TimeToLive is active on a different AttributeName: current AttributeName is {current}"
                )))
            }
            (false, Some(_)) => {
                let at = meta
                    .indexes
                    .iter()
                    .position(|i| i.kind == IndexKind::Expiry);
                if let Some(at) = at {
                    let dropped = meta.indexes.remove(at);
                    self.store_meta(&table, meta)?;
                    self.db.drop_keyspace(&dropped.keyspace_name(table.meta.id))?;
                    let mut batch = strata_engine::WriteBatch::new();
                    batch.delete_in(
                        &self.catalog,
                        crate::backfill::cursor_key(table.meta.id, dropped.id),
                    );
                    self.db.write(batch, strata_engine::WriteOptions::new())?;
                }
            }
            (true, None) => {
                let id = meta
                    .next_index_id
                    .max(meta.indexes.iter().map(|i| i.id).max().unwrap_or(0) + 1);
                meta.next_index_id = id + 1;
                meta.indexes.push(StoredIndex {
                    name: attribute.clone(),
                    id,
                    kind: IndexKind::Expiry,
                    key: KeySchema {
                        partition: KeyAttribute {
                            name: attribute.clone(),
                            ty: "N".into(),
                        },
                        sort: None,
                    },
                    projection: Projected::KeysOnly,
                    read_units: 0,
                    write_units: 0,
                    backfilling: false,
                });
                let backfill = {
                    // No write is in flight while the gate is held (see `Core::gate`).
                    let _gate = self.gate.write();
                    let occupied = table.items.iter().next().is_some();
                    if let Some(i) = meta.indexes.last_mut() {
                        i.backfilling = occupied;
                    }
                    self.publish(&table, meta)?;
                    occupied
                };
                if backfill {
                    self.start_backfill(table.meta.id, id);
                }
            }
        }
        Ok(UpdateTimeToLiveOutput {
            time_to_live_specification: Some(spec.clone()),
        })
    }

    /// DescribeTimeToLive.
    pub fn describe_time_to_live(&self, input: TableNameInput) -> Result<DescribeTimeToLiveOutput> {
        let name = check_table_name(input.table_name.as_deref(), "tableName")?;
        let table = self.live_table(name)?;
        let expiry = table
            .meta
            .indexes
            .iter()
            .find(|i| i.kind == IndexKind::Expiry);
        Ok(DescribeTimeToLiveOutput {
            time_to_live_description: Some(match expiry {
                Some(i) => TimeToLiveDescription {
                    time_to_live_status: Some(
                        if i.backfilling { "ENABLING" } else { "ENABLED" }.into(),
                    ),
                    attribute_name: Some(i.name.clone()),
                },
                None => TimeToLiveDescription {
                    time_to_live_status: Some("DISABLED".into()),
                    attribute_name: None,
                },
            }),
        })
    }

    /// Runs one sweeper round now (the background sweeper runs them every
    /// [`DatabaseOptions::ttl_sweep_interval`](crate::DatabaseOptions::ttl_sweep_interval));
    /// returns how many expired items it deleted.
    pub fn sweep_expired(&self) -> Result<usize> {
        self.sweep_round()
    }
}

impl Core {
    /// With [`DatabaseOptions::hide_expired_items`](crate::DatabaseOptions::hide_expired_items)
    /// on a table with time to live: its TTL attribute and the time now, by which reads hide
    /// expired items.
    pub(crate) fn hides_expired(&self, table: &crate::catalog::Table) -> Option<(String, f64)> {
        if !self.options.hide_expired {
            return None;
        }
        let attribute = table.meta.ttl_attribute()?;
        Some((attribute.to_owned(), self.options.clock.now()))
    }

    /// Whether reads must hide `item` of `table` as expired.
    pub(crate) fn hidden(&self, table: &crate::catalog::Table, item: &Item) -> bool {
        self.hides_expired(table)
            .is_some_and(|(attribute, now)| expired(item, &attribute, now))
    }

    /// Starts the sweeper thread.
    pub(crate) fn start_ttl_sweeper(&self) {
        let core = self.me.clone();
        self.workers.spawn("strata-ttl", move || loop {
            let Some(core) = core.upgrade() else { return };
            if !core.workers.sleep(core.options.ttl_interval) {
                return;
            }
            if let Err(e) = core.sweep_round() {
                tracing::warn!("time-to-live sweep failed: {e}");
            }
        });
    }

    /// One round: deletes up to the batch size of expired items over all tables.
    fn sweep_round(&self) -> Result<usize> {
        let now = self.options.clock.now();
        let tables: Vec<_> = self
            .tables
            .read()
            .values()
            .filter(|t| t.meta.ttl_attribute().is_some())
            .cloned()
            .collect();
        let mut budget = self.options.ttl_batch;
        let mut deleted = 0;
        let (mut lo, mut hi) = (Vec::new(), Vec::new());
        Number::from(now.floor() as i64 - IGNORED_AFTER_SECS).encode_key(&mut lo);
        Number::from(now.ceil() as i64).encode_key(&mut hi);
        for table in tables {
            if budget == 0 {
                break;
            }
            let Some(expiry) = table
                .indexes
                .iter()
                .find(|i| i.meta.kind == IndexKind::Expiry)
            else {
                continue;
            };
            let mut keys = Vec::new();
            for entry in self
                .db
                .snapshot()
                .range(
                    &expiry.entries,
                    (Bound::Included(lo.clone()), Bound::Included(hi.clone())),
                )
                .take(budget)
            {
                let (key, _) = entry?;
                let (_, base) = expiry.meta.split_entry_key(&key)?;
                keys.push(base.to_vec());
            }
            for key in keys {
                budget -= 1;
                if self.expire(table.meta.id, &key, now)? {
                    deleted += 1;
                }
            }
        }
        Ok(deleted)
    }

    /// Deletes the item at `key` of table `table_id` if it has expired at `now`.
    fn expire(&self, table_id: u64, key: &[u8], now: f64) -> Result<bool> {
        let _gate = self.gate.read_recursive();
        let Some(table) = self.live_table_by_id(table_id) else {
            return Ok(false);
        };
        let Some(attribute) = table.meta.ttl_attribute().map(str::to_owned) else {
            return Ok(false);
        };
        let written = crate::write::write_item_as(
            &self.db,
            self.write_options(),
            &table,
            key,
            true,
            |old| {
                Ok(match old {
                    Some(item) if expired(item, &attribute, now) => Decision::Delete,
                    _ => Decision::Nothing,
                })
            },
        )?;
        Ok(written.old.is_some() && written.new.is_none())
    }
}
