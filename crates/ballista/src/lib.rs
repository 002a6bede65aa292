//! Execution of a snapshot's queries on a Ballista cluster, DataFusion's distributed engine,
//! for snapshots too large for one node.
//!
//! A [`BallistaExecutor`] is a [`SnapshotExecutor`] like the local engine and is held to the
//! same rules, through the same [`SnapshotSandbox`]:
//! - the query is planned here, in a session that knows only the snapshot's tables (registered
//!   by path: every executor of the cluster must read the snapshot at the same path, a shared
//!   directory), with the same checked functions and no table functions;
//! - the optimized plan passes the same checks (allowed tables, no personal column, no
//!   oversized cartesian join, on the logical plan and on a physical plan made here) before it
//!   is sent to the scheduler;
//! - the result is collected within the same row, byte and cell limits;
//! - a query that passes `timeout_ms`, or whose caller stops waiting, has its job cancelled on
//!   the cluster;
//! - a scheduler that cannot be reached, or a cluster that lost the executors a query needed,
//!   is a [`quarry_exec::Error::ClusterUnavailable`] naming the scheduler; nothing falls back
//!   to another engine.
//!
//! The cluster's processes (`quarry-cluster scheduler` and `quarry-cluster executor`) install
//! quarry's checked functions as well: functions travel in a plan by name and are looked up
//! where the plan runs.
//!
//! ```no_run
//! # async fn example(query: quarry_sqlguard::ValidatedQuery) -> quarry_exec::Result<()> {
//! use quarry_exec::{ExecutionEngine, ExecutorConfig, SnapshotExecutor};
//! let snapshot = quarry_snapshot::Snapshot::open("/shared/snapshots/snap-1")?;
//! let config = ExecutorConfig {
//!     engine: ExecutionEngine::Ballista,
//!     ballista_url: Some("df://scheduler:50050".into()),
//!     ..ExecutorConfig::default()
//! };
//! let executor = quarry_ballista::BallistaExecutor::open(&snapshot, &[], config).await?;
//! let result = executor.execute(&query).await?;
//! # Ok(()) }
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use ballista::prelude::SessionContextExt;
use ballista_core::execution_plans::DistributedQueryExec;
use ballista_core::extension::SessionConfigExt;
use ballista_core::serde::protobuf::CancelJobParams;
use ballista_core::serde::protobuf::scheduler_grpc_client::SchedulerGrpcClient;
use ballista_core::utils::{GrpcClientConfig, create_grpc_client_connection};
use datafusion::error::DataFusionError;
use datafusion::execution::SessionStateBuilder;
use datafusion::physical_planner::{DefaultPhysicalPlanner, PhysicalPlanner};
use datafusion::prelude::{SessionConfig, SessionContext};
use datafusion_proto::protobuf::LogicalPlanNode;
use quarry_exec::{Error, ExecTimings, ExecutorConfig, QueryResult, Result, SnapshotExecutor, SnapshotSandbox};
use quarry_snapshot::Snapshot;
use quarry_sqlguard::ValidatedQuery;

/// How long opening waits for the scheduler to accept a connection.
const CONNECT_TIMEOUT_SECONDS: u64 = 5;

/// Runs validated queries over one snapshot on a Ballista cluster (see the crate docs).
pub struct BallistaExecutor {
    snapshot_id: String,
    /// As configured (`df://host:port`), for messages.
    url: String,
    /// The scheduler's gRPC endpoint (`http://host:port`).
    scheduler: String,
    ctx: SessionContext,
    sandbox: Arc<SnapshotSandbox>,
}

impl std::fmt::Debug for BallistaExecutor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BallistaExecutor")
            .field("snapshot_id", &self.snapshot_id)
            .field("url", &self.url)
            .field("config", self.sandbox.config())
            .finish()
    }
}

