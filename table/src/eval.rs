//! Evaluation of parsed expressions against items: conditions and filters, updates,
//! projections.
//!
//! Semantics follow DynamoDB: a comparison with a missing attribute or between different
//! types is false (except `<>`, which is true), order comparisons apply to numbers, strings
//! and binaries only; every SET value is computed from the item as it was before the update,
//! then all actions are applied (list elements removed from the highest index down, as if
//! at once).

use crate::doc::{self, Step};
use crate::error::{Result, TableError};
use crate::expr::ast::{
    Comparator, Condition, Operand, Path, PathElement, SetValue, UpdateExpr, UpdateOperand,
    ValueRef,
};
use crate::model::Values;
use crate::value::{AttributeValue, Item};
use std::cmp::Ordering;

/// A path as document steps.
pub fn steps(path: &Path) -> Vec<Step> {
    path.elements
        .iter()
        .map(|e| match e {
            PathElement::Attribute(a) => Step::Key(a.clone()),
            PathElement::Index(i) => Step::Index(*i as usize),
        })
        .collect()
}

fn value<'a>(values: &'a Values, v: &ValueRef) -> Result<&'a AttributeValue> {
    values.get(v.as_str()).ok_or_else(|| {
        TableError::validation(format!(
            "An expression attribute value used in expression is not defined; attribute value: {}",
            v.as_str()
        ))
    })
}

/// Evaluates conditions of one expression kind (`ConditionExpression`, `FilterExpression`…,
/// named in error messages) with the request's values.
pub struct Evaluator<'a> {
    /// `ExpressionAttributeValues`.
    pub values: &'a Values,
    /// The expression kind, for messages.
    pub kind: &'a str,
}

impl Evaluator<'_> {
    fn operand(&self, item: Option<&Item>, op: &Operand) -> Result<Option<AttributeValue>> {
        Ok(match op {
            Operand::Path(p) => item.and_then(|i| doc::get(i, &steps(p))).cloned(),
            Operand::Value(v) => Some(value(self.values, v)?.clone()),
            Operand::Size(inner) => self.operand(item, inner)?.and_then(|v| doc::size(&v)),
        })
    }

    /// Whether `cond` holds for `item` (`None`: the item does not exist).
    pub fn condition(&self, cond: &Condition, item: Option<&Item>) -> Result<bool> {
        Ok(match cond {
            Condition::Compare { op, left, right } => {
                let (l, r) = (self.operand(item, left)?, self.operand(item, right)?);
                compare(*op, l.as_ref(), r.as_ref())
            }
            Condition::Between {
                operand,
                lower,
                upper,
            } => {
                let v = self.operand(item, operand)?;
                let (lo, hi) = (self.operand(item, lower)?, self.operand(item, upper)?);
                if let (Some(lo), Some(hi)) = (&lo, &hi) {
                    if doc::order(lo, hi) == Some(Ordering::Greater) {
                        return Err(TableError::validation(format!(
                            "Invalid {}: The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower bound operand: AttributeValue: {}, upper bound operand: AttributeValue: {}",
                            self.kind,
                            brief(lo),
                            brief(hi)
                        )));
                    }
                }
                compare(Comparator::Ge, v.as_ref(), lo.as_ref())
                    && compare(Comparator::Le, v.as_ref(), hi.as_ref())
            }
            Condition::In { operand, list } => {
                let v = self.operand(item, operand)?;
                let mut found = false;
                for candidate in list {
                    let c = self.operand(item, candidate)?;
                    if compare(Comparator::Eq, v.as_ref(), c.as_ref()) {
                        found = true;
                        break;
                    }
                }
                found
            }
            Condition::AttributeExists(p) => item.and_then(|i| doc::get(i, &steps(p))).is_some(),
            Condition::AttributeNotExists(p) => item.and_then(|i| doc::get(i, &steps(p))).is_none(),
            Condition::AttributeType { path, type_name } => {
                let v = item.and_then(|i| doc::get(i, &steps(path)));
                doc::attribute_type(v, value(self.values, type_name)?)
                    .map_err(|e| self.rename(e))?
            }
            Condition::BeginsWith { operand, prefix } => {
                let v = self.operand(item, operand)?;
                match self.operand(item, prefix)? {
                    Some(p) => doc::begins_with(v.as_ref(), &p).map_err(|e| self.rename(e))?,
                    None => false,
                }
            }
            Condition::Contains { operand, value } => {
                let v = self.operand(item, operand)?;
                match self.operand(item, value)? {
                    Some(x) => doc::contains(v.as_ref(), &x),
                    None => false,
                }
            }
            Condition::Not(c) => !self.condition(c, item)?,
            Condition::And(a, b) => self.condition(a, item)? && self.condition(b, item)?,
            Condition::Or(a, b) => self.condition(a, item)? || self.condition(b, item)?,
        })
    }

    /// `doc`'s messages name ConditionExpression; use this evaluator's kind.
    fn rename(&self, e: TableError) -> TableError {
        match e {
            TableError::Validation(m) => TableError::Validation(m.replacen(
                "Invalid ConditionExpression",
                &format!("Invalid {}", self.kind),
                1,
            )),
            other => other,
        }
    }
}

