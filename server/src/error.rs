//! Errors in DynamoDB's JSON form: `{"__type": "com.amazonaws.dynamodb.v20120810#<Name>",
//! "message": "..."}` with HTTP 400 for client errors and 500 for server errors.

use serde_json::{json, Map, Value};
use strata_table::TableError;

/// An error response.
#[derive(Debug)]
pub struct WireError {
    /// The full `__type`.
    pub kind: String,
    /// The message.
    pub message: String,
    /// HTTP status.
    pub status: u16,
    /// Extra fields (CancellationReasons, Item).
    pub extra: Map<String, Value>,
}

const DYNAMODB_PREFIX: &str = "com.amazonaws.dynamodb.v20120810#";
const CORAL_PREFIX: &str = "com.amazon.coral.service#";

impl WireError {
    fn new(kind: String, message: impl Into<String>, status: u16) -> WireError {
        WireError {
            kind,
            message: message.into(),
            status,
            extra: Map::new(),
        }
    }

    /// A body that is not the JSON the operation takes.
    pub fn serialization(e: &serde_json::Error) -> WireError {
        let message = match e.classify() {
            serde_json::error::Category::Data => e.to_string(),
            _ => "Start of structure or map found where not expected.".to_owned(),
        };
        // serde_json appends " at line L column C" to a custom error's text.
        let text = message.split(" at line ").next().unwrap_or(&message);
        if strata_table::value::is_value_error(text) {
            // Value validation raised during deserialization is a ValidationException.
            return WireError::new(format!("{DYNAMODB_PREFIX}ValidationException"), text, 400);
        }
        WireError::new(
            format!("{CORAL_PREFIX}SerializationException"),
            message,
            400,
        )
    }

    /// An `X-Amz-Target` that names no operation.
    pub fn unknown_operation() -> WireError {
        WireError::new(format!("{CORAL_PREFIX}UnknownOperationException"), "", 400)
    }

    /// A server-side failure.
    pub fn internal(message: impl Into<String>) -> WireError {
        WireError::new(
            format!("{DYNAMODB_PREFIX}InternalServerError"),
            message,
            500,
        )
    }

    /// A table that does not exist, as the backup operations report it.
    pub fn table_not_found(name: &str) -> WireError {
        WireError::new(
            format!("{DYNAMODB_PREFIX}TableNotFoundException"),
            format!("Table not found: {name}"),
            400,
        )
    }

    /// A request that is too large or malformed at the HTTP level.
    pub fn validation(message: impl Into<String>) -> WireError {
        WireError::new(
            format!("{DYNAMODB_PREFIX}ValidationException"),
            message,
            400,
        )
    }

    /// The JSON body.
    pub fn body(&self) -> Value {
        let mut body = self.extra.clone();
        body.insert("__type".into(), json!(self.kind));
        if !self.message.is_empty() {
            body.insert("message".into(), json!(self.message));
        }
        Value::Object(body)
    }
}

impl From<TableError> for WireError {
    fn from(e: TableError) -> WireError {
        let code = e.code();
        let status = if code == "InternalServerError" {
            500
        } else {
            400
        };
        let mut w = WireError::new(format!("{DYNAMODB_PREFIX}{code}"), e.to_string(), status);
        match e {
            TableError::ConditionalCheckFailed { item: Some(item) } => {
                w.extra.insert("Item".into(), json!(item));
            }
            TableError::TransactionCanceled { reasons } => {
                w.extra.insert("CancellationReasons".into(), json!(reasons));
            }
            _ => {}
        }
        w
    }
}
