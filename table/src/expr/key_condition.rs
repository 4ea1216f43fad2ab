//! `KeyConditionExpression`: a condition restricted to one equality on the partition
//! key and at most one of `=`, `<`, `<=`, `>`, `>=`, `BETWEEN`, `begins_with` on the
//! sort key, joined by `AND`.
//!
//! Validation happens in three steps, as in DynamoDB:
//! 1. [`parse_key_condition_expression`](super::parse_key_condition_expression)
//!    parses it with the condition grammar and its checks (syntax, placeholders,
//!    reserved words, operand types): errors are `Invalid KeyConditionExpression: ...`;
//! 2. [`KeyConditionExpr::conditions`] splits it into per-attribute conditions and
//!    rejects other shapes (`Invalid operator used in KeyConditionExpression: OR`,
//!    `KeyConditionExpressions must only contain one condition per key`, ...);
//! 3. [`KeyConditionExpr::resolve`] matches them against the key schema of the table
//!    or index queried (`Query condition missed key schema element: pk`, `Query key
//!    condition not supported`, ...).
//!
//! The key schema is only known to the caller, so step 3 takes the key attribute
//! names as parameters. Type checks that need the key's declared type or the values
//! (`Condition parameter type does not match schema type`, BETWEEN bounds) are the
//! caller's.

use super::ast::{Comparator, Condition, Operand, ValueRef};
use super::error::ExprError;

/// A parsed `KeyConditionExpression`, validated as a condition; see the module
/// documentation for the remaining steps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyConditionExpr {
    /// The expression as a condition tree.
    pub condition: Condition,
}

/// The comparison applied to one key attribute, normalized so that the key is on the
/// left (`:v < sk` becomes `sk > :v`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum KeyComparison {
    /// `key = :v`
    Eq(ValueRef),
    /// `key < :v`
    Lt(ValueRef),
    /// `key <= :v`
    Le(ValueRef),
    /// `key > :v`
    Gt(ValueRef),
    /// `key >= :v`
    Ge(ValueRef),
    /// `key BETWEEN :low AND :high`
    Between(ValueRef, ValueRef),
    /// `begins_with(key, :prefix)`
    BeginsWith(ValueRef),
}

/// A condition on one key attribute.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KeyCondition {
    /// The (resolved) attribute name.
    pub attribute: String,
    /// The comparison.
    pub comparison: KeyComparison,
}

/// A key condition matched against a key schema: what Query reads.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KeyQuery {
    /// The partition key attribute.
    pub partition_key: String,
    /// The value it must equal.
    pub partition_value: ValueRef,
    /// The condition on the sort key, if any.
    pub sort: Option<KeyCondition>,
}

fn invalid_operator(name: &str) -> ExprError {
    ExprError::new(format!(
        "Invalid operator used in KeyConditionExpression: {name}"
    ))
}

fn invalid_condition(detail: &str) -> ExprError {
    ExprError::new(format!(
        "Invalid condition in KeyConditionExpression: {detail}"
    ))
}

/// The operator name DynamoDB prints for a condition that is not a key comparison.
fn unsupported_operator(c: &Condition) -> Option<&'static str> {
    Some(match c {
        Condition::Or(..) => "OR",
        Condition::Not(_) => "NOT",
        Condition::In { .. } => "IN",
        Condition::Compare {
            op: Comparator::Ne, ..
        } => "<>",
        Condition::AttributeExists(_) => "attribute_exists",
        Condition::AttributeNotExists(_) => "attribute_not_exists",
        Condition::AttributeType { .. } => "attribute_type",
        Condition::Contains { .. } => "contains",
        _ => return None,
    })
}

