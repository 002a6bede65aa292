//! Cube YAML data models.
//!
//! Read from Cube's data modeling reference: a file holds `cubes:` (each with `sql_table` or
//! `sql`, `title`, `description`, `meta`, `joins` with `sql` and `relationship`,
//! `dimensions` with `sql`, `type` (string, number, time, boolean, geo) and `primary_key`,
//! `measures` with `type` (count, count_distinct, sum, avg, min, max, number, ...), `sql`,
//! `filters`, `rolling_window` and `format`, `segments` with `sql`, and `pre_aggregations`)
//! and `views:`. References are written `{CUBE}.column`, `{CUBE.member}`, `{cube}.column` or
//! `{cube.member}`.
//!
//! Mapping: a cube over `sql_table` is a table; a dimension over a column is a dimension
//! (time dimensions are documented columns and the measures' time column); a measure is a
//! metric, its `filters` its filter; a `number` measure over other measures of its cube is one
//! expression with their filters folded in; a segment is a segment; a `many_to_one` or
//! `one_to_one` join on one column is a join (a `one_to_many` join is read from the other
//! side). JavaScript models, cubes over SQL queries, rolling windows, views and
//! pre-aggregations are reported as not mapped.
//!
//! Cube measures have no time dimension of their own; quarry gives each the cube's first time
//! dimension unless its `meta.time_dimension` names one (an empty string: none). Synonyms and
//! known values come from `meta.synonyms` and `meta.values` (a list of `{value, synonyms}`),
//! on cubes, dimensions, measures and segments; `meta.personal: true` marks a personal column.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use quarry_semantic::{Metric, MetricFormat, SemanticLayer};
use regex::Regex;
use serde::Deserialize;
use serde_json::Value;

use crate::build;
use crate::report::{Construct, ImportReport};
use crate::sql;
use crate::{Error, Format, Import, Result, Source};

#[derive(Debug, Default, Deserialize)]
struct File {
    #[serde(default)]
    cubes: Vec<Cube>,
    #[serde(default)]
    views: Vec<Value>,
}

#[derive(Debug, Deserialize)]
struct Cube {
    name: String,
    #[serde(default)]
    sql_table: Option<String>,
    #[serde(default)]
    sql: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    meta: Value,
    #[serde(default)]
    extends: Option<String>,
    #[serde(default)]
    joins: Vec<Join>,
    #[serde(default)]
    dimensions: Vec<CubeDimension>,
    #[serde(default)]
    measures: Vec<Measure>,
    #[serde(default)]
    segments: Vec<CubeSegment>,
    #[serde(default)]
    pre_aggregations: Vec<Value>,
}

#[derive(Debug, Deserialize)]
struct Join {
    name: String,
    sql: String,
    relationship: String,
}

#[derive(Debug, Deserialize)]
struct CubeDimension {
    name: String,
    sql: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    primary_key: bool,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    meta: Value,
    #[serde(default)]
    case: Option<Value>,
    #[serde(default)]
    sub_query: Option<bool>,
}

#[derive(Debug, Clone, Deserialize)]
struct Measure {
    name: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    sql: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    filters: Vec<MeasureFilter>,
    #[serde(default)]
    rolling_window: Option<Value>,
    #[serde(default)]
    format: Option<String>,
    #[serde(default)]
    meta: Value,
}

#[derive(Debug, Clone, Deserialize)]
struct MeasureFilter {
    sql: String,
}

#[derive(Debug, Deserialize)]
struct CubeSegment {
    name: String,
    sql: String,
    #[serde(default)]
    meta: Value,
}

fn strings(value: &Value) -> Vec<String> {
    value.as_array().map(|a| a.iter().filter_map(|v| v.as_str().map(String::from)).collect()).unwrap_or_default()
}

/// `sql` of cube `cube` with its own references made plain columns; `Err` names a reference
/// to another cube or a template quarry cannot read.
fn own_sql(text: &str, cube: &str) -> std::result::Result<String, String> {
    static REF: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"\$?\{\s*([A-Za-z_][A-Za-z0-9_]*)(?:\.([A-Za-z_][A-Za-z0-9_]*))?\s*\}(?:\.([A-Za-z_][A-Za-z0-9_]*))?",
        )
        .expect("valid")
    });
    let mut foreign = None;
    let out = REF.replace_all(text, |c: &regex::Captures| {
        let owner = &c[1];
        let member = c.get(2).or(c.get(3)).map(|m| m.as_str());
        if owner == "CUBE" || owner == cube {
            member.unwrap_or("").to_string()
        } else {
            foreign = Some(c[0].to_string());
            String::new()
        }
    });
    if let Some(f) = foreign {
        return Err(format!("'{text}' reads {f}, outside the cube"));
    }
    if out.contains("{{") || out.contains("{%") {
        return Err(format!("'{text}' is a Jinja template"));
    }
    Ok(out.trim().to_string())
}

