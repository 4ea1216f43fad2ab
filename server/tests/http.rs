//! The wire protocol end to end over a real socket: operations, DynamoDB's error bodies and
//! status codes, the CRC32 and request-id headers, gzip in both directions, malformed and
//! oversized requests answered without harming the server; and boto3 (a client no one here
//! wrote) driving the server through create, writes, conditions, queries, transactions and
//! streams.

#![allow(clippy::unwrap_used, reason = "test code: a panic is a failed test")]

use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::TcpStream;
mod common;

use common::{start, start_with};

/// One raw HTTP/1.1 exchange; returns (status, headers, body).
fn raw(
    port: u16,
    target: &str,
    body: &[u8],
    extra: &[(&str, &str)],
) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut head = format!(
        "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-amz-json-1.0\r\nX-Amz-Target: {target}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in extra {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    let split = out.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&out[..split]).to_string();
    let body = out[split + 4..].to_vec();
    let mut lines = head.lines();
    let status: u16 = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.to_ascii_lowercase(), v.to_owned()))
        .collect();
    (status, headers, body)
}

fn call(port: u16, op: &str, body: Value) -> (u16, Value) {
    let (status, headers, body) = raw(
        port,
        &format!("DynamoDB_20120810.{op}"),
        body.to_string().as_bytes(),
        &[],
    );
    let crc: u32 = headers
        .iter()
        .find(|(k, _)| k == "x-amz-crc32")
        .unwrap()
        .1
        .parse()
        .unwrap();
    assert_eq!(crc, crc32fast::hash(&body), "x-amz-crc32 matches the body");
    assert!(headers
        .iter()
        .any(|(k, v)| k == "x-amzn-requestid" && v.len() == 52));
    (status, serde_json::from_slice(&body).unwrap())
}

#[test]
fn operations_and_errors_over_http() {
    let server = start();
    let p = server.port;
    let (status, out) = call(
        p,
        "CreateTable",
        json!({"TableName": "tbl",
        "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}], "BillingMode": "PAY_PER_REQUEST"}),
    );
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["TableDescription"]["TableStatus"], "ACTIVE");
    let (status, _) = call(
        p,
        "PutItem",
        json!({"TableName": "tbl", "Item": {"id": {"S": "a"}, "n": {"N": "1"}}}),
    );
    assert_eq!(status, 200);
    let (_, out) = call(
        p,
        "GetItem",
        json!({"TableName": "tbl", "Key": {"id": {"S": "a"}}}),
    );
    assert_eq!(out, json!({"Item": {"id": {"S": "a"}, "n": {"N": "1"}}}));
    let (status, out) = call(
        p,
        "PutItem",
        json!({"TableName": "tbl", "Item": {"id": {"S": "a"}},
        "ConditionExpression": "attribute_not_exists(id)", "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}),
    );
    assert_eq!(status, 400);
    assert_eq!(
        out["__type"],
        "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException"
    );
    assert_eq!(out["message"], "The conditional request failed");
    assert_eq!(out["Item"]["n"], json!({"N": "1"}));
    let (status, out) = call(p, "DescribeTable", json!({"TableName": "nope"}));
    assert_eq!(
        (status, out["__type"].as_str().unwrap()),
        (
            400,
            "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException"
        )
    );
    let (status, out) = call(p, "NoSuchThing", json!({}));
    assert_eq!(
        (status, out["__type"].as_str().unwrap()),
        (400, "com.amazon.coral.service#UnknownOperationException")
    );
    let (status, out) = call(
        p,
        "TransactWriteItems",
        json!({"TransactItems": [
        {"ConditionCheck": {"TableName": "tbl", "Key": {"id": {"S": "zz"}}, "ConditionExpression": "attribute_exists(id)"}}]}),
    );
    assert_eq!(status, 400);
    assert_eq!(
        out["CancellationReasons"][0]["Code"],
        "ConditionalCheckFailed"
    );
}

#[test]
fn malformed_requests_get_dynamodb_errors_and_the_server_stays_up() {
    let server = start();
    let p = server.port;
    for body in [
        &b"{not json"[..],
        b"",
        b"[1,2,3]",
        b"\xff\xfe\xfd",
        br#"{"Limit": "many"}"#,
    ] {
        let (status, _, out) = raw(p, "DynamoDB_20120810.ListTables", body, &[]);
        let out: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(status, 400, "{out}");
        assert_eq!(
            out["__type"], "com.amazon.coral.service#SerializationException",
            "{out}"
        );
    }
    let deep = format!(
        "{}{{\"S\":\"x\"}}{}",
        "{\"L\":[".repeat(5000),
        "]}".repeat(5000)
    );
    let body = format!(r#"{{"TableName":"tbl","Item":{{"id":{{"S":"a"}},"d":{deep}}}}}"#);
    let (status, _, _) = raw(p, "DynamoDB_20120810.PutItem", body.as_bytes(), &[]);
    assert_eq!(status, 400);
    // An unknown AttributeValue member is ignored, leaving an empty value (DIFFERENCES.md B11).
    let (status, out) = call(
        p,
        "PutItem",
        json!({"TableName": "tbl", "Item": {"id": {"S": "a"}, "n": {"XX": "a"}}}),
    );
    assert_eq!(status, 400);
    assert_eq!(
        out["__type"],
        "com.amazonaws.dynamodb.v20120810#ValidationException"
    );
    assert_eq!(
        out["message"],
        "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes"
    );
    let huge = vec![b' '; strata_server::MAX_BODY + 10];
    let (status, _, out) = raw(p, "DynamoDB_20120810.ListTables", &huge, &[]);
    assert_eq!(status, 400, "{}", String::from_utf8_lossy(&out));
    // Still healthy; gzip both ways.
    let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(br#"{}"#).unwrap();
    let (status, headers, body) = raw(
        p,
        "DynamoDB_20120810.ListTables",
        &z.finish().unwrap(),
        &[("Content-Encoding", "gzip")],
    );
    assert_eq!(status, 200);
    assert!(
        !headers.iter().any(|(k, _)| k == "content-encoding"),
        "small responses are not compressed"
    );
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap(),
        json!({"TableNames": []})
    );
}

#[test]
fn boto3_suite_passes() {
    let have_boto3 = std::process::Command::new("python3")
        .args(["-c", "import boto3"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(have_boto3, "boto3 is required (.ci/run installs it)");
    // Shards close every 10 records so the suite can follow lineage.
    let open = common::start_configured(
        None,
        common::served()
            .stream_shard_max_records(10)
            .ttl_sweep_interval(std::time::Duration::from_millis(100)),
    );
    let creds = strata_server::sigv4::load_credentials("AKIDGOOD secret-good\n").unwrap();
    let signed = start_with(Some(creds));
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/boto3_suite.py");
    let out = std::process::Command::new("python3")
        .arg(script)
        .env("STRATA_ENDPOINT", format!("http://127.0.0.1:{}", open.port))
        .env(
            "STRATA_SIGNED_ENDPOINT",
            format!("http://127.0.0.1:{}", signed.port),
        )
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the boto3 suite failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
