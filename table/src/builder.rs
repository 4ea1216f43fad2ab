//! A Rust API of builders over the request types: `db.table("orders")?.put(item)
//! .condition("attribute_not_exists(pk)").send()?`. Each builder fills the same input
//! struct the wire protocol uses, so both go through one code path.
//!
//! ```
//! use strata_table::{AttributeValue, Database, Item};
//! # let dir = tempfile::tempdir().unwrap();
//! let db = Database::open(dir.path(), Default::default())?;
//! db.create_table(serde_json::from_value(serde_json::json!({
//!     "TableName": "orders",
//!     "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
//!     "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
//!     "BillingMode": "PAY_PER_REQUEST"})).unwrap())?;
//! let orders = db.table("orders")?;
//! let item = Item::from([("pk".to_string(), "o#1".into()), ("total".to_string(), 42.into())]);
//! orders.put(item.clone()).condition("attribute_not_exists(pk)").send()?;
//! // A second put of the same key fails its condition.
//! assert!(orders.put(item).condition("attribute_not_exists(pk)").send().is_err());
//! let out = orders
//!     .update([("pk".to_string(), "o#1".into())].into())
//!     .expression("SET #t = #t + :d")
//!     .name("#t", "total")
//!     .value(":d", 8)
//!     .return_values("ALL_NEW")
//!     .send()?;
//! assert_eq!(out.attributes.unwrap()["total"], 50.into());
//! let page = orders.scan().send()?;
//! assert_eq!(page.count, 1);
//! # Ok::<(), strata_table::TableError>(())
//! ```

use crate::catalog::Database;
use crate::error::Result;
use crate::model::{
    DeleteItemInput, GetItemInput, GetItemOutput, Names, PutItemInput, QueryInput, QueryOutput,
    ScanInput, UpdateItemInput, Values, WriteItemOutput,
};
use crate::value::{AttributeValue, Item};

/// A handle on one table for building requests.
#[derive(Debug, Clone, Copy)]
pub struct TableRef<'a> {
    db: &'a Database,
    name: &'a str,
}

impl Database {
    /// A request builder for table `name` (which must exist).
    pub fn table<'a>(&'a self, name: &'a str) -> Result<TableRef<'a>> {
        self.live_table(name)?;
        Ok(TableRef { db: self, name })
    }
}

fn add_name(names: &mut Option<Names>, placeholder: &str, name: &str) {
    names
        .get_or_insert_with(Names::new)
        .insert(placeholder.to_owned(), name.to_owned());
}

fn add_value(values: &mut Option<Values>, placeholder: &str, v: impl Into<AttributeValue>) {
    values
        .get_or_insert_with(Values::new)
        .insert(placeholder.to_owned(), v.into());
}

macro_rules! placeholders {
    () => {
        /// Defines `#placeholder` as attribute `name`.
        pub fn name(mut self, placeholder: &str, name: &str) -> Self {
            add_name(
                &mut self.input.expression_attribute_names,
                placeholder,
                name,
            );
            self
        }

        /// Defines `:placeholder` as `value`.
        pub fn value(mut self, placeholder: &str, value: impl Into<AttributeValue>) -> Self {
            add_value(
                &mut self.input.expression_attribute_values,
                placeholder,
                value,
            );
            self
        }
    };
}

/// PutItem.
#[must_use = "a builder does nothing until `send`"]
pub struct PutBuilder<'a> {
    db: &'a Database,
    input: PutItemInput,
}

impl PutBuilder<'_> {
    placeholders!();

    /// A ConditionExpression the current item must meet.
    pub fn condition(mut self, expression: &str) -> Self {
        self.input.condition_expression = Some(expression.to_owned());
        self
    }

    /// `NONE` or `ALL_OLD`.
    pub fn return_values(mut self, v: &str) -> Self {
        self.input.return_values = Some(v.to_owned());
        self
    }

    /// Performs the request.
    pub fn send(self) -> Result<WriteItemOutput> {
        self.db.put_item(self.input)
    }
}

/// GetItem.
#[must_use = "a builder does nothing until `send`"]
pub struct GetBuilder<'a> {
    db: &'a Database,
    input: GetItemInput,
}

impl GetBuilder<'_> {
    /// Defines `#placeholder` as attribute `name`.
    pub fn name(mut self, placeholder: &str, name: &str) -> Self {
        add_name(
            &mut self.input.expression_attribute_names,
            placeholder,
            name,
        );
        self
    }

    /// The attributes to return.
    pub fn projection(mut self, expression: &str) -> Self {
        self.input.projection_expression = Some(expression.to_owned());
        self
    }

    /// Performs the request; the item, if it exists.
    pub fn send(self) -> Result<Option<Item>> {
        self.db.get_item(self.input).map(|o: GetItemOutput| o.item)
    }
}

/// UpdateItem.
#[must_use = "a builder does nothing until `send`"]
pub struct UpdateBuilder<'a> {
    db: &'a Database,
    input: UpdateItemInput,
}

impl UpdateBuilder<'_> {
    placeholders!();

    /// The UpdateExpression.
    pub fn expression(mut self, expression: &str) -> Self {
        self.input.update_expression = Some(expression.to_owned());
        self
    }

    /// A ConditionExpression the current item must meet.
    pub fn condition(mut self, expression: &str) -> Self {
        self.input.condition_expression = Some(expression.to_owned());
        self
    }

    /// `NONE`, `ALL_OLD`, `UPDATED_OLD`, `ALL_NEW` or `UPDATED_NEW`.
    pub fn return_values(mut self, v: &str) -> Self {
        self.input.return_values = Some(v.to_owned());
        self
    }

    /// Performs the request.
    pub fn send(self) -> Result<WriteItemOutput> {
        self.db.update_item(self.input)
    }
}

