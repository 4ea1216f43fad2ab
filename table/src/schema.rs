//! A table's key schema and what the catalog stores about it; key validation and extraction.

use crate::codec;
use crate::error::{Result, TableError};
use crate::model::{AttributeDefinition, KeySchemaElement, TableDescription};
use crate::value::{AttributeValue, Item};
use serde::{Deserialize, Serialize};

/// The largest partition key, in bytes.
pub const MAX_PARTITION_KEY: usize = 2048;
/// The largest sort key, in bytes.
pub const MAX_SORT_KEY: usize = 1024;
/// The largest item, in bytes (DynamoDB's 400 KB).
pub const MAX_ITEM_SIZE: usize = 400 * 1024;

/// A key attribute: its name and scalar type (`S`, `N` or `B`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyAttribute {
    /// The attribute name.
    pub name: String,
    /// `S`, `N` or `B`.
    pub ty: String,
}

/// A key schema: a partition key and an optional sort key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeySchema {
    /// The partition (HASH) key.
    pub partition: KeyAttribute,
    /// The sort (RANGE) key.
    pub sort: Option<KeyAttribute>,
}

impl KeySchema {
    /// The key attributes' names.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.partition.name.as_str())
            .chain(self.sort.as_ref().map(|s| s.name.as_str()))
    }

    /// Whether `name` is a key attribute.
    pub fn is_key(&self, name: &str) -> bool {
        self.names().any(|n| n == name)
    }

    /// The wire form.
    pub fn to_wire(&self) -> Vec<KeySchemaElement> {
        let mut v = vec![KeySchemaElement {
            attribute_name: Some(self.partition.name.clone()),
            key_type: Some("HASH".into()),
        }];
        if let Some(s) = &self.sort {
            v.push(KeySchemaElement {
                attribute_name: Some(s.name.clone()),
                key_type: Some("RANGE".into()),
            });
        }
        v
    }

    /// Checks a key attribute's value in an item or key: present (when `required`), of the
    /// schema's type, not empty, within the size limit.
    fn check_attr(
        &self,
        attr: &KeyAttribute,
        value: Option<&AttributeValue>,
        max: usize,
        in_item: bool,
    ) -> Result<()> {
        let Some(value) = value else {
            return Err(if in_item {
                TableError::invalid_parameter(format!("Missing the key {} in the item", attr.name))
            } else {
                TableError::validation("The provided key element does not match the schema")
            });
        };
        if value.type_name() != attr.ty {
            return Err(if in_item {
                TableError::invalid_parameter(format!(
                    "Type mismatch for key {} expected: {} actual: {}",
                    attr.name,
                    attr.ty,
                    value.type_name()
                ))
            } else {
                TableError::validation("The provided key element does not match the schema")
            });
        }
        let len = match value {
            AttributeValue::S(s) => s.len(),
            AttributeValue::B(b) => b.len(),
            AttributeValue::N(_) => 1,
            _ => 0,
        };
        if len == 0 {
            return Err(TableError::validation(format!(
                "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty {} value. Key: {}",
                if attr.ty == "S" { "string" } else { "binary" },
                attr.name
            )));
        }
        if len > max {
            return Err(TableError::invalid_parameter(if max == MAX_PARTITION_KEY {
                // Sic: DynamoDB's message lacks a space.
                format!("Size of hashkey has exceeded the maximum size limit of{MAX_PARTITION_KEY} bytes")
            } else {
                format!("Aggregated size of all range keys has exceeded the size limit of {MAX_SORT_KEY} bytes")
            }));
        }
        Ok(())
    }

    /// Validates an item's key attributes and returns its engine key.
    pub fn item_key(&self, item: &Item) -> Result<Vec<u8>> {
        self.check_attr(
            &self.partition,
            item.get(&self.partition.name),
            MAX_PARTITION_KEY,
            true,
        )?;
        if let Some(sort) = &self.sort {
            self.check_attr(sort, item.get(&sort.name), MAX_SORT_KEY, true)?;
        }
        Ok(self.encode(item))
    }

    /// Validates a `Key` parameter (exactly the key attributes) and returns the engine key.
    pub fn key_of(&self, key: &Item) -> Result<Vec<u8>> {
        let expected = 1 + usize::from(self.sort.is_some());
        if key.len() != expected || key.keys().any(|k| !self.is_key(k)) {
            return Err(TableError::validation(
                "The provided key element does not match the schema",
            ));
        }
        self.check_attr(
            &self.partition,
            key.get(&self.partition.name),
            MAX_PARTITION_KEY,
            false,
        )?;
        if let Some(sort) = &self.sort {
            self.check_attr(sort, key.get(&sort.name), MAX_SORT_KEY, false)?;
        }
        Ok(self.encode(key))
    }

    /// The engine key of a validated item or key.
    fn encode(&self, item: &Item) -> Vec<u8> {
        let pk = item.get(&self.partition.name);
        let sk = self.sort.as_ref().and_then(|s| item.get(&s.name));
        match pk {
            Some(pk) => codec::item_key(pk, sk),
            None => Vec::new(),
        }
    }

    /// The key attributes of `item`.
    pub fn key_attributes(&self, item: &Item) -> Item {
        self.names()
            .filter_map(|n| item.get(n).map(|v| (n.to_owned(), v.clone())))
            .collect()
    }

    /// Decodes the key attributes back from an engine key.
    pub fn decode_key(&self, mut key: &[u8]) -> Result<Item> {
        let bad = |e: String| TableError::Internal(format!("malformed item key: {e}"));
        key = key.get(4..).ok_or_else(|| bad("too short".into()))?;
        let mut item = Item::new();
        let pk = codec::decode_key_part(&self.partition.ty, &mut key).map_err(bad)?;
        item.insert(self.partition.name.clone(), pk);
        if let Some(sort) = &self.sort {
            let sk = codec::decode_key_part(&sort.ty, &mut key).map_err(bad)?;
            item.insert(sort.name.clone(), sk);
        }
        Ok(item)
    }
}

