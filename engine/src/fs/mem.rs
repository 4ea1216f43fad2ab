//! [`MemFs`]: an in-memory file system with durability tracking and fault injection, for tests.
//!
//! Durability model (the POSIX worst case): an appended byte is durable once its file is synced;
//! a creation, rename or removal is durable once its parent directory is synced. [`MemFs::crash`]
//! simulates power loss: every file is cut back to its synced length and the directory entries
//! return to their last synced state.

use super::{FileLock, FileSystem, RandomAccessFile, WritableFile};
use parking_lot::Mutex;
use std::collections::{BTreeMap, HashSet};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The operation a [`FaultRule`] fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultOp {
    /// `WritableFile::append`.
    Append,
    /// `WritableFile::sync`.
    Sync,
    /// `FileSystem::create`.
    Create,
    /// `FileSystem::rename`.
    Rename,
    /// `FileSystem::sync_dir`.
    SyncDir,
    /// `WritableFile::zero_fill`.
    ZeroFill,
}

/// A fault to inject: the `skip + 1`-th matching operation fails, and every later one too when
/// `sticky`.
#[derive(Debug, Clone)]
pub struct FaultRule {
    /// Which operation fails.
    pub op: FaultOp,
    /// Only files whose name contains this (e.g. ".log", ".sst", "MANIFEST"); `None` matches
    /// all.
    pub name_contains: Option<String>,
    /// The error returned (e.g. `ErrorKind::StorageFull` for ENOSPC).
    pub kind: io::ErrorKind,
    /// How many matching operations succeed before the fault fires.
    pub skip: u64,
    /// For appends: write the first half of the data before failing (a short write).
    pub short_write: bool,
    /// Keep failing after the first fault.
    pub sticky: bool,
}

impl FaultRule {
    /// A rule failing `op` on every file, on its first occurrence, once.
    pub fn new(op: FaultOp, kind: io::ErrorKind) -> Self {
        FaultRule {
            op,
            name_contains: None,
            kind,
            skip: 0,
            short_write: false,
            sticky: false,
        }
    }
    /// Restricts the rule to files whose name contains `pattern`.
    pub fn on_files(mut self, pattern: &str) -> Self {
        self.name_contains = Some(pattern.to_string());
        self
    }
    /// Lets `n` matching operations succeed first.
    pub fn after(mut self, n: u64) -> Self {
        self.skip = n;
        self
    }
    /// Makes a failing append write half of its data first.
    pub fn short(mut self) -> Self {
        self.short_write = true;
        self
    }
    /// Keeps failing once triggered.
    pub fn sticky(mut self) -> Self {
        self.sticky = true;
        self
    }
}

/// Bytes of one chunk of a file's contents.
const CHUNK: usize = 64 * 1024;

/// A file's contents, in chunks of [`CHUNK`] bytes: a growing file never moves what it holds.
/// (In one `Vec`, each doubling copied the whole file — tens of milliseconds for a write-ahead
/// log of some size, on the write that happened to cross it: `strata serve --in-memory` runs
/// on this file system.)
///
/// **Invariant:** every byte past `len` in the last chunk is zero, so growing is allocating.
#[derive(Default)]
struct Chunks {
    chunks: Vec<Box<[u8]>>,
    len: usize,
}

impl Chunks {
    fn from_slice(data: &[u8]) -> Chunks {
        let mut c = Chunks::default();
        c.write(0, data);
        c
    }

    fn len(&self) -> usize {
        self.len
    }

    /// Cuts the contents to `len` bytes, or extends them with zeros.
    fn resize(&mut self, len: usize) {
        if len < self.len {
            let kept = len.div_ceil(CHUNK);
            self.chunks.truncate(kept);
            if let Some(last) = self.chunks.last_mut() {
                last[len - (kept - 1) * CHUNK..].fill(0);
            }
        }
        while self.chunks.len() * CHUNK < len {
            self.chunks.push(vec![0; CHUNK].into_boxed_slice());
        }
        self.len = len;
    }

    /// Zeroes everything from `from` to the end.
    fn zero_from(&mut self, from: usize) {
        let len = self.len;
        self.resize(from.min(len));
        self.resize(len);
    }

