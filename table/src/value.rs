//! Attribute values: DynamoDB's ten data types, their JSON form (`{"S": "x"}`, `{"N": "1"}`,
//! base64 for binaries …), validation and sizes.
//!
//! Deserializing from DynamoDB JSON validates what the wire format alone cannot: exactly one
//! type per value, numbers (see [`crate::number`]), `NULL` only `true`, no empty or duplicate
//! sets, and nesting at most 32 levels deep — with DynamoDB's messages. Sets are kept sorted
//! (their order carries no meaning in DynamoDB) and maps by name, so equal values compare
//! equal.

use crate::number::Number;
use base64::Engine as _;
use serde::de::{self, MapAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// An item: attribute name → value.
pub type Item = BTreeMap<String, AttributeValue>;

/// The deepest nesting of lists and maps DynamoDB accepts.
pub const MAX_NESTING: usize = 32;

/// One attribute value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AttributeValue {
    /// String.
    S(String),
    /// Number.
    N(Number),
    /// Binary.
    B(Vec<u8>),
    /// Boolean.
    Bool(bool),
    /// Null (DynamoDB's `{"NULL": true}`).
    Null,
    /// List.
    L(Vec<AttributeValue>),
    /// Map.
    M(BTreeMap<String, AttributeValue>),
    /// String set (non-empty, no duplicates).
    Ss(BTreeSet<String>),
    /// Number set.
    Ns(BTreeSet<Number>),
    /// Binary set.
    Bs(BTreeSet<Vec<u8>>),
}

impl AttributeValue {
    /// The type's name as DynamoDB writes it (`S`, `N`, `B`, `BOOL`, `NULL`, `L`, `M`, `SS`,
    /// `NS`, `BS`).
    pub fn type_name(&self) -> &'static str {
        match self {
            AttributeValue::S(_) => "S",
            AttributeValue::N(_) => "N",
            AttributeValue::B(_) => "B",
            AttributeValue::Bool(_) => "BOOL",
            AttributeValue::Null => "NULL",
            AttributeValue::L(_) => "L",
            AttributeValue::M(_) => "M",
            AttributeValue::Ss(_) => "SS",
            AttributeValue::Ns(_) => "NS",
            AttributeValue::Bs(_) => "BS",
        }
    }

    /// A number value parsed from text (convenience for tests and examples).
    pub fn n(text: &str) -> Result<AttributeValue, crate::number::NumberError> {
        Number::parse(text).map(AttributeValue::N)
    }

    /// A string value.
    pub fn s(text: impl Into<String>) -> AttributeValue {
        AttributeValue::S(text.into())
    }

    /// DynamoDB's size of the value in bytes (not counting its attribute name): strings and
    /// binaries by length, numbers by significant digits, 1 byte for booleans and nulls, and
    /// for lists and maps 3 bytes plus 1 byte per element plus the elements (and, for maps,
    /// their names).
    pub fn size(&self) -> usize {
        match self {
            AttributeValue::S(s) => s.len(),
            AttributeValue::N(n) => n.size(),
            AttributeValue::B(b) => b.len(),
            AttributeValue::Bool(_) | AttributeValue::Null => 1,
            AttributeValue::L(l) => 3 + l.iter().map(|v| v.size() + 1).sum::<usize>(),
            AttributeValue::M(m) => {
                3 + m.iter().map(|(k, v)| k.len() + v.size() + 1).sum::<usize>()
            }
            AttributeValue::Ss(s) => s.iter().map(String::len).sum(),
            AttributeValue::Ns(s) => s.iter().map(Number::size).sum(),
            AttributeValue::Bs(s) => s.iter().map(Vec::len).sum(),
        }
    }

    /// How deeply lists and maps nest inside this value (a scalar is 0).
    pub fn depth(&self) -> usize {
        match self {
            AttributeValue::L(l) => 1 + l.iter().map(Self::depth).max().unwrap_or(0),
            AttributeValue::M(m) => 1 + m.values().map(Self::depth).max().unwrap_or(0),
            _ => 0,
        }
    }
}

impl From<&str> for AttributeValue {
    fn from(s: &str) -> Self {
        AttributeValue::S(s.to_owned())
    }
}

