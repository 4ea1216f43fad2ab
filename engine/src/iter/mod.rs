//! Iterators over internal keys, and the user-facing iterators built on them.
//!
//! Every source (memtable, SSTable, block) implements [`InternalIterator`]: a cursor over encoded
//! internal keys in [`crate::key::compare`] order that can move both ways. [`MergingIterator`]
//! merges sources; [`crate::Cursor`] turns the merged stream into user keys at a read sequence.

mod level;
mod merge;

pub(crate) use level::LevelIter;
pub(crate) use merge::MergingIterator;

use crate::key;
use crate::Result;
use bytes::Bytes;
use std::cmp::Ordering;

/// A bidirectional cursor over encoded internal keys.
///
/// After any method returns an error the iterator is invalid; positioning it again (a seek)
/// retries.
pub(crate) trait InternalIterator: Send {
    /// Whether the cursor is at an entry.
    fn valid(&self) -> bool;
    /// The current entry's encoded internal key. Only when `valid()`.
    fn key(&self) -> &[u8];
    /// The current entry's value, owned: shared with the source where that pins nothing large,
    /// copied otherwise (see the memtable's). Only when `valid()`.
    fn value(&self) -> Bytes;
    /// The current entry's value, borrowed until the iterator moves: no copy and no reference
    /// count. Only when `valid()`.
    fn value_ref(&self) -> &[u8];
    /// The current entry's value, owned and shared with wherever it lies, whatever that pins:
    /// a memtable value keeps its arena chunk alive while it is held. For values held
    /// briefly. Only when `valid()`.
    fn value_pinned(&self) -> Bytes {
        self.value()
    }
    /// Moves to the first entry `>= target`.
    fn seek(&mut self, target: &[u8]) -> Result<()>;
    /// Moves to the first entry.
    fn seek_to_first(&mut self) -> Result<()>;
    /// Moves to the last entry.
    fn seek_to_last(&mut self) -> Result<()>;
    /// Moves to the next entry. Only when `valid()`.
    fn next(&mut self) -> Result<()>;
    /// Moves to the previous entry. Only when `valid()`.
    fn prev(&mut self) -> Result<()>;
    /// Moves to the last entry `<= target`.
    fn seek_for_prev(&mut self, target: &[u8]) -> Result<()> {
        self.seek(target)?;
        if !self.valid() {
            self.seek_to_last()
        } else if key::compare(self.key(), target) == Ordering::Greater {
            self.prev()
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! A vector-backed iterator for testing the merge and user iterators alone.

    use super::*;
    use crate::Error;

    /// An in-memory source, optionally failing after a number of steps.
    pub(crate) struct VecIter {
        pub(crate) entries: Vec<(Bytes, Bytes)>,
        pub(crate) pos: Option<usize>,
        pub(crate) fail_after: Option<usize>,
    }

    impl VecIter {
        pub(crate) fn new(mut entries: Vec<(Bytes, Bytes)>) -> Self {
            entries.sort_by(|a, b| key::compare(&a.0, &b.0));
            VecIter {
                entries,
                pos: None,
                fail_after: None,
            }
        }

        fn step(&mut self) -> Result<()> {
            if let Some(n) = self.fail_after.as_mut() {
                if *n == 0 {
                    self.pos = None;
                    return Err(Error::corruption("vec", 0, "injected"));
                }
                *n -= 1;
            }
            Ok(())
        }
    }

    impl InternalIterator for VecIter {
        fn valid(&self) -> bool {
            self.pos.is_some()
        }
        fn key(&self) -> &[u8] {
            &self.entries[self.pos.unwrap_or(0)].0
        }
        fn value(&self) -> Bytes {
            self.entries[self.pos.unwrap_or(0)].1.clone()
        }
        fn value_ref(&self) -> &[u8] {
            &self.entries[self.pos.unwrap_or(0)].1
        }
        fn seek(&mut self, target: &[u8]) -> Result<()> {
            self.step()?;
            let i = self
                .entries
                .partition_point(|(k, _)| key::compare(k, target) == Ordering::Less);
            self.pos = (i < self.entries.len()).then_some(i);
            Ok(())
        }
        fn seek_to_first(&mut self) -> Result<()> {
            self.step()?;
            self.pos = (!self.entries.is_empty()).then_some(0);
            Ok(())
        }
        fn seek_to_last(&mut self) -> Result<()> {
            self.step()?;
            self.pos = self.entries.len().checked_sub(1);
            Ok(())
        }
        fn next(&mut self) -> Result<()> {
            self.step()?;
            self.pos = self.pos.map(|p| p + 1).filter(|&p| p < self.entries.len());
            Ok(())
        }
        fn prev(&mut self) -> Result<()> {
            self.step()?;
            self.pos = self.pos.and_then(|p| p.checked_sub(1));
            Ok(())
        }
    }
}
