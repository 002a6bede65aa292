//! PostgreSQL databases: the tables of one schema (or the ones asked for), their primary and
//! foreign keys from the catalog, copied into a snapshot in bounded memory.
//!
//! Every table is read inside one `REPEATABLE READ READ ONLY` transaction, so all tables come
//! from the same moment of the database. Rows stream from the server (sqlx's `fetch`), are
//! converted into Arrow batches of at most 8192 rows or 16 MiB of text, and each batch is
//! appended to the table's Parquet file at once: memory holds one batch and one Parquet row
//! group, whatever the size of the table. Rows are read in primary key order when the table
//! has one, so that importing the same data twice gives the same snapshot id.
//!
//! Types follow the SQLite importer where the two meet:
//!
//! | PostgreSQL | Arrow |
//! |---|---|
//! | `smallint`, `integer`, `bigint`, `numeric(p, 0)` with p ≤ 18 | `Int64` |
//! | other `numeric`, `real`, `double precision` | `Float64` (numeric: noted) |
//! | `boolean` | `Boolean` |
//! | `text`, `varchar`, `char(n)` (without its padding), `name` | `Utf8` |
//! | `date` | `Date32` |
//! | `timestamp` | `Timestamp(µs)` |
//! | `timestamptz` | `Timestamp(µs)` in UTC (noted) |
//! | `uuid`, `json`, `jsonb`, enums, arrays, any other type | `Utf8` in PostgreSQL's text form (noted) |
//! | `bytea` | `Utf8`, lower-case hexadecimal (noted) |
//!
//! Infinite dates and timestamps become NULL (counted in the column's note), as does a NaN
//! in a `numeric(p, 0)` column. Names are lower-cased into plain identifiers as the other
//! importers do (renames are noted). Views, materialized views and foreign tables are skipped
//! with a note; a partitioned table is one table; an ordinary table is read without the rows
//! of the tables that inherit from it. Snapshots of PostgreSQL data are queried with
//! DataFusion's semantics, which PostgreSQL shares where SQLite differs: NULLs sort last
//! ascending, LIKE is case-sensitive.
//!
//! ```no_run
//! use std::path::Path;
//! use quarry_snapshot::import::ImportOptions;
//! use quarry_snapshot::import::postgres::{PostgresSource, import_into};
//! # async fn run() -> quarry_snapshot::Result<()> {
//! let mut source = PostgresSource::new("postgres://reader:secret@db.internal/shop");
//! source.tables = vec!["orders".into(), "customers".into()];
//! let (manifest, report) = import_into(Path::new("/tmp/snap"), &source, &ImportOptions::default()).await?;
//! println!("{} as of {}\n{report}", manifest.id, manifest.as_of);
//! # Ok(())
//! # }
//! ```
use std::collections::HashMap;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use datafusion::arrow::array::{
    ArrayRef, BooleanBuilder, Date32Builder, Float64Builder, Int64Builder, StringBuilder, TimestampMicrosecondBuilder,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use futures::TryStreamExt;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgRow, PgValueFormat};
use sqlx::{Connection, Row, ValueRef};

use super::names::{NameAllocator, rename};
use super::values::TIMESTAMP;
use super::{BATCH_ROWS, ColumnReport, ImportOptions, ImportReport, LatestDate, TableReport};
use crate::manifest::{ForeignKey, Manifest, SnapshotSource, SourceDialect};
use crate::writer::SnapshotWriter;
use crate::{Error, Result};

/// The schema imported when none is named.
pub const DEFAULT_SCHEMA: &str = "public";

/// How long connecting (TCP, TLS and authentication) may take before the server counts as
/// unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// A batch is cut early once its text columns hold this many bytes.
const BATCH_BYTES: usize = 16 * 1024 * 1024;

/// Days from 1970-01-01 to PostgreSQL's epoch, 2000-01-01.
const PG_EPOCH_DAYS: i32 = 10_957;

/// Microseconds from 1970-01-01 to 2000-01-01.
const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;

/// A PostgreSQL database to import, and which part of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostgresSource {
    /// `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE` (or `postgresql://`); libpq's
    /// query parameters such as `sslmode` are understood.
    pub url: String,
    /// The schema whose tables are imported ([`DEFAULT_SCHEMA`] by default).
    pub schema: String,
    /// The tables to import, by name; empty for every table of the schema.
    pub tables: Vec<String>,
}

impl PostgresSource {
    /// Every table of the `public` schema of the database at `url`.
    pub fn new(url: impl Into<String>) -> Self {
        Self { url: url.into(), schema: DEFAULT_SCHEMA.to_string(), tables: Vec::new() }
    }

