use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use quarry_exec::{DataFusionExecutor, ExecutorConfig, SnapshotExecutor};
use quarry_retrieve::LazyIndex;
use quarry_semantic::SemanticLayer;
use quarry_settings::{CacheSettings, Route, Settings, SynthesisSettings};
use quarry_snapshot::{Snapshot, SourceDialect};
use quarry_sqlguard::{Catalog, PolicyConfig, SourceSemantics, SqlPolicy};
use quarry_synth::{PlanOutcome, SemanticPlanner, SemanticQuery};

use crate::answer::{Answer, AnswerStatus, Clarification, Conversation, SqlAnswer, Timings, Turn};
use crate::bootstrap::{resolve_layer, resolve_snapshot};
use crate::cache::{AnswerCache, CacheKey};
use crate::cross_check::{CrossCheckVerdict, ModelSide, cross_check};
use crate::error::{Error, ErrorKind, Result};
use crate::model_route::{Attempt, CheckedRun, ModelFailure, ModelPath, ModelRoute, ModelTrace};
use crate::stage::{Progress, Stage, StageEvent};
use crate::summary::{follow_up_changes, summarize};

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

/// Answers questions and runs SQL over one snapshot.
pub struct Pipeline {
    snapshot: Snapshot,
    layer: SemanticLayer,
    policy: SqlPolicy,
    executor: Arc<dyn SnapshotExecutor>,
    planner: SemanticPlanner,
    synthesis: SynthesisSettings,
    model: Option<ModelRoute>,
    /// The retrieval index unknown words of the built-in planner are grounded through.
    grounding: Option<Arc<LazyIndex>>,
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

impl Pipeline {
    /// Everything from settings: the snapshot (generating the demo on first use), its
    /// semantic layer (validated against it), the policy and the executor.
    pub async fn open(settings: &Settings) -> Result<Self> {
        Self::open_snapshot(settings, resolve_snapshot(settings)?).await
    }

    /// A pipeline over a given snapshot, with its semantic layer (see [`resolve_layer`])
    /// validated against it and the policy and executor from settings.
    pub async fn open_snapshot(settings: &Settings, snapshot: Snapshot) -> Result<Self> {
        Self::open_with_verified(settings, snapshot, Vec::new()).await
    }

    /// [`Pipeline::open_snapshot`] with more verified questions (promoted from answers with
    /// `quarry verified add`) added to the layer's, so that retrieval and the model's
    /// examples use them. They were checked by the policy and executor when promoted.
    pub async fn open_with_verified(
        settings: &Settings,
        snapshot: Snapshot,
        verified: Vec<quarry_semantic::VerifiedQuery>,
    ) -> Result<Self> {
        let (mut layer, source) = resolve_layer(settings, &snapshot)?;
        layer.validate_against(&snapshot, &source).await?;
        for extra in verified {
            match layer.verified_queries.iter_mut().find(|v| v.question.eq_ignore_ascii_case(&extra.question)) {
                Some(existing) => *existing = extra,
                None => layer.verified_queries.push(extra),
            }
        }
        // In process or in worker processes, as `[isolation]` says.
        let personal = layer.personal_columns();
        let executor =
            quarry_worker::open_executor(&settings.isolation, &snapshot, &personal, settings.executor.clone()).await?;
        let mut pipeline =
            Self::with_executor(snapshot, layer, settings.policy.clone(), executor).with_cache(&settings.cache);
        pipeline.synthesis = settings.synthesis.clone();
        if let Some(path) = &settings.synthesis.confidence_model {
            let model = load_confidence_model(path)?;
            pipeline.planner = pipeline.planner.with_confidence_model(model);
        }
        let uses_model = settings.synthesis.effective_route() != Route::BuiltinOnly;
        if !uses_model && settings.synthesis.ground_with_index {
            // Opened on the first unknown word: a question the planner reads whole never
            // waits for the index to be built.
            let index = settings.retrieval.lazy_index(&settings.index_dir()?, &pipeline.layer, &pipeline.snapshot);
            pipeline.grounding = Some(Arc::new(index));
        }
        if uses_model {
            let model = quarry_model::OpenAiChatModel::new(settings.model.clone())?;
            let index = settings.retrieval.lazy_index(&settings.index_dir()?, &pipeline.layer, &pipeline.snapshot);
            // Opened now so that a bad setting stops the start; a store or embedding server
            // that is down only costs retrieval until it is back (see `LazyIndex`).
            match index.index().await {
                Ok(_) => {}
                Err(error @ (quarry_retrieve::Error::Config { .. } | quarry_retrieve::Error::Snapshot { .. })) => {
                    return Err(error.into());
                }
                Err(error) => tracing::warn!(
                    %error,
                    "retrieval is unavailable: model prompts are built without its hits until it is back"
                ),
            }
            let index = Arc::new(index);
            if settings.synthesis.ground_with_index {
                pipeline.grounding = Some(index.clone());
            }
            pipeline.model = Some(ModelRoute { model: Arc::new(model), index });
        }
        Ok(pipeline)
    }

