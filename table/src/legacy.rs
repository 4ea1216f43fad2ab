//! The legacy parameters (`Expected`, `AttributeUpdates`, `AttributesToGet`, `KeyConditions`,
//! `QueryFilter`, `ScanFilter`) translated into the same syntax trees the expressions parse
//! to, so one evaluator serves both. Values are given synthetic placeholders.

use crate::error::{Result, TableError};
use crate::expr::{
    AddAction, Comparator, Condition, DeleteAction, Operand, Path, ProjectionExpr, SetAction,
    SetValue, UpdateExpr, UpdateOperand, ValueRef,
};
use crate::model::{AttributeValueUpdate, ExpectedAttributeValue, Values};
use crate::value::AttributeValue;
use std::collections::BTreeMap;

fn invalid(detail: impl std::fmt::Display) -> TableError {
    TableError::invalid_parameter(detail)
}

/// Adds `v` to `values` under a fresh placeholder.
fn placeholder(values: &mut Values, v: &AttributeValue) -> ValueRef {
    let name = format!(":legacy{}", values.len());
    values.insert(name.clone(), v.clone());
    ValueRef(name)
}

fn combine(conditions: Vec<Condition>, operator: Option<&str>) -> Result<Option<Condition>> {
    let or = match operator {
        None | Some("AND") => false,
        Some("OR") => true,
        Some(other) => {
            return Err(TableError::constraints(vec![crate::error::violation(
                Some(other),
                "conditionalOperator",
                "Member must satisfy enum value set: [OR, AND]",
            )]))
        }
    };
    if operator.is_some() && conditions.len() < 2 {
        return Err(TableError::validation(
            "ConditionalOperator can only be used when Filter or Expected has two or more elements",
        ));
    }
    Ok(conditions.into_iter().reduce(|a, b| {
        if or {
            Condition::Or(Box::new(a), Box::new(b))
        } else {
            Condition::And(Box::new(a), Box::new(b))
        }
    }))
}

/// Checks a legacy condition's values against its operator: the types it accepts, and a
/// BETWEEN range that is not upside down.
pub(crate) fn check_values(operator: &str, args: &[AttributeValue]) -> Result<()> {
    let scalar_only = ["LE", "LT", "GE", "GT", "BETWEEN", "BEGINS_WITH"];
    for a in args {
        let ok = match operator {
            "BEGINS_WITH" => matches!(a, AttributeValue::S(_) | AttributeValue::B(_)),
            op if scalar_only.contains(&op) || op == "IN" => matches!(
                a,
                AttributeValue::S(_) | AttributeValue::N(_) | AttributeValue::B(_)
            ),
            "CONTAINS" | "NOT_CONTAINS" => matches!(
                a,
                AttributeValue::S(_) | AttributeValue::N(_) | AttributeValue::B(_)
            ),
            _ => true,
        };
        if !ok {
            return Err(invalid(format!(
                "ComparisonOperator {operator} is not valid for {} AttributeValue type",
                a.type_name()
            )));
        }
    }
    if let ("BETWEEN", [lo, hi]) = (operator, args) {
        if crate::doc::order(lo, hi) == Some(std::cmp::Ordering::Greater) {
            return Err(TableError::validation(
                "The BETWEEN condition was provided a range where the lower bound is greater than the upper bound",
            ));
        }
    }
    Ok(())
}

