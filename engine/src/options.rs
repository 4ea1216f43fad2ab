//! Options for opening a database and for writes.

use crate::fs::{FileSystem, StdFs};
use crate::{Error, Result};
use std::sync::Arc;

/// Block compression. With either codec, a block is stored uncompressed when compression
/// saves less than 1/8 of it.
///
/// The codec is chosen per database (or per keyspace) when tables are written; a table's
/// blocks record the codec they were written with, so a database written with one codec reads
/// its old tables after switching to another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Blocks are stored as they are.
    None,
    /// LZ4 (the default): decompresses a 4 KiB block about 8x faster than zstd level 1, which
    /// is most of the cost of a read that misses the block cache, for about 25% more bytes on
    /// disk. RocksDB's and fjall's default family of codecs.
    Lz4,
    /// zstd at this level (1–22; negative levels are faster): the smallest files, for data read
    /// rarely or a disk that is the constraint.
    Zstd {
        /// The zstd level.
        level: i32,
    },
}

/// What recovery does with a damaged write-ahead log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WalRecovery {
    /// Damage at the end of a log with nothing valid after it (a torn tail: the crash hit
    /// mid-append, so the damaged write was never acknowledged) is dropped; damage followed by
    /// valid records is an [`Error::Corruption`], since acknowledged writes would be lost.
    #[default]
    TornTailOnly,
    /// Replay stops at the first damage of any kind and the database opens with every write
    /// before it: a consistent point in time, possibly missing acknowledged writes that sat
    /// after the damage. For when getting the database open matters more.
    PointInTime,
}

/// Options for [`crate::Db::open`], built with chained setters:
///
/// ```
/// use strata_engine::{Compression, Options};
/// let opts = Options::default()
///     .write_buffer_size(8 << 20)
///     .block_cache_capacity(32 << 20)
///     .compression(Compression::None);
/// ```
#[derive(Clone)]
pub struct Options {
    pub(crate) fs: Arc<dyn FileSystem>,
    pub(crate) create_if_missing: bool,
    pub(crate) error_if_exists: bool,
    pub(crate) write_buffer_size: usize,
    pub(crate) max_immutable_memtables: usize,
    pub(crate) block_size: usize,
    pub(crate) block_restart_interval: usize,
    pub(crate) compression: Compression,
    pub(crate) bloom_bits_per_key: usize,
    pub(crate) block_cache_capacity: u64,
    pub(crate) wal_recovery: WalRecovery,
    pub(crate) max_write_group_bytes: usize,
    pub(crate) level0_compaction_trigger: usize,
    pub(crate) level0_slowdown_trigger: usize,
    pub(crate) level0_stop_trigger: usize,
    pub(crate) level_base_bytes: u64,
    pub(crate) level_multiplier: u64,
    pub(crate) target_file_size: u64,
    pub(crate) background_compactions: usize,
    pub(crate) soft_pending_compaction_bytes: u64,
    pub(crate) hard_pending_compaction_bytes: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            fs: Arc::new(StdFs),
            create_if_missing: true,
            error_if_exists: false,
            write_buffer_size: 64 << 20,
            max_immutable_memtables: 2,
            block_size: 4096,
            block_restart_interval: 16,
            compression: Compression::Lz4,
            bloom_bits_per_key: 10,
            block_cache_capacity: 64 << 20,
            wal_recovery: WalRecovery::TornTailOnly,
            max_write_group_bytes: 1 << 20,
            level0_compaction_trigger: 4,
            level0_slowdown_trigger: 20,
            level0_stop_trigger: 36,
            level_base_bytes: 256 << 20,
            level_multiplier: 10,
            target_file_size: 64 << 20,
            background_compactions: 1,
            soft_pending_compaction_bytes: 64 << 30,
            hard_pending_compaction_bytes: 256 << 30,
        }
    }
}

impl std::fmt::Debug for Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field("create_if_missing", &self.create_if_missing)
            .field("error_if_exists", &self.error_if_exists)
            .field("write_buffer_size", &self.write_buffer_size)
            .field("max_immutable_memtables", &self.max_immutable_memtables)
            .field("block_size", &self.block_size)
            .field("compression", &self.compression)
            .field("bloom_bits_per_key", &self.bloom_bits_per_key)
            .field("block_cache_capacity", &self.block_cache_capacity)
            .field("wal_recovery", &self.wal_recovery)
            .finish_non_exhaustive()
    }
}

