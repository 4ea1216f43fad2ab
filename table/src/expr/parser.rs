//! The parsing machinery shared by the expression languages: the token cursor, syntax
//! errors in DynamoDB's format, the nesting-depth guard, document paths, operands, and
//! the deferred ("semantic") errors that DynamoDB reports only once an expression
//! parsed, in a fixed order of categories.

use super::ast::{Path, PathElement};
use super::context::{ExprContext, ValueType};
use super::error::{ExprError, ExpressionKind};
use super::lexer::{tokenize, Keyword, Token, TokenKind};
use super::reserved::is_reserved_word;

/// Longest expression DynamoDB accepts, in bytes.
pub const MAX_EXPRESSION_BYTES: usize = 4096;
/// Most operators and functions one expression may contain.
pub const MAX_OPERATORS: usize = 300;
/// Most candidates of one `IN (...)`.
pub const MAX_IN_OPERANDS: usize = 100;
/// Deepest nesting of parentheses and function calls accepted. An expression within
/// DynamoDB's limits never nests deeper than about 600 (every level needs an operator
/// or is a redundant parenthesis), so going past it is always an error, reported as
/// DynamoDB would: too many operators, or redundant parentheses. Parsing uses
/// explicit stacks, not recursion, so the bound is about work, not stack space.
pub const MAX_NESTING_DEPTH: usize = 1000;
/// Largest list index accepted in a document path.
pub const MAX_LIST_INDEX: u64 = i32::MAX as u64;

/// The message of DynamoDB's redundant-parentheses error.
pub(crate) const REDUNDANT_PARENS: &str = "The expression has redundant parentheses;";

/// The kinds of deferred error. Each expression language reports the first error of
/// the first non-empty category, in its own category order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Category {
    Reserved,
    UnknownFunction,
    MisusedFunction,
    Section,
    AttrName,
    AttrValue,
    PathOverlap,
    PathConflict,
    Operand,
    Function,
    /// A condition leaf's error (conditions report per leaf, in source order).
    Condition,
}

/// The first deferred error of each category.
#[derive(Debug, Default)]
pub(crate) struct Findings {
    first: Vec<(Category, String)>,
}

impl Findings {
    /// Keeps `message` unless the category already has an error.
    pub fn record(&mut self, category: Category, message: String) {
        if !self.has(category) {
            self.first.push((category, message));
        }
    }

    /// Whether the category has an error.
    pub fn has(&self, category: Category) -> bool {
        self.first.iter().any(|(c, _)| *c == category)
    }

    /// Whether any error was recorded.
    pub fn is_empty(&self) -> bool {
        self.first.is_empty()
    }

    /// The error to report: the first category of `order` that has one. Categories
    /// missing from `order` come last, so no recorded error is ever dropped.
    pub fn report(&self, order: &[Category]) -> Option<&str> {
        order
            .iter()
            .find_map(|c| {
                self.first
                    .iter()
                    .find(|(cat, _)| cat == c)
                    .map(|(_, m)| m.as_str())
            })
            .or_else(|| self.first.first().map(|(_, m)| m.as_str()))
    }
}

/// One element of a document path as written, before validation.
#[derive(Debug, Clone)]
pub(crate) enum RawElem {
    /// A literal attribute name.
    Name(String),
    /// A `#name` placeholder and what it resolved to, if defined.
    Placeholder {
        text: String,
        resolved: Option<String>,
    },
    /// A list index.
    Index(u32),
}

/// A document path as written.
#[derive(Debug, Clone)]
pub(crate) struct RawPath {
    pub elems: Vec<RawElem>,
}

impl RawPath {
    /// The first undefined `#name` placeholder of the path.
    pub fn first_undefined(&self) -> Option<&str> {
        self.elems.iter().find_map(|e| match e {
            RawElem::Placeholder {
                text,
                resolved: None,
            } => Some(text.as_str()),
            _ => None,
        })
    }

    /// The resolved path (undefined placeholders keep their text; callers only use
    /// the result when no error was recorded).
    pub fn to_path(&self) -> Path {
        Path {
            elements: self
                .elems
                .iter()
                .map(|e| match e {
                    RawElem::Name(n) => PathElement::Attribute(n.clone()),
                    RawElem::Placeholder { text, resolved } => {
                        PathElement::Attribute(resolved.clone().unwrap_or_else(|| text.clone()))
                    }
                    RawElem::Index(i) => PathElement::Index(*i),
                })
                .collect(),
        }
    }
}

