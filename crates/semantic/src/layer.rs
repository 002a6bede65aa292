use std::collections::BTreeSet;
use std::path::Path;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Problem, Result};

/// The semantic layer of one snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SemanticLayer {
    /// Short name, e.g. `demo`.
    pub name: String,
    /// What the data is about.
    #[serde(default)]
    pub description: String,
    /// How time phrases are interpreted.
    #[serde(default)]
    pub time: TimeConventions,
    /// Tables of the snapshot that questions may use.
    pub tables: Vec<TableDef>,
    /// Foreign-key edges: the join graph.
    #[serde(default)]
    pub joins: Vec<JoinDef>,
    /// Metrics, each with exactly one definition.
    #[serde(default)]
    pub metrics: Vec<Metric>,
    /// Dimensions to group and filter by.
    #[serde(default)]
    pub dimensions: Vec<Dimension>,
    /// Named conditions people use as adjectives ("unresolved tickets", "paid plans").
    #[serde(default)]
    pub segments: Vec<Segment>,
    /// Question/SQL pairs checked by a person.
    #[serde(default)]
    pub verified_queries: Vec<VerifiedQuery>,
}

/// A named condition on one table, e.g. unresolved tickets (`resolved_at IS NULL`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Segment {
    /// Identifier, e.g. `unresolved_tickets`.
    pub name: String,
    /// The table the condition applies to.
    pub table: String,
    /// A SQL condition on that table.
    pub condition: String,
    /// The words that name it ("unresolved", "still open").
    #[serde(default)]
    pub synonyms: Vec<String>,
}

/// Time conventions of a layer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TimeConventions {
    /// First day of a week.
    #[serde(default)]
    pub week_start: WeekStart,
    /// What relative phrases resolve against; only `as_of` (the snapshot's date) is supported,
    /// so that answers are reproducible.
    #[serde(default = "as_of")]
    pub relative_to: String,
}

fn as_of() -> String {
    "as_of".into()
}

impl Default for TimeConventions {
    fn default() -> Self {
        Self { week_start: WeekStart::Monday, relative_to: as_of() }
    }
}

/// First day of the week.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WeekStart {
    /// ISO weeks.
    #[default]
    Monday,
    /// US convention.
    Sunday,
}

/// A table and its columns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TableDef {
    /// Table name in the snapshot.
    pub name: String,
    /// What one row is.
    #[serde(default)]
    pub description: String,
    /// Primary key columns.
    #[serde(default)]
    pub primary_key: Vec<String>,
    /// Other words for the table ("customers" for accounts).
    #[serde(default)]
    pub synonyms: Vec<String>,
    /// Columns; a column absent here is still queryable but undocumented.
    #[serde(default)]
    pub columns: Vec<ColumnDef>,
    /// The column that names a row (a name or title): what "which X" and "list the X" show.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

impl TableDef {
    /// A column by name.
    pub fn column(&self, name: &str) -> Option<&ColumnDef> {
        self.columns.iter().find(|c| c.name == name)
    }
}

/// A column of a table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ColumnDef {
    /// Column name in the snapshot.
    pub name: String,
    /// What it holds.
    #[serde(default)]
    pub description: String,
    /// Personal data: never selected, filtered, joined on, indexed or shown to a model.
    #[serde(default)]
    pub personal: bool,
    /// Other words for the column.
    #[serde(default)]
    pub synonyms: Vec<String>,
    /// What the column holds, for questions that compare, order or aggregate it; filled from
    /// the snapshot's schema when not written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<ColumnKind>,
}

/// What a column holds, as far as questions go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ColumnKind {
    /// Numbers: compared, ordered, summed and averaged.
    Number,
    /// Text: named by value, listed, counted.
    Text,
    /// Dates and timestamps.
    Time,
    /// True or false.
    Boolean,
    /// Anything else (lists, structs, binary).
    Other,
}

impl ColumnKind {
    /// The kind of an Arrow type.
    pub fn of(data_type: &datafusion::arrow::datatypes::DataType) -> Self {
        use datafusion::arrow::datatypes::DataType;
        match data_type {
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => ColumnKind::Text,
            DataType::Dictionary(_, value) => ColumnKind::of(value),
            DataType::Boolean => ColumnKind::Boolean,
            DataType::Timestamp(_, _) | DataType::Date32 | DataType::Date64 => ColumnKind::Time,
            t if t.is_numeric() => ColumnKind::Number,
            _ => ColumnKind::Other,
        }
    }

