use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{Column, SchemaError};
use datafusion::error::DataFusionError;
use datafusion::execution::cache::cache_manager::CacheManagerConfig;
use datafusion::execution::disk_manager::{DiskManagerBuilder, DiskManagerMode};
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use datafusion::execution::{SessionState, TaskContext};
use datafusion::logical_expr::LogicalPlan;
use datafusion::physical_plan::coop::CooperativeExec;
use datafusion::physical_plan::{ExecutionPlan, execute_stream, replace_children_if_necessary};
use datafusion::prelude::{SessionConfig, SessionContext};
use quarry_snapshot::Snapshot;
use quarry_sqlguard::ValidatedQuery;

use crate::cancel::Cancellation;
use crate::config::ExecutorConfig;
use crate::error::{Error, Result};
use crate::guard::{ValueGuard, ValueTooLarge};
use crate::plan_cache::PlanCache;
use crate::result::{ExecTimings, QueryResult};
use crate::snapshot_sandbox::SnapshotSandbox;

/// Runs validated queries over one snapshot. Implementations must be sandboxed: read-only,
/// limited in memory, time and rows.
#[async_trait]
pub trait SnapshotExecutor: Send + Sync {
    /// The id of the snapshot queries run on.
    fn snapshot_id(&self) -> &str;

    /// Runs a query that passed the policy.
    async fn execute(&self, query: &ValidatedQuery) -> Result<QueryResult>;
}

/// The DataFusion implementation of [`SnapshotExecutor`], for snapshots that fit one node.
pub struct DataFusionExecutor {
    snapshot_id: String,
    /// Built once: cloning a session's state per query (hundreds of registered functions)
    /// cost more than planning a simple query.
    state: Arc<SessionState>,
    sandbox: Arc<SnapshotSandbox>,
    plans: Arc<PlanCache>,
    runtimes: QueryRuntimes,
}

impl std::fmt::Debug for DataFusionExecutor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataFusionExecutor")
            .field("snapshot_id", &self.snapshot_id)
            .field("config", self.sandbox.config())
            .finish()
    }
}

impl DataFusionExecutor {
    /// Opens a session over `snapshot` with only its tables registered. `personal` lists the
    /// `(table, column)` pairs no query may read.
    pub async fn open(snapshot: &Snapshot, personal: &[(String, String)], config: ExecutorConfig) -> Result<Self> {
        let runtime_env = query_runtime_env(None, config.memory_limit_mb)?;
        let session_config = SessionConfig::new()
            .with_target_partitions(config.partitions())
            .with_information_schema(false)
            .with_default_catalog_and_schema("quarry", "public");
        let ctx = SessionContext::new_with_config_rt(session_config, runtime_env);
        let threads = config.threads();
        let plan_cache_entries = config.plan_cache_entries;
        let sandbox = SnapshotSandbox::register(&ctx, snapshot, personal, config).await?;
        Ok(Self {
            snapshot_id: snapshot.manifest.id.clone(),
            state: Arc::new(ctx.state()),
            sandbox: Arc::new(sandbox),
            plans: Arc::new(PlanCache::new(plan_cache_entries)),
            runtimes: QueryRuntimes::new(threads)?,
        })
    }

    /// The configuration in force.
    pub fn config(&self) -> &ExecutorConfig {
        self.sandbox.config()
    }
}

#[async_trait]
impl SnapshotExecutor for DataFusionExecutor {
    fn snapshot_id(&self) -> &str {
        &self.snapshot_id
    }

    async fn execute(&self, query: &ValidatedQuery) -> Result<QueryResult> {
        // Queries run on the executor's own runtime, not the caller's: the caller's timeout
        // then fires even while a query is busy inside one batch. A runtime that had a query
        // time out is retired (shut down once its last query ends) and later queries get a
        // fresh one, so a stuck query cannot starve them. Starting a runtime per query cost
        // about a millisecond of thread start-up and wake-ups on every answer.
        let runtime = self.runtimes.current();
        let state = Arc::clone(&self.state);
        let sandbox = Arc::clone(&self.sandbox);
        let plans = Arc::clone(&self.plans);
        let sql = query.sql.clone();
        let cancellation = Cancellation::default();
        let watched = cancellation.clone();
        let task = runtime.handle().spawn(async move { run(&state, &sandbox, &plans, &sql, &watched).await });
        // Stopped on every way out, including a caller that stops waiting and drops this
        // future: a detached task would run the query to its end.
        let stop = StopOnDrop { task: task.abort_handle(), cancellation };
        let timeout_ms = self.sandbox.config().timeout_ms;
        match tokio::time::timeout(Duration::from_millis(timeout_ms), task).await {
            Ok(Ok(result)) => result,
            Ok(Err(join_error)) => Err(Error::Internal(format!("query task failed: {join_error}"))),
            Err(_) => {
                drop(stop);
                self.runtimes.retire(&runtime);
                Err(Error::Timeout { timeout_ms })
            }
        }
    }
}

