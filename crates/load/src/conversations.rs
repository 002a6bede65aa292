//! Simulated users holding conversations with the JSON API at once, for a bounded time.
//!
//! Each user asks a first question drawn from a pool, then one to three follow-ups in the same
//! conversation, sometimes gives feedback on an answer, pauses between requests, and starts a
//! new conversation, until the run's time is up. The run is bounded in count (the number of
//! users) and time (no request starts after the deadline; those in flight finish).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rand::seq::{IndexedRandom, SliceRandom};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::server::{MemorySampler, USER_HEADER};
use crate::stats::{FlatRule, Latencies, LatencySummary, MemoryReport};
use crate::{Error, Result};

/// Error examples kept per run.
const MAX_EXAMPLES: usize = 8;

/// What a conversation run does.
#[derive(Debug, Clone)]
pub struct ConversationOptions {
    /// The server's base URL.
    pub url: String,
    /// Simulated users, each holding one conversation at a time.
    pub users: usize,
    /// How long users keep starting requests.
    pub duration: Duration,
    /// Mean pause of a user between requests (uniform between zero and twice this).
    pub think: Duration,
    /// First questions, one drawn at random for each conversation.
    pub questions: Vec<String>,
    /// Follow-ups, one to three of them asked after each answered first question.
    pub follow_ups: Vec<String>,
    /// Share of answers a user gives feedback on.
    pub feedback_share: f64,
    /// Seed of the users' choices.
    pub seed: u64,
    /// The server process whose memory is sampled, if known.
    pub pid: Option<u32>,
    /// When memory counts as flat.
    pub flat_rule: FlatRule,
    /// Longest wait for one response.
    pub request_timeout: Duration,
    /// Print a progress line this often (none: quiet).
    pub progress_every: Option<Duration>,
}

impl ConversationOptions {
    /// Options for `users` users asking `questions` at `url` for `duration`, with the
    /// defaults: the built-in follow-ups, a 1 s mean pause, feedback on a fifth of answers.
    pub fn new(url: impl Into<String>, users: usize, duration: Duration, questions: Vec<String>) -> Self {
        Self {
            url: url.into(),
            users,
            duration,
            think: Duration::from_secs(1),
            questions,
            follow_ups: crate::questions::FOLLOW_UPS.iter().map(|s| s.to_string()).collect(),
            feedback_share: 0.2,
            seed: 42,
            pid: None,
            flat_rule: FlatRule::default(),
            request_timeout: Duration::from_secs(120),
            progress_every: None,
        }
    }
}

/// Requests of one kind.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KindReport {
    /// Requests sent.
    pub requests: u64,
    /// Of them, answered with a 2xx status.
    pub ok: u64,
    /// Latency of the 2xx responses.
    pub latency: LatencySummary,
}

/// Errors of a run: non-2xx responses and transport failures.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ErrorReport {
    /// All errors.
    pub total: u64,
    /// Counts by code: `HTTP 503`, `transport: timeout`, ….
    pub by_code: BTreeMap<String, u64>,
    /// The first few, with the request and what came back.
    pub examples: Vec<String>,
}

/// The outcome of a conversation run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConversationReport {
    /// Simulated users.
    pub users: usize,
    /// The run's time limit, seconds.
    pub duration_secs: f64,
    /// From start until the last request finished, seconds.
    pub elapsed_secs: f64,
    /// Conversations started.
    pub conversations: u64,
    /// Requests by kind: `first`, `follow_up`, `feedback`.
    pub requests: BTreeMap<String, KindReport>,
    /// Answered questions (first and follow-up) per second of the run.
    pub answers_per_sec: f64,
    /// Latency of every answered question.
    pub answer_latency: LatencySummary,
    /// Answers by the answer's `status` (`answered`, `cannot_answer`, …).
    pub answer_statuses: BTreeMap<String, u64>,
    /// The errors.
    pub errors: ErrorReport,
    /// The server's memory, when its process was known.
    pub memory: Option<MemoryReport>,
    /// The server's answer cache at the end of the run, from its `/metrics` (none when the
    /// server does not report it): the part of the memory's growth that is the cache filling
    /// up to its bound.
    #[serde(default)]
    pub answer_cache: Option<CacheReading>,
    /// Zero errors and flat memory.
    pub pass: bool,
    /// Why it passed or failed.
    pub verdict: String,
}

