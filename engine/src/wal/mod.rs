//! The log format shared by the write-ahead log and the manifest.
//!
//! A log is a sequence of 32 KiB blocks. A record is split into fragments that never cross a
//! block boundary; each fragment has a 7-byte header:
//!
//! ```text
//! +----------------+-------------+---------+--------------------+
//! | checksum u32LE | length u16LE| type u8 | payload (length B) |
//! +----------------+-------------+---------+--------------------+
//! checksum = low 32 bits of xxh3_64(type || payload)
//! type: 1 FULL | 2 FIRST | 3 MIDDLE | 4 LAST   (written to disk, never change)
//! ```
//!
//! When fewer than 7 bytes remain in a block, they are zero-filled and the next fragment starts
//! in the next block. Why blocks: after a bad fragment the reader can resynchronise at the next
//! block boundary, which is how it tells a *torn tail* (a crash mid-append: nothing valid follows
//! the damage, so the valid prefix is kept) from *corruption in the middle of a log* (valid
//! fragments follow the damage: an error, since acknowledged writes would be lost).

mod reader;
mod writer;

pub(crate) use reader::{DamagePolicy, LogReader};
pub(crate) use writer::LogWriter;

/// Size of a log block.
pub(crate) const BLOCK_SIZE: usize = 32 * 1024;
/// Size of a fragment header.
pub(crate) const HEADER_SIZE: usize = 7;

/// Fragment types. Written to disk: never change or reuse a value.
pub(crate) mod fragment {
    /// A whole record.
    pub(crate) const FULL: u8 = 1;
    /// The first fragment of a record.
    pub(crate) const FIRST: u8 = 2;
    /// A middle fragment.
    pub(crate) const MIDDLE: u8 = 3;
    /// The last fragment.
    pub(crate) const LAST: u8 = 4;
}

/// Checksum of a fragment: its type byte followed by its payload.
pub(crate) fn fragment_checksum(kind: u8, payload: &[u8]) -> u32 {
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    hasher.update(&[kind]);
    hasher.update(payload);
    hasher.digest() as u32
}

#[cfg(test)]
mod tests;
