use std::path::PathBuf;

/// Result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong loading question sets, writing reports or importing a benchmark.
///
/// Problems with single cases (a malformed line, a gold query that fails) are not errors of
/// the run: they are reported per line ([`crate::LineError`]) or per case
/// ([`crate::CaseResult::harness_error`]) and the run goes on.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read or written.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done, e.g. "reading".
        action: &'static str,
        /// The file involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// An option has a value that cannot be used.
    #[error("invalid {option}: {reason}")]
    InvalidOption {
        /// The option, e.g. `tolerance`.
        option: &'static str,
        /// What was wrong and what to give instead.
        reason: String,
    },
    /// A report file given to compare against is not a report written by this crate.
    #[error("{path} is not an eval report: {reason}")]
    InvalidReport {
        /// The file (or `<inline>`).
        path: String,
        /// What was wrong.
        reason: String,
    },
    /// A Spider-format directory is missing files or holds malformed ones.
    #[error("cannot import the Spider benchmark from {path}: {reason}")]
    Spider {
        /// The file or directory at fault.
        path: PathBuf,
        /// What was wrong and what to do.
        reason: String,
    },
    /// Importing a database into a snapshot failed.
    #[error("importing database {database} into a snapshot failed: {source}")]
    Snapshot {
        /// The database (Spider `db_id`).
        database: String,
        /// The snapshot crate's error.
        source: quarry_snapshot::Error,
    },
    /// Writing the starter semantic layer of an imported database failed.
    #[error("writing the starter semantic layer of {database} failed: {source}")]
    Semantic {
        /// The database (Spider `db_id`).
        database: String,
        /// The semantic crate's error.
        source: quarry_semantic::Error,
    },
    /// SQLite failed to open a database.
    #[error("sqlite error on {path}: {source}")]
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// The underlying error.
        source: rusqlite::Error,
    },
    /// The JUnit XML writer failed (an internal error: the report holds only strings).
    #[error("cannot write the JUnit report: {0}")]
    Junit(String),
}

impl Error {
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { action, path, source }
    }
}
