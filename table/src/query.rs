//! Query and Scan.

use crate::capacity::{self, Report};
use crate::catalog::{check_enum, Database, Table};
use crate::error::{violation, Result, TableError};
use crate::eval::Evaluator;
use crate::expr::{Condition, KeyComparison, ProjectionExpr};
use crate::exprs::{mixed, Exprs};
use crate::index::{IndexKind, LiveIndex, Projected};
use crate::items::{project, table_for};
use crate::model::{QueryInput, QueryOutput, ScanInput, Values};
use crate::read::{self, PageSpec, SortCondition};
use crate::schema::KeySchema;
use crate::stored::ReadOutput;
use crate::value::{AttributeValue, Item};

/// What Select asks for.
#[derive(PartialEq, Eq)]
enum Select {
    All,
    /// An index's entries as they are (the default for indexes).
    AllProjected,
    Specific,
    Count,
}

fn select(select: Option<&str>, has_projection: bool, index: bool) -> Result<Select> {
    let Some(s) = select else {
        return Ok(if has_projection {
            Select::Specific
        } else if index {
            Select::AllProjected
        } else {
            Select::All
        });
    };
    check_enum(
        s,
        "select",
        &[
            "SPECIFIC_ATTRIBUTES",
            "COUNT",
            "ALL_ATTRIBUTES",
            "ALL_PROJECTED_ATTRIBUTES",
        ],
    )?;
    match s {
        "ALL_PROJECTED_ATTRIBUTES" if !index => Err(TableError::validation(
            "One or more parameter values were invalid: Select type ALL_PROJECTED_ATTRIBUTES is supported only for index queries; use ALL_ATTRIBUTES instead",
        )),
        "SPECIFIC_ATTRIBUTES" if !has_projection => Err(TableError::validation(
            "One or more parameter values were invalid: Select type SPECIFIC_ATTRIBUTES requires AttributesToGet or ProjectionExpression",
        )),
        "COUNT" | "ALL_ATTRIBUTES" | "ALL_PROJECTED_ATTRIBUTES" if has_projection => {
            Err(TableError::validation(format!(
                "Cannot specify the ProjectionExpression when choosing to get {s}"
            )))
        }
        "COUNT" => Ok(Select::Count),
        "SPECIFIC_ATTRIBUTES" => Ok(Select::Specific),
        "ALL_PROJECTED_ATTRIBUTES" => Ok(Select::AllProjected),
        _ => Ok(Select::All),
    }
}

fn limit(limit: Option<i64>) -> Result<Option<usize>> {
    match limit {
        Some(l) if l < 1 => Err(TableError::constraints(vec![violation(
            Some(&l.to_string()),
            "limit",
            "Member must have value greater than or equal to 1",
        )])),
        Some(l) => Ok(Some(usize::try_from(l).unwrap_or(usize::MAX))),
        None => Ok(None),
    }
}

/// The engine key to resume after, from `ExclusiveStartKey`.
fn start_key(key: &KeySchema, start: Option<&Item>) -> Result<Option<Vec<u8>>> {
    let Some(start) = start else { return Ok(None) };
    key.key_of(start).map(Some).map_err(|_| {
        TableError::validation(
            "The provided starting key is invalid: The provided key element does not match the schema",
        )
    })
}

/// Checks that a Query's `ExclusiveStartKey` lies inside its key condition, as DynamoDB
/// does: a start key whose sort key fails the sort-key condition "does not match the range
/// key predicate"; one in another partition is "outside query boundaries". (The wording is
/// DynamoDB's as dynalite records it; DynamoDB Local says "does not match the range key
/// predicate" for both.)
fn start_within(
    key: &KeySchema,
    engine_key: &[u8],
    start: &Item,
    partition: &AttributeValue,
    sort: &SortCondition,
) -> Result<()> {
    if *sort != SortCondition::Any {
        if let Some(start_partition) = start.get(&key.partition.name) {
            if !read::contains(&read::query_range(start_partition, sort), engine_key) {
                return Err(TableError::validation(
                    "The provided starting key does not match the range key predicate",
                ));
            }
        }
    }
    if !engine_key.starts_with(&crate::codec::partition_prefix(partition)) {
        return Err(TableError::validation(
            "The provided starting key is outside query boundaries based on provided conditions",
        ));
    }
    Ok(())
}

