use std::collections::BTreeMap;

use quarry_exec::{ColumnInfo, QueryResult};
use quarry_synth::{Explanation, SemanticQuery};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Milliseconds per stage, and in total.
pub type Timings = BTreeMap<String, f64>;

/// How a question ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AnswerStatus {
    /// SQL ran and rows came back.
    Answered,
    /// The question is ambiguous; see [`Answer::clarification`].
    NeedsClarification,
    /// The question could not be mapped; see [`Answer::message`].
    CannotAnswer,
}

/// A question back to the user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Clarification {
    /// The question.
    pub question: String,
    /// Questions the user can pick instead.
    pub options: Vec<String>,
}

/// The answer to a question.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Answer {
    /// The question as asked.
    pub question: String,
    /// How it ended.
    pub status: AnswerStatus,
    /// One sentence: the number, or what the table shows, or why there is no answer.
    pub summary: String,
    /// The SQL that ran (with the policy's row limit).
    pub sql: Option<String>,
    /// Result columns.
    pub columns: Vec<ColumnInfo>,
    /// Result rows, in column order (see [`quarry_exec::ResultJson`]).
    #[schema(value_type = Vec<Vec<serde_json::Value>>)]
    pub rows: Vec<Vec<Value>>,
    /// Whether rows were cut at the row limit.
    pub truncated: bool,
    /// The snapshot the answer comes from.
    pub snapshot_id: String,
    /// Which model wrote the SQL: `builtin` or the chat model's id.
    pub route: String,
    /// 0..1, from the planner.
    pub confidence: Option<f64>,
    /// Attempts at SQL (more than one when repairs were needed).
    pub attempts: u32,
    /// Every attempt, with who wrote it and why it was stopped.
    pub attempt_log: Vec<quarry_synth::Attempt>,
    /// What retrieval found for the model's prompt (empty on the built-in route).
    #[serde(default)]
    pub retrieval_hits: Vec<RetrievedHit>,
    /// Tokens and cost of the model calls, when a model was asked.
    pub tokens: Option<quarry_model::TokenUsage>,
    /// The model's own account of its SQL, when the model answered.
    pub model_explanation: Option<String>,
    /// Things the user should know about how the answer came about (e.g. a fallback).
    pub notes: Vec<String>,
    /// How the SQL policy rewrote the query to run with its author's meaning (a double-quoted
    /// string, SQLite's NULL order...), one sentence each; empty when it ran as written.
    #[serde(default)]
    pub sql_notes: Vec<String>,
    /// How the question was read.
    pub explanation: Option<Explanation>,
    /// Set when [`AnswerStatus::NeedsClarification`].
    pub clarification: Option<Clarification>,
    /// Why there is no answer, when [`AnswerStatus::CannotAnswer`].
    pub message: Option<String>,
    /// The chart: a Vega-Lite v4 spec with the data, its type and why (none for a single
    /// value, which is shown as a big number).
    pub chart: Option<crate::chart::AnswerChart>,
    /// Milliseconds per stage (`plan`, `validate`, `execute`, `chart`) and `total`; for
    /// an answer from the cache, `cache` and `total`.
    #[schema(value_type = std::collections::HashMap<String, f64>)]
    pub timings_ms: Timings,
    /// Whether the answer came from the answer cache: the same question was answered on the
    /// same snapshot, in the same conversation state, before.
    #[serde(default)]
    pub cached: bool,
    /// Under builtin-first with a model: whether the model, asked the same question beside
    /// the built-in planner, got the same result (`synthesis.cross_check`).
    #[serde(default)]
    pub cross_check: Option<crate::CrossCheck>,
    /// Set when the answer is a verified question's SQL: who verified it and when.
    #[serde(default)]
    pub verified: Option<crate::VerifiedBadge>,
    /// The parsed query, for the next turn.
    #[serde(skip)]
    #[schema(ignore)]
    pub query: Option<SemanticQuery>,
    /// The result as Arrow, for charts and exports.
    #[serde(skip)]
    #[schema(ignore)]
    pub result: Option<QueryResult>,
}

impl Answer {
    /// An answer to `question` on `snapshot_id` with nothing in it yet.
    pub(crate) fn empty(question: String, snapshot_id: String) -> Self {
        Self {
            question,
            status: AnswerStatus::Answered,
            summary: String::new(),
            sql: None,
            columns: Vec::new(),
            rows: Vec::new(),
            truncated: false,
            snapshot_id,
            route: "builtin".into(),
            confidence: None,
            attempts: 1,
            attempt_log: Vec::new(),
            retrieval_hits: Vec::new(),
            tokens: None,
            model_explanation: None,
            notes: Vec::new(),
            sql_notes: Vec::new(),
            explanation: None,
            clarification: None,
            message: None,
            chart: None,
            timings_ms: BTreeMap::new(),
            cached: false,
            cross_check: None,
            verified: None,
            query: None,
            result: None,
        }
    }
}

/// A retrieval hit that went into a model's prompt, for the audit record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RetrievedHit {
    /// The document id (`metric:revenue`, `value:users.country=DE`, …).
    pub id: String,
    /// Its kind (`metric`, `dimension`, `value`, …).
    pub kind: String,
    /// The fused score.
    pub score: f32,
}

/// The result of running SQL directly.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SqlAnswer {
    /// The SQL that ran (with the policy's row limit).
    pub sql: String,
    /// How the SQL policy rewrote the query (see [`Answer::sql_notes`]).
    pub sql_notes: Vec<String>,
    /// Result columns.
    pub columns: Vec<ColumnInfo>,
    /// Result rows.
    pub rows: Vec<Vec<Value>>,
    /// Whether rows were cut at the row limit.
    pub truncated: bool,
    /// The snapshot.
    pub snapshot_id: String,
    /// Milliseconds per stage and in total.
    pub timings_ms: Timings,
    /// The result as Arrow.
    #[serde(skip)]
    pub result: Option<QueryResult>,
}

/// One turn of a conversation.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Turn {
    /// The question.
    pub question: String,
    /// What it was read as, if the built-in planner answered it.
    pub query: Option<SemanticQuery>,
    /// The SQL that ran, if any.
    #[serde(default)]
    pub sql: Option<String>,
    /// The answer's summary (or the clarifying question, or why there was no answer).
    #[serde(default)]
    pub summary: String,
}

/// The turns so far; follow-up questions continue the last answered one.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Conversation {
    /// Turns, oldest first.
    pub turns: Vec<Turn>,
}

impl Conversation {
    /// The query of the last answered turn.
    pub fn context(&self) -> Option<&SemanticQuery> {
        self.turns.iter().rev().find_map(|t| t.query.as_ref())
    }
}
