//! Posting replies to a slash command's `response_url`
//! (<https://api.slack.com/interactivity/handling#message_responses>): a JSON POST, retried on
//! 429, 5xx and transport failures with quarry-http's backoff, which honours `Retry-After`.
//! Redirects are not followed, so a checked `response_url` cannot send quarry elsewhere.

use std::time::Duration;

use quarry_http::{Attempt, RetryPolicy, retry_after, root_cause, with_retries};
use serde_json::Value;

/// Characters of a failed response's body kept in the error (Slack sends e.g. `expired_url`).
const MAX_ERROR_BODY: usize = 300;

/// Why a reply could not be posted.
#[derive(Debug, thiserror::Error)]
pub enum PostError {
    /// The HTTP client could not be built (TLS backend unavailable).
    #[error("could not build the HTTP client for Slack replies: {cause}")]
    Client {
        /// The root cause.
        cause: String,
    },
    /// Slack answered with an error status; 4xx ones are not retried (`404 expired_url` means
    /// the URL is older than 30 minutes or was used five times).
    #[error("posting to the response_url failed with HTTP {status} after {tries} tries: {body}")]
    Status {
        /// The HTTP status.
        status: u16,
        /// The start of the response body.
        body: String,
        /// Tries made.
        tries: usize,
    },
    /// Slack's Web API refused the call (`{"ok": false, "error": …}`: `invalid_auth`,
    /// `channel_not_found`, …); not retried.
    #[error("Slack refused the message: {error}; check [server.slack] bot_token and the app's chat:write scope")]
    Api {
        /// Slack's error code.
        error: String,
    },
    /// No response: connection refused, DNS, TLS or timeout.
    #[error("could not reach the response_url after {tries} tries: {cause}; check outbound HTTPS to hooks.slack.com")]
    Transport {
        /// The root cause.
        cause: String,
        /// Whether it was a timeout.
        timeout: bool,
        /// Tries made.
        tries: usize,
    },
}

impl PostError {
    /// A stable snake_case code for logs and API errors.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Client { .. } => "slack_client_unavailable",
            Self::Status { status: 404, .. } => "slack_response_url_expired",
            Self::Status { status: 429, .. } => "slack_rate_limited",
            Self::Status { .. } => "slack_response_rejected",
            Self::Api { .. } => "slack_api_error",
            Self::Transport { timeout: true, .. } => "slack_response_timeout",
            Self::Transport { .. } => "slack_unreachable",
        }
    }
}

/// What one try produced, before retries turn it into a [`PostError`].
#[derive(Debug)]
enum Failure {
    Status { status: u16, body: String },
    Transport { cause: String, timeout: bool },
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Status { status, body } => write!(f, "HTTP {status}: {body}"),
            Self::Transport { cause, .. } => f.write_str(cause),
        }
    }
}

/// Posts messages to `response_url`s.
#[derive(Debug, Clone)]
pub struct ResponseUrlClient {
    http: reqwest::Client,
    retry: RetryPolicy,
}

impl ResponseUrlClient {
    /// A client whose every try gives up after `timeout`, retried as `retry` says.
    pub fn new(timeout: Duration, retry: RetryPolicy) -> Result<Self, PostError> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|error| PostError::Client { cause: root_cause(&error) })?;
        Ok(Self { http, retry })
    }

    /// Posts `payload` (e.g. [`crate::answer_message`]) as JSON to `response_url`, which should
    /// have been checked by [`crate::CommandPolicy`] when the command was parsed.
    pub async fn post(&self, response_url: &str, payload: &Value) -> Result<(), PostError> {
        let outcome = with_retries(&self.retry, "posting to Slack's response_url", || async {
            let response = self.http.post(response_url).json(payload).send().await.map_err(|error| {
                let failure = Failure::Transport { cause: root_cause(&error), timeout: error.is_timeout() };
                if error.is_builder() { Attempt::fatal(failure) } else { Attempt::retry(failure, None) }
            })?;
            let status = response.status();
            if status.is_success() {
                return Ok(());
            }
            let wait = retry_after(&response);
            let body = response.text().await.unwrap_or_default();
            let failure =
                Failure::Status { status: status.as_u16(), body: body.trim().chars().take(MAX_ERROR_BODY).collect() };
            if status.as_u16() == 429 || status.is_server_error() {
                Err(Attempt::retry(failure, wait))
            } else {
                Err(Attempt::fatal(failure))
            }
        })
        .await;
        outcome.map_err(|(attempt, tries)| match attempt.error {
            Failure::Status { status, body } => PostError::Status { status, body, tries },
            Failure::Transport { cause, timeout } => PostError::Transport { cause, timeout, tries },
        })
    }
}
