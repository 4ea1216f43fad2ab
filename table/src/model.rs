//! Request and response types of DynamoDB's API, with DynamoDB's JSON field names (the
//! botocore model's), so the server (de)serializes them directly.
//!
//! Enumerations (`ReturnValues`, `Select`, `KeyType` …) are kept as strings and checked by the
//! operations, which reject unknown values with DynamoDB's constraint messages rather than a
//! deserialization error.

use crate::value::{AttributeValue, Item};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// ExpressionAttributeNames.
pub type Names = BTreeMap<String, String>;
/// ExpressionAttributeValues.
pub type Values = BTreeMap<String, AttributeValue>;

/// Declares a request/response struct: PascalCase JSON names, every field optional and left
/// out of the JSON when absent.
macro_rules! wire {
    ($(#[$m:meta])* $name:ident { $($(#[$fm:meta])* $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
        #[serde(rename_all = "PascalCase", default)]
        pub struct $name {
            $(
                $(#[$fm])*
                #[serde(skip_serializing_if = "Option::is_none")]
                pub $field: $ty,
            )*
        }
    };
}

pub(crate) use wire;

wire!(
    /// An attribute used in a key schema, and its type (`S`, `N` or `B`).
    AttributeDefinition {
        /// The attribute.
        attribute_name: Option<String>,
        /// `S`, `N` or `B`.
        attribute_type: Option<String>,
    }
);

wire!(
    /// One element of a key schema.
    KeySchemaElement {
        /// The attribute.
        attribute_name: Option<String>,
        /// `HASH` or `RANGE`.
        key_type: Option<String>,
    }
);

wire!(
    /// Provisioned capacity (accepted and reported; strata does not throttle).
    ProvisionedThroughput {
        /// Read capacity units.
        read_capacity_units: Option<i64>,
        /// Write capacity units.
        write_capacity_units: Option<i64>,
    }
);

wire!(
    /// Provisioned capacity as DescribeTable reports it.
    ProvisionedThroughputDescription {
        /// Always 0 here.
        number_of_decreases_today: Option<i64>,
        /// Read capacity units (0 on on-demand tables).
        read_capacity_units: Option<i64>,
        /// Write capacity units (0 on on-demand tables).
        write_capacity_units: Option<i64>,
    }
);

wire!(
    /// The billing mode as DescribeTable reports it.
    BillingModeSummary {
        /// `PROVISIONED` or `PAY_PER_REQUEST`.
        billing_mode: Option<String>,
        /// When the table last switched to on-demand (epoch seconds).
        last_update_to_pay_per_request_date_time: Option<f64>,
    }
);

wire!(
    /// Which attributes an index holds.
    Projection {
        /// `ALL`, `KEYS_ONLY` or `INCLUDE`.
        projection_type: Option<String>,
        /// With `INCLUDE`: the non-key attributes.
        non_key_attributes: Option<Vec<String>>,
    }
);

wire!(
    /// A secondary index in a CreateTable request.
    SecondaryIndex {
        /// The index name.
        index_name: Option<String>,
        /// Its key schema.
        key_schema: Option<Vec<KeySchemaElement>>,
        /// Its projection.
        projection: Option<Projection>,
        /// GSIs only.
        provisioned_throughput: Option<ProvisionedThroughput>,
    }
);

wire!(
    /// A secondary index as DescribeTable reports it.
    SecondaryIndexDescription {
        /// The index name.
        index_name: Option<String>,
        /// Its key schema.
        key_schema: Option<Vec<KeySchemaElement>>,
        /// Its projection.
        projection: Option<Projection>,
        /// GSIs: `ACTIVE` (or `CREATING` while backfilling).
        index_status: Option<String>,
        /// GSIs: whether a backfill is running.
        backfilling: Option<bool>,
        /// GSIs only.
        provisioned_throughput: Option<ProvisionedThroughputDescription>,
        /// Bytes of the index (approximate).
        index_size_bytes: Option<i64>,
        /// Items in the index (approximate).
        item_count: Option<i64>,
        /// The index ARN.
        index_arn: Option<String>,
    }
);

wire!(
    /// Whether a table has a stream and what its records hold.
    StreamSpecification {
        /// Whether the stream is on.
        stream_enabled: Option<bool>,
        /// `KEYS_ONLY`, `NEW_IMAGE`, `OLD_IMAGE` or `NEW_AND_OLD_IMAGES`.
        stream_view_type: Option<String>,
    }
);

wire!(
    /// A key-value tag.
    Tag {
        /// The key.
        key: Option<String>,
        /// The value.
        value: Option<String>,
    }
);

wire!(
    /// DescribeTable's view of a table.
    TableDescription {
        /// Key attributes and their types.
        attribute_definitions: Option<Vec<AttributeDefinition>>,
        /// The table name.
        table_name: Option<String>,
        /// The key schema.
        key_schema: Option<Vec<KeySchemaElement>>,
        /// `CREATING`, `ACTIVE`, `DELETING` or `UPDATING`.
        table_status: Option<String>,
        /// Epoch seconds.
        creation_date_time: Option<f64>,
        /// Capacity.
        provisioned_throughput: Option<ProvisionedThroughputDescription>,
        /// Bytes of items (approximate, refreshed periodically as in DynamoDB).
        table_size_bytes: Option<i64>,
        /// Items (approximate).
        item_count: Option<i64>,
        /// The table ARN.
        table_arn: Option<String>,
        /// A unique id.
        table_id: Option<String>,
        /// The billing mode.
        billing_mode_summary: Option<BillingModeSummary>,
        /// LSIs.
        local_secondary_indexes: Option<Vec<SecondaryIndexDescription>>,
        /// GSIs.
        global_secondary_indexes: Option<Vec<SecondaryIndexDescription>>,
        /// The stream settings.
        stream_specification: Option<StreamSpecification>,
        /// The current stream's label (a timestamp).
        latest_stream_label: Option<String>,
        /// The current stream's ARN.
        latest_stream_arn: Option<String>,
        /// Whether DeleteTable is refused.
        deletion_protection_enabled: Option<bool>,
    }
);

wire!(
    /// CreateTable.
    CreateTableInput {
        /// Key attributes and their types.
        attribute_definitions: Option<Vec<AttributeDefinition>>,
        /// The table name.
        table_name: Option<String>,
        /// The key schema.
        key_schema: Option<Vec<KeySchemaElement>>,
        /// LSIs.
        local_secondary_indexes: Option<Vec<SecondaryIndex>>,
        /// GSIs.
        global_secondary_indexes: Option<Vec<SecondaryIndex>>,
        /// `PROVISIONED` (default) or `PAY_PER_REQUEST`.
        billing_mode: Option<String>,
        /// Required with `PROVISIONED`.
        provisioned_throughput: Option<ProvisionedThroughput>,
        /// Streams.
        stream_specification: Option<StreamSpecification>,
        /// Tags.
        tags: Option<Vec<Tag>>,
        /// Refuse DeleteTable while on.
        deletion_protection_enabled: Option<bool>,
        /// Accepted, ignored.
        table_class: Option<String>,
        /// Accepted, ignored.
        #[serde(rename = "SSESpecification")]
        sse_specification: Option<serde_json::Value>,
    }
);

wire!(
    /// CreateTable's answer.
    CreateTableOutput {
        /// The new table.
        table_description: Option<TableDescription>,
    }
);

wire!(
    /// DescribeTable / DeleteTable.
    TableNameInput {
        /// The table.
        table_name: Option<String>,
    }
);

wire!(
    /// DescribeTable's answer.
    DescribeTableOutput {
        /// The table.
        table: Option<TableDescription>,
    }
);

wire!(
    /// DeleteTable's answer.
    DeleteTableOutput {
        /// The table as it was, status `DELETING`.
        table_description: Option<TableDescription>,
    }
);

wire!(
    /// ListTables.
    ListTablesInput {
        /// Start after this name.
        exclusive_start_table_name: Option<String>,
        /// 1..=100 names per page (default 100).
        limit: Option<i64>,
    }
);

wire!(
    /// ListTables' answer.
    ListTablesOutput {
        /// Names, in order.
        table_names: Option<Vec<String>>,
        /// Where the next page starts, if there is one.
        last_evaluated_table_name: Option<String>,
    }
);

wire!(
    /// A change to a GSI in UpdateTable.
    GlobalSecondaryIndexUpdate {
        /// Create an index.
        create: Option<SecondaryIndex>,
        /// Delete an index.
        delete: Option<IndexName>,
        /// Change an index's capacity.
        update: Option<SecondaryIndex>,
    }
);

wire!(
    /// An index by name.
    IndexName {
        /// The index.
        index_name: Option<String>,
    }
);

wire!(
    /// UpdateTable.
    UpdateTableInput {
        /// The table.
        table_name: Option<String>,
        /// Definitions for new index keys.
        attribute_definitions: Option<Vec<AttributeDefinition>>,
        /// New billing mode.
        billing_mode: Option<String>,
        /// New capacity.
        provisioned_throughput: Option<ProvisionedThroughput>,
        /// GSI changes.
        global_secondary_index_updates: Option<Vec<GlobalSecondaryIndexUpdate>>,
        /// Stream changes.
        stream_specification: Option<StreamSpecification>,
        /// Deletion protection.
        deletion_protection_enabled: Option<bool>,
        /// Accepted, ignored.
        table_class: Option<String>,
    }
);

wire!(
    /// UpdateTable's answer.
    UpdateTableOutput {
        /// The table after the change.
        table_description: Option<TableDescription>,
    }
);

wire!(
    /// Capacity used by a request (ReturnConsumedCapacity).
    ConsumedCapacity {
        /// The table.
        table_name: Option<String>,
        /// Total capacity units.
        capacity_units: Option<f64>,
        /// Read units.
        read_capacity_units: Option<f64>,
        /// Write units.
        write_capacity_units: Option<f64>,
        /// With `INDEXES`: the table's share.
        table: Option<Capacity>,
        /// With `INDEXES`: each LSI's share.
        local_secondary_indexes: Option<BTreeMap<String, Capacity>>,
        /// With `INDEXES`: each GSI's share.
        global_secondary_indexes: Option<BTreeMap<String, Capacity>>,
    }
);

wire!(
    /// Capacity units of one table or index.
    Capacity {
        /// Total.
        capacity_units: Option<f64>,
        /// Reads.
        read_capacity_units: Option<f64>,
        /// Writes.
        write_capacity_units: Option<f64>,
    }
);

wire!(
    /// A legacy condition on one attribute (`Expected`).
    ExpectedAttributeValue {
        /// Compare with this value (with `Exists`).
        value: Option<AttributeValue>,
        /// Whether the attribute must exist.
        exists: Option<bool>,
        /// `EQ`, `NE`, `LE`, `LT`, `GE`, `GT`, `NOT_NULL`, `NULL`, `CONTAINS`, `NOT_CONTAINS`,
        /// `BEGINS_WITH`, `IN`, `BETWEEN`.
        comparison_operator: Option<String>,
        /// The operator's operands.
        attribute_value_list: Option<Vec<AttributeValue>>,
    }
);

wire!(
    /// A legacy condition without `Exists` (`KeyConditions`, `QueryFilter`, `ScanFilter`).
    Condition {
        /// The operator.
        comparison_operator: Option<String>,
        /// Its operands.
        attribute_value_list: Option<Vec<AttributeValue>>,
    }
);

wire!(
    /// A legacy update of one attribute (`AttributeUpdates`).
    AttributeValueUpdate {
        /// The value.
        value: Option<AttributeValue>,
        /// `PUT` (default), `ADD` or `DELETE`.
        action: Option<String>,
    }
);

wire!(
    /// PutItem.
    PutItemInput {
        /// The table.
        table_name: Option<String>,
        /// The item.
        item: Option<Item>,
        /// A condition on the current item.
        condition_expression: Option<String>,
        /// Placeholders for names.
        expression_attribute_names: Option<Names>,
        /// Placeholders for values.
        expression_attribute_values: Option<Values>,
        /// `NONE` or `ALL_OLD`.
        return_values: Option<String>,
        /// `NONE` or `ALL_OLD`.
        return_values_on_condition_check_failure: Option<String>,
        /// `NONE`, `TOTAL` or `INDEXES`.
        return_consumed_capacity: Option<String>,
        /// `NONE` or `SIZE` (reported for tables with local secondary indexes).
        return_item_collection_metrics: Option<String>,
        /// Legacy condition.
        expected: Option<BTreeMap<String, ExpectedAttributeValue>>,
        /// Legacy `AND`/`OR` for `Expected`.
        conditional_operator: Option<String>,
    }
);

wire!(
    /// The size of an item collection (the items sharing a partition key value in a table
    /// with local secondary indexes, with their LSI entries), with
    /// `ReturnItemCollectionMetrics: SIZE`.
    ItemCollectionMetrics {
        /// The partition key of the collection.
        item_collection_key: Option<Item>,
        /// A range of gigabytes the collection's size lies in.
        #[serde(rename = "SizeEstimateRangeGB")]
        size_estimate_range_gb: Option<Vec<f64>>,
    }
);

impl ItemCollectionMetrics {
    /// The metrics of a collection with partition key `key` and `bytes` bytes: DynamoDB's
    /// one-gigabyte-wide estimate around the size.
    pub fn of(key: Item, bytes: u64) -> ItemCollectionMetrics {
        let gb = (bytes as f64 / (1u64 << 30) as f64).floor();
        ItemCollectionMetrics {
            item_collection_key: Some(key),
            size_estimate_range_gb: Some(vec![gb, gb + 1.0]),
        }
    }
}

wire!(
    /// The answer to a write (PutItem, UpdateItem, DeleteItem).
    WriteItemOutput {
        /// The old or new attributes, per ReturnValues.
        attributes: Option<Item>,
        /// With ReturnConsumedCapacity.
        consumed_capacity: Option<ConsumedCapacity>,
        /// With ReturnItemCollectionMetrics `SIZE`, on tables with local secondary indexes.
        item_collection_metrics: Option<ItemCollectionMetrics>,
    }
);

wire!(
    /// GetItem.
    GetItemInput {
        /// The table.
        table_name: Option<String>,
        /// The key.
        key: Option<Item>,
        /// Attributes to return.
        projection_expression: Option<String>,
        /// Placeholders for names.
        expression_attribute_names: Option<Names>,
        /// Strongly consistent read (every read here is).
        consistent_read: Option<bool>,
        /// `NONE`, `TOTAL` or `INDEXES`.
        return_consumed_capacity: Option<String>,
        /// Legacy projection.
        attributes_to_get: Option<Vec<String>>,
    }
);

wire!(
    /// GetItem's answer.
    GetItemOutput {
        /// The item, if it exists.
        item: Option<Item>,
        /// With ReturnConsumedCapacity.
        consumed_capacity: Option<ConsumedCapacity>,
    }
);

wire!(
    /// DeleteItem.
    DeleteItemInput {
        /// The table.
        table_name: Option<String>,
        /// The key.
        key: Option<Item>,
        /// A condition on the current item.
        condition_expression: Option<String>,
        /// Placeholders for names.
        expression_attribute_names: Option<Names>,
        /// Placeholders for values.
        expression_attribute_values: Option<Values>,
        /// `NONE` or `ALL_OLD`.
        return_values: Option<String>,
        /// `NONE` or `ALL_OLD`.
        return_values_on_condition_check_failure: Option<String>,
        /// `NONE`, `TOTAL` or `INDEXES`.
        return_consumed_capacity: Option<String>,
        /// Accepted.
        return_item_collection_metrics: Option<String>,
        /// Legacy condition.
        expected: Option<BTreeMap<String, ExpectedAttributeValue>>,
        /// Legacy `AND`/`OR` for `Expected`.
        conditional_operator: Option<String>,
    }
);

wire!(
    /// UpdateItem.
    UpdateItemInput {
        /// The table.
        table_name: Option<String>,
        /// The key.
        key: Option<Item>,
        /// The update.
        update_expression: Option<String>,
        /// A condition on the current item.
        condition_expression: Option<String>,
        /// Placeholders for names.
        expression_attribute_names: Option<Names>,
        /// Placeholders for values.
        expression_attribute_values: Option<Values>,
        /// `NONE`, `ALL_OLD`, `UPDATED_OLD`, `ALL_NEW` or `UPDATED_NEW`.
        return_values: Option<String>,
        /// `NONE` or `ALL_OLD`.
        return_values_on_condition_check_failure: Option<String>,
        /// `NONE`, `TOTAL` or `INDEXES`.
        return_consumed_capacity: Option<String>,
        /// Accepted.
        return_item_collection_metrics: Option<String>,
        /// Legacy update.
        attribute_updates: Option<BTreeMap<String, AttributeValueUpdate>>,
        /// Legacy condition.
        expected: Option<BTreeMap<String, ExpectedAttributeValue>>,
        /// Legacy `AND`/`OR` for `Expected`.
        conditional_operator: Option<String>,
    }
);

wire!(
    /// Query.
    QueryInput {
        /// The table.
        table_name: Option<String>,
        /// Query an index instead of the table.
        index_name: Option<String>,
        /// The key condition.
        key_condition_expression: Option<String>,
        /// A filter applied after the page is read.
        filter_expression: Option<String>,
        /// Attributes to return.
        projection_expression: Option<String>,
        /// Placeholders for names.
        expression_attribute_names: Option<Names>,
        /// Placeholders for values.
        expression_attribute_values: Option<Values>,
        /// `ALL_ATTRIBUTES`, `ALL_PROJECTED_ATTRIBUTES`, `SPECIFIC_ATTRIBUTES` or `COUNT`.
        select: Option<String>,
        /// Items to evaluate per page (before the filter).
        limit: Option<i64>,
        /// Ascending sort-key order (default true).
        scan_index_forward: Option<bool>,
        /// Where to resume.
        exclusive_start_key: Option<Item>,
        /// Strongly consistent read.
        consistent_read: Option<bool>,
        /// `NONE`, `TOTAL` or `INDEXES`.
        return_consumed_capacity: Option<String>,
        /// Legacy key conditions.
        key_conditions: Option<BTreeMap<String, Condition>>,
        /// Legacy filter.
        query_filter: Option<BTreeMap<String, Condition>>,
        /// Legacy `AND`/`OR` for the filter.
        conditional_operator: Option<String>,
        /// Legacy projection.
        attributes_to_get: Option<Vec<String>>,
    }
);

wire!(
    /// Scan.
    ScanInput {
        /// The table.
        table_name: Option<String>,
        /// Scan an index instead of the table.
        index_name: Option<String>,
        /// A filter applied after the page is read.
        filter_expression: Option<String>,
        /// Attributes to return.
        projection_expression: Option<String>,
        /// Placeholders for names.
        expression_attribute_names: Option<Names>,
        /// Placeholders for values.
        expression_attribute_values: Option<Values>,
        /// As in Query.
        select: Option<String>,
        /// Items to evaluate per page.
        limit: Option<i64>,
        /// Where to resume.
        exclusive_start_key: Option<Item>,
        /// Parallel scan: this worker's segment.
        segment: Option<i64>,
        /// Parallel scan: the number of segments.
        total_segments: Option<i64>,
        /// Strongly consistent read.
        consistent_read: Option<bool>,
        /// `NONE`, `TOTAL` or `INDEXES`.
        return_consumed_capacity: Option<String>,
        /// Legacy filter.
        scan_filter: Option<BTreeMap<String, Condition>>,
        /// Legacy `AND`/`OR` for the filter.
        conditional_operator: Option<String>,
        /// Legacy projection.
        attributes_to_get: Option<Vec<String>>,
    }
);

/// The answer to a Query or Scan; its items decoded (`I` = [`Item`]) or, from the
/// `*_stored` reads, possibly still in their stored encoding ([`crate::stored::ReadOutput`]).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct QueryOutput<I = Item> {
    /// The items (absent with `Select: COUNT`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub items: Option<Vec<I>>,
    /// Items returned (after the filter).
    pub count: i64,
    /// Items evaluated (before the filter).
    pub scanned_count: i64,
    /// Where the next page starts, if there may be one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_evaluated_key: Option<Item>,
    /// With ReturnConsumedCapacity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consumed_capacity: Option<ConsumedCapacity>,
}

wire!(
    /// The keys and options of one table in BatchGetItem.
    KeysAndAttributes {
        /// Up to 100 keys in all tables together.
        keys: Option<Vec<Item>>,
        /// Attributes to return.
        projection_expression: Option<String>,
        /// Placeholders for names.
        expression_attribute_names: Option<Names>,
        /// Strongly consistent read.
        consistent_read: Option<bool>,
        /// Legacy projection.
        attributes_to_get: Option<Vec<String>>,
    }
);

wire!(
    /// BatchGetItem.
    BatchGetItemInput {
        /// Per table.
        request_items: Option<BTreeMap<String, KeysAndAttributes>>,
        /// `NONE`, `TOTAL` or `INDEXES`.
        return_consumed_capacity: Option<String>,
    }
);

/// BatchGetItem's answer.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct BatchGetItemOutput {
    /// Items found, per table.
    pub responses: BTreeMap<String, Vec<Item>>,
    /// Keys not read (over the 16 MB response limit); resend them.
    pub unprocessed_keys: BTreeMap<String, KeysAndAttributes>,
    /// With ReturnConsumedCapacity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consumed_capacity: Option<Vec<ConsumedCapacity>>,
}

