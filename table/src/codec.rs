//! Binary encodings: items as stored (compact, not JSON) and keys as ordered bytes.
//!
//! **Item encoding** (version byte 1, then the attributes as a map body):
//!
//! ```text
//! item  := 0x01 | count varint | (name | value)*        (names ascending)
//! name  := len varint | UTF-8 bytes
//! value := 1 S  len varint | UTF-8     2 N  number key encoding     3 B  len varint | bytes
//!          4 false   5 true   6 NULL
//!          7 L  count varint | value*   8 M  count varint | (name | value)*
//!          9 SS count varint | (len | UTF-8)*   10 NS count varint | number*
//!          11 BS count varint | (len | bytes)*
//! ```
//!
//! Numbers reuse their key encoding (self-delimiting, about one byte per two digits). The
//! decoder trusts nothing: every length is checked against what is left, nesting is limited,
//! and any malformation is an error, never a panic.
//!
//! **Key encoding**: an item's engine key is `hash | pk | sk`, where `pk` and `sk` are the key
//! attributes' order-preserving encodings — strings and binaries with `0x00` escaped as
//! `0x00 0xFF` and ended by `0x00 0x01` (so byte order is preserved and a key is
//! self-delimiting), numbers by [`Number::encode_key`] — and `hash` is 4 bytes of a hash of
//! `pk`. The hash spreads partitions over the key space the way DynamoDB's does, which makes a
//! Scan segment a contiguous key range; all items of one partition stay together, sorted by
//! sort key, so a Query is one range scan.

use crate::number::Number;
use crate::value::{AttributeValue, Item, MAX_NESTING};
use std::collections::{BTreeMap, BTreeSet};

/// The item encoding's version byte.
pub(crate) const VERSION: u8 = 1;

/// Value type tags.
pub(crate) mod tag {
    pub(crate) const S: u8 = 1;
    pub(crate) const N: u8 = 2;
    pub(crate) const B: u8 = 3;
    pub(crate) const FALSE: u8 = 4;
    pub(crate) const TRUE: u8 = 5;
    pub(crate) const NULL: u8 = 6;
    pub(crate) const L: u8 = 7;
    pub(crate) const M: u8 = 8;
    pub(crate) const SS: u8 = 9;
    pub(crate) const NS: u8 = 10;
    pub(crate) const BS: u8 = 11;
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn get_varint(src: &mut &[u8]) -> Result<u64, String> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let (&b, rest) = src.split_first().ok_or("truncated length")?;
        *src = rest;
        v |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            return Ok(v);
        }
    }
    Err("malformed length".into())
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_varint(out, b.len() as u64);
    out.extend_from_slice(b);
}

/// A length-prefixed byte string.
pub(crate) fn get_bytes<'a>(src: &mut &'a [u8]) -> Result<&'a [u8], String> {
    let len = get_varint(src)?;
    let len = usize::try_from(len).map_err(|_| "length too large")?;
    if len > src.len() {
        return Err(format!("length {len} runs past the end"));
    }
    let (b, rest) = src.split_at(len);
    *src = rest;
    Ok(b)
}

fn get_string(src: &mut &[u8]) -> Result<String, String> {
    utf8(get_bytes(src)?).map(str::to_owned)
}

/// `b` as a string, if it is UTF-8 (checked with SIMD: stored strings are often long).
pub(crate) fn utf8(b: &[u8]) -> Result<&str, String> {
    simdutf8::basic::from_utf8(b).map_err(|_| "string is not UTF-8".to_owned())
}

/// A count of elements, each at least one byte: bounded by what is left.
pub(crate) fn get_count(src: &mut &[u8]) -> Result<usize, String> {
    let n = get_varint(src)?;
    usize::try_from(n)
        .ok()
        .filter(|&n| n <= src.len())
        .ok_or_else(|| format!("count {n} exceeds the bytes left"))
}

