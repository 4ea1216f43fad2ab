//! Power loss under the server's write mode: item writes fsynced, the wait for the fsync
//! deferred (`DatabaseOptions::defer_sync_wait`) and awaited through `Database::durable`.
//! Writers of every kind (PutItem, UpdateItem, BatchWriteItem, TransactWriteItems) run
//! concurrently; each treats a write as acknowledged once `durable()` (or the blocking
//! `wait_durable()`) returned after it. The
//! database is then dropped without its closing sync and the in-memory file system loses
//! everything not synced: every acknowledged write must be there.

#![allow(clippy::unwrap_used, reason = "test code: a panic is a failed test")]

use serde_json::{json, Value};
use std::sync::Arc;
use strata_engine::fs::MemFs;
use strata_table::{AttributeValue, Database, DatabaseOptions};

fn req<T: serde::de::DeserializeOwned>(v: Value) -> T {
    serde_json::from_value(v).unwrap()
}

fn open(fs: &MemFs) -> Database {
    Database::open_with(
        "/db",
        strata_engine::Options::default()
            .file_system(Arc::new(fs.clone()))
            .write_buffer_size(64 * 1024),
        DatabaseOptions::new()
            .sync_writes(true)
            .defer_sync_wait(true),
    )
    .unwrap()
}

fn item(id: &str, v: u64) -> Value {
    json!({"id": {"S": id}, "v": {"N": v.to_string()}, "pad": {"S": "x".repeat(200)}})
}

/// What one writer had acknowledged: item ids, and its counter's value.
struct Acked {
    ids: Vec<String>,
    counter: u64,
}

fn writer(db: &Database, t: u32) -> Acked {
    let mut acked = Acked {
        ids: Vec::new(),
        counter: 0,
    };
    for i in 0..60u32 {
        let id = |n: u32| format!("w{t}-{i}-{n}");
        let written: Vec<String> = match i % 4 {
            0 => {
                db.put_item(req(json!({"TableName": "tbl", "Item": item(&id(0), 1)})))
                    .unwrap();
                vec![id(0)]
            }
            1 => {
                db.update_item(req(
                    json!({"TableName": "tbl", "Key": {"id": {"S": format!("c{t}")}},
                    "UpdateExpression": "ADD v :one",
                    "ExpressionAttributeValues": {":one": {"N": "1"}}}),
                ))
                .unwrap();
                vec![]
            }
            2 => {
                let out = db
                    .batch_write_item(req(json!({"RequestItems": {"tbl": [
                        {"PutRequest": {"Item": item(&id(0), 2)}},
                        {"PutRequest": {"Item": item(&id(1), 2)}}]}})))
                    .unwrap();
                assert!(out.unprocessed_items.is_empty());
                vec![id(0), id(1)]
            }
            _ => {
                db.transact_write_items(req(json!({"TransactItems": [
                    {"Put": {"TableName": "tbl", "Item": item(&id(0), 3)}},
                    {"Put": {"TableName": "tbl", "Item": item(&id(1), 3)}}]})))
                    .unwrap();
                vec![id(0), id(1)]
            }
        };
        if i % 2 == 0 {
            db.wait_durable().unwrap();
        } else {
            // What the server does.
            futures::executor::block_on(db.durable()).unwrap();
        }
        acked.ids.extend(written);
        if i % 4 == 1 {
            acked.counter += 1;
        }
    }
    acked
}

#[test]
fn every_write_acknowledged_after_durable_survives_power_loss() {
    let fs = MemFs::new();
    let db = open(&fs);
    db.create_table(req(json!({"TableName": "tbl",
        "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
        "BillingMode": "PAY_PER_REQUEST",
        "StreamSpecification": {"StreamEnabled": true, "StreamViewType": "NEW_IMAGE"}})))
        .unwrap();
    let acked: Vec<Acked> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4u32)
            .map(|t| {
                let db = &db;
                s.spawn(move || writer(db, t))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    // Power loss: close without the final sync, then drop what was never synced.
    let engine = db.engine().clone();
    drop(db);
    engine.abandon();
    fs.crash();

    let db = open(&fs);
    let get = |id: &str| {
        db.get_item(req(json!({"TableName": "tbl", "Key": {"id": {"S": id}},
            "ConsistentRead": true})))
            .unwrap()
            .item
    };
    for (t, a) in acked.iter().enumerate() {
        for id in &a.ids {
            assert!(get(id).is_some(), "writer {t} lost acknowledged item {id}");
        }
        let counter = get(&format!("c{t}")).map_or(0, |item| match item.get("v") {
            Some(AttributeValue::N(n)) => n.to_i64().unwrap() as u64,
            other => panic!("counter holds {other:?}"),
        });
        assert!(
            counter >= a.counter,
            "writer {t}: counter {counter} < {} acknowledged updates",
            a.counter
        );
    }
}
