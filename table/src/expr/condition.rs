//! The condition language (`ConditionExpression`, `FilterExpression`, and the
//! grammar of `KeyConditionExpression`).
//!
//! Grammar, by increasing binding strength: `OR`, `AND`, `NOT`, then a primary, which
//! is a parenthesized condition, a comparison (`a = b`, `a BETWEEN b AND c`,
//! `a IN (b, ...)`) or a function call. `((condition))` is rejected as redundant
//! parentheses the moment it is read, like DynamoDB does. Nesting is tracked on an
//! explicit stack, so no input can exhaust the call stack.
//!
//! Errors other than syntax errors are reported once the whole expression parsed, in
//! DynamoDB's order: unknown functions, misused functions, reserved words, then the
//! first comparison or function ("leaf") with an error, whose own errors rank:
//! undefined placeholder, operand count, non-distinct operands, operand types.

use super::ast::{Comparator, Condition, Operand, Path, ValueRef};
use super::context::{ExprContext, ValueType};
use super::error::{ExprError, ExpressionKind};
use super::lexer::{Keyword, TokenKind};
use super::parser::{
    distinct_message, misused_function_message, operand_count_message, operand_type_message,
    requires_path_message, Category, Parser, RawKind, RawOperand, RawPath, MAX_IN_OPERANDS,
};

/// Category order of condition errors.
const ORDER: [Category; 4] = [
    Category::UnknownFunction,
    Category::MisusedFunction,
    Category::Reserved,
    Category::Condition,
];

/// The attribute type names `attribute_type` accepts.
const TYPE_NAMES: [&str; 10] = ["S", "SS", "N", "NS", "B", "BS", "BOOL", "NULL", "L", "M"];

/// Parses and validates a condition of the given kind.
pub(crate) fn parse(
    kind: ExpressionKind,
    src: &str,
    ctx: &mut ExprContext,
) -> Result<Condition, ExprError> {
    let mut p = ConditionParser {
        p: Parser::new(kind, src, ctx)?,
        in_lists: Vec::new(),
    };
    let condition = p.parse_condition()?;
    p.p.expect_end()?;
    p.p.check_operator_limit()?;
    if let Some(&count) = p.in_lists.iter().find(|&&n| n > MAX_IN_OPERANDS) {
        return Err(p.p.invalid(format_args!(
            "The IN operator is provided with too many operands; number of operands: {count}"
        )));
    }
    p.p.finish(&ORDER)?;
    Ok(condition)
}

/// The deferred errors of one comparison or function condition.
#[derive(Default)]
struct LeafErrors {
    undefined: Option<String>,
    operand_count: Option<String>,
    distinct: Option<String>,
    types: Option<String>,
}

impl LeafErrors {
    fn set(slot: &mut Option<String>, message: String) {
        if slot.is_none() {
            *slot = Some(message);
        }
    }

    fn first(self) -> Option<String> {
        self.undefined
            .or(self.operand_count)
            .or(self.distinct)
            .or(self.types)
    }
}

/// An open parenthesized group (or the whole expression) while it is parsed: the
/// `OR` of `AND`s of factors read so far, folded left.
struct Group {
    /// The `NOT`s written before the group's `(`.
    nots: usize,
    /// The `OR` of the terms completed so far.
    or_acc: Option<Condition>,
    /// The `AND` of the factors of the current term.
    and_acc: Option<Condition>,
    /// How many factors the group has.
    factors: usize,
    /// Whether the last factor was itself a parenthesized group without `NOT`.
    last_grouped: bool,
}

impl Group {
    fn new(nots: usize) -> Self {
        Group {
            nots,
            or_acc: None,
            and_acc: None,
            factors: 0,
            last_grouped: false,
        }
    }

    fn add_factor(&mut self, factor: Condition, grouped: bool) {
        self.and_acc = Some(match self.and_acc.take() {
            None => factor,
            Some(left) => Condition::And(Box::new(left), Box::new(factor)),
        });
        self.factors += 1;
        self.last_grouped = grouped;
    }

    fn end_term(&mut self) {
        if let Some(term) = self.and_acc.take() {
            self.or_acc = Some(match self.or_acc.take() {
                None => term,
                Some(left) => Condition::Or(Box::new(left), Box::new(term)),
            });
        }
    }

