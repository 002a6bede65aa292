use std::time::Duration;

/// Result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a worker could not run a query, beyond the query's own errors (which come back as
/// [`quarry_exec::Error`]s).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The worker died while running the query: an allocation over its address-space limit
    /// (an abort), the kernel's out-of-memory killer, its CPU-time limit, or a crash.
    #[error("the worker process running the query died ({cause}){detail}", detail = last_words(.last_stderr))]
    WorkerDied {
        /// How it died, e.g. `killed by SIGABRT`.
        cause: String,
        /// The signal that ended it, if one did.
        signal: Option<i32>,
        /// The last line it wrote to stderr (e.g. `memory allocation of 3000000000 bytes failed`).
        last_stderr: Option<String>,
        /// Its address-space limit, in MiB.
        address_space_mb: u64,
        /// The engine's memory limit, in MiB.
        memory_limit_mb: u64,
    },
    /// The query ran past its time limit (or its worker past the CPU time that limit allows);
    /// its worker was killed.
    #[error("the query ran past its {timeout_ms} ms time limit; its worker process was killed")]
    TimedOut {
        /// The time limit.
        timeout_ms: u64,
    },
    /// A worker could not be started or did not report ready.
    #[error("cannot start a query worker ({program}): {message}")]
    Start {
        /// The program started.
        program: String,
        /// What went wrong.
        message: String,
    },
    /// A worker did not report ready within the start timeout.
    #[error("a query worker did not report ready within {0:?}")]
    StartTimeout(Duration),
    /// The worker and quarry disagree on the protocol (a bug, or a worker of another version).
    #[error("query worker protocol error: {0}")]
    Protocol(String),
    /// Reading from or writing to a worker's pipes failed.
    #[error("query worker i/o: {0}")]
    Io(#[from] std::io::Error),
}

fn last_words(line: &Option<String>) -> String {
    line.as_ref().map(|line| format!(": {line}")).unwrap_or_default()
}

impl From<Error> for quarry_exec::Error {
    fn from(error: Error) -> Self {
        match error {
            Error::WorkerDied { signal: Some(_), memory_limit_mb, address_space_mb, .. } => {
                let message = format!("{error}; a worker may use at most {address_space_mb} MiB in all");
                quarry_exec::Error::MemoryLimit { limit_mb: memory_limit_mb, message }
            }
            Error::TimedOut { timeout_ms } => quarry_exec::Error::Timeout { timeout_ms },
            Error::WorkerDied { signal: None, .. }
            | Error::Start { .. }
            | Error::StartTimeout(_)
            | Error::Protocol(_)
            | Error::Io(_) => quarry_exec::Error::Internal(error.to_string()),
        }
    }
}
