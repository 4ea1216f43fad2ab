//! The database of tables: the catalog (which tables exist, their schemas), persisted in an
//! engine keyspace, and the table operations CreateTable, DescribeTable, ListTables,
//! UpdateTable and DeleteTable.
//!
//! Each table's items live in their own engine keyspace, named after the table's creation id
//! (tables created before names could be 255 characters long: after the name and the id), so
//! deleting a table drops its keyspace (no per-item deletes) and a table created again
//! under the same name starts empty. Creation makes the keyspace, then writes the catalog
//! entry (fsynced); deletion removes the entry (fsynced), then drops the keyspace. A crash in
//! between leaves a keyspace no entry names, which [`Database::open`] drops.

use crate::error::{violation, Result, TableError};
use crate::model::{
    AttributeDefinition, CreateTableInput, CreateTableOutput, DeleteTableOutput,
    DescribeTableOutput, ListTablesInput, ListTablesOutput, TableNameInput, UpdateTableInput,
    UpdateTableOutput,
};
use crate::options::DatabaseOptions;
use crate::schema::{KeyAttribute, KeySchema, StoredTable};
use parking_lot::{Mutex, RwLock};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use strata_engine::{Db, Keyspace, Options, WriteOptions};
use strata_streams::LogOptions;

/// The keyspace holding the catalog.
const CATALOG: &str = "sys/tables";
/// Catalog key prefix of table entries.
const TABLE_PREFIX: &str = "table/";
/// Catalog key of the next table id.
const NEXT_ID: &str = "next-id";

/// A live table: its description and its items' keyspace.
pub struct Table {
    /// What the catalog says.
    pub meta: StoredTable,
    /// The items.
    pub items: Keyspace,
    /// The enabled stream, if any.
    pub stream: Option<crate::streams::TableStream>,
    /// Disabled streams still holding records, kept open so their retention is enforced.
    pub old_streams: Vec<strata_streams::ChangeLog>,
    /// The secondary indexes and the expiry index, in catalog order.
    pub indexes: Vec<crate::index::LiveIndex>,
    /// Item collection sizes by partition (tables with local secondary indexes).
    pub collections: Option<Keyspace>,
    /// The most bytes an item collection may take
    /// ([`DatabaseOptions::item_collection_limit`]).
    pub collection_limit: u64,
}

