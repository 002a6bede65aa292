//! The hostile corpus's value-size and result-size cases (`fixtures/hostile_sql.jsonl`, ids
//! `resource-value-*` and `resource-result-*`) through the real policy and the executor: each
//! fails fast with `resource_limit`, and the process's peak resident memory while it runs stays
//! within the memory limit plus headroom. Before the value guards these queries peaked at
//! 2-9 GiB, or aborted the process, against a 1 GiB limit.
//!
//! One test in its own binary: the peak is the whole process's (VmHWM), so nothing else may run
//! beside it.

mod common;

use common::demo;

use std::time::{Duration, Instant};

use quarry_exec::{DataFusionExecutor, ExecutorConfig, SnapshotExecutor};
use quarry_snapshot::Snapshot;
use quarry_sqlguard::{Catalog, PolicyConfig, SqlPolicy};
use serde::Deserialize;

const MEMORY_LIMIT_MB: u64 = 256;
/// What the process may hold beyond the query's memory limit: Arrow buffers that no pool
/// accounts for (Parquet decoding, batches between operators), allocator slack.
const HEADROOM_MB: u64 = 384;

#[derive(Deserialize)]
struct Case {
    id: String,
    sql: String,
    expect: String,
}

fn policy(snapshot: &Snapshot) -> SqlPolicy {
    let mut catalog = Catalog::new();
    for table in &snapshot.manifest.tables {
        let columns: Vec<&str> = table.columns.iter().map(|column| column.name.as_str()).collect();
        catalog.add_table(&table.name, &columns);
    }
    catalog.mark_personal("users", "email");
    catalog.mark_personal("users", "full_name");
    SqlPolicy::new(catalog, PolicyConfig::default())
}

fn cases() -> Vec<Case> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/hostile_sql.jsonl");
    std::fs::read_to_string(path)
        .expect("corpus")
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| serde_json::from_str::<Case>(line).expect("case"))
        .filter(|case| case.id.starts_with("resource-value-") || case.id.starts_with("resource-result-"))
        .collect()
}

/// A field of /proc/self/status, in MiB.
fn status_mib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status.lines().find(|line| line.starts_with(field)).unwrap_or_else(|| panic!("no {field}"));
    let kib: u64 = line.split_whitespace().nth(1).and_then(|kib| kib.parse().ok()).expect("a size in kB");
    kib / 1024
}

/// Starts a new peak: the kernel resets VmHWM to the current RSS.
fn reset_peak() {
    std::fs::write("/proc/self/clear_refs", "5").expect("reset the peak RSS");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn value_and_result_bombs_fail_fast_within_the_memory_limit() {
    let cases = cases();
    assert!(cases.len() >= 7, "only {} value and result cases in the corpus", cases.len());
    let snapshot = demo();
    let policy = policy(&snapshot);
    let config = ExecutorConfig { memory_limit_mb: MEMORY_LIMIT_MB, timeout_ms: 30_000, ..ExecutorConfig::default() };
    let executor = DataFusionExecutor::open(&snapshot, &[], config).await.expect("executor");
    // Warm the file caches and the runtime, so that the baseline is the executor at rest.
    executor.execute(&policy.check("SELECT count(*) FROM events").expect("admitted")).await.expect("runs");

    let mut report = Vec::new();
    let mut failures = Vec::new();
    for case in &cases {
        assert_eq!(case.expect, "resource_limit", "{}", case.id);
        let query =
            policy.check(&case.sql).unwrap_or_else(|error| panic!("{}: the policy refused it: {error}", case.id));
        // Let the allocator return what the previous case freed before measuring from here.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let baseline = status_mib("VmRSS:");
        reset_peak();
        let started = Instant::now();
        let outcome = executor.execute(&query).await;
        let elapsed = started.elapsed();
        let peak = status_mib("VmHWM:");
        let kind = outcome.as_ref().err().map_or("ok", |error| error.kind());
        let message = outcome.as_ref().err().map(ToString::to_string).unwrap_or_default();
        report.push(format!(
            "{}: {kind} in {elapsed:.1?}, peak {peak} MiB (baseline {baseline} MiB): {message}",
            case.id
        ));
        if kind != "resource_limit" {
            failures.push(format!("{}: expected resource_limit, got {kind}: {message}", case.id));
        }
        if elapsed > Duration::from_secs(15) {
            failures.push(format!("{}: took {elapsed:?}", case.id));
        }
        if peak > baseline + MEMORY_LIMIT_MB + HEADROOM_MB {
            failures.push(format!(
                "{}: peak RSS {peak} MiB, over the {baseline} MiB baseline + {MEMORY_LIMIT_MB} MiB limit + {HEADROOM_MB} MiB headroom",
                case.id
            ));
        }
    }
    println!("{}", report.join("\n"));
    assert!(failures.is_empty(), "{}\n\nall cases:\n{}", failures.join("\n"), report.join("\n"));
}
