//! Secondary indexes (GSIs and LSIs) and the expiry index behind time to live: what the
//! catalog stores about each, how an item maps to its index entry, and how a write keeps
//! every index of its table in step.
//!
//! **Invariant:** an index never lags its table. Every write that changes an item writes the
//! item's index entries in the same engine transaction (deleting the old entry when the
//! index key changed or the item left the index), so a reader at any snapshot sees the table
//! and its indexes agree — stronger than DynamoDB's eventually consistent GSIs.
//!
//! **Entry layout.** An index keyspace maps `index key | table key` to the projected item:
//! `index key` is the item's index key attributes in the table's key encoding (4 hash bytes,
//! then the self-delimiting partition and sort parts; see [`crate::codec`]) and `table key`
//! is the item's own engine key, which makes entries of items sharing an index key distinct
//! and lets `LastEvaluatedKey` carry both keys. The expiry index maps `number | table key`
//! (the TTL attribute's order-preserving number encoding, so entries sort by expiry time) to
//! nothing.
//!
//! **Sparse.** An item lacking an index key attribute has no entry. An item whose index key
//! attribute has the wrong type (or is empty) is refused on write, as DynamoDB refuses it;
//! a backfill skips such items already in the table, as DynamoDB's backfill does.

use crate::codec;
use crate::error::{Result, TableError};
use crate::model::{Projection, SecondaryIndexDescription};
use crate::schema::{KeySchema, StoredTable, MAX_PARTITION_KEY, MAX_SORT_KEY};
use crate::value::{AttributeValue, Item};
use serde::{Deserialize, Serialize};
use strata_engine::{Keyspace, Transaction};

/// What kind of index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum IndexKind {
    /// A global secondary index: any partition and sort key.
    Global,
    /// A local secondary index: the table's partition key, another sort key.
    Local,
    /// The expiry index of time to live (internal, never queried by users).
    Expiry,
}

/// Which attributes an index entry holds besides the keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Projected {
    /// Every attribute.
    All,
    /// The table's and the index's key attributes only.
    KeysOnly,
    /// The keys and these (top-level) attributes.
    Include(Vec<String>),
}

impl Projected {
    /// The wire form.
    pub fn to_wire(&self) -> Projection {
        match self {
            Projected::All => Projection {
                projection_type: Some("ALL".into()),
                non_key_attributes: None,
            },
            Projected::KeysOnly => Projection {
                projection_type: Some("KEYS_ONLY".into()),
                non_key_attributes: None,
            },
            Projected::Include(names) => Projection {
                projection_type: Some("INCLUDE".into()),
                non_key_attributes: Some(names.clone()),
            },
        }
    }
}

/// What the catalog stores about one index of a table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredIndex {
    /// The index name (the expiry index: the TTL attribute's name).
    pub name: String,
    /// Unique within the table for as long as the table lives; names the keyspace.
    pub id: u64,
    /// GSI, LSI or expiry index.
    pub kind: IndexKind,
    /// The index key (the expiry index: the TTL attribute as a number partition key).
    pub key: KeySchema,
    /// What entries hold.
    pub projection: Projected,
    /// Provisioned read units (GSIs of provisioned tables; reported, not enforced).
    #[serde(default)]
    pub read_units: i64,
    /// Provisioned write units.
    #[serde(default)]
    pub write_units: i64,
    /// Whether the items the table held when the index was added are still being indexed
    /// (`IndexStatus` `CREATING`). Writes keep the index current meanwhile.
    #[serde(default)]
    pub backfilling: bool,
}

impl StoredIndex {
    /// The engine keyspace holding the index's entries.
    pub fn keyspace_name(&self, table_id: u64) -> String {
        format!("index/{table_id}/{}", self.id)
    }

    /// The index ARN.
    pub fn arn(&self, table: &StoredTable) -> String {
        format!("{}/index/{}", table.arn(), self.name)
    }

    /// Whether the entry holds `attribute` (top-level name).
    pub fn projects(&self, table_key: &KeySchema, attribute: &str) -> bool {
        table_key.is_key(attribute)
            || self.key.is_key(attribute)
            || match &self.projection {
                Projected::All => true,
                Projected::KeysOnly => false,
                Projected::Include(names) => names.iter().any(|n| n == attribute),
            }
    }