wire!(
    /// A put in BatchWriteItem.
    PutRequest {
        /// The item.
        item: Option<Item>,
    }
);

wire!(
    /// A delete in BatchWriteItem.
    DeleteRequest {
        /// The key.
        key: Option<Item>,
    }
);

wire!(
    /// One request of BatchWriteItem: exactly one of the two.
    WriteRequest {
        /// A put.
        put_request: Option<PutRequest>,
        /// A delete.
        delete_request: Option<DeleteRequest>,
    }
);

wire!(
    /// BatchWriteItem.
    BatchWriteItemInput {
        /// Per table, up to 25 requests in all.
        request_items: Option<BTreeMap<String, Vec<WriteRequest>>>,
        /// `NONE`, `TOTAL` or `INDEXES`.
        return_consumed_capacity: Option<String>,
        /// Accepted.
        return_item_collection_metrics: Option<String>,
    }
);

/// BatchWriteItem's answer.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct BatchWriteItemOutput {
    /// Requests not applied; resend them.
    pub unprocessed_items: BTreeMap<String, Vec<WriteRequest>>,
    /// With ReturnConsumedCapacity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consumed_capacity: Option<Vec<ConsumedCapacity>>,
    /// With ReturnItemCollectionMetrics `SIZE`: per table with local secondary indexes, the
    /// collections written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item_collection_metrics: Option<BTreeMap<String, Vec<ItemCollectionMetrics>>>,
}