impl From<String> for AttributeValue {
    fn from(s: String) -> Self {
        AttributeValue::S(s)
    }
}

impl From<Number> for AttributeValue {
    fn from(n: Number) -> Self {
        AttributeValue::N(n)
    }
}

macro_rules! from_int {
    ($($t:ty),*) => {$(
        impl From<$t> for AttributeValue {
            fn from(n: $t) -> Self {
                AttributeValue::N(Number::from(i64::from(n)))
            }
        }
    )*};
}
from_int!(i8, i16, i32, i64, u8, u16, u32);

impl From<bool> for AttributeValue {
    fn from(b: bool) -> Self {
        AttributeValue::Bool(b)
    }
}

impl From<Vec<u8>> for AttributeValue {
    fn from(b: Vec<u8>) -> Self {
        AttributeValue::B(b)
    }
}

impl From<Vec<AttributeValue>> for AttributeValue {
    fn from(l: Vec<AttributeValue>) -> Self {
        AttributeValue::L(l)
    }
}

impl From<Item> for AttributeValue {
    fn from(m: Item) -> Self {
        AttributeValue::M(m)
    }
}

/// DynamoDB's size of an item: each attribute's name plus its value.
pub fn item_size(item: &Item) -> usize {
    item.iter().map(|(k, v)| k.len() + v.size()).sum()
}

/// The base64 alphabet DynamoDB's JSON uses for binaries.
pub(crate) fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

impl Serialize for AttributeValue {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let mut map = ser.serialize_map(Some(1))?;
        match self {
            AttributeValue::S(s) => map.serialize_entry("S", s)?,
            AttributeValue::N(n) => map.serialize_entry("N", &n.to_string())?,
            AttributeValue::B(b) => map.serialize_entry("B", &b64().encode(b))?,
            AttributeValue::Bool(b) => map.serialize_entry("BOOL", b)?,
            AttributeValue::Null => map.serialize_entry("NULL", &true)?,
            AttributeValue::L(l) => map.serialize_entry("L", l)?,
            AttributeValue::M(m) => map.serialize_entry("M", m)?,
            AttributeValue::Ss(s) => map.serialize_entry("SS", s)?,
            AttributeValue::Ns(s) => map.serialize_entry("NS", &NumberStrings(s))?,
            AttributeValue::Bs(s) => map.serialize_entry("BS", &Base64Set(s))?,
        }
        map.end()
    }
}

struct NumberStrings<'a>(&'a BTreeSet<Number>);

impl Serialize for NumberStrings<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let mut seq = ser.serialize_seq(Some(self.0.len()))?;
        for n in self.0 {
            seq.serialize_element(&n.to_string())?;
        }
        seq.end()
    }
}

struct Base64Set<'a>(&'a BTreeSet<Vec<u8>>);

impl Serialize for Base64Set<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let mut seq = ser.serialize_seq(Some(self.0.len()))?;
        for b in self.0 {
            seq.serialize_element(&b64().encode(b))?;
        }
        seq.end()
    }
}

/// The JSON shape of a value before validation: every type field optional. Unknown members
/// are ignored, as DynamoDB ignores unknown structure members: `{"XX": "a"}` is an empty
/// value ("Supplied AttributeValue is empty…", a ValidationException), not a
/// SerializationException.
#[derive(Deserialize)]
struct RawValue {
    #[serde(rename = "S")]
    s: Option<String>,
    #[serde(rename = "N")]
    n: Option<String>,
    #[serde(rename = "B")]
    b: Option<String>,
    #[serde(rename = "BOOL")]
    bool: Option<bool>,
    #[serde(rename = "NULL")]
    null: Option<bool>,
    #[serde(rename = "L")]
    l: Option<Vec<AttributeValue>>,
    #[serde(rename = "M")]
    m: Option<BTreeMap<String, AttributeValue>>,
    #[serde(rename = "SS")]
    ss: Option<Vec<String>>,
    #[serde(rename = "NS")]
    ns: Option<Vec<String>>,
    #[serde(rename = "BS")]
    bs: Option<Vec<String>>,
}

