//! User-facing iteration: [`Cursor`] (seek and step both ways) and [`DbIter`] (a Rust
//! iterator over a range, double-ended).
//!
//! Both read at a fixed sequence number over a fixed [`ReadView`], so they see a consistent
//! snapshot however long they live, and they own everything they use (no borrows of the `Db`).

use super::ReadView;
use crate::iter::{InternalIterator, LevelIter, MergingIterator};
use crate::key::{self, Kind, MAX_SEQUENCE};
use crate::{Error, Result};
use bytes::Bytes;
use std::cmp::Ordering;
use std::ops::{Bound, RangeBounds};
use std::sync::Arc;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Direction {
    /// The internal iterator is at the newest visible entry of the current key.
    Forward,
    /// The internal iterator is just before all entries of the current key.
    Reverse,
}

/// A cursor over user keys at a snapshot, limited to a range.
///
/// ```
/// # let dir = tempfile::tempdir().unwrap();
/// # let db = strata_engine::Db::open(dir.path(), Default::default()).unwrap();
/// for k in ["a", "c", "e"] { db.put(k, k)?; }
/// let mut c = db.cursor();
/// c.seek("b")?;
/// assert_eq!(c.key(), Some(&b"c"[..]));
/// c.prev()?;
/// assert_eq!(c.key(), Some(&b"a"[..]));
/// c.seek_for_prev("d")?;
/// assert_eq!(c.value(), Some(&b"c"[..]));
/// # Ok::<(), strata_engine::Error>(())
/// ```
pub struct Cursor {
    iter: MergingIterator,
    /// Set when the keyspace was not live when the cursor was made: every seek fails with it.
    missing: Option<Arc<str>>,
    read_seq: u64,
    lower: Bound<Bytes>,
    upper: Bound<Bytes>,
    direction: Direction,
    valid: bool,
    key: Vec<u8>,
    /// The current value when going backwards (the internal iterator has moved past the
    /// key's entries). Going forwards the internal iterator sits at the current entry
    /// ([`Direction::Forward`]), and the value is read from it there: no copy per step.
    value: Bytes,
    /// The key a forward step is leaving (its older versions are skipped), kept to reuse its
    /// allocation: a step then allocates nothing.
    passed: Vec<u8>,
}

fn owned(b: Bound<&impl AsRef<[u8]>>) -> Bound<Bytes> {
    match b {
        Bound::Included(k) => Bound::Included(Bytes::copy_from_slice(k.as_ref())),
        Bound::Excluded(k) => Bound::Excluded(Bytes::copy_from_slice(k.as_ref())),
        Bound::Unbounded => Bound::Unbounded,
    }
}

impl Cursor {
    /// A cursor over keyspace `ks` (named `name`, for errors) in `view`.
    pub(crate) fn new<K: AsRef<[u8]>>(
        view: &ReadView,
        (ks, name): (u32, &Arc<str>),
        read_seq: u64,
        range: impl RangeBounds<K>,
    ) -> Cursor {
        let mut children: Vec<Box<dyn InternalIterator>> = Vec::new();
        let tree = view.tree(ks);
        let missing = tree.is_none().then(|| name.clone());
        let (mems, version) = match tree {
            Some((mems, version)) => (mems, version.levels.as_slice()),
            None => (Vec::new(), &[][..]),
        };
        for mem in mems {
            children.push(Box::new(mem.iter_at(read_seq)));
        }
        // Level 0 files overlap: one child each. Deeper levels are sorted and disjoint: one
        // child per level, opening a single file at a time.
        for (level, files) in version.iter().enumerate() {
            if level == 0 {
                for f in files {
                    children.push(Box::new(f.table.iter()));
                }
            } else if !files.is_empty() {
                children.push(Box::new(LevelIter::new(files.clone())));
            }
        }
        Cursor {
            iter: MergingIterator::new(children),
            missing,
            read_seq,
            lower: owned(range.start_bound()),
            upper: owned(range.end_bound()),
            direction: Direction::Forward,
            valid: false,
            key: Vec::new(),
            value: Bytes::new(),
            passed: Vec::new(),
        }
    }

