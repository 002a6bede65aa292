//! Import of a Spider-format benchmark directory (`dev.json`, `tables.json`,
//! `database/<db>/<db>.sqlite`) into snapshots, starter semantic layers and a JSONL question
//! set whose gold rows are computed on the SQLite files themselves, because SQLite's
//! semantics (double-quoted strings, bare columns under GROUP BY, loose typing) differ from
//! DataFusion's.
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use quarry_snapshot::SnapshotStore;
use quarry_snapshot::import::{ImportOptions, ImportReport, import_into};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::score::TieGroup;
use crate::sql::{has_top_level_order_by, order_key_query, reads_table, tie_break_variants};
use crate::{Error, Result};
use quarry_compare::{Cell, ResultTable};

/// Name of the question set written under the output directory.
pub const SPIDER_CASES_FILE: &str = "spider-dev.jsonl";
/// Name of the list of excluded questions written beside it.
pub const SPIDER_EXCLUDED_FILE: &str = "spider-dev.excluded.json";

/// Tables known to be unusable in the distributed copy, with why: questions reading them are
/// excluded when the table really is empty in the database file.
const UNAVAILABLE_TABLES: &[(&str, &str, &str)] = &[(
    "wta_1",
    "rankings",
    "reads table rankings, which is empty in the reconstructed wta_1 database (see database/wta_1/RECONSTRUCTED.md \
     and SOURCE.md), so its gold result is meaningless",
)];

/// What to import.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SpiderImportOptions {
    /// Only these databases (Spider `db_id`s); `None` = every database dev.json uses.
    pub only_dbs: Option<Vec<String>>,
    /// The snapshots' `as_of` date; `None` = the importer's default (latest date in the data).
    pub as_of: Option<NaiveDate>,
}

/// What an import wrote.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpiderImport {
    /// The JSONL question set (`OUT/spider-dev.jsonl`).
    pub cases_path: PathBuf,
    /// The excluded questions with reasons (`OUT/spider-dev.excluded.json`).
    pub excluded_path: PathBuf,
    /// The snapshot store (`OUT/snapshots`).
    pub snapshots_dir: PathBuf,
    /// One entry per imported database, sorted by `db_id`.
    pub databases: Vec<SpiderDatabase>,
    /// Questions written.
    pub cases: usize,
    /// Questions per Spider hardness.
    pub by_hardness: BTreeMap<String, usize>,
    /// Questions left out, with why.
    pub excluded: Vec<ExcludedQuestion>,
}

/// One imported database.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpiderDatabase {
    /// Spider `db_id`.
    pub db_id: String,
    /// The installed snapshot's id.
    pub snapshot_id: String,
    /// Tables imported.
    pub tables: usize,
    /// Questions written for it.
    pub questions: usize,
    /// Where its starter semantic layer was written.
    pub semantic_layer: PathBuf,
    /// What the import changed (renames, coerced values...), from the snapshot importer,
    /// plus anything this import noticed (tables.json mismatches, where the layer went).
    pub notes: Vec<String>,
}

/// A question that was not written to the set.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExcludedQuestion {
    /// Position in dev.json (0-based), as in the case ids `spider-dev-NNNN`.
    pub index: usize,
    /// Spider `db_id`.
    pub db_id: String,
    /// The question.
    pub question: String,
    /// The gold SQL.
    pub query: String,
    /// Why it was left out.
    pub reason: String,
}

#[derive(Deserialize)]
struct DevItem {
    db_id: String,
    query: String,
    question: String,
    #[serde(default)]
    sql: Value,
}

#[derive(Deserialize)]
struct SchemaItem {
    db_id: String,
    #[serde(default)]
    table_names_original: Vec<String>,
}

