//! Choosing the next compaction: a pure function of the current version, the configuration and
//! what is already being compacted, so it is tested without I/O.
//!
//! Each level gets a score: level 0 by file count (`files / level0_trigger`), level `n >= 1` by
//! size (`bytes / target(n)`, with `target(1) = level_base_bytes` and each level
//! `level_multiplier` times the one above). The level with the highest score `>= 1` is
//! compacted into the next one:
//! - level 0: all its files (they overlap each other) plus the overlapping files of level 1;
//! - level n: one file, taken round-robin after the last key compacted at that level (so the
//!   whole key space is cycled through), plus the overlapping files of level n+1.
//!
//! When the chosen inputs do not overlap each other and have nothing to merge with in the next
//! level, they are *moved* (a manifest edit; no I/O) — sequential loads never rewrite data.

use crate::version::{LiveTable, Version, NUM_LEVELS};
use std::collections::HashSet;
use std::sync::Arc;

/// The picker's configuration.
#[derive(Debug, Clone)]
pub(crate) struct PickerConfig {
    pub(crate) level0_trigger: usize,
    pub(crate) level_base_bytes: u64,
    pub(crate) level_multiplier: u64,
}

impl PickerConfig {
    /// The picker's part of the database options.
    pub(crate) fn from_options(o: &crate::Options) -> Self {
        PickerConfig {
            level0_trigger: o.level0_compaction_trigger,
            level_base_bytes: o.level_base_bytes,
            level_multiplier: o.level_multiplier,
        }
    }

    /// Target size of `level` (>= 1).
    pub(crate) fn target_bytes(&self, level: usize) -> u64 {
        let mut t = self.level_base_bytes;
        for _ in 1..level {
            t = t.saturating_mul(self.level_multiplier);
        }
        t
    }
}

/// A chosen compaction.
#[derive(Clone)]
pub(crate) struct Plan {
    /// The keyspace whose tree this compacts (set by the caller; the picker sees one tree).
    pub(crate) keyspace: u32,
    pub(crate) level: usize,
    pub(crate) output_level: usize,
    /// Files from `level`.
    pub(crate) inputs: Vec<Arc<LiveTable>>,
    /// Overlapping files from `output_level`.
    pub(crate) next_inputs: Vec<Arc<LiveTable>>,
    /// Move the single input down instead of rewriting it.
    pub(crate) trivial_move: bool,
}

impl Plan {
    /// Every input file's number.
    pub(crate) fn file_numbers(&self) -> impl Iterator<Item = u64> + '_ {
        self.inputs
            .iter()
            .chain(&self.next_inputs)
            .map(|f| f.meta.number)
    }

    /// The manifest deletions of every input, as (keyspace, level, file number).
    pub(crate) fn deletions(&self) -> impl Iterator<Item = (u32, usize, u64)> + '_ {
        let ks = self.keyspace;
        let at = move |level: usize| move |f: &Arc<LiveTable>| (ks, level, f.meta.number);
        self.inputs
            .iter()
            .map(at(self.level))
            .chain(self.next_inputs.iter().map(at(self.output_level)))
    }

    /// Bytes of input.
    pub(crate) fn input_bytes(&self) -> u64 {
        self.inputs
            .iter()
            .chain(&self.next_inputs)
            .map(|f| f.meta.size)
            .sum()
    }
}

/// Per-level scores; index 0 is level 0. The last level has none (score 0).
pub(crate) fn scores(version: &Version, cfg: &PickerConfig, busy: &HashSet<u64>) -> Vec<f64> {
    let mut scores = vec![0.0; NUM_LEVELS];
    let idle_l0 = version.levels[0]
        .iter()
        .filter(|f| !busy.contains(&f.meta.number))
        .count();
    scores[0] = idle_l0 as f64 / cfg.level0_trigger.max(1) as f64;
    for (level, score) in scores.iter_mut().enumerate().take(NUM_LEVELS - 1).skip(1) {
        let idle: u64 = version.levels[level]
            .iter()
            .filter(|f| !busy.contains(&f.meta.number))
            .map(|f| f.meta.size)
            .sum();
        *score = idle as f64 / cfg.target_bytes(level).max(1) as f64;
    }
    scores
}

