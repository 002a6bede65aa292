//! SQLite databases: every ordinary table, its declared primary and foreign keys, and column
//! types chosen from the declared type together with the values actually stored (SQLite lets
//! any column hold any value).
//!
//! Each table is read twice inside one read transaction: first to profile every column's
//! values, then to convert them, so memory stays bounded by one batch per table.
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use datafusion::arrow::array::ArrayRef;
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::record_batch::RecordBatch;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};

use super::names::{NameAllocator, rename};
use super::values::{Cell, ColumnBuilder, ColumnProfile, TIMESTAMP};
use super::{BATCH_ROWS, ColumnReport, LoadedTable, TableReport, import_error};
use crate::manifest::ForeignKey;
use crate::writer::TableData;
use crate::{Error, Result};

/// A table chosen for import, before its rows are read.
struct TablePlan {
    /// Name in the database.
    source: String,
    /// Name in the snapshot.
    name: String,
    columns: Vec<ColumnPlan>,
    /// Primary key column indexes, in key order.
    primary_key: Vec<usize>,
    /// `ORDER BY` clause giving rowid order (or primary key order without a rowid).
    order_by: String,
}

struct ColumnPlan {
    source: String,
    name: String,
    declared: String,
}

pub(super) fn load(path: &Path, notes: &mut Vec<String>) -> Result<Vec<LoadedTable>> {
    let sqlite = |source: rusqlite::Error| Error::Sqlite { path: path.to_path_buf(), source };
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(|e| unreadable(path, &e))?;
    // One read transaction: both passes over every table see the same data even if another
    // process writes to the database meanwhile.
    let _read = conn.unchecked_transaction().map_err(|e| unreadable(path, &e))?;

    let listed = list_tables(&conn).map_err(|e| unreadable(path, &e))?;
    let mut table_names = NameAllocator::default();
    let mut plans = Vec::new();
    for (source, kind, without_rowid) in listed {
        // The schema table itself is listed too, but it describes the database rather than
        // holding its data.
        if source == "sqlite_schema" {
            continue;
        }
        if source.to_ascii_lowercase().starts_with("sqlite_") {
            notes.push(format!("skipped SQLite's internal table {source}"));
            continue;
        }
        match kind.as_str() {
            "table" => {}
            "view" => {
                notes.push(format!("skipped view {source}: only tables are imported"));
                continue;
            }
            "virtual" => {
                notes.push(format!("skipped virtual table {source}: it needs its SQLite module to be read"));
                continue;
            }
            _ => {
                notes.push(format!("skipped {kind} table {source}: it holds the internals of a virtual table"));
                continue;
            }
        }
        let name = table_names.allocate(&source, "table");
        if name != source {
            notes.push(format!("table {}", rename(&source, &name)));
        }
        plans.push(plan_table(&conn, source, name, without_rowid).map_err(sqlite)?);
    }
    if plans.is_empty() {
        return Err(import_error(path, "the database has no tables to import; create at least one table in it"));
    }

    let keys = resolve_foreign_keys(&conn, &plans, notes).map_err(sqlite)?;
    let mut tables = Vec::with_capacity(plans.len());
    for (plan, foreign_keys) in plans.iter().zip(keys) {
        let renames: Vec<String> =
            plan.columns.iter().filter(|c| c.source != c.name).map(|c| rename(&c.source, &c.name)).collect();
        if !renames.is_empty() {
            notes.push(format!("{}: columns renamed {}", plan.name, renames.join(", ")));
        }
        let mut table = read_table(&conn, path, plan, notes)?;
        table.data.primary_key = plan.primary_key.iter().map(|&i| plan.columns[i].name.clone()).collect();
        table.data.foreign_keys = foreign_keys;
        tables.push(table);
    }
    Ok(tables)
}

fn unreadable(path: &Path, e: &rusqlite::Error) -> Error {
    import_error(
        path,
        format!(
            "it has a SQLite header but cannot be read ({e}); check that it is a complete, uncorrupted SQLite 3 database"
        ),
    )
}