/// What the catalog stores about a table.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredTable {
    /// The table name.
    pub name: String,
    /// Unique per creation: a table dropped and created again under the same name is new.
    pub id: u64,
    /// Its key schema.
    pub key: KeySchema,
    /// The AttributeDefinitions given at creation (and by later index additions).
    pub attribute_definitions: Vec<AttributeDefinition>,
    /// Epoch seconds.
    pub created: f64,
    /// `PROVISIONED` or `PAY_PER_REQUEST`.
    pub billing_mode: String,
    /// Provisioned read/write units (0 on demand).
    pub read_units: i64,
    /// Provisioned write units.
    pub write_units: i64,
    /// DeleteTable is refused while set.
    pub deletion_protection: bool,
    /// The table's streams, oldest first; the last one is the latest (enabled or not).
    #[serde(default)]
    pub streams: Vec<crate::streams::StreamInfo>,
    /// Tags (key → value).
    #[serde(default)]
    pub tags: std::collections::BTreeMap<String, String>,
    /// Whether the table's keyspaces are named by its id alone (`table/<id>`), as every table
    /// created since names may be 255 characters long is; older entries (without the field)
    /// keep their name-based keyspaces (`table/<name>/<id>`), which a long name overflows.
    #[serde(default)]
    pub named_by_id: bool,
    /// The table's indexes: LSIs and GSIs in declaration order, then the expiry index of
    /// time to live (if enabled).
    #[serde(default)]
    pub indexes: Vec<crate::index::StoredIndex>,
    /// The id the next index added gets (ids are never reused within a table).
    #[serde(default)]
    pub next_index_id: u64,
}

impl StoredTable {
    /// The engine keyspace holding the table's items.
    pub fn keyspace_name(&self) -> String {
        if self.named_by_id {
            format!("table/{}", self.id)
        } else {
            format!("table/{}/{}", self.name, self.id)
        }
    }

    /// The table's ARN.
    pub fn arn(&self) -> String {
        format!(
            "arn:aws:dynamodb:{}:000000000000:table/{}",
            crate::REGION,
            self.name
        )
    }

    /// Whether the table has local secondary indexes (and so item collections).
    pub fn has_local_indexes(&self) -> bool {
        self.indexes
            .iter()
            .any(|i| i.kind == crate::index::IndexKind::Local)
    }

    /// The attribute time to live reads, if enabled.
    pub fn ttl_attribute(&self) -> Option<&str> {
        self.indexes
            .iter()
            .find(|i| i.kind == crate::index::IndexKind::Expiry)
            .map(|i| i.name.as_str())
    }

    /// DescribeTable's view, with `status`, the table's size figures and each index's
    /// (`index_figures`: item count and bytes).
    pub fn describe(
        &self,
        status: &str,
        item_count: i64,
        size_bytes: i64,
        index_figures: &dyn Fn(&crate::index::StoredIndex) -> (i64, i64),
    ) -> TableDescription {
        use crate::index::IndexKind;
        use crate::model::{BillingModeSummary, ProvisionedThroughputDescription};
        let of_kind = |kind: IndexKind| {
            let list: Vec<_> = self
                .indexes
                .iter()
                .filter(|i| i.kind == kind)
                .map(|i| {
                    let (count, size) = index_figures(i);
                    i.describe(self, count, size)
                })
                .collect();
            (!list.is_empty()).then_some(list)
        };
        TableDescription {
            local_secondary_indexes: of_kind(IndexKind::Local),
            global_secondary_indexes: of_kind(IndexKind::Global),
            attribute_definitions: Some(self.attribute_definitions.clone()),
            table_name: Some(self.name.clone()),
            key_schema: Some(self.key.to_wire()),
            table_status: Some(status.into()),
            creation_date_time: Some(self.created),
            provisioned_throughput: Some(ProvisionedThroughputDescription {
                number_of_decreases_today: Some(0),
                read_capacity_units: Some(self.read_units),
                write_capacity_units: Some(self.write_units),
            }),
            table_size_bytes: Some(size_bytes),
            item_count: Some(item_count),
            table_arn: Some(self.arn()),
            table_id: Some(format!(
                "{:032x}",
                u128::from(self.id) * 0x9E37_79B9_7F4A_7C15
            )),
            billing_mode_summary: (self.billing_mode == "PAY_PER_REQUEST").then(|| {
                BillingModeSummary {
                    billing_mode: Some(self.billing_mode.clone()),
                    last_update_to_pay_per_request_date_time: Some(self.created),
                }
            }),
            deletion_protection_enabled: Some(self.deletion_protection),
            stream_specification: self.streams.last().filter(|s| s.enabled).map(|s| {
                crate::model::StreamSpecification {
                    stream_enabled: Some(true),
                    stream_view_type: Some(s.view_type.clone()),
                }
            }),
            latest_stream_label: self.streams.last().map(|s| s.label.clone()),
            latest_stream_arn: self.streams.last().map(|s| s.arn(self)),
        }
    }
}
