//! The demo warehouse at a given scale, and the pipelines the benchmarks run on it.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use quarry_answer::{ModelRoute, Pipeline};
use quarry_ballista::BallistaExecutor;
use quarry_demo::DemoConfig;
use quarry_exec::{ExecutionEngine, ExecutorConfig};
use quarry_retrieve::{LazyIndex, RetrievalConfig};
use quarry_semantic::SemanticLayer;
use quarry_snapshot::{Snapshot, SnapshotStore};
use quarry_sqlguard::PolicyConfig;

/// The demo snapshot at `scale` (1 is the default warehouse), generated under `data_dir` on
/// first use and reused after.
pub fn demo_snapshot(data_dir: &Path, scale: u32) -> anyhow::Result<Snapshot> {
    let store = SnapshotStore::new(data_dir.join(format!("scale-{scale}")));
    quarry_demo::ensure_installed(&store, &DemoConfig { scale, ..DemoConfig::default() })
        .with_context(|| format!("generating the demo warehouse at scale {scale}"))
}

/// The built-in route over `snapshot` with the default policy and `executor` (in process, or
/// on the Ballista cluster it names), without a cache so that every stage runs.
pub async fn builtin_pipeline(snapshot: &Snapshot, executor: &ExecutorConfig) -> anyhow::Result<Pipeline> {
    let layer = SemanticLayer::demo();
    match executor.engine {
        ExecutionEngine::Local => Pipeline::new(snapshot.clone(), layer, PolicyConfig::default(), executor.clone())
            .await
            .context("opening the pipeline"),
        ExecutionEngine::Ballista => {
            let cluster = BallistaExecutor::open(snapshot, &layer.personal_columns(), executor.clone())
                .await
                .context("connecting to the Ballista cluster")?;
            Ok(Pipeline::with_executor(snapshot.clone(), layer, PolicyConfig::default(), Arc::new(cluster)))
        }
    }
}

/// The default retrieval index (built-in embedder, embedded qdrant-edge) of the demo layer
/// over `snapshot`, under `index_dir`.
pub async fn default_index(index_dir: &Path, snapshot: &Snapshot) -> anyhow::Result<Arc<LazyIndex>> {
    let index = RetrievalConfig::default()
        .open_index(index_dir, &SemanticLayer::demo(), snapshot, false, None)
        .await
        .context("opening the retrieval index")?;
    Ok(Arc::new(LazyIndex::from(index)))
}

/// The model route over `snapshot`: every question goes to the chat model at `base_url`,
/// with prompts built from `index`.
pub async fn model_pipeline(
    snapshot: &Snapshot,
    executor: &ExecutorConfig,
    base_url: &str,
    index: Arc<LazyIndex>,
) -> anyhow::Result<Pipeline> {
    let config = quarry_model::ModelConfig {
        base_url: base_url.to_string(),
        model: "instant".into(),
        max_retries: 0,
        ..quarry_model::ModelConfig::default()
    };
    let model = quarry_model::OpenAiChatModel::new(config).context("model settings")?;
    let synthesis = quarry_answer::SynthesisConfig {
        route: quarry_answer::Route::ModelOnly,
        ..quarry_answer::SynthesisConfig::default()
    };
    Ok(builtin_pipeline(snapshot, executor).await?.with_model(ModelRoute { model: Arc::new(model), index }, synthesis))
}