/// A value as DynamoDB prints it in messages: `{N:5}`, `{S:abc}`.
pub(crate) fn brief(v: &AttributeValue) -> String {
    let inner = match v {
        AttributeValue::S(s) => s.clone(),
        AttributeValue::N(n) => n.to_string(),
        other => serde_json::to_string(other).unwrap_or_default(),
    };
    format!("{{{}:{inner}}}", v.type_name())
}

/// `left op right` with DynamoDB's rules for missing values and mixed types.
pub fn compare(op: Comparator, l: Option<&AttributeValue>, r: Option<&AttributeValue>) -> bool {
    let (Some(l), Some(r)) = (l, r) else {
        return op == Comparator::Ne;
    };
    match op {
        Comparator::Eq => l == r,
        Comparator::Ne => l != r,
        _ => match doc::order(l, r) {
            None => false,
            Some(o) => match op {
                Comparator::Lt => o == Ordering::Less,
                Comparator::Le => o != Ordering::Greater,
                Comparator::Gt => o == Ordering::Greater,
                Comparator::Ge => o != Ordering::Less,
                _ => false,
            },
        },
    }
}

fn update_operand(op: &UpdateOperand, item: &Item, values: &Values) -> Result<AttributeValue> {
    match op {
        UpdateOperand::Path(p) => doc::get(item, &steps(p)).cloned().ok_or_else(|| {
            TableError::validation(
                "The provided expression refers to an attribute that does not exist in the item",
            )
        }),
        UpdateOperand::Value(v) => value(values, v).cloned(),
        UpdateOperand::IfNotExists { path, default } => match doc::get(item, &steps(path)) {
            Some(v) => Ok(v.clone()),
            None => update_operand(default, item, values),
        },
        UpdateOperand::ListAppend(a, b) => doc::list_append(
            &update_operand(a, item, values)?,
            &update_operand(b, item, values)?,
        ),
    }
}

/// Applies `update` to `item` (the current item, or an empty one holding just the key).
pub fn apply_update(update: &UpdateExpr, item: &mut Item, values: &Values) -> Result<()> {
    let before = item.clone();
    let mut sets = Vec::with_capacity(update.set.len());
    for action in &update.set {
        let v = match &action.value {
            SetValue::Operand(o) => update_operand(o, &before, values)?,
            SetValue::Plus(a, b) => doc::arithmetic(
                &update_operand(a, &before, values)?,
                &update_operand(b, &before, values)?,
                true,
            )?,
            SetValue::Minus(a, b) => doc::arithmetic(
                &update_operand(a, &before, values)?,
                &update_operand(b, &before, values)?,
                false,
            )?,
        };
        sets.push((steps(&action.path), v));
    }
    let mut adds = Vec::with_capacity(update.add.len());
    for action in &update.add {
        let path = steps(&action.path);
        let v = doc::add(doc::get(&before, &path), value(values, &action.value)?)?;
        adds.push((path, v));
    }
    let mut deletes = Vec::with_capacity(update.delete.len());
    for action in &update.delete {
        let path = steps(&action.path);
        let v = doc::delete_from_set(doc::get(&before, &path), value(values, &action.value)?)?;
        deletes.push((path, v));
    }
    // Every path was resolved against the item before the update (paths never overlap), so
    // order matters only for list elements past the end, which are appended: in index order,
    // as DynamoDB does (`SET l[4] = :a, l[2] = :b` on a 2-element list gives [.., .., b, a]).
    let mut writes: Vec<(Vec<Step>, AttributeValue)> = sets.into_iter().chain(adds).collect();
    writes.sort_by(|a, b| a.0.cmp(&b.0));
    for (path, v) in writes {
        doc::set(item, &path, v)?;
    }
    for (path, v) in deletes {
        match v {
            Some(v) => doc::set(item, &path, v)?,
            None => {
                doc::remove(item, &path)?;
            }
        }
    }
    // Removals from the highest list index down, so earlier ones do not shift later ones.
    let mut removes: Vec<Vec<Step>> = update.remove.iter().map(steps).collect();
    removes.sort();
    for path in removes.iter().rev() {
        doc::remove(item, path)?;
    }
    Ok(())
}

