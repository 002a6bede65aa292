//! What process isolation costs per query: the same small query run in process and through a
//! worker, p50 and p90 of each.
//!
//! `cargo run -p quarry-worker --example isolation_cost -- target/debug/quarry [RUNS]` (the
//! `quarry` binary serves the worker; build it first with the same profile).

use std::path::PathBuf;
use std::time::Instant;

use quarry_exec::{DataFusionExecutor, ExecutorConfig, SnapshotExecutor};
use quarry_snapshot::SnapshotStore;
use quarry_worker::protocol::WireQuery;
use quarry_worker::{IsolationConfig, WorkerExecutor, WorkerPoolConfig};

/// A typical answer's query, and one that reads nothing (the fixed cost of a round trip).
const QUERIES: [&str; 2] = [
    "SELECT plan, COUNT(*) AS n, SUM(mrr_usd) AS mrr FROM subscriptions GROUP BY plan ORDER BY plan",
    "SELECT 1 AS one",
];

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

async fn measure(executor: &dyn SnapshotExecutor, sql: &str, runs: usize) -> (f64, f64) {
    let query = WireQuery {
        sql: format!("{sql} LIMIT 1000"),
        tables: Default::default(),
        columns: Default::default(),
        limit: 1000,
        limit_added: true,
        limit_capped: false,
        notes: Vec::new(),
    }
    .into_validated()
    .expect("the query parses");
    for _ in 0..10 {
        executor.execute(&query).await.expect("warm-up");
    }
    let mut millis = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        executor.execute(&query).await.expect("runs");
        millis.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    millis.sort_by(f64::total_cmp);
    (percentile(&millis, 0.5), percentile(&millis, 0.9))
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let program = PathBuf::from(args.next().expect("the path of the quarry binary"));
    let runs: usize = args.next().map(|n| n.parse().expect("RUNS is a number")).unwrap_or(300);
    let store = SnapshotStore::new(std::env::temp_dir().join("quarry-isolation-cost/snapshots"));
    let snapshot = quarry_demo::ensure_installed(&store, &quarry_demo::DemoConfig::default()).expect("demo snapshot");
    let config = ExecutorConfig::default();

    let in_process = DataFusionExecutor::open(&snapshot, &[], config.clone()).await.expect("the engine opens");

    let isolation = IsolationConfig { workers: 1, ..IsolationConfig::default() };
    let started = Instant::now();
    let pool = WorkerPoolConfig::new(program, &snapshot, &[], config, &isolation);
    let workers = WorkerExecutor::start(pool).await.expect("the worker starts");
    println!("worker start: {:.1} ms", started.elapsed().as_secs_f64() * 1000.0);
    for sql in QUERIES {
        let (p50, p90) = measure(&in_process, sql, runs).await;
        println!("{sql}\n  in process:  p50 {p50:.2} ms, p90 {p90:.2} ms ({runs} runs)");
        let (p50, p90) = measure(&workers, sql, runs).await;
        println!("  in a worker: p50 {p50:.2} ms, p90 {p90:.2} ms ({runs} runs)");
    }
}
