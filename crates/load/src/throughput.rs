//! Answers per second on loopback, measured with `wrk` (Debian package `wrk`): every request a
//! new conversation, asking either the same question every time (what a result cache would
//! serve) or a different valid question every time (what it never could).

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::server::{MemorySampler, USER_HEADER, read_memory};
use crate::stats::LatencySummary;
use crate::{Error, Result};

/// The wrk script, kept beside the crate as `wrk/ask.lua`.
pub const ASK_SCRIPT: &str = include_str!("../wrk/ask.lua");

/// Marker of the result line `ask.lua` prints.
const RESULT_MARKER: &str = "QUARRY_LOAD_RESULT ";

/// Which questions a throughput run asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Workload {
    /// The same question every time.
    Repeated,
    /// A different question every time ([`crate::questions::fresh_questions`]).
    Fresh,
}

impl Workload {
    /// Its name.
    pub fn as_str(self) -> &'static str {
        match self {
            Workload::Repeated => "repeated",
            Workload::Fresh => "fresh",
        }
    }
}

/// What a throughput run does.
#[derive(Debug, Clone)]
pub struct ThroughputOptions {
    /// The server's base URL.
    pub url: String,
    /// Which questions.
    pub workload: Workload,
    /// The question of a repeated run.
    pub question: String,
    /// How long wrk runs.
    pub duration: Duration,
    /// Open connections, each with one request in flight.
    pub connections: u32,
    /// wrk threads (at most `connections`).
    pub threads: u32,
    /// The server process whose memory is sampled, if known.
    pub pid: Option<u32>,
    /// The wrk binary.
    pub wrk: PathBuf,
}

impl ThroughputOptions {
    /// Options for `workload` at `url` with the defaults: 30 s, 8 connections, 2 threads.
    pub fn new(url: impl Into<String>, workload: Workload) -> Self {
        Self {
            url: url.into(),
            workload,
            question: crate::questions::REPEATED_QUESTION.to_string(),
            duration: Duration::from_secs(30),
            connections: 8,
            threads: 2,
            pid: None,
            wrk: PathBuf::from("wrk"),
        }
    }
}

/// What wrk's `done()` in `ask.lua` prints.
#[derive(Debug, Clone, PartialEq, Deserialize)]
struct WrkSummary {
    requests: u64,
    duration_us: u64,
    non_2xx: u64,
    connect_errors: u64,
    read_errors: u64,
    write_errors: u64,
    timeouts: u64,
    latency_us: WrkLatency,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
struct WrkLatency {
    mean: f64,
    p50: u64,
    p90: u64,
    p95: u64,
    p99: u64,
    p999: u64,
    max: u64,
}

/// The outcome of one throughput run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThroughputReport {
    /// Which questions.
    pub workload: Workload,
    /// Open connections.
    pub connections: u32,
    /// How long wrk ran, seconds.
    pub duration_secs: f64,
    /// Responses received.
    pub requests: u64,
    /// 2xx responses per second.
    pub answers_per_sec: f64,
    /// Latency of every response (wrk measures all of them, errors too).
    pub latency: LatencySummary,
    /// Responses with a status of 400 or more.
    pub non_2xx: u64,
    /// Connect, read and write errors and timeouts.
    pub socket_errors: u64,
    /// Distinct questions available to a fresh run (requests beyond it repeat questions).
    pub distinct_questions: usize,
    /// The server's largest RSS sampled during the run, MiB.
    pub rss_max_mib: Option<f64>,
    /// The server's peak RSS since it started (VmHWM) at the end of the run, MiB.
    pub peak_hwm_mib: Option<f64>,
}

