//! The placeholder maps of one request (`ExpressionAttributeNames` and
//! `ExpressionAttributeValues`), shared by all the expressions of that request, and
//! the request-level checks on them: empty maps, malformed keys, and entries no
//! expression used.

use std::collections::{BTreeMap, BTreeSet};

use super::error::ExprError;

/// Longest placeholder key DynamoDB accepts, in bytes, prefix included.
pub const MAX_PLACEHOLDER_KEY_BYTES: usize = 255;

/// The data type of an expression attribute value, as far as the parser needs it.
///
/// DynamoDB rejects some type errors while validating an expression (`ADD` with a
/// string, `list_append` of a number, `size` of a number, ...). The parser can only
/// do that when the caller tells it the type of each `:value`; see
/// [`ExprContext::with_values`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValueType {
    /// String.
    S,
    /// Number.
    N,
    /// Binary.
    B,
    /// String set.
    Ss,
    /// Number set.
    Ns,
    /// Binary set.
    Bs,
    /// Map.
    M,
    /// List.
    L,
    /// Null.
    Null,
    /// Boolean.
    Bool,
}

impl ValueType {
    /// The short name used in DynamoDB's wire format and in most messages (`S`, `NS`,
    /// `NULL`, `BOOL`, ...).
    pub fn short_name(self) -> &'static str {
        match self {
            ValueType::S => "S",
            ValueType::N => "N",
            ValueType::B => "B",
            ValueType::Ss => "SS",
            ValueType::Ns => "NS",
            ValueType::Bs => "BS",
            ValueType::M => "M",
            ValueType::L => "L",
            ValueType::Null => "NULL",
            ValueType::Bool => "BOOL",
        }
    }

    /// The long name DynamoDB uses for `ADD`/`DELETE` operand errors (`STRING`,
    /// `NUMBER`, `BOOLEAN`, ...).
    pub fn long_name(self) -> &'static str {
        match self {
            ValueType::S => "STRING",
            ValueType::N => "NUMBER",
            ValueType::B => "BINARY",
            ValueType::Ss => "STRING_SET",
            ValueType::Ns => "NUMBER_SET",
            ValueType::Bs => "BINARY_SET",
            ValueType::M => "MAP",
            ValueType::L => "LIST",
            ValueType::Null => "NULL",
            ValueType::Bool => "BOOLEAN",
        }
    }

    /// Whether this is one of the three set types.
    pub fn is_set(self) -> bool {
        matches!(self, ValueType::Ss | ValueType::Ns | ValueType::Bs)
    }
}

/// What the parser knows about one `:value` placeholder.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct ValueInfo {
    ty: Option<ValueType>,
    string: Option<String>,
}

/// The placeholders of one request and which of them its expressions used.
///
/// Build it from the request's maps, call [`validate`](Self::validate), parse every
/// expression of the request with it (each parse resolves `#name`s and marks the
/// placeholders it uses), then call [`finish`](Self::finish) to get DynamoDB's error
/// for entries no expression used.
#[derive(Debug, Clone, Default)]
pub struct ExprContext {
    names: Option<BTreeMap<String, String>>,
    values: Option<BTreeMap<String, ValueInfo>>,
    used_names: BTreeSet<String>,
    used_values: BTreeSet<String>,
}

impl ExprContext {
    /// A context for a request with neither `ExpressionAttributeNames` nor
    /// `ExpressionAttributeValues`.
    pub fn new() -> Self {
        ExprContext::default()
    }

