//! Import of users' own data into a snapshot: a directory of CSV and Parquet files (one
//! table per file), a SQLite database, or a PostgreSQL schema ([`postgres`]).
//!
//! Every name becomes a plain lower-case identifier so that queries written against the
//! source (SQLite compares identifiers without regard to case) run unquoted in DataFusion,
//! which lower-cases unquoted identifiers. Column types are inferred from the values (CSV),
//! kept (Parquet) or derived from the declared type and the values actually stored (SQLite,
//! whose columns may hold any value). Whatever changes on the way in, a renamed table or
//! column, a value read as NULL, a number stored as text, is written down in
//! [`ImportReport::notes`], which [`import_into`] also puts into the manifest.
//!
//! ```no_run
//! use std::path::Path;
//! use quarry_snapshot::import::{import_into, ImportOptions};
//! let (manifest, report) = import_into(Path::new("/tmp/snap"), Path::new("shop.sqlite"), &ImportOptions::default())?;
//! println!("{} as of {}\n{report}", manifest.id, manifest.as_of);
//! # Ok::<(), quarry_snapshot::Error>(())
//! ```
use std::fmt;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use chrono::{NaiveDate, Utc};
use datafusion::arrow::array::AsArray;
use datafusion::arrow::datatypes::{DataType, Date32Type, Date64Type, Int64Type};
use datafusion::arrow::record_batch::RecordBatch;

use crate::manifest::{Manifest, SnapshotSource, SourceDialect};
use crate::writer::{TableData, write_snapshot_in_dialect};
use crate::{Error, Result};

mod csv_file;
mod names;
mod parquet_file;
pub mod postgres;
mod sqlite_db;
mod values;

/// The first 16 bytes of every SQLite 3 database file.
const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// Rows per Arrow batch read from any source. Fixed, so the same input always gives the same
/// batches and therefore byte-identical Parquet files and the same snapshot id.
const BATCH_ROWS: usize = 8192;

/// What the caller decides about an import.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// The date relative time phrases resolve against. When `None`: the latest date found in
    /// any date or timestamp column, else today's UTC date.
    pub as_of: Option<NaiveDate>,
}

/// Everything [`load`] read, ready for [`write_snapshot`](crate::write_snapshot).
#[derive(Debug, Clone)]
pub struct ImportedData {
    /// The tables, with normalized names, keys and rows in source order.
    pub tables: Vec<TableData>,
    /// Where the data came from.
    pub source: SnapshotSource,
    /// The dialect of the source: SQLite, or CSV when any table came from a CSV file, else Parquet.
    pub dialect: SourceDialect,
    /// The snapshot's `as_of` date (see [`ImportOptions::as_of`]).
    pub as_of: NaiveDate,
    /// What was read and what was changed on the way.
    pub report: ImportReport,
}

/// What an import read and changed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImportReport {
    /// One entry per imported table, sorted by table name.
    pub tables: Vec<TableReport>,
    /// Every note: renames, chosen types that differ from the source's, values coerced,
    /// files and tables skipped, dropped foreign keys, how `as_of` was chosen.
    pub notes: Vec<String>,
}

/// One imported table.
#[derive(Debug, Clone, PartialEq)]
pub struct TableReport {
    /// The file name or the SQLite table name it came from.
    pub source: String,
    /// The table name in the snapshot.
    pub table: String,
    /// Rows imported.
    pub rows: u64,
    /// The columns, in order.
    pub columns: Vec<ColumnReport>,
}

/// One imported column.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnReport {
    /// The column name in the source.
    pub source: String,
    /// The column name in the snapshot.
    pub name: String,
    /// The type the source declared (SQLite's declared type, Parquet's Arrow type); `None`
    /// when the type was inferred from CSV text.
    pub declared: Option<String>,
    /// The Arrow type chosen.
    pub data_type: DataType,
    /// Values that held something in the source (a `'null'` string, text in a numeric
    /// column...) but were read as NULL.
    pub nulled: u64,
    /// What was decided or changed for this column, if anything (also in [`ImportReport::notes`]).
    pub note: Option<String>,
}

impl TableReport {
    /// A column by its name in the snapshot.
    pub fn column(&self, name: &str) -> Option<&ColumnReport> {
        self.columns.iter().find(|c| c.name == name)
    }
}

impl ImportReport {
    /// A table by its name in the snapshot.
    pub fn table(&self, name: &str) -> Option<&TableReport> {
        self.tables.iter().find(|t| t.table == name)
    }
}