/// An estimate of the bytes compaction must rewrite to bring every level within its target.
pub(crate) fn pending_bytes(version: &Version, cfg: &PickerConfig) -> u64 {
    let mut pending = 0;
    if version.levels[0].len() >= cfg.level0_trigger {
        pending += version.level_bytes(0) + version.level_bytes(1);
    }
    for level in 1..NUM_LEVELS - 1 {
        let excess = version
            .level_bytes(level)
            .saturating_sub(cfg.target_bytes(level));
        // Moving a byte down rewrites about `multiplier` bytes of the level below.
        pending += excess.saturating_mul(cfg.level_multiplier + 1);
    }
    pending
}

/// The most needed compaction, if any level's score is at least 1 and its inputs are free.
/// `pointers[level]` is the largest user key last compacted at that level.
pub(crate) fn pick(
    version: &Version,
    cfg: &PickerConfig,
    busy: &HashSet<u64>,
    pointers: &[Option<Vec<u8>>],
) -> Option<Plan> {
    let scores = scores(version, cfg, busy);
    let mut order: Vec<usize> = (0..NUM_LEVELS - 1).filter(|&l| scores[l] >= 1.0).collect();
    order.sort_by(|a, b| scores[*b].total_cmp(&scores[*a]));
    order
        .into_iter()
        .find_map(|level| pick_at(version, level, busy, pointers))
}

/// A compaction of `level` into the next, if its inputs are free.
fn pick_at(
    version: &Version,
    level: usize,
    busy: &HashSet<u64>,
    pointers: &[Option<Vec<u8>>],
) -> Option<Plan> {
    let is_busy = |f: &Arc<LiveTable>| busy.contains(&f.meta.number);
    let inputs: Vec<Arc<LiveTable>> = if level == 0 {
        if version.levels[0].is_empty() || version.levels[0].iter().any(is_busy) {
            return None;
        }
        version.levels[0].clone()
    } else {
        let files = &version.levels[level];
        let start = pointers.get(level).and_then(Option::as_ref).map_or(0, |p| {
            files.partition_point(|f| f.meta.largest_user_key() <= &p[..])
        });
        let candidates = files[start..].iter().chain(&files[..start]);
        let mut chosen = None;
        for f in candidates {
            if is_busy(f) {
                continue;
            }
            let next = version.overlapping(
                level + 1,
                Some(f.meta.smallest_user_key()),
                Some(f.meta.largest_user_key()),
            );
            if next.iter().any(is_busy) {
                continue;
            }
            chosen = Some(f.clone());
            break;
        }
        vec![chosen?]
    };
    plan_for(version, level, inputs, busy)
}

/// Whether the files' user-key ranges are pairwise disjoint (so they can sit in one level).
fn disjoint(files: &[Arc<LiveTable>]) -> bool {
    let mut sorted: Vec<&Arc<LiveTable>> = files.iter().collect();
    sorted.sort_by(|a, b| a.meta.smallest_user_key().cmp(b.meta.smallest_user_key()));
    sorted
        .windows(2)
        .all(|w| w[0].meta.largest_user_key() < w[1].meta.smallest_user_key())
}

