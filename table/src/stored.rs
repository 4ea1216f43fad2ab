//! Items served in their stored encoding: a Query or Scan page of whole items (no filter, no
//! projection) is checked and sized straight from the bytes the engine returns, and later
//! written as DynamoDB JSON straight from them — no [`Item`] is built. Building one copies
//! every string and allocates every name; serializing a 100-item page that way was more than
//! half of a server Query's CPU.
//!
//! [`check`] walks an encoded item as [`codec::decode_item`] does, with the same checks
//! (lengths, UTF-8, numbers, nesting, order, no trailing bytes), and returns the item's
//! DynamoDB size. A read ([`ReadItem::stored`]) runs the same walk without the UTF-8 checks,
//! which serialization makes as it writes each string: damaged bytes are an error there,
//! never JSON.
//!
//! [`codec::decode_item`]: crate::codec::decode_item

use crate::codec::{self, tag};
use crate::model::QueryOutput;
use crate::number::Number;
use crate::value::{AttributeValue, Item, MAX_NESTING};
use crate::{Result, TableError};
use base64::Engine;
use bytes::Bytes;
use serde::ser::{Error as _, SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};
use std::cell::Cell;

/// An item a read returns: still in its stored encoding (checked by [`check`] when it was
/// read), or decoded (filtered, projected or loaded from the table). It serializes as
/// DynamoDB JSON either way.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadItem(Repr);

#[derive(Debug, Clone, PartialEq)]
enum Repr {
    Stored(Bytes),
    Decoded(Item),
}

impl ReadItem {
    /// An item in its stored encoding, its structure checked (its strings are checked as
    /// they are serialized or decoded); with its DynamoDB size.
    pub fn stored(bytes: Bytes) -> Result<(ReadItem, usize)> {
        let size = check_stored(&bytes)?;
        Ok((ReadItem(Repr::Stored(bytes)), size))
    }

    /// An item in its stored encoding that [`check_stored`] accepted.
    pub(crate) fn checked(bytes: Bytes) -> ReadItem {
        ReadItem(Repr::Stored(bytes))
    }

    /// Attribute `name`'s value, decoded alone: a stored item's other attributes are passed
    /// over, not decoded. `None` when the item has no such attribute.
    ///
    /// ```
    /// # use strata_table::{stored::ReadItem, AttributeValue, Item};
    /// let item = Item::from([("v".to_owned(), AttributeValue::s("x"))]);
    /// let (read, _) = ReadItem::stored(strata_table::codec::encode_item(&item).into())?;
    /// assert_eq!(read.get("v")?, Some(AttributeValue::s("x")));
    /// assert_eq!(read.get("w")?, None);
    /// # Ok::<(), strata_table::TableError>(())
    /// ```
    pub fn get(&self, name: &str) -> Result<Option<AttributeValue>> {
        let bytes = match &self.0 {
            Repr::Decoded(item) => return Ok(item.get(name).cloned()),
            Repr::Stored(bytes) => bytes,
        };
        find(bytes, name.as_bytes())
            .map_err(|e| TableError::Internal(format!("an item is damaged: {e}")))
    }

    /// Bytes of the stored encoding; 0 for a decoded item.
    fn stored_len(&self) -> usize {
        match &self.0 {
            Repr::Stored(bytes) => bytes.len(),
            Repr::Decoded(_) => 0,
        }
    }

    /// The item, decoded.
    pub fn into_item(self) -> Result<Item> {
        match self.0 {
            Repr::Stored(bytes) => codec::decode_item(&bytes)
                .map_err(|e| TableError::Internal(format!("an item is damaged: {e}"))),
            Repr::Decoded(item) => Ok(item),
        }
    }
}

impl From<Item> for ReadItem {
    fn from(item: Item) -> Self {
        ReadItem(Repr::Decoded(item))
    }
}

