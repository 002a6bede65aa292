//! Settings of `quarry serve`: the address, identity, limits, Slack and chart links.

use serde::{Deserialize, Serialize};

/// `quarry serve`: where it listens, who may call it and how much.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSettings {
    /// Address to listen on, `HOST:PORT`.
    pub addr: String,
    /// The URL users reach the server at (links in Slack messages, chart images); empty means
    /// `http://{addr}`.
    pub public_base_url: String,
    /// Bearer tokens of API clients and the user each stands for. When none is set (and no
    /// trusted user header arrives), requests are attributed to `anonymous_user`.
    pub api_tokens: Vec<ApiToken>,
    /// The user requests are attributed to when no tokens are configured.
    pub anonymous_user: String,
    /// A header carrying the signed-in user, set by a reverse proxy (e.g.
    /// `X-Forwarded-Email` from oauth2-proxy); empty means no header is trusted.
    pub trusted_user_header: String,
    /// Peer addresses the trusted user header is accepted from.
    pub trusted_proxies: Vec<String>,
    /// Users who work the review queue (see the server's `/api/v1/reviews`): they see every
    /// question handed to an analyst, run SQL on it and answer it. Ids as requests are
    /// attributed: a token's user, a proxy-given user, or `slack:TEAM:USER`.
    pub analysts: Vec<String>,
    /// A header with the signed-in user's groups, comma-separated, set by the trusted proxy
    /// (oauth2-proxy sets `X-Forwarded-Groups`); read only from `trusted_proxies`, like the
    /// user header. Empty reads no groups.
    pub analyst_group_header: String,
    /// The group, in `analyst_group_header`, whose members are analysts; empty means none is.
    pub analyst_group: String,
    /// Questions one user may ask per minute (on average), counted in the store: replicas
    /// sharing one database apply one limit between them.
    pub rate_limit_per_minute: u32,
    /// Questions one user may ask at once above the average rate.
    pub rate_limit_burst: u32,
    /// Largest request body, in bytes.
    pub max_body_bytes: usize,
    /// Longest question, in characters (at most the pipeline's own limit, 1000).
    pub max_question_chars: usize,
    /// Questions answered at the same time; more wait for a slot.
    pub max_concurrent_queries: usize,
    /// How long a question may wait for a slot before the server says it is busy, in ms.
    pub queue_timeout_ms: u64,
    /// Longest time one request may take, in ms.
    pub request_timeout_ms: u64,
    /// Secret key of chart image links (HMAC); empty means a random key per process, so
    /// links stop working on restart and across replicas. Prefer an environment variable.
    pub chart_link_secret: String,
    /// How long a chart image link works, in minutes.
    pub chart_link_ttl_minutes: u64,
    /// The Slack slash command.
    pub slack: SlackSettings,
}

/// An API client: its bearer token and the user its requests are attributed to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiToken {
    /// The user (e.g. `ci-bot` or an email address).
    pub user: String,
    /// The bearer token.
    pub token: String,
}

/// Whom Slack answers are shown to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SlackVisibility {
    /// Only to the user who asked.
    Ephemeral,
    /// To everyone in the channel.
    InChannel,
}

/// The Slack slash command (`POST /slack/commands`) and the option buttons of its answers
/// (`POST /slack/interactions`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SlackSettings {
    /// The app's signing secret; empty turns the Slack endpoint off. Prefer
    /// `QUARRY_SERVER__SLACK__SIGNING_SECRET` to a file.
    pub signing_secret: String,
    /// A follow-up within this many minutes continues the user's last conversation.
    pub conversation_window_minutes: u64,
    /// Whom answers are shown to.
    pub visibility: SlackVisibility,
    /// Hosts `response_url` may point at; empty means Slack's own (`*.slack.com`).
    pub response_hosts: Vec<String>,
    /// Accept `http://` response URLs (for a local Slack stand-in only).
    pub allow_http_response_url: bool,
    /// The app's bot token (`xoxb-…`), with which an analyst's answer is sent to the asker as
    /// a message (`chat.postMessage`), however long after the question; empty sends it to the
    /// question's `response_url` while that is valid (30 minutes). Prefer
    /// `QUARRY_SERVER__SLACK__BOT_TOKEN` to a file.
    pub bot_token: String,
    /// The base URL of Slack's Web API (a local stand-in of Slack in tests).
    pub api_base_url: String,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            addr: "127.0.0.1:8080".into(),
            public_base_url: String::new(),
            api_tokens: Vec::new(),
            anonymous_user: "local".into(),
            trusted_user_header: String::new(),
            trusted_proxies: vec!["127.0.0.1".into(), "::1".into()],
            analysts: Vec::new(),
            analyst_group_header: String::new(),
            analyst_group: String::new(),
            rate_limit_per_minute: 60,
            rate_limit_burst: 10,
            max_body_bytes: 64 * 1024,
            max_question_chars: 1000,
            max_concurrent_queries: 8,
            queue_timeout_ms: 10_000,
            request_timeout_ms: 60_000,
            chart_link_secret: String::new(),
            chart_link_ttl_minutes: 24 * 60,
            slack: SlackSettings::default(),
        }
    }
}

impl Default for SlackSettings {
    fn default() -> Self {
        Self {
            signing_secret: String::new(),
            conversation_window_minutes: 30,
            visibility: SlackVisibility::Ephemeral,
            response_hosts: Vec::new(),
            allow_http_response_url: false,
            bot_token: String::new(),
            api_base_url: "https://slack.com/api".into(),
        }
    }
}

impl ServerSettings {
    /// The public base URL, without a trailing slash.
    pub fn base_url(&self) -> String {
        let url = if self.public_base_url.is_empty() {
            format!("http://{}", self.addr)
        } else {
            self.public_base_url.clone()
        };
        url.trim_end_matches('/').to_string()
    }
}