/// Whether a deserialization error's message is one of the value checks of this module
/// (DynamoDB answers those with a `ValidationException`, not a `SerializationException`).
/// The messages are produced here and by [`crate::number::NumberError`], so the test lives
/// next to them.
pub fn is_value_error(message: &str) -> bool {
    const STARTS: [&str; 7] = [
        "Supplied AttributeValue",
        "One or more parameter values",
        "The parameter cannot be converted to a numeric value",
        "Number overflow",
        "Number underflow",
        "Attempting to store more than 38 significant digits",
        "Nesting Levels",
    ];
    STARTS.iter().any(|s| message.starts_with(s))
}

/// Why a value from the wire was rejected (DynamoDB's messages).
pub(crate) fn invalid_set_message(kind: &str) -> String {
    // Sic: DynamoDB's message has two spaces.
    format!("One or more parameter values were invalid: An {kind}  may not be empty")
}

fn decode_b64(s: &str) -> Result<Vec<u8>, String> {
    b64()
        .decode(s)
        .map_err(|_| "Invalid Base64 value for a binary attribute".to_owned())
}

impl RawValue {
    fn into_value(self) -> Result<AttributeValue, String> {
        let set = [
            self.s.is_some(),
            self.n.is_some(),
            self.b.is_some(),
            self.bool.is_some(),
            self.null.is_some(),
            self.l.is_some(),
            self.m.is_some(),
            self.ss.is_some(),
            self.ns.is_some(),
            self.bs.is_some(),
        ]
        .iter()
        .filter(|&&x| x)
        .count();
        if set == 0 {
            return Err("Supplied AttributeValue is empty, must contain exactly one of the supported datatypes".into());
        }
        if set > 1 {
            return Err("Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes".into());
        }
        let dup = |elements: &[String], ty: &str| {
            let list = elements.join(", ");
            match ty {
                "SS" => format!("One or more parameter values were invalid: Input collection [{list}] contains duplicates."),
                _ => format!("One or more parameter values were invalid: Input collection [{list}] of type {ty} contains duplicates."),
            }
        };
        let v = if let Some(s) = self.s {
            AttributeValue::S(s)
        } else if let Some(n) = self.n {
            AttributeValue::N(Number::parse(&n).map_err(|e| e.to_string())?)
        } else if let Some(b) = self.b {
            AttributeValue::B(decode_b64(&b)?)
        } else if let Some(b) = self.bool {
            AttributeValue::Bool(b)
        } else if let Some(null) = self.null {
            if !null {
                return Err("One or more parameter values were invalid: Null attribute value types must have the value of true".into());
            }
            AttributeValue::Null
        } else if let Some(l) = self.l {
            AttributeValue::L(l)
        } else if let Some(m) = self.m {
            AttributeValue::M(m)
        } else if let Some(ss) = self.ss {
            if ss.is_empty() {
                return Err(invalid_set_message("string set"));
            }
            let set: BTreeSet<String> = ss.iter().cloned().collect();
            if set.len() != ss.len() {
                return Err(dup(&ss, "SS"));
            }
            AttributeValue::Ss(set)
        } else if let Some(ns) = self.ns {
            if ns.is_empty() {
                return Err(invalid_set_message("number set"));
            }
            let set = ns
                .iter()
                .map(|s| Number::parse(s).map_err(|e| e.to_string()))
                .collect::<Result<BTreeSet<Number>, String>>()?;
            if set.len() != ns.len() {
                return Err(dup(&ns, "NS"));
            }
            AttributeValue::Ns(set)
        } else if let Some(bs) = self.bs {
            if bs.is_empty() {
                return Err(invalid_set_message("binary set"));
            }
            let set = bs
                .iter()
                .map(|s| decode_b64(s))
                .collect::<Result<BTreeSet<Vec<u8>>, String>>()?;
            if set.len() != bs.len() {
                return Err(dup(&bs, "BS"));
            }
            AttributeValue::Bs(set)
        } else {
            return Err("Supplied AttributeValue is empty, must contain exactly one of the supported datatypes".into());
        };
        if v.depth() > MAX_NESTING {
            return Err(format!(
                "Nesting Levels have exceeded supported limits: Attribute values may be nested at most {MAX_NESTING} levels deep"
            ));
        }
        Ok(v)
    }
}

