//! The store's error type.

use std::path::PathBuf;

/// What went wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `store.url` is not a URL the store can use.
    #[error(
        "store URL {url} is not usable: {reason}; use `sqlite://PATH`, `postgres://USER:PASSWORD@HOST/DB` or leave it empty for quarry.db in the data directory"
    )]
    InvalidUrl {
        /// The URL, password masked.
        url: String,
        /// Why it was refused.
        reason: String,
    },
    /// The SQLite file's directory could not be created.
    #[error("cannot create the store directory {}: {source}; make it writable or point store.url somewhere else", path.display())]
    Io {
        /// The directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The database could not be reached or opened.
    #[error("cannot open the store at {url}: {source}; {hint}")]
    Unavailable {
        /// The URL, password masked.
        url: String,
        /// What to check.
        hint: &'static str,
        /// The cause.
        #[source]
        source: sqlx::Error,
    },
    /// The database was migrated by a newer quarry than this one.
    #[error(
        "the store at {url} has schema migration {version} applied, which this quarry does not know: it was written by a newer quarry; upgrade quarry or point store.url at another database"
    )]
    NewerDatabase {
        /// The URL, password masked.
        url: String,
        /// The unknown migration version.
        version: i64,
    },
    /// Migrating the schema failed.
    #[error(
        "cannot migrate the store schema at {url}: {source}; restore the database from a backup or point store.url at a fresh database"
    )]
    Migration {
        /// The URL, password masked.
        url: String,
        /// The cause.
        #[source]
        source: sqlx::migrate::MigrateError,
    },
    /// The record the operation needs does not exist.
    #[error("no {what} with id {id:?}; check the id")]
    NotFound {
        /// The kind of record (`conversation`, `answer`, …).
        what: &'static str,
        /// The id that was looked up.
        id: String,
    },
    /// A record with this id already exists.
    #[error("a {what} with id {id:?} already exists; ids must be unique")]
    Conflict {
        /// The kind of record.
        what: &'static str,
        /// The duplicate id.
        id: String,
    },
    /// An id prefix matches more than one record.
    #[error("id prefix {prefix:?} matches several records ({}); give more characters", candidates.join(", "))]
    Ambiguous {
        /// The prefix.
        prefix: String,
        /// Up to five of the matching ids.
        candidates: Vec<String>,
    },
    /// A stored value cannot be read back (edited by hand, or a bug).
    #[error("stored {what} {id:?} is unreadable: {reason}; the database was changed outside quarry or by a bug")]
    Corrupt {
        /// The kind of record.
        what: &'static str,
        /// Its id.
        id: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A query failed.
    #[error("store operation {operation} failed: {source}; check that the database is reachable and not full")]
    Database {
        /// What the store was doing (`append_turn`, …).
        operation: &'static str,
        /// The cause.
        #[source]
        source: sqlx::Error,
    },
}

impl Error {
    /// A stable snake_case code for this kind of error (for API bodies and logs).
    pub fn kind(&self) -> &'static str {
        match self {
            Error::InvalidUrl { .. } => "invalid_url",
            Error::Io { .. } => "io",
            Error::Unavailable { .. } => "unavailable",
            Error::NewerDatabase { .. } => "newer_database",
            Error::Migration { .. } => "migration",
            Error::NotFound { .. } => "not_found",
            Error::Conflict { .. } => "conflict",
            Error::Ambiguous { .. } => "ambiguous",
            Error::Corrupt { .. } => "corrupt",
            Error::Database { .. } => "database",
        }
    }
}

/// The store's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Wraps a query error with what the store was doing.
pub(crate) fn db(operation: &'static str) -> impl FnOnce(sqlx::Error) -> Error {
    move |source| Error::Database { operation, source }
}

/// Whether a query failed on a unique or primary key constraint.
pub(crate) fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(e) if e.is_unique_violation())
}

/// Whether a query failed on a foreign key constraint.
pub(crate) fn is_foreign_key_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(e) if e.is_foreign_key_violation())
}
