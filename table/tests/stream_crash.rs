//! Stream completeness across real `kill -9`s.
//!
//! A child process makes random item writes on a table with a NEW_AND_OLD_IMAGES stream —
//! updates that bump a per-item version, deletes, puts, writes whose conditions fail, and
//! two-item transactions — and prints each acknowledged write's tag. The parent kills it at
//! a random moment, reopens the database, reads the whole stream and replays it from nothing:
//! every record's old image must be exactly the state the previous records left (so nothing is
//! missing, duplicated or from a failed or uncommitted write), no record may change nothing,
//! each item's versions must rise, the replayed state must equal the table, and every
//! acknowledged write's tag must be in the stream. Rounds continue on the same directory;
//! `STRATA_STREAM_CRASH_ROUNDS` sets their number (default 20).

#![allow(clippy::unwrap_used, reason = "test code: a panic is a failed test")]

use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashSet};
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Duration;
use strata_table::stream_api::Record;
use strata_table::{AttributeValue, Database, Item, TableError};

const CHILD_ENV: &str = "STRATA_STREAM_CRASH_CHILD";

fn req<T: serde::de::DeserializeOwned>(v: Value) -> T {
    serde_json::from_value(v).unwrap()
}

fn ensure_table(db: &Database) {
    if db.live_table("items").is_ok() {
        return;
    }
    db.create_table(req(json!({"TableName": "items",
        "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
        "BillingMode": "PAY_PER_REQUEST",
        "StreamSpecification": {"StreamEnabled": true, "StreamViewType": "NEW_AND_OLD_IMAGES"}})))
        .unwrap();
}

fn options() -> strata_engine::Options {
    strata_engine::Options::default().write_buffer_size(128 * 1024)
}

#[test]
#[ignore = "runs only as the stream crash test's child process"]
fn stream_crash_child() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        panic!("stream_crash_child runs only as a child of the crash test ({CHILD_ENV} unset)");
    };
    let round: u64 = std::env::var("STRATA_STREAM_ROUND")
        .unwrap()
        .parse()
        .unwrap();
    let db = Database::open(&dir, options()).unwrap();
    ensure_table(&db);
    let mut rng = rand::rngs::StdRng::seed_from_u64(round);
    let mut out = std::io::stdout().lock();
    for n in 0u64.. {
        let tag = format!("r{round}-{n}");
        let mut deleting = false;
        let id = format!("k{}", rng.gen_range(0..12));
        let result: Result<(), TableError> = match rng.gen_range(0..10) {
            0..=4 => db
                .update_item(req(json!({"TableName": "items", "Key": {"id": {"S": id}},
                    "UpdateExpression": "ADD v :one SET tag = :tag",
                    "ExpressionAttributeValues": {":one": {"N": "1"}, ":tag": {"S": tag}}})))
                .map(|_| ()),
            5 => {
                deleting = true;
                db.delete_item(req(json!({"TableName": "items", "Key": {"id": {"S": id}}})))
                    .map(|_| ())
            }
            6 => db
                // Fails whenever the item exists: its change must never reach the stream.
                .put_item(req(json!({"TableName": "items",
                    "Item": {"id": {"S": id}, "v": {"N": "0"}, "tag": {"S": tag}},
                    "ConditionExpression": "attribute_not_exists(id)"})))
                .map(|_| ()),
            7 => db
                .update_item(req(json!({"TableName": "items", "Key": {"id": {"S": id}},
                    "UpdateExpression": "SET tag = :tag", "ConditionExpression": "v > :big",
                    "ExpressionAttributeValues": {":tag": {"S": tag}, ":big": {"N": "999999999"}}})))
                .map(|_| ()),
            _ => {
                let other = format!("k{}", rng.gen_range(12..24));
                db.transact_write_items(req(json!({"TransactItems": [
                    {"Update": {"TableName": "items", "Key": {"id": {"S": id}},
                        "UpdateExpression": "ADD v :one SET tag = :tag",
                        "ExpressionAttributeValues": {":one": {"N": "1"}, ":tag": {"S": tag}}}},
                    {"Update": {"TableName": "items", "Key": {"id": {"S": other}},
                        "UpdateExpression": "ADD v :one SET tag = :tag",
                        "ExpressionAttributeValues": {":one": {"N": "1"}, ":tag": {"S": tag}}}}]})))
                    .map(|_| ())
            }
        };
        match result {
            Ok(()) => {
                let kind = if deleting { "delete" } else { "write" };
                writeln!(out, "ack {kind} {tag}").unwrap();
                out.flush().unwrap();
            }
            Err(
                TableError::ConditionalCheckFailed { .. } | TableError::TransactionCanceled { .. },
            ) => {}
            Err(e) => panic!("{e}"),
        }
    }
}

