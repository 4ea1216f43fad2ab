//! RocksDB's OptimisticTransactionDB, the peer for the transaction workloads: transactions
//! take a snapshot at begin (`set_snapshot`) and read with `get_for_update`, so a commit fails
//! with `Busy` when a key it read was written after the snapshot — the same guarantee as
//! strata's transactions give for point reads.

use super::{Config, Engine, Result};
use rocksdb::{ErrorKind, OptimisticTransactionDB, OptimisticTransactionOptions, WriteOptions};
use std::path::Path;

pub struct RocksOtxn {
    db: OptimisticTransactionDB,
    nosync: WriteOptions,
    sync: WriteOptions,
    txn: OptimisticTransactionOptions,
}

impl RocksOtxn {
    pub fn open(dir: &Path, cfg: &Config) -> Result<Self> {
        let db = OptimisticTransactionDB::open(&super::rocksdb::options(cfg), dir)?;
        let mut sync = WriteOptions::default();
        sync.set_sync(true);
        let mut txn = OptimisticTransactionOptions::default();
        txn.set_snapshot(true);
        Ok(RocksOtxn {
            db,
            nosync: WriteOptions::default(),
            sync,
            txn,
        })
    }
}

impl Engine for RocksOtxn {
    super::rocksdb::rocks_engine_common!();

    fn supports_transactions(&self) -> bool {
        true
    }

    fn transact(&self, keys: &[&[u8]], values: &[&[u8]]) -> Result<bool> {
        let t = self.db.transaction_opt(&self.nosync, &self.txn);
        for k in keys {
            t.get_pinned_for_update(k, true)?;
        }
        for (k, v) in keys.iter().zip(values) {
            t.put(k, v)?;
        }
        match t.commit() {
            Ok(()) => Ok(true),
            Err(e) if matches!(e.kind(), ErrorKind::Busy | ErrorKind::TryAgain) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }
}