impl Serialize for ReadItem {
    fn serialize<S: Serializer>(&self, ser: S) -> std::result::Result<S::Ok, S::Error> {
        match &self.0 {
            Repr::Decoded(item) => item.serialize(ser),
            Repr::Stored(bytes) => {
                let (&version, src) = bytes
                    .split_first()
                    .ok_or_else(|| S::Error::custom("an item is damaged: empty item"))?;
                if version != codec::VERSION {
                    return Err(S::Error::custom("an item is damaged: unknown version"));
                }
                Fields {
                    src: &Cell::new(src),
                    depth: 0,
                    whole: true,
                }
                .serialize(ser)
            }
        }
    }
}

/// A Query or Scan answer whose items may still be in their stored encoding
/// ([`crate::Database::query_stored`]); it serializes exactly as its decoded [`QueryOutput`].
pub type ReadOutput = QueryOutput<ReadItem>;

impl ReadOutput {
    /// Bytes of the items left in their stored encoding: about the length of their JSON, a
    /// size hint for a buffer the answer is serialized into (decoded items count nothing).
    pub fn stored_bytes(&self) -> usize {
        self.items.iter().flatten().map(ReadItem::stored_len).sum()
    }

    /// The answer with every item decoded.
    pub fn into_output(self) -> Result<QueryOutput> {
        Ok(QueryOutput {
            items: self
                .items
                .map(|items| items.into_iter().map(ReadItem::into_item).collect())
                .transpose()?,
            count: self.count,
            scanned_count: self.scanned_count,
            last_evaluated_key: self.last_evaluated_key,
            consumed_capacity: self.consumed_capacity,
        })
    }
}

/// Checks the structure of a stored item as [`ReadItem::stored`] does (its strings are
/// checked as they are serialized or decoded), and returns its DynamoDB size.
pub(crate) fn check_stored(src: &[u8]) -> Result<usize> {
    walk(src, false).map_err(|e| TableError::Internal(format!("an item is damaged: {e}")))
}

/// Checks an encoded item as decoding it would, and returns its DynamoDB size (names plus
/// values, as [`crate::value::item_size`] counts them).
pub fn check(src: &[u8]) -> std::result::Result<usize, String> {
    walk(src, true)
}

/// The value of attribute `name` in the encoded item `src`, decoded. Names are stored in
/// ascending order, so the search ends at the first name past `name`.
fn find(src: &[u8], name: &[u8]) -> std::result::Result<Option<AttributeValue>, String> {
    let (&version, mut src) = src.split_first().ok_or("empty item")?;
    if version != codec::VERSION {
        return Err(format!("unknown item format version {version}"));
    }
    let n = codec::get_count(&mut src)?;
    for _ in 0..n {
        let here = codec::get_bytes(&mut src)?;
        match here.cmp(name) {
            std::cmp::Ordering::Less => {
                check_value(&mut src, 0, false)?;
            }
            std::cmp::Ordering::Equal => {
                codec::utf8(here)?;
                return codec::decode_value(&mut src, 0).map(Some);
            }
            std::cmp::Ordering::Greater => break,
        }
    }
    Ok(None)
}

/// [`check`], with strings checked for UTF-8 only when `strict`.
fn walk(src: &[u8], strict: bool) -> std::result::Result<usize, String> {
    let (&version, mut src) = src.split_first().ok_or("empty item")?;
    if version != codec::VERSION {
        return Err(format!("unknown item format version {version}"));
    }
    let size = check_fields(&mut src, 0, false, strict)?;
    if !src.is_empty() {
        return Err(format!("{} trailing bytes", src.len()));
    }
    Ok(size)
}

/// Walks a map body (`count | (name | value)*`) and returns its size, counting each entry as
/// an M's entries count (`name + value + 1`) when `in_map`, as an item's (`name + value`)
/// otherwise. `strict` also checks that strings are UTF-8 (a walk that only needs a value's
/// extent skips that).
fn check_fields(
    src: &mut &[u8],
    depth: usize,
    in_map: bool,
    strict: bool,
) -> std::result::Result<usize, String> {
    let n = codec::get_count(src)?;
    let mut size = 0;
    let mut last = None;
    for _ in 0..n {
        size += string(src, strict, &mut last)?;
        size += check_value(src, depth, strict)? + usize::from(in_map);
    }
    Ok(size)
}

