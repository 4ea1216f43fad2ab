//! PutItem, GetItem, UpdateItem and DeleteItem.

use crate::capacity::{self, Report};
use crate::catalog::{check_table_name, Database, Table};
use crate::doc;
use crate::error::{violation, Result, TableError};
use crate::eval::{self, Evaluator};
use crate::expr::{Condition, ProjectionExpr, UpdateExpr};
use crate::exprs::{mixed, Exprs};
use crate::model::{
    DeleteItemInput, GetItemInput, GetItemOutput, PutItemInput, UpdateItemInput, WriteItemOutput,
};
use crate::schema::MAX_ITEM_SIZE;
use crate::value::{item_size, Item, MAX_NESTING};
use crate::write::{write_item, Decision};
use std::sync::Arc;

/// The table named in an item request.
pub(crate) fn table_for(db: &Database, name: Option<&str>) -> Result<Arc<Table>> {
    let name = check_table_name(name, "tableName")?;
    db.live_table(name)
        .map_err(|_| TableError::ResourceNotFound("Requested resource not found".into()))
}

fn required<'a, T>(v: Option<&'a T>, field: &str) -> Result<&'a T> {
    v.ok_or_else(|| crate::error::missing(field))
}

/// Checks a whole item against DynamoDB's limits.
pub(crate) fn check_item(item: &Item) -> Result<()> {
    if item_size(item) > MAX_ITEM_SIZE {
        return Err(TableError::validation(
            "Item size has exceeded the maximum allowed size",
        ));
    }
    if item.values().any(|v| v.depth() > MAX_NESTING) {
        return Err(TableError::validation(format!(
            "Nesting Levels have exceeded supported limits: Attribute values may be nested at most {MAX_NESTING} levels deep"
        )));
    }
    if item.keys().any(String::is_empty) {
        return Err(TableError::invalid_parameter(
            "An attribute name may not be empty",
        ));
    }
    Ok(())
}

/// `ReturnValues` of PutItem and DeleteItem: `NONE` or `ALL_OLD`.
fn return_old(v: Option<&str>) -> Result<bool> {
    match v {
        None | Some("NONE") => Ok(false),
        Some("ALL_OLD") => Ok(true),
        Some(other) if ["UPDATED_OLD", "ALL_NEW", "UPDATED_NEW"].contains(&other) => Err(
            TableError::validation("Return values set to invalid value"),
        ),
        Some(other) => Err(TableError::constraints(vec![violation(
            Some(other),
            "returnValues",
            "Member must satisfy enum value set: [ALL_NEW, UPDATED_OLD, ALL_OLD, NONE, UPDATED_NEW]",
        )])),
    }
}

/// `ReturnItemCollectionMetrics`: whether to report the item collection written (`SIZE`).
pub(crate) fn collection_metrics(v: Option<&str>) -> Result<bool> {
    let v = v.unwrap_or("NONE");
    crate::catalog::check_enum(v, "returnItemCollectionMetrics", &["SIZE", "NONE"])?;
    Ok(v == "SIZE")
}

/// The `ItemCollectionMetrics` of a write, when asked for and the table has collections.
pub(crate) fn metrics_of(
    asked: bool,
    written: Option<(Item, u64)>,
) -> Option<crate::model::ItemCollectionMetrics> {
    let (key, size) = written.filter(|_| asked)?;
    Some(crate::model::ItemCollectionMetrics::of(key, size))
}

/// `ReturnValuesOnConditionCheckFailure`: whether a failed condition returns the item.
pub(crate) fn return_on_failure(v: Option<&str>) -> Result<bool> {
    match v {
        None | Some("NONE") => Ok(false),
        Some("ALL_OLD") => Ok(true),
        Some(other) => Err(TableError::constraints(vec![violation(
            Some(other),
            "returnValuesOnConditionCheckFailure",
            "Member must satisfy enum value set: [ALL_OLD, NONE]",
        )])),
    }
}

