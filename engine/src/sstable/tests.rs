use super::*;
use crate::fs::{FileSystem, MemFs};
use crate::iter::InternalIterator;
use crate::key::{self, Kind};
use std::path::Path;
use std::sync::Arc;

fn opts(zstd: Option<i32>) -> TableBuilderOptions {
    TableBuilderOptions {
        block_size: 1024,
        restart_interval: 16,
        zstd_level: zstd,
        bloom_bits_per_key: 10,
    }
}

fn build(fs: &MemFs, n: u32, zstd: Option<i32>) -> Arc<Table> {
    let dir = Path::new("/t");
    fs.create_dir_all(dir).unwrap();
    let path = dir.join("000007.sst");
    let mut b = TableBuilder::new(fs.create(&path).unwrap(), path.clone(), opts(zstd)).unwrap();
    for i in 0..n {
        let k = format!("key{:08}", i * 2);
        // Two versions of every key: a newer put and an older one (or a delete every 5th).
        b.add(
            &key::encode(k.as_bytes(), 100, Kind::Put),
            format!("new{i}").repeat(3).as_bytes(),
        )
        .unwrap();
        let (kind, v) = if i % 5 == 0 {
            (Kind::Delete, String::new())
        } else {
            (Kind::Put, format!("old{i}"))
        };
        b.add(&key::encode(k.as_bytes(), 50, kind), v.as_bytes())
            .unwrap();
    }
    let summary = b.finish().unwrap();
    assert_eq!(summary.props.num_entries, u64::from(n) * 2);
    let cache = Arc::new(BlockCache::new(1 << 20));
    Arc::new(Table::open(fs.open(&path).unwrap(), path, 7, cache).unwrap())
}

#[test]
fn point_lookups_respect_read_sequence() {
    for zstd in [None, Some(1)] {
        let fs = MemFs::new();
        let t = build(&fs, 2000, zstd);
        for i in (0..2000u32).step_by(37) {
            let k = format!("key{:08}", i * 2);
            assert_eq!(
                t.get(k.as_bytes(), key_hash(k.as_bytes()), 200).unwrap(),
                Some((Kind::Put, format!("new{i}").repeat(3).into()))
            );
            let old = t
                .get(k.as_bytes(), key_hash(k.as_bytes()), 60)
                .unwrap()
                .unwrap();
            assert_eq!(old.0, if i % 5 == 0 { Kind::Delete } else { Kind::Put });
            assert_eq!(
                t.get(k.as_bytes(), key_hash(k.as_bytes()), 10).unwrap(),
                None
            );
            let missing = format!("key{:08}", i * 2 + 1);
            assert_eq!(
                t.get(missing.as_bytes(), key_hash(missing.as_bytes()), 200)
                    .unwrap(),
                None
            );
        }
    }
}

#[test]
fn iterator_covers_every_entry_both_ways() {
    let fs = MemFs::new();
    let t = build(&fs, 3000, Some(3));
    let mut it = t.iter();
    it.seek_to_first().unwrap();
    let mut forward = Vec::new();
    while it.valid() {
        forward.push(it.key().to_vec());
        it.next().unwrap();
    }
    assert_eq!(forward.len(), 6000);
    assert!(forward
        .windows(2)
        .all(|w| key::compare(&w[0], &w[1]).is_lt()));
    it.seek_to_last().unwrap();
    let mut backward = Vec::new();
    while it.valid() {
        backward.push(it.key().to_vec());
        it.prev().unwrap();
    }
    backward.reverse();
    assert_eq!(forward, backward);
    it.seek_for_prev(&key::encode(b"key00001001", 1, Kind::Put))
        .unwrap();
    assert_eq!(key::user_key(it.key()), b"key00001000");
}

#[test]
fn a_flipped_byte_in_a_data_block_is_corruption_naming_the_file() {
    let fs = MemFs::new();
    let t = build(&fs, 3000, None);
    let path = Path::new("/t/000007.sst");
    let mut data = fs.read_file(path).unwrap();
    data[100] ^= 0x01;
    fs.write_file(path, data);
    let cache = Arc::new(BlockCache::new(1 << 20));
    let t2 = Arc::new(Table::open(fs.open(path).unwrap(), path.into(), 8, cache).unwrap());
    let err = t2
        .get(b"key00000000", key_hash(b"key00000000"), 200)
        .unwrap_err();
    assert!(err.is_corruption(), "{err}");
    assert!(err.to_string().contains("000007.sst"), "{err}");
    let mut it = t2.iter();
    assert!(it.seek_to_first().is_err());
    drop(t);
}

#[test]
fn damaged_footer_index_or_truncation_fail_open_cleanly() {
    let fs = MemFs::new();
    let _t = build(&fs, 500, Some(1));
    let path = Path::new("/t/000007.sst");
    let good = fs.read_file(path).unwrap();
    let cache = Arc::new(BlockCache::new(1 << 20));
    for (what, data) in [
        ("truncated", good[..good.len() - 10].to_vec()),
        ("tiny", good[..5].to_vec()),
        ("footer", {
            let mut d = good.clone();
            let n = d.len();
            d[n - 30] ^= 0xff;
            d
        }),
        ("index", {
            let mut d = good.clone();
            let n = d.len();
            d[n - 90] ^= 0xff;
            d
        }),
    ] {
        fs.write_file(path, data);
        let err = Table::open(fs.open(path).unwrap(), path.into(), 7, cache.clone())
            .err()
            .unwrap_or_else(|| panic!("{what}: opened"));
        assert!(err.is_corruption(), "{what}: {err}");
    }
}
