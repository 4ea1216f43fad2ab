//! Batches and transactions: BatchWriteItem/BatchGetItem limits and results,
//! TransactWriteItems cancellation reasons in order, idempotency tokens, real contention
//! (TransactionConflict for the loser; single-item writes never surface conflicts),
//! TransactGetItems at one snapshot.

#![allow(clippy::unwrap_used, reason = "test code: a panic is a failed test")]

use serde_json::json;
use std::sync::Arc;
use strata_table::{AttributeValue, Database, TableError};

fn req<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> T {
    serde_json::from_value(v).unwrap()
}

fn setup() -> (tempfile::TempDir, Arc<Database>) {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path(), strata_engine::Options::default()).unwrap();
    for name in ["accounts", "audit"] {
        db.create_table(req(json!({
            "TableName": name,
            "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
            "BillingMode": "PAY_PER_REQUEST"
        })))
        .unwrap();
    }
    (dir, Arc::new(db))
}

fn balance(db: &Database, id: &str) -> Option<i64> {
    let out = db
        .get_item(req(
            json!({"TableName": "accounts", "Key": {"id": {"S": id}}}),
        ))
        .unwrap();
    out.item.map(|i| match &i["balance"] {
        AttributeValue::N(n) => n.to_i64().unwrap(),
        other => panic!("{other:?}"),
    })
}

#[test]
fn batch_write_and_get() {
    let (_d, db) = setup();
    let puts: Vec<_> = (0..25)
        .map(|i| json!({"PutRequest": {"Item": {"id": {"S": format!("a{i}")}, "balance": {"N": "10"}}}}))
        .collect();
    let out = db
        .batch_write_item(req(json!({"RequestItems": {"accounts": puts}})))
        .unwrap();
    assert!(out.unprocessed_items.is_empty());
    let too_many: Vec<_> = (0..26)
        .map(|i| json!({"DeleteRequest": {"Key": {"id": {"S": format!("a{i}")}}}}))
        .collect();
    let e = db
        .batch_write_item(req(json!({"RequestItems": {"accounts": too_many}})))
        .unwrap_err();
    assert_eq!(e.code(), "ValidationException");
    let dup = db
        .batch_write_item(req(json!({"RequestItems": {"accounts": [
        {"DeleteRequest": {"Key": {"id": {"S": "a1"}}}},
        {"PutRequest": {"Item": {"id": {"S": "a1"}}}}]}})))
        .unwrap_err();
    assert_eq!(
        dup.to_string(),
        "Provided list of item keys contains duplicates"
    );
    let got = db
        .batch_get_item(req(json!({"RequestItems": {"accounts": {
            "Keys": [{"id": {"S": "a3"}}, {"id": {"S": "missing"}}],
            "ProjectionExpression": "id"}}})))
        .unwrap();
    assert_eq!(got.responses["accounts"].len(), 1);
    assert_eq!(got.responses["accounts"][0].len(), 1);
    let missing_table = db
        .batch_get_item(req(
            json!({"RequestItems": {"nope": {"Keys": [{"id": {"S": "a"}}]}}}),
        ))
        .unwrap_err();
    assert_eq!(missing_table.code(), "ResourceNotFoundException");
}

