//! The router: which synthesizer answers a question, and the model's bounded repairs.
//!
//! Under `builtin-first` the built-in planner answers when its confidence clears the
//! threshold and the model otherwise (and the planner's answer, where there is one, when the
//! model fails); `model-only` always asks the model; `builtin-only` never does, and asks back
//! with its readings when it is unsure. A model's SQL is run by the caller's runner (policy,
//! plan, execution); each error goes back to the model, at most `max_repairs` times. With
//! `cross_check`, a question the planner answers on its own is given to the model as well,
//! beside it, and both results come back for the caller to compare.
//!
//! Running SQL is the caller's: the router is given a runner and gets back whatever it
//! returns, so that both routes' SQL meets one tail (validate, execute, chart, summarize,
//! record) outside this crate.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use quarry_model::{FailedAttempt, OpenAiChatModel, TokenUsage};
use quarry_retrieve::{Hit, LazyIndex};
use serde::{Deserialize, Serialize};

use crate::planner::PlanOutcome;
use crate::query::SemanticQuery;
use crate::stage::{Progress, Stage, StageEvent};
use crate::synthesizer::{
    Attempt, BuiltinSynthesizer, Candidate, SqlSynthesizer, Synthesis, SynthesisError, SynthesisRequest,
    planner_candidate, synthesis_of,
};

/// Milliseconds per stage.
pub type Timings = BTreeMap<String, f64>;

/// How the router picks the synthesizer for a question.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Route {
    /// `builtin-first` when a model is configured, `builtin-only` otherwise.
    Auto,
    /// The built-in planner when its confidence clears the threshold, the model otherwise
    /// (and the built-in answer, where there is one, when the model fails).
    BuiltinFirst,
    /// Always the model.
    ModelOnly,
    /// Never the model.
    BuiltinOnly,
}

/// The router's settings (the `[synthesis]` section of quarry's settings, less what only
/// opening the pipeline needs).
#[derive(Debug, Clone, PartialEq)]
pub struct SynthesisConfig {
    /// How the router picks between the built-in planner and the model.
    pub route: Route,
    /// The built-in planner answers when its confidence is at least this.
    pub confidence_threshold: f64,
    /// Corrections the model may make after its SQL is refused or fails to plan.
    pub max_repairs: usize,
    /// Retrieval hits the model's prompt is built from.
    pub retrieval_hits: usize,
    /// Under builtin-first with a model, ask the model too when the planner answers on its own.
    pub cross_check: bool,
}

impl Default for SynthesisConfig {
    fn default() -> Self {
        Self { route: Route::Auto, confidence_threshold: 0.8, max_repairs: 2, retrieval_hits: 24, cross_check: true }
    }
}

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

/// An error of running a candidate's SQL, as the model is told of it.
pub trait Rejection: std::fmt::Display {
    /// The error code (`policy_rejected`, `plan_error`, …).
    fn code(&self) -> String;
}

/// The question as the router is given it.
#[derive(Debug, Clone, Copy)]
pub struct Question<'a> {
    /// The question the planner reads: without a requested chart type ("… as a pie").
    pub text: &'a str,
    /// The question as asked, which the model is given whole.
    pub asked: &'a str,
    /// The typed reading of the last answered turn.
    pub previous: Option<&'a SemanticQuery>,
    /// The turns so far, oldest first.
    pub turns: &'a [quarry_model::TurnContext],
    /// What retrieval searches: the question, after the previous one for a follow-up.
    pub search_text: &'a str,
}

/// How a routed question ended.
#[derive(Debug)]
pub enum RoutedOutcome<T> {
    /// A candidate that ran, and what the runner returned.
    Ran {
        /// The candidate.
        candidate: Box<Candidate>,
        /// The runner's result.
        ran: T,
    },
    /// A question back to the user.
    Clarify {
        /// The question.
        question: String,
        /// Questions the user can pick instead.
        options: Vec<String>,
    },
    /// The planner could not map the question.
    CannotAnswer {
        /// A sentence for the user.
        message: String,
    },
    /// The model says the data cannot answer the question.
    Refused {
        /// The model's reason.
        message: String,
    },
}

/// The second route of a cross-checked answer: the model, asked beside the planner.
#[derive(Debug)]
pub struct SecondRoute<T> {
    /// The model's id.
    pub by: String,
    /// Its candidate and run, or why it gave none.
    pub outcome: Result<(Box<Candidate>, T), ModelFailure>,
    /// Tokens and cost of the model's calls.
    pub tokens: TokenUsage,
    /// Milliseconds the model's route took.
    pub ms: f64,
}

