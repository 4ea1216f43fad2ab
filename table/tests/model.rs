//! Model-based test of the table layer: random PutItem / UpdateItem / DeleteItem (with and
//! without conditions), Query (random sort-key conditions, both directions, paged with random
//! limits, filtered) and Scan (paged, segmented) against an in-memory reference, with the
//! database closed and reopened in between.
//!
//! `STRATA_TABLE_MODEL_OPS` sets the operations per seed (default 3000).

#![allow(clippy::unwrap_used, reason = "test code: a panic is a failed test")]

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use strata_table::model::*;
use strata_table::{AttributeValue, Database, Item, TableError};

fn req<T: serde::de::DeserializeOwned>(v: Value) -> T {
    serde_json::from_value(v).unwrap()
}

/// The reference: (pk, sk) → (a, b).
type Model = BTreeMap<(String, i64), (i64, String)>;

fn open(dir: &std::path::Path) -> Database {
    Database::open(
        dir,
        strata_engine::Options::default().write_buffer_size(256 * 1024),
    )
    .unwrap()
}

fn to_item(pk: &str, sk: i64, a: i64, b: &str) -> Value {
    json!({"pk": {"S": pk}, "sk": {"N": sk.to_string()}, "a": {"N": a.to_string()}, "b": {"S": b}})
}

fn from_item(item: &Item) -> ((String, i64), (i64, String)) {
    let n = |v: &AttributeValue| match v {
        AttributeValue::N(n) => n.to_i64().unwrap(),
        other => panic!("{other:?}"),
    };
    let s = |v: &AttributeValue| match v {
        AttributeValue::S(s) => s.clone(),
        other => panic!("{other:?}"),
    };
    (
        (s(&item["pk"]), n(&item["sk"])),
        (n(&item["a"]), s(&item["b"])),
    )
}

fn conditional(r: Result<WriteItemOutput, TableError>) -> bool {
    match r {
        Ok(_) => true,
        Err(TableError::ConditionalCheckFailed { .. }) => false,
        Err(e) => panic!("{e}"),
    }
}

