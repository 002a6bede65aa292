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

/// An answer's chart, kept so its image can be served later (the web chat, Slack).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChartRecord {
    /// The chart's id.
    pub id: String,
    /// The answer it illustrates.
    pub answer_id: String,
    /// What is stored of it.
    pub content: ChartContent,
    /// When it was made.
    pub created_at: DateTime<Utc>,
}

/// What a stored chart holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChartContent {
    /// What to draw it from (its spec and data, as JSON text the store does not look inside):
    /// images are drawn when asked for, so an answer costs no drawing nobody looks at.
    Source(String),
    /// Images drawn when the chart was stored (charts stored before schema version 4).
    Rendered {
        /// The chart as SVG.
        svg: String,
        /// The chart as PNG (stored as base64 text, the one binary encoding both backends share).
        png: Vec<u8>,
    },
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
    /// The answer's chart, if it has one.
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

/// Why a question was handed to an analyst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReviewReason {
    /// quarry could not answer it (it said what it did not understand).
    CannotAnswer,
    /// The asker chose "ask an analyst".
    Asked,
    /// The answer got a thumbs-down.
    ThumbsDown,
    /// The cross-check found that two independent routes got different results.
    RoutesDisagree,
}

impl ReviewReason {
    /// Every reason, in the order filters list them.
    pub const ALL: [ReviewReason; 4] =
        [ReviewReason::CannotAnswer, ReviewReason::Asked, ReviewReason::ThumbsDown, ReviewReason::RoutesDisagree];

    /// The reason as stored and serialized (`cannot_answer`, `asked`, `thumbs_down`, `routes_disagree`).
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewReason::CannotAnswer => "cannot_answer",
            ReviewReason::Asked => "asked",
            ReviewReason::ThumbsDown => "thumbs_down",
            ReviewReason::RoutesDisagree => "routes_disagree",
        }
    }
}

impl fmt::Display for ReviewReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ReviewReason {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ReviewReason::ALL.into_iter().find(|r| r.as_str() == s).ok_or_else(|| {
            format!("review reason {s:?} is not one of cannot_answer, asked, thumbs_down, routes_disagree")
        })
    }
}

/// Where a review item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReviewStatus {
    /// Waiting for an analyst.
    Open,
    /// An analyst answered it.
    Answered,
}

impl ReviewStatus {
    /// `open` or `answered`, as stored and serialized.
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewStatus::Open => "open",
            ReviewStatus::Answered => "answered",
        }
    }
}

impl fmt::Display for ReviewStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ReviewStatus {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "open" => Ok(ReviewStatus::Open),
            "answered" => Ok(ReviewStatus::Answered),
            other => Err(format!("review status {other:?} is neither \"open\" nor \"answered\"")),
        }
    }
}

/// A question to hand to an analyst.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewReview {
    /// The answer it is about (a turn's `answer_id`): one item per answer.
    pub answer_id: String,
    /// Who asked the question: the owner of the answer's conversation.
    pub asker_id: String,
    /// Where they asked: `web`, `api` or `slack`.
    pub channel: String,
    /// The conversation the answer belongs to.
    pub conversation_id: String,
    /// The question.
    pub question: String,
    /// Why it is handed over.
    pub reason: ReviewReason,
    /// What quarry made of it: the reading, the SQL attempts, why it was not confident. The
    /// store does not look inside.
    pub context: serde_json::Value,
    /// Slack's `response_url` of the asker's message, to answer through while it is valid.
    pub reply_url: Option<String>,
    /// When `reply_url` stops working (Slack keeps one for 30 minutes).
    pub reply_url_expires_at: Option<DateTime<Utc>>,
}

/// A question in the review queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewRecord {
    /// Its id (`rv-` and 16 hex digits).
    pub id: String,
    /// When it entered the queue.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// Open or answered.
    pub status: ReviewStatus,
    /// Why it entered the queue (the first reason, when several applied).
    pub reason: ReviewReason,
    /// Who asked.
    pub asker_id: String,
    /// Where: `web`, `api` or `slack`.
    pub channel: String,
    /// The asker's conversation.
    pub conversation_id: String,
    /// The answer it is about.
    pub answer_id: String,
    /// The question.
    pub question: String,
    /// What quarry made of it (see [`NewReview::context`]).
    pub context: serde_json::Value,
    /// Slack's `response_url`, when the item came from Slack.
    pub reply_url: Option<String>,
    /// When `reply_url` stops working.
    pub reply_url_expires_at: Option<DateTime<Utc>>,
    /// The analyst who answered.
    pub answered_by: Option<String>,
    /// When they answered.
    pub answered_at: Option<DateTime<Utc>>,
    /// Their answer in words.
    pub answer_text: Option<String>,
    /// The SQL behind their answer, if any.
    pub answer_sql: Option<String>,
    /// The verified question their answer was promoted to, if it was.
    pub verified_id: Option<String>,
    /// How the answer reached the asker (`conversation`, `slack_message`, `slack_response_url`)
    /// or why it did not (`failed: …`); none before it is answered.
    pub delivery: Option<String>,
}

/// Which review items to list.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ReviewFilter {
    /// Only items in this status.
    pub status: Option<ReviewStatus>,
    /// Only items that entered for this reason.
    pub reason: Option<ReviewReason>,
    /// Only this user's items.
    pub asker_id: Option<String>,
    /// Most items returned.
    pub limit: u32,
}

/// An analyst's answer to a review item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewAnswer {
    /// The item answered.
    pub review_id: String,
    /// Who answered.
    pub analyst: String,
    /// The answer in words.
    pub text: String,
    /// The SQL behind it, if any.
    pub sql: Option<String>,
    /// The verified question it was promoted to, if it was.
    pub verified_id: Option<String>,
    /// The turn to add to the asker's conversation (the item's), when the answer goes there.
    pub turn: Option<NewTurn>,
    /// How the answer is delivered (see [`ReviewRecord::delivery`]); `turn` delivers it as it
    /// is stored, Slack after.
    pub delivery: String,
    /// The action's audit record, written in the same transaction.
    pub audit: AuditRecord,
}