#[test]
fn cancellation_reasons_come_in_order_and_nothing_is_written() {
    let (_d, db) = setup();
    db.put_item(req(
        json!({"TableName": "accounts", "Item": {"id": {"S": "a"}, "balance": {"N": "5"}}}),
    ))
    .unwrap();
    let e = db
        .transact_write_items(req(json!({"TransactItems": [
            {"Update": {"TableName": "accounts", "Key": {"id": {"S": "a"}},
                "UpdateExpression": "SET balance = balance - :x", "ConditionExpression": "balance >= :x",
                "ExpressionAttributeValues": {":x": {"N": "3"}}}},
            {"ConditionCheck": {"TableName": "accounts", "Key": {"id": {"S": "b"}},
                "ConditionExpression": "attribute_exists(id)", "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}},
            {"Put": {"TableName": "audit", "Item": {"id": {"S": "t1"}}}}
        ]})))
        .unwrap_err();
    let TableError::TransactionCanceled { reasons } = &e else {
        panic!("{e}")
    };
    let codes: Vec<&str> = reasons.iter().map(|r| r.code.as_str()).collect();
    assert_eq!(codes, ["None", "ConditionalCheckFailed", "None"]);
    assert_eq!(e.to_string(), "Transaction cancelled, please refer cancellation reasons for specific reasons [None, ConditionalCheckFailed, None]");
    assert_eq!(balance(&db, "a"), Some(5));
    let audit = db
        .get_item(req(
            json!({"TableName": "audit", "Key": {"id": {"S": "t1"}}}),
        ))
        .unwrap();
    assert!(audit.item.is_none());
    let same_item = db
        .transact_write_items(req(json!({"TransactItems": [
            {"Put": {"TableName": "accounts", "Item": {"id": {"S": "a"}}}},
            {"Delete": {"TableName": "accounts", "Key": {"id": {"S": "a"}}}}]})))
        .unwrap_err();
    assert_eq!(
        same_item.to_string(),
        "Transaction request cannot include multiple operations on one item"
    );
}

#[test]
fn client_request_tokens_make_transactions_idempotent() {
    let (_d, db) = setup();
    db.put_item(req(
        json!({"TableName": "accounts", "Item": {"id": {"S": "a"}, "balance": {"N": "0"}}}),
    ))
    .unwrap();
    let r = json!({"ClientRequestToken": "tok-1", "TransactItems": [
        {"Update": {"TableName": "accounts", "Key": {"id": {"S": "a"}},
            "UpdateExpression": "ADD balance :one", "ExpressionAttributeValues": {":one": {"N": "1"}}}}]});
    db.transact_write_items(req(r.clone())).unwrap();
    db.transact_write_items(req(r.clone())).unwrap();
    assert_eq!(balance(&db, "a"), Some(1), "a retried token applied twice");
    let mut other = r.clone();
    other["TransactItems"][0]["Update"]["ExpressionAttributeValues"][":one"]["N"] = json!("2");
    let e = db.transact_write_items(req(other)).unwrap_err();
    assert_eq!(e.code(), "IdempotentParameterMismatchException");
}

#[test]
fn contention_cancels_the_loser_with_transaction_conflict() {
    let (_d, db) = setup();
    db.put_item(req(
        json!({"TableName": "accounts", "Item": {"id": {"S": "hot"}, "balance": {"N": "0"}}}),
    ))
    .unwrap();
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let db = db.clone();
            std::thread::spawn(move || {
                let (mut ok, mut conflicts) = (0, 0);
                for _ in 0..150 {
                    // Read-modify-write through a condition, so concurrent commits conflict.
                    let current = balance(&db, "hot").unwrap();
                    let r = db.transact_write_items(req(json!({"TransactItems": [
                        {"Update": {"TableName": "accounts", "Key": {"id": {"S": "hot"}},
                            "UpdateExpression": "SET balance = :new", "ConditionExpression": "balance = :old",
                            "ExpressionAttributeValues": {":new": {"N": (current + 1).to_string()}, ":old": {"N": current.to_string()}}}}]})));
                    match r {
                        Ok(_) => ok += 1,
                        Err(TableError::TransactionCanceled { reasons }) => {
                            assert_eq!(reasons.len(), 1);
                            assert!(["TransactionConflict", "ConditionalCheckFailed"].contains(&reasons[0].code.as_str()), "{reasons:?}");
                            conflicts += usize::from(reasons[0].code == "TransactionConflict");
                        }
                        Err(e) => panic!("{e}"),
                    }
                    // Single-item writes to the same item never surface an engine conflict.
                    db.update_item(req(json!({"TableName": "accounts", "Key": {"id": {"S": "other"}},
                        "UpdateExpression": "ADD n :one", "ExpressionAttributeValues": {":one": {"N": "1"}}}))).unwrap();
                }
                (ok, conflicts)
            })
        })
        .collect();
    let (mut total_ok, mut total_conflicts) = (0, 0);
    for t in threads {
        let (ok, conflicts) = t.join().unwrap();
        total_ok += ok;
        total_conflicts += conflicts;
    }
    eprintln!("{total_ok} committed, {total_conflicts} cancelled on TransactionConflict");
    assert!(
        total_conflicts > 0,
        "no contention happened: the test did not test it"
    );
    assert_eq!(
        balance(&db, "hot"),
        Some(total_ok),
        "every committed increment counted once"
    );
    let other = db
        .get_item(req(
            json!({"TableName": "accounts", "Key": {"id": {"S": "other"}}}),
        ))
        .unwrap();
    assert_eq!(other.item.unwrap()["n"], AttributeValue::n("600").unwrap());
}

#[test]
fn transact_get_reads_one_snapshot() {
    let (_d, db) = setup();
    db.put_item(req(
        json!({"TableName": "accounts", "Item": {"id": {"S": "a"}, "balance": {"N": "1"}}}),
    ))
    .unwrap();
    let out = db
        .transact_get_items(req(json!({"TransactItems": [
            {"Get": {"TableName": "accounts", "Key": {"id": {"S": "a"}}}},
            {"Get": {"TableName": "accounts", "Key": {"id": {"S": "none"}}}}]})))
        .unwrap();
    let r = out.responses.unwrap();
    assert!(r[0].item.is_some() && r[1].item.is_none());
}
