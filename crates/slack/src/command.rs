//! The slash command Slack POSTs as an `application/x-www-form-urlencoded` body, documented at
//! <https://api.slack.com/interactivity/slash-commands#app_command_handling>.
//!
//! The `response_url` in the body is where quarry later posts its answer, so it is checked
//! against a [`CommandPolicy`] before anything is sent to it: https only, and a Slack host
//! unless the policy names others. The body is signed, so this guards against a leaked or
//! misused signing secret turning quarry into a proxy towards internal addresses.

use url::{Host, Url};

/// Which `response_url`s quarry will post to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommandPolicy {
    /// Accept `http://` as well as `https://` (local test receivers only).
    pub allow_http: bool,
    /// Hosts accepted instead of Slack's: exact names (`127.0.0.1`, `hooks.example.com`) or
    /// `*.example.com` for any subdomain. Empty means Slack only: `slack.com` and `*.slack.com`.
    pub allowed_hosts: Vec<String>,
}

impl CommandPolicy {
    /// Checks that `response_url` is one quarry may post to, and returns it parsed.
    pub fn check_response_url(&self, response_url: &str) -> Result<Url, CommandError> {
        let refuse = |reason: &'static str| CommandError::ResponseUrlRefused { url: cut(response_url, 200), reason };
        let url = Url::parse(response_url).map_err(|_| refuse("it is not an absolute URL"))?;
        match url.scheme() {
            "https" => {}
            "http" if self.allow_http => {}
            "http" => return Err(refuse("it is not https")),
            _ => return Err(refuse("only https URLs are accepted")),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(refuse("it carries credentials"));
        }
        let host = match url.host() {
            Some(Host::Domain(domain)) => domain.trim_end_matches('.').to_ascii_lowercase(),
            Some(Host::Ipv4(ip)) => ip.to_string(),
            Some(Host::Ipv6(ip)) => ip.to_string(),
            None => return Err(refuse("it has no host")),
        };
        let allowed = if self.allowed_hosts.is_empty() {
            host == "slack.com" || host.ends_with(".slack.com")
        } else {
            self.allowed_hosts.iter().any(|pattern| host_matches(pattern, &host))
        };
        if !allowed {
            return Err(refuse(if self.allowed_hosts.is_empty() {
                "its host is not slack.com or a subdomain of it"
            } else {
                "its host is not in the allowed response hosts"
            }));
        }
        Ok(url)
    }
}

fn host_matches(pattern: &str, host: &str) -> bool {
    let pattern = pattern.trim().trim_end_matches('.').to_ascii_lowercase();
    let pattern = pattern.trim_start_matches('[').trim_end_matches(']');
    match pattern.strip_prefix("*.") {
        Some(parent) => host.strip_suffix(parent).is_some_and(|sub| sub.len() > 1 && sub.ends_with('.')),
        None => host == pattern,
    }
}

/// Why a slash command body was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// A field Slack always sends is absent or empty.
    #[error(
        "the slash command has no `{field}` field; the body must be the form Slack sends \
         (application/x-www-form-urlencoded)"
    )]
    MissingField {
        /// The form field.
        field: &'static str,
    },
    /// A field appears more than once, so which one Slack meant is ambiguous.
    #[error("the slash command has the `{field}` field more than once; Slack sends each field once")]
    DuplicateField {
        /// The form field.
        field: &'static str,
    },
    /// `response_url` is not one quarry will post to.
    #[error("the response_url {url:?} was refused because {reason}; Slack's are https://hooks.slack.com/…")]
    ResponseUrlRefused {
        /// The URL as received (cut to 200 characters).
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

impl CommandError {
    /// A stable snake_case code for logs and API errors.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::MissingField { .. } => "slack_command_field_missing",
            Self::DuplicateField { .. } => "slack_command_field_duplicate",
            Self::ResponseUrlRefused { .. } => "slack_response_url_refused",
        }
    }
}

