//! The update language (`UpdateExpression`).
//!
//! `SET`, `REMOVE`, `ADD` and `DELETE` sections in any order, each at most once, each
//! a comma-separated list of actions. A `SET` value is an operand, `operand + operand`
//! or `operand - operand` (no chaining), optionally in one pair of parentheses; an
//! operand is a path, a `:value`, or `if_not_exists(path, operand)` /
//! `list_append(operand, operand)`, which nest.
//!
//! Deferred errors are reported in DynamoDB's order: reserved words, unknown
//! functions, repeated sections, undefined names, undefined values, overlapping paths,
//! conflicting paths, `ADD`/`DELETE` operand types, then function errors (operand
//! counts, document-path arguments, operand types).

use super::ast::{
    AddAction, DeleteAction, Path, SetAction, SetValue, UpdateExpr, UpdateOperand, ValueRef,
};
use super::context::{ExprContext, ValueType};
use super::error::{ExprError, ExpressionKind};
use super::lexer::{Keyword, TokenKind};
use super::overlap::check_paths;
use super::parser::{
    distinct_message, misused_function_message, operand_count_message, operand_type_message,
    requires_path_message, Category, Parser, RawKind, RawOperand, RawPath, RawValue,
};

/// Category order of update errors.
const ORDER: [Category; 9] = [
    Category::Reserved,
    Category::UnknownFunction,
    Category::Section,
    Category::AttrName,
    Category::AttrValue,
    Category::PathOverlap,
    Category::PathConflict,
    Category::Operand,
    Category::Function,
];

/// A `SET` value as written.
enum RawSetValue {
    Operand(RawOperand),
    Arithmetic {
        plus: bool,
        left: RawOperand,
        right: RawOperand,
    },
}

/// Parses and validates an `UpdateExpression`.
pub(crate) fn parse(src: &str, ctx: &mut ExprContext) -> Result<UpdateExpr, ExprError> {
    let mut p = UpdateParser {
        p: Parser::new(ExpressionKind::Update, src, ctx)?,
        paths: Vec::new(),
        sections: Vec::new(),
        expr: UpdateExpr::default(),
    };
    p.parse_sections()?;
    let paths = std::mem::take(&mut p.paths);
    check_paths(&paths, &mut p.p.findings);
    p.p.finish(&ORDER)?;
    Ok(p.expr)
}

struct UpdateParser<'s, 'c> {
    p: Parser<'s, 'c>,
    /// The target paths of every action, in source order.
    paths: Vec<Path>,
    /// The sections seen so far.
    sections: Vec<Keyword>,
    expr: UpdateExpr,
}

fn section_name(kw: Keyword) -> &'static str {
    match kw {
        Keyword::Set => "SET",
        Keyword::Remove => "REMOVE",
        Keyword::Add => "ADD",
        _ => "DELETE",
    }
}

impl UpdateParser<'_, '_> {
    fn parse_sections(&mut self) -> Result<(), ExprError> {
        loop {
            let kw = match self.p.peek_kind() {
                TokenKind::Keyword(
                    kw @ (Keyword::Set | Keyword::Remove | Keyword::Add | Keyword::Delete),
                ) => kw,
                _ => return Err(self.p.syntax_error()),
            };
            self.p.bump();
            if self.sections.contains(&kw) {
                self.p.findings.record(
                    Category::Section,
                    format!(
                        "The \"{}\" section can only be used once in an update expression;",
                        section_name(kw)
                    ),
                );
            }
            self.sections.push(kw);
            loop {
                match kw {
                    Keyword::Set => self.parse_set_action()?,
                    Keyword::Remove => self.parse_remove_action()?,
                    _ => self.parse_add_or_delete(kw)?,
                }
                if self.p.peek_kind() != TokenKind::Comma {
                    break;
                }
                self.p.bump();
            }
            if self.p.peek_kind() == TokenKind::Eof {
                return Ok(());
            }
        }
    }

    /// Records the target path's undefined `#name`, and keeps it for the overlap check.
    fn target(&mut self, raw: &RawPath) -> Path {
        if let Some(name) = raw.first_undefined() {
            self.record_undefined_name(name);
        }
        let path = raw.to_path();
        self.paths.push(path.clone());
        path
    }

