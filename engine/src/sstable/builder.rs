//! Writes an SSTable (format in `format.rs`).

use super::block::BlockBuilder;
use super::filter::BloomBuilder;
use super::format::{frame_block, BlockCompressor, BlockHandle, Footer, TRAILER_SIZE};
use super::TableProps;
use crate::fs::WritableFile;
use crate::key::{self, Kind};
use crate::{Error, Result};
use std::path::PathBuf;

/// How tables are built.
#[derive(Debug, Clone)]
pub(crate) struct TableBuilderOptions {
    pub(crate) block_size: usize,
    pub(crate) restart_interval: usize,
    /// Data and index block compression.
    pub(crate) compression: crate::Compression,
    /// Bloom filter bits per key; 0 disables the filter.
    pub(crate) bloom_bits_per_key: usize,
}

/// Writes are gathered up to this size before going to the file.
const WRITE_BUFFER: usize = 256 * 1024;

/// Streams sorted entries into a new table file.
pub(crate) struct TableBuilder {
    file: Box<dyn WritableFile>,
    path: PathBuf,
    opts: TableBuilderOptions,
    data: BlockBuilder,
    index: BlockBuilder,
    bloom: BloomBuilder,
    compressor: BlockCompressor,
    /// Filters and props are stored uncompressed: they are read once, at open.
    uncompressed: BlockCompressor,
    /// Framed bytes not yet written to the file.
    out: Vec<u8>,
    /// File offset of `out[0]`.
    offset: u64,
    props: TableProps,
    smallest: Vec<u8>,
    scratch: Vec<u8>,
}

/// What a finished table holds.
#[derive(Debug, Clone)]
pub(crate) struct TableSummary {
    pub(crate) file_size: u64,
    pub(crate) smallest: Vec<u8>,
    pub(crate) largest: Vec<u8>,
    pub(crate) props: TableProps,
}

impl TableBuilder {
    pub(crate) fn new(
        file: Box<dyn WritableFile>,
        path: PathBuf,
        opts: TableBuilderOptions,
    ) -> Result<Self> {
        let compressor = BlockCompressor::new(opts.compression)?;
        Ok(TableBuilder {
            file,
            path,
            data: BlockBuilder::new(opts.restart_interval),
            index: BlockBuilder::new(1),
            bloom: BloomBuilder::new(opts.bloom_bits_per_key),
            compressor,
            uncompressed: BlockCompressor::None,
            out: Vec::with_capacity(WRITE_BUFFER + 64 * 1024),
            offset: 0,
            props: TableProps {
                smallest_seq: u64::MAX,
                ..TableProps::default()
            },
            smallest: Vec::new(),
            scratch: Vec::new(),
            opts,
        })
    }

    /// Adds an entry; `ikey` must sort after every key added so far.
    pub(crate) fn add(&mut self, ikey: &[u8], value: &[u8]) -> Result<()> {
        if self.props.num_entries == 0 {
            self.smallest = ikey.to_vec();
        }
        let seq = key::seq_of(ikey);
        self.props.num_entries += 1;
        if key::kind_of(ikey) == Some(Kind::Delete) {
            self.props.num_deletions += 1;
        }
        self.props.smallest_seq = self.props.smallest_seq.min(seq);
        self.props.largest_seq = self.props.largest_seq.max(seq);
        self.props.raw_key_bytes += ikey.len() as u64;
        self.props.raw_value_bytes += value.len() as u64;
        if self.opts.bloom_bits_per_key > 0 {
            self.bloom.add(key::user_key(ikey));
        }
        self.data.add(ikey, value);
        if self.data.estimated_size() >= self.opts.block_size {
            self.finish_data_block()?;
        }
        Ok(())
    }

    /// Bytes the file will have if finished now (approximately).
    pub(crate) fn estimated_file_size(&self) -> u64 {
        self.offset + self.out.len() as u64 + self.data.estimated_size() as u64
    }

    /// Entries added so far.
    pub(crate) fn num_entries(&self) -> u64 {
        self.props.num_entries
    }

    fn finish_data_block(&mut self) -> Result<()> {
        if self.data.is_empty() {
            return Ok(());
        }
        let last_key = self.data.last_key().to_vec();
        let raw = self.data.finish();
        let handle = self.write_block(&raw)?;
        self.scratch.clear();
        handle.encode(&mut self.scratch);
        let value = std::mem::take(&mut self.scratch);
        self.index.add(&last_key, &value);
        self.scratch = value;
        Ok(())
    }

    fn write_block(&mut self, raw: &[u8]) -> Result<BlockHandle> {
        let start = self.offset + self.out.len() as u64;
        frame_block(raw, &mut self.compressor, &mut self.out)?;
        let end = self.offset + self.out.len() as u64;
        if self.out.len() >= WRITE_BUFFER {
            self.flush_out()?;
        }
        Ok(BlockHandle {
            offset: start,
            size: end - start - TRAILER_SIZE as u64,
        })
    }

    fn write_raw_block(&mut self, raw: &[u8]) -> Result<BlockHandle> {
        let start = self.offset + self.out.len() as u64;
        frame_block(raw, &mut self.uncompressed, &mut self.out)?;
        Ok(BlockHandle {
            offset: start,
            size: raw.len() as u64,
        })
    }

    fn flush_out(&mut self) -> Result<()> {
        self.file
            .append(&self.out)
            .map_err(|e| Error::io(format!("writing {}", self.path.display()), e))?;
        self.offset += self.out.len() as u64;
        self.out.clear();
        Ok(())
    }

    /// Writes the filter, props, index and footer, and syncs the file.
    pub(crate) fn finish(mut self) -> Result<TableSummary> {
        let largest = self.data.last_key().to_vec();
        let largest = if self.data.is_empty() {
            // The last data block was already written; its last key is the index's last key.
            self.index.last_key().to_vec()
        } else {
            largest
        };
        self.finish_data_block()?;
        let filter = if self.opts.bloom_bits_per_key > 0 {
            let raw = self.bloom.finish();
            self.write_raw_block(&raw)?
        } else {
            self.write_raw_block(&[])?
        };
        if self.props.num_entries == 0 {
            self.props.smallest_seq = 0;
        }
        let props_raw = self.props.encode();
        let props = self.write_raw_block(&props_raw)?;
        let index_raw = self.index.finish();
        let index = self.write_block(&index_raw)?;
        let footer = Footer {
            index,
            filter,
            props,
        };
        self.out.extend_from_slice(&footer.encode());
        self.flush_out()?;
        self.file
            .sync()
            .map_err(|e| Error::io(format!("syncing {}", self.path.display()), e))?;
        Ok(TableSummary {
            file_size: self.offset,
            smallest: self.smallest,
            largest,
            props: self.props,
        })
    }
}
