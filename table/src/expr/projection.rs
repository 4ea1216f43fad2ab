//! The projection language (`ProjectionExpression`): comma-separated document paths.
//!
//! Deferred errors, in DynamoDB's order: reserved words, undefined names, overlapping
//! paths, conflicting paths.

use super::ast::ProjectionExpr;
use super::context::ExprContext;
use super::error::{ExprError, ExpressionKind};
use super::lexer::TokenKind;
use super::overlap::check_paths;
use super::parser::{Category, Parser};

/// Category order of projection errors.
const ORDER: [Category; 4] = [
    Category::Reserved,
    Category::AttrName,
    Category::PathOverlap,
    Category::PathConflict,
];

/// Parses and validates a `ProjectionExpression`.
pub(crate) fn parse(src: &str, ctx: &mut ExprContext) -> Result<ProjectionExpr, ExprError> {
    let mut p = Parser::new(ExpressionKind::Projection, src, ctx)?;
    let mut paths = Vec::new();
    loop {
        let raw = p.parse_path()?;
        if let Some(name) = raw.first_undefined() {
            p.findings.record(
                Category::AttrName,
                format!(
                    "An expression attribute name used in the document path is not defined; attribute name: {name}"
                ),
            );
        }
        paths.push(raw.to_path());
        if p.peek_kind() != TokenKind::Comma {
            break;
        }
        p.bump();
    }
    p.expect_end()?;
    check_paths(&paths, &mut p.findings);
    p.finish(&ORDER)?;
    Ok(ProjectionExpr { paths })
}
