use std::fmt;

/// Errors of the model provider.
///
/// [`Error::Config`] is a bad setting, [`Error::Unavailable`], [`Error::Timeout`] and
/// [`Error::Http`] are the endpoint failing, [`Error::MalformedOutput`] and [`Error::Refused`] are the model's answer.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A setting is wrong; nothing was sent.
    #[error("invalid model configuration: {message}")]
    Config {
        /// What is wrong and how to fix it.
        message: String,
    },
    /// The endpoint could not be reached or did not answer in time, after all retries.
    #[error("{what} is unavailable: {message}")]
    Unavailable {
        /// The endpoint, e.g. `the model endpoint http://127.0.0.1:8080/v1/chat/completions`.
        what: String,
        /// What happened and what to do.
        message: String,
    },
    /// The endpoint did not answer within `model.timeout_ms`, after all retries.
    #[error("{what} timed out: {message}")]
    Timeout {
        /// The endpoint, e.g. `the model endpoint http://127.0.0.1:8080/v1/chat/completions`.
        what: String,
        /// The limit and what to do.
        message: String,
    },
    /// The endpoint answered with an HTTP error status (after all retries for 429 and 5xx).
    #[error("the model endpoint answered HTTP {status}: {message}")]
    Http {
        /// The HTTP status code.
        status: u16,
        /// What the endpoint said and what to do.
        message: String,
    },
    /// The model's answer is not the JSON asked for, even after a correction.
    #[error("the model's answer is not the JSON asked for ({reason}); try again, or use a stronger model")]
    MalformedOutput {
        /// What is wrong with it.
        reason: String,
        /// The model's raw output, for the audit record.
        raw: String,
    },
    /// The model says the question cannot be answered from the data it was shown.
    #[error("the model cannot answer this question from the data: {message}")]
    Refused {
        /// The model's reason.
        message: String,
    },
}

impl Error {
    /// The model's raw output, when the error is about it (for the audit record).
    pub fn raw_output(&self) -> Option<&str> {
        match self {
            Error::MalformedOutput { raw, .. } => Some(raw),
            _ => None,
        }
    }

    /// A stable snake_case code for APIs and logs: `config`, `unavailable`, `timeout`,
    /// `rate_limited` (HTTP 429), `http`, `malformed_output` or `refused`.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Config { .. } => "config",
            Error::Unavailable { .. } => "unavailable",
            Error::Timeout { .. } => "timeout",
            Error::Http { status: 429, .. } => "rate_limited",
            Error::Http { .. } => "http",
            Error::MalformedOutput { .. } => "malformed_output",
            Error::Refused { .. } => "refused",
        }
    }

    /// An [`Error::Config`] from anything printable.
    pub fn config(message: impl fmt::Display) -> Self {
        Self::Config { message: message.to_string() }
    }
}

/// Result of the model provider.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_stable_snake_case_codes() {
        let errors = [
            Error::config("x"),
            Error::Unavailable { what: "w".into(), message: "m".into() },
            Error::Timeout { what: "w".into(), message: "m".into() },
            Error::Http { status: 429, message: "m".into() },
            Error::Http { status: 500, message: "m".into() },
            Error::MalformedOutput { reason: "r".into(), raw: "{".into() },
            Error::Refused { message: "m".into() },
        ];
        let kinds: Vec<&str> = errors.iter().map(Error::kind).collect();
        assert_eq!(kinds, ["config", "unavailable", "timeout", "rate_limited", "http", "malformed_output", "refused"]);
    }
}
