//! Sandboxed execution of validated SQL over a read-only snapshot.
//!
//! A [`SnapshotExecutor`] runs a query that already passed the
//! [`SqlPolicy`](quarry_sqlguard::SqlPolicy) and returns a [`QueryResult`]. The DataFusion
//! implementation, [`DataFusionExecutor`], is a second line of defence behind the policy:
//! - its session knows only the snapshot's tables, and no table functions unless allowed;
//! - every query goes through `sql_with_options` with DDL, DML and statements disallowed;
//! - before running, the optimized plan is checked: every table scan reads an allowed table
//!   and no personal-data column, and no cartesian product is larger than allowed;
//! - memory is a bounded pool with spilling disabled, so a runaway aggregation fails fast;
//! - every function that can grow a value (`repeat`, `replace`, `regexp_replace`, pads,
//!   concatenations and `||`, `array_repeat`, `flatten`, `string_agg`, `array_agg`...) is a
//!   checked version of DataFusion's that fails before building a value over
//!   `max_value_bytes`, and reserves what it builds in the query's memory pool;
//! - queries run on a dedicated CPU runtime, so a timeout returns control at once even while
//!   a query is busy; the query task is aborted on a timeout or when the caller stops waiting,
//!   and every operator yields after each batch, so the aborted work stops within moments;
//! - at most `max_result_rows` rows, `max_result_bytes` bytes and `max_cell_bytes` per cell
//!   are collected, counted as batches arrive, inside the time limit.
//!
//! ```no_run
//! # async fn example(query: quarry_sqlguard::ValidatedQuery) -> quarry_exec::Result<()> {
//! use quarry_exec::{DataFusionExecutor, ExecutorConfig, SnapshotExecutor};
//! let snapshot = quarry_snapshot::Snapshot::open("/path/to/snapshot")?;
//! let executor = DataFusionExecutor::open(&snapshot, &[], ExecutorConfig::default()).await?;
//! let result = executor.execute(&query).await?;
//! println!("{} rows in {:.1} ms", result.num_rows(), result.timings.execute_ms);
//! # Ok(()) }
//! ```

mod cancel;
mod config;
mod error;
mod executor;
mod guard;
mod plan_cache;
mod result;
mod sandbox;
mod snapshot_sandbox;

pub use config::{ExecutionEngine, ExecutorConfig};
pub use error::{Error, Result};
pub use executor::{DataFusionExecutor, QUERY_STACK_BYTES, SnapshotExecutor};
pub use result::{ColumnInfo, ExecTimings, QueryResult, ResultJson, sql_type_name};
pub use snapshot_sandbox::{SnapshotSandbox, install_checked_functions};
