//! The AWS SDK for Rust (`aws-sdk-dynamodb`, `aws-sdk-dynamodbstreams`) against the server:
//! a client no one here wrote, with its own request signing, response parsing, typed errors,
//! paginators and checksum handling. Every call goes over a real socket to a server on an
//! ephemeral port.

#![allow(clippy::unwrap_used, reason = "test code: a panic is a failed test")]

mod common;

use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, ConditionCheck, KeySchemaElement, KeyType,
    KeysAndAttributes, Put, PutRequest, ReturnValue, ScalarAttributeType, Select,
    StreamSpecification, StreamViewType, Tag, TransactGetItem, TransactWriteItem, Update,
    WriteRequest,
};
use std::collections::HashMap;

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_string())
}

fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn key(pk: &str, sk: i64) -> HashMap<String, AttributeValue> {
    HashMap::from([("pk".to_string(), s(pk)), ("sk".to_string(), n(sk))])
}

/// An SDK client over plain HTTP to the test server (the TLS provider is never used).
fn http_client() -> aws_sdk_dynamodb::config::SharedHttpClient {
    use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
    aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

fn dynamodb(port: u16) -> aws_sdk_dynamodb::Client {
    let conf = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            "AKIDEXAMPLE",
            "secret",
            None,
            None,
            "test",
        ))
        .endpoint_url(format!("http://127.0.0.1:{port}"))
        .http_client(http_client())
        .build();
    aws_sdk_dynamodb::Client::from_conf(conf)
}

fn streams(port: u16) -> aws_sdk_dynamodbstreams::Client {
    use aws_sdk_dynamodbstreams::config::{BehaviorVersion, Credentials, Region};
    let conf = aws_sdk_dynamodbstreams::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            "AKIDEXAMPLE",
            "secret",
            None,
            None,
            "test",
        ))
        .endpoint_url(format!("http://127.0.0.1:{port}"))
        .http_client(http_client())
        .build();
    aws_sdk_dynamodbstreams::Client::from_conf(conf)
}

async fn create_table(db: &aws_sdk_dynamodb::Client, name: &str) {
    let out = db
        .create_table()
        .table_name(name)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("sk")
                .attribute_type(ScalarAttributeType::N)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("sk")
                .key_type(KeyType::Range)
                .build()
                .unwrap(),
        )
        .billing_mode(aws_sdk_dynamodb::types::BillingMode::PayPerRequest)
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::NewAndOldImages)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let desc = out.table_description().unwrap();
    assert_eq!(desc.table_name(), Some(name));
    assert!(desc.latest_stream_arn().is_some());
}

