//! Opening a database: lock, recover the manifest, replay the WAL, start a fresh WAL and
//! manifest, and delete files nothing refers to.

use super::{Imm, Inner, MemSet, State, Tree, VersionSet, WalState};
use crate::batch::{self, DEFAULT_KEYSPACE};
use crate::filename::{self, FileKind};
use crate::fs::{read_all, FileSystem};
use crate::manifest::VersionEdit;
use crate::memtable::MemTable;
use crate::options::TreeOptions;
use crate::options::{Options, WalRecovery};
use crate::sstable::{BlockCache, Table};
use crate::version::{LiveTable, Version};
use crate::wal::{DamagePolicy, LogReader, LogWriter};
use crate::{Error, Result};
use parking_lot::{Condvar, Mutex, RwLock};
use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

/// The durable state read back from the manifest.
struct Recovered {
    trees: BTreeMap<u32, Tree>,
    next_keyspace_id: u32,
    log_number: u64,
    next_file: u64,
    last_sequence: u64,
}

fn io_err(what: &str, path: &Path) -> impl FnOnce(std::io::Error) -> Error {
    let context = format!("{what} {}", path.display());
    move |e| Error::io(context, e)
}

/// Opens the database; the flag says whether recovery skipped damage in a WAL (point-in-time
/// recovery), in which case the recovered memtable must be flushed before anything else so the
/// damaged log is never replayed again.
pub(crate) fn open(dir: &Path, opts: Options) -> Result<(Inner, bool)> {
    opts.validate()?;
    let fs = opts.fs.clone();
    let dir = dir.to_path_buf();
    if !fs.exists(&dir) {
        if !opts.create_if_missing {
            return Err(Error::NotFound {
                dir,
                detail: "the directory does not exist".into(),
            });
        }
        fs.create_dir_all(&dir)
            .map_err(io_err("creating directory", &dir))?;
    }
    let lock_path = filename::lock(&dir);
    let lock = fs.lock(&lock_path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::WouldBlock {
            Error::Locked {
                dir: dir.clone(),
                lock_file: lock_path.clone(),
            }
        } else {
            Error::io(format!("locking {}", lock_path.display()), e)
        }
    })?;
    let cache = Arc::new(BlockCache::new(opts.block_cache_capacity));

    let current = filename::current(&dir);
    let mut recovered = if fs.exists(&current) {
        if opts.error_if_exists {
            return Err(Error::InvalidArgument(format!(
                "a database already exists at {} (error_if_exists is set)",
                dir.display()
            )));
        }
        recover_manifest(fs.as_ref(), &dir, &cache, &opts)?
    } else {
        if !opts.create_if_missing {
            return Err(Error::NotFound {
                dir,
                detail: "no CURRENT file".into(),
            });
        }
        Recovered {
            trees: default_tree(&opts),
            next_keyspace_id: 1,
            log_number: 0,
            next_file: 1,
            last_sequence: 0,
        }
    };

    // File numbers: never reuse one that is on disk, whatever the manifest says.
    let names = fs.list_dir(&dir).map_err(io_err("listing", &dir))?;
    let mut logs = Vec::new();
    for name in &names {
        let n = match filename::parse(name) {
            Some(FileKind::Wal(n)) => {
                if n >= recovered.log_number {
                    logs.push(n);
                }
                n
            }
            Some(FileKind::Table(n) | FileKind::Manifest(n)) => n,
            _ => continue,
        };
        recovered.next_file = recovered.next_file.max(n + 1);
    }
    logs.sort_unstable();

    // Replay the logs written since the last flush into one memtable per keyspace.
    let mems: MemSet = recovered
        .trees
        .keys()
        .map(|&id| (id, Arc::new(MemTable::new())))
        .collect();
    let replay = Replay {
        mems: &mems,
        next_keyspace_id: recovered.next_keyspace_id,
        flushed_seq: recovered.last_sequence,
    };
    let mut last_seq = recovered.last_sequence;
    let mut skipped_damage = false;
    for (i, &n) in logs.iter().enumerate() {
        let stopped = replay_log(fs.as_ref(), &dir, n, &opts, &replay, &mut last_seq)?;
        if stopped && opts.wal_recovery == WalRecovery::PointInTime {
            skipped_damage = true;
            // Later logs hold writes after the damage; keeping them would make a later
            // recovery replay them behind the gap. They are removed before anything new is
            // acknowledged.
            for &later in &logs[i + 1..] {
                let p = filename::wal(&dir, later);
                fs.remove_file(&p).map_err(io_err("removing", &p))?;
            }
            logs.truncate(i + 1);
            break;
        }
    }

    // A fresh WAL, then a fresh manifest holding a snapshot of the state.
    let wal_number = recovered.next_file;
    let manifest_number = wal_number + 1;
    let next_file = manifest_number + 1;
    let wal_path = filename::wal(&dir, wal_number);
    let wal_file = fs
        .create(&wal_path)
        .map_err(io_err("creating", &wal_path))?;
    let replayed_any = mems.values().any(|m| !m.is_empty());
    let log_number = if replayed_any {
        logs.first().copied().unwrap_or(wal_number)
    } else {
        wal_number
    };
    let snapshot = VersionEdit {
        log_number: Some(log_number),
        next_file_number: Some(next_file),
        last_sequence: Some(recovered.last_sequence),
        ..super::snapshot_edit(&recovered.trees, recovered.next_keyspace_id)
    };
    let manifest = write_manifest(fs.as_ref(), &dir, manifest_number, &snapshot)?;

    // Delete what nothing refers to any more.
    let live_tables: std::collections::HashSet<u64> = recovered
        .trees
        .values()
        .flat_map(|t| t.version.files().map(|(_, f)| f.meta.number))
        .collect();
    for name in &names {
        let obsolete = match filename::parse(name) {
            Some(FileKind::Wal(n)) => n < log_number,
            Some(FileKind::Manifest(n)) => n != manifest_number,
            Some(FileKind::Table(n)) => !live_tables.contains(&n),
            Some(FileKind::Temp) => true,
            _ => false,
        };
        if obsolete {
            let _ = fs.remove_file(&dir.join(name));
        }
    }

    let mut imms = VecDeque::new();
    let active: Arc<MemSet> = Arc::new(
        recovered
            .trees
            .keys()
            .map(|&id| (id, Arc::new(MemTable::new())))
            .collect(),
    );
    if replayed_any {
        imms.push_back(Imm {
            mems: Arc::new(mems),
            next_log: wal_number,
            last_seq,
        });
    }
    let flushed_seq = recovered.last_sequence;
    let versions: BTreeMap<u32, Arc<Version>> = recovered
        .trees
        .iter()
        .map(|(&id, t)| (id, t.version.clone()))
        .collect();
    let view = super::ReadView::new(
        active.clone(),
        imms.iter().rev().map(|i| i.mems.clone()).collect(),
        versions,
        &crate::compaction::picker::PickerConfig::from_options(&opts),
    );
    let wal_writer = LogWriter::new(wal_file, wal_path);
    let oracle_limit = opts.write_buffer_size;
    let inner = Inner {
        opts,
        fs,
        _lock: lock,
        cache,
        view: RwLock::new(Arc::new(view)),
        visible_seq: AtomicU64::new(last_seq),
        ordered_seq: AtomicU64::new(last_seq),
        next_file: AtomicU64::new(next_file),
        queue: Mutex::new(VecDeque::new()),
        next_group: AtomicU64::new(0),
        wal_turn: AtomicU64::new(0),
        wal_turn_cv: Condvar::new(),
        wal: Mutex::new(WalState {
            sync_handle: wal_writer.sync_handle()?,
            writer: wal_writer,
            number: wal_number,
            mems: active,
            last_seq,
            next_ticket: 0,
            scratch: Vec::new(),
        }),
        versions: Mutex::new(VersionSet {
            manifest,
            trees: recovered.trees,
            next_keyspace_id: recovered.next_keyspace_id,
            flushed_seq,
            compacting: Default::default(),
        }),
        state: Mutex::new(State {
            imms,
            bg_error: None,
            shutting_down: false,
            generation: 0,
        }),
        state_cv: Condvar::new(),
        counters: Default::default(),
        publish: Mutex::new(Default::default()),
        publish_cv: Condvar::new(),
        appended: Mutex::new((wal_number, 0)),
        wal_sync: Mutex::new(super::wal_sync::WalSync::new((wal_number, 0))),
        wal_sync_cvs: [Condvar::new(), Condvar::new()],
        wal_sync_thread_cv: Condvar::new(),
        snapshots: Mutex::new(BTreeMap::new()),
        oracle: Mutex::new(super::txn::Oracle::new(oracle_limit)),
        default_name: super::DEFAULT_KEYSPACE_NAME.into(),
        commit_wakers: Mutex::new(Vec::new()),
        has_commit_wakers: Default::default(),
        dir,
    };
    Ok((inner, skipped_damage && replayed_any))
}

