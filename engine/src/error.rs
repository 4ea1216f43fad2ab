//! The engine's error type.

use std::path::PathBuf;

/// Everything that can go wrong in the engine.
///
/// Errors are meant to be read by a person: each variant carries what was being done and where.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An operating-system I/O error, with what the engine was doing when it happened.
    #[error("I/O error while {context}: {source}")]
    Io {
        /// What the engine was doing, e.g. "appending to 000012.log".
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Bytes read from disk failed verification: a checksum mismatch, a bad length or an
    /// undecodable structure. The data at this location is never returned.
    #[error("corruption in {} at offset {offset}: {detail}", file.display())]
    Corruption {
        /// The file holding the bad bytes.
        file: PathBuf,
        /// Byte offset in that file where the bad record or block starts.
        offset: u64,
        /// What was wrong.
        detail: String,
    },
    /// The caller passed something the engine cannot accept (an oversized key, a bad option...).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// Another process (or another `Db` in this one) holds the database directory's lock.
    #[error("database at {} is already open in another process (lock file {} is held)", dir.display(), lock_file.display())]
    Locked {
        /// The database directory.
        dir: PathBuf,
        /// The lock file that could not be taken.
        lock_file: PathBuf,
    },
    /// A background flush failed or a WAL write failed part-way; the database refuses further
    /// writes (reads still work) until it is reopened. The message says what failed.
    #[error("database is read-only after a background error: {0}")]
    ReadOnly(String),
    /// The database is closing; the operation was abandoned.
    #[error("the database is shutting down")]
    ShuttingDown,
    /// The database directory does not exist, or does not hold a database, and `create_if_missing`
    /// was off.
    #[error("no database at {}: {detail}", dir.display())]
    NotFound {
        /// The directory that was opened.
        dir: PathBuf,
        /// Why it does not qualify.
        detail: String,
    },
    /// The keyspace does not exist (it was never created, or it was dropped).
    #[error("keyspace {name:?} does not exist (never created, or dropped)")]
    KeyspaceNotFound {
        /// The keyspace's name.
        name: String,
    },
    /// A transaction could not commit because a key it read, or a range it scanned, was
    /// changed by another commit after it began (serializable isolation). Nothing was
    /// written; retry the transaction from the start.
    #[error("transaction conflict: {0}; nothing was written, retry the transaction")]
    Conflict(String),
}

/// The engine's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Wraps an I/O error with the operation and path it concerns.
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    /// A corruption error at `offset` in `file`.
    pub(crate) fn corruption(
        file: impl Into<PathBuf>,
        offset: u64,
        detail: impl Into<String>,
    ) -> Self {
        Error::Corruption {
            file: file.into(),
            offset,
            detail: detail.into(),
        }
    }

    /// Whether this is a transaction conflict (the transaction may be retried).
    pub fn is_conflict(&self) -> bool {
        matches!(self, Error::Conflict(_))
    }

    /// Whether this is a corruption error.
    pub fn is_corruption(&self) -> bool {
        matches!(self, Error::Corruption { .. })
    }

    /// A copy of this error suitable for handing to several waiters (I/O sources are not `Clone`).
    pub(crate) fn duplicate(&self) -> Error {
        match self {
            Error::Io { context, source } => Error::Io {
                context: context.clone(),
                source: std::io::Error::new(source.kind(), source.to_string()),
            },
            Error::Corruption {
                file,
                offset,
                detail,
            } => Error::Corruption {
                file: file.clone(),
                offset: *offset,
                detail: detail.clone(),
            },
            Error::InvalidArgument(m) => Error::InvalidArgument(m.clone()),
            Error::Locked { dir, lock_file } => Error::Locked {
                dir: dir.clone(),
                lock_file: lock_file.clone(),
            },
            Error::ReadOnly(m) => Error::ReadOnly(m.clone()),
            Error::ShuttingDown => Error::ShuttingDown,
            Error::NotFound { dir, detail } => Error::NotFound {
                dir: dir.clone(),
                detail: detail.clone(),
            },
            Error::KeyspaceNotFound { name } => Error::KeyspaceNotFound { name: name.clone() },
            Error::Conflict(m) => Error::Conflict(m.clone()),
        }
    }
}
