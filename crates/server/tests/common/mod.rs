//! Shared fixture of the server tests: one pipeline over the demo snapshot per test binary,
//! a fresh store and state per test, a runtime whose workers have the stack the pipeline
//! needs in debug builds, and helpers to call the router without a socket.

#![allow(dead_code, missing_docs)]

use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Request, StatusCode, header};
use http_body_util::BodyExt;
use quarry_answer::{ModelRoute, Pipeline};
use quarry_model::{ModelConfig, OpenAiChatModel, StructuredOutput};
use quarry_retrieve::{BuildOptions, HashingEmbedder, Index, LazyIndex, MemoryStore};
use quarry_server::{AppState, REQUEST_ID_HEADER};
use quarry_settings::{ModelChoice, Route, Settings, SynthesisSettings};
use quarry_store::Store;
use serde_json::Value;
use tower::ServiceExt;

/// The data directory holding the demo snapshot, shared by every test of the binary.
pub fn home() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("server-home")
}

/// Settings for tests: the shared home, generous rate limits (each test sets its own), and
/// no answer cache, so that every test sees its questions answered afresh whatever ran
/// before it on the shared pipeline (the cache has a test of its own).
pub fn settings() -> Settings {
    let mut settings = Settings::defaults();
    settings.cache.enabled = false;
    settings.home = home().display().to_string();
    settings.server.rate_limit_per_minute = 10_000;
    settings.server.rate_limit_burst = 1_000;
    settings.server.chart_link_secret = "a test secret of chart links, 32+ bytes long".into();
    settings
}

/// The pipeline over the demo snapshot, opened once (generating the snapshot on first use).
pub fn pipeline() -> Arc<Pipeline> {
    static PIPELINE: OnceLock<Arc<Pipeline>> = OnceLock::new();
    PIPELINE
        .get_or_init(|| {
            // Opened on a thread of its own: callers may be inside a runtime already.
            std::thread::Builder::new()
                .name("open-pipeline".into())
                .stack_size(quarry_server::WORKER_STACK_BYTES)
                .spawn(|| {
                    let runtime = runtime();
                    let pipeline = runtime
                        .block_on(quarry_bootstrap::open_pipeline(&settings()))
                        .expect("the demo pipeline opens");
                    Arc::new(pipeline)
                })
                .expect("thread")
                .join()
                .expect("the pipeline thread did not panic")
        })
        .clone()
}

/// A runtime whose workers have [`quarry_server::WORKER_STACK_BYTES`] of stack.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .thread_stack_size(quarry_server::WORKER_STACK_BYTES)
        .build()
        .expect("runtime")
}

/// Runs a test body on a worker of [`runtime`] (the test thread's own stack is too small).
pub fn run<F>(body: F)
where
    F: Future<Output = ()> + Send + 'static,
{
    pipeline();
    let runtime = runtime();
    let outcome = runtime.block_on(async { tokio::spawn(body).await });
    runtime.shutdown_background();
    if let Err(error) = outcome {
        std::panic::resume_unwind(error.into_panic());
    }
}

/// A server's state over the shared pipeline and a store of its own.
pub struct TestState {
    pub state: AppState,
    /// The store's directory, removed when the test ends.
    pub dir: tempfile::TempDir,
}

impl TestState {
    pub async fn new(settings: Settings) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&settings.storage, dir.path()).await.expect("store opens");
        let state = AppState::new(settings, pipeline(), store).expect("state");
        Self { state, dir }
    }

    /// A state over a pipeline of its own, opened with `settings` (e.g. other executor limits).
    pub async fn with_own_pipeline(settings: Settings) -> Self {
        let pipeline = quarry_bootstrap::open_pipeline(&settings).await.expect("the pipeline opens");
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&settings.storage, dir.path()).await.expect("store opens");
        let state = AppState::new(settings, Arc::new(pipeline), store).expect("state");
        Self { state, dir }
    }

    pub fn router(&self) -> Router {
        quarry_server::router(self.state.clone())
    }
}

/// A response, read to the end.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("the body is not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: impl header::AsHeaderName) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
    }

    pub fn content_type(&self) -> &str {
        self.header(header::CONTENT_TYPE)
    }

    /// Asserts a 200 and returns the JSON body.
    pub fn ok_json(&self) -> Value {
        assert_eq!(self.status, StatusCode::OK, "expected 200, got {}: {}", self.status, self.text());
        self.json()
    }

    /// Asserts the error shape `{"error": {"code", "message", "request_id"}}` with `status`
    /// and `code`, the request id equal to the `x-request-id` header; returns the message.
    pub fn assert_error(&self, status: u16, code: &str) -> String {
        assert_eq!(self.status.as_u16(), status, "expected {status} {code}, got {}: {}", self.status, self.text());
        assert!(
            self.content_type().starts_with("application/json"),
            "errors are JSON, got content-type {:?}",
            self.content_type()
        );
        let body = self.json();
        let error = body.get("error").and_then(Value::as_object).unwrap_or_else(|| panic!("no error object: {body}"));
        assert_eq!(error.len(), 3, "the error has exactly code, message and request_id: {body}");
        assert_eq!(error["code"], code, "error code: {body}");
        let message = error["message"].as_str().expect("message is a string");
        assert!(!message.is_empty(), "the message says what went wrong: {body}");
        let request_id = error["request_id"].as_str().expect("request_id is a string");
        assert!(!request_id.is_empty(), "the error carries the request id: {body}");
        assert_eq!(request_id, self.header(REQUEST_ID_HEADER), "the body's request id is the x-request-id header");
        message.to_string()
    }
}