    /// Whether the cursor is at an entry.
    pub fn valid(&self) -> bool {
        self.valid
    }

    /// The current key, if the cursor is at an entry.
    pub fn key(&self) -> Option<&[u8]> {
        self.valid.then_some(&self.key[..])
    }

    /// The current value, if the cursor is at an entry: borrowed, valid until the cursor
    /// moves.
    pub fn value(&self) -> Option<&[u8]> {
        self.valid.then(|| match self.direction {
            Direction::Forward => self.iter.value_ref(),
            Direction::Reverse => &self.value[..],
        })
    }

    /// The current value as owned bytes, which the caller may keep: shared with a table
    /// block, or a copy of a small value in a memtable (so that keeping it does not keep the
    /// memtable's arena alive).
    pub fn value_bytes(&self) -> Option<Bytes> {
        self.valid.then(|| match self.direction {
            Direction::Forward => self.iter.value(),
            Direction::Reverse => self.value.clone(),
        })
    }

    /// The current value as owned bytes shared with wherever it lies — a table block, or a
    /// memtable's arena chunk (up to 1 MiB), which stays alive while the value is held. For
    /// values kept briefly, such as a page serialized and dropped; [`Cursor::value_bytes`]
    /// copies small memtable values instead.
    pub fn value_pinned(&self) -> Option<Bytes> {
        self.valid.then(|| match self.direction {
            Direction::Forward => self.iter.value_pinned(),
            Direction::Reverse => self.value.clone(),
        })
    }

    fn above_upper(&self, user_key: &[u8]) -> bool {
        match &self.upper {
            Bound::Included(u) => user_key > &u[..],
            Bound::Excluded(u) => user_key >= &u[..],
            Bound::Unbounded => false,
        }
    }

    fn below_lower(&self, user_key: &[u8]) -> bool {
        match &self.lower {
            Bound::Included(l) => user_key < &l[..],
            Bound::Excluded(l) => user_key <= &l[..],
            Bound::Unbounded => false,
        }
    }

    fn fail(&mut self, e: Error) -> Result<()> {
        self.valid = false;
        Err(e)
    }

    /// Fails if the cursor's keyspace did not exist when it was made.
    fn check_keyspace(&self) -> Result<()> {
        match &self.missing {
            Some(name) => Err(Error::KeyspaceNotFound {
                name: name.to_string(),
            }),
            None => Ok(()),
        }
    }

    /// Moves to the first key in range.
    pub fn seek_to_first(&mut self) -> Result<()> {
        self.check_keyspace()?;
        match self.lower.clone() {
            Bound::Included(l) => self.seek(l),
            Bound::Excluded(l) => {
                let target = key::encode(&l, 0, Kind::Delete);
                self.seek_internal(&target)
            }
            Bound::Unbounded => {
                let r = self.iter.seek_to_first();
                self.after_forward_seek(r)
            }
        }
    }

    /// Moves to the last key in range.
    pub fn seek_to_last(&mut self) -> Result<()> {
        self.check_keyspace()?;
        match self.upper.clone() {
            Bound::Included(u) => self.seek_for_prev(u),
            Bound::Excluded(u) => {
                // Lands before every entry of `u`.
                let target = key::encode(&u, MAX_SEQUENCE, Kind::SEEK);
                let r = self.iter.seek_for_prev(&target);
                self.after_reverse_seek(r)
            }
            Bound::Unbounded => {
                let r = self.iter.seek_to_last();
                self.after_reverse_seek(r)
            }
        }
    }

    /// Moves to the first key `>= key` (within the range).
    pub fn seek(&mut self, key: impl AsRef<[u8]>) -> Result<()> {
        self.check_keyspace()?;
        let k = key.as_ref();
        if self.below_lower(k) {
            return self.seek_to_first();
        }
        let target = key::encode(k, MAX_SEQUENCE, Kind::SEEK);
        self.seek_internal(&target)
    }

