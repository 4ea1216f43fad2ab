//! strata's table layer: DynamoDB's data model — tables, items, attribute values, the
//! expression languages, Query/Scan, batches and transactions — on the storage engine.

pub mod backfill;
pub mod background;
pub mod batch;
pub mod builder;
pub mod capacity;
pub mod catalog;
pub mod codec;
pub mod convert;
pub mod doc;
pub mod error;
pub mod eval;
pub mod expr;
pub mod exprs;
pub mod index;
pub mod index_ddl;
pub mod items;
pub mod legacy;
pub mod model;
pub mod number;
pub mod options;
pub mod query;
pub mod read;
pub mod schema;
pub mod stored;
pub mod stream_api;
pub mod streams;
pub mod transact;
pub mod ttl;
pub mod value;
pub mod write;

pub use builder::TableRef;
pub use catalog::{Core, Database, Table};
pub use error::{Result, TableError};
pub use number::Number;
pub use options::{Clock, DatabaseOptions};
pub use value::{AttributeValue, Item};

/// The region strata reports in ARNs.
pub const REGION: &str = "us-east-1";