pub(crate) fn import(files: &[Source], name: &str) -> Result<Import> {
    let mut report = ImportReport::new(Format::Cube);
    let mut cubes = Vec::new();
    for file in files {
        if file.path.ends_with(".js") {
            report.unmapped(
                Construct::File,
                &file.path,
                "a JavaScript data model: quarry reads Cube's YAML models only",
            );
            continue;
        }
        if file.text.contains("{%") {
            report.unmapped(
                Construct::File,
                &file.path,
                "a Jinja-templated model (loops or macros): render it with Cube first",
            );
            continue;
        }
        let parsed: File = serde_yaml::from_str(&file.text).map_err(|e| Error::Parse {
            format: Format::Cube,
            file: file.path.clone(),
            message: e.to_string(),
        })?;
        for view in &parsed.views {
            report.unmapped(
                Construct::View,
                view["name"].as_str().unwrap_or("view"),
                "a view re-exposes members of its cubes, which are imported themselves",
            );
        }
        cubes.extend(parsed.cubes);
    }
    if cubes.is_empty() {
        return Err(Error::Empty {
            path: files.first().map(|f| f.path.clone().into()).unwrap_or_default(),
            reason: format!(
                "no YAML cubes{}",
                if report.unmapped.is_empty() { "" } else { " (JavaScript or Jinja models are not read)" }
            ),
        });
    }
    let mut layer = build::layer(name);
    let tables: BTreeMap<String, String> =
        cubes.iter().filter_map(|c| c.sql_table.as_ref().map(|t| (c.name.clone(), sql::physical_table(t)))).collect();
    for cube in &cubes {
        import_cube(cube, &tables, &mut layer, &mut report);
    }
    Ok(Import { layer, report })
}

