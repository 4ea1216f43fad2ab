//! Item operations end to end: PutItem, GetItem, UpdateItem, DeleteItem with conditions,
//! projections, return values, legacy parameters, and DynamoDB's error names and messages.

#![allow(clippy::unwrap_used, reason = "test code: a panic is a failed test")]

use serde_json::json;
use strata_table::model::*;
use strata_table::{Database, Item, TableError};

fn db() -> (tempfile::TempDir, Database) {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path(), strata_engine::Options::default()).unwrap();
    db.create_table(
        serde_json::from_value(json!({
            "TableName": "tbl",
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"},
                                     {"AttributeName": "sk", "AttributeType": "N"}],
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                          {"AttributeName": "sk", "KeyType": "RANGE"}],
            "BillingMode": "PAY_PER_REQUEST"
        }))
        .unwrap(),
    )
    .unwrap();
    (dir, db)
}

fn item(v: serde_json::Value) -> Item {
    serde_json::from_value(v).unwrap()
}

fn req<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> T {
    serde_json::from_value(v).unwrap()
}

fn message(r: Result<impl std::fmt::Debug, TableError>) -> (String, String) {
    let e = r.unwrap_err();
    (e.code().to_owned(), e.to_string())
}

#[test]
fn put_get_update_delete_round_trip() {
    let (_d, db) = db();
    let key = json!({"pk": {"S": "a"}, "sk": {"N": "1"}});
    db.put_item(req(json!({"TableName": "tbl", "Item": {
        "pk": {"S": "a"}, "sk": {"N": "1"}, "count": {"N": "5"}, "tags": {"SS": ["x"]},
        "doc": {"M": {"list": {"L": [{"S": "a"}, {"S": "b"}]}}}
    }})))
    .unwrap();
    let got = db
        .get_item(req(json!({"TableName": "tbl", "Key": key})))
        .unwrap();
    assert_eq!(
        got.item.unwrap()["count"],
        strata_table::AttributeValue::n("5").unwrap()
    );

    let out = db
        .update_item(req(json!({
            "TableName": "tbl", "Key": key,
            "UpdateExpression": "SET #c = #c + :one, doc.#l[5] = :z ADD tags :t REMOVE doc.#l[0]",
            "ConditionExpression": "#c >= :min AND contains(tags, :x)",
            "ExpressionAttributeNames": {"#c": "count", "#l": "list"},
            "ExpressionAttributeValues": {":one": {"N": "1"}, ":z": {"S": "z"}, ":t": {"SS": ["y"]},
                                          ":min": {"N": "5"}, ":x": {"S": "x"}},
            "ReturnValues": "ALL_NEW"
        })))
        .unwrap();
    assert_eq!(
        out.attributes.unwrap(),
        item(
            json!({"pk": {"S": "a"}, "sk": {"N": "1"}, "count": {"N": "6"}, "tags": {"SS": ["x", "y"]},
                    "doc": {"M": {"list": {"L": [{"S": "b"}, {"S": "z"}]}}}})
        )
    );

    let (code, msg) = message(db.update_item(req(json!({
        "TableName": "tbl", "Key": key, "UpdateExpression": "SET #c = :v",
        "ConditionExpression": "#c > :big",
        "ExpressionAttributeNames": {"#c": "count"},
        "ExpressionAttributeValues": {":v": {"N": "0"}, ":big": {"N": "100"}},
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD"
    }))));
    assert_eq!(
        (code.as_str(), msg.as_str()),
        (
            "ConditionalCheckFailedException",
            "The conditional request failed"
        )
    );

    let out = db
        .delete_item(req(
            json!({"TableName": "tbl", "Key": key, "ReturnValues": "ALL_OLD"}),
        ))
        .unwrap();
    assert!(out.attributes.is_some());
    assert!(db
        .get_item(req(json!({"TableName": "tbl", "Key": key})))
        .unwrap()
        .item
        .is_none());
}

#[test]
fn conditions_on_missing_items_and_projections() {
    let (_d, db) = db();
    let put = |cond: &str| -> Result<WriteItemOutput, TableError> {
        db.put_item(req(json!({"TableName": "tbl",
            "Item": {"pk": {"S": "p"}, "sk": {"N": "2"}, "a": {"M": {"b": {"S": "c"}}}, "z": {"N": "1"}},
            "ConditionExpression": cond})))
    };
    put("attribute_not_exists(pk)").unwrap();
    let (code, _) = message(put("attribute_not_exists(pk)"));
    assert_eq!(code, "ConditionalCheckFailedException");
    let got = db
        .get_item(req(
            json!({"TableName": "tbl", "Key": {"pk": {"S": "p"}, "sk": {"N": "2"}},
        "ProjectionExpression": "a.b, nothere"}),
        ))
        .unwrap();
    assert_eq!(
        got.item.unwrap(),
        item(json!({"a": {"M": {"b": {"S": "c"}}}}))
    );
    // UpdateItem creates a missing item.
    let out = db
        .update_item(req(
            json!({"TableName": "tbl", "Key": {"pk": {"S": "new"}, "sk": {"N": "0"}},
        "UpdateExpression": "SET n = if_not_exists(n, :zero) + :one",
        "ExpressionAttributeValues": {":zero": {"N": "0"}, ":one": {"N": "1"}},
        "ReturnValues": "UPDATED_NEW"}),
        ))
        .unwrap();
    assert_eq!(out.attributes.unwrap(), item(json!({"n": {"N": "1"}})));
}

