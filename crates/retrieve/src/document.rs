//! The documents that are indexed: one per metric, dimension, table, column, segment,
//! verified question and known value.

use serde::{Deserialize, Serialize};

/// What a document is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A metric of the semantic layer.
    Metric,
    /// A dimension of the semantic layer.
    Dimension,
    /// A table of the snapshot.
    Table,
    /// A column of a table.
    Column,
    /// A known value of a text column.
    Value,
    /// A verified question/SQL pair.
    VerifiedQuestion,
    /// A named condition (segment) of the semantic layer.
    Segment,
}

impl Kind {
    /// Every kind, in a fixed order.
    pub const ALL: [Kind; 7] =
        [Kind::Metric, Kind::Dimension, Kind::Table, Kind::Column, Kind::Value, Kind::VerifiedQuestion, Kind::Segment];

    /// The snake_case name, as stored in payloads and accepted on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Metric => "metric",
            Kind::Dimension => "dimension",
            Kind::Table => "table",
            Kind::Column => "column",
            Kind::Value => "value",
            Kind::VerifiedQuestion => "verified_question",
            Kind::Segment => "segment",
        }
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Kind {
    type Err = crate::Error;

    fn from_str(s: &str) -> crate::Result<Self> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s).ok_or_else(|| {
            let known: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
            crate::Error::config(format!("unknown kind '{s}'; use one of {}", known.join(", ")))
        })
    }
}

/// One indexed item.
///
/// `id` is stable and readable: `metric:revenue`, `dimension:region`, `value:country=DE`,
/// `column:users.signup_channel`, `table:accounts`, `segment:unresolved_tickets`, `verified:<n>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Document {
    /// Stable, readable identifier.
    pub id: String,
    /// What the document is about.
    pub kind: Kind,
    /// The text that is embedded.
    pub text: String,
    /// Structured facts returned with a hit, e.g. `{"table": .., "column": .., "value": ..}`.
    pub payload: serde_json::Map<String, serde_json::Value>,
}

/// Options of [`documents`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentOptions {
    /// Text columns with at most this many distinct values have each value indexed.
    pub max_distinct_values: usize,
    /// Column documents list up to this many of a column's values as examples.
    pub example_values: usize,
}

impl Default for DocumentOptions {
    fn default() -> Self {
        Self { max_distinct_values: 500, example_values: 12 }
    }
}

type Payload = serde_json::Map<String, serde_json::Value>;

fn payload<const N: usize>(entries: [(&str, serde_json::Value); N]) -> Payload {
    entries.into_iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k.to_string(), v)).collect()
}

fn also_called(synonyms: &[String]) -> String {
    if synonyms.is_empty() { String::new() } else { format!(" Also called: {}.", synonyms.join(", ")) }
}

/// A sentence from a description, with a full stop.
fn sentence(text: &str) -> String {
    let text = text.trim();
    if text.is_empty() {
        String::new()
    } else if text.ends_with(['.', '!', '?']) {
        format!(" {text}")
    } else {
        format!(" {text}.")
    }
}

