//! Figures about a database, for tuning and monitoring.

/// One level of the tree.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LevelStats {
    /// Table files in the level.
    pub files: usize,
    /// Their total size in bytes.
    pub bytes: u64,
    /// Entries (including tombstones and old versions) in them.
    pub entries: u64,
}

/// A snapshot of the database's figures, from [`crate::Db::stats`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Per level, level 0 first, summed over keyspaces.
    pub levels: Vec<LevelStats>,
    /// Live keyspaces, the default one included.
    pub keyspaces: usize,
    /// Live snapshots (transactions hold one each); each keeps the versions it can see.
    pub live_snapshots: usize,
    /// Bytes in the active memtables.
    pub memtable_bytes: u64,
    /// Entries in the active memtable.
    pub memtable_entries: u64,
    /// Sealed memtables waiting for their flush, and their bytes.
    pub immutable_memtables: usize,
    /// Bytes held by sealed memtables.
    pub immutable_memtable_bytes: u64,
    /// Bytes of table index blocks and bloom filters held in memory.
    pub table_metadata_bytes: u64,
    /// Bytes in the block cache, and its capacity.
    pub block_cache_bytes: u64,
    /// The block cache's capacity.
    pub block_cache_capacity: u64,
    /// Block cache lookups that hit.
    pub block_cache_hits: u64,
    /// Block cache lookups that missed (and read from disk).
    pub block_cache_misses: u64,
    /// The last sequence number visible to readers.
    pub last_sequence: u64,
    /// Bytes of keys and values written by users since open.
    pub user_bytes_written: u64,
    /// Bytes appended to the write-ahead log since open.
    pub wal_bytes_written: u64,
    /// Bytes of table files written by flushes since open, and the number of flushes.
    pub flush_bytes_written: u64,
    /// Flushes since open.
    pub flushes: u64,
    /// Bytes of table files read by compactions since open.
    pub compaction_bytes_read: u64,
    /// Bytes of table files written by compactions since open.
    pub compaction_bytes_written: u64,
    /// Compactions (rewrites) since open.
    pub compactions: u64,
    /// Files moved down a level without rewriting, since open.
    pub trivial_moves: u64,
    /// Microseconds writes spent stopped, waiting for a flush or compaction.
    pub stall_micros: u64,
    /// Microseconds writes were deliberately delayed (level 0 or compaction debt past the soft
    /// limit).
    pub slowdown_micros: u64,
    /// Estimated bytes compaction still has to rewrite.
    pub pending_compaction_bytes: u64,
}

impl Stats {
    /// Total bytes of table files.
    pub fn table_bytes(&self) -> u64 {
        self.levels.iter().map(|l| l.bytes).sum()
    }

    /// Write amplification of the tree since open: bytes written to disk (WAL, flushes and
    /// compactions) per byte of user data written. `None` before any write.
    pub fn write_amplification(&self) -> Option<f64> {
        (self.user_bytes_written > 0).then(|| {
            (self.wal_bytes_written + self.flush_bytes_written + self.compaction_bytes_written)
                as f64
                / self.user_bytes_written as f64
        })
    }
}
