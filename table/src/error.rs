//! The table layer's errors, one variant per DynamoDB error name, carrying DynamoDB's messages.

use crate::value::Item;
use serde::{Deserialize, Serialize};

/// Why one item of a cancelled transaction failed, in DynamoDB's form.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CancellationReason {
    /// `None`, `ConditionalCheckFailed`, `TransactionConflict`, `ValidationError`, …
    pub code: String,
    /// A description, absent for `None`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The item as it was, when the request asked for it on a failed condition.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item: Option<Item>,
}

/// Everything a table operation can fail with. [`TableError::code`] gives DynamoDB's error
/// name; the `Display` text is DynamoDB's message.
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    /// The request is malformed or breaks a rule (`ValidationException`).
    #[error("{0}")]
    Validation(String),
    /// The table (or index) does not exist (`ResourceNotFoundException`).
    #[error("{0}")]
    ResourceNotFound(String),
    /// The table exists already, or is being changed (`ResourceInUseException`).
    #[error("{0}")]
    ResourceInUse(String),
    /// Too many index creations or deletions at once (`LimitExceededException`).
    #[error("{0}")]
    LimitExceeded(String),
    /// An item collection would grow past its limit
    /// (`ItemCollectionSizeLimitExceededException`).
    #[error("{0}")]
    ItemCollectionSizeLimitExceeded(String),
    /// A condition expression evaluated to false (`ConditionalCheckFailedException`).
    #[error("The conditional request failed")]
    ConditionalCheckFailed {
        /// The item as it was, if `ReturnValuesOnConditionCheckFailure` asked for it.
        item: Option<Item>,
    },
    /// A transaction was cancelled (`TransactionCanceledException`); one reason per item,
    /// in request order.
    #[error("Transaction cancelled, please refer cancellation reasons for specific reasons [{}]", .reasons.iter().map(|r| r.code.as_str()).collect::<Vec<_>>().join(", "))]
    TransactionCanceled {
        /// Per item, in order.
        reasons: Vec<CancellationReason>,
    },
    /// A ClientRequestToken was reused with a different request
    /// (`IdempotentParameterMismatchException`).
    #[error("{0}")]
    IdempotentParameterMismatch(String),
    /// A request with the same ClientRequestToken is still running
    /// (`TransactionInProgressException`).
    #[error("{0}")]
    TransactionInProgress(String),
    /// A stream position past the retention period (`TrimmedDataAccessException`).
    #[error("{0}")]
    TrimmedDataAccess(String),
    /// A shard iterator older than 15 minutes (`ExpiredIteratorException`).
    #[error("{0}")]
    ExpiredIterator(String),
    /// The storage engine failed (`InternalServerError`).
    #[error("internal error: {0}")]
    Engine(#[from] strata_engine::Error),
    /// Stored data could not be read back (`InternalServerError`).
    #[error("internal error: {0}")]
    Internal(String),
}

impl TableError {
    /// DynamoDB's error name (the `__type` suffix on the wire).
    pub fn code(&self) -> &'static str {
        match self {
            TableError::Validation(_) => "ValidationException",
            TableError::ResourceNotFound(_) => "ResourceNotFoundException",
            TableError::ResourceInUse(_) => "ResourceInUseException",
            TableError::LimitExceeded(_) => "LimitExceededException",
            TableError::ItemCollectionSizeLimitExceeded(_) => {
                "ItemCollectionSizeLimitExceededException"
            }
            TableError::ConditionalCheckFailed { .. } => "ConditionalCheckFailedException",
            TableError::TransactionCanceled { .. } => "TransactionCanceledException",
            TableError::IdempotentParameterMismatch(_) => "IdempotentParameterMismatchException",
            TableError::TransactionInProgress(_) => "TransactionInProgressException",
            TableError::TrimmedDataAccess(_) => "TrimmedDataAccessException",
            TableError::ExpiredIterator(_) => "ExpiredIteratorException",
            TableError::Engine(_) | TableError::Internal(_) => "InternalServerError",
        }
    }

    /// A `ValidationException` with `message`.
    pub fn validation(message: impl Into<String>) -> TableError {
        TableError::Validation(message.into())
    }

    /// A `ValidationException` prefixed "One or more parameter values were invalid: ".
    pub fn invalid_parameter(detail: impl std::fmt::Display) -> TableError {
        TableError::Validation(format!(
            "One or more parameter values were invalid: {detail}"
        ))
    }

    /// The framework-level constraint errors: "1 validation error detected: Value 'x' at
    /// 'tableName' failed to satisfy constraint: …" (several joined with "; ").
    pub fn constraints(violations: Vec<String>) -> TableError {
        let n = violations.len();
        TableError::Validation(format!(
            "{n} validation error{} detected: {}",
            if n == 1 { "" } else { "s" },
            violations.join("; ")
        ))
    }

    /// The table named `table` does not exist.
    pub fn table_not_found(table: &str) -> TableError {
        TableError::ResourceNotFound(format!(
            "Requested resource not found: Table: {table} not found"
        ))
    }
}

/// The table layer's result type.
pub type Result<T, E = TableError> = std::result::Result<T, E>;

/// A required parameter that is absent, in the framework's words.
pub(crate) fn missing(field: &str) -> TableError {
    TableError::constraints(vec![violation(None, field, "Member must not be null")])
}

/// One constraint violation in the framework's words, for [`TableError::constraints`].
pub(crate) fn violation(value: Option<&str>, at: &str, constraint: &str) -> String {
    let value = match value {
        Some(v) => format!("'{v}'"),
        None => "null".to_owned(),
    };
    format!("Value {value} at '{at}' failed to satisfy constraint: {constraint}")
}