/// A `:value` placeholder as written.
#[derive(Debug, Clone)]
pub(crate) struct RawValue {
    pub placeholder: String,
    pub defined: bool,
    pub ty: Option<ValueType>,
    pub string: Option<String>,
}

/// An operand as written (shared by conditions and update values).
#[derive(Debug, Clone)]
pub(crate) enum RawKind {
    Path(RawPath),
    Value(RawValue),
    Func { name: String, args: Vec<RawOperand> },
}

/// An operand as written, and whether it was wrapped in parentheses.
#[derive(Debug, Clone)]
pub(crate) struct RawOperand {
    pub kind: RawKind,
    pub paren: bool,
}

impl RawOperand {
    /// The first undefined placeholder (`#name` or `:value`) in source order.
    pub fn first_undefined(&self) -> Option<&str> {
        self.nodes_in_source_order()
            .into_iter()
            .find_map(|node| match &node.kind {
                RawKind::Path(p) => p.first_undefined(),
                RawKind::Value(v) => (!v.defined).then_some(v.placeholder.as_str()),
                RawKind::Func { .. } => None,
            })
    }

    /// This operand and all nested ones, in source order (calls before their
    /// arguments). Iterative: nesting costs no call stack.
    pub fn nodes_in_source_order(&self) -> Vec<&RawOperand> {
        let mut out = Vec::new();
        let mut stack = vec![self];
        while let Some(node) = stack.pop() {
            out.push(node);
            if let RawKind::Func { args, .. } = &node.kind {
                stack.extend(args.iter().rev());
            }
        }
        out
    }

    /// The function calls of this operand, each after its arguments' calls, left to
    /// right (the order DynamoDB checks them in). Iterative.
    pub fn calls_post_order(&self) -> Vec<&RawOperand> {
        let mut out = Vec::new();
        let mut stack = vec![(self, false)];
        while let Some((node, expanded)) = stack.pop() {
            if let RawKind::Func { args, .. } = &node.kind {
                if expanded {
                    out.push(node);
                } else {
                    stack.push((node, true));
                    stack.extend(args.iter().rev().map(|a| (a, false)));
                }
            }
        }
        out
    }

    /// The type of the operand when it is a typed value placeholder.
    pub fn value_type(&self) -> Option<ValueType> {
        match &self.kind {
            RawKind::Value(v) => v.ty,
            _ => None,
        }
    }

    /// The function name, if the operand is a function call.
    pub fn func_name(&self) -> Option<&str> {
        match &self.kind {
            RawKind::Func { name, .. } => Some(name),
            _ => None,
        }
    }

    /// The path, if the operand is one.
    pub fn path(&self) -> Option<&RawPath> {
        match &self.kind {
            RawKind::Path(p) => Some(p),
            _ => None,
        }
    }
}

/// A token cursor over one expression, with its context and deferred errors.
pub(crate) struct Parser<'s, 'c> {
    pub kind: ExpressionKind,
    src: &'s str,
    toks: Vec<Token>,
    pos: usize,
    depth: usize,
    /// For each `(` token, the index of its matching `)`.
    close_of: Vec<Option<usize>>,
    pub ctx: &'c mut ExprContext,
    pub findings: Findings,
    /// Operators and functions seen so far.
    pub operators: usize,
}

impl<'s, 'c> Parser<'s, 'c> {
    /// Checks the expression's size and emptiness, and tokenizes it.
    pub fn new(
        kind: ExpressionKind,
        src: &'s str,
        ctx: &'c mut ExprContext,
    ) -> Result<Self, ExprError> {
        if src.len() > MAX_EXPRESSION_BYTES {
            return Err(ExprError::invalid(
                kind,
                format_args!(
                    "Expression size has exceeded the maximum allowed size; expression size: {}",
                    src.len()
                ),
            ));
        }
        if src.trim_matches([' ', '\t', '\n', '\r']).is_empty() {
            return Err(ExprError::invalid(kind, "The expression can not be empty;"));
        }
        let toks = tokenize(src);
        let mut close_of = vec![None; toks.len()];
        let mut open = Vec::new();
        for (i, t) in toks.iter().enumerate() {
            match t.kind {
                TokenKind::LParen => open.push(i),
                TokenKind::RParen => {
                    if let Some(o) = open.pop() {
                        close_of[o] = Some(i);
                    }
                }
                _ => {}
            }
        }
        Ok(Parser {
            kind,
            src,
            toks,
            pos: 0,
            depth: 0,
            close_of,
            ctx,
            findings: Findings::default(),
            operators: 0,
        })
    }

