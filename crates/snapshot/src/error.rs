use std::path::PathBuf;

/// Result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong reading, writing or importing a snapshot.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read or written.
    #[error("{action} {path}: {source}")]
    Io {
        /// What quarry was doing, e.g. "reading".
        action: &'static str,
        /// The file involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The directory is not a snapshot or its manifest is unreadable.
    #[error("{path} is not a valid snapshot: {reason}")]
    InvalidSnapshot {
        /// The snapshot directory.
        path: PathBuf,
        /// Why it was refused.
        reason: String,
    },
    /// No snapshot with this id (or id prefix) is installed.
    #[error("no snapshot matches '{id}'; run `quarry snapshot list` to see the installed ones")]
    NotFound {
        /// The id or prefix asked for.
        id: String,
    },
    /// An id prefix matches more than one snapshot.
    #[error("'{id}' matches several snapshots ({matches}); give more characters of the id")]
    Ambiguous {
        /// The prefix asked for.
        id: String,
        /// The matching ids, comma separated.
        matches: String,
    },
    /// A file's content no longer matches the hash recorded in the manifest.
    #[error("snapshot {id} was modified: {file} does not match its recorded hash; recreate the snapshot")]
    Tampered {
        /// The snapshot id.
        id: String,
        /// The file whose hash differs.
        file: String,
    },
    /// The data to import is unusable (unknown format, empty, bad table name...).
    #[error("cannot import {path}: {reason}")]
    Import {
        /// The source path.
        path: PathBuf,
        /// What was wrong and what to do.
        reason: String,
    },
    /// A PostgreSQL database could not be imported: unreachable, refused the credentials,
    /// lacks the schema or a table asked for, or failed while being read.
    #[error("cannot import from {url}: {reason}")]
    Postgres {
        /// The connection URL, without its password.
        url: String,
        /// What was wrong and what to do.
        reason: String,
    },
    /// Arrow or Parquet failed on otherwise valid input.
    #[error("arrow/parquet error on {context}: {message}")]
    Format {
        /// What quarry was doing.
        context: String,
        /// The library's message.
        message: String,
    },
    /// SQLite failed while reading a database.
    #[error("sqlite error reading {path}: {source}")]
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// The underlying error.
        source: rusqlite::Error,
    },
}

impl Error {
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { action, path, source }
    }

    pub(crate) fn format(context: impl Into<String>) -> impl FnOnce(String) -> Error {
        let context = context.into();
        move |message| Error::Format { context, message }
    }
}