fn read_stream(db: &Database) -> Vec<Record> {
    let desc = db
        .describe_table(req(json!({"TableName": "items"})))
        .unwrap()
        .table
        .unwrap();
    let arn = desc.latest_stream_arn.unwrap();
    let shards = db
        .describe_stream(req(json!({"StreamArn": arn})))
        .unwrap()
        .stream_description
        .unwrap()
        .shards
        .unwrap();
    let mut all = Vec::new();
    for shard in shards {
        let mut it = db
            .get_shard_iterator(req(json!({"StreamArn": arn, "ShardId": shard.shard_id,
                "ShardIteratorType": "TRIM_HORIZON"})))
            .unwrap()
            .shard_iterator;
        while let Some(token) = it {
            let page = db
                .get_records(req(json!({"ShardIterator": token})))
                .unwrap();
            let records = page.records.unwrap();
            let done = records.is_empty();
            all.extend(records);
            it = if done { None } else { page.next_shard_iterator };
        }
    }
    all.sort_by(|a, b| a.dynamodb.sequence_number.cmp(&b.dynamodb.sequence_number));
    all
}

fn number(item: &Item, name: &str) -> i64 {
    match item.get(name) {
        Some(AttributeValue::N(n)) => n.to_i64().unwrap(),
        _ => 0,
    }
}

fn verify(dir: &std::path::Path, acked: &HashSet<String>, round: u64) {
    let db =
        Database::open(dir, options()).unwrap_or_else(|e| panic!("round {round}: reopen: {e}"));
    if db.live_table("items").is_err() {
        return; // killed before the table existed
    }
    let records = read_stream(&db);
    let mut state: BTreeMap<String, Item> = BTreeMap::new();
    let mut seen_seqs = HashSet::new();
    let mut tags = HashSet::new();
    for r in &records {
        assert!(
            seen_seqs.insert(r.dynamodb.sequence_number.clone()),
            "round {round}: duplicate record"
        );
        let keys = r.dynamodb.keys.as_ref().unwrap();
        let AttributeValue::S(id) = &keys["id"] else {
            panic!()
        };
        let before = state.get(id).cloned();
        assert_eq!(
            r.dynamodb.old_image, before,
            "round {round}: {id}: old image is not the previous state"
        );
        match r.event_name.as_str() {
            "INSERT" | "MODIFY" => {
                let new = r.dynamodb.new_image.clone().unwrap();
                assert_ne!(
                    Some(&new),
                    before.as_ref(),
                    "round {round}: a record that changes nothing"
                );
                assert_eq!(
                    r.event_name == "INSERT",
                    before.is_none(),
                    "round {round}: event name"
                );
                if let Some(b) = &before {
                    assert!(
                        number(&new, "v") > number(b, "v"),
                        "round {round}: {id}: version went backwards"
                    );
                }
                if let Some(AttributeValue::S(t)) = new.get("tag") {
                    tags.insert(t.clone());
                }
                state.insert(id.clone(), new);
            }
            "REMOVE" => {
                assert!(
                    before.is_some() && r.dynamodb.new_image.is_none(),
                    "round {round}: bad REMOVE"
                );
                state.remove(id);
            }
            other => panic!("{other}"),
        }
    }
    let scanned = db
        .scan(req(json!({"TableName": "items"})))
        .unwrap()
        .items
        .unwrap();
    let table: BTreeMap<String, Item> = scanned
        .into_iter()
        .map(|i| {
            let AttributeValue::S(id) = &i["id"] else {
                panic!()
            };
            (id.clone(), i)
        })
        .collect();
    assert_eq!(
        state, table,
        "round {round}: replaying the stream does not give the table"
    );
    // Every acknowledged write that stores its tag left a record carrying it (a later write
    // may overwrite the tag in the table, not in the stream).
    for entry in acked {
        if let Some(tag) = entry.strip_prefix("write ") {
            assert!(
                tags.contains(tag),
                "round {round}: acknowledged write {tag} is not in the stream"
            );
        }
    }
}

#[test]
fn the_stream_holds_exactly_the_committed_changes_across_kill_9() {
    let rounds: u64 = std::env::var("STRATA_STREAM_CRASH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(5);
    let mut acked: HashSet<String> = HashSet::new();
    for round in 0..rounds {
        let mut child = Command::new(&exe)
            .args([
                "stream_crash_child",
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, dir.path())
            .env("STRATA_STREAM_ROUND", round.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .filter_map(|l| l.strip_prefix("ack ").map(str::to_owned))
                .collect::<Vec<_>>()
        });
        std::thread::sleep(Duration::from_millis(rng.gen_range(100..500)));
        child.kill().unwrap();
        let _ = child.wait();
        acked.extend(reader.join().unwrap());
        verify(dir.path(), &acked, round);
    }
    assert!(
        acked.len() > 50,
        "the child did too little work: {} writes",
        acked.len()
    );
}
