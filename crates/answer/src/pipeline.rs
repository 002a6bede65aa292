use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use quarry_exec::{DataFusionExecutor, ExecutorConfig, QueryResult, SnapshotExecutor};
use quarry_model::TurnContext;
use quarry_retrieve::LazyIndex;
use quarry_semantic::SemanticLayer;
use quarry_snapshot::{Snapshot, SourceDialect};
use quarry_sqlguard::{Catalog, PolicyConfig, SourceSemantics, SqlPolicy};
use quarry_synth::{
    BuiltinSynthesizer, Candidate, CandidateReading, ChartIntent, ConfidenceModel, ModelFailure, ModelRoute,
    ModelSynthesizer, Question, RouteError, Routed, RoutedOutcome, SecondRoute, SemanticPlanner, SemanticQuery,
    SynthesisConfig, SynthesisRouter, failure_message, layer_words,
};
use quarry_synth::{Progress, Stage, StageEvent};

use crate::answer::{Answer, AnswerStatus, Clarification, Conversation, RetrievedHit, SqlAnswer, Timings, Turn};
use crate::cache::{AnswerCache, CacheConfig, CacheKey};
use crate::cross_check::{CrossCheckVerdict, ModelSide, cross_check};
use crate::error::{Error, Result};
use crate::summary::{describe_result, follow_up_changes, summarize};

/// Longest question accepted, in characters. Real questions are a sentence or two; longer
/// input is almost always pasted data or an injection attempt.
pub const MAX_QUESTION_CHARS: usize = 1000;

/// Stack size a thread that runs the pipeline needs: planning a query (sqlparser and
/// DataFusion recurse over the syntax tree) overflows the default 2 MiB in debug builds.
pub const PIPELINE_STACK_BYTES: usize = 16 * 1024 * 1024;

/// A multi-threaded runtime (all drivers enabled) whose workers have
/// [`PIPELINE_STACK_BYTES`] of stack, for programs and tests that run the pipeline.
pub fn pipeline_runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().enable_all().thread_stack_size(PIPELINE_STACK_BYTES).build()
}

/// The pipeline's own settings: what its tail does with an answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AnswerConfig {
    /// Let the model write the summary of its answers from a sample of the result.
    pub model_summary: bool,
}

/// Answers questions and runs SQL over one snapshot.
pub struct Pipeline {
    snapshot: Snapshot,
    layer: SemanticLayer,
    policy: SqlPolicy,
    executor: Arc<dyn SnapshotExecutor>,
    router: SynthesisRouter,
    config: AnswerConfig,
    cache: Option<AnswerCache>,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("snapshot", &self.snapshot.manifest.id)
            .field("layer", &self.layer.name)
            .finish()
    }
}

/// SQL that passed the policy and ran: the text that ran, the policy's dialect notes, the
/// result and how long each step took.
pub(crate) struct Ran {
    sql: String,
    notes: Vec<String>,
    result: QueryResult,
    validate_ms: f64,
    execute_ms: f64,
}

impl Pipeline {
    /// A pipeline from its parts, with DataFusion in process as the executor; the layer
    /// should already be validated against the snapshot.
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

