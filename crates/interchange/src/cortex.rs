//! Snowflake Cortex Analyst semantic model YAML.
//!
//! Read from Snowflake's specification ("Cortex Analyst semantic model specification") and
//! its protobuf schema (`semantic_model.proto` in Snowflake-Labs/semantic-model-generator): a
//! model has `tables` (each with a `base_table` {database, schema, table}, `primary_key`
//! {columns}, `dimensions`, `time_dimensions`, `facts` (`measures` in older files),
//! `metrics` with an optional `filter.expr`, and named `filters`), `relationships`
//! (`left_table`, `right_table`, `relationship_columns`, `join_type`, `relationship_type`),
//! `verified_queries`, and `custom_instructions`.
//!
//! Mapping: a table is its `base_table`; dimensions become quarry dimensions with their
//! `sample_values` as known values; time dimensions and facts become documented columns;
//! metrics become metrics (a `filter.expr` becomes the metric's filter, and so does a
//! `CASE WHEN` inside one aggregate); a named filter of the form `column = 'value'` on a
//! dimension with that sample value gives its synonyms to that value (Cortex has no synonyms
//! for values: this is how a model says "Germany" means `'DE'`), other named filters become
//! segments; many-to-one and one-to-one relationships on one column become joins; verified
//! queries become verified queries, their logical table names (`__orders`) rewritten to the
//! snapshot's tables. Cortex metrics have no time dimension of their own: each gets its
//! table's first time dimension, and the report says so.

use std::collections::BTreeMap;

use quarry_semantic::SemanticLayer;
use serde::Deserialize;

use crate::build;
use crate::report::{Construct, ImportReport};
use crate::sql;
use crate::{Error, Format, Import, Result, Source};

type Extra = BTreeMap<String, serde_yaml::Value>;

#[derive(Debug, Deserialize)]
struct Model {
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    tables: Vec<Table>,
    #[serde(default)]
    relationships: Vec<Relationship>,
    #[serde(default)]
    verified_queries: Vec<VerifiedQuery>,
    #[serde(default)]
    custom_instructions: Option<String>,
    #[serde(default)]
    module_custom_instructions: Option<serde_yaml::Value>,
    #[serde(flatten)]
    extra: Extra,
}

#[derive(Debug, Deserialize)]
struct Table {
    name: String,
    #[serde(default)]
    synonyms: Vec<String>,
    #[serde(default)]
    description: String,
    base_table: BaseTable,
    #[serde(default)]
    primary_key: Option<PrimaryKey>,
    #[serde(default)]
    dimensions: Vec<Column>,
    #[serde(default)]
    time_dimensions: Vec<Column>,
    #[serde(default)]
    facts: Vec<Column>,
    #[serde(default)]
    measures: Vec<Column>,
    #[serde(default)]
    metrics: Vec<CortexMetric>,
    #[serde(default)]
    filters: Vec<NamedFilter>,
    #[serde(flatten)]
    extra: Extra,
}

#[derive(Debug, Deserialize)]
struct BaseTable {
    #[serde(default)]
    database: String,
    #[serde(default)]
    schema: String,
    table: String,
}

#[derive(Debug, Deserialize)]
struct PrimaryKey {
    columns: Vec<String>,
}

/// A dimension, time dimension or fact: they share these keys.
#[derive(Debug, Deserialize)]
struct Column {
    name: String,
    #[serde(default)]
    synonyms: Vec<String>,
    #[serde(default)]
    description: String,
    expr: String,
    #[serde(default)]
    data_type: Option<String>,
    #[serde(default)]
    unique: Option<bool>,
    #[serde(default)]
    sample_values: Vec<serde_yaml::Value>,
    #[serde(default)]
    is_enum: Option<bool>,
    #[serde(default)]
    default_aggregation: Option<String>,
    #[serde(default)]
    cortex_search_service: Option<serde_yaml::Value>,
    #[serde(default)]
    cortex_search_service_name: Option<String>,
    #[serde(flatten)]
    extra: Extra,
}

#[derive(Debug, Deserialize)]
struct CortexMetric {
    name: String,
    #[serde(default)]
    synonyms: Vec<String>,
    #[serde(default)]
    description: String,
    expr: String,
    #[serde(default)]
    filter: Option<MetricFilter>,
    #[serde(flatten)]
    extra: Extra,
}