    /// Writes `bytes` at `pos` (at most the length), extending the contents past their end.
    fn write(&mut self, pos: usize, bytes: &[u8]) {
        debug_assert!(pos <= self.len);
        let end = pos + bytes.len();
        if end > self.len {
            self.resize(end);
        }
        for (chunk, offset, done, n) in pieces(pos, bytes.len()) {
            self.chunks[chunk][offset..offset + n].copy_from_slice(&bytes[done..done + n]);
        }
    }

    /// Fills `buf` from `pos`; the caller checks that `pos + buf.len()` is within the length.
    fn read(&self, pos: usize, buf: &mut [u8]) {
        for (chunk, offset, done, n) in pieces(pos, buf.len()) {
            buf[done..done + n].copy_from_slice(&self.chunks[chunk][offset..offset + n]);
        }
    }

    fn to_vec(&self) -> Vec<u8> {
        let mut out = vec![0; self.len];
        self.read(0, &mut out);
        out
    }
}

/// The pieces of the `len` bytes at `pos`, one per chunk they touch: (chunk, offset in the
/// chunk, offset in the caller's buffer, length).
fn pieces(pos: usize, len: usize) -> impl Iterator<Item = (usize, usize, usize, usize)> {
    let mut done = 0;
    std::iter::from_fn(move || {
        (done < len).then(|| {
            let at = pos + done;
            let (chunk, offset) = (at / CHUNK, at % CHUNK);
            let n = (len - done).min(CHUNK - offset);
            let piece = (chunk, offset, done, n);
            done += n;
            piece
        })
    })
}

/// One file. `data` is everything in it, including zeros written ahead of the append position
/// by [`WritableFile::zero_fill`]; appends overwrite those zeros in place.
#[derive(Default)]
struct FileData {
    data: Chunks,
    /// How much of `data` survives a crash.
    synced_len: usize,
    /// The append position. **Invariant:** `len <= data.len()`.
    len: usize,
    /// The append position at the last sync: a crash turns later appends inside the surviving
    /// length back into the zeros they overwrote.
    synced_pos: usize,
}

impl FileData {
    /// Writes `bytes` at the append position.
    fn write_at_end(&mut self, bytes: &[u8]) {
        // Overwrites what lies past the append position (a zero-filled tail), then extends.
        self.data.write(self.len, bytes);
        self.len += bytes.len();
    }

    /// Makes everything written durable.
    fn sync(&mut self) {
        self.synced_len = self.data.len();
        self.synced_pos = self.len;
    }
}

type FileRef = Arc<Mutex<FileData>>;

#[derive(Default)]
struct State {
    /// Live directory entries.
    names: BTreeMap<PathBuf, FileRef>,
    /// Directory entries as they would be found after power loss.
    durable_names: BTreeMap<PathBuf, FileRef>,
    dirs: HashSet<PathBuf>,
    locks: HashSet<PathBuf>,
    rules: Vec<(FaultRule, u64, bool)>,
}

impl State {
    /// Whether an operation on `path` should fail now; counts matching operations.
    fn check(&mut self, op: FaultOp, path: &Path) -> Option<(io::ErrorKind, bool)> {
        for (rule, seen, fired) in &mut self.rules {
            if rule.op != op {
                continue;
            }
            if let Some(pattern) = &rule.name_contains {
                let file_name = path.file_name().map(|n| n.to_string_lossy());
                if !file_name.is_some_and(|n| n.contains(pattern.as_str())) {
                    continue;
                }
            }
            if *fired && rule.sticky {
                return Some((rule.kind, rule.short_write));
            }
            if *fired {
                continue;
            }
            if *seen >= rule.skip {
                *fired = true;
                return Some((rule.kind, rule.short_write));
            }
            *seen += 1;
        }
        None
    }
}

/// An in-memory [`FileSystem`] with power-loss simulation and fault injection. Clones share the
/// same files.
#[derive(Clone, Default)]
pub struct MemFs {
    state: Arc<Mutex<State>>,
}

impl std::fmt::Debug for MemFs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemFs").finish_non_exhaustive()
    }
}

fn injected(kind: io::ErrorKind) -> io::Error {
    io::Error::new(kind, format!("injected fault: {kind}"))
}

fn not_found(path: &Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        format!("{} not found", path.display()),
    )
}

impl MemFs {
    /// An empty file system.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a fault rule.
    pub fn inject(&self, rule: FaultRule) {
        self.state.lock().rules.push((rule, 0, false));
    }