    /// The group's condition, and whether its parentheses are redundant (it holds
    /// exactly one factor that is itself a parenthesized group).
    fn finish(mut self) -> (Condition, bool) {
        self.end_term();
        let redundant = self.factors == 1 && self.last_grouped;
        let condition = self
            .or_acc
            .unwrap_or_else(|| Condition::AttributeExists(Path::attribute("")));
        (condition, redundant)
    }
}

/// The placeholder leaf of an expression already over the operator limit, which
/// fails with that error once parsed.
fn doomed() -> Condition {
    Condition::AttributeExists(Path::attribute(""))
}

/// `NOT NOT ... condition`.
fn with_nots(mut condition: Condition, nots: usize) -> Condition {
    for _ in 0..nots {
        condition = Condition::Not(Box::new(condition));
    }
    condition
}

struct ConditionParser<'s, 'c> {
    p: Parser<'s, 'c>,
    /// Candidate counts of the `IN` lists, in source order.
    in_lists: Vec<usize>,
}

fn is_comparison_start(kind: TokenKind) -> bool {
    matches!(
        kind,
        TokenKind::Eq
            | TokenKind::Ne
            | TokenKind::Lt
            | TokenKind::Le
            | TokenKind::Gt
            | TokenKind::Ge
            | TokenKind::Keyword(Keyword::Between)
            | TokenKind::Keyword(Keyword::In)
    )
}

fn comparator(kind: TokenKind) -> Option<Comparator> {
    Some(match kind {
        TokenKind::Eq => Comparator::Eq,
        TokenKind::Ne => Comparator::Ne,
        TokenKind::Lt => Comparator::Lt,
        TokenKind::Le => Comparator::Le,
        TokenKind::Gt => Comparator::Gt,
        TokenKind::Ge => Comparator::Ge,
        _ => return None,
    })
}

/// The type an operand is known to have before evaluation: a typed value, or `N`
/// for `size(...)`.
fn static_type(op: &RawOperand) -> Option<&'static str> {
    match &op.kind {
        RawKind::Value(v) => v.ty.map(ValueType::short_name),
        RawKind::Func { name, .. } if name == "size" => Some("N"),
        _ => None,
    }
}

/// Whether two operands are the same document path.
fn same_path(a: &RawOperand, b: &RawOperand) -> Option<Path> {
    match (a.path(), b.path()) {
        (Some(x), Some(y)) => {
            let (x, y) = (x.to_path(), y.to_path());
            (x == y).then_some(x)
        }
        _ => None,
    }
}

fn undefined_message(placeholder: &str) -> String {
    if placeholder.starts_with('#') {
        format!(
            "An expression attribute name used in the document path is not defined; attribute name: {placeholder}"
        )
    } else {
        format!(
            "An expression attribute value used in expression is not defined; attribute value: {placeholder}"
        )
    }
}

impl ConditionParser<'_, '_> {
    /// Parses the whole condition. The `OR`/`AND`/`NOT`/parentheses structure is
    /// parsed with an explicit stack of open groups rather than by recursion, so deep
    /// nesting costs heap, not call stack.
    fn parse_condition(&mut self) -> Result<Condition, ExprError> {
        let mut groups = vec![Group::new(0)];
        loop {
            // A factor: `NOT* ( group | comparison | function )`.
            let mut nots = 0usize;
            while self.p.at_keyword(Keyword::Not) {
                self.p.bump();
                self.p.operators += 1;
                nots += 1;
            }
            let opens_group = self.p.peek_kind() == TokenKind::LParen
                && !self.p.after_group().is_some_and(is_comparison_start);
            if opens_group {
                self.p.enter()?;
                self.p.bump();
                groups.push(Group::new(nots));
                continue;
            }
            let mut factor = with_nots(self.parse_leaf()?, nots);
            let mut grouped = false;
            // What follows a factor: AND, OR, the `)` closing its group, or the end.
            loop {
                let Some(group) = groups.last_mut() else {
                    return Err(self.p.syntax_error());
                };
                group.add_factor(factor, grouped);
                match self.p.peek_kind() {
                    TokenKind::Keyword(Keyword::And) => {
                        self.p.bump();
                        self.p.operators += 1;
                        break;
                    }
                    TokenKind::Keyword(Keyword::Or) => {
                        self.p.bump();
                        self.p.operators += 1;
                        group.end_term();
                        break;
                    }
                    TokenKind::RParen if groups.len() > 1 => {
                        self.p.bump();
                        self.p.leave();
                        let Some(closed) = groups.pop() else {
                            return Err(self.p.syntax_error());
                        };
                        let nots = closed.nots;
                        let (inner, redundant) = closed.finish();
                        if redundant {
                            return Err(self.p.redundant_parens());
                        }
                        factor = with_nots(inner, nots);
                        grouped = nots == 0;
                    }
                    _ if groups.len() == 1 => {
                        let Some(top) = groups.pop() else {
                            return Err(self.p.syntax_error());
                        };
                        return Ok(top.finish().0);
                    }
                    _ => return Err(self.p.syntax_error()),
                }
            }
        }
    }

