//! The server under load: a `quarry serve` process started on loopback with a fresh data
//! directory, and a sampler of its memory.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::stats::{MemorySample, parse_proc_status};
use crate::{Error, Result};

/// The header that names the simulated user of a request. A spawned server trusts it from
/// loopback, so each simulated user has its own identity (and its own rate limit).
pub const USER_HEADER: &str = "x-quarry-load-user";

/// How to start `quarry serve`.
#[derive(Debug, Clone)]
pub struct SpawnOptions {
    /// The `quarry` binary.
    pub binary: PathBuf,
    /// A `snapshots` directory to share (linked into the fresh data directory) instead of
    /// generating the demo snapshot there, which takes a while.
    pub snapshots: Option<PathBuf>,
    /// More settings, as `QUARRY_…` environment variables (e.g. `QUARRY_CACHE__ENABLED=false`);
    /// they override the load settings below.
    pub settings: Vec<(String, String)>,
    /// How long to wait for the server to be ready (it builds its retrieval index, and
    /// possibly the demo snapshot, first).
    pub ready_timeout: Duration,
}

impl SpawnOptions {
    /// Options for `binary` with the defaults: no shared snapshots, no extra settings, ten
    /// minutes to get ready.
    pub fn new(binary: impl Into<PathBuf>) -> Self {
        Self { binary: binary.into(), snapshots: None, settings: Vec::new(), ready_timeout: Duration::from_secs(600) }
    }

    /// The settings the server is started with: its data directory, the load settings, then
    /// [`SpawnOptions::settings`].
    fn environment(&self, home: &Path) -> Vec<(String, String)> {
        let mut env = vec![
            ("QUARRY_HOME".to_string(), home.display().to_string()),
            // Each simulated user is one identity, trusted from loopback…
            ("QUARRY_SERVER__TRUSTED_USER_HEADER".to_string(), USER_HEADER.to_string()),
            // …and a load test measures the server, not its per-user rate limit.
            ("QUARRY_SERVER__RATE_LIMIT_PER_MINUTE".to_string(), "1000000".to_string()),
            ("QUARRY_SERVER__RATE_LIMIT_BURST".to_string(), "1000000".to_string()),
            ("QUARRY_SERVER__CHART_LINK_SECRET".to_string(), "quarry-load".to_string()),
        ];
        for (name, value) in &self.settings {
            env.retain(|(existing, _)| existing != name);
            env.push((name.clone(), value.clone()));
        }
        env
    }
}

/// A running `quarry serve`, killed (and its data directory removed) on drop.
#[derive(Debug)]
pub struct SpawnedServer {
    child: Child,
    url: String,
    log: PathBuf,
    // Held for its drop, which removes the data directory.
    _home: tempfile::TempDir,
}

