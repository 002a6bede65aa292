//! Issue 16, one request cannot take quarry down: queries run in `quarry worker` processes
//! (this package's binary). A worker killed for memory or time is replaced and the next query
//! runs; a crashing worker leaves a query on another worker alone; `quarry serve` survives a
//! memory bomb sent through its API.

mod common;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use quarry_exec::{ExecutorConfig, SnapshotExecutor};
use quarry_snapshot::{Snapshot, SnapshotStore};
use quarry_sqlguard::{Catalog, PolicyConfig, SqlPolicy, ValidatedQuery};
use quarry_worker::{IsolationConfig, WorkerExecutor, WorkerPoolConfig};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Builds a string of about 10 GB, one value the policy admits (`repeat` within its literal
/// limit, aggregated), past the address-space limit the tests give workers and within the
/// engine's own limits as they set them: only the kernel's limit can stop it.
const MEMORY_BOMB: &str = "SELECT length(string_agg(repeat(event_name, 1000), ',')) AS n FROM events";
/// Address-space limit of the tests' workers, in MiB: a healthy debug worker peaks near 500.
const TEST_ADDRESS_SPACE_MB: u64 = 1536;
/// A self-join of the events table by session: about 3.5 s in a debug build.
const SLOW_QUERY: &str = "SELECT e.event_name, COUNT(*) AS n FROM events e JOIN events f ON e.session_id = f.session_id GROUP BY 1 ORDER BY 1";
/// A quick query with a known answer.
const SMALL_QUERY: &str = "SELECT COUNT(*) AS n FROM accounts";

fn demo_snapshot() -> Snapshot {
    let store = SnapshotStore::new(common::home().join("snapshots"));
    store.list().expect("snapshots").into_iter().next().expect("the demo snapshot is installed")
}

/// `sql` as the policy admits it; executors run nothing else.
fn validated(snapshot: &Snapshot, sql: &str) -> ValidatedQuery {
    let mut catalog = Catalog::new();
    for table in &snapshot.manifest.tables {
        let columns: Vec<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
        catalog.add_table(&table.name, &columns);
    }
    SqlPolicy::new(catalog, PolicyConfig::default()).check(sql).expect("the policy admits the query")
}

/// An engine whose own limits let the memory bomb through to the kernel's.
fn permissive_engine() -> ExecutorConfig {
    ExecutorConfig {
        memory_limit_mb: 8192,
        max_value_bytes: 8_000_000_000,
        max_cell_bytes: 8_000_000_000,
        max_result_bytes: 8_000_000_000,
        ..ExecutorConfig::default()
    }
}

async fn start_pool(workers: usize, executor: ExecutorConfig) -> WorkerExecutor {
    let snapshot = demo_snapshot();
    let isolation = IsolationConfig { workers, address_space_mb: TEST_ADDRESS_SPACE_MB, ..IsolationConfig::default() };
    let program = PathBuf::from(env!("CARGO_BIN_EXE_quarry"));
    let config = WorkerPoolConfig::new(program, &snapshot, &[], executor, &isolation);
    WorkerExecutor::start(config).await.expect("the workers start")
}

fn is_running(pid: u32) -> bool {
    // A killed worker is reaped by tokio; until then it is a zombie, which is not running.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|stat| stat.rsplit(')').next().is_some_and(|rest| !rest.trim_start().starts_with('Z')))
        .unwrap_or(false)
}

async fn count_accounts(executor: &WorkerExecutor, snapshot: &Snapshot) -> Value {
    let result = executor.execute(&validated(snapshot, SMALL_QUERY)).await.expect("the small query runs");
    result.to_json().rows[0][0].clone()
}

/// Waits until the pool has `workers` idle workers again (a replacement starts in the background).
async fn idle_workers(executor: &WorkerExecutor, workers: usize) -> Vec<u32> {
    let started = Instant::now();
    loop {
        let pids = executor.idle_worker_pids();
        if pids.len() == workers || started.elapsed() > Duration::from_secs(60) {
            return pids;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_for_memory_is_replaced_and_the_next_query_succeeds() {
    let snapshot = demo_snapshot();
    let executor = start_pool(1, permissive_engine()).await;
    let before = idle_workers(&executor, 1).await;

    let error = executor.execute(&validated(&snapshot, MEMORY_BOMB)).await.expect_err("the bomb cannot run");
    assert_eq!(error.kind(), "resource_limit", "{error}");
    let message = error.to_string();
    assert!(message.contains("SIGABRT") && message.contains("memory allocation of"), "{message}");
    assert!(message.contains(&format!("{TEST_ADDRESS_SPACE_MB} MiB")), "{message}");

    let after = idle_workers(&executor, 1).await;
    assert_eq!(after.len(), 1, "the dead worker is replaced");
    assert_ne!(after, before, "by another process");
    assert!(!is_running(before[0]), "the dead worker is gone");
    assert_eq!(count_accounts(&executor, &snapshot).await, json!(5000));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_that_crashes_for_another_reason_is_not_reported_as_out_of_memory() {
    let snapshot = demo_snapshot();
    let executor = Arc::new(start_pool(1, ExecutorConfig::default()).await);
    let busy = idle_workers(&executor, 1).await[0];
    let slow = {
        let executor = Arc::clone(&executor);
        let query = validated(&snapshot, SLOW_QUERY);
        tokio::spawn(async move { executor.execute(&query).await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    // An illegal instruction in the middle of a query, as a bug in the engine would cause it. (A
    // SIGSEGV sent from outside is ignored: Rust's stack-overflow handler returns from it.)
    let status = std::process::Command::new("kill").args(["-ILL", &busy.to_string()]).status().expect("kill runs");
    assert!(status.success(), "the worker {busy} received SIGILL");

    let error = slow.await.expect("the task did not panic").expect_err("the crashed query fails");
    assert_eq!(error.kind(), "worker_crashed", "{error}");
    let message = error.to_string();
    assert!(message.contains("SIGILL") && message.contains("not a memory or time limit"), "{message}");
    assert_ne!(idle_workers(&executor, 1).await, [busy], "the crashed worker is replaced");
    assert_eq!(count_accounts(&executor, &snapshot).await, json!(5000));
}

/// The hostile queries no guard inside the engine stops (windows over wide values, whose
/// operators account for nothing they buffer or build): each ends its worker, or meets a
/// limit first, and the pool answers the next query. In process they aborted quarry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_queries_beyond_the_engine_guards_end_only_their_worker() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/hostile_isolated_sql.jsonl");
    let cases: Vec<Value> = std::fs::read_to_string(path)
        .expect("the corpus")
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| serde_json::from_str(line).expect("a case"))
        .collect();
    assert!(cases.len() >= 3, "only {} cases", cases.len());
    let snapshot = demo_snapshot();
    let executor = start_pool(1, ExecutorConfig { timeout_ms: 20_000, ..ExecutorConfig::default() }).await;
    let mut wrong = Vec::new();
    for case in &cases {
        let (id, sql) = (case["id"].as_str().expect("an id"), case["sql"].as_str().expect("its SQL"));
        assert_eq!(case["expect"], "resource_limit", "{id}");
        let outcome = executor.execute(&validated(&snapshot, sql)).await;
        let kind = outcome.as_ref().err().map_or("ok", |error| error.kind());
        // The memory limit or the time limit, whichever the worker meets first.
        if !matches!(kind, "resource_limit" | "timeout") {
            wrong.push(format!("{id}: {kind}: {}", outcome.err().map(|e| e.to_string()).unwrap_or_default()));
        }
        assert_eq!(count_accounts(&executor, &snapshot).await, json!(5000), "after {id}");
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_over_its_time_limit_kills_its_worker_within_a_second() {
    let snapshot = demo_snapshot();
    let executor = start_pool(1, ExecutorConfig { timeout_ms: 300, ..ExecutorConfig::default() }).await;
    let before = idle_workers(&executor, 1).await;

    let started = Instant::now();
    let error = executor.execute(&validated(&snapshot, SLOW_QUERY)).await.expect_err("the slow query times out");
    let elapsed = started.elapsed();
    assert_eq!(error.kind(), "timeout", "{error}");
    assert!(error.to_string().contains("300 ms time limit"), "{error}");
    assert!(elapsed < Duration::from_millis(300 + 1000), "the error came after {elapsed:?}");
    // Killed at once, not left to finish its query.
    let deadline = Instant::now() + Duration::from_secs(1);
    while is_running(before[0]) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(!is_running(before[0]), "the worker is killed within a second of the time limit");

    let after = idle_workers(&executor, 1).await;
    assert_ne!(after, before, "a new worker serves the next query");
    assert_eq!(count_accounts(&executor, &snapshot).await, json!(5000));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashing_worker_does_not_affect_a_query_on_another_worker() {
    let snapshot = demo_snapshot();
    let executor = Arc::new(start_pool(2, permissive_engine()).await);
    let slow = {
        let executor = Arc::clone(&executor);
        let query = validated(&snapshot, SLOW_QUERY);
        tokio::spawn(async move { executor.execute(&query).await })
    };
    // The slow query has its worker before the bomb takes the other one.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let error = executor.execute(&validated(&snapshot, MEMORY_BOMB)).await.expect_err("the bomb cannot run");
    assert_eq!(error.kind(), "resource_limit", "{error}");
    assert!(!slow.is_finished(), "the slow query was still running when the other worker died");

    let result = slow.await.expect("the task did not panic").expect("the slow query is unaffected");
    let rows = result.to_json().rows;
    assert!(!rows.is_empty(), "the slow query has rows");
    assert_eq!(count_accounts(&executor, &snapshot).await, json!(5000));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_healthy_worker_stays_well_inside_its_address_space_limit() {
    let snapshot = demo_snapshot();
    let executor = start_pool(1, ExecutorConfig::default()).await;
    for sql in [SMALL_QUERY, SLOW_QUERY, "SELECT user_id, COUNT(*) AS n FROM events GROUP BY 1 ORDER BY 2 DESC"] {
        executor.execute(&validated(&snapshot, sql)).await.expect("the query runs");
    }
    let pid = idle_workers(&executor, 1).await[0];
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("the worker's status");
    let kib = |field: &str| -> u64 {
        let line = status.lines().find(|l| l.starts_with(field)).expect("the field");
        line.split_whitespace().nth(1).and_then(|n| n.parse().ok()).expect("a number")
    };
    let (peak_mb, rss_mb) = (kib("VmPeak:") / 1024, kib("VmHWM:") / 1024);
    eprintln!("a healthy worker: VmPeak {peak_mb} MiB, peak RSS {rss_mb} MiB");
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).expect("the worker's limits");
    let address_space = limits.lines().find(|l| l.starts_with("Max address space")).expect("the limit");
    assert!(address_space.contains(&(TEST_ADDRESS_SPACE_MB * 1024 * 1024).to_string()), "{address_space}");
    assert!(peak_mb < TEST_ADDRESS_SPACE_MB * 3 / 4, "VmPeak {peak_mb} MiB leaves too little headroom");
}

/// A chat completion whose JSON answer is `sql`.
fn completion(sql: &str) -> ResponseTemplate {
    let content = json!({ "sql": sql, "explanation": "scripted", "chart": null }).to_string();
    ResponseTemplate::new(200).set_body_json(json!({
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "choices": [{ "index": 0, "message": { "role": "assistant", "content": content }, "finish_reason": "stop" }],
        "usage": { "prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120 }
    }))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quarry_serve_answers_after_a_memory_bomb_sent_through_its_api() {
    let model = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(completion(MEMORY_BOMB))
        .up_to_n_times(1)
        .mount(&model)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(completion(SMALL_QUERY))
        .mount(&model)
        .await;
    let home = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("serve-worker-{}", std::process::id()));
    let base_url = format!("{}/v1", model.uri());
    let space = TEST_ADDRESS_SPACE_MB.to_string();
    let mut server = tokio::task::spawn_blocking(move || {
        common::start_server(
            &home,
            &[
                // `quarry serve` isolates queries by default ("auto"); no setting needed.
                ("QUARRY_ISOLATION__WORKERS", "2"),
                ("QUARRY_ISOLATION__ADDRESS_SPACE_MB", &space),
                ("QUARRY_EXECUTOR__MEMORY_LIMIT_MB", "8192"),
                ("QUARRY_EXECUTOR__MAX_VALUE_BYTES", "8000000000"),
                ("QUARRY_EXECUTOR__MAX_CELL_BYTES", "8000000000"),
                ("QUARRY_SYNTHESIS__MODEL", "openai"),
                ("QUARRY_SYNTHESIS__ROUTE", "model-only"),
                ("QUARRY_SYNTHESIS__MAX_REPAIRS", "0"),
                ("QUARRY_MODEL__BASE_URL", &base_url),
                ("QUARRY_MODEL__MODEL", "scripted"),
                ("QUARRY_MODEL__STRUCTURED_OUTPUT", "json_object"),
                ("QUARRY_MODEL__MAX_RETRIES", "0"),
            ],
        )
    })
    .await
    .expect("the server starts");
    let http = reqwest::Client::builder().timeout(Duration::from_secs(120)).build().expect("client");
    let ask = |question: &'static str| {
        let request = http.post(format!("{}/api/v1/ask", server.url)).json(&json!({ "question": question }));
        async move {
            let response = request.send().await.expect("the server answers");
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.expect("a JSON body"))
        }
    };

    let (status, body) = ask("build me a huge string").await;
    assert_eq!(status, 422, "{body}");
    // The model route reports its SQL's failure as the last error of its attempts.
    let message = body["error"]["message"].as_str().expect("a message");
    assert!(message.contains("memory limit") && message.contains("memory allocation of"), "{body}");

    assert!(matches!(server.child.try_wait(), Ok(None)), "quarry serve is still running");
    let health = http.get(format!("{}/healthz", server.url)).send().await.expect("the server is up");
    assert_eq!(health.status().as_u16(), 200);
    let (status, body) = ask("how many accounts are there").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["answer"]["rows"][0][0], json!(5000), "{body}");
}
