//! Terminal and JSON output of the `quarry` command.

use std::collections::BTreeMap;
use std::io::Write;

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{Cell, CellAlignment, ContentArrangement, Table};
use quarry_answer::{Answer, AnswerStatus, SqlAnswer};
use quarry_exec::ColumnInfo;
use quarry_snapshot::Snapshot;
use quarry_snapshot::import::ImportReport;
use serde_json::Value;

/// Rows printed in a terminal table; `--json` gives them all.
const MAX_TERMINAL_ROWS: usize = 50;

pub fn print_json(value: &Value) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut stdout, value)?;
    writeln!(stdout)?;
    Ok(())
}

/// The answer as JSON, with `demo_notice`: the line saying it comes from the demo warehouse
/// while the user has snapshots of their own (null otherwise).
pub fn ask_json(answer: &Answer, demo_notice: Option<&str>) -> Value {
    with_notice(serde_json::to_value(answer).expect("answers serialize"), demo_notice)
}

/// The result as JSON, with `demo_notice` as in [`ask_json`].
pub fn sql_json(answer: &SqlAnswer, demo_notice: Option<&str>) -> Value {
    with_notice(serde_json::to_value(answer).expect("results serialize"), demo_notice)
}

fn with_notice(mut value: Value, demo_notice: Option<&str>) -> Value {
    if let Value::Object(object) = &mut value {
        object.insert("demo_notice".into(), demo_notice.map_or(Value::Null, |notice| Value::String(notice.into())));
    }
    value
}

fn is_numeric(column: &ColumnInfo) -> bool {
    let t = column.data_type.as_str();
    t.contains("INT") || t.starts_with("DECIMAL") || t == "DOUBLE" || t == "FLOAT"
}

fn cell_text(value: &Value) -> String {
    match value {
        Value::Null => "NULL".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

pub fn table(columns: &[ColumnInfo], rows: &[Vec<Value>]) -> String {
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED).set_content_arrangement(ContentArrangement::Dynamic);
    table.set_header(columns.iter().map(|c| Cell::new(&c.name)));
    for row in rows.iter().take(MAX_TERMINAL_ROWS) {
        table.add_row(row.iter().zip(columns).map(|(value, column)| {
            let cell = Cell::new(cell_text(value));
            if is_numeric(column) { cell.set_alignment(CellAlignment::Right) } else { cell }
        }));
    }
    let mut text = table.to_string();
    if rows.len() > MAX_TERMINAL_ROWS {
        text.push_str(&format!("\n… {} more rows (use --json for all)", rows.len() - MAX_TERMINAL_ROWS));
    }
    text
}

pub fn print_footer(rows: usize, truncated: bool, snapshot_id: &str, timings: &BTreeMap<String, f64>) {
    let total = timings.get("total").copied().unwrap_or_default();
    println!(
        "{rows} row{}{} · snapshot {snapshot_id} · {total:.1} ms",
        if rows == 1 { "" } else { "s" },
        if truncated { " (cut at the row limit)" } else { "" }
    );
}

/// How the policy rewrote the SQL, when it did.
pub fn print_sql_notes(notes: &[String]) {
    if !notes.is_empty() {
        println!("\nThe SQL was adjusted to run as meant:");
        for note in notes {
            println!("  - {note}");
        }
    }
}

pub fn print_answer(answer: &Answer) {
    println!("{}", answer.summary);
    match answer.status {
        AnswerStatus::NeedsClarification => {
            if let Some(clarification) = &answer.clarification {
                println!("\nDid you mean:");
                for (number, option) in clarification.options.iter().enumerate() {
                    println!("  {}. {option}", number + 1);
                }
            }
            return;
        }
        AnswerStatus::CannotAnswer => return,
        AnswerStatus::Answered => {}
    }
    println!();
    println!("{}", table(&answer.columns, &answer.rows));
    if let Some(sql) = &answer.sql {
        println!("\nSQL:\n{sql}");
    }
    print_sql_notes(&answer.sql_notes);
    if let Some(explanation) = &answer.explanation {
        println!("\nHow this was answered:");
        for measure in &explanation.measures {
            println!("  measure:    {measure}");
        }
        if !explanation.group_by.is_empty() {
            println!("  grouped by: {}", explanation.group_by.join(", "));
        }
        if let Some(window) = &explanation.time_window {
            println!("  time:       {window}");
        }
        for filter in &explanation.filters {
            println!("  condition:  {filter}");
        }
        if let Some(ranking) = &explanation.ranking {
            println!("  order:      {ranking}");
        }
        for assumption in &explanation.assumptions {
            println!("  assumed:    {assumption}");
        }
        if !explanation.ignored.is_empty() {
            println!("  NOT UNDERSTOOD (ignored): {}", explanation.ignored.join(", "));
        }
        println!(
            "  route: {} · confidence {:.2} · attempts {}",
            answer.route,
            answer.confidence.unwrap_or_default(),
            answer.attempts
        );
    }
    let stages: Vec<String> = ["plan", "validate", "execute"]
        .iter()
        .filter_map(|stage| answer.timings_ms.get(*stage).map(|ms| format!("{stage} {ms:.1}")))
        .collect();
    print_footer(answer.rows.len(), answer.truncated, &answer.snapshot_id, &answer.timings_ms);
    println!("stages (ms): {}", stages.join(" · "));
}

pub fn print_import_report(report: &ImportReport) {
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED).set_content_arrangement(ContentArrangement::Dynamic);
    table.set_header(vec!["source", "table", "rows", "columns (type)"]);
    for t in &report.tables {
        let columns: Vec<String> =
            t.columns.iter().map(|c| format!("{} {}", c.name, quarry_exec::sql_type_name(&c.data_type))).collect();
        table.add_row(vec![
            Cell::new(&t.source),
            Cell::new(&t.table),
            Cell::new(t.rows),
            Cell::new(columns.join(", ")),
        ]);
    }
    println!("{table}");
    for note in import_notes(report) {
        println!("note: {note}");
    }
}