    /// The URL without its password, for messages and the manifest.
    pub fn redacted_url(&self) -> String {
        redact(&self.url)
    }
}

/// Whether `from` names a PostgreSQL database (`postgres://` or `postgresql://`) rather
/// than a file.
pub fn is_postgres_url(from: &str) -> bool {
    let lower = from.trim_start().to_ascii_lowercase();
    lower.starts_with("postgres://") || lower.starts_with("postgresql://")
}

fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            if parsed.password().is_some() {
                let _ = parsed.set_password(None);
            }
            // libpq also takes the password as a query parameter.
            if parsed.query_pairs().any(|(key, _)| key == "password") {
                let kept: Vec<(String, String)> = parsed
                    .query_pairs()
                    .filter(|(key, _)| key != "password")
                    .map(|(k, v)| (k.into(), v.into()))
                    .collect();
                if kept.is_empty() {
                    parsed.set_query(None);
                } else {
                    parsed.query_pairs_mut().clear().extend_pairs(kept);
                }
            }
            parsed.to_string()
        }
        // Unparseable: show only the scheme rather than risk printing a password.
        Err(_) => format!("{}://…", url.split("://").next().unwrap_or("postgres")),
    }
}

/// Copies the chosen tables of `source` into a new snapshot in `dir` (which must be empty or
/// missing) and returns its manifest and the import report; the report's notes become the
/// manifest's notes.
///
/// On error `dir` may hold part of the snapshot: install through
/// [`SnapshotStore::install_async`](crate::SnapshotStore::install_async), which removes it.
pub async fn import_into(
    dir: &Path,
    source: &PostgresSource,
    options: &ImportOptions,
) -> Result<(Manifest, ImportReport)> {
    let shown = source.redacted_url();
    let fail = |reason: String| Error::Postgres { url: shown.clone(), reason };
    let mut conn = connect(source).await.map_err(&fail)?;
    let result = copy_schema(&mut conn, dir, source, options, &shown).await;
    // The transaction was read-only; closing politely only saves the server a log line.
    let _ = conn.close().await;
    result
}

async fn connect(source: &PostgresSource) -> Result<PgConnection, String> {
    let options = PgConnectOptions::from_str(&source.url)
        .map_err(|e| {
            format!(
                "the URL is not a valid PostgreSQL URL ({e}); write it as \
                 postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE"
            )
        })?
        .application_name("quarry snapshot import");
    let target = format!("{}:{}", options.get_host(), options.get_port());
    let user = options.get_username().to_string();
    match tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect_with(&options)).await {
        Err(_) => Err(format!(
            "no answer from {target} within {} s; check the host and port and that the server accepts connections \
             from here",
            CONNECT_TIMEOUT.as_secs()
        )),
        Ok(Ok(conn)) => Ok(conn),
        Ok(Err(e)) => Err(connect_error(&e, &target, &user)),
    }
}

fn connect_error(e: &sqlx::Error, target: &str, user: &str) -> String {
    match e {
        sqlx::Error::Io(io) => format!(
            "cannot reach the server at {target} ({io}); check that PostgreSQL is running there and accepts TCP \
             connections"
        ),
        sqlx::Error::Tls(tls) => format!(
            "the TLS connection to {target} failed ({tls}); try sslmode=disable in the URL if the server has no TLS"
        ),
        sqlx::Error::Database(db) => match db.code().as_deref() {
            Some("28P01") | Some("28000") => format!(
                "the server at {target} refused user {user} ({}); check the user name and password in the URL",
                db.message()
            ),
            Some("3D000") => format!("{}; check the database name at the end of the URL", db.message()),
            _ => format!("the server at {target} refused the connection: {}", db.message()),
        },
        other => format!("connecting to {target} failed: {other}"),
    }
}

/// A table chosen for import, before its rows are read.
struct TablePlan {
    oid: i64,
    /// Name in the database.
    source: String,
    /// Name in the snapshot.
    name: String,
    /// A partitioned table, read through its partitions (an ordinary one is read without
    /// the rows of tables that inherit from it, which are imported as tables of their own).
    partitioned: bool,
    columns: Vec<ColumnPlan>,
    /// Primary key column indexes, in key order.
    primary_key: Vec<usize>,
    foreign_keys: Vec<ForeignKey>,
}

struct ColumnPlan {
    source: String,
    name: String,
    /// The type as PostgreSQL writes it (`numeric(12,2)`, `character varying(40)`).
    declared: String,
    kind: Kind,
    /// Why the Arrow type is not the obvious counterpart, if it is not.
    reason: Option<String>,
}

