//! Load tests and throughput benchmarks of `quarry serve` on loopback.
//!
//! - [`conversations`]: simulated users hold conversations with the JSON API at once (a
//!   first question from a pool, follow-ups, feedback) for a bounded time, while the
//!   server's memory is sampled every second; the run passes with zero errors and flat
//!   memory ([`stats::FlatRule`] says what flat means).
//! - [`throughput`]: `wrk` asks the same question, or a different one every time
//!   ([`questions::fresh_questions`]), and reports answers per second, latency percentiles
//!   and the server's peak memory.
//! - [`server`]: starts `quarry serve` on a free port with a fresh data directory for either.
//!
//! The `quarry-load` binary runs both; the CLI's `tests/load.rs` runs a short conversation
//! run in CI:
//!
//! ```no_run
//! # async fn example() -> quarry_load::Result<()> {
//! use std::time::Duration;
//! use quarry_load::{conversations, questions, server};
//!
//! let server = server::SpawnedServer::start(&server::SpawnOptions::new("target/debug/quarry")).await?;
//! let pool = questions::first_questions(&questions::questions_path(None))?;
//! let mut options = conversations::ConversationOptions::new(server.url(), 50, Duration::from_secs(20), pool);
//! options.pid = Some(server.pid());
//! let report = conversations::run(options).await?;
//! assert!(report.pass, "{}", report.render());
//! # Ok(())
//! # }
//! ```

pub mod conversations;
pub mod questions;
pub mod server;
pub mod stats;
pub mod throughput;

use std::path::PathBuf;

/// What can go wrong in a load run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The question file cannot be read.
    #[error("cannot read the questions file {path}: {source}; give one with --questions")]
    ReadQuestions {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A line of the question file is not a `{"question": …}` object.
    #[error("{path}:{line}: not a {{\"question\": …}} object: {message}")]
    BadQuestionLine {
        /// The file.
        path: PathBuf,
        /// The line, from 1.
        line: usize,
        /// What the JSON parser said.
        message: String,
    },
    /// The question file has no question that starts a conversation.
    #[error("{0} has no first questions (lines without a \"turn\" above 1)")]
    NoQuestions(PathBuf),
    /// An option that cannot work.
    #[error("{0}")]
    InvalidOption(String),
    /// The server binary cannot be started.
    #[error("cannot start {binary}: {source}; give the quarry binary (e.g. target/release/quarry) to --spawn")]
    Spawn {
        /// The binary.
        binary: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The spawned server did not get ready.
    #[error("the server did not get ready within {timeout_secs} s: {what}; the end of its log:\n{log_tail}")]
    NotReady {
        /// The time allowed.
        timeout_secs: u64,
        /// What was missing.
        what: String,
        /// The last lines the server printed.
        log_tail: String,
    },
    /// The HTTP client cannot be built.
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
    /// wrk cannot be run.
    #[error("cannot run {wrk}: {source}; install it with `apt-get install wrk`")]
    Wrk {
        /// The wrk binary.
        wrk: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// wrk failed.
    #[error("wrk failed ({status}):\n{output}")]
    WrkFailed {
        /// Its exit status.
        status: String,
        /// What it printed.
        output: String,
    },
    /// wrk's output has no result from the script.
    #[error("wrk's output cannot be read: {0}")]
    WrkOutput(String),
    /// A file or process operation failed.
    #[error("cannot {what}: {source}")]
    Io {
        /// What was tried.
        what: String,
        /// Why it failed.
        source: std::io::Error,
    },
    /// A bug in the tool.
    #[error("internal error: {0}")]
    Internal(String),
}

/// The result of load operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;
