//! The server's shared state, passed to handlers as an explicit axum `State`.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use quarry_answer::Pipeline;
use quarry_settings::Settings;
use quarry_slack::{ChartLinkSigner, ResponseUrlClient, SlackVerifier, SlackWebClient};
use quarry_store::{RateDecision, RateQuota, Store};
use tokio::sync::Semaphore;

use crate::api::SnapshotView;
use crate::error::ApiError;
use crate::metrics::Metrics;

/// Everything handlers share; cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

struct Inner {
    settings: Settings,
    pipeline: Arc<Pipeline>,
    store: Store,
    metrics: Metrics,
    quota: RateQuota,
    slots: Semaphore,
    links: ChartLinkSigner,
    slack: Option<SlackVerifier>,
    responder: ResponseUrlClient,
    slack_web: Option<SlackWebClient>,
    suggestions: Vec<String>,
    snapshot: SnapshotView,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").field("pipeline", &self.0.pipeline).finish_non_exhaustive()
    }
}

impl AppState {
    /// The state of a server over `pipeline` and `store`, configured by `settings.server`.
    pub fn new(settings: Settings, pipeline: Arc<Pipeline>, store: Store) -> Result<Self, ApiError> {
        let server = &settings.server;
        let quota = RateQuota { per_minute: server.rate_limit_per_minute, burst: server.rate_limit_burst };
        let key = if server.chart_link_secret.is_empty() {
            tracing::warn!(
                "[server] chart_link_secret is not set: chart links use a random key and stop working on restart"
            );
            uuid::Uuid::new_v4().as_bytes().iter().chain(uuid::Uuid::new_v4().as_bytes()).copied().collect()
        } else {
            server.chart_link_secret.as_bytes().to_vec()
        };
        let links = ChartLinkSigner::new(&key, Duration::from_secs(server.chart_link_ttl_minutes.max(1) * 60));
        let slack = (!server.slack.signing_secret.is_empty())
            .then(|| SlackVerifier::new(server.slack.signing_secret.clone(), Duration::from_secs(5 * 60)));
        // Slack keeps a response_url valid for 30 minutes: a few patient retries fit well within it.
        let retry = quarry_http::RetryPolicy {
            max_retries: 3,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(10),
        };
        let responder = ResponseUrlClient::new(Duration::from_secs(10), retry)
            .map_err(|e| ApiError::Internal(format!("cannot build the HTTP client for Slack: {e}")))?;
        let slack_web = match server.slack.bot_token.trim() {
            "" => None,
            token => Some(
                SlackWebClient::new(&server.slack.api_base_url, token, Duration::from_secs(10), retry)
                    .map_err(|e| ApiError::Internal(format!("cannot build the HTTP client for Slack: {e}")))?,
            ),
        };
        let slots = Semaphore::new(server.max_concurrent_queries.max(1));
        let suggestions = crate::suggestions::suggestions(pipeline.layer(), 6);
        let snapshot = snapshot_view(&settings, &pipeline);
        Ok(Self(Arc::new(Inner {
            settings,
            pipeline,
            store,
            metrics: Metrics::new(),
            quota,
            slots,
            links,
            slack,
            responder,
            slack_web,
            suggestions,
            snapshot,
        })))
    }

    /// All settings.
    pub fn config(&self) -> &Settings {
        &self.0.settings
    }

    /// The answering pipeline.
    pub fn pipeline(&self) -> &Pipeline {
        &self.0.pipeline
    }

    /// The database.
    pub fn store(&self) -> &Store {
        &self.0.store
    }

    /// The metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.0.metrics
    }

    /// Query slots: at most `max_concurrent_queries` questions run at once.
    pub fn slots(&self) -> &Semaphore {
        &self.0.slots
    }

    /// Chart link signing.
    pub fn links(&self) -> &ChartLinkSigner {
        &self.0.links
    }

    /// Slack request verification, when Slack is configured.
    pub fn slack(&self) -> Option<&SlackVerifier> {
        self.0.slack.as_ref()
    }

    /// Posts to Slack's response URLs.
    pub fn responder(&self) -> &ResponseUrlClient {
        &self.0.responder
    }

    /// Sends messages through Slack's Web API, when `[server.slack] bot_token` is set.
    pub fn slack_web(&self) -> Option<&SlackWebClient> {
        self.0.slack_web.as_ref()
    }

    /// Questions suggested to new users.
    pub fn suggestions(&self) -> &[String] {
        &self.0.suggestions
    }

    /// The snapshot answers come from.
    pub fn snapshot_view(&self) -> &SnapshotView {
        &self.0.snapshot
    }

    /// The public base URL, without a trailing slash.
    pub fn base_url(&self) -> String {
        self.0.settings.server.base_url()
    }

    /// Takes one question from `user`'s allowance, or says how long to wait. The store keeps
    /// the allowance (in PostgreSQL when it is one, so replicas sharing it apply one limit
    /// between them).
    ///
    /// A store that cannot count the question lets it through: it cannot record an answer
    /// either, so the question is refused when its answer is recorded, with the reason said
    /// there (as when the limit was kept in memory).
    pub async fn check_rate(&self, user: &str, channel: &str) -> Result<(), ApiError> {
        let key = format!("questions:{user}");
        let decision = match self.0.store.take_rate_token(&key, self.0.quota, Utc::now()).await {
            Ok(decision) => decision,
            Err(error) => {
                tracing::warn!(%error, "the rate limit could not be counted in the store");
                return Ok(());
            }
        };
        match decision {
            RateDecision::Allowed => Ok(()),
            RateDecision::Refused { retry_after } => {
                self.0.metrics.rate_limited.with_label_values(&[channel]).inc();
                // Rounded up: a client that waits what it is told is let through.
                let secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
                Err(ApiError::RateLimited { retry_after_secs: secs.max(1) })
            }
        }
    }
}

/// The pipeline's snapshot, with the user's own snapshots when it is the demo warehouse (read
/// once: a new default takes a restart anyway).
fn snapshot_view(settings: &Settings, pipeline: &Pipeline) -> SnapshotView {
    let snapshot = pipeline.snapshot();
    let demo = quarry_bootstrap::is_demo(snapshot);
    let own_snapshots = if demo {
        match quarry_bootstrap::own_snapshots(settings) {
            Ok(own) => own.into_iter().map(|s| s.manifest.id).collect(),
            Err(error) => {
                tracing::warn!(%error, "cannot list the snapshots of the data directory");
                Vec::new()
            }
        }
    } else {
        Vec::new()
    };
    SnapshotView {
        id: snapshot.manifest.id.clone(),
        source: quarry_bootstrap::describe_source(snapshot),
        demo,
        as_of: snapshot.manifest.as_of,
        semantic_layer: pipeline.layer().name.clone(),
        own_snapshots,
    }
}
