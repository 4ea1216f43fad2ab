//! Leveled compaction: background threads that merge table files down the levels, dropping
//! versions no reader can see and tombstones with nothing beneath them; plus manual range
//! compaction.
//!
//! A compaction is durable before it is visible, like a flush: outputs are written and
//! fsynced, the directory synced, the manifest edit (inputs deleted, outputs added) appended and
//! fsynced, and only then is the new version installed. Input files are deleted when the last
//! reader using them drops them (see `Table::mark_obsolete`); a crash before that leaves them
//! for `open` to delete.
//!
//! What is dropped, for each user key (versions arrive newest first): a version is dropped if
//! the next newer version of the same key is in the same *stripe* — no live snapshot lies
//! between them — since every reader that could see it sees the newer one instead (readers
//! without a snapshot read at or above every input's sequence number, or use the files they
//! pinned); a tombstone at or below the oldest snapshot is dropped if no level below the
//! output holds the key. Output files are split at the target
//! size, but only between user keys, so a key never spans two files of a level.

pub(crate) mod picker;

use crate::db::Inner;
use crate::iter::{InternalIterator, MergingIterator};
use crate::key::{self, Kind};
use crate::manifest::VersionEdit;
use crate::sstable::TableBuilder;
use crate::version::LiveTable;
use crate::{filename, Error, Result};
use picker::Plan;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;

/// Starts `n` compaction threads.
pub(crate) fn spawn(inner: &Arc<Inner>, n: usize) -> Result<Vec<JoinHandle<()>>> {
    (0..n)
        .map(|i| {
            let inner = inner.clone();
            std::thread::Builder::new()
                .name(format!("strata-compact-{i}"))
                .spawn(move || run(&inner))
                .map_err(|e| Error::io("starting a compaction thread", e))
        })
        .collect()
}

fn run(inner: &Inner) {
    loop {
        let generation = {
            let st = inner.state.lock();
            if st.shutting_down {
                return;
            }
            st.generation
        };
        let plan = if inner.state.lock().bg_error.is_some() {
            None
        } else {
            inner.pick_and_reserve()
        };
        match plan {
            Some(plan) => {
                let result = inner.run_compaction(&plan);
                inner.release(&plan);
                match result {
                    // A keyspace dropped mid-compaction is not a failure of the database.
                    Ok(()) | Err(Error::ShuttingDown | Error::KeyspaceNotFound { .. }) => {}
                    Err(e) => inner.set_bg_error(&e),
                }
            }
            None => {
                // Sleep until the version changes (a flush or compaction finished), or shutdown.
                let mut st = inner.state.lock();
                while st.generation == generation && !st.shutting_down {
                    inner.state_cv.wait(&mut st);
                }
            }
        }
    }
}

impl Inner {
    /// Picks a background compaction — in the keyspace whose tree needs it most — and marks
    /// its files busy.
    fn pick_and_reserve(&self) -> Option<Plan> {
        let mut vs = self.versions.lock();
        let cfg = self.picker_config();
        let mut trees: Vec<(f64, u32)> = vs
            .trees
            .iter()
            .map(|(&id, t)| {
                let top = picker::scores(&t.version, &cfg, &vs.compacting)
                    .into_iter()
                    .fold(0.0, f64::max);
                (top, id)
            })
            .filter(|(score, _)| *score >= 1.0)
            .collect();
        trees.sort_by(|a, b| b.0.total_cmp(&a.0));
        let plan = trees.into_iter().find_map(|(_, id)| {
            let t = &vs.trees[&id];
            let mut plan = picker::pick(&t.version, &cfg, &vs.compacting, &t.pointers)?;
            plan.keyspace = id;
            Some(plan)
        })?;
        vs.compacting.extend(plan.file_numbers());
        Some(plan)
    }

    /// Unmarks a plan's files and wakes anyone waiting for them.
    fn release(&self, plan: &Plan) {
        let mut vs = self.versions.lock();
        for n in plan.file_numbers() {
            vs.compacting.remove(&n);
        }
        drop(vs);
        self.bump_generation();
    }

    /// Runs a compaction (or trivial move) and installs its result.
    pub(crate) fn run_compaction(&self, plan: &Plan) -> Result<()> {
        if plan.trivial_move {
            let edit = VersionEdit {
                added: plan
                    .inputs
                    .iter()
                    .map(|f| (plan.keyspace, plan.output_level, f.meta.clone()))
                    .collect(),
                deleted: plan.deletions().collect(),
                ..VersionEdit::default()
            };
            let moved = plan
                .inputs
                .iter()
                .map(|f| (plan.output_level, f.clone()))
                .collect();
            self.install_compaction(plan, edit, moved, false)?;
            self.counters
                .trivial_moves
                .fetch_add(plan.inputs.len() as u64, Ordering::Relaxed);
            return Ok(());
        }
        let outputs = self.write_outputs(plan)?;
        let edit = VersionEdit {
            added: outputs
                .iter()
                .map(|f| (plan.keyspace, plan.output_level, f.meta.clone()))
                .collect(),
            deleted: plan.deletions().collect(),
            ..VersionEdit::default()
        };
        let added = outputs
            .into_iter()
            .map(|f| (plan.output_level, Arc::new(f)))
            .collect();
        self.install_compaction(plan, edit, added, true)?;
        self.counters.compactions.fetch_add(1, Ordering::Relaxed);
        self.counters
            .compaction_bytes_read
            .fetch_add(plan.input_bytes(), Ordering::Relaxed);
        Ok(())
    }

