//! The processes of a quarry cluster: a Ballista scheduler and Ballista executors whose
//! sessions know quarry's checked functions, for snapshots too large for one node.
//!
//! quarry plans and checks each query itself ([`quarry_ballista::BallistaExecutor`]'s sandbox)
//! and sends the admitted plan to the scheduler, which splits it into stages that the
//! executors run. Functions travel in a plan by name, so a stock Ballista process would run
//! DataFusion's own `repeat` or `string_agg` where quarry checked ones: here the scheduler's
//! sessions and the executors' function registry hold the checked versions, with the same
//! `max_value_bytes`.
//!
//! `quarry-cluster scheduler` is [`run_scheduler`]; `quarry-cluster executor` is
//! [`run_executor`].
//!
//! [`quarry_ballista::BallistaExecutor`]: https://docs.rs/quarry-ballista

use std::net::SocketAddr;
use std::sync::Arc;

use ballista_core::registry::BallistaFunctionRegistry;
use ballista_core::utils::default_session_builder;
use ballista_executor::executor_process::{ExecutorProcessConfig, start_executor_process};
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::SchedulerConfig;
use ballista_scheduler::scheduler_process::start_server;
use datafusion::prelude::SessionContext;
use quarry_exec::install_checked_functions;

/// Why a cluster process stopped.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The options do not make a working process.
    #[error("invalid cluster option: {0}")]
    Options(String),
    /// Ballista failed to start or stopped with an error.
    #[error("the Ballista {process} failed: {message}")]
    Ballista {
        /// `scheduler` or `executor`.
        process: &'static str,
        /// Ballista's message.
        message: String,
    },
}

/// The default of `[executor] max_value_bytes`: the cluster must use the value quarry uses.
pub const DEFAULT_MAX_VALUE_BYTES: u64 = 1024 * 1024;

/// Options of the scheduler process.
#[derive(Debug, Clone, clap::Args)]
pub struct SchedulerOptions {
    /// Address the scheduler's gRPC service listens on (quarry's `ballista_url` names it).
    #[arg(long, default_value = "0.0.0.0:50050")]
    pub bind: SocketAddr,
    /// Seconds without a heartbeat after which an executor is taken for dead and its tasks
    /// are run elsewhere.
    #[arg(long, default_value_t = 30)]
    pub executor_timeout_seconds: u64,
    /// Largest value one function may build, in bytes: quarry's `[executor] max_value_bytes`.
    #[arg(long, default_value_t = DEFAULT_MAX_VALUE_BYTES)]
    pub max_value_bytes: u64,
}

/// Options of one executor process. It must read snapshots at the same paths as quarry.
#[derive(Debug, Clone, clap::Args)]
pub struct ExecutorOptions {
    /// The scheduler, HOST:PORT.
    #[arg(long, default_value = "localhost:50050")]
    pub scheduler: String,
    /// Address this executor's services bind to, and register with the scheduler.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind_host: String,
    /// Port of the Arrow Flight service that serves shuffle data and results.
    #[arg(long, default_value_t = 50051)]
    pub flight_port: u16,
    /// Port of the gRPC service the scheduler sends tasks to.
    #[arg(long, default_value_t = 50052)]
    pub grpc_port: u16,
    /// Tasks run at once; 0 means the number of cores.
    #[arg(long, default_value_t = 0)]
    pub concurrent_tasks: usize,
    /// Memory of this executor's pool, in MiB; operators beyond it fail the task.
    #[arg(long, default_value_t = 2048)]
    pub memory_limit_mb: u64,
    /// Directory of shuffle files; a temporary directory when unset.
    #[arg(long)]
    pub work_dir: Option<String>,
    /// Seconds between heartbeats; keep it well under the scheduler's executor timeout.
    #[arg(long, default_value_t = 5)]
    pub heartbeat_seconds: u64,
    /// Largest value one function may build, in bytes: quarry's `[executor] max_value_bytes`.
    #[arg(long, default_value_t = DEFAULT_MAX_VALUE_BYTES)]
    pub max_value_bytes: u64,
}