/// Walks a length-prefixed string or binary (a name or a set member, strictly after `last`,
/// which it becomes; UTF-8 checked when `utf8`) and returns its length.
fn string<'b>(
    src: &mut &'b [u8],
    utf8: bool,
    last: &mut Option<&'b [u8]>,
) -> std::result::Result<usize, String> {
    let b = codec::get_bytes(src)?;
    if utf8 {
        codec::utf8(b)?;
    }
    codec::ascending(last.replace(b), b)?;
    Ok(b.len())
}

/// Walks one value and returns its size.
fn check_value(src: &mut &[u8], depth: usize, strict: bool) -> std::result::Result<usize, String> {
    if depth > MAX_NESTING {
        return Err("nesting too deep".into());
    }
    let (&t, rest) = src.split_first().ok_or("truncated value")?;
    *src = rest;
    let number =
        |src: &mut &[u8]| Number::skip_key(src).ok_or_else(|| "malformed number".to_owned());
    Ok(match t {
        tag::S => string(src, strict, &mut None)?,
        tag::N => number(src)?,
        tag::B => codec::get_bytes(src)?.len(),
        tag::FALSE | tag::TRUE | tag::NULL => 1,
        tag::L => {
            let n = codec::get_count(src)?;
            let mut size = 3;
            for _ in 0..n {
                size += check_value(src, depth + 1, strict)? + 1;
            }
            size
        }
        tag::M => 3 + check_fields(src, depth + 1, true, strict)?,
        tag::SS | tag::BS => {
            let n = codec::get_count(src)?;
            let mut size = 0;
            let mut last = None;
            for _ in 0..n {
                size += string(src, strict && t == tag::SS, &mut last)?;
            }
            size
        }
        tag::NS => {
            let n = codec::get_count(src)?;
            let mut size = 0;
            let mut last = None;
            for _ in 0..n {
                let start = *src;
                size += number(src)?;
                let member = &start[..start.len() - src.len()];
                codec::ascending(last.replace(member), member)?;
            }
            size
        }
        other => return Err(format!("unknown value tag {other}")),
    })
}

fn damaged<E: serde::ser::Error>(e: String) -> E {
    E::custom(format!("an item is damaged: {e}"))
}

/// Reads `f` of the bytes at `src` and moves `src` past them (the read position shared by
/// nested serializers, whose `serialize` takes `&self`).
fn advance<'b, T>(
    src: &Cell<&'b [u8]>,
    f: impl FnOnce(&mut &'b [u8]) -> std::result::Result<T, String>,
) -> std::result::Result<T, String> {
    let mut rest = src.get();
    let out = f(&mut rest)?;
    src.set(rest);
    Ok(out)
}

/// A map body at `src` (an item's attributes, `whole` when nothing may follow, or an M's
/// entries), its values at nesting depth `depth`.
struct Fields<'c, 'b> {
    src: &'c Cell<&'b [u8]>,
    depth: usize,
    whole: bool,
}

impl Serialize for Fields<'_, '_> {
    fn serialize<S: Serializer>(&self, ser: S) -> std::result::Result<S::Ok, S::Error> {
        let n = advance(self.src, codec::get_count).map_err(damaged)?;
        let mut map = ser.serialize_map(Some(n))?;
        for _ in 0..n {
            let name = advance(self.src, |src| codec::get_bytes(src).and_then(codec::utf8))
                .map_err(damaged)?;
            map.serialize_entry(name, &Value(self.src, self.depth))?;
        }
        let rest = self.src.get().len();
        if self.whole && rest > 0 {
            return Err(damaged(format!("{rest} trailing bytes")));
        }
        map.end()
    }
}

/// The value at the read position `.0`, at nesting depth `.1`.
struct Value<'c, 'b>(&'c Cell<&'b [u8]>, usize);

