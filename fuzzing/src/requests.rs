//! The server's request path without HTTP: the first byte picks an `X-Amz-Target`, the rest
//! is the body, run through JSON deserialization, validation and the operation against an
//! in-memory database holding a table with a GSI, an LSI, a stream and time to live.
//! Outcome: a 200 with a JSON body or a 4xx with DynamoDB's JSON error, never a panic or a
//! 500.

use std::cell::RefCell;
use std::sync::Arc;
use strata_engine::fs::MemFs;
use strata_table::Database;

const OPS: &[&str] = &[
    "CreateTable",
    "DescribeTable",
    "ListTables",
    "UpdateTable",
    "DeleteTable",
    "PutItem",
    "GetItem",
    "UpdateItem",
    "DeleteItem",
    "Query",
    "Scan",
    "BatchGetItem",
    "BatchWriteItem",
    "TransactGetItems",
    "TransactWriteItems",
    "DescribeLimits",
    "DescribeEndpoints",
    "DescribeTimeToLive",
    "UpdateTimeToLive",
    "ListTagsOfResource",
    "TagResource",
    "UntagResource",
    "DescribeContinuousBackups",
    "NoSuchOperation",
];

const STREAM_OPS: &[&str] = &[
    "ListStreams",
    "DescribeStream",
    "GetShardIterator",
    "GetRecords",
];

/// Runs made on one database before it is replaced (bounds its growth).
const RUNS_PER_DATABASE: usize = 500;

thread_local! {
    static DB: RefCell<Option<(Database, usize)>> = const { RefCell::new(None) };
}

/// A fresh in-memory database with the table the requests mostly name.
fn database() -> Database {
    let fs = Arc::new(MemFs::new());
    let db = match Database::open(
        "/fuzz",
        strata_engine::Options::default()
            .file_system(fs)
            .write_buffer_size(256 * 1024),
    ) {
        Ok(db) => db,
        Err(e) => panic!("an in-memory database does not open: {e}"),
    };
    let table = serde_json::json!({"TableName": "fuzz",
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"},
                                 {"AttributeName": "sk", "AttributeType": "N"},
                                 {"AttributeName": "g", "AttributeType": "S"},
                                 {"AttributeName": "l", "AttributeType": "N"}],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                      {"AttributeName": "sk", "KeyType": "RANGE"}],
        "BillingMode": "PAY_PER_REQUEST",
        "GlobalSecondaryIndexes": [{"IndexName": "gsi",
            "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "KEYS_ONLY"}}],
        "LocalSecondaryIndexes": [{"IndexName": "lsi",
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                          {"AttributeName": "l", "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "ALL"}}],
        "StreamSpecification": {"StreamEnabled": true, "StreamViewType": "NEW_AND_OLD_IMAGES"}});
    let setup = [
        ("CreateTable", table.to_string()),
        (
            "UpdateTimeToLive",
            r#"{"TableName":"fuzz","TimeToLiveSpecification":{"Enabled":true,"AttributeName":"exp"}}"#
                .to_owned(),
        ),
        (
            "PutItem",
            r#"{"TableName":"fuzz","Item":{"pk":{"S":"a"},"sk":{"N":"1"},"g":{"S":"x"},"l":{"N":"2"},"exp":{"N":"1"}}}"#
                .to_owned(),
        ),
    ];
    for (op, body) in setup {
        let (status, out) = strata_server::handle_request(
            &db,
            &format!("{}.{op}", strata_server::DYNAMODB),
            body.as_bytes(),
            "us-east-1",
        );
        assert_eq!(status, 200, "{op}: {}", String::from_utf8_lossy(&out));
    }
    db
}

/// Runs one input: a target selector byte, then the body.
pub fn run(data: &[u8]) {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let target = if selector >= 0xF0 {
        let op = STREAM_OPS[usize::from(selector) % STREAM_OPS.len()];
        format!("{}.{op}", strata_server::STREAMS)
    } else {
        let op = OPS[usize::from(selector) % OPS.len()];
        format!("{}.{op}", strata_server::DYNAMODB)
    };
    DB.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot
            .as_ref()
            .is_none_or(|(_, runs)| *runs >= RUNS_PER_DATABASE)
        {
            *slot = None;
            *slot = Some((database(), 0));
        }
        let Some((db, runs)) = slot.as_mut() else {
            return;
        };
        *runs += 1;
        let (status, out) = strata_server::handle_request(db, &target, body, "us-east-1");
        let text = String::from_utf8_lossy(&out);
        assert!(
            status == 200 || (400..500).contains(&status),
            "{target} answered {status}: {text}"
        );
        assert!(
            serde_json::from_slice::<serde_json::Value>(&out).is_ok(),
            "{target} answered a body that is not JSON: {text}"
        );
    });
}