/// The filter, projection and paging shared by Query and Scan.
struct Reading {
    filter: Option<Condition>,
    projection: Option<ProjectionExpr>,
    values: Values,
    select: Select,
    /// Reading an LSI that does not hold every attribute asked for: each entry's item is
    /// read from the table (as DynamoDB fetches it).
    fetch: bool,
    /// Scanning an LSI with a filter on attributes it does not hold: the filter reads the
    /// table's item, the answer is still the entry.
    filter_on_table: bool,
}

impl Reading {
    /// From the legacy parameters: `QueryFilter`/`ScanFilter`, `AttributesToGet`.
    fn legacy(
        filter: Option<&std::collections::BTreeMap<String, crate::model::Condition>>,
        operator: Option<&str>,
        attributes_to_get: Option<&Vec<String>>,
    ) -> Result<Reading> {
        let mut values = Values::new();
        let filter = match filter {
            Some(f) => crate::legacy::filter(f, operator, &mut values)?,
            None => None,
        };
        let projection = attributes_to_get
            .map(|a| crate::legacy::attributes_to_get(a))
            .transpose()?;
        Ok(Reading {
            filter,
            projection,
            values,
            select: Select::All,
            fetch: false,
            filter_on_table: false,
        })
    }

    /// From the expressions (the key condition, if any, already parsed into `exprs`).
    fn expressions(
        mut exprs: Exprs,
        filter: Option<&str>,
        projection: Option<&str>,
    ) -> Result<Reading> {
        let filter = exprs.filter(filter)?;
        let projection = exprs.projection(projection)?;
        exprs.finish()?;
        Ok(Reading {
            filter,
            projection,
            values: exprs.values().clone(),
            select: Select::All,
            fetch: false,
            filter_on_table: false,
        })
    }

    /// Checks `Select` against the projection and applies it; on an index, also against
    /// what the index holds: a GSI answers only from its entries (asking for more is an
    /// error), an LSI fetches the rest from the table.
    fn selecting(
        mut self,
        param: Option<&str>,
        table: &Table,
        index: Option<&LiveIndex>,
        query: bool,
    ) -> Result<Reading> {
        self.select = select(param, self.projection.is_some(), index.is_some())?;
        let Some(index) = index else { return Ok(self) };
        let meta = &index.meta;
        let global = meta.kind == IndexKind::Global;
        let projects = |name: &str| meta.projects(&table.meta.key, name);
        if self.select == Select::All && meta.projection != Projected::All {
            if global {
                return Err(TableError::invalid_parameter(format!(
                    "Select type ALL_ATTRIBUTES is not supported for global secondary index {} because its projection type is not ALL",
                    meta.name
                )));
            }
            self.fetch = true;
        }
        if let Some(p) = &self.projection {
            if let Some(missing) = p.paths.iter().map(|p| p.top_level()).find(|n| !projects(n)) {
                if global {
                    return Err(TableError::invalid_parameter(format!(
                        "Global secondary index {} does not project the attribute {missing}; a query or scan of a global secondary index can only request attributes projected into the index",
                        meta.name
                    )));
                }
                self.fetch = true;
            }
        }
        if let Some(f) = &self.filter {
            let missing: Vec<&str> = condition_paths(f)
                .iter()
                .map(|p| p.top_level())
                .filter(|n| !projects(n))
                .collect();
            if !missing.is_empty() {
                if query {
                    let mut names = missing;
                    names.sort_unstable();
                    names.dedup();
                    return Err(TableError::invalid_parameter(format!(
                        "Secondary index {} does not project one or more filter attributes: [{}]",
                        meta.name,
                        names.join(", ")
                    )));
                }
                // A Scan of an LSI filters on the table's item, returning what it asked for.
                self.filter_on_table = !global;
            }
        }
        Ok(self)
    }
}

