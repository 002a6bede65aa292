//! Faults through the router: a model endpoint that is down, slow, rate limiting or answering
//! garbage; a vector store that cannot be reached; a query over the executor's memory or time
//! limit; the disk holding the store filling up. Each gives a clear error (or a degraded
//! answer that says so), leaves an audit record where one can be written, and the server
//! answers normally afterwards.
//!
//! The disk-full case mounts a small tmpfs (it needs root, as CI runs); without the right to
//! mount it is skipped with a message, unless `REQUIRE_FAULTS=1` turns that into a failure.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use common::{Reply, TestState, ask, call, get, model_server, model_settings, post_json, run, settings};
use quarry_retrieve::StoreKind;
use quarry_server::AppState;
use quarry_settings::Route;
use quarry_store::Store;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A question the built-in planner answers with high confidence.
const BUILTIN_QUESTION: &str = "signups by channel last month";
/// A question the built-in planner cannot answer, so that builtin-first asks the model.
const OFF_LAYER_QUESTION: &str = "what is the weather in Paris";
/// What the scripted model answers when it works.
const GOOD_SQL: &str = "SELECT plan, COUNT(*) AS subscriptions FROM subscriptions GROUP BY plan ORDER BY plan";

// ---------------------------------------------------------------------------------------
// Fixture

/// A chat completion whose message is `content`.
fn completion_of(content: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "choices": [{ "index": 0, "message": { "role": "assistant", "content": content }, "finish_reason": "stop" }],
        "usage": { "prompt_tokens": 1000, "completion_tokens": 50, "total_tokens": 1050 }
    }))
}

/// A chat completion with the JSON answer the model is asked for.
fn completion(sql: &str) -> ResponseTemplate {
    completion_of(&json!({ "sql": sql, "explanation": "scripted", "chart": null }).to_string())
}

/// Mounts `template` for the chat endpoint of `server`, for `times` requests (or all).
async fn answer_with(server: &MockServer, template: ResponseTemplate, times: Option<u64>) {
    let mock = Mock::given(method("POST")).and(path("/v1/chat/completions")).respond_with(template);
    match times {
        Some(times) => mock.up_to_n_times(times).mount(server).await,
        None => mock.mount(server).await,
    }
}

/// An address nothing listens on.
fn closed_port_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

/// Asserts the error shape with `status` and `code`, a message containing every one of
/// `words`, and an audit record of the failure with `code` as its outcome; returns the message.
async fn assert_failure(state: &AppState, reply: &Reply, status: u16, code: &str, words: &[&str]) -> String {
    let message = reply.assert_error(status, code);
    for word in words {
        assert!(message.contains(word), "the message says {word:?}: {message}");
    }
    let request_id = reply.json()["error"]["request_id"].as_str().expect("request id").to_string();
    let record = state.store().audit(&request_id).await.expect("the audit log reads");
    let record = record.unwrap_or_else(|| panic!("no audit record of the failed request {request_id}"));
    assert_eq!(record.outcome, code, "the audit record names the failure: {:?}", record.record);
    assert_eq!(record.record["error"]["message"], message.as_str(), "the audit record keeps the message");
    message
}

/// Asserts a 200 answer with rows; returns the body.
fn assert_answered(reply: &Reply) -> Value {
    let body = reply.ok_json();
    assert_eq!(body["answer"]["status"], "answered", "{body}");
    assert!(!body["answer"]["rows"].as_array().expect("rows").is_empty(), "{body}");
    body
}

/// The server is alive and answers `question` (which it can answer) normally.
async fn assert_still_answers(server: &TestState, question: &str) -> Value {
    let app = server.router();
    call(&app, get("/healthz")).await.ok_json();
    assert_answered(&ask(&app, question, None).await)
}

// ---------------------------------------------------------------------------------------
// The model endpoint down

#[test]
fn a_model_endpoint_that_is_down_is_a_clear_error_under_model_only() {
    run(async {
        let server = model_server(model_settings(&closed_port_url(), Route::ModelOnly, |_| {})).await;
        let app = server.router();
        let reply = ask(&app, "subscriptions per plan", None).await;
        assert_failure(&server.state, &reply, 502, "model_unavailable", &["cannot connect", "model.base_url"]).await;
        // Nothing else depends on the model.
        call(&app, get("/healthz")).await.ok_json();
        call(&app, get("/readyz")).await.ok_json();
        call(&app, get("/api/v1/conversations")).await.ok_json();
    });
}

