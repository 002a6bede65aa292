//! Prometheus metrics, named by the Prometheus conventions (base units, `_total` counters).

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};

use crate::state::AppState;

/// Request durations reach a minute: a slow model with repairs can take that long.
const REQUEST_BUCKETS: &[f64] = &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];
/// An analyst's answer takes minutes to days.
const REVIEW_BUCKETS: &[f64] = &[10.0, 60.0, 300.0, 900.0, 3600.0, 4.0 * 3600.0, 24.0 * 3600.0, 3.0 * 24.0 * 3600.0];
const STAGE_BUCKETS: &[f64] = &[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0, 30.0, 60.0];

/// The server's metrics and their registry.
#[derive(Debug, Clone)]
pub struct Metrics {
    registry: Registry,
    /// `http_requests_total{method, route, status}`.
    pub requests: IntCounterVec,
    /// `http_request_duration_seconds{method, route}`.
    pub request_duration: HistogramVec,
    /// `quarry_stage_duration_seconds{stage}`.
    pub stage_duration: HistogramVec,
    /// `quarry_answers_total{route, outcome}`.
    pub answers: IntCounterVec,
    /// `quarry_model_tokens_total{kind}`: prompt and completion tokens.
    pub model_tokens: IntCounterVec,
    /// `quarry_questions_in_flight`.
    pub in_flight: IntGauge,
    /// `quarry_rate_limited_total{channel}`.
    pub rate_limited: IntCounterVec,
    /// `quarry_slack_commands_total{outcome}`.
    pub slack_commands: IntCounterVec,
    /// `quarry_slack_interactions_total{outcome}`: clicks on option buttons.
    pub slack_interactions: IntCounterVec,
    /// `quarry_answer_cache_entries`: answers kept in the answer cache.
    pub cache_entries: IntGauge,
    /// `quarry_answer_cache_bytes`: their estimated memory.
    pub cache_bytes: IntGauge,
    /// `quarry_review_queue_length`: questions waiting for an analyst (read from the store at
    /// each scrape, so every replica reports the shared queue).
    pub review_queue_length: IntGauge,
    /// `quarry_review_items_total{reason}`: questions handed to an analyst, by why.
    pub review_items: IntCounterVec,
    /// `quarry_review_time_to_answer_seconds`: from a question entering the queue to an
    /// analyst's answer.
    pub review_time_to_answer: Histogram,
    /// `quarry_review_deliveries_total{via}`: analysts' answers by how they reached the asker
    /// (`conversation`, `slack_message`, `slack_response_url`, `failed`).
    pub review_deliveries: IntCounterVec,
}

