//! The table-layer workloads: DynamoDB operations through `strata_table::Database`, on a
//! table `bench` (partition key `pk` S, sort key `sk` N) of `--num`/10 items in partitions
//! of 100, values the size of `--value-size`.
//!
//! The secondary-index workloads write the same items, plus the attributes `g0`..`g4` (S)
//! and `n` (N, the item's number), to tables `bench_gsi0`, `bench_gsi1` and `bench_gsi5`,
//! which differ only in how many GSIs they have (0, 1, 5). GSI `gsi{i}` is keyed HASH `g{i}`,
//! RANGE `n`; each `g{i}` takes one of (`--num`/10)/200 values (at least one), scattered over
//! the items by a hash, so a GSI partition holds about 200 items and every index gets an
//! entry for every item. Projections, to mix the entry sizes a real table has: `gsi0` ALL
//! (the one queried, and `bench_gsi1`'s only index), `gsi1` and `gsi3` KEYS_ONLY, `gsi2`
//! INCLUDE `v` (the value), `gsi4` INCLUDE `g0`.

use crate::dynamo::{Call, DynamoApi};
use crate::engines::Result;
use crate::workloads::{key, Params, Run, ValueGen};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

/// The number of items the table workloads use.
fn items(p: &Params) -> u64 {
    (p.num / 10).max(100)
}

/// GSI attributes every item of the secondary-index workloads carries (`g0`..`g4`).
const GSI_ATTRIBUTES: usize = 5;

/// Bytes of one item's GSI attributes: `GSI_ATTRIBUTES` 8-byte strings and the number `n`.
const GSI_ATTRIBUTE_BYTES: u64 = GSI_ATTRIBUTES as u64 * 8 + 8;

/// Items per GSI partition, on average: twice a query's `Limit`, so every partition fills it.
const GSI_PARTITION_ITEMS: u64 = 200;

/// The secondary-index put workloads: (workload, table, GSIs).
const GSI_PUTS: &[(&str, &str, usize)] = &[
    ("table-put-gsi0", "bench_gsi0", 0),
    ("table-put-gsi1", "bench_gsi1", 1),
    ("table-put-gsi5", "bench_gsi5", 5),
];

/// The table `table-query-gsi` reads (through its one GSI, `gsi0`).
const GSI_QUERY_TABLE: &str = "bench_gsi1";

/// Creates table `name` unless it exists, with a stream when `stream`, and `gsis` GSIs.
fn ensure_table(db: &dyn DynamoApi, name: &str, stream: bool, gsis: usize) -> Result<()> {
    if db.has_table(name) {
        return Ok(());
    }
    let mut attributes = vec![
        json!({"AttributeName": "pk", "AttributeType": "S"}),
        json!({"AttributeName": "sk", "AttributeType": "N"}),
    ];
    let mut spec = json!({
        "TableName": name,
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                      {"AttributeName": "sk", "KeyType": "RANGE"}],
        "BillingMode": "PAY_PER_REQUEST"
    });
    if stream {
        spec["StreamSpecification"] =
            json!({"StreamEnabled": true, "StreamViewType": "NEW_AND_OLD_IMAGES"});
    }
    if gsis > 0 {
        attributes.push(json!({"AttributeName": "n", "AttributeType": "N"}));
        let indexes: Vec<_> = (0..gsis)
            .map(|i| {
                attributes.push(json!({"AttributeName": format!("g{i}"), "AttributeType": "S"}));
                json!({
                    "IndexName": format!("gsi{i}"),
                    "KeySchema": [{"AttributeName": format!("g{i}"), "KeyType": "HASH"},
                                  {"AttributeName": "n", "KeyType": "RANGE"}],
                    "Projection": gsi_projection(i),
                })
            })
            .collect();
        spec["GlobalSecondaryIndexes"] = json!(indexes);
    }
    spec["AttributeDefinitions"] = json!(attributes);
    db.create_table(spec)
}

/// GSI `i`'s projection (see the module comment).
fn gsi_projection(i: usize) -> serde_json::Value {
    match i {
        0 => json!({"ProjectionType": "ALL"}),
        1 | 3 => json!({"ProjectionType": "KEYS_ONLY"}),
        2 => json!({"ProjectionType": "INCLUDE", "NonKeyAttributes": ["v"]}),
        _ => json!({"ProjectionType": "INCLUDE", "NonKeyAttributes": ["g0"]}),
    }
}

/// The number of distinct values of each GSI attribute, for `n` items.
fn gsi_partitions(n: u64) -> u64 {
    (n / GSI_PARTITION_ITEMS).max(1)
}

/// GSI partition `g` as an attribute value (8 bytes).
fn gsi_value(g: u64) -> serde_json::Value {
    json!({"S": format!("{g:08}")})
}

/// The partition of attribute `g{attribute}` of item `i`, out of `partitions`: a hash
/// (splitmix64's finalizer), so items of one table partition scatter over the index.
fn gsi_partition(i: u64, attribute: usize, partitions: u64) -> u64 {
    let mut x = i.wrapping_mul(GSI_ATTRIBUTES as u64) + attribute as u64;
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    (x ^ (x >> 31)) % partitions
}

/// Item `i`'s key: partition `i / 100`, sort key `i % 100`.
fn item_key(i: u64, p: &Params, kb: &mut Vec<u8>) -> serde_json::Value {
    key(i / 100, p.key_size, kb);
    json!({"pk": {"S": String::from_utf8_lossy(kb)}, "sk": {"N": (i % 100).to_string()}})
}