    fn record_undefined_name(&mut self, placeholder: &str) {
        self.p.findings.record(
            Category::AttrName,
            format!(
                "An expression attribute name used in the document path is not defined; attribute name: {placeholder}"
            ),
        );
    }

    fn record_undefined_value(&mut self, placeholder: &str) {
        self.p.findings.record(
            Category::AttrValue,
            format!(
                "An expression attribute value used in expression is not defined; attribute value: {placeholder}"
            ),
        );
    }

    /// Records the undefined placeholders of an operand, in source order.
    fn record_undefined(&mut self, op: &RawOperand) {
        for node in op.nodes_in_source_order() {
            match &node.kind {
                RawKind::Path(p) => {
                    if let Some(name) = p.first_undefined() {
                        self.record_undefined_name(name);
                    }
                }
                RawKind::Value(v) => {
                    if !v.defined {
                        self.record_undefined_value(&v.placeholder);
                    }
                }
                RawKind::Func { .. } => {}
            }
        }
    }

    fn parse_set_action(&mut self) -> Result<(), ExprError> {
        let raw_path = self.p.parse_path()?;
        let path = self.target(&raw_path);
        self.p.expect(TokenKind::Eq)?;
        let raw = self.parse_set_value()?;
        if self.p.over_operator_limit() {
            return Ok(());
        }
        let value = match raw {
            RawSetValue::Operand(op) => {
                self.record_undefined(&op);
                self.check_function(&op);
                self.convert(&op).map(SetValue::Operand)
            }
            RawSetValue::Arithmetic { plus, left, right } => {
                self.record_undefined(&left);
                self.record_undefined(&right);
                let symbol = if plus { "+" } else { "-" };
                for op in [&left, &right] {
                    self.check_function(op);
                }
                for op in [&left, &right] {
                    self.check_arithmetic_operand(symbol, op);
                }
                match (self.convert(&left), self.convert(&right)) {
                    (Some(l), Some(r)) if plus => Some(SetValue::Plus(l, r)),
                    (Some(l), Some(r)) => Some(SetValue::Minus(l, r)),
                    _ => None,
                }
            }
        };
        match value {
            Some(value) => self.expr.set.push(SetAction { path, value }),
            None => self.ensure_error(),
        }
        Ok(())
    }

    /// `operand`, `operand (+|-) operand`, or either in one pair of parentheses (two
    /// pairs are redundant).
    fn parse_set_value(&mut self) -> Result<RawSetValue, ExprError> {
        let mut groups = 0usize;
        while self.p.peek_kind() == TokenKind::LParen
            && !matches!(
                self.p.after_group(),
                Some(TokenKind::Plus | TokenKind::Minus)
            )
        {
            self.p.enter()?;
            self.p.bump();
            groups += 1;
        }
        let left = self.p.parse_operand()?;
        let value = match self.p.peek_kind() {
            TokenKind::Plus | TokenKind::Minus => {
                let plus = self.p.bump().kind == TokenKind::Plus;
                self.p.operators += 1;
                let right = self.p.parse_operand()?;
                RawSetValue::Arithmetic { plus, left, right }
            }
            _ => RawSetValue::Operand(left),
        };
        for closed in 0..groups {
            self.p.expect(TokenKind::RParen)?;
            self.p.leave();
            if closed > 0 {
                return Err(self.p.redundant_parens());
            }
        }
        Ok(value)
    }

    fn parse_remove_action(&mut self) -> Result<(), ExprError> {
        let raw_path = self.p.parse_path()?;
        let path = self.target(&raw_path);
        self.expr.remove.push(path);
        Ok(())
    }

    fn parse_add_or_delete(&mut self, kw: Keyword) -> Result<(), ExprError> {
        let raw_path = self.p.parse_path()?;
        let path = self.target(&raw_path);
        if self.p.peek_kind() != TokenKind::ValueRef {
            return Err(self.p.syntax_error());
        }
        let value = self.p.parse_value()?;
        if !value.defined {
            self.record_undefined_value(&value.placeholder);
        }
        self.check_add_delete_type(kw, &value);
        let value_ref = ValueRef(value.placeholder);
        if kw == Keyword::Add {
            self.expr.add.push(AddAction {
                path,
                value: value_ref,
            });
        } else {
            self.expr.delete.push(DeleteAction {
                path,
                value: value_ref,
            });
        }
        Ok(())
    }