/// How a column is selected and decoded. Each kind is cast on the server to one canonical
/// PostgreSQL type, so that only a handful of binary formats are decoded here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Int,
    /// `numeric(p, 0)`: whole numbers, but a numeric may also hold NaN, which becomes NULL.
    WholeNumeric,
    Float4,
    Float8,
    Bool,
    Text,
    Hex,
    Date,
    Timestamp,
    TimestampTz,
}

impl Kind {
    fn data_type(self) -> DataType {
        match self {
            Kind::Int | Kind::WholeNumeric => DataType::Int64,
            Kind::Float4 | Kind::Float8 => DataType::Float64,
            Kind::Bool => DataType::Boolean,
            Kind::Text | Kind::Hex => DataType::Utf8,
            Kind::Date => DataType::Date32,
            Kind::Timestamp | Kind::TimestampTz => TIMESTAMP,
        }
    }

    fn select(self, column: &str) -> String {
        let c = ident(column);
        match self {
            Kind::Int => format!("{c}::int8"),
            Kind::WholeNumeric => format!("NULLIF({c}, 'NaN')::int8"),
            Kind::Float4 => format!("{c}::float4"),
            Kind::Float8 => format!("{c}::float8"),
            Kind::Bool => format!("{c}::bool"),
            Kind::Text => format!("{c}::text"),
            Kind::Hex => format!("encode({c}::bytea, 'hex')"),
            Kind::Date => format!("{c}::date"),
            Kind::Timestamp => format!("{c}::timestamp"),
            Kind::TimestampTz => format!("{c}::timestamptz"),
        }
    }
}

/// The column's kind from its (domain-resolved) type, and the reason when the Arrow type
/// changes how values read.
fn classify(type_name: &str, type_type: &str, category: &str, typmod: i32, declared: &str) -> (Kind, Option<String>) {
    match type_name {
        "int2" | "int4" | "int8" => (Kind::Int, None),
        "float4" => (Kind::Float4, None),
        "float8" => (Kind::Float8, None),
        "numeric" => {
            // typmod = ((precision << 16) | scale) + 4, or -1 when unconstrained.
            let constrained = (typmod >= 4).then(|| (((typmod - 4) >> 16) & 0xffff, (typmod - 4) & 0xffff));
            match constrained {
                Some((precision, 0)) if precision <= 18 => (Kind::WholeNumeric, None),
                Some((precision, _)) => {
                    let rounding =
                        if precision > 15 { "; values beyond 15 significant digits are rounded" } else { "" };
                    (
                        Kind::Float8,
                        Some(format!("read as Float64, as the SQLite importer reads DECIMAL columns{rounding}")),
                    )
                }
                None => (
                    Kind::Float8,
                    Some(
                        "numeric without a precision, read as Float64; values beyond 15 significant digits are rounded"
                            .into(),
                    ),
                ),
            }
        }
        "bool" => (Kind::Bool, None),
        "text" | "varchar" | "name" | "citext" => (Kind::Text, None),
        "bpchar" => (Kind::Text, Some("kept as text without char(n)'s trailing padding".into())),
        "date" => (Kind::Date, None),
        "timestamp" => (Kind::Timestamp, None),
        "timestamptz" => {
            (Kind::TimestampTz, Some("converted to UTC, stored as a timestamp without a time zone".into()))
        }
        "uuid" => (Kind::Text, Some("uuid kept as text".into())),
        "json" | "jsonb" => (Kind::Text, Some(format!("{type_name} kept as text (the JSON document)"))),
        "bytea" => (Kind::Hex, Some("bytes kept as lower-case hexadecimal text, two digits per byte".into())),
        _ if type_type == "e" => (Kind::Text, Some(format!("enum {declared} kept as text (its labels)"))),
        _ if category == "A" => {
            (Kind::Text, Some(format!("array {declared} kept as text in PostgreSQL's array syntax, e.g. {{1,2}}")))
        }
        _ => (
            Kind::Text,
            Some(format!("{declared} has no Arrow counterpart here: kept as text in PostgreSQL's output form")),
        ),
    }
}

/// Quotes an identifier for PostgreSQL.
fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