/// One `ComparisonOperator` condition on attribute `name`.
fn comparison(
    name: &str,
    operator: &str,
    args: &[AttributeValue],
    values: &mut Values,
) -> Result<Condition> {
    let count_ok = match operator {
        "EQ" | "NE" | "LE" | "LT" | "GE" | "GT" | "CONTAINS" | "NOT_CONTAINS" | "BEGINS_WITH" => {
            args.len() == 1
        }
        "NULL" | "NOT_NULL" => args.is_empty(),
        "IN" => !args.is_empty(),
        "BETWEEN" => args.len() == 2,
        other => {
            return Err(TableError::constraints(vec![crate::error::violation(
                Some(other),
                &format!("expected.{name}.member.comparisonOperator"),
                "Member must satisfy enum value set: [IN, NULL, BETWEEN, LT, NOT_CONTAINS, EQ, GT, NOT_NULL, NE, LE, BEGINS_WITH, GE, CONTAINS]",
            )]))
        }
    };
    if !count_ok {
        return Err(invalid(format!(
            "Invalid number of argument(s) for the {operator} ComparisonOperator"
        )));
    }
    check_values(operator, args)?;
    let path = || Operand::Path(Path::attribute(name));
    let mut val = |i: usize| Operand::Value(placeholder(values, &args[i]));
    let cmp = |op| {
        move |right| Condition::Compare {
            op,
            left: Operand::Path(Path::attribute(name)),
            right,
        }
    };
    Ok(match operator {
        "EQ" => cmp(Comparator::Eq)(val(0)),
        "NE" => cmp(Comparator::Ne)(val(0)),
        "LE" => cmp(Comparator::Le)(val(0)),
        "LT" => cmp(Comparator::Lt)(val(0)),
        "GE" => cmp(Comparator::Ge)(val(0)),
        "GT" => cmp(Comparator::Gt)(val(0)),
        "NULL" => Condition::AttributeNotExists(Path::attribute(name)),
        "NOT_NULL" => Condition::AttributeExists(Path::attribute(name)),
        "CONTAINS" => Condition::Contains {
            operand: path(),
            value: val(0),
        },
        "NOT_CONTAINS" => Condition::Not(Box::new(Condition::Contains {
            operand: path(),
            value: val(0),
        })),
        "BEGINS_WITH" => Condition::BeginsWith {
            operand: path(),
            prefix: val(0),
        },
        "IN" => Condition::In {
            operand: path(),
            list: (0..args.len()).map(&mut val).collect(),
        },
        _ => Condition::Between {
            operand: path(),
            lower: val(0),
            upper: val(1),
        },
    })
}

/// `Expected` (with `ConditionalOperator`) as a condition and its values.
pub fn expected(
    expected: &BTreeMap<String, ExpectedAttributeValue>,
    operator: Option<&str>,
) -> Result<(Option<Condition>, Values)> {
    let mut values = Values::new();
    let mut conditions = Vec::new();
    for (name, e) in expected {
        let c = if let Some(op) = &e.comparison_operator {
            if e.exists.is_some() {
                return Err(invalid(format!(
                    "Exists and ComparisonOperator cannot be used together for Attribute: {name}"
                )));
            }
            if e.value.is_some() && e.attribute_value_list.is_some() {
                return Err(invalid(format!(
                    "Value and AttributeValueList cannot be used together for Attribute: {name}"
                )));
            }
            let args: Vec<AttributeValue> = match (&e.attribute_value_list, &e.value) {
                (Some(l), _) => l.clone(),
                (None, Some(v)) => vec![v.clone()],
                (None, None) => Vec::new(),
            };
            comparison(name, op, &args, &mut values)?
        } else if e.attribute_value_list.is_some() {
            return Err(invalid(format!(
                "AttributeValueList can only be used with a ComparisonOperator for Attribute: {name}"
            )));
        } else {
            match (e.exists, &e.value) {
                (Some(false), Some(_)) => {
                    return Err(invalid(format!(
                        "Value cannot be used when Exists is false for Attribute: {name}"
                    )))
                }
                (Some(false), None) => Condition::AttributeNotExists(Path::attribute(name)),
                (exists, None) => {
                    return Err(invalid(format!(
                        "Value must be provided when Exists is {} for Attribute: {name}",
                        if exists.is_some() { "true" } else { "null" }
                    )))
                }
                (_, Some(v)) => Condition::Compare {
                    op: Comparator::Eq,
                    left: Operand::Path(Path::attribute(name)),
                    right: Operand::Value(placeholder(&mut values, v)),
                },
            }
        };
        conditions.push(c);
    }
    Ok((combine(conditions, operator)?, values))
}