    /// `ADD` takes a number or a set, `DELETE` a set.
    fn check_add_delete_type(&mut self, kw: Keyword, value: &RawValue) {
        let Some(ty) = value.ty else {
            return;
        };
        let allowed = ty.is_set() || (kw == Keyword::Add && ty == ValueType::N);
        if !allowed {
            let section = section_name(kw);
            self.p.findings.record(
                Category::Operand,
                format!(
                    "Incorrect operand type for operator or function; operator: {section}, operand type: {}, typeSet: ALLOWED_FOR_{section}_OPERAND",
                    ty.long_name()
                ),
            );
        }
    }

    /// Checks the function calls of an operand, each after its arguments' calls.
    fn check_function(&mut self, operand: &RawOperand) {
        for call in operand.calls_post_order() {
            self.check_call(call);
        }
    }

    /// Checks one function call (not its arguments' calls).
    fn check_call(&mut self, call: &RawOperand) {
        let RawKind::Func { name, args } = &call.kind else {
            return;
        };
        match name.as_str() {
            "if_not_exists" | "list_append" => {}
            "attribute_exists"
            | "attribute_not_exists"
            | "attribute_type"
            | "begins_with"
            | "contains"
            | "size" => {
                self.p.findings.record(
                    Category::UnknownFunction,
                    format!(
                        "The function is not allowed in an update expression; function: {name}"
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
        }
        if args.len() != 2 {
            self.p
                .findings
                .record(Category::Function, operand_count_message(name, args.len()));
            return;
        }
        if name == "if_not_exists" {
            match args[0].path() {
                None => self
                    .p
                    .findings
                    .record(Category::Function, requires_path_message(name)),
                Some(first) => {
                    if let Some(second) = args[1].path() {
                        let (first, second) = (first.to_path(), second.to_path());
                        if first == second {
                            self.p
                                .findings
                                .record(Category::Function, distinct_message(name, &first));
                        }
                    }
                }
            }
        } else {
            for arg in args {
                if let Some(ty) = arg.value_type() {
                    if ty != ValueType::L {
                        self.p.findings.record(
                            Category::Function,
                            operand_type_message(name, ty.short_name()),
                        );
                    }
                }
            }
        }
    }

    /// `+` and `-` take numbers: no lists from `list_append`, no non-number values.
    fn check_arithmetic_operand(&mut self, symbol: &str, op: &RawOperand) {
        if op.func_name() == Some("list_append") {
            self.p
                .findings
                .record(Category::Function, misused_function_message("list_append"));
        }
        if let Some(ty) = op.value_type() {
            if ty != ValueType::N {
                self.p.findings.record(
                    Category::Function,
                    operand_type_message(symbol, ty.short_name()),
                );
            }
        }
    }

    /// The final operand; `None` for calls that are not a well-formed `if_not_exists`
    /// or `list_append` (their errors are recorded by the checks). Built bottom-up
    /// with an explicit stack.
    fn convert(&self, op: &RawOperand) -> Option<UpdateOperand> {
        let mut built: Vec<UpdateOperand> = Vec::new();
        let mut stack = vec![(op, false)];
        while let Some((node, expanded)) = stack.pop() {
            match &node.kind {
                RawKind::Path(p) => built.push(UpdateOperand::Path(p.to_path())),
                RawKind::Value(v) => {
                    built.push(UpdateOperand::Value(ValueRef(v.placeholder.clone())))
                }
                RawKind::Func { args, .. } if !expanded => {
                    stack.push((node, true));
                    stack.extend(args.iter().rev().map(|a| (a, false)));
                }
                RawKind::Func { name, args } => {
                    let second = built.pop()?;
                    let first = built.pop()?;
                    let call = match (name.as_str(), args.len(), first) {
                        ("if_not_exists", 2, UpdateOperand::Path(path)) => {
                            UpdateOperand::IfNotExists {
                                path,
                                default: Box::new(second),
                            }
                        }
                        ("list_append", 2, first) => {
                            UpdateOperand::ListAppend(Box::new(first), Box::new(second))
                        }
                        _ => return None,
                    };
                    built.push(call);
                }
            }
        }
        built.pop()
    }

    /// A value that could not be built always has an error recorded; this keeps it so
    /// even if a check were missed.
    fn ensure_error(&mut self) {
        if self.p.findings.is_empty() {
            self.p
                .findings
                .record(Category::Function, "Invalid update value".to_owned());
        }
    }
}