/// The trees of a new database: the default keyspace alone.
fn default_tree(opts: &Options) -> BTreeMap<u32, Tree> {
    BTreeMap::from([(
        DEFAULT_KEYSPACE,
        Tree::new(
            super::DEFAULT_KEYSPACE_NAME.into(),
            TreeOptions::from_db(opts),
            Version::empty(),
        ),
    )])
}

/// Where replayed writes go.
struct Replay<'a> {
    /// One memtable per live keyspace.
    mems: &'a MemSet,
    /// Entries for ids below this that have no memtable belong to dropped keyspaces.
    next_keyspace_id: u32,
    /// Batches at or below this are in table files already.
    flushed_seq: u64,
}

/// Replays WAL `number` into `mem`, skipping batches already flushed. Returns whether the log
/// ended at damage (a torn tail, or any damage in point-in-time mode).
fn replay_log(
    fs: &dyn FileSystem,
    dir: &Path,
    number: u64,
    opts: &Options,
    target: &Replay<'_>,
    last_seq: &mut u64,
) -> Result<bool> {
    let path = filename::wal(dir, number);
    let file = fs.open(&path).map_err(io_err("opening", &path))?;
    let tolerate = opts.wal_recovery == WalRecovery::PointInTime;
    let policy = if tolerate {
        DamagePolicy::StopAtDamage
    } else {
        DamagePolicy::TornTail
    };
    let mut reader = LogReader::new(file, path.clone(), policy);
    while let Some((record, offset)) = reader.next_record()? {
        let decoded = match batch::decode(&record) {
            Ok(d) => d,
            Err(detail) if tolerate => {
                reader.dropped_tail = Some((offset, detail));
                break;
            }
            Err(detail) => {
                return Err(Error::corruption(
                    &path,
                    offset,
                    format!("bad write batch: {detail}"),
                ))
            }
        };
        if decoded.seq <= target.flushed_seq {
            continue;
        }
        if decoded.seq <= *last_seq {
            let detail = format!(
                "sequence number {} does not follow {}",
                decoded.seq, *last_seq
            );
            if tolerate {
                reader.dropped_tail = Some((offset, detail));
                break;
            }
            return Err(Error::corruption(&path, offset, detail));
        }
        if let Some(e) = decoded.entries.iter().find(|e| {
            !target.mems.contains_key(&e.keyspace) && e.keyspace >= target.next_keyspace_id
        }) {
            let detail = format!(
                "a write to keyspace #{}, which was never created",
                e.keyspace
            );
            if tolerate {
                reader.dropped_tail = Some((offset, detail));
                break;
            }
            return Err(Error::corruption(&path, offset, detail));
        }
        let mut seq = decoded.seq;
        for e in decoded.entries {
            // No memtable: the keyspace was dropped after this write.
            if let Some(mem) = target.mems.get(&e.keyspace) {
                mem.insert(&e.key, seq, e.kind, &e.value);
            }
            seq += 1;
        }
        *last_seq = seq - 1;
    }
    Ok(reader.dropped_tail.is_some())
}

