//! Distinct values of the text columns of a snapshot, read from its Parquet files.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fs::File;

use datafusion::arrow::array::AsArray;
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use quarry_snapshot::Snapshot;

use crate::{Error, Result};

/// The distinct values of one text column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnValues {
    /// At most the limit of distinct values, sorted.
    Few(BTreeSet<String>),
    /// More distinct values than the limit: too many to index.
    Many,
}

fn is_text(data_type: &DataType) -> bool {
    match data_type {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => true,
        DataType::Dictionary(_, value) => is_text(value),
        _ => false,
    }
}

/// Counts the distinct non-empty values of the text columns of `table` for which `include`
/// holds (columns it rejects, such as personal data, are not even read). Columns with more
/// than `limit` distinct values come back as [`ColumnValues::Many`].
pub fn distinct_text_values(
    snapshot: &Snapshot,
    table: &str,
    limit: usize,
    include: impl Fn(&str) -> bool,
) -> Result<BTreeMap<String, ColumnValues>> {
    let path = snapshot.table_path(table).ok_or_else(|| Error::Snapshot {
        what: format!("table {table}"),
        message: format!("snapshot {} has no table named {table}", snapshot.manifest.id),
    })?;
    let failed = |message: String| Error::Snapshot { what: path.display().to_string(), message };
    let file = File::open(&path).map_err(|e| failed(e.to_string()))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| failed(e.to_string()))?;
    let schema = builder.schema().clone();
    let wanted: Vec<usize> = schema
        .fields()
        .iter()
        .enumerate()
        .filter(|(_, field)| is_text(field.data_type()) && include(field.name()))
        .map(|(i, _)| i)
        .collect();
    if wanted.is_empty() {
        return Ok(BTreeMap::new());
    }
    let mask = ProjectionMask::roots(builder.parquet_schema(), wanted.iter().copied());
    let reader = builder.with_projection(mask).with_batch_size(16 * 1024).build().map_err(|e| failed(e.to_string()))?;

    let names: Vec<String> = wanted.iter().map(|&i| schema.field(i).name().clone()).collect();
    // `None` once a column has shown more than `limit` values: it is no longer tracked.
    let mut seen: Vec<Option<HashSet<String>>> = names.iter().map(|_| Some(HashSet::new())).collect();
    for batch in reader {
        let batch = batch.map_err(|e| failed(e.to_string()))?;
        for (column, values) in batch.columns().iter().zip(seen.iter_mut()) {
            let Some(set) = values else { continue };
            let strings = cast(column, &DataType::Utf8).map_err(|e| failed(e.to_string()))?;
            let strings = strings.as_string::<i32>();
            for value in strings.iter().flatten() {
                let value = value.trim();
                if !value.is_empty() && !set.contains(value) {
                    set.insert(value.to_string());
                }
            }
            if set.len() > limit {
                *values = None;
            }
        }
        if seen.iter().all(Option::is_none) {
            break;
        }
    }
    Ok(names
        .into_iter()
        .zip(seen)
        .map(|(name, values)| {
            let values = match values {
                Some(set) => ColumnValues::Few(set.into_iter().collect()),
                None => ColumnValues::Many,
            };
            (name, values)
        })
        .collect())
}