    /// The entry of `item` (stored at table key `base_key`): its key and value, or `None`
    /// when the item is not in the index. With `strict`, an index key attribute of the
    /// wrong type, empty or too long is an error (a write); without, such an item is left
    /// out (a backfill, or an old image that was valid when written).
    pub fn entry(
        &self,
        table_key: &KeySchema,
        base_key: &[u8],
        item: &Item,
        strict: bool,
    ) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
        if self.kind == IndexKind::Expiry {
            return Ok(match item.get(&self.key.partition.name) {
                Some(AttributeValue::N(n)) => {
                    let mut key = Vec::with_capacity(16 + base_key.len());
                    n.encode_key(&mut key);
                    key.extend_from_slice(base_key);
                    Some((key, Vec::new()))
                }
                _ => None,
            });
        }
        if let Err(e) = self.check_keys(item) {
            return if strict { Err(e) } else { Ok(None) };
        }
        let Some(pk) = item.get(&self.key.partition.name) else {
            return Ok(None);
        };
        let sk = match &self.key.sort {
            Some(s) => match item.get(&s.name) {
                Some(v) => Some(v),
                None => return Ok(None),
            },
            None => None,
        };
        let mut key = codec::item_key(pk, sk);
        key.extend_from_slice(base_key);
        let value = codec::encode_item(&self.project(table_key, item));
        Ok(Some((key, value)))
    }

    /// Checks the index key attributes `item` has: every one present must be valid, even
    /// on an item the index leaves out for lack of the other one (DynamoDB checks them
    /// against the AttributeDefinitions regardless).
    pub fn check_keys(&self, item: &Item) -> Result<()> {
        if self.kind == IndexKind::Expiry {
            return Ok(());
        }
        let checks = [
            Some((&self.key.partition, MAX_PARTITION_KEY)),
            self.key.sort.as_ref().map(|a| (a, MAX_SORT_KEY)),
        ];
        for (attr, max) in checks.into_iter().flatten() {
            if let Some(value) = item.get(&attr.name) {
                self.check_key_value(&attr.name, &attr.ty, value, max)?;
            }
        }
        Ok(())
    }

    /// The projected copy of `item`.
    pub fn project(&self, table_key: &KeySchema, item: &Item) -> Item {
        match &self.projection {
            Projected::All => item.clone(),
            _ => item
                .iter()
                .filter(|(name, _)| self.projects(table_key, name))
                .map(|(n, v)| (n.clone(), v.clone()))
                .collect(),
        }
    }

    fn check_key_value(
        &self,
        name: &str,
        ty: &str,
        value: &AttributeValue,
        max: usize,
    ) -> Result<()> {
        if value.type_name() != ty {
            return Err(TableError::validation(format!(
                "One or more parameter values were invalid: Type mismatch for Index Key {name} Expected: {ty} Actual: {} IndexName: {}",
                value.type_name(),
                self.name
            )));
        }
        let len = match value {
            AttributeValue::S(s) => s.len(),
            AttributeValue::B(b) => b.len(),
            _ => 1,
        };
        if len == 0 {
            return Err(TableError::validation(format!(
                "One or more parameter values are not valid. A value specified for a secondary index key is not supported. The AttributeValue for a key attribute cannot contain an empty {} value. IndexName: {}, IndexKey: {name}",
                if ty == "S" { "string" } else { "binary" },
                self.name
            )));
        }
        if len > max {
            return Err(TableError::validation(format!(
                "One or more parameter values were invalid: Size of {} key {name} of index {} has exceeded the maximum size limit of {max} bytes",
                if max == MAX_PARTITION_KEY { "partition" } else { "sort" },
                self.name
            )));
        }
        Ok(())
    }

    /// Splits an entry key into the index key attributes and the table key (engine bytes).
    pub fn split_entry_key<'k>(&self, key: &'k [u8]) -> Result<(Item, &'k [u8])> {
        let bad =
            |e: String| TableError::Internal(format!("malformed key in index {}: {e}", self.name));
        let mut rest = key;
        let mut attrs = Item::new();
        if self.kind == IndexKind::Expiry {
            let n = crate::number::Number::decode_key(&mut rest)
                .ok_or_else(|| bad("malformed expiry time".into()))?;
            attrs.insert(self.key.partition.name.clone(), AttributeValue::N(n));
            return Ok((attrs, rest));
        }
        rest = rest.get(4..).ok_or_else(|| bad("too short".into()))?;
        let pk = codec::decode_key_part(&self.key.partition.ty, &mut rest).map_err(bad)?;
        attrs.insert(self.key.partition.name.clone(), pk);
        if let Some(sort) = &self.key.sort {
            let sk = codec::decode_key_part(&sort.ty, &mut rest).map_err(bad)?;
            attrs.insert(sort.name.clone(), sk);
        }
        Ok((attrs, rest))
    }

    /// `LastEvaluatedKey` of an entry: the index key and the table key attributes.
    pub fn last_evaluated_key(&self, table_key: &KeySchema, key: &[u8]) -> Result<Item> {
        let (mut attrs, base) = self.split_entry_key(key)?;
        attrs.extend(table_key.decode_key(base)?);
        Ok(attrs)
    }

    /// The entry key to resume after, from an `ExclusiveStartKey` holding exactly the index
    /// key and the table key attributes.
    pub fn start_key(&self, table_key: &KeySchema, start: &Item) -> Result<Vec<u8>> {
        let invalid = || {
            TableError::validation(
                "The provided starting key is invalid: The provided key element does not match the schema",
            )
        };
        if start
            .keys()
            .any(|n| !table_key.is_key(n) && !self.key.is_key(n))
        {
            return Err(invalid());
        }
        let base: Item = table_key
            .names()
            .filter_map(|n| start.get(n).map(|v| (n.to_owned(), v.clone())))
            .collect();
        let base_key = table_key.key_of(&base).map_err(|_| invalid())?;
        let pk = start.get(&self.key.partition.name).ok_or_else(invalid)?;
        let sk = match &self.key.sort {
            Some(s) => Some(start.get(&s.name).ok_or_else(invalid)?),
            None => None,
        };
        let typed = |v: &AttributeValue, ty: &str| v.type_name() == ty;
        if !typed(pk, &self.key.partition.ty)
            || self
                .key
                .sort
                .as_ref()
                .zip(sk)
                .is_some_and(|(a, v)| !typed(v, &a.ty))
        {
            return Err(invalid());
        }
        let mut key = codec::item_key(pk, sk);
        key.extend_from_slice(&base_key);
        Ok(key)
    }

    /// DescribeTable's view of the index.
    pub fn describe(
        &self,
        table: &StoredTable,
        item_count: i64,
        size_bytes: i64,
    ) -> SecondaryIndexDescription {
        let global = self.kind == IndexKind::Global;
        SecondaryIndexDescription {
            index_name: Some(self.name.clone()),
            key_schema: Some(self.key.to_wire()),
            projection: Some(self.projection.to_wire()),
            index_status: global.then(|| {
                if self.backfilling {
                    "CREATING"
                } else {
                    "ACTIVE"
                }
                .to_owned()
            }),
            backfilling: (global && self.backfilling).then_some(true),
            provisioned_throughput: global.then_some(
                crate::model::ProvisionedThroughputDescription {
                    number_of_decreases_today: Some(0),
                    read_capacity_units: Some(self.read_units),
                    write_capacity_units: Some(self.write_units),
                },
            ),
            index_size_bytes: Some(size_bytes),
            item_count: Some(item_count),
            index_arn: Some(self.arn(table)),
        }
    }
}

