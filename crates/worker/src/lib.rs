//! Query execution isolated in worker processes, the second line of defence behind the
//! engine's own limits.
//!
//! The in-process [`DataFusionExecutor`] bounds the memory its pool sees, but an allocation
//! the pool does not see (a value a function builds before anyone counts it) can still reach
//! gigabytes, and an allocation failure aborts the whole process: one query took `quarry
//! serve` down. A [`WorkerExecutor`] runs each query in one of a pool of `quarry worker`
//! processes instead:
//! - each worker runs the same [`DataFusionExecutor`] on the same snapshot with the same
//!   [`ExecutorConfig`], so results and errors are those of in-process execution;
//! - the kernel limits each worker's address space (`RLIMIT_AS`: the engine's
//!   `memory_limit_mb` plus [`DEFAULT_HEADROOM_MB`]) and, as a backstop, its CPU time per
//!   query (`RLIMIT_CPU`);
//! - quarry kills a worker whose query passes its time limit;
//! - a worker that dies or is killed is replaced in the background, its query fails with a
//!   `resource_limit` error when it ran out of memory, `timeout` when it ran out of time, and
//!   `worker_crashed` when it crashed otherwise (a segmentation fault, a stack overflow), and
//!   queries on other workers are not affected.
//!
//! Queries go to a worker as SQL over its stdin; results come back over its stdout as an Arrow
//! IPC stream (see [`protocol`]). `quarry worker` is [`serve_worker`] after
//! [`apply_process_limits`].
//!
//! ```no_run
//! # async fn example(query: quarry_sqlguard::ValidatedQuery) -> quarry_exec::Result<()> {
//! use quarry_exec::SnapshotExecutor;
//! use quarry_worker::{IsolationConfig, IsolationMode, open_executor};
//! let snapshot = quarry_snapshot::Snapshot::open("/path/to/snapshot")?;
//! let isolation = IsolationConfig { mode: IsolationMode::Process, ..IsolationConfig::default() };
//! let executor = open_executor(&isolation, &snapshot, &[], Default::default()).await?;
//! let result = executor.execute(&query).await?;
//! # Ok(()) }
//! ```

mod config;
mod error;
mod limits;
mod pool;
pub mod protocol;
mod serve;

use std::sync::Arc;

pub use config::{DEFAULT_HEADROOM_MB, IsolationConfig, IsolationMode};
pub use error::{Error, Result};
pub use pool::{WorkerExecutor, WorkerPoolConfig};
use quarry_exec::{DataFusionExecutor, ExecutorConfig, SnapshotExecutor};
use quarry_snapshot::Snapshot;
pub use serve::{ProcessLimits, apply_process_limits, run_worker_process, serve_worker};

/// The executor `isolation` asks for over `snapshot`: in process, or a pool of workers of the
/// running executable (which must be `quarry`, whose `worker` command serves them).
/// [`IsolationMode::Auto`] left unresolved runs in process.
pub async fn open_executor(
    isolation: &IsolationConfig,
    snapshot: &Snapshot,
    personal: &[(String, String)],
    config: ExecutorConfig,
) -> quarry_exec::Result<Arc<dyn SnapshotExecutor>> {
    match isolation.mode {
        IsolationMode::Auto | IsolationMode::InProcess => {
            Ok(Arc::new(DataFusionExecutor::open(snapshot, personal, config).await?))
        }
        IsolationMode::Process => {
            let program = std::env::current_exe()
                .map_err(|e| quarry_exec::Error::Internal(format!("cannot find quarry's own executable: {e}")))?;
            let pool = WorkerPoolConfig::new(program, snapshot, personal, config, isolation);
            Ok(Arc::new(WorkerExecutor::start(pool).await?))
        }
    }
}
