//! Routing a request to the table layer: `X-Amz-Target` names the operation, the JSON body
//! deserializes into its input type, the output serializes back. Errors become DynamoDB's
//! JSON error bodies (see [`crate::error`]).

use crate::error::WireError;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};
use strata_table::Database;

/// The `X-Amz-Target` prefixes: DynamoDB's and DynamoDB Streams' API versions.
pub const DYNAMODB: &str = "DynamoDB_20120810";
/// DynamoDB Streams' target prefix.
pub const STREAMS: &str = "DynamoDBStreams_20120810";

fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, WireError> {
    serde_json::from_slice(body).map_err(|e| WireError::serialization(&e))
}

fn reply<T: Serialize>(out: Result<T, strata_table::TableError>) -> Result<Vec<u8>, WireError> {
    // 128 bytes: where `sonic_rs::to_vec` starts.
    to_json(&out.map_err(WireError::from)?, 128)
}

/// [`reply`] for a Query or Scan page, into a buffer sized for it up front: grown by
/// doubling from empty, a 100 KB page's buffer was reallocated (and copied) ten times, a
/// tenth of a Query's server time. Escaping reserves room for the worst case of each string
/// (sonic-rs), hence the slack.
fn reply_page(
    out: Result<strata_table::stored::ReadOutput, strata_table::TableError>,
) -> Result<Vec<u8>, WireError> {
    let out = out.map_err(WireError::from)?;
    to_json(&out, out.stored_bytes() * 5 / 4 + 16 * 1024)
}

/// `out` as JSON, into a buffer of `capacity` to start with. Straight to bytes, no
/// intermediate `Value` tree, with sonic-rs's SIMD string escaping: escaping item strings
/// byte by byte was a quarter of a Query's cost.
fn to_json<T: Serialize>(out: &T, capacity: usize) -> Result<Vec<u8>, WireError> {
    let mut buf = Vec::with_capacity(capacity);
    sonic_rs::to_writer(&mut buf, out).map_err(|e| WireError::internal(e.to_string()))?;
    Ok(buf)
}

fn value(v: Value) -> Result<Vec<u8>, WireError> {
    serde_json::to_vec(&v).map_err(|e| WireError::internal(e.to_string()))
}

/// The `TableName` of a request that takes only that: a name, or a table ARN.
fn table_name_in(body: &[u8]) -> Result<String, WireError> {
    let input: Value = parse(body)?;
    let name = input
        .get("TableName")
        .and_then(Value::as_str)
        .unwrap_or_default();
    Ok(name.rsplit(":table/").next().unwrap_or(name).to_owned())
}

/// TagResource / UntagResource / ListTagsOfResource input.
#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TagInput {
    resource_arn: Option<String>,
    tags: Option<Vec<strata_table::model::Tag>>,
    tag_keys: Option<Vec<String>>,
}

impl TagInput {
    fn arn(&self) -> Result<String, WireError> {
        self.resource_arn.clone().ok_or_else(|| {
            WireError::validation(
                "1 validation error detected: Value null at 'resourceArn' failed to satisfy constraint: Member must not be null",
            )
        })
    }
}

/// Runs operation `target` (the full header value) with request body `body`.
pub fn dispatch(
    db: &Database,
    target: &str,
    body: &[u8],
    region: &str,
) -> Result<Vec<u8>, WireError> {
    let (service, op) = target.split_once('.').unwrap_or((target, ""));
    if service == STREAMS {
        return match op {
            "ListStreams" => reply(db.list_streams(parse(body)?)),
            "DescribeStream" => reply(db.describe_stream(parse(body)?)),
            "GetShardIterator" => reply(db.get_shard_iterator(parse(body)?)),
            "GetRecords" => reply(db.get_records(parse(body)?)),
            _ => Err(WireError::unknown_operation()),
        };
    }
    if service != DYNAMODB {
        return Err(WireError::unknown_operation());
    }
    match op {
        "CreateTable" => reply(db.create_table(parse(body)?)),
        "DescribeTable" => reply(db.describe_table(parse(body)?)),
        "ListTables" => reply(db.list_tables(parse(body)?)),
        "UpdateTable" => reply(db.update_table(parse(body)?)),
        "DeleteTable" => reply(db.delete_table(parse(body)?)),
        "PutItem" => reply(db.put_item(parse(body)?)),
        "GetItem" => reply(db.get_item(parse(body)?)),
        "UpdateItem" => reply(db.update_item(parse(body)?)),
        "DeleteItem" => reply(db.delete_item(parse(body)?)),
        "Query" => reply_page(db.query_stored(parse(body)?)),
        "Scan" => reply_page(db.scan_stored(parse(body)?)),
        "BatchGetItem" => reply(db.batch_get_item(parse(body)?)),
        "BatchWriteItem" => reply(db.batch_write_item(parse(body)?)),
        "TransactGetItems" => reply(db.transact_get_items(parse(body)?)),
        "TransactWriteItems" => reply(db.transact_write_items(parse(body)?)),
        // Control-plane calls SDKs and tools make.
        "DescribeLimits" => value(json!({
            "AccountMaxReadCapacityUnits": 80000, "AccountMaxWriteCapacityUnits": 80000,
            "TableMaxReadCapacityUnits": 40000, "TableMaxWriteCapacityUnits": 40000
        })),
        "DescribeEndpoints" => value(json!({
            "Endpoints": [{"Address": format!("dynamodb.{region}.amazonaws.com"), "CachePeriodInMinutes": 1440}]
        })),
        "DescribeTimeToLive" => reply(db.describe_time_to_live(parse(body)?)),
        "UpdateTimeToLive" => reply(db.update_time_to_live(parse(body)?)),
        "ListTagsOfResource" => {
            let input: TagInput = parse(body)?;
            let tags = db
                .list_tags_of_resource(&input.arn()?)
                .map_err(WireError::from)?;
            value(json!({ "Tags": tags }))
        }
        "TagResource" => {
            let input: TagInput = parse(body)?;
            db.tag_resource(&input.arn()?, &input.tags.unwrap_or_default())
                .map_err(WireError::from)?;
            value(json!({}))
        }
        "UntagResource" => {
            let input: TagInput = parse(body)?;
            db.untag_resource(&input.arn()?, &input.tag_keys.unwrap_or_default())
                .map_err(WireError::from)?;
            value(json!({}))
        }
        // Continuous backups are ENABLED on every table (DynamoDB's documentation); point in
        // time recovery is not offered.
        "DescribeContinuousBackups" => {
            let name = table_name_in(body)?;
            db.live_table(&name)
                .map_err(|_| WireError::table_not_found(&name))?;
            value(json!({"ContinuousBackupsDescription": {
                "ContinuousBackupsStatus": "ENABLED",
                "PointInTimeRecoveryDescription": {"PointInTimeRecoveryStatus": "DISABLED"}}}))
        }
        _ => Err(WireError::unknown_operation()),
    }
}