    /// A comparison or a function condition.
    fn parse_leaf(&mut self) -> Result<Condition, ExprError> {
        let left = self.p.parse_operand()?;
        let next = self.p.peek_kind();
        if let Some(op) = comparator(next) {
            self.p.bump();
            self.p.operators += 1;
            let right = self.p.parse_operand()?;
            return Ok(self.compare_leaf(op, left, right));
        }
        match next {
            TokenKind::Keyword(Keyword::Between) => {
                self.p.bump();
                self.p.operators += 1;
                let lower = self.p.parse_operand()?;
                if !self.p.at_keyword(Keyword::And) {
                    return Err(self.p.syntax_error());
                }
                self.p.bump();
                let upper = self.p.parse_operand()?;
                Ok(self.between_leaf(left, lower, upper))
            }
            TokenKind::Keyword(Keyword::In) => {
                self.p.bump();
                self.p.operators += 1;
                self.p.expect(TokenKind::LParen)?;
                self.p.enter()?;
                let mut list = vec![self.p.parse_operand()?];
                while self.p.peek_kind() == TokenKind::Comma {
                    self.p.bump();
                    list.push(self.p.parse_operand()?);
                }
                self.p.expect(TokenKind::RParen)?;
                self.p.leave();
                self.in_lists.push(list.len());
                Ok(self.in_leaf(left, list))
            }
            _ if matches!(left.kind, RawKind::Func { .. }) && !left.paren => {
                Ok(self.function_leaf(left))
            }
            _ => Err(self.p.syntax_error()),
        }
    }

    // ---- leaves -------------------------------------------------------------

    /// Records a leaf's first error, if any, and returns the leaf (or a placeholder
    /// when the leaf could not be built, which only happens with an error recorded).
    fn commit(&mut self, errors: LeafErrors, built: Option<Condition>) -> Condition {
        if let Some(message) = errors.first() {
            self.p.findings.record(Category::Condition, message);
        }
        match built {
            Some(c) => c,
            None => {
                if self.p.findings.is_empty() {
                    // Never expected: keep the placeholder from escaping regardless.
                    self.p
                        .findings
                        .record(Category::Condition, "Invalid condition".to_owned());
                }
                Condition::AttributeExists(Path::attribute(""))
            }
        }
    }

    fn compare_leaf(&mut self, op: Comparator, left: RawOperand, right: RawOperand) -> Condition {
        if self.p.over_operator_limit() {
            return doomed();
        }
        let mut errors = LeafErrors::default();
        self.check_operands(&mut errors, &[&left, &right]);
        if let Some(path) = same_path(&left, &right) {
            LeafErrors::set(&mut errors.distinct, distinct_message(op.symbol(), &path));
        }
        if !matches!(op, Comparator::Eq | Comparator::Ne) {
            Self::check_ordered(&mut errors, op.symbol(), &[&left, &right]);
        }
        let built = match (self.convert(&left), self.convert(&right)) {
            (Some(left), Some(right)) => Some(Condition::Compare { op, left, right }),
            _ => None,
        };
        self.commit(errors, built)
    }

    fn between_leaf(
        &mut self,
        operand: RawOperand,
        lower: RawOperand,
        upper: RawOperand,
    ) -> Condition {
        if self.p.over_operator_limit() {
            return doomed();
        }
        let mut errors = LeafErrors::default();
        self.check_operands(&mut errors, &[&operand, &lower, &upper]);
        if let Some(path) = same_path(&operand, &lower).or_else(|| same_path(&operand, &upper)) {
            LeafErrors::set(&mut errors.distinct, distinct_message("BETWEEN", &path));
        }
        Self::check_ordered(&mut errors, "BETWEEN", &[&operand, &lower, &upper]);
        let built = match (
            self.convert(&operand),
            self.convert(&lower),
            self.convert(&upper),
        ) {
            (Some(operand), Some(lower), Some(upper)) => Some(Condition::Between {
                operand,
                lower,
                upper,
            }),
            _ => None,
        };
        self.commit(errors, built)
    }