    /// Grounds the words the built-in planner does not know through `index` (the retrieval
    /// index `quarry search` uses); [`Pipeline::open`] does this when
    /// `synthesis.ground_with_index` is on.
    pub fn with_grounding(mut self, index: Arc<LazyIndex>) -> Self {
        self.grounding = Some(index);
        self
    }

    /// Routes questions to `model` as `synthesis` says (see [`Route`]).
    pub fn with_model(mut self, model: ModelRoute, synthesis: SynthesisSettings) -> Self {
        self.model = Some(model);
        self.synthesis = synthesis;
        self
    }

    /// Keeps answers in an [`AnswerCache`] with the limits of `settings` (none when it is
    /// not enabled); a pipeline built from its parts has no cache until this is called.
    pub fn with_cache(mut self, settings: &CacheSettings) -> Self {
        self.cache = settings.enabled.then(|| AnswerCache::new(settings));
        self
    }

    /// The answer cache, when there is one.
    pub fn cache(&self) -> Option<&AnswerCache> {
        self.cache.as_ref()
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
        Self {
            policy: SqlPolicy::new(catalog, policy).with_semantics(semantics),
            executor,
            planner,
            snapshot,
            layer,
            synthesis: SynthesisSettings::default(),
            model: None,
            grounding: None,
            cache: None,
        }
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
        self.model.as_ref().map(|model| model.index.status())
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
        self.ask_with_progress(question, conversation, &crate::stage::silent).await
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
            self.record_turn(conversation, question, &answer);
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

    /// Plans, runs and charts `question` (already cleaned), continuing `conversation`.
    async fn answer_uncached(
        &self,
        started: Instant,
        question: String,
        conversation: &mut Conversation,
        progress: &dyn Progress,
    ) -> Result<Answer> {
        let mut timings: BTreeMap<String, f64> = BTreeMap::new();
        progress.stage(StageEvent { stage: Stage::Plan, attempt: None });
        // "… as a pie" asks for a chart type; the planner reads the question without it.
        let (planned, requested_chart) = quarry_chart::requested_chart_type(&question);
        let mut outcome = self.planner.plan(&planned, conversation.context());
        if let Some(index) = &self.grounding {
            outcome = self.ground_unknown_words(index, &planned, conversation.context(), outcome).await;
        }
        timings.insert("plan".into(), ms(started));
        let mut answer = Answer::empty(question.clone(), self.snapshot.manifest.id.clone());
        let route = match (&self.model, self.synthesis.effective_route()) {
            (None, _) => Route::BuiltinOnly,
            (Some(_), route) => route,
        };
        if matches!(route, Route::BuiltinOnly | Route::Auto) {
            outcome = self.ask_back_when_unsure(outcome, conversation.context());
        }
        let builtin_is_enough = match (&outcome, route) {
            (_, Route::BuiltinOnly | Route::Auto) => true,
            (_, Route::ModelOnly) => false,
            // A clarification names options the layer knows: better than a guess by the model.
            (PlanOutcome::Clarify { .. }, _) => true,
            (PlanOutcome::Sql(plan), _) => plan.confidence >= self.synthesis.confidence_threshold,
            (PlanOutcome::CannotAnswer { .. }, _) => false,
        };
        if let (Some(model), PlanOutcome::Sql(_), true) = (&self.model, &outcome, builtin_is_enough)
            && route == Route::BuiltinFirst
            && self.synthesis.cross_check
        {
            let answer = self
                .answer_cross_checked(model, outcome, requested_chart, conversation, answer, &mut timings, progress)
                .await?;
            return Ok(self.finish(started, conversation, question, answer, timings));
        }
        if !builtin_is_enough && let Some(model) = &self.model {
            match self
                .answer_with_model(model, requested_chart, conversation, &mut answer, &mut timings, progress)
                .await
            {
                Ok(()) => {
                    timings.insert("total".into(), ms(started));
                    answer.timings_ms = timings;
                    self.record_turn(conversation, question, &answer);
                    return Ok(answer);
                }
                Err(error) if route == Route::BuiltinFirst => {
                    answer.route = "builtin".into();
                    answer
                        .notes
                        .push(format!("the model could not answer ({error}); this is the built-in planner's answer"));
                }
                Err(error) => return Err(error),
            }
        }
        self.answer_builtin(outcome, conversation.context(), requested_chart, &mut answer, &mut timings, progress)
            .await?;
        timings.insert("total".into(), ms(started));
        answer.timings_ms = timings;
        self.record_turn(conversation, question, &answer);
        Ok(answer)
    }

    /// Words of the question the planner did not know, grounded through the retrieval index:
    /// the question is read again with each replaced by the name it was grounded to, and that
    /// reading is kept when it is surer. The replacement is an assumption of the answer and
    /// counts, for confidence, as a correction.
    async fn ground_unknown_words(
        &self,
        index: &LazyIndex,
        question: &str,
        context: Option<&SemanticQuery>,
        outcome: PlanOutcome,
    ) -> PlanOutcome {
        let unknown: Vec<String> = match &outcome {
            PlanOutcome::Sql(plan) => plan.explanation.evidence.unknown_words.clone(),
            PlanOutcome::CannotAnswer { not_understood, .. } => {
                not_understood.iter().filter(|w| !w.contains(' ')).cloned().collect()
            }
            PlanOutcome::Clarify { .. } => Vec::new(),
        };
        if unknown.is_empty() {
            return outcome;
        }
        let groundings = crate::grounding::ground_words(index, &self.layer, &unknown).await;
        if groundings.is_empty() {
            return outcome;
        }
        let mut grounded = self.planner.plan(&crate::grounding::rewrite(question, &groundings), context);
        let PlanOutcome::Sql(plan) = &mut grounded else { return outcome };
        // A word grounded to a concept two joins away ("onboard" to the onboarding experiment
        // in a question about accounts) more likely names something else.
        let far_before = match &outcome {
            PlanOutcome::Sql(before) => before.explanation.evidence.far_joins,
            _ => 0,
        };
        if plan.explanation.evidence.far_joins > far_before {
            return outcome;
        }
        plan.explanation.evidence.corrections += groundings.len();
        plan.confidence = self.planner.confidence_of(&plan.explanation.evidence);
        if let PlanOutcome::Sql(before) = &outcome
            && before.confidence >= plan.confidence
        {
            return outcome;
        }
        for grounding in &groundings {
            plan.explanation.assumptions.push(format!(
                "read '{}' as '{}' (grounded in the retrieval index: {})",
                grounding.word, grounding.phrase, grounding.id
            ));
        }
        grounded
    }

    /// Without a model to route to, a reading below the confidence threshold is not answered
    /// as if sure: quarry offers its readings to choose from, or says what it did not
    /// understand when none can be offered.
    fn ask_back_when_unsure(&self, outcome: PlanOutcome, context: Option<&SemanticQuery>) -> PlanOutcome {
        let PlanOutcome::Sql(plan) = &outcome else { return outcome };
        if plan.confidence >= self.synthesis.confidence_threshold {
            return outcome;
        }
        let unclear = &plan.explanation.evidence.unknown_words;
        let doubt = if unclear.is_empty() {
            "I am not sure I read this question right".to_string()
        } else {
            format!("I did not understand '{}', so I am not sure I read this question right", unclear.join("', '"))
        };
        let options = self.planner.interpreter().readings(&plan.query, context);
        if options.is_empty() {
            return PlanOutcome::CannotAnswer {
                message: format!("{doubt}. Rephrase it with the names of {}.", layer_words(&self.layer)),
                understood: plan.explanation.measures.clone(),
                not_understood: unclear.clone(),
            };
        }
        PlanOutcome::Clarify { question: format!("{doubt}. Did you mean one of these?"), options }
    }

    /// The total time set, the turn recorded: the answer as given.
    fn finish(
        &self,
        started: Instant,
        conversation: &mut Conversation,
        question: String,
        mut answer: Answer,
        mut timings: Timings,
    ) -> Answer {
        timings.insert("total".into(), ms(started));
        answer.timings_ms = timings;
        self.record_turn(conversation, question, &answer);
        answer
    }

    /// The planner's confident `outcome` run beside the model's answer to the same question,
    /// and the two results compared (see [`crate::cross_check`]). The planner's answer is
    /// given, marked with the verdict; when the routes disagree it asks back with both
    /// readings instead of picking one. A model that fails leaves the answer unchecked, never
    /// without an answer.
    #[allow(clippy::too_many_arguments)]
    async fn answer_cross_checked(
        &self,
        model: &ModelRoute,
        outcome: PlanOutcome,
        requested_chart: Option<quarry_chart::ChartKind>,
        conversation: &Conversation,
        mut answer: Answer,
        timings: &mut Timings,
        progress: &dyn Progress,
    ) -> Result<Answer> {
        let question = answer.question.clone();
        let mut model_answer = Answer::empty(question.clone(), self.snapshot.manifest.id.clone());
        let mut model_timings = Timings::new();
        // Side by side: the check costs the slower route's time, not the sum.
        let (planner_run, (model_run, model_ms)) = tokio::join!(
            self.answer_builtin(outcome, conversation.context(), requested_chart, &mut answer, timings, progress),
            async {
                let model_started = Instant::now();
                let run = self
                    .answer_with_model(
                        model,
                        requested_chart,
                        conversation,
                        &mut model_answer,
                        &mut model_timings,
                        progress,
                    )
                    .await;
                (run, ms(model_started))
            }
        );
        planner_run?;
        timings.insert("cross_check".into(), model_ms);
        if let Some(usage) = model_answer.tokens {
            *answer.tokens.get_or_insert_with(Default::default) += usage;
        }
        let side = match (&model_run, &model_answer) {
            (Err(error), _) => ModelSide::Nothing(format!("the model could not answer ({error})")),
            (Ok(()), Answer { status: AnswerStatus::CannotAnswer, summary, .. }) => ModelSide::Nothing(summary.clone()),
            (Ok(()), Answer { sql: Some(sql), result: Some(result), model_explanation, .. }) => {
                ModelSide::Ran { sql, result, reading: model_explanation.as_deref().unwrap_or_default() }
            }
            (Ok(()), _) => ModelSide::Nothing("the model's answer has no result".into()),
        };
        let check = cross_check(
            answer.sql.as_deref(),
            answer.result.as_ref(),
            answer.explanation.as_ref(),
            model.model.model_id(),
            side,
            model_ms,
        );
        if check.verdict == CrossCheckVerdict::Disagree {
            let options = match &answer.query {
                Some(query) => self.planner.interpreter().readings(query, conversation.context()),
                None => Vec::new(),
            };
            let ask_back = format!(
                "Two independent routes got different results for this question. The built-in planner read it as {};                  the model read it as: {} Which did you mean?",
                check.planner_reading.as_deref().unwrap_or("its reading"),
                check.model_reading.as_deref().unwrap_or_default().trim()
            );
            answer.status = AnswerStatus::NeedsClarification;
            answer.summary = ask_back.clone();
            answer.clarification = Some(Clarification { question: ask_back, options });
        }
        answer.cross_check = Some(check);
        Ok(answer)
    }

    fn record_turn(&self, conversation: &mut Conversation, question: String, answer: &Answer) {
        conversation.turns.push(Turn {
            question,
            query: answer.query.clone(),
            sql: answer.sql.clone(),
            summary: answer.summary.clone(),
        });
    }

    /// The built-in planner's outcome, run.
    async fn answer_builtin(
        &self,
        outcome: PlanOutcome,
        previous: Option<&SemanticQuery>,
        requested_chart: Option<quarry_chart::ChartKind>,
        answer: &mut Answer,
        timings: &mut Timings,
        progress: &dyn Progress,
    ) -> Result<()> {
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
                progress.stage(StageEvent { stage: Stage::Validate, attempt: None });
                let validate_started = Instant::now();
                let validated = self.policy.check(&plan.sql)?;
                timings.insert("validate".into(), ms(validate_started));
                progress.stage(StageEvent { stage: Stage::Execute, attempt: None });
                let result = self.executor.execute(&validated).await?;
                timings.insert("execute".into(), result.timings.plan_ms + result.timings.execute_ms);
                let json = result.to_json();
                let changes = previous
                    .filter(|_| plan.explanation.follow_up)
                    .and_then(|previous| follow_up_changes(&self.layer, &plan.query, Some(previous)));
                answer.summary = summarize(&self.layer, &plan, &json, result.truncated, changes.as_deref());
                answer.attempt_log.push(Attempt::builtin(plan.sql.clone()));
                answer.sql = Some(validated.sql);
                answer.sql_notes = validated.notes;
                answer.columns = json.columns;
                answer.rows = json.rows;
                answer.truncated = result.truncated;
                progress.stage(StageEvent { stage: Stage::Chart, attempt: None });
                let chart_started = Instant::now();
                // A follow-up's chart says what it changed, as its summary does.
                let title = match &changes {
                    Some(changes) => format!("{} ({changes})", answer.question),
                    None => answer.question.clone(),
                };
                answer.chart =
                    Some(crate::chart::answer_chart(&self.layer, &plan, &result, &title, requested_chart, None));
                timings.insert("chart".into(), ms(chart_started));
                answer.confidence = Some(plan.confidence);
                answer.explanation = Some(plan.explanation);
                answer.query = Some(plan.query);
                answer.result = Some(result);
            }
        }
        Ok(())
    }