    /// The kind of an Arrow type as Arrow displays it (`Int64`, `Utf8`, `Timestamp(µs)`), as
    /// snapshot manifests record it.
    pub fn of_type_name(name: &str) -> Self {
        let head = name.split('(').next().unwrap_or(name).trim();
        match head {
            "Utf8" | "LargeUtf8" | "Utf8View" => ColumnKind::Text,
            "Boolean" => ColumnKind::Boolean,
            "Timestamp" | "Date32" | "Date64" => ColumnKind::Time,
            "Int8" | "Int16" | "Int32" | "Int64" | "UInt8" | "UInt16" | "UInt32" | "UInt64" | "Float16" | "Float32"
            | "Float64" | "Decimal32" | "Decimal64" | "Decimal128" | "Decimal256" => ColumnKind::Number,
            "Dictionary" => {
                let value = name.rsplit(',').next().unwrap_or("").trim_end_matches(')').trim();
                ColumnKind::of_type_name(value)
            }
            _ => ColumnKind::Other,
        }
    }
}

/// A foreign-key edge `from` -> `to`, both written `table.column`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JoinDef {
    /// The referencing column, `table.column` (the "many" side).
    pub from: String,
    /// The referenced key, `table.column` (the "one" side).
    pub to: String,
}

impl JoinDef {
    /// `(table, column)` of the referencing side.
    pub fn from_parts(&self) -> Option<(&str, &str)> {
        self.from.split_once('.')
    }

    /// `(table, column)` of the referenced side.
    pub fn to_parts(&self) -> Option<(&str, &str)> {
        self.to.split_once('.')
    }
}

/// A metric: one aggregate over one table, optionally filtered, with its time column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Metric {
    /// Identifier, e.g. `revenue`.
    pub name: String,
    /// Display name.
    #[serde(default)]
    pub label: String,
    /// What it measures.
    #[serde(default)]
    pub description: String,
    /// The table it aggregates.
    pub table: String,
    /// An aggregate SQL expression over `table`, e.g. `SUM(amount_usd)`.
    pub expression: String,
    /// A SQL condition on `table` that every counted row meets, e.g. `status = 'paid'`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    /// The column a time range filters; none for point-in-time metrics such as MRR.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_column: Option<String>,
    /// How values are shown.
    #[serde(default)]
    pub format: MetricFormat,
    /// Other words for it ("sales" for revenue).
    #[serde(default)]
    pub synonyms: Vec<String>,
}

impl Metric {
    /// The display name, falling back to the identifier.
    pub fn display_name(&self) -> &str {
        if self.label.is_empty() { &self.name } else { &self.label }
    }
}

/// How a metric's values are formatted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MetricFormat {
    /// A plain number.
    #[default]
    Number,
    /// A count of things.
    Count,
    /// US dollars.
    Currency,
    /// A ratio shown as a percentage.
    Percent,
    /// A 1-5 score.
    Score,
    /// Minutes.
    Minutes,
    /// Hours.
    Hours,
}

/// A dimension: a column people group and filter by.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Dimension {
    /// Identifier, e.g. `region`.
    pub name: String,
    /// Display name.
    #[serde(default)]
    pub label: String,
    /// The column, `table.column`.
    pub column: String,
    /// The same dimension on other tables (`users.country` beside `accounts.country`);
    /// the planner uses the one closest to the metric's table.
    #[serde(default)]
    pub also: Vec<String>,
    /// Other words for it.
    #[serde(default)]
    pub synonyms: Vec<String>,
    /// Known values and what people call them.
    #[serde(default)]
    pub values: Vec<DimensionValue>,
}

impl Dimension {
    /// Every `(table, column)` this dimension can be read from, the primary one first.
    pub fn columns(&self) -> Vec<(&str, &str)> {
        std::iter::once(self.column.as_str())
            .chain(self.also.iter().map(String::as_str))
            .filter_map(|c| c.split_once('.'))
            .collect()
    }

    /// The display name, falling back to the identifier.
    pub fn display_name(&self) -> &str {
        if self.label.is_empty() { &self.name } else { &self.label }
    }
}

