//! CSV files: arrow's reader splits records (quoting, ragged rows, UTF-8 checks with line
//! numbers); the column types are then inferred here over every value of the file, which
//! lets dates, date-times with offsets, zero-padded codes and `NULL`-like strings be told
//! apart more carefully than arrow's regex-based inference does.
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, AsArray};
use datafusion::arrow::csv::ReaderBuilder;
use datafusion::arrow::csv::reader::Format;
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::record_batch::RecordBatch;

use super::names::{NameAllocator, rename};
use super::values::{Cell, ColumnBuilder, ColumnProfile, TIMESTAMP};
use super::{BATCH_ROWS, ColumnReport, LoadedTable, TableReport, import_error, unreadable_reason};
use crate::writer::TableData;
use crate::{Error, Result};

const UTF8_BOM: [u8; 3] = [0xEF, 0xBB, 0xBF];

pub(super) fn load(path: &Path, file_name: &str, table: &str, notes: &mut Vec<String>) -> Result<LoadedTable> {
    let headers = read_headers(path)?;
    let mut allocator = NameAllocator::default();
    let names: Vec<String> =
        headers.iter().enumerate().map(|(i, h)| allocator.allocate(h, &format!("column_{}", i + 1))).collect();
    let renames: Vec<String> = headers.iter().zip(&names).filter(|(h, n)| h != n).map(|(h, n)| rename(h, n)).collect();
    if !renames.is_empty() {
        notes.push(format!("{table}: columns renamed {}", renames.join(", ")));
    }

    let raw = read_text_batches(path, headers.len())?;
    let mut reports = Vec::with_capacity(names.len());
    let mut columns: Vec<Vec<ArrayRef>> = Vec::with_capacity(names.len());
    for (i, (header, name)) in headers.iter().zip(&names).enumerate() {
        let mut profile = ColumnProfile::default();
        for batch in &raw {
            for value in batch.column(i).as_string::<i32>() {
                profile.observe(value.map_or(Cell::Null, Cell::Text));
            }
        }
        let (data_type, reason) = choose_type(&profile);
        let mut arrays = Vec::with_capacity(raw.len());
        let mut builder = ColumnBuilder::new(&data_type, true);
        for batch in &raw {
            if data_type == DataType::Utf8 {
                // Already text: no conversion, and nothing can change.
                arrays.push(Arc::clone(batch.column(i)));
                continue;
            }
            for value in batch.column(i).as_string::<i32>() {
                builder.push(value.map_or(Cell::Null, Cell::Text));
            }
            arrays.push(builder.finish());
        }
        let details: Vec<String> =
            reason.into_iter().chain((!builder.changes.is_empty()).then(|| builder.changes.describe())).collect();
        let note = (!details.is_empty()).then(|| format!("{table}.{name}: {data_type}; {}", details.join("; ")));
        notes.extend(note.clone());
        columns.push(arrays);
        let nulled = builder.changes.nulled();
        reports.push(ColumnReport {
            source: header.clone(),
            name: name.clone(),
            declared: None,
            data_type,
            nulled,
            note,
        });
    }

    let schema = Arc::new(Schema::new(
        reports.iter().map(|c| Field::new(&c.name, c.data_type.clone(), true)).collect::<Vec<_>>(),
    ));
    let mut batches = Vec::with_capacity(raw.len());
    for (b, batch) in raw.iter().enumerate() {
        let arrays: Vec<ArrayRef> = columns.iter().map(|arrays| Arc::clone(&arrays[b])).collect();
        let converted = RecordBatch::try_new(Arc::clone(&schema), arrays)
            .map_err(|e| Error::format(format!("converting {file_name}"))(e.to_string()))?;
        debug_assert_eq!(converted.num_rows(), batch.num_rows());
        batches.push(converted);
    }
    let rows = batches.iter().map(|b| b.num_rows() as u64).sum();
    Ok(LoadedTable {
        data: TableData::new(table, schema, batches),
        report: TableReport { source: file_name.to_string(), table: table.to_string(), rows, columns: reports },
    })
}

/// The narrowest type that reads every value of the column, and why a column that looks
/// typed was kept as text.
fn choose_type(p: &ColumnProfile) -> (DataType, Option<String>) {
    let typed = p.values() - p.null_tokens;
    if typed == 0 {
        let reason = if p.null_tokens > 0 {
            format!(
                "only empty or null-like values (e.g. {}), kept as text",
                p.example_null_token.clone().unwrap_or_default()
            )
        } else {
            "no values, typed as text".to_string()
        };
        return (DataType::Utf8, Some(reason));
    }
    if p.text_bools == typed {
        return (DataType::Boolean, None);
    }
    if p.text_ints == typed {
        return (DataType::Int64, None);
    }
    if p.text_ints + p.text_floats == typed {
        return (DataType::Float64, None);
    }
    if p.text_dates > 0 && p.text_dates + p.text_midnights == typed {
        return (DataType::Date32, None);
    }
    if p.text_temporals() == typed {
        return (TIMESTAMP, None);
    }
    if p.text_zero_padded > 0 && p.text_zero_padded + p.text_ints == typed {
        let example = p.example_zero_padded.clone().unwrap_or_default();
        return (
            DataType::Utf8,
            Some(format!("kept as text because values such as {example} have leading zeros a number would drop")),
        );
    }
    (DataType::Utf8, None)
}

