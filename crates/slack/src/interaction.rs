//! The interaction Slack POSTs when a user clicks one of quarry's buttons: a `block_actions`
//! payload (<https://api.slack.com/reference/interaction-payloads/block-actions>), sent as an
//! `application/x-www-form-urlencoded` body whose one `payload` field is JSON, signed like a
//! slash command.
//!
//! quarry posts two kinds of buttons: a clarification's options ([`crate::answer_message`]),
//! whose `action_id`s start with [`OPTION_ACTION_PREFIX`] and whose `value` is the option's
//! question, so a click is a question asked in the conversation the clarification came from;
//! and "Ask an analyst" ([`crate::with_ask_analyst_button`], [`ASK_ANALYST_ACTION`]), whose
//! `value` is the answer's id, so a click hands that question to a person.
//! The `response_url` is checked against the same [`CommandPolicy`] as a slash command's.

use serde::Deserialize;

use crate::blocks::{ASK_ANALYST_ACTION, OPTION_ACTION_PREFIX};
use crate::command::{CommandError, CommandPolicy};

/// The only interaction type quarry handles.
pub const BLOCK_ACTIONS: &str = "block_actions";

/// Why an interaction body was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InteractionError {
    /// No `payload` form field.
    #[error(
        "the interaction has no `payload` field; the body must be the form Slack sends \
         (application/x-www-form-urlencoded, with the JSON in `payload`)"
    )]
    MissingPayload,
    /// The `payload` field appears more than once, so which one Slack meant is ambiguous.
    #[error("the interaction has the `payload` field more than once; Slack sends it once")]
    DuplicatePayload,
    /// The `payload` field is not a JSON object of the expected shape.
    #[error("the interaction payload is not the JSON Slack sends: {reason}")]
    MalformedPayload {
        /// What the JSON parser said.
        reason: String,
    },
    /// An interaction other than a button click (a modal submission, a shortcut, …).
    #[error("the interaction is of type {kind:?}; quarry only handles `block_actions` (clicks on its buttons)")]
    UnsupportedType {
        /// The payload's `type` (cut to 40 characters).
        kind: String,
    },
    /// A field Slack always sends with a button click is absent or empty.
    #[error("the interaction payload has no `{field}`; Slack sends it with every button click")]
    MissingField {
        /// The payload field, as a JSON path.
        field: &'static str,
    },
    /// The clicked element is not one of quarry's option buttons.
    #[error(
        "the action {action_id:?} is not one of quarry's buttons (`{OPTION_ACTION_PREFIX}N` or `{ASK_ANALYST_ACTION}`)"
    )]
    UnknownAction {
        /// The action's `action_id` (cut to 100 characters).
        action_id: String,
    },
    /// `response_url` is not one quarry will post to.
    #[error(transparent)]
    ResponseUrl(#[from] CommandError),
}

impl InteractionError {
    /// A stable snake_case code for logs and API errors.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::MissingPayload => "slack_interaction_payload_missing",
            Self::DuplicatePayload => "slack_interaction_payload_duplicate",
            Self::MalformedPayload { .. } => "slack_interaction_payload_malformed",
            Self::UnsupportedType { .. } => "slack_interaction_type_unsupported",
            Self::MissingField { .. } => "slack_interaction_field_missing",
            Self::UnknownAction { .. } => "slack_interaction_action_unknown",
            Self::ResponseUrl(error) => error.kind(),
        }
    }
}

/// A click on one of quarry's option buttons: the option's question, asked by a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockAction {
    /// The workspace, e.g. `T0001`.
    pub team_id: String,
    /// Who clicked.
    pub user_id: String,
    /// The channel of the message clicked in (absent outside messages).
    pub channel_id: Option<String>,
    /// Which button: `quarry_option_0`, …, or `quarry_ask_analyst`.
    pub action_id: String,
    /// The button's value: the question to ask, or the answer to ask an analyst about (not empty).
    pub value: String,
    /// Where to post replies; already checked against the [`CommandPolicy`].
    pub response_url: String,
    /// Unique per interaction; a retried delivery repeats it.
    pub trigger_id: String,
}

#[derive(Deserialize)]
struct Payload {
    #[serde(rename = "type")]
    kind: Option<String>,
    team: Option<Team>,
    user: Option<PayloadUser>,
    channel: Option<Channel>,
    response_url: Option<String>,
    trigger_id: Option<String>,
    #[serde(default)]
    actions: Vec<Action>,
}

#[derive(Deserialize)]
struct Team {
    id: Option<String>,
}

#[derive(Deserialize)]
struct PayloadUser {
    id: Option<String>,
    team_id: Option<String>,
}

#[derive(Deserialize)]
struct Channel {
    id: Option<String>,
}

#[derive(Deserialize)]
struct Action {
    action_id: Option<String>,
    value: Option<String>,
}

