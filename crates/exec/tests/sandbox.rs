//! The executor's sandbox on the demo warehouse: limits on memory, time, rows and cartesian
//! joins, personal-data scans and forbidden statements, checked against real queries.

mod common;

use common::{demo, unchecked};

use quarry_exec::{DataFusionExecutor, Error, ExecutorConfig, SnapshotExecutor};

fn personal() -> Vec<(String, String)> {
    vec![("users".into(), "email".into()), ("users".into(), "full_name".into())]
}

async fn executor(config: ExecutorConfig) -> DataFusionExecutor {
    DataFusionExecutor::open(&demo(), &personal(), config).await.expect("executor opens")
}

#[tokio::test]
async fn runs_an_aggregate_and_reports_timings() {
    let executor = executor(ExecutorConfig::default()).await;
    let result = executor
        .execute(&unchecked("SELECT signup_channel, COUNT(*) AS n FROM users GROUP BY 1 ORDER BY 1"))
        .await
        .expect("runs");
    let json = result.to_json();
    let channels: Vec<&str> = json.rows.iter().map(|r| r[0].as_str().unwrap()).collect();
    assert_eq!(channels, ["organic", "paid_search", "partner", "referral", "social"]);
    assert_eq!(json.columns[1].data_type, "BIGINT");
    assert!(result.timings.plan_ms > 0.0 && result.timings.execute_ms > 0.0);
}

#[tokio::test]
async fn cuts_results_at_the_row_limit() {
    let executor = executor(ExecutorConfig { max_result_rows: 7, ..ExecutorConfig::default() }).await;
    let result = executor.execute(&unchecked("SELECT user_id FROM users")).await.expect("runs");
    assert_eq!(result.num_rows(), 7);
    assert!(result.truncated);
}

#[tokio::test]
async fn refuses_personal_columns_in_scans_even_past_the_policy() {
    let executor = executor(ExecutorConfig::default()).await;
    for sql in [
        "SELECT email FROM users",
        "SELECT COUNT(*) FROM users WHERE email LIKE '%@example.com'",
        "SELECT u.user_id FROM users u JOIN users v ON u.full_name = v.full_name",
        "SELECT COUNT(DISTINCT x) FROM (SELECT email AS x FROM users) t",
    ] {
        let error = executor.execute(&unchecked(sql)).await.expect_err(sql);
        assert_eq!(error.kind(), "forbidden", "{sql}: {error}");
        assert!(error.to_string().contains("personal data"), "{sql}: {error}");
    }
}

#[tokio::test]
async fn refuses_statements_ddl_dml_and_table_functions() {
    let executor = executor(ExecutorConfig::default()).await;
    for sql in [
        "CREATE TABLE x AS SELECT 1",
        "INSERT INTO users (user_id) VALUES (1)",
        "SET datafusion.execution.batch_size = 1",
        "SELECT * FROM generate_series(1, 10)",
        "SELECT * FROM range(10)",
        "SELECT * FROM '/etc/passwd'",
        "SELECT * FROM information_schema.tables",
    ] {
        let error = executor.execute(&unchecked(sql)).await.expect_err(sql);
        assert!(matches!(error, Error::Forbidden { .. } | Error::Plan { .. }), "{sql}: {error:?}");
    }
}

#[tokio::test]
async fn refuses_cartesian_joins_before_running() {
    let executor = executor(ExecutorConfig::default()).await;
    for sql in [
        "SELECT COUNT(*) FROM events a CROSS JOIN events b",
        "SELECT MAX(a.event_id + b.event_id) FROM events a CROSS JOIN events b",
        "SELECT SUM(a.session_id - b.user_id) FROM events a, users b",
        "SELECT MIN(a.event_id * b.event_id) FROM events a JOIN events b ON 1 = 1",
        "SELECT COUNT(*) FROM events a JOIN users b ON a.event_time > b.signup_at",
    ] {
        let error = executor.execute(&unchecked(sql)).await.expect_err(sql);
        assert_eq!(error.kind(), "cartesian_join", "{sql}: {error}");
    }
    // A scalar subquery joins one row to every group: allowed.
    let result = executor
        .execute(&unchecked(
            "SELECT signup_channel, 100.0 * COUNT(*) / (SELECT COUNT(*) FROM users) AS pct FROM users GROUP BY 1",
        ))
        .await
        .expect("a share against a scalar total runs");
    assert_eq!(result.num_rows(), 5);
}

#[tokio::test]
async fn stops_a_query_at_the_memory_limit() {
    let executor = executor(ExecutorConfig { memory_limit_mb: 8, ..ExecutorConfig::default() }).await;
    let error = executor
        .execute(&unchecked("SELECT event_id, session_id, COUNT(*) FROM events GROUP BY 1, 2 ORDER BY 3 DESC"))
        .await
        .expect_err("needs more than 8 MiB");
    assert_eq!(error.kind(), "resource_limit", "{error}");
    assert!(error.to_string().contains("8 MiB"), "{error}");
}