/// Runs a scheduler until it is stopped. Its sessions plan with quarry's checked functions.
pub async fn run_scheduler(options: SchedulerOptions) -> Result<(), Error> {
    if options.executor_timeout_seconds < 2 {
        return Err(Error::Options("--executor-timeout-seconds must be at least 2".into()));
    }
    let max_value_bytes = options.max_value_bytes;
    let mut config = SchedulerConfig::default()
        .with_hostname(options.bind.ip().to_string())
        .with_port(options.bind.port())
        .with_override_session_builder(Arc::new(move |session_config| {
            let ctx = SessionContext::new_with_state(default_session_builder(session_config)?);
            install_checked_functions(&ctx, max_value_bytes);
            Ok(ctx.state())
        }));
    config.bind_host = options.bind.ip().to_string();
    config.executor_timeout_seconds = options.executor_timeout_seconds;
    // Checked at least twice per timeout, so a dead executor is noticed within 1.5 timeouts.
    config.expire_dead_executor_interval_seconds = (options.executor_timeout_seconds / 2).max(1);
    config.no_executors_grace_period_seconds = options.executor_timeout_seconds;
    let failed =
        |e: ballista_core::error::BallistaError| Error::Ballista { process: "scheduler", message: e.to_string() };
    let cluster = BallistaCluster::new_from_config(&config).await.map_err(failed)?;
    start_server(cluster, options.bind, Arc::new(config)).await.map_err(failed)
}

/// Runs an executor until it is stopped. Its function registry holds quarry's checked
/// functions in place of DataFusion's.
pub async fn run_executor(options: ExecutorOptions) -> Result<(), Error> {
    if options.heartbeat_seconds == 0 {
        return Err(Error::Options("--heartbeat-seconds must be at least 1".into()));
    }
    let (scheduler_host, scheduler_port) = options
        .scheduler
        .rsplit_once(':')
        .and_then(|(host, port)| Some((host.to_string(), port.parse().ok()?)))
        .ok_or_else(|| Error::Options(format!("--scheduler must be HOST:PORT, got {}", options.scheduler)))?;
    let mut config = ExecutorProcessConfig {
        scheduler_host,
        scheduler_port,
        bind_host: options.bind_host.clone(),
        external_host: Some(options.bind_host),
        port: options.flight_port,
        grpc_port: options.grpc_port,
        work_dir: options.work_dir,
        executor_heartbeat_interval_seconds: options.heartbeat_seconds,
        memory_pool_size: Some(options.memory_limit_mb.saturating_mul(1024 * 1024)),
        override_function_registry: Some(Arc::new(checked_registry(options.max_value_bytes))),
        special_mod_log_level: "WARN".into(),
        print_thread_info: false,
        ..ExecutorProcessConfig::default()
    };
    if options.concurrent_tasks > 0 {
        config.vcores = options.concurrent_tasks;
    }
    start_executor_process(Arc::new(config))
        .await
        .map_err(|e| Error::Ballista { process: "executor", message: e.to_string() })
}

/// Ballista's default functions, with quarry's checked functions in place of the
/// value-growing ones and the checked `||` added.
pub fn checked_registry(max_value_bytes: u64) -> BallistaFunctionRegistry {
    let mut registry = BallistaFunctionRegistry::default();
    let ctx = SessionContext::new();
    install_checked_functions(&ctx, max_value_bytes);
    let state = ctx.state();
    registry.scalar_functions.extend(state.scalar_functions().iter().map(|(k, v)| (k.clone(), Arc::clone(v))));
    registry.aggregate_functions.extend(state.aggregate_functions().iter().map(|(k, v)| (k.clone(), Arc::clone(v))));
    registry.window_functions.extend(state.window_functions().iter().map(|(k, v)| (k.clone(), Arc::clone(v))));
    registry
}
