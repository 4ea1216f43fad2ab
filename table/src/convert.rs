//! Conversion between Rust values (anything `Serialize`/`Deserialize`) and items, through the
//! `serde_dynamo` crate's data model, checked against DynamoDB's rules on the way in (numbers
//! in range, no empty or duplicate sets, nesting depth).
//!
//! ```
//! use serde::{Deserialize, Serialize};
//! #[derive(Serialize, Deserialize, PartialEq, Debug)]
//! struct Order { pk: String, total: u32, tags: Vec<String> }
//! let order = Order { pk: "o#1".into(), total: 42, tags: vec!["new".into()] };
//! let item = strata_table::convert::to_item(&order)?;
//! assert_eq!(item["total"], strata_table::AttributeValue::n("42")?);
//! let back: Order = strata_table::convert::from_item(item)?;
//! assert_eq!(back, order);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::error::{Result, TableError};
use crate::number::Number;
use crate::value::{AttributeValue, Item, MAX_NESTING};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_dynamo::AttributeValue as Sd;
use std::collections::{BTreeSet, HashMap};

fn invalid(e: impl std::fmt::Display) -> TableError {
    TableError::validation(e.to_string())
}

/// A Rust value (a struct or map) as an item.
pub fn to_item<T: Serialize>(value: &T) -> Result<Item> {
    let item: serde_dynamo::Item = serde_dynamo::to_item(value).map_err(invalid)?;
    let map: HashMap<String, Sd> = item.into();
    let item = map
        .into_iter()
        .map(|(k, v)| Ok((k, from_sd(v, 1)?)))
        .collect::<Result<Item>>()?;
    Ok(item)
}

/// A Rust value as one attribute value.
pub fn to_value<T: Serialize>(value: &T) -> Result<AttributeValue> {
    let av: Sd = serde_dynamo::to_attribute_value(value).map_err(invalid)?;
    from_sd(av, 0)
}

/// An item as a Rust value.
pub fn from_item<T: DeserializeOwned>(item: Item) -> Result<T> {
    let map: HashMap<String, Sd> = item.into_iter().map(|(k, v)| (k, to_sd(v))).collect();
    serde_dynamo::from_item(serde_dynamo::Item::from(map)).map_err(invalid)
}

/// An attribute value as a Rust value.
pub fn from_value<T: DeserializeOwned>(value: AttributeValue) -> Result<T> {
    serde_dynamo::from_attribute_value(to_sd(value)).map_err(invalid)
}

fn from_sd(v: Sd, depth: usize) -> Result<AttributeValue> {
    if depth > MAX_NESTING + 1 {
        return Err(TableError::validation(format!(
            "Nesting Levels have exceeded supported limits: Attribute values may be nested at most {MAX_NESTING} levels deep"
        )));
    }
    let number = |s: &str| Number::parse(s).map_err(invalid);
    let set_error =
        |kind: &str| TableError::invalid_parameter(format!("An {kind}  may not be empty"));
    Ok(match v {
        Sd::S(s) => AttributeValue::S(s),
        Sd::N(n) => AttributeValue::N(number(&n)?),
        Sd::B(b) => AttributeValue::B(b),
        Sd::Bool(b) => AttributeValue::Bool(b),
        Sd::Null(_) => AttributeValue::Null,
        Sd::L(l) => AttributeValue::L(
            l.into_iter()
                .map(|e| from_sd(e, depth + 1))
                .collect::<Result<_>>()?,
        ),
        Sd::M(m) => AttributeValue::M(
            m.into_iter()
                .map(|(k, e)| Ok((k, from_sd(e, depth + 1)?)))
                .collect::<Result<_>>()?,
        ),
        Sd::Ss(s) => {
            let n = s.len();
            let set: BTreeSet<String> = s.into_iter().collect();
            if set.is_empty() {
                return Err(set_error("string set"));
            }
            if set.len() != n {
                return Err(TableError::invalid_parameter(
                    "Input collection contains duplicates.",
                ));
            }
            AttributeValue::Ss(set)
        }
        Sd::Ns(s) => {
            let n = s.len();
            let set = s
                .iter()
                .map(|x| number(x))
                .collect::<Result<BTreeSet<Number>>>()?;
            if set.is_empty() {
                return Err(set_error("number set"));
            }
            if set.len() != n {
                return Err(TableError::invalid_parameter(
                    "Input collection contains duplicates.",
                ));
            }
            AttributeValue::Ns(set)
        }
        Sd::Bs(s) => {
            let n = s.len();
            let set: BTreeSet<Vec<u8>> = s.into_iter().collect();
            if set.is_empty() {
                return Err(set_error("binary set"));
            }
            if set.len() != n {
                return Err(TableError::invalid_parameter(
                    "Input collection contains duplicates.",
                ));
            }
            AttributeValue::Bs(set)
        }
    })
}

fn to_sd(v: AttributeValue) -> Sd {
    match v {
        AttributeValue::S(s) => Sd::S(s),
        AttributeValue::N(n) => Sd::N(n.to_string()),
        AttributeValue::B(b) => Sd::B(b),
        AttributeValue::Bool(b) => Sd::Bool(b),
        AttributeValue::Null => Sd::Null(true),
        AttributeValue::L(l) => Sd::L(l.into_iter().map(to_sd).collect()),
        AttributeValue::M(m) => Sd::M(m.into_iter().map(|(k, e)| (k, to_sd(e))).collect()),
        AttributeValue::Ss(s) => Sd::Ss(s.into_iter().collect()),
        AttributeValue::Ns(s) => Sd::Ns(s.iter().map(Number::to_string).collect()),
        AttributeValue::Bs(s) => Sd::Bs(s.into_iter().collect()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;
    use serde::Deserialize;
    use std::collections::BTreeMap;

    #[derive(Serialize, Deserialize, PartialEq, Debug)]
    struct Nested {
        id: String,
        count: i64,
        ratio: f64,
        flags: Vec<bool>,
        attrs: BTreeMap<String, String>,
        maybe: Option<u32>,
        bytes: serde_bytes_like::Bytes,
    }

    mod serde_bytes_like {
        /// Bytes that serialize as a sequence (serde's default for Vec<u8>).
        pub type Bytes = Vec<u8>;
    }

    #[test]
    fn structs_round_trip() {
        let v = Nested {
            id: "a".into(),
            count: -7,
            ratio: 0.25,
            flags: vec![true, false],
            attrs: [("k".to_string(), "v".to_string())].into(),
            maybe: None,
            bytes: vec![1, 2],
        };
        let item = to_item(&v).unwrap();
        assert_eq!(item["count"], AttributeValue::n("-7").unwrap());
        assert_eq!(item["ratio"], AttributeValue::n("0.25").unwrap());
        let back: Nested = from_item(item).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn values_outside_dynamodb_rules_are_errors() {
        assert!(to_value(&f64::NAN).is_err());
        assert!(to_value(&f64::INFINITY).is_err());
        assert!(to_value(&1e300f64).is_err());
        assert!(to_item(&5u32).is_err(), "a scalar is not an item");
    }
}
