//! The boundary of the synthesis stage: a [`SqlSynthesizer`] turns a question into a
//! [`Synthesis`]: a [`Candidate`] to run, a question back, or why there is none. The built-in
//! planner ([`BuiltinSynthesizer`]) and the OpenAI-compatible model ([`ModelSynthesizer`])
//! both implement it and return the same typed candidate, so that whatever wrote the SQL, the
//! answer is run, charted, summarized and recorded by one tail.

use std::sync::Arc;

use async_trait::async_trait;
use quarry_model::{FailedAttempt, OpenAiChatModel, TokenUsage, TurnContext, prompt_context_from_layer};
use quarry_retrieve::{Hit, Kind, LazyIndex};
use quarry_semantic::SemanticLayer;
use quarry_snapshot::Manifest;
use serde::{Deserialize, Serialize};

use crate::planner::{Explanation, Plan, PlanOutcome, SemanticPlanner};
use crate::query::SemanticQuery;

/// What a synthesizer is given: the question and what the conversation and retrieval know.
#[derive(Debug, Clone, Copy)]
pub struct SynthesisRequest<'a> {
    /// The question, without a requested chart type ("… as a pie").
    pub question: &'a str,
    /// The typed reading of the last answered turn, which a follow-up continues.
    pub previous: Option<&'a SemanticQuery>,
    /// The turns so far, oldest first.
    pub turns: &'a [TurnContext],
    /// What retrieval found for the question (empty when it was not searched or is down).
    pub hits: &'a [Hit],
    /// Earlier SQL for this question that was stopped, with why: a repair.
    pub failed: &'a [FailedAttempt],
}

/// How a candidate's author read the question.
#[derive(Debug, Clone, PartialEq)]
pub enum CandidateReading {
    /// The built-in planner's plan: the typed query (continued by a follow-up) and its
    /// explanation built from the query.
    Planner(Box<Plan>),
    /// The model's account of its SQL, in its words.
    Model {
        /// What the query computes.
        explanation: String,
    },
    /// SQL a person checked for this question (a verified question); it has no reading of
    /// its own.
    Verified {
        /// Which verified question it is, and who checked it.
        explanation: String,
    },
}

/// What the candidate says of its chart.
#[derive(Debug, Clone, PartialEq)]
pub enum ChartIntent {
    /// Chart what the reading asks for (the planner's measures, grouping and time grain).
    FromReading,
    /// The model's Vega-Lite v4 spec or `{mark, x, y, color}` hint, used when it passes the
    /// checker against the result.
    Spec(serde_json::Value),
}

/// SQL for a question, whoever wrote it.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// The SQL, as written (the policy checks and limits it).
    pub sql: String,
    /// Who wrote it: `builtin` or the model's id.
    pub by: String,
    /// How the question was read.
    pub reading: CandidateReading,
    /// 0..1: how sure the author is (the planner's confidence; the model gives none).
    pub confidence: Option<f64>,
    /// What to chart.
    pub chart: Option<ChartIntent>,
    /// The hash of the prompt (model candidates).
    pub prompt_hash: Option<String>,
    /// The model's raw output (model candidates).
    pub raw_output: Option<String>,
    /// Tokens and cost of writing it.
    pub tokens: Option<TokenUsage>,
}

impl Candidate {
    /// The planner's plan, when the planner wrote it.
    pub fn plan(&self) -> Option<&Plan> {
        match &self.reading {
            CandidateReading::Planner(plan) => Some(plan),
            CandidateReading::Model { .. } | CandidateReading::Verified { .. } => None,
        }
    }

    /// The planner's explanation, when the planner wrote it.
    pub fn explanation(&self) -> Option<&Explanation> {
        self.plan().map(|plan| &plan.explanation)
    }

    /// The model's account of its SQL, when the model wrote it.
    pub fn model_explanation(&self) -> Option<&str> {
        match &self.reading {
            CandidateReading::Model { explanation } => Some(explanation),
            CandidateReading::Planner(_) | CandidateReading::Verified { .. } => None,
        }
    }

    /// The candidate as a first try in the audit record, with `verdict` and `error`.
    pub fn attempt(&self, verdict: &str, error: Option<String>) -> Attempt {
        Attempt {
            by: self.by.clone(),
            sql: self.sql.clone(),
            verdict: verdict.to_string(),
            error,
            prompt_hash: self.prompt_hash.clone(),
            raw_output: self.raw_output.clone(),
        }
    }
}

/// What a synthesizer made of a question.
#[derive(Debug, Clone, PartialEq)]
pub enum Synthesis {
    /// SQL to run.
    Sql(Box<Candidate>),
    /// A question back to the user, with options.
    Clarify {
        /// The question.
        question: String,
        /// Questions the user can pick instead.
        options: Vec<String>,
    },
    /// The question could not be mapped (the planner says what it understood).
    CannotAnswer {
        /// A sentence for the user.
        message: String,
    },
    /// The model says the data cannot answer the question.
    Refused {
        /// The model's reason.
        message: String,
        /// Tokens and cost of the call.
        tokens: TokenUsage,
    },
}

