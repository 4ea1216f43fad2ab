//! Merges several sorted sources into one sorted stream.

use super::InternalIterator;
use crate::key;
use crate::Result;
use bytes::Bytes;
use std::cmp::Ordering;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Direction {
    Forward,
    Reverse,
}

/// A merge of sources ordered newest first. The current entry is the smallest key among the
/// children when moving forward and the largest when moving backward; on equal keys the child
/// with the lower index (the newer source) comes first.
///
/// Invariant: moving forward, every non-current child is at its first entry greater than the
/// current key; moving backward, at its last entry smaller than it. Switching direction re-seeks
/// the other children to restore it. Sources are few (memtables, L0 files, one per level), so
/// the minimum is found by a linear scan, as LevelDB does.
///
/// On an error from a child, the merge becomes invalid and returns the error.
pub(crate) struct MergingIterator {
    children: Vec<Box<dyn InternalIterator>>,
    current: Option<usize>,
    direction: Direction,
}

impl MergingIterator {
    /// Merges `children`, newest source first.
    pub(crate) fn new(children: Vec<Box<dyn InternalIterator>>) -> Self {
        MergingIterator {
            children,
            current: None,
            direction: Direction::Forward,
        }
    }

    fn guard(&mut self, r: Result<()>) -> Result<()> {
        if r.is_err() {
            self.current = None;
        }
        r
    }

    fn find_smallest(&mut self) {
        let mut best: Option<usize> = None;
        for (i, child) in self.children.iter().enumerate() {
            if !child.valid() {
                continue;
            }
            best = match best {
                Some(b) if key::compare(child.key(), self.children[b].key()) != Ordering::Less => {
                    Some(b)
                }
                _ => Some(i),
            };
        }
        self.current = best;
    }

    fn find_largest(&mut self) {
        let mut best: Option<usize> = None;
        for (i, child) in self.children.iter().enumerate() {
            if !child.valid() {
                continue;
            }
            best = match best {
                Some(b)
                    if key::compare(child.key(), self.children[b].key()) != Ordering::Greater =>
                {
                    Some(b)
                }
                _ => Some(i),
            };
        }
        self.current = best;
    }

    /// Positions every child with `f`, then picks the current child for `direction`.
    fn position_all(
        &mut self,
        direction: Direction,
        mut f: impl FnMut(&mut dyn InternalIterator) -> Result<()>,
    ) -> Result<()> {
        let r = self.children.iter_mut().try_for_each(|c| f(c.as_mut()));
        self.guard(r)?;
        self.direction = direction;
        match direction {
            Direction::Forward => self.find_smallest(),
            Direction::Reverse => self.find_largest(),
        }
        Ok(())
    }

    /// On a change of direction, moves every child but `cur` to the other side of `cur`'s key
    /// (the first entry after it going forward, the last before it going backward).
    fn turn(&mut self, cur: usize, direction: Direction) -> Result<()> {
        let target = self.children[cur].key().to_vec();
        let r = self
            .children
            .iter_mut()
            .enumerate()
            .filter(|(i, _)| *i != cur)
            .try_for_each(|(_, child)| {
                let forward = direction == Direction::Forward;
                if forward {
                    child.seek(&target)?;
                } else {
                    child.seek_for_prev(&target)?;
                }
                if child.valid() && key::compare(child.key(), &target).is_eq() {
                    if forward {
                        child.next()?;
                    } else {
                        child.prev()?;
                    }
                }
                Ok(())
            });
        self.guard(r)?;
        self.direction = direction;
        Ok(())
    }
}

impl InternalIterator for MergingIterator {
    fn valid(&self) -> bool {
        self.current.is_some()
    }

    fn key(&self) -> &[u8] {
        self.children[self.current.unwrap_or(0)].key()
    }

    fn value(&self) -> Bytes {
        self.children[self.current.unwrap_or(0)].value()
    }