async fn copy_schema(
    conn: &mut PgConnection,
    dir: &Path,
    source: &PostgresSource,
    options: &ImportOptions,
    shown: &str,
) -> Result<(Manifest, ImportReport)> {
    let fail = |reason: String| Error::Postgres { url: shown.to_string(), reason };
    let mut tx = conn.begin().await.map_err(|e| fail(query_error(&e, "starting a transaction")))?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *tx)
        .await
        .map_err(|e| fail(query_error(&e, "starting a transaction")))?;

    let mut notes = Vec::new();
    let mut plans = plan_tables(&mut tx, source, &mut notes).await.map_err(fail)?;
    resolve_keys(&mut tx, &source.schema, &mut plans, &mut notes).await.map_err(fail)?;

    let mut writer = SnapshotWriter::create(dir)?;
    let mut latest = LatestDate::default();
    let mut reports = Vec::with_capacity(plans.len());
    for plan in &plans {
        let renames: Vec<String> =
            plan.columns.iter().filter(|c| c.source != c.name).map(|c| rename(&c.source, &c.name)).collect();
        if !renames.is_empty() {
            notes.push(format!("{}: columns renamed {}", plan.name, renames.join(", ")));
        }
        let report = copy_table(&mut tx, &source.schema, &mut writer, plan, &mut latest, &mut notes).await.map_err(
            |e| match e {
                CopyError::Query(e) => {
                    fail(query_error(&e, &format!("reading table {}.{}", source.schema, plan.source)))
                }
                CopyError::Decode(reason) => fail(format!("reading table {}.{}: {reason}", source.schema, plan.source)),
                CopyError::Snapshot(e) => e,
            },
        )?;
        reports.push(report);
    }
    let _ = tx.rollback().await;

    reports.sort_by(|a, b| a.table.cmp(&b.table));
    let as_of = match options.as_of {
        Some(date) => date,
        None => {
            let (date, note) = latest.finish();
            notes.push(note);
            date
        }
    };
    let described = format!("{shown} (schema {})", source.schema);
    let manifest = writer.finish(
        as_of,
        // A variant of its own would need every match on SnapshotSource updated; a URL in
        // place of a path reads unambiguously meanwhile.
        SnapshotSource::Files { path: described },
        SourceDialect::Parquet,
        notes.clone(),
    )?;
    Ok((manifest, ImportReport { tables: reports, notes }))
}

/// A message for a failed query, with what to do for the usual causes.
fn query_error(e: &sqlx::Error, doing: &str) -> String {
    match e {
        sqlx::Error::Database(db) => match db.code().as_deref() {
            Some("42501") => format!(
                "{doing}: {}; grant the user SELECT on it (and USAGE on its schema), or leave it out with --tables",
                db.message()
            ),
            Some(code) => format!("{doing}: {} (SQLSTATE {code})", db.message()),
            None => format!("{doing}: {}", db.message()),
        },
        sqlx::Error::Io(io) => format!("{doing}: the connection was lost ({io})"),
        other => format!("{doing}: {other}"),
    }
}

