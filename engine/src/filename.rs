//! Names of the files in a database directory.
//!
//! ```text
//! 000012.log        write-ahead log number 12
//! 000013.sst        table file number 13
//! MANIFEST-000014   manifest number 14
//! CURRENT           names the live manifest
//! LOCK              held while the database is open
//! *.tmp             partial files; deleted on open
//! ```
//! All numbers come from one counter, so every file has a distinct number.

use std::path::{Path, PathBuf};

/// A file the engine recognises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FileKind {
    Wal(u64),
    Table(u64),
    Manifest(u64),
    Current,
    Lock,
    Temp,
}

pub(crate) fn wal(dir: &Path, number: u64) -> PathBuf {
    dir.join(format!("{number:06}.log"))
}

pub(crate) fn table(dir: &Path, number: u64) -> PathBuf {
    dir.join(format!("{number:06}.sst"))
}

pub(crate) fn manifest(dir: &Path, number: u64) -> PathBuf {
    dir.join(format!("MANIFEST-{number:06}"))
}

pub(crate) fn current(dir: &Path) -> PathBuf {
    dir.join("CURRENT")
}

pub(crate) fn lock(dir: &Path) -> PathBuf {
    dir.join("LOCK")
}

/// Parses a file name; `None` for files that are not the engine's.
pub(crate) fn parse(name: &str) -> Option<FileKind> {
    let number = |s: &str| -> Option<u64> {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    if name == "CURRENT" {
        Some(FileKind::Current)
    } else if name == "LOCK" {
        Some(FileKind::Lock)
    } else if let Some(n) = name.strip_prefix("MANIFEST-") {
        number(n).map(FileKind::Manifest)
    } else if let Some(n) = name.strip_suffix(".log") {
        number(n).map(FileKind::Wal)
    } else if let Some(n) = name.strip_suffix(".sst") {
        number(n).map(FileKind::Table)
    } else if name.ends_with(".tmp") {
        Some(FileKind::Temp)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_roundtrip() {
        let d = Path::new("/d");
        let name = |p: PathBuf| p.file_name().unwrap().to_string_lossy().into_owned();
        assert_eq!(parse(&name(wal(d, 12))), Some(FileKind::Wal(12)));
        assert_eq!(
            parse(&name(table(d, 1_234_567))),
            Some(FileKind::Table(1_234_567))
        );
        assert_eq!(parse(&name(manifest(d, 3))), Some(FileKind::Manifest(3)));
        assert_eq!(parse("CURRENT"), Some(FileKind::Current));
        assert_eq!(parse("notes.txt"), None);
        assert_eq!(parse(".log"), None);
        assert_eq!(parse("x1.sst"), None);
    }
}