/// Completes a plan: finds the overlapping files of the next level and decides on a move.
pub(crate) fn plan_for(
    version: &Version,
    level: usize,
    inputs: Vec<Arc<LiveTable>>,
    busy: &HashSet<u64>,
) -> Option<Plan> {
    let lo = inputs.iter().map(|f| f.meta.smallest_user_key()).min()?;
    let hi = inputs.iter().map(|f| f.meta.largest_user_key()).max()?;
    let next_inputs = version.overlapping(level + 1, Some(lo), Some(hi));
    if next_inputs.iter().any(|f| busy.contains(&f.meta.number)) {
        return None;
    }
    let trivial_move = next_inputs.is_empty() && disjoint(&inputs);
    Some(Plan {
        keyspace: 0,
        level,
        output_level: level + 1,
        inputs,
        next_inputs,
        trivial_move,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::{FileSystem, MemFs};
    use crate::key::{encode, Kind};
    use crate::sstable::{BlockCache, Table, TableBuilder, TableBuilderOptions};
    use crate::version::FileMeta;
    use std::path::Path;

    /// A real (tiny) table covering user keys `lo..=hi`, claiming `size` bytes.
    fn file(number: u64, lo: &str, hi: &str, size: u64) -> Arc<LiveTable> {
        let fs = MemFs::new();
        let dir = Path::new("/p");
        fs.create_dir_all(dir).unwrap();
        let path = dir.join(format!("{number}.sst"));
        let opts = TableBuilderOptions {
            block_size: 4096,
            restart_interval: 16,
            compression: crate::Compression::None,
            bloom_bits_per_key: 10,
        };
        let mut b = TableBuilder::new(fs.create(&path).unwrap(), path.clone(), opts).unwrap();
        b.add(&encode(lo.as_bytes(), number, Kind::Put), b"")
            .unwrap();
        if hi != lo {
            b.add(&encode(hi.as_bytes(), number, Kind::Put), b"")
                .unwrap();
        }
        b.finish().unwrap();
        let table = Table::open(
            fs.open(&path).unwrap(),
            path,
            number,
            Arc::new(BlockCache::new(0)),
        )
        .unwrap();
        Arc::new(LiveTable {
            meta: FileMeta {
                number,
                size,
                smallest: encode(lo.as_bytes(), number, Kind::Put),
                largest: encode(hi.as_bytes(), number, Kind::Put),
                smallest_seq: number,
                largest_seq: number,
            },
            table: Arc::new(table),
        })
    }

    fn cfg() -> PickerConfig {
        PickerConfig {
            level0_trigger: 4,
            level_base_bytes: 1000,
            level_multiplier: 10,
        }
    }

    #[test]
    fn nothing_to_do_below_the_triggers() {
        let v = Version::empty()
            .with_file(0, file(1, "a", "z", 10))
            .with_file(1, file(2, "a", "m", 500));
        assert!(pick(&v, &cfg(), &HashSet::new(), &[]).is_none());
    }

    #[test]
    fn level0_at_trigger_compacts_all_level0_files_with_overlapping_level1() {
        let mut v = Version::empty();
        for n in 1..=4 {
            v = v.with_file(0, file(n, "c", "f", 10));
        }
        v = v
            .with_file(1, file(10, "a", "b", 10))
            .with_file(1, file(11, "d", "e", 10))
            .with_file(1, file(12, "x", "y", 10));
        let plan = pick(&v, &cfg(), &HashSet::new(), &[]).unwrap();
        assert_eq!((plan.level, plan.output_level), (0, 1));
        assert_eq!(plan.inputs.len(), 4);
        assert_eq!(
            plan.next_inputs
                .iter()
                .map(|f| f.meta.number)
                .collect::<Vec<_>>(),
            [11]
        );
        assert!(!plan.trivial_move);
        // Busy inputs block it.
        let busy: HashSet<u64> = [11].into();
        assert!(pick(&v, &cfg(), &busy, &[]).is_none());
    }

    #[test]
    fn oversized_level_picks_round_robin_and_moves_when_nothing_overlaps() {
        let v = Version::empty()
            .with_file(1, file(1, "a", "c", 600))
            .with_file(1, file(2, "d", "f", 600))
            .with_file(2, file(3, "a", "b", 10));
        let plan = pick(&v, &cfg(), &HashSet::new(), &[]).unwrap();
        assert_eq!(plan.inputs[0].meta.number, 1);
        assert_eq!(plan.next_inputs.len(), 1);
        // After compacting up to "c", the next pick starts after it: file 2, a trivial move.
        let pointers = vec![None, Some(b"c".to_vec())];
        let plan = pick(&v, &cfg(), &HashSet::new(), &pointers).unwrap();
        assert_eq!(plan.inputs[0].meta.number, 2);
        assert!(plan.trivial_move);
    }

    #[test]
    fn highest_score_wins() {
        let mut v = Version::empty();
        for n in 1..=4 {
            v = v.with_file(0, file(n, "a", "b", 1));
        }
        v = v.with_file(1, file(9, "k", "l", 5000)); // score 5 vs level 0's 1
        let plan = pick(&v, &cfg(), &HashSet::new(), &[]).unwrap();
        assert_eq!(plan.level, 1);
        assert!(pending_bytes(&v, &cfg()) > 0);
    }
}
