//! quarry's side: a pool of worker processes behind [`SnapshotExecutor`].

use std::collections::VecDeque;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use quarry_exec::{ExecutorConfig, QueryResult, SnapshotExecutor};
use quarry_snapshot::Snapshot;
use quarry_sqlguard::ValidatedQuery;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;

use crate::config::IsolationConfig;
use crate::error::{Error, Result};
use crate::protocol::{Reply, Request, WireQuery, decode_rows, max_result_body, read_frame, write_frame};

/// How long a worker whose pipes closed may take to be reaped, and its last stderr line read.
const REAP_TIMEOUT: Duration = Duration::from_secs(2);
/// Lines of a worker's stderr kept to explain its death.
const STDERR_LINES_KEPT: usize = 8;

/// Everything a pool needs to start its workers.
#[derive(Debug, Clone)]
pub struct WorkerPoolConfig {
    /// The `quarry` executable; workers run `PROGRAM worker --address-space-mb N`.
    pub program: PathBuf,
    /// The snapshot's directory.
    pub snapshot_dir: PathBuf,
    /// The snapshot's id, checked by each worker.
    pub snapshot_id: String,
    /// `(table, column)` pairs no query may read.
    pub personal: Vec<(String, String)>,
    /// The engine's limits, the same as in process.
    pub executor: ExecutorConfig,
    /// Worker processes, so queries at once.
    pub workers: usize,
    /// Each worker's address-space limit, in MiB.
    pub address_space_mb: u64,
    /// How long a worker may take to report ready.
    pub start_timeout: Duration,
}

impl WorkerPoolConfig {
    /// Workers of `program` over `snapshot`, sized by `isolation`.
    pub fn new(
        program: PathBuf,
        snapshot: &Snapshot,
        personal: &[(String, String)],
        executor: ExecutorConfig,
        isolation: &IsolationConfig,
    ) -> Self {
        Self {
            program,
            snapshot_dir: snapshot.dir.clone(),
            snapshot_id: snapshot.manifest.id.clone(),
            personal: personal.to_vec(),
            address_space_mb: isolation.address_space_limit_mb(executor.memory_limit_mb),
            executor,
            workers: isolation.worker_count().max(1),
            start_timeout: Duration::from_millis(isolation.start_timeout_ms),
        }
    }

    /// CPU seconds one query may use: its time limit on every query thread, and a second
    /// more. Only a backstop: quarry kills a worker at the time limit itself.
    fn cpu_seconds_per_query(&self) -> u64 {
        let threads = if self.executor.cpu_threads > 0 {
            self.executor.cpu_threads
        } else {
            std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2)
        };
        self.executor.timeout_ms.div_ceil(1000).saturating_mul(threads as u64).saturating_add(1)
    }
}

/// A [`SnapshotExecutor`] that runs each query in one of a pool of `quarry worker`
/// processes, each running the in-process [`DataFusionExecutor`](quarry_exec::DataFusionExecutor)
/// on the same snapshot with the same limits, and limited by the kernel in address space and
/// CPU time. A worker that dies, or runs a query past its time limit, is killed and replaced
/// in the background; its query fails with a resource-limit, timeout or crash error, and queries
/// on other workers go on.
pub struct WorkerExecutor {
    pool: Arc<Pool>,
}

impl std::fmt::Debug for WorkerExecutor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerExecutor").field("config", &self.pool.config).finish()
    }
}

impl WorkerExecutor {
    /// Starts the pool's workers and waits until each has opened the snapshot.
    pub async fn start(config: WorkerPoolConfig) -> Result<Self> {
        let starts = (0..config.workers).map(|_| Worker::start(&config));
        let workers = futures::future::try_join_all(starts).await?;
        let pool = Pool { permits: Arc::new(Semaphore::new(config.workers)), idle: Mutex::new(workers), config };
        Ok(Self { pool: Arc::new(pool) })
    }

    /// The process ids of the workers not running a query now (for tests and diagnostics).
    pub fn idle_worker_pids(&self) -> Vec<u32> {
        self.pool.idle.lock().unwrap_or_else(PoisonError::into_inner).iter().map(|w| w.pid).collect()
    }

    /// The pool's configuration.
    pub fn config(&self) -> &WorkerPoolConfig {
        &self.pool.config
    }
}

#[async_trait]
impl SnapshotExecutor for WorkerExecutor {
    fn snapshot_id(&self) -> &str {
        &self.pool.config.snapshot_id
    }