impl BlockAction {
    /// Parses the raw form body (verify its signature first): the `payload` field's JSON must be
    /// a `block_actions` click on an option button, and its `response_url` one `policy` allows.
    /// Fields quarry does not use are ignored.
    pub fn parse(body: &[u8], policy: &CommandPolicy) -> Result<Self, InteractionError> {
        let mut payload = None;
        for (key, value) in form_urlencoded::parse(body) {
            if key == "payload" {
                if payload.is_some() {
                    return Err(InteractionError::DuplicatePayload);
                }
                payload = Some(value.into_owned());
            }
        }
        let payload = payload.filter(|p| !p.trim().is_empty()).ok_or(InteractionError::MissingPayload)?;
        let payload: Payload = serde_json::from_str(&payload)
            .map_err(|error| InteractionError::MalformedPayload { reason: error.to_string() })?;
        let kind = payload.kind.unwrap_or_default();
        if kind != BLOCK_ACTIONS {
            if kind.is_empty() {
                return Err(InteractionError::MissingField { field: "type" });
            }
            return Err(InteractionError::UnsupportedType { kind: cut(&kind, 40) });
        }
        let present = |value: Option<String>| value.filter(|v| !v.trim().is_empty());
        let required =
            |value: Option<String>, field: &'static str| present(value).ok_or(InteractionError::MissingField { field });
        let action = payload.actions.into_iter().next().ok_or(InteractionError::MissingField { field: "actions" })?;
        let action_id = required(action.action_id, "actions[0].action_id")?;
        let is_option = action_id
            .strip_prefix(OPTION_ACTION_PREFIX)
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
        if !is_option && action_id != ASK_ANALYST_ACTION {
            return Err(InteractionError::UnknownAction { action_id: cut(&action_id, 100) });
        }
        let value = required(action.value, "actions[0].value")?;
        let (user_id, user_team) = match payload.user {
            Some(user) => (user.id, user.team_id),
            None => (None, None),
        };
        let user_id = required(user_id, "user.id")?;
        // The workspace the click happened in, as a slash command's `team_id` names it; a user's
        // home team stands in where Slack leaves `team` out.
        let team_id = required(present(payload.team.and_then(|t| t.id)).or(user_team), "team.id")?;
        let response_url = required(payload.response_url, "response_url")?;
        policy.check_response_url(&response_url)?;
        Ok(Self {
            team_id,
            user_id,
            channel_id: present(payload.channel.and_then(|c| c.id)),
            action_id,
            value,
            response_url,
            trigger_id: required(payload.trigger_id, "trigger_id")?,
        })
    }

    /// How quarry identifies the Slack user: `slack:{team_id}:{user_id}`, as for a slash
    /// command ([`crate::SlashCommand::user_key`]), so a click continues the user's conversation.
    pub fn user_key(&self) -> String {
        format!("slack:{}:{}", self.team_id, self.user_id)
    }

    /// The question the clicked option asks.
    pub fn question(&self) -> &str {
        self.value.trim()
    }

    /// The answer whose "Ask an analyst" button was clicked; `None` for an option button.
    pub fn ask_analyst_about(&self) -> Option<&str> {
        (self.action_id == ASK_ANALYST_ACTION).then(|| self.value.trim())
    }
}

