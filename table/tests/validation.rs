//! Request validation DynamoDB does and strata once missed, found by the differential test
//! against DynamoDB Local and Dynoxide (`tests/differential/DIFFERENCES.md`, entries B1–B14):
//! each test names its entry, and checks the error type, DynamoDB's message, and that a
//! rejected write wrote nothing.

#![allow(clippy::unwrap_used, reason = "test code: a panic is a failed test")]

use serde_json::{json, Value};
use strata_table::{Database, TableError};

fn req<T: serde::de::DeserializeOwned>(v: Value) -> T {
    serde_json::from_value(v).unwrap()
}

/// Tables `hrt` (pk S, sk N) and `hto` (pk S), with items `hrt` (a, 1..=5) and `hto` a, b.
fn setup() -> (tempfile::TempDir, Database) {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path(), strata_engine::Options::default()).unwrap();
    db.create_table(req(json!({
        "TableName": "hrt",
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"},
                                 {"AttributeName": "sk", "AttributeType": "N"}],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                      {"AttributeName": "sk", "KeyType": "RANGE"}],
        "BillingMode": "PAY_PER_REQUEST"
    })))
    .unwrap();
    db.create_table(req(json!({
        "TableName": "hto",
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "BillingMode": "PAY_PER_REQUEST"
    })))
    .unwrap();
    for sk in 1..=5 {
        db.put_item(req(json!({"TableName": "hrt", "Item": {
            "pk": {"S": "a"}, "sk": {"N": sk.to_string()}, "n": {"N": "1"}}})))
            .unwrap();
    }
    for pk in ["a", "b"] {
        db.put_item(req(
            json!({"TableName": "hto", "Item": {"pk": {"S": pk}, "n": {"N": "1"}}}),
        ))
        .unwrap();
    }
    (dir, db)
}

/// The error's type and message.
fn err(r: Result<impl std::fmt::Debug, TableError>) -> (String, String) {
    let e = r.unwrap_err();
    (e.code().to_owned(), e.to_string())
}

fn validation(message: &str) -> (String, String) {
    ("ValidationException".to_owned(), message.to_owned())
}

#[test]
fn b8_query_start_key_must_lie_inside_the_key_condition() {
    let (_d, db) = setup();
    let query = |cond: &str, values: Value, start: Value| {
        db.query(req(
            json!({"TableName": if start.get("sk").is_some() { "hrt" } else { "hto" },
            "KeyConditionExpression": cond, "ExpressionAttributeValues": values,
            "ExclusiveStartKey": start}),
        ))
    };
    let outside = validation(
        "The provided starting key is outside query boundaries based on provided conditions",
    );
    let predicate = validation("The provided starting key does not match the range key predicate");
    // Another partition.
    assert_eq!(
        err(query(
            "pk = :h",
            json!({":h": {"S": "h10"}}),
            json!({"pk": {"S": "h3"}})
        )),
        outside
    );
    assert_eq!(
        err(query(
            "pk = :h",
            json!({":h": {"S": "b"}}),
            json!({"pk": {"S": "a"}, "sk": {"N": "2"}})
        )),
        outside
    );
    // A sort key outside the sort-key condition.
    for (cond, values) in [
        (
            "pk = :h AND sk > :s",
            json!({":h": {"S": "a"}, ":s": {"N": "2"}}),
        ),
        (
            "pk = :h AND sk BETWEEN :s AND :t",
            json!({":h": {"S": "a"}, ":s": {"N": "3"}, ":t": {"N": "4"}}),
        ),
        (
            "pk = :h AND sk = :s",
            json!({":h": {"S": "a"}, ":s": {"N": "3"}}),
        ),
    ] {
        assert_eq!(
            err(query(
                cond,
                values,
                json!({"pk": {"S": "a"}, "sk": {"N": "2"}})
            )),
            predicate,
            "{cond}"
        );
    }
    // Legacy KeyConditions are checked alike.
    let legacy = db.query(req(json!({"TableName": "hrt",
        "KeyConditions": {"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "a"}]},
                          "sk": {"ComparisonOperator": "GE", "AttributeValueList": [{"N": "3"}]}},
        "ExclusiveStartKey": {"pk": {"S": "a"}, "sk": {"N": "1"}}})));
    assert_eq!(err(legacy), predicate);
    // A start key inside the condition resumes after it.
    let out = query(
        "pk = :h AND sk >= :s",
        json!({":h": {"S": "a"}, ":s": {"N": "2"}}),
        json!({"pk": {"S": "a"}, "sk": {"N": "2"}}),
    )
    .unwrap();
    assert_eq!(out.count, 3);
    let out = query(
        "pk = :h",
        json!({":h": {"S": "a"}}),
        json!({"pk": {"S": "a"}}),
    )
    .unwrap();
    assert_eq!(out.count, 0);
}