/// The index a Query or Scan names, checked: it exists, it is not being backfilled, and
/// ConsistentRead is not asked of a GSI.
fn index_of<'t>(
    table: &'t Table,
    name: Option<&str>,
    consistent: bool,
) -> Result<Option<&'t LiveIndex>> {
    let Some(name) = name else { return Ok(None) };
    crate::catalog::check_table_name(Some(name), "indexName")?;
    let index = table.index(name).ok_or_else(|| {
        TableError::validation(format!(
            "The table does not have the specified index: {name}"
        ))
    })?;
    if index.meta.kind == IndexKind::Global && consistent {
        return Err(TableError::validation(
            "Consistent reads are not supported on global secondary indexes",
        ));
    }
    if index.meta.backfilling {
        return Err(TableError::validation(format!(
            "Cannot read from backfilling global secondary index: {name}"
        )));
    }
    Ok(Some(index))
}

/// Where and how much one Query or Scan page reads.
struct Window {
    range: read::KeyRange,
    limit: Option<usize>,
    reverse: bool,
    start_after: Option<Vec<u8>>,
    report: Report,
    consistent: bool,
    /// Items may stay in their stored encoding (the caller serializes them).
    keep_stored: bool,
}

impl Reading {
    fn run(
        &self,
        table: &Table,
        index: Option<&LiveIndex>,
        db: &Database,
        w: Window,
    ) -> Result<ReadOutput> {
        let Window {
            range,
            limit,
            reverse,
            start_after,
            report,
            consistent,
            keep_stored,
        } = w;
        let ev = Evaluator {
            values: &self.values,
            kind: "FilterExpression",
        };
        let snapshot = db.engine().snapshot();
        let filter = |item: &Item| match &self.filter {
            Some(f) if self.filter_on_table => {
                // The entry holds the table key: the filter reads the table's item.
                let base = table
                    .meta
                    .key
                    .key_of(&table.meta.key.key_attributes(item))?;
                match snapshot.get(&table.items, base)? {
                    Some(bytes) => {
                        let full = crate::codec::decode_item(&bytes).map_err(|e| {
                            TableError::Internal(format!("an item is damaged: {e}"))
                        })?;
                        ev.condition(f, Some(&full))
                    }
                    None => ev.condition(f, Some(item)),
                }
            }
            Some(f) => ev.condition(f, Some(item)),
            None => Ok(true),
        };
        let projector = |item: &Item| project(item.clone(), self.projection.as_ref());
        let last_key = |key: &[u8]| match index {
            Some(i) => i.meta.last_evaluated_key(&table.meta.key, key),
            None => table.meta.key.decode_key(key),
        };
        // The table item behind an index entry.
        let base_item = |key: &[u8]| -> Result<Option<Item>> {
            let Some(i) = index else { return Ok(None) };
            let (_, base) = i.meta.split_entry_key(key)?;
            match snapshot.get(&table.items, base)? {
                Some(bytes) => crate::codec::decode_item(&bytes)
                    .map(Some)
                    .map_err(|e| TableError::Internal(format!("an item is damaged: {e}"))),
                None => Ok(None),
            }
        };
        let ttl = db.hides_expired(table);
        let load = |key: &[u8], entry: Item| -> Result<Option<Item>> {
            let item = match (self.fetch, index) {
                (true, Some(_)) => base_item(key)?.unwrap_or(entry),
                _ => entry,
            };
            if let Some((attribute, now)) = &ttl {
                let expired = if item.contains_key(attribute) || index.is_none() {
                    crate::ttl::expired(&item, attribute, *now)
                } else {
                    base_item(key)?.is_some_and(|b| crate::ttl::expired(&b, attribute, *now))
                };
                if expired {
                    return Ok(None);
                }
            }
            Ok(Some(item))
        };
        let spec = PageSpec {
            last_key: &last_key,
            load: (self.fetch || ttl.is_some()).then_some(&load as &read::Loader<'_>),
            limit,
            reverse,
            start_after,
            filter: self.filter.as_ref().map(|_| &filter as &read::Filter<'_>),
            project: self
                .projection
                .as_ref()
                .map(|_| &projector as &dyn Fn(&Item) -> Item),
            count_only: self.select == Select::Count,
            keep_stored,
        };
        let keyspace = index.map_or(&table.items, |i| &i.entries);
        let page = read::read_page(keyspace, &snapshot, range, &spec)?;
        let count = page.items.len() as i64;
        Ok(ReadOutput {
            items: (self.select != Select::Count).then_some(page.items),
            count,
            scanned_count: page.scanned as i64,
            last_evaluated_key: page.last_evaluated_key,
            consumed_capacity: report.consumed(
                &table.meta.name,
                capacity::read_units(page.bytes, consistent),
                true,
            ),
        })
    }
}

fn value_of<'a>(values: &'a Values, v: &crate::expr::ValueRef) -> Result<&'a AttributeValue> {
    values.get(v.as_str()).ok_or_else(|| {
        TableError::validation(format!(
            "An expression attribute value used in expression is not defined; attribute value: {}",
            v.as_str()
        ))
    })
}

