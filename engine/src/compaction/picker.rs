//! Choosing the next compaction: a pure function of the current version, the configuration and
//! what is already being compacted, so it is tested without I/O.
//!
//! Level sizes are *dynamic* (RocksDB's `level_compaction_dynamic_level_bytes`, its default):
//! the last level holds most of the data and the targets are derived from its actual size,
//! each level `level_multiplier` times smaller than the one below, none below
//! `level_base_bytes`. Level 0 compacts into the *base level*: the highest level whose target
//! is still at least `level_base_bytes / level_multiplier`; the levels above it stay empty.
//! While the tree is small, level 0 compacts straight into the last level, so data is
//! rewritten once per level that actually has to exist, and about 90% of the data always
//! sits in the last level (space amplification near 1.1 at worst). See [`LevelTargets`].
//!
//! Each level gets a score: level 0 by file count (`files / level0_trigger`), level `n >= 1` by
//! size (`bytes / target(n)`). The level with the highest score `>= 1` is compacted into the
//! next one:
//! - level 0: all its files (they overlap each other) plus the overlapping files of the base
//!   level;
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
}

/// Where level 0 compacts to and how large each level may grow, for one version.
///
/// Invariant: every level from 1 to `base_level - 1` is empty, so moving level-0 data straight
/// into the base level never puts newer data below older data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LevelTargets {
    /// The level level 0 compacts into (1 ..= the last level).
    pub(crate) base_level: usize,
    /// Target bytes per level; `u64::MAX` for level 0, the levels above the base and the
    /// last level (which has no target: it holds what there is).
    pub(crate) bytes: [u64; NUM_LEVELS],
}

impl LevelTargets {
    /// RocksDB's dynamic level sizing (`CalculateBaseBytes`): the largest level's size divided
    /// by the multiplier once per level above it gives the target of the first non-empty
    /// level; if that exceeds `level_base_bytes`, the base moves up a level (dividing again)
    /// until it fits, so the base level's target lies between `level_base_bytes /
    /// multiplier` and `level_base_bytes`. Each level below the base targets `multiplier`
    /// times the one above, never less than `level_base_bytes` (a tree shaped like an
    /// hourglass would starve level 0 of compactions).
    pub(crate) fn compute(version: &Version, cfg: &PickerConfig) -> Self {
        let last = NUM_LEVELS - 1;
        let mult = cfg.level_multiplier.max(2);
        let base_max = cfg.level_base_bytes.max(1);
        let mut bytes = [u64::MAX; NUM_LEVELS];
        let first_non_empty = (1..NUM_LEVELS).find(|&l| !version.levels[l].is_empty());
        let Some(first_non_empty) = first_non_empty else {
            // Nothing below level 0 yet: it compacts straight into the last level.
            return LevelTargets {
                base_level: last,
                bytes,
            };
        };
        let largest = (1..NUM_LEVELS)
            .map(|l| version.level_bytes(l))
            .max()
            .unwrap_or(0);
        let mut size = largest;
        for _ in first_non_empty..last {
            size /= mult;
        }
        let mut base_level = first_non_empty;
        let base_size = if size <= base_max / mult {
            // More levels than the data needs: the first non-empty one stays the base.
            base_max / mult + 1
        } else {
            while base_level > 1 && size > base_max {
                base_level -= 1;
                size /= mult;
            }
            size.clamp(1, base_max)
        };
        let mut level_size = base_size;
        for (level, target) in bytes.iter_mut().enumerate().take(last).skip(base_level) {
            if level > base_level {
                level_size = level_size.saturating_mul(mult);
            }
            *target = level_size.max(base_max);
        }
        LevelTargets { base_level, bytes }
    }

    /// The level compaction of `level` writes into.
    pub(crate) fn output_level(&self, level: usize) -> usize {
        if level == 0 {
            self.base_level
        } else {
            level + 1
        }
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
    let targets = LevelTargets::compute(version, cfg);
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
        *score = idle as f64 / targets.bytes[level] as f64;
    }
    scores
}