impl Metrics {
    /// Registers every metric in a new registry.
    pub fn new() -> Self {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new("http_requests_total", "HTTP requests by method, route and status."),
            &["method", "route", "status"],
        )
        .expect("valid metric");
        let request_duration = HistogramVec::new(
            HistogramOpts::new("http_request_duration_seconds", "HTTP request durations.")
                .buckets(REQUEST_BUCKETS.to_vec()),
            &["method", "route"],
        )
        .expect("valid metric");
        let stage_duration = HistogramVec::new(
            HistogramOpts::new("quarry_stage_duration_seconds", "Time spent in each stage of answering.")
                .buckets(STAGE_BUCKETS.to_vec()),
            &["stage"],
        )
        .expect("valid metric");
        let answers = IntCounterVec::new(
            Opts::new("quarry_answers_total", "Questions answered, by route and outcome."),
            &["route", "outcome"],
        )
        .expect("valid metric");
        let model_tokens =
            IntCounterVec::new(Opts::new("quarry_model_tokens_total", "Tokens used by the chat model."), &["kind"])
                .expect("valid metric");
        let in_flight =
            IntGauge::new("quarry_questions_in_flight", "Questions being answered now.").expect("valid metric");
        let rate_limited = IntCounterVec::new(
            Opts::new("quarry_rate_limited_total", "Questions refused by the per-user rate limit."),
            &["channel"],
        )
        .expect("valid metric");
        let slack_commands = IntCounterVec::new(
            Opts::new("quarry_slack_commands_total", "Slack slash commands, by outcome."),
            &["outcome"],
        )
        .expect("valid metric");
        let slack_interactions = IntCounterVec::new(
            Opts::new("quarry_slack_interactions_total", "Clicks on the option buttons of Slack answers, by outcome."),
            &["outcome"],
        )
        .expect("valid metric");
        let cache_entries =
            IntGauge::new("quarry_answer_cache_entries", "Answers kept in the answer cache.").expect("valid metric");
        let cache_bytes = IntGauge::new(
            "quarry_answer_cache_bytes",
            "Estimated memory of the answers kept in the answer cache (bounded by [cache] max_bytes).",
        )
        .expect("valid metric");
        let review_queue_length =
            IntGauge::new("quarry_review_queue_length", "Questions waiting for an analyst.").expect("valid metric");
        let review_items = IntCounterVec::new(
            Opts::new("quarry_review_items_total", "Questions handed to an analyst, by reason."),
            &["reason"],
        )
        .expect("valid metric");
        let review_time_to_answer = Histogram::with_opts(
            HistogramOpts::new(
                "quarry_review_time_to_answer_seconds",
                "Time from a question entering the review queue to an analyst's answer.",
            )
            .buckets(REVIEW_BUCKETS.to_vec()),
        )
        .expect("valid metric");
        let review_deliveries = IntCounterVec::new(
            Opts::new("quarry_review_deliveries_total", "Analysts' answers by how they reached the asker."),
            &["via"],
        )
        .expect("valid metric");
        for collector in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(request_duration.clone()),
            Box::new(stage_duration.clone()),
            Box::new(answers.clone()),
            Box::new(model_tokens.clone()),
            Box::new(in_flight.clone()),
            Box::new(rate_limited.clone()),
            Box::new(slack_commands.clone()),
            Box::new(slack_interactions.clone()),
            Box::new(cache_entries.clone()),
            Box::new(cache_bytes.clone()),
            Box::new(review_queue_length.clone()),
            Box::new(review_items.clone()),
            Box::new(review_time_to_answer.clone()),
            Box::new(review_deliveries.clone()),
        ] {
            registry.register(collector).expect("metric names are unique");
        }
        Self {
            registry,
            requests,
            request_duration,
            stage_duration,
            answers,
            model_tokens,
            in_flight,
            rate_limited,
            slack_commands,
            slack_interactions,
            cache_entries,
            cache_bytes,
            review_queue_length,
            review_items,
            review_time_to_answer,
            review_deliveries,
        }
    }

    /// Sets the answer cache's gauges from `cache` (zero when there is none).
    pub fn observe_cache(&self, cache: Option<&quarry_answer::AnswerCache>) {
        let (entries, bytes) = cache.map_or((0, 0), |c| (c.len(), c.bytes()));
        self.cache_entries.set(i64::try_from(entries).unwrap_or(i64::MAX));
        self.cache_bytes.set(i64::try_from(bytes).unwrap_or(i64::MAX));
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut buffer = Vec::new();
        // Encoding to a Vec cannot fail for the text format.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buffer);
        String::from_utf8_lossy(&buffer).into_owned()
    }

    /// Records an answer's stage timings (milliseconds) and outcome.
    pub fn record_answer(&self, route: &str, outcome: &str, timings_ms: &std::collections::BTreeMap<String, f64>) {
        self.answers.with_label_values(&[route, outcome]).inc();
        for (stage, ms) in timings_ms {
            self.stage_duration.with_label_values(&[stage.as_str()]).observe(ms / 1e3);
        }
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// Middleware: counts and times every request by its route pattern (not its raw path, so
/// ids do not explode the label set).
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let response = next.run(request).await;
    let metrics = state.metrics();
    metrics.requests.with_label_values(&[method.as_str(), route.as_str(), response.status().as_str()]).inc();
    metrics
        .request_duration
        .with_label_values(&[method.as_str(), route.as_str()])
        .observe(started.elapsed().as_secs_f64());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_render_in_the_text_format_with_conventional_names() {
        let metrics = Metrics::new();
        metrics.requests.with_label_values(&["GET", "/healthz", "200"]).inc();
        metrics.record_answer("builtin", "answered", &[("total".to_string(), 12.0)].into_iter().collect());
        let text = metrics.render();
        assert!(text.contains("http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"} 1"), "{text}");
        assert!(text.contains("quarry_answers_total{outcome=\"answered\",route=\"builtin\"} 1"), "{text}");
        assert!(text.contains("quarry_stage_duration_seconds_bucket{stage=\"total\",le=\"0.025\"} 1"), "{text}");
    }
}
