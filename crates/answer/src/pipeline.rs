use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use quarry_exec::{DataFusionExecutor, ExecutorConfig, SnapshotExecutor};
use quarry_semantic::SemanticLayer;
use quarry_settings::Settings;
use quarry_snapshot::Snapshot;
use quarry_sqlguard::{Catalog, PolicyConfig, SqlPolicy};
use quarry_synth::{PlanOutcome, SemanticPlanner};

use crate::answer::{Answer, AnswerStatus, Clarification, Conversation, SqlAnswer, Timings, Turn};
use crate::bootstrap::{resolve_layer, resolve_snapshot};
use crate::error::{Error, Result};
use crate::summary::summarize;

/// Longest question accepted, in characters. Real questions are a sentence or two; longer
/// input is almost always pasted data or an injection attempt.
pub const MAX_QUESTION_CHARS: usize = 1000;

/// Answers questions and runs SQL over one snapshot.
pub struct Pipeline {
    snapshot: Snapshot,
    layer: SemanticLayer,
    policy: SqlPolicy,
    executor: Arc<dyn SnapshotExecutor>,
    planner: SemanticPlanner,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("snapshot", &self.snapshot.manifest.id)
            .field("layer", &self.layer.name)
            .finish()
    }
}

impl Pipeline {
    /// Everything from settings: the snapshot (generating the demo on first use), its
    /// semantic layer (validated against it), the policy and the executor.
    pub async fn open(settings: &Settings) -> Result<Self> {
        Self::open_snapshot(settings, resolve_snapshot(settings)?).await
    }

    /// A pipeline over a given snapshot, with its semantic layer (see [`resolve_layer`])
    /// validated against it and the policy and executor from settings.
    pub async fn open_snapshot(settings: &Settings, snapshot: Snapshot) -> Result<Self> {
        let (layer, source) = resolve_layer(settings, &snapshot)?;
        layer.validate_against(&snapshot, &source).await?;
        Self::new(snapshot, layer, settings.policy.clone(), settings.executor.clone()).await
    }

    /// A pipeline from its parts; the layer should already be validated against the snapshot.
    pub async fn new(
        snapshot: Snapshot,
        layer: SemanticLayer,
        policy: PolicyConfig,
        executor: ExecutorConfig,
    ) -> Result<Self> {
        let personal = layer.personal_columns();
        let executor = DataFusionExecutor::open(&snapshot, &personal, executor).await?;
        Ok(Self::with_executor(snapshot, layer, policy, Arc::new(executor)))
    }

    /// A pipeline over any executor (e.g. a distributed one, or a test double).
    pub fn with_executor(
        snapshot: Snapshot,
        layer: SemanticLayer,
        policy: PolicyConfig,
        executor: Arc<dyn SnapshotExecutor>,
    ) -> Self {
        let mut catalog = Catalog::new();
        for table in &snapshot.manifest.tables {
            let columns: Vec<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
            catalog.add_table(&table.name, &columns);
        }
        for (table, column) in layer.personal_columns() {
            catalog.mark_personal(&table, &column);
        }
        let planner = SemanticPlanner::new(layer.clone(), snapshot.manifest.as_of, snapshot.manifest.id.clone());
        Self { policy: SqlPolicy::new(catalog, policy), executor, planner, snapshot, layer }
    }

    /// The snapshot answers come from.
    pub fn snapshot(&self) -> &Snapshot {
        &self.snapshot
    }

    /// The semantic layer.
    pub fn layer(&self) -> &SemanticLayer {
        &self.layer
    }