/// The tables to import with their columns, in name order.
async fn plan_tables(
    conn: &mut PgConnection,
    source: &PostgresSource,
    notes: &mut Vec<String>,
) -> std::result::Result<Vec<TablePlan>, String> {
    let schema = &source.schema;
    let exists: Option<i64> = sqlx::query_scalar("SELECT 1::int8 FROM pg_namespace WHERE nspname = $1")
        .bind(schema)
        .fetch_optional(&mut *conn)
        .await
        .map_err(|e| query_error(&e, "reading the catalog"))?;
    if exists.is_none() {
        let schemas: Vec<String> = sqlx::query_scalar(
            "SELECT nspname::text FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> \
             'information_schema' ORDER BY 1",
        )
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| query_error(&e, "reading the catalog"))?;
        return Err(format!(
            "schema {schema} does not exist in the database; its schemas are: {}; choose one with --schema",
            if schemas.is_empty() { "none".to_string() } else { schemas.join(", ") }
        ));
    }

    let listed: Vec<(i64, String, String)> = sqlx::query_as(
        "SELECT c.oid::int8, c.relname::text, c.relkind::text FROM pg_class c \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND NOT c.relispartition \
         ORDER BY c.relname",
    )
    .bind(schema)
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| query_error(&e, "listing the tables"))?;
    let is_table = |kind: &str| kind == "r" || kind == "p";
    let kind_name = |kind: &str| match kind {
        "v" => "view",
        "m" => "materialized view",
        _ => "foreign table",
    };

    let chosen: Vec<&(i64, String, String)> = if source.tables.is_empty() {
        for (_, name, kind) in listed.iter().filter(|(_, _, kind)| !is_table(kind)) {
            notes.push(format!("skipped {} {name}: only tables are imported", kind_name(kind)));
        }
        listed.iter().filter(|(_, _, kind)| is_table(kind)).collect()
    } else {
        let mut chosen: Vec<&(i64, String, String)> = Vec::new();
        for wanted in &source.tables {
            // Exactly as spelled first; then as PostgreSQL folds an unquoted name, then any case.
            let found = listed
                .iter()
                .find(|(_, name, _)| name == wanted)
                .or_else(|| listed.iter().find(|(_, name, _)| *name == wanted.to_lowercase()))
                .or_else(|| listed.iter().find(|(_, name, _)| name.eq_ignore_ascii_case(wanted)));
            let Some(entry) = found else {
                let tables: Vec<&str> =
                    listed.iter().filter(|(_, _, kind)| is_table(kind)).map(|(_, name, _)| name.as_str()).collect();
                return Err(format!(
                    "no table {wanted} in schema {schema}; its tables are: {}",
                    if tables.is_empty() { "none".to_string() } else { tables.join(", ") }
                ));
            };
            if !is_table(&entry.2) {
                return Err(format!(
                    "{wanted} in schema {schema} is a {}; only tables are imported",
                    kind_name(&entry.2)
                ));
            }
            if !chosen.iter().any(|c| c.0 == entry.0) {
                chosen.push(entry);
            }
        }
        chosen.sort_by(|a, b| a.1.cmp(&b.1));
        chosen
    };
    if chosen.is_empty() {
        return Err(format!("schema {schema} has no tables to import"));
    }

    let mut table_names = NameAllocator::default();
    let mut plans = Vec::with_capacity(chosen.len());
    for (oid, source_name, relkind) in chosen {
        let name = table_names.allocate(source_name, "table");
        if &name != source_name {
            notes.push(format!("table {}", rename(source_name, &name)));
        }
        // Domains are read as their base type.
        let info: Vec<(String, String, String, String, String, i32)> = sqlx::query_as(
            "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod), b.typname::text, b.typtype::text, \
                    b.typcategory::text, (CASE WHEN t.typtype = 'd' THEN t.typtypmod ELSE a.atttypmod END)::int4 \
             FROM pg_attribute a \
             JOIN pg_type t ON t.oid = a.atttypid \
             JOIN pg_type b ON b.oid = (CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END) \
             WHERE a.attrelid = $1::int8::oid AND a.attnum > 0 AND NOT a.attisdropped \
             ORDER BY a.attnum",
        )
        .bind(*oid)
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| query_error(&e, &format!("reading the columns of {schema}.{source_name}")))?;
        if info.is_empty() {
            notes.push(format!("skipped table {source_name}: it has no columns"));
            continue;
        }
        let mut column_names = NameAllocator::default();
        let columns = info
            .into_iter()
            .enumerate()
            .map(|(i, (column, declared, type_name, type_type, category, typmod))| {
                let (kind, reason) = classify(&type_name, &type_type, &category, typmod, &declared);
                ColumnPlan {
                    name: column_names.allocate(&column, &format!("column_{}", i + 1)),
                    source: column,
                    declared,
                    kind,
                    reason,
                }
            })
            .collect();
        plans.push(TablePlan {
            oid: *oid,
            source: source_name.clone(),
            name,
            partitioned: relkind == "p",
            columns,
            primary_key: Vec::new(),
            foreign_keys: Vec::new(),
        });
    }
    if plans.is_empty() {
        return Err(format!("schema {schema} has no tables with columns to import"));
    }
    Ok(plans)
}

/// Fills in every plan's primary key and the foreign keys between imported tables; keys to
/// tables not imported (another schema, or left out by `--tables`) are dropped with a note.
async fn resolve_keys(
    conn: &mut PgConnection,
    schema: &str,
    plans: &mut [TablePlan],
    notes: &mut Vec<String>,
) -> std::result::Result<(), String> {
    type KeyRow = (i64, String, String, String, Vec<String>, Vec<String>);
    let keys: Vec<KeyRow> = sqlx::query_as(
        "SELECT con.conrelid::int8, con.contype::text, COALESCE(fn.nspname::text, ''), COALESCE(fc.relname::text, ''), \
                ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(num, i) \
                      JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.num ORDER BY k.i), \
                ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(num, i) \
                      JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.num ORDER BY k.i) \
         FROM pg_constraint con \
         JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
         LEFT JOIN pg_class fc ON fc.oid = con.confrelid LEFT JOIN pg_namespace fn ON fn.oid = fc.relnamespace \
         WHERE n.nspname = $1 AND con.contype IN ('p', 'f') AND con.conparentid = 0 \
         ORDER BY con.conrelid, con.oid",
    )
    .bind(schema)
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| query_error(&e, "reading the primary and foreign keys"))?;

    let index_of: HashMap<i64, usize> = plans.iter().enumerate().map(|(i, p)| (p.oid, i)).collect();
    let by_source: HashMap<String, usize> = plans.iter().enumerate().map(|(i, p)| (p.source.clone(), i)).collect();
    let column_of = |plan: &TablePlan, column: &str| plan.columns.iter().position(|c| c.source == column);
    for (table_oid, kind, ref_schema, ref_table, columns, ref_columns) in keys {
        let Some(&at) = index_of.get(&table_oid) else { continue };
        let positions: Option<Vec<usize>> = columns.iter().map(|c| column_of(&plans[at], c)).collect();
        let Some(positions) = positions else { continue };
        if kind == "p" {
            plans[at].primary_key = positions;
            continue;
        }
        let shown = format!(
            "{}({}) -> {}{ref_table}({})",
            plans[at].name,
            columns.join(", "),
            if ref_schema == schema { String::new() } else { format!("{ref_schema}.") },
            ref_columns.join(", ")
        );
        let target = (ref_schema == schema).then(|| by_source.get(&ref_table)).flatten();
        let Some(&target) = target else {
            notes.push(format!("dropped foreign key {shown}: {ref_schema}.{ref_table} is not imported"));
            continue;
        };
        let ref_positions: Option<Vec<usize>> = ref_columns.iter().map(|c| column_of(&plans[target], c)).collect();
        let Some(ref_positions) = ref_positions else { continue };
        let key = ForeignKey {
            columns: positions.iter().map(|&i| plans[at].columns[i].name.clone()).collect(),
            ref_table: plans[target].name.clone(),
            ref_columns: ref_positions.iter().map(|&i| plans[target].columns[i].name.clone()).collect(),
        };
        if !plans[at].foreign_keys.contains(&key) {
            plans[at].foreign_keys.push(key);
        }
    }
    Ok(())
}

