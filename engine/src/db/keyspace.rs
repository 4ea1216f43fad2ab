//! Keyspaces: named, independent key spaces in one database (RocksDB's column families,
//! fjall's partitions).
//!
//! Each keyspace has its own memtables, LSM tree and table options; all share one WAL, so one
//! batch or transaction across keyspaces commits and recovers atomically. Their memtables are
//! sealed and flushed together (one manifest edit for the generation), so the WAL needs no
//! per-keyspace bookkeeping; the write buffer size bounds all of them together.
//!
//! Creation and drop are manifest edits, made with the WAL lock held (so no write group is
//! mid-insert into the memtables being changed) and durable before they return. A drop frees
//! the keyspace's files without touching any other: they are deleted when the last reader of
//! them lets go, or at the next open if a crash came first. Keyspace ids are never reused, so
//! WAL entries of a dropped keyspace are recognised and skipped at replay.

use super::{Db, DbIter, Inner, KsRef, MemSet, Tree};
use crate::manifest::VersionEdit;
use crate::memtable::MemTable;
use crate::options::{KeyspaceOptions, WriteOptions};
use crate::version::Version;
use crate::{Cursor, Error, Result, WriteBatch};
use bytes::Bytes;
use std::ops::RangeBounds;
use std::sync::Arc;

/// The longest keyspace name accepted, in bytes.
const MAX_NAME: usize = 255;

/// A handle to one keyspace; cheap to clone. It keeps the database open. Once the keyspace is
/// dropped, its operations fail with [`Error::KeyspaceNotFound`] (a keyspace created later
/// under the same name is a different keyspace).
///
/// ```
/// # let dir = tempfile::tempdir().unwrap();
/// # let db = strata_engine::Db::open(dir.path(), Default::default()).unwrap();
/// let users = db.keyspace("users")?;
/// users.put("alice", "1")?;
/// assert_eq!(users.get("alice")?.as_deref(), Some(&b"1"[..]));
/// assert_eq!(db.get("alice")?, None); // the default keyspace is another keyspace
/// # Ok::<(), strata_engine::Error>(())
/// ```
#[derive(Clone)]
pub struct Keyspace {
    db: Db,
    id: u32,
    name: Arc<str>,
}

impl std::fmt::Debug for Keyspace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyspace")
            .field("name", &self.name)
            .field("id", &self.id)
            .finish()
    }
}

impl Keyspace {
    pub(crate) fn new(db: Db, id: u32, name: &str) -> Self {
        Keyspace {
            db,
            id,
            name: name.into(),
        }
    }

    /// The keyspace's id in the WAL and manifest.
    pub(crate) fn id(&self) -> u32 {
        self.id
    }

    pub(crate) fn as_ref(&self) -> KsRef<'_> {
        (self.id, &self.name)
    }

    /// The keyspace's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The database it belongs to.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The value of `key`, or `None` if it is absent.
    pub fn get(&self, key: impl AsRef<[u8]>) -> Result<Option<Bytes>> {
        self.db.inner().get_in(self.as_ref(), key.as_ref(), None)
    }

    /// Sets `key` to `value` (not fsynced; see [`WriteOptions`]).
    pub fn put(&self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Result<()> {
        let mut batch = WriteBatch::new();
        batch.put_in(self, key, value);
        self.db.write(batch, WriteOptions::default())
    }

    /// Deletes `key` (not fsynced). Deleting an absent key is not an error.
    pub fn delete(&self, key: impl AsRef<[u8]>) -> Result<()> {
        let mut batch = WriteBatch::new();
        batch.delete_in(self, key);
        self.db.write(batch, WriteOptions::default())
    }

    /// Iterates over every key, at a snapshot taken now (`.rev()` walks backwards).
    pub fn iter(&self) -> DbIter {
        self.range::<&[u8], _>(..)
    }

    /// Iterates over the keys in `range`, at a snapshot taken now.
    pub fn range<K: AsRef<[u8]>, R: RangeBounds<K>>(&self, range: R) -> DbIter {
        self.db.inner().iter_in(self.as_ref(), range, None)
    }

    /// Iterates over the keys that start with `prefix`.
    pub fn prefix(&self, prefix: impl AsRef<[u8]>) -> DbIter {
        self.range(super::prefix_range(prefix.as_ref()))
    }

    /// A cursor over the keyspace at a snapshot taken now.
    pub fn cursor(&self) -> Cursor {
        self.cursor_in::<&[u8], _>(..)
    }

    /// A cursor limited to `range`.
    pub fn cursor_in<K: AsRef<[u8]>, R: RangeBounds<K>>(&self, range: R) -> Cursor {
        self.db.inner().cursor_in(self.as_ref(), range, None)
    }

    /// Bytes of the keyspace's table files (not counting its memtables).
    pub fn disk_size(&self) -> Result<u64> {
        let view = self.db.inner().view.read().clone();
        let version = view
            .versions
            .get(&self.id)
            .ok_or_else(|| Error::KeyspaceNotFound {
                name: self.name.to_string(),
            })?;
        Ok(version.files().map(|(_, f)| f.meta.size).sum())
    }

    /// Compacts the keys in `range` down to the deepest level holding data, after flushing
    /// the memtables (see [`Db::compact_range`]).
    pub fn compact_range<K: AsRef<[u8]>, R: RangeBounds<K>>(&self, range: R) -> Result<()> {
        let key = |b: std::ops::Bound<&K>| match b {
            std::ops::Bound::Included(k) | std::ops::Bound::Excluded(k) => {
                Some(k.as_ref().to_vec())
            }
            std::ops::Bound::Unbounded => None,
        };
        let (lo, hi) = (key(range.start_bound()), key(range.end_bound()));
        self.db
            .inner()
            .compact_range(self.as_ref(), lo.as_deref(), hi.as_deref())
    }
}