/// One invocation of a slash command such as `/ask weekly signups by channel`.
///
/// The deprecated verification `token` Slack still sends is dropped: requests are checked
/// with [`crate::SlackVerifier`] instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlashCommand {
    /// The workspace, e.g. `T0001`.
    pub team_id: String,
    /// The workspace's subdomain.
    pub team_domain: Option<String>,
    /// The Enterprise Grid organisation, when there is one.
    pub enterprise_id: Option<String>,
    /// Where the command was typed.
    pub channel_id: String,
    /// The channel's name (`directmessage` and `privategroup` for those).
    pub channel_name: Option<String>,
    /// Who typed it.
    pub user_id: String,
    /// Their (deprecated) user name.
    pub user_name: Option<String>,
    /// The command, e.g. `/ask`.
    pub command: String,
    /// Everything after the command, as typed (may be empty).
    pub text: String,
    /// Where to post replies, for 30 minutes and at most five times; already checked against
    /// the [`CommandPolicy`].
    pub response_url: String,
    /// Opens a modal within three seconds.
    pub trigger_id: String,
    /// The Slack app the command belongs to.
    pub api_app_id: Option<String>,
}

const FIELDS: [&str; 12] = [
    "team_id",
    "team_domain",
    "enterprise_id",
    "channel_id",
    "channel_name",
    "user_id",
    "user_name",
    "command",
    "text",
    "response_url",
    "trigger_id",
    "api_app_id",
];

impl SlashCommand {
    /// Parses the raw form body (verify its signature first) and checks its `response_url`
    /// against `policy`. Unknown fields are ignored; required ones must be present and non-empty
    /// (`text` may be empty).
    pub fn parse(body: &[u8], policy: &CommandPolicy) -> Result<Self, CommandError> {
        let mut values: [Option<String>; FIELDS.len()] = Default::default();
        for (key, value) in form_urlencoded::parse(body) {
            if let Some(index) = FIELDS.iter().position(|field| *field == key) {
                if values[index].is_some() {
                    return Err(CommandError::DuplicateField { field: FIELDS[index] });
                }
                values[index] = Some(value.into_owned());
            }
        }
        let [
            team_id,
            team_domain,
            enterprise_id,
            channel_id,
            channel_name,
            user_id,
            user_name,
            command,
            text,
            response_url,
            trigger_id,
            api_app_id,
        ] = values;
        let required = |value: Option<String>, field: &'static str| {
            value.filter(|v| !v.trim().is_empty()).ok_or(CommandError::MissingField { field })
        };
        let optional = |value: Option<String>| value.filter(|v| !v.is_empty());
        let response_url = required(response_url, "response_url")?;
        policy.check_response_url(&response_url)?;
        Ok(Self {
            team_id: required(team_id, "team_id")?,
            team_domain: optional(team_domain),
            enterprise_id: optional(enterprise_id),
            channel_id: required(channel_id, "channel_id")?,
            channel_name: optional(channel_name),
            user_id: required(user_id, "user_id")?,
            user_name: optional(user_name),
            command: required(command, "command")?,
            text: text.ok_or(CommandError::MissingField { field: "text" })?,
            response_url,
            trigger_id: required(trigger_id, "trigger_id")?,
            api_app_id: optional(api_app_id),
        })
    }

    /// How quarry identifies the Slack user: `slack:{team_id}:{user_id}`.
    pub fn user_key(&self) -> String {
        format!("slack:{}:{}", self.team_id, self.user_id)
    }

    /// The question asked, or `None` when the text is empty or `help` and the caller should
    /// reply with [`crate::help_message`].
    pub fn question(&self) -> Option<&str> {
        let text = self.text.trim();
        (!text.is_empty() && !text.eq_ignore_ascii_case("help")).then_some(text)
    }
}