/// The answer cache's gauges on the server's `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CacheReading {
    /// Answers kept (`quarry_answer_cache_entries`).
    pub entries: u64,
    /// Their estimated memory, bytes (`quarry_answer_cache_bytes`).
    pub bytes: u64,
}

impl CacheReading {
    /// The gauges in a Prometheus text exposition; `None` when either is missing.
    pub fn parse(metrics: &str) -> Option<Self> {
        let gauge = |name: &str| {
            metrics.lines().find_map(|line| {
                let value = line.strip_prefix(name)?.strip_prefix(' ')?;
                value.trim().parse::<f64>().ok().map(|v| v as u64)
            })
        };
        Some(Self { entries: gauge("quarry_answer_cache_entries")?, bytes: gauge("quarry_answer_cache_bytes")? })
    }

    async fn read(client: &reqwest::Client, url: &str) -> Option<Self> {
        let response = client.get(format!("{}/metrics", url.trim_end_matches('/'))).send().await.ok()?;
        Self::parse(&response.error_for_status().ok()?.text().await.ok()?)
    }
}

impl ConversationReport {
    /// A few lines for a person.
    pub fn render(&self) -> String {
        let mut out = format!(
            "{} users for {:.0} s ({:.1} s with the last requests): {} conversations, {:.2} answers/s\n",
            self.users, self.duration_secs, self.elapsed_secs, self.conversations, self.answers_per_sec
        );
        for (kind, report) in &self.requests {
            let l = &report.latency;
            out.push_str(&format!(
                "  {kind:<10} {:>6} requests, {:>6} ok; latency p50 {:.0} ms, p95 {:.0} ms, p99 {:.0} ms, max {:.0} ms\n",
                report.requests, report.ok, l.p50_ms, l.p95_ms, l.p99_ms, l.max_ms
            ));
        }
        let l = &self.answer_latency;
        out.push_str(&format!(
            "  answers    p50 {:.0} ms, p95 {:.0} ms, p99 {:.0} ms, max {:.0} ms; statuses {:?}\n",
            l.p50_ms, l.p95_ms, l.p99_ms, l.max_ms, self.answer_statuses
        ));
        out.push_str(&format!("  errors     {} {:?}\n", self.errors.total, self.errors.by_code));
        for example in &self.errors.examples {
            out.push_str(&format!("    e.g. {example}\n"));
        }
        match &self.memory {
            Some(m) => out.push_str(&format!(
                "  memory     RSS after {:.0} s warm-up {:.1} MiB, max {:.1} MiB, end {:.1} MiB, peak (VmHWM) {:.1} MiB; slope {} MiB/min, second half {} MiB/min\n",
                m.warmup_secs,
                m.rss_after_warmup_mib,
                m.rss_max_mib,
                m.rss_end_mib,
                m.peak_hwm_mib,
                m.slope_mib_per_min.map_or("-".into(), |s| format!("{s:.2}")),
                m.second_half_slope_mib_per_min.map_or("-".into(), |s| format!("{s:.2}")),
            )),
            None => out.push_str("  memory     not sampled (give --pid or --spawn)\n"),
        }
        if let Some(cache) = &self.answer_cache {
            out.push_str(&format!(
                "  cache      {} answers kept at the end, {:.1} MiB estimated\n",
                cache.entries,
                cache.bytes as f64 / (1024.0 * 1024.0)
            ));
        }
        out.push_str(&format!("{}: {}\n", if self.pass { "PASS" } else { "FAIL" }, self.verdict));
        out
    }
}

/// What one user saw; merged into the run's report.
#[derive(Default)]
struct Tally {
    conversations: u64,
    kinds: BTreeMap<&'static str, (u64, u64, Latencies)>,
    statuses: BTreeMap<String, u64>,
    errors: BTreeMap<String, u64>,
    examples: Vec<String>,
}

impl Tally {
    fn merge(&mut self, other: Tally) {
        self.conversations += other.conversations;
        for (kind, (requests, ok, latencies)) in other.kinds {
            let entry = self.kinds.entry(kind).or_default();
            entry.0 += requests;
            entry.1 += ok;
            entry.2.merge(&latencies);
        }
        for (status, n) in other.statuses {
            *self.statuses.entry(status).or_default() += n;
        }
        for (code, n) in other.errors {
            *self.errors.entry(code).or_default() += n;
        }
        let room = MAX_EXAMPLES.saturating_sub(self.examples.len());
        self.examples.extend(other.examples.into_iter().take(room));
    }
}