impl fmt::Display for ImportReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for table in &self.tables {
            let from = if table.source == table.table { String::new() } else { format!(" (from {})", table.source) };
            writeln!(f, "{}{from}: {} rows", table.table, table.rows)?;
            for column in &table.columns {
                let how = match column.declared.as_deref() {
                    None => " (inferred)".to_string(),
                    Some("") => " (no declared type)".to_string(),
                    Some(declared) => format!(" (declared {declared})"),
                };
                writeln!(f, "  {} {}{how}", column.name, column.data_type)?;
            }
        }
        if !self.notes.is_empty() {
            writeln!(f, "notes:")?;
            for note in &self.notes {
                writeln!(f, "  - {note}")?;
            }
        }
        Ok(())
    }
}

/// Reads `path` (a directory of `.csv`/`.parquet` files, one such file, or a SQLite database
/// recognised by its header) into tables ready for [`write_snapshot`](crate::write_snapshot).
pub fn load(path: &Path, options: &ImportOptions) -> Result<ImportedData> {
    let metadata = fs::metadata(path).map_err(|e| import_error(path, unreadable_reason(&e)))?;
    let shown = fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()).display().to_string();
    let mut notes = Vec::new();
    let (tables, source) = if metadata.is_dir() {
        (load_directory(path, &mut notes)?, SnapshotSource::Files { path: shown })
    } else if has_sqlite_header(path)? {
        (sqlite_db::load(path, &mut notes)?, SnapshotSource::Sqlite { path: shown })
    } else {
        match file_kind(path) {
            Some(kind) => {
                let mut allocator = names::NameAllocator::default();
                (vec![load_file(path, kind, &mut allocator, &mut notes)?], SnapshotSource::Files { path: shown })
            }
            None => {
                return Err(import_error(
                    path,
                    "it is neither a directory, a .csv or .parquet file, nor a SQLite database (its first bytes are not \
                     the SQLite 3 header); pass a directory holding one .csv or .parquet file per table, or a SQLite \
                     database file",
                ));
            }
        }
    };
    if tables.is_empty() {
        return Err(import_error(path, "the database has no tables to import; create at least one table in it"));
    }
    let dialect = match &source {
        SnapshotSource::Sqlite { .. } => SourceDialect::Sqlite,
        _ if tables.iter().any(|t| file_kind(Path::new(&t.report.source)) == Some(FileKind::Csv)) => SourceDialect::Csv,
        _ => SourceDialect::Parquet,
    };
    let (data, mut reports): (Vec<TableData>, Vec<TableReport>) =
        tables.into_iter().map(|t| (t.data, t.report)).unzip();
    reports.sort_by(|a, b| a.table.cmp(&b.table));
    let as_of = match options.as_of {
        Some(date) => date,
        None => {
            let (date, note) = latest_date(&data);
            notes.push(note);
            date
        }
    };
    Ok(ImportedData { tables: data, source, dialect, as_of, report: ImportReport { tables: reports, notes } })
}

/// Loads `path` (see [`load`]) and writes it as a snapshot into `dir` (which must be empty or
/// missing); the report's notes become the manifest's notes.
///
/// To install into a store: `store.install(|scratch| import_into(scratch, path, &options).map(|(m, _)| m))`.
pub fn import_into(dir: &Path, path: &Path, options: &ImportOptions) -> Result<(Manifest, ImportReport)> {
    let imported = load(path, options)?;
    let manifest = write_snapshot_in_dialect(
        dir,
        imported.tables,
        imported.as_of,
        imported.source,
        imported.dialect,
        imported.report.notes.clone(),
    )?;
    Ok((manifest, imported.report))
}

