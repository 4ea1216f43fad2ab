//! strata's storage engine: an LSM tree with a write-ahead log, a concurrent memtable,
//! checksummed SSTables with bloom filters and a block cache, and a manifest of versions.
mod error;
pub use error::{Error, Result};
pub mod fs;
mod coding;
mod key;
mod batch;
mod wal;
mod memtable;
mod iter;
mod sstable;
mod db;
mod filename;
mod manifest;
mod options;
mod stats;
mod version;

pub use batch::{WriteBatch, MAX_KEY_SIZE, MAX_VALUE_SIZE};
pub use db::{Cursor, Db, DbIter};
pub use key::MAX_SEQUENCE;
pub use options::{Compression, Options, WalRecovery, WriteOptions};
pub use sstable::BlockCache;
pub use stats::{LevelStats, Stats};
