use std::fmt;

/// Errors of the retrieval crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The embedder failed or answered something unusable.
    #[error("embedder error: {message}")]
    Embedder {
        /// What went wrong.
        message: String,
    },
    /// The vector store failed.
    #[error("vector store error: {message}")]
    Store {
        /// What went wrong.
        message: String,
    },
    /// A service (embedding server, Qdrant server) could not be reached or did not answer in time.
    #[error("{what} is unavailable: {message}")]
    Unavailable {
        /// The service, e.g. `embedding server at http://127.0.0.1:8080/v1/embeddings`.
        what: String,
        /// What happened and what to do.
        message: String,
    },
    /// A setting or an argument is wrong.
    #[error("invalid configuration: {message}")]
    Config {
        /// What is wrong and how to fix it.
        message: String,
    },
    /// The snapshot's data could not be read while building documents.
    #[error("cannot read {what}: {message}")]
    Snapshot {
        /// The file or table being read.
        what: String,
        /// The underlying error.
        message: String,
    },
}

impl Error {
    /// An [`Error::Embedder`] from anything printable.
    pub fn embedder(message: impl fmt::Display) -> Self {
        Self::Embedder { message: message.to_string() }
    }

    /// An [`Error::Store`] from anything printable.
    pub fn store(message: impl fmt::Display) -> Self {
        Self::Store { message: message.to_string() }
    }

    /// An [`Error::Config`] from anything printable.
    pub fn config(message: impl fmt::Display) -> Self {
        Self::Config { message: message.to_string() }
    }
}

/// Result of the retrieval crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