impl Serialize for Value<'_, '_> {
    fn serialize<S: Serializer>(&self, ser: S) -> std::result::Result<S::Ok, S::Error> {
        let (src, depth) = (self.0, self.1);
        if depth > MAX_NESTING {
            return Err(damaged("nesting too deep".into()));
        }
        let t = advance(src, |src| {
            let (&t, rest) = src.split_first().ok_or("truncated value")?;
            *src = rest;
            Ok(t)
        })
        .map_err(damaged)?;
        let mut map = ser.serialize_map(Some(1))?;
        match t {
            tag::S => map.serialize_entry("S", member(src, t).map_err(damaged)?.as_ref())?,
            tag::N => map.serialize_entry("N", member(src, t).map_err(damaged)?.as_ref())?,
            tag::B => map.serialize_entry("B", member(src, t).map_err(damaged)?.as_ref())?,
            tag::FALSE => map.serialize_entry("BOOL", &false)?,
            tag::TRUE => map.serialize_entry("BOOL", &true)?,
            tag::NULL => map.serialize_entry("NULL", &true)?,
            tag::L => map.serialize_entry("L", &List(src, depth + 1))?,
            tag::M => map.serialize_entry(
                "M",
                &Fields {
                    src,
                    depth: depth + 1,
                    whole: false,
                },
            )?,
            tag::SS => map.serialize_entry("SS", &Set(src, tag::S))?,
            tag::NS => map.serialize_entry("NS", &Set(src, tag::N))?,
            tag::BS => map.serialize_entry("BS", &Set(src, tag::B))?,
            other => return Err(damaged(format!("unknown value tag {other}"))),
        }
        map.end()
    }
}

/// A scalar of type `t` (S, N or B) at `src`, as its JSON text: borrowed for a string, the
/// canonical text of a number, base64 of a binary.
fn member<'b>(
    src: &Cell<&'b [u8]>,
    t: u8,
) -> std::result::Result<std::borrow::Cow<'b, str>, String> {
    advance(src, |src| match t {
        tag::S => Ok(codec::get_bytes(src).and_then(codec::utf8)?.into()),
        tag::N => Number::key_text(src)
            .map(Into::into)
            .ok_or_else(|| "malformed number".to_owned()),
        _ => Ok(crate::value::b64().encode(codec::get_bytes(src)?).into()),
    })
}

/// The elements of an L value at `src` (after its tag), at nesting depth `.1`.
struct List<'c, 'b>(&'c Cell<&'b [u8]>, usize);

impl Serialize for List<'_, '_> {
    fn serialize<S: Serializer>(&self, ser: S) -> std::result::Result<S::Ok, S::Error> {
        let n = advance(self.0, codec::get_count).map_err(damaged)?;
        let mut seq = ser.serialize_seq(Some(n))?;
        for _ in 0..n {
            seq.serialize_element(&Value(self.0, self.1))?;
        }
        seq.end()
    }
}

/// The members of a set at `src` (after its tag), each a scalar of type `.1`.
struct Set<'c, 'b>(&'c Cell<&'b [u8]>, u8);

