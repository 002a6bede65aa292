use std::fs::File;
use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use quarry_snapshot::Snapshot;

use crate::error::{Error, Problem, Result};
use crate::layer::{ColumnKind, SemanticLayer};

/// Reads the Arrow schema of every table of a snapshot from its Parquet footers.
pub(crate) fn snapshot_schemas(snapshot: &Snapshot) -> Result<Vec<(String, SchemaRef)>> {
    snapshot
        .manifest
        .tables
        .iter()
        .map(|table| {
            let path = snapshot.dir.join(&table.file);
            let file =
                File::open(&path).map_err(|e| Error::Snapshot { table: table.name.clone(), message: e.to_string() })?;
            let builder = ParquetRecordBatchReaderBuilder::try_new(file)
                .map_err(|e| Error::Snapshot { table: table.name.clone(), message: e.to_string() })?;
            Ok((table.name.clone(), Arc::clone(builder.schema())))
        })
        .collect()
}

impl SemanticLayer {
    /// Fills the kind of every column that does not state one from the snapshot's manifest,
    /// so that a hand-written layer (or one written before kinds were) can be ordered,
    /// compared and aggregated by the planner like an inferred one.
    pub fn fill_column_kinds(&mut self, snapshot: &Snapshot) {
        for table in &mut self.tables {
            let Some(entry) = snapshot.manifest.table(&table.name) else { continue };
            for column in table.columns.iter_mut().filter(|c| c.kind.is_none()) {
                column.kind = entry
                    .columns
                    .iter()
                    .find(|c| c.name == column.name)
                    .map(|c| ColumnKind::of_type_name(&c.data_type));
            }
        }
    }

    /// Checks the layer against a snapshot: every table, column and join exists, time
    /// columns are timestamps or dates, and every metric expression and filter parses and
    /// plans over its table. All problems are reported together; `file` names the layer.
    pub async fn validate_against(&self, snapshot: &Snapshot, file: &str) -> Result<()> {
        let mut problems = self.check();
        let schemas = snapshot_schemas(snapshot)?;
        let schema_of = |table: &str| schemas.iter().find(|(name, _)| name == table).map(|(_, s)| s);
        let column_type = |table: &str, column: &str| -> Option<DataType> {
            schema_of(table).and_then(|s| s.field_with_name(column).ok()).map(|f| f.data_type().clone())
        };
        let snapshot_id = &snapshot.manifest.id;
        let mut push = |entry: String, message: String, fix: String| problems.push(Problem { entry, message, fix });

        for table in &self.tables {
            match schema_of(&table.name) {
                None => push(
                    format!("tables[{}]", table.name),
                    format!("table is not in snapshot {snapshot_id}"),
                    format!(
                        "remove it or use one of: {}",
                        schemas.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(", ")
                    ),
                ),
                Some(schema) => {
                    for column in &table.columns {
                        if schema.field_with_name(&column.name).is_err() {
                            push(
                                format!("tables[{}].columns[{}]", table.name, column.name),
                                format!("column is not in the snapshot's {} table", table.name),
                                format!(
                                    "remove it or use one of: {}",
                                    schema.fields().iter().map(|f| f.name().as_str()).collect::<Vec<_>>().join(", ")
                                ),
                            );
                        }
                    }
                }
            }
        }
        let check_ref = |entry: String, reference: &str, push: &mut dyn FnMut(String, String, String)| {
            if let Some((t, c)) = reference.split_once('.')
                && schema_of(t).is_some()
                && column_type(t, c).is_none()
            {
                push(
                    entry,
                    format!("{reference} does not exist in snapshot {snapshot_id}"),
                    "fix the table.column name".into(),
                );
            }
        };
        for (i, join) in self.joins.iter().enumerate() {
            check_ref(format!("joins[{i}].from"), &join.from, &mut push);
            check_ref(format!("joins[{i}].to"), &join.to, &mut push);
        }
        for dimension in &self.dimensions {
            for reference in std::iter::once(&dimension.column).chain(&dimension.also) {
                check_ref(format!("dimensions[{}].column", dimension.name), reference, &mut push);
            }
        }

        let ctx = SessionContext::new();
        for (name, schema) in &schemas {
            let table = MemTable::try_new(Arc::clone(schema), vec![vec![]])
                .map_err(|e| Error::Snapshot { table: name.clone(), message: e.to_string() })?;
            ctx.register_table(name.as_str(), Arc::new(table))
                .map_err(|e| Error::Snapshot { table: name.clone(), message: e.to_string() })?;
        }
        for metric in &self.metrics {
            let entry = format!("metrics[{}]", metric.name);
            if schema_of(&metric.table).is_none() {
                continue;
            }
            if let Some(column) = &metric.time_column {
                match column_type(&metric.table, column) {
                    None => push(
                        format!("{entry}.time_column"),
                        format!("{}.{column} does not exist", metric.table),
                        "name a timestamp column of the metric's table".into(),
                    ),
                    Some(DataType::Timestamp(_, _) | DataType::Date32 | DataType::Date64) => {}
                    Some(other) => push(
                        format!("{entry}.time_column"),
                        format!("{}.{column} is {other}, not a date or timestamp", metric.table),
                        "name a timestamp column".into(),
                    ),
                }
            }
            let filter = metric.filter.as_deref().map(|f| format!(" WHERE {f}")).unwrap_or_default();
            let sql = format!("SELECT {} AS value FROM {}{filter}", metric.expression, metric.table);
            if let Err(e) = ctx.state().create_logical_plan(&sql).await {
                push(
                    format!("{entry}.expression"),
                    format!("does not plan over {}: {}", metric.table, first_line(&e.to_string())),
                    "write an aggregate SQL expression over the metric's table, e.g. SUM(amount)".into(),
                );
            }
        }
        for segment in &self.segments {
            if schema_of(&segment.table).is_none() {
                continue;
            }
            let sql = format!("SELECT COUNT(*) FROM {} WHERE {}", segment.table, segment.condition);
            if let Err(e) = ctx.state().create_logical_plan(&sql).await {
                push(
                    format!("segments[{}].condition", segment.name),
                    format!("does not plan over {}: {}", segment.table, first_line(&e.to_string())),
                    "write a SQL condition over the segment's table".into(),
                );
            }
        }
        if problems.is_empty() { Ok(()) } else { Err(Error::Invalid { file: file.to_string(), problems }) }
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or(text)
}