/// Counters shared with the progress line.
#[derive(Default)]
struct Live {
    answers: AtomicU64,
    errors: AtomicU64,
}

/// The part of an answer a user needs to go on.
#[derive(Deserialize)]
struct AskReply {
    answer_id: String,
    conversation_id: String,
    answer: AnswerPart,
}

#[derive(Deserialize)]
struct AnswerPart {
    status: String,
}

struct User {
    id: usize,
    client: reqwest::Client,
    options: Arc<ConversationOptions>,
    deadline: Instant,
    rng: ChaCha8Rng,
    tally: Tally,
    live: Arc<Live>,
}

impl User {
    async fn run(mut self) -> Tally {
        let mut first = true;
        while Instant::now() < self.deadline {
            if !first {
                self.think().await;
            }
            first = false;
            self.conversation().await;
        }
        self.tally
    }

    async fn think(&mut self) {
        let mean = self.options.think.as_secs_f64();
        if mean > 0.0 {
            let pause = Duration::from_secs_f64(self.rng.random_range(0.0..2.0 * mean));
            let left = self.deadline.saturating_duration_since(Instant::now());
            tokio::time::sleep(pause.min(left)).await;
        }
    }

    async fn conversation(&mut self) {
        self.tally.conversations += 1;
        let question = self.options.questions.choose(&mut self.rng).cloned().unwrap_or_default();
        let Some(reply) = self.ask("first", &question, None).await else { return };
        self.maybe_feedback(&reply.answer_id).await;
        let mut follow_ups = self.options.follow_ups.clone();
        follow_ups.shuffle(&mut self.rng);
        let count = self.rng.random_range(1..=3usize).min(follow_ups.len());
        for follow_up in follow_ups.into_iter().take(count) {
            self.think().await;
            if Instant::now() >= self.deadline {
                return;
            }
            let Some(next) = self.ask("follow_up", &follow_up, Some(&reply.conversation_id)).await else { return };
            self.maybe_feedback(&next.answer_id).await;
        }
    }

    async fn maybe_feedback(&mut self, answer_id: &str) {
        if !self.rng.random_bool(self.options.feedback_share.clamp(0.0, 1.0)) || Instant::now() >= self.deadline {
            return;
        }
        let rating = if self.rng.random_bool(0.7) { "up" } else { "down" };
        let mut body = json!({ "answer_id": answer_id, "rating": rating });
        if self.rng.random_bool(0.5) {
            body["comment"] = json!(format!("load test user {} says {rating}", self.id));
        }
        self.post("feedback", "/api/v1/feedback", &body).await;
    }

    async fn ask(&mut self, kind: &'static str, question: &str, conversation: Option<&str>) -> Option<AskReply> {
        let mut body = json!({ "question": question });
        if let Some(id) = conversation {
            body["conversation_id"] = json!(id);
        }
        let text = self.post(kind, "/api/v1/ask", &body).await?;
        match serde_json::from_str::<AskReply>(&text) {
            Ok(reply) => {
                *self.tally.statuses.entry(reply.answer.status.clone()).or_default() += 1;
                self.live.answers.fetch_add(1, Ordering::Relaxed);
                Some(reply)
            }
            Err(e) => {
                self.error(kind, "unreadable answer", &format!("{question:?}: {e}: {}", snippet(&text)));
                None
            }
        }
    }

    /// Posts `body`; the response text of a 2xx answer, or `None` after counting the error.
    async fn post(&mut self, kind: &'static str, path: &str, body: &serde_json::Value) -> Option<String> {
        let started = Instant::now();
        self.tally.kinds.entry(kind).or_default().0 += 1;
        let result = self
            .client
            .post(format!("{}{path}", self.options.url))
            .header(USER_HEADER, format!("load-user-{}", self.id))
            .timeout(self.options.request_timeout)
            .json(body)
            .send()
            .await;
        let response = match result {
            Ok(response) => response,
            Err(e) => {
                let code = if e.is_timeout() {
                    "transport: timeout"
                } else if e.is_connect() {
                    "transport: connect"
                } else {
                    "transport: other"
                };
                self.error(kind, code, &format!("{body}: {e}"));
                return None;
            }
        };
        let status = response.status();
        let text = response.text().await;
        match text {
            Ok(text) if status.is_success() => {
                let entry = self.tally.kinds.entry(kind).or_default();
                entry.1 += 1;
                entry.2.record(started.elapsed());
                Some(text)
            }
            Ok(text) => {
                self.error(kind, &format!("HTTP {}", status.as_u16()), &format!("{body}: {}", snippet(&text)));
                None
            }
            Err(e) => {
                self.error(kind, "transport: body", &format!("{body}: {e}"));
                None
            }
        }
    }