impl ThroughputReport {
    /// One line for a person.
    pub fn render(&self) -> String {
        let l = &self.latency;
        let memory = match (self.rss_max_mib, self.peak_hwm_mib) {
            (Some(rss), Some(hwm)) => format!("; server RSS max {rss:.1} MiB, peak (VmHWM) {hwm:.1} MiB"),
            _ => String::new(),
        };
        let repeats = if self.workload == Workload::Fresh && self.requests > self.distinct_questions as u64 {
            format!(" (more requests than the {} distinct questions: some repeated)", self.distinct_questions)
        } else {
            String::new()
        };
        format!(
            "{:<8} {} connections, {:.0} s: {:.2} answers/s ({} responses); latency p50 {:.0} ms, p90 {:.0} ms, p95 {:.0} ms, p99 {:.0} ms, p99.9 {:.0} ms, max {:.0} ms; {} non-2xx, {} socket errors{memory}{repeats}",
            self.workload.as_str(),
            self.connections,
            self.duration_secs,
            self.answers_per_sec,
            self.requests,
            l.p50_ms,
            l.p90_ms,
            l.p95_ms,
            l.p99_ms,
            l.p999_ms,
            l.max_ms,
            self.non_2xx,
            self.socket_errors
        )
    }

    /// Whether every request was answered with a 2xx status.
    pub fn clean(&self) -> bool {
        self.non_2xx == 0 && self.socket_errors == 0
    }
}

/// The JSON request bodies of a run, one per line.
fn request_bodies(options: &ThroughputOptions) -> Vec<String> {
    let questions = match options.workload {
        Workload::Repeated => vec![options.question.clone()],
        Workload::Fresh => crate::questions::fresh_questions(usize::MAX),
    };
    questions.into_iter().map(|question| serde_json::json!({ "question": question }).to_string()).collect()
}

/// Runs wrk against the server and reads its result.
pub async fn run(options: &ThroughputOptions) -> Result<ThroughputReport> {
    let threads = options.threads.clamp(1, options.connections.max(1));
    let bodies = request_bodies(options);
    let dir = tempfile::Builder::new()
        .prefix("quarry-load-wrk-")
        .tempdir()
        .map_err(|source| Error::Io { what: "create a directory for the wrk script".into(), source })?;
    let script = dir.path().join("ask.lua");
    let questions = dir.path().join("bodies.jsonl");
    let write = |path: &PathBuf, text: String| {
        std::fs::write(path, text).map_err(|source| Error::Io { what: format!("write {}", path.display()), source })
    };
    write(&script, ASK_SCRIPT.to_string())?;
    write(&questions, bodies.join("\n") + "\n")?;

    let mut command = Command::new(&options.wrk);
    command
        .arg(format!("--threads={threads}"))
        .arg(format!("--connections={}", options.connections.max(1)))
        .arg(format!("--duration={}s", options.duration.as_secs().max(1)))
        // wrk's default 2 s timeout would count slow debug-build answers as errors.
        .arg("--timeout=120s")
        .arg(format!("--script={}", script.display()))
        .arg(format!("{}/api/v1/ask", options.url))
        .arg("--")
        .arg(&questions)
        .arg(threads.to_string())
        .arg(USER_HEADER);
    let start = Instant::now();
    let sampler = options.pid.map(|pid| MemorySampler::start(pid, start)).transpose()?;
    let wrk = options.wrk.clone();
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .map_err(|e| Error::Internal(format!("the wrk task failed: {e}")))?
        .map_err(|source| Error::Wrk { wrk, source })?;
    let samples = match sampler {
        Some(sampler) => sampler.finish().await,
        None => Vec::new(),
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(Error::WrkFailed {
            status: output.status.to_string(),
            output: format!("{stdout}{}", String::from_utf8_lossy(&output.stderr)),
        });
    }
    let summary = parse_wrk_output(&stdout)?;
    let peak_hwm_mib = match options.pid {
        Some(pid) => Some(read_memory(pid)?.1 as f64 / 1024.0),
        None => None,
    };
    let rss_max_mib = samples.iter().map(|s| s.rss_kib).max().map(|kib| kib as f64 / 1024.0);
    Ok(report(options, &summary, bodies.len(), rss_max_mib, peak_hwm_mib))
}

