//! Versions: the set of live table files, by level, at one moment.
//!
//! A [`Version`] is immutable; flushes and compactions build the next one from an edit and swap
//! it in, while readers keep using the one they started with. Level 0 holds flushed memtables,
//! which may overlap, newest first; levels 1 and up hold files with disjoint user-key ranges,
//! sorted by key. A user key never spans two files of one level (compaction only splits output
//! between user keys).

use crate::key;
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

impl FileMeta {
    pub(crate) fn smallest_user_key(&self) -> &[u8] {
        key::user_key(&self.smallest)
    }

    pub(crate) fn largest_user_key(&self) -> &[u8] {
        key::user_key(&self.largest)
    }

    /// Whether the file's user-key range meets `[lo, hi]` (`None` = unbounded).
    pub(crate) fn overlaps(&self, lo: Option<&[u8]>, hi: Option<&[u8]>) -> bool {
        lo.is_none_or(|lo| self.largest_user_key() >= lo)
            && hi.is_none_or(|hi| self.smallest_user_key() <= hi)
    }
}

/// A table file in a version: its metadata and its open reader.
pub(crate) struct LiveTable {
    pub(crate) meta: FileMeta,
    pub(crate) table: Arc<Table>,
}

/// The files of one tree.
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

    /// Total bytes of a level's files.
    pub(crate) fn level_bytes(&self, level: usize) -> u64 {
        self.levels[level].iter().map(|f| f.meta.size).sum()
    }

    /// The files of `level` whose user-key range meets `[lo, hi]`.
    pub(crate) fn overlapping(
        &self,
        level: usize,
        lo: Option<&[u8]>,
        hi: Option<&[u8]>,
    ) -> Vec<Arc<LiveTable>> {
        self.levels[level]
            .iter()
            .filter(|f| f.meta.overlaps(lo, hi))
            .cloned()
            .collect()
    }

    /// The files that may hold `user_key`: at level 0 every file whose range covers it (newest
    /// first); deeper, the one file of each level whose range covers it (found by binary search,
    /// the files being sorted and disjoint).
    pub(crate) fn files_for_key<'a>(
        &'a self,
        level: usize,
        user_key: &'a [u8],
    ) -> impl Iterator<Item = &'a Arc<LiveTable>> + 'a {
        let files = &self.levels[level];
        let candidates = if level == 0 {
            &files[..]
        } else {
            let i = files.partition_point(|f| f.meta.largest_user_key() < user_key);
            &files[i..(i + 1).min(files.len())]
        };
        candidates
            .iter()
            .filter(move |f| f.meta.overlaps(Some(user_key), Some(user_key)))
    }

    /// Whether any level below `level` may hold `user_key`.
    pub(crate) fn key_may_exist_below(&self, level: usize, user_key: &[u8]) -> bool {
        (level + 1..self.levels.len()).any(|l| self.files_for_key(l, user_key).next().is_some())
    }

    /// A new version with `deleted` (level, number) removed and `added` (level, file) added.
    pub(crate) fn apply(
        &self,
        deleted: &[(usize, u64)],
        added: impl IntoIterator<Item = (usize, Arc<LiveTable>)>,
    ) -> Version {
        let mut next = self.clone();
        for (level, number) in deleted {
            next.levels[*level].retain(|f| f.meta.number != *number);
        }
        let mut touched = [false; NUM_LEVELS];
        for (level, file) in added {
            next.levels[level].push(file);
            touched[level] = true;
        }
        for (level, files) in next.levels.iter_mut().enumerate() {
            if !touched[level] {
                continue;
            }
            if level == 0 {
                files.sort_by(|a, b| {
                    b.meta
                        .largest_seq
                        .cmp(&a.meta.largest_seq)
                        .then(b.meta.number.cmp(&a.meta.number))
                });
            } else {
                files.sort_by(|a, b| key::compare(&a.meta.smallest, &b.meta.smallest));
            }
        }
        next
    }

    /// A new version with `file` added at `level`.
    pub(crate) fn with_file(&self, level: usize, file: Arc<LiveTable>) -> Version {
        self.apply(&[], [(level, file)])
    }
}
