//! strata's table layer: DynamoDB's data model — tables, items, attribute values, the
//! expression languages, Query/Scan, batches and transactions — on the storage engine.

pub mod codec;
pub mod expr;
pub mod number;
pub mod value;