    async fn execute(&self, query: &ValidatedQuery) -> quarry_exec::Result<QueryResult> {
        let mut lease = self.pool.lease().await?;
        let config = &self.pool.config;
        let worker = lease.worker.as_mut().expect("a lease holds its worker until dropped");
        match worker.run(&WireQuery::from(query), config).await {
            Ok(Err(error @ quarry_exec::Error::Timeout { .. })) => {
                // The engine gave up on a query that may still be running on one of its
                // threads: the worker goes, with whatever it is still doing.
                Err(error)
            }
            Ok(outcome) => {
                lease.keep = true;
                outcome
            }
            Err(fault) => {
                tracing::warn!(pid = worker.pid, error = %fault, "query worker lost; starting another");
                Err(fault.into())
            }
        }
    }
}

struct Pool {
    config: WorkerPoolConfig,
    /// Workers ready for a query; one per available permit, except while a replacement starts.
    idle: Mutex<Vec<Worker>>,
    /// One per worker: a query holds one for as long as it holds its worker, and a
    /// replacement for as long as it takes to start.
    permits: Arc<Semaphore>,
}

impl Pool {
    async fn lease(self: &Arc<Self>) -> Result<Lease> {
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(|_| Error::Protocol("the worker pool is closed".into()))?;
        let idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner).pop();
        // A worker that died while idle (killed from outside) is replaced before it is used:
        // its death is not the next query's fault.
        let worker = match idle.and_then(Worker::alive) {
            Some(worker) => worker,
            None => Worker::start(&self.config).await?,
        };
        Ok(Lease { pool: Arc::clone(self), permit: Some(permit), worker: Some(worker), keep: false })
    }
}

/// A worker lent to one query. Dropped without `keep` (a dead or timed-out worker, or a
/// caller that stopped waiting mid-query), the worker is killed and a replacement started in
/// the background, holding the permit until it is ready.
struct Lease {
    pool: Arc<Pool>,
    permit: Option<OwnedSemaphorePermit>,
    worker: Option<Worker>,
    keep: bool,
}

impl Drop for Lease {
    fn drop(&mut self) {
        let (Some(worker), Some(permit)) = (self.worker.take(), self.permit.take()) else { return };
        if self.keep {
            self.pool.idle.lock().unwrap_or_else(PoisonError::into_inner).push(worker);
            drop(permit);
            return;
        }
        // Killed on drop (`kill_on_drop`), and reaped by tokio.
        drop(worker);
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        let pool = Arc::clone(&self.pool);
        runtime.spawn(async move {
            match Worker::start(&pool.config).await {
                Ok(worker) => pool.idle.lock().unwrap_or_else(PoisonError::into_inner).push(worker),
                // The next query starts one itself, and reports why it cannot.
                Err(error) => tracing::warn!(%error, "cannot start a replacement query worker"),
            }
            drop(permit);
        });
    }
}

/// One `quarry worker` process.
struct Worker {
    child: Child,
    pid: u32,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    /// The last lines the worker wrote to stderr; every line is logged.
    last_stderr: Arc<Mutex<VecDeque<String>>>,
    stderr_reader: Option<JoinHandle<()>>,
}