/// Reads `CURRENT` and the manifest it names.
fn recover_manifest(
    fs: &dyn FileSystem,
    dir: &Path,
    cache: &Arc<BlockCache>,
    opts: &Options,
) -> Result<Recovered> {
    let current = filename::current(dir);
    let bytes = read_all(fs, &current).map_err(io_err("reading", &current))?;
    let name = std::str::from_utf8(&bytes)
        .ok()
        .and_then(|s| s.strip_suffix('\n'))
        .filter(|s| matches!(filename::parse(s), Some(FileKind::Manifest(_))))
        .ok_or_else(|| Error::corruption(&current, 0, "CURRENT does not name a manifest file"))?;
    let path = dir.join(name);
    let file = fs.open(&path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::corruption(
                &current,
                0,
                format!("CURRENT names {name}, which is missing"),
            )
        } else {
            Error::io(format!("opening {}", path.display()), e)
        }
    })?;
    let mut reader = LogReader::new(file, path.clone(), DamagePolicy::TruncationOnly);
    type Levels = Vec<BTreeMap<u64, crate::version::FileMeta>>;
    let empty = || -> Levels { vec![BTreeMap::new(); crate::version::NUM_LEVELS] };
    // Keyspace id → (name, options, files by level).
    let mut keyspaces: BTreeMap<u32, (String, TreeOptions, Levels)> = BTreeMap::from([(
        DEFAULT_KEYSPACE,
        (
            super::DEFAULT_KEYSPACE_NAME.to_owned(),
            TreeOptions::from_db(opts),
            empty(),
        ),
    )]);
    let mut next_keyspace_id = 1;
    let (mut log_number, mut next_file, mut last_sequence) = (None, None, None);
    let mut records = 0;
    while let Some((record, offset)) = reader.next_record()? {
        let edit = VersionEdit::decode(&record)
            .map_err(|d| Error::corruption(&path, offset, format!("bad manifest record: {d}")))?;
        if records == 0
            && (edit.log_number.is_none()
                || edit.next_file_number.is_none()
                || edit.last_sequence.is_none())
        {
            return Err(Error::corruption(
                &path,
                offset,
                "the manifest does not start with a full snapshot",
            ));
        }
        records += 1;
        log_number = edit.log_number.or(log_number);
        next_file = edit.next_file_number.or(next_file);
        last_sequence = edit.last_sequence.or(last_sequence);
        next_keyspace_id = edit.next_keyspace_id.unwrap_or(next_keyspace_id);
        let bad = |detail: String| Error::corruption(&path, offset, detail);
        for (id, name, tree_opts) in edit.created {
            if id == DEFAULT_KEYSPACE || keyspaces.contains_key(&id) {
                return Err(bad(format!("keyspace #{id} ({name:?}) is created twice")));
            }
            keyspaces.insert(id, (name, tree_opts, empty()));
        }
        for (ks, level, number) in &edit.deleted {
            let files = &mut keyspaces
                .get_mut(ks)
                .ok_or_else(|| {
                    bad(format!(
                        "a file is deleted from keyspace #{ks}, which does not exist"
                    ))
                })?
                .2;
            files[*level].remove(number);
        }
        for (ks, level, meta) in edit.added {
            let files = &mut keyspaces
                .get_mut(&ks)
                .ok_or_else(|| {
                    bad(format!(
                        "a file is added to keyspace #{ks}, which does not exist"
                    ))
                })?
                .2;
            files[level].insert(meta.number, meta);
        }
        for id in &edit.dropped {
            if *id == DEFAULT_KEYSPACE || keyspaces.remove(id).is_none() {
                return Err(bad(format!("keyspace #{id} is dropped but does not exist")));
            }
        }
        if keyspaces.keys().any(|&id| id >= next_keyspace_id) {
            return Err(bad(format!(
                "a keyspace id is not below the next keyspace id {next_keyspace_id}"
            )));
        }
    }
    let (Some(log_number), Some(next_file), Some(last_sequence)) =
        (log_number, next_file, last_sequence)
    else {
        return Err(Error::corruption(
            &path,
            0,
            "the manifest holds no valid records (damaged or empty)",
        ));
    };
    // A damaged last record is taken for a torn append (a crash mid-edit, never relied on)
    // only if the state before it is whole: the log it names is still there. An edit is
    // durable before the logs it retires are deleted, so a missing log means the damaged
    // record was a complete edit — a corrupted length, not a crash.
    if let Some((offset, detail)) = &reader.dropped_tail {
        let wal = filename::wal(dir, log_number);
        if !fs.exists(&wal) {
            return Err(Error::corruption(
                &path,
                *offset,
                format!(
                    "{detail}; it cannot be a torn append, since the write-ahead log the \
                     earlier records need ({}) is gone",
                    wal.display()
                ),
            ));
        }
    }
    let mut trees = BTreeMap::new();
    for (id, (name, tree_opts, files)) in keyspaces {
        let version = open_tables(fs, dir, &path, cache, files)?;
        trees.insert(id, Tree::new(name, tree_opts, version));
    }
    Ok(Recovered {
        trees,
        next_keyspace_id,
        log_number,
        next_file,
        last_sequence,
    })
}