#[test]
fn a_model_endpoint_that_is_down_costs_builtin_first_nothing_it_can_answer_alone() {
    run(async {
        let server = model_server(model_settings(&closed_port_url(), Route::BuiltinFirst, |_| {})).await;
        let app = server.router();
        // Confident built-in answers never reach the model.
        let body = assert_answered(&ask(&app, BUILTIN_QUESTION, None).await);
        assert_eq!(body["answer"]["route"], "builtin", "{body}");

        // The model is needed and down: the built-in planner's own answer, with a note.
        let body = ask(&app, OFF_LAYER_QUESTION, None).await.ok_json();
        assert_eq!(body["answer"]["route"], "builtin", "{body}");
        assert_eq!(body["answer"]["status"], "cannot_answer", "{body}");
        let notes = body["answer"]["notes"].to_string();
        assert!(notes.contains("the model could not answer") && notes.contains("cannot connect"), "{notes}");
        let record = server.state.store().audit(body["request_id"].as_str().unwrap()).await.unwrap().expect("audited");
        assert_eq!(record.outcome, "cannot_answer");

        assert_still_answers(&server, BUILTIN_QUESTION).await;
    });
}

// ---------------------------------------------------------------------------------------
// The model slow

#[test]
fn a_slow_model_is_a_timeout_of_the_model_not_of_the_request() {
    run(async {
        let mock = MockServer::start().await;
        answer_with(&mock, completion(GOOD_SQL).set_delay(Duration::from_secs(3)), None).await;
        let mut settings = model_settings(&mock.uri(), Route::ModelOnly, |model| model.timeout_ms = 300);
        settings.server.request_timeout_ms = 60_000;
        let server = model_server(settings).await;
        let reply = ask(&server.router(), "subscriptions per plan", None).await;
        // model_timeout, not the request's own `timeout`: the model's limit stopped it.
        assert_failure(
            &server.state,
            &reply,
            504,
            "model_timeout",
            &["did not answer within 300 ms", "model.timeout_ms"],
        )
        .await;

        mock.reset().await;
        answer_with(&mock, completion(GOOD_SQL), None).await;
        assert_still_answers(&server, "subscriptions per plan").await;
    });
}

// ---------------------------------------------------------------------------------------
// The model answering garbage