impl Serialize for Set<'_, '_> {
    fn serialize<S: Serializer>(&self, ser: S) -> std::result::Result<S::Ok, S::Error> {
        let n = advance(self.0, codec::get_count).map_err(damaged)?;
        let mut seq = ser.serialize_seq(Some(n))?;
        for _ in 0..n {
            seq.serialize_element(member(self.0, self.1).map_err(damaged)?.as_ref())?;
        }
        seq.end()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;
    use crate::value::{item_size, AttributeValue};

    fn sample() -> Item {
        let n = |s: &str| AttributeValue::N(s.parse().unwrap());
        let mut inner = Item::new();
        inner.insert("x".into(), n("-1.5e3"));
        inner.insert("quote \"\\ é".into(), AttributeValue::s("line\nbreak"));
        [
            ("s", AttributeValue::s("héllo \u{1} \"q\"")),
            ("n", n("12345678901234567890.125")),
            ("b", AttributeValue::B(vec![0, 1, 2, 255])),
            ("t", AttributeValue::Bool(true)),
            ("f", AttributeValue::Bool(false)),
            ("z", AttributeValue::Null),
            (
                "l",
                AttributeValue::L(vec![
                    n("0"),
                    AttributeValue::M(inner.clone()),
                    AttributeValue::L(vec![]),
                ]),
            ),
            ("m", AttributeValue::M(inner)),
            (
                "ss",
                AttributeValue::Ss(["b", "a", ""].map(String::from).into()),
            ),
            (
                "ns",
                AttributeValue::Ns(["10", "-2", "3.5"].map(|x| x.parse().unwrap()).into()),
            ),
            (
                "bs",
                AttributeValue::Bs([vec![1], vec![], vec![0, 0]].into()),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    #[test]
    fn a_stored_item_serializes_and_sizes_as_its_decoded_item() {
        let item = sample();
        let encoded = codec::encode_item(&item);
        assert_eq!(check(&encoded).unwrap(), item_size(&item));
        let stored =
            serde_json::to_string(&ReadItem(Repr::Stored(Bytes::from(encoded.clone())))).unwrap();
        let decoded = serde_json::to_string(&item).unwrap();
        assert_eq!(stored, decoded);
        assert_eq!(
            ReadItem::stored(encoded.into())
                .unwrap()
                .0
                .into_item()
                .unwrap(),
            item
        );
        assert_eq!(check(&codec::encode_item(&Item::new())).unwrap(), 0);
    }

    #[test]
    fn get_reads_one_attribute_as_the_decoded_item_has_it() {
        let item = sample();
        let encoded = codec::encode_item(&item);
        let (stored, _) = ReadItem::stored(encoded.into()).unwrap();
        let decoded = ReadItem::from(item.clone());
        let absent = ["", "a", "c", "mm", "zz", "s\0"];
        for name in item.keys().map(String::as_str).chain(absent) {
            assert_eq!(
                stored.get(name).unwrap(),
                item.get(name).cloned(),
                "{name:?}"
            );
            assert_eq!(
                decoded.get(name).unwrap(),
                item.get(name).cloned(),
                "{name:?}"
            );
        }
        let (empty, _) = ReadItem::stored(codec::encode_item(&Item::new()).into()).unwrap();
        assert_eq!(empty.get("s").unwrap(), None);
    }

    #[test]
    fn a_string_that_is_not_utf8_fails_serialization_and_decoding() {
        let mut encoded = codec::encode_item(&sample());
        let at = encoded
            .windows(5)
            .position(|w| w == b"h\xc3\xa9ll")
            .unwrap();
        encoded[at + 1] = 0xff;
        assert!(check(&encoded).is_err());
        let (item, _) = ReadItem::stored(encoded.into()).unwrap();
        let e = serde_json::to_string(&item).unwrap_err().to_string();
        assert!(e.contains("an item is damaged: string is not UTF-8"), "{e}");
        assert!(item.into_item().is_err());
    }

    #[test]
    fn damaged_items_are_errors_never_panics() {
        let encoded = codec::encode_item(&sample());
        for cut in 0..encoded.len() {
            let prefix = &encoded[..cut];
            assert!(
                check(prefix).is_err(),
                "a {cut}-byte prefix passed the check"
            );
            assert!(
                serde_json::to_string(&ReadItem(Repr::Stored(Bytes::copy_from_slice(prefix))))
                    .is_err()
            );
        }
        for i in 0..encoded.len() {
            for flip in [0x01, 0x80, 0xff] {
                let mut bad = encoded.clone();
                bad[i] ^= flip;
                let checked = check(&bad);
                let decoded = codec::decode_item(&bad);
                // The check accepts exactly what decoding accepts, with the same size.
                assert_eq!(checked.is_ok(), decoded.is_ok(), "byte {i} ^ {flip:#x}");
                // Reading one attribute never panics; of an item that decodes, it reads
                // what the decoded item holds.
                let read = ReadItem(Repr::Stored(Bytes::copy_from_slice(&bad)));
                let got: Vec<_> = sample().keys().map(|name| read.get(name)).collect();
                if let (Ok(size), Ok(item)) = (checked, decoded) {
                    for (name, got) in sample().keys().zip(got) {
                        assert_eq!(
                            got.unwrap(),
                            item.get(name).cloned(),
                            "byte {i} ^ {flip:#x}"
                        );
                    }
                    assert_eq!(size, item_size(&item));
                    // The same item (a flip may leave names or set members out of order,
                    // which decoding re-sorts).
                    let stored =
                        serde_json::to_string(&ReadItem(Repr::Stored(bad.into()))).unwrap();
                    assert_eq!(serde_json::from_str::<Item>(&stored).unwrap(), item);
                }
            }
        }
    }
}
