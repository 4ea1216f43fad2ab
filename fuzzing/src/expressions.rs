//! The expression languages — condition, filter, update, projection and key condition —
//! parsed from arbitrary text, then evaluated against an item that holds every type.
//! Outcome: a ValidationException or a value.
//!
//! Input: a kind byte, then NUL-separated texts: the expression, a condition (with an
//! update), and `name=value` pairs adding ExpressionAttributeNames (`#x=attr`) or values
//! (`:x=payload`, the first payload byte choosing the type). A fixed set of names and values
//! is always present, so plain expression text is a useful input by itself.

use strata_table::eval::{self, Evaluator};
use strata_table::exprs::Exprs;
use strata_table::model::{Names, Values};
use strata_table::{AttributeValue, Item};

/// A value of each type (chosen by `which`), built around `payload`.
fn value(which: u8, payload: &str) -> AttributeValue {
    let json = match which % 11 {
        0 => serde_json::json!({"S": payload}),
        1 => serde_json::json!({"N": payload}),
        2 => serde_json::json!({"N": (payload.len() as i64 - 3).to_string()}),
        3 => serde_json::json!({"B": "AAEC"}),
        4 => serde_json::json!({"BOOL": payload.is_empty()}),
        5 => serde_json::json!({"NULL": true}),
        6 => serde_json::json!({"L": [{"S": payload}, {"N": "1"}]}),
        7 => serde_json::json!({"M": {"a": {"S": payload}, "n": {"N": "2"}}}),
        8 => serde_json::json!({"SS": [payload, "x"]}),
        9 => serde_json::json!({"NS": ["1", "2.5"]}),
        _ => serde_json::json!({"S": ""}),
    };
    serde_json::from_value(json).unwrap_or(AttributeValue::Null)
}

/// An item holding every attribute type, nested.
fn item() -> Item {
    serde_json::from_value(serde_json::json!({
        "pk": {"S": "p"}, "sk": {"N": "1"}, "a": {"N": "5"}, "s": {"S": "string"},
        "b": {"BOOL": true}, "n": {"NULL": true}, "bin": {"B": "AAE="},
        "l": {"L": [{"N": "1"}, {"S": "x"}, {"M": {"deep": {"L": [{"N": "3"}]}}}]},
        "m": {"M": {"x": {"N": "2"}, "y": {"L": []}, "z": {"M": {}}}},
        "ss": {"SS": ["a", "b"]}, "ns": {"NS": ["1", "2"]}, "bs": {"BS": ["AA=="]}
    }))
    .unwrap_or_default()
}

/// The names and values every input has.
fn defaults() -> (Names, Values) {
    let names: Names = [
        ("#a", "a"),
        ("#s", "s"),
        ("#l", "l"),
        ("#m", "m"),
        ("#k", "pk"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let values: Values = [
        (":n", value(2, "xxxx")),
        (":s", value(0, "str")),
        (":e", value(10, "")),
        (":l", value(6, "e")),
        (":m", value(7, "v")),
        (":ss", value(8, "y")),
        (":ns", value(9, "")),
        (":b", value(4, "")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    (names, values)
}

/// Runs one input.
pub fn run(data: &[u8]) {
    let Some((&kind, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let mut parts = text.split('\0');
    let expression = parts.next().unwrap_or_default().to_owned();
    let condition = parts.next().unwrap_or_default().to_owned();
    let (mut names, mut values) = defaults();
    for pair in parts {
        let Some((k, v)) = pair.split_once('=') else {
            continue;
        };
        if k.starts_with('#') {
            names.insert(k.to_owned(), v.to_owned());
        } else {
            let which = v.bytes().next().unwrap_or(0);
            values.insert(k.to_owned(), value(which, v.get(1..).unwrap_or_default()));
        }
    }
    let input = (kind, expression, condition);
    let names = Some(&names);
    let values = Some(&values);
    let Ok(mut exprs) = Exprs::new(names, values, "expressions", true) else {
        return;
    };
    let item = item();
    let (kind, expression, condition) = input;
    let text = expression.as_str();
    match kind % 5 {
        0 | 1 => {
            let parsed = if kind % 5 == 0 {
                exprs.condition(Some(text))
            } else {
                exprs.filter(Some(text))
            };
            // Unused defaults fail `finish`; evaluate what parsed anyway.
            let _ = exprs.finish();
            if let Ok(Some(c)) = parsed {
                let ev = Evaluator {
                    values: exprs.values(),
                    kind: "ConditionExpression",
                };
                let _ = ev.condition(&c, Some(&item));
                let _ = ev.condition(&c, None);
            }
        }
        2 => {
            let update = exprs.update(Some(text));
            let condition = exprs.condition(Some(&condition));
            let _ = exprs.finish();
            if let (Ok(Some(u)), Ok(c)) = (update, condition) {
                let ev = Evaluator {
                    values: exprs.values(),
                    kind: "ConditionExpression",
                };
                if let Some(c) = &c {
                    let _ = ev.condition(c, Some(&item));
                }
                let mut updated = item.clone();
                if eval::apply_update(&u, &mut updated, exprs.values()).is_ok() {
                    // What an update makes is a storable item.
                    let bytes = strata_table::codec::encode_item(&updated);
                    assert_eq!(
                        strata_table::codec::decode_item(&bytes).ok(),
                        Some(updated),
                        "an updated item does not survive encode/decode"
                    );
                }
                let _ = eval::apply_update(&u, &mut Item::new(), exprs.values());
            }
        }
        3 => {
            let projection = exprs.projection(Some(text));
            let _ = exprs.finish();
            if let Ok(Some(p)) = projection {
                let paths: Vec<_> = p.paths.iter().map(eval::steps).collect();
                let _ = strata_table::doc::project(&item, &paths);
            }
        }
        _ => {
            if let Ok(kc) = exprs.key_condition(text) {
                let _ = kc.resolve("pk", Some("sk"));
                let _ = kc.resolve("pk", None);
                let _ = exprs.finish();
            }
        }
    }
}
