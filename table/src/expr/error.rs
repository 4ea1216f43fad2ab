//! The single error type of the expression module, and the expression kinds that name
//! DynamoDB's request parameters in its messages.

use std::fmt;

/// Which of DynamoDB's expression parameters an expression came from.
///
/// The kind decides the `Invalid <Parameter>: ` prefix of error messages and, for
/// conditions, whether the key-condition restrictions apply afterwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExpressionKind {
    /// `ConditionExpression` of PutItem, UpdateItem, DeleteItem and transactions.
    Condition,
    /// `FilterExpression` of Query and Scan.
    Filter,
    /// `KeyConditionExpression` of Query.
    KeyCondition,
    /// `UpdateExpression` of UpdateItem.
    Update,
    /// `ProjectionExpression` of the read operations.
    Projection,
}

impl ExpressionKind {
    /// The request parameter name, e.g. `"ConditionExpression"`.
    pub fn parameter_name(self) -> &'static str {
        match self {
            ExpressionKind::Condition => "ConditionExpression",
            ExpressionKind::Filter => "FilterExpression",
            ExpressionKind::KeyCondition => "KeyConditionExpression",
            ExpressionKind::Update => "UpdateExpression",
            ExpressionKind::Projection => "ProjectionExpression",
        }
    }
}

impl fmt::Display for ExpressionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.parameter_name())
    }
}

/// A validation failure of an expression or of its placeholder maps.
///
/// The message is exactly DynamoDB's `ValidationException` message (for example
/// `Invalid UpdateExpression: Syntax error; token: "<EOF>", near: "SET a"`); the
/// caller wraps it as a `ValidationException`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ExprError {
    message: String,
}

impl ExprError {
    /// An error with exactly this message.
    pub fn new(message: impl Into<String>) -> Self {
        ExprError {
            message: message.into(),
        }
    }

    /// An error about one expression: `Invalid <Parameter>: <detail>`.
    ///
    /// Public so that checks done outside this module (for example the BETWEEN
    /// bound checks that need the attribute values) produce the same format.
    pub fn invalid(kind: ExpressionKind, detail: impl fmt::Display) -> Self {
        ExprError::new(format!("Invalid {}: {}", kind.parameter_name(), detail))
    }

    /// The DynamoDB message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The message, by value.
    pub fn into_message(self) -> String {
        self.message
    }
}
