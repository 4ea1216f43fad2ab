//! [`FileSystem`] over the operating system's files.

use super::{FileLock, FileSystem, RandomAccessFile, WritableFile};
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Arc;

/// The real file system (POSIX semantics: `fdatasync`, directory fsync, `flock`).
#[derive(Debug, Default, Clone, Copy)]
pub struct StdFs;

struct StdWritable {
    file: File,
    /// The append position.
    len: u64,
    /// The file's size: past `len` when zeros were written ahead.
    size: u64,
}

impl WritableFile for StdWritable {
    fn append(&mut self, data: &[u8]) -> io::Result<()> {
        // Count what did get written, so `len` stays the file's true length after a failure.
        let mut rest = data;
        while !rest.is_empty() {
            match self.file.write(rest) {
                Ok(0) => return Err(io::Error::new(io::ErrorKind::WriteZero, "write returned 0")),
                Ok(n) => {
                    self.len += n as u64;
                    self.size = self.size.max(self.len);
                    rest = &rest[n..];
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    fn sync(&mut self) -> io::Result<()> {
        self.file.sync_data()
    }

    fn zero_fill(&mut self, len: u64) -> io::Result<()> {
        // Real zeros, not `fallocate`: a preallocated extent is "unwritten", and the first
        // write into it changes the block map, which is the journal commit this avoids.
        const CHUNK: usize = 256 * 1024;
        let zeros = vec![0u8; CHUNK];
        let mut at = self.size.max(self.len);
        while at < len {
            let n = usize::try_from(len - at).unwrap_or(CHUNK).min(CHUNK);
            self.file.write_all_at(&zeros[..n], at)?;
            at += n as u64;
            self.size = at;
        }
        self.file.sync_data()
    }

    fn sync_handle(&self) -> io::Result<super::SyncHandle> {
        let file = self.file.try_clone()?;
        Ok(Arc::new(move || file.sync_data()))
    }

    fn len(&self) -> u64 {
        self.len
    }
}

struct StdReadable {
    file: File,
    len: u64,
}

impl RandomAccessFile for StdReadable {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        self.file.read_exact_at(buf, offset)
    }

    fn len(&self) -> u64 {
        self.len
    }
}

struct StdLock {
    _file: File,
}

impl FileLock for StdLock {}

impl FileSystem for StdFs {
    fn create(&self, path: &Path) -> io::Result<Box<dyn WritableFile>> {
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)?;
        Ok(Box::new(StdWritable {
            file,
            len: 0,
            size: 0,
        }))
    }

    fn open(&self, path: &Path) -> io::Result<Arc<dyn RandomAccessFile>> {
        let file = File::open(path)?;
        let len = file.metadata()?.len();
        Ok(Arc::new(StdReadable { file, len }))
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        std::fs::rename(from, to)
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        std::fs::remove_file(path)
    }

    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        std::fs::create_dir_all(path)
    }

    fn list_dir(&self, path: &Path) -> io::Result<Vec<String>> {
        let mut names = Vec::new();
        for entry in std::fs::read_dir(path)? {
            names.push(entry?.file_name().to_string_lossy().into_owned());
        }
        Ok(names)
    }

    fn exists(&self, path: &Path) -> bool {
        path.exists()
    }

    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        File::open(path)?.sync_all()
    }

    fn hard_link(&self, from: &Path, to: &Path) -> io::Result<()> {
        match std::fs::hard_link(from, to) {
            Ok(()) => Ok(()),
            // Across devices, fall back to a copy, then make it durable.
            Err(e) if e.kind() == io::ErrorKind::CrossesDevices => {
                std::fs::copy(from, to)?;
                File::open(to)?.sync_all()
            }
            Err(e) => Err(e),
        }
    }

    fn lock(&self, path: &Path) -> io::Result<Box<dyn FileLock>> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        match file.try_lock() {
            Ok(()) => Ok(Box::new(StdLock { _file: file })),
            Err(std::fs::TryLockError::WouldBlock) => Err(io::Error::new(
                io::ErrorKind::WouldBlock,
                "lock held by another process",
            )),
            Err(std::fs::TryLockError::Error(e)) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_fill_writes_zeros_ahead_and_appends_overwrite_them() {
        let dir = std::env::temp_dir().join(format!("strata-zero-fill-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("1.log");
        let mut f = StdFs.create(&path).unwrap();
        f.append(b"abc").unwrap();
        f.zero_fill(300_000).unwrap();
        assert_eq!(f.len(), 3);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 300_000);
        f.append(b"defg").unwrap();
        f.zero_fill(1000).unwrap(); // already long enough: nothing changes
        f.sync().unwrap();
        let data = std::fs::read(&path).unwrap();
        assert_eq!(data.len(), 300_000);
        assert_eq!(&data[..7], b"abcdefg");
        assert!(data[7..].iter().all(|&b| b == 0));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