    /// Removes every fault rule.
    pub fn clear_faults(&self) {
        self.state.lock().rules.clear();
    }

    /// Simulates power loss: drops unsynced bytes and unsynced directory changes, and releases
    /// all locks. The database using this file system must be dropped (or abandoned) first.
    pub fn crash(&self) {
        let mut state = self.state.lock();
        state.names = state.durable_names.clone();
        for file in state.names.values() {
            let mut f = file.lock();
            let (len, pos) = (f.synced_len, f.synced_pos);
            let kept = len.min(f.data.len());
            f.data.resize(kept);
            f.data.zero_from(pos.min(len));
            f.len = pos.min(len);
        }
        state.locks.clear();
    }

    /// The current contents of a file (for corruption tests).
    pub fn read_file(&self, path: &Path) -> Option<Vec<u8>> {
        self.state
            .lock()
            .names
            .get(path)
            .map(|f| f.lock().data.to_vec())
    }

    /// Replaces a file's contents, durably (for corruption tests).
    pub fn write_file(&self, path: &Path, data: Vec<u8>) {
        let mut state = self.state.lock();
        let file = Arc::new(Mutex::new(FileData {
            synced_len: data.len(),
            len: data.len(),
            synced_pos: data.len(),
            data: Chunks::from_slice(&data),
        }));
        state.names.insert(path.to_path_buf(), file.clone());
        state.durable_names.insert(path.to_path_buf(), file);
    }
}

struct MemWritable {
    path: PathBuf,
    file: FileRef,
    state: Arc<Mutex<State>>,
}

impl WritableFile for MemWritable {
    fn append(&mut self, data: &[u8]) -> io::Result<()> {
        if let Some((kind, short)) = self.state.lock().check(FaultOp::Append, &self.path) {
            if short {
                self.file.lock().write_at_end(&data[..data.len() / 2]);
            }
            return Err(injected(kind));
        }
        self.file.lock().write_at_end(data);
        Ok(())
    }

    fn zero_fill(&mut self, len: u64) -> io::Result<()> {
        if let Some((kind, _)) = self.state.lock().check(FaultOp::ZeroFill, &self.path) {
            return Err(injected(kind));
        }
        let mut f = self.file.lock();
        let len = usize::try_from(len).unwrap_or(usize::MAX);
        if len > f.data.len() {
            f.data.resize(len);
        }
        f.sync();
        Ok(())
    }

    fn sync(&mut self) -> io::Result<()> {
        sync_file(&self.state, &self.path, &self.file)
    }

    fn sync_handle(&self) -> io::Result<super::SyncHandle> {
        let (state, path, file) = (self.state.clone(), self.path.clone(), self.file.clone());
        Ok(Arc::new(move || sync_file(&state, &path, &file)))
    }

    fn len(&self) -> u64 {
        self.file.lock().len as u64
    }
}

fn sync_file(state: &Mutex<State>, path: &Path, file: &FileRef) -> io::Result<()> {
    if let Some((kind, _)) = state.lock().check(FaultOp::Sync, path) {
        return Err(injected(kind));
    }
    file.lock().sync();
    Ok(())
}

struct MemReadable {
    file: FileRef,
}

impl RandomAccessFile for MemReadable {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        let f = self.file.lock();
        let start = usize::try_from(offset).unwrap_or(usize::MAX);
        let end = start.saturating_add(buf.len());
        if end > f.data.len() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "read past end of file",
            ));
        }
        f.data.read(start, buf);
        Ok(())
    }

    fn len(&self) -> u64 {
        self.file.lock().data.len() as u64
    }
}

struct MemLock {
    path: PathBuf,
    state: Arc<Mutex<State>>,
}

impl FileLock for MemLock {}

impl Drop for MemLock {
    fn drop(&mut self) {
        self.state.lock().locks.remove(&self.path);
    }
}

impl FileSystem for MemFs {
    fn create(&self, path: &Path) -> io::Result<Box<dyn WritableFile>> {
        let mut state = self.state.lock();
        if let Some((kind, _)) = state.check(FaultOp::Create, path) {
            return Err(injected(kind));
        }
        let parent = path.parent().unwrap_or(Path::new(""));
        if !state.dirs.contains(parent) {
            return Err(not_found(parent));
        }
        let file: FileRef = Arc::default();
        state.names.insert(path.to_path_buf(), file.clone());
        Ok(Box::new(MemWritable {
            path: path.to_path_buf(),
            file,
            state: self.state.clone(),
        }))
    }