    /// Runs SQL through the policy and the executor.
    pub async fn run_sql(&self, sql: &str) -> Result<SqlAnswer> {
        let started = Instant::now();
        let mut timings = Timings::new();
        let validated = self.policy.check(sql)?;
        timings.insert("validate".into(), ms(started));
        let result = self.executor.execute(&validated).await?;
        timings.insert("plan".into(), result.timings.plan_ms);
        timings.insert("execute".into(), result.timings.execute_ms);
        timings.insert("total".into(), ms(started));
        let json = result.to_json();
        Ok(SqlAnswer {
            sql: validated.sql,
            columns: json.columns,
            rows: json.rows,
            truncated: result.truncated,
            snapshot_id: self.snapshot.manifest.id.clone(),
            timings_ms: timings,
            result: Some(result),
        })
    }

    /// Answers a question, continuing `conversation` and recording the turn in it.
    pub async fn ask(&self, question: &str, conversation: &mut Conversation) -> Result<Answer> {
        let started = Instant::now();
        let question = clean_question(question)?;
        let mut timings: BTreeMap<String, f64> = BTreeMap::new();
        // "… as a pie" asks for a chart type; the planner reads the question without it.
        let (planned, requested_chart) = quarry_chart::requested_chart_type(&question);
        let outcome = self.planner.plan(&planned, conversation.context());
        timings.insert("plan".into(), ms(started));
        let mut answer = Answer {
            question: question.clone(),
            status: AnswerStatus::Answered,
            summary: String::new(),
            sql: None,
            columns: Vec::new(),
            rows: Vec::new(),
            truncated: false,
            snapshot_id: self.snapshot.manifest.id.clone(),
            route: "builtin".into(),
            confidence: None,
            attempts: 1,
            explanation: None,
            clarification: None,
            message: None,
            chart: None,
            timings_ms: BTreeMap::new(),
            query: None,
            result: None,
        };
        match outcome {
            PlanOutcome::Clarify { question: ask_back, options } => {
                answer.status = AnswerStatus::NeedsClarification;
                answer.summary = ask_back.clone();
                answer.clarification = Some(Clarification { question: ask_back, options });
            }
            PlanOutcome::CannotAnswer { message, .. } => {
                answer.status = AnswerStatus::CannotAnswer;
                answer.summary = message.clone();
                answer.message = Some(message);
            }
            PlanOutcome::Sql(plan) => {
                let validate_started = Instant::now();
                let validated = self.policy.check(&plan.sql)?;
                timings.insert("validate".into(), ms(validate_started));
                let result = self.executor.execute(&validated).await?;
                timings.insert("execute".into(), result.timings.plan_ms + result.timings.execute_ms);
                let json = result.to_json();
                answer.summary = summarize(&self.layer, &plan, &json, result.truncated);
                answer.sql = Some(validated.sql);
                answer.columns = json.columns;
                answer.rows = json.rows;
                answer.truncated = result.truncated;
                let chart_started = Instant::now();
                answer.chart =
                    Some(crate::chart::answer_chart(&self.layer, &plan, &result, &question, requested_chart, None));
                timings.insert("chart".into(), ms(chart_started));
                answer.confidence = Some(plan.confidence);
                answer.explanation = Some(plan.explanation);
                answer.query = Some(plan.query);
                answer.result = Some(result);
            }
        }
        timings.insert("total".into(), ms(started));
        answer.timings_ms = timings;
        conversation.turns.push(Turn {
            question,
            query: answer.query.clone(),
            sql: answer.sql.clone(),
            summary: answer.summary.clone(),
        });
        Ok(answer)
    }
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1e3
}

/// Trims the question, removes control characters and refuses empty or oversized input.
fn clean_question(question: &str) -> Result<String> {
    let cleaned: String = question.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    let cleaned = cleaned.split_whitespace().collect::<Vec<_>>().join(" ");
    if cleaned.is_empty() {
        return Err(Error::BadQuestion(
            "the question is empty; ask something like \"signups by channel last month\"".into(),
        ));
    }
    let length = cleaned.chars().count();
    if length > MAX_QUESTION_CHARS {
        return Err(Error::BadQuestion(format!(
            "the question is {length} characters long; the limit is {MAX_QUESTION_CHARS}. Ask one question in a sentence or two"
        )));
    }
    Ok(cleaned)
}