#[test]
fn garbage_from_the_model_is_a_clear_error_never_an_internal_one() {
    run(async {
        let mock = MockServer::start().await;
        let server = model_server(model_settings(&mock.uri(), Route::ModelOnly, |_| {})).await;
        let app = server.router();
        let garbage = [
            (
                "an HTML error page",
                ResponseTemplate::new(200).set_body_raw("<html><body>502 Bad Gateway</body></html>", "text/html"),
                "not a chat completion",
            ),
            (
                "truncated JSON",
                ResponseTemplate::new(200)
                    .set_body_raw(r#"{"choices": [{"message": {"content": "{\"sql"#, "application/json"),
                "not a chat completion",
            ),
            (
                "a completion without choices",
                ResponseTemplate::new(200).set_body_json(json!({"choices": []})),
                "without choices",
            ),
            (
                "JSON without SQL",
                completion_of(r#"{"explanation": "I would count the plans"}"#),
                "not the JSON asked for",
            ),
            (
                "prose instead of JSON",
                completion_of("Sure! You should look at the subscriptions table."),
                "not the JSON asked for",
            ),
        ];
        for (what, template, words) in garbage {
            mock.reset().await;
            answer_with(&mock, template, None).await;
            let reply = ask(&app, "subscriptions per plan", None).await;
            assert_ne!(reply.status.as_u16(), 500, "{what} gave a 500: {}", reply.text());
            let message = assert_failure(&server.state, &reply, 502, "model_malformed_output", &[words]).await;
            assert!(message.contains("try again, or use a stronger model"), "{what}: {message}");
        }

        // A model whose first answer is garbage and second is good is repaired by the correction.
        mock.reset().await;
        answer_with(&mock, completion_of("SELECT plan FROM subscriptions, I think"), Some(1)).await;
        answer_with(&mock, completion(GOOD_SQL), None).await;
        assert_still_answers(&server, "subscriptions per plan").await;
    });
}

// ---------------------------------------------------------------------------------------
// The model rate limiting

#[test]
fn a_rate_limiting_model_is_waited_for_then_answers_or_is_a_clear_error() {
    run(async {
        let mock = MockServer::start().await;
        let too_many = || ResponseTemplate::new(429).insert_header("retry-after", "1").set_body_string("slow down");
        let server = model_server(model_settings(&mock.uri(), Route::ModelOnly, |model| model.max_retries = 1)).await;
        let app = server.router();

        // Recovers within the retries: answered, after the wait the endpoint asked for.
        answer_with(&mock, too_many(), Some(1)).await;
        answer_with(&mock, completion(GOOD_SQL), None).await;
        assert_answered(&ask(&app, "subscriptions per plan", None).await);
        assert_eq!(mock.received_requests().await.unwrap_or_default().len(), 2, "one 429, one retry");

        // Does not recover: a clear error naming the rate limit.
        mock.reset().await;
        answer_with(&mock, too_many(), None).await;
        let reply = ask(&app, "subscriptions per plan", None).await;
        assert_failure(&server.state, &reply, 503, "model_rate_limited", &["rate limiting", "tried 2 times"]).await;

        mock.reset().await;
        answer_with(&mock, completion(GOOD_SQL), None).await;
        assert_still_answers(&server, "subscriptions per plan").await;
    });
}

// ---------------------------------------------------------------------------------------
// The vector store unavailable

#[test]
fn a_vector_store_that_is_down_degrades_retrieval_not_the_server() {
    run(async {
        let mock = MockServer::start().await;
        answer_with(&mock, completion(GOOD_SQL), None).await;
        let mut settings = model_settings(&mock.uri(), Route::BuiltinFirst, |_| {});
        settings.retrieval.store = StoreKind::Qdrant;
        settings.retrieval.qdrant.url = closed_port_url();
        settings.retrieval.qdrant.timeout_ms = 2_000;
        // The pipeline as `quarry serve` opens it: the Qdrant server is down at start.
        let pipeline =
            quarry_bootstrap::open_pipeline(&settings).await.expect("the pipeline opens without its vector store");
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&settings.storage, dir.path()).await.expect("store");
        let server = TestState { state: AppState::new(settings, Arc::new(pipeline), store).expect("state"), dir };
        let app = server.router();

        let ready = call(&app, get("/readyz")).await.ok_json();
        assert_eq!(ready["status"], "degraded", "{ready}");
        let problems = ready["problems"].to_string();
        assert!(problems.contains("retrieval is unavailable") && problems.contains("Qdrant"), "{problems}");

        let body = assert_still_answers(&server, BUILTIN_QUESTION).await;
        assert_eq!(body["answer"]["route"], "builtin", "{body}");

        // The model still answers, from a prompt without retrieval hits, and says so.
        let body = assert_answered(&ask(&app, OFF_LAYER_QUESTION, None).await);
        assert_eq!(body["answer"]["route"], "openai:scripted", "{body}");
        assert_eq!(body["answer"]["retrieval_hits"], json!([]), "{body}");
        let notes = body["answer"]["notes"].to_string();
        assert!(notes.contains("retrieval was unavailable") && notes.contains("[retrieval] store"), "{notes}");
        let prompt = mock.received_requests().await.unwrap_or_default();
        assert!(!prompt.is_empty(), "the model was asked");
    });
}

// ---------------------------------------------------------------------------------------
// Executor limits

/// A question whose query (events by account and day: about 700k groups) needs several MiB
/// and, in a debug build, seconds.
const HEAVY_QUESTION: &str = "events by account by day";

#[test]
fn a_query_over_the_memory_limit_is_a_clear_error_naming_the_limit() {
    run(async {
        let mut settings = settings();
        settings.executor.memory_limit_mb = 1;
        let server = TestState::with_own_pipeline(settings).await;
        let reply = ask(&server.router(), HEAVY_QUESTION, None).await;
        assert_failure(&server.state, &reply, 422, "resource_limit", &["1 MiB memory limit", "aggregate more"]).await;
        assert_still_answers(&server, BUILTIN_QUESTION).await;
    });
}

#[test]
fn a_query_over_the_time_limit_is_stopped_with_a_clear_error_naming_the_limit() {
    run(async {
        let mut settings = settings();
        // A 1 ms limit stops the heavy query on any machine (with a limit of seconds the test
        // depended on how fast the machine is).
        settings.executor.timeout_ms = 1;
        let server = TestState::with_own_pipeline(settings).await;
        let reply = ask(&server.router(), HEAVY_QUESTION, None).await;
        assert_failure(&server.state, &reply, 422, "timeout", &["1 ms time limit", "shorter time range"]).await;
        // The server is still up and answers what needs no query.
        let app = server.router();
        call(&app, get("/healthz")).await.ok_json();
        let body = ask(&app, OFF_LAYER_QUESTION, None).await.ok_json();
        assert_eq!(body["answer"]["status"], "cannot_answer", "{body}");
    });
}

// ---------------------------------------------------------------------------------------
// The disk full

/// A tmpfs mounted for the test, unmounted (and its directory removed) when dropped, also
/// when the test fails.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    /// Mounts an 8 MiB tmpfs, or says why it cannot.
    fn mount() -> Result<Self, String> {
        let dir = tempfile::tempdir().map_err(|e| format!("no temporary directory: {e}"))?;
        let output = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=8m", "tmpfs"])
            .arg(dir.path())
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !output.status.success() {
            return Err(format!("mount -t tmpfs failed: {}", String::from_utf8_lossy(&output.stderr).trim()));
        }
        Ok(Self { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        // Lazy, so that a file the failed test left open does not keep the mount.
        let _ = std::process::Command::new("umount").arg("-l").arg(self.dir.path()).status();
    }
}

/// Fills the file system holding `dir` with one file until it is full; returns its path.
fn fill(dir: &Path) -> PathBuf {
    use std::io::Write;
    let path = dir.join("filler");
    let mut file = std::fs::File::create(&path).expect("create the filler");
    let chunk = vec![0x5a_u8; 16 * 1024];
    loop {
        match file.write_all(&chunk).and_then(|()| file.sync_all()) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(28) => break,
            Err(e) => panic!("filling the disk failed with something else than ENOSPC: {e}"),
        }
    }
    // Smaller writes, so that not even one page is left.
    for _ in 0..4096 {
        if file.write_all(&[0x5a; 512]).and_then(|()| file.sync_all()).is_err() {
            break;
        }
    }
    path
}

#[test]
fn a_full_disk_refuses_answers_it_cannot_record_and_loses_nothing_acknowledged() {
    let disk = match SmallDisk::mount() {
        Ok(disk) => disk,
        Err(reason) if std::env::var_os("REQUIRE_FAULTS").is_some_and(|v| v == "1") => {
            panic!("REQUIRE_FAULTS=1 but the disk-full test cannot run: {reason}")
        }
        Err(reason) => {
            eprintln!("skipping the disk-full test: {reason} (run as root, or set REQUIRE_FAULTS=1 to fail instead)");
            return;
        }
    };
    let mount = disk.path().to_path_buf();
    run(async move {
        let settings = settings();
        let store = Store::open(&settings.storage, &mount).await.expect("the store opens on the small disk");
        let server = TestState {
            state: AppState::new(settings, common::pipeline(), store).expect("state"),
            dir: tempfile::tempdir().expect("tempdir"),
        };
        let app = server.router();
        let store = server.state.store().clone();

        let first = assert_answered(&ask(&app, BUILTIN_QUESTION, None).await);
        let feedback = json!({"answer_id": first["answer_id"], "rating": "up", "comment": "right"});
        assert_eq!(call(&app, post_json("/api/v1/feedback", &feedback)).await.status.as_u16(), 201);

        let filler = fill(&mount);
        let refused = ask(&app, BUILTIN_QUESTION, None).await;
        let message = refused.assert_error(507, "storage_full");
        for words in ["answer was not given", "audit log", "disk holding the database is full", "free space"] {
            assert!(message.contains(words), "the message says {words:?}: {message}");
        }
        // Feedback may still fit (in the space the refused answer's rolled-back writes left in
        // SQLite's log) or be refused; either way, what is acknowledged must be kept.
        let changed = json!({"answer_id": first["answer_id"], "rating": "down", "comment": "changed my mind"});
        let reply = call(&app, post_json("/api/v1/feedback", &changed)).await;
        let kept_comment = match reply.status.as_u16() {
            201 => "changed my mind",
            _ => {
                reply.assert_error(507, "storage_full");
                "right"
            }
        };
        call(&app, get("/healthz")).await.ok_json();

        std::fs::remove_file(&filler).expect("remove the filler");
        let second = assert_answered(&ask(&app, BUILTIN_QUESTION, None).await);

        // Everything acknowledged is there, and the refused answer left no record of an answer.
        for body in [&first, &second] {
            let request_id = body["request_id"].as_str().unwrap();
            let answer_id = body["answer_id"].as_str().unwrap();
            let audit = store.audit(request_id).await.unwrap().expect("the audit record is kept");
            assert_eq!(audit.answer_id.as_deref(), Some(answer_id));
            assert!(store.turn_by_answer(answer_id).await.unwrap().is_some(), "the turn of {answer_id} is kept");
        }
        let ratings = store.feedback_for(first["answer_id"].as_str().unwrap()).await.unwrap();
        assert_eq!(ratings.len(), 1, "{ratings:?}");
        assert_eq!(ratings[0].comment.as_deref(), Some(kept_comment), "the acknowledged feedback is kept");
        let refused = refused.json()["error"]["request_id"].as_str().unwrap().to_string();
        if let Some(record) = store.audit(&refused).await.unwrap() {
            assert_eq!(record.outcome, "storage_full", "a refused answer is never recorded as given");
            assert_eq!(record.answer_id, None);
        }
        store.close().await;
    });
    drop(disk);
}