impl Table {
    fn open(
        db: &Db,
        meta: StoredTable,
        items: Keyspace,
        options: &DatabaseOptions,
    ) -> Result<Table> {
        let logs = &options.stream_log;
        let stream = match meta.streams.last().filter(|s| s.enabled) {
            Some(info) => {
                let log = crate::streams::open_log(db, &meta, info, logs)?;
                log.spawn_maintenance()
                    .map_err(crate::streams::stream_error)?;
                Some(crate::streams::TableStream {
                    log,
                    view_type: info.view_type.clone(),
                })
            }
            None => None,
        };
        let mut old_streams = Vec::new();
        for info in meta.streams.iter().filter(|s| !s.enabled) {
            let log = crate::streams::open_log(db, &meta, info, logs)?;
            if !log.is_sealed().map_err(crate::streams::stream_error)? {
                log.seal().map_err(crate::streams::stream_error)?;
            }
            if !log
                .all_shards()
                .map_err(crate::streams::stream_error)?
                .is_empty()
            {
                log.spawn_maintenance()
                    .map_err(crate::streams::stream_error)?;
                old_streams.push(log);
            }
        }
        let indexes = meta
            .indexes
            .iter()
            .map(|i| {
                Ok(crate::index::LiveIndex {
                    entries: db.keyspace(&i.keyspace_name(meta.id))?,
                    meta: i.clone(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let collections = if meta.has_local_indexes() {
            Some(db.keyspace(&crate::index::collections_keyspace_name(meta.id))?)
        } else {
            None
        };
        Ok(Table {
            meta,
            items,
            stream,
            old_streams,
            indexes,
            collections,
            collection_limit: options.collection_limit,
        })
    }
}

/// A database of DynamoDB tables on one engine. Safe to use from many threads (share it in
/// an `Arc`). Background work — index backfills and the time-to-live sweeper — runs on its
/// own threads, which dropping the database stops (and waits for).
pub struct Database {
    core: Arc<Core>,
}

/// The state a [`Database`] shares with its background threads (which hold it weakly).
/// Reached through the database (`Deref`); not constructed on its own.
pub struct Core {
    pub(crate) db: Db,
    pub(crate) catalog: Keyspace,
    pub(crate) tables: RwLock<BTreeMap<String, Arc<Table>>>,
    next_id: AtomicU64,
    /// Serializes DDL: table creation and deletion, UpdateTable, TTL changes, index states.
    pub(crate) ddl: Mutex<()>,
    /// Held shared by every item write for its whole length and exclusively by a change of
    /// a table's set of indexes, so that no write that started with the old set commits
    /// after the new set is published (which would leave a new index behind its table).
    pub(crate) gate: RwLock<()>,
    /// TransactWriteItems' ClientRequestTokens of the last ten minutes.
    tokens: crate::transact::Tokens,
    /// How item writes commit: fsynced before they are acknowledged, or not.
    write_options: WriteOptions,
    /// The table layer's settings.
    pub(crate) options: DatabaseOptions,
    /// Background threads and how to stop them.
    pub(crate) workers: crate::background::Workers,
    /// This core, weakly, for the threads it starts.
    pub(crate) me: std::sync::Weak<Core>,
}

impl std::ops::Deref for Database {
    type Target = Core;
    fn deref(&self) -> &Core {
        &self.core
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        self.core.workers.stop_and_join();
    }
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("path", &self.db.path())
            .field("tables", &self.tables.read().len())
            .finish()
    }
}

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Seconds since the Unix epoch, with milliseconds.
fn now() -> f64 {
    now_ms() as f64 / 1000.0
}

fn corrupt(what: impl std::fmt::Display) -> TableError {
    TableError::Internal(format!("the table catalog is damaged: {what}"))
}

impl Database {
    /// Opens (or creates) a database in directory `path`.
    pub fn open(path: impl AsRef<Path>, opts: Options) -> Result<Database> {
        Database::new(Db::open(path, opts)?)
    }

    /// Opens (or creates) a database in directory `path` with table-layer `options`.
    pub fn open_with(
        path: impl AsRef<Path>,
        opts: Options,
        options: DatabaseOptions,
    ) -> Result<Database> {
        Database::with_options(Db::open(path, opts)?, options)
    }

    /// The table layer over an open engine, with the default [`DatabaseOptions`].
    pub fn new(db: Db) -> Result<Database> {
        Database::with_options(db, DatabaseOptions::default())
    }

    /// The table layer over an open engine.
    pub fn with_options(db: Db, options: DatabaseOptions) -> Result<Database> {
        let catalog = db.keyspace(CATALOG)?;
        let mut tables = BTreeMap::new();
        let mut next_id = 1;
        for entry in catalog.iter() {
            let (key, value) = entry?;
            if key.as_ref() == NEXT_ID.as_bytes() {
                let text = std::str::from_utf8(&value).map_err(corrupt)?;
                next_id = text.parse().map_err(corrupt)?;
                continue;
            }
            if !key.starts_with(TABLE_PREFIX.as_bytes()) {
                continue;
            }
            let meta: StoredTable = serde_json::from_slice(&value).map_err(corrupt)?;
            let items = db
                .existing_keyspace(&meta.keyspace_name())
                .map_err(|_| corrupt(format!("table {} has no item keyspace", meta.name)))?;
            tables.insert(
                meta.name.clone(),
                Arc::new(Table::open(&db, meta, items, &options)?),
            );
        }
        // Keyspaces of tables and indexes whose creation or deletion a crash interrupted.
        let mut live: Vec<String> = tables.values().map(|t| t.meta.keyspace_name()).collect();
        for t in tables.values() {
            live.extend(t.meta.indexes.iter().map(|i| i.keyspace_name(t.meta.id)));
            if t.meta.has_local_indexes() {
                live.push(crate::index::collections_keyspace_name(t.meta.id));
            }
        }
        for name in db.keyspace_names() {
            if (name.starts_with("table/") || name.starts_with("index/")) && !live.contains(&name) {
                db.drop_keyspace(&name)?;
            }
        }
        let backfills: Vec<(u64, u64)> = tables
            .values()
            .flat_map(|t| {
                t.meta
                    .indexes
                    .iter()
                    .filter(|i| i.backfilling)
                    .map(|i| (t.meta.id, i.id))
            })
            .collect();
        let core = Arc::new_cyclic(|me| Core {
            db,
            catalog,
            tables: RwLock::new(tables),
            next_id: AtomicU64::new(next_id),
            ddl: Mutex::new(()),
            gate: RwLock::new(()),
            tokens: Default::default(),
            write_options: WriteOptions::new()
                .sync(options.sync_writes)
                .defer_wait(options.defer_sync_wait),
            options,
            workers: Default::default(),
            me: me.clone(),
        });
        for (table, index) in backfills {
            core.start_backfill(table, index);
        }
        core.start_ttl_sweeper();
        Ok(Database { core })
    }
}

impl Core {
    /// Stores a table's changed catalog entry (fsynced) and publishes the table with it.
    pub(crate) fn store_meta(&self, table: &Table, meta: StoredTable) -> Result<()> {
        let same_indexes = table.meta.indexes.len() == meta.indexes.len()
            && table
                .meta
                .indexes
                .iter()
                .zip(&meta.indexes)
                .all(|(a, b)| a.id == b.id);
        if same_indexes {
            self.publish(table, meta)
        } else {
            // Waits for the writes that use the old set of indexes (see `gate`).
            let _gate = self.gate.write();
            self.publish(table, meta)
        }
    }

    /// Stores a table's catalog entry (fsynced) and publishes the table with it; a change of
    /// its indexes must hold `gate` exclusively.
    pub(crate) fn publish(&self, table: &Table, meta: StoredTable) -> Result<()> {
        let mut batch = strata_engine::WriteBatch::new();
        batch.put_in(
            &self.catalog,
            format!("{TABLE_PREFIX}{}", meta.name),
            serde_json::to_vec(&meta).map_err(|e| TableError::Internal(e.to_string()))?,
        );
        self.db.write(batch, WriteOptions::new().sync(true))?;
        let name = meta.name.clone();
        let updated = Arc::new(Table::open(
            &self.db,
            meta,
            table.items.clone(),
            &self.options,
        )?);
        self.tables.write().insert(name, updated);
        Ok(())
    }

    /// The options new stream change logs are created with.
    pub(crate) fn stream_log_options(&self) -> &LogOptions {
        &self.options.stream_log
    }

    /// Whether acknowledged item writes are fsynced first ([`DatabaseOptions::sync_writes`]).
    pub fn syncs_writes(&self) -> bool {
        self.options.sync_writes
    }

    /// Whether item writes return before their fsync ([`DatabaseOptions::defer_sync_wait`]):
    /// await [`Core::durable`] before acknowledging one.
    pub fn defers_sync_wait(&self) -> bool {
        self.options.sync_writes && self.options.defer_sync_wait
    }

    /// Resolves once every item write made so far is durable and visible (at once when none
    /// is waiting for an fsync); fails if an fsync failed, which leaves the database
    /// read-only.
    pub async fn durable(&self) -> crate::Result<()> {
        self.db.durable().await?;
        Ok(())
    }

    /// Blocks until every item write made so far is durable and visible: [`Core::durable`]
    /// for callers without an async runtime.
    pub fn wait_durable(&self) -> crate::Result<()> {
        self.db.wait_durable()?;
        Ok(())
    }

    /// Whether writes are being delayed for compaction to catch up (a write may block).
    pub fn writes_throttled(&self) -> bool {
        self.db.writes_throttled()
    }

    /// The options item writes commit with.
    pub(crate) fn write_options(&self) -> WriteOptions {
        self.write_options
    }

    /// TransactWriteItems' remembered tokens.
    pub(crate) fn tokens(&self) -> &crate::transact::Tokens {
        &self.tokens
    }

    /// The engine underneath.
    pub fn engine(&self) -> &Db {
        &self.db
    }

    /// The live table named `name`: its catalog entry and items keyspace.
    pub fn live_table(&self, name: &str) -> Result<Arc<Table>> {
        self.tables
            .read()
            .get(name)
            .cloned()
            .ok_or_else(|| TableError::table_not_found(name))
    }

    /// The live table with creation id `id`, if any.
    pub(crate) fn live_table_by_id(&self, id: u64) -> Option<Arc<Table>> {
        self.tables
            .read()
            .values()
            .find(|t| t.meta.id == id)
            .cloned()
    }
}

impl Database {
    /// CreateTable.
    pub fn create_table(&self, input: CreateTableInput) -> Result<CreateTableOutput> {
        let name = check_table_name(input.table_name.as_deref(), "tableName")?.to_owned();
        let definitions = input.attribute_definitions.clone().unwrap_or_default();
        let key = check_key_schema(&input, &definitions)?;
        let (billing_mode, read_units, write_units) = check_billing(&input)?;
        let indexes = table_indexes(&input, &definitions, &key, &billing_mode)?;
        let streams = match &input.stream_specification {
            Some(spec) => match new_stream(spec)? {
                Some(info) => vec![info],
                None => Vec::new(),
            },
            None => Vec::new(),
        };
        let _ddl = self.ddl.lock();
        if self.tables.read().contains_key(&name) {
            return Err(TableError::ResourceInUse(format!(
                "Table already exists: {name}"
            )));
        }
        let id = self.next_id.fetch_add(1, Ordering::SeqCst);
        let meta = StoredTable {
            name: name.clone(),
            id,
            key,
            attribute_definitions: definitions,
            created: now(),
            billing_mode,
            read_units,
            write_units,
            deletion_protection: input.deletion_protection_enabled.unwrap_or(false),
            streams,
            tags: check_tags(input.tags.as_deref().unwrap_or_default())?,
            named_by_id: true,
            next_index_id: indexes.len() as u64 + 1,
            indexes,
        };
        let items = self.db.keyspace(&meta.keyspace_name())?;
        let table = Table::open(&self.db, meta, items, &self.options)?;
        let meta = &table.meta;
        let mut batch = strata_engine::WriteBatch::new();
        batch.put_in(&self.catalog, NEXT_ID, (id + 1).to_string());
        batch.put_in(
            &self.catalog,
            format!("{TABLE_PREFIX}{name}"),
            serde_json::to_vec(&meta).map_err(|e| TableError::Internal(e.to_string()))?,
        );
        self.db.write(batch, WriteOptions::new().sync(true))?;
        let description = meta.describe("ACTIVE", 0, 0, &|_| (0, 0));
        self.tables.write().insert(name, Arc::new(table));
        Ok(CreateTableOutput {
            table_description: Some(description),
        })
    }

    /// DescribeTable.
    pub fn describe_table(&self, input: TableNameInput) -> Result<DescribeTableOutput> {
        let name = check_table_name(input.table_name.as_deref(), "tableName")?;
        let table = self.live_table(name)?;
        Ok(DescribeTableOutput {
            table: Some(table.describe("ACTIVE")?),
        })
    }

    /// ListTables: names in order, paginated.
    pub fn list_tables(&self, input: ListTablesInput) -> Result<ListTablesOutput> {
        let limit = input.limit.unwrap_or(100);
        if !(1..=100).contains(&limit) {
            return Err(TableError::constraints(vec![violation(
                Some(&limit.to_string()),
                "limit",
                if limit < 1 {
                    "Member must have value greater than or equal to 1"
                } else {
                    "Member must have value less than or equal to 100"
                },
            )]));
        }
        if let Some(start) = &input.exclusive_start_table_name {
            check_table_name(Some(start), "exclusiveStartTableName")?;
        }
        let tables = self.tables.read();
        let names: Vec<String> = tables
            .keys()
            .filter(|n| {
                input
                    .exclusive_start_table_name
                    .as_ref()
                    .is_none_or(|s| n.as_str() > s.as_str())
            })
            .take(limit as usize + 1)
            .cloned()
            .collect();
        let more = names.len() > limit as usize;
        let page: Vec<String> = names.into_iter().take(limit as usize).collect();
        Ok(ListTablesOutput {
            last_evaluated_table_name: if more { page.last().cloned() } else { None },
            table_names: Some(page),
        })
    }

    /// DeleteTable.
    pub fn delete_table(&self, input: TableNameInput) -> Result<DeleteTableOutput> {
        let name = check_table_name(input.table_name.as_deref(), "tableName")?;
        let _ddl = self.ddl.lock();
        let table = self.live_table(name)?;
        if table.meta.deletion_protection {
            return Err(TableError::validation(
                "Resource cannot be deleted as it is currently protected against deletion. Disable deletion protection first.",
            ));
        }
        let description = table.describe("DELETING")?;
        let mut batch = strata_engine::WriteBatch::new();
        batch.delete_in(&self.catalog, format!("{TABLE_PREFIX}{name}"));
        for index in &table.meta.indexes {
            batch.delete_in(
                &self.catalog,
                crate::backfill::cursor_key(table.meta.id, index.id),
            );
        }
        self.db.write(batch, WriteOptions::new().sync(true))?;
        self.tables.write().remove(name);
        self.db.drop_keyspace(&table.meta.keyspace_name())?;
        for index in &table.meta.indexes {
            self.db.drop_keyspace(&index.keyspace_name(table.meta.id))?;
        }
        if table.collections.is_some() {
            self.db
                .drop_keyspace(&crate::index::collections_keyspace_name(table.meta.id))?;
        }
        Ok(DeleteTableOutput {
            table_description: Some(description),
        })
    }

    /// UpdateTable: billing mode, provisioned throughput and deletion protection.
    pub fn update_table(&self, input: UpdateTableInput) -> Result<UpdateTableOutput> {
        let name = check_table_name(input.table_name.as_deref(), "tableName")?;
        if let Some(spec) = &input.stream_specification {
            check_stream_disable(spec)?;
        }
        let _ddl = self.ddl.lock();
        let table = self.live_table(name)?;
        let mut meta = table.meta.clone();
        let index_change = match &input.global_secondary_index_updates {
            Some(updates) => crate::index_ddl::apply_gsi_updates(&mut meta, &input, updates)?,
            None => Default::default(),
        };
        let mut changed = index_change.changed;
        if let Some(spec) = &input.stream_specification {
            let enabled = meta.streams.last().filter(|s| s.enabled);
            match (spec.stream_enabled, enabled) {
                (Some(true), Some(current)) => {
                    return Err(TableError::validation(format!(
                        "Table already has an enabled stream: {}",
                        current.arn(&meta)
                    )))
                }
                (Some(false), None) => {
                    return Err(TableError::validation(
                        "Table does not have an enabled stream to disable",
                    ))
                }
                (Some(false), Some(_)) => {
                    if let Some(last) = meta.streams.last_mut() {
                        last.enabled = false;
                    }
                    changed = true;
                }
                _ => {
                    if let Some(info) = new_stream(spec)? {
                        meta.streams.push(info);
                        changed = true;
                    }
                }
            }
        }
        if let Some(mode) = &input.billing_mode {
            check_enum(mode, "billingMode", &["PROVISIONED", "PAY_PER_REQUEST"])?;
            changed |= *mode != meta.billing_mode;
            meta.billing_mode = mode.clone();
            if mode == "PAY_PER_REQUEST" {
                meta.read_units = 0;
                meta.write_units = 0;
                for index in &mut meta.indexes {
                    index.read_units = 0;
                    index.write_units = 0;
                }
            } else if let Some(t) = &input.provisioned_throughput {
                // GSIs switched to provisioned capacity get the table's unless told otherwise.
                let (r, w) = check_throughput(t)?;
                for index in meta
                    .indexes
                    .iter_mut()
                    .filter(|i| i.kind == crate::index::IndexKind::Global && i.read_units == 0)
                {
                    index.read_units = r;
                    index.write_units = w;
                }
            }
        }
        if let Some(t) = &input.provisioned_throughput {
            if meta.billing_mode == "PAY_PER_REQUEST" {
                return Err(TableError::invalid_parameter(
                    "Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST",
                ));
            }
            let (r, w) = check_throughput(t)?;
            changed |= (r, w) != (meta.read_units, meta.write_units);
            meta.read_units = r;
            meta.write_units = w;
        } else if meta.billing_mode == "PROVISIONED" && meta.read_units == 0 {
            return Err(TableError::invalid_parameter(
                "ProvisionedThroughput must be specified when BillingMode is PROVISIONED",
            ));
        }
        if let Some(p) = input.deletion_protection_enabled {
            changed |= p != meta.deletion_protection;
            meta.deletion_protection = p;
        }
        if !changed {
            return Err(TableError::validation(
                "The provisioned throughput for the table will not change. The requested value equals the current value. Current ReadCapacityUnits provisioned for the table: "
                    .to_owned()
                    + &format!(
                        "{}. Requested ReadCapacityUnits: {}. Current WriteCapacityUnits provisioned for the table: {}. Requested WriteCapacityUnits: {}. Refer to the Amazon DynamoDB Developer Guide for current limits and how to request higher limits.",
                        table.meta.read_units, meta.read_units, table.meta.write_units, meta.write_units
                    ),
            ));
        }
        let created = index_change.created;
        if let Some(id) = created {
            // No write is in flight while the gate is held: the table's emptiness now is
            // final for every write that does not maintain the new index.
            let _gate = self.gate.write();
            let occupied = table.items.iter().next().is_some();
            if let Some(i) = meta.indexes.iter_mut().find(|i| i.id == id) {
                i.backfilling = occupied;
            }
            self.publish(&table, meta)?;
        } else {
            self.store_meta(&table, meta)?;
        }
        let table = self.live_table(name)?;
        let mut description = table.describe("ACTIVE")?;
        if let Some(dropped) = &index_change.deleted {
            let mut gone = dropped.describe(&table.meta, 0, 0);
            gone.index_status = Some("DELETING".into());
            description
                .global_secondary_indexes
                .get_or_insert_with(Vec::new)
                .push(gone);
            self.db
                .drop_keyspace(&dropped.keyspace_name(table.meta.id))?;
            let mut batch = strata_engine::WriteBatch::new();
            batch.delete_in(
                &self.catalog,
                crate::backfill::cursor_key(table.meta.id, dropped.id),
            );
            self.db.write(batch, WriteOptions::new())?;
        }
        if let Some(id) = created {
            if table
                .indexes
                .iter()
                .any(|i| i.meta.id == id && i.meta.backfilling)
            {
                self.start_backfill(table.meta.id, id);
            }
        }
        Ok(UpdateTableOutput {
            table_description: Some(description),
        })
    }
}

impl Table {
    /// DescribeTable's view with `status`, item counts and sizes counted now.
    pub fn describe(&self, status: &str) -> Result<crate::model::TableDescription> {
        let (count, size) = self.count_and_size()?;
        let mut figures = std::collections::HashMap::new();
        for index in &self.indexes {
            figures.insert(index.meta.id, index.count_and_size()?);
        }
        Ok(self.meta.describe(status, count, size, &|i| {
            figures.get(&i.id).copied().unwrap_or((0, 0))
        }))
    }

    /// The secondary index named `name` (not the expiry index).
    pub fn index(&self, name: &str) -> Option<&crate::index::LiveIndex> {
        self.indexes
            .iter()
            .find(|i| i.meta.name == name && i.meta.kind != crate::index::IndexKind::Expiry)
    }

    /// Items and their bytes (DynamoDB's item sizes), counted now.
    pub fn count_and_size(&self) -> Result<(i64, i64)> {
        let (mut count, mut size) = (0i64, 0i64);
        for entry in self.items.iter() {
            let (_, value) = entry?;
            count += 1;
            let item = crate::codec::decode_item(&value).map_err(TableError::Internal)?;
            size += crate::value::item_size(&item) as i64;
        }
        Ok((count, size))
    }
}

/// Tags as a map, checked against DynamoDB's limits (keys 1..=128, values ≤ 256 characters,
/// at most 50).
fn check_tags(tags: &[crate::model::Tag]) -> Result<std::collections::BTreeMap<String, String>> {
    let mut out = std::collections::BTreeMap::new();
    for t in tags {
        let member = |v: &Option<String>, field: &str| {
            v.clone().ok_or_else(|| {
                TableError::constraints(vec![violation(None, field, "Member must not be null")])
            })
        };
        let key = member(&t.key, "tags.member.key")?;
        let value = member(&t.value, "tags.member.value")?;
        if key.is_empty() || key.chars().count() > 128 || value.chars().count() > 256 {
            return Err(TableError::validation(format!(
                "One or more parameter values were invalid: Invalid tag: key length must be 1 to 128 and value length at most 256 characters (key {key:?})"
            )));
        }
        out.insert(key, value);
    }
    if out.len() > 50 {
        return Err(TableError::validation(
            "One or more parameter values were invalid: The number of tags exceeds the limit of 50",
        ));
    }
    Ok(out)
}

impl Database {
    /// The table an ARN names.
    fn table_by_arn(&self, arn: &str) -> Result<Arc<Table>> {
        let prefix = format!("arn:aws:dynamodb:{}:000000000000:table/", crate::REGION);
        let name = arn
            .strip_prefix(&prefix)
            .filter(|n| !n.contains('/'))
            .ok_or_else(|| {
                TableError::validation(format!(
                    "Invalid TableArn: Invalid ResourceArn provided as input {arn}"
                ))
            })?;
        self.live_table(name).map_err(|_| {
            TableError::ResourceNotFound(format!(
                "Requested resource not found: ResourceArn: {arn} not found"
            ))
        })
    }

    /// TagResource.
    pub fn tag_resource(&self, arn: &str, tags: &[crate::model::Tag]) -> Result<()> {
        let _ddl = self.ddl.lock();
        let table = self.table_by_arn(arn)?;
        let mut meta = table.meta.clone();
        meta.tags.extend(check_tags(tags)?);
        if meta.tags.len() > 50 {
            return Err(TableError::validation(
                "One or more parameter values were invalid: The number of tags exceeds the limit of 50",
            ));
        }
        self.store_meta(&table, meta)
    }

    /// UntagResource.
    pub fn untag_resource(&self, arn: &str, keys: &[String]) -> Result<()> {
        let _ddl = self.ddl.lock();
        let table = self.table_by_arn(arn)?;
        let mut meta = table.meta.clone();
        for k in keys {
            meta.tags.remove(k);
        }
        self.store_meta(&table, meta)
    }

    /// ListTagsOfResource.
    pub fn list_tags_of_resource(&self, arn: &str) -> Result<Vec<crate::model::Tag>> {
        let table = self.table_by_arn(arn)?;
        Ok(table
            .meta
            .tags
            .iter()
            .map(|(k, v)| crate::model::Tag {
                key: Some(k.clone()),
                value: Some(v.clone()),
            })
            .collect())
    }
}

/// A StreamSpecification that disables (or asks for no) stream must not name a view type.
fn check_stream_disable(spec: &crate::model::StreamSpecification) -> Result<()> {
    if spec.stream_enabled == Some(false) && spec.stream_view_type.is_some() {
        return Err(TableError::validation(
            "Invalid StreamViewType: Stream StreamEnabled was false but a StreamViewType was present.",
        ));
    }
    Ok(())
}

/// The stream a StreamSpecification asks for (`None` when it asks for none).
fn new_stream(
    spec: &crate::model::StreamSpecification,
) -> Result<Option<crate::streams::StreamInfo>> {
    if let Some(view) = &spec.stream_view_type {
        check_enum(
            view,
            "streamSpecification.streamViewType",
            &["NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES", "KEYS_ONLY"],
        )?;
    }
    check_stream_disable(spec)?;
    match spec.stream_enabled {
        None => Err(TableError::constraints(vec![violation(
            None,
            "streamSpecification.streamEnabled",
            "Member must not be null",
        )])),
        Some(false) => Ok(None),
        Some(true) => {
            let view = spec.stream_view_type.clone().ok_or_else(|| {
                TableError::invalid_parameter(
                    "StreamSpecification: StreamViewType must be specified when StreamEnabled is true",
                )
            })?;
            let ms = now_ms();
            Ok(Some(crate::streams::StreamInfo {
                label: crate::streams::label(ms),
                view_type: view,
                enabled: true,
                created: ms as f64 / 1000.0,
                named_by_id: true,
            }))
        }
    }
}

/// Checks a table name: present, 3..=255 characters of `[a-zA-Z0-9_.-]`.
pub(crate) fn check_table_name<'a>(name: Option<&'a str>, field: &str) -> Result<&'a str> {
    let Some(name) = name else {
        return Err(TableError::constraints(vec![violation(
            None,
            field,
            "Member must not be null",
        )]));
    };
    let mut problems = Vec::new();
    if name.len() < 3 {
        problems.push(violation(
            Some(name),
            field,
            "Member must have length greater than or equal to 3",
        ));
    }
    if name.len() > 255 {
        problems.push(violation(
            Some(name),
            field,
            "Member must have length less than or equal to 255",
        ));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
    {
        problems.push(violation(
            Some(name),
            field,
            "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+",
        ));
    }
    if problems.is_empty() {
        Ok(name)
    } else {
        Err(TableError::constraints(problems))
    }
}

/// Checks an enumeration field.
pub(crate) fn check_enum(value: &str, field: &str, allowed: &[&str]) -> Result<()> {
    if allowed.contains(&value) {
        return Ok(());
    }
    Err(TableError::constraints(vec![violation(
        Some(value),
        field,
        &format!(
            "Member must satisfy enum value set: [{}]",
            allowed.join(", ")
        ),
    )]))
}

fn check_key_schema(input: &CreateTableInput, defs: &[AttributeDefinition]) -> Result<KeySchema> {
    let mut problems = Vec::new();
    let Some(schema) = &input.key_schema else {
        return Err(TableError::constraints(vec![violation(
            None,
            "keySchema",
            "Member must not be null",
        )]));
    };
    if input.attribute_definitions.is_none() {
        problems.push(violation(
            None,
            "attributeDefinitions",
            "Member must not be null",
        ));
    }
    if schema.is_empty() || schema.len() > 2 {
        problems.push(violation(
            Some(&format!("{schema:?}")),
            "keySchema",
            if schema.is_empty() {
                "Member must have length greater than or equal to 1"
            } else {
                "Member must have length less than or equal to 2"
            },
        ));
    }
    for (i, d) in defs.iter().enumerate() {
        match &d.attribute_type {
            None => problems.push(violation(
                None,
                &format!("attributeDefinitions.{}.member.attributeType", i + 1),
                "Member must not be null",
            )),
            Some(t) if !["S", "N", "B"].contains(&t.as_str()) => problems.push(violation(
                Some(t),
                &format!("attributeDefinitions.{}.member.attributeType", i + 1),
                "Member must satisfy enum value set: [B, N, S]",
            )),
            _ => {}
        }
        if d.attribute_name.is_none() {
            problems.push(violation(
                None,
                &format!("attributeDefinitions.{}.member.attributeName", i + 1),
                "Member must not be null",
            ));
        }
    }
    for (i, k) in schema.iter().enumerate() {
        match &k.key_type {
            None => problems.push(violation(
                None,
                &format!("keySchema.{}.member.keyType", i + 1),
                "Member must not be null",
            )),
            Some(t) if !["HASH", "RANGE"].contains(&t.as_str()) => problems.push(violation(
                Some(t),
                &format!("keySchema.{}.member.keyType", i + 1),
                "Member must satisfy enum value set: [HASH, RANGE]",
            )),
            _ => {}
        }
        if k.attribute_name.is_none() {
            problems.push(violation(
                None,
                &format!("keySchema.{}.member.attributeName", i + 1),
                "Member must not be null",
            ));
        }
    }
    if !problems.is_empty() {
        return Err(TableError::constraints(problems));
    }
    let def_names: Vec<&str> = defs
        .iter()
        .filter_map(|d| d.attribute_name.as_deref())
        .collect();
    let key_names: Vec<&str> = schema
        .iter()
        .filter_map(|k| k.attribute_name.as_deref())
        .collect();
    let mut seen = std::collections::HashSet::new();
    if let Some(dup) = def_names.iter().find(|n| !seen.insert(**n)) {
        return Err(TableError::invalid_parameter(format!(
            "Duplicate AttributeName in AttributeDefinitions: {dup}"
        )));
    }
    if key_names.len() > def_names.len() {
        return Err(TableError::validation(
            "Invalid KeySchema: Some index key attribute have no definition",
        ));
    }
    if key_names.iter().any(|k| !def_names.contains(k)) {
        return Err(TableError::invalid_parameter(format!(
            "Some index key attributes are not defined in AttributeDefinitions. Keys: [{}], AttributeDefinitions: [{}]",
            key_names.join(", "),
            def_names.join(", ")
        )));
    }
    if key_names.len() == 2 && key_names[0] == key_names[1] {
        return Err(TableError::validation(
            "Both the Hash Key and the Range Key element in the KeySchema have the same name",
        ));
    }
    if schema[0].key_type.as_deref() != Some("HASH") {
        return Err(TableError::validation(
            "Invalid KeySchema: The first KeySchemaElement is not a HASH key type",
        ));
    }
    if schema.len() == 2 && schema[1].key_type.as_deref() != Some("RANGE") {
        return Err(TableError::validation(
            "Invalid KeySchema: The second KeySchemaElement is not a RANGE key type",
        ));
    }
    if input.local_secondary_indexes.is_none()
        && input.global_secondary_indexes.is_none()
        && key_names.len() != def_names.len()
    {
        return Err(TableError::invalid_parameter(
            "Number of attributes in KeySchema does not exactly match number of attributes defined in AttributeDefinitions",
        ));
    }
    let attr = |name: &str| KeyAttribute {
        name: name.to_owned(),
        ty: defs
            .iter()
            .find(|d| d.attribute_name.as_deref() == Some(name))
            .and_then(|d| d.attribute_type.clone())
            .unwrap_or_default(),
    };
    Ok(KeySchema {
        partition: attr(key_names[0]),
        sort: key_names.get(1).map(|n| attr(n)),
    })
}

pub(crate) fn check_throughput(t: &crate::model::ProvisionedThroughput) -> Result<(i64, i64)> {
    let mut problems = Vec::new();
    for (v, field) in [
        (
            t.read_capacity_units,
            "provisionedThroughput.readCapacityUnits",
        ),
        (
            t.write_capacity_units,
            "provisionedThroughput.writeCapacityUnits",
        ),
    ] {
        match v {
            None => problems.push(violation(None, field, "Member must not be null")),
            Some(v) if v < 1 => problems.push(violation(
                Some(&v.to_string()),
                field,
                "Member must have value greater than or equal to 1",
            )),
            _ => {}
        }
    }
    if !problems.is_empty() {
        return Err(TableError::constraints(problems));
    }
    let (r, w) = (
        t.read_capacity_units.unwrap_or(1),
        t.write_capacity_units.unwrap_or(1),
    );
    for (v, what) in [(r, "ReadCapacityUnits"), (w, "WriteCapacityUnits")] {
        if v > 1_000_000_000_000 {
            return Err(TableError::validation(format!(
                "Given value {v} for {what} is out of bounds"
            )));
        }
    }
    Ok((r, w))
}

/// The LSIs and GSIs a CreateTable request declares, checked.
fn table_indexes(
    input: &CreateTableInput,
    defs: &[AttributeDefinition],
    key: &KeySchema,
    billing: &str,
) -> Result<Vec<crate::index::StoredIndex>> {
    use crate::index::IndexKind;
    let mut indexes = Vec::new();
    for (kind, list, field) in [
        (
            IndexKind::Local,
            &input.local_secondary_indexes,
            "localSecondaryIndexes",
        ),
        (
            IndexKind::Global,
            &input.global_secondary_indexes,
            "globalSecondaryIndexes",
        ),
    ] {
        let Some(list) = list else { continue };
        if list.is_empty() {
            return Err(TableError::invalid_parameter(format!(
                "List of {} is empty",
                if kind == IndexKind::Local {
                    "LocalSecondaryIndexes"
                } else {
                    "GlobalSecondaryIndexes"
                }
            )));
        }
        for (i, spec) in list.iter().enumerate() {
            let id = indexes.len() as u64 + 1;
            indexes.push(crate::index_ddl::parse_index(
                spec,
                kind,
                defs,
                key,
                billing,
                &format!("{field}.{}.member", i + 1),
                id,
            )?);
        }
    }
    if !indexes.is_empty() {
        crate::index_ddl::check_index_set(key, &indexes, defs)?;
    }
    Ok(indexes)
}

fn check_billing(input: &CreateTableInput) -> Result<(String, i64, i64)> {
    let mode = input.billing_mode.as_deref().unwrap_or("PROVISIONED");
    check_enum(mode, "billingMode", &["PROVISIONED", "PAY_PER_REQUEST"])?;
    if mode == "PAY_PER_REQUEST" {
        if input.provisioned_throughput.is_some() {
            return Err(TableError::invalid_parameter(
                "Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST",
            ));
        }
        return Ok((mode.to_owned(), 0, 0));
    }
    let Some(t) = &input.provisioned_throughput else {
        return Err(TableError::invalid_parameter(
            "ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED",
        ));
    };
    let (r, w) = check_throughput(t)?;
    Ok((mode.to_owned(), r, w))
}