/// A condition check before a write: fails with ConditionalCheckFailed (carrying the item
/// if asked).
pub(crate) fn check_condition(
    condition: Option<&Condition>,
    values: &crate::model::Values,
    old: Option<&Item>,
    return_item: bool,
) -> Result<()> {
    let Some(c) = condition else { return Ok(()) };
    let ev = Evaluator {
        values,
        kind: "ConditionExpression",
    };
    if ev.condition(c, old)? {
        Ok(())
    } else {
        Err(TableError::ConditionalCheckFailed {
            item: if return_item { old.cloned() } else { None },
        })
    }
}

/// Applies a projection (if any) to an item.
pub(crate) fn project(item: Item, projection: Option<&ProjectionExpr>) -> Item {
    match projection {
        None => item,
        Some(p) => {
            let paths: Vec<Vec<doc::Step>> = p.paths.iter().map(eval::steps).collect();
            doc::project(&item, &paths)
        }
    }
}

/// The condition parameters of PutItem and DeleteItem, legacy or expression.
struct WriteCondition<'a> {
    expected: Option<&'a std::collections::BTreeMap<String, crate::model::ExpectedAttributeValue>>,
    conditional_operator: Option<&'a str>,
    expression: Option<&'a str>,
    names: Option<&'a crate::model::Names>,
    values: Option<&'a crate::model::Values>,
}

/// The condition a write must meet (if any) and the values it uses.
fn write_condition(c: WriteCondition<'_>) -> Result<(Option<Condition>, crate::model::Values)> {
    mixed(
        &[("Expected", c.expected.is_some())],
        &[("ConditionExpression", c.expression.is_some())],
    )?;
    match c.expected {
        Some(expected) => {
            Exprs::new(c.names, c.values, "ConditionExpression is null", false)?;
            crate::legacy::expected(expected, c.conditional_operator)
        }
        None => {
            let mut exprs = Exprs::new(
                c.names,
                c.values,
                "ConditionExpression is null",
                c.expression.is_some(),
            )?;
            let condition = exprs.condition(c.expression)?;
            exprs.finish()?;
            Ok((condition, exprs.values().clone()))
        }
    }
}

impl Database {
    /// PutItem.
    pub fn put_item(&self, input: PutItemInput) -> Result<WriteItemOutput> {
        // Held until the write commits: see `Core::gate`.
        let _gate = self.gate.read_recursive();
        let table = table_for(self, input.table_name.as_deref())?;
        let item = required(input.item.as_ref(), "item")?.clone();
        let key = table.meta.key.item_key(&item)?;
        check_item(&item)?;
        // Index key types are checked before the condition, as DynamoDB checks them.
        crate::index::check_item(&table.indexes, &item)?;
        let want_old = return_old(input.return_values.as_deref())?;
        let on_failure =
            return_on_failure(input.return_values_on_condition_check_failure.as_deref())?;
        let report = Report::parse(input.return_consumed_capacity.as_deref())?;
        let metrics = collection_metrics(input.return_item_collection_metrics.as_deref())?;
        let (condition, values) = write_condition(WriteCondition {
            expected: input.expected.as_ref(),
            conditional_operator: input.conditional_operator.as_deref(),
            expression: input.condition_expression.as_deref(),
            names: input.expression_attribute_names.as_ref(),
            values: input.expression_attribute_values.as_ref(),
        })?;
        let new_size = item_size(&item);
        if condition.is_none()
            && !want_old
            && report == Report::None
            && !crate::write::table_needs_old_image(&table)
        {
            crate::write::put_blind(self.engine(), self.write_options(), &table, &key, &item)?;
            return Ok(WriteItemOutput {
                attributes: None,
                consumed_capacity: None,
                item_collection_metrics: None,
            });
        }
        let written = write_item(self.engine(), self.write_options(), &table, &key, |old| {
            check_condition(condition.as_ref(), &values, old, on_failure)?;
            Ok(Decision::Put(item.clone()))
        })?;
        let old_size = written.old.as_ref().map_or(0, item_size);
        Ok(WriteItemOutput {
            item_collection_metrics: metrics_of(metrics, written.collection),
            attributes: if want_old { written.old } else { None },
            consumed_capacity: report.consumed(
                &table.meta.name,
                capacity::write_units(old_size.max(new_size)),
                false,
            ),
        })
    }

