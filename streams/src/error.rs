//! The streams layer's errors, named after DynamoDB Streams' where they correspond.

/// What can go wrong reading or writing a change log.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    /// The position asked for is older than the log keeps (`TrimmedDataAccessException`).
    #[error("{0}")]
    TrimmedDataAccess(String),
    /// The shard or log does not exist (`ResourceNotFoundException`).
    #[error("{0}")]
    ResourceNotFound(String),
    /// A shard iterator older than 15 minutes (`ExpiredIteratorException`).
    #[error("{0}")]
    ExpiredIterator(String),
    /// A malformed argument (`ValidationException`).
    #[error("{0}")]
    Validation(String),
    /// Stored metadata could not be read back.
    #[error("the change log's metadata is damaged: {0}")]
    Corrupt(String),
    /// The storage engine failed.
    #[error(transparent)]
    Engine(#[from] strata_engine::Error),
}

impl StreamError {
    /// DynamoDB Streams' error name.
    pub fn code(&self) -> &'static str {
        match self {
            StreamError::TrimmedDataAccess(_) => "TrimmedDataAccessException",
            StreamError::ResourceNotFound(_) => "ResourceNotFoundException",
            StreamError::ExpiredIterator(_) => "ExpiredIteratorException",
            StreamError::Validation(_) => "ValidationException",
            StreamError::Corrupt(_) | StreamError::Engine(_) => "InternalServerError",
        }
    }
}

/// The streams layer's result type.
pub type Result<T, E = StreamError> = std::result::Result<T, E>;