    fn in_leaf(&mut self, operand: RawOperand, list: Vec<RawOperand>) -> Condition {
        if self.p.over_operator_limit() {
            return doomed();
        }
        let mut errors = LeafErrors::default();
        let mut all = vec![&operand];
        all.extend(list.iter());
        self.check_operands(&mut errors, &all);
        if let Some(path) = list.iter().find_map(|c| same_path(&operand, c)) {
            LeafErrors::set(&mut errors.distinct, distinct_message("IN", &path));
        }
        let converted: Option<Vec<Operand>> = list.iter().map(|c| self.convert(c)).collect();
        let built = match (self.convert(&operand), converted) {
            (Some(operand), Some(list)) => Some(Condition::In { operand, list }),
            _ => None,
        };
        self.commit(errors, built)
    }

    /// A function used as a whole condition.
    fn function_leaf(&mut self, call: RawOperand) -> Condition {
        if self.p.over_operator_limit() {
            return doomed();
        }
        let mut errors = LeafErrors::default();
        if let Some(placeholder) = call.first_undefined() {
            errors.undefined = Some(undefined_message(placeholder));
        }
        self.check_function(&mut errors, &call);
        if call.func_name() == Some("size") {
            self.p
                .findings
                .record(Category::MisusedFunction, misused_function_message("size"));
        }
        let built = self.convert_function_condition(&call);
        self.commit(errors, built)
    }

    /// The checks shared by comparison leaves: undefined placeholders, the functions
    /// inside the operands, and functions other than `size` used as operands.
    fn check_operands(&mut self, errors: &mut LeafErrors, operands: &[&RawOperand]) {
        if let Some(placeholder) = operands.iter().find_map(|o| o.first_undefined()) {
            errors.undefined = Some(undefined_message(placeholder));
        }
        for op in operands {
            if matches!(op.kind, RawKind::Func { .. }) {
                self.check_function(errors, op);
            }
        }
        self.check_misused(operands);
    }

    /// Records the first function other than `size` among `operands`.
    fn check_misused(&mut self, operands: &[&RawOperand]) {
        if let Some(name) = operands
            .iter()
            .filter_map(|o| o.func_name())
            .find(|&n| n != "size")
        {
            self.p
                .findings
                .record(Category::MisusedFunction, misused_function_message(name));
        }
    }

    /// `<`, `<=`, `>`, `>=` and `BETWEEN` compare strings, numbers and binaries only.
    fn check_ordered(errors: &mut LeafErrors, operator: &str, operands: &[&RawOperand]) {
        for op in operands {
            if let Some(ty) = static_type(op) {
                if !matches!(ty, "S" | "N" | "B") {
                    LeafErrors::set(&mut errors.types, operand_type_message(operator, ty));
                }
            }
        }
    }

    /// Checks the function calls of an operand, each after its arguments' calls.
    fn check_function(&mut self, errors: &mut LeafErrors, operand: &RawOperand) {
        for call in operand.calls_post_order() {
            self.check_call(errors, call);
        }
    }