/// Encodes an item.
pub fn encode_item(item: &Item) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    out.push(VERSION);
    put_varint(&mut out, item.len() as u64);
    for (name, value) in item {
        put_bytes(&mut out, name.as_bytes());
        encode_value(value, &mut out);
    }
    out
}

fn encode_value(v: &AttributeValue, out: &mut Vec<u8>) {
    match v {
        AttributeValue::S(s) => {
            out.push(tag::S);
            put_bytes(out, s.as_bytes());
        }
        AttributeValue::N(n) => {
            out.push(tag::N);
            n.encode_key(out);
        }
        AttributeValue::B(b) => {
            out.push(tag::B);
            put_bytes(out, b);
        }
        AttributeValue::Bool(b) => out.push(if *b { tag::TRUE } else { tag::FALSE }),
        AttributeValue::Null => out.push(tag::NULL),
        AttributeValue::L(l) => {
            out.push(tag::L);
            put_varint(out, l.len() as u64);
            for e in l {
                encode_value(e, out);
            }
        }
        AttributeValue::M(m) => {
            out.push(tag::M);
            put_varint(out, m.len() as u64);
            for (k, e) in m {
                put_bytes(out, k.as_bytes());
                encode_value(e, out);
            }
        }
        AttributeValue::Ss(s) => {
            out.push(tag::SS);
            put_varint(out, s.len() as u64);
            for e in s {
                put_bytes(out, e.as_bytes());
            }
        }
        AttributeValue::Ns(s) => {
            out.push(tag::NS);
            put_varint(out, s.len() as u64);
            for e in s {
                e.encode_key(out);
            }
        }
        AttributeValue::Bs(s) => {
            out.push(tag::BS);
            put_varint(out, s.len() as u64);
            for e in s {
                put_bytes(out, e);
            }
        }
    }
}

/// Decodes an item; the error says what was malformed.
pub fn decode_item(mut src: &[u8]) -> Result<Item, String> {
    let (&version, rest) = src.split_first().ok_or("empty item")?;
    if version != VERSION {
        return Err(format!("unknown item format version {version}"));
    }
    src = rest;
    let count = get_count(&mut src)?;
    let mut item = BTreeMap::new();
    for _ in 0..count {
        let name = get_string(&mut src)?;
        ascending(item.last_key_value().map(|(k, _)| k), &name)?;
        let value = decode_value(&mut src, 0)?;
        item.insert(name, value);
    }
    if !src.is_empty() {
        return Err(format!("{} trailing bytes", src.len()));
    }
    Ok(item)
}

/// Names and set members are encoded strictly ascending (from ordered maps and sets, whose
/// order is their encoding's byte order): anything else — a duplicate, a swap — is damage.
pub(crate) fn ascending<T: Ord + ?Sized>(last: Option<&T>, next: &T) -> Result<(), String> {
    match last {
        Some(last) if last >= next => Err("names or set members out of order".into()),
        _ => Ok(()),
    }
}