/// Quotes an identifier for SQLite.
fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `(name, type, without_rowid)` of every object in the main schema, by name.
fn list_tables(conn: &Connection) -> rusqlite::Result<Vec<(String, String, bool)>> {
    let mut stmt = conn.prepare("SELECT name, type, wr FROM pragma_table_list WHERE schema = 'main' ORDER BY name")?;
    let rows = stmt.query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get::<_, i64>(2)? != 0)))?;
    rows.collect()
}

fn plan_table(conn: &Connection, source: String, name: String, without_rowid: bool) -> rusqlite::Result<TablePlan> {
    let mut stmt = conn.prepare("SELECT name, type, pk FROM pragma_table_info(?1) ORDER BY cid")?;
    let info: Vec<(String, String, i64)> = stmt
        .query_map([&source], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut column_names = NameAllocator::default();
    let columns: Vec<ColumnPlan> = info
        .iter()
        .enumerate()
        .map(|(i, (column, declared, _))| ColumnPlan {
            source: column.clone(),
            name: column_names.allocate(column, &format!("column_{}", i + 1)),
            declared: declared.clone(),
        })
        .collect();
    let mut keyed: Vec<(i64, usize)> =
        info.iter().enumerate().filter(|(_, c)| c.2 > 0).map(|(i, c)| (c.2, i)).collect();
    keyed.sort();
    let primary_key: Vec<usize> = keyed.into_iter().map(|(_, i)| i).collect();

    let order_by = if without_rowid {
        let key: Vec<String> = primary_key.iter().map(|&i| ident(&columns[i].source)).collect();
        if key.is_empty() { String::new() } else { format!(" ORDER BY {}", key.join(", ")) }
    } else {
        // A column may shadow the rowid's name; SQLite offers three aliases for that reason.
        ["rowid", "_rowid_", "oid"]
            .into_iter()
            .find(|alias| !columns.iter().any(|c| c.source.eq_ignore_ascii_case(alias)))
            .map(|alias| format!(" ORDER BY {alias}"))
            .unwrap_or_default()
    };
    Ok(TablePlan { source, name, columns, primary_key, order_by })
}

fn select_sql(plan: &TablePlan) -> String {
    let columns: Vec<String> = plan.columns.iter().map(|c| ident(&c.source)).collect();
    format!("SELECT {} FROM {}{}", columns.join(", "), ident(&plan.source), plan.order_by)
}

/// Text of a SQLite value as a [`Cell`]; text that is not UTF-8 is decoded with replacement
/// characters into `scratch` and reported through `lossy`.
fn cell<'a>(value: ValueRef<'a>, scratch: &'a mut String, lossy: &mut bool) -> Cell<'a> {
    match value {
        ValueRef::Null => Cell::Null,
        ValueRef::Integer(v) => Cell::Int(v),
        ValueRef::Real(v) => Cell::Real(v),
        ValueRef::Blob(b) => Cell::Blob(b),
        ValueRef::Text(bytes) => match std::str::from_utf8(bytes) {
            Ok(text) => Cell::Text(text),
            Err(_) => {
                *scratch = String::from_utf8_lossy(bytes).into_owned();
                *lossy = true;
                Cell::Text(scratch.as_str())
            }
        },
    }
}

fn read_table(conn: &Connection, path: &Path, plan: &TablePlan, notes: &mut Vec<String>) -> Result<LoadedTable> {
    let sqlite = |source: rusqlite::Error| Error::Sqlite { path: path.to_path_buf(), source };
    let sql = select_sql(plan);
    let width = plan.columns.len();
    let mut scratch = String::new();
    let mut lossy = false;

    let mut profiles = vec![ColumnProfile::default(); width];
    let mut stmt = conn.prepare(&sql).map_err(sqlite)?;
    let mut rows = stmt.query([]).map_err(sqlite)?;
    while let Some(row) = rows.next().map_err(sqlite)? {
        for (i, profile) in profiles.iter_mut().enumerate() {
            profile.observe(cell(row.get_ref(i).map_err(sqlite)?, &mut scratch, &mut lossy));
        }
    }
    drop(rows);

    let choices: Vec<(DataType, Option<String>)> =
        plan.columns.iter().zip(&profiles).map(|(c, p)| choose_type(&c.declared, p)).collect();
    let schema = Arc::new(Schema::new(
        plan.columns.iter().zip(&choices).map(|(c, (t, _))| Field::new(&c.name, t.clone(), true)).collect::<Vec<_>>(),
    ));
    let mut builders: Vec<ColumnBuilder> = choices.iter().map(|(t, _)| ColumnBuilder::new(t, false)).collect();
    let mut batches = Vec::new();
    let mut pending = 0usize;
    let mut total = 0u64;
    let mut rows = stmt.query([]).map_err(sqlite)?;
    while let Some(row) = rows.next().map_err(sqlite)? {
        for (i, builder) in builders.iter_mut().enumerate() {
            lossy = false;
            let value = cell(row.get_ref(i).map_err(sqlite)?, &mut scratch, &mut lossy);
            match value {
                Cell::Text(text) if lossy => builder.push_lossy_text(text),
                other => builder.push(other),
            }
        }
        pending += 1;
        total += 1;
        if pending == BATCH_ROWS {
            batches.push(finish_batch(&plan.name, &schema, &mut builders)?);
            pending = 0;
        }
    }
    if pending > 0 {
        batches.push(finish_batch(&plan.name, &schema, &mut builders)?);
    }

    let mut columns = Vec::with_capacity(width);
    for ((plan_column, (data_type, reason)), builder) in plan.columns.iter().zip(choices).zip(&builders) {
        let details: Vec<String> =
            reason.into_iter().chain((!builder.changes.is_empty()).then(|| builder.changes.describe())).collect();
        let declared = if plan_column.declared.is_empty() {
            "no declared type".to_string()
        } else {
            format!("declared {}", plan_column.declared)
        };
        let note = (!details.is_empty())
            .then(|| format!("{}.{} ({declared}): {data_type}; {}", plan.name, plan_column.name, details.join("; ")));
        notes.extend(note.clone());
        columns.push(ColumnReport {
            source: plan_column.source.clone(),
            name: plan_column.name.clone(),
            declared: Some(plan_column.declared.clone()),
            data_type,
            nulled: builder.changes.nulled(),
            note,
        });
    }
    Ok(LoadedTable {
        data: TableData::new(&plan.name, schema, batches),
        report: TableReport { source: plan.source.clone(), table: plan.name.clone(), rows: total, columns },
    })
}

fn finish_batch(table: &str, schema: &Arc<Schema>, builders: &mut [ColumnBuilder]) -> Result<RecordBatch> {
    let arrays: Vec<ArrayRef> = builders.iter_mut().map(ColumnBuilder::finish).collect();
    RecordBatch::try_new(Arc::clone(schema), arrays)
        .map_err(|e| Error::format(format!("building a batch of table {table}"))(e.to_string()))
}

/// What a declared column type asks for. Dates, date-times and booleans are recognised by
/// name; everything else follows SQLite's own affinity rules (datatype3.html, 3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Declared {
    Bool,
    Date,
    Timestamp,
    Integer,
    Text,
    /// No declared type, or BLOB: values keep their storage class.
    Untyped,
    Real,
    Numeric,
}

