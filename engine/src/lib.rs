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
