//! The synthesis router over a scripted model (a `SqlSynthesizer` test double): which route
//! answers, the model's bounded repairs with the runner's errors fed back, the fallback to the
//! planner, and the cross-check's second route (issue 17).

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use quarry_retrieve::LazyIndex;
use quarry_semantic::SemanticLayer;
use quarry_synth::{
    BuiltinSynthesizer, Candidate, CandidateReading, ModelFailure, Question, Rejection, Route, RouteError,
    RoutedOutcome, SemanticPlanner, SqlSynthesizer, Synthesis, SynthesisConfig, SynthesisError, SynthesisRequest,
    SynthesisRouter, silent,
};

/// A model that writes the scripted SQL in turn and remembers the repairs it was asked for.
struct ScriptedModel {
    replies: Mutex<Vec<Result<&'static str, &'static str>>>,
    repairs_seen: Mutex<Vec<usize>>,
}

impl ScriptedModel {
    fn new(replies: Vec<Result<&'static str, &'static str>>) -> Arc<Self> {
        Arc::new(Self { replies: Mutex::new(replies), repairs_seen: Mutex::new(Vec::new()) })
    }
}

#[async_trait]
impl SqlSynthesizer for ScriptedModel {
    fn id(&self) -> String {
        "scripted:model".into()
    }

    async fn synthesize(&self, request: &SynthesisRequest<'_>) -> Result<Synthesis, SynthesisError> {
        self.repairs_seen.lock().unwrap().push(request.failed.len());
        let reply = self.replies.lock().unwrap().remove(0);
        match reply {
            Ok(sql) => Ok(Synthesis::Sql(Box::new(Candidate {
                sql: sql.into(),
                by: self.id(),
                reading: CandidateReading::Model { explanation: format!("runs {sql}") },
                confidence: None,
                chart: None,
                prompt_hash: Some("h".into()),
                raw_output: Some(sql.into()),
                tokens: Some(quarry_model::TokenUsage { total_tokens: 10, ..Default::default() }),
            }))),
            Err(message) => Err(SynthesisError::Model(quarry_model::Error::Timeout {
                what: "the scripted model".into(),
                message: message.into(),
            })),
        }
    }
}

/// The runner's error: SQL it does not run.
#[derive(Debug)]
struct Stopped(String);

impl std::fmt::Display for Stopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot run {}", self.0)
    }
}

impl Rejection for Stopped {
    fn code(&self) -> String {
        "plan_error".into()
    }
}

/// Runs every SQL but `SELECT bad`, returning the SQL it ran.
async fn run(sql: String) -> Result<String, Stopped> {
    if sql == "SELECT bad" { Err(Stopped(sql)) } else { Ok(sql) }
}

fn router(route: Route, model: Arc<ScriptedModel>) -> SynthesisRouter {
    let as_of = chrono::NaiveDate::from_ymd_opt(2025, 12, 31).expect("date");
    let layer = SemanticLayer::demo();
    let planner = SemanticPlanner::new(layer.clone(), as_of, "snap-demo");
    // Retrieval is down: the model's prompt is built without hits and the router says so.
    let index = LazyIndex::new(|| async { Err(quarry_retrieve::Error::store("down for the test")) });
    let config = SynthesisConfig { route, max_repairs: 1, ..SynthesisConfig::default() };
    SynthesisRouter::new(BuiltinSynthesizer::new(planner, layer), config).with_model(model, Arc::new(index))
}

fn question(text: &str) -> Question<'_> {
    Question { text, asked: text, previous: None, turns: &[], search_text: text }
}