/// A routed question: the outcome and everything the audit record keeps of how it came about.
#[derive(Debug)]
pub struct Routed<T> {
    /// How it ended.
    pub outcome: RoutedOutcome<T>,
    /// The model's route beside the planner's, when the answer was cross-checked.
    pub second: Option<SecondRoute<T>>,
    /// Who answered: `builtin` or the model's id.
    pub route: String,
    /// Attempts at SQL counted for the answer (the model's, when it was asked).
    pub attempts: u32,
    /// Every attempt, with who wrote it and why it was stopped.
    pub attempt_log: Vec<Attempt>,
    /// What retrieval found for the model's prompt.
    pub hits: Vec<Hit>,
    /// Why retrieval gave nothing, when it failed.
    pub retrieval_error: Option<String>,
    /// Tokens and cost of the model calls, when a model was asked.
    pub tokens: Option<TokenUsage>,
    /// What the user should know of how the answer came about (a fallback).
    pub notes: Vec<String>,
    /// Milliseconds of `plan`, `retrieve` and `synthesize`.
    pub timings: Timings,
}

/// Why the model's route gave no result.
#[derive(Debug)]
pub enum ModelFailure {
    /// The model says the data cannot answer the question.
    Refused {
        /// The model's reason.
        message: String,
    },
    /// Every SQL the model wrote was stopped by the runner.
    Exhausted {
        /// Attempts made.
        attempts: u32,
        /// Why the last one was stopped.
        last_error: String,
    },
    /// The model failed.
    Synthesis(SynthesisError),
}

/// Why the router gave no outcome.
#[derive(Debug)]
pub enum RouteError<E> {
    /// The runner refused the built-in planner's SQL (the planner is not repaired).
    Run(E),
    /// The model's route failed where no other route stands in for it.
    Model(ModelFailure),
}

/// What the model's route looked at, kept whatever the outcome.
#[derive(Default)]
struct ModelTrace {
    hits: Vec<Hit>,
    attempts: Vec<Attempt>,
    retrieval_error: Option<String>,
    tokens: TokenUsage,
}

/// Picks the synthesizer for each question (see the module documentation).
pub struct SynthesisRouter {
    builtin: BuiltinSynthesizer,
    model: Option<(Arc<dyn SqlSynthesizer>, Arc<LazyIndex>)>,
    config: SynthesisConfig,
}

impl std::fmt::Debug for SynthesisRouter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SynthesisRouter")
            .field("model", &self.model.as_ref().map(|(model, _)| model.id()))
            .field("config", &self.config)
            .finish()
    }
}

impl SynthesisRouter {
    /// A router with the built-in planner alone.
    pub fn new(builtin: BuiltinSynthesizer, config: SynthesisConfig) -> Self {
        Self { builtin, model: None, config }
    }

    /// Routes to `model` too, its prompts built from what `index` finds.
    pub fn with_model(mut self, model: Arc<dyn SqlSynthesizer>, index: Arc<LazyIndex>) -> Self {
        self.set_model(model, index);
        self
    }

    /// [`SynthesisRouter::with_model`] in place.
    pub fn set_model(&mut self, model: Arc<dyn SqlSynthesizer>, index: Arc<LazyIndex>) {
        self.model = Some((model, index));
    }

    /// The built-in synthesizer.
    pub fn builtin(&self) -> &BuiltinSynthesizer {
        &self.builtin
    }

    /// The built-in synthesizer, to change.
    pub fn builtin_mut(&mut self) -> &mut BuiltinSynthesizer {
        &mut self.builtin
    }

    /// The model, when there is one.
    pub fn model(&self) -> Option<&Arc<dyn SqlSynthesizer>> {
        self.model.as_ref().map(|(model, _)| model)
    }

    /// The model's retrieval index, when there is a model.
    pub fn index(&self) -> Option<&Arc<LazyIndex>> {
        self.model.as_ref().map(|(_, index)| index)
    }

    /// The settings.
    pub fn config(&self) -> &SynthesisConfig {
        &self.config
    }

    /// Replaces the settings.
    pub fn set_config(&mut self, config: SynthesisConfig) {
        self.config = config;
    }

    /// The route in force: `auto` is `builtin-first` with a model, and without one every
    /// route is `builtin-only`.
    pub fn effective_route(&self) -> Route {
        match (&self.model, self.config.route) {
            (None, _) => Route::BuiltinOnly,
            (Some(_), Route::Auto) => Route::BuiltinFirst,
            (Some(_), route) => route,
        }
    }