/// One line of the written question set (the fields of [`crate::Case`]).
#[derive(Serialize)]
struct SpiderCase<'a> {
    id: String,
    question: &'a str,
    snapshot: &'a str,
    gold_sql: &'a str,
    gold_rows: Value,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    gold_ties: Vec<Value>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    gold_rows_alternatives: Vec<Value>,
    ordered: bool,
    tags: [&'a str; 3],
    difficulty: &'a str,
}

/// Imports the Spider dev set in `dir` into `out`: each database used by `dev.json` becomes a
/// snapshot installed under `out/snapshots` with a starter semantic layer (`semantic.yaml` in
/// the snapshot directory, or `out/semantic/<db_id>.semantic.yaml` if that directory refuses
/// writes), and every question becomes a case in `out/spider-dev.jsonl` with `snapshot` set,
/// `gold_sql` = the Spider query (for the gold replay), `gold_rows` = its result on the
/// SQLite file, `ordered` = whether it has a top-level ORDER BY, `tags` = `[db_id,
/// hardness, shape]` (the shape of the gold SQL: `single-table`, `join` or `nested`) and `difficulty` = Spider's hardness (easy, medium, hard, extra, computed from
/// dev.json's parsed `sql` as the official evaluation does). Questions whose gold cannot be
/// computed, or that read a table known to be empty in this copy, are excluded with a reason.
/// Running it again reuses the installed snapshots (same data, same id).
pub fn import_spider(dir: &Path, out: &Path, options: &SpiderImportOptions) -> Result<SpiderImport> {
    let dev: Vec<DevItem> = read_json(&dir.join("dev.json"))?;
    let schemas: Vec<SchemaItem> = read_json(&dir.join("tables.json"))?;
    let schema_tables: HashMap<&str, &[String]> =
        schemas.iter().map(|s| (s.db_id.as_str(), s.table_names_original.as_slice())).collect();
    let used: BTreeSet<&str> = dev.iter().map(|item| item.db_id.as_str()).collect();
    let selected: Vec<&str> = match &options.only_dbs {
        None => used.iter().copied().collect(),
        Some(only) => {
            if let Some(unknown) = only.iter().find(|db| !used.contains(db.as_str())) {
                return Err(Error::Spider {
                    path: dir.join("dev.json"),
                    reason: format!(
                        "no question uses database '{unknown}'; choose among {}",
                        used.iter().copied().collect::<Vec<_>>().join(", ")
                    ),
                });
            }
            used.iter().copied().filter(|db| only.iter().any(|o| o == db)).collect()
        }
    };
    fs::create_dir_all(out).map_err(Error::io("creating", out))?;
    let store = SnapshotStore::new(out.join("snapshots"));
    let import_options = ImportOptions { as_of: options.as_of };

    let mut databases = Vec::new();
    let mut excluded = Vec::new();
    let mut lines: Vec<(usize, String)> = Vec::new();
    let mut by_hardness: BTreeMap<String, usize> = BTreeMap::new();
    for db_id in selected {
        let sqlite = dir.join("database").join(db_id).join(format!("{db_id}.sqlite"));
        if !sqlite.is_file() {
            return Err(Error::Spider {
                path: sqlite,
                reason: format!("database '{db_id}' is used by dev.json but its SQLite file is missing"),
            });
        }
        let installed_before: BTreeSet<String> = store
            .list()
            .map_err(|source| Error::Snapshot { database: db_id.to_string(), source })?
            .into_iter()
            .map(|s| s.manifest.id)
            .collect();
        let mut report: Option<ImportReport> = None;
        let snapshot = store
            .install(|scratch| {
                import_into(scratch, &sqlite, &import_options).map(|(manifest, r)| {
                    report = Some(r);
                    manifest
                })
            })
            .map_err(|source| Error::Snapshot { database: db_id.to_string(), source })?;
        let mut notes: Vec<String> = snapshot.manifest.notes.clone();
        if installed_before.contains(&snapshot.manifest.id) {
            notes.push(format!("snapshot {} was already installed and is reused", snapshot.manifest.id));
        }
        let imported_sources: Vec<String> = match &report {
            Some(r) => r.tables.iter().map(|t| t.source.to_lowercase()).collect(),
            None => snapshot.manifest.tables.iter().map(|t| t.name.clone()).collect(),
        };
        match schema_tables.get(db_id) {
            None => notes.push(format!("tables.json does not describe {db_id}")),
            Some(names) => {
                for name in names.iter().filter(|n| !imported_sources.contains(&n.to_lowercase())) {
                    notes.push(format!("tables.json lists table {name}, which the database does not hold"));
                }
            }
        }
        let layer = quarry_semantic::starter_layer(&snapshot, db_id, false)
            .map_err(|source| Error::Semantic { database: db_id.to_string(), source })?;
        let yaml = layer.to_yaml();
        let beside_snapshot = snapshot.semantic_layer_path();
        let semantic_layer = match fs::write(&beside_snapshot, &yaml) {
            Ok(()) => beside_snapshot,
            Err(e) => {
                let fallback_dir = out.join("semantic");
                fs::create_dir_all(&fallback_dir).map_err(Error::io("creating", &fallback_dir))?;
                let fallback = fallback_dir.join(format!("{db_id}.semantic.yaml"));
                fs::write(&fallback, &yaml).map_err(Error::io("writing", &fallback))?;
                notes.push(format!(
                    "could not write {} ({e}); the starter semantic layer is at {}",
                    beside_snapshot.display(),
                    fallback.display()
                ));
                fallback
            }
        };

        let connection =
            Connection::open_with_flags(&sqlite, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
                .map_err(|source| Error::Sqlite { path: sqlite.clone(), source })?;
        let unavailable: Vec<(&str, &str)> = UNAVAILABLE_TABLES
            .iter()
            .filter(|(db, table, _)| *db == db_id && table_is_empty(&connection, table))
            .map(|(_, table, reason)| (*table, *reason))
            .collect();
        // The gold is SQLite's reading of the data; the typed copy gives the reading of the data
        // as imported (numbers stored as text are numbers), which is accepted too.
        let typed = match typed_copy(&snapshot) {
            Ok(typed) => Some(typed),
            Err(e) => {
                notes.push(format!("no typed copy of the snapshot for alternative golds: {e}"));
                None
            }
        };
        let mut questions = 0;
        for (index, item) in dev.iter().enumerate().filter(|(_, item)| item.db_id == db_id) {
            let exclude = |reason: String| ExcludedQuestion {
                index,
                db_id: db_id.to_string(),
                question: item.question.clone(),
                query: item.query.clone(),
                reason,
            };
            if let Some((_, reason)) = unavailable.iter().find(|(table, _)| reads_table(&item.query, table)) {
                excluded.push(exclude(reason.to_string()));
                continue;
            }
            let rows = match run_sqlite(&connection, &item.query) {
                Ok(rows) => rows,
                Err(e) => {
                    excluded.push(exclude(format!("the gold query fails on SQLite: {e}")));
                    continue;
                }
            };
            let hardness = hardness(&item.sql);
            let ordered = has_top_level_order_by(&item.query);
            let ties = if ordered { tie_groups(&connection, &item.query, &rows) } else { Vec::new() };
            let alternatives = alternative_golds(&connection, typed.as_ref(), &item.query, &rows, ordered);
            let case = SpiderCase {
                id: format!("spider-dev-{index:04}"),
                question: &item.question,
                snapshot: &snapshot.manifest.id,
                gold_sql: &item.query,
                gold_rows: rows.to_json(),
                gold_ties: ties.iter().map(tie_json).collect(),
                gold_rows_alternatives: alternatives
                    .iter()
                    .map(|(table, ties)| {
                        let mut value = table.to_json();
                        if !ties.is_empty() {
                            value["ties"] = Value::Array(ties.iter().map(tie_json).collect());
                        }
                        value
                    })
                    .collect(),
                ordered,
                tags: [db_id, hardness, shape(&item.sql)],
                difficulty: hardness,
            };
            lines.push((index, serde_json::to_string(&case).expect("a case always serializes")));
            *by_hardness.entry(hardness.to_string()).or_default() += 1;
            questions += 1;
        }
        databases.push(SpiderDatabase {
            db_id: db_id.to_string(),
            snapshot_id: snapshot.manifest.id.clone(),
            tables: snapshot.manifest.tables.len(),
            questions,
            semantic_layer,
            notes,
        });
    }

    lines.sort_by_key(|(index, _)| *index);
    excluded.sort_by_key(|e| e.index);
    let cases_path = out.join(SPIDER_CASES_FILE);
    write_lines(&cases_path, lines.iter().map(|(_, l)| l.as_str()))?;
    let excluded_path = out.join(SPIDER_EXCLUDED_FILE);
    let excluded_json = serde_json::to_string_pretty(&excluded).expect("exclusions always serialize");
    fs::write(&excluded_path, excluded_json + "\n").map_err(Error::io("writing", &excluded_path))?;
    Ok(SpiderImport {
        cases_path,
        excluded_path,
        snapshots_dir: store.root().to_path_buf(),
        databases,
        cases: lines.len(),
        by_hardness,
        excluded,
    })
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T> {
    let text = fs::read_to_string(path).map_err(|e| Error::Spider {
        path: path.to_path_buf(),
        reason: format!("cannot read it ({e}); give the directory holding dev.json, tables.json and database/"),
    })?;
    serde_json::from_str(&text)
        .map_err(|e| Error::Spider { path: path.to_path_buf(), reason: format!("not in Spider's format: {e}") })
}

fn write_lines<'a>(path: &Path, lines: impl Iterator<Item = &'a str>) -> Result<()> {
    let file = fs::File::create(path).map_err(Error::io("creating", path))?;
    let mut writer = BufWriter::new(file);
    for line in lines {
        writer.write_all(line.as_bytes()).and_then(|()| writer.write_all(b"\n")).map_err(Error::io("writing", path))?;
    }
    writer.flush().map_err(Error::io("writing", path))
}

fn table_is_empty(connection: &Connection, table: &str) -> bool {
    let quoted = format!("\"{}\"", table.replace('"', "\"\""));
    connection
        .query_row(&format!("SELECT count(*) FROM {quoted}"), [], |row| row.get::<_, i64>(0))
        .is_ok_and(|n| n == 0)
}

/// Rows tied in the gold's sort order, read by running the query again on SQLite with its
/// sort keys shown and its LIMIT removed (see [`order_key_query`]). Empty when there are no
/// ties, or when the rewritten query's rows do not reproduce the gold (then nothing is
/// assumed).
fn tie_groups(connection: &Connection, sql: &str, gold: &ResultTable) -> Vec<TieGroup> {
    /// Rows kept for tie groups per question, beyond which ties are not recorded.
    const MAX_TIED_ROWS: usize = 20_000;
    let Some(query) = order_key_query(sql) else { return Vec::new() };
    let Ok(all) = run_sqlite(connection, &query.sql) else { return Vec::new() };
    let width = gold.columns.len();
    if all.columns.len() != width + query.keys {
        return Vec::new();
    }
    let start = query.offset.min(all.rows.len());
    let end = query.limit.map_or(all.rows.len(), |limit| (start + limit).min(all.rows.len()));
    let window_is_gold = end - start == gold.rows.len()
        && all.rows[start..end].iter().zip(&gold.rows).all(|(row, gold_row)| row[..width] == gold_row[..]);
    if !window_is_gold {
        return Vec::new();
    }
    let mut groups = Vec::new();
    let mut kept = 0;
    let mut a = 0;
    while a < all.rows.len() {
        let mut b = a + 1;
        while b < all.rows.len() && all.rows[b][width..] == all.rows[a][width..] {
            b += 1;
        }
        let (lo, hi) = (a.max(start), b.min(end));
        let rows: Vec<Vec<Cell>> = all.rows[a..b].iter().map(|row| row[..width].to_vec()).collect();
        if lo < hi && rows.iter().any(|row| *row != rows[0]) {
            kept += rows.len();
            if kept > MAX_TIED_ROWS {
                return Vec::new();
            }
            groups.push(TieGroup { start: lo - start, len: hi - lo, rows });
        }
        a = b;
    }
    groups
}

/// Results of the gold other than SQLite's first one that are as right: on the typed copy of
/// the snapshot, with SQLite's unordered scans reversed, and with the ties of every
/// `ORDER BY ... LIMIT` broken both ways (ties inside subqueries).
fn alternative_golds(
    connection: &Connection,
    typed: Option<&Connection>,
    sql: &str,
    gold: &ResultTable,
    ordered: bool,
) -> Vec<(ResultTable, Vec<TieGroup>)> {
    let mut alternatives: Vec<(ResultTable, Vec<TieGroup>)> = Vec::new();
    let mut consider = |table: ResultTable, on: &Connection| {
        let known = same_rows(&table, gold, ordered) || alternatives.iter().any(|(t, _)| same_rows(t, &table, ordered));
        if !known {
            let ties = if ordered { tie_groups(on, sql, &table) } else { Vec::new() };
            alternatives.push((table, ties));
        }
    };
    if let Some(typed) = typed
        && let Ok(table) = run_sqlite(typed, sql)
    {
        consider(table, typed);
    }
    if connection.pragma_update(None, "reverse_unordered_selects", true).is_ok() {
        let reversed = run_sqlite(connection, sql);
        let _ = connection.pragma_update(None, "reverse_unordered_selects", false);
        if let Ok(table) = reversed {
            consider(table, connection);
        }
    }
    for variant in tie_break_variants(sql) {
        for on in [Some(connection), typed].into_iter().flatten() {
            if let Ok(table) = run_sqlite(on, &variant) {
                consider(table, on);
            }
        }
    }
    alternatives
}

/// Same rows: as lists when ordered, else as bags.
fn same_rows(a: &ResultTable, b: &ResultTable, ordered: bool) -> bool {
    if ordered || a.rows.len() != b.rows.len() {
        return a.rows == b.rows;
    }
    let sorted = |t: &ResultTable| {
        let mut rows: Vec<String> = t.rows.iter().map(|r| format!("{r:?}")).collect();
        rows.sort();
        rows
    };
    sorted(a) == sorted(b)
}

/// An in-memory SQLite database holding the snapshot's tables with the snapshot's column
/// types declared (INTEGER, REAL, TEXT...), read from its Parquet files.
fn typed_copy(snapshot: &quarry_snapshot::Snapshot) -> std::result::Result<Connection, String> {
    use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let connection = Connection::open_in_memory().map_err(|e| e.to_string())?;
    for table in &snapshot.manifest.tables {
        let path = snapshot.dir.join(&table.file);
        let file = fs::File::open(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let reader = ParquetRecordBatchReaderBuilder::try_new(file)
            .and_then(|b| b.build())
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let batches =
            reader.collect::<std::result::Result<Vec<_>, _>>().map_err(|e| format!("{}: {e}", path.display()))?;
        let quote = |name: &str| format!("\"{}\"", name.replace('"', "\"\""));
        let declared: Vec<String> = table
            .columns
            .iter()
            .map(|c| {
                let t = c.data_type.as_str();
                let kind = if t.starts_with("Int") || t.starts_with("UInt") || t == "Boolean" {
                    "INTEGER"
                } else if t.starts_with("Float") || t.starts_with("Decimal") {
                    "REAL"
                } else if t.starts_with("Binary") || t.starts_with("LargeBinary") {
                    "BLOB"
                } else {
                    "TEXT"
                };
                format!("{} {kind}", quote(&c.name))
            })
            .collect();
        connection
            .execute_batch(&format!("CREATE TABLE {} ({})", quote(&table.name), declared.join(", ")))
            .map_err(|e| e.to_string())?;
        let rows = ResultTable::from_record_batches(&batches);
        let placeholders = vec!["?"; table.columns.len()].join(", ");
        let insert = format!("INSERT INTO {} VALUES ({placeholders})", quote(&table.name));
        let transaction = connection.unchecked_transaction().map_err(|e| e.to_string())?;
        {
            let mut statement = transaction.prepare(&insert).map_err(|e| e.to_string())?;
            for row in &rows.rows {
                let values: Vec<rusqlite::types::Value> = row.iter().map(sqlite_value).collect();
                statement.execute(rusqlite::params_from_iter(values)).map_err(|e| e.to_string())?;
            }
        }
        transaction.commit().map_err(|e| e.to_string())?;
    }
    Ok(connection)
}

fn sqlite_value(cell: &Cell) -> rusqlite::types::Value {
    use rusqlite::types::Value as V;
    match cell {
        Cell::Null => V::Null,
        Cell::Bool(b) => V::Integer(i64::from(*b)),
        Cell::Int(i) => V::Integer(*i),
        Cell::Float(f) => V::Real(*f),
        Cell::Decimal(d) => d.parse::<f64>().map_or_else(|_| V::Text(d.clone()), V::Real),
        Cell::Text(t) => V::Text(t.clone()),
        // SQLite's own date-time text, which its date functions and comparisons expect.
        Cell::Timestamp(t) => V::Text(t.format("%Y-%m-%d %H:%M:%S%.f").to_string()),
        other => V::Text(other.to_string()),
    }
}

fn tie_json(tie: &TieGroup) -> Value {
    let rows: Vec<Value> = tie.rows.iter().map(|row| Value::Array(row.iter().map(Cell::to_json).collect())).collect();
    serde_json::json!({"start": tie.start, "len": tie.len, "rows": rows})
}

/// Runs a query on SQLite and keeps its result as SQLite returns it: integers, reals, text;
/// blobs become `0x`-prefixed hex text.
pub(crate) fn run_sqlite(connection: &Connection, sql: &str) -> rusqlite::Result<ResultTable> {
    let mut statement = connection.prepare(sql)?;
    let columns: Vec<String> = statement.column_names().into_iter().map(str::to_string).collect();
    let width = columns.len();
    let mut rows = Vec::new();
    let mut cursor = statement.query([])?;
    while let Some(row) = cursor.next()? {
        let mut cells = Vec::with_capacity(width);
        for i in 0..width {
            cells.push(match row.get_ref(i)? {
                ValueRef::Null => Cell::Null,
                ValueRef::Integer(v) => Cell::Int(v),
                ValueRef::Real(v) => Cell::Float(v),
                ValueRef::Text(bytes) => Cell::Text(String::from_utf8_lossy(bytes).into_owned()),
                ValueRef::Blob(bytes) => {
                    Cell::Text(format!("0x{}", bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()))
                }
            });
        }
        rows.push(cells);
    }
    Ok(ResultTable::new(columns, rows))
}

/// The shape of a gold query, from Spider's parsed `sql`: `nested` with a sub-query or a set
/// operation, `join` over several tables, else `single-table`.
pub fn shape(sql: &Value) -> &'static str {
    let text = sql.to_string();
    if text.matches("\"select\"").count() > 1 {
        "nested"
    } else if sql["from"]["table_units"].as_array().is_some_and(|units| units.len() > 1) {
        "join"
    } else {
        "single-table"
    }
}

/// Spider's hardness of a query (easy, medium, hard, extra), from dev.json's parsed `sql`,
/// following `eval_hardness` in the official `evaluation.py` rule for rule (including how it
/// counts aggregates over condition units). A missing or malformed `sql` counts as easy.
pub fn hardness(sql: &Value) -> &'static str {
    let component1 = count_component1(sql);
    let component2 = count_component2(sql);
    let others = count_others(sql);
    if component1 <= 1 && others == 0 && component2 == 0 {
        "easy"
    } else if (others <= 2 && component1 <= 1 && component2 == 0) || (component1 <= 2 && others < 2 && component2 == 0)
    {
        "medium"
    } else if (component2 == 0 && ((others > 2 && component1 <= 2) || (component1 == 3 && others <= 2)))
        || (component1 <= 1 && others == 0 && component2 <= 1)
    {
        "hard"
    } else {
        "extra"
    }
}

