//! Opening quarry's question-answering pipeline from its settings, at the binaries' edge.
//!
//! `quarry-answer` takes typed parts (a snapshot, a layer, a policy, an executor, a
//! synthesis router, a cache); this crate reads them out of [`Settings`] for the CLI and the
//! server alike: it resolves the snapshot the settings point at (generating the demo
//! warehouse into the data directory on first use), its semantic layer, the executor in
//! process or in worker processes, the confidence model, the chat model and the retrieval
//! index.
//!
//! ```no_run
//! # async fn example() -> Result<(), quarry_bootstrap::Error> {
//! let settings = quarry_settings::Settings::defaults();
//! let pipeline = quarry_bootstrap::open_pipeline(&settings).await?;
//! let mut conversation = quarry_answer::Conversation::default();
//! let answer = pipeline.ask("signups by channel last month", &mut conversation).await?;
//! println!("{}", answer.summary);
//! # Ok(()) }
//! ```

use std::sync::Arc;

use quarry_answer::{AnswerConfig, ErrorKind, ModelRoute, Pipeline};
use quarry_exec::{ExecutionEngine, SnapshotExecutor};
use quarry_question::normalize_question;
use quarry_semantic::{SemanticLayer, VerifiedQuery};
use quarry_settings::{Route, Settings};
use quarry_snapshot::{Snapshot, SnapshotSource, SnapshotStore};

/// Result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a pipeline could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The settings are unusable.
    #[error(transparent)]
    Settings(#[from] quarry_settings::Error),
    /// The demo warehouse could not be generated.
    #[error("could not generate the demo warehouse: {0}")]
    Demo(String),
    /// The confidence model named in the settings could not be read.
    #[error(
        "cannot use the confidence model {path}: {reason}. Write one with `quarry eval calibrate --out {path}`, or unset synthesis.confidence_model"
    )]
    ConfidenceModel {
        /// The file.
        path: String,
        /// What was wrong.
        reason: String,
    },
    /// A part of the pipeline (the snapshot, the layer, the executor, the model, retrieval)
    /// could not be opened.
    #[error(transparent)]
    Pipeline(#[from] quarry_answer::Error),
}

impl Error {
    /// The kind of failure, as the pipeline's own errors have.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Settings(_) | Error::ConfidenceModel { .. } => ErrorKind::SettingsError,
            Error::Demo(_) => ErrorKind::DemoError,
            Error::Pipeline(error) => error.kind(),
        }
    }
}

macro_rules! through_the_pipeline_error {
    ($($source:ty),*) => {$(
        impl From<$source> for Error {
            fn from(error: $source) -> Self {
                Error::Pipeline(error.into())
            }
        }
    )*};
}

through_the_pipeline_error!(
    quarry_snapshot::Error,
    quarry_semantic::Error,
    quarry_exec::Error,
    quarry_model::Error,
    quarry_retrieve::Error
);

/// The snapshot the settings point at. With `snapshot = "demo"`, the demo warehouse for the
/// configured seed and scale, generated into the data directory on first use.
pub fn resolve_snapshot(settings: &Settings) -> Result<Snapshot> {
    let store = SnapshotStore::new(settings.snapshots_dir()?);
    if settings.snapshot != "demo" {
        return Ok(store.get(&settings.snapshot)?);
    }
    tracing::info!(seed = settings.demo.seed, scale = settings.demo.scale, "using the demo warehouse");
    let config = quarry_demo::DemoConfig { seed: settings.demo.seed, scale: settings.demo.scale };
    quarry_demo::ensure_installed(&store, &config).map_err(|e| Error::Demo(e.to_string()))
}

/// The semantic layer for `snapshot`: the configured file, else the built-in demo layer for
/// a demo snapshot, else the snapshot's own `semantic.yaml`. Returns the layer and the name
/// of where it came from.
pub fn resolve_layer(settings: &Settings, snapshot: &Snapshot) -> Result<(SemanticLayer, String)> {
    if let Some(path) = settings.semantic_layer_path() {
        return Ok((SemanticLayer::from_yaml_file(&path)?, path.display().to_string()));
    }
    if is_demo(snapshot) {
        return Ok((SemanticLayer::demo(), "schemas/demo.semantic.yaml (built in)".into()));
    }
    let path = snapshot.semantic_layer_path();
    if path.is_file() {
        return Ok((SemanticLayer::from_yaml_file(&path)?, path.display().to_string()));
    }
    Err(quarry_semantic::Error::Read {
        path: path.clone(),
        source: std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!(
                "snapshot {} has no semantic layer; write one with `quarry snapshot create` or set semantic_layer in quarry.toml",
                snapshot.manifest.id
            ),
        ),
    }
    .into())
}

/// Whether `snapshot` is a demo warehouse.
pub fn is_demo(snapshot: &Snapshot) -> bool {
    matches!(snapshot.manifest.source, SnapshotSource::Demo { .. })
}