    fn error(&mut self, kind: &str, code: &str, detail: &str) {
        *self.tally.errors.entry(code.to_string()).or_default() += 1;
        self.live.errors.fetch_add(1, Ordering::Relaxed);
        if self.tally.examples.len() < MAX_EXAMPLES {
            self.tally.examples.push(format!("{kind} {code}: {detail}"));
        }
    }
}

fn snippet(text: &str) -> String {
    let mut cut: String = text.chars().take(300).collect();
    if cut.len() < text.len() {
        cut.push('…');
    }
    cut
}

/// Runs the conversations and judges the run: it passes with zero errors and, when the
/// server's process is known, flat memory (see [`FlatRule`]).
pub async fn run(options: ConversationOptions) -> Result<ConversationReport> {
    if options.users == 0 || options.questions.is_empty() {
        return Err(Error::InvalidOption("a run needs at least one user and one question".into()));
    }
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(options.users)
        .build()
        .map_err(|e| Error::Client(e.to_string()))?;
    let start = Instant::now();
    let sampler = options.pid.map(|pid| MemorySampler::start(pid, start)).transpose()?;
    let deadline = start + options.duration;
    let options = Arc::new(options);
    let live = Arc::new(Live::default());
    let mut users = tokio::task::JoinSet::new();
    for id in 0..options.users {
        let user = User {
            id,
            client: client.clone(),
            options: Arc::clone(&options),
            deadline,
            rng: ChaCha8Rng::seed_from_u64(options.seed.wrapping_add(id as u64)),
            tally: Tally::default(),
            live: Arc::clone(&live),
        };
        users.spawn(user.run());
    }
    let mut tally = Tally::default();
    let mut progress = options.progress_every.map(|every| tokio::time::interval_at((start + every).into(), every));
    loop {
        tokio::select! {
            joined = users.join_next() => match joined {
                Some(Ok(user)) => tally.merge(user),
                Some(Err(e)) => return Err(Error::Internal(format!("a simulated user panicked: {e}"))),
                None => break,
            },
            _ = async { progress.as_mut().expect("guarded").tick().await }, if progress.is_some() => {
                let secs = start.elapsed().as_secs_f64();
                let answers = live.answers.load(Ordering::Relaxed);
                let rss = sampler.as_ref().and_then(MemorySampler::latest)
                    .map_or(String::new(), |s| format!(", server RSS {:.1} MiB", s.rss_kib as f64 / 1024.0));
                eprintln!("[{secs:>5.0} s] {answers} answers ({:.2}/s), {} errors{rss}",
                    answers as f64 / secs, live.errors.load(Ordering::Relaxed));
            }
        }
    }
    let elapsed = start.elapsed();
    let samples = match sampler {
        Some(sampler) => Some(sampler.finish().await),
        None => None,
    };
    // Judged while users were starting requests: once they stop, the last answers drain and
    // memory falls, which would hide growth.
    let until = options.duration.as_secs_f64();
    let memory = samples.and_then(|mut s| {
        s.retain(|sample| sample.at_secs <= until);
        options.flat_rule.judge(&s, options.flat_rule.warmup(options.duration))
    });
    let mut report = report(&options, tally, elapsed, memory);
    report.answer_cache = CacheReading::read(&client, &options.url).await;
    Ok(report)
}