    /// Routes `question`: synthesizes, runs each candidate with `run` (repairing the
    /// model's), and returns how it ended.
    pub async fn route<T, E, F, Fut>(
        &self,
        question: Question<'_>,
        progress: &dyn Progress,
        run: F,
    ) -> Result<Routed<T>, RouteError<E>>
    where
        E: Rejection,
        F: Fn(String) -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let started = Instant::now();
        let mut timings = Timings::new();
        progress.stage(StageEvent { stage: Stage::Plan, attempt: None });
        let mut outcome = self.builtin.plan(question.text, question.previous).await;
        timings.insert("plan".into(), ms(started));
        let route = self.effective_route();
        if route == Route::BuiltinOnly {
            outcome = self.ask_back_when_unsure(outcome, question.previous);
        }
        let builtin_is_enough = match (&outcome, route) {
            (_, Route::BuiltinOnly | Route::Auto) => true,
            (_, Route::ModelOnly) => false,
            // A clarification names options the layer knows: better than a guess by the model.
            (PlanOutcome::Clarify { .. }, _) => true,
            (PlanOutcome::Sql(plan), _) => plan.confidence >= self.config.confidence_threshold,
            (PlanOutcome::CannotAnswer { .. }, _) => false,
        };
        let mut routed = Routed {
            outcome: RoutedOutcome::CannotAnswer { message: String::new() },
            second: None,
            route: "builtin".into(),
            attempts: 1,
            attempt_log: Vec::new(),
            hits: Vec::new(),
            retrieval_error: None,
            tokens: None,
            notes: Vec::new(),
            timings,
        };
        if let (Some((model, index)), true) = (&self.model, builtin_is_enough)
            && route == Route::BuiltinFirst
            && self.config.cross_check
            && let PlanOutcome::Sql(plan) = outcome
        {
            let candidate = planner_candidate(plan);
            let mut trace = ModelTrace::default();
            let mut model_timings = Timings::new();
            // Side by side: the check costs the slower route's time, not the sum.
            let (planner_run, (model_outcome, model_ms)) = tokio::join!(run(candidate.sql.clone()), async {
                let model_started = Instant::now();
                let outcome = self
                    .model_path(model.as_ref(), index, question, progress, &run, &mut trace, &mut model_timings)
                    .await;
                (outcome, ms(model_started))
            });
            let ran = planner_run.map_err(RouteError::Run)?;
            routed.attempt_log.push(candidate.attempt("ok", None));
            routed.outcome = RoutedOutcome::Ran { candidate, ran };
            routed.second =
                Some(SecondRoute { by: model.id(), outcome: model_outcome, tokens: trace.tokens, ms: model_ms });
            return Ok(routed);
        }
        if !builtin_is_enough && let Some((model, index)) = &self.model {
            let mut trace = ModelTrace::default();
            let outcome =
                self.model_path(model.as_ref(), index, question, progress, &run, &mut trace, &mut routed.timings).await;
            routed.route = model.id();
            routed.hits = trace.hits;
            routed.retrieval_error = trace.retrieval_error;
            routed.attempts = u32::try_from(trace.attempts.len()).unwrap_or(u32::MAX);
            routed.attempt_log = trace.attempts;
            match outcome {
                Ok((candidate, ran)) => {
                    routed.tokens = Some(trace.tokens);
                    routed.outcome = RoutedOutcome::Ran { candidate, ran };
                    return Ok(routed);
                }
                Err(ModelFailure::Refused { message }) => {
                    routed.tokens = Some(trace.tokens);
                    routed.outcome = RoutedOutcome::Refused { message };
                    return Ok(routed);
                }
                Err(failure) if route == Route::BuiltinFirst => {
                    if matches!(failure, ModelFailure::Exhausted { .. }) {
                        routed.tokens = Some(trace.tokens);
                    }
                    routed.route = "builtin".into();
                    routed.notes.push(format!(
                        "the model could not answer ({}); this is the built-in planner's answer",
                        failure_message(&failure)
                    ));
                }
                Err(failure) => return Err(RouteError::Model(failure)),
            }
        }
        match synthesis_of(outcome) {
            Synthesis::Sql(candidate) => {
                let ran = run(candidate.sql.clone()).await.map_err(RouteError::Run)?;
                routed.attempt_log.push(candidate.attempt("ok", None));
                routed.outcome = RoutedOutcome::Ran { candidate, ran };
            }
            Synthesis::Clarify { question, options } => routed.outcome = RoutedOutcome::Clarify { question, options },
            Synthesis::CannotAnswer { message } => routed.outcome = RoutedOutcome::CannotAnswer { message },
            Synthesis::Refused { message, .. } => routed.outcome = RoutedOutcome::Refused { message },
        }
        Ok(routed)
    }

    /// Asks the model for SQL and runs it with `run`, feeding each error back, at most
    /// `max_repairs` times. Every attempt, and the retrieval hits, go to `trace`.
    #[allow(clippy::too_many_arguments)]
    async fn model_path<T, E, F, Fut>(
        &self,
        model: &dyn SqlSynthesizer,
        index: &LazyIndex,
        question: Question<'_>,
        progress: &dyn Progress,
        run: &F,
        trace: &mut ModelTrace,
        timings: &mut Timings,
    ) -> Result<(Box<Candidate>, T), ModelFailure>
    where
        E: Rejection,
        F: Fn(String) -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let started = Instant::now();
        progress.stage(StageEvent { stage: Stage::Retrieve, attempt: None });
        // Without hits the prompt still has the layer's metrics and tables: a weaker prompt
        // is better than no answer while the vector store is down.
        let hits = match index.search(question.search_text, &[], self.config.retrieval_hits).await {
            Ok(hits) => hits,
            Err(error) => {
                tracing::warn!(%error, "retrieval failed; the model's prompt is built without its hits");
                trace.retrieval_error = Some(error.to_string());
                Vec::new()
            }
        };
        timings.insert("retrieve".into(), ms(started));
        trace.hits = hits;
        let mut failed: Vec<FailedAttempt> = Vec::new();
        let mut last_error = String::new();
        for attempt in 1..=self.config.max_repairs + 1 {
            let started = Instant::now();
            progress.stage(StageEvent { stage: Stage::Synthesize, attempt: u32::try_from(attempt).ok() });
            let request = SynthesisRequest {
                question: question.asked,
                previous: question.previous,
                turns: question.turns,
                hits: &trace.hits,
                failed: &failed,
            };
            let candidate = match model.synthesize(&request).await {
                Ok(Synthesis::Sql(candidate)) => candidate,
                Ok(Synthesis::Refused { message, tokens }) => {
                    trace.tokens += tokens;
                    return Err(ModelFailure::Refused { message });
                }
                Ok(Synthesis::Clarify { question, .. }) => return Err(ModelFailure::Refused { message: question }),
                Ok(Synthesis::CannotAnswer { message }) => return Err(ModelFailure::Refused { message }),
                Err(error) => return Err(ModelFailure::Synthesis(error)),
            };
            *timings.entry("synthesize".into()).or_default() += ms(started);
            if let Some(tokens) = candidate.tokens {
                trace.tokens += tokens;
            }
            match run(candidate.sql.clone()).await {
                Ok(ran) => {
                    trace.attempts.push(candidate.attempt("ok", None));
                    return Ok((candidate, ran));
                }
                Err(error) => {
                    let message = error.to_string();
                    trace.attempts.push(candidate.attempt(&error.code(), Some(message.clone())));
                    failed.push(FailedAttempt { sql: candidate.sql.clone(), error: message.clone() });
                    last_error = message;
                }
            }
        }
        Err(ModelFailure::Exhausted { attempts: u32::try_from(trace.attempts.len()).unwrap_or(u32::MAX), last_error })
    }

    /// Without a model to route to, a reading below the confidence threshold is not answered
    /// as if sure: quarry offers its readings to choose from, or says what it did not
    /// understand when none can be offered.
    fn ask_back_when_unsure(&self, outcome: PlanOutcome, previous: Option<&SemanticQuery>) -> PlanOutcome {
        let PlanOutcome::Sql(plan) = &outcome else { return outcome };
        if plan.confidence >= self.config.confidence_threshold {
            return outcome;
        }
        let unclear = &plan.explanation.evidence.unknown_words;
        let doubt = if unclear.is_empty() {
            "I am not sure I read this question right".to_string()
        } else {
            format!("I did not understand '{}', so I am not sure I read this question right", unclear.join("', '"))
        };
        let options = self.builtin.planner().interpreter().readings(&plan.query, previous);
        if options.is_empty() {
            return PlanOutcome::CannotAnswer {
                message: format!("{doubt}. Rephrase it with the names of {}.", layer_words(self.builtin.layer())),
                understood: plan.explanation.measures.clone(),
                not_understood: unclear.clone(),
            };
        }
        PlanOutcome::Clarify { question: format!("{doubt}. Did you mean one of these?"), options }
    }
}

/// The failure in words, as the answer's note and the cross-check give it.
pub fn failure_message(failure: &ModelFailure) -> String {
    match failure {
        ModelFailure::Refused { message } => format!("The model says the data cannot answer this: {message}"),
        ModelFailure::Exhausted { attempts, last_error } => repairs_exhausted_message(*attempts, last_error),
        ModelFailure::Synthesis(error) => error.to_string(),
    }
}

/// Why the model's route stopped after `attempts` attempts, the last stopped by `last_error`.
pub fn repairs_exhausted_message(attempts: u32, last_error: &str) -> String {
    format!(
        "the model's SQL was stopped {attempts} time(s); the last error: {last_error}. Rephrase the question, or ask it more simply"
    )
}

/// How a refusal names what can be asked: a few of the layer's own metrics and dimensions (never
/// another layer's, e.g. the demo's, which would mislead on imported data).
pub fn layer_words(layer: &quarry_semantic::SemanticLayer) -> String {
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

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1e3
}

#[cfg(test)]
mod tests {
    use quarry_semantic::SemanticLayer;

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
}
