//! The file-system seam: every byte the engine reads or writes goes through [`FileSystem`].
//!
//! Production uses [`StdFs`]. Tests use [`MemFs`], an in-memory file system that tracks which
//! bytes and directory entries were made durable, can simulate power loss by dropping everything
//! that was not, and injects faults (EIO, ENOSPC, short writes, failed fsyncs) on chosen files.

mod mem;
mod std_fs;

pub use mem::{FaultOp, FaultRule, MemFs};
pub use std_fs::StdFs;

use std::io;
use std::path::Path;
use std::sync::Arc;

/// A file opened for appending. Appends go straight to the OS (no user-space buffering), so
/// an acknowledged append survives the process being killed; [`WritableFile::sync`] makes it
/// survive power loss too.
pub trait WritableFile: Send {
    /// Appends all of `data` at the end of the file, or fails. A failure may leave a prefix of
    /// `data` written.
    fn append(&mut self, data: &[u8]) -> io::Result<()>;
    /// Makes every byte appended so far durable (fdatasync).
    fn sync(&mut self) -> io::Result<()>;
    /// A handle that syncs this file from another thread while appends go on: each call makes
    /// every byte appended before it durable.
    fn sync_handle(&self) -> io::Result<SyncHandle>;
    /// Makes the file at least `len` bytes long by writing zeros past the append position, and
    /// makes them and everything appended so far durable. The append position does not move:
    /// later appends overwrite the zeros in place, so syncing them changes no file metadata
    /// (size, block map) and `fdatasync` skips the file system's journal. The default does
    /// nothing, which is correct, only slower.
    fn zero_fill(&mut self, len: u64) -> io::Result<()> {
        let _ = len;
        Ok(())
    }
    /// Bytes appended so far (the append position; the file may hold zeros past it).
    fn len(&self) -> u64;
    /// Whether nothing has been appended.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Syncs one file; see [`WritableFile::sync_handle`].
pub type SyncHandle = Arc<dyn Fn() -> io::Result<()> + Send + Sync>;

/// A file opened for positional reads by many threads at once.
pub trait RandomAccessFile: Send + Sync {
    /// Fills `buf` with the bytes at `offset`; reading past the end is an `UnexpectedEof` error.
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()>;
    /// The file's length in bytes.
    fn len(&self) -> u64;
    /// Whether the file is empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A held advisory lock on a file; released on drop.
pub trait FileLock: Send + Sync {}

/// The operations the engine needs from a file system.
pub trait FileSystem: Send + Sync + 'static {
    /// Creates (or truncates) a file for appending.
    fn create(&self, path: &Path) -> io::Result<Box<dyn WritableFile>>;
    /// Opens an existing file for reading.
    fn open(&self, path: &Path) -> io::Result<Arc<dyn RandomAccessFile>>;
    /// Atomically renames `from` to `to`, replacing `to`.
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Removes a file.
    fn remove_file(&self, path: &Path) -> io::Result<()>;
    /// Creates a directory and its parents.
    fn create_dir_all(&self, path: &Path) -> io::Result<()>;
    /// The names of the entries in a directory.
    fn list_dir(&self, path: &Path) -> io::Result<Vec<String>>;
    /// Whether a file or directory exists.
    fn exists(&self, path: &Path) -> bool;
    /// Makes the directory's entries (creations, renames, removals) durable.
    fn sync_dir(&self, path: &Path) -> io::Result<()>;
    /// Creates `to` as a hard link to `from` (or a copy, where links are not possible).
    fn hard_link(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Takes an exclusive lock on `path`, creating it if needed. Fails with
    /// `io::ErrorKind::WouldBlock` if the lock is held elsewhere.
    fn lock(&self, path: &Path) -> io::Result<Box<dyn FileLock>>;
}

/// Reads a whole (small) file through the file system.
pub(crate) fn read_all(fs: &dyn FileSystem, path: &Path) -> io::Result<Vec<u8>> {
    let file = fs.open(path)?;
    let len = usize::try_from(file.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "file too large"))?;
    let mut buf = vec![0u8; len];
    file.read_exact_at(&mut buf, 0)?;
    Ok(buf)
}