/// Checks a key condition value's type against the key attribute's.
fn key_value(values: &Values, v: &crate::expr::ValueRef, ty: &str) -> Result<AttributeValue> {
    let value = value_of(values, v)?;
    if value.type_name() != ty {
        return Err(TableError::invalid_parameter(
            "Condition parameter type does not match schema type",
        ));
    }
    Ok(value.clone())
}

impl Database {
    /// Query.
    pub fn query(&self, input: QueryInput) -> Result<QueryOutput> {
        self.query_with(input, false)?.into_output()
    }

    /// Query, answering with items left in their stored encoding where nothing needed them
    /// decoded (no filter or projection): the same answer as [`Database::query`], for a
    /// caller that serializes it (as the server does) rather than uses the items.
    ///
    /// Stored items share the bytes they were read from: a table block, or an arena chunk
    /// of a memtable (up to 1 MiB), which stays in memory while any item read from it is
    /// held, even after the memtable is flushed. Hold the answer briefly; decode what is kept
    /// ([`crate::stored::ReadItem::into_item`]).
    pub fn query_stored(&self, input: QueryInput) -> Result<ReadOutput> {
        self.query_with(input, true)
    }

    fn query_with(&self, input: QueryInput, keep_stored: bool) -> Result<ReadOutput> {
        let table = table_for(self, input.table_name.as_deref())?;
        let index = index_of(
            &table,
            input.index_name.as_deref(),
            input.consistent_read.unwrap_or(false),
        )?;
        let report = Report::parse(input.return_consumed_capacity.as_deref())?;
        let limit = limit(input.limit)?;
        let legacy = input.key_conditions.is_some()
            || input.query_filter.is_some()
            || input.attributes_to_get.is_some();
        mixed(
            &[
                ("AttributesToGet", input.attributes_to_get.is_some()),
                ("KeyConditions", input.key_conditions.is_some()),
                ("QueryFilter", input.query_filter.is_some()),
            ],
            &[
                ("FilterExpression", input.filter_expression.is_some()),
                (
                    "KeyConditionExpression",
                    input.key_condition_expression.is_some(),
                ),
                (
                    "ProjectionExpression",
                    input.projection_expression.is_some(),
                ),
            ],
        )?;
        let key = index.map_or(&table.meta.key, |i| &i.meta.key);
        let (partition, sort, reading) = if legacy {
            Exprs::new(
                input.expression_attribute_names.as_ref(),
                input.expression_attribute_values.as_ref(),
                "FilterExpression and KeyConditionExpression are null",
                false,
            )?;
            let conditions = input.key_conditions.as_ref().ok_or_else(|| {
                TableError::validation(
                    "Either the KeyConditions or KeyConditionExpression parameter must be specified in the request.",
                )
            })?;
            let (partition, sort) = legacy_key_conditions(key, conditions)?;
            if let Some(name) = input
                .query_filter
                .iter()
                .flat_map(|f| f.keys())
                .find(|n| key.is_key(n))
            {
                return Err(TableError::validation(format!(
                    "QueryFilter can only contain non-primary key attributes: Primary key attribute: {name}"
                )));
            }
            let reading = Reading::legacy(
                input.query_filter.as_ref(),
                input.conditional_operator.as_deref(),
                input.attributes_to_get.as_ref(),
            )?
            .selecting(input.select.as_deref(), &table, index, true)?;
            (partition, sort, reading)
        } else {
            let text = input.key_condition_expression.as_deref().ok_or_else(|| {
                TableError::validation(
                    "Either the KeyConditions or KeyConditionExpression parameter must be specified in the request.",
                )
            })?;
            let mut exprs = Exprs::new(
                input.expression_attribute_names.as_ref(),
                input.expression_attribute_values.as_ref(),
                "KeyConditionExpression is null",
                true,
            )?;
            let kc = exprs.key_condition(text)?;
            let reading = Reading::expressions(
                exprs,
                input.filter_expression.as_deref(),
                input.projection_expression.as_deref(),
            )?;
            let kq = kc
                .resolve(
                    &key.partition.name,
                    key.sort.as_ref().map(|s| s.name.as_str()),
                )
                .map_err(|e| TableError::Validation(e.into_message()))?;
            let partition = key_value(&reading.values, &kq.partition_value, &key.partition.ty)?;
            let sort = match (&kq.sort, &key.sort) {
                (Some(c), Some(sk)) => sort_condition(&c.comparison, &reading.values, &sk.ty)?,
                _ => SortCondition::Any,
            };
            if let Some(f) = &reading.filter {
                reject_key_in_filter(f, key)?;
            }
            (
                partition,
                sort,
                reading.selecting(input.select.as_deref(), &table, index, true)?,
            )
        };
        let (range, start) = match index {
            None => {
                let start = start_key(key, input.exclusive_start_key.as_ref())?;
                if let (Some(engine_key), Some(item)) = (&start, &input.exclusive_start_key) {
                    start_within(key, engine_key, item, &partition, &sort)?;
                }
                (read::query_range(&partition, &sort), start)
            }
            Some(i) => {
                let range = crate::index::query_range(&partition, &sort);
                let start = input
                    .exclusive_start_key
                    .as_ref()
                    .map(|s| i.meta.start_key(&table.meta.key, s))
                    .transpose()?;
                if let Some(engine_key) = &start {
                    if !engine_key.starts_with(&crate::codec::partition_prefix(&partition)) {
                        return Err(TableError::validation(
                            "The provided starting key is outside query boundaries based on provided conditions",
                        ));
                    }
                    if !read::contains(&range, engine_key) {
                        return Err(TableError::validation(
                            "The provided starting key does not match the range key predicate",
                        ));
                    }
                }
                (range, start)
            }
        };
        reading.run(
            &table,
            index,
            self,
            Window {
                range,
                limit,
                reverse: input.scan_index_forward == Some(false),
                start_after: start,
                report,
                consistent: input.consistent_read.unwrap_or(false),
                keep_stored,
            },
        )
    }

