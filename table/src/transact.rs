//! TransactWriteItems and TransactGetItems, on the engine's serializable transactions.
//!
//! TransactWriteItems validates every action first (malformed requests are a
//! `ValidationException`), then in one engine transaction reads every item, evaluates each
//! condition and update, and — if all pass — writes them all atomically. Failed conditions
//! cancel the transaction with one reason per action, in order. When the commit loses to a
//! concurrent write, the transaction is cancelled with `TransactionConflict` on the items that
//! changed underneath it, as DynamoDB reports contention (no silent retry: the client
//! decides). A `ClientRequestToken` makes the call idempotent for ten minutes.

use crate::capacity::{self, Report};
use crate::catalog::{Database, Table};
use crate::codec;
use crate::error::missing;
use crate::error::{violation, CancellationReason, Result, TableError};
use crate::eval;
use crate::expr::{Condition, UpdateExpr};
use crate::exprs::Exprs;
use crate::items::{check_condition, check_item, project, return_on_failure, table_for};
use crate::model::{
    ConsumedCapacity, ItemResponse, TransactGetItemsInput, TransactGetItemsOutput,
    TransactWriteItemsInput, TransactWriteItemsOutput, Values,
};
use crate::value::{item_size, Item};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The most actions in one transaction.
const MAX_ACTIONS: usize = 100;
/// How long a ClientRequestToken is remembered.
const TOKEN_LIFETIME: Duration = Duration::from_secs(600);

/// What a remembered ClientRequestToken stands for.
pub(crate) struct TokenEntry {
    /// A fingerprint of the request it came with.
    fingerprint: String,
    /// When it was first used.
    at: Instant,
    /// Still running.
    in_progress: bool,
}

/// Remembered ClientRequestTokens.
pub(crate) type Tokens = parking_lot::Mutex<HashMap<String, TokenEntry>>;

enum Kind {
    Check,
    Put(Item),
    Delete,
    Update { update: UpdateExpr, key: Item },
}

/// What an action's expressions parse to, before its table is looked up.
struct Parsed {
    condition: Option<Condition>,
    update: Option<UpdateExpr>,
    values: Values,
    return_on_failure: bool,
}

struct Action {
    table: Arc<Table>,
    key: Vec<u8>,
    kind: Kind,
    condition: Option<Condition>,
    values: Values,
    return_on_failure: bool,
}

/// Checks the number of actions of a transaction.
fn check_count(n: usize) -> Result<()> {
    if n == 0 || n > MAX_ACTIONS {
        return Err(TableError::constraints(vec![violation(
            Some(&format!("[{n} items]")),
            "transactItems",
            if n == 0 {
                "Member must have length greater than or equal to 1"
            } else {
                "Member must have length less than or equal to 100"
            },
        )]));
    }
    Ok(())
}

impl Database {
    /// The request's own checks of one action, before any table is looked up: which action
    /// it is and its expressions (DynamoDB reports these ahead of a missing table).
    fn parse_expressions(item: &crate::model::TransactWriteItem) -> Result<Parsed> {
        let present = [
            item.condition_check.is_some(),
            item.put.is_some(),
            item.delete.is_some(),
            item.update.is_some(),
        ]
        .iter()
        .filter(|x| **x)
        .count();
        if present != 1 {
            return Err(TableError::validation(
                "TransactItems can only contain one of Check, Put, Update or Delete",
            ));
        }
        let conditional = |names, values, text: Option<&str>, on_failure: Option<&str>| {
            let mut exprs =
                Exprs::new(names, values, "ConditionExpression is null", text.is_some())?;
            let condition = exprs.condition(text)?;
            exprs.finish()?;
            Ok(Parsed {
                condition,
                update: None,
                values: exprs.values().clone(),
                return_on_failure: return_on_failure(on_failure)?,
            })
        };
        if let Some(c) = &item.condition_check {
            let text = c
                .condition_expression
                .as_deref()
                .ok_or_else(|| missing("conditionExpression"))?;
            return conditional(
                c.expression_attribute_names.as_ref(),
                c.expression_attribute_values.as_ref(),
                Some(text),
                c.return_values_on_condition_check_failure.as_deref(),
            );
        }
        if let Some(p) = &item.put {
            return conditional(
                p.expression_attribute_names.as_ref(),
                p.expression_attribute_values.as_ref(),
                p.condition_expression.as_deref(),
                p.return_values_on_condition_check_failure.as_deref(),
            );
        }
        if let Some(d) = &item.delete {
            return conditional(
                d.expression_attribute_names.as_ref(),
                d.expression_attribute_values.as_ref(),
                d.condition_expression.as_deref(),
                d.return_values_on_condition_check_failure.as_deref(),
            );
        }
        let u = item.update.as_ref().ok_or_else(|| missing("update"))?;
        let text = u
            .update_expression
            .as_deref()
            .ok_or_else(|| missing("updateExpression"))?;
        let mut exprs = Exprs::new(
            u.expression_attribute_names.as_ref(),
            u.expression_attribute_values.as_ref(),
            "UpdateExpression and ConditionExpression are null",
            true,
        )?;
        let update = exprs.update(Some(text))?;
        let condition = exprs.condition(u.condition_expression.as_deref())?;
        exprs.finish()?;
        Ok(Parsed {
            condition,
            update,
            values: exprs.values().clone(),
            return_on_failure: return_on_failure(
                u.return_values_on_condition_check_failure.as_deref(),
            )?,
        })
    }