/// Turns one comparison into a key condition.
fn leaf(c: &Condition) -> Result<KeyCondition, ExprError> {
    if let Some(name) = unsupported_operator(c) {
        return Err(invalid_operator(name));
    }
    enum Op {
        Cmp(Comparator),
        Between,
        BeginsWith,
    }
    let (mut op, children): (Op, Vec<&Operand>) = match c {
        Condition::Compare { op, left, right } => (Op::Cmp(*op), vec![left, right]),
        Condition::Between {
            operand,
            lower,
            upper,
        } => (Op::Between, vec![operand, lower, upper]),
        Condition::BeginsWith { operand, prefix } => (Op::BeginsWith, vec![operand, prefix]),
        // AND is handled by the caller; every other shape was rejected above.
        _ => return Err(invalid_condition("No operator specified for condition")),
    };
    let mut key: Option<&str> = None;
    let mut values: Vec<ValueRef> = Vec::new();
    for child in children {
        match child {
            Operand::Path(path) => {
                if key.is_some() {
                    return Err(invalid_condition(
                        "Multiple attribute names used in one condition",
                    ));
                }
                if !path.is_top_level() {
                    return Err(ExprError::new(
                        "KeyConditionExpressions cannot have conditions on nested attributes",
                    ));
                }
                key = Some(path.top_level());
            }
            Operand::Value(v) => {
                if key.is_none() {
                    match op {
                        Op::Between => {
                            return Err(invalid_condition(
                                "BETWEEN operator must have the key attribute as its first operand",
                            ))
                        }
                        Op::BeginsWith => return Err(invalid_condition(
                            "begins_with operator must have the key attribute as its first operand",
                        )),
                        Op::Cmp(cmp) => op = Op::Cmp(cmp.flipped()),
                    }
                }
                values.push(v.clone());
            }
            Operand::Size(_) => {
                return Err(ExprError::new(
                    "KeyConditionExpressions cannot contain nested operations",
                ))
            }
        }
    }
    let Some(attribute) = key else {
        return Err(invalid_condition("No key attribute specified"));
    };
    let mut values = values.into_iter();
    let mut next = || values.next().unwrap_or_else(|| ValueRef(String::new()));
    let comparison = match op {
        Op::Cmp(Comparator::Eq) => KeyComparison::Eq(next()),
        Op::Cmp(Comparator::Lt) => KeyComparison::Lt(next()),
        Op::Cmp(Comparator::Le) => KeyComparison::Le(next()),
        Op::Cmp(Comparator::Gt) => KeyComparison::Gt(next()),
        Op::Cmp(Comparator::Ge) => KeyComparison::Ge(next()),
        Op::Cmp(Comparator::Ne) => return Err(invalid_operator("<>")),
        Op::Between => {
            let low = next();
            KeyComparison::Between(low, next())
        }
        Op::BeginsWith => KeyComparison::BeginsWith(next()),
    };
    Ok(KeyCondition {
        attribute: attribute.to_owned(),
        comparison,
    })
}

impl KeyConditionExpr {
    /// Splits the expression into its per-attribute conditions, in source order, with
    /// DynamoDB's errors for everything that is not an `AND` of key comparisons.
    pub fn conditions(&self) -> Result<Vec<KeyCondition>, ExprError> {
        let mut out: Vec<KeyCondition> = Vec::new();
        // Depth-first, left to right, without recursion.
        let mut stack = vec![&self.condition];
        while let Some(c) = stack.pop() {
            if let Condition::And(left, right) = c {
                stack.push(right);
                stack.push(left);
                continue;
            }
            let kc = leaf(c)?;
            if out.iter().any(|k| k.attribute == kc.attribute) {
                return Err(ExprError::new(
                    "KeyConditionExpressions must only contain one condition per key",
                ));
            }
            out.push(kc);
        }
        Ok(out)
    }

    /// Matches the conditions against a key schema: `partition_key` and, for a
    /// composite key, `sort_key` (of the table, or of the index queried).
    pub fn resolve(
        &self,
        partition_key: &str,
        sort_key: Option<&str>,
    ) -> Result<KeyQuery, ExprError> {
        let mut conditions = self.conditions()?;
        if conditions.is_empty() || conditions.len() > 2 {
            return Err(ExprError::new("Conditions can be of length 1 or 2 only"));
        }
        let schema_size = if sort_key.is_some() { 2 } else { 1 };
        if conditions.len() > schema_size {
            return Err(ExprError::new("Query key condition not supported"));
        }
        let Some(pos) = conditions.iter().position(|c| c.attribute == partition_key) else {
            return Err(ExprError::new(format!(
                "Query condition missed key schema element: {partition_key}"
            )));
        };
        let partition = conditions.remove(pos);
        let KeyComparison::Eq(partition_value) = partition.comparison else {
            return Err(ExprError::new("Query key condition not supported"));
        };
        let sort = match (sort_key, conditions.pop()) {
            (_, None) => None,
            (Some(sort_key), Some(c)) if c.attribute == sort_key => Some(c),
            (Some(sort_key), Some(_)) => {
                return Err(ExprError::new(format!(
                    "Query condition missed key schema element: {sort_key}"
                )))
            }
            // Two conditions on a table without a sort key were rejected above.
            (None, Some(_)) => return Err(ExprError::new("Query key condition not supported")),
        };
        Ok(KeyQuery {
            partition_key: partition_key.to_owned(),
            partition_value,
            sort,
        })
    }
}