enum CopyError {
    Query(sqlx::Error),
    Decode(String),
    Snapshot(Error),
}

impl From<sqlx::Error> for CopyError {
    fn from(e: sqlx::Error) -> Self {
        CopyError::Query(e)
    }
}

impl From<Error> for CopyError {
    fn from(e: Error) -> Self {
        CopyError::Snapshot(e)
    }
}

/// Streams one table into its Parquet file, batch by batch.
async fn copy_table(
    conn: &mut PgConnection,
    schema_name: &str,
    writer: &mut SnapshotWriter,
    plan: &TablePlan,
    latest: &mut LatestDate,
    notes: &mut Vec<String>,
) -> std::result::Result<TableReport, CopyError> {
    let select: Vec<String> = plan.columns.iter().map(|c| c.kind.select(&c.source)).collect();
    let order: Vec<String> = plan.primary_key.iter().map(|&i| ident(&plan.columns[i].source)).collect();
    let sql = format!(
        "SELECT {} FROM {}{}.{}{}",
        select.join(", "),
        if plan.partitioned { "" } else { "ONLY " },
        ident(schema_name),
        ident(&plan.source),
        if order.is_empty() { String::new() } else { format!(" ORDER BY {}", order.join(", ")) }
    );
    let schema: SchemaRef = Arc::new(Schema::new(
        plan.columns.iter().map(|c| Field::new(&c.name, c.kind.data_type(), true)).collect::<Vec<_>>(),
    ));
    let mut builders: Vec<Builder> = plan.columns.iter().map(|c| Builder::new(c.kind)).collect();
    let mut file = writer.table(&plan.name, Arc::clone(&schema))?;
    let mut pending = 0usize;
    // Audited: every name in it is quoted by `ident`, and the casts come from `Kind::select`.
    let mut rows = sqlx::query(sqlx::AssertSqlSafe(sql)).persistent(false).fetch(&mut *conn);
    while let Some(row) = rows.try_next().await? {
        push_row(&row, &mut builders).map_err(CopyError::Decode)?;
        pending += 1;
        if pending == BATCH_ROWS || builders.iter().map(Builder::text_bytes).sum::<usize>() >= BATCH_BYTES {
            let batch = finish_batch(&plan.name, &schema, &mut builders)?;
            latest.observe(&plan.name, &batch);
            file.write(&batch)?;
            pending = 0;
        }
    }
    drop(rows);
    if pending > 0 {
        let batch = finish_batch(&plan.name, &schema, &mut builders)?;
        latest.observe(&plan.name, &batch);
        file.write(&batch)?;
    }
    let total = file.rows();
    file.finish(plan.primary_key.iter().map(|&i| plan.columns[i].name.clone()).collect(), plan.foreign_keys.clone())?;

    let mut columns = Vec::with_capacity(plan.columns.len());
    for (column, builder) in plan.columns.iter().zip(&builders) {
        let data_type = column.kind.data_type();
        let mut details: Vec<String> = column.reason.iter().cloned().collect();
        if builder.infinite > 0 {
            details.push(format!("{} infinite or out-of-range values read as NULL", builder.infinite));
        }
        if builder.lossy > 0 {
            details.push(format!(
                "{} values that were not valid UTF-8 decoded with replacement characters",
                builder.lossy
            ));
        }
        let note = (!details.is_empty()).then(|| {
            format!("{}.{} (declared {}): {data_type}; {}", plan.name, column.name, column.declared, details.join("; "))
        });
        notes.extend(note.clone());
        columns.push(ColumnReport {
            source: column.source.clone(),
            name: column.name.clone(),
            declared: Some(column.declared.clone()),
            data_type,
            nulled: builder.infinite,
            note,
        });
    }
    Ok(TableReport { source: plan.source.clone(), table: plan.name.clone(), rows: total, columns })
}

