//! How a [`Database`](crate::Database) behaves beyond the engine's own options.

use std::time::Duration;
use strata_streams::LogOptions;

/// Table-layer settings: write durability and how table streams are laid out. A builder;
/// the defaults match DynamoDB where it has one.
#[derive(Debug, Clone, Default)]
pub struct DatabaseOptions {
    pub(crate) sync_writes: bool,
    pub(crate) stream_log: LogOptions,
}

impl DatabaseOptions {
    /// The defaults: writes not fsynced (an embedded database's usual choice; the server
    /// turns it on), streams with 4 shards, 24 hours of retention, shards closing hourly.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes every acknowledged item write durable (fsynced, with group commit sharing the
    /// fsyncs of concurrent writers), as DynamoDB's writes are.
    pub fn sync_writes(mut self, yes: bool) -> Self {
        self.sync_writes = yes;
        self
    }

    /// How long a stream shard stays open before it closes and child shards take over
    /// (DynamoDB: about four hours; here one hour by default).
    pub fn stream_shard_lifetime(mut self, d: Duration) -> Self {
        self.stream_log = self.stream_log.rotate_interval(d);
        self
    }

    /// Also closes a stream's shards once this many records were written to them (0: never,
    /// the default) — lineage on demand, for tests of consumers that follow it.
    pub fn stream_shard_max_records(mut self, n: u64) -> Self {
        self.stream_log = self.stream_log.rotate_after_records(n);
        self
    }

    /// How many shards a stream writes to at once (1..=1024; default 4).
    pub fn stream_shards(mut self, n: u32) -> Self {
        self.stream_log = self.stream_log.shards(n);
        self
    }

    /// How long stream records are kept (DynamoDB: 24 hours, the default).
    pub fn stream_retention(mut self, d: Duration) -> Self {
        self.stream_log = self.stream_log.retention(d);
        self
    }
}
