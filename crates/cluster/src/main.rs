//! `quarry-cluster`: runs a Ballista scheduler or executor that knows quarry's checked
//! functions. See the README's "Running on a cluster".

use clap::{Parser, Subcommand};
use quarry_cluster::{ExecutorOptions, SchedulerOptions, run_executor, run_scheduler};

#[derive(Parser)]
#[command(version, about = "A Ballista scheduler or executor for quarry's [executor] engine = \"ballista\"")]
struct Cli {
    #[command(subcommand)]
    process: Process,
}

#[derive(Subcommand)]
enum Process {
    /// Runs the scheduler quarry sends queries to (`ballista_url = "df://HOST:PORT"`).
    Scheduler(SchedulerOptions),
    /// Runs an executor; it must read snapshots at the same paths as quarry.
    Executor(ExecutorOptions),
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
            Process::Scheduler(options) => run_scheduler(options).await?,
            Process::Executor(options) => run_executor(options).await?,
        }
        Ok(())
    })
}