pub(crate) fn decode_value(src: &mut &[u8], depth: usize) -> Result<AttributeValue, String> {
    if depth > MAX_NESTING {
        return Err("nesting too deep".into());
    }
    let (&t, rest) = src.split_first().ok_or("truncated value")?;
    *src = rest;
    let number = |src: &mut &[u8]| Number::decode_key(src).ok_or("malformed number".to_owned());
    Ok(match t {
        tag::S => AttributeValue::S(get_string(src)?),
        tag::N => AttributeValue::N(number(src)?),
        tag::B => AttributeValue::B(get_bytes(src)?.to_vec()),
        tag::FALSE => AttributeValue::Bool(false),
        tag::TRUE => AttributeValue::Bool(true),
        tag::NULL => AttributeValue::Null,
        tag::L => {
            let n = get_count(src)?;
            let mut l = Vec::with_capacity(n);
            for _ in 0..n {
                l.push(decode_value(src, depth + 1)?);
            }
            AttributeValue::L(l)
        }
        tag::M => {
            let n = get_count(src)?;
            let mut m = BTreeMap::new();
            for _ in 0..n {
                let k = get_string(src)?;
                ascending(m.last_key_value().map(|(k, _)| k), &k)?;
                m.insert(k, decode_value(src, depth + 1)?);
            }
            AttributeValue::M(m)
        }
        tag::SS => {
            let n = get_count(src)?;
            let mut s = BTreeSet::new();
            for _ in 0..n {
                let e = get_string(src)?;
                ascending(s.last(), &e)?;
                s.insert(e);
            }
            AttributeValue::Ss(s)
        }
        tag::NS => {
            let n = get_count(src)?;
            let mut s = BTreeSet::new();
            for _ in 0..n {
                let e = number(src)?;
                ascending(s.last(), &e)?;
                s.insert(e);
            }
            AttributeValue::Ns(s)
        }
        tag::BS => {
            let n = get_count(src)?;
            let mut s = BTreeSet::new();
            for _ in 0..n {
                let e = get_bytes(src)?.to_vec();
                ascending(s.last(), &e)?;
                s.insert(e);
            }
            AttributeValue::Bs(s)
        }
        other => return Err(format!("unknown value tag {other}")),
    })
}

/// Appends the order-preserving, self-delimiting encoding of a key attribute (S, N or B).
/// Other types cannot be keys; the caller has validated the type.
pub fn encode_key_part(v: &AttributeValue, out: &mut Vec<u8>) {
    let escaped = |b: &[u8], out: &mut Vec<u8>| {
        for &byte in b {
            out.push(byte);
            if byte == 0 {
                out.push(0xFF);
            }
        }
        out.extend_from_slice(&[0x00, 0x01]);
    };
    match v {
        AttributeValue::S(s) => escaped(s.as_bytes(), out),
        AttributeValue::B(b) => escaped(b, out),
        AttributeValue::N(n) => n.encode_key(out),
        // Not a key type: encoded as its item encoding so the function stays total.
        other => encode_value(other, out),
    }
}