impl Options {
    /// The defaults: create if missing, 64 MiB write buffer, 2 immutable memtables, 4 KiB
    /// blocks, LZ4, 10-bit bloom filters, 64 MiB block cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// The file system to use (default: the operating system's). Tests pass a
    /// [`crate::fs::MemFs`] to simulate crashes and inject faults.
    pub fn file_system(mut self, fs: Arc<dyn FileSystem>) -> Self {
        self.fs = fs;
        self
    }

    /// Create the database if the directory holds none (default true).
    pub fn create_if_missing(mut self, yes: bool) -> Self {
        self.create_if_missing = yes;
        self
    }

    /// Fail if a database already exists there (default false).
    pub fn error_if_exists(mut self, yes: bool) -> Self {
        self.error_if_exists = yes;
        self
    }

    /// Size at which the memtable becomes immutable and is flushed (default 64 MiB; at least
    /// 64 KiB). Memory for memtables is bounded by this times `1 + max_immutable_memtables`.
    pub fn write_buffer_size(mut self, bytes: usize) -> Self {
        self.write_buffer_size = bytes;
        self
    }

    /// How many full memtables may wait for their flush before writes stall (default 2, at
    /// least 1).
    pub fn max_immutable_memtables(mut self, n: usize) -> Self {
        self.max_immutable_memtables = n;
        self
    }

    /// Target size of an SSTable data block before compression (default 4 KiB).
    pub fn block_size(mut self, bytes: usize) -> Self {
        self.block_size = bytes;
        self
    }

    /// Entries between restart points in a block (default 16).
    pub fn block_restart_interval(mut self, n: usize) -> Self {
        self.block_restart_interval = n;
        self
    }

    /// Block compression (default LZ4).
    pub fn compression(mut self, c: Compression) -> Self {
        self.compression = c;
        self
    }

    /// Bloom filter bits per key (default 10, about 1% false positives; 0 turns filters off).
    pub fn bloom_bits_per_key(mut self, bits: usize) -> Self {
        self.bloom_bits_per_key = bits;
        self
    }

    /// Bytes of decoded blocks the block cache may hold (default 64 MiB; 0 disables it).
    pub fn block_cache_capacity(mut self, bytes: u64) -> Self {
        self.block_cache_capacity = bytes;
        self
    }

    /// What recovery does with a damaged write-ahead log (default [`WalRecovery::TornTailOnly`]).
    pub fn wal_recovery(mut self, mode: WalRecovery) -> Self {
        self.wal_recovery = mode;
        self
    }

    /// Upper bound on the bytes of concurrent writes committed as one group (default 1 MiB).
    pub fn max_write_group_bytes(mut self, bytes: usize) -> Self {
        self.max_write_group_bytes = bytes;
        self
    }

    /// Level-0 file count that triggers a compaction into level 1 (default 4).
    pub fn level0_compaction_trigger(mut self, files: usize) -> Self {
        self.level0_compaction_trigger = files;
        self
    }

    /// Level-0 file count at which each write group is delayed by a millisecond (default 20).
    pub fn level0_slowdown_trigger(mut self, files: usize) -> Self {
        self.level0_slowdown_trigger = files;
        self
    }

    /// Level-0 file count at which writes wait for compaction (default 36).
    pub fn level0_stop_trigger(mut self, files: usize) -> Self {
        self.level0_stop_trigger = files;
        self
    }

    /// Target size of the base level, the one level 0 compacts into (default 256 MiB). Level
    /// sizes are dynamic, as RocksDB's `level_compaction_dynamic_level_bytes`: the last level
    /// holds what there is, each level above it targets `level_multiplier` times less (never
    /// less than this), and level 0 compacts into the highest level whose target is still
    /// above this over `level_multiplier` — straight into the last level while the data is
    /// small.
    pub fn level_base_bytes(mut self, bytes: u64) -> Self {
        self.level_base_bytes = bytes;
        self
    }

    /// Size ratio between adjacent levels (default 10).
    pub fn level_multiplier(mut self, ratio: u64) -> Self {
        self.level_multiplier = ratio;
        self
    }

    /// Size at which compaction output files are split (default 64 MiB).
    pub fn target_file_size(mut self, bytes: u64) -> Self {
        self.target_file_size = bytes;
        self
    }

