use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// Name of the manifest file inside a snapshot directory.
pub const MANIFEST_FILE: &str = "manifest.json";

/// Current manifest format version; bumped on incompatible changes.
pub const FORMAT_VERSION: u32 = 1;

/// Describes a snapshot: what it holds and where it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Manifest format version.
    pub format_version: u32,
    /// Snapshot id: `snap-` followed by the first 16 hex digits of a BLAKE3 hash over the
    /// table names and the content hashes of their files. Same data, same id.
    pub id: String,
    /// The date relative time phrases ("last month") resolve against.
    pub as_of: NaiveDate,
    /// When the snapshot was written. Not part of the id.
    pub created_at: DateTime<Utc>,
    /// Where the data came from.
    pub source: SnapshotSource,
    /// The tables, sorted by name.
    pub tables: Vec<TableEntry>,
    /// Notes from the import: inferred types, coerced values, skipped tables.
    #[serde(default)]
    pub notes: Vec<String>,
    /// The dialect of the system the data came from; see [`Manifest::dialect`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_dialect: Option<SourceDialect>,
}

impl Manifest {
    /// The entry of a table, by exact name.
    pub fn table(&self, name: &str) -> Option<&TableEntry> {
        self.tables.iter().find(|t| t.name == name)
    }

    /// The dialect queries over this snapshot are read in: the recorded one, else (manifests
    /// written before it was recorded) the one its source implies.
    pub fn dialect(&self) -> SourceDialect {
        self.source_dialect.unwrap_or_else(|| self.source.default_dialect())
    }

    /// Total rows over all tables.
    pub fn total_rows(&self) -> u64 {
        self.tables.iter().map(|t| t.rows).sum()
    }

    /// Total bytes of the Parquet files.
    pub fn total_bytes(&self) -> u64 {
        self.tables.iter().map(|t| t.bytes).sum()
    }
}

/// Where a snapshot's data came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SnapshotSource {
    /// The built-in demo warehouse generator.
    Demo {
        /// Random seed.
        seed: u64,
        /// Scale factor (1 = about a million events).
        scale: u32,
    },
    /// A directory of CSV and Parquet files.
    Files {
        /// The directory imported.
        path: String,
    },
    /// A SQLite database file.
    Sqlite {
        /// The database imported.
        path: String,
    },
}

impl SnapshotSource {
    /// The dialect of this kind of source when nothing more precise is known: files are taken
    /// to be Parquet, whose semantics (DataFusion's own) CSV shares.
    pub fn default_dialect(&self) -> SourceDialect {
        match self {
            SnapshotSource::Sqlite { .. } => SourceDialect::Sqlite,
            SnapshotSource::Demo { .. } | SnapshotSource::Files { .. } => SourceDialect::Parquet,
        }
    }
}

/// The SQL dialect of the system a snapshot's data came from. Queries written against that
/// system keep its meaning where dialects differ: SQLite sorts NULLs first ascending and
/// matches LIKE without regard to case; CSV and Parquet files have DataFusion's semantics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceDialect {
    /// A SQLite database.
    Sqlite,
    /// CSV files (DataFusion's semantics).
    Csv,
    /// Parquet files, and the generated demo warehouse (DataFusion's semantics).
    Parquet,
}

/// One table of a snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableEntry {
    /// Table name as queried in SQL (lower case, `[a-z_][a-z0-9_]*`).
    pub name: String,
    /// Parquet file name inside the snapshot directory.
    pub file: String,
    /// Number of rows.
    pub rows: u64,
    /// File size in bytes.
    pub bytes: u64,
    /// BLAKE3 hash of the file, hex.
    pub blake3: String,
    /// Arrow schema of the table.
    pub columns: Vec<ColumnEntry>,
    /// Primary key columns, when the source declared or implied one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub primary_key: Vec<String>,
    /// Foreign keys declared by the source (e.g. SQLite's `REFERENCES`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub foreign_keys: Vec<ForeignKey>,
}

/// A foreign key: `columns` of this table reference `ref_columns` of `ref_table`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForeignKey {
    /// Columns of this table.
    pub columns: Vec<String>,
    /// The referenced table.
    pub ref_table: String,
    /// The referenced columns.
    pub ref_columns: Vec<String>,
}

impl TableEntry {
    /// A column by exact name.
    pub fn column(&self, name: &str) -> Option<&ColumnEntry> {
        self.columns.iter().find(|c| c.name == name)
    }
}

/// One column of a table's Arrow schema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnEntry {
    /// Column name.
    pub name: String,
    /// Arrow data type, as Arrow displays it (e.g. `Int64`, `Timestamp(µs)`, `Decimal128(12, 2)`).
    pub data_type: String,
    /// Whether the column may hold nulls.
    pub nullable: bool,
}