/// Runs table workload `name`, timing each operation in `run`.
pub fn run(
    db: &dyn DynamoApi,
    name: &str,
    p: &Params,
    run: &mut Run,
    values: &mut ValueGen,
) -> Result<()> {
    if let Some(&(_, table, gsis)) = GSI_PUTS.iter().find(|(w, _, _)| *w == name) {
        return put_gsi(db, table, gsis, p, run, values);
    }
    if name == "table-query-gsi" {
        return query_gsi(db, name, p, run);
    }
    // Creating a table (catalog writes, fsynced) is not the workload's.
    run.untimed(|| {
        ensure_table(db, "bench", false, 0)?;
        ensure_table(db, "bench_stream", true, 0)
    })?;
    let n = items(p);
    let mut rng = StdRng::seed_from_u64(p.seed ^ crate::hash_name(name));
    let mut kb = Vec::new();
    match name {
        "table-put" | "table-put-stream" => {
            let table = if name == "table-put" {
                "bench"
            } else {
                "bench_stream"
            };
            prepared(
                run,
                n,
                |i| {
                    let mut item = item_key(i, p, &mut kb);
                    item["v"] = json!({"S": String::from_utf8_lossy(values.next())});
                    db.put_item(json!({"TableName": table, "Item": item}))
                },
                |()| Ok(()),
            )?;
            run.user_bytes = n * (p.key_size + 8 + p.value_size) as u64;
        }
        "table-get" => prepared(
            run,
            n,
            |_| {
                let k = item_key(rng.gen_range(0..n), p, &mut kb);
                db.get_item(json!({"TableName": "bench", "Key": k}))
            },
            |found| match found {
                true => Ok(()),
                false => Err("table-get: an item is missing (run table-put first)".into()),
            },
        )?,
        "table-update" => prepared(
            run,
            n,
            |_| {
                let k = item_key(rng.gen_range(0..n), p, &mut kb);
                db.update_item(json!({"TableName": "bench", "Key": k,
                    "UpdateExpression": "ADD hits :one",
                    "ExpressionAttributeValues": {":one": {"N": "1"}}}))
            },
            |()| Ok(()),
        )?,
        _ => {
            let partitions = (n / 100).max(1);
            prepared(
                run,
                partitions * 2,
                |_| {
                    key(rng.gen_range(0..partitions), p.key_size, &mut kb);
                    let request = json!({"TableName": "bench",
                        "KeyConditionExpression": "pk = :p",
                        "ExpressionAttributeValues": {":p": {"S": String::from_utf8_lossy(&kb)}}});
                    if name == "table-query100-read" {
                        db.query_reading(request, "v")
                    } else {
                        db.query(request)
                    }
                },
                |count| match count {
                    100 => Ok(()),
                    _ => Err(format!("{name}: {count} items in a partition with v").into()),
                },
            )?;
        }
    }
    Ok(())
}

/// PutItem of every item, in `table-put`'s order, each with its GSI attributes, into `table`
/// (created with `gsis` GSIs).
fn put_gsi(
    db: &dyn DynamoApi,
    table: &str,
    gsis: usize,
    p: &Params,
    run: &mut Run,
    values: &mut ValueGen,
) -> Result<()> {
    run.untimed(|| ensure_table(db, table, false, gsis))?;
    let n = items(p);
    let partitions = gsi_partitions(n);
    let mut kb = Vec::new();
    prepared(
        run,
        n,
        |i| {
            let mut item = item_key(i, p, &mut kb);
            item["v"] = json!({"S": String::from_utf8_lossy(values.next())});
            item["n"] = json!({"N": i.to_string()});
            for a in 0..GSI_ATTRIBUTES {
                item[format!("g{a}")] = gsi_value(gsi_partition(i, a, partitions));
            }
            db.put_item(json!({"TableName": table, "Item": item}))
        },
        |()| Ok(()),
    )?;
    run.user_bytes = n * ((p.key_size + 8 + p.value_size) as u64 + GSI_ATTRIBUTE_BYTES);
    Ok(())
}

/// Query of GSI `gsi0` (projection ALL) of `bench_gsi1`: a random GSI partition, `Limit`
/// 100, as many queries as `table-query100` runs; each must return 100 items.
fn query_gsi(db: &dyn DynamoApi, name: &str, p: &Params, run: &mut Run) -> Result<()> {
    run.untimed(|| ensure_table(db, GSI_QUERY_TABLE, false, 1))?;
    let n = items(p);
    let partitions = gsi_partitions(n);
    let mut rng = StdRng::seed_from_u64(p.seed ^ crate::hash_name(name));
    prepared(
        run,
        (n / 100).max(1) * 2,
        |_| {
            let g = gsi_value(rng.gen_range(0..partitions));
            db.query(json!({"TableName": GSI_QUERY_TABLE, "IndexName": "gsi0",
                "KeyConditionExpression": "g0 = :g", "Limit": 100,
                "ExpressionAttributeValues": {":g": g}}))
        },
        |count| match count {
            100 => Ok(()),
            _ => Err(format!(
                "{name}: {count} items in a GSI partition (run table-put-gsi1 first)"
            )
            .into()),
        },
    )
}

/// Operations prepared per batch, outside the measurement ([`Run::untimed`]).
const PREPARED_BATCH: u64 = 256;

/// Runs `count` operations: `prepare(i)` builds the `i`-th request (untimed, a batch at a
/// time), then each is run and timed, and `check` sees its result.
fn prepared<'a, T>(
    run: &mut Run,
    count: u64,
    mut prepare: impl FnMut(u64) -> Result<Call<'a, T>>,
    mut check: impl FnMut(T) -> Result<()>,
) -> Result<()> {
    let mut start = 0;
    while start < count {
        let end = (start + PREPARED_BATCH).min(count);
        let calls = run.untimed(|| (start..end).map(&mut prepare).collect::<Result<Vec<_>>>())?;
        for call in calls {
            check(run.timed(call)?)?;
        }
        start = end;
    }
    Ok(())
}
