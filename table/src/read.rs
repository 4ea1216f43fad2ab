//! The read path of Query and Scan: a key range of a table's keyspace, read in key order
//! (or backwards), one page at a time with DynamoDB's paging rules.
//!
//! A page stops after `Limit` items were *evaluated* (read, before the filter) or once the
//! items read reach 1 MB; `LastEvaluatedKey` is then the key of the last item evaluated,
//! whether or not the filter kept it — DynamoDB's rule, which makes a filtered page possibly
//! empty yet not the last.

use crate::codec;
use crate::error::{Result, TableError};
use crate::stored::{check_stored, ReadItem};
use crate::value::{item_size, AttributeValue, Item};
use std::ops::Bound;
use strata_engine::{Keyspace, Snapshot};

/// The most item bytes one page reads.
pub const PAGE_BYTES: usize = 1024 * 1024;

/// A sort-key condition of a Query.
#[derive(Debug, Clone, PartialEq)]
pub enum SortCondition {
    /// Any sort key.
    Any,
    /// `=`.
    Eq(AttributeValue),
    /// `<`.
    Lt(AttributeValue),
    /// `<=`.
    Le(AttributeValue),
    /// `>`.
    Gt(AttributeValue),
    /// `>=`.
    Ge(AttributeValue),
    /// `BETWEEN low AND high` (inclusive).
    Between(AttributeValue, AttributeValue),
    /// `begins_with` (strings and binaries).
    BeginsWith(AttributeValue),
}

/// A range of engine keys.
pub type KeyRange = (Bound<Vec<u8>>, Bound<Vec<u8>>);

/// The engine-key range of one partition's items matching `sort`.
pub fn query_range(partition: &AttributeValue, sort: &SortCondition) -> KeyRange {
    let prefix = codec::partition_prefix(partition);
    let with = |v: &AttributeValue| {
        let mut k = prefix.clone();
        codec::encode_key_part(v, &mut k);
        k
    };
    let end = || prefix_end(&prefix);
    match sort {
        SortCondition::Any => (Bound::Included(prefix.clone()), end()),
        SortCondition::Eq(v) => (Bound::Included(with(v)), Bound::Included(with(v))),
        SortCondition::Lt(v) => (Bound::Included(prefix.clone()), Bound::Excluded(with(v))),
        SortCondition::Le(v) => (Bound::Included(prefix.clone()), Bound::Included(with(v))),
        SortCondition::Gt(v) => (Bound::Excluded(with(v)), end()),
        SortCondition::Ge(v) => (Bound::Included(with(v)), end()),
        SortCondition::Between(a, b) => (Bound::Included(with(a)), Bound::Included(with(b))),
        SortCondition::BeginsWith(v) => {
            // The escaped bytes without their terminator prefix exactly the keys that begin
            // with the value.
            let mut k = with(v);
            k.truncate(k.len() - 2);
            let hi = prefix_end(&k);
            (Bound::Included(k), hi)
        }
    }
}

/// Whether `key` lies inside `range`.
pub fn contains(range: &KeyRange, key: &[u8]) -> bool {
    let above = match &range.0 {
        Bound::Included(l) => key >= l.as_slice(),
        Bound::Excluded(l) => key > l.as_slice(),
        Bound::Unbounded => true,
    };
    let below = match &range.1 {
        Bound::Included(h) => key <= h.as_slice(),
        Bound::Excluded(h) => key < h.as_slice(),
        Bound::Unbounded => true,
    };
    above && below
}

/// The bound just past every key starting with `prefix`.
pub fn prefix_end(prefix: &[u8]) -> Bound<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Bound::Excluded(end);
        }
    }
    Bound::Unbounded
}

/// The engine-key range of Scan segment `segment` of `total` (by partition hash).
pub fn segment_range(segment: u32, total: u32) -> KeyRange {
    let start = |s: u32| ((u64::from(s) << 32) / u64::from(total)) as u32;
    let lo = Bound::Included(start(segment).to_be_bytes().to_vec());
    let hi = if segment + 1 >= total {
        Bound::Unbounded
    } else {
        Bound::Excluded(start(segment + 1).to_be_bytes().to_vec())
    };
    (lo, hi)
}

