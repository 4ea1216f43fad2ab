//! Secondary indexes against a recomputation from the table.
//!
//! The model test makes random writes of every kind (PutItem, UpdateItem, DeleteItem,
//! BatchWriteItem, TransactWriteItems; index keys added, changed, removed, and of the wrong
//! type) on a table with two GSIs (one sparse and KEYS_ONLY, one INCLUDE) and an LSI, with
//! reopens, and after every step compares each index — read back through Scan with
//! IndexName — with what the reference items say it must hold, and checks a random index
//! Query against the reference. The backfill test adds a GSI to a large table while writers
//! go on and checks the index once it is ACTIVE.
//!
//! `STRATA_INDEX_MODEL_OPS` sets the steps per seed (default 400).

#![allow(clippy::unwrap_used, reason = "test code: a panic is a failed test")]

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use strata_table::{AttributeValue, Database, Item, TableError};

fn req<T: serde::de::DeserializeOwned>(v: Value) -> T {
    serde_json::from_value(v).unwrap()
}

fn open(dir: &std::path::Path) -> Database {
    Database::open(
        dir,
        strata_engine::Options::default().write_buffer_size(128 * 1024),
    )
    .unwrap()
}

/// What an index holds, as the test understands DynamoDB's rules.
struct IndexSpec {
    name: &'static str,
    partition: (&'static str, &'static str),
    sort: Option<(&'static str, &'static str)>,
    /// `None`: ALL; `Some(list)`: the keys and these attributes.
    projected: Option<&'static [&'static str]>,
}

const TABLE_KEYS: [&str; 2] = ["pk", "sk"];

const INDEXES: [IndexSpec; 3] = [
    IndexSpec {
        name: "byStatus",
        partition: ("status", "S"),
        sort: Some(("at", "N")),
        projected: Some(&["a"]),
    },
    IndexSpec {
        name: "sparseTag",
        partition: ("tag", "S"),
        sort: None,
        projected: Some(&[]),
    },
    IndexSpec {
        name: "byA",
        partition: ("pk", "S"),
        sort: Some(("a", "N")),
        projected: None,
    },
];

fn create(db: &Database) {
    db.create_table(req(json!({
        "TableName": "indexed",
        "AttributeDefinitions": [
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"},
            {"AttributeName": "status", "AttributeType": "S"},
            {"AttributeName": "at", "AttributeType": "N"},
            {"AttributeName": "tag", "AttributeType": "S"},
            {"AttributeName": "a", "AttributeType": "N"}],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                      {"AttributeName": "sk", "KeyType": "RANGE"}],
        "BillingMode": "PAY_PER_REQUEST",
        "GlobalSecondaryIndexes": [
            {"IndexName": "byStatus",
             "KeySchema": [{"AttributeName": "status", "KeyType": "HASH"},
                           {"AttributeName": "at", "KeyType": "RANGE"}],
             "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["a"]}},
            {"IndexName": "sparseTag",
             "KeySchema": [{"AttributeName": "tag", "KeyType": "HASH"}],
             "Projection": {"ProjectionType": "KEYS_ONLY"}}],
        "LocalSecondaryIndexes": [
            {"IndexName": "byA",
             "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                           {"AttributeName": "a", "KeyType": "RANGE"}],
             "Projection": {"ProjectionType": "ALL"}}]})))
        .unwrap();
}

fn type_of(v: &AttributeValue) -> &'static str {
    match v {
        AttributeValue::S(_) => "S",
        AttributeValue::N(_) => "N",
        _ => "other",
    }
}

