//! How a [`Database`](crate::Database) behaves beyond the engine's own options.

use std::sync::Arc;
use std::time::Duration;
use strata_streams::LogOptions;

/// Where time to live reads the time: the system clock, or one a test sets.
#[derive(Clone, Default)]
pub struct Clock(Option<Arc<dyn Fn() -> f64 + Send + Sync>>);

impl Clock {
    /// A clock reading `now` (epoch seconds) each time it is asked.
    pub fn new(now: impl Fn() -> f64 + Send + Sync + 'static) -> Clock {
        Clock(Some(Arc::new(now)))
    }

    /// The time, in epoch seconds.
    pub fn now(&self) -> f64 {
        match &self.0 {
            Some(f) => f(),
            None => crate::catalog::now_ms() as f64 / 1000.0,
        }
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Clock(custom)"
        } else {
            "Clock(system)"
        })
    }
}

/// Table-layer settings: write durability, how table streams are laid out, and how time to
/// live sweeps. A builder; the defaults match DynamoDB where it has one.
#[derive(Debug, Clone)]
pub struct DatabaseOptions {
    pub(crate) sync_writes: bool,
    pub(crate) defer_sync_wait: bool,
    pub(crate) stream_log: LogOptions,
    pub(crate) ttl_interval: Duration,
    pub(crate) ttl_batch: usize,
    pub(crate) clock: Clock,
    pub(crate) collection_limit: u64,
    pub(crate) hide_expired: bool,
}

impl Default for DatabaseOptions {
    fn default() -> Self {
        DatabaseOptions {
            sync_writes: false,
            defer_sync_wait: false,
            stream_log: LogOptions::default(),
            ttl_interval: Duration::from_secs(10),
            ttl_batch: 1000,
            clock: Clock::default(),
            collection_limit: crate::index::ITEM_COLLECTION_LIMIT,
            hide_expired: false,
        }
    }
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

    /// With [`DatabaseOptions::sync_writes`]: item writes return as soon as they are ordered
    /// (conditions checked, conflicts resolved), without waiting for the fsync; each becomes
    /// visible and durable together when the fsync that covers it ends. The caller must await
    /// [`crate::Database::durable`] before acknowledging a write — how the server commits
    /// on its event loop without parking a thread per write. Off by default.
    pub fn defer_sync_wait(mut self, yes: bool) -> Self {
        self.defer_sync_wait = yes;
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

    /// How often the time-to-live sweeper looks for expired items (default 10 s; DynamoDB
    /// promises deletion "within a few days", strata within this delay plus the time to
    /// delete what expired).
    pub fn ttl_sweep_interval(mut self, d: Duration) -> Self {
        self.ttl_interval = d;
        self
    }

    /// The most expired items the sweeper deletes per round over all tables (default
    /// 1000), which bounds the work (and write traffic) of one round.
    pub fn ttl_sweep_batch(mut self, n: usize) -> Self {
        self.ttl_batch = n.max(1);
        self
    }

    /// The clock time to live compares expiry times with (default: the system clock).
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The most bytes an item collection (the items sharing a partition key value in a table
    /// with local secondary indexes, with their LSI entries) may take (DynamoDB: 10 GB, the
    /// default); a write past it fails with ItemCollectionSizeLimitExceededException.
    pub fn item_collection_limit(mut self, bytes: u64) -> Self {
        self.collection_limit = bytes;
        self
    }

    /// Hides items whose time to live has passed but which the sweeper has not deleted yet
    /// from every read (GetItem, BatchGetItem, TransactGetItems, Query, Scan, on tables and
    /// indexes), as if already deleted. Off by default: DynamoDB returns such items until
    /// they are deleted, and documents filtering them out with a FilterExpression.
    pub fn hide_expired_items(mut self, yes: bool) -> Self {
        self.hide_expired = yes;
        self
    }

    /// How long stream records are kept (DynamoDB: 24 hours, the default).
    pub fn stream_retention(mut self, d: Duration) -> Self {
        self.stream_log = self.stream_log.retention(d);
        self
    }
}