/// An estimate of the bytes compaction must rewrite to bring every level within its target.
pub(crate) fn pending_bytes(version: &Version, cfg: &PickerConfig) -> u64 {
    let targets = LevelTargets::compute(version, cfg);
    let mut pending = 0;
    if version.levels[0].len() >= cfg.level0_trigger {
        pending += version.level_bytes(0) + version.level_bytes(targets.base_level);
    }
    for level in 1..NUM_LEVELS - 1 {
        let excess = version
            .level_bytes(level)
            .saturating_sub(targets.bytes[level]);
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
    let targets = LevelTargets::compute(version, cfg);
    order
        .into_iter()
        .find_map(|level| pick_at(version, level, targets.output_level(level), busy, pointers))
}

/// A compaction of `level` into `output_level`, if its inputs are free.
fn pick_at(
    version: &Version,
    level: usize,
    output_level: usize,
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
                output_level,
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
    plan_for(version, level, output_level, inputs, busy)
}

/// Whether the files' user-key ranges are pairwise disjoint (so they can sit in one level).
fn disjoint(files: &[Arc<LiveTable>]) -> bool {
    let mut sorted: Vec<&Arc<LiveTable>> = files.iter().collect();
    sorted.sort_by(|a, b| a.meta.smallest_user_key().cmp(b.meta.smallest_user_key()));
    sorted
        .windows(2)
        .all(|w| w[0].meta.largest_user_key() < w[1].meta.smallest_user_key())
}

/// Completes a plan: finds the overlapping files of `output_level` and decides on a move.
/// The levels between `level` and `output_level` must be empty.
pub(crate) fn plan_for(
    version: &Version,
    level: usize,
    output_level: usize,
    inputs: Vec<Arc<LiveTable>>,
    busy: &HashSet<u64>,
) -> Option<Plan> {
    let lo = inputs.iter().map(|f| f.meta.smallest_user_key()).min()?;
    let hi = inputs.iter().map(|f| f.meta.largest_user_key()).max()?;
    debug_assert!((level + 1..output_level).all(|l| version.levels[l].is_empty()));
    let next_inputs = version.overlapping(output_level, Some(lo), Some(hi));
    if next_inputs.iter().any(|f| busy.contains(&f.meta.number)) {
        return None;
    }
    let trivial_move = next_inputs.is_empty() && disjoint(&inputs);
    Some(Plan {
        keyspace: 0,
        level,
        output_level,
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

    #[test]
    fn level0_compacts_straight_into_the_last_level_of_a_small_tree() {
        let mut v = Version::empty();
        for n in 1..=4 {
            v = v.with_file(0, file(n, "a", "z", 10));
        }
        let plan = pick(&v, &cfg(), &HashSet::new(), &[]).unwrap();
        assert_eq!((plan.level, plan.output_level), (0, NUM_LEVELS - 1));
        // Small data in the last level keeps it the base level.
        let v = v.with_file(NUM_LEVELS - 1, file(9, "b", "c", 90));
        let plan = pick(&v, &cfg(), &HashSet::new(), &[]).unwrap();
        assert_eq!(plan.output_level, NUM_LEVELS - 1);
        assert_eq!(plan.next_inputs.len(), 1);
    }

    #[test]
    fn the_base_level_rises_one_level_per_multiplier_of_data() {
        let last = NUM_LEVELS - 1;
        // (bytes in the last level, expected base level)
        let cases = [
            (50, last),
            (1_000, last),
            (1_001, last - 1),
            (10_009, last - 1),
            (10_010, last - 2),
            (100_099, last - 2),
            (100_100, last - 3),
            (100_000_000_000, 1),
        ];
        for (size, base) in cases {
            let v = Version::empty().with_file(last, file(1, "a", "z", size));
            let t = LevelTargets::compute(&v, &cfg());
            assert_eq!(t.base_level, base, "{size} bytes");
            // Targets grow down the tree, none below level_base_bytes, and the base level's
            // is at most level_base_bytes unless the data forces level 1 past it.
            for l in base..last - 1 {
                assert!(t.bytes[l] <= t.bytes[l + 1], "{size} bytes: {t:?}");
            }
            assert!(t.bytes[base..last].iter().all(|&b| b >= 1_000), "{t:?}");
            assert!(t.bytes[1..base].iter().all(|&b| b == u64::MAX), "{t:?}");
            if base > 1 && base < last {
                assert_eq!(t.bytes[base], 1_000, "{size} bytes: {t:?}");
            }
            // The level above the last targets about a tenth of it (when that exceeds the
            // floor), so about 90% of the data sits in the last level — unless the tree has
            // run out of levels (base level 1).
            if base > 1 && base < last {
                let above = t.bytes[last - 1];
                assert!(
                    above == 1_000 || above.abs_diff(size / 10) <= size / 100,
                    "{t:?}"
                );
            }
        }
    }

    #[test]
    fn the_base_level_never_sits_below_data() {
        // Level 2 holds data: level 0 may not skip past it, however small the tree.
        let mut v = Version::empty().with_file(2, file(20, "a", "z", 10));
        for n in 1..=4 {
            v = v.with_file(0, file(n, "a", "z", 10));
        }
        let t = LevelTargets::compute(&v, &cfg());
        assert_eq!(t.base_level, 2);
        let plan = pick(&v, &cfg(), &HashSet::new(), &[]).unwrap();
        assert_eq!((plan.level, plan.output_level), (0, 2));
        assert_eq!(plan.next_inputs[0].meta.number, 20);
    }

    #[test]
    fn an_oversized_base_level_compacts_into_the_level_below() {
        let last = NUM_LEVELS - 1;
        // 20000 bytes in the last level: base is last - 2 (targets 1000, 2000, -).
        let v = Version::empty()
            .with_file(last, file(1, "a", "z", 20_000))
            .with_file(last - 1, file(2, "a", "m", 1_500))
            .with_file(last - 2, file(3, "a", "c", 1_200));
        let t = LevelTargets::compute(&v, &cfg());
        assert_eq!(t.base_level, last - 2);
        let plan = pick(&v, &cfg(), &HashSet::new(), &[]).unwrap();
        assert_eq!((plan.level, plan.output_level), (last - 2, last - 1));
        assert_eq!(plan.next_inputs[0].meta.number, 2);
        assert!(pending_bytes(&v, &cfg()) > 0);
    }
}