/// One column's values on their way into an Arrow array.
struct Builder {
    values: Values,
    /// Infinite dates and timestamps, and values beyond Arrow's range, read as NULL.
    infinite: u64,
    /// Text values that were not valid UTF-8.
    lossy: u64,
}

enum Values {
    Int(Int64Builder),
    Float4(Float64Builder),
    Float8(Float64Builder),
    Bool(BooleanBuilder),
    Text(StringBuilder),
    Date(Date32Builder),
    Timestamp(TimestampMicrosecondBuilder),
}

impl Builder {
    fn new(kind: Kind) -> Self {
        let values = match kind {
            Kind::Int | Kind::WholeNumeric => Values::Int(Int64Builder::new()),
            Kind::Float4 => Values::Float4(Float64Builder::new()),
            Kind::Float8 => Values::Float8(Float64Builder::new()),
            Kind::Bool => Values::Bool(BooleanBuilder::new()),
            Kind::Text | Kind::Hex => Values::Text(StringBuilder::new()),
            Kind::Date => Values::Date(Date32Builder::new()),
            Kind::Timestamp | Kind::TimestampTz => Values::Timestamp(TimestampMicrosecondBuilder::new()),
        };
        Self { values, infinite: 0, lossy: 0 }
    }

    fn text_bytes(&self) -> usize {
        match &self.values {
            Values::Text(b) => b.values_slice().len(),
            _ => 0,
        }
    }

    fn push_null(&mut self) {
        match &mut self.values {
            Values::Int(b) => b.append_null(),
            Values::Float4(b) | Values::Float8(b) => b.append_null(),
            Values::Bool(b) => b.append_null(),
            Values::Text(b) => b.append_null(),
            Values::Date(b) => b.append_null(),
            Values::Timestamp(b) => b.append_null(),
        }
    }

    /// Appends one value in PostgreSQL's binary format of the column's canonical type.
    fn push(&mut self, bytes: &[u8]) -> std::result::Result<(), String> {
        fn fixed<const N: usize>(bytes: &[u8]) -> std::result::Result<[u8; N], String> {
            bytes.try_into().map_err(|_| format!("expected a {N}-byte value, the server sent {} bytes", bytes.len()))
        }
        match &mut self.values {
            Values::Int(b) => b.append_value(i64::from_be_bytes(fixed(bytes)?)),
            Values::Float4(b) => {
                let v = f32::from_be_bytes(fixed(bytes)?);
                // Widened through its shortest decimal form, so that a real 0.1 reads 0.1,
                // not 0.10000000149011612.
                b.append_value(if v.is_finite() { v.to_string().parse().unwrap_or(f64::from(v)) } else { f64::from(v) })
            }
            Values::Float8(b) => b.append_value(f64::from_be_bytes(fixed(bytes)?)),
            Values::Bool(b) => b.append_value(fixed::<1>(bytes)?[0] != 0),
            Values::Text(b) => match std::str::from_utf8(bytes) {
                Ok(text) => b.append_value(text),
                Err(_) => {
                    self.lossy += 1;
                    b.append_value(String::from_utf8_lossy(bytes));
                }
            },
            Values::Date(b) => {
                let days = i32::from_be_bytes(fixed(bytes)?);
                // i32::MAX and i32::MIN are 'infinity' and '-infinity'.
                match (days != i32::MAX && days != i32::MIN).then(|| days.checked_add(PG_EPOCH_DAYS)).flatten() {
                    Some(days) => b.append_value(days),
                    None => {
                        self.infinite += 1;
                        b.append_null();
                    }
                }
            }
            Values::Timestamp(b) => {
                let micros = i64::from_be_bytes(fixed(bytes)?);
                match (micros != i64::MAX && micros != i64::MIN).then(|| micros.checked_add(PG_EPOCH_MICROS)).flatten()
                {
                    Some(micros) => b.append_value(micros),
                    None => {
                        self.infinite += 1;
                        b.append_null();
                    }
                }
            }
        }
        Ok(())
    }