/// Every path an update writes (for UPDATED_OLD / UPDATED_NEW and key checks).
pub fn updated_paths(update: &UpdateExpr) -> Vec<&Path> {
    update
        .set
        .iter()
        .map(|a| &a.path)
        .chain(&update.remove)
        .chain(update.add.iter().map(|a| &a.path))
        .chain(update.delete.iter().map(|a| &a.path))
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    fn n(s: &str) -> AttributeValue {
        AttributeValue::n(s).unwrap()
    }

    #[test]
    fn assignments_past_the_end_of_a_list_append_in_index_order() {
        let mut item: Item =
            serde_json::from_str(r#"{"c": {"L": [{"N": "1"}, {"S": "k"}]}}"#).unwrap();
        let values: Values = serde_json::from_str(
            r#"{":a": {"N": "-1"}, ":b": {"N": "3"}, ":c": {"N": "2"}, ":d": {"SS": ["x"]}}"#,
        )
        .unwrap();
        let mut ctx = crate::exprs::Exprs::new(None, Some(&values), "", true).unwrap();
        let update = ctx
            .update(Some("SET c[4] = :a, c[2] = :b ADD c[8] :d, c[6] :c"))
            .unwrap()
            .unwrap();
        apply_update(&update, &mut item, &values).unwrap();
        let want: Item = serde_json::from_str(
            r#"{"c": {"L": [{"N": "1"}, {"S": "k"}, {"N": "3"}, {"N": "-1"}, {"N": "2"}, {"SS": ["x"]}]}}"#,
        )
        .unwrap();
        assert_eq!(item, want);
    }

    fn sample() -> (Item, Values) {
        let item: Item = serde_json::from_str(
            r#"{"s":{"S":"hello"},"n":{"N":"10"},"b":{"B":"AQID"},"t":{"BOOL":true},"z":{"NULL":true},
                "l":{"L":[{"S":"x"},{"N":"1"}]},"m":{"M":{"k":{"S":"v"},"deep":{"M":{"n":{"N":"3"}}}}},
                "ss":{"SS":["a","b"]},"ns":{"NS":["1","2"]},"bs":{"BS":["AQ=="]}}"#,
        )
        .unwrap();
        let values: Values = serde_json::from_str(
            r#"{":s":{"S":"hello"},":he":{"S":"he"},":n":{"N":"10"},":five":{"N":"5"},":twenty":{"N":"20"},
                ":a":{"S":"a"},":x":{"S":"x"},":one":{"N":"1"},":b1":{"B":"AQ=="},":three":{"N":"3"},
                ":S":{"S":"S"},":SS":{"S":"SS"},":NULL":{"S":"NULL"},":M":{"S":"M"},":v":{"S":"v"}}"#,
        )
        .unwrap();
        (item, values)
    }

    #[test]
    fn every_operator_and_function_evaluates_as_dynamodb_does() {
        let (item, values) = sample();
        let cases = [
            ("s = :s", true),
            ("s <> :s", false),
            ("n < :twenty", true),
            ("n <= :n", true),
            ("n > :twenty", false),
            ("n >= :five", true),
            ("n BETWEEN :five AND :twenty", true),
            ("n BETWEEN :n AND :twenty", true),
            ("s BETWEEN :five AND :twenty", false),
            ("n IN (:one, :five, :n)", true),
            ("n IN (:one, :five)", false),
            ("attribute_exists(m.deep.n)", true),
            ("attribute_exists(m.nothere)", false),
            ("attribute_not_exists(nothere)", true),
            ("attribute_not_exists(l[1])", false),
            ("attribute_not_exists(l[2])", true),
            ("attribute_type(s, :S)", true),
            ("attribute_type(ss, :SS)", true),
            ("attribute_type(z, :NULL)", true),
            ("attribute_type(m, :M)", true),
            ("attribute_type(s, :M)", false),
            ("begins_with(s, :he)", true),
            ("begins_with(m.k, :he)", false),
            ("begins_with(b, :b1)", true),
            ("contains(s, :he)", true),
            ("contains(ss, :a)", true),
            ("contains(ns, :one)", true),
            ("contains(bs, :b1)", true),
            ("contains(l, :x)", true),
            ("contains(l, :one)", true),
            ("contains(ss, :x)", false),
            ("size(s) = :five", true),
            ("size(l) < :three", true),
            ("size(m) = :one", false),
            ("size(m.deep) = :one", true),
            ("size(n) = :one", false),
            ("m.deep.n = :three", true),
            ("l[0] = :x", true),
            ("NOT s = :s", false),
            ("s = :s AND n = :five", false),
            ("s = :s OR n = :five", true),
            ("NOT (s = :a OR n = :five) AND m.k = :v", true),
            ("nothere <> :s", true),
            ("nothere = :s", false),
        ];
        for (text, want) in cases {
            let mut exprs = crate::exprs::Exprs::new(None, Some(&values), "", true).unwrap();
            let cond = exprs.condition(Some(text)).unwrap().unwrap();
            let ev = Evaluator {
                values: &values,
                kind: "ConditionExpression",
            };
            assert_eq!(ev.condition(&cond, Some(&item)).unwrap(), want, "{text}");
            // A missing item evaluates without error (any result).
            let _ = ev.condition(&cond, None).unwrap();
        }
        let mut exprs = crate::exprs::Exprs::new(None, Some(&values), "", true).unwrap();
        let cond = exprs
            .condition(Some("n BETWEEN :twenty AND :five"))
            .unwrap()
            .unwrap();
        let ev = Evaluator {
            values: &values,
            kind: "ConditionExpression",
        };
        let e = ev.condition(&cond, Some(&item)).unwrap_err();
        assert!(
            e.to_string()
                .contains("BETWEEN operator requires upper bound"),
            "{e}"
        );
    }

    #[test]
    fn updates_apply_together_from_the_old_item() {
        let (mut item, _) = sample();
        let values: Values = serde_json::from_str(
            r#"{":one":{"N":"1"},":l":{"L":[{"S":"y"}]},":ss":{"SS":["c"]},":del":{"BS":["AQ=="]},":zero":{"N":"0"}}"#,
        )
        .unwrap();
        let mut ctx = crate::exprs::Exprs::new(None, Some(&values), "", true).unwrap();
        let update = ctx
            .update(Some(
                "SET n = n + :one, prev = n, l = list_append(l, :l), c = if_not_exists(c, :zero) \
                 REMOVE m.k, z ADD ss :ss DELETE bs :del",
            ))
            .unwrap()
            .unwrap();
        apply_update(&update, &mut item, &values).unwrap();
        let get = |p: &str| item.get(p).cloned();
        assert_eq!(get("n"), Some(n("11")));
        assert_eq!(
            get("prev"),
            Some(n("10")),
            "SET reads the item before the update"
        );
        assert_eq!(get("c"), Some(n("0")));
        assert_eq!(
            get("l"),
            Some(serde_json::from_str(r#"{"L":[{"S":"x"},{"N":"1"},{"S":"y"}]}"#).unwrap())
        );
        assert_eq!(
            get("ss"),
            Some(serde_json::from_str(r#"{"SS":["a","b","c"]}"#).unwrap())
        );
        assert_eq!(get("bs"), None, "a set emptied by DELETE is removed");
        assert_eq!(get("z"), None);
        assert_eq!(
            get("m"),
            Some(serde_json::from_str(r#"{"M":{"deep":{"M":{"n":{"N":"3"}}}}}"#).unwrap())
        );
    }

    #[test]
    fn comparisons_follow_dynamodb() {
        use Comparator::*;
        let s = AttributeValue::s;
        for (op, l, r, want) in [
            (Eq, Some(n("1")), Some(n("1.0")), true),
            (Eq, Some(n("1")), Some(s("1")), false),
            (Ne, Some(n("1")), Some(s("1")), true),
            (Ne, None, Some(n("1")), true),
            (Eq, None, Some(n("1")), false),
            (Lt, Some(n("2")), Some(n("10")), true),
            (Lt, Some(s("2")), Some(s("10")), false),
            (Lt, Some(n("2")), Some(s("10")), false),
            (Ge, None, Some(n("1")), false),
            (
                Le,
                Some(AttributeValue::B(vec![1])),
                Some(AttributeValue::B(vec![1, 0])),
                true,
            ),
            (
                Gt,
                Some(AttributeValue::Bool(true)),
                Some(AttributeValue::Bool(false)),
                false,
            ),
        ] {
            assert_eq!(
                compare(op, l.as_ref(), r.as_ref()),
                want,
                "{op:?} {l:?} {r:?}"
            );
        }
    }
}