fn cut(text: &str, max_chars: usize) -> String {
    text.chars().take(max_chars).collect()
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::SlashCommand;

    fn payload() -> Value {
        json!({
            "type": "block_actions",
            "team": {"id": "T1", "domain": "acme"},
            "user": {"id": "U1", "username": "ann", "team_id": "T1"},
            "api_app_id": "A1",
            "container": {"type": "message", "message_ts": "1.2", "channel_id": "C1", "is_ephemeral": true},
            "trigger_id": "13345224609.738474920.8088930838d88f008e0",
            "channel": {"id": "C1", "name": "metrics"},
            "response_url": "https://hooks.slack.com/actions/T1/1/abc",
            "actions": [{
                "type": "button",
                "block_id": "quarry_options",
                "action_id": "quarry_option_1",
                "text": {"type": "plain_text", "text": "active users"},
                "value": " active users ",
                "action_ts": "1.3",
            }],
        })
    }

    fn body(payload: &Value) -> Vec<u8> {
        form_urlencoded::Serializer::new(String::new())
            .append_pair("payload", &payload.to_string())
            .finish()
            .into_bytes()
    }

    fn parse(payload: &Value) -> Result<BlockAction, InteractionError> {
        BlockAction::parse(&body(payload), &CommandPolicy::default())
    }

    #[test]
    fn a_click_on_an_option_button_is_its_question_from_its_user() {
        let action = parse(&payload()).unwrap();
        assert_eq!(action.question(), "active users");
        assert_eq!(action.action_id, "quarry_option_1");
        assert_eq!(action.channel_id.as_deref(), Some("C1"));
        assert_eq!(action.response_url, "https://hooks.slack.com/actions/T1/1/abc");
        assert_eq!(action.trigger_id, "13345224609.738474920.8088930838d88f008e0");
        let command = b"team_id=T1&channel_id=C1&user_id=U1&command=%2Fask&text=x\
            &response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2F1&trigger_id=1.2";
        let command = SlashCommand::parse(command, &CommandPolicy::default()).unwrap();
        assert_eq!(action.user_key(), command.user_key(), "the same user as their slash commands");
    }

    #[test]
    fn a_click_on_ask_an_analyst_names_the_answer() {
        let mut click = payload();
        click["actions"][0]["action_id"] = json!(ASK_ANALYST_ACTION);
        click["actions"][0]["value"] = json!("ans-42");
        let action = parse(&click).unwrap();
        assert_eq!(action.ask_analyst_about(), Some("ans-42"));
        assert_eq!(parse(&payload()).unwrap().ask_analyst_about(), None, "an option is a question");
    }

    #[test]
    fn each_missing_field_is_named() {
        let without = |path: &[&str]| {
            let mut payload = payload();
            let (last, parents) = path.split_last().unwrap();
            let mut object = &mut payload;
            for parent in parents {
                object =
                    if let Ok(index) = parent.parse::<usize>() { &mut object[index] } else { &mut object[*parent] };
            }
            object.as_object_mut().unwrap().remove(*last);
            parse(&payload).unwrap_err()
        };
        let missing = |field| InteractionError::MissingField { field };
        assert_eq!(without(&["type"]), missing("type"));
        assert_eq!(without(&["actions"]), missing("actions"));
        assert_eq!(without(&["actions", "0", "action_id"]), missing("actions[0].action_id"));
        assert_eq!(without(&["actions", "0", "value"]), missing("actions[0].value"));
        assert_eq!(without(&["user", "id"]), missing("user.id"));
        assert_eq!(without(&["response_url"]), missing("response_url"));
        assert_eq!(without(&["trigger_id"]), missing("trigger_id"));
        assert_eq!(parse(&payload()).unwrap().team_id, "T1");
        let mut no_team = payload();
        no_team.as_object_mut().unwrap().remove("team");
        assert_eq!(parse(&no_team).unwrap().team_id, "T1", "the user's team stands in");
        no_team["user"].as_object_mut().unwrap().remove("team_id");
        assert_eq!(parse(&no_team).unwrap_err(), missing("team.id"));
        let mut no_channel = payload();
        no_channel.as_object_mut().unwrap().remove("channel");
        assert_eq!(parse(&no_channel).unwrap().channel_id, None);
        let mut blank = payload();
        blank["actions"][0]["value"] = json!("  ");
        assert_eq!(parse(&blank).unwrap_err(), missing("actions[0].value"));
    }

    #[test]
    fn bodies_that_are_not_a_button_click_are_refused_with_a_reason() {
        let form = |pairs: &[(&str, &str)]| {
            let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
            BlockAction::parse(body.as_bytes(), &CommandPolicy::default()).unwrap_err()
        };
        assert_eq!(form(&[("text", "hi")]), InteractionError::MissingPayload);
        assert_eq!(form(&[("payload", "")]), InteractionError::MissingPayload);
        let json = payload().to_string();
        assert_eq!(form(&[("payload", &json), ("payload", &json)]), InteractionError::DuplicatePayload);
        let error = form(&[("payload", "{not json")]);
        assert_eq!(error.kind(), "slack_interaction_payload_malformed");
        assert!(error.to_string().contains("not the JSON Slack sends"), "{error}");
        assert_eq!(form(&[("payload", "[1, 2]")]).kind(), "slack_interaction_payload_malformed");
        let mut modal = payload();
        modal["type"] = json!("view_submission");
        assert_eq!(parse(&modal).unwrap_err(), InteractionError::UnsupportedType { kind: "view_submission".into() });
        for other in ["approve", "quarry_option_", "quarry_option_x", "xquarry_option_0"] {
            let mut click = payload();
            click["actions"][0]["action_id"] = json!(other);
            assert_eq!(parse(&click).unwrap_err(), InteractionError::UnknownAction { action_id: other.into() });
        }
    }

    #[test]
    fn response_urls_outside_slack_are_refused() {
        let mut elsewhere = payload();
        elsewhere["response_url"] = json!("https://169.254.169.254/latest");
        let error = parse(&elsewhere).unwrap_err();
        assert_eq!(error.kind(), "slack_response_url_refused");
        let local = CommandPolicy { allow_http: true, allowed_hosts: vec!["127.0.0.1".into()] };
        let mut receiver = payload();
        receiver["response_url"] = json!("http://127.0.0.1:9/actions");
        assert!(BlockAction::parse(&body(&receiver), &local).is_ok());
    }
}
