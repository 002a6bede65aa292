//! The store's error type.

use std::path::PathBuf;
use std::sync::Arc;

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
    /// The disk holding the database is full (SQLite `SQLITE_FULL`, Postgres `disk_full`, or
    /// `ENOSPC` from the file system): nothing of the operation was stored.
    #[error(
        "the disk holding the database is full, so store operation {operation} stored nothing ({source}); free space on that disk (or move store.url to a larger one)"
    )]
    Full {
        /// What the store was doing (`write_audit`, …).
        operation: &'static str,
        /// The cause.
        #[source]
        source: sqlx::Error,
    },
    /// The write was queued to be committed with others, but the writer stopped before its
    /// transaction ended (the process is shutting down).
    #[error(
        "store operation {operation} was interrupted before its commit was confirmed (the process is shutting down); it may or may not be stored: check before sending it again"
    )]
    Interrupted {
        /// What the store was doing.
        operation: &'static str,
    },
    /// The transaction this write shared with others (group commit) failed, so nothing of
    /// it was stored; every write of the group gets the same cause.
    #[error(transparent)]
    Group(Arc<Error>),
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
            Error::Full { .. } => "full",
            Error::Database { .. } => "database",
            Error::Interrupted { .. } => "interrupted",
            Error::Group(cause) => cause.kind(),
        }
    }
}

/// The store's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Wraps a query error with what the store was doing; a full disk is [`Error::Full`].
pub(crate) fn db(operation: &'static str) -> impl FnOnce(sqlx::Error) -> Error {
    move |source| match is_disk_full(&source) {
        true => Error::Full { operation, source },
        false => Error::Database { operation, source },
    }
}

/// SQLite's primary result code for a full disk (`SQLITE_FULL`).
const SQLITE_FULL: i64 = 13;
/// Postgres's SQLSTATE for a full disk (`disk_full`).
const POSTGRES_DISK_FULL: &str = "53100";
/// `ENOSPC` on Linux and the BSDs.
const ENOSPC: i32 = 28;

/// Whether a query failed because the disk holding the database is full.
pub(crate) fn is_disk_full(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Database(e) => match e.code() {
            Some(code) if code == POSTGRES_DISK_FULL => true,
            // SQLite's codes are numbers below 10000 (an extended code's low byte is its
            // primary code); Postgres's SQLSTATEs are five characters.
            Some(code) if code.len() < 5 => code.parse::<i64>().is_ok_and(|code| code & 0xff == SQLITE_FULL),
            Some(_) => false,
            None => false,
        },
        sqlx::Error::Io(e) => e.raw_os_error() == Some(ENOSPC) || e.kind() == std::io::ErrorKind::StorageFull,
        _ => false,
    }
}

/// Whether a query failed on a unique or primary key constraint.
pub(crate) fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(e) if e.is_unique_violation())
}

/// Whether a query failed on a foreign key constraint.
pub(crate) fn is_foreign_key_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(e) if e.is_foreign_key_violation())
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use sqlx::AssertSqlSafe;

    use super::*;
    use crate::{AuditRecord, Store, StoreConfig};

    fn record(n: usize) -> AuditRecord {
        AuditRecord {
            id: format!("req-{n}"),
            client_request_id: None,
            created_at: Utc::now(),
            user_id: "ana".into(),
            channel: "api".into(),
            question: "revenue last month".into(),
            conversation_id: None,
            answer_id: None,
            outcome: "answered".into(),
            record: serde_json::json!({ "padding": "x".repeat(8192) }),
        }
    }

    #[tokio::test]
    async fn a_full_database_is_reported_as_full_and_keeps_what_was_written() {
        let dir = tempfile::tempdir().unwrap();
        // One connection, so that the page cap below applies to every write.
        let config = StoreConfig { max_connections: 1, ..StoreConfig::default() };
        let store = Store::open(&config, dir.path()).await.unwrap();
        store.write_audit(&record(0)).await.unwrap();
        // SQLite's own cap on the file's size fails writes with SQLITE_FULL, as a full disk does.
        let pages: i64 = sqlx::query_scalar("PRAGMA page_count").fetch_one(&store.pool).await.unwrap();
        let cap = format!("PRAGMA max_page_count = {}", pages + 8);
        sqlx::raw_sql(AssertSqlSafe(cap)).execute(&store.pool).await.unwrap();
        let mut written = 1;
        let error = loop {
            match store.write_audit(&record(written)).await {
                Ok(()) => written += 1,
                Err(error) => break error,
            }
            assert!(written < 100, "the capped database never filled up");
        };
        assert_eq!(error.kind(), "full", "{error}");
        let message = error.to_string();
        assert!(message.contains("disk holding the database is full") && message.contains("free space"), "{message}");
        for n in 0..written {
            assert!(store.audit(&format!("req-{n}")).await.unwrap().is_some(), "record {n} survives");
        }
    }

    #[test]
    fn enospc_is_a_full_disk_and_other_io_errors_are_not() {
        let full = sqlx::Error::Io(std::io::Error::from_raw_os_error(ENOSPC));
        assert!(is_disk_full(&full));
        let refused = sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        assert!(!is_disk_full(&refused));
        assert!(!is_disk_full(&sqlx::Error::RowNotFound));
        assert_eq!(db("x")(full).kind(), "full");
        assert_eq!(db("x")(refused).kind(), "database");
    }
}