/// Every note of an import once: a column's note is also among the report's notes (where an
/// importer puts it there), so it is printed with them, in their order.
fn import_notes(report: &ImportReport) -> Vec<&str> {
    let mut notes: Vec<&str> = Vec::new();
    let column_notes = report.tables.iter().flat_map(|t| t.columns.iter().filter_map(|c| c.note.as_deref()));
    for note in report.notes.iter().map(String::as_str).chain(column_notes) {
        if !notes.contains(&note) {
            notes.push(note);
        }
    }
    notes
}

/// The installed snapshots, the default one marked with `*`.
pub fn snapshot_list(snapshots: &[Snapshot], default_id: Option<&str>) -> String {
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED);
    table.set_header(vec!["default", "id", "as_of", "source", "tables", "rows", "MB", "created"]);
    for s in snapshots {
        let m = &s.manifest;
        let mark = if default_id == Some(m.id.as_str()) { "*" } else { "" };
        let source = quarry_bootstrap::describe_source(s);
        table.add_row(vec![
            Cell::new(mark).set_alignment(CellAlignment::Center),
            Cell::new(&m.id),
            Cell::new(m.as_of),
            Cell::new(source),
            Cell::new(m.tables.len()),
            Cell::new(m.total_rows()).set_alignment(CellAlignment::Right),
            Cell::new(format!("{:.1}", m.total_bytes() as f64 / 1e6)).set_alignment(CellAlignment::Right),
            Cell::new(m.created_at.format("%Y-%m-%d %H:%M")),
        ]);
    }
    table.to_string()
}

pub fn print_manifest(snapshot: &Snapshot) {
    let m = &snapshot.manifest;
    println!("snapshot {} (as of {}, created {})", m.id, m.as_of, m.created_at.format("%Y-%m-%d %H:%M:%S UTC"));
    println!("directory: {}", snapshot.dir.display());
    println!("source: {}", serde_json::to_string(&m.source).unwrap_or_default());
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED).set_content_arrangement(ContentArrangement::Dynamic);
    table.set_header(vec!["table", "rows", "bytes", "columns"]);
    for t in &m.tables {
        let columns: Vec<String> = t
            .columns
            .iter()
            .map(|c| format!("{} {}{}", c.name, c.data_type, if c.nullable { "" } else { " not null" }))
            .collect();
        table.add_row(vec![
            Cell::new(&t.name),
            Cell::new(t.rows).set_alignment(CellAlignment::Right),
            Cell::new(t.bytes).set_alignment(CellAlignment::Right),
            Cell::new(columns.join(", ")),
        ]);
    }
    println!("{table}");
    for note in &m.notes {
        println!("note: {note}");
    }
}
