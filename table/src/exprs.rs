//! The expressions of one request: parsed with one shared [`ExprContext`] (names resolved,
//! values checked), with the request-level rules (no placeholders without expressions, no
//! unused placeholders) and errors turned into `ValidationException`s.

use crate::error::{Result, TableError};
use crate::expr::{
    self, Condition, ExprContext, ExprError, KeyConditionExpr, ProjectionExpr, UpdateExpr,
    ValueType,
};
use crate::model::{Names, Values};
use crate::value::AttributeValue;

fn err(e: ExprError) -> TableError {
    TableError::Validation(e.into_message())
}

/// The type of a value, as the parser checks it.
pub fn value_type(v: &AttributeValue) -> ValueType {
    match v {
        AttributeValue::S(_) => ValueType::S,
        AttributeValue::N(_) => ValueType::N,
        AttributeValue::B(_) => ValueType::B,
        AttributeValue::Bool(_) => ValueType::Bool,
        AttributeValue::Null => ValueType::Null,
        AttributeValue::L(_) => ValueType::L,
        AttributeValue::M(_) => ValueType::M,
        AttributeValue::Ss(_) => ValueType::Ss,
        AttributeValue::Ns(_) => ValueType::Ns,
        AttributeValue::Bs(_) => ValueType::Bs,
    }
}

/// A request's expression context.
pub struct Exprs {
    ctx: ExprContext,
    values: Values,
}

impl Exprs {
    /// Starts parsing a request's expressions. `expressions` names the expression
    /// parameters the operation accepts (for DynamoDB's message when placeholders come
    /// without any), `present` says whether any of them was given.
    pub fn new(
        names: Option<&Names>,
        values: Option<&Values>,
        expressions: &str,
        present: bool,
    ) -> Result<Exprs> {
        if !present {
            if names.is_some() {
                return Err(TableError::validation(
                    "ExpressionAttributeNames can only be specified when using expressions",
                ));
            }
            if values.is_some() {
                return Err(TableError::validation(format!(
                    "ExpressionAttributeValues can only be specified when using expressions: {expressions}"
                )));
            }
        }
        let mut ctx = ExprContext::new();
        if let Some(names) = names {
            ctx = ctx.with_names(names.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        }
        if let Some(values) = values {
            ctx = ctx.with_values(values.iter().map(|(k, v)| (k.as_str(), value_type(v))));
            // Strings, so attribute_type's type names are checked while parsing.
            for (k, v) in values {
                if let AttributeValue::S(s) = v {
                    ctx = ctx.with_string_value(k.as_str(), s.as_str());
                }
            }
        }
        ctx.validate().map_err(err)?;
        Ok(Exprs {
            ctx,
            values: values.cloned().unwrap_or_default(),
        })
    }

    /// The request's values.
    pub fn values(&self) -> &Values {
        &self.values
    }

    /// A ConditionExpression.
    pub fn condition(&mut self, text: Option<&str>) -> Result<Option<Condition>> {
        text.map(|t| expr::parse_condition_expression(t, &mut self.ctx).map_err(err))
            .transpose()
    }

    /// A FilterExpression.
    pub fn filter(&mut self, text: Option<&str>) -> Result<Option<Condition>> {
        text.map(|t| expr::parse_filter_expression(t, &mut self.ctx).map_err(err))
            .transpose()
    }

    /// An UpdateExpression.
    pub fn update(&mut self, text: Option<&str>) -> Result<Option<UpdateExpr>> {
        text.map(|t| expr::parse_update_expression(t, &mut self.ctx).map_err(err))
            .transpose()
    }

    /// A ProjectionExpression.
    pub fn projection(&mut self, text: Option<&str>) -> Result<Option<ProjectionExpr>> {
        text.map(|t| expr::parse_projection_expression(t, &mut self.ctx).map_err(err))
            .transpose()
    }

    /// A KeyConditionExpression.
    pub fn key_condition(&mut self, text: &str) -> Result<KeyConditionExpr> {
        expr::parse_key_condition_expression(text, &mut self.ctx).map_err(err)
    }

    /// The request-level checks once every expression is parsed.
    pub fn finish(&self) -> Result<()> {
        self.ctx.finish().map_err(err)
    }
}

/// Refuses legacy (non-expression) parameters given together with expression parameters;
/// each list names a request's parameters and whether they are present.
pub(crate) fn mixed(non_expression: &[(&str, bool)], expression: &[(&str, bool)]) -> Result<()> {
    let legacy: Vec<&str> = non_expression
        .iter()
        .filter(|(_, on)| *on)
        .map(|(n, _)| *n)
        .collect();
    let modern: Vec<&str> = expression
        .iter()
        .filter(|(_, on)| *on)
        .map(|(n, _)| *n)
        .collect();
    if !legacy.is_empty() && !modern.is_empty() {
        return Err(TableError::validation(format!(
            "Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {{{}}} Expression parameters: {{{}}}",
            legacy.join(", "),
            modern.join(", ")
        )));
    }
    Ok(())
}