fn import_cube(cube: &Cube, tables: &BTreeMap<String, String>, layer: &mut SemanticLayer, report: &mut ImportReport) {
    let Some(table) = tables.get(&cube.name).cloned() else {
        let reason = if cube.sql.is_some() {
            "a cube over a SQL query: quarry tables are snapshot tables"
        } else {
            "names no sql_table"
        };
        report.unmapped(Construct::Table, &cube.name, reason);
        return;
    };
    if let Some(parent) = &cube.extends {
        report.unmapped(
            Construct::Table,
            format!("{}.extends", cube.name),
            format!("members inherited from {parent} are not copied"),
        );
    }
    let mut t = build::table(&table);
    t.description = cube.description.clone().unwrap_or_default().trim().to_string();
    t.synonyms = strings(&cube.meta["synonyms"]);
    report.mapped(Construct::Table, &cube.name, format!("table {table}"));

    let mut time_dimensions: Vec<(String, String)> = Vec::new();
    for d in &cube.dimensions {
        let qualified = format!("{}.{}", cube.name, d.name);
        if d.case.is_some() || d.sub_query == Some(true) {
            report.unmapped(
                Construct::Dimension,
                &qualified,
                "a case or sub-query dimension: quarry's dimensions are stored columns",
            );
            continue;
        }
        let column = match own_sql(&d.sql, &cube.name) {
            Ok(c) if sql::is_identifier(&c) => sql::unquote(&c).to_string(),
            Ok(c) => {
                report.unmapped(
                    Construct::Dimension,
                    &qualified,
                    format!("expression '{c}': quarry's dimensions are stored columns"),
                );
                continue;
            }
            Err(reason) => {
                report.unmapped(Construct::Dimension, &qualified, reason);
                continue;
            }
        };
        build::ensure_column(&mut t, &column, d.description.as_deref().unwrap_or("").trim());
        if d.primary_key {
            t.primary_key.push(column.clone());
        }
        if d.meta["personal"].as_bool() == Some(true) {
            if let Some(c) = t.columns.iter_mut().find(|c| c.name == column) {
                c.personal = true;
            }
            report.mapped(Construct::Dimension, &qualified, format!("column {table}.{column}"));
            continue;
        }
        if let Some(c) = t.columns.iter_mut().find(|c| c.name == column) {
            c.synonyms = build::dedup(c.synonyms.iter().cloned().chain(strings(&d.meta["column_synonyms"])));
        }
        let kind = d.kind.to_ascii_lowercase();
        if kind == "time" {
            time_dimensions.push((d.name.clone(), column.clone()));
            report.mapped(Construct::TimeDimension, &qualified, format!("column {table}.{column}"));
            continue;
        }
        // Keys and plain numbers are columns; named things people group by are dimensions.
        if d.primary_key
            || d.meta["dimension"].as_bool() == Some(false)
            || (kind == "number" && d.meta["dimension"].as_bool() != Some(true))
        {
            report.mapped(Construct::Dimension, &qualified, format!("column {table}.{column}"));
            continue;
        }
        let reference = format!("{table}.{column}");
        let mut dim = build::dimension(&d.name, &reference);
        dim.label = d.title.clone().unwrap_or_default();
        dim.synonyms = strings(&d.meta["synonyms"]);
        dim.also = strings(&d.meta["also"]);
        for v in d.meta["values"].as_array().into_iter().flatten() {
            match v {
                Value::String(s) => dim.values.push(build::value(s, Vec::new())),
                _ => {
                    if let Some(value) = v["value"].as_str() {
                        dim.values.push(build::value(value, strings(&v["synonyms"])));
                    }
                }
            }
        }
        let into = build::add_dimension(layer, dim);
        report.mapped(Construct::Dimension, &qualified, into);
    }

    for s in &cube.segments {
        let qualified = format!("{}.{}", cube.name, s.name);
        match own_sql(&s.sql, &cube.name) {
            Ok(condition) => {
                let mut seg = build::segment(&s.name, &table, &condition);
                seg.synonyms = strings(&s.meta["synonyms"]);
                report.mapped(Construct::Segment, &qualified, format!("segment {}", s.name));
                layer.segments.push(seg);
            }
            Err(reason) => report.unmapped(Construct::Segment, &qualified, reason),
        }
    }

    // Measures: plain aggregates first, then `number` measures over them.
    let mut built: BTreeMap<String, Metric> = BTreeMap::new();
    let mut order = Vec::new();
    for m in cube.measures.iter().filter(|m| m.kind != "number") {
        let qualified = format!("{}.{}", cube.name, m.name);
        match plain_measure(m, &cube.name, &table, &time_dimensions) {
            Ok((metric, note)) => {
                match note {
                    Some(n) => {
                        report.mapped_with_note(Construct::Measure, &qualified, format!("metric {}", metric.name), n)
                    }
                    None => report.mapped(Construct::Measure, &qualified, format!("metric {}", metric.name)),
                }
                order.push(m.name.clone());
                built.insert(m.name.clone(), metric);
            }
            Err(reason) => report.unmapped(Construct::Measure, &qualified, reason),
        }
    }
    for m in cube.measures.iter().filter(|m| m.kind == "number") {
        let qualified = format!("{}.{}", cube.name, m.name);
        match number_measure(m, &cube.name, &table, &built, &time_dimensions) {
            Ok(metric) => {
                report.mapped_with_note(
                    Construct::Measure,
                    &qualified,
                    format!("metric {}", metric.name),
                    "a number measure over measures of its cube",
                );
                order.push(m.name.clone());
                built.insert(m.name.clone(), metric);
            }
            Err(reason) => report.unmapped(Construct::Measure, &qualified, reason),
        }
    }
    for name in order {
        if let Some(metric) = built.remove(&name) {
            let name = if layer.metric(&metric.name).is_some() {
                format!("{}_{}", cube.name, metric.name)
            } else {
                metric.name.clone()
            };
            let mut metric = metric;
            metric.name = name;
            layer.metrics.push(metric);
        }
    }

    for j in &cube.joins {
        let qualified = format!("{}.{}", cube.name, j.name);
        import_join(j, cube, &table, tables, layer, report, &qualified);
    }
    for p in &cube.pre_aggregations {
        report.unmapped(
            Construct::View,
            format!("{}.{}", cube.name, p["name"].as_str().unwrap_or("pre_aggregation")),
            "a pre-aggregation is a cache: quarry queries the snapshot directly",
        );
    }
    layer.tables.push(t);
}