/// `WHERE_OPS.index('like')` in Spider's `process_sql.py`.
const LIKE_OP: i64 = 9;

fn list<'a>(value: &'a Value, key: &str) -> &'a [Value] {
    value.get(key).and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

fn evens(items: &[Value]) -> impl Iterator<Item = &Value> {
    items.iter().step_by(2)
}

fn odds(items: &[Value]) -> impl Iterator<Item = &Value> {
    items.iter().skip(1).step_by(2)
}

fn condition_lists(sql: &Value) -> [&[Value]; 3] {
    let from_conds = sql.get("from").map_or(&[][..], |from| list(from, "conds"));
    [from_conds, list(sql, "where"), list(sql, "having")]
}

fn count_component1(sql: &Value) -> usize {
    let mut count = 0;
    count += usize::from(!list(sql, "where").is_empty());
    count += usize::from(!list(sql, "groupBy").is_empty());
    count += usize::from(!list(sql, "orderBy").is_empty());
    count += usize::from(sql.get("limit").is_some_and(|l| !l.is_null()));
    let table_units = sql.get("from").map_or(0, |from| list(from, "table_units").len());
    count += table_units.saturating_sub(1);
    let conditions = condition_lists(sql);
    count += conditions.iter().flat_map(|c| odds(c)).filter(|op| op.as_str() == Some("or")).count();
    count += conditions
        .iter()
        .flat_map(|c| evens(c))
        .filter(|unit| unit.get(1).and_then(Value::as_i64) == Some(LIKE_OP))
        .count();
    count
}