    fn seek_internal(&mut self, target: &[u8]) -> Result<()> {
        let r = self.iter.seek(target);
        self.after_forward_seek(r)
    }

    fn after_forward_seek(&mut self, r: Result<()>) -> Result<()> {
        if let Err(e) = r {
            return self.fail(e);
        }
        self.direction = Direction::Forward;
        self.find_next(false)
    }

    /// Moves to the last key `<= key` (within the range).
    pub fn seek_for_prev(&mut self, key: impl AsRef<[u8]>) -> Result<()> {
        self.check_keyspace()?;
        let k = key.as_ref();
        if self.above_upper(k) {
            return self.seek_to_last();
        }
        // Lands after every entry of `k`: at its oldest version or before.
        let target = key::encode(k, 0, Kind::Delete);
        let r = self.iter.seek_for_prev(&target);
        self.after_reverse_seek(r)
    }

    fn after_reverse_seek(&mut self, r: Result<()>) -> Result<()> {
        if let Err(e) = r {
            return self.fail(e);
        }
        self.direction = Direction::Reverse;
        self.find_prev()
    }

    /// Moves to the next key.
    #[allow(
        clippy::should_implement_trait,
        reason = "a cursor step, as in RocksDB and LevelDB; DbIter is the Iterator"
    )]
    pub fn next(&mut self) -> Result<()> {
        if !self.valid {
            return Ok(());
        }
        std::mem::swap(&mut self.key, &mut self.passed);
        if self.direction == Direction::Reverse {
            // Re-position at the first entry of the current key.
            let target = key::encode(&self.passed, MAX_SEQUENCE, Kind::SEEK);
            if let Err(e) = self.iter.seek(&target) {
                return self.fail(e);
            }
            self.direction = Direction::Forward;
        }
        self.find_next(true)
    }

    /// Moves to the previous key.
    pub fn prev(&mut self) -> Result<()> {
        if !self.valid {
            return Ok(());
        }
        if self.direction == Direction::Forward {
            // Re-position just before every entry of the current key.
            let target = key::encode(&self.key, MAX_SEQUENCE, Kind::SEEK);
            if let Err(e) = self.iter.seek_for_prev(&target) {
                return self.fail(e);
            }
            // seek_for_prev lands at the last entry <= target; target itself is never stored
            // (no write has the maximum sequence number), so this is before the current key.
            self.direction = Direction::Reverse;
        }
        self.find_prev()
    }

    /// Forward: finds the next user key with a visible value; with `skip`, passing over the
    /// versions of `self.passed` and anything below it.
    fn find_next(&mut self, mut skip: bool) -> Result<()> {
        loop {
            if !self.iter.valid() {
                self.valid = false;
                return Ok(());
            }
            let ikey = self.iter.key();
            let uk = key::user_key(ikey);
            if key::seq_of(ikey) > self.read_seq || (skip && uk <= &self.passed[..]) {
                if let Err(e) = self.iter.next() {
                    return self.fail(e);
                }
                continue;
            }
            if self.above_upper(uk) {
                self.valid = false;
                return Ok(());
            }
            match key::kind_of(ikey) {
                Some(Kind::Put) => {
                    self.key.clear();
                    self.key.extend_from_slice(uk);
                    self.valid = true;
                    return Ok(());
                }
                _ => {
                    self.passed.clear();
                    self.passed.extend_from_slice(uk);
                    skip = true;
                    if let Err(e) = self.iter.next() {
                        return self.fail(e);
                    }
                }
            }
        }
    }

    /// Reverse: going backwards, versions of a key come oldest first, so the scan keeps the
    /// latest visible version seen for the key and stops when it reaches a smaller key.
    fn find_prev(&mut self) -> Result<()> {
        let mut found = false;
        self.key.clear();
        while self.iter.valid() {
            let ikey = self.iter.key();
            let uk = key::user_key(ikey);
            if key::seq_of(ikey) <= self.read_seq {
                if found && uk.cmp(&self.key[..]) == Ordering::Less {
                    break;
                }
                if self.below_lower(uk) {
                    break;
                }
                match key::kind_of(ikey) {
                    Some(Kind::Put) => {
                        if !found || uk != &self.key[..] {
                            self.key.clear();
                            self.key.extend_from_slice(uk);
                        }
                        self.value = self.iter.value();
                        found = true;
                    }
                    _ => {
                        found = false;
                        self.key.clear();
                    }
                }
            }
            if let Err(e) = self.iter.prev() {
                return self.fail(e);
            }
        }
        if found && self.above_upper(&self.key) {
            found = false;
        }
        self.valid = found;
        Ok(())
    }
}