fn apply_meta(metric: &mut Metric, m: &Measure, time_dimensions: &[(String, String)]) -> Option<String> {
    metric.label = m.title.clone().unwrap_or_default();
    metric.description = m.description.clone().unwrap_or_default().trim().to_string();
    metric.synonyms = strings(&m.meta["synonyms"]);
    metric.format = match m.format.as_deref() {
        Some("percent") => MetricFormat::Percent,
        Some("currency") => MetricFormat::Currency,
        _ => m.meta["format"]
            .as_str()
            .and_then(|f| serde_json::from_value(Value::String(f.into())).ok())
            .unwrap_or(if m.kind.starts_with("count") { MetricFormat::Count } else { MetricFormat::Number }),
    };
    match m.meta["time_dimension"].as_str() {
        Some("") => None,
        Some(name) => {
            metric.time_column = time_dimensions.iter().find(|(n, _)| n == name).map(|(_, c)| c.clone());
            None
        }
        None => {
            metric.time_column = time_dimensions.first().map(|(_, c)| c.clone());
            match time_dimensions {
                [] => None,
                [(one, _)] => Some(format!("time dimension {one}, the cube's only one")),
                [(first, _), ..] => {
                    Some(format!("time dimension {first}, the cube's first (set meta.time_dimension to choose)"))
                }
            }
        }
    }
}

fn plain_measure(
    m: &Measure,
    cube: &str,
    table: &str,
    time_dimensions: &[(String, String)],
) -> std::result::Result<(Metric, Option<String>), String> {
    if let Some(w) = &m.rolling_window {
        return Err(format!("a rolling window ({w}): quarry metrics are not running totals"));
    }
    let expr = m.sql.as_deref().map(|s| own_sql(s, cube)).transpose()?;
    let Some(expression) = sql::aggregate(&m.kind, expr.as_deref()) else {
        return Err(format!("measure type '{}': quarry metrics are SQL aggregates", m.kind));
    };
    let (expression, inner) = sql::split_filter(&expression);
    let mut filters: Vec<String> = inner.into_iter().collect();
    for f in &m.filters {
        filters.push(own_sql(&f.sql, cube)?);
    }
    let mut metric = build::metric(&m.name, table, &expression);
    metric.filter = match filters.len() {
        0 => None,
        1 => filters.pop(),
        _ => Some(filters.iter().map(|f| format!("({f})")).collect::<Vec<_>>().join(" AND ")),
    };
    let note = apply_meta(&mut metric, m, time_dimensions);
    Ok((metric, note))
}

fn number_measure(
    m: &Measure,
    cube: &str,
    table: &str,
    built: &BTreeMap<String, Metric>,
    time_dimensions: &[(String, String)],
) -> std::result::Result<Metric, String> {
    static MEMBER: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"\$?\{\s*(?:(?:CUBE|[A-Za-z_][A-Za-z0-9_]*)\.)?([A-Za-z_][A-Za-z0-9_]*)\s*\}").expect("valid")
    });
    let text = m.sql.as_deref().ok_or("a number measure without sql")?;
    if text.contains("{{") {
        return Err(format!("'{text}' is a Jinja template"));
    }
    let mut problem = None;
    let mut first_time = None;
    let out = MEMBER.replace_all(text, |c: &regex::Captures| {
        let whole = &c[0];
        let owner_ok = whole.contains("CUBE") || whole.contains(&format!("{cube}.")) || !whole.contains('.');
        match built.get(&c[1]) {
            Some(input) if owner_ok => match sql::with_filter(&input.expression, input.filter.as_deref()) {
                Some(e) => {
                    first_time.get_or_insert(input.time_column.clone());
                    format!("({e})")
                }
                None => {
                    problem = Some(format!("measure {} with a filter is not a single aggregate", input.name));
                    String::new()
                }
            },
            _ => {
                problem = Some(format!("'{text}' reads {whole}, not a measure of the cube"));
                String::new()
            }
        }
    });
    if let Some(p) = problem {
        return Err(p);
    }
    let mut metric = build::metric(&m.name, table, out.trim());
    apply_meta(&mut metric, m, time_dimensions);
    if m.meta["time_dimension"].is_null() {
        metric.time_column = first_time.flatten();
    }
    Ok(metric)
}