    /// Checks one function call (not its arguments' calls).
    fn check_call(&mut self, errors: &mut LeafErrors, call: &RawOperand) {
        let RawKind::Func { name, args } = &call.kind else {
            return;
        };
        let arg_refs: Vec<&RawOperand> = args.iter().collect();
        self.check_misused(&arg_refs);
        let arity = match name.as_str() {
            "attribute_exists" | "attribute_not_exists" | "size" => 1,
            "attribute_type" | "begins_with" | "contains" => 2,
            "if_not_exists" | "list_append" => {
                self.p.findings.record(
                    Category::UnknownFunction,
                    format!(
                        "The function is not allowed in a condition expression; function: {name}"
                    ),
                );
                return;
            }
            _ => {
                self.p.findings.record(
                    Category::UnknownFunction,
                    format!("Invalid function name; function: {name}"),
                );
                return;
            }
        };
        if args.len() != arity {
            LeafErrors::set(
                &mut errors.operand_count,
                operand_count_message(name, args.len()),
            );
            return;
        }
        if arity == 2 {
            if let Some(path) = same_path(&args[0], &args[1]) {
                LeafErrors::set(&mut errors.distinct, distinct_message(name, &path));
            }
        }
        match name.as_str() {
            "attribute_exists" | "attribute_not_exists" if args[0].path().is_none() => {
                LeafErrors::set(&mut errors.types, requires_path_message(name));
            }
            "attribute_type" => {
                if args[0].path().is_none() {
                    LeafErrors::set(&mut errors.types, requires_path_message(name));
                }
                let type_arg = &args[1];
                match (&type_arg.kind, static_type(type_arg)) {
                    (RawKind::Value(v), Some("S")) => {
                        if let Some(s) = &v.string {
                            if !TYPE_NAMES.contains(&s.as_str()) {
                                LeafErrors::set(
                                    &mut errors.types,
                                    format!(
                                        "Invalid attribute type name found; type: {s}, valid types: {{B,NULL,SS,BOOL,L,BS,N,NS,S,M}}"
                                    ),
                                );
                            }
                        }
                    }
                    // A value whose type the caller did not give: nothing to check.
                    (RawKind::Value(_), None) => {}
                    (_, Some(ty)) => {
                        LeafErrors::set(&mut errors.types, operand_type_message(name, ty));
                    }
                    (_, None) => LeafErrors::set(
                        &mut errors.types,
                        operand_type_message(name, "{NS,SS,L,BS,N,M,B,BOOL,NULL,S}"),
                    ),
                }
            }
            "begins_with" => {
                for arg in args {
                    if let Some(ty) = static_type(arg) {
                        if !matches!(ty, "S" | "B") {
                            LeafErrors::set(&mut errors.types, operand_type_message(name, ty));
                        }
                    }
                }
            }
            "size" => {
                if let Some(ty) = static_type(&args[0]) {
                    if matches!(ty, "N" | "BOOL" | "NULL") {
                        LeafErrors::set(&mut errors.types, operand_type_message(name, ty));
                    }
                }
            }
            _ => {}
        }
    }

    // ---- conversion to the final tree ---------------------------------------

    /// The final operand; `None` for functions other than a well-formed `size`
    /// (their errors are recorded by the checks). Built without recursion.
    fn convert(&self, op: &RawOperand) -> Option<Operand> {
        let mut sizes = 0usize;
        let mut node = op;
        loop {
            match &node.kind {
                RawKind::Func { name, args } if name == "size" && args.len() == 1 => {
                    sizes += 1;
                    node = &args[0];
                }
                RawKind::Func { .. } => return None,
                RawKind::Path(p) => {
                    let mut operand = Operand::Path(p.to_path());
                    for _ in 0..sizes {
                        operand = Operand::Size(Box::new(operand));
                    }
                    return Some(operand);
                }
                RawKind::Value(v) => {
                    let mut operand = Operand::Value(ValueRef(v.placeholder.clone()));
                    for _ in 0..sizes {
                        operand = Operand::Size(Box::new(operand));
                    }
                    return Some(operand);
                }
            }
        }
    }

    fn convert_function_condition(&self, call: &RawOperand) -> Option<Condition> {
        let RawKind::Func { name, args } = &call.kind else {
            return None;
        };
        let path = |op: &RawOperand| op.path().map(RawPath::to_path);
        match (name.as_str(), args.as_slice()) {
            ("attribute_exists", [a]) => Some(Condition::AttributeExists(path(a)?)),
            ("attribute_not_exists", [a]) => Some(Condition::AttributeNotExists(path(a)?)),
            ("attribute_type", [a, t]) => match &t.kind {
                RawKind::Value(v) => Some(Condition::AttributeType {
                    path: path(a)?,
                    type_name: ValueRef(v.placeholder.clone()),
                }),
                _ => None,
            },
            ("begins_with", [a, b]) => Some(Condition::BeginsWith {
                operand: self.convert(a)?,
                prefix: self.convert(b)?,
            }),
            ("contains", [a, b]) => Some(Condition::Contains {
                operand: self.convert(a)?,
                value: self.convert(b)?,
            }),
            _ => None,
        }
    }
}
