//! Subscribers: every record of a log, across its shards, in commit order — as a blocking
//! iterator or a `futures::Stream` — woken by commits (no polling loops or sleeps), and named
//! consumers whose durable checkpoints let a restarted consumer resume where it left off.
//!
//! A subscription reads at the visible sequence number `v`: every commit at or below `v` is
//! in the log already and none can appear later (commit order = visibility order), so the
//! records of all shards in `(position, v]`, merged by sequence number, are exactly the next
//! ones, and the position moves to `v`. Subscribers only read: a slow one holds no lock and
//! never delays writers or other subscribers.

use crate::error::{Result, StreamError};
use crate::log::ChangeLog;
use crate::reader::{parse_record, record_key, Record};
use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use strata_engine::{WriteBatch, WriteOptions};

/// Records read per shard per step.
const STEP: usize = 1000;

/// Where a subscription starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// The oldest record the log keeps.
    TrimHorizon,
    /// After the newest record now.
    Latest,
    /// After this sequence number.
    After(u64),
}

/// A log's records in commit order (see the module docs).
pub struct Subscription {
    log: ChangeLog,
    /// Every record at or below this was delivered (or skipped as not in the log).
    after: u64,
    buffer: VecDeque<Record>,
}

impl ChangeLog {
    /// Subscribes from `start`.
    pub fn subscribe(&self, start: Start) -> Result<Subscription> {
        let after = match start {
            Start::Latest => self.db().last_sequence(),
            Start::After(s) => s,
            Start::TrimHorizon => self
                .all_shards()?
                .iter()
                .map(|s| s.after_seq)
                .min()
                .unwrap_or_else(|| self.db().last_sequence())
                .max(self.trimmed_through()?),
        };
        Ok(Subscription {
            log: self.clone(),
            after,
            buffer: VecDeque::new(),
        })
    }

    /// Records at or below this sequence number were trimmed.
    pub fn trimmed_through(&self) -> Result<u64> {
        Ok(match self.inner.meta.get("trimmed")? {
            Some(v) => std::str::from_utf8(&v)
                .ok()
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| StreamError::Corrupt("bad trim mark".into()))?,
            None => 0,
        })
    }

    /// The named consumer `name` (created on first use).
    pub fn consumer(&self, name: &str) -> Consumer {
        Consumer {
            log: self.clone(),
            key: format!("consumer/{name}"),
        }
    }
}

impl Subscription {
    /// The sequence number everything up to which has been delivered.
    pub fn position(&self) -> u64 {
        self.after
    }

    /// Reads what is visible past the position into the buffer; returns the visible
    /// sequence number it read at.
    fn fill(&mut self) -> Result<u64> {
        let visible = self.log.db().last_sequence();
        if visible <= self.after {
            return Ok(visible);
        }
        let (shards, trimmed) = self.log.shards_cached()?;
        if self.after < trimmed {
            return Err(StreamError::TrimmedDataAccess(format!(
                "records after {} were trimmed (retention); the oldest kept follow {trimmed}",
                self.after
            )));
        }
        let mut cutoff = visible;
        let mut found = Vec::new();
        let mut epochs: Vec<u32> = shards.iter().map(|s| s.epoch).collect();
        epochs.dedup();
        for epoch in epochs {
            let wanted: Vec<&crate::shard::ShardMeta> = shards
                .iter()
                .filter(|s| s.epoch == epoch)
                .filter(|s| s.after_seq < visible && s.end_seq.is_none_or(|e| e > self.after))
                .collect();
            let Some(first) = wanted.first() else {
                continue;
            };
            let Some(records) = self.log.records_of(first)? else {
                continue;
            };
            // One cursor per epoch keyspace, seeking to each shard's position.
            let mut cursor = records.cursor();
            for shard in wanted {
                cursor.seek(record_key(shard.number, self.after.saturating_add(1)))?;
                let mut n = 0;
                while let (Some(k), Some(v)) = (cursor.key(), cursor.value_bytes()) {
                    let Some(record) = parse_record(shard.number, k, v) else {
                        break;
                    };
                    let seq = record.seq;
                    if seq > visible {
                        break;
                    }
                    found.push(record);
                    n += 1;
                    if n >= STEP {
                        // This shard may hold more: deliver only up to what it was read to.
                        cutoff = cutoff.min(seq);
                        break;
                    }
                    cursor.next()?;
                }
            }
        }
        found.retain(|r| r.seq <= cutoff);
        found.sort_by_key(|r| r.seq);
        self.buffer.extend(found);
        self.after = cutoff;
        Ok(visible)
    }

    /// The next record, waiting at most `timeout` for one to be committed.
    pub fn next_timeout(&mut self, timeout: Duration) -> Result<Option<Record>> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if let Some(r) = self.buffer.pop_front() {
                return Ok(Some(r));
            }
            let seen = self.fill()?;
            if !self.buffer.is_empty() {
                continue;
            }
            let now = std::time::Instant::now();
            if now >= deadline {
                return Ok(None);
            }
            self.log.db().wait_for_commit(seen, deadline - now);
        }
    }
}

impl Iterator for Subscription {
    type Item = Result<Record>;

    /// Blocks until the next record is committed.
    fn next(&mut self) -> Option<Result<Record>> {
        loop {
            match self.next_timeout(Duration::from_secs(3600)) {
                Ok(Some(r)) => return Some(Ok(r)),
                Ok(None) => continue,
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

impl futures_core::Stream for Subscription {
    type Item = Result<Record>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if let Some(r) = this.buffer.pop_front() {
                return Poll::Ready(Some(Ok(r)));
            }
            let seen = match this.fill() {
                Ok(s) => s,
                Err(e) => return Poll::Ready(Some(Err(e))),
            };
            if !this.buffer.is_empty() {
                continue;
            }
            if !this.log.db().wake_on_commit(seen, cx.waker()) {
                return Poll::Pending;
            }
        }
    }
}

/// A named consumer: a durable checkpoint in the log, so a restarted consumer resumes after
/// the last record it confirmed (at-least-once delivery to the application).
#[derive(Clone)]
pub struct Consumer {
    log: ChangeLog,
    key: String,
}

impl Consumer {
    /// The last sequence number confirmed, if any.
    pub fn checkpoint(&self) -> Result<Option<u64>> {
        match self.log.inner.meta.get(&self.key)? {
            Some(v) => Ok(Some(
                std::str::from_utf8(&v)
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .ok_or_else(|| StreamError::Corrupt("bad consumer checkpoint".into()))?,
            )),
            None => Ok(None),
        }
    }

    /// Confirms every record up to `seq` (durably, before returning).
    pub fn commit(&self, seq: u64) -> Result<()> {
        let mut batch = WriteBatch::new();
        batch.put_in(&self.log.inner.meta, &self.key, seq.to_string());
        self.log.db().write(batch, WriteOptions::new().sync(true))?;
        Ok(())
    }

    /// Subscribes after the checkpoint (from the oldest record if there is none).
    pub fn subscribe(&self) -> Result<Subscription> {
        match self.checkpoint()? {
            Some(seq) => self.log.subscribe(Start::After(seq)),
            None => self.log.subscribe(Start::TrimHorizon),
        }
    }
}