    /// The policy, then the executor (which plans before it runs): the SQL that ran and its
    /// result, or the error code and message to give back to the model.
    async fn check_and_run(
        &self,
        sql: String,
        progress: &dyn Progress,
    ) -> std::result::Result<CheckedRun, (String, String)> {
        progress.stage(StageEvent { stage: Stage::Validate, attempt: None });
        let validated =
            self.policy.check(&sql).map_err(|e| (ErrorKind::from(&e).as_str().to_string(), e.to_string()))?;
        progress.stage(StageEvent { stage: Stage::Execute, attempt: None });
        let result = self
            .executor
            .execute(&validated)
            .await
            .map_err(|e| (ErrorKind::from(&e).as_str().to_string(), e.to_string()))?;
        Ok(CheckedRun { sql: validated.sql, notes: validated.notes, result })
    }

    /// The model path (see [`crate::model_route`]) for `answer`'s question; fills `answer`.
    async fn answer_with_model(
        &self,
        model: &ModelRoute,
        requested_chart: Option<quarry_chart::ChartKind>,
        conversation: &Conversation,
        answer: &mut Answer,
        timings: &mut Timings,
        progress: &dyn Progress,
    ) -> Result<()> {
        let question = answer.question.clone();
        let question = question.as_str();
        let path = ModelPath {
            route: model,
            layer: &self.layer,
            manifest: &self.snapshot.manifest,
            retrieval_hits: self.synthesis.retrieval_hits,
            max_repairs: self.synthesis.max_repairs,
        };
        let mut trace = ModelTrace::default();
        let outcome = path
            .answer(question, conversation, &mut trace, timings, progress, |sql| async move {
                self.check_and_run(sql, progress).await
            })
            .await;
        answer.route = model.model.model_id();
        answer.retrieval_hits = trace.hits;
        if let Some(error) = trace.retrieval_error {
            answer.notes.push(format!(
                "retrieval was unavailable ({error}); the model was shown the semantic layer without retrieval hits, \
                 so check the answer, and check the vector store ([retrieval] store)"
            ));
        }
        answer.attempts = u32::try_from(trace.attempts.len()).unwrap_or(u32::MAX);
        answer.attempt_log = trace.attempts;
        match outcome {
            Ok(done) => {
                progress.stage(StageEvent { stage: Stage::Summarize, attempt: None });
                let started = Instant::now();
                let json = done.result.to_json();
                answer.summary = crate::summary::describe_result(&json, done.result.truncated);
                if self.synthesis.model_summary {
                    let columns: Vec<String> = json.columns.iter().map(|c| c.name.clone()).collect();
                    let sample: Vec<Vec<serde_json::Value>> = json.rows.iter().take(20).cloned().collect();
                    match model.model.write_summary(question, &columns, &sample, &done.sql).await {
                        Ok((summary, usage)) => {
                            answer.summary = summary;
                            *answer.tokens.get_or_insert_with(Default::default) += usage;
                        }
                        Err(error) => {
                            answer.notes.push(format!("the model's summary failed ({error}); a template wrote it"))
                        }
                    }
                }
                timings.insert("summarize".into(), ms(started));
                progress.stage(StageEvent { stage: Stage::Chart, attempt: None });
                let chart_started = Instant::now();
                let chart = crate::chart::result_chart(&done.result, question, requested_chart, done.chart.as_ref());
                if let Some(fallback) = &chart.fallback {
                    answer.notes.push(format!("{fallback}; the built-in chooser drew the chart"));
                }
                answer.chart = Some(chart);
                timings.insert("chart".into(), ms(chart_started));
                *answer.tokens.get_or_insert_with(Default::default) += done.usage;
                answer.sql = Some(done.sql);
                answer.sql_notes = done.sql_notes;
                answer.columns = json.columns;
                answer.rows = json.rows;
                answer.truncated = done.result.truncated;
                answer.model_explanation = Some(done.explanation);
                answer.result = Some(done.result);
                Ok(())
            }
            Err(ModelFailure::Refused { message, usage }) => {
                answer.tokens = Some(usage);
                answer.status = AnswerStatus::CannotAnswer;
                answer.summary = format!("The model says the data cannot answer this: {message}");
                answer.message = Some(message);
                Ok(())
            }
            Err(ModelFailure::Exhausted { last_error, usage }) => {
                answer.tokens = Some(usage);
                Err(Error::RepairsExhausted { attempts: answer.attempts, last_error })
            }
            Err(ModelFailure::Error(error)) => Err(error),
        }
    }
}