    /// A pipeline over any executor (in worker processes, distributed, or a test double),
    /// answering with the built-in planner alone until [`Pipeline::with_model`].
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
            let key: Vec<&str> = table.primary_key.iter().map(String::as_str).collect();
            catalog.set_primary_key(&table.name, &key);
        }
        for (table, column) in layer.personal_columns() {
            catalog.mark_personal(&table, &column);
        }
        let semantics = match snapshot.manifest.dialect() {
            SourceDialect::Sqlite => SourceSemantics::SQLITE,
            SourceDialect::Csv | SourceDialect::Parquet => SourceSemantics::NATIVE,
        };
        let mut layer = layer;
        layer.fill_column_kinds(&snapshot);
        let planner = SemanticPlanner::new(layer.clone(), snapshot.manifest.as_of, snapshot.manifest.id.clone());
        let router = SynthesisRouter::new(BuiltinSynthesizer::new(planner, layer.clone()), SynthesisConfig::default());
        Self {
            policy: SqlPolicy::new(catalog, policy).with_semantics(semantics),
            executor,
            router,
            snapshot,
            layer,
            config: AnswerConfig::default(),
            cache: None,
        }
    }

    /// Grounds the words the built-in planner does not know through `index` (the retrieval
    /// index `quarry search` uses).
    pub fn with_grounding(mut self, index: Arc<LazyIndex>) -> Self {
        self.router.builtin_mut().set_grounding(index);
        self
    }

    /// The built-in planner with another confidence model (e.g. one fitted on your own
    /// questions with `quarry eval calibrate`).
    pub fn with_confidence_model(mut self, model: ConfidenceModel) -> Self {
        self.router.builtin_mut().set_confidence_model(model);
        self
    }

    /// Routes questions to `model` as `synthesis` says (see [`quarry_synth::Route`]).
    pub fn with_model(mut self, model: ModelRoute, synthesis: SynthesisConfig) -> Self {
        let synthesizer = ModelSynthesizer::new(model.model, self.layer.clone(), self.snapshot.manifest.clone());
        self.router.set_model(Arc::new(synthesizer), model.index);
        self.router.set_config(synthesis);
        self
    }

    /// The router's settings without a model (the confidence threshold below which the
    /// planner asks back).
    pub fn with_synthesis(mut self, synthesis: SynthesisConfig) -> Self {
        self.router.set_config(synthesis);
        self
    }

    /// The pipeline's own settings.
    pub fn with_config(mut self, config: AnswerConfig) -> Self {
        self.config = config;
        self
    }

    /// Keeps answers in an [`AnswerCache`] with the limits of `config` (none when it is
    /// not enabled); a pipeline built from its parts has no cache until this is called.
    pub fn with_cache(mut self, config: &CacheConfig) -> Self {
        self.cache = config.enabled.then(|| AnswerCache::new(config));
        self
    }

    /// The answer cache, when there is one.
    pub fn cache(&self) -> Option<&AnswerCache> {
        self.cache.as_ref()
    }

    /// The snapshot answers come from.
    pub fn snapshot(&self) -> &Snapshot {
        &self.snapshot
    }

    /// The semantic layer.
    pub fn layer(&self) -> &SemanticLayer {
        &self.layer
    }

    /// Whether the retrieval index of the model route can be searched; `None` without a model.
    pub fn retrieval_status(&self) -> Option<quarry_retrieve::IndexStatus> {
        self.router.index().map(|index| index.status())
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
            sql_notes: validated.notes,
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
        self.ask_with_progress(question, conversation, &quarry_synth::silent).await
    }

    /// [`Pipeline::ask`], telling `progress` as each [`Stage`](crate::Stage) starts. A
    /// question answered before on this snapshot in the same conversation state comes from
    /// the cache (with [`Answer::cached`] set) when the pipeline has one.
    pub async fn ask_with_progress(
        &self,
        question: &str,
        conversation: &mut Conversation,
        progress: &dyn Progress,
    ) -> Result<Answer> {
        let started = Instant::now();
        let question = match clean_question(question, MAX_QUESTION_CHARS) {
            Err(Error::BadQuestion(message)) if message.starts_with(EMPTY_QUESTION) => {
                return Err(Error::BadQuestion(format!(
                    "{EMPTY_QUESTION}; ask with the names of {}",
                    layer_words(&self.layer)
                )));
            }
            cleaned => cleaned?,
        };
        let Some(cache) = &self.cache else {
            return self.answer_uncached(started, question, conversation, progress).await;
        };
        let key = CacheKey::new(&self.snapshot.manifest.id, &question, conversation);
        if let Some(kept) = cache.get(&key) {
            let mut answer = Answer::clone(&kept);
            answer.question = question.clone();
            answer.cached = true;
            let elapsed = ms(started);
            answer.timings_ms = BTreeMap::from([("cache".to_string(), elapsed), ("total".to_string(), elapsed)]);
            record_turn(conversation, question, &answer);
            return Ok(answer);
        }
        let answer = self.answer_uncached(started, question, conversation, progress).await?;
        // A fallback's note means something failed (the model, its summary), and so does a
        // cross-check the model could not take part in: ask again next time.
        let unchecked = answer.cross_check.as_ref().is_some_and(|c| c.verdict == CrossCheckVerdict::Unchecked);
        if answer.notes.is_empty() && !unchecked {
            cache.insert(key, Arc::new(answer.clone()));
        }
        Ok(answer)
    }

    /// Routes `question` (already cleaned) to a synthesizer, runs what it wrote, and fills
    /// the answer, continuing `conversation`.
    async fn answer_uncached(
        &self,
        started: Instant,
        question: String,
        conversation: &mut Conversation,
        progress: &dyn Progress,
    ) -> Result<Answer> {
        // "… as a pie" asks for a chart type; the planner reads the question without it.
        let (planned, requested_chart) = quarry_chart::requested_chart_type(&question);
        let turns: Vec<TurnContext> = conversation
            .turns
            .iter()
            .map(|turn| TurnContext {
                question: turn.question.clone(),
                sql: turn.sql.clone(),
                summary: turn.summary.clone(),
            })
            .collect();
        // A follow-up ("and in 2024?") is about what the turn before was about.
        let search_text = match conversation.turns.last() {
            Some(last) => format!("{} {question}", last.question),
            None => question.clone(),
        };
        let asked = Question {
            text: &planned,
            asked: &question,
            previous: conversation.context(),
            turns: &turns,
            search_text: &search_text,
        };
        let routed =
            self.router.route(asked, progress, |sql| self.run_candidate(sql, progress)).await.map_err(|error| {
                match error {
                    RouteError::Run(error) => error,
                    RouteError::Model(failure) => Error::from(failure),
                }
            })?;
        let mut answer = Answer::empty(question.clone(), self.snapshot.manifest.id.clone());
        let mut timings = Timings::new();
        self.fill(&mut answer, routed, requested_chart, conversation, &mut timings, progress).await;
        timings.insert("total".into(), ms(started));
        answer.timings_ms = timings;
        record_turn(conversation, question, &answer);
        Ok(answer)
    }

    /// The policy, then the executor (which plans before it runs): the one way a candidate's
    /// SQL is run, whichever route wrote it.
    pub(crate) async fn run_candidate(&self, sql: String, progress: &dyn Progress) -> Result<Ran> {
        progress.stage(StageEvent { stage: Stage::Validate, attempt: None });
        let started = Instant::now();
        let validated = self.policy.check(&sql)?;
        let validate_ms = ms(started);
        progress.stage(StageEvent { stage: Stage::Execute, attempt: None });
        let result = self.executor.execute(&validated).await?;
        let execute_ms = result.timings.plan_ms + result.timings.execute_ms;
        Ok(Ran { sql: validated.sql, notes: validated.notes, result, validate_ms, execute_ms })
    }

    /// The one place an [`Answer`] is filled, whichever route answered: how it came about,
    /// then the candidate's run summarized and charted, then the cross-check.
    async fn fill(
        &self,
        answer: &mut Answer,
        routed: Routed<Ran>,
        requested_chart: Option<quarry_chart::ChartKind>,
        conversation: &Conversation,
        timings: &mut Timings,
        progress: &dyn Progress,
    ) {
        timings.extend(routed.timings);
        answer.route = routed.route;
        answer.attempts = routed.attempts;
        answer.attempt_log = routed.attempt_log;
        answer.tokens = routed.tokens;
        answer.retrieval_hits = routed
            .hits
            .iter()
            .map(|hit| RetrievedHit { id: hit.id.clone(), kind: hit.kind.as_str().to_string(), score: hit.score })
            .collect();
        if let Some(error) = routed.retrieval_error {
            answer.notes.push(format!(
                "retrieval was unavailable ({error}); the model was shown the semantic layer without retrieval hits, \
                 so check the answer, and check the vector store ([retrieval] store)"
            ));
        }
        answer.notes.extend(routed.notes);
        match routed.outcome {
            RoutedOutcome::Clarify { question, options } => {
                answer.status = AnswerStatus::NeedsClarification;
                answer.summary = question.clone();
                answer.clarification = Some(Clarification { question, options });
            }
            RoutedOutcome::CannotAnswer { message } => {
                answer.status = AnswerStatus::CannotAnswer;
                answer.summary = message.clone();
                answer.message = Some(message);
            }
            RoutedOutcome::Refused { message } => {
                answer.status = AnswerStatus::CannotAnswer;
                answer.summary = format!("The model says the data cannot answer this: {message}");
                answer.message = Some(message);
            }
            RoutedOutcome::Ran { candidate, ran } => {
                self.fill_ran(answer, *candidate, ran, requested_chart, conversation.context(), timings, progress)
                    .await;
            }
        }
        if let Some(second) = routed.second {
            self.cross_check(answer, second, conversation, timings);
        }
    }

    /// The tail of a candidate that ran: summarize, chart, and keep the SQL, the rows and
    /// how the question was read.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn fill_ran(
        &self,
        answer: &mut Answer,
        candidate: Candidate,
        ran: Ran,
        requested_chart: Option<quarry_chart::ChartKind>,
        previous: Option<&SemanticQuery>,
        timings: &mut Timings,
        progress: &dyn Progress,
    ) {
        timings.insert("validate".into(), ran.validate_ms);
        timings.insert("execute".into(), ran.execute_ms);
        let json = ran.result.to_json();
        progress.stage(StageEvent { stage: Stage::Summarize, attempt: None });
        let summarize_started = Instant::now();
        // A follow-up's summary and chart title say what it changed.
        let changes = candidate
            .plan()
            .filter(|plan| plan.explanation.follow_up)
            .and_then(|plan| previous.and_then(|previous| follow_up_changes(&self.layer, &plan.query, Some(previous))));
        answer.summary = match candidate.plan() {
            Some(plan) => summarize(&self.layer, plan, &json, ran.result.truncated, changes.as_deref()),
            None => describe_result(&json, ran.result.truncated),
        };
        if candidate.plan().is_none()
            && self.config.model_summary
            && let Some(model) = self.router.model()
        {
            let columns: Vec<String> = json.columns.iter().map(|c| c.name.clone()).collect();
            let sample: Vec<Vec<serde_json::Value>> = json.rows.iter().take(20).cloned().collect();
            match model.summarize(&answer.question, &columns, &sample, &ran.sql).await {
                Ok(Some((summary, usage))) => {
                    answer.summary = summary;
                    *answer.tokens.get_or_insert_with(Default::default) += usage;
                }
                Ok(None) => {}
                Err(error) => answer.notes.push(format!("the model's summary failed ({error}); a template wrote it")),
            }
        }
        timings.insert("summarize".into(), ms(summarize_started));
        progress.stage(StageEvent { stage: Stage::Chart, attempt: None });
        let chart_started = Instant::now();
        let title = match &changes {
            Some(changes) => format!("{} ({changes})", answer.question),
            None => answer.question.clone(),
        };
        let spec = match &candidate.chart {
            Some(ChartIntent::Spec(spec)) => Some(spec),
            Some(ChartIntent::FromReading) | None => None,
        };
        let chart = match candidate.plan() {
            Some(plan) => crate::chart::answer_chart(&self.layer, plan, &ran.result, &title, requested_chart, spec),
            None => crate::chart::result_chart(&ran.result, &title, requested_chart, spec),
        };
        if let Some(fallback) = &chart.fallback {
            answer.notes.push(format!("{fallback}; the built-in chooser drew the chart"));
        }
        answer.chart = Some(chart);
        timings.insert("chart".into(), ms(chart_started));
        answer.sql = Some(ran.sql);
        answer.sql_notes = ran.notes;
        answer.columns = json.columns;
        answer.rows = json.rows;
        answer.truncated = ran.result.truncated;
        answer.confidence = candidate.confidence;
        match candidate.reading {
            CandidateReading::Planner(plan) => {
                answer.explanation = Some(plan.explanation);
                answer.query = Some(plan.query);
            }
            CandidateReading::Model { explanation } => answer.model_explanation = Some(explanation),
            // The caller marks the answer with who verified the SQL.
            CandidateReading::Verified { .. } => {}
        }
        answer.result = Some(ran.result);
    }

    /// The model's route, run beside the planner's, compared with the planner's answer (see
    /// [`crate::cross_check`]). The planner's answer is given, marked with the verdict; when
    /// the routes disagree it asks back with both readings instead of picking one. A model
    /// that fails leaves the answer unchecked, never without an answer.
    fn cross_check(
        &self,
        answer: &mut Answer,
        second: SecondRoute<Ran>,
        conversation: &Conversation,
        timings: &mut Timings,
    ) {
        timings.insert("cross_check".into(), second.ms);
        if !matches!(second.outcome, Err(ModelFailure::Synthesis(_))) {
            *answer.tokens.get_or_insert_with(Default::default) += second.tokens;
        }
        let side = match &second.outcome {
            Ok((candidate, ran)) => ModelSide::Ran {
                sql: &ran.sql,
                result: &ran.result,
                reading: candidate.model_explanation().unwrap_or_default(),
            },
            Err(failure @ ModelFailure::Refused { .. }) => ModelSide::Nothing(failure_message(failure)),
            Err(failure) => ModelSide::Nothing(format!("the model could not answer ({})", failure_message(failure))),
        };
        let check = cross_check(
            answer.sql.as_deref(),
            answer.result.as_ref(),
            answer.explanation.as_ref(),
            second.by,
            side,
            second.ms,
        );
        if check.verdict == CrossCheckVerdict::Disagree {
            let options = match &answer.query {
                Some(query) => self.router.builtin().planner().interpreter().readings(query, conversation.context()),
                None => Vec::new(),
            };
            let ask_back = format!(
                "Two independent routes got different results for this question. The built-in planner read it as {}; \
                 the model read it as: {} Which did you mean?",
                check.planner_reading.as_deref().unwrap_or("its reading"),
                check.model_reading.as_deref().unwrap_or_default().trim()
            );
            answer.status = AnswerStatus::NeedsClarification;
            answer.summary = ask_back.clone();
            answer.clarification = Some(Clarification { question: ask_back, options });
        }
        answer.cross_check = Some(check);
    }
}

