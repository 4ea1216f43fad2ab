//! Table streams: every change that changes an item appends exactly one record with the
//! right event name and images, in the same commit; no-op writes and failed conditions append
//! nothing; the DynamoDB Streams operations list, describe and read them; disabling and
//! re-enabling starts a new stream while the old one stays readable.

#![allow(clippy::unwrap_used, reason = "test code: a panic is a failed test")]

use serde_json::{json, Value};
use strata_table::stream_api::*;
use strata_table::{Database, TableError};

fn req<T: serde::de::DeserializeOwned>(v: Value) -> T {
    serde_json::from_value(v).unwrap()
}

fn read_all(db: &Database, arn: &str) -> Vec<Record> {
    let desc = db
        .describe_stream(req(json!({"StreamArn": arn})))
        .unwrap()
        .stream_description
        .unwrap();
    let mut out = Vec::new();
    for shard in desc.shards.unwrap() {
        let mut it = db
            .get_shard_iterator(req(json!({"StreamArn": arn, "ShardId": shard.shard_id,
                "ShardIteratorType": "TRIM_HORIZON"})))
            .unwrap()
            .shard_iterator;
        while let Some(token) = it {
            let page = db
                .get_records(req(json!({"ShardIterator": token, "Limit": 3})))
                .unwrap();
            let got = page.records.unwrap();
            let empty = got.is_empty();
            out.extend(got);
            it = if empty {
                None
            } else {
                page.next_shard_iterator
            };
        }
    }
    out.sort_by(|a, b| a.dynamodb.sequence_number.cmp(&b.dynamodb.sequence_number));
    out
}

fn summary(r: &Record) -> (String, String) {
    let keys = r.dynamodb.keys.as_ref().unwrap();
    let id = match &keys["id"] {
        strata_table::AttributeValue::S(s) => s.clone(),
        other => panic!("{other:?}"),
    };
    (r.event_name.clone(), id)
}

#[test]
fn changes_append_records_and_no_ops_do_not() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path(), Default::default()).unwrap();
    let created = db
        .create_table(req(json!({"TableName": "orders",
            "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
            "BillingMode": "PAY_PER_REQUEST",
            "StreamSpecification": {"StreamEnabled": true, "StreamViewType": "NEW_AND_OLD_IMAGES"}})))
        .unwrap()
        .table_description
        .unwrap();
    let arn = created.latest_stream_arn.clone().unwrap();
    assert!(arn.starts_with("arn:aws:dynamodb:us-east-1:000000000000:table/orders/stream/"));
    let put = |id: &str, n: &str| {
        db.put_item(req(
            json!({"TableName": "orders", "Item": {"id": {"S": id}, "n": {"N": n}}}),
        ))
        .unwrap();
    };
    put("a", "1"); // INSERT
    put("a", "1.0"); // identical by value: nothing
    put("a", "2"); // MODIFY
    db.update_item(req(
        json!({"TableName": "orders", "Key": {"id": {"S": "a"}},
        "UpdateExpression": "SET n = :n", "ExpressionAttributeValues": {":n": {"N": "2"}}}),
    ))
    .unwrap(); // nothing
    db.update_item(req(
        json!({"TableName": "orders", "Key": {"id": {"S": "a"}},
        "UpdateExpression": "REMOVE gone"}),
    ))
    .unwrap(); // nothing
    let failed = db.put_item(req(
        json!({"TableName": "orders", "Item": {"id": {"S": "a"}},
        "ConditionExpression": "attribute_not_exists(id)"}),
    ));
    assert!(matches!(
        failed,
        Err(TableError::ConditionalCheckFailed { .. })
    ));
    db.delete_item(req(
        json!({"TableName": "orders", "Key": {"id": {"S": "nobody"}}}),
    ))
    .unwrap(); // nothing
    db.transact_write_items(req(json!({"TransactItems": [
        {"Put": {"TableName": "orders", "Item": {"id": {"S": "b"}}}},
        {"Update": {"TableName": "orders", "Key": {"id": {"S": "a"}}, "UpdateExpression": "ADD n :one",
            "ExpressionAttributeValues": {":one": {"N": "1"}}}}]}))).unwrap(); // INSERT b, MODIFY a
    db.batch_write_item(req(json!({"RequestItems": {"orders": [
        {"DeleteRequest": {"Key": {"id": {"S": "b"}}}},
        {"PutRequest": {"Item": {"id": {"S": "c"}}}}]}})))
        .unwrap(); // REMOVE b, INSERT c
    db.delete_item(req(
        json!({"TableName": "orders", "Key": {"id": {"S": "a"}}}),
    ))
    .unwrap(); // REMOVE a
    let records = read_all(&db, &arn);
    let got: Vec<(String, String)> = records.iter().map(summary).collect();
    let want: Vec<(String, String)> = [
        ("INSERT", "a"),
        ("MODIFY", "a"),
        ("INSERT", "b"),
        ("MODIFY", "a"),
        ("REMOVE", "b"),
        ("INSERT", "c"),
        ("REMOVE", "a"),
    ]
    .iter()
    .map(|(e, k)| (e.to_string(), k.to_string()))
    .collect();
    // Records of one transaction or batch commit together; their relative order follows the
    // request within the commit.
    let mut got_sorted = got.clone();
    let mut want_sorted = want.clone();
    got_sorted.sort();
    want_sorted.sort();
    assert_eq!(got_sorted, want_sorted);
    let a_events: Vec<&str> = got
        .iter()
        .filter(|(_, k)| k == "a")
        .map(|(e, _)| e.as_str())
        .collect();
    assert_eq!(
        a_events,
        ["INSERT", "MODIFY", "MODIFY", "REMOVE"],
        "one item's changes in order"
    );
    let modify = &records[1];
    assert_eq!(
        modify.dynamodb.old_image.as_ref().unwrap()["n"],
        strata_table::AttributeValue::n("1").unwrap()
    );
    assert_eq!(
        modify.dynamodb.new_image.as_ref().unwrap()["n"],
        strata_table::AttributeValue::n("2").unwrap()
    );
    assert_eq!(modify.event_source, "aws:dynamodb");
    assert_eq!(modify.dynamodb.sequence_number.as_ref().unwrap().len(), 21);
    assert!(records.last().unwrap().dynamodb.new_image.is_none());
}

