//! The value guards on the demo warehouse: every function that can grow a value stops at the
//! per-value limit with a `resource_limit` error naming it, values within the limit are what
//! DataFusion's own functions give, and many values under the limit still meet the memory limit.

mod common;

use common::{demo, unchecked};

use std::time::{Duration, Instant};

use datafusion::prelude::SessionContext;
use quarry_exec::{DataFusionExecutor, ExecutorConfig, SnapshotExecutor};
use serde_json::json;

async fn executor(config: ExecutorConfig) -> DataFusionExecutor {
    DataFusionExecutor::open(&demo(), &[], config).await.expect("executor opens")
}

#[tokio::test]
async fn every_growing_function_stops_at_the_value_limit() {
    let executor = executor(ExecutorConfig { max_value_bytes: 10_000, ..ExecutorConfig::default() }).await;
    let cases = [
        ("repeat", "SELECT repeat('ab', 6000)"),
        ("repeat", "SELECT max(length(repeat(name, 1000))) FROM accounts"),
        ("replace", "SELECT replace(repeat('a', 200), 'a', repeat('b', 100))"),
        ("replace", "SELECT replace(name, '', repeat('-', 1000)) FROM accounts"),
        ("regexp_replace", "SELECT regexp_replace(repeat('x', 200), '', repeat('y', 100), 'g')"),
        ("regexp_replace", "SELECT regexp_replace(name, '(.)', repeat('\\1', 600), 'g') FROM accounts"),
        ("lpad", "SELECT lpad('x', 20000, 'y')"),
        ("rpad", "SELECT rpad(name, 20000) FROM accounts"),
        ("concat", "SELECT concat(repeat('a', 6000), repeat('b', 6000))"),
        ("concat", "SELECT concat(name, repeat('b', 9995)) FROM accounts"),
        ("concat_ws", "SELECT concat_ws(repeat(',', 5000), 'a', 'b', 'c')"),
        ("||", "SELECT repeat('a', 6000) || repeat('b', 6000)"),
        ("||", "SELECT name || repeat('b', 9995) FROM accounts"),
        (
            "||",
            "WITH a AS (SELECT name || name AS s FROM accounts), b AS (SELECT s || s || s || s AS s FROM a), \
             c AS (SELECT s || s || s || s AS s FROM b), d AS (SELECT s || s || s || s AS s FROM c) \
             SELECT s || s || s || s || s || s || s || s FROM d",
        ),
        ("overlay", "SELECT overlay(repeat('a', 6000) placing repeat('b', 6000) from 2)"),
        ("encode", "SELECT encode(repeat('x', 6000), 'hex')"),
        // 'ΐ' (2 bytes) upper-cases to three characters of 2 bytes each: 4,000 bytes become 12,000.
        ("upper", "SELECT upper(repeat('\u{390}', 2000))"),
        ("lower", "SELECT lower(repeat('\u{130}\u{390}', 1000)) FROM accounts"),
        ("initcap", "SELECT initcap(repeat(' \u{390}', 1500))"),
        ("array_repeat", "SELECT array_repeat(1, 2000)"),
        ("array_repeat", "SELECT cardinality(array_repeat(account_id, 2000)) FROM accounts"),
        ("array_resize", "SELECT array_resize(array_repeat(1, 10), 2000, 0)"),
        ("make_array", "SELECT [array_repeat(1, 600), array_repeat(2, 600)]"),
        ("array_concat", "SELECT array_repeat(1, 600) || array_repeat(2, 600)"),
        ("array_concat", "SELECT array_concat(array_repeat(1, 600), array_repeat(2, 600))"),
        ("array_to_string", "SELECT array_to_string(array_repeat('ab', 900), repeat('-', 20))"),
        ("generate_series", "SELECT generate_series(1, 5000)"),
        ("range", "SELECT cardinality(range(account_id * 10)) FROM accounts"),
        ("string_agg", "SELECT string_agg(name, ',') FROM accounts"),
        ("string_agg", "SELECT platform, string_agg(event_name, ',') FROM events GROUP BY platform"),
        ("string_agg", "SELECT string_agg(DISTINCT name, ',' ORDER BY name) FROM accounts"),
        (
            "string_agg",
            "SELECT max(length(w)) FROM (SELECT string_agg(name, ',') OVER (ORDER BY account_id) AS w FROM accounts) t",
        ),
        ("array_agg", "SELECT cardinality(array_agg(event_id)) FROM events"),
    ];
    let mut failures = Vec::new();
    for (function, sql) in cases {
        match executor.execute(&unchecked(sql)).await {
            Ok(_) => failures.push(format!("{sql}: ran")),
            Err(error) => {
                let message = error.to_string();
                let named = message.starts_with(&format!("{function} would build a value larger than the 10000-byte"));
                if error.kind() != "resource_limit" || !named || !message.contains("raise executor.max_value_bytes") {
                    failures.push(format!(
                        "{sql}: expected {function} at the value limit, got {}: {message}",
                        error.kind()
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn values_within_the_limit_are_what_datafusion_builds() {
    let executor = executor(ExecutorConfig::default()).await;
    let sql = "SELECT repeat('ab', 3) AS r, replace('aXa', 'a', 'bb') AS p, \
               regexp_replace('foobarbaz', 'b(..)', 'X\\1Y', 'g') AS q, lpad('7', 3, '0') AS l, \
               concat('a', NULL, 'b') AS c, 'a' || NULL AS n, 'a' || 'b' || 'c' AS abc, \
               array_to_string([1, 2, 3], '-') AS s, [1, 2] || [3] AS arr, translate('abc', 'b', 'ß') AS t";
    let result = executor.execute(&unchecked(sql)).await.expect("runs");
    let json = serde_json::to_value(result.to_json().rows).unwrap();
    assert_eq!(
        json,
        json!([["ababab", "bbXbb", "fooXarYXazY", "007", "ab", null, "abc", "1-2-3", "[1, 2, 3]", "aßc"]])
    );

    // A rewritten `||` keeps the column name DataFusion gives the operator.
    let sql = "SELECT 'x' || name, name || '!' || 'y' FROM accounts ORDER BY account_id LIMIT 2";
    let result = executor.execute(&unchecked(sql)).await.expect("runs");
    let plain = SessionContext::new();
    plain.sql("CREATE TABLE accounts AS SELECT 'a' AS name, 1 AS account_id").await.unwrap().collect().await.unwrap();
    let expected = plain.sql(sql).await.unwrap();
    let expected_names: Vec<String> = expected.schema().fields().iter().map(|f| f.name().clone()).collect();
    let names: Vec<String> = result.columns().into_iter().map(|c| c.name).collect();
    assert_eq!(names, expected_names);
    assert_eq!(result.num_rows(), 2);

    // Checked aggregates in groups, with DISTINCT and ORDER BY, and in windows.
    for (sql, rows) in [
        ("SELECT platform, string_agg(DISTINCT event_name, ',' ORDER BY event_name) FROM events GROUP BY 1", 3),
        ("SELECT account_id, string_agg(role, ',') FROM users GROUP BY 1 ORDER BY 1 LIMIT 5", 5),
        ("SELECT cardinality(array_agg(account_id)) FROM accounts", 1),
        ("SELECT string_agg(name, ',') OVER (PARTITION BY industry ORDER BY account_id) FROM accounts LIMIT 7", 7),
        ("SELECT array_agg(name) OVER (PARTITION BY region ORDER BY account_id DESC) FROM accounts LIMIT 4", 4),
    ] {
        let result = executor.execute(&unchecked(sql)).await.unwrap_or_else(|error| panic!("{sql}: {error}"));
        assert_eq!(result.num_rows(), rows, "{sql}");
    }
    let result =
        executor.execute(&unchecked("SELECT cardinality(array_agg(account_id)) AS n FROM accounts")).await.unwrap();
    assert_eq!(result.to_json().rows, vec![vec![json!(5000)]]);
}

#[tokio::test]
async fn many_values_under_the_value_limit_meet_the_memory_limit() {
    // Each value is 0.6 MiB, under the per-value limit; a batch of them is gigabytes, which
    // the guard reserves in the query's pool before building.
    let executor = executor(ExecutorConfig { memory_limit_mb: 64, ..ExecutorConfig::default() }).await;
    let error = executor
        .execute(&unchecked("SELECT max(length(repeat(event_name, 60000))) FROM events"))
        .await
        .expect_err("needs far more than 64 MiB");
    assert_eq!(error.kind(), "resource_limit", "{error}");
    let message = error.to_string();
    assert!(message.contains("64 MiB memory limit") && message.contains("executor.memory_limit_mb"), "{message}");
}

#[tokio::test]
async fn one_call_builds_at_most_an_eighth_of_the_memory_limit_for_one_batch() {
    // 20 KB per row, a tenth of the value limit; 8192 rows a batch are 160 MB, within the
    // 1 GiB pool but more than the 128 MiB one call may leave behind it for the batch.
    let executor = executor(ExecutorConfig::default()).await;
    let sql = "SELECT max(length(repeat(concat(event_name, '0123456789012345678'), 1000))) FROM events";
    let error = executor.execute(&unchecked(sql)).await.expect_err("the batch is too large");
    assert_eq!(error.kind(), "resource_limit", "{error}");
    let message = error.to_string();
    assert!(
        message.contains("repeat would build about") && message.contains("more than 1/8 of the memory limit"),
        "{message}"
    );
    // The same values a few at a time are fine.
    let few = executor.execute(&unchecked(&format!("{sql} WHERE event_id <= 100"))).await.expect("a small batch runs");
    assert_eq!(few.num_rows(), 1);
    // Non-ASCII text may triple when upper-cased: bounded as such, not measured afterwards.
    let upper = "SELECT max(length(upper(repeat(concat(platform, '\u{390}\u{390}\u{390}\u{390}\u{390}\u{390}'), 1000)))) FROM events";
    let error = executor.execute(&unchecked(upper)).await.expect_err("upper triples the batch");
    assert!(error.to_string().contains("upper would build about"), "{error}");
}

#[tokio::test]
async fn a_constant_too_large_is_refused_while_planning_not_built() {
    let executor = executor(ExecutorConfig::default()).await;
    let started = Instant::now();
    let error = executor
        .execute(&unchecked("SELECT length(repeat(repeat('x', 1000), 1000000))"))
        .await
        .expect_err("a gigabyte constant");
    assert_eq!(error.kind(), "resource_limit", "{error}");
    assert!(error.to_string().starts_with("repeat would build a value larger than the 1048576-byte limit"), "{error}");
    assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
}
