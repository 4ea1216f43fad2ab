//! The syntax trees the parsers produce.
//!
//! Attribute names are already resolved through `ExpressionAttributeNames`; values
//! stay placeholders ([`ValueRef`]) for the evaluator to look up in
//! `ExpressionAttributeValues`. Parentheses are not represented: grouping is the
//! tree's shape.

use std::fmt;

/// One step of a document path.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PathElement {
    /// A map key (or, first in a path, a top-level attribute name), already resolved.
    Attribute(String),
    /// A list index, `[n]`.
    Index(u32),
}

/// A document path such as `a.b[2].c`: never empty, and its first element is always
/// an [`PathElement::Attribute`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Path {
    /// The steps, outermost first.
    pub elements: Vec<PathElement>,
}

impl Path {
    /// A path of one top-level attribute.
    pub fn attribute(name: impl Into<String>) -> Self {
        Path {
            elements: vec![PathElement::Attribute(name.into())],
        }
    }

    /// The top-level attribute the path starts from.
    pub fn top_level(&self) -> &str {
        match self.elements.first() {
            Some(PathElement::Attribute(name)) => name,
            _ => "",
        }
    }

    /// Whether the path is just a top-level attribute (no `.` or `[n]`).
    pub fn is_top_level(&self) -> bool {
        self.elements.len() == 1
    }

    /// The path as DynamoDB prints it in messages: `[a, b, [2], c]`.
    pub fn to_dynamo_string(&self) -> String {
        let parts: Vec<String> = self
            .elements
            .iter()
            .map(|e| match e {
                PathElement::Attribute(name) => name.clone(),
                PathElement::Index(i) => format!("[{i}]"),
            })
            .collect();
        format!("[{}]", parts.join(", "))
    }
}

impl fmt::Display for Path {
    /// `a.b[2].c` (names are printed raw, so a name containing `.` is ambiguous).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, element) in self.elements.iter().enumerate() {
            match element {
                PathElement::Attribute(name) if i == 0 => f.write_str(name)?,
                PathElement::Attribute(name) => write!(f, ".{name}")?,
                PathElement::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

/// A `:value` placeholder, e.g. `ValueRef(":v".into())`; the evaluator resolves it
/// in `ExpressionAttributeValues`. The parser has checked that it is defined.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ValueRef(pub String);

impl ValueRef {
    /// The placeholder, including its leading `:`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ValueRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An operand of a condition.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Operand {
    /// The value at a document path of the item.
    Path(Path),
    /// An expression attribute value.
    Value(ValueRef),
    /// `size(operand)`: the length of a string/binary, or element count of a
    /// set/list/map, as a number.
    Size(Box<Operand>),
}

/// A comparison operator of conditions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Comparator {
    /// `=`
    Eq,
    /// `<>`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl Comparator {
    /// The operator as written (`=`, `<>`, ...).
    pub fn symbol(self) -> &'static str {
        match self {
            Comparator::Eq => "=",
            Comparator::Ne => "<>",
            Comparator::Lt => "<",
            Comparator::Le => "<=",
            Comparator::Gt => ">",
            Comparator::Ge => ">=",
        }
    }

    /// The comparator with its operands swapped (`a < b` ⇔ `b > a`).
    pub fn flipped(self) -> Self {
        match self {
            Comparator::Lt => Comparator::Gt,
            Comparator::Le => Comparator::Ge,
            Comparator::Gt => Comparator::Lt,
            Comparator::Ge => Comparator::Le,
            other => other,
        }
    }
}

/// A condition: a `ConditionExpression`, a `FilterExpression`, or (before the key
/// restrictions are applied) a `KeyConditionExpression`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Condition {
    /// `left <op> right`.
    Compare {
        /// The comparison.
        op: Comparator,
        /// Left operand.
        left: Operand,
        /// Right operand.
        right: Operand,
    },
    /// `operand BETWEEN lower AND upper` (inclusive).
    Between {
        /// The tested operand.
        operand: Operand,
        /// Lower bound.
        lower: Operand,
        /// Upper bound.
        upper: Operand,
    },
    /// `operand IN (list...)`, 1 to 100 candidates.
    In {
        /// The tested operand.
        operand: Operand,
        /// The candidates.
        list: Vec<Operand>,
    },
    /// `attribute_exists(path)`.
    AttributeExists(Path),
    /// `attribute_not_exists(path)`.
    AttributeNotExists(Path),
    /// `attribute_type(path, :type)`; the value is a string such as `"SS"`.
    AttributeType {
        /// The tested attribute.
        path: Path,
        /// The expected type name.
        type_name: ValueRef,
    },
    /// `begins_with(operand, prefix)`.
    BeginsWith {
        /// The tested string or binary.
        operand: Operand,
        /// The prefix.
        prefix: Operand,
    },
    /// `contains(operand, value)`: substring, or set/list membership.
    Contains {
        /// The tested string, set or list.
        operand: Operand,
        /// The substring or element.
        value: Operand,
    },
    /// `NOT condition`.
    Not(Box<Condition>),
    /// `left AND right`.
    And(Box<Condition>, Box<Condition>),
    /// `left OR right`.
    Or(Box<Condition>, Box<Condition>),
}

/// An operand of an update expression's `SET` value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum UpdateOperand {
    /// The value at a document path of the item (before the update).
    Path(Path),
    /// An expression attribute value.
    Value(ValueRef),
    /// `if_not_exists(path, default)`.
    IfNotExists {
        /// The attribute tested and returned when present.
        path: Path,
        /// Returned when the attribute is absent.
        default: Box<UpdateOperand>,
    },
    /// `list_append(first, second)`: the concatenation of two lists.
    ListAppend(Box<UpdateOperand>, Box<UpdateOperand>),
}

/// The right-hand side of a `SET` action.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SetValue {
    /// `path = operand`.
    Operand(UpdateOperand),
    /// `path = left + right` (numbers).
    Plus(UpdateOperand, UpdateOperand),
    /// `path = left - right` (numbers).
    Minus(UpdateOperand, UpdateOperand),
}

/// `SET path = value`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SetAction {
    /// The attribute written.
    pub path: Path,
    /// Its new value.
    pub value: SetValue,
}

/// `ADD path :value` (number increment or set union).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AddAction {
    /// The number or set attribute.
    pub path: Path,
    /// The number to add or the set to merge.
    pub value: ValueRef,
}

/// `DELETE path :value` (set difference).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DeleteAction {
    /// The set attribute.
    pub path: Path,
    /// The set of elements to remove.
    pub value: ValueRef,
}

/// A parsed `UpdateExpression`: its actions grouped by clause, each group in the
/// order written. No two actions touch overlapping paths.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct UpdateExpr {
    /// `SET` actions.
    pub set: Vec<SetAction>,
    /// `REMOVE` paths.
    pub remove: Vec<Path>,
    /// `ADD` actions.
    pub add: Vec<AddAction>,
    /// `DELETE` actions.
    pub delete: Vec<DeleteAction>,
}

/// A parsed `ProjectionExpression`: the paths to return, in the order written, no two
/// overlapping.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProjectionExpr {
    /// The projected paths.
    pub paths: Vec<Path>,
}