wire!(
    /// A read in TransactGetItems.
    Get {
        /// The table.
        table_name: Option<String>,
        /// The key.
        key: Option<Item>,
        /// Attributes to return.
        projection_expression: Option<String>,
        /// Placeholders for names.
        expression_attribute_names: Option<Names>,
    }
);

wire!(
    /// One read of TransactGetItems.
    TransactGetItem {
        /// The read.
        get: Option<Get>,
    }
);

wire!(
    /// TransactGetItems.
    TransactGetItemsInput {
        /// Up to 100 reads.
        transact_items: Option<Vec<TransactGetItem>>,
        /// `NONE` or `TOTAL`.
        return_consumed_capacity: Option<String>,
    }
);

wire!(
    /// An item read by a transaction (absent if there is none).
    ItemResponse {
        /// The item.
        item: Option<Item>,
    }
);

wire!(
    /// TransactGetItems' answer.
    TransactGetItemsOutput {
        /// One per read, in order.
        responses: Option<Vec<ItemResponse>>,
        /// With ReturnConsumedCapacity.
        consumed_capacity: Option<Vec<ConsumedCapacity>>,
    }
);

wire!(
    /// A condition check in TransactWriteItems.
    ConditionCheck {
        /// The table.
        table_name: Option<String>,
        /// The key.
        key: Option<Item>,
        /// The condition.
        condition_expression: Option<String>,
        /// Placeholders for names.
        expression_attribute_names: Option<Names>,
        /// Placeholders for values.
        expression_attribute_values: Option<Values>,
        /// `NONE` or `ALL_OLD`.
        return_values_on_condition_check_failure: Option<String>,
    }
);