fn open_after_bom(path: &Path) -> Result<File> {
    let mut file = File::open(path).map_err(|e| import_error(path, unreadable_reason(&e)))?;
    let mut start = [0u8; 3];
    let read = file.read(&mut start).map_err(|e| import_error(path, unreadable_reason(&e)))?;
    let skip = if read == 3 && start == UTF8_BOM { 3 } else { 0 };
    file.seek(SeekFrom::Start(skip)).map_err(|e| import_error(path, unreadable_reason(&e)))?;
    Ok(file)
}

fn read_headers(path: &Path) -> Result<Vec<String>> {
    let file = open_after_bom(path)?;
    let (schema, _) = Format::default()
        .with_header(true)
        .infer_schema(BufReader::new(file), Some(0))
        .map_err(|e| csv_error(path, e))?;
    if schema.fields().is_empty() || (schema.fields().len() == 1 && schema.field(0).name().trim().is_empty()) {
        return Err(import_error(path, "the file is empty; a CSV file needs a header row naming its columns"));
    }
    Ok(schema.fields().iter().map(|f| f.name().clone()).collect())
}

/// Every record as text, in file order, in batches of [`BATCH_ROWS`]. Empty fields are null.
fn read_text_batches(path: &Path, columns: usize) -> Result<Vec<RecordBatch>> {
    let fields: Vec<Field> = (0..columns).map(|i| Field::new(format!("c{i}"), DataType::Utf8, true)).collect();
    let reader = ReaderBuilder::new(Arc::new(Schema::new(fields)))
        .with_header(true)
        .with_batch_size(BATCH_ROWS)
        .build(BufReader::new(open_after_bom(path)?))
        .map_err(|e| csv_error(path, e))?;
    reader.map(|batch| batch.map_err(|e| csv_error(path, e))).collect()
}

fn csv_error(path: &Path, error: ArrowError) -> Error {
    let reason = match error {
        ArrowError::CsvError(message) if message.contains("incorrect number of fields") => format!(
            "{message} (line 1 is the header); every row needs as many fields as the header, and fields that contain \
             commas or line breaks must be in double quotes"
        ),
        ArrowError::CsvError(message) if message.contains("UTF-8") => {
            format!("{message} (line 1 is the header); save the file as UTF-8")
        }
        ArrowError::CsvError(message) => {
            format!("{message}; check that the file is comma-separated CSV with a header row")
        }
        other => format!(
            "it could not be read as CSV ({other}); check that the file is comma-separated CSV with a header row"
        ),
    };
    import_error(path, reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(values: &[&str]) -> ColumnProfile {
        let mut p = ColumnProfile::default();
        for v in values {
            p.observe(if v.is_empty() { Cell::Null } else { Cell::Text(v) });
        }
        p
    }

    #[test]
    fn chooses_the_narrowest_type() {
        assert_eq!(choose_type(&profile(&["1", "", "-3"])).0, DataType::Int64);
        assert_eq!(choose_type(&profile(&["1", "2.5", "NULL"])).0, DataType::Float64);
        assert_eq!(choose_type(&profile(&["true", "FALSE"])).0, DataType::Boolean);
        assert_eq!(choose_type(&profile(&["2024-01-01", "2024-01-02 00:00:00"])).0, DataType::Date32);
        assert_eq!(choose_type(&profile(&["2024-01-01", "2024-01-02 10:00:00"])).0, TIMESTAMP);
        assert_eq!(choose_type(&profile(&["2024-01-02 00:00:00"])).0, TIMESTAMP);
        assert_eq!(choose_type(&profile(&["1", "x"])).0, DataType::Utf8);
        assert_eq!(choose_type(&profile(&["1", "true"])).0, DataType::Utf8);
    }

    #[test]
    fn explains_text_that_looks_typed() {
        let (t, reason) = choose_type(&profile(&["02134", "10001"]));
        assert_eq!(t, DataType::Utf8);
        assert!(reason.unwrap().contains("'02134'"));
        let (t, reason) = choose_type(&profile(&["", "n/a"]));
        assert_eq!(t, DataType::Utf8);
        assert!(reason.unwrap().contains("'n/a'"));
        assert_eq!(choose_type(&profile(&[""])).1.as_deref(), Some("no values, typed as text"));
    }
}
