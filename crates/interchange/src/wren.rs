//! WrenAI MDL (the JSON manifest of Wren Engine).
//!
//! Read from the MDL JSON schema (`mdl.schema.json` of Canner/WrenAI and wren-engine): a
//! manifest has `catalog`, `schema`, `dataSource`, `models` (each with `tableReference`
//! {catalog, schema, table} or `refSql`, `columns` with `type`, `isCalculated`,
//! `expression`, `relationship`, `properties`, a `primaryKey`, and `properties`),
//! `relationships` (two `models`, a `joinType` of ONE_TO_ONE, ONE_TO_MANY, MANY_TO_ONE or
//! MANY_TO_MANY, and a `condition`), `metrics` (a `baseObject`, `dimension` and `measure`
//! columns, `timeGrain` with a `refColumn`), `views` (a SQL `statement`) and
//! `enumDefinitions` (named lists of values).
//!
//! Mapping: a model over a table is a table, its columns documented columns (a column's
//! `properties.description` its description); a relationship with a one-column equality is
//! a join; each measure of a metric is a quarry metric on the metric's base model, its time
//! column the first `timeGrain`'s `refColumn`; the metric's dimensions, and columns with an
//! enum or `properties.dimension`, are dimensions (the enum's members their known values); a
//! calculated field that is one aggregate becomes a metric on the model it aggregates. A
//! view whose `properties.question` is set is a verified query. Models over SQL
//! (`refSql`), other calculated fields, many-to-many relationships, access controls and the
//! remaining views are reported as not mapped.
//!
//! MDL has no synonyms or named conditions; quarry reads them from `properties` when present:
//! `synonyms` (an array on models, a comma-separated string on columns), `segments` on models
//! (a list of `{name, condition, synonyms}`), `filter`, `format` and `label` on measures,
//! `personal: "true"` on columns; and enum members' `properties.synonyms`.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use quarry_semantic::{MetricFormat, SemanticLayer};
use regex::Regex;
use serde::Deserialize;
use serde_json::Value;

