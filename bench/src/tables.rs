//! The table-layer workloads: DynamoDB operations through `strata_table::Database`, on a
//! table `bench` (partition key `pk` S, sort key `sk` N) of `--num`/10 items in partitions
//! of 100, values the size of `--value-size`.

use crate::dynamo::DynamoApi;
use crate::engines::Result;
use crate::workloads::{key, Params, Run, ValueGen};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

/// The number of items the table workloads use.
fn items(p: &Params) -> u64 {
    (p.num / 10).max(100)
}

fn ensure_table(db: &dyn DynamoApi, name: &str, stream: bool) -> Result<()> {
    if db.has_table(name) {
        return Ok(());
    }
    let mut spec = json!({
        "TableName": name,
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"},
                                 {"AttributeName": "sk", "AttributeType": "N"}],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                      {"AttributeName": "sk", "KeyType": "RANGE"}],
        "BillingMode": "PAY_PER_REQUEST"
    });
    if stream {
        spec["StreamSpecification"] =
            json!({"StreamEnabled": true, "StreamViewType": "NEW_AND_OLD_IMAGES"});
    }
    db.create_table(spec)
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
    ensure_table(db, "bench", false)?;
    ensure_table(db, "bench_stream", true)?;
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
            for i in 0..n {
                let mut item = item_key(i, p, &mut kb);
                item["v"] = json!({"S": String::from_utf8_lossy(values.next())});
                let call = db.put_item(json!({"TableName": table, "Item": item}))?;
                run.timed(call)?;
            }
            run.user_bytes = n * (p.key_size + 8 + p.value_size) as u64;
        }
        "table-get" => {
            for _ in 0..n {
                let k = item_key(rng.gen_range(0..n), p, &mut kb);
                let call = db.get_item(json!({"TableName": "bench", "Key": k}))?;
                if !run.timed(call)? {
                    return Err("table-get: an item is missing (run table-put first)".into());
                }
            }
        }
        "table-update" => {
            for _ in 0..n {
                let k = item_key(rng.gen_range(0..n), p, &mut kb);
                let call = db.update_item(json!({"TableName": "bench", "Key": k,
                    "UpdateExpression": "ADD hits :one",
                    "ExpressionAttributeValues": {":one": {"N": "1"}}}))?;
                run.timed(call)?;
            }
        }
        _ => {
            let partitions = n / 100;
            for _ in 0..partitions.max(1) * 2 {
                key(rng.gen_range(0..partitions.max(1)), p.key_size, &mut kb);
                let call = db.query(json!({"TableName": "bench",
                    "KeyConditionExpression": "pk = :p",
                    "ExpressionAttributeValues": {":p": {"S": String::from_utf8_lossy(&kb)}}}))?;
                let count = run.timed(call)?;
                if count != 100 {
                    return Err(format!("table-query100: {count} items in a partition").into());
                }
            }
        }
    }
    Ok(())
}