    /// GetItem.
    pub fn get_item(&self, input: GetItemInput) -> Result<GetItemOutput> {
        let table = table_for(self, input.table_name.as_deref())?;
        let key_attrs = required(input.key.as_ref(), "key")?;
        let key = table.meta.key.key_of(key_attrs)?;
        let report = Report::parse(input.return_consumed_capacity.as_deref())?;
        mixed(
            &[("AttributesToGet", input.attributes_to_get.is_some())],
            &[(
                "ProjectionExpression",
                input.projection_expression.is_some(),
            )],
        )?;
        let projection = match &input.attributes_to_get {
            Some(names) => {
                Exprs::new(
                    input.expression_attribute_names.as_ref(),
                    None,
                    "ProjectionExpression is null",
                    false,
                )?;
                Some(crate::legacy::attributes_to_get(names)?)
            }
            None => {
                let mut exprs = Exprs::new(
                    input.expression_attribute_names.as_ref(),
                    None,
                    "ProjectionExpression is null",
                    input.projection_expression.is_some(),
                )?;
                let p = exprs.projection(input.projection_expression.as_deref())?;
                exprs.finish()?;
                p
            }
        };
        let item = match table.items.get(&key)? {
            Some(bytes) => Some(
                crate::codec::decode_item(&bytes)
                    .map_err(|e| TableError::Internal(format!("an item is damaged: {e}")))?,
            ),
            None => None,
        }
        .filter(|i| !self.hidden(&table, i));
        let size = item.as_ref().map_or(0, item_size);
        Ok(GetItemOutput {
            item: item.map(|i| project(i, projection.as_ref())),
            consumed_capacity: report.consumed(
                &table.meta.name,
                capacity::read_units(size, input.consistent_read.unwrap_or(false)),
                true,
            ),
        })
    }

    /// DeleteItem.
    pub fn delete_item(&self, input: DeleteItemInput) -> Result<WriteItemOutput> {
        // Held until the write commits: see `Core::gate`.
        let _gate = self.gate.read_recursive();
        let table = table_for(self, input.table_name.as_deref())?;
        let key_attrs = required(input.key.as_ref(), "key")?;
        let key = table.meta.key.key_of(key_attrs)?;
        let want_old = return_old(input.return_values.as_deref())?;
        let on_failure =
            return_on_failure(input.return_values_on_condition_check_failure.as_deref())?;
        let report = Report::parse(input.return_consumed_capacity.as_deref())?;
        let metrics = collection_metrics(input.return_item_collection_metrics.as_deref())?;
        let (condition, values) = write_condition(WriteCondition {
            expected: input.expected.as_ref(),
            conditional_operator: input.conditional_operator.as_deref(),
            expression: input.condition_expression.as_deref(),
            names: input.expression_attribute_names.as_ref(),
            values: input.expression_attribute_values.as_ref(),
        })?;
        let written = write_item(self.engine(), self.write_options(), &table, &key, |old| {
            check_condition(condition.as_ref(), &values, old, on_failure)?;
            Ok(if old.is_some() {
                Decision::Delete
            } else {
                Decision::Nothing
            })
        })?;
        let old_size = written.old.as_ref().map_or(0, item_size);
        Ok(WriteItemOutput {
            item_collection_metrics: metrics_of(metrics, written.collection),
            attributes: if want_old { written.old } else { None },
            consumed_capacity: report.consumed(
                &table.meta.name,
                capacity::write_units(old_size),
                false,
            ),
        })
    }