wire!(
    /// A put in TransactWriteItems.
    Put {
        /// The table.
        table_name: Option<String>,
        /// The item.
        item: Option<Item>,
        /// A condition.
        condition_expression: Option<String>,
        /// Placeholders for names.
        expression_attribute_names: Option<Names>,
        /// Placeholders for values.
        expression_attribute_values: Option<Values>,
        /// `NONE` or `ALL_OLD`.
        return_values_on_condition_check_failure: Option<String>,
    }
);

wire!(
    /// A delete in TransactWriteItems.
    Delete {
        /// The table.
        table_name: Option<String>,
        /// The key.
        key: Option<Item>,
        /// A condition.
        condition_expression: Option<String>,
        /// Placeholders for names.
        expression_attribute_names: Option<Names>,
        /// Placeholders for values.
        expression_attribute_values: Option<Values>,
        /// `NONE` or `ALL_OLD`.
        return_values_on_condition_check_failure: Option<String>,
    }
);

wire!(
    /// An update in TransactWriteItems.
    Update {
        /// The table.
        table_name: Option<String>,
        /// The key.
        key: Option<Item>,
        /// The update.
        update_expression: Option<String>,
        /// A condition.
        condition_expression: Option<String>,
        /// Placeholders for names.
        expression_attribute_names: Option<Names>,
        /// Placeholders for values.
        expression_attribute_values: Option<Values>,
        /// `NONE` or `ALL_OLD`.
        return_values_on_condition_check_failure: Option<String>,
    }
);

