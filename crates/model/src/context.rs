//! What a SQL prompt is built from: plain data, gathered from the semantic layer, the
//! snapshot's manifest and what retrieval found, with personal data left out.

use std::collections::{BTreeMap, BTreeSet};

use quarry_semantic::{SemanticLayer, WeekStart};
use quarry_snapshot::Manifest;
use serde::{Deserialize, Serialize};

/// Everything the SQL prompt shows. Plain data: it does not depend on retrieval types, and a
/// caller can build one by hand.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PromptContext {
    /// The user's question, shown fenced as data.
    pub question: String,
    /// The snapshot's as-of date, e.g. `2025-12-31`; relative time phrases resolve against it.
    pub as_of: String,
    /// The snapshot id.
    pub snapshot_id: String,
    /// How time phrases are read, e.g. "last month = the calendar month before as_of's month".
    pub time_conventions: Vec<String>,
    /// The tables the SQL may use, with their (non-personal) columns.
    pub tables: Vec<TableContext>,
    /// Metric definitions to use as written.
    pub metrics: Vec<MetricContext>,
    /// Verified question/SQL pairs, shown as examples.
    pub examples: Vec<ExampleContext>,
    /// Stored values that words of the question refer to.
    pub values: Vec<ValueContext>,
    /// Earlier turns of the conversation, oldest first.
    pub conversation: Vec<TurnContext>,
    /// Earlier failed SQL for this same question, oldest first; non-empty asks for a repair.
    pub attempts: Vec<FailedAttempt>,
}

/// A table shown to the model.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TableContext {
    /// Table name as queried.
    pub name: String,
    /// What one row is.
    pub description: String,
    /// Its columns, never personal ones.
    pub columns: Vec<ColumnContext>,
}

/// A column shown to the model.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ColumnContext {
    /// Column name.
    pub name: String,
    /// SQL type, e.g. `BIGINT`, `TIMESTAMP`, `DECIMAL(12, 2)`.
    pub data_type: String,
    /// What it holds.
    pub description: String,
    /// A few stored values, so that filters use the stored spelling.
    pub sample_values: Vec<String>,
}

/// A metric definition shown to the model.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MetricContext {
    /// Identifier, e.g. `revenue`.
    pub name: String,
    /// What it measures.
    pub description: String,
    /// The aggregate SQL expression, e.g. `SUM(amount_usd)`.
    pub sql: String,
    /// The table it aggregates.
    pub table: String,
    /// The condition every counted row meets, e.g. `status = 'paid'`.
    pub filter: Option<String>,
    /// The column time ranges filter on.
    pub time_column: Option<String>,
}

/// A verified question/SQL pair.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ExampleContext {
    /// The question.
    pub question: String,
    /// The SQL a person checked for it.
    pub sql: String,
}

/// A stored value that words of the question refer to ('Germany' is `accounts.country = 'DE'`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ValueContext {
    /// The table.
    pub table: String,
    /// The column.
    pub column: String,
    /// The value as stored.
    pub value: String,
    /// The words of the question that name it; empty when not known.
    pub matched_words: Vec<String>,
}

/// An earlier turn of the conversation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TurnContext {
    /// What was asked.
    pub question: String,
    /// The SQL that answered it, if any.
    pub sql: Option<String>,
    /// The answer's one-paragraph summary.
    pub summary: String,
}

/// A failed SQL attempt for the current question, shown so that the model repairs it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FailedAttempt {
    /// The SQL that failed.
    pub sql: String,
    /// Why it failed (a policy refusal, a planning or execution error).
    pub error: String,
}

/// What retrieval found relevant to a question; input of [`prompt_context_from_layer`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Relevant {
    /// Table names.
    pub tables: Vec<String>,
    /// Metric names.
    pub metrics: Vec<String>,
    /// Indices into the layer's `verified_queries`.
    pub verified: Vec<usize>,
    /// Known values as `(table, column, value)`.
    pub values: Vec<(String, String, String)>,
    /// Sample values by `(table, column)`.
    pub sample_values: BTreeMap<(String, String), Vec<String>>,
}