    /// Scan (optionally one segment of a parallel scan).
    pub fn scan(&self, input: ScanInput) -> Result<QueryOutput> {
        self.scan_with(input, false)?.into_output()
    }

    /// Scan, answering with items left in their stored encoding where nothing needed them
    /// decoded, as [`Database::query_stored`].
    pub fn scan_stored(&self, input: ScanInput) -> Result<ReadOutput> {
        self.scan_with(input, true)
    }

    fn scan_with(&self, input: ScanInput, keep_stored: bool) -> Result<ReadOutput> {
        let table = table_for(self, input.table_name.as_deref())?;
        let index = index_of(
            &table,
            input.index_name.as_deref(),
            input.consistent_read.unwrap_or(false),
        )?;
        let report = Report::parse(input.return_consumed_capacity.as_deref())?;
        let limit = limit(input.limit)?;
        let range = match (input.segment, input.total_segments) {
            (None, None) => (std::ops::Bound::Unbounded, std::ops::Bound::Unbounded),
            (Some(_), None) => {
                return Err(TableError::validation(
                    "The TotalSegments parameter is required but was not present in the request when Segment parameter is present",
                ))
            }
            (None, Some(_)) => {
                return Err(TableError::validation(
                    "The Segment parameter is required but was not present in the request when parameter TotalSegments is present",
                ))
            }
            (Some(segment), Some(total)) => {
                let mut problems = Vec::new();
                if segment < 0 {
                    problems.push(violation(Some(&segment.to_string()), "segment", "Member must have value greater than or equal to 0"));
                }
                if total < 1 {
                    problems.push(violation(Some(&total.to_string()), "totalSegments", "Member must have value greater than or equal to 1"));
                }
                if total > 1_000_000 {
                    problems.push(violation(Some(&total.to_string()), "totalSegments", "Member must have value less than or equal to 1000000"));
                }
                if !problems.is_empty() {
                    return Err(TableError::constraints(problems));
                }
                if segment >= total {
                    return Err(TableError::validation(format!(
                        "The Segment parameter is zero-based and must be less than parameter TotalSegments: Segment: {segment} is not less than TotalSegments: {total}"
                    )));
                }
                read::segment_range(segment as u32, total as u32)
            }
        };
        let legacy = input.scan_filter.is_some() || input.attributes_to_get.is_some();
        let modern = input.filter_expression.is_some() || input.projection_expression.is_some();
        mixed(
            &[
                ("AttributesToGet", input.attributes_to_get.is_some()),
                ("ScanFilter", input.scan_filter.is_some()),
            ],
            &[
                ("FilterExpression", input.filter_expression.is_some()),
                (
                    "ProjectionExpression",
                    input.projection_expression.is_some(),
                ),
            ],
        )?;
        let reading = if legacy {
            Exprs::new(
                input.expression_attribute_names.as_ref(),
                input.expression_attribute_values.as_ref(),
                "FilterExpression is null",
                false,
            )?;
            Reading::legacy(
                input.scan_filter.as_ref(),
                input.conditional_operator.as_deref(),
                input.attributes_to_get.as_ref(),
            )?
            .selecting(input.select.as_deref(), &table, index, false)?
        } else {
            let exprs = Exprs::new(
                input.expression_attribute_names.as_ref(),
                input.expression_attribute_values.as_ref(),
                "FilterExpression is null",
                modern,
            )?;
            Reading::expressions(
                exprs,
                input.filter_expression.as_deref(),
                input.projection_expression.as_deref(),
            )?
            .selecting(input.select.as_deref(), &table, index, false)?
        };
        let start = match index {
            None => start_key(&table.meta.key, input.exclusive_start_key.as_ref())?,
            Some(i) => input
                .exclusive_start_key
                .as_ref()
                .map(|s| i.meta.start_key(&table.meta.key, s))
                .transpose()?,
        };
        reading.run(
            &table,
            index,
            self,
            Window {
                range,
                limit,
                reverse: false,
                start_after: start,
                report,
                consistent: input.consistent_read.unwrap_or(false),
                keep_stored,
            },
        )
    }
}