/// An open index: what the catalog says and its keyspace.
#[derive(Clone)]
pub struct LiveIndex {
    /// The catalog's entry.
    pub meta: StoredIndex,
    /// The entries.
    pub entries: Keyspace,
}

impl LiveIndex {
    /// Entries and the bytes of their projected items, counted now.
    pub fn count_and_size(&self) -> Result<(i64, i64)> {
        let (mut count, mut size) = (0i64, 0i64);
        for entry in self.entries.iter() {
            let (_, value) = entry?;
            count += 1;
            if !value.is_empty() {
                let item = codec::decode_item(&value).map_err(TableError::Internal)?;
                size += crate::value::item_size(&item) as i64;
            }
        }
        Ok((count, size))
    }
}

/// The keyspace of a table's item collection sizes (tables with LSIs).
pub fn collections_keyspace_name(table_id: u64) -> String {
    format!("index/{table_id}/collections")
}

/// Checks `new` against every index's key types (a ValidationException names the first
/// index whose key attribute is wrong), without writing anything.
pub fn check_item(indexes: &[LiveIndex], new: &Item) -> Result<()> {
    for index in indexes {
        index.meta.check_keys(new)?;
    }
    Ok(())
}

/// The size DynamoDB allows an item collection (10 GB).
pub const ITEM_COLLECTION_LIMIT: u64 = 10 * (1 << 30);