/// The prompt context for `question` from the layer, the snapshot's manifest and what
/// retrieval found.
///
/// Personal-data columns ([`SemanticLayer::is_personal`]) are never included, not even their
/// names: not as columns, sample values or known values, and verified examples whose SQL
/// names one are left out. The tables of retrieved metrics are included automatically; when
/// retrieval found neither tables nor metrics, every table of the layer is. Column types come
/// from the manifest, descriptions from the layer; names the layer does not know are skipped.
pub fn prompt_context_from_layer(
    layer: &SemanticLayer,
    manifest: &Manifest,
    question: &str,
    relevant: &Relevant,
) -> PromptContext {
    let metrics: Vec<MetricContext> = relevant
        .metrics
        .iter()
        .filter_map(|name| layer.metric(name))
        .map(|m| MetricContext {
            name: m.name.clone(),
            description: m.description.clone(),
            sql: m.expression.clone(),
            table: m.table.clone(),
            filter: m.filter.clone(),
            time_column: m.time_column.clone(),
        })
        .collect();

    let mut table_names: Vec<&str> = Vec::new();
    let wanted: Vec<&str> = if relevant.tables.is_empty() && relevant.metrics.is_empty() {
        layer.tables.iter().map(|t| t.name.as_str()).collect()
    } else {
        relevant.tables.iter().map(String::as_str).chain(metrics.iter().map(|m| m.table.as_str())).collect()
    };
    for name in wanted {
        if layer.table(name).is_some() && !table_names.contains(&name) {
            table_names.push(name);
        }
    }

    let tables: Vec<TableContext> = table_names
        .iter()
        .filter_map(|&name| layer.table(name))
        .map(|table| {
            // The snapshot's schema is the truth about which columns exist; the layer describes them.
            let columns: Vec<(String, String)> = match manifest.table(&table.name) {
                Some(entry) => entry.columns.iter().map(|c| (c.name.clone(), sql_type(&c.data_type))).collect(),
                None => table.columns.iter().map(|c| (c.name.clone(), String::new())).collect(),
            };
            let columns = columns
                .into_iter()
                .filter(|(column, _)| !layer.is_personal(&table.name, column))
                .map(|(column, data_type)| ColumnContext {
                    description: table.column(&column).map(|c| c.description.clone()).unwrap_or_default(),
                    sample_values: relevant
                        .sample_values
                        .get(&(table.name.clone(), column.clone()))
                        .cloned()
                        .unwrap_or_default(),
                    name: column,
                    data_type,
                })
                .collect();
            TableContext { name: table.name.clone(), description: table.description.clone(), columns }
        })
        .collect();

    let personal_names: BTreeSet<String> = layer
        .personal_columns()
        .into_iter()
        .map(|(_, column)| column)
        .filter(|column| !tables.iter().any(|t| t.columns.iter().any(|c| &c.name == column)))
        .collect();
    let examples = relevant
        .verified
        .iter()
        .filter_map(|&i| layer.verified_queries.get(i))
        .filter(|v| !personal_names.iter().any(|name| mentions_identifier(&v.sql, name)))
        .map(|v| ExampleContext { question: v.question.clone(), sql: v.sql.trim_end().to_string() })
        .collect();

    let values = relevant
        .values
        .iter()
        .filter(|(table, column, _)| layer.table(table).is_some() && !layer.is_personal(table, column))
        .map(|(table, column, value)| ValueContext {
            table: table.clone(),
            column: column.clone(),
            value: value.clone(),
            matched_words: matched_words(layer, question, table, column, value),
        })
        .collect();

    PromptContext {
        question: question.to_string(),
        as_of: manifest.as_of.to_string(),
        snapshot_id: manifest.id.clone(),
        time_conventions: time_conventions(layer),
        tables,
        metrics,
        examples,
        values,
        conversation: Vec::new(),
        attempts: Vec::new(),
    }
}

/// The layer's time conventions in words; the dates themselves come with `as_of` in the prompt.
fn time_conventions(layer: &SemanticLayer) -> Vec<String> {
    let week = match layer.time.week_start {
        WeekStart::Monday => "weeks start on Monday (ISO weeks, as date_trunc('week', …) gives)",
        WeekStart::Sunday => {
            "weeks start on Sunday: a week is date_trunc('week', ts + INTERVAL '1 day') - INTERVAL '1 day'"
        }
    };
    vec![
        "today = as_of; yesterday = the day before as_of".into(),
        "this month = the calendar month of as_of, up to and including as_of".into(),
        "last month = the calendar month before as_of's month".into(),
        "this year = the calendar year of as_of, up to and including as_of; last year = the calendar year before"
            .into(),
        "last N days = the N days ending with as_of, as_of included".into(),
        week.into(),
        "a range written with a year or a month (\"in 2025\", \"in March\") is that whole calendar period".into(),
    ]
}