fn report(
    options: &ConversationOptions,
    tally: Tally,
    elapsed: Duration,
    memory: Option<MemoryReport>,
) -> ConversationReport {
    let mut answers = Latencies::default();
    let mut requests = BTreeMap::new();
    for (kind, (count, ok, latencies)) in &tally.kinds {
        if *kind != "feedback" {
            answers.merge(latencies);
        }
        requests.insert(kind.to_string(), KindReport { requests: *count, ok: *ok, latency: latencies.summary() });
    }
    let errors = ErrorReport { total: tally.errors.values().sum(), by_code: tally.errors, examples: tally.examples };
    let mut reasons = Vec::new();
    if errors.total > 0 {
        reasons.push(format!("{} errors", errors.total));
    }
    match &memory {
        Some(m) if !m.flat => reasons.push(format!("memory not flat: {}", m.summary)),
        _ => {}
    }
    if options.pid.is_some() && memory.is_none() {
        reasons.push("no memory sample after warm-up (did the server exit?)".into());
    }
    let pass = reasons.is_empty();
    let verdict = if pass {
        let memory = memory.as_ref().map_or("memory not sampled".into(), |m| format!("memory {}", m.summary));
        format!("zero errors; {memory}")
    } else {
        reasons.join("; ")
    };
    ConversationReport {
        users: options.users,
        duration_secs: options.duration.as_secs_f64(),
        elapsed_secs: elapsed.as_secs_f64(),
        conversations: tally.conversations,
        requests,
        answers_per_sec: answers.count() as f64 / elapsed.as_secs_f64().max(f64::EPSILON),
        answer_latency: answers.summary(),
        answer_statuses: tally.statuses,
        errors,
        memory,
        answer_cache: None,
        pass,
        verdict,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::MemorySample;

    fn tally(errors: u64) -> Tally {
        let mut tally = Tally::default();
        let mut latencies = Latencies::default();
        latencies.record(Duration::from_millis(200));
        latencies.record(Duration::from_millis(400));
        tally.kinds.insert("first", (2, 2, latencies.clone()));
        tally.kinds.insert(
            "feedback",
            (1, 1, {
                let mut l = Latencies::default();
                l.record(Duration::from_millis(5));
                l
            }),
        );
        if errors > 0 {
            tally.errors.insert("HTTP 503".into(), errors);
            tally.examples.push("first HTTP 503: busy".into());
        }
        tally
    }

    fn flat_memory(growth_mib: f64) -> Option<MemoryReport> {
        let samples: Vec<MemorySample> = (0..=20)
            .map(|s| {
                let kib = ((200.0 + if s > 15 { growth_mib } else { 0.0 }) * 1024.0) as u64;
                MemorySample { at_secs: f64::from(s), rss_kib: kib, hwm_kib: kib }
            })
            .collect();
        FlatRule::default().judge(&samples, Duration::from_secs(5))
    }

    #[test]
    fn the_cache_gauges_are_read_from_the_metrics_text() {
        let text = "# HELP quarry_answer_cache_bytes Estimated memory\n\
                    # TYPE quarry_answer_cache_bytes gauge\n\
                    quarry_answer_cache_bytes 1048576\n\
                    quarry_answer_cache_entries_other 9\n\
                    quarry_answer_cache_entries 100\n";
        assert_eq!(CacheReading::parse(text), Some(CacheReading { entries: 100, bytes: 1 << 20 }));
        assert_eq!(CacheReading::parse("quarry_answer_cache_entries 3\n"), None, "both gauges or none");
    }

    #[test]
    fn a_run_passes_only_with_zero_errors_and_flat_memory() {
        let mut options = ConversationOptions::new("http://x", 2, Duration::from_secs(20), vec!["q".into()]);
        options.pid = Some(1);
        let good = report(&options, tally(0), Duration::from_secs(2), flat_memory(10.0));
        assert!(good.pass, "{}", good.render());
        assert_eq!(good.answers_per_sec, 1.0, "feedback is not an answer");
        assert!((good.answer_latency.p50_ms - 200.0).abs() < 1.0);
        let errors = report(&options, tally(3), Duration::from_secs(2), flat_memory(10.0));
        assert!(!errors.pass && errors.verdict.contains("3 errors"), "{}", errors.verdict);
        assert!(errors.render().contains("e.g. first HTTP 503: busy"));
        let grown = report(&options, tally(0), Duration::from_secs(2), flat_memory(100.0));
        assert!(!grown.pass && grown.verdict.contains("memory not flat"), "{}", grown.verdict);
        let unsampled = report(&options, tally(0), Duration::from_secs(2), None);
        assert!(!unsampled.pass, "{}", unsampled.verdict);
        options.pid = None;
        assert!(report(&options, tally(0), Duration::from_secs(2), None).pass);
    }

    #[test]
    fn tallies_merge_and_keep_a_few_examples() {
        let mut total = Tally::default();
        for _ in 0..MAX_EXAMPLES + 2 {
            total.merge(tally(1));
        }
        assert_eq!(total.errors["HTTP 503"], MAX_EXAMPLES as u64 + 2);
        assert_eq!(total.examples.len(), MAX_EXAMPLES);
        assert_eq!(total.kinds["first"].2.count(), 2 * (MAX_EXAMPLES as u64 + 2));
    }
}
