//! DynamoDB's expression languages: parsing and validation.
//!
//! Five parsers, one per request parameter, each returning a syntax tree
//! ([`ast`]) or an [`ExprError`] whose message is exactly DynamoDB's
//! `ValidationException` message:
//!
//! | parameter | function | result |
//! |---|---|---|
//! | `ConditionExpression` | [`parse_condition_expression`] | [`Condition`] |
//! | `FilterExpression` | [`parse_filter_expression`] | [`Condition`] |
//! | `KeyConditionExpression` | [`parse_key_condition_expression`] | [`KeyConditionExpr`] |
//! | `UpdateExpression` | [`parse_update_expression`] | [`UpdateExpr`] |
//! | `ProjectionExpression` | [`parse_projection_expression`] | [`ProjectionExpr`] |
//!
//! All the expressions of one request share an [`ExprContext`] holding the
//! request's `ExpressionAttributeNames` (resolved while parsing) and
//! `ExpressionAttributeValues` (kept as placeholders in the tree, for the evaluator).
//! The request-level checks are on the context: [`ExprContext::validate`] before
//! parsing (empty or malformed maps) and [`ExprContext::finish`] after (entries no
//! expression used).
//!
//! Limits enforced: expressions of at most [`MAX_EXPRESSION_BYTES`] bytes, at most
//! [`MAX_OPERATORS`] operators and functions, at most [`MAX_IN_OPERANDS`] `IN`
//! candidates, placeholder keys of at most [`MAX_PLACEHOLDER_KEY_BYTES`] bytes. No
//! input panics or exhausts the stack: nesting is parsed with explicit stacks and
//! bounded by [`MAX_NESTING_DEPTH`], and the trees returned hold at most
//! [`MAX_OPERATORS`] operators.
//!
//! ```
//! use strata_table::expr::{
//!     parse_condition_expression, parse_update_expression, Condition, ExprContext,
//!     ValueType,
//! };
//!
//! // UpdateItem with UpdateExpression + ConditionExpression.
//! let mut ctx = ExprContext::new()
//!     .with_names([("#c", "count")])
//!     .with_values([(":one", ValueType::N), (":max", ValueType::N)]);
//! ctx.validate()?;
//! let update = parse_update_expression("SET #c = #c + :one", &mut ctx)?;
//! let condition = parse_condition_expression("#c < :max", &mut ctx)?;
//! ctx.finish()?;
//! assert_eq!(update.set.len(), 1);
//! assert!(matches!(condition, Condition::Compare { .. }));
//!
//! // Errors carry DynamoDB's message.
//! let mut ctx = ExprContext::new();
//! let err = parse_condition_expression("name = :v", &mut ctx).unwrap_err();
//! assert_eq!(
//!     err.message(),
//!     "Invalid ConditionExpression: Attribute name is a reserved keyword; reserved keyword: name"
//! );
//! # Ok::<(), strata_table::expr::ExprError>(())
//! ```

pub mod ast;
mod condition;
mod context;
mod error;
mod key_condition;
mod lexer;
mod overlap;
mod parser;
mod projection;
mod reserved;
mod update;

#[cfg(test)]
mod tests;

pub use ast::{
    AddAction, Comparator, Condition, DeleteAction, Operand, Path, PathElement, ProjectionExpr,
    SetAction, SetValue, UpdateExpr, UpdateOperand, ValueRef,
};
pub use context::{ExprContext, ValueType, MAX_PLACEHOLDER_KEY_BYTES};
pub use error::{ExprError, ExpressionKind};
pub use key_condition::{KeyComparison, KeyCondition, KeyConditionExpr, KeyQuery};
pub use parser::{
    MAX_EXPRESSION_BYTES, MAX_IN_OPERANDS, MAX_LIST_INDEX, MAX_NESTING_DEPTH, MAX_OPERATORS,
};
pub use reserved::{is_reserved_word, RESERVED_WORDS};

/// Parses a `ConditionExpression` (PutItem, UpdateItem, DeleteItem, transactions).
pub fn parse_condition_expression(
    expression: &str,
    ctx: &mut ExprContext,
) -> Result<Condition, ExprError> {
    condition::parse(ExpressionKind::Condition, expression, ctx)
}

/// Parses a `FilterExpression` (Query, Scan).
pub fn parse_filter_expression(
    expression: &str,
    ctx: &mut ExprContext,
) -> Result<Condition, ExprError> {
    condition::parse(ExpressionKind::Filter, expression, ctx)
}

/// Parses a condition with the condition grammar; `kind` only names the parameter in
/// error messages (meant for [`ExpressionKind::Condition`], [`ExpressionKind::Filter`]
/// and [`ExpressionKind::KeyCondition`]).
pub fn parse_condition_as(
    kind: ExpressionKind,
    expression: &str,
    ctx: &mut ExprContext,
) -> Result<Condition, ExprError> {
    condition::parse(kind, expression, ctx)
}

/// Parses a `KeyConditionExpression` (Query) with the condition grammar and checks.
/// Then call [`KeyConditionExpr::resolve`] with the key schema of the table or index.
pub fn parse_key_condition_expression(
    expression: &str,
    ctx: &mut ExprContext,
) -> Result<KeyConditionExpr, ExprError> {
    let condition = condition::parse(ExpressionKind::KeyCondition, expression, ctx)?;
    Ok(KeyConditionExpr { condition })
}

/// Parses an `UpdateExpression` (UpdateItem, transactions).
pub fn parse_update_expression(
    expression: &str,
    ctx: &mut ExprContext,
) -> Result<UpdateExpr, ExprError> {
    update::parse(expression, ctx)
}

/// Parses a `ProjectionExpression` (GetItem, BatchGetItem, Query, Scan, transactions).
pub fn parse_projection_expression(
    expression: &str,
    ctx: &mut ExprContext,
) -> Result<ProjectionExpr, ExprError> {
    projection::parse(expression, ctx)
}