/// The words of `question` that name `value` of `table.column`: the value itself or a synonym
/// the layer's dimensions give for it.
fn matched_words(layer: &SemanticLayer, question: &str, table: &str, column: &str, value: &str) -> Vec<String> {
    let question = question.to_lowercase();
    let names = layer
        .dimensions
        .iter()
        .filter(|d| d.columns().contains(&(table, column)))
        .flat_map(|d| d.values.iter().filter(|v| v.value == value))
        .flat_map(|v| v.synonyms.iter().map(String::as_str))
        .chain(std::iter::once(value));
    let mut words: Vec<String> = Vec::new();
    for name in names {
        if !name.is_empty() && contains_phrase(&question, &name.to_lowercase()) && !words.iter().any(|w| w == name) {
            words.push(name.to_string());
        }
    }
    words
}

/// Whether `phrase` occurs in `text` between word boundaries.
fn contains_phrase(text: &str, phrase: &str) -> bool {
    text.match_indices(phrase).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + phrase.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

/// Whether `sql` names `identifier` as a whole word (case-insensitive).
fn mentions_identifier(sql: &str, identifier: &str) -> bool {
    sql.split(|c: char| !(c.is_alphanumeric() || c == '_')).any(|token| token.eq_ignore_ascii_case(identifier))
}

/// The SQL name of an Arrow type as the manifest prints it (`Int64`, `Timestamp(µs)`,
/// `Decimal128(12, 2)`…); models write better SQL against SQL type names.
fn sql_type(arrow: &str) -> String {
    let name = arrow.split('(').next().unwrap_or(arrow);
    let args = arrow.strip_prefix(name).unwrap_or_default();
    match name {
        "Int8" => "TINYINT".into(),
        "Int16" => "SMALLINT".into(),
        "Int32" => "INT".into(),
        "Int64" => "BIGINT".into(),
        "UInt8" | "UInt16" | "UInt32" | "UInt64" => format!("{} (unsigned)", sql_type(&arrow[1..])),
        "Float16" | "Float32" => "REAL".into(),
        "Float64" => "DOUBLE".into(),
        "Utf8" | "LargeUtf8" | "Utf8View" => "VARCHAR".into(),
        "Boolean" => "BOOLEAN".into(),
        "Date32" | "Date64" => "DATE".into(),
        "Timestamp" if arrow.contains(',') && !arrow.contains("None") => "TIMESTAMP WITH TIME ZONE".into(),
        "Timestamp" => "TIMESTAMP".into(),
        "Decimal32" | "Decimal64" | "Decimal128" | "Decimal256" => format!("DECIMAL{args}"),
        _ => arrow.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrow_types_become_sql_types() {
        let cases = [
            ("Int64", "BIGINT"),
            ("Int32", "INT"),
            ("UInt32", "INT (unsigned)"),
            ("Utf8", "VARCHAR"),
            ("Utf8View", "VARCHAR"),
            ("Timestamp(µs)", "TIMESTAMP"),
            ("Timestamp(Microsecond, None)", "TIMESTAMP"),
            ("Timestamp(µs, \"UTC\")", "TIMESTAMP WITH TIME ZONE"),
            ("Decimal128(12, 2)", "DECIMAL(12, 2)"),
            ("Boolean", "BOOLEAN"),
            ("Date32", "DATE"),
            ("List(Int64)", "List(Int64)"),
        ];
        for (arrow, sql) in cases {
            assert_eq!(sql_type(arrow), sql, "{arrow}");
        }
    }

    #[test]
    fn phrases_match_whole_words_only() {
        assert!(contains_phrase("revenue in germany last month", "germany"));
        assert!(contains_phrase("de", "de"));
        assert!(!contains_phrase("revenue by industry", "us"));
        assert!(mentions_identifier("SELECT u.Email FROM users u", "email"));
        assert!(!mentions_identifier("SELECT email_domain FROM users", "email"));
    }
}