/// `QueryFilter` / `ScanFilter` (with `ConditionalOperator`) as a condition and its values.
pub fn filter(
    filter: &BTreeMap<String, crate::model::Condition>,
    operator: Option<&str>,
    values: &mut Values,
) -> Result<Option<Condition>> {
    let mut conditions = Vec::new();
    for (name, c) in filter {
        let op = c.comparison_operator.as_deref().ok_or_else(|| {
            TableError::constraints(vec![crate::error::violation(
                None,
                &format!("filter.{name}.member.comparisonOperator"),
                "Member must not be null",
            )])
        })?;
        let args = c.attribute_value_list.clone().unwrap_or_default();
        conditions.push(comparison(name, op, &args, values)?);
    }
    combine(conditions, operator)
}

/// `AttributeUpdates` as an update expression (values added to `values`).
pub fn attribute_updates(
    updates: &BTreeMap<String, AttributeValueUpdate>,
    values: &mut Values,
) -> Result<UpdateExpr> {
    let mut out = UpdateExpr::default();
    for (name, u) in updates {
        let action = u.action.as_deref().unwrap_or("PUT");
        match (action, &u.value) {
            ("PUT", Some(v)) => out.set.push(SetAction {
                path: Path::attribute(name),
                value: SetValue::Operand(UpdateOperand::Value(placeholder(values, v))),
            }),
            ("PUT" | "ADD", None) => {
                return Err(invalid(
                    "Only DELETE action is allowed when no attribute value is specified",
                ))
            }
            ("DELETE", None) => out.remove.push(Path::attribute(name)),
            ("DELETE", Some(v)) => {
                if !matches!(
                    v,
                    AttributeValue::Ss(_) | AttributeValue::Ns(_) | AttributeValue::Bs(_)
                ) {
                    return Err(invalid(format!(
                        "DELETE action with value is not supported for the type {}",
                        v.type_name()
                    )));
                }
                out.delete.push(DeleteAction {
                    path: Path::attribute(name),
                    value: placeholder(values, v),
                });
            }
            ("ADD", Some(v @ AttributeValue::L(_))) => {
                // A list is appended to (or created).
                let empty = placeholder(values, &AttributeValue::L(Vec::new()));
                let added = placeholder(values, v);
                out.set.push(SetAction {
                    path: Path::attribute(name),
                    value: SetValue::Operand(UpdateOperand::ListAppend(
                        Box::new(UpdateOperand::IfNotExists {
                            path: Path::attribute(name),
                            default: Box::new(UpdateOperand::Value(empty)),
                        }),
                        Box::new(UpdateOperand::Value(added)),
                    )),
                });
            }
            ("ADD", Some(v)) => {
                if !matches!(
                    v,
                    AttributeValue::N(_)
                        | AttributeValue::Ss(_)
                        | AttributeValue::Ns(_)
                        | AttributeValue::Bs(_)
                ) {
                    return Err(invalid(format!(
                        "ADD action is not supported for the type {}",
                        v.type_name()
                    )));
                }
                out.add.push(AddAction {
                    path: Path::attribute(name),
                    value: placeholder(values, v),
                });
            }
            (other, _) => {
                return Err(TableError::constraints(vec![crate::error::violation(
                    Some(other),
                    &format!("attributeUpdates.{name}.member.action"),
                    "Member must satisfy enum value set: [ADD, PUT, DELETE]",
                )]))
            }
        }
    }
    Ok(out)
}

/// `AttributesToGet` as a projection.
pub fn attributes_to_get(names: &[String]) -> Result<ProjectionExpr> {
    let mut seen = std::collections::HashSet::new();
    for n in names {
        if !seen.insert(n) {
            return Err(invalid(format!("Duplicate value in attribute name: {n}")));
        }
    }
    Ok(ProjectionExpr {
        paths: names.iter().map(Path::attribute).collect(),
    })
}