impl SpawnedServer {
    /// Starts `quarry serve --addr 127.0.0.1:0` with a fresh data directory and no inherited
    /// `QUARRY_*` settings, and waits until `/readyz` answers.
    pub async fn start(options: &SpawnOptions) -> Result<Self> {
        let home = tempfile::Builder::new()
            .prefix("quarry-load-home-")
            .tempdir()
            .map_err(|source| Error::Io { what: "create a data directory for the server".into(), source })?;
        if let Some(snapshots) = &options.snapshots {
            let snapshots = std::fs::canonicalize(snapshots).map_err(|source| Error::Io {
                what: format!("find the snapshots directory {}", snapshots.display()),
                source,
            })?;
            std::os::unix::fs::symlink(&snapshots, home.path().join("snapshots"))
                .map_err(|source| Error::Io { what: "link the snapshots directory".into(), source })?;
        }
        let log = home.path().join("serve.log");
        let mut command = Command::new(&options.binary);
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("QUARRY_") {
                command.env_remove(name);
            }
        }
        command
            .args(["serve", "--addr", "127.0.0.1:0"])
            .envs(options.environment(home.path()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = command.spawn().map_err(|source| Error::Spawn { binary: options.binary.clone(), source })?;
        let stderr = child.stderr.take().expect("stderr is piped");
        let (sender, receiver) = std::sync::mpsc::channel();
        let log_path = log.clone();
        // The server prints its address on stderr; everything it prints goes to the log.
        std::thread::spawn(move || {
            let mut file = std::fs::File::create(&log_path).ok();
            for line in BufReader::new(stderr).lines().map_while(std::result::Result::ok) {
                if let Some(rest) = line.split("on http://").nth(1) {
                    let addr = rest.split_whitespace().next().unwrap_or_default().to_string();
                    let _ = sender.send(format!("http://{addr}"));
                }
                if let Some(file) = file.as_mut() {
                    let _ = writeln!(file, "{line}");
                }
            }
        });
        let mut server = SpawnedServer { child, url: String::new(), log, _home: home };
        let started = Instant::now();
        let timeout = options.ready_timeout;
        let url = tokio::task::spawn_blocking(move || receiver.recv_timeout(timeout))
            .await
            .ok()
            .and_then(std::result::Result::ok);
        let Some(url) = url else {
            return Err(server.not_ready(timeout, "it did not print the address it listens on"));
        };
        server.url = url;
        let client = reqwest::Client::new();
        let ready = format!("{}/readyz", server.url);
        loop {
            match client.get(&ready).timeout(Duration::from_secs(5)).send().await {
                Ok(response) if response.status().is_success() => return Ok(server),
                _ if started.elapsed() > timeout => {
                    return Err(server.not_ready(timeout, "/readyz did not answer 200"));
                }
                _ => {
                    if let Ok(Some(status)) = server.child.try_wait() {
                        return Err(server.not_ready(timeout, &format!("it exited ({status})")));
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
    }

    fn not_ready(&mut self, timeout: Duration, what: &str) -> Error {
        let _ = self.child.kill();
        let _ = self.child.wait();
        Error::NotReady { timeout_secs: timeout.as_secs(), what: what.to_string(), log_tail: self.log_tail(20) }
    }

    /// The server's base URL, e.g. `http://127.0.0.1:43121`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The last `lines` lines the server printed on stderr.
    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }
}

impl Drop for SpawnedServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads VmRSS and VmHWM (KiB) of process `pid`.
pub fn read_memory(pid: u32) -> Result<(u64, u64)> {
    let path = format!("/proc/{pid}/status");
    let text = std::fs::read_to_string(&path)
        .map_err(|source| Error::Io { what: format!("read {path} (is process {pid} running?)"), source })?;
    parse_proc_status(&text).ok_or_else(|| Error::Io {
        what: format!("find VmRSS and VmHWM in {path}"),
        source: std::io::Error::from(std::io::ErrorKind::InvalidData),
    })
}

/// Samples a process's memory once a second until stopped.
pub struct MemorySampler {
    stop: oneshot::Sender<()>,
    task: JoinHandle<Vec<MemorySample>>,
    latest: Arc<Mutex<Option<MemorySample>>>,
}

impl MemorySampler {
    /// Starts sampling process `pid`; times are seconds since `start`. Fails when the
    /// process's memory cannot be read at all.
    pub fn start(pid: u32, start: Instant) -> Result<Self> {
        read_memory(pid)?;
        let (stop, mut stopped) = oneshot::channel();
        let latest = Arc::new(Mutex::new(None));
        let shared = Arc::clone(&latest);
        let task = tokio::spawn(async move {
            let mut samples = Vec::new();
            let mut interval = tokio::time::interval(Duration::from_secs(1));
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = interval.tick() => {
                        // A process that is gone ends the sampling; the requests report why.
                        let Ok((rss_kib, hwm_kib)) = read_memory(pid) else { break };
                        let sample = MemorySample { at_secs: start.elapsed().as_secs_f64(), rss_kib, hwm_kib };
                        *shared.lock().expect("sampler lock") = Some(sample);
                        samples.push(sample);
                    }
                    _ = &mut stopped => break,
                }
            }
            samples
        });
        Ok(Self { stop, task, latest })
    }

    /// The latest sample, for progress lines.
    pub fn latest(&self) -> Option<MemorySample> {
        *self.latest.lock().expect("sampler lock")
    }

    /// Stops sampling and returns the samples, oldest first.
    pub async fn finish(self) -> Vec<MemorySample> {
        let _ = self.stop.send(());
        self.task.await.unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_settings_override_the_load_settings() {
        let mut options = SpawnOptions::new("quarry");
        options.settings.push(("QUARRY_SERVER__RATE_LIMIT_BURST".into(), "5".into()));
        options.settings.push(("QUARRY_CACHE__ENABLED".into(), "false".into()));
        let env = options.environment(Path::new("/tmp/h"));
        let get = |name: &str| env.iter().filter(|(n, _)| n == name).map(|(_, v)| v.as_str()).collect::<Vec<_>>();
        assert_eq!(get("QUARRY_SERVER__RATE_LIMIT_BURST"), ["5"]);
        assert_eq!(get("QUARRY_CACHE__ENABLED"), ["false"]);
        assert_eq!(get("QUARRY_HOME"), ["/tmp/h"]);
        assert_eq!(get("QUARRY_SERVER__TRUSTED_USER_HEADER"), [USER_HEADER]);
    }

    #[tokio::test]
    async fn the_sampler_reads_this_process() {
        let sampler = MemorySampler::start(std::process::id(), Instant::now()).unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        let samples = sampler.finish().await;
        assert!(!samples.is_empty() && samples[0].rss_kib > 0 && samples[0].hwm_kib >= samples[0].rss_kib);
        assert!(MemorySampler::start(u32::MAX, Instant::now()).is_err());
    }
}
