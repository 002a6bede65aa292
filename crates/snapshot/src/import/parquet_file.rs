//! Parquet files: read with their own Arrow schema; only the column names change.
use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use datafusion::arrow::datatypes::{Field, Schema};
use datafusion::arrow::record_batch::RecordBatch;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::names::{NameAllocator, rename};
use super::{BATCH_ROWS, ColumnReport, LoadedTable, TableReport, import_error, unreadable_reason};
use crate::writer::TableData;
use crate::{Error, Result};

pub(super) fn load(path: &Path, file_name: &str, table: &str, notes: &mut Vec<String>) -> Result<LoadedTable> {
    let file = File::open(path).map_err(|e| import_error(path, unreadable_reason(&e)))?;
    let not_parquet = |e: parquet::errors::ParquetError| {
        import_error(
            path,
            format!("it is not a readable Parquet file ({e}); re-export it, or remove it from the directory"),
        )
    };
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(not_parquet)?;
    let source_schema = Arc::clone(builder.schema());
    let reader = builder.with_batch_size(BATCH_ROWS).build().map_err(not_parquet)?;

    let mut allocator = NameAllocator::default();
    let mut columns = Vec::with_capacity(source_schema.fields().len());
    let mut fields = Vec::with_capacity(source_schema.fields().len());
    for (i, field) in source_schema.fields().iter().enumerate() {
        let name = allocator.allocate(field.name(), &format!("column_{}", i + 1));
        // Field metadata stays; schema-level metadata (e.g. pandas' index description) names
        // the old columns and is dropped.
        fields.push(
            Field::new(&name, field.data_type().clone(), field.is_nullable()).with_metadata(field.metadata().clone()),
        );
        columns.push(ColumnReport {
            source: field.name().clone(),
            name,
            declared: Some(field.data_type().to_string()),
            data_type: field.data_type().clone(),
            nulled: 0,
            note: None,
        });
    }
    let renames: Vec<String> =
        columns.iter().filter(|c| c.source != c.name).map(|c| rename(&c.source, &c.name)).collect();
    if !renames.is_empty() {
        notes.push(format!("{table}: columns renamed {}", renames.join(", ")));
    }

    let schema = Arc::new(Schema::new(fields));
    let mut batches = Vec::new();
    for batch in reader {
        let batch =
            batch.map_err(|e| import_error(path, format!("reading its rows failed ({e}); re-export the file")))?;
        let renamed = RecordBatch::try_new(Arc::clone(&schema), batch.columns().to_vec())
            .map_err(|e| Error::format(format!("renaming the columns of {file_name}"))(e.to_string()))?;
        batches.push(renamed);
    }
    let rows = batches.iter().map(|b| b.num_rows() as u64).sum();
    Ok(LoadedTable {
        data: TableData::new(table, schema, batches),
        report: TableReport { source: file_name.to_string(), table: table.to_string(), rows, columns },
    })
}
