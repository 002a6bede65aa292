use std::path::PathBuf;

use crate::Format;

/// Result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Errors importing or exporting a semantic layer.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file or directory could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The format of a file could not be told from its name and content.
    #[error("cannot tell the format of {path}: {reason}; pass --format dbt|cube|cortex|osi|wren")]
    UnknownFormat {
        /// The file or directory.
        path: PathBuf,
        /// What was looked at.
        reason: String,
    },
    /// A format name that is not one of the supported ones.
    #[error("unknown format '{0}': use one of dbt, cube, cortex, osi, wren")]
    UnknownFormatName(String),
    /// A file does not have the structure its format's specification gives it.
    #[error("{file} is not a valid {format} file: {message}")]
    Parse {
        /// The format it was read as.
        format: Format,
        /// The file.
        file: String,
        /// The parser's message, with line and column when it has them.
        message: String,
    },
    /// Nothing in the input could become a quarry layer (e.g. a Cube project of JavaScript models only).
    #[error("nothing to import from {path}: {reason}")]
    Empty {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}