/// One try at SQL, kept for the answer and the audit record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Attempt {
    /// Who wrote it: `builtin` or the model's id.
    pub by: String,
    /// The SQL as written.
    pub sql: String,
    /// `ok`, or the error code that stopped it (`policy_rejected`, `plan_error`, …).
    pub verdict: String,
    /// What was wrong, in words, when it was stopped.
    pub error: Option<String>,
    /// The hash of the prompt the model was given (model attempts only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_hash: Option<String>,
    /// The model's raw output (model attempts only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_output: Option<String>,
}

/// Why a synthesizer gave nothing.
#[derive(Debug, thiserror::Error)]
pub enum SynthesisError {
    /// The chat model failed: unreachable, an HTTP error, or output that is not the JSON asked for.
    #[error(transparent)]
    Model(#[from] quarry_model::Error),
}

/// Turns a question into SQL (see the module documentation).
#[async_trait]
pub trait SqlSynthesizer: Send + Sync {
    /// Who writes: `builtin` or the model's id (`openai:gpt-4o-mini`).
    fn id(&self) -> String;

    /// A candidate for `request`, a question back, or why there is none.
    async fn synthesize(&self, request: &SynthesisRequest<'_>) -> Result<Synthesis, SynthesisError>;

    /// A one-paragraph summary of a result (a sample of `rows` under `columns`) of `sql`, when
    /// this synthesizer writes summaries; `None` leaves the summary to the template.
    async fn summarize(
        &self,
        _question: &str,
        _columns: &[String],
        _rows: &[Vec<serde_json::Value>],
        _sql: &str,
    ) -> Result<Option<(String, TokenUsage)>, SynthesisError> {
        Ok(None)
    }
}

/// The built-in planner as a synthesizer, grounding the words it does not know through the
/// retrieval index when it has one.
#[derive(Debug, Clone)]
pub struct BuiltinSynthesizer {
    planner: SemanticPlanner,
    layer: SemanticLayer,
    grounding: Option<Arc<LazyIndex>>,
}

impl BuiltinSynthesizer {
    /// The planner over `layer`.
    pub fn new(planner: SemanticPlanner, layer: SemanticLayer) -> Self {
        Self { planner, layer, grounding: None }
    }

    /// Grounds unknown words through `index` (the retrieval index `quarry search` uses).
    pub fn set_grounding(&mut self, index: Arc<LazyIndex>) {
        self.grounding = Some(index);
    }

    /// Gives the planner another confidence model.
    pub fn set_confidence_model(&mut self, model: crate::ConfidenceModel) {
        self.planner = self.planner.clone().with_confidence_model(model);
    }

    /// The planner.
    pub fn planner(&self) -> &SemanticPlanner {
        &self.planner
    }

    /// The semantic layer it plans over.
    pub fn layer(&self) -> &SemanticLayer {
        &self.layer
    }

    /// The planner's outcome for `question`, with unknown words grounded.
    pub async fn plan(&self, question: &str, previous: Option<&SemanticQuery>) -> PlanOutcome {
        let outcome = self.planner.plan(question, previous);
        match &self.grounding {
            Some(index) => crate::grounding::ground_unknown_words(self, index, question, previous, outcome).await,
            None => outcome,
        }
    }
}

/// The planner's plan as a candidate.
pub(crate) fn planner_candidate(plan: Box<Plan>) -> Box<Candidate> {
    Box::new(Candidate {
        sql: plan.sql.clone(),
        by: "builtin".into(),
        confidence: Some(plan.confidence),
        chart: Some(ChartIntent::FromReading),
        prompt_hash: None,
        raw_output: None,
        tokens: None,
        reading: CandidateReading::Planner(plan),
    })
}

/// A plan outcome as a synthesis.
pub(crate) fn synthesis_of(outcome: PlanOutcome) -> Synthesis {
    match outcome {
        PlanOutcome::Sql(plan) => Synthesis::Sql(planner_candidate(plan)),
        PlanOutcome::Clarify { question, options } => Synthesis::Clarify { question, options },
        PlanOutcome::CannotAnswer { message, .. } => Synthesis::CannotAnswer { message },
    }
}

#[async_trait]
impl SqlSynthesizer for BuiltinSynthesizer {
    fn id(&self) -> String {
        "builtin".into()
    }

    async fn synthesize(&self, request: &SynthesisRequest<'_>) -> Result<Synthesis, SynthesisError> {
        Ok(synthesis_of(self.plan(request.question, request.previous).await))
    }
}

/// The OpenAI-compatible chat model as a synthesizer: its prompt is built from the semantic
/// layer, the retrieval hits, the conversation and the attempts to repair.
#[derive(Clone)]
pub struct ModelSynthesizer {
    model: Arc<OpenAiChatModel>,
    layer: SemanticLayer,
    manifest: Manifest,
}

impl std::fmt::Debug for ModelSynthesizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelSynthesizer").field("model", &self.model.model_id()).finish()
    }
}

impl ModelSynthesizer {
    /// `model`, prompted with `layer` over the snapshot described by `manifest`.
    pub fn new(model: Arc<OpenAiChatModel>, layer: SemanticLayer, manifest: Manifest) -> Self {
        Self { model, layer, manifest }
    }
}