impl Declared {
    fn of(declared: &str) -> Self {
        let d = declared.to_ascii_uppercase();
        let has = |s: &str| d.contains(s);
        if has("BOOL") {
            Declared::Bool
        } else if has("DATETIME") || has("TIMESTAMP") {
            Declared::Timestamp
        } else if has("DATE") {
            Declared::Date
        } else if has("INT") {
            Declared::Integer
        } else if has("CHAR") || has("CLOB") || has("TEXT") {
            Declared::Text
        } else if has("BLOB") || d.trim().is_empty() {
            Declared::Untyped
        } else if has("REAL") || has("FLOA") || has("DOUB") {
            Declared::Real
        } else {
            Declared::Numeric
        }
    }
}

/// The Arrow type for a column declared `declared` holding the values in `p`, and the reason
/// when it is not the type the declaration asks for.
fn choose_type(declared: &str, p: &ColumnProfile) -> (DataType, Option<String>) {
    let kind = Declared::of(declared);
    let typed = p.values() - p.null_tokens;
    match kind {
        Declared::Bool => {
            if typed == 0 || (p.ints_not_01 == 0 && p.ints + p.text_bools == typed) {
                return (DataType::Boolean, None);
            }
            let example = first_example(p, &[&p.example_int, &p.example_text_bool]);
            numeric_or_text(p, Declared::Numeric, Some(format!("holds values other than 0/1 (e.g. {example})")))
        }
        Declared::Date | Declared::Timestamp => {
            let temporal = typed == 0 || p.text_temporals() == typed;
            if temporal && kind == Declared::Date && p.text_timestamps == 0 {
                return (DataType::Date32, None);
            }
            if temporal {
                let reason = (kind == Declared::Date).then(|| {
                    let example = p.example_text_temporal.clone().unwrap_or_default();
                    format!("values carry a time of day (e.g. {example})")
                });
                return (TIMESTAMP, reason);
            }
            let example = first_example(p, &[&p.example_int, &p.example_real, &p.example_text_other, &p.example_blob]);
            let wanted = if kind == Declared::Date { "YYYY-MM-DD dates" } else { "YYYY-MM-DD HH:MM:SS date-times" };
            numeric_or_text(p, Declared::Numeric, Some(format!("holds values that are not {wanted} (e.g. {example})")))
        }
        Declared::Integer | Declared::Real | Declared::Numeric => numeric_or_text(p, kind, None),
        Declared::Text => {
            // Numbers written as text sort and compare as text ('98' > '150') and make AVG fail:
            // when every value reads as a number (codes with leading zeros do not), the column
            // is a number column whatever its declaration says.
            let numbers = p.ints + p.reals + p.text_ints + p.text_floats;
            if typed > 0 && numbers == typed {
                let (data_type, _) = numeric_or_text(p, Declared::Numeric, None);
                let example = first_example(p, &[&p.example_text_other, &p.example_int, &p.example_real]);
                let mut reason = format!(
                    "declared {declared}, but every value is a number (e.g. {example}), so it is imported as {data_type}"
                );
                if p.null_tokens > 0 {
                    let example = p.example_null_token.clone().unwrap_or_default();
                    reason.push_str(&format!(
                        "; {} empty or null-like strings (e.g. {example}) read as NULL",
                        p.null_tokens
                    ));
                }
                return (data_type, Some(reason));
            }
            let mut reasons = Vec::new();
            if p.null_strings > 0 {
                let example = p.example_null_string.clone().unwrap_or_default();
                reasons.push(format!(
                    "{example} strings kept as text, as declared (they are not NULL): {}",
                    p.null_strings
                ));
            }
            (DataType::Utf8, (!reasons.is_empty()).then(|| reasons.join("; ")))
        }
        Declared::Untyped => {
            let numbers = p.ints + p.reals;
            let texts = p.texts() - p.null_tokens;
            if typed == 0 || texts == typed {
                (DataType::Utf8, None)
            } else if p.blobs == typed {
                (DataType::Binary, None)
            } else if numbers == typed {
                (if p.reals == 0 { DataType::Int64 } else { DataType::Float64 }, None)
            } else {
                let classes: Vec<&str> =
                    [(p.ints, "integers"), (p.reals, "reals"), (texts, "texts"), (p.blobs, "blobs")]
                        .into_iter()
                        .filter(|(n, _)| *n > 0)
                        .map(|(_, what)| what)
                        .collect();
                (DataType::Utf8, Some(format!("holds {}, so every value is kept as text", classes.join(" and "))))
            }
        }
    }
}