#[test]
fn validation_errors_have_dynamodb_names_and_messages() {
    let (_d, db) = db();
    let cases: Vec<(Result<WriteItemOutput, TableError>, &str, &str)> = vec![
        (db.put_item(req(json!({"TableName": "nope", "Item": {"pk": {"S": "a"}, "sk": {"N": "1"}}}))),
         "ResourceNotFoundException", "Requested resource not found"),
        (db.put_item(req(json!({"TableName": "tbl", "Item": {"sk": {"N": "1"}}}))),
         "ValidationException", "One or more parameter values were invalid: Missing the key pk in the item"),
        (db.put_item(req(json!({"TableName": "tbl", "Item": {"pk": {"N": "1"}, "sk": {"N": "1"}}}))),
         "ValidationException", "One or more parameter values were invalid: Type mismatch for key pk expected: S actual: N"),
        (db.put_item(req(json!({"TableName": "tbl", "Item": {"pk": {"S": ""}, "sk": {"N": "1"}}}))),
         "ValidationException", "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: pk"),
        (db.put_item(req(json!({"TableName": "tbl", "Item": {"pk": {"S": "a"}, "sk": {"N": "1"}, "big": {"S": "x".repeat(400 * 1024)}}}))),
         "ValidationException", "Item size has exceeded the maximum allowed size"),
        (db.put_item(req(json!({"TableName": "tbl", "Item": {"pk": {"S": "a"}, "sk": {"N": "1"}}, "ReturnValues": "ALL_NEW"}))),
         "ValidationException", "Return values set to invalid value"),
        (db.put_item(req(json!({"TableName": "tbl", "Item": {"pk": {"S": "a"}, "sk": {"N": "1"}}, "ExpressionAttributeValues": {":a": {"S": "x"}}}))),
         "ValidationException", "ExpressionAttributeValues can only be specified when using expressions: ConditionExpression is null"),
        (db.update_item(req(json!({"TableName": "tbl", "Key": {"pk": {"S": "a"}, "sk": {"N": "1"}}, "UpdateExpression": "SET pk = :v", "ExpressionAttributeValues": {":v": {"S": "x"}}}))),
         "ValidationException", "One or more parameter values were invalid: Cannot update attribute pk. This attribute is part of the key"),
        (db.delete_item(req(json!({"TableName": "tbl", "Key": {"pk": {"S": "a"}}}))),
         "ValidationException", "The provided key element does not match the schema"),
        (db.update_item(req(json!({"TableName": "tbl", "Key": {"pk": {"S": "a"}, "sk": {"N": "1"}}, "UpdateExpression": "SET a = :v", "ExpressionAttributeValues": {":v": {"S": "x"}, ":unused": {"S": "y"}}}))),
         "ValidationException", "Value provided in ExpressionAttributeValues unused in expressions: keys: {:unused}"),
        (db.update_item(req(json!({"TableName": "tbl", "Key": {"pk": {"S": "a"}, "sk": {"N": "1"}}, "UpdateExpression": "SET a = :v + :w", "ExpressionAttributeValues": {":v": {"S": "x"}, ":w": {"N": "1"}}}))),
         "ValidationException", "Invalid UpdateExpression: Incorrect operand type for operator or function; operator or function: +, operand type: S"),
    ];
    for (result, code, msg) in cases {
        let (c, m) = message(result);
        assert_eq!(c, code, "{m}");
        assert!(m.starts_with(msg), "got {m:?}, want {msg:?}");
    }
}

#[test]
fn legacy_parameters_use_the_same_evaluator() {
    let (_d, db) = db();
    let key = json!({"pk": {"S": "l"}, "sk": {"N": "1"}});
    db.update_item(req(json!({"TableName": "tbl", "Key": key,
        "AttributeUpdates": {"n": {"Value": {"N": "2"}, "Action": "ADD"}, "s": {"Value": {"S": "x"}}}}))).unwrap();
    let (code, _) = message(db.put_item(req(json!({"TableName": "tbl",
        "Item": {"pk": {"S": "l"}, "sk": {"N": "1"}},
        "Expected": {"n": {"ComparisonOperator": "GT", "AttributeValueList": [{"N": "5"}]}}}))));
    assert_eq!(code, "ConditionalCheckFailedException");
    db.put_item(req(
        json!({"TableName": "tbl", "Item": {"pk": {"S": "l"}, "sk": {"N": "1"}},
        "Expected": {"n": {"Value": {"N": "2"}}, "gone": {"Exists": false}}}),
    ))
    .unwrap();
    let got = db
        .get_item(req(
            json!({"TableName": "tbl", "Key": key, "AttributesToGet": ["pk"]}),
        ))
        .unwrap();
    assert_eq!(got.item.unwrap(), item(json!({"pk": {"S": "l"}})));
    let (_, m) = message(db.put_item(req(
        json!({"TableName": "tbl", "Item": {"pk": {"S": "l"}, "sk": {"N": "1"}},
        "Expected": {"n": {"Value": {"N": "2"}}}, "ConditionExpression": "attribute_exists(pk)"}),
    )));
    assert!(
        m.starts_with("Can not use both expression and non-expression parameters"),
        "{m}"
    );
}
