//! The worker's side of the protocol, served in this process over in-memory pipes: results come
//! back as the in-process engine returns them, engine errors keep their code and message, and
//! a worker ends when quarry closes its input.

use std::path::PathBuf;

use quarry_exec::{DataFusionExecutor, ExecutorConfig, SnapshotExecutor};
use quarry_snapshot::{Snapshot, SnapshotStore};
use quarry_worker::protocol::{Reply, Request, WireQuery, decode_rows, read_frame, write_frame};
use quarry_worker::serve_worker;
use tokio::io::{DuplexStream, duplex};

fn demo_snapshot() -> Snapshot {
    let store = SnapshotStore::new(PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("worker-home/snapshots"));
    quarry_demo::ensure_installed(&store, &quarry_demo::DemoConfig::default()).expect("the demo snapshot")
}

fn query(sql: &str) -> WireQuery {
    WireQuery {
        sql: sql.to_string(),
        tables: Default::default(),
        columns: Default::default(),
        limit: 1000,
        limit_added: false,
        limit_capped: false,
        notes: Vec::new(),
    }
}

/// A worker served on a task of this runtime, opened on `snapshot`; its input and output ends.
async fn open_worker(snapshot: &Snapshot) -> (DuplexStream, DuplexStream, tokio::task::JoinHandle<()>) {
    let (mut to_worker, worker_input) = duplex(1 << 20);
    let (worker_output, mut from_worker) = duplex(1 << 20);
    let served = tokio::spawn(async move { serve_worker(worker_input, worker_output).await.expect("serves") });
    let open = Request::Open {
        snapshot_dir: snapshot.dir.clone(),
        snapshot_id: snapshot.manifest.id.clone(),
        personal: vec![("users".into(), "email".into())],
        executor: ExecutorConfig::default(),
        cpu_seconds_per_query: None,
    };
    write_frame(&mut to_worker, &open, &[]).await.expect("open");
    let (reply, _) = read_frame::<_, Reply>(&mut from_worker, 0).await.expect("a reply").expect("not closed");
    assert!(matches!(reply, Reply::Ready { .. }), "{reply:?}");
    (to_worker, from_worker, served)
}

async fn ask(to_worker: &mut DuplexStream, from_worker: &mut DuplexStream, sql: &str) -> (Reply, Vec<u8>) {
    write_frame(to_worker, &Request::Execute(query(sql)), &[]).await.expect("execute");
    read_frame::<_, Reply>(from_worker, 1 << 30).await.expect("a reply").expect("not closed")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn results_and_errors_cross_the_pipe_as_the_engine_gives_them() {
    let snapshot = demo_snapshot();
    let (mut to_worker, mut from_worker, served) = open_worker(&snapshot).await;
    let engine = DataFusionExecutor::open(&snapshot, &[("users".into(), "email".into())], ExecutorConfig::default())
        .await
        .expect("the engine opens");

    let sql = "SELECT plan, COUNT(*) AS n, SUM(mrr_usd) AS mrr FROM subscriptions GROUP BY plan ORDER BY plan";
    let (reply, body) = ask(&mut to_worker, &mut from_worker, sql).await;
    let Reply::Rows { truncated, timings } = reply else { panic!("rows expected: {reply:?}") };
    let crossed = decode_rows(body, truncated, timings).expect("Arrow IPC decodes");
    let direct = engine.execute(&query(sql).into_validated().expect("parses")).await.expect("runs");
    assert_eq!(crossed.schema, direct.schema);
    assert_eq!(crossed.to_json(), direct.to_json());
    assert!(!crossed.to_json().rows.is_empty());

    for sql in ["SELECT no_such_column FROM accounts", "SELECT email FROM users"] {
        let (reply, _) = ask(&mut to_worker, &mut from_worker, sql).await;
        let Reply::Failed(error) = reply else { panic!("an error expected: {reply:?}") };
        let crossed = quarry_exec::Error::from(error);
        let direct = engine.execute(&query(sql).into_validated().expect("parses")).await.expect_err("fails");
        assert_eq!((crossed.kind(), crossed.to_string()), (direct.kind(), direct.to_string()));
    }

    drop(to_worker);
    served.await.expect("the worker ends when its input closes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_other_than_the_one_named_is_refused() {
    let snapshot = demo_snapshot();
    let (mut to_worker, worker_input) = duplex(1 << 16);
    let (worker_output, mut from_worker) = duplex(1 << 16);
    let served = tokio::spawn(serve_worker(worker_input, worker_output));
    let open = Request::Open {
        snapshot_dir: snapshot.dir.clone(),
        snapshot_id: "snap-another".into(),
        personal: Vec::new(),
        executor: ExecutorConfig::default(),
        cpu_seconds_per_query: None,
    };
    write_frame(&mut to_worker, &open, &[]).await.expect("open");
    let (reply, _) = read_frame::<_, Reply>(&mut from_worker, 0).await.expect("a reply").expect("not closed");
    let Reply::Failed(error) = reply else { panic!("a refusal expected: {reply:?}") };
    assert!(quarry_exec::Error::from(error).to_string().contains("snap-another"));
    served.await.expect("no panic").expect("the worker ends cleanly");
}