/// One page read.
pub struct Page {
    /// The items evaluated that the filter kept, projected.
    pub items: Vec<ReadItem>,
    /// Items evaluated.
    pub scanned: usize,
    /// Bytes of the items evaluated.
    pub bytes: usize,
    /// Where the next page starts, if the page stopped early.
    pub last_evaluated_key: Option<Item>,
}

/// Turns a stored entry (engine key, decoded value) into the item a page evaluates, or
/// `None` to pass over it unseen (an expired item hidden from reads).
pub type Loader<'a> = dyn Fn(&[u8], Item) -> Result<Option<Item>> + 'a;

/// Keeps an item or not: a FilterExpression.
pub type Filter<'a> = dyn Fn(&Item) -> Result<bool> + 'a;

/// What a page read needs besides the range.
pub struct PageSpec<'a> {
    /// `LastEvaluatedKey` of an engine key.
    pub last_key: &'a dyn Fn(&[u8]) -> Result<Item>,
    /// Turns a stored entry into the item evaluated (an LSI entry into its table item);
    /// `None` evaluates entries as stored.
    pub load: Option<&'a Loader<'a>>,
    /// Items to evaluate at most.
    pub limit: Option<usize>,
    /// Backwards.
    pub reverse: bool,
    /// Start after this engine key.
    pub start_after: Option<Vec<u8>>,
    /// Keeps an item or not (FilterExpression); `None` keeps every item.
    pub filter: Option<&'a Filter<'a>>,
    /// Shapes a kept item (ProjectionExpression); `None` keeps it whole.
    pub project: Option<&'a dyn Fn(&Item) -> Item>,
    /// Only count (Select COUNT).
    pub count_only: bool,
    /// Whole items may stay in their stored encoding (see [`crate::stored`]), sharing the
    /// bytes they were read from — a table block, or a memtable's arena chunk, kept alive
    /// while they are held: for a caller that serializes them rather than keep them.
    pub keep_stored: bool,
}

/// Reads one page of `range` in `items` at `snapshot`.
pub fn read_page(
    items: &Keyspace,
    snapshot: &Snapshot,
    range: KeyRange,
    spec: &PageSpec<'_>,
) -> Result<Page> {
    let (mut lo, mut hi) = range;
    if let Some(after) = &spec.start_after {
        if spec.reverse {
            if bound_allows_below(&hi, after) {
                hi = Bound::Excluded(after.clone());
            }
        } else if bound_allows_above(&lo, after) {
            lo = Bound::Excluded(after.clone());
        }
    }
    let empty = match (&lo, &hi) {
        (Bound::Included(a) | Bound::Excluded(a), Bound::Included(b) | Bound::Excluded(b)) => {
            a > b || (a == b && !matches!((&lo, &hi), (Bound::Included(_), Bound::Included(_))))
        }
        _ => false,
    };
    let mut page = Page {
        items: Vec::new(),
        scanned: 0,
        bytes: 0,
        last_evaluated_key: None,
    };
    if empty || spec.limit == Some(0) {
        return Ok(page);
    }
    // A cursor rather than an iterator: keys and values are borrowed where they lie (a
    // block, a memtable entry), not copied out for each item.
    let mut cursor = snapshot.cursor(items, (lo, hi));
    if spec.reverse {
        cursor.seek_to_last()?;
    } else {
        cursor.seek_to_first()?;
    }
    // Items read whole and not looked at stay as stored, sharing the bytes they were read
    // from (a table block, a memtable's arena chunk): no copy and no allocation per item.
    let stored = spec.keep_stored
        && spec.load.is_none()
        && spec.filter.is_none()
        && spec.project.is_none()
        && !spec.count_only;
    while let Some(key) = cursor.key() {
        let evaluated = if stored {
            let value = cursor.value_pinned().unwrap_or_default();
            page.bytes += check_stored(&value)?;
            page.scanned += 1;
            page.items.push(ReadItem::checked(value));
            true
        } else {
            evaluate(&mut page, key, cursor.value().unwrap_or_default(), spec)?
        };
        let full = spec.limit.is_some_and(|l| page.scanned >= l) || page.bytes >= PAGE_BYTES;
        if evaluated && full {
            // DynamoDB reports where it stopped even when nothing follows, except that it
            // knows the end of a page that hit neither limit.
            page.last_evaluated_key = Some((spec.last_key)(key)?);
            break;
        }
        if spec.reverse {
            cursor.prev()?;
        } else {
            cursor.next()?;
        }
    }
    Ok(page)
}

