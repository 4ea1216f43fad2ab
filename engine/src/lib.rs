//! strata's storage engine: an LSM tree with a write-ahead log, a concurrent memtable,
//! checksummed SSTables with bloom filters and a block cache, and a manifest of versions.
mod error;
pub use error::{Error, Result};
mod batch;
#[doc(hidden)]
pub mod bench_support;
mod coding;
mod compaction;
mod db;
mod filename;
pub mod fs;
#[doc(hidden)]
pub mod fuzz_support;
pub mod inspect;
mod iter;
mod key;
mod manifest;
mod memtable;
mod options;
mod sstable;
mod stats;
mod version;
mod wal;

pub use batch::{versionstamp, WriteBatch, MAX_KEY_SIZE, MAX_VALUE_SIZE, VERSIONSTAMP_SIZE};
pub use db::{Cursor, Db, DbIter, Durable, Keyspace, Snapshot, Transaction, TxnIter};
pub use key::MAX_SEQUENCE;
pub use options::{Compression, KeyspaceOptions, Options, WalRecovery, WriteOptions};
pub use sstable::BlockCache;
pub use stats::{LevelStats, Stats};
