//! Block compression: every codec reads back what it wrote, and a database switched from one
//! codec to another reads its old tables and rewrites them in the new codec as compaction
//! reaches them.

#![allow(clippy::unwrap_used, reason = "test code: a panic is a failed test")]

use std::collections::BTreeMap;
use std::sync::Arc;
use strata_engine::fs::MemFs;
use strata_engine::{Compression, Db, Options};

const DIR: &str = "/db";

fn options(fs: &MemFs, compression: Compression) -> Options {
    Options::default()
        .file_system(Arc::new(fs.clone()))
        .write_buffer_size(64 * 1024)
        .block_cache_capacity(0)
        .compression(compression)
}

fn value(i: u32, round: u32) -> String {
    format!("round {round} value {i:05} ").repeat(1 + (i % 7) as usize)
}

fn check(db: &Db, model: &BTreeMap<String, String>) {
    for (k, v) in model {
        assert_eq!(db.get(k).unwrap().as_deref(), Some(v.as_bytes()), "{k}");
    }
    let all: Vec<(String, String)> = db
        .iter()
        .map(|e| {
            let (k, v) = e.unwrap();
            (
                String::from_utf8(k.to_vec()).unwrap(),
                String::from_utf8(v.to_vec()).unwrap(),
            )
        })
        .collect();
    let expected: Vec<(String, String)> =
        model.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    assert!(all == expected, "a scan differs from the model");
}

#[test]
fn a_database_reads_its_tables_across_codec_changes() {
    let fs = MemFs::new();
    let mut model = BTreeMap::new();
    let codecs = [
        Compression::Zstd { level: 1 },
        Compression::Lz4,
        Compression::None,
        Compression::Zstd { level: 3 },
        Compression::Lz4,
    ];
    for (round, codec) in codecs.into_iter().enumerate() {
        let round = round as u32;
        let db = Db::open(DIR, options(&fs, codec)).unwrap();
        check(&db, &model);
        // Overwrite part of the key space, so compaction merges tables of several codecs.
        for i in (round * 500..round * 500 + 3000).step_by(2) {
            let (k, v) = (format!("key{i:06}"), value(i, round));
            db.put(&k, &v).unwrap();
            model.insert(k, v);
        }
        db.flush().unwrap();
        check(&db, &model);
        if round % 2 == 1 {
            db.compact_range::<&[u8], _>(..).unwrap();
            check(&db, &model);
        }
        db.close().unwrap();
    }
    let db = Db::open(DIR, options(&fs, Compression::Lz4)).unwrap();
    check(&db, &model);
}
