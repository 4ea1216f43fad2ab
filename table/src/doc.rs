//! Document operations the expression evaluator is built on: reading, setting and removing
//! values at document paths (`a.b[2].c`), DynamoDB's comparisons and functions, and the
//! arithmetic and set algebra of SET/ADD/DELETE — all with DynamoDB's semantics and messages.

use crate::error::{Result, TableError};
use crate::number::Number;
use crate::value::{AttributeValue, Item};
use std::cmp::Ordering;
use std::collections::BTreeMap;

/// One step of a document path.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Step {
    /// A map key (or, first, a top-level attribute).
    Key(String),
    /// A list index.
    Index(usize),
}

/// A document path: a top-level attribute name, then keys and indexes.
pub type DocPath = [Step];

fn invalid_path() -> TableError {
    TableError::validation(
        "The document path provided in the update expression is invalid for update",
    )
}

/// The value at `path`, if there is one.
pub fn get<'a>(item: &'a Item, path: &DocPath) -> Option<&'a AttributeValue> {
    let (first, rest) = path.split_first()?;
    let Step::Key(name) = first else { return None };
    let mut v = item.get(name)?;
    for step in rest {
        v = match (step, v) {
            (Step::Key(k), AttributeValue::M(m)) => m.get(k)?,
            (Step::Index(i), AttributeValue::L(l)) => l.get(*i)?,
            _ => return None,
        };
    }
    Some(v)
}

/// Mutable access to the container that holds the last step of `path`, if it exists.
enum Parent<'a> {
    Item(&'a mut Item),
    Map(&'a mut BTreeMap<String, AttributeValue>),
    List(&'a mut Vec<AttributeValue>),
    /// The parent exists but is not a map or list (or is missing).
    Invalid,
}

fn parent<'a>(item: &'a mut Item, path: &DocPath) -> Parent<'a> {
    if path.len() == 1 {
        return Parent::Item(item);
    }
    let Some(Step::Key(name)) = path.first() else {
        return Parent::Invalid;
    };
    let Some(mut v) = item.get_mut(name) else {
        return Parent::Invalid;
    };
    for step in &path[1..path.len() - 1] {
        let next = match (step, v) {
            (Step::Key(k), AttributeValue::M(m)) => m.get_mut(k),
            (Step::Index(i), AttributeValue::L(l)) => l.get_mut(*i),
            _ => None,
        };
        match next {
            Some(n) => v = n,
            None => return Parent::Invalid,
        }
    }
    match v {
        AttributeValue::M(m) => Parent::Map(m),
        AttributeValue::L(l) => Parent::List(l),
        _ => Parent::Invalid,
    }
}

/// `SET path = value`: the parent must exist; a list index past the end appends.
pub fn set(item: &mut Item, path: &DocPath, value: AttributeValue) -> Result<()> {
    let Some(last) = path.last() else {
        return Err(invalid_path());
    };
    match (parent(item, path), last) {
        (Parent::Item(item), Step::Key(k)) => {
            item.insert(k.clone(), value);
        }
        (Parent::Map(m), Step::Key(k)) => {
            m.insert(k.clone(), value);
        }
        (Parent::List(l), Step::Index(i)) => {
            if *i < l.len() {
                l[*i] = value;
            } else {
                l.push(value);
            }
        }
        _ => return Err(invalid_path()),
    }
    Ok(())
}

/// `REMOVE path`: removing what is not there is not an error, but the parent of a nested
/// path must exist. Removing a list element shifts the later ones down.
pub fn remove(item: &mut Item, path: &DocPath) -> Result<Option<AttributeValue>> {
    let Some(last) = path.last() else {
        return Err(invalid_path());
    };
    Ok(match (parent(item, path), last) {
        (Parent::Item(item), Step::Key(k)) => item.remove(k),
        (Parent::Map(m), Step::Key(k)) => m.remove(k),
        (Parent::List(l), Step::Index(i)) => (*i < l.len()).then(|| l.remove(*i)),
        _ => return Err(invalid_path()),
    })
}

