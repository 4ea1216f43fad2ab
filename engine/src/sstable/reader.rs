//! Reads an SSTable: point lookups through the bloom filter and index, and iterators.

use super::block::{Block, BlockIter};
use super::cache::BlockCache;
use super::filter::Bloom;
use super::format::{read_block, read_block_contents, Footer, FOOTER_SIZE, TRAILER_SIZE};
use super::index::Index;
use super::TableProps;
use crate::fs::{FileSystem, RandomAccessFile};
use crate::iter::InternalIterator;
use crate::key::{self, Kind};
use crate::{Error, Result};
use bytes::Bytes;
use std::path::PathBuf;
use std::sync::Arc;

/// The hash a point lookup passes to [`Table::get`].
pub(crate) fn key_hash(user_key: &[u8]) -> u64 {
    super::filter::hash(user_key)
}

/// An open table. The index (decoded), filter and props stay in memory for the table's life;
/// data blocks go through the shared block cache. Every block is checksum-verified when read.
pub(crate) struct Table {
    number: u64,
    path: Arc<PathBuf>,
    file: Arc<dyn RandomAccessFile>,
    size: u64,
    index: Index,
    bloom: Option<Bloom>,
    props: TableProps,
    /// Where the index, filter and props blocks lie (for [`Table::layout`]).
    footer: Footer,
    cache: Arc<BlockCache>,
    /// Set when the file left the tree: the file is deleted when the last reader drops.
    obsolete: parking_lot::Mutex<Option<Arc<dyn FileSystem>>>,
}

impl Drop for Table {
    fn drop(&mut self) {
        if let Some(fs) = self.obsolete.get_mut().take() {
            let _ = fs.remove_file(&self.path);
        }
    }
}

impl Table {
    /// Marks the table's file for deletion once nothing reads it any more.
    pub(crate) fn mark_obsolete(&self, fs: Arc<dyn FileSystem>) {
        *self.obsolete.lock() = Some(fs);
    }

    /// Opens table `number` stored in `file` at `path`, verifying its footer, index, filter and
    /// props blocks.
    pub(crate) fn open(
        file: Arc<dyn RandomAccessFile>,
        path: PathBuf,
        number: u64,
        cache: Arc<BlockCache>,
    ) -> Result<Table> {
        let path = Arc::new(path);
        let size = file.len();
        if size < FOOTER_SIZE as u64 {
            return Err(Error::corruption(
                path.as_path(),
                0,
                format!("table file is {size} bytes, shorter than its footer"),
            ));
        }
        let mut footer_buf = [0u8; FOOTER_SIZE];
        file.read_exact_at(&mut footer_buf, size - FOOTER_SIZE as u64)
            .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        let footer = Footer::decode(&footer_buf, &path, size)?;
        let index = Index::decode(read_block(file.as_ref(), &path, footer.index)?, &path)?;
        let filter_raw = read_block_contents(file.as_ref(), &path, footer.filter)?;
        let bloom = if filter_raw.is_empty() {
            None
        } else {
            Some(Bloom::decode(filter_raw.to_vec()).ok_or_else(|| {
                Error::corruption(
                    path.as_path(),
                    footer.filter.offset,
                    "malformed bloom filter",
                )
            })?)
        };
        let props_raw = read_block_contents(file.as_ref(), &path, footer.props)?;
        let props = TableProps::decode(&props_raw)
            .map_err(|d| Error::corruption(path.as_path(), footer.props.offset, d))?;
        Ok(Table {
            number,
            path,
            file,
            size,
            index,
            bloom,
            props,
            footer,
            cache,
            obsolete: parking_lot::Mutex::new(None),
        })
    }

    /// The file's size in bytes.
    pub(crate) fn size(&self) -> u64 {
        self.size
    }

    /// Facts from the props block.
    pub(crate) fn props(&self) -> &TableProps {
        &self.props
    }

    /// Where the file's bytes go, by block kind, from the footer and the index (no data block
    /// is read). Each kind's bytes include its blocks' trailers.
    pub(crate) fn layout(&self) -> Result<Layout> {
        let trailer = TRAILER_SIZE as u64;
        let mut layout = Layout {
            data_blocks: 0,
            data_bytes: 0,
            index_bytes: self.footer.index.size + trailer,
            filter_bytes: self.footer.filter.size + trailer,
            props_bytes: self.footer.props.size + trailer,
            footer_bytes: FOOTER_SIZE as u64,
        };
        for i in 0..self.index.len() {
            layout.data_blocks += 1;
            layout.data_bytes += self.index.handle(i).size + trailer;
        }
        Ok(layout)
    }

    /// Memory held outside the block cache (index and filter).
    pub(crate) fn pinned_memory(&self) -> usize {
        self.index.memory() + self.bloom.as_ref().map_or(0, Bloom::size)
    }

    /// Data block `i` (by its index entry), from the cache or read from the file.
    fn data_block(&self, i: usize) -> Result<Arc<Block>> {
        let handle = self.index.handle(i);
        if let Some(block) = self.cache.get(self.number, handle.offset) {
            return Ok(block);
        }
        let block = Arc::new(read_block(self.file.as_ref(), &self.path, handle)?);
        self.cache.insert(self.number, handle.offset, block.clone());
        Ok(block)
    }