wire!(
    /// One action of TransactWriteItems: exactly one of the four.
    TransactWriteItem {
        /// A condition check.
        condition_check: Option<ConditionCheck>,
        /// A put.
        put: Option<Put>,
        /// A delete.
        delete: Option<Delete>,
        /// An update.
        update: Option<Update>,
    }
);

wire!(
    /// TransactWriteItems.
    TransactWriteItemsInput {
        /// Up to 100 actions, at most one per item.
        transact_items: Option<Vec<TransactWriteItem>>,
        /// Idempotency token (10 minutes).
        client_request_token: Option<String>,
        /// `NONE`, `TOTAL` or `INDEXES`.
        return_consumed_capacity: Option<String>,
        /// Accepted.
        return_item_collection_metrics: Option<String>,
    }
);

wire!(
    /// TransactWriteItems' answer.
    TransactWriteItemsOutput {
        /// With ReturnConsumedCapacity.
        consumed_capacity: Option<Vec<ConsumedCapacity>>,
        /// With ReturnItemCollectionMetrics `SIZE`: per table with local secondary indexes,
        /// the collections written.
        item_collection_metrics: Option<BTreeMap<String, Vec<ItemCollectionMetrics>>>,
    }
);

wire!(
    /// Time to live's settings in UpdateTimeToLive.
    TimeToLiveSpecification {
        /// Whether items expire.
        enabled: Option<bool>,
        /// The attribute holding each item's expiry time (epoch seconds, a Number).
        attribute_name: Option<String>,
    }
);

wire!(
    /// UpdateTimeToLive.
    UpdateTimeToLiveInput {
        /// The table.
        table_name: Option<String>,
        /// The new settings.
        time_to_live_specification: Option<TimeToLiveSpecification>,
    }
);

wire!(
    /// UpdateTimeToLive's answer.
    UpdateTimeToLiveOutput {
        /// The settings as requested.
        time_to_live_specification: Option<TimeToLiveSpecification>,
    }
);

wire!(
    /// Time to live as DescribeTimeToLive reports it.
    TimeToLiveDescription {
        /// `ENABLED`, `ENABLING` (items present when it was enabled are still being
        /// indexed for expiry), or `DISABLED`.
        time_to_live_status: Option<String>,
        /// The expiry attribute (when enabled).
        attribute_name: Option<String>,
    }
);

wire!(
    /// DescribeTimeToLive's answer.
    DescribeTimeToLiveOutput {
        /// The settings.
        time_to_live_description: Option<TimeToLiveDescription>,
    }
);
