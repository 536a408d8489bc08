//! The store's error type.

/// What can go wrong in a store call. Callers map these to API statuses: `NotFound` -> 404,
/// `Conflict` -> 409, `Invalid` -> 400, the rest -> 500.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The row does not exist, or belongs to another organisation (the two are deliberately
    /// indistinguishable), or a referenced row is missing.
    #[error("not found")]
    NotFound,
    /// The change conflicts with existing state: a duplicate email or slug, an existing
    /// membership, or removing/demoting an organisation's last admin.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The input is malformed (bad email, short password, bad id, ...).
    #[error("invalid input: {0}")]
    Invalid(String),
    /// The database failed or is unreachable.
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
    /// The database schema could not be brought up to date.
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Something outside the database failed (password hashing, a worker thread).
    #[error("internal error: {0}")]
    Internal(String),
}

/// `Result` with [`StoreError`].
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

impl From<sqlx::Error> for StoreError {
    /// Constraint violations become domain errors so callers never parse driver messages; call
    /// sites that know which constraint can fire replace the generic message (`conflict_as`).
    fn from(e: sqlx::Error) -> StoreError {
        match &e {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                StoreError::Conflict("already exists".into())
            }
            sqlx::Error::Database(db) if db.is_foreign_key_violation() => StoreError::NotFound,
            sqlx::Error::Database(db) if db.is_check_violation() => {
                StoreError::Invalid(db.message().to_string())
            }
            _ => StoreError::Database(e),
        }
    }
}

impl StoreError {
    /// Replaces the generic message of a `Conflict` with one that names what clashed.
    pub(crate) fn conflict_as(self, what: &str) -> StoreError {
        match self {
            StoreError::Conflict(_) => StoreError::Conflict(what.to_string()),
            other => other,
        }
    }
}