    fn install_compaction(
        &self,
        plan: &Plan,
        edit: VersionEdit,
        added: Vec<(usize, Arc<LiveTable>)>,
        inputs_obsolete: bool,
    ) -> Result<()> {
        let mut vs = self.versions.lock();
        if !vs.trees.contains_key(&plan.keyspace) {
            // The keyspace was dropped meanwhile (its inputs are already marked obsolete):
            // the outputs are unreferenced.
            if inputs_obsolete {
                for (_, f) in &added {
                    f.table.mark_obsolete(self.fs.clone());
                }
            }
            return Ok(());
        }
        vs.log_edit(&edit)?;
        let deleted: Vec<(usize, u64)> = edit.deleted.iter().map(|(_, l, n)| (*l, *n)).collect();
        if let Some(tree) = vs.trees.get_mut(&plan.keyspace) {
            tree.version = Arc::new(tree.version.apply(&deleted, added));
            if let Some(largest) = plan.inputs.iter().map(|f| f.meta.largest_user_key()).max() {
                tree.pointers[plan.level] = Some(largest.to_vec());
            }
        }
        if inputs_obsolete {
            for f in plan.inputs.iter().chain(&plan.next_inputs) {
                f.table.mark_obsolete(self.fs.clone());
            }
        }
        self.install_version(&vs);
        Ok(())
    }

    /// Merges a plan's inputs into new files at its output level.
    fn write_outputs(&self, plan: &Plan) -> Result<Vec<LiveTable>> {
        let mut children: Vec<Box<dyn InternalIterator>> = Vec::new();
        for f in plan.inputs.iter().chain(&plan.next_inputs) {
            children.push(Box::new(f.table.iter()));
        }
        let mut iter = MergingIterator::new(children);
        iter.seek_to_first()?;
        let (version, opts) = {
            let vs = self.versions.lock();
            let tree = vs
                .trees
                .get(&plan.keyspace)
                .ok_or_else(|| Error::KeyspaceNotFound {
                    name: format!("#{} (dropped during a compaction)", plan.keyspace),
                })?;
            (tree.version.clone(), tree.opts)
        };
        let snapshots = self.live_snapshots();
        let oldest_snapshot = snapshots.first().copied().unwrap_or(u64::MAX);
        // Versions between the same two snapshots are seen by the same readers: only the
        // newest of them is ever read.
        let stripe = |seq: u64| snapshots.partition_point(|&s| s < seq);
        let target = self.opts.target_file_size;
        let mut outputs: Vec<LiveTable> = Vec::new();
        let mut builder: Option<(TableBuilder, u64)> = None;
        let mut current_key: Vec<u8> = Vec::new();
        let mut has_current = false;
        let mut last_seq_for_key = u64::MAX;
        let mut steps = 0u64;
        let result = (|| -> Result<()> {
            while iter.valid() {
                steps += 1;
                if steps.is_multiple_of(4096) && self.state.lock().shutting_down {
                    return Err(Error::ShuttingDown);
                }
                let ikey = iter.key();
                let uk = key::user_key(ikey);
                let seq = key::seq_of(ikey);
                if !has_current || uk != &current_key[..] {
                    // A new user key: the only place an output file may end.
                    if builder
                        .as_ref()
                        .is_some_and(|(b, _)| b.estimated_file_size() >= target)
                    {
                        let (b, number) = builder.take().ok_or(Error::ShuttingDown)?;
                        outputs.push(self.finish_output(b, number)?);
                    }
                    current_key.clear();
                    current_key.extend_from_slice(uk);
                    has_current = true;
                    last_seq_for_key = u64::MAX;
                }
                let drop_entry =
                    if last_seq_for_key != u64::MAX && stripe(seq) == stripe(last_seq_for_key) {
                        true
                    } else {
                        key::kind_of(ikey) == Some(Kind::Delete)
                            && seq <= oldest_snapshot
                            && !version.key_may_exist_below(plan.output_level, uk)
                    };
                last_seq_for_key = seq;
                if !drop_entry {
                    if builder.is_none() {
                        builder = Some(self.new_table(&opts)?);
                    }
                    if let Some((b, _)) = builder.as_mut() {
                        b.add(ikey, &iter.value())?;
                    }
                }
                iter.next()?;
            }
            if let Some((b, number)) = builder.take() {
                if b.num_entries() > 0 {
                    outputs.push(self.finish_output(b, number)?);
                } else {
                    drop(b);
                    let _ = self.fs.remove_file(&filename::table(&self.dir, number));
                }
            }
            self.fs
                .sync_dir(&self.dir)
                .map_err(|e| Error::io(format!("syncing directory {}", self.dir.display()), e))
        })();
        if let Err(e) = result {
            // Remove what was written; the inputs stay as they are.
            if let Some((b, number)) = builder.take() {
                drop(b);
                let _ = self.fs.remove_file(&filename::table(&self.dir, number));
            }
            for f in &outputs {
                f.table.mark_obsolete(self.fs.clone());
            }
            return Err(e);
        }
        Ok(outputs)
    }