/// Sends `request` to `app` and reads the whole response.
pub async fn call(app: &Router, request: Request<Body>) -> Reply {
    let response = app.clone().oneshot(request).await.expect("the router is infallible");
    let (parts, body) = response.into_parts();
    let body = body.collect().await.expect("the body reads").to_bytes();
    Reply { status: parts.status, headers: parts.headers, body }
}

/// `GET uri`.
pub fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).expect("request")
}

/// `GET uri` with a bearer token.
pub fn get_as(uri: &str, token: &str) -> Request<Body> {
    Request::get(uri).header(header::AUTHORIZATION, format!("Bearer {token}")).body(Body::empty()).expect("request")
}

/// `POST uri` with a JSON body.
pub fn post_json(uri: &str, body: &Value) -> Request<Body> {
    Request::post(uri)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .expect("request")
}

/// `POST uri` with a JSON body and a bearer token.
pub fn post_json_as(uri: &str, body: &Value, token: &str) -> Request<Body> {
    let mut request = post_json(uri, body);
    request.headers_mut().insert(header::AUTHORIZATION, format!("Bearer {token}").parse().expect("header"));
    request
}

/// Asks `question` (continuing `conversation`, if any) and returns the reply.
pub async fn ask(app: &Router, question: &str, conversation: Option<&str>) -> Reply {
    let mut body = serde_json::json!({ "question": question });
    if let Some(id) = conversation {
        body["conversation_id"] = Value::from(id);
    }
    call(app, post_json("/api/v1/ask", &body)).await
}

/// The in-memory retrieval index of the demo, built once per test binary.
pub fn memory_index() -> Arc<LazyIndex> {
    static INDEX: OnceLock<Arc<LazyIndex>> = OnceLock::new();
    INDEX
        .get_or_init(|| {
            let base = pipeline();
            std::thread::spawn(move || {
                let index = runtime().block_on(Index::build(
                    base.layer(),
                    base.snapshot(),
                    Arc::new(HashingEmbedder::default()),
                    Arc::new(MemoryStore::new()),
                    &BuildOptions::default(),
                ));
                Arc::new(LazyIndex::from(index.expect("the demo index builds")))
            })
            .join()
            .expect("the index thread did not panic")
        })
        .clone()
}

/// Settings of a server whose chat model (`openai:scripted`) is at `base_url` and routed by
/// `route`; `model` adjusts the model's settings (timeouts, retries).
pub fn model_settings(base_url: &str, route: Route, model: impl FnOnce(&mut ModelConfig)) -> Settings {
    let mut settings = settings();
    settings.model = ModelConfig {
        base_url: format!("{base_url}/v1"),
        model: "scripted".into(),
        max_retries: 0,
        timeout_ms: 5_000,
        connect_timeout_ms: 2_000,
        structured_output: StructuredOutput::JsonObject,
        ..ModelConfig::default()
    };
    model(&mut settings.model);
    // No cross-check: these settings test one route at a time; the check has tests of its own.
    settings.synthesis = SynthesisSettings {
        model: ModelChoice::Openai,
        route,
        max_repairs: 0,
        cross_check: false,
        ..settings.synthesis.clone()
    };
    settings
}

/// A server over the shared demo snapshot with the model of `settings` and an in-memory index.
pub async fn model_server(settings: Settings) -> TestState {
    let base = pipeline();
    let model = OpenAiChatModel::new(settings.model.clone()).expect("model settings");
    let pipeline = Pipeline::new(
        base.snapshot().clone(),
        base.layer().clone(),
        settings.policy.clone(),
        settings.executor.clone(),
    )
    .await
    .expect("pipeline")
    .with_model(ModelRoute { model: Arc::new(model), index: memory_index() }, settings.synthesis.config())
    .with_config(quarry_answer::AnswerConfig { model_summary: settings.synthesis.model_summary });
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&settings.storage, dir.path()).await.expect("store opens");
    let state = AppState::new(settings, Arc::new(pipeline), store).expect("state");
    TestState { state, dir }
}