/// Writes into `t` what keeps every index of `table` in step with the change of the item at
/// `base_key` from `old` to `new`: the old entry deleted where it moved or left, the new one
/// put where it is new or changed. On a table with local secondary indexes it also keeps
/// the item collection's size (the item and its LSI entries, summed over the partition),
/// refusing a write that grows a collection past `collection_limit`
/// (`Table::collection_limit`; ItemCollectionSizeLimitExceededException), and returns the collection's key and new
/// size.
pub fn maintain(
    t: &mut Transaction,
    table: &crate::catalog::Table,
    base_key: &[u8],
    old: Option<&Item>,
    new: Option<&Item>,
) -> Result<Option<(Item, u64)>> {
    let collection_limit = table.collection_limit;
    let table_key = &table.meta.key;
    let mut sizes = (0u64, 0u64);
    for index in &table.indexes {
        let before = match old {
            Some(o) => index.meta.entry(table_key, base_key, o, false)?,
            None => None,
        };
        let after = match new {
            Some(n) => index.meta.entry(table_key, base_key, n, true)?,
            None => None,
        };
        if index.meta.kind == IndexKind::Local {
            let size = |e: &Option<(Vec<u8>, Vec<u8>)>| {
                e.as_ref()
                    .and_then(|(_, v)| codec::decode_item(v).ok())
                    .map_or(0, |i| crate::value::item_size(&i) as u64)
            };
            sizes.0 += size(&before);
            sizes.1 += size(&after);
        }
        match (before, after) {
            (Some(b), Some(a)) if b.0 == a.0 => {
                if b.1 != a.1 {
                    t.put(&index.entries, &a.0, &a.1);
                }
            }
            (before, after) => {
                if let Some((k, _)) = before {
                    t.delete(&index.entries, &k);
                }
                if let Some((k, v)) = after {
                    t.put(&index.entries, &k, &v);
                }
            }
        }
    }
    let Some(collections) = &table.collections else {
        return Ok(None);
    };
    let Some(item) = new.or(old) else {
        return Ok(None);
    };
    let Some(pk) = item.get(&table_key.partition.name) else {
        return Ok(None);
    };
    sizes.0 += old.map_or(0, |i| crate::value::item_size(i) as u64);
    sizes.1 += new.map_or(0, |i| crate::value::item_size(i) as u64);
    let counter = codec::partition_prefix(pk);
    let current = match t.get(collections, &counter)? {
        Some(b) => {
            let bytes: [u8; 8] = b.as_ref().try_into().map_err(|_| {
                TableError::Internal(format!(
                    "the item collection size of a partition of table {} is damaged",
                    table.meta.name
                ))
            })?;
            u64::from_be_bytes(bytes)
        }
        None => 0,
    };
    let total = (current + sizes.1).saturating_sub(sizes.0);
    if sizes.1 > sizes.0 && total > collection_limit {
        return Err(TableError::ItemCollectionSizeLimitExceeded(format!(
            "Item collection size limit exceeded: the items with this partition key value and their local secondary index entries would take {total} bytes, more than the {collection_limit}-byte limit"
        )));
    }
    if total == 0 {
        t.delete(collections, &counter);
    } else if total != current {
        t.put(collections, &counter, total.to_be_bytes());
    }
    let key: Item = [(table_key.partition.name.clone(), pk.clone())].into();
    Ok(Some((key, total)))
}