/// The documents of a semantic layer over a snapshot, in a fixed order: metrics, dimensions,
/// tables, columns, segments, verified questions (each in layer order), then known values
/// (by dimension in layer order, then by column, each sorted).
///
/// Texts carry the layer's synonyms, so that the words people use find the documents.
/// Tables of the layer that the snapshot lacks are indexed from the layer alone. Personal-data
/// columns are never indexed: no column document, no values, not even read.
///
/// Known values are those of the text columns with at most
/// [`DocumentOptions::max_distinct_values`] distinct values, plus the values the layer names.
/// A value of a column that a dimension reads is `value:<dimension>=<value>` (one document per
/// dimension, listing the dimension's synonyms for the value); a value of any other column is
/// `value:<table>.<column>=<value>`.
pub fn documents(
    layer: &quarry_semantic::SemanticLayer,
    snapshot: &quarry_snapshot::Snapshot,
    options: &DocumentOptions,
) -> crate::Result<Vec<Document>> {
    use std::collections::{BTreeMap, BTreeSet};

    use serde_json::json;

    use crate::text::humanize;
    use crate::values::{ColumnValues, distinct_text_values};

    let mut docs = Vec::new();

    for metric in &layer.metrics {
        let mut definition = format!("{} of {}", metric.expression, metric.table);
        if let Some(filter) = &metric.filter {
            definition.push_str(&format!(" where {filter}"));
        }
        let text = format!(
            "{} ({}).{}{} Definition: {definition}.",
            metric.display_name(),
            humanize(&metric.name),
            sentence(&metric.description),
            also_called(&metric.synonyms),
        );
        docs.push(Document {
            id: format!("metric:{}", metric.name),
            kind: Kind::Metric,
            text,
            payload: payload([
                ("metric", json!(metric.name)),
                ("label", json!(metric.display_name())),
                ("table", json!(metric.table)),
                ("expression", json!(metric.expression)),
                ("filter", json!(metric.filter)),
                ("time_column", json!(metric.time_column)),
            ]),
        });
    }

    for dimension in &layer.dimensions {
        // The column's description stays on the column document: repeated here it would
        // double words such as "sales" in "Sales region" and outrank the metric they name.
        let columns: Vec<String> = dimension.columns().iter().map(|(t, c)| format!("{t}.{c}")).collect();
        // Its values and their names, so that a question that only filters ("revenue in
        // Germany") still finds the dimension it filters on.
        let values: Vec<String> = dimension
            .values
            .iter()
            .map(|v| {
                std::iter::once(humanize(&v.value)).chain(v.synonyms.iter().cloned()).collect::<Vec<_>>().join(", ")
            })
            .collect();
        let values = if values.is_empty() { String::new() } else { format!(" Values: {}.", values.join("; ")) };
        let text = format!(
            "{} ({}).{} Column: {}.{values}",
            dimension.display_name(),
            humanize(&dimension.name),
            also_called(&dimension.synonyms),
            columns.join(", ")
        );
        let (table, column) = dimension.columns().first().copied().unwrap_or_default();
        docs.push(Document {
            id: format!("dimension:{}", dimension.name),
            kind: Kind::Dimension,
            text,
            payload: payload([
                ("dimension", json!(dimension.name)),
                ("label", json!(dimension.display_name())),
                ("table", json!(table)),
                ("column", json!(column)),
            ]),
        });
    }

    // Distinct values of every non-personal text column of the layer's tables.
    let mut column_values: BTreeMap<(String, String), ColumnValues> = BTreeMap::new();
    for table in &layer.tables {
        if snapshot.manifest.table(&table.name).is_none() {
            continue;
        }
        let found = distinct_text_values(snapshot, &table.name, options.max_distinct_values, |column| {
            !layer.is_personal(&table.name, column)
        })?;
        for (column, values) in found {
            column_values.insert((table.name.clone(), column), values);
        }
    }
    let few = |table: &str, column: &str| match column_values.get(&(table.to_string(), column.to_string())) {
        Some(ColumnValues::Few(values)) => Some(values),
        _ => None,
    };

    for table in &layer.tables {
        let entry = snapshot.manifest.table(&table.name);
        let columns: Vec<&str> = match entry {
            Some(entry) => entry.columns.iter().map(|c| c.name.as_str()).collect(),
            None => table.columns.iter().map(|c| c.name.as_str()).collect(),
        };
        let public: Vec<&str> = columns.into_iter().filter(|c| !layer.is_personal(&table.name, c)).collect();
        let text = format!(
            "{} table.{}{} Columns: {}.",
            humanize(&table.name),
            sentence(&table.description),
            also_called(&table.synonyms),
            public.iter().map(|c| humanize(c)).collect::<Vec<_>>().join(", ")
        );
        docs.push(Document {
            id: format!("table:{}", table.name),
            kind: Kind::Table,
            text,
            payload: payload([("table", json!(table.name))]),
        });
    }

    for table in &layer.tables {
        let entry = snapshot.manifest.table(&table.name);
        let columns: Vec<(String, Option<String>)> = match entry {
            Some(entry) => entry.columns.iter().map(|c| (c.name.clone(), Some(c.data_type.clone()))).collect(),
            None => table.columns.iter().map(|c| (c.name.clone(), None)).collect(),
        };
        for (column, data_type) in columns {
            if layer.is_personal(&table.name, &column) {
                continue;
            }
            let def = table.column(&column);
            let mut text = format!(
                "{} of {} ({}.{column}).{}{}",
                humanize(&column),
                humanize(&table.name),
                table.name,
                sentence(def.map(|d| d.description.as_str()).unwrap_or_default()),
                also_called(def.map(|d| d.synonyms.as_slice()).unwrap_or_default()),
            );
            if let Some(values) = few(&table.name, &column) {
                let examples: Vec<&str> = values.iter().take(options.example_values).map(String::as_str).collect();
                let more = if values.len() > examples.len() { ", …" } else { "" };
                text.push_str(&format!(" Values: {}{more}.", examples.join(", ")));
            }
            docs.push(Document {
                id: format!("column:{}.{column}", table.name),
                kind: Kind::Column,
                text,
                payload: payload([
                    ("table", json!(table.name)),
                    ("column", json!(column)),
                    ("data_type", json!(data_type)),
                ]),
            });
        }
    }

    for segment in &layer.segments {
        docs.push(Document {
            id: format!("segment:{}", segment.name),
            kind: Kind::Segment,
            text: format!(
                "{}.{} Condition on {}: {}.",
                humanize(&segment.name),
                also_called(&segment.synonyms),
                humanize(&segment.table),
                segment.condition
            ),
            payload: payload([
                ("segment", json!(segment.name)),
                ("table", json!(segment.table)),
                ("condition", json!(segment.condition)),
            ]),
        });
    }

    for (n, verified) in layer.verified_queries.iter().enumerate() {
        docs.push(Document {
            id: format!("verified:{}", n + 1),
            kind: Kind::VerifiedQuestion,
            text: verified.question.clone(),
            payload: payload([("question", json!(verified.question)), ("sql", json!(verified.sql))]),
        });
    }

    let mut covered: BTreeSet<(String, String)> = BTreeSet::new();
    for dimension in &layer.dimensions {
        let columns = dimension.columns();
        // Which of the dimension's columns each value occurs in, the primary column first.
        let mut values: BTreeMap<String, (String, String)> = BTreeMap::new();
        for &(table, column) in &columns {
            covered.insert((table.to_string(), column.to_string()));
            for value in few(table, column).into_iter().flatten() {
                values.entry(value.clone()).or_insert_with(|| (table.to_string(), column.to_string()));
            }
        }
        let (primary_table, primary_column) = columns.first().copied().unwrap_or_default();
        for named in &dimension.values {
            values
                .entry(named.value.clone())
                .or_insert_with(|| (primary_table.to_string(), primary_column.to_string()));
        }
        for (value, (table, column)) in values {
            let synonyms =
                dimension.values.iter().find(|v| v.value == value).map(|v| v.synonyms.clone()).unwrap_or_default();
            docs.push(value_document(
                format!("value:{}={value}", dimension.name),
                &value,
                &synonyms,
                &format!("{} ({})", dimension.display_name(), humanize(&dimension.name)),
                &table,
                &column,
                Some(&dimension.name),
            ));
        }
    }
    for ((table, column), values) in &column_values {
        let ColumnValues::Few(values) = values else { continue };
        if covered.contains(&(table.clone(), column.clone())) {
            continue;
        }
        for value in values {
            docs.push(value_document(
                format!("value:{table}.{column}={value}"),
                value,
                &[],
                &format!("{} of {}", humanize(column), humanize(table)),
                table,
                column,
                None,
            ));
        }
    }
    Ok(docs)
}

fn value_document(
    id: String,
    value: &str,
    synonyms: &[String],
    what: &str,
    table: &str,
    column: &str,
    dimension: Option<&str>,
) -> Document {
    use serde_json::json;

    let readable = crate::text::humanize(value);
    let mut names = vec![value.to_string()];
    if readable != value {
        names.push(readable);
    }
    for synonym in synonyms {
        if !names.iter().any(|n| n.eq_ignore_ascii_case(synonym)) {
            names.push(synonym.clone());
        }
    }
    Document {
        id,
        kind: Kind::Value,
        text: format!("{}. A value of {what}.", names.join(", ")),
        payload: payload([
            ("table", json!(table)),
            ("column", json!(column)),
            ("value", json!(value)),
            ("dimension", json!(dimension)),
        ]),
    }
}