fn parse_wrk_output(stdout: &str) -> Result<WrkSummary> {
    let line = stdout
        .lines()
        .find_map(|line| line.strip_prefix(RESULT_MARKER))
        .ok_or_else(|| Error::WrkOutput(format!("no {RESULT_MARKER}line in:\n{stdout}")))?;
    serde_json::from_str(line).map_err(|e| Error::WrkOutput(format!("{e}: {line}")))
}

fn report(
    options: &ThroughputOptions,
    summary: &WrkSummary,
    distinct_questions: usize,
    rss_max_mib: Option<f64>,
    peak_hwm_mib: Option<f64>,
) -> ThroughputReport {
    let ms = |us: u64| us as f64 / 1000.0;
    let secs = summary.duration_us as f64 / 1e6;
    let answered = summary.requests.saturating_sub(summary.non_2xx);
    ThroughputReport {
        workload: options.workload,
        connections: options.connections,
        duration_secs: secs,
        requests: summary.requests,
        answers_per_sec: answered as f64 / secs.max(f64::EPSILON),
        latency: LatencySummary {
            count: summary.requests,
            mean_ms: summary.latency_us.mean / 1000.0,
            p50_ms: ms(summary.latency_us.p50),
            p90_ms: ms(summary.latency_us.p90),
            p95_ms: ms(summary.latency_us.p95),
            p99_ms: ms(summary.latency_us.p99),
            p999_ms: ms(summary.latency_us.p999),
            max_ms: ms(summary.latency_us.max),
        },
        non_2xx: summary.non_2xx,
        socket_errors: summary.connect_errors + summary.read_errors + summary.write_errors + summary.timeouts,
        distinct_questions,
        rss_max_mib,
        peak_hwm_mib,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OUTPUT: &str = "Running 10s test @ http://127.0.0.1:1/api/v1/ask\n  2 threads and 8 connections\n\
        QUARRY_LOAD_RESULT {\"requests\":1200,\"duration_us\":10000000,\"bytes\":99,\"non_2xx\":200,\"connect_errors\":0,\
        \"read_errors\":1,\"write_errors\":0,\"timeouts\":2,\"latency_us\":{\"mean\":6543.2,\"p50\":5000,\"p90\":9000,\
        \"p95\":12000,\"p99\":20000,\"p999\":40000,\"max\":51000}}\n";

    #[test]
    fn the_result_line_of_the_script_is_read() {
        let summary = parse_wrk_output(OUTPUT).unwrap();
        let options = ThroughputOptions::new("http://127.0.0.1:1", Workload::Fresh);
        let report = report(&options, &summary, 50_000, Some(300.0), Some(320.0));
        assert_eq!(report.requests, 1200);
        assert_eq!(report.answers_per_sec, 100.0, "only 2xx responses are answers");
        assert_eq!(report.socket_errors, 3);
        assert_eq!(report.latency.p50_ms, 5.0);
        assert_eq!(report.latency.p999_ms, 40.0);
        assert!(!report.clean());
        assert!(report.render().contains("200 non-2xx, 3 socket errors"), "{}", report.render());
        let error = parse_wrk_output("Running 10s test\n").unwrap_err().to_string();
        assert!(error.contains("QUARRY_LOAD_RESULT"), "{error}");
    }

    #[test]
    fn bodies_are_one_question_or_all_fresh_ones() {
        let mut options = ThroughputOptions::new("http://x", Workload::Repeated);
        options.question = "say \"hi\"".into();
        assert_eq!(request_bodies(&options), vec![r#"{"question":"say \"hi\""}"#]);
        options.workload = Workload::Fresh;
        let bodies = request_bodies(&options);
        assert!(bodies.len() > 50_000 && bodies.iter().all(|b| !b.contains('\n') && b.starts_with("{\"question\":")));
    }
}