#[derive(Debug, Deserialize)]
struct MetricFilter {
    expr: String,
}

#[derive(Debug, Deserialize)]
struct NamedFilter {
    name: String,
    #[serde(default)]
    synonyms: Vec<String>,
    #[serde(default)]
    description: String,
    expr: String,
    #[serde(flatten)]
    extra: Extra,
}

#[derive(Debug, Deserialize)]
struct Relationship {
    name: String,
    left_table: String,
    right_table: String,
    #[serde(default)]
    relationship_columns: Vec<RelationKey>,
    #[serde(default)]
    expr: Option<String>,
    #[serde(default)]
    join_type: Option<String>,
    #[serde(default)]
    relationship_type: Option<String>,
    #[serde(flatten)]
    extra: Extra,
}

#[derive(Debug, Deserialize)]
struct RelationKey {
    left_column: String,
    right_column: String,
}

#[derive(Debug, Deserialize)]
struct VerifiedQuery {
    name: String,
    question: String,
    sql: String,
    #[serde(flatten)]
    _rest: Extra,
}

fn report_extra(extra: &Extra, owner: &str, report: &mut ImportReport) {
    for key in extra.keys() {
        report.unmapped(
            Construct::UnknownKey,
            format!("{owner}.{key}"),
            "not a key of the Cortex Analyst semantic model specification",
        );
    }
}