/// The engine-key range of an index Query: the table's [`crate::read::query_range`] widened
/// so that the table key following each index key stays inside it (an upper bound that
/// includes a sort value includes every entry with that value; a lower bound that excludes
/// one excludes all of them).
pub fn query_range(
    partition: &AttributeValue,
    sort: &crate::read::SortCondition,
) -> crate::read::KeyRange {
    use std::ops::Bound;
    let (lo, hi) = crate::read::query_range(partition, sort);
    let past = |k: &[u8]| crate::read::prefix_end(k);
    let lo = match lo {
        Bound::Excluded(k) => match past(&k) {
            Bound::Excluded(p) => Bound::Included(p),
            other => other,
        },
        other => other,
    };
    let hi = match hi {
        Bound::Included(k) => past(&k),
        other => other,
    };
    (lo, hi)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;
    use crate::read::SortCondition;
    use crate::schema::KeyAttribute;

    fn attr(name: &str, ty: &str) -> KeyAttribute {
        KeyAttribute {
            name: name.into(),
            ty: ty.into(),
        }
    }

    fn gsi(projection: Projected) -> StoredIndex {
        StoredIndex {
            name: "byStatus".into(),
            id: 1,
            kind: IndexKind::Global,
            key: KeySchema {
                partition: attr("status", "S"),
                sort: Some(attr("at", "N")),
            },
            projection,
            read_units: 0,
            write_units: 0,
            backfilling: false,
        }
    }

    fn table_key() -> KeySchema {
        KeySchema {
            partition: attr("pk", "S"),
            sort: None,
        }
    }

    fn item(pairs: &[(&str, AttributeValue)]) -> Item {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn entries_round_trip_both_keys_and_project() {
        let index = gsi(Projected::Include(vec!["extra".into()]));
        let it = item(&[
            ("pk", AttributeValue::s("a")),
            ("status", AttributeValue::s("open")),
            ("at", AttributeValue::N(5.into())),
            ("extra", AttributeValue::s("x")),
            ("other", AttributeValue::s("y")),
        ]);
        let base = table_key().item_key(&it).unwrap();
        let (key, value) = index
            .entry(&table_key(), &base, &it, true)
            .unwrap()
            .unwrap();
        let projected = codec::decode_item(&value).unwrap();
        assert!(projected.contains_key("extra") && !projected.contains_key("other"));
        let lek = index.last_evaluated_key(&table_key(), &key).unwrap();
        assert_eq!(lek.len(), 3);
        assert_eq!(index.start_key(&table_key(), &lek).unwrap(), key);
    }

    #[test]
    fn sparse_and_mistyped_items() {
        let index = gsi(Projected::KeysOnly);
        let missing = item(&[
            ("pk", AttributeValue::s("a")),
            ("status", AttributeValue::s("o")),
        ]);
        assert!(index
            .entry(&table_key(), b"k", &missing, true)
            .unwrap()
            .is_none());
        let wrong = item(&[
            ("pk", AttributeValue::s("a")),
            ("status", AttributeValue::N(1.into())),
            ("at", AttributeValue::N(1.into())),
        ]);
        let err = index.entry(&table_key(), b"k", &wrong, true).unwrap_err();
        assert!(
            err.to_string()
                .contains("Type mismatch for Index Key status"),
            "{err}"
        );
        assert!(index
            .entry(&table_key(), b"k", &wrong, false)
            .unwrap()
            .is_none());
    }

    #[test]
    fn index_ranges_keep_every_entry_of_a_bound_value() {
        let pk = AttributeValue::s("p");
        let entry = |at: i64, base: &[u8]| {
            let mut k = codec::item_key(&pk, Some(&AttributeValue::N(at.into())));
            k.extend_from_slice(base);
            k
        };
        let keys: Vec<(i64, Vec<u8>)> = [1i64, 2, 3]
            .iter()
            .flat_map(|&at| [(at, entry(at, b"\x00a")), (at, entry(at, b"\xffz"))])
            .collect();
        let n = |v: i64| AttributeValue::N(v.into());
        let cases: [(SortCondition, &dyn Fn(i64) -> bool); 6] = [
            (SortCondition::Eq(n(2)), &|a| a == 2),
            (SortCondition::Lt(n(2)), &|a| a < 2),
            (SortCondition::Le(n(2)), &|a| a <= 2),
            (SortCondition::Gt(n(2)), &|a| a > 2),
            (SortCondition::Ge(n(2)), &|a| a >= 2),
            (SortCondition::Between(n(1), n(2)), &|a| a <= 2),
        ];
        for (cond, want) in cases {
            let range = query_range(&pk, &cond);
            for (at, k) in &keys {
                assert_eq!(
                    crate::read::contains(&range, k),
                    want(*at),
                    "{cond:?} at {at}"
                );
            }
        }
    }
}