fn sort_condition(c: &KeyComparison, values: &Values, ty: &str) -> Result<SortCondition> {
    let v = |r: &crate::expr::ValueRef| key_value(values, r, ty);
    Ok(match c {
        KeyComparison::Eq(x) => SortCondition::Eq(v(x)?),
        KeyComparison::Lt(x) => SortCondition::Lt(v(x)?),
        KeyComparison::Le(x) => SortCondition::Le(v(x)?),
        KeyComparison::Gt(x) => SortCondition::Gt(v(x)?),
        KeyComparison::Ge(x) => SortCondition::Ge(v(x)?),
        KeyComparison::Between(a, b) => {
            let (a, b) = (v(a)?, v(b)?);
            if crate::doc::order(&a, &b) == Some(std::cmp::Ordering::Greater) {
                return Err(TableError::validation(format!(
                    "Invalid KeyConditionExpression: The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower bound operand: AttributeValue: {}, upper bound operand: AttributeValue: {}",
                    crate::eval::brief(&a),
                    crate::eval::brief(&b)
                )));
            }
            SortCondition::Between(a, b)
        }
        KeyComparison::BeginsWith(x) => {
            if ty == "N" {
                return Err(TableError::validation(
                    "Invalid KeyConditionExpression: Incorrect operand type for operator or function; operator or function: begins_with, operand type: N",
                ));
            }
            SortCondition::BeginsWith(v(x)?)
        }
    })
}

/// DynamoDB refuses filters on key attributes in Query.
fn reject_key_in_filter(c: &Condition, key: &KeySchema) -> Result<()> {
    if let Some(p) = condition_paths(c)
        .into_iter()
        .find(|p| key.is_key(p.top_level()))
    {
        return Err(TableError::validation(format!(
            "Filter Expression can only contain non-primary key attributes: Primary key attribute: {}",
            p.top_level()
        )));
    }
    Ok(())
}