#[tokio::test]
async fn stops_a_busy_query_at_the_time_limit_and_stays_usable() {
    let config = ExecutorConfig { timeout_ms: 300, max_cartesian_rows: u64::MAX, ..ExecutorConfig::default() };
    let executor = executor(config).await;
    let started = std::time::Instant::now();
    let error = executor
        .execute(&unchecked("SELECT COUNT(*) FROM events a CROSS JOIN events b WHERE a.session_id + b.session_id = 7"))
        .await
        .expect_err("runs far longer than 300 ms");
    assert_eq!(error.kind(), "timeout", "{error}");
    // Control returns at the deadline, not when the query would have finished; the bound is
    // loose because this is a correctness check, not a benchmark.
    assert!(started.elapsed().as_secs() < 10, "returned after {:?}", started.elapsed());
    let after = executor.execute(&unchecked("SELECT COUNT(*) FROM accounts")).await.expect("still usable");
    assert_eq!(after.num_rows(), 1);
}

#[tokio::test]
async fn reports_unknown_columns_as_plan_errors() {
    let executor = executor(ExecutorConfig::default()).await;
    let error = executor.execute(&unchecked("SELECT no_such_column FROM users")).await.expect_err("unknown column");
    assert_eq!(error.kind(), "plan_error", "{error}");
    assert!(error.to_string().contains("no_such_column"), "{error}");
}

#[tokio::test]
async fn unknown_columns_get_only_close_suggestions() {
    let executor = executor(ExecutorConfig::default()).await;
    // A double-quoted value the policy did not turn into a string: no unrelated suggestion.
    let error = executor
        .execute(&unchecked(r#"SELECT count(*) FROM accounts WHERE country = "Angola""#))
        .await
        .expect_err("unknown column");
    let message = error.to_string();
    assert!(message.contains("column Angola does not exist here"), "{message}");
    assert!(!message.contains("did you mean"), "{message}");
    assert!(message.contains("accounts.country") && message.contains("single quotes ('Angola')"), "{message}");
    // A misspelling gets the column it is close to.
    let error = executor.execute(&unchecked("SELECT contry FROM accounts")).await.expect_err("misspelled");
    assert!(error.to_string().contains("did you mean accounts.country?"), "{error}");
}

#[tokio::test]
async fn primary_keys_let_a_grouped_key_carry_its_table_s_other_columns() {
    let executor = executor(ExecutorConfig::default()).await;
    let result = executor
        .execute(&unchecked(
            "SELECT a.name, a.industry, count(*) AS users FROM accounts a JOIN users u ON u.account_id = a.account_id \
             GROUP BY a.account_id ORDER BY users DESC LIMIT 3",
        ))
        .await
        .expect("accounts.account_id is the primary key, so name and industry are determined by it");
    assert_eq!(result.num_rows(), 3);
}

#[tokio::test]
async fn a_timed_out_query_does_not_hold_memory_from_the_next_one() {
    // The first query builds a large hash table and is still probing when the deadline
    // fires; its runtime winds down in the background while the next query runs.
    let config = ExecutorConfig {
        // Long enough for the follow-up queries on a loaded debug build, while the first one
        // (about 10^11 joined rows) can never finish within it.
        timeout_ms: 5_000,
        memory_limit_mb: 64,
        max_cartesian_rows: u64::MAX,
        ..ExecutorConfig::default()
    };
    let executor = executor(config).await;
    let error = executor
        .execute(&unchecked(
            "SELECT count(*) FROM events a JOIN events b ON a.platform = b.platform AND a.session_id <> b.session_id",
        ))
        .await
        .expect_err("far beyond the time limit");
    assert_eq!(error.kind(), "timeout", "{error}");
    for _ in 0..2 {
        let result = executor
            .execute(&unchecked("SELECT session_id, count(*) FROM events GROUP BY session_id ORDER BY 2 DESC LIMIT 10"))
            .await
            .expect("the next query gets the whole memory limit");
        assert_eq!(result.num_rows(), 10);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_that_stops_waiting_cancels_the_query_without_a_panic() {
    // The server's own request timeout (or a client going away) drops `execute` mid-query:
    // the query's runtime must then be shut down in the background, not dropped in async code.
    let config = ExecutorConfig { timeout_ms: 60_000, max_cartesian_rows: u64::MAX, ..ExecutorConfig::default() };
    let executor = executor(config).await;
    let slow = unchecked(
        "SELECT count(*) FROM events a JOIN events b ON a.platform = b.platform AND a.session_id <> b.session_id",
    );
    let cancelled = tokio::time::timeout(std::time::Duration::from_millis(200), executor.execute(&slow)).await;
    assert!(cancelled.is_err(), "the caller's deadline fires first");
    let result = executor.execute(&unchecked("SELECT count(*) FROM events")).await.expect("the executor still answers");
    assert_eq!(result.num_rows(), 1);
}
