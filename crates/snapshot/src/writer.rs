use std::fs;
use std::path::Path;
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
    fs::create_dir_all(dir).map_err(Error::io("creating", dir))?;
    let occupied = fs::read_dir(dir).map_err(Error::io("listing", dir))?.next().is_some();
    if occupied {
        return Err(Error::InvalidSnapshot {
            path: dir.to_path_buf(),
            reason: "the output directory is not empty; choose a new directory".into(),
        });
    }
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

    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .build();

    let mut entries = Vec::with_capacity(tables.len());
    let mut id_hasher = blake3::Hasher::new();
    for table in &tables {
        if !is_plain_identifier(&table.name) {
            return Err(Error::InvalidSnapshot {
                path: dir.to_path_buf(),
                reason: format!("table name '{}' must match [a-z_][a-z0-9_]*", table.name),
            });
        }
        let file = format!("{}.parquet", table.name);
        let path = dir.join(&file);
        let handle = fs::File::create(&path).map_err(Error::io("creating", &path))?;
        let mut writer = ArrowWriter::try_new(handle, Arc::clone(&table.schema), Some(props.clone()))
            .map_err(|e| Error::format(format!("table {}", table.name))(e.to_string()))?;
        let mut rows = 0u64;
        for batch in &table.batches {
            rows += batch.num_rows() as u64;
            writer.write(batch).map_err(|e| Error::format(format!("table {}", table.name))(e.to_string()))?;
        }
        writer.close().map_err(|e| Error::format(format!("table {}", table.name))(e.to_string()))?;

        let bytes = fs::read(&path).map_err(Error::io("reading", &path))?;
        let hash = blake3::hash(&bytes).to_hex().to_string();
        id_hasher.update(table.name.as_bytes());
        id_hasher.update(b"\0");
        id_hasher.update(hash.as_bytes());
        id_hasher.update(b"\n");
        make_read_only(&path)?;
        entries.push(TableEntry {
            name: table.name.clone(),
            file,
            rows,
            bytes: bytes.len() as u64,
            blake3: hash,
            columns: table
                .schema
                .fields()
                .iter()
                .map(|f| ColumnEntry {
                    name: f.name().clone(),
                    data_type: f.data_type().to_string(),
                    nullable: f.is_nullable(),
                })
                .collect(),
            primary_key: table.primary_key.clone(),
            foreign_keys: table.foreign_keys.clone(),
        });
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
        tables: entries,
        notes,
        source_dialect: Some(dialect),
    };
    let path = dir.join(MANIFEST_FILE);
    let json = serde_json::to_vec_pretty(&manifest).map_err(|e| Error::format("manifest")(e.to_string()))?;
    fs::write(&path, json).map_err(Error::io("writing", &path))?;
    make_read_only(&path)?;
    Ok(manifest)
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