fn count_component2(sql: &Value) -> usize {
    let nested_conditions = condition_lists(sql)
        .iter()
        .flat_map(|c| evens(c))
        .map(|unit| {
            usize::from(unit.get(3).is_some_and(Value::is_object))
                + usize::from(unit.get(4).is_some_and(Value::is_object))
        })
        .sum::<usize>();
    let set_operations =
        ["intersect", "except", "union"].iter().filter(|key| sql.get(**key).is_some_and(|v| !v.is_null())).count();
    nested_conditions + set_operations
}

/// `unit[0] != AGG_OPS.index('none')` with Python's semantics: booleans compare as 0 and 1,
/// and anything that is not a number (the 'and'/'or' strings of a having list) is unequal to 0.
fn has_aggregate(unit: &Value) -> bool {
    let first = match unit {
        Value::Array(items) => items.first(),
        Value::String(_) => return true,
        _ => return false,
    };
    match first {
        Some(Value::Number(n)) => n.as_f64() != Some(0.0),
        Some(Value::Bool(b)) => *b,
        Some(_) => true,
        None => false,
    }
}

fn count_others(sql: &Value) -> usize {
    let select = sql.get("select").and_then(|s| s.get(1)).and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
    let mut aggregates = select.iter().filter(|u| has_aggregate(u)).count();
    aggregates += evens(list(sql, "where")).filter(|u| has_aggregate(u)).count();
    aggregates += list(sql, "groupBy").iter().filter(|u| has_aggregate(u)).count();
    let order_by = list(sql, "orderBy");
    if !order_by.is_empty() {
        let units = order_by.get(1).and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
        let truthy = |v: &&Value| !v.is_null() && v.as_array().is_none_or(|a| !a.is_empty());
        let firsts = units.iter().filter_map(|u| u.get(1)).filter(truthy);
        let seconds = units.iter().filter_map(|u| u.get(2)).filter(truthy);
        aggregates += firsts.chain(seconds).filter(|u| has_aggregate(u)).count();
    }
    aggregates += list(sql, "having").iter().filter(|u| has_aggregate(u)).count();
    let mut count = usize::from(aggregates > 1);
    count += usize::from(select.len() > 1);
    count += usize::from(list(sql, "where").len() > 1);
    count += usize::from(list(sql, "groupBy").len() > 1);
    count
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// `SELECT count(*) FROM singer`, as dev.json parses it.
    fn count_star() -> Value {
        json!({"from": {"table_units": [["table_unit", 1]], "conds": []},
               "select": [false, [[3, [0, [0, 0, false], null]]]],
               "where": [], "groupBy": [], "having": [], "orderBy": [], "limit": null,
               "intersect": null, "union": null, "except": null})
    }

    #[test]
    fn the_shape_of_a_gold_query_is_read_from_its_parsed_form() {
        let single = json!({"from": {"table_units": [["table_unit", 1]]}, "select": [false, []], "intersect": null});
        let join = json!({"from": {"table_units": [["table_unit", 1], ["table_unit", 2]]}, "select": [false, []]});
        let nested = json!({"from": {"table_units": [["table_unit", 1]]}, "select": [false, []],
            "except": {"from": {"table_units": [["table_unit", 1]]}, "select": [false, []]}});
        assert_eq!(shape(&single), "single-table");
        assert_eq!(shape(&join), "join");
        assert_eq!(shape(&nested), "nested");
    }

    #[test]
    fn hardness_follows_the_official_rules() {
        assert_eq!(hardness(&count_star()), "easy");
        // Two columns selected, one WHERE condition: others = 1, component1 = 1.
        let mut medium = count_star();
        medium["select"] = json!([false, [[0, [0, [0, 1, false], null]], [0, [0, [0, 2, false], null]]]]);
        medium["where"] = json!([[false, 3, [0, [0, 3, false], null], 30.0, null]]);
        assert_eq!(hardness(&medium), "medium");
        // A nested query in a condition with nothing else: hard.
        let mut nested = count_star();
        nested["where"] = json!([[false, 8, [0, [0, 3, false], null], count_star(), null]]);
        assert_eq!(hardness(&nested), "hard");
        // A set operation plus a join and ORDER BY ... LIMIT: extra.
        let mut extra = count_star();
        extra["from"]["table_units"] = json!([["table_unit", 1], ["table_unit", 2]]);
        extra["orderBy"] = json!(["desc", [[0, [0, 1, false], null]]]);
        extra["limit"] = json!(1);
        extra["union"] = count_star();
        assert_eq!(hardness(&extra), "extra");
        assert_eq!(hardness(&Value::Null), "easy");
    }

    #[test]
    fn sqlite_results_keep_sqlite_types() {
        let connection = Connection::open_in_memory().unwrap();
        let table =
            run_sqlite(&connection, "SELECT 1 AS i, 2.5 AS r, 'x' AS t, NULL AS n, x'0aff' AS b, 3 > 2 AS flag")
                .unwrap();
        assert_eq!(table.columns, ["i", "r", "t", "n", "b", "flag"]);
        assert_eq!(
            table.rows,
            vec![vec![
                Cell::Int(1),
                Cell::Float(2.5),
                Cell::Text("x".into()),
                Cell::Null,
                Cell::Text("0x0aff".into()),
                Cell::Int(1)
            ]]
        );
        assert!(run_sqlite(&connection, "SELECT * FROM missing").is_err());
    }
}
