//! SQL run again reuses its optimized plan (issue 19): the result is the same, and the limits
//! put into every run (the value guards, the row limit) still hold on a reused plan.

mod common;

use common::{demo, unchecked};

use quarry_exec::{DataFusionExecutor, ExecutorConfig, SnapshotExecutor};

async fn executor(config: ExecutorConfig) -> DataFusionExecutor {
    DataFusionExecutor::open(&demo(), &[], config).await.expect("executor opens")
}

fn rows(result: &quarry_exec::QueryResult) -> String {
    serde_json::to_string(&result.to_json().rows).unwrap()
}

#[tokio::test]
async fn a_query_run_again_gives_the_same_result_with_or_without_the_cache() {
    let sql = "SELECT plan, COUNT(*) AS n FROM subscriptions WHERE status = 'active' GROUP BY plan ORDER BY plan";
    let cached = executor(ExecutorConfig::default()).await;
    let uncached = executor(ExecutorConfig { plan_cache_entries: 0, ..ExecutorConfig::default() }).await;
    let first = rows(&cached.execute(&unchecked(sql)).await.unwrap());
    assert!(first.starts_with("[[\"enterprise\","), "{first}");
    for _ in 0..3 {
        assert_eq!(rows(&cached.execute(&unchecked(sql)).await.unwrap()), first);
    }
    assert_eq!(rows(&uncached.execute(&unchecked(sql)).await.unwrap()), first);
}

#[tokio::test]
async fn the_limits_of_each_run_hold_on_a_reused_plan() {
    let executor =
        executor(ExecutorConfig { max_value_bytes: 1000, max_result_rows: 5, ..ExecutorConfig::default() }).await;
    let oversized = "SELECT repeat('x', 2000) AS padding FROM accounts LIMIT 1";
    for run in 0..2 {
        let error = executor.execute(&unchecked(oversized)).await.expect_err("a 2000-byte value");
        assert_eq!(error.kind(), "resource_limit", "run {run}: {error}");
    }
    let many = "SELECT account_id FROM accounts";
    for run in 0..2 {
        let result = executor.execute(&unchecked(many)).await.unwrap();
        assert_eq!((result.num_rows(), result.truncated), (5, true), "run {run}");
    }
}