use crate::build;
use crate::report::{Construct, ImportReport};
use crate::sql;
use crate::{Error, Format, Import, Result, Source};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Manifest {
    #[serde(default)]
    models: Vec<Model>,
    #[serde(default)]
    relationships: Vec<Relationship>,
    #[serde(default)]
    metrics: Vec<WrenMetric>,
    #[serde(default)]
    views: Vec<View>,
    #[serde(default)]
    enum_definitions: Vec<EnumDefinition>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Model {
    name: String,
    #[serde(default)]
    table_reference: Option<TableReference>,
    #[serde(default)]
    ref_sql: Option<String>,
    #[serde(default)]
    base_object: Option<String>,
    #[serde(default)]
    columns: Vec<Column>,
    #[serde(default)]
    primary_key: Option<String>,
    #[serde(default)]
    row_level_access_controls: Vec<Value>,
    #[serde(default)]
    properties: Value,
}

#[derive(Debug, Deserialize)]
struct TableReference {
    table: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Column {
    name: String,
    /// A column type, or for a relationship column the model it leads to.
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    relationship: Option<String>,
    #[serde(default)]
    is_calculated: bool,
    #[serde(default)]
    expression: Option<String>,
    #[serde(default)]
    column_level_access_control: Option<Value>,
    #[serde(default, rename = "enum")]
    enum_name: Option<String>,
    #[serde(default)]
    properties: Value,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Relationship {
    name: String,
    models: Vec<String>,
    join_type: String,
    condition: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WrenMetric {
    name: String,
    base_object: String,
    #[serde(default)]
    dimension: Vec<Column>,
    #[serde(default)]
    measure: Vec<Column>,
    #[serde(default)]
    time_grain: Vec<TimeGrain>,
    #[serde(default)]
    properties: Value,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TimeGrain {
    ref_column: String,
}

#[derive(Debug, Deserialize)]
struct View {
    name: String,
    statement: String,
    #[serde(default)]
    properties: Value,
}

#[derive(Debug, Deserialize)]
struct EnumDefinition {
    name: String,
    values: Vec<EnumValue>,
}

#[derive(Debug, Deserialize)]
struct EnumValue {
    name: String,
    #[serde(default)]
    value: Option<String>,
    #[serde(default)]
    properties: Value,
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or("").trim().to_string()
}

/// An array of strings, a JSON array in a string, or a comma-separated string.
fn words(value: &Value) -> Vec<String> {
    match value {
        Value::Array(a) => a.iter().filter_map(|v| v.as_str().map(String::from)).collect(),
        Value::String(s) => match serde_json::from_str::<Vec<String>>(s) {
            Ok(list) => list,
            Err(_) => build::dedup(s.split(',').map(String::from)),
        },
        _ => Vec::new(),
    }
}

fn is_true(value: &Value) -> bool {
    value.as_bool() == Some(true) || value.as_str() == Some("true")
}

pub(crate) fn import(files: &[Source], name: &str) -> Result<Import> {
    let mut report = ImportReport::new(Format::Wren);
    let mut layer = build::layer(name);
    for file in files {
        let manifest: Manifest = serde_json::from_str(&file.text).map_err(|e| Error::Parse {
            format: Format::Wren,
            file: file.path.clone(),
            message: e.to_string(),
        })?;
        import_manifest(manifest, &mut layer, &mut report);
    }
    Ok(Import { layer, report })
}

fn import_manifest(manifest: Manifest, layer: &mut SemanticLayer, report: &mut ImportReport) {
    let enums: BTreeMap<&str, &EnumDefinition> =
        manifest.enum_definitions.iter().map(|e| (e.name.as_str(), e)).collect();
    let tables: BTreeMap<String, String> = manifest
        .models
        .iter()
        .filter_map(|m| m.table_reference.as_ref().map(|t| (m.name.clone(), t.table.clone())))
        .collect();
    // Columns named as dimensions by a metric.
    let metric_dimensions: Vec<(String, String)> = manifest
        .metrics
        .iter()
        .flat_map(|m| m.dimension.iter().map(move |d| (m.base_object.clone(), d.name.clone())))
        .collect();

    for model in &manifest.models {
        let Some(table) = tables.get(&model.name).cloned() else {
            let reason = if model.ref_sql.is_some() {
                "a model over a SQL query (refSql): quarry tables are snapshot tables"
            } else if model.base_object.is_some() {
                "a model over another object (baseObject): quarry tables are snapshot tables"
            } else {
                "names no tableReference"
            };
            report.unmapped(Construct::Table, &model.name, reason);
            continue;
        };
        let mut t = build::table(&table);
        t.description = text(&model.properties["description"]);
        t.synonyms = words(&model.properties["synonyms"]);
        if let Some(pk) = &model.primary_key {
            t.primary_key = vec![pk.clone()];
        }
        report.mapped(Construct::Table, &model.name, format!("table {table}"));
        for rule in &model.row_level_access_controls {
            report.unmapped(
                Construct::Table,
                format!("{}.rowLevelAccessControls[{}]", model.name, rule["name"].as_str().unwrap_or("")),
                "row-level access control: quarry's policy works on the SQL, not per session property",
            );
        }
        for c in &model.columns {
            let qualified = format!("{}.{}", model.name, c.name);
            if c.relationship.is_some() && !c.is_calculated {
                report.mapped(Construct::Join, &qualified, "the joins of its relationship".to_string());
                continue;
            }
            if c.is_calculated {
                // Calculated fields reach other models through relationship columns.
                let mut reachable = tables.clone();
                for r in model.columns.iter().filter(|r| r.relationship.is_some()) {
                    if let Some(t) = tables.get(&r.kind) {
                        reachable.insert(r.name.clone(), t.clone());
                    }
                }
                import_calculated(c, &model.name, &table, &reachable, layer, report);
                continue;
            }
            let column = c.expression.as_deref().filter(|e| !e.trim().is_empty()).unwrap_or(&c.name);
            if !sql::is_identifier(column) {
                report.unmapped(
                    Construct::CalculatedField,
                    &qualified,
                    format!("expression '{column}': quarry's columns are stored columns"),
                );
                continue;
            }
            let column = sql::unquote(column).to_string();
            build::ensure_column(&mut t, &column, &text(&c.properties["description"]));
            if c.column_level_access_control.is_some() {
                report.unmapped(
                    Construct::Column,
                    format!("{qualified}.columnLevelAccessControl"),
                    "column-level access control by session property",
                );
            }
            let col = t.columns.iter_mut().find(|x| x.name == column).expect("just added");
            col.synonyms = words(&c.properties["column_synonyms"]);
            if is_true(&c.properties["personal"]) {
                col.personal = true;
                report.mapped(Construct::Column, &qualified, format!("column {table}.{column}"));
                continue;
            }
            let enum_name = c.enum_name.clone().or_else(|| c.properties["enum"].as_str().map(String::from));
            let dimension_name = match &c.properties["dimension"] {
                Value::String(s) if s != "true" && s != "false" => Some(s.clone()),
                v if is_true(v) => Some(c.name.clone()),
                _ if enum_name.is_some() || metric_dimensions.iter().any(|(m, d)| *m == model.name && *d == c.name) => {
                    Some(c.name.clone())
                }
                _ => None,
            };
            let Some(dimension_name) = dimension_name else {
                report.mapped(Construct::Column, &qualified, format!("column {table}.{column}"));
                continue;
            };
            let reference = format!("{table}.{column}");
            let mut d = build::dimension(&dimension_name, &reference);
            d.label = text(&c.properties["displayName"]);
            d.synonyms = words(&c.properties["synonyms"]);
            d.also = words(&c.properties["also"]);
            if let Some(name) = &enum_name {
                match enums.get(name.as_str()) {
                    Some(e) => {
                        d.values = e
                            .values
                            .iter()
                            .map(|v| {
                                build::value(v.value.as_deref().unwrap_or(&v.name), words(&v.properties["synonyms"]))
                            })
                            .collect();
                    }
                    None => report.unmapped(
                        Construct::Dimension,
                        format!("{qualified}.enum"),
                        format!("enum {name} is not defined"),
                    ),
                }
            }
            let into = build::add_dimension(layer, d);
            report.mapped(Construct::Dimension, &qualified, into);
        }
        for s in model.properties["segments"].as_array().into_iter().flatten() {
            let (Some(n), Some(cond)) = (s["name"].as_str(), s["condition"].as_str()) else { continue };
            let mut seg = build::segment(n, &table, cond);
            seg.synonyms = words(&s["synonyms"]);
            report.mapped_with_note(
                Construct::Segment,
                format!("{}.{n}", model.name),
                format!("segment {n}"),
                "from properties.segments",
            );
            layer.segments.push(seg);
        }
        layer.tables.push(t);
    }

    for rel in &manifest.relationships {
        import_relationship(rel, &tables, layer, report);
    }
    for metric in &manifest.metrics {
        let Some(table) = tables.get(&metric.base_object) else {
            report.unmapped(
                Construct::Metric,
                &metric.name,
                format!("its base object {} is not a model over a table", metric.base_object),
            );
            continue;
        };
        let time_column = metric.time_grain.first().map(|g| g.ref_column.clone());
        for m in &metric.measure {
            let name = if metric.measure.len() == 1 { metric.name.clone() } else { m.name.clone() };
            let Some(expression) = m.expression.as_deref() else {
                report.unmapped(
                    Construct::Measure,
                    format!("{}.{}", metric.name, m.name),
                    "a measure without an expression",
                );
                continue;
            };
            let (expression, inner) = sql::split_filter(&strip_model(expression, &metric.base_object));
            let outer = m.properties["filter"].as_str().or(metric.properties["filter"].as_str()).map(String::from);
            let mut q = build::metric(&name, table, &expression);
            q.filter = match (inner, outer) {
                (Some(a), Some(b)) => Some(format!("({a}) AND ({b})")),
                (a, b) => a.or(b),
            };
            q.time_column = time_column.clone();
            if m.properties["time_column"].as_str() == Some("")
                || metric.properties["point_in_time"].as_str() == Some("true")
            {
                q.time_column = None;
            }
            q.label = text(&m.properties["displayName"]);
            q.description = text(&m.properties["description"]);
            q.synonyms = words(&m.properties["synonyms"]);
            q.format = m.properties["format"]
                .as_str()
                .and_then(|f| serde_json::from_value::<MetricFormat>(Value::String(f.into())).ok())
                .unwrap_or_default();
            report.mapped(Construct::Metric, format!("{}.{}", metric.name, m.name), format!("metric {name}"));
            layer.metrics.push(q);
        }
    }
    for view in &manifest.views {
        match view.properties["question"].as_str() {
            Some(q) => {
                report.mapped(Construct::View, &view.name, format!("verified query {q}"));
                layer.verified_queries.push(build::verified(q, view.statement.trim()));
            }
            None => report.unmapped(
                Construct::View,
                &view.name,
                "a view is a named SQL query; it becomes a verified query only with properties.question",
            ),
        }
    }
}

/// `model.column` of the model itself made a plain column.
fn strip_model(expression: &str, model: &str) -> String {
    sql::substitute_words(expression, &|w| w.strip_prefix(&format!("{model}.")).map(String::from))
}

fn import_calculated(
    c: &Column,
    model: &str,
    table: &str,
    tables: &BTreeMap<String, String>,
    layer: &mut SemanticLayer,
    report: &mut ImportReport,
) {
    let qualified = format!("{model}.{}", c.name);
    let Some(expression) = c.expression.as_deref() else {
        report.unmapped(Construct::CalculatedField, &qualified, "a calculated field without an expression");
        return;
    };
    // `sum(orders.totalprice)` through a relationship column aggregates the related model.
    let referenced: Vec<&str> = expression
        .split(|ch: char| !(ch.is_ascii_alphanumeric() || ch == '_' || ch == '.'))
        .filter_map(|w| w.split_once('.').map(|(m, _)| m))
        .collect();
    let (target_model, target_table) = match referenced.first() {
        Some(rel) => match tables.get(*rel) {
            Some(t) => (rel.to_string(), t.clone()),
            None => {
                report.unmapped(
                    Construct::CalculatedField,
                    &qualified,
                    format!("expression '{expression}' goes through {rel}, which quarry cannot follow"),
                );
                return;
            }
        },
        None => (model.to_string(), table.to_string()),
    };
    if !sql::is_single_aggregate(expression) || referenced.iter().any(|m| *m != target_model) {
        report.unmapped(
            Construct::CalculatedField,
            &qualified,
            format!("expression '{expression}': quarry keeps stored columns and single-table aggregates only"),
        );
        return;
    }
    let (expr, filter) = sql::split_filter(&strip_model(expression, &target_model));
    let mut name = c.name.clone();
    if layer.metric(&name).is_some() {
        name = format!("{model}_{name}");
    }
    let mut q = build::metric(&name, &target_table, &expr);
    q.filter = filter;
    q.description = text(&c.properties["description"]);
    q.label = text(&c.properties["displayName"]);
    report.mapped_with_note(
        Construct::CalculatedField,
        &qualified,
        format!("metric {name}"),
        format!("an aggregate over {target_table}: quarry computes it per group asked for, not per {model} row"),
    );
    layer.metrics.push(q);
}

fn import_relationship(
    rel: &Relationship,
    tables: &BTreeMap<String, String>,
    layer: &mut SemanticLayer,
    report: &mut ImportReport,
) {
    static EQ: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r#"^\s*"?(\w+)"?\."?(\w+)"?\s*=\s*"?(\w+)"?\."?(\w+)"?\s*$"#).expect("valid"));
    let [a, b] = rel.models.as_slice() else {
        report.unmapped(Construct::Join, &rel.name, "a relationship names two models");
        return;
    };
    let (Some(ta), Some(tb)) = (tables.get(a), tables.get(b)) else {
        report.unmapped(Construct::Join, &rel.name, format!("joins {a} and {b}, not both models over tables"));
        return;
    };
    let Some(c) = EQ.captures(&rel.condition) else {
        report.unmapped(
            Construct::Join,
            &rel.name,
            format!("condition '{}': quarry joins are one column equal to another", rel.condition),
        );
        return;
    };
    let column_of = |model: &str| -> Option<String> {
        if &c[1] == model {
            Some(c[2].to_string())
        } else if &c[3] == model {
            Some(c[4].to_string())
        } else {
            None
        }
    };
    let (Some(ca), Some(cb)) = (column_of(a), column_of(b)) else {
        report.unmapped(Construct::Join, &rel.name, format!("condition '{}' does not read both models", rel.condition));
        return;
    };
    let (from, to) = match rel.join_type.to_ascii_uppercase().as_str() {
        "MANY_TO_ONE" | "ONE_TO_ONE" => (format!("{ta}.{ca}"), format!("{tb}.{cb}")),
        "ONE_TO_MANY" => (format!("{tb}.{cb}"), format!("{ta}.{ca}")),
        other => {
            report.unmapped(
                Construct::Join,
                &rel.name,
                format!("a {other} relationship: quarry joins go from a foreign key to a key"),
            );
            return;
        }
    };
    let join = build::join(&from, &to);
    report.mapped(Construct::Join, &rel.name, format!("join {} -> {}", join.from, join.to));
    layer.joins.push(join);
}

#[cfg(test)]
mod tests {
    use super::*;

    const MDL: &str = r#"{
      "catalog": "wren", "schema": "public", "dataSource": "duckdb",
      "models": [
        {"name": "orders", "tableReference": {"schema": "main", "table": "orders"}, "primaryKey": "id",
         "columns": [
           {"name": "id", "type": "INTEGER"},
           {"name": "status", "type": "VARCHAR", "properties": {"description": "Order status", "dimension": "true", "synonyms": "state, stage"}},
           {"name": "customer", "type": "customers", "relationship": "orders_customers"},
           {"name": "label", "type": "VARCHAR", "isCalculated": true, "expression": "concat(id, status)"}
         ]},
        {"name": "customers", "tableReference": {"table": "customers"}, "primaryKey": "id",
         "columns": [
           {"name": "id", "type": "INTEGER"},
           {"name": "total_spent", "type": "DOUBLE", "isCalculated": true, "expression": "sum(orders.amount)"}
         ]},
        {"name": "big", "refSql": "select * from orders where amount > 100", "columns": []}
      ],
      "relationships": [
        {"name": "orders_customers", "models": ["orders", "customers"], "joinType": "MANY_TO_ONE", "condition": "orders.customer_id = customers.id"}
      ],
      "metrics": [
        {"name": "revenue", "baseObject": "orders", "dimension": [{"name": "status", "type": "VARCHAR"}],
         "measure": [{"name": "revenue", "type": "DOUBLE", "expression": "sum(amount)", "properties": {"filter": "status = 'paid'"}}],
         "timeGrain": [{"name": "ordered", "refColumn": "ordered_at", "dateParts": ["DAY", "MONTH"]}]}
      ],
      "views": [
        {"name": "paid_orders", "statement": "select * from orders where status = 'paid'"},
        {"name": "rev", "statement": "select sum(amount) from orders", "properties": {"question": "What is revenue?"}}
      ]
    }"#;

    #[test]
    fn models_relationships_metrics_and_views_map() {
        let import = crate::import_str(MDL, Format::Wren, "mdl.json").unwrap();
        let layer = &import.layer;
        let revenue = layer.metric("revenue").unwrap();
        assert_eq!((revenue.expression.as_str(), revenue.filter.as_deref()), ("sum(amount)", Some("status = 'paid'")));
        assert_eq!(revenue.time_column.as_deref(), Some("ordered_at"));
        assert_eq!(layer.metric("total_spent").unwrap().table, "orders");
        assert_eq!(layer.dimension("status").unwrap().synonyms, ["state", "stage"]);
        assert_eq!((layer.joins[0].from.as_str(), layer.joins[0].to.as_str()), ("orders.customer_id", "customers.id"));
        assert_eq!(layer.verified_queries[0].question, "What is revenue?");
        for name in ["orders.label", "big", "paid_orders"] {
            assert!(import.report.unmapped_named(name).is_some(), "{name}: {}", import.report.to_text());
        }
    }
}