    /// Background compaction threads (default 1).
    pub fn background_compactions(mut self, threads: usize) -> Self {
        self.background_compactions = threads;
        self
    }

    /// Estimated compaction debt at which writes are delayed (default 64 GiB).
    pub fn soft_pending_compaction_bytes(mut self, bytes: u64) -> Self {
        self.soft_pending_compaction_bytes = bytes;
        self
    }

    /// Estimated compaction debt at which writes wait for compaction (default 256 GiB).
    pub fn hard_pending_compaction_bytes(mut self, bytes: u64) -> Self {
        self.hard_pending_compaction_bytes = bytes;
        self
    }

    pub(crate) fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::InvalidArgument(m));
        if self.write_buffer_size < 64 * 1024 {
            return bad(format!(
                "write_buffer_size {} is below the minimum of 65536 bytes",
                self.write_buffer_size
            ));
        }
        if self.max_immutable_memtables == 0 {
            return bad("max_immutable_memtables must be at least 1".into());
        }
        if !(256..=16 << 20).contains(&self.block_size) {
            return bad(format!(
                "block_size {} is outside 256 bytes..16 MiB",
                self.block_size
            ));
        }
        if !(1..=1024).contains(&self.block_restart_interval) {
            return bad(format!(
                "block_restart_interval {} is outside 1..=1024",
                self.block_restart_interval
            ));
        }
        if self.bloom_bits_per_key > 64 {
            return bad(format!(
                "bloom_bits_per_key {} is above the maximum of 64",
                self.bloom_bits_per_key
            ));
        }
        if self.level0_compaction_trigger == 0
            || self.level0_slowdown_trigger < self.level0_compaction_trigger
            || self.level0_stop_trigger < self.level0_slowdown_trigger
        {
            return bad(format!(
                "level-0 triggers must satisfy 1 <= compaction ({}) <= slowdown ({}) <= stop ({})",
                self.level0_compaction_trigger,
                self.level0_slowdown_trigger,
                self.level0_stop_trigger
            ));
        }
        if self.level_multiplier < 2 || self.level_base_bytes < 64 * 1024 {
            return bad(format!(
                "level_multiplier ({}) must be at least 2 and level_base_bytes ({}) at least 65536",
                self.level_multiplier, self.level_base_bytes
            ));
        }
        if self.target_file_size < 64 * 1024 {
            return bad(format!(
                "target_file_size {} is below the minimum of 65536 bytes",
                self.target_file_size
            ));
        }
        if !(1..=64).contains(&self.background_compactions) {
            return bad(format!(
                "background_compactions {} is outside 1..=64",
                self.background_compactions
            ));
        }
        if self.hard_pending_compaction_bytes < self.soft_pending_compaction_bytes {
            return bad("hard_pending_compaction_bytes must be at least the soft limit".into());
        }
        if let Compression::Zstd { level } = self.compression {
            let range = zstd::compression_level_range();
            if !range.contains(&level) {
                return bad(format!(
                    "zstd level {level} is outside {}..={}",
                    range.start(),
                    range.end()
                ));
            }
        }
        Ok(())
    }
}

/// Options for one write.
///
/// Durability, precisely: when a write returns `Ok`, its data is in the operating system
/// (survives the process being killed). With `sync = true` it was also fsynced before `Ok`
/// (survives power loss), and so was every write committed before it. Writes are atomic and
/// recovered in commit order: after any crash the database holds a prefix of the committed
/// writes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteOptions {
    /// fsync the write-ahead log before acknowledging (default false).
    pub sync: bool,
    /// With `sync`: return as soon as the write is ordered in the log, without waiting for its
    /// fsync (default false). See [`WriteOptions::defer_wait`].
    pub defer_wait: bool,
}

impl WriteOptions {
    /// Default options (no fsync).
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets whether the write is fsynced before it is acknowledged.
    pub fn sync(mut self, yes: bool) -> Self {
        self.sync = yes;
        self
    }

    /// With [`WriteOptions::sync`]: the write call returns as soon as the write is ordered in
    /// the log (its sequence number assigned, conflicts checked), and the fsync is left to the
    /// database's sync thread, which runs it at once. The write becomes visible to readers
    /// only when it is durable, so nothing ever reads a write a power loss could take back.
    /// The caller must await [`crate::Db::durable`] before telling anyone the write happened.
    /// This lets an async server commit on its event loop instead of parking a thread per
    /// write until the fsync ends.
    pub fn defer_wait(mut self, yes: bool) -> Self {
        self.defer_wait = yes;
        self
    }
}