/// The installed snapshots that are not a demo warehouse (the user's own), newest first.
pub fn own_snapshots(settings: &Settings) -> Result<Vec<Snapshot>> {
    let store = SnapshotStore::new(settings.snapshots_dir()?);
    Ok(store.list()?.into_iter().filter(|s| !is_demo(s)).collect())
}

/// What `snapshot` was made from, in a few words: `demo warehouse, seed 42 scale 1`, `sqlite shop.sqlite`,
/// `files exports`. Read from the manifest's JSON form, so that every kind of source has one.
pub fn describe_source(snapshot: &Snapshot) -> String {
    if let SnapshotSource::Demo { seed, scale } = &snapshot.manifest.source {
        return format!("demo warehouse, seed {seed} scale {scale}");
    }
    let source = serde_json::to_value(&snapshot.manifest.source).unwrap_or_default();
    let kind = source["kind"].as_str().unwrap_or("imported");
    match source["path"].as_str() {
        Some(path) => {
            let name = std::path::Path::new(path).file_name().and_then(|n| n.to_str()).unwrap_or(path);
            format!("{kind} {name}")
        }
        None => kind.to_string(),
    }
}

/// Everything from settings: the snapshot (generating the demo on first use), its semantic
/// layer (validated against it), the policy, the executor, the synthesis router and the cache.
pub async fn open_pipeline(settings: &Settings) -> Result<Pipeline> {
    open_pipeline_on(settings, resolve_snapshot(settings)?).await
}

/// A pipeline over a given snapshot, with its semantic layer (see [`resolve_layer`])
/// validated against it and everything else from settings.
pub async fn open_pipeline_on(settings: &Settings, snapshot: Snapshot) -> Result<Pipeline> {
    open_pipeline_with_verified(settings, snapshot, Vec::new()).await
}

/// [`open_pipeline_on`] with more verified questions (promoted from answers with
/// `quarry verified add`) added to the layer's, so that retrieval and the model's examples
/// use them. They were checked by the policy and executor when promoted; one asked like a
/// question of the layer (see [`normalize_question`]) replaces it.
pub async fn open_pipeline_with_verified(
    settings: &Settings,
    snapshot: Snapshot,
    verified: Vec<VerifiedQuery>,
) -> Result<Pipeline> {
    let (mut layer, source) = resolve_layer(settings, &snapshot)?;
    layer.validate_against(&snapshot, &source).await?;
    for extra in verified {
        let key = normalize_question(&extra.question);
        match layer.verified_queries.iter_mut().find(|v| normalize_question(&v.question) == key) {
            Some(existing) => *existing = extra,
            None => layer.verified_queries.push(extra),
        }
    }
    // On a Ballista cluster, or here (in process or in worker processes, as `[isolation]` says).
    let personal = layer.personal_columns();
    let executor: Arc<dyn SnapshotExecutor> = match settings.executor.engine {
        ExecutionEngine::Ballista => {
            Arc::new(quarry_ballista::BallistaExecutor::open(&snapshot, &personal, settings.executor.clone()).await?)
        }
        ExecutionEngine::Local => {
            quarry_worker::open_executor(&settings.isolation, &snapshot, &personal, settings.executor.clone()).await?
        }
    };
    let synthesis = &settings.synthesis;
    let mut pipeline = Pipeline::with_executor(snapshot, layer, settings.policy.clone(), executor)
        .with_cache(&settings.cache)
        .with_config(AnswerConfig { model_summary: synthesis.model_summary })
        .with_synthesis(synthesis.config());
    if let Some(path) = &synthesis.confidence_model {
        pipeline = pipeline.with_confidence_model(load_confidence_model(path)?);
    }
    let uses_model = synthesis.effective_route() != Route::BuiltinOnly;
    if !uses_model && synthesis.ground_with_index {
        // Opened on the first unknown word: a question the planner reads whole never
        // waits for the index to be built.
        let index = settings.retrieval.lazy_index(&settings.index_dir()?, pipeline.layer(), pipeline.snapshot());
        pipeline = pipeline.with_grounding(Arc::new(index));
    }
    if uses_model {
        let model = quarry_model::OpenAiChatModel::new(settings.model.clone())?;
        let index = settings.retrieval.lazy_index(&settings.index_dir()?, pipeline.layer(), pipeline.snapshot());
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
        if synthesis.ground_with_index {
            pipeline = pipeline.with_grounding(index.clone());
        }
        pipeline = pipeline.with_model(ModelRoute { model: Arc::new(model), index }, synthesis.config());
    }
    Ok(pipeline)
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
    fn a_missing_confidence_model_is_a_settings_error_naming_the_file() {
        let error = load_confidence_model(std::path::Path::new("/nonexistent/confidence.json")).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::SettingsError);
        assert!(error.to_string().contains("/nonexistent/confidence.json"), "{error}");
    }
}