/// DeleteItem.
#[must_use = "a builder does nothing until `send`"]
pub struct DeleteBuilder<'a> {
    db: &'a Database,
    input: DeleteItemInput,
}

impl DeleteBuilder<'_> {
    placeholders!();

    /// A ConditionExpression the current item must meet.
    pub fn condition(mut self, expression: &str) -> Self {
        self.input.condition_expression = Some(expression.to_owned());
        self
    }

    /// `NONE` or `ALL_OLD`.
    pub fn return_values(mut self, v: &str) -> Self {
        self.input.return_values = Some(v.to_owned());
        self
    }

    /// Performs the request.
    pub fn send(self) -> Result<WriteItemOutput> {
        self.db.delete_item(self.input)
    }
}

/// Query.
#[must_use = "a builder does nothing until `send`"]
pub struct QueryBuilder<'a> {
    db: &'a Database,
    input: QueryInput,
}

impl QueryBuilder<'_> {
    placeholders!();

    /// Queries secondary index `name` instead of the table (its key schema is what the key
    /// condition names).
    pub fn index(mut self, name: &str) -> Self {
        self.input.index_name = Some(name.to_owned());
        self
    }

    /// The KeyConditionExpression.
    pub fn key_condition(mut self, expression: &str) -> Self {
        self.input.key_condition_expression = Some(expression.to_owned());
        self
    }

    /// A FilterExpression.
    pub fn filter(mut self, expression: &str) -> Self {
        self.input.filter_expression = Some(expression.to_owned());
        self
    }

    /// The attributes to return.
    pub fn projection(mut self, expression: &str) -> Self {
        self.input.projection_expression = Some(expression.to_owned());
        self
    }

    /// Items to evaluate per page.
    pub fn limit(mut self, n: i64) -> Self {
        self.input.limit = Some(n);
        self
    }

    /// Descending sort-key order.
    pub fn reverse(mut self) -> Self {
        self.input.scan_index_forward = Some(false);
        self
    }

    /// Resume after a previous page's `last_evaluated_key`.
    pub fn start_after(mut self, key: Item) -> Self {
        self.input.exclusive_start_key = Some(key);
        self
    }

    /// Performs the request: one page.
    pub fn send(self) -> Result<QueryOutput> {
        self.db.query(self.input)
    }
}

/// Scan.
#[must_use = "a builder does nothing until `send`"]
pub struct ScanBuilder<'a> {
    db: &'a Database,
    input: ScanInput,
}

impl ScanBuilder<'_> {
    placeholders!();

    /// Scans secondary index `name` instead of the table.
    pub fn index(mut self, name: &str) -> Self {
        self.input.index_name = Some(name.to_owned());
        self
    }

    /// A FilterExpression.
    pub fn filter(mut self, expression: &str) -> Self {
        self.input.filter_expression = Some(expression.to_owned());
        self
    }

    /// Items to evaluate per page.
    pub fn limit(mut self, n: i64) -> Self {
        self.input.limit = Some(n);
        self
    }

    /// One segment of a parallel scan.
    pub fn segment(mut self, segment: i64, total: i64) -> Self {
        self.input.segment = Some(segment);
        self.input.total_segments = Some(total);
        self
    }

    /// Resume after a previous page's `last_evaluated_key`.
    pub fn start_after(mut self, key: Item) -> Self {
        self.input.exclusive_start_key = Some(key);
        self
    }

    /// Performs the request: one page.
    pub fn send(self) -> Result<QueryOutput> {
        self.db.scan(self.input)
    }
}

impl<'a> TableRef<'a> {
    /// PutItem.
    pub fn put(&self, item: Item) -> PutBuilder<'a> {
        PutBuilder {
            db: self.db,
            input: PutItemInput {
                table_name: Some(self.name.to_owned()),
                item: Some(item),
                ..Default::default()
            },
        }
    }

    /// GetItem.
    pub fn get(&self, key: Item) -> GetBuilder<'a> {
        GetBuilder {
            db: self.db,
            input: GetItemInput {
                table_name: Some(self.name.to_owned()),
                key: Some(key),
                ..Default::default()
            },
        }
    }

    /// UpdateItem.
    pub fn update(&self, key: Item) -> UpdateBuilder<'a> {
        UpdateBuilder {
            db: self.db,
            input: UpdateItemInput {
                table_name: Some(self.name.to_owned()),
                key: Some(key),
                ..Default::default()
            },
        }
    }

    /// DeleteItem.
    pub fn delete(&self, key: Item) -> DeleteBuilder<'a> {
        DeleteBuilder {
            db: self.db,
            input: DeleteItemInput {
                table_name: Some(self.name.to_owned()),
                key: Some(key),
                ..Default::default()
            },
        }
    }

    /// Query.
    pub fn query(&self) -> QueryBuilder<'a> {
        QueryBuilder {
            db: self.db,
            input: QueryInput {
                table_name: Some(self.name.to_owned()),
                ..Default::default()
            },
        }
    }

    /// Scan.
    pub fn scan(&self) -> ScanBuilder<'a> {
        ScanBuilder {
            db: self.db,
            input: ScanInput {
                table_name: Some(self.name.to_owned()),
                ..Default::default()
            },
        }
    }
}