/// Opens the table files of one keyspace, checking each against the manifest.
fn open_tables(
    fs: &dyn FileSystem,
    dir: &Path,
    path: &Path,
    cache: &Arc<BlockCache>,
    files: Vec<BTreeMap<u64, crate::version::FileMeta>>,
) -> Result<Version> {
    let mut version = Version::empty();
    for (level, metas) in files.into_iter().enumerate() {
        for (_, meta) in metas {
            let table_path = filename::table(dir, meta.number);
            let file = fs.open(&table_path).map_err(|e| {
                if e.kind() == std::io::ErrorKind::NotFound {
                    Error::corruption(
                        path,
                        0,
                        format!(
                            "the manifest lists table {}, which is missing",
                            table_path.display()
                        ),
                    )
                } else {
                    Error::io(format!("opening {}", table_path.display()), e)
                }
            })?;
            if file.len() != meta.size {
                return Err(Error::corruption(
                    &table_path,
                    0,
                    format!(
                        "file is {} bytes, the manifest says {}",
                        file.len(),
                        meta.size
                    ),
                ));
            }
            let table = Table::open(file, table_path, meta.number, cache.clone())?;
            version = version.with_file(
                level,
                Arc::new(LiveTable {
                    meta,
                    table: Arc::new(table),
                }),
            );
        }
    }
    Ok(version)
}

/// Writes a new manifest holding `snapshot` and points `CURRENT` at it, durably.
pub(crate) fn write_manifest(
    fs: &dyn FileSystem,
    dir: &Path,
    number: u64,
    snapshot: &VersionEdit,
) -> Result<LogWriter> {
    let path = filename::manifest(dir, number);
    let file = fs.create(&path).map_err(io_err("creating", &path))?;
    let mut writer = LogWriter::new(file, path.clone());
    writer.add_record(&snapshot.encode())?;
    writer.sync()?;
    let tmp: PathBuf = dir.join("CURRENT.tmp");
    let mut f = fs.create(&tmp).map_err(io_err("creating", &tmp))?;
    let contents = format!("MANIFEST-{number:06}\n");
    f.append(contents.as_bytes())
        .map_err(io_err("writing", &tmp))?;
    f.sync().map_err(io_err("syncing", &tmp))?;
    drop(f);
    let current = filename::current(dir);
    fs.rename(&tmp, &current)
        .map_err(io_err("renaming to", &current))?;
    fs.sync_dir(dir).map_err(io_err("syncing directory", dir))?;
    Ok(writer)
}