    fn open(&self, path: &Path) -> io::Result<Arc<dyn RandomAccessFile>> {
        let state = self.state.lock();
        let file = state
            .names
            .get(path)
            .ok_or_else(|| not_found(path))?
            .clone();
        Ok(Arc::new(MemReadable { file }))
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let mut state = self.state.lock();
        if let Some((kind, _)) = state.check(FaultOp::Rename, to) {
            return Err(injected(kind));
        }
        let file = state.names.remove(from).ok_or_else(|| not_found(from))?;
        state.names.insert(to.to_path_buf(), file);
        Ok(())
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        let mut state = self.state.lock();
        state.names.remove(path).ok_or_else(|| not_found(path))?;
        Ok(())
    }

    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        let mut state = self.state.lock();
        for ancestor in path.ancestors() {
            state.dirs.insert(ancestor.to_path_buf());
        }
        Ok(())
    }

    fn list_dir(&self, path: &Path) -> io::Result<Vec<String>> {
        let state = self.state.lock();
        if !state.dirs.contains(path) {
            return Err(not_found(path));
        }
        Ok(state
            .names
            .keys()
            .filter(|p| p.parent() == Some(path))
            .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .collect())
    }

    fn exists(&self, path: &Path) -> bool {
        let state = self.state.lock();
        state.names.contains_key(path) || state.dirs.contains(path)
    }

    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        let mut state = self.state.lock();
        if let Some((kind, _)) = state.check(FaultOp::SyncDir, path) {
            return Err(injected(kind));
        }
        let in_dir = |p: &PathBuf| p.parent() == Some(path);
        state.durable_names.retain(|p, _| !in_dir(p));
        let live: Vec<_> = state
            .names
            .iter()
            .filter(|(p, _)| in_dir(p))
            .map(|(p, f)| (p.clone(), f.clone()))
            .collect();
        state.durable_names.extend(live);
        Ok(())
    }

    fn hard_link(&self, from: &Path, to: &Path) -> io::Result<()> {
        let mut state = self.state.lock();
        let file = state
            .names
            .get(from)
            .ok_or_else(|| not_found(from))?
            .clone();
        state.names.insert(to.to_path_buf(), file);
        Ok(())
    }

    fn lock(&self, path: &Path) -> io::Result<Box<dyn FileLock>> {
        let mut state = self.state.lock();
        if !state.locks.insert(path.to_path_buf()) {
            return Err(io::Error::new(
                io::ErrorKind::WouldBlock,
                "lock held elsewhere",
            ));
        }
        Ok(Box::new(MemLock {
            path: path.to_path_buf(),
            state: self.state.clone(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// One operation on a file's contents.
    #[derive(Debug, Clone)]
    enum ChunkOp {
        /// Write this many bytes of a pattern at this fraction of the length.
        Write(u8, usize, f64),
        Resize(usize),
        ZeroFrom(f64),
    }

    fn chunk_op() -> impl Strategy<Value = ChunkOp> {
        // Sizes around the chunk size, so writes and cuts cross chunk boundaries.
        let size = prop_oneof![0..300usize, (CHUNK - 300)..(CHUNK + 300), 0..(3 * CHUNK)];
        prop_oneof![
            (any::<u8>(), size.clone(), 0.0..=1.0f64)
                .prop_map(|(b, n, at)| ChunkOp::Write(b, n, at)),
            size.prop_map(ChunkOp::Resize),
            (0.0..=1.0f64).prop_map(ChunkOp::ZeroFrom),
        ]
    }

    proptest! {
        /// Chunked contents read back as a plain vector given the same operations would,
        /// at every offset.
        #[test]
        fn chunks_behave_as_a_vector(ops in proptest::collection::vec(chunk_op(), 1..30)) {
            let (mut chunks, mut model) = (Chunks::default(), Vec::<u8>::new());
            for op in ops {
                match op {
                    ChunkOp::Write(b, n, at) => {
                        let pos = (model.len() as f64 * at) as usize;
                        let bytes: Vec<u8> = (0..n).map(|i| b.wrapping_add(i as u8)).collect();
                        chunks.write(pos, &bytes);
                        let end = pos + n;
                        if end > model.len() {
                            model.resize(end, 0);
                        }
                        model[pos..end].copy_from_slice(&bytes);
                    }
                    ChunkOp::Resize(len) => {
                        chunks.resize(len);
                        model.resize(len, 0);
                    }
                    ChunkOp::ZeroFrom(at) => {
                        let from = (model.len() as f64 * at) as usize;
                        chunks.zero_from(from);
                        model[from..].fill(0);
                    }
                }
                prop_assert_eq!(chunks.len(), model.len());
                prop_assert!(chunks.to_vec() == model, "contents differ");
                if !model.is_empty() {
                    let start = model.len() / 3;
                    let mut part = vec![0; model.len() - start];
                    chunks.read(start, &mut part);
                    prop_assert!(part[..] == model[start..], "a read from {} differs", start);
                }
            }
        }
    }

    #[test]
    fn crash_drops_unsynced_bytes_and_entries() {
        let fs = MemFs::new();
        let dir = Path::new("/db");
        fs.create_dir_all(dir).unwrap();
        let mut a = fs.create(&dir.join("a")).unwrap();
        a.append(b"hello").unwrap();
        a.sync().unwrap();
        fs.sync_dir(dir).unwrap();
        a.append(b" world").unwrap();
        let mut b = fs.create(&dir.join("b")).unwrap();
        b.append(b"lost").unwrap();
        b.sync().unwrap(); // synced data, but the entry was never made durable
        fs.crash();
        assert_eq!(fs.read_file(&dir.join("a")).unwrap(), b"hello");
        assert!(fs.read_file(&dir.join("b")).is_none());
    }

    #[test]
    fn zero_fill_keeps_the_append_position_and_a_crash_reverts_unsynced_overwrites() {
        let fs = MemFs::new();
        let dir = Path::new("/db");
        fs.create_dir_all(dir).unwrap();
        let path = dir.join("1.log");
        let mut log = fs.create(&path).unwrap();
        fs.sync_dir(dir).unwrap();
        log.append(b"abc").unwrap();
        log.zero_fill(10).unwrap();
        assert_eq!(log.len(), 3);
        assert_eq!(fs.read_file(&path).unwrap(), b"abc\0\0\0\0\0\0\0");
        log.append(b"de").unwrap();
        log.sync().unwrap();
        log.append(b"fg").unwrap(); // overwrites zeros, never synced
        assert_eq!(fs.read_file(&path).unwrap(), b"abcdefg\0\0\0");
        log.append(b"hijk").unwrap(); // runs past the zeros
        assert_eq!(log.len(), 11);
        fs.crash();
        assert_eq!(fs.read_file(&path).unwrap(), b"abcde\0\0\0\0\0");
        fs.inject(FaultRule::new(
            FaultOp::ZeroFill,
            io::ErrorKind::StorageFull,
        ));
        let mut other = fs.create(&dir.join("2.log")).unwrap();
        assert!(other.zero_fill(100).is_err());
        assert!(fs.read_file(&dir.join("2.log")).unwrap().is_empty());
    }

    #[test]
    fn faults_fire_after_skip_and_short_write_leaves_prefix() {
        let fs = MemFs::new();
        let dir = Path::new("/db");
        fs.create_dir_all(dir).unwrap();
        fs.inject(
            FaultRule::new(FaultOp::Append, io::ErrorKind::StorageFull)
                .on_files(".log")
                .after(1)
                .short(),
        );
        let mut other = fs.create(&dir.join("x.sst")).unwrap();
        other.append(b"ok").unwrap();
        let mut log = fs.create(&dir.join("1.log")).unwrap();
        log.append(b"first").unwrap();
        let err = log.append(b"abcd").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::StorageFull);
        assert_eq!(fs.read_file(&dir.join("1.log")).unwrap(), b"firstab");
        log.append(b"!").unwrap(); // not sticky
    }

    #[test]
    fn lock_is_exclusive_until_dropped() {
        let fs = MemFs::new();
        let l = fs.lock(Path::new("/LOCK")).unwrap();
        assert!(fs.lock(Path::new("/LOCK")).is_err());
        drop(l);
        assert!(fs.lock(Path::new("/LOCK")).is_ok());
    }
}
