//! Indexes across real `kill -9`s.
//!
//! A child process makes random writes of every kind on a table with GSIs and an LSI; on odd
//! rounds it also adds a GSI (so a backfill runs, and drops the oldest added one to keep the
//! count bounded) while the writes go on. The parent kills it at a random moment, reopens
//! the database (which resumes any backfill), waits until every index is ACTIVE and checks
//! every index against a recomputation from the table. Rounds continue on the same
//! directory; `STRATA_INDEX_CRASH_ROUNDS` sets their number (default 8).

#![allow(clippy::unwrap_used, reason = "test code: a panic is a failed test")]

use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::BufRead;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use strata_table::model::SecondaryIndexDescription;
use strata_table::{Database, Item};

const CHILD_ENV: &str = "STRATA_INDEX_CRASH_CHILD";

fn req<T: serde::de::DeserializeOwned>(v: Value) -> T {
    serde_json::from_value(v).unwrap()
}

fn open(dir: &str) -> Database {
    Database::open(
        dir,
        strata_engine::Options::default().write_buffer_size(256 * 1024),
    )
    .unwrap()
}

fn ensure_table(db: &Database) {
    if db.live_table("orders").is_ok() {
        return;
    }
    db.create_table(req(json!({"TableName": "orders",
        "AttributeDefinitions": [
            {"AttributeName": "customer", "AttributeType": "S"},
            {"AttributeName": "order", "AttributeType": "N"},
            {"AttributeName": "status", "AttributeType": "S"},
            {"AttributeName": "total", "AttributeType": "N"}],
        "KeySchema": [{"AttributeName": "customer", "KeyType": "HASH"},
                      {"AttributeName": "order", "KeyType": "RANGE"}],
        "BillingMode": "PAY_PER_REQUEST",
        "GlobalSecondaryIndexes": [{"IndexName": "byStatus",
            "KeySchema": [{"AttributeName": "status", "KeyType": "HASH"},
                          {"AttributeName": "total", "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "KEYS_ONLY"}}],
        "LocalSecondaryIndexes": [{"IndexName": "byTotal",
            "KeySchema": [{"AttributeName": "customer", "KeyType": "HASH"},
                          {"AttributeName": "total", "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["note"]}}]})))
        .unwrap();
    // Enough items for a backfill to take a while.
    for chunk in 0..200 {
        let requests: Vec<Value> = (0..25)
            .map(|i| {
                let n = chunk * 25 + i;
                json!({"PutRequest": {"Item": {"customer": {"S": format!("c{}", n % 97)},
                    "order": {"N": n.to_string()}, "status": {"S": "new"},
                    "total": {"N": (n % 500).to_string()}, "note": {"S": "n"},
                    "region": {"S": format!("r{}", n % 5)}}}})
            })
            .collect();
        db.batch_write_item(req(json!({"RequestItems": {"orders": requests}})))
            .unwrap();
    }
}

fn random_item(rng: &mut impl Rng) -> Value {
    let mut item = json!({"customer": {"S": format!("c{}", rng.gen_range(0..97))},
        "order": {"N": rng.gen_range(0..6000).to_string()}});
    if rng.gen_bool(0.8) {
        item["status"] = json!({"S": (["new", "paid", "sent"][rng.gen_range(0..3)])});
    }
    if rng.gen_bool(0.8) {
        item["total"] = json!({"N": rng.gen_range(0..500).to_string()});
    }
    if rng.gen_bool(0.7) {
        item["region"] = json!({"S": format!("r{}", rng.gen_range(0..5))});
    }
    if rng.gen_bool(0.5) {
        item["note"] = json!({"S": "x".repeat(rng.gen_range(1..30))});
    }
    item
}

fn key_of(item: &Value) -> Value {
    json!({"customer": item["customer"], "order": item["order"]})
}

#[test]
#[ignore = "runs only as the index crash test's child process"]
fn index_crash_child() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        panic!("index_crash_child runs only as a child of the crash test ({CHILD_ENV} unset)");
    };
    let round: u64 = std::env::var("STRATA_INDEX_ROUND")
        .unwrap()
        .parse()
        .unwrap();
    let db = open(&dir);
    ensure_table(&db);
    println!("ready");
    let mut rng = rand::rngs::StdRng::seed_from_u64(round);
    for n in 0u64.. {
        if round % 2 == 1 && n == 20 {
            let name = format!("byRegion{round}");
            db.update_table(req(json!({"TableName": "orders",
                "AttributeDefinitions": [{"AttributeName": "region", "AttributeType": "S"}],
                "GlobalSecondaryIndexUpdates": [{"Create": {"IndexName": name,
                    "KeySchema": [{"AttributeName": "region", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "ALL"}}}]})))
                .unwrap();
            println!("created {name}");
        }
        if round.is_multiple_of(2) && round >= 4 && n == 10 {
            let old = format!("byRegion{}", round - 3);
            if db
                .update_table(req(json!({"TableName": "orders",
                    "GlobalSecondaryIndexUpdates": [{"Delete": {"IndexName": old}}]})))
                .is_ok()
            {
                println!("deleted {old}");
            }
        }
        let item = random_item(&mut rng);
        match rng.gen_range(0..10) {
            0..=3 => {
                db.put_item(req(json!({"TableName": "orders", "Item": item})))
                    .unwrap();
            }
            4..=5 => {
                db.delete_item(req(json!({"TableName": "orders", "Key": key_of(&item)})))
                    .unwrap();
            }
            6..=7 => {
                db.update_item(req(json!({"TableName": "orders", "Key": key_of(&item),
                    "UpdateExpression": "SET #s = :s REMOVE #r",
                    "ExpressionAttributeNames": {"#s": "status", "#r": "region"},
                    "ExpressionAttributeValues": {":s": {"S": "paid"}}})))
                    .unwrap();
            }
            8 => {
                let other = random_item(&mut rng);
                if key_of(&other) != key_of(&item) {
                    db.batch_write_item(req(json!({"RequestItems": {"orders": [
                        {"PutRequest": {"Item": item}},
                        {"DeleteRequest": {"Key": key_of(&other)}}]}})))
                        .unwrap();
                }
            }
            _ => {
                let other = random_item(&mut rng);
                if key_of(&other) != key_of(&item) {
                    db.transact_write_items(req(json!({"TransactItems": [
                        {"Put": {"TableName": "orders", "Item": item}},
                        {"Put": {"TableName": "orders", "Item": other}}]})))
                        .unwrap();
                }
            }
        }
    }
}

/// Every item of `table` (or entry of `index`), by paged Scans.
fn scan_all(db: &Database, index: Option<&str>) -> Vec<Item> {
    let mut out = Vec::new();
    let mut start: Option<Item> = None;
    loop {
        let page = db
            .scan(req(
                json!({"TableName": "orders", "IndexName": index, "Limit": 700,
                "ExclusiveStartKey": start}),
            ))
            .unwrap();
        out.extend(page.items.unwrap());
        match page.last_evaluated_key {
            Some(k) => start = Some(k),
            None => return out,
        }
    }
}

/// The entry an index must hold for `item`, from its description.
fn recompute(index: &SecondaryIndexDescription, item: &Item) -> Option<Item> {
    let keys: Vec<String> = index
        .key_schema
        .as_ref()
        .unwrap()
        .iter()
        .map(|k| k.attribute_name.clone().unwrap())
        .collect();
    if keys.iter().any(|k| !item.contains_key(k)) {
        return None;
    }
    let projection = index.projection.as_ref().unwrap();
    let extra = projection.non_key_attributes.clone().unwrap_or_default();
    let all = projection.projection_type.as_deref() == Some("ALL");
    Some(
        item.iter()
            .filter(|(n, _)| {
                all || n.as_str() == "customer"
                    || n.as_str() == "order"
                    || keys.contains(n)
                    || extra.contains(n)
            })
            .map(|(n, v)| (n.clone(), v.clone()))
            .collect(),
    )
}

fn table_key(item: &Item) -> String {
    format!("{:?}/{:?}", item["customer"], item["order"])
}

fn check(db: &Database) -> usize {
    let deadline = Instant::now() + Duration::from_secs(120);
    let table = loop {
        let t = db
            .describe_table(req(json!({"TableName": "orders"})))
            .unwrap()
            .table
            .unwrap();
        let creating = t
            .global_secondary_indexes
            .iter()
            .flatten()
            .any(|g| g.index_status.as_deref() != Some("ACTIVE"));
        if !creating {
            break t;
        }
        assert!(Instant::now() < deadline, "a backfill never finished");
        std::thread::sleep(Duration::from_millis(20));
    };
    let items = scan_all(db, None);
    let indexes: Vec<SecondaryIndexDescription> = table
        .global_secondary_indexes
        .into_iter()
        .flatten()
        .chain(table.local_secondary_indexes.into_iter().flatten())
        .collect();
    for index in &indexes {
        let name = index.index_name.clone().unwrap();
        let want: BTreeMap<String, Item> = items
            .iter()
            .filter_map(|i| recompute(index, i).map(|e| (table_key(i), e)))
            .collect();
        let mut got = BTreeMap::new();
        for entry in scan_all(db, Some(&name)) {
            let k = table_key(&entry);
            assert!(
                got.insert(k.clone(), entry).is_none(),
                "{name} holds {k} twice"
            );
        }
        for (k, v) in &want {
            assert_eq!(got.get(k), Some(v), "{name}: entry of {k}");
        }
        assert_eq!(
            got.len(),
            want.len(),
            "{name} holds entries of missing items"
        );
        assert_eq!(
            index.item_count,
            Some(want.len() as i64),
            "{name}'s ItemCount"
        );
    }
    indexes.len()
}

#[test]
fn indexes_match_their_table_after_kill_9_during_writes_and_backfills() {
    let rounds: u64 = std::env::var("STRATA_INDEX_CRASH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_str().unwrap().to_owned();
    let exe = std::env::current_exe().unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(42);
    let mut backfills_killed = 0;
    for round in 0..rounds {
        let mut child = Command::new(&exe)
            .args(["--ignored", "--exact", "index_crash_child", "--nocapture"])
            .env(CHILD_ENV, &path)
            .env("STRATA_INDEX_ROUND", round.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        while line.trim() != "ready" {
            line.clear();
            assert!(
                out.read_line(&mut line).unwrap() > 0,
                "the child exited early"
            );
        }
        // Let the child run (and start its backfill, on odd rounds) before the kill.
        std::thread::sleep(Duration::from_millis(rng.gen_range(20..200)));
        child.kill().unwrap();
        child.wait().unwrap();
        drop(out);
        let db = open(&path);
        let creating = db
            .describe_table(req(json!({"TableName": "orders"})))
            .unwrap()
            .table
            .unwrap()
            .global_secondary_indexes
            .into_iter()
            .flatten()
            .any(|g| g.index_status.as_deref() == Some("CREATING"));
        if creating {
            backfills_killed += 1;
        }
        let n = check(&db);
        assert!(n >= 2);
    }
    eprintln!("{rounds} rounds, {backfills_killed} killed during a backfill");
}
