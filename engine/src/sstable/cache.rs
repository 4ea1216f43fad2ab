//! The block cache: decoded blocks shared by all tables, bounded in bytes.

use super::block::Block;
use quick_cache::sync::Cache;
use quick_cache::Weighter;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Cache key: (table file number, block offset).
type BlockKey = (u64, u64);

#[derive(Clone)]
struct BlockWeighter;

impl Weighter<BlockKey, Arc<Block>> for BlockWeighter {
    fn weight(&self, _key: &BlockKey, block: &Arc<Block>) -> u64 {
        // Count the block's bytes plus the entry's bookkeeping.
        block.size() as u64 + 64
    }
}

/// A sharded, byte-bounded cache of decoded blocks (quick_cache's S3-FIFO, as fjall uses),
/// with hit/miss counters for statistics.
pub struct BlockCache {
    cache: Cache<BlockKey, Arc<Block>, BlockWeighter>,
    capacity: u64,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl BlockCache {
    /// A cache holding at most `capacity` bytes of blocks.
    pub fn new(capacity: u64) -> Self {
        let estimated_items = (capacity / 4096).max(16) as usize;
        BlockCache {
            cache: Cache::with_weighter(estimated_items, capacity.max(1), BlockWeighter),
            capacity,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    pub(crate) fn get(&self, file: u64, offset: u64) -> Option<Arc<Block>> {
        let hit = self.cache.get(&(file, offset));
        let counter = if hit.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        hit
    }

    pub(crate) fn insert(&self, file: u64, offset: u64, block: Arc<Block>) {
        if self.capacity > 0 {
            self.cache.insert((file, offset), block);
        }
    }

    /// Bytes currently cached.
    pub fn usage(&self) -> u64 {
        self.cache.weight()
    }

    /// The configured capacity in bytes.
    pub fn capacity(&self) -> u64 {
        self.capacity
    }

    /// Lookups that found their block.
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    /// Lookups that had to read from disk.
    pub fn misses(&self) -> u64 {
        self.misses.load(Ordering::Relaxed)
    }
}

impl std::fmt::Debug for BlockCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockCache")
            .field("capacity", &self.capacity)
            .field("usage", &self.usage())
            .finish()
    }
}
