//! A loop of one table-layer operation to run under a profiler: 20k items of 1 KB in
//! partitions of 100 (as `table-put` writes them), each updated once (as `table-update`
//! leaves them: two versions of every item), then `OP` for `SECONDS`, every request built
//! before its batch is timed. Prints the operation's rate.
//!
//! ```sh
//! cargo build --release -p strata-bench --example table_profile
//! perf record --call-graph dwarf -- target/release/examples/table_profile query 5
//! ```
//!
//! `OP`: `query` (a 100-item Query returning owned items), `query-stored` (the same through
//! `query_stored`, reading attribute `v` of each item in place), `get`, `put`.

#![allow(clippy::unwrap_used, reason = "a profiling loop: a failure is a panic")]

use serde_json::{json, Value};
use std::time::Instant;
use strata_table::model::{GetItemInput, PutItemInput, QueryInput};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const ITEMS: u64 = 20_000;

enum Op {
    Get(GetItemInput),
    Put(PutItemInput),
    Query(QueryInput),
}

fn key(i: u64) -> Value {
    json!({"pk": {"S": format!("{:016}", i / 100)}, "sk": {"N": (i % 100).to_string()}})
}

fn put(i: u64, value: &str) -> PutItemInput {
    let mut item = key(i);
    item["v"] = json!({"S": value});
    serde_json::from_value(json!({"TableName": "bench", "Item": item})).unwrap()
}

fn main() {
    let op = std::env::args().nth(1).unwrap_or_else(|| "query".into());
    let seconds: f64 = std::env::args()
        .nth(2)
        .map_or(5.0, |s| s.parse().expect("SECONDS is a number"));
    let dir = tempfile::tempdir().unwrap();
    let db = strata_table::Database::open(dir.path(), Default::default()).unwrap();
    db.create_table(
        serde_json::from_value(json!({"TableName": "bench",
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"},
                                     {"AttributeName": "sk", "AttributeType": "N"}],
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                          {"AttributeName": "sk", "KeyType": "RANGE"}],
            "BillingMode": "PAY_PER_REQUEST"}))
        .unwrap(),
    )
    .unwrap();
    let value = "x".repeat(1000);
    for i in 0..ITEMS {
        db.put_item(put(i, &value)).unwrap();
    }
    for i in 0..ITEMS {
        db.update_item(
            serde_json::from_value(json!({"TableName": "bench", "Key": key(i),
                "UpdateExpression": "ADD hits :one",
                "ExpressionAttributeValues": {":one": {"N": "1"}}}))
            .unwrap(),
        )
        .unwrap();
    }
    let (start, mut ops, mut busy) = (Instant::now(), 0u64, 0f64);
    while start.elapsed().as_secs_f64() < seconds {
        let batch: Vec<Op> = (0..100u64)
            .map(|j| {
                let i = (ops + j) * 7919 % ITEMS;
                match op.as_str() {
                    "get" => Op::Get(
                        serde_json::from_value(json!({"TableName": "bench", "Key": key(i)}))
                            .unwrap(),
                    ),
                    "put" => Op::Put(put(i, &value)),
                    _ => Op::Query(
                        serde_json::from_value(json!({"TableName": "bench",
                            "KeyConditionExpression": "pk = :p",
                            "ExpressionAttributeValues": {":p": {"S": format!("{:016}", i / 100)}}}))
                        .unwrap(),
                    ),
                }
            })
            .collect();
        let t = Instant::now();
        for request in batch {
            match request {
                Op::Get(g) => assert!(db.get_item(g).unwrap().item.is_some()),
                Op::Put(p) => {
                    db.put_item(p).unwrap();
                }
                Op::Query(q) if op == "query-stored" => {
                    let out = db.query_stored(q).unwrap();
                    let found = out
                        .items
                        .iter()
                        .flatten()
                        .filter(|item| item.get("v").unwrap().is_some());
                    assert_eq!(found.count(), 100);
                }
                Op::Query(q) => assert_eq!(db.query(q).unwrap().count, 100),
            }
            ops += 1;
        }
        busy += t.elapsed().as_secs_f64();
    }
    println!(
        "{op}: {:.1}k/s ({:.2} µs each)",
        ops as f64 / busy / 1e3,
        busy * 1e6 / ops as f64
    );
}
