//! The model path: retrieval builds the prompt, the model writes SQL, the policy and a
//! DataFusion plan check it, and errors go back to the model for a bounded number of repairs.

use std::sync::Arc;
use std::time::Instant;

use quarry_exec::QueryResult;
use quarry_model::{FailedAttempt, OpenAiChatModel, Relevant, TokenUsage, TurnContext, prompt_context_from_layer};
use quarry_retrieve::{Hit, Kind, LazyIndex};
use quarry_semantic::SemanticLayer;
use quarry_snapshot::Manifest;
use serde::{Deserialize, Serialize};

use crate::answer::Conversation;
use crate::stage::{Stage, StageEvent};

/// The chat model and the retrieval index its prompts are built from.
pub struct ModelRoute {
    /// The model.
    pub model: Arc<OpenAiChatModel>,
    /// The index over the snapshot and its layer; while it cannot be opened or searched,
    /// prompts are built without retrieval hits.
    pub index: Arc<LazyIndex>,
}

impl std::fmt::Debug for ModelRoute {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelRoute").field("model", &self.model.model_id()).finish()
    }
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

impl Attempt {
    /// An attempt by the built-in planner.
    pub(crate) fn builtin(sql: String) -> Self {
        Attempt { by: "builtin".into(), sql, verdict: "ok".into(), error: None, prompt_hash: None, raw_output: None }
    }
}

/// SQL that passed the policy and ran: the text that ran, the policy's dialect notes, the result.
pub(crate) struct CheckedRun {
    pub sql: String,
    pub notes: Vec<String>,
    pub result: QueryResult,
}

/// What the model path produced.
pub(crate) struct ModelAnswer {
    pub sql: String,
    pub sql_notes: Vec<String>,
    pub result: QueryResult,
    pub explanation: String,
    /// The model's chart, as it wrote it (checked against the result when charted).
    pub chart: Option<serde_json::Value>,
    pub usage: TokenUsage,
}

/// What the model path looked at, kept whatever the outcome.
#[derive(Default)]
pub(crate) struct ModelTrace {
    pub hits: Vec<crate::RetrievedHit>,
    pub attempts: Vec<Attempt>,
    /// Why retrieval gave nothing, when it failed.
    pub retrieval_error: Option<String>,
}

/// Why the model path gave no result.
pub(crate) enum ModelFailure {
    /// The model says the data cannot answer the question.
    Refused { message: String, usage: TokenUsage },
    /// Every attempt was stopped by the policy or the planner.
    Exhausted { last_error: String, usage: TokenUsage },
    /// The model or retrieval failed.
    Error(crate::Error),
}

/// The names a prompt needs from retrieval hits: metrics, tables (of every hit that has
/// one), grounded values and verified questions.
pub(crate) fn relevant_from_hits(hits: &[Hit]) -> Relevant {
    let mut relevant = Relevant::default();
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

/// The parts of the pipeline the model path uses.
pub(crate) struct ModelPath<'a> {
    pub route: &'a ModelRoute,
    pub layer: &'a SemanticLayer,
    pub manifest: &'a Manifest,
    pub retrieval_hits: usize,
    pub max_repairs: usize,
}

impl ModelPath<'_> {
    /// Asks the model for SQL and checks it with `check` (policy, plan, execution), feeding
    /// each error back, at most `max_repairs` times. Every attempt, and the retrieval hits, go to `trace`.
    pub(crate) async fn answer<F, Fut>(
        &self,
        question: &str,
        conversation: &Conversation,
        trace: &mut ModelTrace,
        timings: &mut crate::Timings,
        progress: &dyn crate::Progress,
        check: F,
    ) -> Result<ModelAnswer, ModelFailure>
    where
        F: Fn(String) -> Fut,
        Fut: std::future::Future<Output = Result<CheckedRun, (String, String)>>,
    {
        let started = Instant::now();
        progress.stage(StageEvent { stage: Stage::Retrieve, attempt: None });
        // A follow-up ("and in 2024?") is about what the turn before was about.
        let search_text = match conversation.turns.last() {
            Some(last) => format!("{} {question}", last.question),
            None => question.to_string(),
        };
        // Without hits the prompt still has the layer's metrics and tables: a weaker prompt
        // is better than no answer while the vector store is down.
        let hits = match self.route.index.search(&search_text, &[], self.retrieval_hits).await {
            Ok(hits) => hits,
            Err(error) => {
                tracing::warn!(%error, "retrieval failed; the model's prompt is built without its hits");
                trace.retrieval_error = Some(error.to_string());
                Vec::new()
            }
        };
        timings.insert("retrieve".into(), crate::pipeline::ms(started));
        trace.hits = hits
            .iter()
            .map(|hit| crate::RetrievedHit {
                id: hit.id.clone(),
                kind: hit.kind.as_str().to_string(),
                score: hit.score,
            })
            .collect();
        let mut context = prompt_context_from_layer(self.layer, self.manifest, question, &relevant_from_hits(&hits));
        context.conversation = conversation
            .turns
            .iter()
            .map(|turn| TurnContext {
                question: turn.question.clone(),
                sql: turn.sql.clone(),
                summary: turn.summary.clone(),
            })
            .collect();
        let mut usage = TokenUsage::default();
        let mut last_error = String::new();
        let model_id = self.route.model.model_id();
        for attempt in 1..=self.max_repairs + 1 {
            let started = Instant::now();
            progress.stage(StageEvent { stage: Stage::Synthesize, attempt: u32::try_from(attempt).ok() });
            let reply = match self.route.model.write_sql(&context).await {
                Ok(reply) => reply,
                Err(quarry_model::Error::Refused { message }) => return Err(ModelFailure::Refused { message, usage }),
                Err(error) => return Err(ModelFailure::Error(crate::Error::Model(error))),
            };
            *timings.entry("synthesize".into()).or_default() += crate::pipeline::ms(started);
            usage += reply.usage;
            match check(reply.sql.clone()).await {
                Ok(CheckedRun { sql, notes, result }) => {
                    trace.attempts.push(Attempt {
                        by: model_id.clone(),
                        sql: reply.sql,
                        verdict: "ok".into(),
                        error: None,
                        prompt_hash: Some(reply.prompt_hash),
                        raw_output: Some(reply.raw),
                    });
                    return Ok(ModelAnswer {
                        sql,
                        sql_notes: notes,
                        result,
                        explanation: reply.explanation,
                        chart: reply.chart,
                        usage,
                    });
                }
                Err((verdict, error)) => {
                    trace.attempts.push(Attempt {
                        by: model_id.clone(),
                        sql: reply.sql.clone(),
                        verdict,
                        error: Some(error.clone()),
                        prompt_hash: Some(reply.prompt_hash.clone()),
                        raw_output: Some(reply.raw.clone()),
                    });
                    context.attempts.push(FailedAttempt { sql: reply.sql, error: error.clone() });
                    last_error = error;
                }
            }
        }
        Err(ModelFailure::Exhausted { last_error, usage })
    }
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
}