#[tokio::test]
async fn the_model_is_repaired_with_the_runners_error_and_its_attempts_are_kept() {
    let model = ScriptedModel::new(vec![Ok("SELECT bad"), Ok("SELECT good")]);
    let routed = router(Route::ModelOnly, model.clone())
        .route(question("signups by channel last month"), &silent, run)
        .await
        .expect("the repair runs");
    let RoutedOutcome::Ran { candidate, ran } = routed.outcome else { panic!("{:?}", routed.outcome) };
    assert_eq!((candidate.sql.as_str(), ran.as_str()), ("SELECT good", "SELECT good"));
    assert_eq!(routed.route, "scripted:model");
    assert_eq!(routed.attempts, 2);
    let verdicts: Vec<&str> = routed.attempt_log.iter().map(|a| a.verdict.as_str()).collect();
    assert_eq!(verdicts, ["plan_error", "ok"]);
    assert_eq!(routed.attempt_log[0].error.as_deref(), Some("cannot run SELECT bad"));
    assert_eq!(*model.repairs_seen.lock().unwrap(), [0, 1], "the second call carries the first's error");
    assert_eq!(routed.tokens.map(|t| t.total_tokens), Some(20));
    assert!(routed.retrieval_error.is_some_and(|e| e.contains("down for the test")));
    assert!(routed.timings.contains_key("retrieve") && routed.timings.contains_key("synthesize"));
}

#[tokio::test]
async fn repairs_are_bounded() {
    let model = ScriptedModel::new(vec![Ok("SELECT bad"), Ok("SELECT bad"), Ok("SELECT good")]);
    let error = router(Route::ModelOnly, model.clone())
        .route(question("signups by channel last month"), &silent, run)
        .await
        .expect_err("one repair is allowed");
    let RouteError::Model(ModelFailure::Exhausted { attempts, last_error }) = error else { panic!("{error:?}") };
    assert_eq!((attempts, last_error.as_str()), (2, "cannot run SELECT bad"));
    assert_eq!(model.repairs_seen.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn builtin_first_falls_back_to_the_planner_when_the_model_fails() {
    let model = ScriptedModel::new(vec![Err("no answer in time")]);
    // A threshold no plan reaches sends every question to the model first.
    let mut router = router(Route::BuiltinFirst, model);
    router.set_config(SynthesisConfig { confidence_threshold: 1.1, ..router.config().clone() });
    let routed =
        router.route(question("signups by channel last month"), &silent, run).await.expect("the planner answers");
    let RoutedOutcome::Ran { candidate, .. } = routed.outcome else { panic!("{:?}", routed.outcome) };
    assert_eq!((candidate.by.as_str(), routed.route.as_str()), ("builtin", "builtin"));
    assert!(candidate.plan().is_some());
    assert!(routed.notes.iter().any(|n| n.contains("the model could not answer")), "{:?}", routed.notes);
    assert!(routed.second.is_none());
}

#[tokio::test]
async fn a_confident_plan_is_cross_checked_by_the_model_beside_it() {
    let model = ScriptedModel::new(vec![Ok("SELECT good")]);
    let routed = router(Route::BuiltinFirst, model)
        .route(question("signups by channel last month"), &silent, run)
        .await
        .expect("both routes run");
    let RoutedOutcome::Ran { candidate, .. } = &routed.outcome else { panic!("{:?}", routed.outcome) };
    assert_eq!(candidate.by, "builtin");
    let second = routed.second.expect("the model ran beside the planner");
    let (model_candidate, ran) = second.outcome.expect("the model's SQL ran");
    assert_eq!((model_candidate.sql.as_str(), ran.as_str()), ("SELECT good", "SELECT good"));
    assert_eq!(model_candidate.model_explanation(), Some("runs SELECT good"));
    assert_eq!(second.tokens.total_tokens, 10);
}

#[tokio::test]
async fn without_a_model_an_unsure_reading_asks_back() {
    let as_of = chrono::NaiveDate::from_ymd_opt(2025, 12, 31).expect("date");
    let layer = SemanticLayer::demo();
    let planner = SemanticPlanner::new(layer.clone(), as_of, "snap-demo");
    let config = SynthesisConfig { confidence_threshold: 1.1, ..SynthesisConfig::default() };
    let router = SynthesisRouter::new(BuiltinSynthesizer::new(planner, layer), config);
    assert_eq!(router.effective_route(), Route::BuiltinOnly);
    let routed = router.route(question("signups by channel last month"), &silent, run).await.expect("routed");
    assert!(
        matches!(routed.outcome, RoutedOutcome::Clarify { .. } | RoutedOutcome::CannotAnswer { .. }),
        "{:?}",
        routed.outcome
    );
    assert!(routed.attempt_log.is_empty(), "nothing ran");
}