/// Options for one keyspace, given when it is created (see [`crate::Db::open_keyspace`]);
/// anything left unset takes the database's [`Options`]. They are stored with the keyspace:
/// reopening it uses the options it was created with.
///
/// ```
/// use strata_engine::{Compression, KeyspaceOptions};
/// let opts = KeyspaceOptions::new().compression(Compression::None).bloom_bits_per_key(16);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeyspaceOptions {
    compression: Option<Compression>,
    bloom_bits_per_key: Option<usize>,
    block_size: Option<usize>,
}

impl KeyspaceOptions {
    /// Everything from the database's options.
    pub fn new() -> Self {
        Self::default()
    }

    /// Block compression of this keyspace's table files.
    pub fn compression(mut self, c: Compression) -> Self {
        self.compression = Some(c);
        self
    }

    /// Bloom filter bits per key (0 disables the filter).
    pub fn bloom_bits_per_key(mut self, bits: usize) -> Self {
        self.bloom_bits_per_key = Some(bits);
        self
    }

    /// Target uncompressed size of a data block.
    pub fn block_size(mut self, bytes: usize) -> Self {
        self.block_size = Some(bytes);
        self
    }

    /// The options with the database's filling the gaps, checked like [`Options`]'.
    pub(crate) fn resolve(&self, db: &Options) -> Result<TreeOptions> {
        let mut check = db.clone();
        check.compression = self.compression.unwrap_or(db.compression);
        check.bloom_bits_per_key = self.bloom_bits_per_key.unwrap_or(db.bloom_bits_per_key);
        check.block_size = self.block_size.unwrap_or(db.block_size);
        check.validate()?;
        Ok(TreeOptions {
            compression: check.compression,
            bloom_bits_per_key: check.bloom_bits_per_key,
            block_size: check.block_size,
        })
    }
}

/// A keyspace's resolved table options, as stored in the manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TreeOptions {
    pub(crate) compression: Compression,
    pub(crate) bloom_bits_per_key: usize,
    pub(crate) block_size: usize,
}

impl TreeOptions {
    /// The default keyspace's options: the database's.
    pub(crate) fn from_db(o: &Options) -> Self {
        TreeOptions {
            compression: o.compression,
            bloom_bits_per_key: o.bloom_bits_per_key,
            block_size: o.block_size,
        }
    }

    /// Encoding: compression (0 = none, 1 = zstd followed by its level, zigzag, 2 = LZ4) |
    /// bloom bits | block size, all varints. The compression codes are written to disk: never
    /// change or reuse one.
    pub(crate) fn encode(&self, buf: &mut Vec<u8>) {
        use crate::coding::put_varint;
        match self.compression {
            Compression::None => put_varint(buf, 0),
            Compression::Lz4 => put_varint(buf, 2),
            Compression::Zstd { level } => {
                put_varint(buf, 1);
                put_varint(buf, ((level << 1) ^ (level >> 31)) as u32 as u64);
            }
        }
        put_varint(buf, self.bloom_bits_per_key as u64);
        put_varint(buf, self.block_size as u64);
    }

    pub(crate) fn decode(src: &mut &[u8]) -> std::result::Result<Self, String> {
        use crate::coding::get_varint;
        let mut num = |what: &str| get_varint(src).ok_or_else(|| format!("truncated {what}"));
        let compression = match num("compression")? {
            0 => Compression::None,
            1 => {
                let z = u32::try_from(num("zstd level")?).map_err(|_| "bad zstd level")?;
                Compression::Zstd {
                    level: ((z >> 1) as i32) ^ -((z & 1) as i32),
                }
            }
            2 => Compression::Lz4,
            other => return Err(format!("unknown compression {other}")),
        };
        let bloom_bits_per_key = usize::try_from(num("bloom bits")?)
            .ok()
            .filter(|&b| b <= 64)
            .ok_or("bloom bits per key out of range")?;
        let block_size = usize::try_from(num("block size")?)
            .ok()
            .filter(|b| (256..=16 << 20).contains(b))
            .ok_or("block size out of range")?;
        Ok(TreeOptions {
            compression,
            bloom_bits_per_key,
            block_size,
        })
    }
}