fn import_join(
    j: &Join,
    cube: &Cube,
    table: &str,
    tables: &BTreeMap<String, String>,
    layer: &mut SemanticLayer,
    report: &mut ImportReport,
    qualified: &str,
) {
    static EQ: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"^\s*\{\s*(\w+)(?:\.(\w+))?\s*\}(?:\.(\w+))?\s*=\s*\{\s*(\w+)(?:\.(\w+))?\s*\}(?:\.(\w+))?\s*$")
            .expect("valid")
    });
    let Some(other) = tables.get(&j.name) else {
        report.unmapped(Construct::Join, qualified, format!("joins cube {}, which has no table here", j.name));
        return;
    };
    let Some(c) = EQ.captures(&j.sql) else {
        report.unmapped(
            Construct::Join,
            qualified,
            format!("condition '{}': quarry joins are one column equal to another", j.sql),
        );
        return;
    };
    let side = |owner: &str, a: Option<regex::Match>, b: Option<regex::Match>| -> Option<(String, String)> {
        let column = a.or(b)?.as_str().to_string();
        let t = if owner == "CUBE" || owner == cube.name {
            table.to_string()
        } else if owner == j.name {
            other.clone()
        } else {
            return None;
        };
        Some((t, column))
    };
    let (Some(left), Some(right)) = (side(&c[1], c.get(2), c.get(3)), side(&c[4], c.get(5), c.get(6))) else {
        report.unmapped(Construct::Join, qualified, format!("condition '{}' reads a third cube", j.sql));
        return;
    };
    let (mine, theirs) = if left.0 == table { (left, right) } else { (right, left) };
    let (from, to) = match j.relationship.as_str() {
        "many_to_one" | "belongs_to" | "belongsTo" | "one_to_one" | "has_one" | "hasOne" => (mine, theirs),
        "one_to_many" | "has_many" | "hasMany" => (theirs, mine),
        other => {
            report.unmapped(Construct::Join, qualified, format!("relationship '{other}'"));
            return;
        }
    };
    let join = build::join(&format!("{}.{}", from.0, from.1), &format!("{}.{}", to.0, to.1));
    if layer.joins.contains(&join) {
        report.mapped(Construct::Join, qualified, format!("join {} -> {} (declared twice)", join.from, join.to));
        return;
    }
    report.mapped(Construct::Join, qualified, format!("join {} -> {}", join.from, join.to));
    layer.joins.push(join);
}

#[cfg(test)]
mod tests {
    use super::*;

    const MODEL: &str = r#"
cubes:
  - name: orders
    sql_table: public.orders
    joins:
      - { name: users, sql: "{CUBE}.user_id = {users.id}", relationship: many_to_one }
    dimensions:
      - { name: id, sql: id, type: number, primary_key: true }
      - { name: status, sql: "{CUBE}.status", type: string, meta: { synonyms: [state] } }
      - { name: created_at, sql: created_at, type: time }
      - { name: size, sql: "CASE WHEN amount > 100 THEN 'big' ELSE 'small' END", type: string }
    measures:
      - { name: count, type: count }
      - { name: paid_count, type: count, filters: [{ sql: "{CUBE}.status = 'paid'" }] }
      - { name: paid_share, type: number, sql: "1.0 * {paid_count} / {count}", format: percent }
      - { name: running_total, type: sum, sql: amount, rolling_window: { trailing: unbounded } }
    segments:
      - { name: paid, sql: "{CUBE}.status = 'paid'" }
  - name: users
    sql_table: public.users
    dimensions:
      - { name: id, sql: id, type: number, primary_key: true }
  - name: big_orders
    sql: SELECT * FROM orders WHERE amount > 100
views:
  - name: orders_view
    cubes: [{ join_path: orders, includes: "*" }]
"#;

    #[test]
    fn cubes_measures_segments_and_joins_map() {
        let import = crate::import_str(MODEL, Format::Cube, "model.yml").unwrap();
        let layer = &import.layer;
        let paid = layer.metric("paid_count").unwrap();
        assert_eq!((paid.expression.as_str(), paid.filter.as_deref()), ("COUNT(*)", Some("status = 'paid'")));
        assert_eq!(paid.time_column.as_deref(), Some("created_at"));
        assert_eq!(
            layer.metric("paid_share").unwrap().expression,
            "1.0 * (COUNT(CASE WHEN status = 'paid' THEN 1 END)) / (COUNT(*))"
        );
        assert_eq!(layer.segment("paid").unwrap().condition, "status = 'paid'");
        assert_eq!((layer.joins[0].from.as_str(), layer.joins[0].to.as_str()), ("orders.user_id", "users.id"));
        assert_eq!(layer.dimension("status").unwrap().synonyms, ["state"]);
        for name in ["orders.running_total", "orders.size", "big_orders", "orders_view"] {
            assert!(import.report.unmapped_named(name).is_some(), "{name}: {}", import.report.to_text());
        }
    }
}