/// A known value of a dimension.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DimensionValue {
    /// The value as stored.
    pub value: String,
    /// What people call it ("Germany" for `DE`).
    #[serde(default)]
    pub synonyms: Vec<String>,
}

/// A question with the SQL a person checked for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifiedQuery {
    /// The question.
    pub question: String,
    /// The SQL that answers it.
    pub sql: String,
}

impl SemanticLayer {
    /// The demo warehouse's layer (checked in as `schemas/demo.semantic.yaml`).
    pub fn demo() -> Self {
        Self::from_yaml_str(crate::DEMO_LAYER_YAML, "schemas/demo.semantic.yaml")
            .expect("the checked-in demo layer is valid")
    }

    /// Parses and checks a layer from YAML text; `file` names it in errors.
    pub fn from_yaml_str(text: &str, file: &str) -> Result<Self> {
        let layer: SemanticLayer =
            serde_yaml::from_str(text).map_err(|e| Error::Parse { file: file.to_string(), message: e.to_string() })?;
        let problems = layer.check();
        if problems.is_empty() { Ok(layer) } else { Err(Error::Invalid { file: file.to_string(), problems }) }
    }

    /// Reads, parses and checks a layer from a YAML file.
    pub fn from_yaml_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Read { path: path.to_path_buf(), source })?;
        Self::from_yaml_str(&text, &path.display().to_string())
    }

    /// The layer as YAML.
    pub fn to_yaml(&self) -> String {
        serde_yaml::to_string(self).expect("a semantic layer always serializes")
    }

    /// The JSON Schema of the YAML file, generated from these types.
    pub fn json_schema() -> String {
        let schema = serde_json::to_value(schemars::schema_for!(SemanticLayer)).expect("a schema always serializes");
        serde_json::to_string_pretty(&sorted_keys(schema)).expect("a schema always serializes") + "\n"
    }

    /// A table by name.
    pub fn table(&self, name: &str) -> Option<&TableDef> {
        self.tables.iter().find(|t| t.name == name)
    }

    /// A metric by name.
    pub fn metric(&self, name: &str) -> Option<&Metric> {
        self.metrics.iter().find(|m| m.name == name)
    }

    /// A dimension by name.
    pub fn dimension(&self, name: &str) -> Option<&Dimension> {
        self.dimensions.iter().find(|d| d.name == name)
    }

    /// Every personal-data column as `(table, column)`.
    pub fn personal_columns(&self) -> Vec<(String, String)> {
        self.tables
            .iter()
            .flat_map(|t| t.columns.iter().filter(|c| c.personal).map(move |c| (t.name.clone(), c.name.clone())))
            .collect()
    }

    /// A segment by name.
    pub fn segment(&self, name: &str) -> Option<&Segment> {
        self.segments.iter().find(|s| s.name == name)
    }

    /// Whether `table.column` is personal data.
    pub fn is_personal(&self, table: &str, column: &str) -> bool {
        self.table(table).and_then(|t| t.column(column)).is_some_and(|c| c.personal)
    }

    /// Internal consistency, without a snapshot: unique names, references that resolve
    /// within the layer, metrics that do not aggregate personal data.
    pub fn check(&self) -> Vec<Problem> {
        let mut problems = Vec::new();
        let mut push =
            |entry: String, message: String, fix: &str| problems.push(Problem { entry, message, fix: fix.to_string() });

        let mut seen = BTreeSet::new();
        for table in &self.tables {
            if !seen.insert(table.name.as_str()) {
                push(format!("tables[{}]", table.name), "is defined twice".into(), "merge the two entries");
            }
            let mut columns = BTreeSet::new();
            for column in &table.columns {
                if !columns.insert(column.name.as_str()) {
                    push(
                        format!("tables[{}].columns[{}]", table.name, column.name),
                        "is defined twice".into(),
                        "remove one",
                    );
                }
            }
            for key in &table.primary_key {
                if table.column(key).is_none() && !table.columns.is_empty() {
                    push(
                        format!("tables[{}].primary_key", table.name),
                        format!("names unknown column '{key}'"),
                        "list the column under columns or fix the name",
                    );
                }
            }
        }
        let resolves = |reference: &str| -> bool {
            reference
                .split_once('.')
                .is_some_and(|(t, c)| self.table(t).is_some_and(|t| t.columns.is_empty() || t.column(c).is_some()))
        };
        for (i, join) in self.joins.iter().enumerate() {
            for side in [&join.from, &join.to] {
                if !resolves(side) {
                    push(
                        format!("joins[{i}]"),
                        format!("'{side}' is not a known table.column"),
                        "write both sides as table.column of tables listed under tables",
                    );
                }
            }
        }
        let mut names = BTreeSet::new();
        for metric in &self.metrics {
            let entry = format!("metrics[{}]", metric.name);
            if !names.insert(metric.name.as_str()) {
                push(entry.clone(), "is defined twice".into(), "give each metric one definition");
            }
            match self.table(&metric.table) {
                None => push(
                    format!("{entry}.table"),
                    format!("unknown table '{}'", metric.table),
                    "use a table listed under tables",
                ),
                Some(table) => {
                    if let Some(column) = &metric.time_column
                        && !table.columns.is_empty()
                        && table.column(column).is_none()
                    {
                        push(
                            format!("{entry}.time_column"),
                            format!("'{column}' is not a column of {}", table.name),
                            "name a timestamp column of the metric's table",
                        );
                    }
                    for column in table.columns.iter().filter(|c| c.personal) {
                        let text = format!("{} {}", metric.expression, metric.filter.as_deref().unwrap_or_default())
                            .to_lowercase();
                        if mentions_word(&text, &column.name) {
                            push(
                                format!("{entry}.expression"),
                                format!("uses personal column {}.{}", table.name, column.name),
                                "metrics may not read personal data",
                            );
                        }
                    }
                }
            }
        }
        let mut dims = BTreeSet::new();
        for dimension in &self.dimensions {
            let entry = format!("dimensions[{}]", dimension.name);
            if !dims.insert(dimension.name.as_str()) {
                push(entry.clone(), "is defined twice".into(), "merge the two entries");
            }
            for reference in std::iter::once(&dimension.column).chain(&dimension.also) {
                if !resolves(reference) {
                    push(
                        format!("{entry}.column"),
                        format!("'{reference}' is not a known table.column"),
                        "write table.column of a listed table",
                    );
                } else if let Some((t, c)) = reference.split_once('.')
                    && self.is_personal(t, c)
                {
                    push(
                        format!("{entry}.column"),
                        format!("{reference} is personal data"),
                        "personal columns cannot be dimensions",
                    );
                }
            }
        }
        for segment in &self.segments {
            if self.table(&segment.table).is_none() {
                push(
                    format!("segments[{}].table", segment.name),
                    format!("unknown table '{}'", segment.table),
                    "use a table listed under tables",
                );
            }
        }
        if self.time.relative_to != "as_of" {
            push(
                "time.relative_to".into(),
                format!("'{}' is not supported", self.time.relative_to),
                "use as_of: relative phrases resolve against the snapshot's date",
            );
        }
        problems
    }
}