pub(crate) fn record_turn(conversation: &mut Conversation, question: String, answer: &Answer) {
    conversation.turns.push(Turn {
        question,
        query: answer.query.clone(),
        sql: answer.sql.clone(),
        summary: answer.summary.clone(),
    });
}

/// The start of the refusal of an empty question.
const EMPTY_QUESTION: &str = "the question is empty";

pub(crate) fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1e3
}

/// Trims the question, removes control characters and refuses empty input or input longer
/// than `max_chars` characters (the pipeline's own limit is [`MAX_QUESTION_CHARS`]).
pub fn clean_question(question: &str, max_chars: usize) -> Result<String> {
    let cleaned: String = question.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    let cleaned = cleaned.split_whitespace().collect::<Vec<_>>().join(" ");
    if cleaned.is_empty() {
        // Without the layer at hand, no example: a pipeline names its own (see `layer_words`).
        return Err(Error::BadQuestion(format!("{EMPTY_QUESTION}; ask about a metric of your data")));
    }
    let length = cleaned.chars().count();
    if length > max_chars {
        return Err(Error::BadQuestion(format!(
            "the question is {length} characters long; the limit is {max_chars}. Ask one question in a sentence or two"
        )));
    }
    Ok(cleaned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_question_names_no_example_of_another_layer() {
        let error = clean_question(" \n\t ", MAX_QUESTION_CHARS).unwrap_err().to_string();
        assert!(error.contains(EMPTY_QUESTION), "{error}");
        assert!(!error.contains("signups"), "{error}");
    }
}