impl Worker {
    async fn start(config: &WorkerPoolConfig) -> Result<Self> {
        let start_error = |message: String| Error::Start { program: config.program.display().to_string(), message };
        let mut child = Command::new(&config.program)
            .arg("worker")
            .arg("--address-space-mb")
            .arg(config.address_space_mb.to_string())
            // Without these, allocators reserve address space far ahead of use (mimalloc 1 GiB
            // at start, glibc 64 MiB per thread), and the limit would measure reservations.
            .env("MIMALLOC_ARENA_RESERVE", "64M")
            .env("MALLOC_ARENA_MAX", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| start_error(e.to_string()))?;
        let pid = child.id().unwrap_or_default();
        let (Some(stdin), Some(stdout), Some(stderr)) = (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(start_error("its pipes were not opened".into()));
        };
        let last_stderr = Arc::new(Mutex::new(VecDeque::new()));
        let last = Arc::clone(&last_stderr);
        let stderr_reader = tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                tracing::warn!(worker = pid, "{line}");
                let mut last = last.lock().unwrap_or_else(PoisonError::into_inner);
                if last.len() == STDERR_LINES_KEPT {
                    last.pop_front();
                }
                last.push_back(line);
            }
        });
        let mut worker = Worker {
            child,
            pid,
            stdin,
            stdout: BufReader::new(stdout),
            last_stderr,
            stderr_reader: Some(stderr_reader),
        };
        let open = Request::Open {
            snapshot_dir: config.snapshot_dir.clone(),
            snapshot_id: config.snapshot_id.clone(),
            personal: config.personal.clone(),
            executor: config.executor.clone(),
            cpu_seconds_per_query: Some(config.cpu_seconds_per_query()),
        };
        let handshake = async {
            write_frame(&mut worker.stdin, &open, &[]).await?;
            read_frame::<_, Reply>(&mut worker.stdout, 0).await
        };
        let reply = match tokio::time::timeout(config.start_timeout, handshake).await {
            Err(_) => return Err(Error::StartTimeout(config.start_timeout)),
            Ok(Ok(Some((reply, _)))) => reply,
            Ok(Ok(None) | Err(Error::Io(_))) => {
                return Err(start_error(worker.death(config).await.to_string()));
            }
            Ok(Err(error)) => return Err(error),
        };
        let expected = config.address_space_mb.saturating_mul(1024 * 1024);
        match reply {
            Reply::Ready { address_space_bytes: Some(bytes), .. } if bytes == expected => Ok(worker),
            Reply::Ready { address_space_bytes, .. } => Err(start_error(format!(
                "it holds an address-space limit of {address_space_bytes:?} bytes, not {expected}"
            ))),
            Reply::Failed(error) => Err(start_error(quarry_exec::Error::from(error).to_string())),
            Reply::Rows { .. } => Err(Error::Protocol("rows before the worker was ready".into())),
        }
    }

    /// The worker, if its process has not exited.
    fn alive(mut self) -> Option<Self> {
        matches!(self.child.try_wait(), Ok(None)).then_some(self)
    }

    /// Runs `query`. The outer error means the worker is lost (dead, killed at the time
    /// limit, or out of step); the inner one is the query's own failure.
    async fn run(&mut self, query: &WireQuery, config: &WorkerPoolConfig) -> Result<quarry_exec::Result<QueryResult>> {
        let timeout_ms = config.executor.timeout_ms;
        let max_body = max_result_body(&config.executor);
        let request = Request::Execute(query.clone());
        let exchange = async {
            write_frame(&mut self.stdin, &request, &[]).await?;
            read_frame::<_, Reply>(&mut self.stdout, max_body).await
        };
        let reply = match tokio::time::timeout(Duration::from_millis(timeout_ms), exchange).await {
            Err(_) => {
                // Dropping the worker kills it; killing it now frees its CPU at once.
                let _ = self.child.start_kill();
                return Err(Error::TimedOut { timeout_ms });
            }
            Ok(Ok(Some((reply, body)))) => (reply, body),
            Ok(Ok(None) | Err(Error::Io(_))) => return Err(self.death(config).await),
            Ok(Err(error)) => return Err(error),
        };
        match reply {
            (Reply::Rows { truncated, timings }, body) => Ok(Ok(decode_rows(body, truncated, timings)?)),
            (Reply::Failed(error), _) => Ok(Err(error.into())),
            (Reply::Ready { .. }, _) => Err(Error::Protocol("a second ready message".into())),
        }
    }

    /// Why the worker, whose pipes closed, is gone: its exit status and last words.
    async fn death(&mut self, config: &WorkerPoolConfig) -> Error {
        let status = match tokio::time::timeout(REAP_TIMEOUT, self.child.wait()).await {
            Ok(Ok(status)) => Some(status),
            _ => {
                let _ = self.child.start_kill();
                None
            }
        };
        if let Some(reader) = self.stderr_reader.take() {
            let _ = tokio::time::timeout(REAP_TIMEOUT, reader).await;
        }
        let last_stderr = last_words(&self.last_stderr.lock().unwrap_or_else(PoisonError::into_inner));
        let signal = status.and_then(|status| status.signal());
        if signal == Some(nix::sys::signal::Signal::SIGXCPU as i32) {
            return Error::TimedOut { timeout_ms: config.executor.timeout_ms };
        }
        Error::WorkerDied {
            cause: describe(status),
            signal,
            last_stderr,
            address_space_mb: config.address_space_mb,
            memory_limit_mb: config.executor.memory_limit_mb,
        }
    }
}

/// The line of a dead worker's last stderr lines that says why it died: the allocation that
/// failed, or a panic, rather than what the runtime printed after it.
fn last_words(lines: &VecDeque<String>) -> Option<String> {
    const TELLING: [&str; 3] = ["memory allocation of", "has overflowed its stack", "panicked at"];
    let telling = lines.iter().rev().find(|line| TELLING.iter().any(|words| line.contains(words)));
    telling.or_else(|| lines.iter().rev().find(|line| !line.trim().is_empty())).map(|line| line.trim().to_string())
}

fn describe(status: Option<ExitStatus>) -> String {
    let Some(status) = status else { return "it closed its pipes and did not exit".into() };
    match (status.signal(), status.code()) {
        (Some(signal), _) => {
            let name = nix::sys::signal::Signal::try_from(signal).map(|s| s.as_str()).unwrap_or("an unknown signal");
            let why = match name {
                "SIGABRT" => ", most often an allocation over its address-space limit",
                "SIGKILL" => ", by the kernel's out-of-memory killer or an operator",
                "SIGSEGV" => ", a crash",
                _ => "",
            };
            format!("killed by {name}{why}")
        }
        (None, Some(code)) => format!("it exited with status {code}"),
        (None, None) => format!("it ended: {status}"),
    }
}
