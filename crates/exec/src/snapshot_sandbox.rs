//! The sandbox every engine applies to a snapshot's queries, in process or on a cluster.

use std::collections::BTreeSet;
use std::sync::Arc;

use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::{Constraint, Constraints};
use datafusion::datasource::file_format::options::ReadOptions;
use datafusion::datasource::listing::{ListingTable, ListingTableConfig, ListingTableUrl};
use datafusion::error::DataFusionError;
use datafusion::execution::{SendableRecordBatchStream, SessionState};
use datafusion::logical_expr::LogicalPlan;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::{ParquetReadOptions, SQLOptions, SessionContext};
use futures::StreamExt;
use quarry_snapshot::{Snapshot, TableEntry};

use crate::config::ExecutorConfig;
use crate::error::{Error, Result};
use crate::executor::{classify, first_line};
use crate::guard::ValueGuard;
use crate::guard::sizes::row_sizes;
use crate::sandbox::SandboxRules;

/// One snapshot's sandbox in one session: only the snapshot's tables are registered, no table
/// function unless allowed, value-growing functions are checked; every query's optimized plan
/// must read allowed tables and no personal column and hold no oversized cartesian join, and
/// its result is collected within the row, byte and cell limits.
///
/// [`DataFusionExecutor`](crate::DataFusionExecutor) runs on one; so does an engine that sends
/// the admitted plan elsewhere (a Ballista cluster), which then gets the same refusals, limits
/// and error messages.
#[derive(Debug)]
pub struct SnapshotSandbox {
    rules: SandboxRules,
    config: ExecutorConfig,
}

impl SnapshotSandbox {
    /// Makes `ctx` a sandbox of `snapshot`: checked functions installed, table functions
    /// removed unless allowed, the snapshot's tables registered with their primary keys.
    /// `personal` lists the `(table, column)` pairs no query may read.
    pub async fn register(
        ctx: &SessionContext,
        snapshot: &Snapshot,
        personal: &[(String, String)],
        config: ExecutorConfig,
    ) -> Result<Self> {
        install_checked_functions(ctx, config.max_value_bytes);
        let functions: Vec<String> = ctx.state().table_functions().keys().cloned().collect();
        for name in functions {
            if !config.allowed_table_functions.iter().any(|allowed| allowed.eq_ignore_ascii_case(&name)) {
                ctx.deregister_udtf(&name);
            }
        }
        let mut allowed_tables = BTreeSet::new();
        for table in &snapshot.manifest.tables {
            let path = snapshot.dir.join(&table.file);
            let path = path.to_str().ok_or_else(|| Error::Internal(format!("non UTF-8 path {}", path.display())))?;
            register_table(ctx, table, path)
                .await
                .map_err(|e| Error::Internal(format!("registering table {}: {e}", table.name)))?;
            allowed_tables.insert(table.name.clone());
        }
        let rules = SandboxRules {
            allowed_tables,
            personal: personal.iter().cloned().collect(),
            max_cartesian_rows: config.max_cartesian_rows,
            table_rows: snapshot.manifest.tables.iter().map(|t| (t.name.clone(), t.rows)).collect(),
        };
        Ok(Self { rules, config })
    }

    /// The configuration in force.
    pub fn config(&self) -> &ExecutorConfig {
        &self.config
    }

    /// Plans `sql` in `state` and returns its optimized plan, once it is known to be a query
    /// (no DDL, DML or statement) that reads only allowed tables and columns and multiplies no
    /// more rows than allowed.
    pub async fn admit(&self, state: &SessionState, sql: &str) -> Result<LogicalPlan> {
        let plan = state.create_logical_plan(sql).await.map_err(|e| self.error(e))?;
        self.verify(&plan)?;
        let optimized = state.optimize(&plan).map_err(|e| self.error(e))?;
        self.rules.check_logical(&optimized)?;
        Ok(optimized)
    }

    /// Refuses DDL, DML and statements (the SQL policy's gate, checked again on the plan).
    pub(crate) fn verify(&self, plan: &LogicalPlan) -> Result<()> {
        let options = SQLOptions::new().with_allow_ddl(false).with_allow_dml(false).with_allow_statements(false);
        options.verify_plan(plan).map_err(|e| Error::Forbidden { reason: first_line(&e.to_string()) })
    }

    /// Checks an optimized plan's scans and cross joins (see [`SnapshotSandbox::admit`]).
    pub(crate) fn check_logical(&self, plan: &LogicalPlan) -> Result<()> {
        self.rules.check_logical(plan)
    }

    /// Checks a physical plan's cross and nested-loop joins against the cartesian limit, with
    /// the row estimates of the physical planner.
    pub fn check_physical(&self, plan: &Arc<dyn ExecutionPlan>) -> Result<()> {
        self.rules.check_physical(plan)
    }

