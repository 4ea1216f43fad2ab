//! The decoders of everything strata reads from disk, fed arbitrary bytes.

use strata_engine::fuzz_support;
use strata_table::codec;
use strata_table::stored;
use strata_table::value::item_size;

/// The write-ahead log reader (every damage policy) and the write-batch decoder.
pub fn wal(data: &[u8]) {
    fuzz_support::read_wal(data);
}

/// The manifest reader and the version-edit decoder.
pub fn manifest(data: &[u8]) {
    fuzz_support::read_manifest(data);
    fuzz_support::decode_version_edit(data);
}

/// The table reader: footer, index block, filter, data blocks; iteration and lookups.
pub fn sstable(data: &[u8]) {
    let _ = fuzz_support::read_table(data);
}

/// The block decoder and the bloom filter decoder.
pub fn block(data: &[u8]) {
    let _ = fuzz_support::read_block(data);
    fuzz_support::read_filter(data);
}

/// The item decoder: whatever decodes re-encodes to an item that decodes equal. And the
/// stored-item path (items served without decoding) against it: its check accepts exactly
/// what decodes, with the item's size, and it serializes to the item's JSON — or, for bytes
/// that do not decode, fails to be read or to serialize.
pub fn item(data: &[u8]) {
    let decoded = codec::decode_item(data);
    if let Ok(item) = &decoded {
        let again = codec::encode_item(item);
        match codec::decode_item(&again) {
            Ok(back) => assert_eq!(&back, item, "an item changed through encode/decode"),
            Err(e) => panic!("an encoded item does not decode: {e}"),
        }
    }
    let checked = stored::check(data);
    assert_eq!(
        checked.is_ok(),
        decoded.is_ok(),
        "the stored-item check and the decoder disagree: {checked:?} vs {decoded:?}"
    );
    let served = stored::ReadItem::stored(bytes::Bytes::copy_from_slice(data))
        .ok()
        .and_then(|(read, size)| Some((serde_json::to_string(&read).ok()?, size)));
    match (&decoded, served) {
        (Ok(item), Some((json, size))) => {
            assert_eq!(size, item_size(item), "stored and decoded sizes differ");
            assert_eq!(checked.ok(), Some(size));
            let want = serde_json::to_string(item).unwrap_or_default();
            assert_eq!(json, want, "a stored item serialized to another item");
        }
        (Ok(_), None) => panic!("an item that decodes could not be served stored"),
        (Err(e), Some((json, _))) => panic!("damaged bytes ({e}) were served as {json}"),
        (Err(_), None) => {}
    }
}

/// The key decoders (key parts of each type, and whole keys of a table schema): whatever
/// decodes re-encodes to a key part that decodes equal.
pub fn key(data: &[u8]) {
    for ty in ["S", "N", "B"] {
        let mut src = data;
        if let Ok(v) = codec::decode_key_part(ty, &mut src) {
            let mut again = Vec::new();
            codec::encode_key_part(&v, &mut again);
            let mut back_src = again.as_slice();
            let back = codec::decode_key_part(ty, &mut back_src);
            assert_eq!(
                back.ok(),
                Some(v),
                "a {ty} key part changed through encode/decode"
            );
            assert!(
                back_src.is_empty(),
                "a re-encoded key part has trailing bytes"
            );
        }
    }
    for (pk, sk) in [("S", Some("N")), ("B", None), ("N", Some("S"))] {
        let schema = strata_table::schema::KeySchema {
            partition: strata_table::schema::KeyAttribute {
                name: "pk".into(),
                ty: pk.into(),
            },
            sort: sk.map(|t| strata_table::schema::KeyAttribute {
                name: "sk".into(),
                ty: t.into(),
            }),
        };
        let _ = schema.decode_key(data);
    }
}

/// The stream record decoder.
pub fn stream_record(data: &[u8]) {
    if let Ok(record) = strata_table::streams::StoredRecord::decode(data) {
        let again = record.encode();
        assert!(
            strata_table::streams::StoredRecord::decode(&again).is_ok(),
            "a re-encoded stream record does not decode"
        );
    }
}
