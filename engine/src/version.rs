//! Versions: the set of live table files, by level, at one moment.
//!
//! A [`Version`] is immutable; flushes (and compactions) build the next one from an edit and
//! swap it in, while readers keep using the one they started with. Level 0 holds flushed
//! memtables, which may overlap, newest first; levels 1 and up hold non-overlapping files
//! sorted by key (filled by compaction).

use crate::sstable::Table;
use bytes::Bytes;
use std::sync::Arc;

/// Number of levels in the tree.
pub(crate) const NUM_LEVELS: usize = 7;

/// What the manifest records about a table file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FileMeta {
    pub(crate) number: u64,
    pub(crate) size: u64,
    /// Smallest and largest encoded internal keys in the file.
    pub(crate) smallest: Bytes,
    pub(crate) largest: Bytes,
    pub(crate) smallest_seq: u64,
    pub(crate) largest_seq: u64,
}

/// A table file in a version: its metadata and its open reader.
pub(crate) struct LiveTable {
    pub(crate) meta: FileMeta,
    pub(crate) table: Arc<Table>,
}

/// The files of one keyspace's tree.
#[derive(Clone, Default)]
pub(crate) struct Version {
    /// `levels[0]` is newest first; other levels are sorted by smallest key.
    pub(crate) levels: Vec<Vec<Arc<LiveTable>>>,
}

impl Version {
    pub(crate) fn empty() -> Self {
        Version {
            levels: vec![Vec::new(); NUM_LEVELS],
        }
    }

    /// Every live file, level by level.
    pub(crate) fn files(&self) -> impl Iterator<Item = (usize, &Arc<LiveTable>)> {
        self.levels
            .iter()
            .enumerate()
            .flat_map(|(level, files)| files.iter().map(move |f| (level, f)))
    }

    /// A new version with `file` added at `level`.
    pub(crate) fn with_file(&self, level: usize, file: Arc<LiveTable>) -> Version {
        let mut next = self.clone();
        let files = &mut next.levels[level];
        files.push(file);
        if level == 0 {
            files.sort_by(|a, b| {
                b.meta
                    .largest_seq
                    .cmp(&a.meta.largest_seq)
                    .then(b.meta.number.cmp(&a.meta.number))
            });
        } else {
            files.sort_by(|a, b| crate::key::compare(&a.meta.smallest, &b.meta.smallest));
        }
        next
    }
}