/// Stops a query when dropped: its task is aborted, which takes effect at the next yield (every
/// operator yields after each batch, see [`cooperative`]), and its join filters fail, which ends
/// the loops joins run inside one poll.
struct StopOnDrop {
    task: tokio::task::AbortHandle,
    cancellation: Cancellation,
}

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.cancellation.cancel();
        self.task.abort();
    }
}

/// The runtime new queries start on, replaced when a query on it times out.
struct QueryRuntimes {
    threads: usize,
    current: Mutex<Arc<QueryRuntime>>,
}

impl QueryRuntimes {
    fn new(threads: usize) -> Result<Self> {
        Ok(Self { threads, current: Mutex::new(Arc::new(QueryRuntime::start(threads)?)) })
    }

    fn current(&self) -> Arc<QueryRuntime> {
        Arc::clone(&self.current.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Stops handing out `runtime` (if it is still the current one); it shuts down when the
    /// last query holding it lets go. If no new runtime can be started, the old one stays in
    /// use: the caller must still hear about its timeout, not about thread start-up.
    fn retire(&self, runtime: &Arc<QueryRuntime>) {
        let mut current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        if Arc::ptr_eq(&current, runtime)
            && let Ok(fresh) = QueryRuntime::start(self.threads)
        {
            *current = Arc::new(fresh);
        }
    }
}

/// Stack of each query thread, where DataFusion plans and runs a query. Planning recurses once
/// or more per expression level, join, set operation and CTE, and tokio's default 2 MiB
/// overflowed (aborting the process) on a chain of 250 `||` or 250 `UNION`s in a debug build.
/// The policy bounds every such depth (`quarry_sqlguard::MAX_EXPR_DEPTH`, `MAX_SET_OPERATIONS`,
/// `MAX_RELATIONS`); this stack holds the deepest query it admits with room to spare. It is
/// address space, not memory: only the pages a query touches become resident.
pub const QUERY_STACK_BYTES: usize = 16 * 1024 * 1024;

/// A query runtime, shut down in the background when dropped: dropping a runtime blocks on
/// its workers, which panics in async code, and a worker may still be inside a query that
/// timed out.
struct QueryRuntime(Option<tokio::runtime::Runtime>);

impl QueryRuntime {
    fn start(threads: usize) -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .thread_name("quarry-query")
            .thread_stack_size(QUERY_STACK_BYTES)
            .enable_time()
            .build()
            .map_err(|e| Error::Internal(format!("starting a query runtime: {e}")))?;
        Ok(Self(Some(runtime)))
    }

    fn handle(&self) -> &tokio::runtime::Handle {
        self.0.as_ref().expect("the runtime lives until drop").handle()
    }
}

impl Drop for QueryRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

async fn run(
    state: &SessionState,
    sandbox: &SnapshotSandbox,
    plans: &PlanCache,
    sql: &str,
    cancellation: &Cancellation,
) -> Result<QueryResult> {
    let config = sandbox.config();
    let classify = |e| sandbox.error(e);
    let started = Instant::now();
    let optimized = match plans.get(sql) {
        Some(admitted) => LogicalPlan::clone(&admitted),
        None => {
            let plan = state.create_logical_plan(sql).await.map_err(classify)?;
            sandbox.verify(&plan)?;
            let optimized = state.optimize(&plan).map_err(classify)?;
            sandbox.check_logical(&optimized)?;
            plans.insert(sql, &plan, Arc::new(optimized.clone()));
            optimized
        }
    };
    // A fresh memory pool per query: a query that timed out may still be unwinding in the
    // background and must not hold memory later queries are held to. The value guards of this
    // query's functions reserve in it too.
    let runtime_env = query_runtime_env(Some(state.runtime_env()), config.memory_limit_mb)?;
    let guarded = ValueGuard::new(config.value_limit())
        .with_pool(Arc::clone(&runtime_env.memory_pool))
        .guard_plan(optimized)
        .and_then(|plan| cancellation.watch_joins(plan))
        .map_err(classify)?;
    let physical = state.query_planner().create_physical_plan(&guarded, state).await.map_err(classify)?;
    sandbox.check_physical(&physical)?;
    let physical = cooperative(physical).map_err(classify)?;
    let plan_ms = started.elapsed().as_secs_f64() * 1e3;

    let started = Instant::now();
    let schema = physical.schema();
    let task_ctx = Arc::new(TaskContext::from(state).with_runtime(runtime_env));
    let stream = execute_stream(physical, task_ctx).map_err(classify)?;
    let (batches, truncated) = sandbox.collect(stream).await?;
    let execute_ms = started.elapsed().as_secs_f64() * 1e3;
    Ok(QueryResult { schema, batches, truncated, timings: ExecTimings { plan_ms, execute_ms } })
}

/// Wraps every operator in DataFusion's [`CooperativeExec`], which spends the task's tokio
/// budget per batch and yields when it runs out. DataFusion wraps only scans and exchanges, so
/// a join that produces millions of batches from one input batch (a self-join on a low
/// cardinality key) kept its task inside one poll for as long as it ran: an aborted query's
/// threads went on at full speed for seconds after its time limit.
fn cooperative(plan: Arc<dyn ExecutionPlan>) -> datafusion::error::Result<Arc<dyn ExecutionPlan>> {
    let is_cooperative = |node: &Arc<dyn ExecutionPlan>| node.is::<CooperativeExec>();
    let wrap = |node: Arc<dyn ExecutionPlan>| -> Arc<dyn ExecutionPlan> {
        if is_cooperative(&node) { node } else { Arc::new(CooperativeExec::new(node)) }
    };
    let plan = plan
        .transform_up(|node| {
            if is_cooperative(&node) || node.children().into_iter().all(is_cooperative) {
                return Ok(Transformed::no(node));
            }
            let children = node.children().into_iter().map(|child| wrap(Arc::clone(child))).collect();
            Ok(Transformed::yes(replace_children_if_necessary(node, children)?))
        })?
        .data;
    Ok(wrap(plan))
}

/// A runtime with its own bounded memory pool and no disk to spill to. With `shared`, the
/// object stores and the file caches (Parquet footers, listings) are reused from it.
fn query_runtime_env(shared: Option<&Arc<RuntimeEnv>>, memory_limit_mb: u64) -> Result<Arc<RuntimeEnv>> {
    let mut builder = RuntimeEnvBuilder::new()
        .with_memory_limit(usize::try_from(memory_limit_mb.saturating_mul(1024 * 1024)).unwrap_or(usize::MAX), 1.0)
        .with_disk_manager_builder(DiskManagerBuilder::default().with_mode(DiskManagerMode::Disabled));
    if let Some(shared) = shared {
        let caches = &shared.cache_manager;
        builder = builder.with_object_store_registry(Arc::clone(&shared.object_store_registry)).with_cache_manager(
            CacheManagerConfig::default()
                .with_file_statistics_cache(caches.get_file_statistic_cache())
                .with_list_files_cache(caches.get_list_files_cache())
                .with_file_metadata_cache(Some(caches.get_file_metadata_cache())),
        );
    }
    builder.build_arc().map_err(|e| Error::Internal(e.to_string()))
}

pub(crate) fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or(text).to_string()
}

