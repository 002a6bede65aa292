//! A real Ballista cluster on loopback for the tests: one `quarry-cluster scheduler` and
//! executor processes, killed when the test ends.

#![allow(dead_code, missing_docs)]

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use quarry_exec::ExecutionEngine;
use quarry_settings::Settings;
use quarry_snapshot::{Snapshot, SnapshotStore};
use quarry_worker::IsolationMode;

/// Seconds between executor heartbeats, and without one before the scheduler drops an
/// executor: short, so that a killed executor is noticed within seconds.
pub const HEARTBEAT_SECONDS: u64 = 1;
pub const EXECUTOR_TIMEOUT_SECONDS: u64 = 4;

/// A scheduler and its executors, each a child process.
pub struct Cluster {
    pub scheduler: SocketAddr,
    scheduler_process: Child,
    pub executors: Vec<Child>,
    _work: tempfile::TempDir,
}

impl Cluster {
    /// Starts a scheduler and `executors` executors on free loopback ports, and waits until
    /// the scheduler accepts connections.
    pub fn start(executors: usize) -> Self {
        let work = tempfile::tempdir().expect("tempdir");
        let scheduler: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().expect("address");
        let scheduler_process = Command::new(env!("CARGO_BIN_EXE_quarry-cluster"))
            .args(["scheduler", "--bind", &scheduler.to_string()])
            .args(["--executor-timeout-seconds", &EXECUTOR_TIMEOUT_SECONDS.to_string()])
            // The scheduler's account of jobs (cancellations among them), for the tests to read.
            .env("RUST_LOG", "warn,ballista_scheduler=info")
            .stdout(Stdio::null())
            .stderr(log_file(work.path(), "scheduler"))
            .spawn()
            .expect("the scheduler starts");
        wait_for_port(scheduler);
        let executors = (0..executors)
            .map(|n| {
                let dir = work.path().join(format!("executor-{n}"));
                std::fs::create_dir_all(&dir).expect("work dir");
                Command::new(env!("CARGO_BIN_EXE_quarry-cluster"))
                    .args(["executor", "--scheduler", &scheduler.to_string(), "--bind-host", "127.0.0.1"])
                    .args(["--flight-port", &free_port().to_string(), "--grpc-port", &free_port().to_string()])
                    .args(["--concurrent-tasks", "2", "--memory-limit-mb", "1024"])
                    .args(["--heartbeat-seconds", &HEARTBEAT_SECONDS.to_string()])
                    .args(["--work-dir", dir.to_str().expect("utf-8")])
                    .stdout(Stdio::null())
                    .stderr(log_file(work.path(), &format!("executor-{n}")))
                    .spawn()
                    .expect("an executor starts")
            })
            .collect();
        Self { scheduler, scheduler_process, executors, _work: work }
    }

    /// `ballista_url` of this cluster.
    pub fn url(&self) -> String {
        format!("df://{}", self.scheduler)
    }

    /// What the scheduler has logged so far.
    pub fn scheduler_log(&self) -> String {
        std::fs::read_to_string(self._work.path().join("scheduler.log")).unwrap_or_default()
    }

    /// What the processes wrote, for a failing test's message.
    pub fn logs(&self) -> String {
        let mut text = String::new();
        for entry in std::fs::read_dir(self._work.path()).expect("work dir").flatten() {
            if entry.path().extension().is_some_and(|e| e == "log") {
                let log = std::fs::read_to_string(entry.path()).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(20).collect();
                text.push_str(&format!("--- {}\n", entry.path().display()));
                for line in tail.into_iter().rev() {
                    text.push_str(line);
                    text.push('\n');
                }
            }
        }
        text
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for child in self.executors.iter_mut().chain(std::iter::once(&mut self.scheduler_process)) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn log_file(dir: &Path, name: &str) -> Stdio {
    Stdio::from(std::fs::File::create(dir.join(format!("{name}.log"))).expect("log file"))
}

/// A port nobody listens on now (the OS's pick; another process could take it before use,
/// which on a test machine's loopback does not happen in practice).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("address").port()
}

fn wait_for_port(address: SocketAddr) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_err() {
        assert!(Instant::now() < deadline, "the scheduler did not listen on {address} within 30 s");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The demo snapshot, installed once under the test target directory.
pub fn demo() -> Snapshot {
    static DEMO: OnceLock<Snapshot> = OnceLock::new();
    DEMO.get_or_init(|| {
        let store = SnapshotStore::new(home().join("snapshots"));
        quarry_demo::ensure_installed(&store, &quarry_demo::DemoConfig::default()).expect("demo snapshot")
    })
    .clone()
}

pub fn home() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cluster-home")
}

/// Settings of a pipeline on the local engine (in process) or on `cluster`, without the
/// answer cache, so that every question runs.
pub fn settings(cluster: Option<&Cluster>) -> Settings {
    let mut settings = Settings::defaults();
    settings.home = home().display().to_string();
    settings.cache.enabled = false;
    settings.isolation.mode = IsolationMode::InProcess;
    if let Some(cluster) = cluster {
        settings.executor.engine = ExecutionEngine::Ballista;
        settings.executor.ballista_url = Some(cluster.url());
    }
    settings
}
