//! The SSTable file layout: blocks with trailers, block handles, and the footer.
//!
//! ```text
//! +--------------+-----+--------------+--------------+-------------+-------------+--------+
//! | data block 0 | ... | data block n | filter block | props block | index block | footer |
//! +--------------+-----+--------------+--------------+-------------+-------------+--------+
//!
//! every block := payload | compression u8 | checksum u64LE
//!   checksum = xxh3_64(payload || compression)
//!   compression 0: payload is the block;
//!   compression 1: payload is varint(uncompressed length) || zstd frame
//!   compression 2: payload is varint(uncompressed length) || LZ4 block (the LZ4 block
//!                  format, no frame: the checksum and the length prefix stand in for one)
//!
//! footer (72 bytes) :=
//!   index offset u64 | index size u64 | filter offset u64 | filter size u64 |
//!   props offset u64 | props size u64 | format version u32 | reserved u32 (0) |
//!   checksum u64 (xxh3_64 of the 56 bytes before it) | magic u64
//! ```
//!
//! A handle's size excludes the 9-byte trailer. The index block maps the last internal key of
//! each data block to the block's handle (varint offset, varint size). The filter block is a
//! bloom filter over the table's user keys; the props block holds [`super::TableProps`].

use super::block::Block;
use crate::coding::{get_varint, put_varint, u32_at, u64_at};
use crate::fs::RandomAccessFile;
use crate::{Error, Result};
use bytes::Bytes;
use std::cell::RefCell;
use std::path::PathBuf;
use std::sync::Arc;

/// Identifies an SSTable file. Written to disk: never change.
pub(crate) const MAGIC: u64 = 0x5354_5241_5441_5353; // "STRATASS"
/// The table format this code writes.
pub(crate) const FORMAT_VERSION: u32 = 1;
/// Size of the footer.
pub(crate) const FOOTER_SIZE: usize = 72;
/// Size of a block trailer.
pub(crate) const TRAILER_SIZE: usize = 9;
/// Largest block (after decompression) a reader will accept.
const MAX_BLOCK_SIZE: usize = 256 * 1024 * 1024;

/// Block compression codes. Written to disk: never change or reuse a value.
pub(crate) mod codec {
    /// Stored as is.
    pub(crate) const NONE: u8 = 0;
    /// zstd, with the uncompressed length as a varint prefix.
    pub(crate) const ZSTD: u8 = 1;
    /// LZ4 block format, with the uncompressed length as a varint prefix.
    pub(crate) const LZ4: u8 = 2;
}

/// Compresses blocks as a table is written, keeping its codec's state between blocks.
pub(crate) enum BlockCompressor {
    /// Blocks are stored as they are.
    None,
    /// LZ4; the buffer holds each compressed block before it is framed.
    Lz4(Vec<u8>),
    /// zstd, with one context for every block of the table.
    Zstd(Box<zstd::bulk::Compressor<'static>>),
}

impl BlockCompressor {
    /// A compressor for `compression`.
    pub(crate) fn new(compression: crate::Compression) -> Result<Self> {
        Ok(match compression {
            crate::Compression::None => BlockCompressor::None,
            crate::Compression::Lz4 => BlockCompressor::Lz4(Vec::new()),
            crate::Compression::Zstd { level } => BlockCompressor::Zstd(Box::new(
                zstd::bulk::Compressor::new(level)
                    .map_err(|e| Error::io("creating a zstd compressor", e))?,
            )),
        })
    }

    /// Compresses `raw`, returning the codec and the compressed bytes, or `None` when the
    /// compressor stores blocks as they are.
    fn compress<'a>(&'a mut self, raw: &[u8]) -> Result<Option<(u8, CompressedBytes<'a>)>> {
        match self {
            BlockCompressor::None => Ok(None),
            BlockCompressor::Lz4(buf) => {
                buf.resize(lz4_flex::block::get_maximum_output_size(raw.len()), 0);
                let n = lz4_flex::block::compress_into(raw, buf)
                    .map_err(|e| Error::io("compressing a block", std::io::Error::other(e)))?;
                Ok(Some((codec::LZ4, CompressedBytes::Borrowed(&buf[..n]))))
            }
            BlockCompressor::Zstd(c) => {
                let compressed = c
                    .compress(raw)
                    .map_err(|e| Error::io("compressing a block", e))?;
                Ok(Some((codec::ZSTD, CompressedBytes::Owned(compressed))))
            }
        }
    }
}

