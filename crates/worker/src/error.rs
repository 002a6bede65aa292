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

impl Error {
    /// True when a dead worker ran out of memory: an allocation over its address-space limit
    /// (Rust reports it and aborts), or the kernel's out-of-memory killer (SIGKILL: quarry's own
    /// kills at the time limit are [`Error::TimedOut`], never this). A worker that died of
    /// anything else (a segmentation fault, a stack overflow, an illegal instruction) crashed.
    pub fn is_out_of_memory(&self) -> bool {
        let Error::WorkerDied { signal, last_stderr, .. } = self else { return false };
        let said_so = last_stderr
            .as_deref()
            .is_some_and(|line| OUT_OF_MEMORY_WORDS.iter().any(|words| line.to_ascii_lowercase().contains(words)));
        said_so || *signal == Some(nix::sys::signal::Signal::SIGKILL as i32)
    }
}

/// What a process that could not allocate prints before it aborts: Rust's allocation-error
/// handler, mimalloc, and the C library's `strerror(ENOMEM)`.
const OUT_OF_MEMORY_WORDS: [&str; 4] =
    ["memory allocation of", "out of memory", "unable to allocate", "cannot allocate memory"];

impl From<Error> for quarry_exec::Error {
    fn from(error: Error) -> Self {
        match error {
            Error::WorkerDied { memory_limit_mb, address_space_mb, .. } if error.is_out_of_memory() => {
                let message = format!("{error}; a worker may use at most {address_space_mb} MiB in all");
                quarry_exec::Error::MemoryLimit { limit_mb: memory_limit_mb, message }
            }
            Error::WorkerDied { signal: Some(_), .. } => quarry_exec::Error::Crashed { message: error.to_string() },
            Error::TimedOut { timeout_ms } => quarry_exec::Error::Timeout { timeout_ms },
            Error::WorkerDied { signal: None, .. }
            | Error::Start { .. }
            | Error::StartTimeout(_)
            | Error::Protocol(_)
            | Error::Io(_) => quarry_exec::Error::Internal(error.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use nix::sys::signal::Signal;

    use super::*;

    fn died(signal: Signal, last_stderr: Option<&str>) -> Error {
        Error::WorkerDied {
            cause: format!("killed by {}", signal.as_str()),
            signal: Some(signal as i32),
            last_stderr: last_stderr.map(str::to_string),
            address_space_mb: 2048,
            memory_limit_mb: 1024,
        }
    }

    #[test]
    fn a_worker_that_ran_out_of_memory_is_a_resource_limit() {
        for error in [
            died(Signal::SIGABRT, Some("memory allocation of 3000000000 bytes failed")),
            died(Signal::SIGABRT, Some("mimalloc: error: unable to allocate OS memory (1073741824 bytes)")),
            died(Signal::SIGKILL, None),
        ] {
            let crossed = quarry_exec::Error::from(error);
            assert_eq!(crossed.kind(), "resource_limit", "{crossed}");
            assert!(crossed.to_string().contains("at most 2048 MiB"), "{crossed}");
        }
    }

    #[test]
    fn a_worker_that_crashed_otherwise_is_not_a_resource_limit() {
        for (error, words) in [
            (died(Signal::SIGSEGV, None), "SIGSEGV"),
            (died(Signal::SIGABRT, Some("thread 'quarry-query' has overflowed its stack")), "overflowed its stack"),
            (died(Signal::SIGILL, Some("fatal runtime error: failed to initiate panic")), "SIGILL"),
        ] {
            let crossed = quarry_exec::Error::from(error);
            assert_eq!(crossed.kind(), "worker_crashed", "{crossed}");
            let message = crossed.to_string();
            assert!(message.contains(words) && message.contains("not a memory or time limit"), "{message}");
        }
    }
}
