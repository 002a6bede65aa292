//! What quarry's clients of OpenAI-compatible HTTP endpoints (the embedder and the chat model)
//! share: one request retried with exponential backoff and jitter, where the server's
//! `Retry-After` replaces the planned wait, and the root cause of transport errors.
//!
//! ```
//! use std::time::Duration;
//! use quarry_http::{Attempt, RetryPolicy, with_retries};
//! # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
//! let policy = RetryPolicy { max_retries: 2, initial_backoff: Duration::ZERO, max_backoff: Duration::ZERO };
//! let outcome = with_retries(&policy, "example", || async { Err::<(), _>(Attempt::retry("busy", None)) }).await;
//! let (attempt, tries) = outcome.unwrap_err();
//! assert_eq!((attempt.error, tries), ("busy", 3));
//! # });
//! ```

use std::fmt::Display;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};

/// How often and how long to wait between tries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first try.
    pub max_retries: usize,
    /// Wait before the first retry; it doubles with each retry, with jitter.
    pub initial_backoff: Duration,
    /// Longest wait between tries, `Retry-After` included.
    pub max_backoff: Duration,
}

/// A failed try, and whether and when to try again.
#[derive(Debug)]
pub struct Attempt<E> {
    /// What went wrong.
    pub error: E,
    /// Whether another try may succeed (timeouts, connection errors, 429, 5xx).
    pub retryable: bool,
    /// The wait the server asked for.
    pub retry_after: Option<Duration>,
}

impl<E> Attempt<E> {
    /// A failure that another try would not change.
    pub fn fatal(error: E) -> Self {
        Self { error, retryable: false, retry_after: None }
    }

    /// A failure worth another try, after `retry_after` when the server named a wait.
    pub fn retry(error: E, retry_after: Option<Duration>) -> Self {
        Self { error, retryable: true, retry_after }
    }
}

/// Runs `request` until it succeeds, fails for good, or the retries are used up. On failure
/// returns the last attempt and the number of tries made. `what` names the request in the
/// warnings logged before each retry.
pub async fn with_retries<T, E, F, Fut>(policy: &RetryPolicy, what: &str, request: F) -> Result<T, (Attempt<E>, usize)>
where
    E: Display,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Attempt<E>>>,
{
    let backoff = ExponentialBuilder::default()
        .with_min_delay(policy.initial_backoff)
        .with_max_delay(policy.max_backoff)
        .with_max_times(policy.max_retries)
        .with_jitter();
    let max_backoff = policy.max_backoff;
    let tries = AtomicUsize::new(0);
    let mut request = request;
    (|| {
        tries.fetch_add(1, Ordering::Relaxed);
        request()
    })
    .retry(backoff)
    .sleep(tokio::time::sleep)
    .when(|attempt: &Attempt<E>| attempt.retryable)
    .adjust(|attempt: &Attempt<E>, planned: Option<Duration>| {
        // `planned` is None once retries are used up; Retry-After never extends them.
        planned.map(|planned| attempt.retry_after.map_or(planned, |asked| asked.min(max_backoff)))
    })
    .notify(|attempt: &Attempt<E>, wait: Duration| {
        tracing::warn!(error = %attempt.error, ?wait, "{what} failed, retrying");
    })
    .await
    .map_err(|attempt| (attempt, tries.load(Ordering::Relaxed)))
}

/// `Retry-After` in seconds (the HTTP-date form is rare for APIs and treated as absent).
pub fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    let value = response.headers().get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<f64>().ok().filter(|s| s.is_finite() && *s >= 0.0).map(Duration::from_secs_f64)
}

/// The innermost error message, which names the actual cause (e.g. "Connection refused").
pub fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut current = error;
    while let Some(source) = current.source() {
        current = source;
    }
    current.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NO_WAIT: RetryPolicy =
        RetryPolicy { max_retries: 3, initial_backoff: Duration::ZERO, max_backoff: Duration::ZERO };

    #[tokio::test]
    async fn retries_until_success_and_counts_tries() {
        let calls = AtomicUsize::new(0);
        let outcome = with_retries(&NO_WAIT, "test", || {
            let n = calls.fetch_add(1, Ordering::Relaxed);
            async move { if n < 2 { Err(Attempt::retry("busy", None)) } else { Ok(n) } }
        })
        .await;
        assert_eq!(outcome.ok(), Some(2));
        assert_eq!(calls.load(Ordering::Relaxed), 3);
    }

    #[tokio::test]
    async fn a_fatal_failure_is_not_retried_and_retries_run_out() {
        let (attempt, tries) =
            with_retries(&NO_WAIT, "test", || async { Err::<(), _>(Attempt::fatal("bad key")) }).await.unwrap_err();
        assert_eq!((attempt.error, attempt.retryable, tries), ("bad key", false, 1));
        let (attempt, tries) =
            with_retries(&NO_WAIT, "test", || async { Err::<(), _>(Attempt::retry("down", None)) }).await.unwrap_err();
        assert_eq!((attempt.error, tries), ("down", 4));
    }

    #[test]
    fn the_root_cause_is_the_innermost_error() {
        let inner = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "Connection refused");
        let outer = std::io::Error::other(inner);
        assert_eq!(root_cause(&outer), "Connection refused");
    }
}