/// An iterator over `(key, value)` pairs in a range, at a snapshot; `.rev()` walks it backwards,
/// and both ends may be used together (they never cross). The first error is returned as an
/// item, after which the iterator ends.
pub struct DbIter {
    view: Arc<ReadView>,
    keyspace: (u32, Arc<str>),
    read_seq: u64,
    lower: Bound<Bytes>,
    upper: Bound<Bytes>,
    front: Option<Cursor>,
    back: Option<Cursor>,
    done: bool,
}

impl DbIter {
    pub(crate) fn new<K: AsRef<[u8]>>(
        view: Arc<ReadView>,
        keyspace: (u32, Arc<str>),
        read_seq: u64,
        range: impl RangeBounds<K>,
    ) -> DbIter {
        DbIter {
            view,
            keyspace,
            read_seq,
            lower: owned(range.start_bound()),
            upper: owned(range.end_bound()),
            front: None,
            back: None,
            done: false,
        }
    }

    fn cursor(&self) -> Cursor {
        Cursor::new(
            &self.view,
            (self.keyspace.0, &self.keyspace.1),
            self.read_seq,
            (self.lower.clone(), self.upper.clone()),
        )
    }

    /// Yields the entry `from_back`'s cursor is at, unless the two ends have met. Each cursor
    /// stays at the entry it last yielded, so the other end's position is the crossing bound.
    fn finish(&mut self, r: Result<()>, from_back: bool) -> Option<Result<(Bytes, Bytes)>> {
        if let Err(e) = r {
            self.done = true;
            return Some(Err(e));
        }
        let (this, other) = if from_back {
            (self.back.as_ref(), self.front.as_ref())
        } else {
            (self.front.as_ref(), self.back.as_ref())
        };
        let Some(key) = this.and_then(Cursor::key) else {
            self.done = true;
            return None;
        };
        if let Some(other) = other {
            // An exhausted other end has yielded everything on this side too.
            let crossed = match other.key() {
                None => true,
                Some(bound) if from_back => key <= bound,
                Some(bound) => key >= bound,
            };
            if crossed {
                self.done = true;
                return None;
            }
        }
        let key = Bytes::copy_from_slice(key);
        // A backward cursor's copy of the value is not read again (the next step replaces
        // it): hand it over rather than clone it (a shared, atomically counted reference).
        let this = if from_back {
            self.back.as_mut()
        } else {
            self.front.as_mut()
        };
        let value = this
            .map(|c| match c.direction {
                Direction::Forward => c.iter.value(),
                Direction::Reverse => std::mem::take(&mut c.value),
            })
            .unwrap_or_default();
        Some(Ok((key, value)))
    }
}

impl Iterator for DbIter {
    type Item = Result<(Bytes, Bytes)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let r = match self.front.as_mut() {
            Some(c) => c.next(),
            None => {
                let mut c = self.cursor();
                let r = c.seek_to_first();
                self.front = Some(c);
                r
            }
        };
        self.finish(r, false)
    }
}

impl DoubleEndedIterator for DbIter {
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let r = match self.back.as_mut() {
            Some(c) => c.prev(),
            None => {
                let mut c = self.cursor();
                let r = c.seek_to_last();
                self.back = Some(c);
                r
            }
        };
        self.finish(r, true)
    }
}

impl std::iter::FusedIterator for DbIter {}