/// A compressed block, in the compressor's buffer or in a buffer of its own.
enum CompressedBytes<'a> {
    Borrowed(&'a [u8]),
    Owned(Vec<u8>),
}

impl std::ops::Deref for CompressedBytes<'_> {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            CompressedBytes::Borrowed(b) => b,
            CompressedBytes::Owned(v) => v,
        }
    }
}

/// Where a block is in its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct BlockHandle {
    pub(crate) offset: u64,
    pub(crate) size: u64,
}

impl BlockHandle {
    pub(crate) fn encode(&self, buf: &mut Vec<u8>) {
        put_varint(buf, self.offset);
        put_varint(buf, self.size);
    }

    pub(crate) fn decode(mut src: &[u8]) -> Option<BlockHandle> {
        let offset = get_varint(&mut src)?;
        let size = get_varint(&mut src)?;
        src.is_empty().then_some(BlockHandle { offset, size })
    }
}

/// The decoded footer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Footer {
    pub(crate) index: BlockHandle,
    pub(crate) filter: BlockHandle,
    pub(crate) props: BlockHandle,
}

impl Footer {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(FOOTER_SIZE);
        for h in [self.index, self.filter, self.props] {
            out.extend_from_slice(&h.offset.to_le_bytes());
            out.extend_from_slice(&h.size.to_le_bytes());
        }
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        let checksum = crate::coding::checksum64(&out);
        out.extend_from_slice(&checksum.to_le_bytes());
        out.extend_from_slice(&MAGIC.to_le_bytes());
        out
    }

    /// Decodes the footer of a file of `file_len` bytes.
    pub(crate) fn decode(buf: &[u8], path: &PathBuf, file_len: u64) -> Result<Footer> {
        let at = file_len.saturating_sub(FOOTER_SIZE as u64);
        let bad = |d: String| Error::corruption(path, at, format!("bad table footer: {d}"));
        let field = |i: usize| u64_at(buf, i * 8).unwrap_or(0);
        if u64_at(buf, 64) != Some(MAGIC) {
            return Err(bad(
                "wrong magic number (not a strata table, or truncated)".into()
            ));
        }
        if u64_at(buf, 56) != Some(crate::coding::checksum64(&buf[..56])) {
            return Err(bad("checksum mismatch".into()));
        }
        let version = u32_at(buf, 48).unwrap_or(0);
        if version != FORMAT_VERSION {
            return Err(bad(format!(
                "format version {version} is not supported (this build reads {FORMAT_VERSION})"
            )));
        }
        let h = |i: usize| BlockHandle {
            offset: field(2 * i),
            size: field(2 * i + 1),
        };
        let footer = Footer {
            index: h(0),
            filter: h(1),
            props: h(2),
        };
        let limit = file_len - FOOTER_SIZE as u64;
        for (name, handle) in [
            ("index", footer.index),
            ("filter", footer.filter),
            ("props", footer.props),
        ] {
            let end = handle
                .offset
                .checked_add(handle.size)
                .and_then(|e| e.checked_add(TRAILER_SIZE as u64));
            if end.is_none_or(|e| e > limit) {
                return Err(bad(format!("{name} block handle points outside the file")));
            }
        }
        Ok(footer)
    }
}

/// Frames a block for writing: compresses it when that saves at least 1/8, then appends the
/// trailer.
pub(crate) fn frame_block(
    raw: &[u8],
    compressor: &mut BlockCompressor,
    out: &mut Vec<u8>,
) -> Result<()> {
    let start = out.len();
    let mut prefix = Vec::with_capacity(10);
    put_varint(&mut prefix, raw.len() as u64);
    let codec = match compressor.compress(raw)? {
        Some((codec, compressed))
            if compressed.len() + prefix.len() < raw.len() - raw.len() / 8 =>
        {
            out.extend_from_slice(&prefix);
            out.extend_from_slice(&compressed);
            codec
        }
        _ => {
            out.extend_from_slice(raw);
            codec::NONE
        }
    };
    out.push(codec);
    let checksum = crate::coding::checksum64(&out[start..]);
    out.extend_from_slice(&checksum.to_le_bytes());
    Ok(())
}

thread_local! {
    static DECOMPRESSOR: RefCell<Option<zstd::bulk::Decompressor<'static>>> =
        const { RefCell::new(None) };
}