/// How a refusal names what can be asked: a few of the layer's own metrics and dimensions (never
/// another layer's, e.g. the demo's, which would mislead on imported data).
fn layer_words(layer: &SemanticLayer) -> String {
    const SHOWN: usize = 4;
    let metrics: Vec<String> = layer.metrics.iter().take(SHOWN).map(|m| m.display_name().to_lowercase()).collect();
    let dimensions: Vec<String> =
        layer.dimensions.iter().take(SHOWN).map(|d| d.display_name().to_lowercase()).collect();
    match (metrics.is_empty(), dimensions.is_empty()) {
        (false, false) => {
            format!("metrics (e.g. {}) and dimensions (e.g. {})", metrics.join(", "), dimensions.join(", "))
        }
        (false, true) => format!("metrics (e.g. {}) and columns of its tables", metrics.join(", ")),
        (true, false) => format!("dimensions (e.g. {}) and columns of its tables", dimensions.join(", ")),
        (true, true) => "its tables and columns (the semantic layer defines no metrics yet)".to_string(),
    }
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

/// A confidence model written by `quarry eval calibrate`.
fn load_confidence_model(path: &std::path::Path) -> Result<quarry_synth::ConfidenceModel> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| Error::ConfidenceModel { path: path.display().to_string(), reason: error.to_string() })?;
    serde_json::from_str(&text)
        .map_err(|error| Error::ConfidenceModel { path: path.display().to_string(), reason: error.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_name_the_layers_own_metrics_and_dimensions() {
        let demo = SemanticLayer::demo();
        let words = layer_words(&demo);
        let first_metric = demo.metrics[0].display_name().to_lowercase();
        let first_dimension = demo.dimensions[0].display_name().to_lowercase();
        assert!(words.contains(&first_metric) && words.contains(&first_dimension), "{words}");
        let mut own = demo.clone();
        own.metrics.truncate(1);
        own.metrics[0].label = "Number of concerts".into();
        own.dimensions.clear();
        let words = layer_words(&own);
        assert_eq!(words, "metrics (e.g. number of concerts) and columns of its tables");
        own.metrics.clear();
        assert!(!layer_words(&own).contains("e.g."), "{}", layer_words(&own));
    }

    #[test]
    fn an_empty_question_names_no_example_of_another_layer() {
        let error = clean_question(" \n\t ", MAX_QUESTION_CHARS).unwrap_err().to_string();
        assert!(error.contains(EMPTY_QUESTION), "{error}");
        assert!(!error.contains("signups"), "{error}");
    }
}