/// Whether `word` appears in `text` as a whole identifier.
fn mentions_word(text: &str, word: &str) -> bool {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).any(|token| token == word)
}

/// The same JSON with object keys in sorted order, whether or not serde_json's
/// `preserve_order` feature is on (dependencies turn it on), so that the checked-in schema is
/// the same in every build.
fn sorted_keys(value: serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::Object(map) => {
            let mut entries: Vec<(String, serde_json::Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            serde_json::Value::Object(entries.into_iter().map(|(k, v)| (k, sorted_keys(v))).collect())
        }
        serde_json::Value::Array(items) => serde_json::Value::Array(items.into_iter().map(sorted_keys).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::ColumnKind;

    #[test]
    fn kinds_are_read_from_the_type_names_manifests_record() {
        for (name, kind) in [
            ("Int64", ColumnKind::Number),
            ("Decimal128(12, 2)", ColumnKind::Number),
            ("Float64", ColumnKind::Number),
            ("Utf8", ColumnKind::Text),
            ("Dictionary(Int32, Utf8)", ColumnKind::Text),
            ("Timestamp(µs)", ColumnKind::Time),
            ("Date32", ColumnKind::Time),
            ("Boolean", ColumnKind::Boolean),
            ("List(Int64)", ColumnKind::Other),
        ] {
            assert_eq!(ColumnKind::of_type_name(name), kind, "{name}");
        }
    }
}