/// Int64 or Float64 when every value reads as a number (null-like strings become NULL),
/// otherwise text so that no value is lost. `reason` says why a typed declaration fell back
/// to this.
fn numeric_or_text(p: &ColumnProfile, kind: Declared, reason: Option<String>) -> (DataType, Option<String>) {
    let typed = p.values() - p.null_tokens;
    if typed == 0 {
        return (if kind == Declared::Integer { DataType::Int64 } else { DataType::Float64 }, reason);
    }
    if p.non_numeric() == 0 {
        let whole = kind != Declared::Real && p.reals == 0 && p.text_floats == 0;
        return (if whole { DataType::Int64 } else { DataType::Float64 }, reason);
    }
    let reason = match reason {
        Some(reason) => format!("{reason}, so every value is kept as text"),
        None => format!(
            "holds {} of {} values that are not numbers (e.g. {}), so every value is kept as text",
            p.non_numeric(),
            p.values(),
            p.example_non_numeric()
        ),
    };
    (DataType::Utf8, Some(reason))
}

fn first_example(p: &ColumnProfile, candidates: &[&Option<String>]) -> String {
    candidates.iter().find_map(|c| c.as_ref()).cloned().unwrap_or_else(|| p.example_non_numeric())
}

/// Declared foreign keys of every planned table, with names mapped to the snapshot's; keys
/// whose target is not among the imported tables and columns are dropped with a note.
fn resolve_foreign_keys(
    conn: &Connection,
    plans: &[TablePlan],
    notes: &mut Vec<String>,
) -> rusqlite::Result<Vec<Vec<ForeignKey>>> {
    // SQLite resolves names without regard to case, so the lookups do too.
    let by_name: HashMap<String, &TablePlan> = plans.iter().map(|p| (p.source.to_lowercase(), p)).collect();
    let column_of = |plan: &TablePlan, column: &str| {
        plan.columns.iter().find(|c| c.source.eq_ignore_ascii_case(column)).map(|c| c.name.clone())
    };
    let mut all = Vec::with_capacity(plans.len());
    for plan in plans {
        // SQLite numbers a table's foreign keys from the last declared one; descending ids
        // give declaration order.
        let mut stmt = conn
            .prepare("SELECT id, \"table\", \"from\", \"to\" FROM pragma_foreign_key_list(?1) ORDER BY id DESC, seq")?;
        let rows: Vec<(i64, String, String, Option<String>)> = stmt
            .query_map([&plan.source], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let mut groups: Vec<(String, Vec<String>, Vec<Option<String>>)> = Vec::new();
        let mut last_id = None;
        for (id, target, from, to) in rows {
            if last_id != Some(id) {
                groups.push((target, Vec::new(), Vec::new()));
                last_id = Some(id);
            }
            let group = groups.last_mut().expect("a group was just pushed");
            group.1.push(from);
            group.2.push(to);
        }
        let mut keys: Vec<ForeignKey> = Vec::new();
        for (target, from, to) in groups {
            let shown = format!(
                "{}({}) -> {}({})",
                plan.name,
                from.join(", "),
                target,
                to.iter().map(|t| t.as_deref().unwrap_or("?")).collect::<Vec<_>>().join(", ")
            );
            let Some(target_plan) = by_name.get(&target.to_lowercase()) else {
                notes.push(format!("dropped foreign key {shown}: table {target} is not in the database"));
                continue;
            };
            let columns: Option<Vec<String>> = from.iter().map(|c| column_of(plan, c)).collect();
            let Some(columns) = columns else {
                notes.push(format!("dropped foreign key {shown}: a column of {} does not exist", plan.source));
                continue;
            };
            // `REFERENCES t` without columns means t's primary key.
            let ref_columns: Option<Vec<String>> = if to.iter().all(Option::is_none) {
                let key: Vec<String> =
                    target_plan.primary_key.iter().map(|&i| target_plan.columns[i].name.clone()).collect();
                (key.len() == columns.len()).then_some(key)
            } else {
                to.iter().map(|c| c.as_deref().and_then(|c| column_of(target_plan, c))).collect()
            };
            let Some(ref_columns) = ref_columns else {
                notes.push(format!("dropped foreign key {shown}: the referenced column does not exist in {target}"));
                continue;
            };
            let key = ForeignKey { columns, ref_table: target_plan.name.clone(), ref_columns };
            // Some schemas declare the same key twice; once is enough.
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
        all.push(keys);
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(cells: &[Cell<'_>]) -> ColumnProfile {
        let mut p = ColumnProfile::default();
        for c in cells {
            p.observe(*c);
        }
        p
    }

    #[test]
    fn affinity_follows_sqlite_rules() {
        assert_eq!(Declared::of("INTEGER"), Declared::Integer);
        assert_eq!(Declared::of("tinyint(1)"), Declared::Integer);
        assert_eq!(Declared::of("VARCHAR(20)"), Declared::Text);
        assert_eq!(Declared::of(""), Declared::Untyped);
        assert_eq!(Declared::of("blob"), Declared::Untyped);
        assert_eq!(Declared::of("FLOAT(10,2)"), Declared::Real);
        assert_eq!(Declared::of("DECIMAL(19,4)"), Declared::Numeric);
        assert_eq!(Declared::of("bool"), Declared::Bool);
        assert_eq!(Declared::of("DATETIME"), Declared::Timestamp);
        assert_eq!(Declared::of("timestamp"), Declared::Timestamp);
        assert_eq!(Declared::of("DATE"), Declared::Date);
    }

    #[test]
    fn chooses_types_from_values() {
        use Cell::*;
        assert_eq!(choose_type("INTEGER", &profile(&[Int(1), Null])), (DataType::Int64, None));
        assert_eq!(choose_type("DECIMAL(19,4)", &profile(&[Int(1), Real(2.5)])).0, DataType::Float64);
        assert_eq!(choose_type("DECIMAL(19,4)", &profile(&[Int(1), Int(2)])).0, DataType::Int64);
        assert_eq!(choose_type("REAL", &profile(&[])).0, DataType::Float64);
        assert_eq!(choose_type("INTEGER", &profile(&[Int(1), Text("null"), Text("")])).0, DataType::Int64);
        let (t, reason) = choose_type("INTEGER", &profile(&[Int(1), Text("many")]));
        assert_eq!(t, DataType::Utf8);
        assert!(reason.unwrap().contains("'many'"));
        assert_eq!(choose_type("bool", &profile(&[Int(0), Int(1)])).0, DataType::Boolean);
        let (t, reason) = choose_type("bool", &profile(&[Text("T"), Text("F")]));
        assert_eq!(t, DataType::Utf8);
        assert!(reason.unwrap().contains("other than 0/1 (e.g. 'T')"));
        assert_eq!(choose_type("DATE", &profile(&[Text("2020-01-01")])).0, DataType::Date32);
        assert_eq!(choose_type("DATE", &profile(&[Text("2020-01-01 10:00:00")])).0, TIMESTAMP);
        let (t, reason) = choose_type("DATE", &profile(&[Int(19800930)]));
        assert_eq!(t, DataType::Int64);
        assert!(reason.unwrap().contains("e.g. 19800930"));
        assert_eq!(choose_type("DATETIME", &profile(&[Text("2020-01-01 10:00:00"), Text("2020-01-02")])).0, TIMESTAMP);
        assert_eq!(choose_type("", &profile(&[Blob(b"\x00")])).0, DataType::Binary);
        assert_eq!(choose_type("", &profile(&[Int(1), Real(0.5)])).0, DataType::Float64);
        assert_eq!(choose_type("", &profile(&[Int(1), Text("a")])).0, DataType::Utf8);
        let (t, reason) = choose_type("TEXT", &profile(&[Text("null"), Text("x")]));
        assert_eq!(t, DataType::Utf8);
        assert!(reason.unwrap().contains("'null'"));
        let (t, reason) = choose_type("TEXT", &profile(&[Text("18"), Text("null"), Text("15.5"), Int(3)]));
        assert_eq!(t, DataType::Float64);
        let reason = reason.unwrap();
        assert!(reason.contains("declared TEXT, but every value is a number (e.g. '18')"), "{reason}");
        assert!(reason.contains("1 empty or null-like strings (e.g. 'null') read as NULL"), "{reason}");
        assert_eq!(choose_type("varchar(4)", &profile(&[Text("1998"), Text("")])).0, DataType::Int64);
        // Codes with leading zeros are not numbers.
        assert_eq!(choose_type("TEXT", &profile(&[Text("007"), Text("12")])).0, DataType::Utf8);
        assert_eq!(choose_type("TEXT", &profile(&[Text("x")])), (DataType::Utf8, None));
    }
}
