//! The records the store keeps, and what callers give it to create them.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A conversation to start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewConversation {
    /// Its id, chosen by the caller.
    pub id: String,
    /// Who is talking.
    pub user_id: String,
    /// Where: `web`, `api`, `slack` or `cli`.
    pub channel: String,
}

/// A stored conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConversationRecord {
    /// Its id.
    pub id: String,
    /// Who is talking.
    pub user_id: String,
    /// Where: `web`, `api`, `slack` or `cli`.
    pub channel: String,
    /// The first question, cut to 120 characters; empty before the first turn.
    pub title: String,
    /// The pipeline's conversation state after the latest turn (`null` before the first); the
    /// store does not look inside.
    pub state: serde_json::Value,
    /// When it was started.
    pub created_at: DateTime<Utc>,
    /// When its latest turn was added (or when it was started).
    pub updated_at: DateTime<Utc>,
}

/// A conversation in a list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ConversationSummary {
    /// Its id.
    pub id: String,
    /// The first question, cut to 120 characters.
    pub title: String,
    /// Where: `web`, `api`, `slack` or `cli`.
    pub channel: String,
    /// When it was started.
    pub created_at: DateTime<Utc>,
    /// When its latest turn was added.
    pub updated_at: DateTime<Utc>,
    /// How many turns it has.
    pub turns: u32,
}

/// A question and its answer to add to a conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewTurn {
    /// The answer's id (unique across all conversations; feedback refers to it).
    pub answer_id: String,
    /// The user's question.
    pub question: String,
    /// The answer as sent to the user.
    pub answer: serde_json::Value,
    /// The pipeline's conversation state after this turn.
    pub state: serde_json::Value,
    /// When the answer was given.
    pub created_at: DateTime<Utc>,
}

/// A stored turn of a conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TurnRecord {
    /// Its place in the conversation: 1, 2, 3, … without gaps.
    pub seq: u32,
    /// The answer's id.
    pub answer_id: String,
    /// The user's question.
    pub question: String,
    /// The answer as sent to the user.
    pub answer: serde_json::Value,
    /// When the answer was given.
    pub created_at: DateTime<Utc>,
}

/// A thumbs up or down on an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Rating {
    /// The answer was right and useful.
    Up,
    /// The answer was wrong or unhelpful.
    Down,
}

impl Rating {
    /// `up` or `down`, as stored and serialized.
    pub fn as_str(self) -> &'static str {
        match self {
            Rating::Up => "up",
            Rating::Down => "down",
        }
    }
}

impl fmt::Display for Rating {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Rating {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "up" => Ok(Rating::Up),
            "down" => Ok(Rating::Down),
            other => Err(format!("rating {other:?} is neither \"up\" nor \"down\"")),
        }
    }
}

/// Feedback to record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewFeedback {
    /// The answer it is about (a turn's `answer_id`).
    pub answer_id: String,
    /// Who gives it.
    pub user_id: String,
    /// Up or down.
    pub rating: Rating,
    /// What the user wrote, if anything.
    pub comment: Option<String>,
    /// The share token of the answer's conversation, when the answer is not the user's own:
    /// feedback is only taken from the conversation's owner or from someone holding its share.
    pub share_token: Option<String>,
}

/// Stored feedback: one per user and answer, the latest given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FeedbackRecord {
    /// Its id (`fb-` and 16 hex digits); kept when the user changes their rating.
    pub id: String,
    /// The answer it is about.
    pub answer_id: String,
    /// Who gave it.
    pub user_id: String,
    /// Up or down.
    pub rating: Rating,
    /// What the user wrote, if anything.
    pub comment: Option<String>,
    /// When it was (last) given.
    pub created_at: DateTime<Utc>,
}

/// One request in the audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// The request id the server gave the request (unique: the record's key).
    pub id: String,
    /// The id the client sent with the request (`X-Request-Id`), to correlate with the
    /// client's own logs. Clients choose it, so it is not unique.
    pub client_request_id: Option<String>,
    /// When the request was answered.
    pub created_at: DateTime<Utc>,
    /// Who asked.
    pub user_id: String,
    /// Where: `web`, `api`, `slack` or `cli`.
    pub channel: String,
    /// The question.
    pub question: String,
    /// The conversation it belongs to, if any.
    pub conversation_id: Option<String>,
    /// The answer given, if any.
    pub answer_id: Option<String>,
    /// How it ended: `answered`, `needs_clarification`, `cannot_answer` or an error code.
    pub outcome: String,
    /// The full record (plan, SQL, timings, …); the store does not look inside.
    pub record: serde_json::Value,
}

/// An audit log entry in a list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditSummary {
    /// The request id.
    pub id: String,
    /// When the request was answered.
    pub created_at: DateTime<Utc>,
    /// Who asked.
    pub user_id: String,
    /// Where.
    pub channel: String,
    /// The question.
    pub question: String,
    /// How it ended.
    pub outcome: String,
}

/// A rendered chart, kept so its image can be served later (the web chat, Slack).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChartRecord {
    /// The chart's id.
    pub id: String,
    /// The answer it illustrates.
    pub answer_id: String,
    /// The chart as SVG.
    pub svg: String,
    /// The chart as PNG (stored as base64 text, the one binary encoding both backends share).
    pub png: Vec<u8>,
    /// When it was made.
    pub created_at: DateTime<Utc>,
}

/// A question with SQL a person has checked, to add to the verified set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewVerified {
    /// The question.
    pub question: String,
    /// The SQL that answers it.
    pub sql: String,
    /// Who checked it.
    pub added_by: String,
    /// The answer it was taken from, if any.
    pub source_answer_id: Option<String>,
}

/// A verified question.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerifiedRecord {
    /// Its id (`vq-` and 16 hex digits).
    pub id: String,
    /// The question, as last given.
    pub question: String,
    /// The SQL that answers it.
    pub sql: String,
    /// Who last checked it.
    pub added_by: String,
    /// The answer it was taken from, if any.
    pub source_answer_id: Option<String>,
    /// When it was first added.
    pub created_at: DateTime<Utc>,
    /// When its SQL was last set.
    pub updated_at: DateTime<Utc>,
}

/// An answer to store with its audit record: everything an answered question leaves, written
/// in one transaction so that an answer is never stored without its audit record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewAnswer {
    /// The conversation the answer belongs to, and its owner: the asking user.
    pub conversation: NewConversation,
    /// Whether this answer starts the conversation (it is then created with it; otherwise it
    /// must exist and be the asking user's).
    pub starts_conversation: bool,
    /// The question and its answer.
    pub turn: NewTurn,
    /// The answer's rendered chart, if it has one.
    pub chart: Option<ChartRecord>,
    /// The request's audit record.
    pub audit: AuditRecord,
}

/// A conversation's share: the token that lets someone other than its owner read it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShareRecord {
    /// The token (`sh-` and 32 hex digits: 128 random bits, so it cannot be guessed).
    pub token: String,
    /// The conversation it opens.
    pub conversation_id: String,
    /// Who created it: the conversation's owner.
    pub created_by: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}