#[async_trait]
impl SqlSynthesizer for ModelSynthesizer {
    fn id(&self) -> String {
        self.model.model_id()
    }

    async fn synthesize(&self, request: &SynthesisRequest<'_>) -> Result<Synthesis, SynthesisError> {
        let relevant = relevant_from_hits(request.hits);
        let mut context = prompt_context_from_layer(&self.layer, &self.manifest, request.question, &relevant);
        context.conversation = request.turns.to_vec();
        context.attempts = request.failed.to_vec();
        let reply = match self.model.write_sql(&context).await {
            Ok(reply) => reply,
            Err(quarry_model::Error::Refused { message }) => {
                return Ok(Synthesis::Refused { message, tokens: TokenUsage::default() });
            }
            Err(error) => return Err(error.into()),
        };
        Ok(Synthesis::Sql(Box::new(Candidate {
            sql: reply.sql,
            by: self.model.model_id(),
            reading: CandidateReading::Model { explanation: reply.explanation },
            confidence: None,
            chart: reply.chart.map(ChartIntent::Spec),
            prompt_hash: Some(reply.prompt_hash),
            raw_output: Some(reply.raw),
            tokens: Some(reply.usage),
        })))
    }

    async fn summarize(
        &self,
        question: &str,
        columns: &[String],
        rows: &[Vec<serde_json::Value>],
        sql: &str,
    ) -> Result<Option<(String, TokenUsage)>, SynthesisError> {
        Ok(Some(self.model.write_summary(question, columns, rows, sql).await?))
    }
}

/// The names a prompt needs from retrieval hits: metrics, tables (of every hit that has
/// one), grounded values and verified questions.
pub(crate) fn relevant_from_hits(hits: &[Hit]) -> quarry_model::Relevant {
    let mut relevant = quarry_model::Relevant::default();
    let text = |hit: &Hit, key: &str| hit.payload.get(key).and_then(|v| v.as_str()).map(str::to_string);
    for hit in hits {
        if let Some(table) = text(hit, "table")
            && !relevant.tables.contains(&table)
        {
            relevant.tables.push(table);
        }
        match hit.kind {
            Kind::Metric => relevant.metrics.extend(text(hit, "metric")),
            Kind::Value => {
                if let (Some(table), Some(column), Some(value)) =
                    (text(hit, "table"), text(hit, "column"), text(hit, "value"))
                {
                    relevant.sample_values.entry((table.clone(), column.clone())).or_default().push(value.clone());
                    relevant.values.push((table, column, value));
                }
            }
            Kind::VerifiedQuestion => {
                if let Some(n) = hit.id.strip_prefix("verified:").and_then(|n| n.parse::<usize>().ok()) {
                    relevant.verified.push(n.saturating_sub(1));
                }
            }
            _ => {}
        }
    }
    relevant
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(id: &str, kind: Kind, payload: &[(&str, &str)]) -> Hit {
        Hit {
            id: id.into(),
            kind,
            score: 1.0,
            payload: payload.iter().map(|(k, v)| (k.to_string(), serde_json::Value::from(*v))).collect(),
        }
    }

    #[test]
    fn hits_become_the_names_a_prompt_needs() {
        let hits = [
            hit("metric:revenue", Kind::Metric, &[("metric", "revenue"), ("table", "invoices")]),
            hit("value:country=DE", Kind::Value, &[("table", "accounts"), ("column", "country"), ("value", "DE")]),
            hit("verified:2", Kind::VerifiedQuestion, &[("question", "q"), ("sql", "SELECT 1")]),
            hit("column:accounts.region", Kind::Column, &[("table", "accounts"), ("column", "region")]),
        ];
        let relevant = relevant_from_hits(&hits);
        assert_eq!(relevant.metrics, ["revenue"]);
        assert_eq!(relevant.tables, ["invoices", "accounts"]);
        assert_eq!(relevant.values, [("accounts".to_string(), "country".to_string(), "DE".to_string())]);
        assert_eq!(relevant.verified, [1]);
        assert_eq!(relevant.sample_values[&("accounts".to_string(), "country".to_string())], ["DE"]);
    }

    #[test]
    fn a_plan_becomes_a_candidate_that_charts_its_reading() {
        let as_of = chrono::NaiveDate::from_ymd_opt(2025, 12, 31).expect("date");
        let planner = SemanticPlanner::new(SemanticLayer::demo(), as_of, "snap-demo");
        let Synthesis::Sql(candidate) = synthesis_of(planner.plan("signups by channel last month", None)) else {
            panic!("the demo planner answers this");
        };
        assert_eq!(candidate.by, "builtin");
        assert_eq!(candidate.chart, Some(ChartIntent::FromReading));
        assert_eq!(Some(candidate.sql.as_str()), candidate.plan().map(|plan| plan.sql.as_str()));
        assert!(candidate.model_explanation().is_none() && candidate.tokens.is_none());
        let attempt = candidate.attempt("ok", None);
        assert_eq!((attempt.by.as_str(), attempt.verdict.as_str()), ("builtin", "ok"));
    }
}