    /// `Invalid <Kind>: <detail>`.
    pub fn invalid(&self, detail: impl std::fmt::Display) -> ExprError {
        ExprError::invalid(self.kind, detail)
    }

    /// The current token.
    pub fn peek(&self) -> Token {
        self.peek_at(0)
    }

    /// The token `n` positions ahead (the end token past the end).
    pub fn peek_at(&self, n: usize) -> Token {
        let last = self.toks.len() - 1;
        self.toks[(self.pos + n).min(last)]
    }

    /// The current token's kind.
    pub fn peek_kind(&self) -> TokenKind {
        self.peek().kind
    }

    /// Whether the current token is the keyword `kw`.
    pub fn at_keyword(&self, kw: Keyword) -> bool {
        self.peek().is_keyword(kw)
    }

    /// Consumes and returns the current token (the end token is never consumed).
    pub fn bump(&mut self) -> Token {
        let t = self.peek();
        if t.kind != TokenKind::Eof {
            self.pos += 1;
        }
        t
    }

    /// The source text of a token.
    pub fn text(&self, t: Token) -> &'s str {
        &self.src[t.start..t.end]
    }

    /// Consumes a token of `kind`, or fails with a syntax error at the current one.
    pub fn expect(&mut self, kind: TokenKind) -> Result<Token, ExprError> {
        if self.peek_kind() == kind {
            Ok(self.bump())
        } else {
            Err(self.syntax_error())
        }
    }

    /// Fails unless the whole input was consumed.
    pub fn expect_end(&mut self) -> Result<(), ExprError> {
        self.expect(TokenKind::Eof).map(|_| ())
    }

    /// DynamoDB's syntax error at the current token: `Syntax error; token: "<tok>",
    /// near: "<prev tok ... next tok>"`, where `near` is the source text from the
    /// start of the previous token to the end of the next one (`<EOF>` for the end).
    pub fn syntax_error(&self) -> ExprError {
        let i = self.pos.min(self.toks.len() - 1);
        let t = self.toks[i];
        let token = if t.kind == TokenKind::Eof {
            "<EOF>"
        } else {
            self.text(t)
        };
        let from = if i > 0 {
            self.toks[i - 1].start
        } else {
            t.start
        };
        let to = self.toks.get(i + 1).map_or(t.end, |n| n.end);
        self.invalid(format_args!(
            "Syntax error; token: \"{token}\", near: \"{}\"",
            &self.src[from..to]
        ))
    }

    /// The redundant-parentheses error (reported as soon as it is seen).
    pub fn redundant_parens(&self) -> ExprError {
        self.invalid(REDUNDANT_PARENS)
    }

    /// Enters one level of parentheses or function arguments.
    pub fn enter(&mut self) -> Result<(), ExprError> {
        self.depth += 1;
        if self.depth > MAX_NESTING_DEPTH {
            return Err(self.too_deep());
        }
        Ok(())
    }

    /// Leaves one level entered with [`enter`](Self::enter).
    pub fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    /// The error for nesting past [`MAX_NESTING_DEPTH`]: such an expression either
    /// has more than [`MAX_OPERATORS`] operators, or redundant parentheses, and
    /// DynamoDB's message for that is reported.
    fn too_deep(&self) -> ExprError {
        // Estimate the operator count from the tokens: comparisons, arithmetic,
        // logical operators, BETWEEN (whose AND is part of it), IN, and calls.
        let toks = &self.toks;
        let mut operators = 0usize;
        for (i, t) in toks.iter().enumerate() {
            operators += match t.kind {
                // In an update, `=` is the SET assignment, not an operator.
                TokenKind::Eq => usize::from(self.kind != ExpressionKind::Update),
                TokenKind::Ne
                | TokenKind::Lt
                | TokenKind::Le
                | TokenKind::Gt
                | TokenKind::Ge
                | TokenKind::Plus
                | TokenKind::Minus => 1,
                TokenKind::Keyword(
                    Keyword::And | Keyword::Or | Keyword::Not | Keyword::Between | Keyword::In,
                ) => 1,
                TokenKind::Ident => {
                    usize::from(toks.get(i + 1).map(|n| n.kind) == Some(TokenKind::LParen))
                }
                _ => 0,
            };
        }
        let betweens = toks
            .iter()
            .filter(|t| t.is_keyword(Keyword::Between))
            .count();
        let operators = operators.saturating_sub(betweens);
        if operators > MAX_OPERATORS {
            self.too_many_operators(operators)
        } else {
            self.redundant_parens()
        }
    }

    /// `The expression contains too many operators; operator count: N`.
    pub fn too_many_operators(&self, count: usize) -> ExprError {
        self.invalid(format_args!(
            "The expression contains too many operators; operator count: {count}"
        ))
    }

    /// The kind of the token right after the `)` matching the `(` at the cursor,
    /// or `None` if the parenthesis is not closed.
    pub fn after_group(&self) -> Option<TokenKind> {
        let close = (*self.close_of.get(self.pos)?)?;
        self.toks.get(close + 1).map(|t| t.kind)
    }

    /// After a complete parse: the limit on operators and functions.
    pub fn check_operator_limit(&self) -> Result<(), ExprError> {
        if self.operators > MAX_OPERATORS {
            return Err(self.too_many_operators(self.operators));
        }
        Ok(())
    }

    /// After a complete parse: the operator limit, then the deferred errors in
    /// `order`.
    pub fn finish(&self, order: &[Category]) -> Result<(), ExprError> {
        self.check_operator_limit()?;
        match self.findings.report(order) {
            Some(message) => Err(self.invalid(message)),
            None => Ok(()),
        }
    }

    /// Parses a document path: `name ('.' name | '[' index ']')*`, where a name is an
    /// identifier or a `#name` placeholder. Records reserved words and resolves
    /// placeholders.
    pub fn parse_path(&mut self) -> Result<RawPath, ExprError> {
        let mut elems = vec![self.parse_path_name()?];
        loop {
            match self.peek_kind() {
                TokenKind::Dot => {
                    self.bump();
                    elems.push(self.parse_path_name()?);
                }
                TokenKind::LBracket => {
                    self.bump();
                    let t = self.expect(TokenKind::Index)?;
                    let digits = self.text(t);
                    let index = digits
                        .parse::<u64>()
                        .ok()
                        .filter(|&i| i <= MAX_LIST_INDEX)
                        .and_then(|i| u32::try_from(i).ok());
                    let Some(index) = index else {
                        return Err(self.invalid(format_args!(
                            "List index is not within the allowable range; index: [{digits}]"
                        )));
                    };
                    self.expect(TokenKind::RBracket)?;
                    elems.push(RawElem::Index(index));
                }
                _ => break,
            }
        }
        Ok(RawPath { elems })
    }

    fn parse_path_name(&mut self) -> Result<RawElem, ExprError> {
        let t = self.peek();
        match t.kind {
            TokenKind::Ident => {
                self.bump();
                let name = self.text(t);
                if is_reserved_word(name) {
                    self.findings.record(
                        Category::Reserved,
                        format!("Attribute name is a reserved keyword; reserved keyword: {name}"),
                    );
                }
                Ok(RawElem::Name(name.to_owned()))
            }
            TokenKind::NameRef => {
                self.bump();
                let text = self.text(t);
                let resolved = self.ctx.resolve_name(text);
                Ok(RawElem::Placeholder {
                    text: text.to_owned(),
                    resolved,
                })
            }
            _ => Err(self.syntax_error()),
        }
    }

    /// Parses a `:value` placeholder at the cursor.
    pub fn parse_value(&mut self) -> Result<RawValue, ExprError> {
        let t = self.expect(TokenKind::ValueRef)?;
        let placeholder = self.text(t).to_owned();
        let (defined, ty, string) = match self.ctx.resolve_value(&placeholder) {
            Some((ty, string)) => (true, ty, string),
            None => (false, None, None),
        };
        Ok(RawValue {
            placeholder,
            defined,
            ty,
            string,
        })
    }

    /// Parses an operand: a path, a `:value`, a function call `name(operand, ...)`,
    /// or a parenthesized operand (two pairs around one operand are redundant).
    ///
    /// Nested parentheses and calls are tracked on an explicit stack, not by
    /// recursion, so deep nesting costs heap, not call stack.
    pub fn parse_operand(&mut self) -> Result<RawOperand, ExprError> {
        enum Open {
            Paren,
            Call { name: String, args: Vec<RawOperand> },
        }
        let mut open: Vec<Open> = Vec::new();
        'operand: loop {
            // Descend to the start of an operand, opening parentheses and calls.
            let mut operand = loop {
                let t = self.peek();
                match t.kind {
                    TokenKind::LParen => {
                        self.enter()?;
                        self.bump();
                        open.push(Open::Paren);
                    }
                    TokenKind::ValueRef => {
                        break RawOperand {
                            kind: RawKind::Value(self.parse_value()?),
                            paren: false,
                        };
                    }
                    TokenKind::Ident if self.peek_at(1).kind == TokenKind::LParen => {
                        self.bump();
                        self.bump();
                        self.operators += 1;
                        self.enter()?;
                        open.push(Open::Call {
                            name: self.text(t).to_owned(),
                            args: Vec::new(),
                        });
                    }
                    TokenKind::Ident | TokenKind::NameRef => {
                        break RawOperand {
                            kind: RawKind::Path(self.parse_path()?),
                            paren: false,
                        };
                    }
                    _ => return Err(self.syntax_error()),
                }
            };
            // Ascend, closing what the operand completes.
            loop {
                match open.last_mut() {
                    None => return Ok(operand),
                    Some(Open::Paren) => {
                        self.expect(TokenKind::RParen)?;
                        self.leave();
                        open.pop();
                        if operand.paren {
                            return Err(self.redundant_parens());
                        }
                        operand.paren = true;
                    }
                    Some(Open::Call { args, .. }) => {
                        args.push(operand);
                        if self.peek_kind() == TokenKind::Comma {
                            self.bump();
                            continue 'operand;
                        }
                        self.expect(TokenKind::RParen)?;
                        self.leave();
                        let Some(Open::Call { name, args }) = open.pop() else {
                            return Err(self.syntax_error());
                        };
                        operand = RawOperand {
                            kind: RawKind::Func { name, args },
                            paren: false,
                        };
                    }
                }
            }
        }
    }

    /// Whether the operator limit is already exceeded, in which case the expression
    /// is bound to fail with that error and the (recursive) checks of its parts are
    /// skipped. Below the limit, functions nest at most [`MAX_OPERATORS`] deep.
    pub fn over_operator_limit(&self) -> bool {
        self.operators > MAX_OPERATORS
    }
}