impl Inner {
    /// The id of the live keyspace named `name`.
    pub(crate) fn keyspace_id(&self, name: &str) -> Option<u32> {
        let vs = self.versions.lock();
        vs.trees
            .iter()
            .find(|(_, t)| t.name == name)
            .map(|(&id, _)| id)
    }

    /// Opens the keyspace named `name`, creating it durably if it does not exist.
    pub(crate) fn open_keyspace(&self, name: &str, opts: &KeyspaceOptions) -> Result<u32> {
        if let Some(id) = self.keyspace_id(name) {
            return Ok(id);
        }
        if name.is_empty() || name.len() > MAX_NAME {
            return Err(Error::InvalidArgument(format!(
                "a keyspace name must be 1 to {MAX_NAME} bytes long (got {} bytes)",
                name.len()
            )));
        }
        let tree_opts = opts.resolve(&self.opts)?;
        // Lock order: WAL, versions, state.
        let mut wal = self.wal.lock();
        let mut vs = self.versions.lock();
        if let Some((&id, _)) = vs.trees.iter().find(|(_, t)| t.name == name) {
            return Ok(id); // created meanwhile
        }
        self.check_writable()?;
        let id = vs.next_keyspace_id;
        let next = id.checked_add(1).ok_or_else(|| {
            Error::InvalidArgument("every keyspace id has been used (2^32 creations)".into())
        })?;
        let edit = VersionEdit {
            created: vec![(id, name.to_owned(), tree_opts)],
            next_keyspace_id: Some(next),
            ..VersionEdit::default()
        };
        if let Err(e) = vs.log_edit(&edit) {
            // The manifest may end in a torn record: nothing more may be appended to it.
            self.set_bg_error(&e);
            return Err(e);
        }
        vs.next_keyspace_id = next;
        vs.trees
            .insert(id, Tree::new(name.to_owned(), tree_opts, Version::empty()));
        let mut mems: MemSet = (*wal.mems).clone();
        mems.insert(id, Arc::new(MemTable::new()));
        wal.mems = Arc::new(mems);
        let st = self.state.lock();
        self.publish_view(&vs, &st, wal.mems.clone());
        Ok(id)
    }

    /// Drops the keyspace named `name` durably; its files go once nothing reads them.
    pub(crate) fn drop_keyspace(&self, name: &str) -> Result<()> {
        let mut wal = self.wal.lock();
        let mut vs = self.versions.lock();
        let Some((&id, _)) = vs.trees.iter().find(|(_, t)| t.name == name) else {
            return Err(Error::KeyspaceNotFound { name: name.into() });
        };
        if id == crate::batch::DEFAULT_KEYSPACE {
            return Err(Error::InvalidArgument(
                "the default keyspace cannot be dropped".into(),
            ));
        }
        self.check_writable()?;
        let edit = VersionEdit {
            dropped: vec![id],
            ..VersionEdit::default()
        };
        if let Err(e) = vs.log_edit(&edit) {
            self.set_bg_error(&e);
            return Err(e);
        }
        if let Some(tree) = vs.trees.remove(&id) {
            for (_, f) in tree.version.files() {
                f.table.mark_obsolete(self.fs.clone());
            }
        }
        let mut mems: MemSet = (*wal.mems).clone();
        mems.remove(&id);
        wal.mems = Arc::new(mems);
        let mut st = self.state.lock();
        self.publish_view(&vs, &st, wal.mems.clone());
        st.generation += 1;
        drop(st);
        self.state_cv.notify_all();
        Ok(())
    }
}