    /// One action against its table, from its parsed expressions.
    fn parse_action(
        &self,
        item: &crate::model::TransactWriteItem,
        parsed: Parsed,
    ) -> Result<Action> {
        let Parsed {
            condition,
            update,
            values,
            return_on_failure,
        } = parsed;
        let action = |table, key, kind| Action {
            table,
            key,
            kind,
            condition,
            values,
            return_on_failure,
        };
        if let Some(c) = &item.condition_check {
            let table = table_for(self, c.table_name.as_deref())?;
            let key = table
                .meta
                .key
                .key_of(c.key.as_ref().ok_or_else(|| missing("key"))?)?;
            return Ok(action(table, key, Kind::Check));
        }
        if let Some(p) = &item.put {
            let table = table_for(self, p.table_name.as_deref())?;
            let new = p.item.clone().ok_or_else(|| missing("item"))?;
            let key = table.meta.key.item_key(&new)?;
            check_item(&new)?;
            return Ok(action(table, key, Kind::Put(new)));
        }
        if let Some(d) = &item.delete {
            let table = table_for(self, d.table_name.as_deref())?;
            let key = table
                .meta
                .key
                .key_of(d.key.as_ref().ok_or_else(|| missing("key"))?)?;
            return Ok(action(table, key, Kind::Delete));
        }
        let u = item.update.as_ref().ok_or_else(|| missing("update"))?;
        let table = table_for(self, u.table_name.as_deref())?;
        let key_attrs = u.key.clone().ok_or_else(|| missing("key"))?;
        let key = table.meta.key.key_of(&key_attrs)?;
        let update = update.unwrap_or_default();
        for path in eval::updated_paths(&update) {
            if table.meta.key.is_key(path.top_level()) {
                return Err(TableError::invalid_parameter(format!(
                    "Cannot update attribute {}. This attribute is part of the key",
                    path.top_level()
                )));
            }
        }
        Ok(action(
            table,
            key,
            Kind::Update {
                update,
                key: key_attrs,
            },
        ))
    }

    /// TransactWriteItems.
    pub fn transact_write_items(
        &self,
        input: TransactWriteItemsInput,
    ) -> Result<TransactWriteItemsOutput> {
        // Held until the write commits: see `Core::gate`.
        let _gate = self.gate.read_recursive();
        let report = Report::parse(input.return_consumed_capacity.as_deref())?;
        let metrics =
            crate::items::collection_metrics(input.return_item_collection_metrics.as_deref())?;
        let items = input
            .transact_items
            .as_ref()
            .ok_or_else(|| missing("transactItems"))?;
        check_count(items.len())?;
        let token = match &input.client_request_token {
            Some(t) => {
                if t.is_empty() || t.len() > 36 {
                    return Err(TableError::constraints(vec![violation(
                        Some(t),
                        "clientRequestToken",
                        if t.is_empty() {
                            "Member must have length greater than or equal to 1"
                        } else {
                            "Member must have length less than or equal to 36"
                        },
                    )]));
                }
                let fingerprint = serde_json::to_string(&input.transact_items)
                    .map_err(|e| TableError::Internal(e.to_string()))?;
                let mut tokens = self.tokens().lock();
                tokens.retain(|_, e| e.at.elapsed() < TOKEN_LIFETIME);
                match tokens.get(t) {
                    Some(e) if e.fingerprint != fingerprint => {
                        return Err(TableError::IdempotentParameterMismatch(
                            "The request uses the same client token as a previous, but non-identical request.".into(),
                        ))
                    }
                    Some(e) if e.in_progress => {
                        return Err(TableError::TransactionInProgress(
                            "The transaction with the given request token is already in progress.".into(),
                        ))
                    }
                    Some(_) => return Ok(TransactWriteItemsOutput::default()),
                    None => {
                        tokens.insert(
                            t.clone(),
                            TokenEntry {
                                fingerprint,
                                at: Instant::now(),
                                in_progress: true,
                            },
                        );
                    }
                }
                Some(t.clone())
            }
            None => None,
        };
        let result = self.run_transaction(items, report, metrics);
        if let Some(t) = token {
            let mut tokens = self.tokens().lock();
            if result.is_ok() {
                if let Some(e) = tokens.get_mut(&t) {
                    e.in_progress = false;
                }
            } else {
                tokens.remove(&t);
            }
        }
        result
    }