#[test]
fn b4_batch_write_rejects_an_empty_list_for_a_table_and_writes_nothing() {
    let (_d, db) = setup();
    let write = |tables: Value| db.batch_write_item(req(json!({"RequestItems": tables})));
    let put = json!([{"PutRequest": {"Item": {"pk": {"S": "new"}}}}]);
    assert_eq!(
        err(write(json!({"hrt": [], "hto": put}))),
        validation("The batch write request list for a table cannot be null or empty: hrt")
    );
    // Reported before a missing table.
    assert_eq!(
        err(write(json!({"hto": put, "missing": [], "nope": put}))),
        validation("The batch write request list for a table cannot be null or empty: missing")
    );
    let got = db
        .get_item(req(
            json!({"TableName": "hto", "Key": {"pk": {"S": "new"}}}),
        ))
        .unwrap();
    assert!(got.item.is_none(), "nothing is written");
}

#[test]
fn b2_transact_get_rejects_two_gets_of_one_item() {
    let (_d, db) = setup();
    let get = json!({"Get": {"TableName": "hto", "Key": {"pk": {"S": "a"}}}});
    assert_eq!(
        err(db.transact_get_items(req(json!({"TransactItems": [get, get]})))),
        validation("Transaction request cannot include multiple operations on one item")
    );
    // The same key in two tables is two items.
    let other = json!({"Get": {"TableName": "hrt", "Key": {"pk": {"S": "a"}, "sk": {"N": "1"}}}});
    let out = db
        .transact_get_items(req(json!({"TransactItems": [get, other]})))
        .unwrap();
    assert_eq!(out.responses.unwrap().len(), 2);
}

#[test]
fn b3_transactions_report_capacity_once_per_table() {
    let (_d, db) = setup();
    let units = |c: &Option<Vec<strata_table::model::ConsumedCapacity>>| {
        let mut v: Vec<(String, f64, Option<f64>)> = c
            .as_ref()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c.table_name.clone().unwrap(),
                    c.capacity_units.unwrap(),
                    c.table.as_ref().and_then(|t| t.capacity_units),
                )
            })
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    };
    let out = db
        .transact_get_items(req(
            json!({"ReturnConsumedCapacity": "INDEXES", "TransactItems": [
            {"Get": {"TableName": "hto", "Key": {"pk": {"S": "a"}}}},
            {"Get": {"TableName": "hto", "Key": {"pk": {"S": "b"}}}},
            {"Get": {"TableName": "hrt", "Key": {"pk": {"S": "a"}, "sk": {"N": "1"}}}}]}),
        ))
        .unwrap();
    assert_eq!(
        units(&out.consumed_capacity),
        vec![
            ("hrt".into(), 2.0, Some(2.0)),
            ("hto".into(), 4.0, Some(4.0))
        ]
    );
    let out = db
        .transact_write_items(req(json!({"ReturnConsumedCapacity": "TOTAL", "TransactItems": [
            {"Put": {"TableName": "hto", "Item": {"pk": {"S": "x"}}}},
            {"Delete": {"TableName": "hto", "Key": {"pk": {"S": "a"}}}},
            {"Update": {"TableName": "hto", "Key": {"pk": {"S": "y"}}, "UpdateExpression": "SET n = :n",
                        "ExpressionAttributeValues": {":n": {"N": "2"}}}}]})))
        .unwrap();
    assert_eq!(
        units(&out.consumed_capacity),
        vec![("hto".into(), 6.0, None)]
    );
}