    /// UpdateItem: creates the item if it does not exist.
    pub fn update_item(&self, input: UpdateItemInput) -> Result<WriteItemOutput> {
        // Held until the write commits: see `Core::gate`.
        let _gate = self.gate.read_recursive();
        let table = table_for(self, input.table_name.as_deref())?;
        let key_attrs = required(input.key.as_ref(), "key")?.clone();
        let key = table.meta.key.key_of(&key_attrs)?;
        let returns = input.return_values.as_deref().unwrap_or("NONE");
        crate::catalog::check_enum(
            returns,
            "returnValues",
            &["ALL_NEW", "UPDATED_OLD", "ALL_OLD", "NONE", "UPDATED_NEW"],
        )?;
        let on_failure =
            return_on_failure(input.return_values_on_condition_check_failure.as_deref())?;
        let report = Report::parse(input.return_consumed_capacity.as_deref())?;
        let metrics = collection_metrics(input.return_item_collection_metrics.as_deref())?;
        mixed(
            &[
                ("AttributeUpdates", input.attribute_updates.is_some()),
                ("Expected", input.expected.is_some()),
            ],
            &[
                ("UpdateExpression", input.update_expression.is_some()),
                ("ConditionExpression", input.condition_expression.is_some()),
            ],
        )?;
        let (update, condition, values): (Option<UpdateExpr>, Option<Condition>, _) =
            if input.attribute_updates.is_some() || input.expected.is_some() {
                Exprs::new(
                    input.expression_attribute_names.as_ref(),
                    input.expression_attribute_values.as_ref(),
                    "UpdateExpression and ConditionExpression are null",
                    false,
                )?;
                let (c, mut values) = match &input.expected {
                    Some(e) => crate::legacy::expected(e, input.conditional_operator.as_deref())?,
                    None => (None, Default::default()),
                };
                let u = match &input.attribute_updates {
                    Some(u) => Some(crate::legacy::attribute_updates(u, &mut values)?),
                    None => None,
                };
                (u, c, values)
            } else {
                let mut exprs = Exprs::new(
                    input.expression_attribute_names.as_ref(),
                    input.expression_attribute_values.as_ref(),
                    "UpdateExpression and ConditionExpression are null",
                    input.update_expression.is_some() || input.condition_expression.is_some(),
                )?;
                let u = exprs.update(input.update_expression.as_deref())?;
                let c = exprs.condition(input.condition_expression.as_deref())?;
                exprs.finish()?;
                (u, c, exprs.values().clone())
            };
        if let Some(u) = &update {
            for path in eval::updated_paths(u) {
                if table.meta.key.is_key(path.top_level()) {
                    return Err(TableError::invalid_parameter(format!(
                        "Cannot update attribute {}. This attribute is part of the key",
                        path.top_level()
                    )));
                }
            }
        }
        let written = write_item(self.engine(), self.write_options(), &table, &key, |old| {
            check_condition(condition.as_ref(), &values, old, on_failure)?;
            let mut new = old.cloned().unwrap_or_else(|| key_attrs.clone());
            if let Some(u) = &update {
                eval::apply_update(u, &mut new, &values)?;
            }
            check_item(&new)?;
            Ok(Decision::Put(new))
        })?;
        let old_size = written.old.as_ref().map_or(0, item_size);
        let new_size = written.new.as_ref().map_or(0, item_size);
        let updated = |item: Option<Item>| -> Option<Item> {
            let item = item?;
            let paths: Vec<Vec<doc::Step>> = update
                .as_ref()
                .map(|u| {
                    eval::updated_paths(u)
                        .into_iter()
                        .map(eval::steps)
                        .collect()
                })
                .unwrap_or_default();
            let p = doc::project(&item, &paths);
            (!p.is_empty()).then_some(p)
        };
        let item_collection_metrics = metrics_of(metrics, written.collection.clone());
        let attributes = match returns {
            "ALL_OLD" => written.old,
            "ALL_NEW" => written.new,
            "UPDATED_OLD" => updated(written.old),
            "UPDATED_NEW" => updated(written.new),
            _ => None,
        };
        Ok(WriteItemOutput {
            attributes,
            item_collection_metrics,
            consumed_capacity: report.consumed(
                &table.meta.name,
                capacity::write_units(old_size.max(new_size)),
                false,
            ),
        })
    }
}