/// Every attribute path a condition reads.
fn condition_paths(c: &Condition) -> Vec<&crate::expr::Path> {
    let mut out = Vec::new();
    let mut stack = vec![c];
    while let Some(c) = stack.pop() {
        match c {
            Condition::Not(a) => stack.push(a),
            Condition::And(a, b) | Condition::Or(a, b) => {
                stack.push(a);
                stack.push(b);
            }
            Condition::AttributeExists(p) | Condition::AttributeNotExists(p) => out.push(p),
            Condition::AttributeType { path, .. } => out.push(path),
            Condition::Compare { left, right, .. } => out.extend(operand_paths(&[left, right])),
            Condition::Between {
                operand,
                lower,
                upper,
            } => out.extend(operand_paths(&[operand, lower, upper])),
            Condition::In { operand, list } => {
                let mut ops = vec![operand];
                ops.extend(list.iter());
                out.extend(operand_paths(&ops));
            }
            Condition::BeginsWith { operand, prefix } => {
                out.extend(operand_paths(&[operand, prefix]))
            }
            Condition::Contains { operand, value } => out.extend(operand_paths(&[operand, value])),
        }
    }
    out
}

fn operand_paths<'a>(ops: &[&'a crate::expr::Operand]) -> Vec<&'a crate::expr::Path> {
    let mut out = Vec::new();
    let mut stack: Vec<&crate::expr::Operand> = ops.to_vec();
    while let Some(op) = stack.pop() {
        match op {
            crate::expr::Operand::Path(p) => out.push(p),
            crate::expr::Operand::Size(inner) => stack.push(inner),
            crate::expr::Operand::Value(_) => {}
        }
    }
    out
}

/// Legacy `KeyConditions`: EQ on the partition key, one comparison on the sort key.
fn legacy_key_conditions(
    key: &KeySchema,
    conditions: &std::collections::BTreeMap<String, crate::model::Condition>,
) -> Result<(AttributeValue, SortCondition)> {
    let bad = || TableError::validation("Query key condition not supported");
    let mut partition = None;
    let mut sort = SortCondition::Any;
    for (name, c) in conditions {
        let op = c.comparison_operator.as_deref().unwrap_or("");
        let args = c.attribute_value_list.clone().unwrap_or_default();
        let check = |v: &AttributeValue, ty: &str| -> Result<AttributeValue> {
            if v.type_name() != ty {
                return Err(TableError::invalid_parameter(
                    "Condition parameter type does not match schema type",
                ));
            }
            Ok(v.clone())
        };
        if *name == key.partition.name {
            if op != "EQ" || args.len() != 1 {
                return Err(bad());
            }
            partition = Some(check(&args[0], &key.partition.ty)?);
        } else if let Some(sk) = key.sort.as_ref().filter(|s| s.name == *name) {
            crate::legacy::check_values(op, &args)?;
            let one = || -> Result<AttributeValue> {
                match args.as_slice() {
                    [v] => check(v, &sk.ty),
                    _ => Err(TableError::invalid_parameter(format!(
                        "Invalid number of argument(s) for the {op} ComparisonOperator"
                    ))),
                }
            };
            sort = match op {
                "EQ" => SortCondition::Eq(one()?),
                "LT" => SortCondition::Lt(one()?),
                "LE" => SortCondition::Le(one()?),
                "GT" => SortCondition::Gt(one()?),
                "GE" => SortCondition::Ge(one()?),
                "BEGINS_WITH" => SortCondition::BeginsWith(one()?),
                "BETWEEN" => match args.as_slice() {
                    [a, b] => SortCondition::Between(check(a, &sk.ty)?, check(b, &sk.ty)?),
                    _ => {
                        return Err(TableError::invalid_parameter(
                            "Invalid number of argument(s) for the BETWEEN ComparisonOperator",
                        ))
                    }
                },
                _ => return Err(bad()),
            };
        } else {
            return Err(bad());
        }
    }
    let partition = partition.ok_or_else(|| {
        TableError::validation(format!(
            "Query condition missed key schema element: {}",
            key.partition.name
        ))
    })?;
    Ok((partition, sort))
}
