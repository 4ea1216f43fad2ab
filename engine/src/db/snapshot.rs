//! Snapshots: a pinned sequence number that reads see the database at.
//!
//! Invariant: while a snapshot at sequence `s` lives, flushes and compactions keep, for every
//! key, the newest version at or below `s` (they drop only versions with a newer one and no
//! live snapshot in between, see `Inner::live_snapshots` and the compaction module). So
//! reading the *current* memtables and files at `s` gives exactly the commits at or below `s`,
//! however many flushes and compactions ran since: a snapshot costs a registry entry, not a
//! copy.

use super::{Db, DbIter, Keyspace};
use crate::{Cursor, Result};
use bytes::Bytes;
use std::ops::RangeBounds;

/// A consistent, repeatable view of every keyspace at one commit. Reads through it see exactly
/// the writes committed at or before [`Snapshot::sequence`]. Versions it needs are kept until
/// it is dropped, so long-lived snapshots hold space.
///
/// ```
/// # let dir = tempfile::tempdir().unwrap();
/// # let db = strata_engine::Db::open(dir.path(), Default::default()).unwrap();
/// let ks = db.default_keyspace();
/// db.put("k", "old")?;
/// let snap = db.snapshot();
/// db.put("k", "new")?;
/// assert_eq!(snap.get(&ks, "k")?.as_deref(), Some(&b"old"[..]));
/// assert_eq!(db.get("k")?.as_deref(), Some(&b"new"[..]));
/// # Ok::<(), strata_engine::Error>(())
/// ```
pub struct Snapshot {
    db: Db,
    seq: u64,
}

impl Snapshot {
    pub(crate) fn new(db: Db) -> Self {
        let seq = db.inner().register_snapshot();
        Snapshot { db, seq }
    }

    /// The sequence number of the last commit the snapshot sees.
    pub fn sequence(&self) -> u64 {
        self.seq
    }

    /// The value of `key` in `keyspace` as of the snapshot.
    pub fn get(&self, keyspace: &Keyspace, key: impl AsRef<[u8]>) -> Result<Option<Bytes>> {
        self.db
            .inner()
            .get_in(keyspace.as_ref(), key.as_ref(), Some(self.seq))
    }

    /// Iterates over every key of `keyspace` as of the snapshot.
    pub fn iter(&self, keyspace: &Keyspace) -> DbIter {
        self.range::<&[u8], _>(keyspace, ..)
    }

    /// Iterates over `range` of `keyspace` as of the snapshot.
    pub fn range<K: AsRef<[u8]>, R: RangeBounds<K>>(
        &self,
        keyspace: &Keyspace,
        range: R,
    ) -> DbIter {
        self.db
            .inner()
            .iter_in(keyspace.as_ref(), range, Some(self.seq))
    }

    /// Iterates over the keys of `keyspace` starting with `prefix`, as of the snapshot.
    pub fn prefix(&self, keyspace: &Keyspace, prefix: impl AsRef<[u8]>) -> DbIter {
        self.range(keyspace, super::prefix_range(prefix.as_ref()))
    }

    /// A cursor over `range` of `keyspace` as of the snapshot.
    pub fn cursor<K: AsRef<[u8]>, R: RangeBounds<K>>(
        &self,
        keyspace: &Keyspace,
        range: R,
    ) -> Cursor {
        self.db
            .inner()
            .cursor_in(keyspace.as_ref(), range, Some(self.seq))
    }
}

impl Clone for Snapshot {
    fn clone(&self) -> Self {
        // Registered again at the same sequence number (still pinned by `self`).
        let mut snapshots = self.db.inner().snapshots.lock();
        *snapshots.entry(self.seq).or_insert(0) += 1;
        drop(snapshots);
        Snapshot {
            db: self.db.clone(),
            seq: self.seq,
        }
    }
}

impl Drop for Snapshot {
    fn drop(&mut self) {
        self.db.inner().release_snapshot(self.seq);
    }
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot").field("seq", &self.seq).finish()
    }
}