#[test]
fn b6_legacy_and_expression_parameters_do_not_mix() {
    let (_d, db) = setup();
    let names = validation("ExpressionAttributeNames can only be specified when using expressions");
    let values = |null: &str| {
        validation(&format!(
            "ExpressionAttributeValues can only be specified when using expressions: {null}"
        ))
    };
    let item = json!({"pk": {"S": "a"}, "n": {"N": "9"}});
    let key = json!({"pk": {"S": "a"}});
    let expected = json!({"n": {"Exists": true, "Value": {"N": "1"}}});
    let eav = json!({":unused": {"S": "u"}});
    let ean = json!({"#unused": "x"});
    assert_eq!(
        err(db.put_item(req(
            json!({"TableName": "hto", "Item": item, "Expected": expected,
            "ExpressionAttributeNames": ean})
        ))),
        names
    );
    assert_eq!(
        err(db.put_item(req(
            json!({"TableName": "hto", "Item": item, "Expected": expected,
            "ExpressionAttributeValues": eav})
        ))),
        values("ConditionExpression is null")
    );
    assert_eq!(
        err(db.delete_item(req(
            json!({"TableName": "hto", "Key": key, "Expected": expected,
            "ExpressionAttributeValues": eav})
        ))),
        values("ConditionExpression is null")
    );
    assert_eq!(
        err(db.update_item(req(json!({"TableName": "hto", "Key": key,
            "AttributeUpdates": {"n": {"Action": "PUT", "Value": {"N": "2"}}},
            "ExpressionAttributeValues": eav})))),
        values("UpdateExpression and ConditionExpression are null")
    );
    assert_eq!(
        err(db.update_item(req(
            json!({"TableName": "hto", "Key": key, "Expected": expected,
            "ExpressionAttributeNames": ean})
        ))),
        names
    );
    assert_eq!(
        err(db.get_item(req(
            json!({"TableName": "hto", "Key": key, "AttributesToGet": ["n"],
            "ExpressionAttributeNames": ean})
        ))),
        names
    );
    let key_conditions =
        json!({"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "a"}]}});
    assert_eq!(
        err(db.query(req(
            json!({"TableName": "hto", "KeyConditions": key_conditions,
            "ExpressionAttributeValues": eav})
        ))),
        values("FilterExpression and KeyConditionExpression are null")
    );
    assert_eq!(
        err(db.query(req(json!({"TableName": "hto", "KeyConditions": key_conditions,
            "ProjectionExpression": "n"})))),
        validation("Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {KeyConditions} Expression parameters: {ProjectionExpression}")
    );
    assert_eq!(
        err(db.scan(req(
            json!({"TableName": "hto", "ScanFilter": {"n": {"ComparisonOperator": "NOT_NULL"}},
            "ExpressionAttributeNames": ean})
        ))),
        names
    );
    assert_eq!(
        err(db.scan(req(json!({"TableName": "hto", "AttributesToGet": ["n"],
            "FilterExpression": "n = :n", "ExpressionAttributeValues": {":n": {"N": "1"}}})))),
        validation("Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {AttributesToGet} Expression parameters: {FilterExpression}")
    );
    // BatchGetItem: one table of each style is mixed.
    assert_eq!(
        err(db.batch_get_item(req(json!({"RequestItems": {
            "hto": {"Keys": [key], "ProjectionExpression": "#n0", "ExpressionAttributeNames": {"#n0": "n"}},
            "hrt": {"Keys": [{"pk": {"S": "a"}, "sk": {"N": "1"}}], "AttributesToGet": ["n", "pk"]}}})))),
        validation("Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {AttributesToGet} Expression parameters: {ProjectionExpression}")
    );
    assert_eq!(
        err(db.batch_get_item(req(json!({"RequestItems": {
            "hto": {"Keys": [key], "AttributesToGet": ["n"], "ExpressionAttributeNames": ean}}})))),
        names
    );
    // Nothing was written.
    let got = db
        .get_item(req(json!({"TableName": "hto", "Key": key})))
        .unwrap();
    assert_eq!(
        got.item.unwrap()["n"],
        strata_table::AttributeValue::N("1".parse().unwrap())
    );
}

#[test]
fn b5_conditional_operator_needs_two_conditions() {
    let (_d, db) = setup();
    let message = validation(
        "ConditionalOperator can only be used when Filter or Expected has two or more elements",
    );
    let key = json!({"pk": {"S": "a"}});
    let one = json!({"n": {"Exists": false}});
    assert_eq!(
        err(
            db.put_item(req(json!({"TableName": "hto", "Item": {"pk": {"S": "a"}},
            "Expected": one, "ConditionalOperator": "OR"})))
        ),
        message
    );
    assert_eq!(
        err(db.delete_item(req(json!({"TableName": "hto", "Key": key,
            "Expected": one, "ConditionalOperator": "AND"})))),
        message
    );
    assert_eq!(
        err(db.update_item(req(json!({"TableName": "hto", "Key": key,
            "AttributeUpdates": {"n": {"Action": "PUT", "Value": {"N": "5"}}},
            "Expected": one, "ConditionalOperator": "OR"})))),
        message
    );
    assert_eq!(
        err(db.scan(req(json!({"TableName": "hto",
            "ScanFilter": {"n": {"ComparisonOperator": "NOT_NULL"}}, "ConditionalOperator": "OR"})))),
        message
    );
    assert_eq!(
        err(db.query(req(json!({"TableName": "hto",
            "KeyConditions": {"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "a"}]}},
            "QueryFilter": {"n": {"ComparisonOperator": "NOT_NULL"}}, "ConditionalOperator": "OR"})))),
        message
    );
    // Two conditions are fine.
    let out = db
        .scan(req(
            json!({"TableName": "hto", "ConditionalOperator": "OR", "ScanFilter": {
            "n": {"ComparisonOperator": "NOT_NULL"}, "zz": {"ComparisonOperator": "NOT_NULL"}}}),
        ))
        .unwrap();
    assert_eq!(out.count, 2);
    let got = db
        .get_item(req(json!({"TableName": "hto", "Key": key})))
        .unwrap();
    assert!(got.item.unwrap().contains_key("n"), "nothing was written");
}

#[test]
fn b9_key_conditions_check_between_ranges_and_begins_with_types() {
    let (_d, db) = setup();
    let legacy = |sk: Value| {
        db.query(req(json!({"TableName": "hrt", "KeyConditions": {
            "pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "a"}]}, "sk": sk}})))
    };
    assert_eq!(
        err(legacy(json!({"ComparisonOperator": "BETWEEN", "AttributeValueList": [{"N": "5"}, {"N": "1"}]}))),
        validation("The BETWEEN condition was provided a range where the lower bound is greater than the upper bound")
    );
    assert_eq!(
        err(legacy(json!({"ComparisonOperator": "BEGINS_WITH", "AttributeValueList": [{"N": "3"}]}))),
        validation("One or more parameter values were invalid: ComparisonOperator BEGINS_WITH is not valid for N AttributeValue type")
    );
    assert_eq!(
        legacy(
            json!({"ComparisonOperator": "BETWEEN", "AttributeValueList": [{"N": "2"}, {"N": "3"}]})
        )
        .unwrap()
        .count,
        2
    );
    // The same in a ScanFilter.
    assert_eq!(
        err(db.scan(req(json!({"TableName": "hrt", "ScanFilter": {
            "n": {"ComparisonOperator": "BETWEEN", "AttributeValueList": [{"S": "b"}, {"S": "a"}]}}})))),
        validation("The BETWEEN condition was provided a range where the lower bound is greater than the upper bound")
    );
    // KeyConditionExpression's wording.
    let expression = |cond: &str, values: Value| {
        db.query(req(
            json!({"TableName": "hrt", "KeyConditionExpression": cond,
            "ExpressionAttributeValues": values}),
        ))
    };
    assert_eq!(
        err(expression("pk = :h AND sk BETWEEN :a AND :b",
            json!({":h": {"S": "a"}, ":a": {"N": "5"}, ":b": {"N": "1"}}))),
        validation("Invalid KeyConditionExpression: The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower bound operand: AttributeValue: {N:5}, upper bound operand: AttributeValue: {N:1}")
    );
    assert_eq!(
        err(expression("pk = :h AND begins_with(sk, :a)", json!({":h": {"S": "a"}, ":a": {"N": "5"}}))),
        validation("Invalid KeyConditionExpression: Incorrect operand type for operator or function; operator or function: begins_with, operand type: N")
    );
}

#[test]
fn b10_query_filter_refuses_key_attributes() {
    let (_d, db) = setup();
    let query = |filter: Value| {
        db.query(req(json!({"TableName": "hrt", "KeyConditions": {
            "pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "a"}]}},
            "QueryFilter": filter})))
    };
    assert_eq!(
        err(query(
            json!({"sk": {"ComparisonOperator": "GT", "AttributeValueList": [{"N": "1"}]}})
        )),
        validation(
            "QueryFilter can only contain non-primary key attributes: Primary key attribute: sk"
        )
    );
    assert_eq!(
        err(query(json!({"pk": {"ComparisonOperator": "NOT_NULL"}}))),
        validation(
            "QueryFilter can only contain non-primary key attributes: Primary key attribute: pk"
        )
    );
    let out = query(json!({"n": {"ComparisonOperator": "EQ", "AttributeValueList": [{"N": "1"}]}}))
        .unwrap();
    assert_eq!(out.count, 5);
}

#[test]
fn b12_a_requests_own_errors_come_before_a_missing_table() {
    let (_d, db) = setup();
    let missing = json!({"Delete": {"TableName": "missing", "Key": {"pk": {"S": "a"}}}});
    for (update, names, values, want) in [
        (
            "SET n = :v REMOVE n",
            json!(null),
            json!({":v": {"N": "1"}}),
            "Invalid UpdateExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [n], path two: [n]",
        ),
        (
            "SET n = :nope",
            json!(null),
            json!({":v": {"N": "1"}}),
            "Invalid UpdateExpression: An expression attribute value used in expression is not defined; attribute value: :nope",
        ),
        (
            "SET #e = :v",
            json!({"#e": ""}),
            json!({":v": {"N": "1"}}),
            "ExpressionAttributeNames contains invalid value: Empty attribute name for key #e",
        ),
    ] {
        let mut u = json!({"TableName": "hto", "Key": {"pk": {"S": "a"}},
            "UpdateExpression": update, "ExpressionAttributeValues": values});
        if !names.is_null() {
            u["ExpressionAttributeNames"] = names;
        }
        let (code, message) = err(db.transact_write_items(req(json!({
            "TransactItems": [missing, {"Update": u}]}))));
        assert_eq!(code, "ValidationException", "{update}: {message}");
        assert!(message.starts_with(want.split(';').next().unwrap()), "{update}: {message}");
    }
    // The missing table alone is still ResourceNotFound.
    let (code, _) = err(db.transact_write_items(req(json!({"TransactItems": [missing]}))));
    assert_eq!(code, "ResourceNotFoundException");
    // BatchGetItem: duplicate keys for a missing table.
    let key = json!({"pk": {"S": "a"}});
    assert_eq!(
        err(db.batch_get_item(req(json!({"RequestItems": {
            "missing": {"Keys": [key, key]}, "hto": {"Keys": [key]}}})))),
        validation("Provided list of item keys contains duplicates")
    );
}

#[test]
fn b13_get_shard_iterator_refuses_a_shard_the_stream_never_had() {
    let (_d, db) = setup();
    let out = db
        .update_table(req(json!({"TableName": "hto",
            "StreamSpecification": {"StreamEnabled": true, "StreamViewType": "KEYS_ONLY"}})))
        .unwrap();
    let arn = out.table_description.unwrap().latest_stream_arn.unwrap();
    let shards = db
        .describe_stream(req(json!({"StreamArn": arn})))
        .unwrap()
        .stream_description
        .unwrap()
        .shards
        .unwrap();
    let real = shards[0].shard_id.clone().unwrap();
    let iterator = |id: &str| {
        db.get_shard_iterator(req(json!({"StreamArn": arn, "ShardId": id,
            "ShardIteratorType": "TRIM_HORIZON"})))
    };
    assert!(iterator(&real).unwrap().shard_iterator.is_some());
    // Same number, another creation time; and an id of the right shape the stream never had.
    let number = real.rsplit('-').next().unwrap();
    for id in [
        format!("shardId-00000000000000000000-{number}"),
        "shardId-00000000000000000000-00000000".to_owned(),
        "shardId-00000000000000000000-7fffffff".to_owned(),
    ] {
        let (code, message) = err(iterator(&id));
        assert_eq!(code, "ResourceNotFoundException", "{id}");
        assert!(message.contains("Shard does not exist"), "{id}: {message}");
    }
}

/// DIFFERENCES.md B14, kept as it was: UPDATED_OLD/UPDATED_NEW project the updated paths, as a
/// ProjectionExpression of them would (nested map members and list elements, not the whole
/// top-level attribute DynamoDB Local returns). This is dynalite's "should update nested
/// attributes" case, whose expectation was written against DynamoDB itself.
#[test]
fn b14_updated_values_project_the_updated_paths() {
    let (_d, db) = setup();
    let key = json!({"pk": {"S": "k"}});
    db.update_item(req(json!({"TableName": "hto", "Key": key, "UpdateExpression": "set b = :b, c = :c",
        "ExpressionAttributeValues": {":b": {"M": {"a": {"N": "1"}, "b": {"N": "2"}, "c": {"N": "3"}}},
                                      ":c": {"L": [{"N": "1"}, {"N": "3"}]}}})))
    .unwrap();
    let out = db
        .update_item(req(json!({"TableName": "hto", "Key": key, "ReturnValues": "UPDATED_NEW",
            "UpdateExpression": "set b.c=((c[1])+(b.a)),b.a = pk,c[1] = pk, c[4] = b.a - b.b, c[2] = b.c add c[8] :b, c[6] :a",
            "ExpressionAttributeValues": {":a": {"N": "2"}, ":b": {"SS": ["a"]}}})))
        .unwrap();
    assert_eq!(
        serde_json::to_value(out.attributes.unwrap()).unwrap(),
        json!({"b": {"M": {"a": {"S": "k"}, "c": {"N": "4"}}},
               "c": {"L": [{"S": "k"}, {"N": "3"}, {"N": "2"}]}})
    );
    let out = db
        .update_item(req(
            json!({"TableName": "hto", "Key": key, "ReturnValues": "UPDATED_OLD",
            "UpdateExpression": "SET c[0] = :v", "ExpressionAttributeValues": {":v": {"S": "a"}}}),
        ))
        .unwrap();
    assert_eq!(
        serde_json::to_value(out.attributes.unwrap()).unwrap(),
        json!({"c": {"L": [{"N": "1"}]}})
    );
}
