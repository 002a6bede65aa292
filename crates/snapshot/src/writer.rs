use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{NaiveDate, Utc};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::{EnabledStatistics, WriterProperties};

use crate::manifest::{
    ColumnEntry, FORMAT_VERSION, ForeignKey, MANIFEST_FILE, Manifest, SnapshotSource, SourceDialect, TableEntry,
};
use crate::{Error, Result};

/// Rows per Parquet row group: small enough for pruning by statistics on time columns,
/// large enough to keep per-group overhead low.
const ROW_GROUP_ROWS: usize = 128 * 1024;

/// A row group is closed early once its encoded data in memory exceeds this, so that tables
/// of long texts are written in bounded memory too.
const ROW_GROUP_BYTES: usize = 128 * 1024 * 1024;

/// The rows of one table to be written into a snapshot.
#[derive(Debug, Clone)]
pub struct TableData {
    /// Table name (`[a-z_][a-z0-9_]*`).
    pub name: String,
    /// Arrow schema; every batch must have it.
    pub schema: SchemaRef,
    /// The rows, in the order they should be stored (e.g. by time, for pruning).
    pub batches: Vec<RecordBatch>,
    /// Primary key columns, if known.
    pub primary_key: Vec<String>,
    /// Foreign keys, if known.
    pub foreign_keys: Vec<ForeignKey>,
}

impl TableData {
    /// A table from a schema and batches.
    pub fn new(name: impl Into<String>, schema: SchemaRef, batches: Vec<RecordBatch>) -> Self {
        Self { name: name.into(), schema, batches, primary_key: Vec::new(), foreign_keys: Vec::new() }
    }
}

/// Whether a name can be used as a table or column identifier without quoting.
pub(crate) fn is_plain_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// Writes `tables` as a snapshot into `dir` (created if missing; it must be empty) and
/// returns its manifest. Files are written deterministically, so the same data always gives
/// the same snapshot id, and are made read-only afterwards.
pub fn write_snapshot(
    dir: &Path,
    tables: Vec<TableData>,
    as_of: NaiveDate,
    source: SnapshotSource,
    notes: Vec<String>,
) -> Result<Manifest> {
    let dialect = source.default_dialect();
    write_snapshot_in_dialect(dir, tables, as_of, source, dialect, notes)
}

/// [`write_snapshot`], recording `dialect` as the source's dialect.
pub(crate) fn write_snapshot_in_dialect(
    dir: &Path,
    mut tables: Vec<TableData>,
    as_of: NaiveDate,
    source: SnapshotSource,
    dialect: SourceDialect,
    notes: Vec<String>,
) -> Result<Manifest> {
    let mut writer = SnapshotWriter::create(dir)?;
    if tables.is_empty() {
        return Err(Error::InvalidSnapshot {
            path: dir.to_path_buf(),
            reason: "a snapshot needs at least one table".into(),
        });
    }
    tables.sort_by(|a, b| a.name.cmp(&b.name));
    for pair in tables.windows(2) {
        if pair[0].name == pair[1].name {
            return Err(Error::InvalidSnapshot {
                path: dir.to_path_buf(),
                reason: format!("table '{}' appears twice", pair[0].name),
            });
        }
    }
    for table in tables {
        let mut file = writer.table(&table.name, Arc::clone(&table.schema))?;
        for batch in &table.batches {
            file.write(batch)?;
        }
        file.finish(table.primary_key, table.foreign_keys)?;
    }
    writer.finish(as_of, source, dialect, notes)
}

/// Writes a snapshot one table at a time and one batch at a time, so that a table larger
/// than memory can be copied in: memory holds the batch being written and the Parquet row
/// group being encoded (at most 131,072 rows or 128 MiB).
///
/// The result is the same as [`write_snapshot`]'s for the same tables and batches: same
/// files, same id, whatever order the tables are written in.
///
/// ```no_run
/// # use std::sync::Arc;
/// # use datafusion::arrow::{array::Int64Array, datatypes::{DataType, Field, Schema}, record_batch::RecordBatch};
/// use quarry_snapshot::{SnapshotSource, SnapshotWriter, SourceDialect};
/// let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, true)]));
/// let mut writer = SnapshotWriter::create("/tmp/snap".as_ref())?;
/// let mut table = writer.table("t", Arc::clone(&schema))?;
/// for start in [0i64, 3] {
///     let ids = Int64Array::from_iter_values(start..start + 3);
///     table.write(&RecordBatch::try_new(Arc::clone(&schema), vec![Arc::new(ids)]).unwrap())?;
/// }
/// table.finish(vec!["id".into()], vec![])?;
/// let date = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
/// let manifest = writer.finish(date, SnapshotSource::Files { path: "t".into() }, SourceDialect::Parquet, vec![])?;
/// # Ok::<(), quarry_snapshot::Error>(())
/// ```
#[derive(Debug)]
pub struct SnapshotWriter {
    dir: PathBuf,
    props: WriterProperties,
    entries: Vec<TableEntry>,
}

/// One table being written by a [`SnapshotWriter`]; nothing is recorded in the manifest
/// until [`TableWriter::finish`].
pub struct TableWriter<'a> {
    snapshot: &'a mut SnapshotWriter,
    name: String,
    file: String,
    path: PathBuf,
    schema: SchemaRef,
    parquet: ArrowWriter<fs::File>,
    rows: u64,
}

