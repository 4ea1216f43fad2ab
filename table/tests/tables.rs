//! Table operations: CreateTable validation (DynamoDB's messages), DescribeTable, paginated
//! ListTables, UpdateTable, DeleteTable; persistence across reopen; a deleted and recreated
//! table starts empty; capacity reporting.

#![allow(clippy::unwrap_used, reason = "test code: a panic is a failed test")]

use serde_json::{json, Value};
use strata_table::{Database, TableError};

fn req<T: serde::de::DeserializeOwned>(v: Value) -> T {
    serde_json::from_value(v).unwrap()
}

fn simple(name: &str) -> Value {
    json!({"TableName": name,
        "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
        "BillingMode": "PAY_PER_REQUEST"})
}

fn err(r: Result<impl std::fmt::Debug, TableError>) -> (String, String) {
    let e = r.unwrap_err();
    (e.code().to_owned(), e.to_string())
}

#[test]
fn create_table_validates_like_dynamodb() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path(), Default::default()).unwrap();
    let cases = [
        (json!({"TableName": "ab", "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
                "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}], "BillingMode": "PAY_PER_REQUEST"}),
         "1 validation error detected: Value 'ab' at 'tableName' failed to satisfy constraint: Member must have length greater than or equal to 3"),
        (json!({"TableName": "bad name!", "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
                "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}], "BillingMode": "PAY_PER_REQUEST"}),
         "1 validation error detected: Value 'bad name!' at 'tableName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"),
        (json!({"TableName": "tbl", "AttributeDefinitions": [{"AttributeName": "x", "AttributeType": "S"}],
                "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}], "BillingMode": "PAY_PER_REQUEST"}),
         "One or more parameter values were invalid: Some index key attributes are not defined in AttributeDefinitions. Keys: [id], AttributeDefinitions: [x]"),
        (json!({"TableName": "tbl", "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}, {"AttributeName": "x", "AttributeType": "S"}],
                "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}], "BillingMode": "PAY_PER_REQUEST"}),
         "One or more parameter values were invalid: Number of attributes in KeySchema does not exactly match number of attributes defined in AttributeDefinitions"),
        (json!({"TableName": "tbl", "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}, {"AttributeName": "r", "AttributeType": "N"}],
                "KeySchema": [{"AttributeName": "r", "KeyType": "RANGE"}, {"AttributeName": "id", "KeyType": "HASH"}], "BillingMode": "PAY_PER_REQUEST"}),
         "Invalid KeySchema: The first KeySchemaElement is not a HASH key type"),
        (json!({"TableName": "tbl", "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "X"}],
                "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}], "BillingMode": "PAY_PER_REQUEST"}),
         "1 validation error detected: Value 'X' at 'attributeDefinitions.1.member.attributeType' failed to satisfy constraint: Member must satisfy enum value set: [B, N, S]"),
        (json!({"TableName": "tbl", "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
                "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}]}),
         "One or more parameter values were invalid: ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED"),
        (json!({"TableName": "tbl", "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
                "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}], "BillingMode": "PAY_PER_REQUEST",
                "ProvisionedThroughput": {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1}}),
         "One or more parameter values were invalid: Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST"),
    ];
    for (r, want) in cases {
        let (code, msg) = err(db.create_table(req(r)));
        assert_eq!((code.as_str(), msg.as_str()), ("ValidationException", want));
    }
    db.create_table(req(simple("tbl"))).unwrap();
    let (code, msg) = err(db.create_table(req(simple("tbl"))));
    assert_eq!(
        (code.as_str(), msg.as_str()),
        ("ResourceInUseException", "Table already exists: tbl")
    );
    let (code, msg) = err(db.describe_table(req(json!({"TableName": "nope"}))));
    assert_eq!(
        (code.as_str(), msg.as_str()),
        (
            "ResourceNotFoundException",
            "Requested resource not found: Table: nope not found"
        )
    );
}

#[test]
fn tables_persist_list_paginates_and_delete_frees_the_name() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = Database::open(dir.path(), Default::default()).unwrap();
        for i in 0..7 {
            db.create_table(req(simple(&format!("t{i:02}")))).unwrap();
        }
        db.put_item(req(
            json!({"TableName": "t03", "Item": {"id": {"S": "x"}, "v": {"N": "1"}}}),
        ))
        .unwrap();
        let d = db
            .describe_table(req(json!({"TableName": "t03"})))
            .unwrap()
            .table
            .unwrap();
        assert_eq!(d.item_count, Some(1));
        assert_eq!(d.table_status.as_deref(), Some("ACTIVE"));
        assert_eq!(
            d.table_arn.as_deref(),
            Some("arn:aws:dynamodb:us-east-1:000000000000:table/t03")
        );
    }
    let db = Database::open(dir.path(), Default::default()).unwrap();
    let mut names = Vec::new();
    let mut start: Option<String> = None;
    loop {
        let mut r = json!({"Limit": 3});
        if let Some(s) = &start {
            r["ExclusiveStartTableName"] = json!(s);
        }
        let out = db.list_tables(req(r)).unwrap();
        names.extend(out.table_names.unwrap());
        match out.last_evaluated_table_name {
            Some(s) => start = Some(s),
            None => break,
        }
    }
    assert_eq!(
        names,
        (0..7).map(|i| format!("t{i:02}")).collect::<Vec<_>>()
    );
    let got = db
        .get_item(req(json!({"TableName": "t03", "Key": {"id": {"S": "x"}}})))
        .unwrap();
    assert!(got.item.is_some(), "items survive a reopen");
    let deleted = db.delete_table(req(json!({"TableName": "t03"}))).unwrap();
    assert_eq!(
        deleted.table_description.unwrap().table_status.as_deref(),
        Some("DELETING")
    );
    let (code, _) = err(db.get_item(req(json!({"TableName": "t03", "Key": {"id": {"S": "x"}}}))));
    assert_eq!(code, "ResourceNotFoundException");
    db.create_table(req(simple("t03"))).unwrap();
    let got = db
        .get_item(req(json!({"TableName": "t03", "Key": {"id": {"S": "x"}}})))
        .unwrap();
    assert!(got.item.is_none(), "a recreated table starts empty");
    drop(db);
    let db = Database::open(dir.path(), Default::default()).unwrap();
    assert_eq!(
        db.list_tables(req(json!({})))
            .unwrap()
            .table_names
            .unwrap()
            .len(),
        7
    );
}

#[test]
fn update_table_and_deletion_protection() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path(), Default::default()).unwrap();
    db.create_table(req(json!({"TableName": "prov",
        "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
        "ProvisionedThroughput": {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5},
        "DeletionProtectionEnabled": true})))
        .unwrap();
    let (code, _) = err(db.delete_table(req(json!({"TableName": "prov"}))));
    assert_eq!(code, "ValidationException");
    let out = db
        .update_table(req(json!({"TableName": "prov",
        "ProvisionedThroughput": {"ReadCapacityUnits": 10, "WriteCapacityUnits": 5},
        "DeletionProtectionEnabled": false})))
        .unwrap();
    let t = out.table_description.unwrap();
    assert_eq!(
        t.provisioned_throughput.unwrap().read_capacity_units,
        Some(10)
    );
    db.update_table(req(
        json!({"TableName": "prov", "BillingMode": "PAY_PER_REQUEST"}),
    ))
    .unwrap();
    let d = db
        .describe_table(req(json!({"TableName": "prov"})))
        .unwrap()
        .table
        .unwrap();
    assert_eq!(
        d.billing_mode_summary.unwrap().billing_mode.as_deref(),
        Some("PAY_PER_REQUEST")
    );
    db.delete_table(req(json!({"TableName": "prov"}))).unwrap();
}

#[test]
fn consumed_capacity_follows_item_sizes() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path(), Default::default()).unwrap();
    db.create_table(req(simple("cap"))).unwrap();
    let big = "x".repeat(5000);
    let out = db
        .put_item(req(
            json!({"TableName": "cap", "Item": {"id": {"S": "a"}, "v": {"S": big}},
        "ReturnConsumedCapacity": "TOTAL"}),
        ))
        .unwrap();
    let c = out.consumed_capacity.unwrap();
    assert_eq!(
        (c.table_name.as_deref(), c.capacity_units),
        (Some("cap"), Some(5.0))
    );
    let got = db
        .get_item(req(json!({"TableName": "cap", "Key": {"id": {"S": "a"}},
        "ReturnConsumedCapacity": "TOTAL", "ConsistentRead": true})))
        .unwrap();
    assert_eq!(got.consumed_capacity.unwrap().capacity_units, Some(2.0));
    let got = db
        .get_item(req(json!({"TableName": "cap", "Key": {"id": {"S": "a"}},
        "ReturnConsumedCapacity": "TOTAL"})))
        .unwrap();
    assert_eq!(got.consumed_capacity.unwrap().capacity_units, Some(1.0));
    let (code, _) = err(
        db.get_item(req(json!({"TableName": "cap", "Key": {"id": {"S": "a"}},
        "ReturnConsumedCapacity": "SOME"}))),
    );
    assert_eq!(code, "ValidationException");
}

#[test]
fn an_interrupted_table_creation_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    {
        // What a crash between creating a table's keyspace and writing its catalog entry
        // leaves: a keyspace nothing names.
        let engine = strata_engine::Db::open(dir.path(), Default::default()).unwrap();
        let orphan = engine.keyspace("table/ghost/99").unwrap();
        orphan.put("k", "v").unwrap();
    }
    let db = Database::open(dir.path(), Default::default()).unwrap();
    assert!(!db
        .engine()
        .keyspace_names()
        .iter()
        .any(|n| n.contains("ghost")));
    assert!(db
        .list_tables(req(json!({})))
        .unwrap()
        .table_names
        .unwrap()
        .is_empty());
}

/// DIFFERENCES.md B1: a 255-character name (the most DynamoDB allows) is a valid table, with
/// a stream, across a reopen; keyspaces are named by the table's id, not its name.
#[test]
fn the_longest_table_names_work_with_streams() {
    let dir = tempfile::tempdir().unwrap();
    let name = "t".repeat(255);
    {
        let db = Database::open(dir.path(), Default::default()).unwrap();
        let mut create = simple(&name);
        create["StreamSpecification"] =
            json!({"StreamEnabled": true, "StreamViewType": "NEW_IMAGE"});
        db.create_table(req(create)).unwrap();
        db.put_item(req(json!({"TableName": name, "Item": {"id": {"S": "a"}}})))
            .unwrap();
        // A second stream (disable, re-enable) on the same table.
        db.update_table(req(json!({"TableName": name,
            "StreamSpecification": {"StreamEnabled": false}})))
            .unwrap();
        db.update_table(req(json!({"TableName": name,
            "StreamSpecification": {"StreamEnabled": true, "StreamViewType": "KEYS_ONLY"}})))
            .unwrap();
        db.put_item(req(json!({"TableName": name, "Item": {"id": {"S": "b"}}})))
            .unwrap();
    }
    let db = Database::open(dir.path(), Default::default()).unwrap();
    let got = db
        .get_item(req(
            json!({"TableName": name, "Key": {"id": {"S": "a"}}, "ConsistentRead": true}),
        ))
        .unwrap();
    assert!(got.item.is_some());
    let streams = db.list_streams(req(json!({}))).unwrap().streams.unwrap();
    assert_eq!(streams.len(), 2);
    // The latest stream's record of `b` reads back.
    let arn = db
        .describe_table(req(json!({"TableName": name})))
        .unwrap()
        .table
        .unwrap()
        .latest_stream_arn
        .unwrap();
    let shards = db
        .describe_stream(req(json!({"StreamArn": arn})))
        .unwrap()
        .stream_description
        .unwrap()
        .shards
        .unwrap();
    let mut records = 0;
    for shard in shards {
        let it = db
            .get_shard_iterator(req(json!({"StreamArn": arn, "ShardId": shard.shard_id,
                "ShardIteratorType": "TRIM_HORIZON"})))
            .unwrap()
            .shard_iterator
            .unwrap();
        let page = db.get_records(req(json!({"ShardIterator": it}))).unwrap();
        records += page.records.unwrap().len();
    }
    assert_eq!(records, 1);
    assert!(db
        .engine()
        .keyspace_names()
        .iter()
        .all(|n| n.len() < 100 && !n.contains(&name)));
    db.delete_table(req(json!({"TableName": name}))).unwrap();
}

/// Catalog entries written before keyspaces were named by id (no `named_by_id` field) keep
/// opening their name-based keyspaces.
#[test]
fn tables_from_before_id_named_keyspaces_still_open() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = Database::open(dir.path(), Default::default()).unwrap();
        db.create_table(req(simple("old"))).unwrap();
    }
    {
        // Rewrite the entry as the earlier version stored it, with its items in the
        // keyspace that version named.
        let engine = strata_engine::Db::open(dir.path(), Default::default()).unwrap();
        let catalog = engine.keyspace("sys/tables").unwrap();
        let mut entry: Value =
            serde_json::from_slice(&catalog.get("table/old").unwrap().unwrap()).unwrap();
        let id = entry["id"].as_u64().unwrap();
        entry.as_object_mut().unwrap().remove("named_by_id");
        catalog
            .put("table/old", serde_json::to_vec(&entry).unwrap())
            .unwrap();
        let items = engine.keyspace(&format!("table/old/{id}")).unwrap();
        let db = Database::new(engine.clone()).unwrap();
        db.put_item(req(json!({"TableName": "old", "Item": {"id": {"S": "x"}}})))
            .unwrap();
        assert_eq!(
            items.iter().count(),
            1,
            "written to the name-based keyspace"
        );
    }
    let db = Database::open(dir.path(), Default::default()).unwrap();
    let got = db
        .get_item(req(json!({"TableName": "old", "Key": {"id": {"S": "x"}}})))
        .unwrap();
    assert!(got.item.is_some());
}

/// DIFFERENCES.md B7: a disabled stream with a view type is refused; disabling with
/// `StreamEnabled: false` alone still works.
#[test]
fn a_disabled_stream_specification_names_no_view_type() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path(), Default::default()).unwrap();
    let message = (
        "ValidationException".to_owned(),
        "Invalid StreamViewType: Stream StreamEnabled was false but a StreamViewType was present."
            .to_owned(),
    );
    let mut create = simple(&"s".repeat(255));
    create["StreamSpecification"] = json!({"StreamEnabled": false, "StreamViewType": "NEW_IMAGE"});
    assert_eq!(err(db.create_table(req(create))), message);
    assert!(db
        .list_tables(req(json!({})))
        .unwrap()
        .table_names
        .unwrap()
        .is_empty());
    let mut create = simple("tbl");
    create["StreamSpecification"] = json!({"StreamEnabled": true, "StreamViewType": "NEW_IMAGE"});
    db.create_table(req(create)).unwrap();
    assert_eq!(
        err(db.update_table(req(json!({"TableName": "tbl",
            "StreamSpecification": {"StreamEnabled": false, "StreamViewType": "KEYS_ONLY"}})))),
        message
    );
    let out = db
        .update_table(req(json!({"TableName": "tbl",
            "StreamSpecification": {"StreamEnabled": false}})))
        .unwrap();
    assert!(out
        .table_description
        .unwrap()
        .stream_specification
        .is_none());
}