/// Decodes a key attribute of scalar type `ty` (`"S"`, `"N"` or `"B"`) from the front of
/// `src`, advancing it.
pub fn decode_key_part(ty: &str, src: &mut &[u8]) -> Result<AttributeValue, String> {
    if ty == "N" {
        return Number::decode_key(src)
            .map(AttributeValue::N)
            .ok_or_else(|| "malformed number in key".into());
    }
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        match (src.get(i), src.get(i + 1)) {
            (Some(0), Some(0xFF)) => {
                out.push(0);
                i += 2;
            }
            (Some(0), Some(0x01)) => {
                i += 2;
                break;
            }
            (Some(0), _) | (None, _) => return Err("malformed key".into()),
            (Some(&b), _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    *src = &src[i..];
    match ty {
        "S" => String::from_utf8(out)
            .map(AttributeValue::S)
            .map_err(|_| "key string is not UTF-8".into()),
        _ => Ok(AttributeValue::B(out)),
    }
}

/// The 4-byte hash prefix of a partition key's encoding.
pub fn partition_hash(encoded_pk: &[u8]) -> [u8; 4] {
    let h = xxhash_rust::xxh3::xxh3_64(encoded_pk);
    ((h >> 32) as u32).to_be_bytes()
}

/// The engine key of an item with partition key `pk` and optional sort key `sk`.
pub fn item_key(pk: &AttributeValue, sk: Option<&AttributeValue>) -> Vec<u8> {
    let mut key = Vec::with_capacity(32);
    key.extend_from_slice(&[0; 4]);
    encode_key_part(pk, &mut key);
    let hash = partition_hash(&key[4..]);
    key[..4].copy_from_slice(&hash);
    if let Some(sk) = sk {
        encode_key_part(sk, &mut key);
    }
    key
}

/// The engine-key prefix shared by every item of partition `pk`.
pub fn partition_prefix(pk: &AttributeValue) -> Vec<u8> {
    item_key(pk, None)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn arb_value() -> impl Strategy<Value = AttributeValue> {
        let leaf = prop_oneof![
            ".{0,8}".prop_map(AttributeValue::S),
            (-1_000_000i64..1_000_000).prop_map(|n| AttributeValue::N(Number::from(n))),
            proptest::collection::vec(any::<u8>(), 0..8).prop_map(AttributeValue::B),
            any::<bool>().prop_map(AttributeValue::Bool),
            Just(AttributeValue::Null),
            proptest::collection::btree_set(".{0,4}", 1..4).prop_map(AttributeValue::Ss),
            proptest::collection::btree_set(-100i64..100, 1..4)
                .prop_map(|s| AttributeValue::Ns(s.into_iter().map(Number::from).collect())),
            proptest::collection::btree_set(proptest::collection::vec(any::<u8>(), 0..4), 1..4)
                .prop_map(AttributeValue::Bs),
        ];
        leaf.prop_recursive(4, 32, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(AttributeValue::L),
                proptest::collection::btree_map(".{0,4}", inner, 0..4).prop_map(AttributeValue::M),
            ]
        })
    }

    proptest! {
        #[test]
        fn items_round_trip(item in proptest::collection::btree_map(".{1,6}", arb_value(), 0..6)) {
            let bytes = encode_item(&item);
            prop_assert_eq!(decode_item(&bytes).unwrap(), item);
        }

        #[test]
        fn decoding_garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode_item(&bytes);
        }

        #[test]
        fn truncations_are_errors(item in proptest::collection::btree_map(".{1,6}", arb_value(), 1..4)) {
            let bytes = encode_item(&item);
            for cut in 0..bytes.len() {
                prop_assert!(decode_item(&bytes[..cut]).is_err());
            }
        }

        #[test]
        fn string_and_binary_keys_keep_byte_order(
            a in proptest::collection::vec(any::<u8>(), 0..8),
            b in proptest::collection::vec(any::<u8>(), 0..8),
            suffix in proptest::collection::vec(any::<u8>(), 0..4),
        ) {
            let (mut ka, mut kb) = (Vec::new(), Vec::new());
            encode_key_part(&AttributeValue::B(a.clone()), &mut ka);
            encode_key_part(&AttributeValue::B(b.clone()), &mut kb);
            prop_assert_eq!(a.cmp(&b), ka.cmp(&kb));
            ka.extend_from_slice(&suffix);
            let mut src = &ka[..];
            prop_assert_eq!(decode_key_part("B", &mut src).unwrap(), AttributeValue::B(a));
            prop_assert_eq!(src, &suffix[..]);
        }

        #[test]
        fn sort_keys_order_within_a_partition(x in -1000i64..1000, y in -1000i64..1000) {
            let pk = AttributeValue::s("p");
            let kx = item_key(&pk, Some(&AttributeValue::N(Number::from(x))));
            let ky = item_key(&pk, Some(&AttributeValue::N(Number::from(y))));
            prop_assert_eq!(x.cmp(&y), kx.cmp(&ky));
            prop_assert!(kx.starts_with(&partition_prefix(&pk)));
        }
    }

    #[test]
    fn string_keys_order_by_utf8_bytes() {
        let enc = |s: &str| {
            let mut v = Vec::new();
            encode_key_part(&AttributeValue::s(s), &mut v);
            v
        };
        let mut words = ["", "a", "a\0", "a\0b", "ab", "b", "é", "z", "\u{10000}"];
        let mut by_key = words;
        by_key.sort_by_key(|w| enc(w));
        words.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
        assert_eq!(by_key, words);
        // A partition's prefix never prefixes another partition's keys.
        let p1 = partition_prefix(&AttributeValue::s("a"));
        let k2 = item_key(&AttributeValue::s("ab"), Some(&AttributeValue::s("x")));
        assert!(!k2.starts_with(&p1));
    }
}