    fn value_ref(&self) -> &[u8] {
        self.children[self.current.unwrap_or(0)].value_ref()
    }

    fn value_pinned(&self) -> Bytes {
        self.children[self.current.unwrap_or(0)].value_pinned()
    }

    fn seek(&mut self, target: &[u8]) -> Result<()> {
        self.position_all(Direction::Forward, |c| c.seek(target))
    }

    fn seek_for_prev(&mut self, target: &[u8]) -> Result<()> {
        self.position_all(Direction::Reverse, |c| c.seek_for_prev(target))
    }

    fn seek_to_first(&mut self) -> Result<()> {
        self.position_all(Direction::Forward, |c| c.seek_to_first())
    }

    fn seek_to_last(&mut self) -> Result<()> {
        self.position_all(Direction::Reverse, |c| c.seek_to_last())
    }

    fn next(&mut self) -> Result<()> {
        let Some(cur) = self.current else {
            return Ok(());
        };
        if self.direction == Direction::Reverse {
            self.turn(cur, Direction::Forward)?;
        }
        let r = self.children[cur].next();
        self.guard(r)?;
        self.find_smallest();
        Ok(())
    }

    fn prev(&mut self) -> Result<()> {
        let Some(cur) = self.current else {
            return Ok(());
        };
        if self.direction == Direction::Forward {
            self.turn(cur, Direction::Reverse)?;
        }
        let r = self.children[cur].prev();
        self.guard(r)?;
        self.find_largest();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::VecIter;
    use super::*;
    use crate::key::{encode, Kind};

    fn source(keys: &[(&str, u64)]) -> Box<dyn InternalIterator> {
        Box::new(VecIter::new(
            keys.iter()
                .map(|(k, s)| {
                    (
                        encode(k.as_bytes(), *s, Kind::Put),
                        Bytes::from(format!("{k}{s}")),
                    )
                })
                .collect(),
        ))
    }

    fn collect_forward(m: &mut MergingIterator) -> Vec<Bytes> {
        let mut out = Vec::new();
        m.seek_to_first().unwrap();
        while m.valid() {
            out.push(m.value());
            m.next().unwrap();
        }
        out
    }

    #[test]
    fn merges_in_order_both_ways_and_switches_direction() {
        let mut m = MergingIterator::new(vec![
            source(&[("b", 9), ("d", 8)]),
            source(&[("a", 3), ("b", 2), ("e", 1)]),
            source(&[("c", 5)]),
        ]);
        let fwd = collect_forward(&mut m);
        assert_eq!(fwd, ["a3", "b9", "b2", "c5", "d8", "e1"]);
        let mut back = Vec::new();
        m.seek_to_last().unwrap();
        while m.valid() {
            back.push(m.value());
            m.prev().unwrap();
        }
        back.reverse();
        assert_eq!(back, fwd);
        // Zig-zag: forward to c, back to b2, forward to c again.
        m.seek(&encode(b"c", 100, Kind::Put)).unwrap();
        assert_eq!(m.value(), "c5");
        m.prev().unwrap();
        assert_eq!(m.value(), "b2");
        m.prev().unwrap();
        assert_eq!(m.value(), "b9");
        m.next().unwrap();
        assert_eq!(m.value(), "b2");
        m.next().unwrap();
        assert_eq!(m.value(), "c5");
    }

    #[test]
    fn a_failing_child_makes_the_merge_return_its_error() {
        let mut failing = VecIter::new(vec![
            (encode(b"a", 1, Kind::Put), Bytes::new()),
            (encode(b"c", 1, Kind::Put), Bytes::new()),
        ]);
        failing.fail_after = Some(1);
        let mut m = MergingIterator::new(vec![Box::new(failing), source(&[("b", 1)])]);
        m.seek_to_first().unwrap();
        // The merge is at "a" from the failing child; stepping it fails.
        assert!(m.next().is_err());
        assert!(!m.valid());
    }
}