    /// Sets `ExpressionAttributeNames` (placeholder → attribute name). Call it only
    /// when the request has the parameter, even if the map is empty: an empty map is
    /// an error DynamoDB reports.
    pub fn with_names<I, K, V>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let map = self.names.get_or_insert_with(BTreeMap::new);
        for (key, value) in names {
            map.insert(key.into(), value.into());
        }
        self
    }

    /// Sets `ExpressionAttributeValues` with the type of each value, which enables
    /// DynamoDB's static type checks (`ADD` operand types, `size`, `begins_with`,
    /// `list_append`, arithmetic, ...). Call it only when the request has the
    /// parameter, even if the map is empty.
    pub fn with_values<I, K>(mut self, values: I) -> Self
    where
        I: IntoIterator<Item = (K, ValueType)>,
        K: Into<String>,
    {
        let map = self.values.get_or_insert_with(BTreeMap::new);
        for (key, ty) in values {
            map.insert(
                key.into(),
                ValueInfo {
                    ty: Some(ty),
                    string: None,
                },
            );
        }
        self
    }

    /// Sets `ExpressionAttributeValues` by keys only; the type checks that need a
    /// value's type are then skipped for these values.
    pub fn with_value_keys<I, K>(mut self, keys: I) -> Self
    where
        I: IntoIterator<Item = K>,
        K: Into<String>,
    {
        let map = self.values.get_or_insert_with(BTreeMap::new);
        for key in keys {
            map.insert(key.into(), ValueInfo::default());
        }
        self
    }

    /// Records the content of a string value (type `S`), so that
    /// `attribute_type(path, :t)` can check the type name at parse time. Adds the
    /// value if it was not there yet.
    pub fn with_string_value(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        let map = self.values.get_or_insert_with(BTreeMap::new);
        map.insert(
            key.into(),
            ValueInfo {
                ty: Some(ValueType::S),
                string: Some(value.into()),
            },
        );
        self
    }

    /// DynamoDB's checks of the maps themselves, done before any expression is
    /// parsed: `ExpressionAttributeNames must not be empty`, `... contains invalid
    /// key: Syntax error; key: "a"`, `... contains a key that is too long`, and
    /// `ExpressionAttributeNames contains invalid value: Empty attribute name for key
    /// #a`. Names are checked before values.
    pub fn validate(&self) -> Result<(), ExprError> {
        if let Some(names) = &self.names {
            if names.is_empty() {
                return Err(ExprError::new("ExpressionAttributeNames must not be empty"));
            }
            for key in names.keys() {
                check_key("ExpressionAttributeNames", '#', key, true)?;
            }
            for (key, name) in names {
                if name.is_empty() {
                    return Err(ExprError::new(format!(
                        "ExpressionAttributeNames contains invalid value: Empty attribute name for key {key}"
                    )));
                }
            }
        }
        if let Some(values) = &self.values {
            if values.is_empty() {
                return Err(ExprError::new(
                    "ExpressionAttributeValues must not be empty",
                ));
            }
            for key in values.keys() {
                check_key("ExpressionAttributeValues", ':', key, false)?;
            }
        }
        Ok(())
    }

    /// The request-level check after all of the request's expressions were parsed:
    /// `Value provided in ExpressionAttributeNames unused in expressions: keys: {#a,
    /// #b}`, then the same for values. Keys are listed in sorted order.
    pub fn finish(&self) -> Result<(), ExprError> {
        if let Some(names) = &self.names {
            let unused: Vec<&str> = names
                .keys()
                .filter(|k| !self.used_names.contains(*k))
                .map(String::as_str)
                .collect();
            if !unused.is_empty() {
                return Err(ExprError::new(format!(
                    "Value provided in ExpressionAttributeNames unused in expressions: keys: {{{}}}",
                    unused.join(", ")
                )));
            }
        }
        if let Some(values) = &self.values {
            let unused: Vec<&str> = values
                .keys()
                .filter(|k| !self.used_values.contains(*k))
                .map(String::as_str)
                .collect();
            if !unused.is_empty() {
                return Err(ExprError::new(format!(
                    "Value provided in ExpressionAttributeValues unused in expressions: keys: {{{}}}",
                    unused.join(", ")
                )));
            }
        }
        Ok(())
    }

    /// Whether the request had `ExpressionAttributeNames`.
    pub fn has_names(&self) -> bool {
        self.names.is_some()
    }

    /// Whether the request had `ExpressionAttributeValues`.
    pub fn has_values(&self) -> bool {
        self.values.is_some()
    }

    /// The name placeholders some expression used so far, sorted.
    pub fn used_names(&self) -> impl Iterator<Item = &str> {
        self.used_names.iter().map(String::as_str)
    }

    /// The value placeholders some expression used so far, sorted.
    pub fn used_values(&self) -> impl Iterator<Item = &str> {
        self.used_values.iter().map(String::as_str)
    }

    /// Resolves a `#name` placeholder and marks it used; `None` if undefined.
    pub(crate) fn resolve_name(&mut self, placeholder: &str) -> Option<String> {
        let name = self.names.as_ref()?.get(placeholder)?.clone();
        self.used_names.insert(placeholder.to_owned());
        Some(name)
    }

    /// Looks a `:value` placeholder up and marks it used; `None` if undefined,
    /// otherwise its type and string content when known.
    pub(crate) fn resolve_value(
        &mut self,
        placeholder: &str,
    ) -> Option<(Option<ValueType>, Option<String>)> {
        let info = self.values.as_ref()?.get(placeholder)?.clone();
        self.used_values.insert(placeholder.to_owned());
        Some((info.ty, info.string))
    }
}

/// Checks one placeholder key: length first, then `<prefix>[A-Za-z0-9_]+`.
fn check_key(map: &str, prefix: char, key: &str, report_size: bool) -> Result<(), ExprError> {
    if key.len() > MAX_PLACEHOLDER_KEY_BYTES {
        let size = if report_size {
            format!(" size of key: {}", key.len())
        } else {
            String::new()
        };
        return Err(ExprError::new(format!(
            "{map} contains invalid key: The expression attribute map contains a key that is too long;{size}"
        )));
    }
    let well_formed = key.strip_prefix(prefix).is_some_and(|rest| {
        !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    });
    if !well_formed {
        return Err(ExprError::new(format!(
            "{map} contains invalid key: Syntax error; key: \"{key}\""
        )));
    }
    Ok(())
}