impl BallistaExecutor {
    /// Connects to the scheduler at `config.ballista_url` and opens a session over `snapshot`
    /// with only its tables registered. `personal` lists the `(table, column)` pairs no query
    /// may read. Fails with [`Error::ClusterUnavailable`] when the scheduler does not accept a
    /// connection within a few seconds.
    pub async fn open(snapshot: &Snapshot, personal: &[(String, String)], config: ExecutorConfig) -> Result<Self> {
        let url = config.ballista_url.clone().ok_or_else(|| Error::ClusterUnavailable {
            url: "(not set)".into(),
            message: "[executor] engine = \"ballista\" needs ballista_url = \"df://host:port\"".into(),
        })?;
        let scheduler = scheduler_endpoint(&url)?;
        let grpc = GrpcClientConfig { connect_timeout_seconds: CONNECT_TIMEOUT_SECONDS, ..GrpcClientConfig::default() };
        create_grpc_client_connection(scheduler.clone(), &grpc)
            .await
            .map_err(|e| Error::ClusterUnavailable { url: url.clone(), message: root_message(&e) })?;

        let session_config = SessionConfig::new_with_ballista()
            .with_target_partitions(config.partitions())
            .with_information_schema(false)
            .with_default_catalog_and_schema("quarry", "public");
        let state = SessionStateBuilder::new().with_default_features().with_config(session_config).build();
        let ctx = SessionContext::remote_with_state(&url, state)
            .await
            .map_err(|e| Error::ClusterUnavailable { url: url.clone(), message: e.strip_backtrace() })?;
        let sandbox = SnapshotSandbox::register(&ctx, snapshot, personal, config).await?;
        Ok(Self { snapshot_id: snapshot.manifest.id.clone(), url, scheduler, ctx, sandbox: Arc::new(sandbox) })
    }

    /// The configuration in force.
    pub fn config(&self) -> &ExecutorConfig {
        self.sandbox.config()
    }
}

#[async_trait]
impl SnapshotExecutor for BallistaExecutor {
    fn snapshot_id(&self) -> &str {
        &self.snapshot_id
    }

    async fn execute(&self, query: &ValidatedQuery) -> Result<QueryResult> {
        let started = Instant::now();
        let state = self.ctx.state();
        let plan = self.sandbox.admit(&state, &query.sql).await?;
        // The cartesian-join check reads the physical planner's row estimates; the scheduler
        // plans the same optimized plan the same way, so it is checked on a local plan first.
        let local = DefaultPhysicalPlanner::default()
            .create_physical_plan(&plan, &state)
            .await
            .map_err(|e| cluster_error(&self.url, &self.sandbox, e))?;
        self.sandbox.check_physical(&local)?;
        let physical = state
            .query_planner()
            .create_physical_plan(&plan, &state)
            .await
            .map_err(|e| cluster_error(&self.url, &self.sandbox, e))?;
        let job = physical
            .downcast_ref::<DistributedQueryExec<LogicalPlanNode>>()
            .cloned()
            .ok_or_else(|| Error::Internal("the Ballista planner did not plan a distributed query".into()))?;
        let plan_ms = started.elapsed().as_secs_f64() * 1e3;

        let started = Instant::now();
        let schema = physical.schema();
        let (url, sandbox, task_ctx) = (self.url.clone(), Arc::clone(&self.sandbox), state.task_ctx());
        let mut task = tokio::spawn(async move {
            let stream = physical.execute(0, task_ctx).map_err(|e| cluster_error(&url, &sandbox, e))?;
            sandbox.collect(stream).await.map_err(|error| match error {
                Error::Execution { message } if is_unreachable(&message) => Error::ClusterUnavailable { url, message },
                other => other,
            })
        });
        // Until the result is in, leaving this function (a timeout, an error, a caller that
        // stops waiting) cancels the job on the cluster.
        let mut cancel =
            CancelOnDrop { job: Some(job), task: Some(task.abort_handle()), scheduler: self.scheduler.clone() };
        let timeout_ms = self.sandbox.config().timeout_ms;
        let (batches, truncated) = match tokio::time::timeout(Duration::from_millis(timeout_ms), &mut task).await {
            Ok(Ok(result)) => result?,
            Ok(Err(join_error)) => return Err(Error::Internal(format!("the query task failed: {join_error}"))),
            Err(_) => return Err(Error::Timeout { timeout_ms }),
        };
        if !truncated {
            cancel.job = None;
        }
        let execute_ms = started.elapsed().as_secs_f64() * 1e3;
        Ok(QueryResult { schema, batches, truncated, timings: ExecTimings { plan_ms, execute_ms } })
    }
}

/// A DataFusion error as quarry's: the cluster's transport failures as
/// [`Error::ClusterUnavailable`], the rest as the local engine reports them.
fn cluster_error(url: &str, sandbox: &SnapshotSandbox, error: DataFusionError) -> Error {
    let message = error.strip_backtrace();
    if is_unreachable(&message) {
        return Error::ClusterUnavailable { url: url.to_string(), message: first_line(&message) };
    }
    sandbox.error(error)
}