/// Decodes, loads, filters and projects one entry into `page`; false when the loader passed
/// over it unseen.
fn evaluate(page: &mut Page, key: &[u8], value: &[u8], spec: &PageSpec<'_>) -> Result<bool> {
    let mut item = codec::decode_item(value)
        .map_err(|e| TableError::Internal(format!("an item is damaged: {e}")))?;
    if let Some(load) = spec.load {
        match load(key, item)? {
            Some(i) => item = i,
            None => return Ok(false),
        }
    }
    page.scanned += 1;
    page.bytes += item_size(&item);
    if spec.filter.map_or(Ok(true), |f| f(&item))? {
        page.items.push(if spec.count_only {
            ReadItem::from(Item::new())
        } else {
            ReadItem::from(match spec.project {
                Some(p) => p(&item),
                None => item,
            })
        });
    }
    Ok(true)
}

fn bound_allows_above(lo: &Bound<Vec<u8>>, key: &[u8]) -> bool {
    match lo {
        Bound::Included(l) | Bound::Excluded(l) => key >= l.as_slice(),
        Bound::Unbounded => true,
    }
}

fn bound_allows_below(hi: &Bound<Vec<u8>>, key: &[u8]) -> bool {
    match hi {
        Bound::Included(h) | Bound::Excluded(h) => key <= h.as_slice(),
        Bound::Unbounded => true,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    fn within(range: &KeyRange, key: &[u8]) -> bool {
        contains(range, key)
    }

    #[test]
    fn sort_conditions_select_the_right_keys() {
        let pk = AttributeValue::s("p");
        let key = |s: &str| codec::item_key(&pk, Some(&AttributeValue::s(s)));
        let other = codec::item_key(&AttributeValue::s("q"), Some(&AttributeValue::s("b")));
        let s = |x: &str| AttributeValue::s(x);
        let cases = [
            (SortCondition::Any, vec!["", "a", "b", "ba", "c"]),
            (SortCondition::Eq(s("b")), vec!["b"]),
            (SortCondition::Lt(s("b")), vec!["", "a"]),
            (SortCondition::Le(s("b")), vec!["", "a", "b"]),
            (SortCondition::Gt(s("b")), vec!["ba", "c"]),
            (SortCondition::Ge(s("b")), vec!["b", "ba", "c"]),
            (SortCondition::Between(s("a"), s("b")), vec!["a", "b"]),
            (SortCondition::BeginsWith(s("b")), vec!["b", "ba"]),
            (
                SortCondition::BeginsWith(s("")),
                vec!["", "a", "b", "ba", "c"],
            ),
        ];
        for (cond, want) in cases {
            let r = query_range(&pk, &cond);
            let got: Vec<&str> = ["", "a", "b", "ba", "c"]
                .into_iter()
                .filter(|k| within(&r, &key(k)))
                .collect();
            assert_eq!(got, want, "{cond:?}");
            assert!(!within(&r, &other), "{cond:?} leaks into another partition");
        }
    }

    #[test]
    fn segments_tile_the_hash_space() {
        for total in [1u32, 2, 3, 7, 1000] {
            let mut covered = 0u64;
            for seg in 0..total {
                let r = segment_range(seg, total);
                for probe in [0u32, 1, u32::MAX / 3, u32::MAX / 2, u32::MAX] {
                    let k = probe.to_be_bytes();
                    if within(&r, &k) {
                        covered += 1;
                    }
                }
            }
            assert_eq!(
                covered, 5,
                "total {total}: every hash in exactly one segment"
            );
        }
    }
}