/// Names a column the query used that is not in scope, with the columns that are, and a
/// suggestion only when one is spelled alike: DataFusion's own "Did you mean" picks the least
/// distant column however far it is (`"Angola"` gave `country.gnpold`).
fn unknown_column(field: &Column, valid: &[Column]) -> Error {
    let wanted = field.name.to_lowercase();
    let closest = valid
        .iter()
        .map(|c| (strsim::normalized_levenshtein(&wanted, &c.name.to_lowercase()), c))
        .filter(|(similarity, _)| *similarity >= 0.6)
        .max_by(|a, b| a.0.total_cmp(&b.0));
    let mut names: Vec<String> = valid.iter().map(|c| c.flat_name()).collect();
    names.sort();
    names.dedup();
    let shown = if names.len() > 40 { format!("{}, ...", names[..40].join(", ")) } else { names.join(", ") };
    let hint = match closest {
        Some((_, column)) => format!("did you mean {}? ", column.flat_name()),
        None => String::new(),
    };
    Error::Plan {
        message: format!(
            "column {} does not exist here; {hint}the columns in scope are: {shown}. Text values are written in \
             single quotes ('{}')",
            field.flat_name(),
            field.name
        ),
    }
}

pub(crate) fn classify(error: DataFusionError, config: &ExecutorConfig) -> Error {
    let memory_limit_mb = config.memory_limit_mb;
    if let Some(too_large) = ValueTooLarge::find(&error) {
        return Error::ValueTooLarge {
            function: too_large.function.clone(),
            bytes: too_large.bytes,
            limit: too_large.limit,
        };
    }
    if let DataFusionError::SchemaError(schema_error, _) = error.find_root()
        && let SchemaError::FieldNotFound { field, valid_fields } = schema_error.as_ref()
    {
        return unknown_column(field, valid_fields);
    }
    match error.find_root() {
        DataFusionError::ResourcesExhausted(message) => {
            Error::MemoryLimit { limit_mb: memory_limit_mb, message: first_line(message) }
        }
        DataFusionError::Plan(_)
        | DataFusionError::SchemaError(..)
        | DataFusionError::SQL(..)
        | DataFusionError::NotImplemented(_) => Error::Plan { message: first_line(&error.strip_backtrace()) },
        _ => {
            let message = first_line(&error.strip_backtrace());
            if message.contains("Resources exhausted") {
                Error::MemoryLimit { limit_mb: memory_limit_mb, message }
            } else {
                Error::Execution { message }
            }
        }
    }
}
