//! strata's change logs: durable, ordered, sharded logs of records kept in engine keyspaces,
//! appended inside the writer's own batch or transaction and positioned by the commit's
//! sequence number — what DynamoDB Streams gives its consumers.
//!
//! ```
//! use strata_streams::{ChangeLog, LogOptions, Start};
//! # let dir = tempfile::tempdir().unwrap();
//! let db = strata_engine::Db::open(dir.path(), Default::default())?;
//! let log = ChangeLog::open(&db, "orders", LogOptions::default())?;
//! let mut sub = log.subscribe(Start::Latest)?;
//!
//! // A change and its record commit together.
//! let orders = db.keyspace("orders")?;
//! let appender = log.appender()?;
//! let mut batch = strata_engine::WriteBatch::new();
//! batch.put_in(&orders, "o#1", "placed");
//! appender.append(&mut batch, b"o#1", b"INSERT o#1");
//! db.write(batch, Default::default())?;
//! drop(appender);
//!
//! let record = sub.next().unwrap()?;
//! assert_eq!(&record.payload[..], b"INSERT o#1");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod error;
mod log;
mod reader;
mod shard;
mod subscribe;

pub use error::{Result, StreamError};
pub use log::{Append, Appender, ChangeLog, LogOptions};
pub use reader::{IteratorType, Record, Records, ShardIterator, MAX_BYTES, MAX_RECORDS};
pub use shard::{format_sequence, parse_sequence, parse_shard_id, shard_id, ShardMeta};
pub use subscribe::{Consumer, Start, Subscription};
