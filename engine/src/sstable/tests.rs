use super::*;
use crate::fs::{FileSystem, MemFs};
use crate::iter::InternalIterator;
use crate::key::{self, Kind};
use crate::Compression;
use std::path::Path;
use std::sync::Arc;

fn opts(compression: Compression) -> TableBuilderOptions {
    TableBuilderOptions {
        block_size: 1024,
        restart_interval: 16,
        compression,
        bloom_bits_per_key: 10,
    }
}

const CODECS: [Compression; 3] = [
    Compression::None,
    Compression::Lz4,
    Compression::Zstd { level: 1 },
];

fn build(fs: &MemFs, n: u32, compression: Compression) -> Arc<Table> {
    let dir = Path::new("/t");
    fs.create_dir_all(dir).unwrap();
    let path = dir.join("000007.sst");
    let mut b =
        TableBuilder::new(fs.create(&path).unwrap(), path.clone(), opts(compression)).unwrap();
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
    for codec in CODECS {
        let fs = MemFs::new();
        let t = build(&fs, 2000, codec);
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
    for codec in CODECS {
        iterate_both_ways(codec);
    }
}

fn iterate_both_ways(codec: Compression) {
    let fs = MemFs::new();
    let t = build(&fs, 3000, codec);
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
    let t = build(&fs, 3000, Compression::None);
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
    let _t = build(&fs, 500, Compression::Zstd { level: 1 });
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

#[test]
fn compressed_tables_are_smaller_and_read_back_after_a_codec_change() {
    let sizes: Vec<usize> = CODECS
        .iter()
        .map(|&codec| {
            let fs = MemFs::new();
            build(&fs, 3000, codec);
            fs.read_file(Path::new("/t/000007.sst")).unwrap().len()
        })
        .collect();
    // None, LZ4, zstd: each codec saves something on these repetitive values.
    assert!(sizes[1] < sizes[0] * 3 / 4, "{sizes:?}");
    assert!(sizes[2] < sizes[0] * 3 / 4, "{sizes:?}");
}

/// Damage behind a valid checksum (a bug or a crafted file, not a disk error): the codec's
/// decoder must reject it with a corruption error, never panic or return wrong bytes.
#[test]
fn garbage_behind_a_valid_checksum_is_corruption_for_every_codec() {
    use super::format::{read_block_contents, BlockHandle};
    let dir = Path::new("/t");
    for (codec, payload) in [
        // Claims 4000 bytes, holds a literal run that overflows its input.
        (2u8, vec![0xa0, 0x1f, 0xf0, 1, 2, 3]),
        (2u8, vec![0xa0, 0x1f]),
        // Claims 100 bytes from a 5-byte LZ4 block that decodes to 4.
        (2u8, vec![100, 0x40, b'a', b'b', b'c', b'd']),
        // Claims 2 bytes from a block that decodes to 4, and one whose match reaches back
        // before the start of the output.
        (2u8, vec![2, 0x40, b'a', b'b', b'c', b'd']),
        (2u8, vec![20, 0x1f, b'a', 9, 0, 0]),
        (1u8, vec![0xa0, 0x1f, 0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0]),
        (9u8, vec![1, 2, 3]),
    ] {
        let fs = MemFs::new();
        fs.create_dir_all(dir).unwrap();
        let path = dir.join("000009.sst");
        let mut data = payload.clone();
        data.push(codec);
        let checksum = crate::coding::checksum64(&data);
        data.extend_from_slice(&checksum.to_le_bytes());
        fs.write_file(&path, data);
        let file = fs.open(&path).unwrap();
        let handle = BlockHandle {
            offset: 0,
            size: payload.len() as u64,
        };
        let err = read_block_contents(file.as_ref(), &path, handle).unwrap_err();
        assert!(err.is_corruption(), "codec {codec}: {err}");
        assert!(err.to_string().contains("000009.sst"), "{err}");
    }
}