#[test]
fn disabling_and_reenabling_starts_a_new_stream() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path(), Default::default()).unwrap();
    db.create_table(req(json!({"TableName": "tbl",
        "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
        "BillingMode": "PAY_PER_REQUEST",
        "StreamSpecification": {"StreamEnabled": true, "StreamViewType": "KEYS_ONLY"}})))
        .unwrap();
    db.put_item(req(json!({"TableName": "tbl", "Item": {"id": {"S": "x"}}})))
        .unwrap();
    let first = db
        .describe_table(req(json!({"TableName": "tbl"})))
        .unwrap()
        .table
        .unwrap();
    let first_arn = first.latest_stream_arn.unwrap();
    let e = db
        .update_table(req(json!({"TableName": "tbl",
        "StreamSpecification": {"StreamEnabled": true, "StreamViewType": "KEYS_ONLY"}})))
        .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("Table already has an enabled stream"),
        "{e}"
    );
    db.update_table(req(
        json!({"TableName": "tbl", "StreamSpecification": {"StreamEnabled": false}}),
    ))
    .unwrap();
    db.put_item(req(json!({"TableName": "tbl", "Item": {"id": {"S": "y"}}})))
        .unwrap(); // no stream: no record
    std::thread::sleep(std::time::Duration::from_millis(5));
    db.update_table(req(json!({"TableName": "tbl",
        "StreamSpecification": {"StreamEnabled": true, "StreamViewType": "NEW_IMAGE"}})))
        .unwrap();
    db.put_item(req(json!({"TableName": "tbl", "Item": {"id": {"S": "z"}}})))
        .unwrap();
    let second = db
        .describe_table(req(json!({"TableName": "tbl"})))
        .unwrap()
        .table
        .unwrap();
    let second_arn = second.latest_stream_arn.unwrap();
    assert_ne!(first_arn, second_arn);
    let old: Vec<_> = read_all(&db, &first_arn).iter().map(summary).collect();
    assert_eq!(old, [("INSERT".to_string(), "x".to_string())]);
    let new: Vec<_> = read_all(&db, &second_arn).iter().map(summary).collect();
    assert_eq!(new, [("INSERT".to_string(), "z".to_string())]);
    let listed = db
        .list_streams(req(json!({"TableName": "tbl"})))
        .unwrap()
        .streams
        .unwrap();
    assert_eq!(listed.len(), 2);
    let status = db
        .describe_stream(req(json!({"StreamArn": first_arn})))
        .unwrap()
        .stream_description
        .unwrap()
        .stream_status;
    assert_eq!(status.as_deref(), Some("DISABLED"));
}

#[test]
fn concurrent_writers_records_follow_each_items_versions() {
    let dir = tempfile::tempdir().unwrap();
    let db = std::sync::Arc::new(Database::open(dir.path(), Default::default()).unwrap());
    let arn = db
        .create_table(req(json!({"TableName": "hot",
            "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
            "BillingMode": "PAY_PER_REQUEST",
            "StreamSpecification": {"StreamEnabled": true, "StreamViewType": "NEW_IMAGE"}})))
        .unwrap()
        .table_description
        .unwrap()
        .latest_stream_arn
        .unwrap();
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let db = db.clone();
            std::thread::spawn(move || {
                for i in 0..200 {
                    let id = format!("item{}", (i + w) % 5);
                    db.update_item(req(json!({"TableName": "hot", "Key": {"id": {"S": id}},
                        "UpdateExpression": "ADD v :one",
                        "ExpressionAttributeValues": {":one": {"N": "1"}}})))
                        .unwrap();
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    let records = read_all(&db, &arn);
    assert_eq!(records.len(), 800);
    let mut last: std::collections::HashMap<String, i64> = Default::default();
    for r in &records {
        let (_, id) = summary(r);
        let v = match &r.dynamodb.new_image.as_ref().unwrap()["v"] {
            strata_table::AttributeValue::N(n) => n.to_i64().unwrap(),
            other => panic!("{other:?}"),
        };
        let prev = last.insert(id.clone(), v).unwrap_or(0);
        assert_eq!(v, prev + 1, "{id}: version {v} after {prev}");
    }
}
