//! An iterator over one level (1 and up) of the tree: the level's files are sorted and their
//! key ranges disjoint, so only one file's cursor is open at a time, chosen by binary search.
//! A merge over the tree then has one child per level instead of one per file.

use super::InternalIterator;
use crate::key;
use crate::sstable::TableIter;
use crate::version::LiveTable;
use crate::Result;
use bytes::Bytes;
use std::cmp::Ordering;
use std::sync::Arc;

/// A cursor over the files of one sorted level.
pub(crate) struct LevelIter {
    files: Vec<Arc<LiveTable>>,
    /// Index of the open file, and its cursor.
    current: Option<(usize, TableIter)>,
}

impl LevelIter {
    /// A cursor over `files`, which must be sorted by key with disjoint ranges.
    pub(crate) fn new(files: Vec<Arc<LiveTable>>) -> Self {
        LevelIter {
            files,
            current: None,
        }
    }

    fn open(&mut self, index: usize) -> Option<&mut TableIter> {
        if index >= self.files.len() {
            self.current = None;
            return None;
        }
        if self.current.as_ref().is_none_or(|(i, _)| *i != index) {
            self.current = Some((index, self.files[index].table.iter()));
        }
        self.current.as_mut().map(|(_, it)| it)
    }

    /// Moves forward over exhausted files.
    fn skip_forward(&mut self) -> Result<()> {
        while let Some((i, it)) = self.current.as_ref() {
            if it.valid() {
                break;
            }
            let next = i + 1;
            match self.open(next) {
                Some(it) => it.seek_to_first()?,
                None => break,
            }
        }
        Ok(())
    }

    /// Moves backward over exhausted files.
    fn skip_backward(&mut self) -> Result<()> {
        while let Some((i, it)) = self.current.as_ref() {
            if it.valid() {
                break;
            }
            let Some(prev) = i.checked_sub(1) else {
                self.current = None;
                break;
            };
            if let Some(it) = self.open(prev) {
                it.seek_to_last()?;
            }
        }
        Ok(())
    }

    fn fail<T>(&mut self, e: crate::Error) -> Result<T> {
        self.current = None;
        Err(e)
    }
}

impl InternalIterator for LevelIter {
    fn valid(&self) -> bool {
        self.current.as_ref().is_some_and(|(_, it)| it.valid())
    }

    fn key(&self) -> &[u8] {
        self.current.as_ref().map_or(&[], |(_, it)| it.key())
    }

    fn value(&self) -> Bytes {
        self.current
            .as_ref()
            .map_or_else(Bytes::new, |(_, it)| it.value())
    }

    fn value_ref(&self) -> &[u8] {
        self.current.as_ref().map_or(&[], |(_, it)| it.value_ref())
    }

    fn seek(&mut self, target: &[u8]) -> Result<()> {
        // The first file whose largest key is >= target.
        let i = self
            .files
            .partition_point(|f| key::compare(&f.meta.largest, target) == Ordering::Less);
        let r = match self.open(i) {
            Some(it) => it.seek(target).and_then(|()| self.skip_forward()),
            None => Ok(()),
        };
        r.or_else(|e| self.fail(e))
    }

    fn seek_to_first(&mut self) -> Result<()> {
        let r = match self.open(0) {
            Some(it) => it.seek_to_first().and_then(|()| self.skip_forward()),
            None => Ok(()),
        };
        r.or_else(|e| self.fail(e))
    }

    fn seek_to_last(&mut self) -> Result<()> {
        let Some(last) = self.files.len().checked_sub(1) else {
            self.current = None;
            return Ok(());
        };
        let r = match self.open(last) {
            Some(it) => it.seek_to_last().and_then(|()| self.skip_backward()),
            None => Ok(()),
        };
        r.or_else(|e| self.fail(e))
    }

    fn seek_for_prev(&mut self, target: &[u8]) -> Result<()> {
        // The last file whose smallest key is <= target.
        let i = self
            .files
            .partition_point(|f| key::compare(&f.meta.smallest, target) != Ordering::Greater);
        let Some(i) = i.checked_sub(1) else {
            self.current = None;
            return Ok(());
        };
        let r = match self.open(i) {
            Some(it) => it.seek_for_prev(target).and_then(|()| self.skip_backward()),
            None => Ok(()),
        };
        r.or_else(|e| self.fail(e))
    }

    fn next(&mut self) -> Result<()> {
        let r = match self.current.as_mut() {
            Some((_, it)) => it.next().and_then(|()| self.skip_forward()),
            None => Ok(()),
        };
        r.or_else(|e| self.fail(e))
    }

    fn prev(&mut self) -> Result<()> {
        let r = match self.current.as_mut() {
            Some((_, it)) => it.prev().and_then(|()| self.skip_backward()),
            None => Ok(()),
        };
        r.or_else(|e| self.fail(e))
    }
}
