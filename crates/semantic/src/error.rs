use std::fmt;
use std::path::PathBuf;

/// Result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// One problem found in a semantic layer: where it is, what is wrong, how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The entry, e.g. `metrics[revenue].filter` or `joins[2]`.
    pub entry: String,
    /// What is wrong.
    pub message: String,
    /// What to do about it.
    pub fix: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} (fix: {})", self.entry, self.message, self.fix)
    }
}

/// Errors loading or validating a semantic layer.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file could not be read.
    #[error("cannot read semantic layer {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The YAML does not match the semantic layer's structure.
    #[error("semantic layer {file} is malformed: {message} (see schemas/semantic-layer.schema.json)")]
    Parse {
        /// The file (or `<inline>`).
        file: String,
        /// The parser's message, with line and column.
        message: String,
    },
    /// The layer parsed but is inconsistent, or does not match its snapshot.
    #[error("semantic layer {file} has {} problem(s):\n{}", problems.len(), problems.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
    Invalid {
        /// The file (or `<inline>`).
        file: String,
        /// Every problem found.
        problems: Vec<Problem>,
    },
    /// Reading a snapshot's schema failed.
    #[error("cannot read the schema of table {table}: {message}")]
    Snapshot {
        /// The table.
        table: String,
        /// What failed.
        message: String,
    },
}
