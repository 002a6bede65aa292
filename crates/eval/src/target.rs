//! What is evaluated: the boundary between the harness and quarry's pipeline.
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use quarry_compare::ResultTable;

/// What is evaluated. quarry's pipeline implements it (in the CLI); tests use scripted
/// doubles.
///
/// Implementations report every pipeline problem inside the returned [`Prediction`] (as an
/// [`Outcome`]); only failing to start a session is an error, since then nothing can be
/// asked at all.
#[async_trait::async_trait]
pub trait EvalTarget: Send + Sync {
    /// The state of one conversation (earlier turns, resolved context).
    type Session: Send;

    /// A fresh conversation on a snapshot (`None` = the configured default snapshot).
    async fn new_session(&self, snapshot: Option<&str>) -> Result<Self::Session, TargetError>;

    /// Asks a question in a session; follow-up questions reuse the session.
    async fn ask(&self, session: &mut Self::Session, question: &str) -> Prediction;

    /// Runs SQL through the same policy and executor as generated SQL (used to compute gold
    /// results from gold SQL, and as the prediction in [`crate::Mode::Gold`]).
    async fn run_sql(&self, snapshot: Option<&str>, sql: &str) -> Prediction;
}

/// Starting a session failed (unknown snapshot, unreadable semantic layer...).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct TargetError {
    /// What went wrong, for people.
    pub message: String,
}

impl TargetError {
    /// An error with this message.
    pub fn new(message: impl Into<String>) -> Self {
        Self { message: message.into() }
    }
}

/// What the pipeline ended with.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The query ran and returned this result.
    Rows(ResultTable),
    /// The pipeline asked the user to choose instead of answering.
    Clarification {
        /// The clarifying question.
        question: String,
        /// The choices offered, if any.
        options: Vec<String>,
    },
    /// No SQL could be generated.
    GenerationFailed(String),
    /// The SQL policy refused the SQL.
    PolicyRejected(String),
    /// The SQL failed to execute.
    ExecutionError(String),
    /// Generation or execution ran out of time.
    Timeout(String),
}

impl Outcome {
    /// The outcome's kind in reports: `rows`, `clarification`, `generation_failed`,
    /// `policy_rejected`, `execution_error` or `timeout`.
    pub fn kind(&self) -> &'static str {
        match self {
            Outcome::Rows(_) => "rows",
            Outcome::Clarification { .. } => "clarification",
            Outcome::GenerationFailed(_) => "generation_failed",
            Outcome::PolicyRejected(_) => "policy_rejected",
            Outcome::ExecutionError(_) => "execution_error",
            Outcome::Timeout(_) => "timeout",
        }
    }

    /// The message of an outcome without rows (a clarification's question).
    pub fn message(&self) -> Option<&str> {
        match self {
            Outcome::Rows(_) => None,
            Outcome::Clarification { question, .. } => Some(question),
            Outcome::GenerationFailed(m)
            | Outcome::PolicyRejected(m)
            | Outcome::ExecutionError(m)
            | Outcome::Timeout(m) => Some(m),
        }
    }
}

/// Tokens a model call consumed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenUsage {
    /// Prompt (input) tokens.
    pub prompt: u64,
    /// Completion (output) tokens.
    pub completion: u64,
}

impl TokenUsage {
    /// Prompt plus completion tokens.
    pub fn total(self) -> u64 {
        self.prompt + self.completion
    }
}

impl std::ops::AddAssign for TokenUsage {
    fn add_assign(&mut self, other: Self) {
        self.prompt += other.prompt;
        self.completion += other.completion;
    }
}

/// One answer of the pipeline, with what it cost.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    /// What the pipeline ended with.
    pub outcome: Outcome,
    /// The SQL it ran (or would have run), if it got that far.
    pub sql: Option<String>,
    /// Which path answered, e.g. `verified_query`, `semantic`, `llm` (free-form, reported
    /// as given).
    pub route: String,
    /// The pipeline's confidence in its answer, if it has one.
    pub confidence: Option<f64>,
    /// The named features the confidence was computed from, for fitting it
    /// (`quarry eval calibrate`); empty when the target has none.
    pub confidence_features: BTreeMap<String, f64>,
    /// Generation attempts (repairs included).
    pub attempts: u32,
    /// Milliseconds spent per pipeline stage (e.g. `retrieve`, `generate`, `execute`).
    pub stage_ms: BTreeMap<String, f64>,
    /// Tokens consumed by model calls.
    pub tokens: TokenUsage,
    /// Cost of the model calls in US dollars.
    pub cost_usd: f64,
}

impl Prediction {
    /// A prediction with this outcome, no SQL, an empty route, one attempt, no stage
    /// timings and no cost; set the other fields as needed.
    pub fn new(outcome: Outcome) -> Self {
        Self {
            outcome,
            sql: None,
            route: String::new(),
            confidence: None,
            confidence_features: BTreeMap::new(),
            attempts: 1,
            stage_ms: BTreeMap::new(),
            tokens: TokenUsage::default(),
            cost_usd: 0.0,
        }
    }

    /// A prediction that returned `table`.
    pub fn rows(table: ResultTable) -> Self {
        Self::new(Outcome::Rows(table))
    }

    /// Sets the SQL.
    pub fn with_sql(mut self, sql: impl Into<String>) -> Self {
        self.sql = Some(sql.into());
        self
    }

    /// Sets the route.
    pub fn with_route(mut self, route: impl Into<String>) -> Self {
        self.route = route.into();
        self
    }
}