    fn run_transaction(
        &self,
        items: &[crate::model::TransactWriteItem],
        report: Report,
        metrics: bool,
    ) -> Result<TransactWriteItemsOutput> {
        // Every action's own checks first, then the tables.
        let parsed = items
            .iter()
            .map(Database::parse_expressions)
            .collect::<Result<Vec<_>>>()?;
        let actions = items
            .iter()
            .zip(parsed)
            .map(|(i, p)| self.parse_action(i, p))
            .collect::<Result<Vec<_>>>()?;
        let mut seen = HashSet::new();
        for a in &actions {
            if !seen.insert((a.table.meta.id, a.key.clone())) {
                return Err(TableError::validation(
                    "Transaction request cannot include multiple operations on one item",
                ));
            }
        }
        // One appender per stream, held from before the reads until the commit returns.
        let mut appenders: Vec<(u64, strata_streams::Appender<'_>)> = Vec::new();
        for a in &actions {
            if let Some(s) = &a.table.stream {
                if !appenders.iter().any(|(id, _)| *id == a.table.meta.id) {
                    if let Some(ap) = crate::streams::appender(s)? {
                        appenders.push((a.table.meta.id, ap));
                    }
                }
            }
        }
        let mut t = self.engine().transaction();
        let mut decoded_olds: Vec<Option<Item>> = Vec::with_capacity(actions.len());
        let mut reasons = Vec::with_capacity(actions.len());
        let mut writes: Vec<Option<Option<Item>>> = Vec::with_capacity(actions.len());
        let mut olds = Vec::with_capacity(actions.len());
        let mut capacity: Vec<ConsumedCapacity> = Vec::new();
        for a in &actions {
            let raw = t.get(&a.table.items, &a.key)?;
            let old = match &raw {
                Some(b) => Some(codec::decode_item(b).map_err(TableError::Internal)?),
                None => None,
            };
            olds.push(raw);
            decoded_olds.push(old.clone());
            // A put's index keys are checked before its condition, as DynamoDB checks them.
            let valid = match &a.kind {
                Kind::Put(item) => crate::index::check_item(&a.table.indexes, item),
                _ => Ok(()),
            };
            let decided = valid
                .and_then(|()| {
                    check_condition(
                        a.condition.as_ref(),
                        &a.values,
                        old.as_ref(),
                        a.return_on_failure,
                    )
                })
                .and_then(|()| -> Result<Option<Option<Item>>> {
                    Ok(match &a.kind {
                        Kind::Check => None,
                        Kind::Put(item) => Some(Some(item.clone())),
                        Kind::Delete => Some(None),
                        Kind::Update { update, key } => {
                            let mut new = old.clone().unwrap_or_else(|| key.clone());
                            eval::apply_update(update, &mut new, &a.values)?;
                            check_item(&new)?;
                            crate::index::check_item(&a.table.indexes, &new)?;
                            Some(Some(new))
                        }
                    })
                });
            let size = old.as_ref().map_or(0, item_size);
            match decided {
                Ok(w) => {
                    let new_size = w.as_ref().and_then(|n| n.as_ref()).map_or(0, item_size);
                    let units = match &a.kind {
                        Kind::Check => capacity::read_units(size, true) * 2.0,
                        _ => capacity::write_units(size.max(new_size)) * 2.0,
                    };
                    capacity::add(
                        &mut capacity,
                        report.consumed(&a.table.meta.name, units, matches!(a.kind, Kind::Check)),
                    );
                    reasons.push(CancellationReason {
                        code: "None".into(),
                        ..Default::default()
                    });
                    writes.push(w);
                }
                Err(TableError::ConditionalCheckFailed { item }) => {
                    reasons.push(CancellationReason {
                        code: "ConditionalCheckFailed".into(),
                        message: Some("The conditional request failed".into()),
                        item,
                    });
                    writes.push(None);
                }
                Err(TableError::Validation(m)) => {
                    reasons.push(CancellationReason {
                        code: "ValidationError".into(),
                        message: Some(m),
                        item: None,
                    });
                    writes.push(None);
                }
                Err(e) => return Err(e),
            }
        }
        if reasons.iter().any(|r| r.code != "None") {
            return Err(TableError::TransactionCanceled { reasons });
        }
        let mut collections = Vec::new();
        for ((a, w), old) in actions.iter().zip(&writes).zip(&decoded_olds) {
            let Some(new) = w else { continue };
            match new {
                Some(item) => t.put(&a.table.items, &a.key, codec::encode_item(item)),
                None => t.delete(&a.table.items, &a.key),
            }
            let collection =
                crate::index::maintain(&mut t, &a.table, &a.key, old.as_ref(), new.as_ref())?;
            if let Some((k, size)) = collection {
                collections.push((a.table.meta.name.clone(), k, size));
            }
            if let Some(stream) = &a.table.stream {
                if let Some((_, ap)) = appenders.iter().find(|(id, _)| *id == a.table.meta.id) {
                    crate::streams::append_change(
                        stream,
                        ap,
                        &mut t,
                        &a.table.meta.key,
                        old.as_ref(),
                        new.as_ref(),
                        false,
                    )?;
                }
            }
        }
        let committed = t.commit_with(self.write_options());
        drop(appenders);
        match committed {
            Ok(_) => Ok(TransactWriteItemsOutput {
                consumed_capacity: (report != Report::None).then_some(capacity),
                item_collection_metrics: metrics.then(|| crate::batch::collection_map(collections)),
            }),
            Err(e) if e.is_conflict() => {
                // Report contention on the items that changed since they were read.
                let snapshot = self.engine().snapshot();
                let mut reasons = Vec::with_capacity(actions.len());
                for (a, old) in actions.iter().zip(&olds) {
                    let now = snapshot.get(&a.table.items, &a.key)?;
                    let changed = now.as_deref() != old.as_deref();
                    reasons.push(CancellationReason {
                        code: if changed {
                            "TransactionConflict"
                        } else {
                            "None"
                        }
                        .into(),
                        message: changed.then(|| "Transaction is ongoing for the item".to_owned()),
                        item: None,
                    });
                }
                if reasons.iter().all(|r| r.code == "None") {
                    if let Some(first) = reasons.first_mut() {
                        first.code = "TransactionConflict".into();
                        first.message = Some("Transaction is ongoing for the item".into());
                    }
                }
                Err(TableError::TransactionCanceled { reasons })
            }
            Err(e) => Err(e.into()),
        }
    }

    /// TransactGetItems: every read at one snapshot.
    pub fn transact_get_items(
        &self,
        input: TransactGetItemsInput,
    ) -> Result<TransactGetItemsOutput> {
        let report = Report::parse(input.return_consumed_capacity.as_deref())?;
        let items = input
            .transact_items
            .as_ref()
            .ok_or_else(|| missing("transactItems"))?;
        check_count(items.len())?;
        let mut plans = Vec::with_capacity(items.len());
        let mut seen = HashSet::new();
        for i in items {
            let g = i.get.as_ref().ok_or_else(|| missing("get"))?;
            let table = table_for(self, g.table_name.as_deref())?;
            let key = table
                .meta
                .key
                .key_of(g.key.as_ref().ok_or_else(|| missing("key"))?)?;
            let mut exprs = Exprs::new(
                g.expression_attribute_names.as_ref(),
                None,
                "ProjectionExpression is null",
                g.projection_expression.is_some(),
            )?;
            let projection = exprs.projection(g.projection_expression.as_deref())?;
            exprs.finish()?;
            if !seen.insert((table.meta.id, key.clone())) {
                return Err(TableError::validation(
                    "Transaction request cannot include multiple operations on one item",
                ));
            }
            plans.push((table, key, projection));
        }
        let snapshot = self.engine().snapshot();
        let mut responses = Vec::with_capacity(plans.len());
        let mut capacity = Vec::new();
        for (table, key, projection) in plans {
            let item = match snapshot.get(&table.items, &key)? {
                Some(b) => Some(codec::decode_item(&b).map_err(TableError::Internal)?),
                None => None,
            }
            .filter(|i| !self.hidden(&table, i));
            let size = item.as_ref().map_or(0, item_size);
            capacity::add(
                &mut capacity,
                report.consumed(
                    &table.meta.name,
                    capacity::read_units(size, true) * 2.0,
                    true,
                ),
            );
            responses.push(ItemResponse {
                item: item.map(|i| project(i, projection.as_ref())),
            });
        }
        Ok(TransactGetItemsOutput {
            responses: Some(responses),
            consumed_capacity: (report != Report::None).then_some(capacity),
        })
    }
}
