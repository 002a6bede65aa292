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
//! - queries run on a dedicated CPU runtime, so a timeout returns control at once even while
//!   a query is busy, and the query task is aborted;
//! - at most `max_result_rows` rows are collected.
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

mod config;
mod error;
mod executor;
mod result;
mod sandbox;

pub use config::ExecutorConfig;
pub use error::{Error, Result};
pub use executor::{DataFusionExecutor, SnapshotExecutor};
pub use result::{ColumnInfo, ExecTimings, QueryResult, ResultJson, sql_type_name};