/// The entry `item` has in `index`, recomputed: `None` if the item is not in it.
fn recompute(index: &IndexSpec, item: &Item) -> Option<Item> {
    let mut keys = vec![index.partition];
    keys.extend(index.sort);
    for (name, ty) in &keys {
        if type_of(item.get(*name)?) != *ty {
            return None;
        }
    }
    Some(
        item.iter()
            .filter(|(n, _)| match index.projected {
                None => true,
                Some(list) => {
                    TABLE_KEYS.contains(&n.as_str())
                        || keys.iter().any(|(k, _)| k == n)
                        || list.contains(&n.as_str())
                }
            })
            .map(|(n, v)| (n.clone(), v.clone()))
            .collect(),
    )
}

/// The engine-independent identity of an item: its table key.
fn key_of(item: &Item) -> (String, String) {
    (format!("{:?}", item["pk"]), format!("{:?}", item["sk"]))
}

/// Every entry of `index`, through paged Scans with IndexName.
fn scan_index(db: &Database, table: &str, index: &str, limit: i64) -> Vec<Item> {
    let mut out = Vec::new();
    let mut start: Option<Item> = None;
    loop {
        let page = db
            .scan(req(
                json!({"TableName": table, "IndexName": index, "Limit": limit,
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

/// Checks every index of the model table against the reference items.
fn check_indexes(db: &Database, model: &BTreeMap<(String, String), Item>, rng: &mut StdRng) {
    for index in &INDEXES {
        let mut want: BTreeMap<(String, String), Item> = BTreeMap::new();
        for item in model.values() {
            if let Some(entry) = recompute(index, item) {
                want.insert(key_of(item), entry);
            }
        }
        let got_list = scan_index(db, "indexed", index.name, rng.gen_range(1..50));
        let mut got = BTreeMap::new();
        for entry in got_list {
            assert!(
                got.insert(key_of(&entry), entry).is_none(),
                "index {} holds an item twice",
                index.name
            );
        }
        assert_eq!(
            got, want,
            "index {} differs from the recomputation",
            index.name
        );
    }
}

fn random_item(rng: &mut StdRng, pk: &str, sk: i64) -> Item {
    let mut v = json!({"pk": {"S": pk}, "sk": {"N": sk.to_string()}});
    let o = v.as_object_mut().unwrap();
    if rng.gen_bool(0.8) {
        o.insert(
            "status".into(),
            json!({"S": (["new", "open", "done"][rng.gen_range(0..3)])}),
        );
    }
    if rng.gen_bool(0.8) {
        o.insert("at".into(), json!({"N": rng.gen_range(0..30).to_string()}));
    }
    if rng.gen_bool(0.2) {
        o.insert(
            "tag".into(),
            json!({"S": format!("t{}", rng.gen_range(0..3))}),
        );
    }
    if rng.gen_bool(0.8) {
        o.insert("a".into(), json!({"N": rng.gen_range(-5..5).to_string()}));
    }
    if rng.gen_bool(0.5) {
        o.insert(
            "payload".into(),
            json!({"S": "x".repeat(rng.gen_range(0..40))}),
        );
    }
    req(v)
}

/// Makes one index key attribute of `item` the wrong type (the write must be refused).
fn spoil(rng: &mut StdRng, item: &mut Item) {
    match rng.gen_range(0..4) {
        0 => item.insert("status".into(), AttributeValue::N(1.into())),
        1 => item.insert("at".into(), AttributeValue::s("soon")),
        2 => item.insert("tag".into(), AttributeValue::N(2.into())),
        _ => item.insert("a".into(), AttributeValue::s("")),
    };
}

fn is_validation(r: Result<impl std::fmt::Debug, TableError>) {
    match r {
        Err(TableError::Validation(m)) => assert!(
            m.contains("Index") || m.contains("index"),
            "unexpected message: {m}"
        ),
        other => panic!("a wrongly typed index key was accepted: {other:?}"),
    }
}

fn run(seed: u64, steps: usize) {
    let dir = tempfile::tempdir().unwrap();
    let mut db = open(dir.path());
    create(&db);
    let mut rng = StdRng::seed_from_u64(seed);
    let mut model: BTreeMap<(String, String), Item> = BTreeMap::new();
    let pks = ["p0", "p1", "p2", "p3"];
    for _ in 0..steps {
        let pk = pks[rng.gen_range(0..pks.len())];
        let sk: i64 = rng.gen_range(0..12);
        let key: Item = req(json!({"pk": {"S": pk}, "sk": {"N": sk.to_string()}}));
        match rng.gen_range(0..100) {
            0..=29 => {
                let mut item = random_item(&mut rng, pk, sk);
                if rng.gen_bool(0.1) {
                    spoil(&mut rng, &mut item);
                    is_validation(db.put_item(req(json!({"TableName": "indexed", "Item": item}))));
                } else {
                    db.put_item(req(json!({"TableName": "indexed", "Item": item})))
                        .unwrap();
                    model.insert(key_of(&item), item);
                }
            }
            30..=54 => {
                // SET or REMOVE index key attributes.
                let mut sets = Vec::new();
                let mut removes = Vec::new();
                let mut values = serde_json::Map::new();
                for (name, value) in [
                    (
                        "status",
                        json!({"S": (["new", "open", "done"][rng.gen_range(0..3)])}),
                    ),
                    ("at", json!({"N": rng.gen_range(0..30).to_string()})),
                    ("tag", json!({"S": format!("t{}", rng.gen_range(0..3))})),
                    ("a", json!({"N": rng.gen_range(-5..5).to_string()})),
                ] {
                    match rng.gen_range(0..4) {
                        0 => {
                            sets.push(format!("#{name}_ = :{name}"));
                            values.insert(format!(":{name}"), value);
                        }
                        1 => removes.push(format!("#{name}_")),
                        _ => {}
                    }
                }
                let spoiled = rng.gen_bool(0.08);
                if spoiled {
                    sets.retain(|s| !s.starts_with("#status_"));
                    values.remove(":status");
                }
                if spoiled {
                    sets.push("#status_ = :bad".into());
                    values.insert(":bad".into(), json!({"N": "7"}));
                    removes.retain(|r| r != "#status_");
                }
                if sets.is_empty() && removes.is_empty() {
                    sets.push("#payload_ = :p".into());
                    values.insert(":p".into(), json!({"S": "updated"}));
                }
                let mut expr = String::new();
                if !sets.is_empty() {
                    expr += &format!("SET {}", sets.join(", "));
                }
                if !removes.is_empty() {
                    expr += &format!(" REMOVE {}", removes.join(", "));
                }
                let mut names = serde_json::Map::new();
                for n in ["status", "at", "tag", "a", "payload"] {
                    if expr.contains(&format!("#{n}_")) {
                        names.insert(format!("#{n}_"), json!(n));
                    }
                }
                let request = json!({"TableName": "indexed", "Key": key,
                    "UpdateExpression": expr, "ExpressionAttributeNames": names,
                    "ExpressionAttributeValues": if values.is_empty() { Value::Null } else { Value::Object(values) },
                    "ReturnValues": "ALL_NEW"});
                if spoiled {
                    is_validation(db.update_item(req(request)));
                } else {
                    let out = db.update_item(req(request)).unwrap();
                    let item = out.attributes.unwrap();
                    model.insert(key_of(&item), item);
                }
            }
            55..=69 => {
                db.delete_item(req(json!({"TableName": "indexed", "Key": key})))
                    .unwrap();
                model.remove(&key_of(&key));
            }
            70..=84 => {
                // A batch of distinct keys: puts and deletes, sometimes one spoiled put that
                // must refuse the whole batch.
                let mut seen = std::collections::HashSet::new();
                let mut requests = Vec::new();
                let mut effects = Vec::new();
                let spoil_one = rng.gen_bool(0.1);
                let mut spoiled = false;
                for _ in 0..rng.gen_range(1..8) {
                    let pk = pks[rng.gen_range(0..pks.len())];
                    let sk: i64 = rng.gen_range(0..12);
                    if !seen.insert((pk, sk)) {
                        continue;
                    }
                    if rng.gen_bool(0.7) {
                        let mut item = random_item(&mut rng, pk, sk);
                        if spoil_one && !spoiled {
                            spoil(&mut rng, &mut item);
                            spoiled = true;
                        }
                        requests.push(json!({"PutRequest": {"Item": item}}));
                        effects.push((key_of(&item), Some(item)));
                    } else {
                        let key: Item = req(json!({"pk": {"S": pk}, "sk": {"N": sk.to_string()}}));
                        requests.push(json!({"DeleteRequest": {"Key": key}}));
                        effects.push((key_of(&key), None));
                    }
                }
                let r = db.batch_write_item(req(json!({"RequestItems": {"indexed": requests}})));
                if spoiled {
                    is_validation(r);
                } else {
                    r.unwrap();
                    for (k, item) in effects {
                        match item {
                            Some(item) => model.insert(k, item),
                            None => model.remove(&k),
                        };
                    }
                }
            }
            85..=94 => {
                let other_sk = (sk + 1) % 12;
                let item = random_item(&mut rng, pk, other_sk);
                let out = db.transact_write_items(req(json!({"TransactItems": [
                    {"Put": {"TableName": "indexed", "Item": item}},
                    {"Update": {"TableName": "indexed", "Key": key,
                        "UpdateExpression": "SET #s = :s, #at = :at",
                        "ExpressionAttributeNames": {"#s": "status", "#at": "at"},
                        "ExpressionAttributeValues": {":s": {"S": "open"}, ":at": {"N": "3"}}}}]})));
                out.unwrap();
                model.insert(key_of(&item), item);
                let entry = model.entry(key_of(&key)).or_insert_with(|| key.clone());
                entry.insert("status".into(), AttributeValue::s("open"));
                entry.insert("at".into(), AttributeValue::N(3.into()));
            }
            _ => {
                drop(db);
                db = open(dir.path());
            }
        }
        check_indexes(&db, &model, &mut rng);
        check_query(&db, &model, &mut rng);
    }
}

/// A random Query on byStatus against the reference: the same items, in index order.
fn check_query(db: &Database, model: &BTreeMap<(String, String), Item>, rng: &mut StdRng) {
    let status = ["new", "open", "done"][rng.gen_range(0..3)];
    let from: i64 = rng.gen_range(0..30);
    let forward = rng.gen_bool(0.5);
    let mut want: Vec<(i64, (String, String))> = model
        .values()
        .filter(|i| recompute(&INDEXES[0], i).is_some())
        .filter(|i| i["status"] == AttributeValue::s(status))
        .filter_map(|i| match &i["at"] {
            AttributeValue::N(n) if n.to_i64().unwrap() >= from => {
                Some((n.to_i64().unwrap(), key_of(i)))
            }
            _ => None,
        })
        .collect();
    want.sort();
    let mut got = Vec::new();
    let mut start: Option<Item> = None;
    loop {
        let page = db
            .query(req(json!({"TableName": "indexed", "IndexName": "byStatus",
                "KeyConditionExpression": "#s = :s AND #at >= :from",
                "ExpressionAttributeNames": {"#s": "status", "#at": "at"},
                "ExpressionAttributeValues": {":s": {"S": status}, ":from": {"N": from.to_string()}},
                "ScanIndexForward": forward, "Limit": rng.gen_range(1..6),
                "ExclusiveStartKey": start})))
            .unwrap();
        for item in page.items.unwrap() {
            let at = match &item["at"] {
                AttributeValue::N(n) => n.to_i64().unwrap(),
                other => panic!("{other:?}"),
            };
            got.push((at, key_of(&item)));
        }
        match page.last_evaluated_key {
            Some(k) => start = Some(k),
            None => break,
        }
    }
    let ats: Vec<i64> = got.iter().map(|g| g.0).collect();
    let mut sorted = ats.clone();
    sorted.sort();
    if !forward {
        sorted.reverse();
    }
    assert_eq!(ats, sorted, "index Query out of order");
    got.sort();
    assert_eq!(got, want, "index Query differs from the reference");
}

#[test]
fn indexes_equal_their_recomputation_after_every_write() {
    let steps = std::env::var("STRATA_INDEX_MODEL_OPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(400);
    for seed in 0..3 {
        run(seed, steps);
    }
}

/// Items of the backfill test: `n` items, a third of them without the new index's key.
fn fill(db: &Database, n: usize) {
    for chunk in (0..n).collect::<Vec<_>>().chunks(25) {
        let requests: Vec<Value> = chunk
            .iter()
            .map(|i| {
                let mut item = json!({"id": {"S": format!("item{i:06}")}, "v": {"N": "0"}});
                if i % 3 != 0 {
                    item["color"] = json!({"S": (["red", "green", "blue"][i % 3])});
                }
                json!({"PutRequest": {"Item": item}})
            })
            .collect();
        db.batch_write_item(req(json!({"RequestItems": {"big": requests}})))
            .unwrap();
    }
}

#[test]
fn a_gsi_added_to_a_large_table_is_backfilled_while_writes_go_on() {
    let dir = tempfile::tempdir().unwrap();
    let db = std::sync::Arc::new(open(dir.path()));
    db.create_table(req(json!({"TableName": "big",
        "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
        "BillingMode": "PAY_PER_REQUEST"})))
        .unwrap();
    let n = 30_000;
    fill(&db, n);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (db, stop) = (db.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut rng = StdRng::seed_from_u64(7);
            let mut writes = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let id = format!("item{:06}", rng.gen_range(0..n + 2000));
                match rng.gen_range(0..4) {
                    0 => {
                        db.delete_item(req(json!({"TableName": "big", "Key": {"id": {"S": id}}})))
                            .unwrap();
                    }
                    1 => {
                        db.put_item(req(json!({"TableName": "big",
                            "Item": {"id": {"S": id}, "v": {"N": "1"}}})))
                            .unwrap();
                    }
                    _ => {
                        db.update_item(req(json!({"TableName": "big", "Key": {"id": {"S": id}},
                            "UpdateExpression": "SET color = :c ADD v :one",
                            "ExpressionAttributeValues": {":c": {"S": (["red", "cyan"][rng.gen_range(0..2)])},
                                                          ":one": {"N": "1"}}})))
                            .unwrap();
                    }
                }
                writes += 1;
            }
            writes
        })
    };
    std::thread::sleep(std::time::Duration::from_millis(50));
    let out = db
        .update_table(req(json!({"TableName": "big",
            "AttributeDefinitions": [{"AttributeName": "color", "AttributeType": "S"},
                                     {"AttributeName": "id", "AttributeType": "S"}],
            "GlobalSecondaryIndexUpdates": [{"Create": {"IndexName": "byColor",
                "KeySchema": [{"AttributeName": "color", "KeyType": "HASH"},
                              {"AttributeName": "id", "KeyType": "RANGE"}],
                "Projection": {"ProjectionType": "ALL"}}}]})))
        .unwrap();
    let gsi = &out
        .table_description
        .unwrap()
        .global_secondary_indexes
        .unwrap()[0];
    assert_eq!(gsi.index_status.as_deref(), Some("CREATING"));
    assert_eq!(gsi.backfilling, Some(true));
    // A backfilling index cannot be read yet.
    let early = db.query(req(json!({"TableName": "big", "IndexName": "byColor",
        "KeyConditionExpression": "color = :c", "ExpressionAttributeValues": {":c": {"S": "red"}}})));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        let d = db
            .describe_table(req(json!({"TableName": "big"})))
            .unwrap()
            .table
            .unwrap();
        let status = d.global_secondary_indexes.unwrap()[0].index_status.clone();
        if status.as_deref() == Some("ACTIVE") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "backfill never finished"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let writes = writer.join().unwrap();
    assert!(writes > 0);
    // 30,000 items take far longer to index than this read took to arrive.
    let e = early.expect_err("a backfilling index was read");
    assert!(e.to_string().contains("backfilling"), "{e}");
    let check = || {
        let mut want = BTreeMap::new();
        let mut start: Option<Item> = None;
        loop {
            let page = db
                .scan(req(json!({"TableName": "big", "ExclusiveStartKey": start})))
                .unwrap();
            for item in page.items.unwrap() {
                if matches!(item.get("color"), Some(AttributeValue::S(_))) {
                    want.insert(format!("{:?}", item["id"]), item);
                }
            }
            match page.last_evaluated_key {
                Some(k) => start = Some(k),
                None => break,
            }
        }
        let mut got = BTreeMap::new();
        for entry in scan_index(&db, "big", "byColor", 1000) {
            let id = format!("{:?}", entry["id"]);
            if let Some(prev) = got.insert(id.clone(), entry.clone()) {
                panic!(
                    "index holds {id} twice: {prev:?} and {entry:?}; table: {:?}",
                    want.get(&id)
                );
            }
        }
        for (k, v) in &got {
            if want.get(k) != Some(v) {
                eprintln!("index has {k}: {v:?}, table has {:?}", want.get(k));
            }
        }
        for (k, v) in &want {
            if !got.contains_key(k) {
                eprintln!("table has {k}: {v:?}, index has none");
            }
        }
        assert_eq!(got.len(), want.len());
        assert!(got == want, "the backfilled index differs from the table");
    };
    check();
    // Still in step after a reopen (the ACTIVE state and the entries are durable).
    drop(db);
    let db2 = open(dir.path());
    let d = db2
        .describe_table(req(json!({"TableName": "big"})))
        .unwrap()
        .table
        .unwrap();
    let gsi = &d.global_secondary_indexes.unwrap()[0];
    assert_eq!(gsi.index_status.as_deref(), Some("ACTIVE"));
    assert_eq!(gsi.backfilling, None);
    assert!(gsi.item_count.unwrap() > (n as i64) / 2);
}

#[test]
fn deleting_a_gsi_drops_its_entries_and_frees_the_name() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    create(&db);
    for i in 0..50 {
        db.put_item(req(
            json!({"TableName": "indexed", "Item": {"pk": {"S": "p"}, "sk": {"N": i.to_string()},
            "status": {"S": "open"}, "at": {"N": "1"}}}),
        ))
        .unwrap();
    }
    let out = db
        .update_table(req(json!({"TableName": "indexed",
            "GlobalSecondaryIndexUpdates": [{"Delete": {"IndexName": "byStatus"}}]})))
        .unwrap();
    let listed = out
        .table_description
        .unwrap()
        .global_secondary_indexes
        .unwrap();
    assert!(listed
        .iter()
        .any(|g| g.index_name.as_deref() == Some("byStatus")
            && g.index_status.as_deref() == Some("DELETING")));
    let err = db
        .query(req(json!({"TableName": "indexed", "IndexName": "byStatus",
            "KeyConditionExpression": "#s = :s", "ExpressionAttributeNames": {"#s": "status"},
            "ExpressionAttributeValues": {":s": {"S": "open"}}})))
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("does not have the specified index"),
        "{err}"
    );
    // Writes of items with the dropped index's (now undeclared) attributes of any type work.
    db.put_item(req(
        json!({"TableName": "indexed", "Item": {"pk": {"S": "p"}, "sk": {"N": "99"},
        "status": {"N": "5"}}}),
    ))
    .unwrap();
    // The same name can be created again, as a new, backfilled index.
    db.update_table(req(json!({"TableName": "indexed",
        "AttributeDefinitions": [{"AttributeName": "at", "AttributeType": "N"}],
        "GlobalSecondaryIndexUpdates": [{"Create": {"IndexName": "byStatus",
            "KeySchema": [{"AttributeName": "at", "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "KEYS_ONLY"}}}]})))
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let r = db.query(req(json!({"TableName": "indexed", "IndexName": "byStatus",
            "KeyConditionExpression": "#at = :one", "ExpressionAttributeNames": {"#at": "at"},
            "ExpressionAttributeValues": {":one": {"N": "1"}}})));
        match r {
            Ok(out) => {
                assert_eq!(out.count, 50);
                break;
            }
            Err(e) => {
                assert!(e.to_string().contains("backfilling"), "{e}");
                assert!(std::time::Instant::now() < deadline);
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
        }
    }
}

#[test]
fn item_collections_are_sized_reported_and_limited() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open_with(
        dir.path(),
        strata_engine::Options::default(),
        strata_table::DatabaseOptions::new().item_collection_limit(4000),
    )
    .unwrap();
    create(&db);
    let put = |sk: i64, pad: usize| {
        db.put_item(req(
            json!({"TableName": "indexed", "ReturnItemCollectionMetrics": "SIZE",
            "Item": {"pk": {"S": "p"}, "sk": {"N": sk.to_string()}, "a": {"N": "1"},
                     "pad": {"S": "x".repeat(pad)}}}),
        ))
    };
    let first = put(0, 100).unwrap();
    let metrics = first.item_collection_metrics.unwrap();
    assert_eq!(
        metrics.item_collection_key,
        Some(req(json!({"pk": {"S": "p"}})))
    );
    assert_eq!(metrics.size_estimate_range_gb, Some(vec![0.0, 1.0]));
    // The item and its (ALL-projected) LSI entry count: about twice 100 bytes per item.
    let mut n = 1;
    let err = loop {
        match put(n, 100) {
            Ok(_) => n += 1,
            Err(e) => break e,
        }
        assert!(n < 100, "the collection limit was never reached");
    };
    assert_eq!(err.code(), "ItemCollectionSizeLimitExceededException");
    assert!(
        (15..=20).contains(&n),
        "{n} items of ~110 bytes fit twice in 4000 bytes"
    );
    // Other partitions are unaffected; a write that shrinks the collection is allowed.
    db.put_item(req(json!({"TableName": "indexed",
        "Item": {"pk": {"S": "q"}, "sk": {"N": "0"}, "pad": {"S": "x".repeat(500)}}})))
        .unwrap();
    put(0, 10).unwrap();
    // Deleting frees room again.
    for sk in 1..n {
        db.delete_item(req(json!({"TableName": "indexed",
            "Key": {"pk": {"S": "p"}, "sk": {"N": sk.to_string()}}})))
            .unwrap();
    }
    put(1, 1000).unwrap();
    // A batch and a transaction report their collections per table.
    let batch = db
        .batch_write_item(req(json!({"ReturnItemCollectionMetrics": "SIZE",
            "RequestItems": {"indexed": [{"PutRequest": {"Item": {"pk": {"S": "r"}, "sk": {"N": "1"}}}}]}})))
        .unwrap();
    assert_eq!(batch.item_collection_metrics.unwrap()["indexed"].len(), 1);
    let tx = db
        .transact_write_items(req(json!({"ReturnItemCollectionMetrics": "SIZE",
            "TransactItems": [{"Put": {"TableName": "indexed", "Item": {"pk": {"S": "s"}, "sk": {"N": "1"}}}}]})))
        .unwrap();
    assert_eq!(tx.item_collection_metrics.unwrap()["indexed"].len(), 1);
    let bad = db.put_item(req(
        json!({"TableName": "indexed", "ReturnItemCollectionMetrics": "ALL",
        "Item": {"pk": {"S": "p"}, "sk": {"N": "0"}}}),
    ));
    assert!(bad
        .unwrap_err()
        .to_string()
        .contains("returnItemCollectionMetrics"));
}
