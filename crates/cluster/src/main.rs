//! `quarry-cluster`: runs a Ballista scheduler or executor that knows quarry's checked
//! functions. See the README's "Running on a cluster".

use std::net::SocketAddr;

use clap::{Parser, Subcommand};
use quarry_cluster::{ExecutorOptions, SchedulerOptions, run_executor, run_scheduler};

/// The default of `[executor] max_value_bytes`: the cluster must use the value quarry uses.
const DEFAULT_MAX_VALUE_BYTES: u64 = 1024 * 1024;

#[derive(Parser)]
#[command(version, about = "A Ballista scheduler or executor for quarry's [executor] engine = \"ballista\"")]
struct Cli {
    #[command(subcommand)]
    process: Process,
}

#[derive(Subcommand)]
enum Process {
    /// Runs the scheduler quarry sends queries to (`ballista_url = "df://HOST:PORT"`).
    Scheduler {
        /// Address to listen on.
        #[arg(long, default_value = "0.0.0.0:50050")]
        bind: SocketAddr,
        /// Seconds without a heartbeat before an executor is taken for dead and its tasks
        /// rerun elsewhere.
        #[arg(long, default_value_t = 30)]
        executor_timeout_seconds: u64,
        /// Largest value one function may build, in bytes: the same as quarry's
        /// `[executor] max_value_bytes`.
        #[arg(long, default_value_t = DEFAULT_MAX_VALUE_BYTES)]
        max_value_bytes: u64,
    },
    /// Runs an executor; it must read snapshots at the same paths as quarry.
    Executor {
        /// The scheduler, HOST:PORT.
        #[arg(long, default_value = "localhost:50050")]
        scheduler: String,
        /// Address this executor binds to and registers with the scheduler.
        #[arg(long, default_value = "127.0.0.1")]
        bind_host: String,
        /// Port of the Arrow Flight service (shuffle data and results).
        #[arg(long, default_value_t = 50051)]
        flight_port: u16,
        /// Port of the gRPC service the scheduler sends tasks to.
        #[arg(long, default_value_t = 50052)]
        grpc_port: u16,
        /// Tasks run at once; 0 means the number of cores.
        #[arg(long, default_value_t = 0)]
        concurrent_tasks: usize,
        /// Memory pool of this executor, in MiB.
        #[arg(long, default_value_t = 2048)]
        memory_limit_mb: u64,
        /// Directory of shuffle files (a temporary directory by default).
        #[arg(long)]
        work_dir: Option<String>,
        /// Seconds between heartbeats; keep it well under the scheduler's executor timeout.
        #[arg(long, default_value_t = 5)]
        heartbeat_seconds: u64,
        /// Largest value one function may build, in bytes: the same as quarry's
        /// `[executor] max_value_bytes`.
        #[arg(long, default_value_t = DEFAULT_MAX_VALUE_BYTES)]
        max_value_bytes: u64,
    },
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    // Planning recurses per expression level; the scheduler plans every query again.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(quarry_exec::QUERY_STACK_BYTES)
        .build()?;
    runtime.block_on(async {
        match cli.process {
            Process::Scheduler { bind, executor_timeout_seconds, max_value_bytes } => {
                run_scheduler(SchedulerOptions { bind, executor_timeout_seconds, max_value_bytes }).await?
            }
            Process::Executor {
                scheduler,
                bind_host,
                flight_port,
                grpc_port,
                concurrent_tasks,
                memory_limit_mb,
                work_dir,
                heartbeat_seconds,
                max_value_bytes,
            } => {
                let (scheduler_host, scheduler_port) = scheduler
                    .rsplit_once(':')
                    .and_then(|(host, port)| Some((host.to_string(), port.parse().ok()?)))
                    .ok_or_else(|| anyhow::anyhow!("--scheduler must be HOST:PORT, got {scheduler}"))?;
                run_executor(ExecutorOptions {
                    scheduler_host,
                    scheduler_port,
                    bind_host,
                    flight_port,
                    grpc_port,
                    concurrent_tasks,
                    memory_limit_mb,
                    work_dir,
                    heartbeat_seconds,
                    max_value_bytes,
                })
                .await?
            }
        }
        Ok(())
    })
}