fn cut(text: &str, max_chars: usize) -> String {
    text.chars().take(max_chars).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(pairs: &[(&str, &str)]) -> Vec<u8> {
        form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish().into_bytes()
    }

    const BASE: [(&str, &str); 7] = [
        ("team_id", "T1"),
        ("channel_id", "C1"),
        ("user_id", "U1"),
        ("command", "/ask"),
        ("text", "  weekly signups  "),
        ("response_url", "https://hooks.slack.com/commands/T1/1/abc"),
        ("trigger_id", "1.2.3"),
    ];

    #[test]
    fn parses_required_and_optional_fields() {
        let mut pairs = BASE.to_vec();
        pairs.extend([("team_domain", "acme"), ("channel_name", ""), ("token", "ignored"), ("other", "x")]);
        let command = SlashCommand::parse(&body(&pairs), &CommandPolicy::default()).unwrap();
        assert_eq!(command.user_key(), "slack:T1:U1");
        assert_eq!(command.question(), Some("weekly signups"));
        assert_eq!(command.team_domain.as_deref(), Some("acme"));
        assert_eq!(command.channel_name, None);
        assert_eq!(command.api_app_id, None);
    }

    #[test]
    fn each_missing_required_field_is_named() {
        for field in ["team_id", "channel_id", "user_id", "command", "text", "response_url", "trigger_id"] {
            let pairs: Vec<_> = BASE.iter().copied().filter(|(key, _)| *key != field).collect();
            let error = SlashCommand::parse(&body(&pairs), &CommandPolicy::default()).unwrap_err();
            assert_eq!(error, CommandError::MissingField { field });
            assert!(error.to_string().contains(field));
        }
        let mut pairs = BASE.to_vec();
        pairs.push(("user_id", "U2"));
        let error = SlashCommand::parse(&body(&pairs), &CommandPolicy::default()).unwrap_err();
        assert_eq!(error, CommandError::DuplicateField { field: "user_id" });
    }

    #[test]
    fn empty_or_help_text_asks_for_help() {
        let mut pairs = BASE.to_vec();
        for text in ["", "   ", "HELP"] {
            pairs[4] = ("text", text);
            let command = SlashCommand::parse(&body(&pairs), &CommandPolicy::default()).unwrap();
            assert_eq!(command.question(), None, "{text:?}");
        }
    }

    #[test]
    fn response_urls_outside_slack_are_refused() {
        let slack = CommandPolicy::default();
        for ok in ["https://hooks.slack.com/commands/1", "https://HOOKS.Slack.com./x", "https://slack.com/x"] {
            assert!(slack.check_response_url(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://hooks.slack.com/commands/1",
            "https://hooks.slack.com.evil.example/x",
            "https://evilslack.com/x",
            "https://hooks.slack.com@evil.example/x",
            "https://user:pw@hooks.slack.com/x",
            "file:///etc/passwd",
            "hooks.slack.com/x",
            "https://169.254.169.254/latest",
        ] {
            let error = slack.check_response_url(bad).unwrap_err();
            assert_eq!(error.kind(), "slack_response_url_refused", "{bad}");
        }
    }

    #[test]
    fn a_policy_can_name_other_hosts_and_allow_http() {
        let local = CommandPolicy { allow_http: true, allowed_hosts: vec!["127.0.0.1".into(), "*.example.com".into()] };
        assert!(local.check_response_url("http://127.0.0.1:8080/hook").is_ok());
        assert!(local.check_response_url("https://a.b.example.com/hook").is_ok());
        assert!(local.check_response_url("https://example.com/hook").is_err());
        assert!(local.check_response_url("https://hooks.slack.com/x").is_err(), "the list replaces Slack's hosts");
        assert!(local.check_response_url("ftp://127.0.0.1/x").is_err());
        let ipv6 = CommandPolicy { allow_http: true, allowed_hosts: vec!["[::1]".into()] };
        assert!(ipv6.check_response_url("http://[::1]:9/x").is_ok());
    }
}