    fn finish_output(&self, builder: TableBuilder, number: u64) -> Result<LiveTable> {
        let live = self.finish_table(builder, number)?;
        self.counters
            .compaction_bytes_written
            .fetch_add(live.meta.size, Ordering::Relaxed);
        Ok(live)
    }

    /// Compacts every file overlapping `[lo, hi]` (`None` = unbounded) down to the deepest
    /// level holding data, after flushing the memtable. Waits for background compactions
    /// holding the same files.
    pub(crate) fn compact_range(
        &self,
        (ks, name): crate::db::KsRef<'_>,
        lo: Option<&[u8]>,
        hi: Option<&[u8]>,
    ) -> Result<()> {
        self.flush()?;
        let gone = || Error::KeyspaceNotFound {
            name: name.to_string(),
        };
        let deepest = {
            let vs = self.versions.lock();
            let version = &vs.trees.get(&ks).ok_or_else(gone)?.version;
            (1..version.levels.len())
                .rev()
                .find(|&l| !version.levels[l].is_empty())
                // Nothing below level 0: straight into the last level, as dynamic level
                // sizing puts it.
                .unwrap_or(version.levels.len() - 1)
        };
        // Levels above the deepest are merged down into it; then the deepest level is rewritten
        // in place, unless a merge into it just rewrote it, so versions and tombstones nothing
        // needs any more are dropped there too.
        let mut deepest_rewritten = false;
        for level in 0..=deepest {
            loop {
                self.check_writable()?;
                let generation = self.state.lock().generation;
                let plan = {
                    let mut vs = self.versions.lock();
                    let version = vs.trees.get(&ks).ok_or_else(gone)?.version.clone();
                    let inputs = if level == 0 {
                        // Level-0 files overlap each other: take them all, or an older file
                        // left behind could shadow newer data moved below it.
                        let any = version.levels[0].iter().any(|f| f.meta.overlaps(lo, hi));
                        if any {
                            version.levels[0].clone()
                        } else {
                            Vec::new()
                        }
                    } else {
                        version.overlapping(level, lo, hi)
                    };
                    if inputs.is_empty() || (level == deepest && deepest_rewritten) {
                        break;
                    }
                    let busy = inputs
                        .iter()
                        .any(|f| vs.compacting.contains(&f.meta.number));
                    let plan = if busy {
                        None
                    } else if level == deepest {
                        Some(Plan {
                            keyspace: ks,
                            level,
                            output_level: level,
                            inputs,
                            next_inputs: Vec::new(),
                            trivial_move: false,
                        })
                    } else {
                        // Straight into the next level holding data (the ones between are
                        // empty), so nothing is rewritten on its way down.
                        let output = (level + 1..=deepest)
                            .find(|&l| !version.levels[l].is_empty())
                            .unwrap_or(deepest);
                        picker::plan_for(&version, level, output, inputs, &vs.compacting).map(
                            |mut p| {
                                p.keyspace = ks;
                                p
                            },
                        )
                    };
                    if let Some(p) = &plan {
                        vs.compacting.extend(p.file_numbers());
                    }
                    plan
                };
                match plan {
                    Some(plan) => {
                        let result = self.run_compaction(&plan);
                        self.release(&plan);
                        if let Err(e) = result {
                            if !matches!(e, Error::ShuttingDown | Error::KeyspaceNotFound { .. }) {
                                self.set_bg_error(&e);
                            }
                            return Err(e);
                        }
                        if plan.output_level == deepest && !plan.trivial_move {
                            deepest_rewritten = true;
                        }
                        break;
                    }
                    None => {
                        let mut st = self.state.lock();
                        while st.generation == generation && !st.shutting_down {
                            self.state_cv.wait(&mut st);
                        }
                        if st.shutting_down {
                            return Err(Error::ShuttingDown);
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Publishes `vs`'s versions to readers and wakes waiters.
    pub(crate) fn install_version(&self, vs: &crate::db::VersionSet) {
        let mut st = self.state.lock();
        self.republish_view(vs, &st);
        st.generation += 1;
        drop(st);
        self.state_cv.notify_all();
    }

    /// Counts a change of version or of what is being compacted, and wakes every waiter.
    pub(crate) fn bump_generation(&self) {
        self.state.lock().generation += 1;
        self.state_cv.notify_all();
    }
}