/// Decompresses an LZ4 block that must come to exactly `raw_len` bytes.
fn lz4_decompress(src: &[u8], raw_len: usize) -> std::result::Result<Vec<u8>, String> {
    let out = lz4_flex::block::decompress(src, raw_len)
        .map_err(|e| format!("LZ4 decompression failed: {e}"))?;
    if out.len() != raw_len {
        return Err(format!(
            "decompressed to {} bytes, expected {raw_len}",
            out.len()
        ));
    }
    Ok(out)
}

/// Decompresses a zstd frame that must come to exactly `raw_len` bytes, with this thread's
/// context.
fn zstd_decompress(src: &[u8], raw_len: usize) -> std::result::Result<Vec<u8>, String> {
    let out = DECOMPRESSOR.with(|d| {
        let mut d = d.borrow_mut();
        if d.is_none() {
            *d = Some(
                zstd::bulk::Decompressor::new()
                    .map_err(|e| format!("creating a zstd context: {e}"))?,
            );
        }
        let dec = d.as_mut().ok_or("no zstd context")?;
        dec.decompress(src, raw_len)
            .map_err(|e| format!("zstd decompression failed: {e}"))
    })?;
    if out.len() != raw_len {
        return Err(format!(
            "decompressed to {} bytes, expected {raw_len}",
            out.len()
        ));
    }
    Ok(out)
}

/// Reads, verifies and decompresses the block at `handle`, returning its raw contents.
pub(crate) fn read_block_contents(
    file: &dyn RandomAccessFile,
    path: &PathBuf,
    handle: BlockHandle,
) -> Result<Bytes> {
    let bad = |d: String| Error::corruption(path, handle.offset, d);
    let total = usize::try_from(handle.size)
        .ok()
        .and_then(|s| s.checked_add(TRAILER_SIZE))
        .filter(|&t| t <= MAX_BLOCK_SIZE)
        .ok_or_else(|| bad(format!("block size {} is out of range", handle.size)))?;
    let read = |buf: &mut [u8]| {
        file.read_exact_at(buf, handle.offset).map_err(|e| {
            if e.kind() == std::io::ErrorKind::UnexpectedEof {
                bad("block extends past the end of the file".into())
            } else {
                Error::io(format!("reading {}", path.display()), e)
            }
        })
    };
    if total > SCRATCH_LIMIT {
        let mut buf = vec![0u8; total];
        read(&mut buf)?;
        return decode_block(&buf, handle.offset, path);
    }
    // Compressed bytes are only needed until they are decompressed: read them into this
    // thread's scratch buffer instead of a fresh (zeroed) allocation per block.
    READ_SCRATCH.with(|scratch| {
        let mut scratch = scratch.borrow_mut();
        if scratch.len() < total {
            scratch.resize(total, 0);
        }
        let buf = &mut scratch[..total];
        read(buf)?;
        decode_block(buf, handle.offset, path)
    })
}

/// Blocks up to this size are read through the per-thread scratch buffer.
const SCRATCH_LIMIT: usize = 64 * 1024;

thread_local! {
    static READ_SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Verifies a framed block read from `offset` (payload, codec byte, checksum) and returns its
/// raw contents.
fn decode_block(buf: &[u8], offset: u64, path: &PathBuf) -> Result<Bytes> {
    let bad = |d: String| Error::corruption(path, offset, d);
    let payload_end = buf.len() - TRAILER_SIZE;
    let expected = u64_at(buf, payload_end + 1).unwrap_or(0);
    if crate::coding::checksum64(&buf[..=payload_end]) != expected {
        return Err(bad("block checksum mismatch".into()));
    }
    match buf[payload_end] {
        codec::NONE => Ok(Bytes::copy_from_slice(&buf[..payload_end])),
        codec @ (codec::ZSTD | codec::LZ4) => {
            let mut src = &buf[..payload_end];
            let raw_len = get_varint(&mut src)
                .and_then(|n| usize::try_from(n).ok())
                .filter(|&n| n <= MAX_BLOCK_SIZE)
                .ok_or_else(|| bad("bad uncompressed length".into()))?;
            let out = if codec == codec::LZ4 {
                lz4_decompress(src, raw_len).map_err(bad)?
            } else {
                zstd_decompress(src, raw_len).map_err(bad)?
            };
            Ok(Bytes::from(out))
        }
        other => Err(bad(format!("unknown compression type {other}"))),
    }
}

/// Reads a block and parses its restart array.
pub(crate) fn read_block(
    file: &dyn RandomAccessFile,
    path: &Arc<PathBuf>,
    handle: BlockHandle,
) -> Result<Block> {
    let contents = read_block_contents(file, path, handle)?;
    Block::new(contents, path.clone(), handle.offset)
}
