//! The table layer against a reference model of DynamoDB's semantics: random PutItem,
//! UpdateItem (SET, arithmetic, ADD, if_not_exists, list_append, REMOVE) and DeleteItem with
//! condition expressions, GetItem and Query pages, with reopens, compared item by item with
//! a `BTreeMap` that applies the same operations by DynamoDB's documented rules.

use arbitrary::{Arbitrary, Unstructured};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use strata_engine::fs::MemFs;
use strata_table::{Database, Item, TableError};

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Cond {
    None,
    Exists,
    NotExists,
    AEq(i8),
    ALt(i8),
    SBegins(u8),
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Change {
    SetA(i8),
    AddA(i8),
    IncA(i8),
    SetAIfNotExists(i8),
    SetS(u8),
    RemoveS,
    RemoveA,
    AppendL(i8),
}

#[derive(Arbitrary, Debug)]
enum Op {
    Put {
        pk: u8,
        sk: u8,
        a: Option<i8>,
        s: Option<u8>,
        cond: Cond,
    },
    Update {
        pk: u8,
        sk: u8,
        changes: Vec<Change>,
        cond: Cond,
    },
    Delete {
        pk: u8,
        sk: u8,
        cond: Cond,
    },
    Get {
        pk: u8,
        sk: u8,
    },
    Query {
        pk: u8,
        from: u8,
        forward: bool,
        limit: u8,
    },
    Reopen,
}

/// The reference item: the key and three optional attributes.
#[derive(Debug, Clone, Default, PartialEq)]
struct Ref {
    a: Option<i64>,
    s: Option<String>,
    l: Option<Vec<i64>>,
}

type Model = BTreeMap<(u8, u8), Ref>;

fn pk(p: u8) -> String {
    format!("p{}", p % 3)
}

fn sk(s: u8) -> u8 {
    s % 16
}

fn text(x: u8) -> String {
    format!("s{}{}", x % 3, "x".repeat(usize::from(x % 4)))
}

fn req<T: serde::de::DeserializeOwned>(v: Value) -> T {
    match serde_json::from_value(v) {
        Ok(t) => t,
        Err(e) => panic!("a request of the model does not deserialize: {e}"),
    }
}

/// The item the model says is stored.
fn item_of(key: (u8, u8), r: &Ref) -> Item {
    let mut v = json!({"pk": {"S": pk(key.0)}, "sk": {"N": key.1.to_string()}});
    if let Some(a) = r.a {
        v["a"] = json!({"N": a.to_string()});
    }
    if let Some(s) = &r.s {
        v["s"] = json!({"S": s});
    }
    if let Some(l) = &r.l {
        v["l"] = json!({"L": l.iter().map(|n| json!({"N": n.to_string()})).collect::<Vec<_>>()});
    }
    req(v)
}

/// The condition as an expression (and its values), and whether it holds for `old`.
fn condition(c: Cond, old: Option<&Ref>) -> (Option<String>, serde_json::Map<String, Value>, bool) {
    let mut values = serde_json::Map::new();
    let (expr, holds) = match c {
        Cond::None => (None, true),
        Cond::Exists => (Some("attribute_exists(pk)".to_owned()), old.is_some()),
        Cond::NotExists => (Some("attribute_not_exists(pk)".to_owned()), old.is_none()),
        Cond::AEq(v) => {
            values.insert(":cv".into(), json!({"N": v.to_string()}));
            (
                Some("a = :cv".to_owned()),
                old.and_then(|o| o.a) == Some(i64::from(v)),
            )
        }
        Cond::ALt(v) => {
            values.insert(":cv".into(), json!({"N": v.to_string()}));
            (
                Some("a < :cv".to_owned()),
                old.and_then(|o| o.a).is_some_and(|a| a < i64::from(v)),
            )
        }
        Cond::SBegins(x) => {
            let p = format!("s{}", x % 3);
            values.insert(":cp".into(), json!({"S": p}));
            (
                Some("begins_with(s, :cp)".to_owned()),
                old.and_then(|o| o.s.as_deref())
                    .is_some_and(|s| s.starts_with(&p)),
            )
        }
    };
    (expr, values, holds)
}

/// The update expression of `changes` (one clause per attribute at most, as DynamoDB
/// requires), its values, and the result on `old` — `None` if DynamoDB refuses it (an
/// arithmetic operand that does not exist).
fn update(
    changes: &[Change],
    old: Option<&Ref>,
) -> (String, serde_json::Map<String, Value>, Option<Ref>) {
    let mut values = serde_json::Map::new();
    let mut new = old.cloned().unwrap_or_default();
    let (mut set, mut add, mut remove) = (Vec::new(), Vec::new(), Vec::new());
    let mut touched = std::collections::HashSet::new();
    let mut ok = true;
    for (i, c) in changes.iter().take(4).enumerate() {
        let attribute = match c {
            Change::SetA(_)
            | Change::AddA(_)
            | Change::IncA(_)
            | Change::SetAIfNotExists(_)
            | Change::RemoveA => "a",
            Change::SetS(_) | Change::RemoveS => "s",
            Change::AppendL(_) => "l",
        };
        if !touched.insert(attribute) {
            continue;
        }
        let name = format!(":v{i}");
        match *c {
            Change::SetA(v) => {
                set.push(format!("a = {name}"));
                values.insert(name, json!({"N": v.to_string()}));
                new.a = Some(i64::from(v));
            }
            Change::AddA(v) => {
                add.push(format!("a {name}"));
                values.insert(name, json!({"N": v.to_string()}));
                new.a = Some(new.a.unwrap_or(0) + i64::from(v));
            }
            Change::IncA(v) => {
                set.push(format!("a = a + {name}"));
                values.insert(name, json!({"N": v.to_string()}));
                match new.a {
                    Some(a) => new.a = Some(a + i64::from(v)),
                    None => ok = false,
                }
            }
            Change::SetAIfNotExists(v) => {
                set.push(format!("a = if_not_exists(a, {name})"));
                values.insert(name, json!({"N": v.to_string()}));
                new.a = Some(new.a.unwrap_or(i64::from(v)));
            }
            Change::SetS(x) => {
                set.push(format!("s = {name}"));
                values.insert(name, json!({"S": text(x)}));
                new.s = Some(text(x));
            }
            Change::RemoveS => {
                remove.push("s".to_owned());
                new.s = None;
            }
            Change::RemoveA => {
                remove.push("a".to_owned());
                new.a = None;
            }
            Change::AppendL(v) => {
                set.push(format!("l = list_append(if_not_exists(l, :empty), {name})"));
                values.insert(name, json!({"L": [{"N": v.to_string()}]}));
                values.insert(":empty".into(), json!({"L": []}));
                new.l.get_or_insert_with(Vec::new).push(i64::from(v));
            }
        }
    }
    let mut expr = Vec::new();
    if !set.is_empty() {
        expr.push(format!("SET {}", set.join(", ")));
    }
    if !add.is_empty() {
        expr.push(format!("ADD {}", add.join(", ")));
    }
    if !remove.is_empty() {
        expr.push(format!("REMOVE {}", remove.join(", ")));
    }
    (expr.join(" "), values, ok.then_some(new))
}

fn open(fs: &Arc<MemFs>) -> Database {
    match Database::open(
        "/tables",
        strata_engine::Options::default()
            .file_system(fs.clone())
            .write_buffer_size(64 * 1024),
    ) {
        Ok(db) => db,
        Err(e) => panic!("the database does not open: {e}"),
    }
}

fn with_values(mut v: Value, values: serde_json::Map<String, Value>) -> Value {
    if !values.is_empty() {
        v["ExpressionAttributeValues"] = Value::Object(values);
    }
    v
}

/// Checks a write's outcome: done when the condition held, ConditionalCheckFailed otherwise.
fn outcome<T: std::fmt::Debug>(r: Result<T, TableError>, holds: bool, what: &str) -> bool {
    match (r, holds) {
        (Ok(_), true) => true,
        (Err(TableError::ConditionalCheckFailed { .. }), false) => false,
        (other, _) => panic!(
            "{what}: expected {}, got {other:?}",
            if holds {
                "success"
            } else {
                "ConditionalCheckFailed"
            }
        ),
    }
}

/// Runs one input.
pub fn run(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let mut ops = Vec::new();
    while ops.len() < 200 {
        match Op::arbitrary(&mut u) {
            Ok(op) => ops.push(op),
            Err(_) => break,
        }
    }
    let fs = Arc::new(MemFs::new());
    let mut db = open(&fs);
    if let Err(e) = db.create_table(req(json!({"TableName": "model",
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"},
                                 {"AttributeName": "sk", "AttributeType": "N"}],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                      {"AttributeName": "sk", "KeyType": "RANGE"}],
        "BillingMode": "PAY_PER_REQUEST"})))
    {
        panic!("CreateTable failed: {e}");
    }
    let mut model = Model::new();
    let mut reopens = 0;
    for op in ops {
        match op {
            Op::Put {
                pk: p,
                sk: s,
                a,
                s: text_of,
                cond,
            } => {
                let k = (p % 3, sk(s));
                let r = Ref {
                    a: a.map(i64::from),
                    s: text_of.map(text),
                    l: None,
                };
                let (expr, values, holds) = condition(cond, model.get(&k));
                let res = db.put_item(req(with_values(
                    json!({"TableName": "model", "Item": item_of(k, &r), "ConditionExpression": expr}),
                    values,
                )));
                if outcome(res, holds, "PutItem") {
                    model.insert(k, r);
                }
            }
            Op::Update {
                pk: p,
                sk: s,
                changes,
                cond,
            } => {
                let k = (p % 3, sk(s));
                let old = model.get(&k);
                let (expr, mut values, holds) = condition(cond, old);
                let (update_expr, update_values, new) = update(&changes, old);
                if update_expr.is_empty() {
                    continue;
                }
                values.extend(update_values);
                let key = json!({"pk": {"S": pk(k.0)}, "sk": {"N": k.1.to_string()}});
                let res = db.update_item(req(with_values(
                    json!({"TableName": "model", "Key": key, "UpdateExpression": update_expr,
                           "ConditionExpression": expr, "ReturnValues": "ALL_NEW"}),
                    values,
                )));
                match (res, holds, new) {
                    (Ok(out), true, Some(new)) => {
                        assert_eq!(out.attributes, Some(item_of(k, &new)), "UpdateItem {update_expr}");
                        model.insert(k, new);
                    }
                    (Err(TableError::ConditionalCheckFailed { .. }), false, _) => {}
                    (Err(TableError::Validation(m)), true, None) => {
                        assert!(m.contains("does not exist") || m.contains("operand"), "{m}");
                    }
                    (other, holds, new) => panic!(
                        "UpdateItem {update_expr} (condition holds: {holds}, model result {new:?}): {other:?}"
                    ),
                }
            }
            Op::Delete { pk: p, sk: s, cond } => {
                let k = (p % 3, sk(s));
                let (expr, values, holds) = condition(cond, model.get(&k));
                let key = json!({"pk": {"S": pk(k.0)}, "sk": {"N": k.1.to_string()}});
                let res = db.delete_item(req(with_values(
                    json!({"TableName": "model", "Key": key, "ConditionExpression": expr}),
                    values,
                )));
                if outcome(res, holds, "DeleteItem") {
                    model.remove(&k);
                }
            }
            Op::Get { pk: p, sk: s } => {
                let k = (p % 3, sk(s));
                let key = json!({"pk": {"S": pk(k.0)}, "sk": {"N": k.1.to_string()}});
                let got = match db.get_item(req(
                    json!({"TableName": "model", "Key": key, "ConsistentRead": true}),
                )) {
                    Ok(out) => out.item,
                    Err(e) => panic!("GetItem: {e}"),
                };
                assert_eq!(got, model.get(&k).map(|r| item_of(k, r)), "GetItem {k:?}");
            }
            Op::Query {
                pk: p,
                from,
                forward,
                limit,
            } => {
                let p = p % 3;
                let from = sk(from);
                let limit = usize::from(limit % 8) + 1;
                let out = match db.query(req(json!({"TableName": "model",
                    "KeyConditionExpression": "pk = :p AND sk >= :f",
                    "ExpressionAttributeValues": {":p": {"S": pk(p)}, ":f": {"N": from.to_string()}},
                    "ScanIndexForward": forward, "Limit": limit}))) {
                    Ok(out) => out,
                    Err(e) => panic!("Query: {e}"),
                };
                let mut want: Vec<Item> = model
                    .range((p, from)..=(p, u8::MAX))
                    .map(|(k, r)| item_of(*k, r))
                    .collect();
                if !forward {
                    want.reverse();
                }
                let more = want.len() >= limit;
                want.truncate(limit);
                assert_eq!(
                    out.items,
                    Some(want),
                    "Query p{p} from {from} forward {forward} limit {limit}"
                );
                assert_eq!(out.last_evaluated_key.is_some(), more, "LastEvaluatedKey");
            }
            Op::Reopen => {
                if reopens < 4 {
                    reopens += 1;
                    drop(db);
                    db = open(&fs);
                }
            }
        }
    }
}