fn run(seed: u64, ops: usize) {
    let dir = tempfile::tempdir().unwrap();
    let mut db = open(dir.path());
    db.create_table(req(json!({
        "TableName": "model",
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"},
                                 {"AttributeName": "sk", "AttributeType": "N"}],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                      {"AttributeName": "sk", "KeyType": "RANGE"}],
        "BillingMode": "PAY_PER_REQUEST"})))
        .unwrap();
    let mut rng = StdRng::seed_from_u64(seed);
    let mut model = Model::new();
    let pks = ["p0", "p1", "p2"];
    for op in 0..ops {
        let pk = pks[rng.gen_range(0..pks.len())].to_string();
        let sk: i64 = rng.gen_range(-20..20);
        let key = json!({"pk": {"S": pk}, "sk": {"N": sk.to_string()}});
        let exists = model.contains_key(&(pk.clone(), sk));
        match rng.gen_range(0..100) {
            0..=29 => {
                let (a, b) = (rng.gen_range(-50..50), format!("b{}", rng.gen_range(0..5)));
                let guarded = rng.gen_bool(0.3);
                let mut r = json!({"TableName": "model", "Item": to_item(&pk, sk, a, &b)});
                if guarded {
                    r["ConditionExpression"] = json!("attribute_not_exists(pk)");
                }
                let done = conditional(db.put_item(req(r)));
                assert_eq!(
                    done,
                    !guarded || !exists,
                    "seed {seed} op {op}: put condition"
                );
                if done {
                    model.insert((pk, sk), (a, b));
                }
            }
            30..=49 => {
                let d = rng.gen_range(-5..5);
                let limit = rng.gen_range(-50..50);
                let r = json!({"TableName": "model", "Key": key,
                    "UpdateExpression": "SET a = if_not_exists(a, :zero) + :d, b = if_not_exists(b, :b)",
                    "ConditionExpression": "attribute_not_exists(a) OR a < :limit",
                    "ExpressionAttributeValues": {":d": {"N": d.to_string()}, ":zero": {"N": "0"},
                        ":b": {"S": "new"}, ":limit": {"N": limit.to_string()}}});
                let current = model.get(&(pk.clone(), sk)).cloned();
                let expect = current.as_ref().is_none_or(|(a, _)| *a < limit);
                let done = conditional(db.update_item(req(r)));
                assert_eq!(done, expect, "seed {seed} op {op}: update condition");
                if done {
                    let (a, b) = current.unwrap_or((0, "new".into()));
                    model.insert((pk, sk), (a + d, b));
                }
            }
            50..=59 => {
                let min = rng.gen_range(-50..50);
                let r = json!({"TableName": "model", "Key": key, "ReturnValues": "ALL_OLD",
                    "ConditionExpression": "attribute_not_exists(pk) OR a >= :min",
                    "ExpressionAttributeValues": {":min": {"N": min.to_string()}}});
                let current = model.get(&(pk.clone(), sk)).cloned();
                let expect = current.as_ref().is_none_or(|(a, _)| *a >= min);
                let out = db.delete_item(req(r));
                match out {
                    Ok(o) => {
                        assert!(expect, "seed {seed} op {op}: delete went through");
                        assert_eq!(o.attributes.map(|i| from_item(&i).1), current);
                        model.remove(&(pk, sk));
                    }
                    Err(TableError::ConditionalCheckFailed { .. }) => assert!(!expect),
                    Err(e) => panic!("{e}"),
                }
            }
            60..=84 => {
                let (lo, hi) = {
                    let (x, y) = (rng.gen_range(-22..22), rng.gen_range(-22..22));
                    (x.min(y), x.max(y))
                };
                let (cond, pred): (&str, Box<dyn Fn(i64) -> bool>) = match rng.gen_range(0..5) {
                    0 => ("pk = :p", Box::new(|_| true)),
                    1 => (
                        "pk = :p AND sk BETWEEN :lo AND :hi",
                        Box::new(move |s| s >= lo && s <= hi),
                    ),
                    2 => ("pk = :p AND sk < :hi", Box::new(move |s| s < hi)),
                    3 => ("pk = :p AND sk >= :lo", Box::new(move |s| s >= lo)),
                    _ => ("pk = :p AND sk = :lo", Box::new(move |s| s == lo)),
                };
                let forward = rng.gen_bool(0.5);
                let filter_b = format!("b{}", rng.gen_range(0..5));
                let use_filter = rng.gen_bool(0.3);
                let mut want: Vec<(i64, i64, String)> = model
                    .range((pk.clone(), i64::MIN)..=(pk.clone(), i64::MAX))
                    .filter(|((_, s), (_, b))| pred(*s) && (!use_filter || *b == filter_b))
                    .map(|((_, s), (a, b))| (*s, *a, b.clone()))
                    .collect();
                if !forward {
                    want.reverse();
                }
                let mut values = json!({":p": {"S": pk}});
                for (k, v) in [(":lo", lo), (":hi", hi)] {
                    if cond.contains(k) {
                        values[k] = json!({"N": v.to_string()});
                    }
                }
                if use_filter {
                    values[":fb"] = json!({"S": filter_b});
                }
                let mut got = Vec::new();
                let mut start: Option<Item> = None;
                let limit = rng.gen_range(1..8);
                loop {
                    let mut r = json!({"TableName": "model", "KeyConditionExpression": cond,
                        "ExpressionAttributeValues": values, "ScanIndexForward": forward, "Limit": limit});
                    if use_filter {
                        r["FilterExpression"] = json!("b = :fb");
                    }
                    if let Some(s) = &start {
                        r["ExclusiveStartKey"] = serde_json::to_value(s).unwrap();
                    }
                    let out = db.query(req(r)).unwrap();
                    got.extend(out.items.unwrap().iter().map(|i| {
                        let ((_, s), (a, b)) = from_item(i);
                        (s, a, b)
                    }));
                    match out.last_evaluated_key {
                        Some(k) => start = Some(k),
                        None => break,
                    }
                }
                assert_eq!(
                    got, want,
                    "seed {seed} op {op}: query {cond} forward={forward}"
                );
            }
            85..=94 => {
                let total = rng.gen_range(1..4);
                let mut got = BTreeMap::new();
                for segment in 0..total {
                    let mut start: Option<Item> = None;
                    loop {
                        let mut r = json!({"TableName": "model", "Segment": segment,
                            "TotalSegments": total, "Limit": rng.gen_range(1..20)});
                        if let Some(s) = &start {
                            r["ExclusiveStartKey"] = serde_json::to_value(s).unwrap();
                        }
                        let out = db.scan(req(r)).unwrap();
                        for i in out.items.unwrap() {
                            let (k, v) = from_item(&i);
                            assert!(
                                got.insert(k, v).is_none(),
                                "seed {seed} op {op}: scanned twice"
                            );
                        }
                        match out.last_evaluated_key {
                            Some(k) => start = Some(k),
                            None => break,
                        }
                    }
                }
                assert_eq!(got, model, "seed {seed} op {op}: scan");
            }
            _ => {
                drop(db);
                db = open(dir.path());
            }
        }
    }
}

#[test]
fn random_operations_match_a_reference() {
    let ops = std::env::var("STRATA_TABLE_MODEL_OPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000);
    for seed in 0..2 {
        run(seed, ops);
    }
}
