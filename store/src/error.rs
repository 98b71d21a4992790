//! The one error type of the store.

/// Everything a store operation can fail with.
///
/// Messages name the entity (tenant, key id, account) but never carry a secret, a key or SQL, so
/// the HTTP layer may log them; it decides how much to show to clients.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The named tenant, key or account does not exist; callers usually answer 404.
    #[error("not found: {0}")]
    NotFound(String),
    /// The thing already exists (duplicate tenant name) or is in the wrong state for the request.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The input breaks a documented rule (tenant name format, label length, ...).
    #[error("invalid input: {0}")]
    Invalid(String),
    /// The API key is unknown or revoked; deliberately one variant so callers cannot leak which.
    #[error("unauthorized")]
    Unauthorized,
    /// Secrets key or ciphertext problem: wrong key, tampered or moved row, unreadable key file.
    #[error("secrets: {0}")]
    Crypto(String),
    /// The database failed (connection, constraint, migration); values are bound, never in SQL text.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        StoreError::Database(sqlx::Error::Migrate(Box::new(e)))
    }
}

/// `Result` with [`StoreError`] as the default error, used by every store operation.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// True if `e` is a unique-constraint violation, which the store reports as [`StoreError::Conflict`].
pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}
