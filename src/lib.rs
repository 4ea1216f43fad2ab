//! strata: an embeddable DynamoDB, written in Rust.
//!
//! This facade re-exports the public API of strata's layers. Today that is the storage engine
//! ([`engine`]): an LSM tree with a write-ahead log, group commit, SSTables with bloom filters
//! and a block cache, and crash-safe recovery.
//!
//! ```
//! # fn main() -> strata::Result<()> {
//! # let dir = tempfile::tempdir().unwrap();
//! use strata::{Db, Options, WriteBatch, WriteOptions};
//!
//! let db = Db::open(dir.path(), Options::default())?;
//! let mut batch = WriteBatch::new();
//! batch.put("user/1", "ada").put("user/2", "grace");
//! db.write(batch, WriteOptions::new().sync(true))?; // atomic and durable
//! assert_eq!(db.get("user/2")?.as_deref(), Some(&b"grace"[..]));
//! let users: Vec<_> = db.prefix("user/").collect::<strata::Result<_>>()?;
//! assert_eq!(users.len(), 2);
//! # Ok(()) }
//! ```

pub use strata_engine as engine;
pub use strata_engine::{
    versionstamp, Compression, Cursor, Db, DbIter, Error, Keyspace, KeyspaceOptions, Options,
    Result, Snapshot, Stats, Transaction, TxnIter, WalRecovery, WriteBatch, WriteOptions,
};
/// Durable, ordered change logs with shards, iterators, retention and subscribers.
pub use strata_streams as streams;
/// DynamoDB's data model on the engine: tables, items, expressions, Query/Scan, batches,
/// transactions.
pub use strata_table as table;

/// The README's code blocks, compiled as doc tests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
