//! A query that is abandoned (its time limit, or a caller that stops waiting) stops using the CPU
//! within a second. Before, its threads kept going at full speed for the rest of the query:
//! the task was aborted but never yielded (a join producing millions of batches from one input
//! batch, or looping over pairs its filter rejects, inside a single poll), and a caller that
//! dropped the future left the task running detached.
//!
//! The process's CPU time is read from /proc/self/stat, so this binary holds one test and runs
//! its cases one after another.

mod common;

use common::unchecked;

use std::path::Path;
use std::time::{Duration, Instant};

use quarry_exec::{DataFusionExecutor, ExecutorConfig, SnapshotExecutor};
use quarry_snapshot::SnapshotStore;

/// CPU time the process may use in the second after a query is abandoned: unwinding its
/// operators and freeing their memory, not running them.
const MAX_CPU_AFTER: Duration = Duration::from_millis(250);

/// User plus system CPU time of the whole process. The kernel reports it in clock ticks of
/// USER_HZ, which Linux fixes at 100 for user space.
fn process_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    // The command name may contain spaces; the fields after it are space-separated.
    let fields: Vec<&str> = stat[stat.rfind(')').expect("comm") + 2..].split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime");
    Duration::from_millis(ticks * 10)
}

/// CPU used by the process over the second after now.
async fn cpu_over_the_next_second() -> Duration {
    let before = process_cpu();
    tokio::time::sleep(Duration::from_secs(1)).await;
    process_cpu().saturating_sub(before)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abandoned_query_stops_using_the_cpu_within_a_second() {
    let store = SnapshotStore::new(Path::new(env!("CARGO_TARGET_TMPDIR")).join("demo-snapshots"));
    let snapshot = quarry_demo::ensure_installed(&store, &quarry_demo::DemoConfig::default()).expect("demo snapshot");
    let config = ExecutorConfig { timeout_ms: 1_500, ..ExecutorConfig::default() };
    let executor = DataFusionExecutor::open(&snapshot, &[], config).await.expect("executor");
    // Equi-joins on a three-valued key: about 3 * 10^11 pairs, far beyond any time limit.
    let busy = [
        // Millions of output batches, each passed on to the aggregate above the join.
        "SELECT count(*) FROM events a JOIN events b ON a.platform = b.platform AND a.session_id <> b.session_id",
        // A filter that rejects every pair: the join loops without passing anything on.
        "SELECT count(*) FROM events a JOIN events b ON a.platform = b.platform AND a.session_id + b.session_id = -1",
    ];
    let mut report = Vec::new();
    for sql in busy {
        let cpu_before = process_cpu();
        let started = Instant::now();
        let error = executor.execute(&unchecked(sql)).await.expect_err("beyond the time limit");
        let elapsed = started.elapsed();
        assert_eq!(error.kind(), "timeout", "{sql}: {error}");
        let busy_cpu = process_cpu().saturating_sub(cpu_before);
        let after = cpu_over_the_next_second().await;
        report.push(format!(
            "time limit after {elapsed:?}: {busy_cpu:?} CPU while running, {after:?} in the second after: {sql}"
        ));
        assert!(busy_cpu > Duration::from_millis(500), "the query should have kept a core busy: {}", report.join("\n"));
        assert!(after <= MAX_CPU_AFTER, "{}", report.join("\n"));
    }

    // A caller with a shorter deadline of its own drops the future mid-query.
    let patient =
        DataFusionExecutor::open(&snapshot, &[], ExecutorConfig { timeout_ms: 600_000, ..ExecutorConfig::default() })
            .await
            .expect("executor");
    let cpu_before = process_cpu();
    let dropped = tokio::time::timeout(Duration::from_millis(1_500), patient.execute(&unchecked(busy[0]))).await;
    assert!(dropped.is_err(), "the caller's deadline fires first");
    let busy_cpu = process_cpu().saturating_sub(cpu_before);
    let after = cpu_over_the_next_second().await;
    report.push(format!("caller dropped the query: {busy_cpu:?} CPU while running, {after:?} in the second after"));
    println!("{}", report.join("\n"));
    assert!(busy_cpu > Duration::from_millis(500), "{}", report.join("\n"));
    assert!(after <= MAX_CPU_AFTER, "{}", report.join("\n"));
}