/// `Incorrect number of operands for operator or function; operator or function: f,
/// number of operands: n`.
pub(crate) fn operand_count_message(function: &str, count: usize) -> String {
    format!(
        "Incorrect number of operands for operator or function; operator or function: {function}, number of operands: {count}"
    )
}

/// `Incorrect operand type for operator or function; operator or function: f,
/// operand type: T`.
pub(crate) fn operand_type_message(function: &str, type_name: &str) -> String {
    format!(
        "Incorrect operand type for operator or function; operator or function: {function}, operand type: {type_name}"
    )
}

/// `Operator or function requires a document path; operator or function: f`.
pub(crate) fn requires_path_message(function: &str) -> String {
    format!("Operator or function requires a document path; operator or function: {function}")
}

/// `The function is not allowed to be used this way in an expression; function: f`.
pub(crate) fn misused_function_message(function: &str) -> String {
    format!(
        "The function is not allowed to be used this way in an expression; function: {function}"
    )
}

/// `The first operand must be distinct from the remaining operands for this operator
/// or function; operator: op, first operand: [a, b]`.
pub(crate) fn distinct_message(operator: &str, first: &Path) -> String {
    format!(
        "The first operand must be distinct from the remaining operands for this operator or function; operator: {operator}, first operand: {}",
        first.to_dynamo_string()
    )
}
