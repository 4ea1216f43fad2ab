//! Checkpoints: a consistent copy of the database in another directory, made of hard links to
//! the immutable table files plus a fresh manifest. Usable as a backup and opened as a normal
//! database.

use super::Inner;
use crate::filename;
use crate::manifest::VersionEdit;
use crate::{Error, Result};
use std::path::Path;
use std::sync::atomic::Ordering;

impl Inner {
    /// Writes a checkpoint into `dest`, which must not exist yet. It holds every write
    /// acknowledged before the call (and possibly some later ones): a prefix of the commit
    /// order.
    pub(crate) fn checkpoint(&self, dest: &Path) -> Result<()> {
        if self.fs.exists(dest) {
            return Err(Error::InvalidArgument(format!(
                "checkpoint directory {} already exists",
                dest.display()
            )));
        }
        // Seal and flush the memtable, so the table files hold everything written so far.
        self.flush()?;
        // The edit's versions pin their files: none is deleted while we link them.
        let (body, versions, flushed_seq) = {
            let vs = self.versions.lock();
            (vs.snapshot_edit(), vs.versions(), vs.flushed_seq)
        };
        let io = |what: &str, p: &Path| {
            let context = format!("{what} {}", p.display());
            move |e| Error::io(context, e)
        };
        self.fs
            .create_dir_all(dest)
            .map_err(io("creating directory", dest))?;
        for (_, _, meta) in &body.added {
            let from = filename::table(&self.dir, meta.number);
            let to = filename::table(dest, meta.number);
            self.fs
                .hard_link(&from, &to)
                .map_err(io("linking into checkpoint", &from))?;
        }
        drop(versions);
        let next_file = self.next_file.load(Ordering::SeqCst);
        let snapshot = VersionEdit {
            // No WAL is carried over: everything up to `flushed_seq` is in the tables.
            log_number: Some(next_file),
            next_file_number: Some(next_file + 1),
            last_sequence: Some(flushed_seq),
            ..body
        };
        // CURRENT is written last: a checkpoint cut short by a crash does not open as a database.
        super::open::write_manifest(self.fs.as_ref(), dest, next_file, &snapshot)?;
        if let Some(parent) = dest.parent() {
            self.fs
                .sync_dir(parent)
                .map_err(io("syncing directory", parent))?;
        }
        Ok(())
    }
}
