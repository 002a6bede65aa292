//! What the answer crate's integration tests share: the demo snapshot, a chat completion as
//! a scripted model sends it, and a pipeline routed to a model at a given URL.

#![allow(dead_code)] // Each test binary uses part of this module.

use std::path::Path;
use std::sync::Arc;

use quarry_answer::SynthesisConfig;
use quarry_answer::{ModelRoute, Pipeline};
use quarry_exec::ExecutorConfig;
use quarry_model::{ModelConfig, OpenAiChatModel, StructuredOutput};
use quarry_retrieve::{BuildOptions, HashingEmbedder, Index, MemoryStore};
use quarry_semantic::SemanticLayer;
use quarry_snapshot::{Snapshot, SnapshotStore};
use quarry_sqlguard::PolicyConfig;
use serde_json::json;
use wiremock::ResponseTemplate;

/// The demo snapshot, installed once under the test target directory.
pub fn demo() -> Snapshot {
    let store = SnapshotStore::new(Path::new(env!("CARGO_TARGET_TMPDIR")).join("demo-snapshots"));
    quarry_demo::ensure_installed(&store, &quarry_demo::DemoConfig::default()).expect("demo snapshot")
}

/// A chat completion whose message is the JSON answer the model is asked for.
pub fn completion(sql: &str) -> ResponseTemplate {
    completion_with_chart(sql, serde_json::Value::Null)
}

/// A chat completion with SQL and the model's `chart` (`null` for none).
pub fn completion_with_chart(sql: &str, chart: serde_json::Value) -> ResponseTemplate {
    let content = json!({ "sql": sql, "explanation": "scripted", "chart": chart }).to_string();
    ResponseTemplate::new(200).set_body_json(json!({
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "choices": [{ "index": 0, "message": { "role": "assistant", "content": content }, "finish_reason": "stop" }],
        "usage": { "prompt_tokens": 1000, "completion_tokens": 50, "total_tokens": 1050 }
    }))
}

/// A pipeline over the demo snapshot whose chat model (`openai:scripted`, no retries) is
/// served at `base_url`, routed by `synthesis`, with an in-memory retrieval index.
pub async fn model_pipeline(base_url: &str, synthesis: SynthesisConfig, limits: ExecutorConfig) -> Pipeline {
    let snapshot = demo();
    let layer = SemanticLayer::demo();
    let index = demo_index(&layer, &snapshot).await;
    let config = ModelConfig {
        base_url: base_url.to_string(),
        model: "scripted".into(),
        max_retries: 0,
        timeout_ms: 5_000,
        structured_output: StructuredOutput::JsonObject,
        input_price_per_million: 1.0,
        output_price_per_million: 2.0,
        ..ModelConfig::default()
    };
    let model = OpenAiChatModel::new(config).expect("model config");
    Pipeline::new(snapshot, layer, PolicyConfig::default(), limits)
        .await
        .expect("pipeline")
        .with_model(ModelRoute { model: Arc::new(model), index: Arc::new(index.into()) }, synthesis)
}

/// The retrieval index `quarry search` builds for `layer` over `snapshot` (the built-in
/// hashing embedder), in memory.
pub async fn demo_index(layer: &SemanticLayer, snapshot: &Snapshot) -> Index {
    Index::build(
        layer,
        snapshot,
        Arc::new(HashingEmbedder::default()),
        Arc::new(MemoryStore::new()),
        &BuildOptions::default(),
    )
    .await
    .expect("index")
}

/// Runs a test body on a runtime whose workers have [`quarry_answer::PIPELINE_STACK_BYTES`]
/// of stack (the test thread's own is too small for some plans in debug builds).
pub fn run<F>(body: F)
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    let runtime = quarry_answer::pipeline_runtime().expect("runtime");
    let outcome = runtime.block_on(async { tokio::spawn(body).await });
    runtime.shutdown_background();
    if let Err(error) = outcome {
        std::panic::resume_unwind(error.into_panic());
    }
}