/// How long an abandoned query's job id is waited for: the scheduler sends it with the job's
/// first status, once the job is planned.
const JOB_ID_WAIT: Duration = Duration::from_secs(30);

/// Cancels a job on the scheduler when dropped while still armed, in the background: the
/// caller has its answer (a timeout) at once. The scheduler sends the job's id with its first
/// status, so a query abandoned before then goes on until the id is in, and is then stopped
/// here and on the cluster.
struct CancelOnDrop {
    job: Option<DistributedQueryExec<LogicalPlanNode>>,
    task: Option<tokio::task::AbortHandle>,
    scheduler: String,
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        let task = self.task.take();
        let Some(job) = self.job.take() else { return };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            if let Some(task) = task {
                task.abort();
            }
            return;
        };
        let scheduler = self.scheduler.clone();
        runtime.spawn(async move {
            let deadline = Instant::now() + JOB_ID_WAIT;
            let job_id = loop {
                if let Some(id) = job.job_id() {
                    break Some(id);
                }
                if task.as_ref().is_none_or(|t| t.is_finished()) || Instant::now() > deadline {
                    break None;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            };
            if let Some(task) = task {
                task.abort();
            }
            let Some(job_id) = job_id.map(|id| id.to_string()) else {
                tracing::warn!("an abandoned query's Ballista job id never arrived; it could not be cancelled");
                return;
            };
            let cancelled = async {
                let mut client = SchedulerGrpcClient::connect(scheduler).await.map_err(|e| e.to_string())?;
                client.cancel_job(CancelJobParams { job_id: job_id.clone() }).await.map_err(|e| e.to_string())
            };
            match cancelled.await {
                Ok(_) => tracing::info!(%job_id, "cancelled the Ballista job of an abandoned query"),
                Err(error) => {
                    tracing::warn!(%job_id, %error, "could not cancel the Ballista job of an abandoned query")
                }
            }
        });
    }
}

/// `df://host:port` as the scheduler's gRPC endpoint, `http://host:port`.
fn scheduler_endpoint(url: &str) -> Result<String> {
    let invalid = |reason: &str| Error::ClusterUnavailable {
        url: url.to_string(),
        message: format!("{reason}; write ballista_url as df://host:port"),
    };
    let rest = url.strip_prefix("df://").ok_or_else(|| invalid("the URL does not start with df://"))?;
    let authority = rest.trim_end_matches('/');
    if authority.is_empty() || authority.contains('/') {
        return Err(invalid("the URL has no host, or has a path"));
    }
    Ok(format!("http://{authority}"))
}

/// Whether a failure means the cluster could not be reached (as opposed to the query failing).
fn is_unreachable(message: &str) -> bool {
    const SIGNS: [&str; 6] =
        ["transport error", "Connection refused", "tcp connect error", "dns error", "Unavailable", "No executors"];
    SIGNS.iter().any(|sign| message.contains(sign))
}

/// The innermost cause of an error, where the useful words are ("Connection refused").
fn root_message(error: &(dyn std::error::Error + 'static)) -> String {
    let mut current = error;
    let mut messages = vec![current.to_string()];
    while let Some(source) = current.source() {
        messages.push(source.to_string());
        current = source;
    }
    messages.join(": ")
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or(text).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_df_url_names_the_scheduler_endpoint() {
        assert_eq!(scheduler_endpoint("df://localhost:50050").unwrap(), "http://localhost:50050");
        assert_eq!(scheduler_endpoint("df://10.0.0.7:6000/").unwrap(), "http://10.0.0.7:6000");
    }

    #[test]
    fn a_url_that_is_not_df_says_how_to_write_it() {
        for url in ["http://localhost:50050", "df://", "df://host:1/path"] {
            let error = scheduler_endpoint(url).unwrap_err();
            assert_eq!(error.kind(), "cluster_unavailable", "{url}");
            assert!(error.to_string().contains("df://host:port"), "{error}");
        }
    }

    #[test]
    fn transport_failures_are_told_from_query_failures() {
        assert!(is_unreachable("status: Unavailable, message: \"tcp connect error: Connection refused\""));
        assert!(!is_unreachable("Divide by zero error"));
    }
}