impl SnapshotWriter {
    /// Starts a snapshot in `dir`, which is created if missing and must be empty.
    pub fn create(dir: &Path) -> Result<Self> {
        fs::create_dir_all(dir).map_err(Error::io("creating", dir))?;
        let occupied = fs::read_dir(dir).map_err(Error::io("listing", dir))?.next().is_some();
        if occupied {
            return Err(Error::InvalidSnapshot {
                path: dir.to_path_buf(),
                reason: "the output directory is not empty; choose a new directory".into(),
            });
        }
        let props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_statistics_enabled(EnabledStatistics::Page)
            .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
            .build();
        Ok(Self { dir: dir.to_path_buf(), props, entries: Vec::new() })
    }

    /// Starts the Parquet file of table `name` (`[a-z_][a-z0-9_]*`, not already written);
    /// every batch written to it must have `schema`.
    pub fn table(&mut self, name: &str, schema: SchemaRef) -> Result<TableWriter<'_>> {
        if !is_plain_identifier(name) {
            return Err(Error::InvalidSnapshot {
                path: self.dir.clone(),
                reason: format!("table name '{name}' must match [a-z_][a-z0-9_]*"),
            });
        }
        if self.entries.iter().any(|e| e.name == name) {
            return Err(Error::InvalidSnapshot {
                path: self.dir.clone(),
                reason: format!("table '{name}' appears twice"),
            });
        }
        let file = format!("{name}.parquet");
        let path = self.dir.join(&file);
        let handle = fs::File::create(&path).map_err(Error::io("creating", &path))?;
        let parquet = ArrowWriter::try_new(handle, Arc::clone(&schema), Some(self.props.clone()))
            .map_err(|e| Error::format(format!("table {name}"))(e.to_string()))?;
        Ok(TableWriter { snapshot: self, name: name.to_string(), file, path, schema, parquet, rows: 0 })
    }

    /// Writes the manifest and returns it. The id is a hash over the table names and file
    /// hashes in name order, and `as_of`.
    pub fn finish(
        mut self,
        as_of: NaiveDate,
        source: SnapshotSource,
        dialect: SourceDialect,
        notes: Vec<String>,
    ) -> Result<Manifest> {
        if self.entries.is_empty() {
            return Err(Error::InvalidSnapshot {
                path: self.dir.clone(),
                reason: "a snapshot needs at least one table".into(),
            });
        }
        self.entries.sort_by(|a, b| a.name.cmp(&b.name));
        let mut id_hasher = blake3::Hasher::new();
        for entry in &self.entries {
            id_hasher.update(entry.name.as_bytes());
            id_hasher.update(b"\0");
            id_hasher.update(entry.blake3.as_bytes());
            id_hasher.update(b"\n");
        }
        // as_of changes what "last month" means, so it is part of the snapshot's identity.
        id_hasher.update(as_of.to_string().as_bytes());
        let id = format!("snap-{}", &id_hasher.finalize().to_hex()[..16]);
        let manifest = Manifest {
            format_version: FORMAT_VERSION,
            id,
            as_of,
            created_at: Utc::now(),
            source,
            tables: self.entries,
            notes,
            source_dialect: Some(dialect),
        };
        let path = self.dir.join(MANIFEST_FILE);
        let json = serde_json::to_vec_pretty(&manifest).map_err(|e| Error::format("manifest")(e.to_string()))?;
        fs::write(&path, json).map_err(Error::io("writing", &path))?;
        make_read_only(&path)?;
        Ok(manifest)
    }
}

impl TableWriter<'_> {
    /// Appends `batch` (which must have the table's schema) to the file.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        let context = || format!("table {}", self.name);
        self.rows += batch.num_rows() as u64;
        self.parquet.write(batch).map_err(|e| Error::format(context())(e.to_string()))?;
        // Wide rows (long texts) would otherwise hold up to ROW_GROUP_ROWS of them in memory.
        if self.parquet.in_progress_size() > ROW_GROUP_BYTES {
            self.parquet.flush().map_err(|e| Error::format(context())(e.to_string()))?;
        }
        Ok(())
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Closes the file, makes it read-only and records the table with its keys.
    pub fn finish(self, primary_key: Vec<String>, foreign_keys: Vec<ForeignKey>) -> Result<()> {
        let Self { snapshot, name, file, path, schema, parquet, rows } = self;
        parquet.close().map_err(|e| Error::format(format!("table {name}"))(e.to_string()))?;
        let hash = hash_file(&path)?;
        let bytes = fs::metadata(&path).map_err(Error::io("reading metadata of", &path))?.len();
        make_read_only(&path)?;
        snapshot.entries.push(TableEntry {
            name,
            file,
            rows,
            bytes,
            blake3: hash,
            columns: schema
                .fields()
                .iter()
                .map(|f| ColumnEntry {
                    name: f.name().clone(),
                    data_type: f.data_type().to_string(),
                    nullable: f.is_nullable(),
                })
                .collect(),
            primary_key,
            foreign_keys,
        });
        Ok(())
    }
}

pub(crate) fn make_read_only(path: &Path) -> Result<()> {
    let mut perms = fs::metadata(path).map_err(Error::io("reading metadata of", path))?.permissions();
    perms.set_readonly(true);
    fs::set_permissions(path, perms).map_err(Error::io("making read-only", path))
}

pub(crate) fn hash_file(path: &Path) -> Result<String> {
    let mut hasher = blake3::Hasher::new();
    let mut file = fs::File::open(path).map_err(Error::io("opening", path))?;
    std::io::copy(&mut file, &mut hasher).map_err(Error::io("reading", path))?;
    Ok(hasher.finalize().to_hex().to_string())
}