    fn finish(&mut self) -> ArrayRef {
        match &mut self.values {
            Values::Int(b) => Arc::new(b.finish()),
            Values::Float4(b) | Values::Float8(b) => Arc::new(b.finish()),
            Values::Bool(b) => Arc::new(b.finish()),
            Values::Text(b) => Arc::new(b.finish()),
            Values::Date(b) => Arc::new(b.finish()),
            Values::Timestamp(b) => Arc::new(b.finish()),
        }
    }
}

fn push_row(row: &PgRow, builders: &mut [Builder]) -> std::result::Result<(), String> {
    for (i, builder) in builders.iter_mut().enumerate() {
        let value = row.try_get_raw(i).map_err(|e| e.to_string())?;
        if value.is_null() {
            builder.push_null();
            continue;
        }
        if value.format() != PgValueFormat::Binary {
            return Err("the server sent a value in text format where binary was asked for".into());
        }
        let bytes = value.as_bytes().map_err(|e| e.to_string())?;
        builder.push(bytes).map_err(|e| format!("column {}: {e}", i + 1))?;
    }
    Ok(())
}

fn finish_batch(table: &str, schema: &SchemaRef, builders: &mut [Builder]) -> Result<RecordBatch> {
    let arrays: Vec<ArrayRef> = builders.iter_mut().map(Builder::finish).collect();
    RecordBatch::try_new(Arc::clone(schema), arrays)
        .map_err(|e| Error::format(format!("building a batch of table {table}"))(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_postgres_urls() {
        assert!(is_postgres_url("postgres://u@h/db"));
        assert!(is_postgres_url("PostgreSQL://u@h/db"));
        assert!(!is_postgres_url("/tmp/postgres://x"));
        assert!(!is_postgres_url("data.sqlite"));
    }

    #[test]
    fn redacts_the_password() {
        assert_eq!(redact("postgres://quarry:secret@localhost:5432/db"), "postgres://quarry@localhost:5432/db");
        assert_eq!(redact("postgres://quarry@localhost/db"), "postgres://quarry@localhost/db");
        assert!(!redact("postgres://a:b@[bad").contains('b'));
        assert_eq!(redact("postgres://u@h/db?password=pw&sslmode=disable"), "postgres://u@h/db?sslmode=disable");
        assert_eq!(redact("postgres://u@h/db?password=pw"), "postgres://u@h/db");
    }

    #[test]
    fn maps_types_like_the_sqlite_importer() {
        let numeric = |p: i32, s: i32| ((p << 16) | s) + 4;
        assert_eq!(classify("int4", "b", "N", -1, "integer"), (Kind::Int, None));
        assert_eq!(classify("numeric", "b", "N", numeric(10, 0), "numeric(10,0)"), (Kind::WholeNumeric, None));
        let (kind, reason) = classify("numeric", "b", "N", numeric(12, 2), "numeric(12,2)");
        assert_eq!(kind, Kind::Float8);
        assert!(reason.unwrap().contains("as the SQLite importer reads DECIMAL"));
        assert!(classify("numeric", "b", "N", numeric(20, 0), "numeric(20,0)").1.unwrap().contains("rounded"));
        assert!(classify("numeric", "b", "N", -1, "numeric").1.unwrap().contains("rounded"));
        assert_eq!(classify("bytea", "b", "U", -1, "bytea").0, Kind::Hex);
        assert_eq!(classify("mood", "e", "E", -1, "mood").0, Kind::Text);
        assert!(classify("_int4", "b", "A", -1, "integer[]").1.unwrap().contains("array integer[]"));
        assert!(classify("interval", "b", "T", -1, "interval").1.unwrap().contains("kept as text"));
    }

    #[test]
    fn decodes_binary_values() {
        use datafusion::arrow::array::Array;
        let mut date = Builder::new(Kind::Date);
        date.push(&0i32.to_be_bytes()).unwrap();
        date.push(&i32::MAX.to_be_bytes()).unwrap();
        assert_eq!(date.infinite, 1);
        let array = date.finish();
        let dates = array.as_any().downcast_ref::<datafusion::arrow::array::Date32Array>().unwrap();
        assert_eq!(dates.value(0), PG_EPOCH_DAYS);
        assert!(dates.is_null(1));
        let mut real = Builder::new(Kind::Float4);
        real.push(&0.1f32.to_be_bytes()).unwrap();
        let array = real.finish();
        let reals = array.as_any().downcast_ref::<datafusion::arrow::array::Float64Array>().unwrap();
        assert_eq!(reals.value(0), 0.1);
        assert!(Builder::new(Kind::Int).push(&[0, 1]).is_err());
    }
}