impl<'de> Deserialize<'de> for AttributeValue {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<AttributeValue, D::Error> {
        // serde_json limits recursion to 128 levels by default, so a hostile document cannot
        // overflow the stack here; deeper-than-32 values are rejected by `into_value`.
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = AttributeValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an AttributeValue object such as {\"S\": \"text\"}")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<AttributeValue, A::Error> {
                let raw = RawValue::deserialize(de::value::MapAccessDeserializer::new(map))?;
                raw.into_value().map_err(de::Error::custom)
            }
        }
        de.deserialize_map(V)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<AttributeValue, String> {
        serde_json::from_str(json).map_err(|e| e.to_string())
    }

    #[test]
    fn every_type_round_trips_through_json() {
        for json in [
            r#"{"S":"hello"}"#,
            r#"{"S":""}"#,
            r#"{"N":"-12.5"}"#,
            r#"{"B":"AAEC"}"#,
            r#"{"BOOL":true}"#,
            r#"{"NULL":true}"#,
            r#"{"L":[{"S":"a"},{"N":"1"}]}"#,
            r#"{"M":{"a":{"S":"x"},"b":{"L":[]}}}"#,
            r#"{"SS":["a","b"]}"#,
            r#"{"NS":["1","2.5"]}"#,
            r#"{"BS":["AA==","AQ=="]}"#,
        ] {
            let v = parse(json).unwrap();
            assert_eq!(serde_json::to_string(&v).unwrap(), json);
        }
        // Numbers come back canonical; sets come back sorted.
        let v = parse(r#"{"NS":["10","1.0","-3"]}"#).unwrap();
        assert_eq!(
            serde_json::to_string(&v).unwrap(),
            r#"{"NS":["-3","1","10"]}"#
        );
    }

    #[test]
    fn invalid_values_get_dynamodb_messages() {
        for (json, message) in [
            (r#"{}"#, "Supplied AttributeValue is empty"),
            (r#"{"S":"a","N":"1"}"#, "more than one datatypes set"),
            (
                r#"{"N":"abc"}"#,
                "cannot be converted to a numeric value: abc",
            ),
            (r#"{"N":"1e200"}"#, "Number overflow"),
            (
                r#"{"NULL":false}"#,
                "Null attribute value types must have the value of true",
            ),
            (r#"{"SS":[]}"#, "An string set  may not be empty"),
            (
                r#"{"NS":["1","1.0"]}"#,
                "Input collection [1, 1.0] of type NS contains duplicates.",
            ),
            (
                r#"{"SS":["a","a"]}"#,
                "Input collection [a, a] contains duplicates.",
            ),
            (r#"{"B":"!!"}"#, "Base64"),
            (
                r#"{"X":"1"}"#,
                "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes",
            ),
        ] {
            let err = parse(json).unwrap_err();
            assert!(err.contains(message), "{json}: {err}");
        }
        assert!(is_value_error(&parse(r#"{"XX":"a"}"#).unwrap_err()));
        // Unknown members beside a type are ignored.
        assert_eq!(
            parse(r#"{"S":"a","XX":1}"#).unwrap(),
            AttributeValue::s("a")
        );
    }

    #[test]
    fn nesting_is_limited_without_overflowing_the_stack() {
        let deep = |n: usize| format!("{}{{\"S\":\"x\"}}{}", "{\"L\":[".repeat(n), "]}".repeat(n));
        assert!(parse(&deep(32)).is_ok());
        assert!(parse(&deep(33)).unwrap_err().contains("Nesting Levels"));
        // Far deeper than any stack allows for naive recursion: a clean error.
        assert!(parse(&deep(100_000)).is_err());
    }

    #[test]
    fn sizes_follow_dynamodb() {
        let v = |j: &str| parse(j).unwrap();
        assert_eq!(v(r#"{"S":"abc"}"#).size(), 3);
        assert_eq!(v(r#"{"N":"123"}"#).size(), 3);
        assert_eq!(v(r#"{"BOOL":false}"#).size(), 1);
        assert_eq!(v(r#"{"L":[{"S":"ab"},{"NULL":true}]}"#).size(), 3 + 3 + 2);
        assert_eq!(v(r#"{"M":{"k":{"S":"ab"}}}"#).size(), 3 + 1 + 2 + 1);
        let item: Item = [("name".to_string(), v(r#"{"S":"ada"}"#))].into();
        assert_eq!(item_size(&item), 7);
    }
}