#[tokio::test]
async fn the_aws_sdk_for_rust_drives_tables_items_queries_transactions_and_streams() {
    let server = common::start();
    let db = dynamodb(server.port);

    // Tables: create, describe, list through the SDK's paginator, tags.
    create_table(&db, "sdk").await;
    create_table(&db, "other").await;
    let desc = db.describe_table().table_name("sdk").send().await.unwrap();
    let table = desc.table().unwrap();
    assert_eq!(
        table.table_status(),
        Some(&aws_sdk_dynamodb::types::TableStatus::Active)
    );
    let arn = table.table_arn().unwrap().to_string();
    assert!(arn.starts_with("arn:aws:dynamodb:us-east-1:"), "{arn}");
    let names: Vec<String> = db
        .list_tables()
        .limit(1)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap();
    assert_eq!(names, ["other", "sdk"]);
    db.tag_resource()
        .resource_arn(&arn)
        .tags(Tag::builder().key("team").value("storage").build().unwrap())
        .send()
        .await
        .unwrap();
    let tags = db
        .list_tags_of_resource()
        .resource_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(tags.tags()[0].key(), "team");
    assert_eq!(tags.tags()[0].value(), "storage");

    // Items: put, get, a failed condition as a typed error carrying the item.
    db.put_item()
        .table_name("sdk")
        .set_item(Some(key("a", 1)))
        .item("count", n(1))
        .item("name", s("first"))
        .send()
        .await
        .unwrap();
    let got = db
        .get_item()
        .table_name("sdk")
        .set_key(Some(key("a", 1)))
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    assert_eq!(got.item().unwrap()["name"], s("first"));
    let err = db
        .put_item()
        .table_name("sdk")
        .set_item(Some(key("a", 1)))
        .condition_expression("attribute_not_exists(pk)")
        .return_values_on_condition_check_failure(
            aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure::AllOld,
        )
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    match err {
        aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(e) => {
            assert_eq!(e.item().unwrap()["count"], n(1))
        }
        other => panic!("expected ConditionalCheckFailedException, got {other:?}"),
    }

    // UpdateItem with ReturnValues, and a ValidationException for a bad expression.
    let updated = db
        .update_item()
        .table_name("sdk")
        .set_key(Some(key("a", 1)))
        .update_expression("ADD #c :one SET tags = list_append(if_not_exists(tags, :e), :t)")
        .expression_attribute_names("#c", "count")
        .expression_attribute_values(":one", n(1))
        .expression_attribute_values(":e", AttributeValue::L(vec![]))
        .expression_attribute_values(":t", AttributeValue::L(vec![s("x")]))
        .return_values(ReturnValue::UpdatedNew)
        .send()
        .await
        .unwrap();
    let attrs = updated.attributes().unwrap();
    assert_eq!(attrs["count"], n(2));
    assert_eq!(attrs["tags"], AttributeValue::L(vec![s("x")]));
    assert!(!attrs.contains_key("name"));
    let err = db
        .update_item()
        .table_name("sdk")
        .set_key(Some(key("a", 1)))
        .update_expression("SET = 1")
        .send()
        .await
        .unwrap_err();
    let meta = aws_sdk_dynamodb::error::ProvideErrorMetadata::code(&err);
    assert_eq!(meta, Some("ValidationException"));
    let err = db
        .get_item()
        .table_name("missing")
        .set_key(Some(key("a", 1)))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_resource_not_found_exception(), "{err:?}");

    // BatchWriteItem (25 puts) and BatchGetItem.
    let puts: Vec<WriteRequest> = (0..25)
        .map(|i| {
            let mut item = key("q", i);
            item.insert("v".to_string(), n(i * 10));
            WriteRequest::builder()
                .put_request(PutRequest::builder().set_item(Some(item)).build().unwrap())
                .build()
        })
        .collect();
    let out = db
        .batch_write_item()
        .request_items("sdk", puts)
        .send()
        .await
        .unwrap();
    assert!(out.unprocessed_items().is_none_or(|u| u.is_empty()));
    let keys = KeysAndAttributes::builder()
        .keys(key("q", 3))
        .keys(key("q", 7))
        .keys(key("q", 99))
        .build()
        .unwrap();
    let got = db
        .batch_get_item()
        .request_items("sdk", keys)
        .send()
        .await
        .unwrap();
    let mut vs: Vec<String> = got.responses().unwrap()["sdk"]
        .iter()
        .map(|item| item["v"].as_n().unwrap().clone())
        .collect();
    vs.sort();
    assert_eq!(vs, ["30", "70"]);

    // Query through the SDK's paginator (LastEvaluatedKey → ExclusiveStartKey), backwards.
    let items: Vec<HashMap<String, AttributeValue>> = db
        .query()
        .table_name("sdk")
        .key_condition_expression("pk = :p AND sk BETWEEN :lo AND :hi")
        .expression_attribute_values(":p", s("q"))
        .expression_attribute_values(":lo", n(5))
        .expression_attribute_values(":hi", n(20))
        .scan_index_forward(false)
        .limit(4)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap();
    let sks: Vec<i64> = items
        .iter()
        .map(|i| i["sk"].as_n().unwrap().parse().unwrap())
        .collect();
    assert_eq!(sks, (5..=20).rev().collect::<Vec<_>>());

    // Scan with a filter and Select COUNT, paged.
    let mut count = 0;
    let mut scanned = 0;
    let mut pages = db
        .scan()
        .table_name("sdk")
        .filter_expression("v >= :min")
        .expression_attribute_values(":min", n(100))
        .select(Select::Count)
        .limit(7)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.unwrap();
        count += page.count();
        scanned += page.scanned_count();
    }
    assert_eq!((count, scanned), (15, 26));

    // Transactions: a cancelled one reports per-item reasons; a good one applies atomically.
    let err = db
        .transact_write_items()
        .transact_items(
            TransactWriteItem::builder()
                .put(
                    Put::builder()
                        .table_name("sdk")
                        .set_item(Some(key("t", 1)))
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .transact_items(
            TransactWriteItem::builder()
                .condition_check(
                    ConditionCheck::builder()
                        .table_name("sdk")
                        .set_key(Some(key("a", 1)))
                        .condition_expression("#c = :nine")
                        .expression_attribute_names("#c", "count")
                        .expression_attribute_values(":nine", n(9))
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    match err {
        aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(e) => {
            let codes: Vec<Option<&str>> =
                e.cancellation_reasons().iter().map(|r| r.code()).collect();
            assert_eq!(codes, [Some("None"), Some("ConditionalCheckFailed")]);
        }
        other => panic!("expected TransactionCanceledException, got {other:?}"),
    }
    db.transact_write_items()
        .transact_items(
            TransactWriteItem::builder()
                .put(
                    Put::builder()
                        .table_name("sdk")
                        .set_item(Some(key("t", 1)))
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .transact_items(
            TransactWriteItem::builder()
                .update(
                    Update::builder()
                        .table_name("sdk")
                        .set_key(Some(key("a", 1)))
                        .update_expression("SET #c = #c + :one")
                        .expression_attribute_names("#c", "count")
                        .expression_attribute_values(":one", n(1))
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .client_request_token("token-1")
        .send()
        .await
        .unwrap();
    let got = db
        .transact_get_items()
        .transact_items(
            TransactGetItem::builder()
                .get(
                    aws_sdk_dynamodb::types::Get::builder()
                        .table_name("sdk")
                        .set_key(Some(key("a", 1)))
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .transact_items(
            TransactGetItem::builder()
                .get(
                    aws_sdk_dynamodb::types::Get::builder()
                        .table_name("sdk")
                        .set_key(Some(key("t", 1)))
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    let responses = got.responses();
    assert_eq!(responses[0].item().unwrap()["count"], n(3));
    assert!(responses[1].item().is_some());

    // DeleteItem returning the old image.
    let deleted = db
        .delete_item()
        .table_name("sdk")
        .set_key(Some(key("t", 1)))
        .return_values(ReturnValue::AllOld)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.attributes().unwrap()["pk"], s("t"));

    // Control-plane calls SDK users and tools make.
    let limits = db.describe_limits().send().await.unwrap();
    assert!(limits.table_max_write_capacity_units().unwrap() > 0);
    let ttl = db
        .describe_time_to_live()
        .table_name("sdk")
        .send()
        .await
        .unwrap();
    assert!(ttl.time_to_live_description().is_some());

    // Streams: the change log read with the DynamoDB Streams SDK from TRIM_HORIZON.
    let st = streams(server.port);
    let listed = st.list_streams().table_name("sdk").send().await.unwrap();
    assert_eq!(listed.streams().len(), 1);
    let stream_arn = listed.streams()[0].stream_arn().unwrap().to_string();
    let described = st
        .describe_stream()
        .stream_arn(&stream_arn)
        .send()
        .await
        .unwrap();
    let description = described.stream_description().unwrap();
    assert_eq!(
        description.stream_view_type(),
        Some(&aws_sdk_dynamodbstreams::types::StreamViewType::NewAndOldImages)
    );
    let mut events: Vec<(String, String)> = Vec::new();
    for shard in description.shards() {
        let mut iterator = st
            .get_shard_iterator()
            .stream_arn(&stream_arn)
            .shard_id(shard.shard_id().unwrap())
            .shard_iterator_type(aws_sdk_dynamodbstreams::types::ShardIteratorType::TrimHorizon)
            .send()
            .await
            .unwrap()
            .shard_iterator()
            .map(str::to_string);
        while let Some(it) = iterator {
            let out = st.get_records().shard_iterator(it).send().await.unwrap();
            for record in out.records() {
                let data = record.dynamodb().unwrap();
                let pk = data.keys().unwrap()["pk"].as_s().unwrap().clone();
                events.push((pk, record.event_name().unwrap().as_str().to_string()));
            }
            if out.records().is_empty() {
                break; // an open shard drained: nothing more yet
            }
            iterator = out.next_shard_iterator().map(str::to_string);
        }
    }
    let of = |pk: &str| -> Vec<&str> {
        events
            .iter()
            .filter(|(p, _)| p == pk)
            .map(|(_, e)| e.as_str())
            .collect()
    };
    assert_eq!(of("a"), ["INSERT", "MODIFY", "MODIFY"]);
    assert_eq!(of("t"), ["INSERT", "REMOVE"]);
    assert_eq!(of("q").len(), 25);

    // Delete: the table is gone for the SDK too.
    db.delete_table().table_name("other").send().await.unwrap();
    let err = db
        .describe_table()
        .table_name("other")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_resource_not_found_exception(), "{err:?}");
}