/// DynamoDB's ordering for `<`, `<=`, `>`, `>=` and BETWEEN: only between two numbers, two
/// strings (by UTF-8 bytes) or two binaries; `None` otherwise (the comparison is false).
pub fn order(a: &AttributeValue, b: &AttributeValue) -> Option<Ordering> {
    match (a, b) {
        (AttributeValue::N(x), AttributeValue::N(y)) => Some(x.cmp(y)),
        (AttributeValue::S(x), AttributeValue::S(y)) => Some(x.as_bytes().cmp(y.as_bytes())),
        (AttributeValue::B(x), AttributeValue::B(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

/// `begins_with(value, prefix)`: strings and binaries only. A prefix of another type is a
/// validation error, as in DynamoDB; a value of another type is simply false.
pub fn begins_with(value: Option<&AttributeValue>, prefix: &AttributeValue) -> Result<bool> {
    match prefix {
        AttributeValue::S(_) | AttributeValue::B(_) => {}
        other => {
            return Err(TableError::validation(format!(
                "Invalid ConditionExpression: Incorrect operand type for operator or function; operator or function: begins_with, operand type: {}",
                other.type_name()
            )))
        }
    }
    Ok(match (value, prefix) {
        (Some(AttributeValue::S(s)), AttributeValue::S(p)) => s.starts_with(p.as_str()),
        (Some(AttributeValue::B(s)), AttributeValue::B(p)) => s.starts_with(p),
        _ => false,
    })
}

/// `contains(value, operand)`: a substring of a string, a subsequence of bytes, an element
/// of a set (of the operand's type) or of a list.
pub fn contains(value: Option<&AttributeValue>, operand: &AttributeValue) -> bool {
    match (value, operand) {
        (Some(AttributeValue::S(s)), AttributeValue::S(p)) => s.contains(p.as_str()),
        (Some(AttributeValue::B(s)), AttributeValue::B(p)) => {
            p.is_empty() || s.windows(p.len()).any(|w| w == p.as_slice())
        }
        (Some(AttributeValue::Ss(s)), AttributeValue::S(p)) => s.contains(p),
        (Some(AttributeValue::Ns(s)), AttributeValue::N(p)) => s.contains(p),
        (Some(AttributeValue::Bs(s)), AttributeValue::B(p)) => s.contains(p),
        (Some(AttributeValue::L(l)), p) => l.contains(p),
        _ => false,
    }
}

/// `size(value)`: length of a string (UTF-16 code units) or binary (bytes), element count of a set, list
/// or map. Other types have no size (the comparison using it is false).
pub fn size(value: &AttributeValue) -> Option<AttributeValue> {
    let n = match value {
        // A string's length in UTF-16 code units, as DynamoDB (Java) counts it: "é€" is 2,
        // not its 5 UTF-8 bytes; a character outside the BMP counts 2.
        AttributeValue::S(s) => s.encode_utf16().count(),
        AttributeValue::B(b) => b.len(),
        AttributeValue::Ss(s) => s.len(),
        AttributeValue::Ns(s) => s.len(),
        AttributeValue::Bs(s) => s.len(),
        AttributeValue::L(l) => l.len(),
        AttributeValue::M(m) => m.len(),
        _ => return None,
    };
    Some(AttributeValue::N(Number::from(n as i64)))
}

/// The type names `attribute_type` accepts.
pub const TYPE_NAMES: [&str; 10] = ["S", "SS", "N", "NS", "B", "BS", "BOOL", "NULL", "L", "M"];

/// `attribute_type(value, type)`.
pub fn attribute_type(value: Option<&AttributeValue>, ty: &AttributeValue) -> Result<bool> {
    let AttributeValue::S(name) = ty else {
        return Err(TableError::validation(format!(
            "Invalid ConditionExpression: Incorrect operand type for operator or function; operator or function: attribute_type, operand type: {}",
            ty.type_name()
        )));
    };
    if !TYPE_NAMES.contains(&name.as_str()) {
        return Err(TableError::validation(format!(
            "Invalid ConditionExpression: Invalid attribute type name found; type: {name}, valid types: {{B,NULL,SS,BOOL,L,BS,N,NS,S,M}}"
        )));
    }
    Ok(value.is_some_and(|v| v.type_name() == name))
}

fn operand_error(operator: &str, v: &AttributeValue) -> TableError {
    TableError::validation(format!(
        "An operand in the update expression has an incorrect data type; operator or function: {operator}, operand type: {}",
        v.type_name()
    ))
}

/// `a + b` / `a - b` in SET: numbers only.
pub fn arithmetic(a: &AttributeValue, b: &AttributeValue, plus: bool) -> Result<AttributeValue> {
    let op = if plus { "+" } else { "-" };
    match (a, b) {
        (AttributeValue::N(x), AttributeValue::N(y)) => {
            let r = if plus {
                x.checked_add(y)
            } else {
                x.checked_sub(y)
            };
            r.map(AttributeValue::N)
                .map_err(|e| TableError::validation(e.to_string()))
        }
        (AttributeValue::N(_), other) | (other, _) => Err(operand_error(op, other)),
    }
}

/// `list_append(a, b)`.
pub fn list_append(a: &AttributeValue, b: &AttributeValue) -> Result<AttributeValue> {
    match (a, b) {
        (AttributeValue::L(x), AttributeValue::L(y)) => {
            Ok(AttributeValue::L(x.iter().chain(y).cloned().collect()))
        }
        (AttributeValue::L(_), other) | (other, _) => Err(operand_error("list_append", other)),
    }
}

/// `ADD path value`: adds to a number, or unions a set; a missing attribute becomes `value`.
pub fn add(current: Option<&AttributeValue>, value: &AttributeValue) -> Result<AttributeValue> {
    match value {
        AttributeValue::N(_)
        | AttributeValue::Ss(_)
        | AttributeValue::Ns(_)
        | AttributeValue::Bs(_) => {}
        other => return Err(operand_error("ADD", other)),
    }
    let Some(current) = current else {
        return Ok(value.clone());
    };
    match (current, value) {
        (AttributeValue::N(x), AttributeValue::N(y)) => x
            .checked_add(y)
            .map(AttributeValue::N)
            .map_err(|e| TableError::validation(e.to_string())),
        (AttributeValue::Ss(x), AttributeValue::Ss(y)) => {
            Ok(AttributeValue::Ss(x.union(y).cloned().collect()))
        }
        (AttributeValue::Ns(x), AttributeValue::Ns(y)) => {
            Ok(AttributeValue::Ns(x.union(y).cloned().collect()))
        }
        (AttributeValue::Bs(x), AttributeValue::Bs(y)) => {
            Ok(AttributeValue::Bs(x.union(y).cloned().collect()))
        }
        (current, _) => Err(operand_error("ADD", current)),
    }
}

/// `DELETE path subset`: removes elements from a set; `None` when the set ends up empty (the
/// attribute is removed) or did not exist.
pub fn delete_from_set(
    current: Option<&AttributeValue>,
    subset: &AttributeValue,
) -> Result<Option<AttributeValue>> {
    match subset {
        AttributeValue::Ss(_) | AttributeValue::Ns(_) | AttributeValue::Bs(_) => {}
        other => return Err(operand_error("DELETE", other)),
    }
    let Some(current) = current else {
        return Ok(None);
    };
    let result = match (current, subset) {
        (AttributeValue::Ss(x), AttributeValue::Ss(y)) => {
            let d: std::collections::BTreeSet<_> = x.difference(y).cloned().collect();
            (!d.is_empty()).then_some(AttributeValue::Ss(d))
        }
        (AttributeValue::Ns(x), AttributeValue::Ns(y)) => {
            let d: std::collections::BTreeSet<_> = x.difference(y).cloned().collect();
            (!d.is_empty()).then_some(AttributeValue::Ns(d))
        }
        (AttributeValue::Bs(x), AttributeValue::Bs(y)) => {
            let d: std::collections::BTreeSet<_> = x.difference(y).cloned().collect();
            (!d.is_empty()).then_some(AttributeValue::Bs(d))
        }
        (current, _) => return Err(operand_error("DELETE", current)),
    };
    Ok(result)
}

/// The attributes at `paths` of `item`, nested as in the item (ProjectionExpression). List
/// elements keep their relative order; missing paths are skipped.
pub fn project(item: &Item, paths: &[Vec<Step>]) -> Item {
    let mut out = Item::new();
    for path in paths {
        let Some(v) = get(item, path) else { continue };
        let Some((Step::Key(first), rest)) = path.split_first() else {
            continue;
        };
        if rest.is_empty() {
            out.insert(first.clone(), v.clone());
            continue;
        }
        // Rebuild the containers along the path. List indexes become positions in a list of
        // the projected elements, in index order.
        let slot = out
            .entry(first.clone())
            .or_insert_with(|| empty_like(item.get(first)));
        insert_projected(slot, &item[first], rest, v);
    }
    compact_lists(&mut out);
    out
}

fn empty_like(v: Option<&AttributeValue>) -> AttributeValue {
    match v {
        Some(AttributeValue::L(_)) => AttributeValue::L(Vec::new()),
        _ => AttributeValue::M(BTreeMap::new()),
    }
}

/// Marker key used while building projected lists: elements are kept in a map keyed by their
/// original index, then turned back into a list.
const LIST_MARK: &str = "\u{0}list";

fn insert_projected(
    slot: &mut AttributeValue,
    source: &AttributeValue,
    rest: &[Step],
    v: &AttributeValue,
) {
    let Some((step, tail)) = rest.split_first() else {
        *slot = v.clone();
        return;
    };
    let child_source = match (step, source) {
        (Step::Key(k), AttributeValue::M(m)) => m.get(k),
        (Step::Index(i), AttributeValue::L(l)) => l.get(*i),
        _ => None,
    };
    let Some(child_source) = child_source else {
        return;
    };
    // Lists under construction are maps keyed "\0list" + zero-padded index.
    let key = match step {
        Step::Key(k) => k.clone(),
        Step::Index(i) => format!("{LIST_MARK}{i:010}"),
    };
    if let AttributeValue::L(_) = slot {
        *slot = AttributeValue::M(BTreeMap::from([(
            LIST_MARK.to_owned(),
            AttributeValue::Null,
        )]));
    }
    if let AttributeValue::M(m) = slot {
        let child = m.entry(key).or_insert_with(|| {
            if tail.is_empty() {
                v.clone()
            } else {
                empty_like(Some(child_source))
            }
        });
        if !tail.is_empty() {
            insert_projected(child, child_source, tail, v);
        }
    }
}

fn compact_lists(item: &mut Item) {
    for v in item.values_mut() {
        compact_value(v);
    }
}

fn compact_value(v: &mut AttributeValue) {
    if let AttributeValue::M(m) = v {
        for child in m.values_mut() {
            compact_value(child);
        }
        if m.contains_key(LIST_MARK) {
            let elements = m
                .iter()
                .filter(|(k, _)| k.as_str() != LIST_MARK)
                .map(|(_, e)| e.clone())
                .collect();
            *v = AttributeValue::L(elements);
        }
    } else if let AttributeValue::L(l) = v {
        for child in l {
            compact_value(child);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn string_size_counts_utf16_code_units() {
        let n = |s: &str| size(&AttributeValue::S(s.into()));
        assert_eq!(n("ab"), Some(AttributeValue::N(Number::from(2))));
        assert_eq!(n("é€"), Some(AttributeValue::N(Number::from(2))));
        assert_eq!(n("😀"), Some(AttributeValue::N(Number::from(2))));
        assert_eq!(size(&AttributeValue::Bool(true)), None);
    }

    fn item(json: &str) -> Item {
        serde_json::from_str(json).unwrap()
    }

    fn path(s: &str) -> Vec<Step> {
        s.split('.')
            .flat_map(|part| {
                let mut steps = Vec::new();
                let mut it = part.split('[');
                steps.push(Step::Key(it.next().unwrap().to_owned()));
                for idx in it {
                    steps.push(Step::Index(idx.trim_end_matches(']').parse().unwrap()));
                }
                steps
            })
            .collect()
    }

    #[test]
    fn get_set_remove_follow_dynamodb() {
        let mut it = item(r#"{"a":{"M":{"b":{"L":[{"N":"1"},{"N":"2"}]}}},"s":{"S":"x"}}"#);
        assert_eq!(
            get(&it, &path("a.b[1]")),
            Some(&AttributeValue::n("2").unwrap())
        );
        assert_eq!(get(&it, &path("a.b[5]")), None);
        assert_eq!(get(&it, &path("s.x")), None);
        set(&mut it, &path("a.b[9]"), AttributeValue::s("appended")).unwrap();
        assert_eq!(
            get(&it, &path("a.b[2]")),
            Some(&AttributeValue::s("appended"))
        );
        set(&mut it, &path("a.c"), AttributeValue::Bool(true)).unwrap();
        assert!(set(&mut it, &path("missing.c"), AttributeValue::Null).is_err());
        assert!(set(&mut it, &path("s.c"), AttributeValue::Null).is_err());
        assert!(set(&mut it, &path("a[0]"), AttributeValue::Null).is_err());
        assert_eq!(
            remove(&mut it, &path("a.b[0]")).unwrap(),
            Some(AttributeValue::n("1").unwrap())
        );
        assert_eq!(
            get(&it, &path("a.b[0]")),
            Some(&AttributeValue::n("2").unwrap())
        );
        assert_eq!(remove(&mut it, &path("nothing")).unwrap(), None);
        assert_eq!(remove(&mut it, &path("a.zzz")).unwrap(), None);
        assert!(remove(&mut it, &path("nothing.deeper")).is_err());
    }

    #[test]
    fn comparisons_and_functions() {
        let n = |s: &str| AttributeValue::n(s).unwrap();
        assert_eq!(order(&n("2"), &n("10")), Some(Ordering::Less));
        assert_eq!(
            order(&AttributeValue::s("2"), &AttributeValue::s("10")),
            Some(Ordering::Greater)
        );
        assert_eq!(order(&n("2"), &AttributeValue::s("2")), None);
        assert!(begins_with(Some(&AttributeValue::s("hello")), &AttributeValue::s("he")).unwrap());
        assert!(!begins_with(Some(&n("1")), &AttributeValue::s("1")).unwrap());
        assert!(begins_with(Some(&AttributeValue::s("x")), &n("1")).is_err());
        let set = item(r#"{"x":{"SS":["a","b"]},"l":{"L":[{"N":"1"}]}}"#);
        assert!(contains(set.get("x"), &AttributeValue::s("a")));
        assert!(!contains(set.get("x"), &AttributeValue::s("c")));
        assert!(contains(set.get("l"), &n("1")));
        assert!(contains(
            Some(&AttributeValue::s("hello")),
            &AttributeValue::s("ell")
        ));
        // UTF-16 code units, as DynamoDB Local and Dynoxide count (this said 6, UTF-8 bytes: wrong).
        assert_eq!(size(&AttributeValue::s("héllo")), Some(n("5")));
        assert_eq!(size(&set["x"]), Some(n("2")));
        assert_eq!(size(&n("1")), None);
        assert!(attribute_type(Some(&n("1")), &AttributeValue::s("N")).unwrap());
        assert!(!attribute_type(None, &AttributeValue::s("N")).unwrap());
        assert!(attribute_type(None, &AttributeValue::s("X")).is_err());
    }

    #[test]
    fn arithmetic_and_sets() {
        let n = |s: &str| AttributeValue::n(s).unwrap();
        assert_eq!(arithmetic(&n("1.5"), &n("2"), true).unwrap(), n("3.5"));
        assert_eq!(arithmetic(&n("1.5"), &n("2"), false).unwrap(), n("-0.5"));
        assert!(arithmetic(&n("1"), &AttributeValue::s("x"), true).is_err());
        assert_eq!(add(None, &n("3")).unwrap(), n("3"));
        assert_eq!(add(Some(&n("3")), &n("-1")).unwrap(), n("2"));
        let ss = |v: &[&str]| AttributeValue::Ss(v.iter().map(|s| s.to_string()).collect());
        assert_eq!(
            add(Some(&ss(&["a"])), &ss(&["b"])).unwrap(),
            ss(&["a", "b"])
        );
        assert!(add(Some(&ss(&["a"])), &n("1")).is_err());
        assert!(add(None, &AttributeValue::s("x")).is_err());
        assert_eq!(
            delete_from_set(Some(&ss(&["a", "b"])), &ss(&["a"])).unwrap(),
            Some(ss(&["b"]))
        );
        assert_eq!(
            delete_from_set(Some(&ss(&["a"])), &ss(&["a"])).unwrap(),
            None
        );
        assert_eq!(delete_from_set(None, &ss(&["a"])).unwrap(), None);
        let l = |v: &[&str]| AttributeValue::L(v.iter().map(|s| AttributeValue::s(*s)).collect());
        assert_eq!(list_append(&l(&["a"]), &l(&["b"])).unwrap(), l(&["a", "b"]));
    }

    #[test]
    fn projection_keeps_nesting() {
        let it = item(
            r#"{"a":{"M":{"b":{"S":"x"},"c":{"S":"y"}}},"l":{"L":[{"S":"0"},{"S":"1"},{"S":"2"}]},"z":{"N":"1"}}"#,
        );
        let p = project(
            &it,
            &[path("a.b"), path("l[2]"), path("l[0]"), path("missing")],
        );
        assert_eq!(
            p,
            item(r#"{"a":{"M":{"b":{"S":"x"}}},"l":{"L":[{"S":"0"},{"S":"2"}]}}"#)
        );
        assert_eq!(project(&it, &[path("z")]), item(r#"{"z":{"N":"1"}}"#));
    }
}
