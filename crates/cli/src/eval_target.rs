//! quarry's pipeline as an [`EvalTarget`], so `quarry eval` measures exactly what users get.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use quarry_answer::{AnswerStatus, Conversation, Error, ErrorKind, Pipeline};
use quarry_eval::{EvalTarget, Outcome, Prediction, ResultTable, TargetError};
use quarry_settings::Settings;
use quarry_snapshot::SnapshotStore;
use tokio::sync::Mutex;

/// Opens one pipeline per snapshot on first use and keeps it for the run.
pub struct PipelineTarget {
    settings: Settings,
    /// Stores searched for snapshot ids, after the configured one (e.g. a Spider import's).
    extra_stores: Vec<SnapshotStore>,
    pipelines: Mutex<HashMap<String, Arc<Pipeline>>>,
}

impl PipelineTarget {
    pub fn new(mut settings: Settings, extra_snapshot_dirs: Vec<PathBuf>) -> Self {
        // An evaluation measures answering, stage by stage: a question repeated in a labeled
        // set must not be answered from the cache.
        settings.cache.enabled = false;
        Self {
            settings,
            extra_stores: extra_snapshot_dirs.into_iter().map(SnapshotStore::new).collect(),
            pipelines: Mutex::new(HashMap::new()),
        }
    }

    async fn pipeline(&self, snapshot: Option<&str>) -> Result<Arc<Pipeline>, TargetError> {
        let key = snapshot.unwrap_or("").to_string();
        let mut pipelines = self.pipelines.lock().await;
        if let Some(pipeline) = pipelines.get(&key) {
            return Ok(Arc::clone(pipeline));
        }
        let opened = match snapshot {
            None => quarry_bootstrap::open_pipeline(&self.settings).await,
            Some(id) => {
                let found = self.extra_stores.iter().find_map(|store| store.get(id).ok());
                match found {
                    Some(snapshot) => quarry_bootstrap::open_pipeline_on(&self.settings, snapshot).await,
                    None => {
                        let mut settings = self.settings.clone();
                        settings.snapshot = id.to_string();
                        quarry_bootstrap::open_pipeline(&settings).await
                    }
                }
            }
        };
        let pipeline = Arc::new(opened.map_err(|e| TargetError::new(e.to_string()))?);
        pipelines.insert(key, Arc::clone(&pipeline));
        Ok(pipeline)
    }
}

/// The eval outcome of a pipeline error.
fn failed(error: &Error) -> Outcome {
    let message = error.to_string();
    match error.kind() {
        ErrorKind::PolicyRejected => Outcome::PolicyRejected(message),
        ErrorKind::Timeout | ErrorKind::ModelTimeout => Outcome::Timeout(message),
        // No SQL that could run came out: the question, or the model, failed before execution.
        ErrorKind::BadQuestion
        | ErrorKind::RepairsExhausted
        | ErrorKind::ModelUnavailable
        | ErrorKind::ModelRateLimited
        | ErrorKind::ModelMalformedOutput
        | ErrorKind::ModelConfig
        | ErrorKind::ModelError
        | ErrorKind::ModelRefused
        | ErrorKind::RetrievalError => Outcome::GenerationFailed(message),
        ErrorKind::ResourceLimit
        | ErrorKind::WorkerCrashed
        | ErrorKind::ClusterUnavailable
        | ErrorKind::ResultTooLarge
        | ErrorKind::CartesianJoin
        | ErrorKind::Forbidden
        | ErrorKind::PlanError
        | ErrorKind::ExecutionError
        | ErrorKind::SnapshotError
        | ErrorKind::SemanticLayerError
        | ErrorKind::SettingsError
        | ErrorKind::DemoError
        | ErrorKind::ConversationError
        | ErrorKind::Internal => Outcome::ExecutionError(message),
    }
}

#[async_trait::async_trait]
impl EvalTarget for PipelineTarget {
    type Session = (Arc<Pipeline>, Conversation);

    async fn new_session(&self, snapshot: Option<&str>) -> Result<Self::Session, TargetError> {
        Ok((self.pipeline(snapshot).await?, Conversation::default()))
    }

    async fn ask(&self, session: &mut Self::Session, question: &str) -> Prediction {
        let (pipeline, conversation) = session;
        match pipeline.ask(question, conversation).await {
            Ok(answer) => {
                let outcome = match answer.status {
                    AnswerStatus::Answered => Outcome::Rows(
                        answer
                            .result
                            .as_ref()
                            .map(|r| ResultTable::from_schema_and_batches(&r.schema, &r.batches))
                            .unwrap_or_default(),
                    ),
                    AnswerStatus::NeedsClarification => {
                        let clarification = answer.clarification.clone().unwrap_or_else(|| {
                            quarry_answer::Clarification { question: answer.summary.clone(), options: Vec::new() }
                        });
                        Outcome::Clarification { question: clarification.question, options: clarification.options }
                    }
                    AnswerStatus::CannotAnswer => Outcome::GenerationFailed(answer.summary.clone()),
                };
                let mut prediction = Prediction::new(outcome);
                prediction.sql = answer.sql;
                prediction.route = answer.route;
                prediction.confidence = answer.confidence;
                if let Some(explanation) = &answer.explanation {
                    prediction.confidence_features = explanation.evidence.features();
                }
                prediction.attempts = answer.attempts;
                if let Some(usage) = answer.tokens {
                    prediction.tokens =
                        quarry_eval::TokenUsage { prompt: usage.prompt_tokens, completion: usage.completion_tokens };
                    prediction.cost_usd = usage.cost_usd;
                }
                prediction.stage_ms = answer.timings_ms;
                prediction
            }
            Err(error) => Prediction { route: "builtin".into(), ..Prediction::new(failed(&error)) },
        }
    }

    async fn run_sql(&self, snapshot: Option<&str>, sql: &str) -> Prediction {
        let pipeline = match self.pipeline(snapshot).await {
            Ok(pipeline) => pipeline,
            Err(error) => return Prediction::new(Outcome::ExecutionError(error.message)),
        };
        match pipeline.run_sql(sql).await {
            Ok(answer) => {
                let table = answer
                    .result
                    .as_ref()
                    .map(|r| ResultTable::from_schema_and_batches(&r.schema, &r.batches))
                    .unwrap_or_default();
                let mut prediction = Prediction::new(Outcome::Rows(table));
                prediction.sql = Some(answer.sql);
                prediction.route = "sql".into();
                prediction.stage_ms = answer.timings_ms;
                prediction
            }
            Err(error) => {
                Prediction { sql: Some(sql.to_string()), route: "sql".into(), ..Prediction::new(failed(&error)) }
            }
        }
    }
}