    /// The newest entry for `user_key` with sequence number `<= read_seq`, if the table has one.
    /// `key_hash` is [`key_hash`] of `user_key`, computed once per lookup for every table.
    pub(crate) fn get(
        &self,
        user_key: &[u8],
        key_hash: u64,
        read_seq: u64,
    ) -> Result<Option<(Kind, Bytes)>> {
        if let Some(bloom) = &self.bloom {
            if !bloom.may_contain_hash(key_hash) {
                return Ok(None);
            }
        }
        let target = key::encode(user_key, read_seq, Kind::SEEK);
        let i = self.index.seek(&target);
        if i == self.index.len() {
            return Ok(None);
        }
        let block = self.data_block(i)?;
        let mut it = BlockIter::new(block);
        it.seek(&target)?;
        if it.valid() && key::user_key(it.key()) == user_key {
            let kind = key::kind_of(it.key()).unwrap_or(Kind::Delete);
            return Ok(Some((kind, it.value())));
        }
        Ok(None)
    }

    /// A cursor over the whole table; it keeps the table open.
    pub(crate) fn iter(self: &Arc<Self>) -> TableIter {
        TableIter {
            table: self.clone(),
            block: None,
            data: None,
        }
    }
}

/// Where a table file's bytes go ([`Table::layout`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Layout {
    /// Number of data blocks.
    pub(crate) data_blocks: u64,
    /// Bytes of data blocks as stored (compressed), trailers included.
    pub(crate) data_bytes: u64,
    /// Bytes of the index block, trailer included.
    pub(crate) index_bytes: u64,
    /// Bytes of the bloom filter block, trailer included.
    pub(crate) filter_bytes: u64,
    /// Bytes of the props block, trailer included.
    pub(crate) props_bytes: u64,
    /// Bytes of the footer.
    pub(crate) footer_bytes: u64,
}

/// A two-level cursor: the index picks the data block, a block cursor walks it.
pub(crate) struct TableIter {
    table: Arc<Table>,
    /// The index entry of the open data block (`None` when before the first or past the last).
    block: Option<usize>,
    data: Option<BlockIter>,
}

impl TableIter {
    /// Opens data block `i` (or clears the cursor when `i` is past either end).
    fn load_block(&mut self, i: Option<usize>) -> Result<()> {
        self.block = i.filter(|&i| i < self.table.index.len());
        let Some(i) = self.block else {
            self.data = None;
            return Ok(());
        };
        match self.table.data_block(i) {
            Ok(block) => {
                self.data = Some(BlockIter::new(block));
                Ok(())
            }
            Err(e) => {
                self.data = None;
                Err(e)
            }
        }
    }

    fn skip_empty_forward(&mut self) -> Result<()> {
        while self.data.as_ref().is_some_and(|d| !d.valid()) {
            self.load_block(self.block.map(|i| i + 1))?;
            if let Some(d) = self.data.as_mut() {
                d.seek_to_first()?;
            }
        }
        Ok(())
    }

    fn skip_empty_backward(&mut self) -> Result<()> {
        while self.data.as_ref().is_some_and(|d| !d.valid()) {
            self.load_block(self.block.and_then(|i| i.checked_sub(1)))?;
            if let Some(d) = self.data.as_mut() {
                d.seek_to_last()?;
            }
        }
        Ok(())
    }

    fn fail<T>(&mut self, e: Error) -> Result<T> {
        self.data = None;
        Err(e)
    }
}

impl InternalIterator for TableIter {
    fn valid(&self) -> bool {
        self.data.as_ref().is_some_and(BlockIter::valid)
    }

    fn key(&self) -> &[u8] {
        self.data.as_ref().map_or(&[], |d| d.key())
    }

    fn value(&self) -> Bytes {
        self.data.as_ref().map_or_else(Bytes::new, |d| d.value())
    }

    fn value_ref(&self) -> &[u8] {
        self.data.as_ref().map_or(&[], |d| d.value_ref())
    }

    fn seek(&mut self, target: &[u8]) -> Result<()> {
        let r = (|| {
            self.load_block(Some(self.table.index.seek(target)))?;
            if let Some(d) = self.data.as_mut() {
                d.seek(target)?;
            }
            self.skip_empty_forward()
        })();
        r.or_else(|e| self.fail(e))
    }

    fn seek_to_first(&mut self) -> Result<()> {
        let r = (|| {
            self.load_block(Some(0))?;
            if let Some(d) = self.data.as_mut() {
                d.seek_to_first()?;
            }
            self.skip_empty_forward()
        })();
        r.or_else(|e| self.fail(e))
    }

    fn seek_to_last(&mut self) -> Result<()> {
        let r = (|| {
            self.load_block(self.table.index.len().checked_sub(1))?;
            if let Some(d) = self.data.as_mut() {
                d.seek_to_last()?;
            }
            self.skip_empty_backward()
        })();
        r.or_else(|e| self.fail(e))
    }

    fn next(&mut self) -> Result<()> {
        let r = (|| {
            if let Some(d) = self.data.as_mut() {
                d.next()?;
            }
            self.skip_empty_forward()
        })();
        r.or_else(|e| self.fail(e))
    }

    fn prev(&mut self) -> Result<()> {
        let r = (|| {
            if let Some(d) = self.data.as_mut() {
                d.prev()?;
            }
            self.skip_empty_backward()
        })();
        r.or_else(|e| self.fail(e))
    }
}