/// A table read from a source, with its report entry.
struct LoadedTable {
    data: TableData,
    report: TableReport,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FileKind {
    Csv,
    Parquet,
}

fn file_kind(path: &Path) -> Option<FileKind> {
    let extension = path.extension()?.to_str()?.to_ascii_lowercase();
    match extension.as_str() {
        "csv" => Some(FileKind::Csv),
        "parquet" => Some(FileKind::Parquet),
        _ => None,
    }
}

fn load_directory(dir: &Path, notes: &mut Vec<String>) -> Result<Vec<LoadedTable>> {
    let entries = fs::read_dir(dir).map_err(|e| import_error(dir, unreadable_reason(&e)))?;
    let mut paths = Vec::new();
    for entry in entries {
        paths.push(entry.map_err(|e| import_error(dir, unreadable_reason(&e)))?.path());
    }
    // Directory order is arbitrary; name order makes `_2` suffixes and notes reproducible.
    paths.sort();
    let mut allocator = names::NameAllocator::default();
    let mut tables = Vec::new();
    for path in paths {
        let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        match file_kind(&path).filter(|_| path.is_file()) {
            Some(kind) => tables.push(load_file(&path, kind, &mut allocator, notes)?),
            None if path.is_dir() => notes
                .push(format!("skipped directory {file_name}: only files directly in {} are imported", dir.display())),
            None => notes.push(format!("skipped {file_name}: only .csv and .parquet files are imported")),
        }
    }
    if tables.is_empty() {
        return Err(import_error(
            dir,
            "the directory holds no .csv or .parquet files; put one file per table there (the file name becomes \
             the table name), or pass a SQLite database file instead",
        ));
    }
    Ok(tables)
}

fn load_file(
    path: &Path,
    kind: FileKind,
    allocator: &mut names::NameAllocator,
    notes: &mut Vec<String>,
) -> Result<LoadedTable> {
    let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let table = allocator.allocate(&stem, "table");
    if table != stem {
        notes.push(format!("file {file_name} -> table {table}"));
    }
    match kind {
        FileKind::Csv => csv_file::load(path, &file_name, &table, notes),
        FileKind::Parquet => parquet_file::load(path, &file_name, &table, notes),
    }
}

fn has_sqlite_header(path: &Path) -> Result<bool> {
    let mut file = fs::File::open(path).map_err(|e| import_error(path, unreadable_reason(&e)))?;
    let mut header = [0u8; 16];
    let mut filled = 0;
    while filled < header.len() {
        match file.read(&mut header[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(import_error(path, unreadable_reason(&e))),
        }
    }
    Ok(filled == header.len() && &header == SQLITE_HEADER)
}

/// The latest date in any date or timestamp column, and a note saying where it came from.
fn latest_date(tables: &[TableData]) -> (NaiveDate, String) {
    let mut latest = LatestDate::default();
    for table in tables {
        for batch in &table.batches {
            latest.observe(&table.name, batch);
        }
    }
    latest.finish()
}

/// The latest date seen in any date or timestamp column, gathered batch by batch.
#[derive(Debug, Default)]
pub(crate) struct LatestDate {
    /// The date and the `table.column` it came from.
    latest: Option<(NaiveDate, String)>,
}

impl LatestDate {
    pub(crate) fn observe(&mut self, table: &str, batch: &RecordBatch) {
        for (i, field) in batch.schema().fields().iter().enumerate() {
            let data_type = field.data_type();
            if !matches!(data_type, DataType::Date32 | DataType::Date64 | DataType::Timestamp(_, _)) {
                continue;
            }
            let column = batch.column(i);
            let max = match data_type {
                DataType::Date32 => datafusion::arrow::compute::max(column.as_primitive::<Date32Type>()).map(i64::from),
                DataType::Date64 => datafusion::arrow::compute::max(column.as_primitive::<Date64Type>()),
                _ => {
                    // Every timestamp unit is an i64 underneath; the unit is applied by `date_of`.
                    let raw = datafusion::arrow::compute::cast(column, &DataType::Int64).ok();
                    raw.and_then(|raw| datafusion::arrow::compute::max(raw.as_primitive::<Int64Type>()))
                }
            };
            let Some(date) = max.and_then(|v| values::date_of(v, data_type)) else { continue };
            if self.latest.as_ref().is_none_or(|(best, _)| date > *best) {
                self.latest = Some((date, format!("{table}.{}", field.name())));
            }
        }
    }

    /// The `as_of` date and the note saying how it was chosen.
    pub(crate) fn finish(self) -> (NaiveDate, String) {
        match self.latest {
            Some((date, column)) => {
                (date, format!("as_of {date}: the latest date in any date or timestamp column ({column})"))
            }
            None => {
                let today = Utc::now().date_naive();
                (today, format!("as_of {today}: no date or timestamp values found, so today's UTC date was used"))
            }
        }
    }
}

fn import_error(path: &Path, reason: impl Into<String>) -> Error {
    Error::Import { path: PathBuf::from(path), reason: reason.into() }
}

fn unreadable_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => {
            "it does not exist; pass a directory of .csv/.parquet files or a SQLite database file".to_string()
        }
        std::io::ErrorKind::PermissionDenied => format!("it cannot be read ({e}); check its permissions"),
        _ => format!("it cannot be read ({e})"),
    }
}
