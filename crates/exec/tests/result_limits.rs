//! Result limits in bytes: the whole result and each cell are measured as batches are collected,
//! inside the time limit, so an oversized result fails with `resource_limit` instead of being
//! serialized (a gigabyte cell once took longer to print than the query's time limit).

mod common;

use common::{demo, unchecked};

use std::time::{Duration, Instant};

use quarry_exec::{DataFusionExecutor, Error, ExecutorConfig, SnapshotExecutor};

async fn executor(config: ExecutorConfig) -> DataFusionExecutor {
    DataFusionExecutor::open(&demo(), &[], config).await.expect("executor opens")
}

#[tokio::test]
async fn a_cell_over_the_cell_limit_fails_and_says_which_limit() {
    let executor = executor(ExecutorConfig { max_cell_bytes: 1000, ..ExecutorConfig::default() }).await;
    let error = executor
        .execute(&unchecked(
            "SELECT account_id, repeat('x', 2000) AS padding FROM accounts ORDER BY account_id LIMIT 3",
        ))
        .await
        .expect_err("a 2000-byte cell");
    assert_eq!(error.kind(), "resource_limit", "{error}");
    assert!(
        matches!(&error, Error::CellTooLarge { column, bytes: 2000, limit: 1000 } if column == "padding"),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(message.contains("column padding") && message.contains("raise executor.max_cell_bytes"), "{message}");

    let result = executor
        .execute(&unchecked("SELECT account_id, repeat('x', 1000) AS padding FROM accounts LIMIT 3"))
        .await
        .expect("a cell at the limit is returned");
    assert_eq!(result.num_rows(), 3);
}

#[tokio::test]
async fn a_result_over_the_byte_limit_fails_and_says_which_limit() {
    let executor = executor(ExecutorConfig { max_result_bytes: 20_000, ..ExecutorConfig::default() }).await;
    // 5000 account names of about 17 bytes.
    let error = executor.execute(&unchecked("SELECT name FROM accounts")).await.expect_err("about 85 KB");
    assert_eq!(error.kind(), "resource_limit", "{error}");
    assert!(matches!(error, Error::ResultTooLarge { limit: 20_000 }), "{error:?}");
    assert!(error.to_string().contains("raise executor.max_result_bytes"), "{error}");

    let result = executor.execute(&unchecked("SELECT name FROM accounts LIMIT 100")).await.expect("about 1.7 KB");
    assert_eq!(result.num_rows(), 100);
}

#[tokio::test]
async fn only_the_rows_kept_count_toward_the_byte_limit() {
    let config = ExecutorConfig { max_result_bytes: 20_000, max_result_rows: 50, ..ExecutorConfig::default() };
    let executor = executor(config).await;
    let result = executor.execute(&unchecked("SELECT name FROM accounts")).await.expect("50 names fit");
    assert_eq!(result.num_rows(), 50);
    assert!(result.truncated);
}

#[tokio::test]
async fn the_largest_result_allowed_serializes_quickly() {
    // What the byte cap buys: the largest result the defaults let through (about 32 MiB over
    // 10,000 rows) becomes JSON in moments, where a single gigabyte cell took over 30 s.
    let executor = executor(ExecutorConfig::default()).await;
    let result = executor
        .execute(&unchecked(
            "SELECT repeat(event_name, 280) AS wide FROM events WHERE event_name IS NOT NULL LIMIT 10000",
        ))
        .await
        .expect("just under the default byte limit");
    let started = Instant::now();
    let text = serde_json::to_string(&result.to_json()).expect("serializes");
    let elapsed = started.elapsed();
    assert!(text.len() > 20_000_000, "{} bytes", text.len());
    assert!(elapsed < Duration::from_secs(10), "serialized {} bytes in {elapsed:?}", text.len());
}

/// A few rows of text from a large table do not keep the pages they were read from: string
/// views point into those pages' buffers, and an answer (and the answer cache, which weighs
/// answers by their buffers) would hold them all.
#[tokio::test]
async fn a_small_result_holds_no_more_memory_than_its_values() {
    let executor = executor(ExecutorConfig::default()).await;
    for sql in [
        "SELECT full_name, email FROM users ORDER BY signup_at DESC LIMIT 10",
        "SELECT name, country FROM accounts LIMIT 10",
    ] {
        let result = executor.execute(&unchecked(sql)).await.expect("runs");
        assert_eq!(result.num_rows(), 10);
        let held: usize = result.batches.iter().map(|b| b.get_array_memory_size()).sum();
        assert!(held < 16 * 1024, "{sql}: 10 rows hold {held} bytes");
    }
}