    /// Collects a query's batches within `max_result_rows` (further rows dropped, the result
    /// marked truncated), `max_result_bytes` and `max_cell_bytes`. Sizes are counted as batches
    /// arrive, so an oversized result stops here, inside the time limit, and never reaches
    /// serialization (which for a gigabyte cell outlasted the time limit).
    pub async fn collect(&self, mut stream: SendableRecordBatchStream) -> Result<(Vec<RecordBatch>, bool)> {
        let schema = stream.schema();
        let mut batches = Vec::new();
        let mut rows = 0usize;
        let mut bytes = 0usize;
        let mut truncated = false;
        let max_rows = self.config.max_result_rows;
        while let Some(batch) = stream.next().await {
            let mut batch = batch.map_err(|e| self.error(e))?;
            if rows + batch.num_rows() > max_rows {
                batch = batch.slice(0, max_rows - rows);
                truncated = true;
            }
            let mut values = 0usize;
            for (column, field) in batch.columns().iter().zip(schema.fields()) {
                let sizes = row_sizes(column.as_ref());
                if let Some(largest) = sizes.iter().copied().max()
                    && largest as u64 > self.config.max_cell_bytes
                {
                    return Err(Error::CellTooLarge {
                        column: field.name().clone(),
                        bytes: largest as u64,
                        limit: self.config.max_cell_bytes,
                    });
                }
                values = values.saturating_add(sizes.iter().sum());
            }
            bytes = bytes.saturating_add(values);
            if bytes as u64 > self.config.max_result_bytes {
                return Err(Error::ResultTooLarge { limit: self.config.max_result_bytes });
            }
            let batch = compact(batch, values).map_err(|e| self.error(e.into()))?;
            rows += batch.num_rows();
            batches.push(batch);
            if truncated {
                break;
            }
        }
        Ok((batches, truncated))
    }

    /// The error a user sees for DataFusion's: an unknown column with the columns in scope,
    /// a memory limit or value limit with what to change, a plan error's first line.
    pub fn error(&self, error: DataFusionError) -> Error {
        classify(error, &self.config)
    }
}

/// `batch` copied out of the buffers it points into, when those are much larger than its
/// values. A result is often a window on larger buffers: a LIMIT's slice of a scanned batch, or
/// string views that point into whole Parquet pages (ten names from a large table kept hundreds
/// of kilobytes alive at scale 1, megabytes at scale 100). The answer would hold them, and the
/// answer cache, which weighs answers by their buffers, refused to keep such answers.
/// `values` is the bytes of the batch's values, as the limits counted them.
fn compact(batch: RecordBatch, values: usize) -> Result<RecordBatch, datafusion::arrow::error::ArrowError> {
    use datafusion::arrow::array::{ArrayRef, AsArray, UInt32Array};
    use datafusion::arrow::compute::take;
    use datafusion::arrow::datatypes::DataType;
    if batch.get_array_memory_size() <= 64 * 1024 + 4 * values {
        return Ok(batch);
    }
    let rows = UInt32Array::from_iter_values(0..u32::try_from(batch.num_rows()).unwrap_or(u32::MAX));
    let columns = batch
        .columns()
        .iter()
        .map(|column| {
            let copied = take(column.as_ref(), &rows, None)?;
            // `take` copies views, not the bytes they point to.
            Ok(match copied.data_type() {
                DataType::Utf8View => Arc::new(copied.as_string_view().gc()) as ArrayRef,
                DataType::BinaryView => Arc::new(copied.as_binary_view().gc()) as ArrayRef,
                _ => copied,
            })
        })
        .collect::<Result<Vec<ArrayRef>, datafusion::arrow::error::ArrowError>>()?;
    RecordBatch::try_new(batch.schema(), columns)
}

/// Registers quarry's checked functions in `ctx` in place of DataFusion's value-growing ones
/// (`repeat`, `replace`, pads, concatenations, `string_agg`, `array_agg`...), plus the checked
/// `||`, so that no function builds a value over `max_value_bytes`. A process that receives
/// serialized plans (a cluster's scheduler and executors) installs them too: functions travel
/// by name and are looked up in the receiving session.
pub fn install_checked_functions(ctx: &SessionContext, max_value_bytes: u64) {
    ValueGuard::new(usize::try_from(max_value_bytes).unwrap_or(usize::MAX)).install(ctx);
}

/// Registers a snapshot table with its primary key as a constraint, so that DataFusion admits
/// the table's other columns beside a GROUP BY of the key (functional dependence).
async fn register_table(ctx: &SessionContext, table: &TableEntry, path: &str) -> datafusion::error::Result<()> {
    let options = ParquetReadOptions::default().to_listing_options(&ctx.copied_config(), ctx.copied_table_options());
    let url = ListingTableUrl::parse(path)?;
    let schema = options.infer_schema(&ctx.state(), &url).await?;
    let key: Option<Vec<usize>> = table.primary_key.iter().map(|column| schema.index_of(column).ok()).collect();
    let constraints = match key {
        Some(indices) if !indices.is_empty() => Constraints::new_unverified(vec![Constraint::PrimaryKey(indices)]),
        _ => Constraints::default(),
    };
    let config = ListingTableConfig::new(url).with_listing_options(options).with_schema(schema);
    let provider = ListingTable::try_new(config)?
        .with_constraints(constraints)
        .with_cache(ctx.runtime_env().cache_manager.get_file_statistic_cache());
    ctx.register_table(table.name.as_str(), Arc::new(provider))?;
    Ok(())
}
