//! What quarry needs to serve Slack's `/ask` slash command, independent of the web framework.
//!
//! A server handles `POST /slack/commands` in four steps:
//! 1. [`SlackVerifier::verify`] the raw body against the `X-Slack-Request-Timestamp` and
//!    `X-Slack-Signature` headers ([`signature`]);
//! 2. [`SlashCommand::parse`] the form body, which refuses `response_url`s outside Slack
//!    ([`command`]);
//! 3. reply at once (Slack waits three seconds) with [`ack_message`], or [`help_message`]
//!    when there is no question;
//! 4. answer, then [`ResponseUrlClient::post`] an [`answer_message`] (or [`error_message`]) to
//!    the `response_url` ([`response`]). Charts go in as [`ChartLinkSigner`] links
//!    ([`chart_link`]) that Slack can fetch without a session; [`limits::check_message`]
//!    checks any message against Slack's Block Kit limits.
//!
//! A clarification's options come as buttons as well as commands to run. A click comes back as
//! `POST /slack/interactions`, verified the same way, whose body [`BlockAction::parse`] reads
//! ([`interaction`]): the option's question, asked by the same user, answered like a command.
//! Every answer also has an "Ask an analyst" button ([`with_ask_analyst_button`]); a person's
//! answer reaches the asker later as a direct message through [`SlackWebClient`]
//! (`chat.postMessage` with the bot token), marked [`with_answered_by`].
//!
//! ```
//! use std::time::{Duration, SystemTime};
//! use quarry_slack::{CommandPolicy, SlackVerifier, SlashCommand, ack_message, sign, DEFAULT_MAX_AGE};
//!
//! let body = b"team_id=T1&channel_id=C1&user_id=U1&command=%2Fask&text=weekly+signups\
//!     &response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2F1&trigger_id=1.2";
//! let now = SystemTime::now();
//! let timestamp = now.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs().to_string();
//! let signature = sign("secret", &timestamp, body);
//!
//! let verifier = SlackVerifier::new("secret", DEFAULT_MAX_AGE);
//! verifier.verify(Some(&timestamp), Some(&signature), body, now).unwrap();
//! let command = SlashCommand::parse(body, &CommandPolicy::default()).unwrap();
//! assert_eq!(command.user_key(), "slack:T1:U1");
//! assert_eq!(ack_message(command.question().unwrap())["text"], "Working on it: weekly signups…");
//! ```

pub mod blocks;
pub mod chart_link;
pub mod command;
pub mod interaction;
pub mod limits;
pub mod response;
pub mod signature;
pub mod web_api;

pub use blocks::{
    ASK_ANALYST_ACTION, AnswerKind, MAX_OPTION_BUTTONS, OPTION_ACTION_PREFIX, ResponseType, SlackAnswer, ack_message,
    answer_message, error_message, help_message, with_answered_by, with_ask_analyst_button, without_images,
};
pub use chart_link::{ChartFormat, ChartLinkSigner, LinkError};
pub use command::{CommandError, CommandPolicy, SlashCommand};
pub use interaction::{BlockAction, InteractionError};
pub use limits::{LimitViolation, check_message};
pub use response::{PostError, ResponseUrlClient};
pub use signature::{DEFAULT_MAX_AGE, SIGNATURE_HEADER, SignatureError, SlackVerifier, TIMESTAMP_HEADER, sign};
pub use web_api::SlackWebClient;

/// Any error of this crate, for callers that handle them together.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request is not signed by Slack.
    #[error(transparent)]
    Signature(#[from] SignatureError),
    /// The slash command body is unusable.
    #[error(transparent)]
    Command(#[from] CommandError),
    /// The interaction body is unusable.
    #[error(transparent)]
    Interaction(#[from] InteractionError),
    /// A reply could not be posted.
    #[error(transparent)]
    Post(#[from] PostError),
    /// A chart link was refused.
    #[error(transparent)]
    Link(#[from] LinkError),
}

impl Error {
    /// A stable snake_case code for logs and API errors.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Signature(error) => error.kind(),
            Self::Command(error) => error.kind(),
            Self::Interaction(error) => error.kind(),
            Self::Post(error) => error.kind(),
            Self::Link(error) => error.kind(),
        }
    }
}

/// A result whose error is this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