fn scalar(value: &serde_yaml::Value) -> Option<String> {
    match value {
        serde_yaml::Value::String(s) => Some(s.clone()),
        serde_yaml::Value::Number(n) => Some(n.to_string()),
        serde_yaml::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Logical table name -> (physical table, logical column -> physical column).
struct Names {
    tables: BTreeMap<String, (String, BTreeMap<String, String>)>,
}

impl Names {
    /// An expression of `table` with logical column names replaced by the columns they read.
    fn physical(&self, table: &str, expr: &str) -> String {
        let Some((_, columns)) = self.tables.get(table) else { return expr.to_string() };
        sql::substitute_words(expr, &|w| {
            let w = w.strip_prefix(&format!("{table}.")).unwrap_or(w);
            columns.get(w).cloned()
        })
    }
}

pub(crate) fn import(files: &[Source]) -> Result<Import> {
    let file = files.first().ok_or_else(|| Error::Parse {
        format: Format::Cortex,
        file: String::new(),
        message: "no file".into(),
    })?;
    let mut report = ImportReport::new(Format::Cortex);
    for other in &files[1..] {
        report.unmapped(
            Construct::File,
            &other.path,
            "a Cortex Analyst semantic model is one file: only the first was read",
        );
    }
    let model: Model = serde_yaml::from_str(&file.text).map_err(|e| Error::Parse {
        format: Format::Cortex,
        file: file.path.clone(),
        message: e.to_string(),
    })?;
    let mut layer = build::layer(&model.name);
    layer.description = model.description.clone();
    report.mapped(Construct::Model, &model.name, format!("layer {}", model.name));
    report_extra(&model.extra, "model", &mut report);
    if let Some(text) = &model.custom_instructions {
        report.unmapped(
            Construct::Model,
            "custom_instructions",
            format!("'{}': quarry's layer has no instructions to a model", text.trim()),
        );
    }
    if model.module_custom_instructions.is_some() {
        report.unmapped(
            Construct::Model,
            "module_custom_instructions",
            "quarry's layer has no instructions to a model",
        );
    }

    let mut names = Names { tables: BTreeMap::new() };
    for table in &model.tables {
        let mut columns = BTreeMap::new();
        for c in table.dimensions.iter().chain(&table.time_dimensions).chain(&table.facts).chain(&table.measures) {
            if sql::is_identifier(&c.expr) && c.name != sql::snowflake_name(&c.expr) {
                columns.insert(c.name.clone(), sql::snowflake_name(&c.expr));
            }
        }
        names.tables.insert(table.name.clone(), (sql::snowflake_name(&table.base_table.table), columns));
    }
    // Join keys are for joining, not for grouping: (physical table, physical column) of each
    // one-column relationship, whichever logical table over the same base table declares it.
    let keys: Vec<(String, String)> = model
        .relationships
        .iter()
        .filter(|r| r.relationship_columns.len() == 1)
        .flat_map(|r| {
            let k = &r.relationship_columns[0];
            [(&r.left_table, &k.left_column), (&r.right_table, &k.right_column)]
        })
        .filter_map(|(t, c)| names.tables.get(t).map(|(physical, _)| (physical.clone(), names.physical(t, c))))
        .collect();
    for table in &model.tables {
        import_table(table, &keys, &names, &mut layer, &mut report);
    }
    // Filters after every table's dimensions: a filter may name a value of a dimension that
    // another logical table over the same base table declares.
    for table in &model.tables {
        import_filters(table, &names, &mut layer, &mut report);
    }
    for rel in &model.relationships {
        import_relationship(rel, &names, &mut layer, &mut report);
    }
    for q in &model.verified_queries {
        // Verified SQL names logical tables as `__name`: the snapshot has the physical ones.
        // Columns first: `__name` table references cannot be mistaken for a column then.
        let mut sql_text = q.sql.trim().to_string();
        for (logical, (_, columns)) in &names.tables {
            if !columns.is_empty() {
                sql_text = names.physical(logical, &sql_text);
            }
        }
        for (logical, (physical, _)) in &names.tables {
            sql_text = sql::substitute_words(&sql_text, &|w| (w == format!("__{logical}")).then(|| physical.clone()));
        }
        report.mapped(Construct::VerifiedQuery, &q.name, format!("verified query {}", q.question));
        layer.verified_queries.push(build::verified(&q.question, &sql_text));
    }
    Ok(Import { layer, report })
}

fn import_table(
    table: &Table,
    keys: &[(String, String)],
    names: &Names,
    layer: &mut SemanticLayer,
    report: &mut ImportReport,
) {
    let owner = format!("tables[{}]", table.name);
    report_extra(&table.extra, &owner, report);
    let physical = sql::snowflake_name(&table.base_table.table);
    let mut quarry_table = build::table(&physical);
    quarry_table.description = table.description.clone();
    quarry_table.synonyms = table.synonyms.clone();
    if let Some(pk) = &table.primary_key {
        quarry_table.primary_key = pk.columns.iter().map(|c| names.physical(&table.name, c)).collect();
    }
    let base = format!("{}.{}.{}", table.base_table.database, table.base_table.schema, table.base_table.table);
    let note = if layer.table(&physical).is_some() {
        format!("base table {base}, shared with another logical table: merged into one")
    } else {
        format!("base table {base}")
    };
    report.mapped_with_note(Construct::Table, &table.name, format!("table {physical}"), note);

    let mut time_columns: Vec<String> = Vec::new();
    let groups: [(&[Column], Construct); 4] = [
        (&table.dimensions, Construct::Dimension),
        (&table.time_dimensions, Construct::TimeDimension),
        (&table.facts, Construct::Measure),
        (&table.measures, Construct::Measure),
    ];
    for (columns, kind) in groups {
        for c in columns {
            let name = format!("{}.{}", table.name, c.name);
            report_extra(&c.extra, &name, report);
            if c.cortex_search_service.is_some() || c.cortex_search_service_name.is_some() {
                report.unmapped(
                    Construct::Dimension,
                    format!("{name}.cortex_search_service"),
                    "quarry indexes known values itself (quarry index)",
                );
            }
            if let Some(agg) = &c.default_aggregation {
                report.unmapped(
                    Construct::Measure,
                    format!("{name}.default_aggregation"),
                    format!("'{agg}' is deprecated in Cortex and quarry metrics are explicit: define a metric"),
                );
            }
            let _ = (&c.data_type, c.is_enum);
            if !sql::is_identifier(&c.expr) {
                report.unmapped(
                    Construct::CalculatedField,
                    &name,
                    format!("expression '{}': quarry's columns and dimensions are stored columns", c.expr),
                );
                continue;
            }
            let column = sql::snowflake_name(&c.expr);
            build::ensure_column(&mut quarry_table, &column, &c.description);
            match kind {
                // A unique dimension is an identifier, not something to group by.
                Construct::Dimension
                    if c.unique != Some(true) && !keys.contains(&(physical.clone(), column.clone())) =>
                {
                    let mut d = build::dimension(&c.name, &format!("{physical}.{column}"));
                    d.synonyms = c.synonyms.clone();
                    d.values =
                        c.sample_values.iter().filter_map(scalar).map(|v| build::value(&v, Vec::new())).collect();
                    let into = build::add_dimension(layer, d);
                    report.mapped(Construct::Dimension, &name, into);
                }
                _ => {
                    if let Some(col) = quarry_table.columns.iter_mut().find(|x| x.name == column) {
                        col.synonyms = build::dedup(col.synonyms.iter().cloned().chain(c.synonyms.iter().cloned()));
                    }
                    if kind == Construct::TimeDimension {
                        time_columns.push(column.clone());
                    }
                    report.mapped(kind, &name, format!("column {physical}.{column}"));
                }
            }
        }
    }
    for m in &table.metrics {
        let name = format!("{}.{}", table.name, m.name);
        report_extra(&m.extra, &name, report);
        let expr = names.physical(&table.name, &m.expr);
        if expr.contains('.')
            && expr
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
                .any(|w| w.contains('.') && w.parse::<f64>().is_err())
        {
            report.unmapped(
                Construct::Metric,
                &name,
                format!("expression '{}' reads another table: a quarry metric aggregates one table", m.expr),
            );
            continue;
        }
        let (expression, inner) = sql::split_filter(&expr);
        let outer = m.filter.as_ref().map(|f| names.physical(&table.name, &f.expr));
        let filter = match (inner, outer) {
            (Some(a), Some(b)) => Some(format!("({a}) AND ({b})")),
            (a, b) => a.or(b),
        };
        let mut metric = build::metric(&m.name, &physical, &expression);
        metric.description = m.description.clone();
        metric.synonyms = m.synonyms.clone();
        metric.filter = filter;
        let (time_column, note) = pick_time_column(&time_columns);
        metric.time_column = time_column;
        report.mapped_with_note(Construct::Metric, &name, format!("metric {}", metric.name), note);
        layer.metrics.push(metric);
    }
    // Logical tables may share a base table (e.g. one per time dimension): one quarry table.
    build::add_table(layer, quarry_table);
}

/// Named filters. Cortex has `sample_values` but no synonyms for a value: a model says that
/// "Germany" means `country_code = 'DE'` with a filter of exactly that form and those synonyms.
/// Such a filter (one column, `=`, one quoted value that is a sample value of the column's
/// dimension) gives its synonyms to that value, which the planner reads as a value of the
/// dimension; any other filter becomes a segment.
fn import_filters(table: &Table, names: &Names, layer: &mut SemanticLayer, report: &mut ImportReport) {
    let physical = sql::snowflake_name(&table.base_table.table);
    for f in &table.filters {
        let name = format!("{}.{}", table.name, f.name);
        report_extra(&f.extra, &name, report);
        let condition = names.physical(&table.name, &f.expr);
        let _ = &f.description;
        if let Some((column, value)) = column_equals_value(&condition, &table.name, &physical)
            && let Some(into) = add_value_synonyms(layer, &format!("{physical}.{column}"), &value, &f.synonyms)
        {
            report.mapped(Construct::Segment, &name, into);
            continue;
        }
        let mut s = build::segment(&f.name, &physical, &condition);
        s.synonyms = f.synonyms.clone();
        report.mapped(Construct::Segment, &name, format!("segment {}", s.name));
        layer.segments.push(s);
    }
}

/// `(column, value)` of a condition of exactly the form `column = 'value'` (the column
/// optionally qualified by its logical or physical table name).
fn column_equals_value(condition: &str, logical: &str, physical: &str) -> Option<(String, String)> {
    let (left, right) = condition.trim().split_once('=')?;
    let left = left.trim();
    let column = left
        .strip_prefix(&format!("{logical}."))
        .or_else(|| left.strip_prefix(&format!("{physical}.")))
        .unwrap_or(left);
    if left.ends_with(['<', '>', '!']) || !sql::is_identifier(column) {
        return None;
    }
    let inner = right.trim().strip_prefix('\'')?.strip_suffix('\'')?;
    // Inside the quotes, a quote is only ever doubled.
    if inner.replace("''", "").contains('\'') {
        return None;
    }
    Some((sql::snowflake_name(column), inner.replace("''", "'")))
}

/// Adds `synonyms` to `value` of the dimension on `column` (its own column first, then one it
/// is also on) when that dimension knows the value. Returns what they became, for the report.
fn add_value_synonyms(layer: &mut SemanticLayer, column: &str, value: &str, synonyms: &[String]) -> Option<String> {
    let knows = |d: &quarry_semantic::Dimension| d.values.iter().any(|v| v.value == value);
    let index = layer
        .dimensions
        .iter()
        .position(|d| d.column == column && knows(d))
        .or_else(|| layer.dimensions.iter().position(|d| d.also.iter().any(|a| a == column) && knows(d)))?;
    let dimension = &mut layer.dimensions[index];
    let known = dimension.values.iter_mut().find(|v| v.value == value)?;
    known.synonyms = build::dedup(known.synonyms.iter().cloned().chain(synonyms.iter().cloned()));
    Some(format!("synonyms of value {value} of dimension {}", dimension.name))
}

/// A Cortex metric's time column. The specification gives metrics none (Cortex Analyst picks
/// one per question); quarry's metrics need one: the table's first time dimension.
fn pick_time_column(time: &[String]) -> (Option<String>, String) {
    match time {
        [] => (None, "no time dimension on its table: a point-in-time metric".into()),
        [one] => (Some(one.clone()), format!("time column {one}, the time dimension of its table")),
        [first, ..] => (
            Some(first.clone()),
            format!(
                "time column {first}, the first of its table's time dimensions {} (Cortex metrics name none)",
                time.join(", ")
            ),
        ),
    }
}

fn import_relationship(rel: &Relationship, names: &Names, layer: &mut SemanticLayer, report: &mut ImportReport) {
    report_extra(&rel.extra, &format!("relationships[{}]", rel.name), report);
    let (Some((left, _)), Some((right, _))) = (names.tables.get(&rel.left_table), names.tables.get(&rel.right_table))
    else {
        report.unmapped(
            Construct::Join,
            &rel.name,
            format!("joins {} to {}, not both tables of the model", rel.left_table, rel.right_table),
        );
        return;
    };
    let kind = rel.relationship_type.as_deref().unwrap_or("many_to_one");
    if !matches!(kind, "many_to_one" | "one_to_one") {
        report.unmapped(
            Construct::Join,
            &rel.name,
            format!("a {kind} relationship: quarry joins go from a foreign key to a key"),
        );
        return;
    }
    if rel.expr.is_some() || rel.relationship_columns.len() != 1 {
        report.unmapped(
            Construct::Join,
            &rel.name,
            "joins on an expression or on several columns: quarry's joins are single-column foreign keys",
        );
        return;
    }
    let key = &rel.relationship_columns[0];
    let join = build::join(
        &format!("{left}.{}", names.physical(&rel.left_table, &key.left_column)),
        &format!("{right}.{}", names.physical(&rel.right_table, &key.right_column)),
    );
    if layer.joins.contains(&join) {
        report.mapped(Construct::Join, &rel.name, format!("join {} -> {} (declared twice)", join.from, join.to));
        return;
    }
    let note = rel
        .join_type
        .as_deref()
        .filter(|j| *j != "left_outer")
        .map(|j| format!("{j} join read as quarry's usual join"));
    match note {
        Some(n) => report.mapped_with_note(Construct::Join, &rel.name, format!("join {} -> {}", join.from, join.to), n),
        None => report.mapped(Construct::Join, &rel.name, format!("join {} -> {}", join.from, join.to)),
    }
    layer.joins.push(join);
}

#[cfg(test)]
mod tests {
    use super::*;

    const MODEL: &str = r#"
name: sales
custom_instructions: Always round to two decimals.
tables:
  - name: orders
    base_table: { database: DB, schema: PUBLIC, table: ORDERS_RAW }
    primary_key: { columns: [order_id] }
    dimensions:
      - { name: status, expr: order_status, data_type: VARCHAR, sample_values: [paid, open], synonyms: [state] }
      - { name: order_label, expr: "order_id || '-' || order_status", data_type: VARCHAR }
    time_dimensions:
      - { name: ordered_at, expr: ordered_at, data_type: TIMESTAMP }
    facts:
      - { name: amount, expr: amount_usd, data_type: NUMBER }
    metrics:
      - name: revenue
        expr: SUM(amount)
        filter: { expr: "status = 'paid'" }
      - name: paid_orders
        expr: "COUNT(CASE WHEN status = 'paid' THEN 1 END)"
    filters:
      - { name: big_orders, expr: amount > 100, synonyms: [large orders] }
  - name: customers
    base_table: { database: DB, schema: PUBLIC, table: CUSTOMERS }
    dimensions:
      - { name: customer_id, expr: customer_id, data_type: NUMBER }
relationships:
  - name: orders_customers
    left_table: orders
    right_table: customers
    relationship_columns: [{ left_column: customer_id, right_column: customer_id }]
    join_type: left_outer
    relationship_type: many_to_one
verified_queries:
  - name: paid
    question: Revenue of paid orders?
    sql: SELECT SUM(amount) FROM __orders WHERE status = 'paid'
"#;

    #[test]
    fn tables_metrics_filters_and_verified_queries_map_to_physical_names() {
        let import = crate::import_str(MODEL, Format::Cortex, "sales.yaml").unwrap();
        let layer = &import.layer;
        let revenue = layer.metric("revenue").unwrap();
        assert_eq!(revenue.table, "orders_raw");
        assert_eq!(revenue.expression, "SUM(amount_usd)");
        assert_eq!(revenue.filter.as_deref(), Some("order_status = 'paid'"));
        assert_eq!(revenue.time_column.as_deref(), Some("ordered_at"));
        let paid = layer.metric("paid_orders").unwrap();
        assert_eq!((paid.expression.as_str(), paid.filter.as_deref()), ("COUNT(*)", Some("order_status = 'paid'")));
        assert_eq!(layer.dimension("status").unwrap().values.len(), 2);
        assert_eq!(layer.segment("big_orders").unwrap().condition, "amount_usd > 100");
        assert_eq!(layer.joins[0].from, "orders_raw.customer_id");
        assert_eq!(layer.verified_queries[0].sql, "SELECT SUM(amount_usd) FROM orders_raw WHERE order_status = 'paid'");
        assert!(import.report.unmapped_named("orders.order_label").is_some());
        assert!(import.report.unmapped_named("custom_instructions").is_some());
    }

    const VALUE_FILTERS: &str = r#"
name: crm
tables:
  - name: accounts
    base_table: { database: DB, schema: PUBLIC, table: ACCOUNTS }
    dimensions:
      - { name: country, expr: country_code, data_type: VARCHAR, sample_values: [DE, US] }
      - { name: status, expr: account_status, data_type: VARCHAR, sample_values: [active, "o'neil"] }
    filters:
      - { name: country_germany, expr: "country = 'DE'", synonyms: [Germany, German] }
      - { name: german_accounts, expr: "accounts.country_code = 'DE'", synonyms: [German, DACH] }
      - { name: active_accounts, expr: "status='active'", synonyms: [live accounts] }
      - { name: quoted, expr: "status = 'o''neil'", synonyms: [oneil] }
      - { name: country_france, expr: "country = 'FR'", synonyms: [France] }
      - { name: not_germany, expr: "country <> 'DE'", synonyms: [outside Germany] }
      - { name: germany_or_us, expr: "country = 'DE' OR country = 'US'", synonyms: [core markets] }
"#;

    #[test]
    fn a_filter_on_one_sample_value_gives_its_synonyms_to_that_value() {
        let import = crate::import_str(VALUE_FILTERS, Format::Cortex, "crm.yaml").unwrap();
        let layer = &import.layer;
        let country = layer.dimension("country").unwrap();
        let de = country.values.iter().find(|v| v.value == "DE").unwrap();
        assert_eq!(de.synonyms, ["Germany", "German", "DACH"]);
        assert!(country.values.iter().find(|v| v.value == "US").unwrap().synonyms.is_empty());
        let status = layer.dimension("status").unwrap();
        assert_eq!(status.values[0].synonyms, ["live accounts"]);
        assert_eq!(status.values[1].synonyms, ["oneil"]);
        let mapped = import.report.mapped.iter().find(|m| m.name == "accounts.country_germany").unwrap();
        assert_eq!(mapped.into, "synonyms of value DE of dimension country");
        // A value that is not a sample value, another operator, or more than one condition:
        // segments, as before.
        let segments: Vec<(&str, &str)> =
            layer.segments.iter().map(|s| (s.name.as_str(), s.condition.as_str())).collect();
        assert_eq!(
            segments,
            [
                ("country_france", "country_code = 'FR'"),
                ("not_germany", "country_code <> 'DE'"),
                ("germany_or_us", "country_code = 'DE' OR country_code = 'US'"),
            ]
        );
        assert!(layer.check().is_empty(), "{:?}", layer.check());
    }
}
