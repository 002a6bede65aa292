//! dbt MetricFlow: `target/semantic_manifest.json`, or the project's YAML files.
//!
//! Read from dbt's documentation of semantic models and metrics and from MetricFlow's
//! manifest: a semantic model has a table (`model: ref('name')` in YAML, `node_relation` in
//! the manifest), `defaults.agg_time_dimension`, `entities` (primary, unique, natural,
//! foreign), `dimensions` (categorical, or time with `type_params.time_granularity`) and
//! `measures` (`agg`, `expr`, `agg_time_dimension`, `non_additive_dimension`); `metrics` are
//! `simple` (one measure), `ratio` (numerator over denominator), `derived` (an expression
//! over other metrics), `cumulative` or `conversion`, each with an optional `filter` written
//! in MetricFlow's Jinja (`{{ Dimension('order__status') }} = 'paid'`). The YAML form may
//! also hold dbt `models:` with documented `columns:`.
//!
//! Mapping: a semantic model is a table; a foreign entity joins to the semantic model whose
//! primary entity has its name; a categorical dimension is a dimension (one of the same name on
//! another table becomes an `also` column); a time dimension is a documented column and the
//! metrics' time column; simple metrics are one aggregate; ratio and derived metrics over
//! metrics of one table become one expression with each input's filter folded in; filters
//! naming a dimension of the metric's own table are rewritten to SQL. Cumulative and
//! conversion metrics, period offsets, non-additive measures, percentiles and other Jinja are
//! reported as not mapped.
//!
//! dbt has no place for synonyms, known values, named conditions or personal-data flags;
//! quarry reads them from `config.meta` (or `meta`) when present: `synonyms` on semantic
//! models, dimensions, metrics and documented columns; `values` (a list of `{value,
//! synonyms}`) and `personal: true` on dimensions; `segments` (a list of `{name, condition,
//! synonyms}`) on semantic models; `label`s are dbt's own; `point_in_time: true` on a metric
//! that no time range should filter.

use std::collections::BTreeMap;

use quarry_semantic::{Metric, MetricFormat};
use serde::Deserialize;
use serde_json::Value;

use crate::build;
use crate::report::{Construct, ImportReport};
use crate::sql;
use crate::{Error, Format, Import, Result, Source};

#[derive(Debug, Default, Deserialize)]
struct Project {
    #[serde(default)]
    semantic_models: Vec<SemanticModel>,
    #[serde(default)]
    metrics: Vec<DbtMetric>,
    #[serde(default)]
    models: Vec<DbtModel>,
    #[serde(default)]
    saved_queries: Vec<Value>,
    /// `target/manifest.json`: the project's nodes, models with their documented columns.
    #[serde(default)]
    nodes: BTreeMap<String, Value>,
}

#[derive(Debug, Deserialize)]
struct DbtModel {
    name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    columns: Vec<DbtColumn>,
    #[serde(default)]
    meta: Option<Value>,
    #[serde(default)]
    config: Option<Config>,
}

#[derive(Debug, Deserialize)]
struct DbtColumn {
    name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    meta: Option<Value>,
    #[serde(default)]
    config: Option<Config>,
}

#[derive(Debug, Default, Clone, Deserialize)]
struct Config {
    #[serde(default)]
    meta: Option<Value>,
}

#[derive(Debug, Deserialize)]
struct SemanticModel {
    name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    node_relation: Option<NodeRelation>,
    #[serde(default)]
    defaults: Option<Defaults>,
    #[serde(default)]
    entities: Vec<Entity>,
    #[serde(default)]
    dimensions: Vec<DbtDimension>,
    #[serde(default)]
    measures: Vec<Measure>,
    #[serde(default)]
    config: Option<Config>,
    #[serde(default)]
    meta: Option<Value>,
}

#[derive(Debug, Deserialize)]
struct NodeRelation {
    alias: String,
}

#[derive(Debug, Deserialize)]
struct Defaults {
    #[serde(default)]
    agg_time_dimension: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Entity {
    name: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    expr: Option<String>,
}

#[derive(Debug, Deserialize)]
struct DbtDimension {
    name: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    expr: Option<Value>,
    #[serde(default)]
    label: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    type_params: Option<Value>,
    #[serde(default)]
    config: Option<Config>,
    #[serde(default)]
    meta: Option<Value>,
}

#[derive(Debug, Clone, Deserialize)]
struct Measure {
    name: String,
    agg: String,
    #[serde(default)]
    expr: Option<Value>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    label: Option<String>,
    #[serde(default)]
    agg_time_dimension: Option<String>,
    #[serde(default)]
    non_additive_dimension: Option<Value>,
    #[serde(default)]
    create_metric: Option<bool>,
}

#[derive(Debug, Clone, Deserialize)]
struct DbtMetric {
    name: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    label: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    type_params: TypeParams,
    #[serde(default)]
    filter: Option<Filter>,
    #[serde(default)]
    config: Option<Config>,
    #[serde(default)]
    meta: Option<Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
struct TypeParams {
    #[serde(default)]
    measure: Option<Input>,
    #[serde(default)]
    numerator: Option<Input>,
    #[serde(default)]
    denominator: Option<Input>,
    #[serde(default)]
    expr: Option<String>,
    #[serde(default)]
    metrics: Vec<Input>,
    #[serde(default)]
    window: Option<Value>,
    #[serde(default)]
    grain_to_date: Option<Value>,
}

/// A measure or metric named as an input: a string, or an object with a filter and alias.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum Input {
    Name(String),
    Full {
        name: String,
        #[serde(default)]
        filter: Option<Filter>,
        #[serde(default)]
        alias: Option<String>,
        #[serde(default)]
        offset_window: Option<Value>,
        #[serde(default)]
        offset_to_grain: Option<Value>,
    },
}

impl Input {
    fn name(&self) -> &str {
        match self {
            Input::Name(n) | Input::Full { name: n, .. } => n,
        }
    }

    fn filter(&self) -> Vec<String> {
        match self {
            Input::Full { filter: Some(f), .. } => f.templates(),
            _ => Vec::new(),
        }
    }

    fn alias(&self) -> &str {
        match self {
            Input::Full { alias: Some(a), .. } => a,
            _ => self.name(),
        }
    }

    fn offset(&self) -> Option<String> {
        match self {
            Input::Full { offset_window: Some(w), .. } if !w.is_null() => Some(w.to_string()),
            Input::Full { offset_to_grain: Some(g), .. } if !g.is_null() => Some(g.to_string()),
            _ => None,
        }
    }
}

/// A YAML filter (a string or a list of them) or the manifest's `where_filters`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum Filter {
    One(String),
    Many(Vec<String>),
    Manifest { where_filters: Vec<WhereFilter> },
}

#[derive(Debug, Clone, Deserialize)]
struct WhereFilter {
    where_sql_template: String,
}

impl Filter {
    fn templates(&self) -> Vec<String> {
        match self {
            Filter::One(s) => vec![s.trim().to_string()],
            Filter::Many(v) => v.iter().map(|s| s.trim().to_string()).collect(),
            Filter::Manifest { where_filters } => {
                where_filters.iter().map(|w| w.where_sql_template.trim().to_string()).collect()
            }
        }
    }
}

fn meta(config: &Option<Config>, meta: &Option<Value>) -> Value {
    config.as_ref().and_then(|c| c.meta.clone()).or_else(|| meta.clone()).unwrap_or(Value::Null)
}

fn strings(value: &Value) -> Vec<String> {
    value.as_array().map(|a| a.iter().filter_map(|v| v.as_str().map(String::from)).collect()).unwrap_or_default()
}

fn expr_text(value: &Option<Value>, default: &str) -> String {
    match value {
        Some(Value::String(s)) => s.trim().to_string(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Bool(b)) => b.to_string(),
        _ => default.to_string(),
    }
}

/// What a semantic model became, for the metrics and filters that refer to it.
struct ModelInfo {
    table: String,
    /// Dimension name -> column.
    dimensions: BTreeMap<String, String>,
    /// Entity name -> column.
    entities: BTreeMap<String, String>,
    default_time: Option<String>,
}

pub(crate) fn import(files: &[Source], name: &str) -> Result<Import> {
    let mut project = Project::default();
    let mut report = ImportReport::new(Format::Dbt);
    for file in files {
        if file.path.ends_with(".js") {
            report.unmapped(
                Construct::File,
                &file.path,
                "a JavaScript file is not part of a dbt project's semantic layer",
            );
            continue;
        }
        let value: Value = if file.path.ends_with(".json") {
            serde_json::from_str(&file.text).map_err(|e| parse_error(&file.path, e.to_string()))?
        } else {
            let yaml: serde_yaml::Value =
                serde_yaml::from_str(&file.text).map_err(|e| parse_error(&file.path, e.to_string()))?;
            serde_json::to_value(yaml).map_err(|e| parse_error(&file.path, e.to_string()))?
        };
        if !value.is_object() {
            continue;
        }
        let part: Project = serde_json::from_value(value).map_err(|e| parse_error(&file.path, e.to_string()))?;
        project.semantic_models.extend(part.semantic_models);
        project.metrics.extend(part.metrics);
        project.models.extend(part.models);
        project.saved_queries.extend(part.saved_queries);
        for node in part.nodes.values().filter(|n| n["resource_type"] == "model") {
            // manifest.json keys a model's columns by name.
            let columns: Vec<Value> =
                node["columns"].as_object().map(|c| c.values().cloned().collect()).unwrap_or_default();
            let model = serde_json::json!({
                "name": node["name"], "description": node["description"], "columns": columns,
                "config": { "meta": node["config"]["meta"] }, "meta": node["meta"],
            });
            match serde_json::from_value::<DbtModel>(model) {
                Ok(m) => project.models.push(m),
                Err(e) => report.unmapped(
                    Construct::Table,
                    node["name"].as_str().unwrap_or("model"),
                    format!("manifest node not read: {e}"),
                ),
            }
        }
    }
    if project.semantic_models.is_empty() {
        return Err(Error::Empty {
            path: files.first().map(|f| f.path.clone().into()).unwrap_or_default(),
            reason: "no semantic_models".into(),
        });
    }
    let mut layer = build::layer(name);
    let mut models: BTreeMap<String, ModelInfo> = BTreeMap::new();
    let mut measures: BTreeMap<String, (String, Measure)> = BTreeMap::new();
    // Entity name -> (table, column) of the model where it is the key.
    let mut keys: BTreeMap<String, (String, String)> = BTreeMap::new();

    for sm in &project.semantic_models {
        let table = match (&sm.node_relation, &sm.model) {
            (Some(rel), _) => rel.alias.clone(),
            (None, Some(model)) => sql::physical_table(model),
            (None, None) => {
                report.unmapped(Construct::Table, &sm.name, "names no table (no model or node_relation)");
                continue;
            }
        };
        let m = meta(&sm.config, &sm.meta);
        let mut t = build::table(&table);
        t.description = sm.description.clone().unwrap_or_default().trim().to_string();
        t.synonyms = strings(&m["synonyms"]);
        report.mapped(Construct::Table, &sm.name, format!("table {table}"));
        let mut info = ModelInfo {
            table: table.clone(),
            dimensions: BTreeMap::new(),
            entities: BTreeMap::new(),
            default_time: sm.defaults.as_ref().and_then(|d| d.agg_time_dimension.clone()),
        };
        for e in &sm.entities {
            let column = e.expr.clone().unwrap_or_else(|| e.name.clone());
            let qualified = format!("{}.{}", sm.name, e.name);
            if !sql::is_identifier(&column) {
                report.unmapped(
                    Construct::Entity,
                    &qualified,
                    format!("expression '{column}': quarry keys are stored columns"),
                );
                continue;
            }
            info.entities.insert(e.name.clone(), column.clone());
            build::ensure_column(&mut t, &column, "");
            match e.kind.to_ascii_lowercase().as_str() {
                "primary" | "unique" | "natural" => {
                    if e.kind.eq_ignore_ascii_case("primary") {
                        t.primary_key = vec![column.clone()];
                    }
                    keys.insert(e.name.clone(), (table.clone(), column.clone()));
                    report.mapped(Construct::Entity, &qualified, format!("key {table}.{column}"));
                }
                _ => {} // Foreign entities become joins below.
            }
        }
        for d in &sm.dimensions {
            let qualified = format!("{}.{}", sm.name, d.name);
            let column = expr_text(&d.expr, &d.name);
            if sql::is_templated(&column) || !sql::is_identifier(&column) {
                report.unmapped(
                    Construct::Dimension,
                    &qualified,
                    format!("expression '{column}': quarry's dimensions are stored columns"),
                );
                continue;
            }
            let column = sql::unquote(&column).to_string();
            info.dimensions.insert(d.name.clone(), column.clone());
            let dm = meta(&d.config, &d.meta);
            build::ensure_column(&mut t, &column, d.description.as_deref().unwrap_or("").trim());
            if d.kind.eq_ignore_ascii_case("time") {
                let grain = d.type_params.as_ref().and_then(|p| p["time_granularity"].as_str()).unwrap_or("day");
                report.mapped_with_note(
                    Construct::TimeDimension,
                    &qualified,
                    format!("column {table}.{column}"),
                    format!("grain {grain}; quarry groups time columns at any grain"),
                );
                continue;
            }
            if dm["personal"].as_bool() == Some(true) {
                if let Some(c) = t.columns.iter_mut().find(|c| c.name == column) {
                    c.personal = true;
                }
                report.mapped(Construct::Dimension, &qualified, format!("column {table}.{column}"));
                continue;
            }
            let reference = format!("{table}.{column}");
            let mut dim = build::dimension(&d.name, &reference);
            dim.label = d.label.clone().unwrap_or_default();
            dim.synonyms = strings(&dm["synonyms"]);
            dim.also = strings(&dm["also"]);
            if let Some(values) = dm["values"].as_array() {
                for v in values {
                    match v {
                        Value::String(s) => dim.values.push(build::value(s, Vec::new())),
                        _ => {
                            if let Some(value) = v["value"]
                                .as_str()
                                .map(String::from)
                                .or_else(|| v["value"].as_number().map(|n| n.to_string()))
                            {
                                dim.values.push(build::value(&value, strings(&v["synonyms"])));
                            }
                        }
                    }
                }
            }
            let into = build::add_dimension(&mut layer, dim);
            report.mapped(Construct::Dimension, &qualified, into);
        }
        for s in m["segments"].as_array().into_iter().flatten() {
            let (Some(n), Some(c)) = (s["name"].as_str(), s["condition"].as_str()) else {
                report.unmapped(
                    Construct::Segment,
                    format!("{}.meta.segments", sm.name),
                    "a segment needs a name and a condition",
                );
                continue;
            };
            let mut seg = build::segment(n, &table, c);
            seg.synonyms = strings(&s["synonyms"]);
            report.mapped_with_note(
                Construct::Segment,
                format!("{}.{n}", sm.name),
                format!("segment {n}"),
                "from config.meta.segments",
            );
            layer.segments.push(seg);
        }
        for measure in &sm.measures {
            measures.insert(measure.name.clone(), (sm.name.clone(), measure.clone()));
        }
        layer.tables.push(t);
        models.insert(sm.name.clone(), info);
    }

    // Foreign entities: joins to the model whose key has the entity's name.
    for sm in &project.semantic_models {
        let Some(info) = models.get(&sm.name) else { continue };
        for e in sm.entities.iter().filter(|e| e.kind.eq_ignore_ascii_case("foreign")) {
            let qualified = format!("{}.{}", sm.name, e.name);
            let Some(column) = info.entities.get(&e.name) else { continue };
            match keys.get(&e.name) {
                Some((to_table, to_column)) => {
                    let join = build::join(&format!("{}.{column}", info.table), &format!("{to_table}.{to_column}"));
                    report.mapped(Construct::Join, &qualified, format!("join {} -> {}", join.from, join.to));
                    layer.joins.push(join);
                }
                None => report.unmapped(
                    Construct::Entity,
                    &qualified,
                    format!("no semantic model has '{}' as its primary entity", e.name),
                ),
            }
        }
    }

    // dbt models' documented columns.
    for model in &project.models {
        let Some(t) = layer.tables.iter_mut().find(|t| t.name == model.name) else {
            report.unmapped(
                Construct::Table,
                &model.name,
                "a dbt model with no semantic model: quarry reads tables from semantic models",
            );
            continue;
        };
        if t.description.is_empty() {
            t.description = model.description.clone().unwrap_or_default().trim().to_string();
        }
        let m = meta(&model.config, &model.meta);
        t.synonyms = build::dedup(t.synonyms.iter().cloned().chain(strings(&m["synonyms"])));
        for c in &model.columns {
            build::ensure_column(t, &c.name, c.description.as_deref().unwrap_or("").trim());
            let cm = meta(&c.config, &c.meta);
            if let Some(col) = t.columns.iter_mut().find(|x| x.name == c.name) {
                col.synonyms = build::dedup(col.synonyms.iter().cloned().chain(strings(&cm["synonyms"])));
                if cm["personal"].as_bool() == Some(true) {
                    col.personal = true;
                }
            }
            report.mapped(
                Construct::Column,
                format!("{}.{}", model.name, c.name),
                format!("column {}.{}", model.name, c.name),
            );
        }
    }

    // Metrics, in dependency order.
    let mut built: BTreeMap<String, Metric> = BTreeMap::new();
    let mut pending: Vec<DbtMetric> = project.metrics.clone();
    let mut order: Vec<String> = Vec::new();
    loop {
        let before = pending.len();
        let mut still = Vec::new();
        for metric in pending {
            match build_metric(&metric, &models, &measures, &built) {
                Step::Wait => still.push(metric),
                Step::Done(m, note) => {
                    let into = format!("metric {}", m.name);
                    match note {
                        Some(n) => report.mapped_with_note(Construct::Metric, &metric.name, into, n),
                        None => report.mapped(Construct::Metric, &metric.name, into),
                    }
                    order.push(m.name.clone());
                    built.insert(m.name.clone(), m);
                }
                Step::Unmapped(reason) => report.unmapped(Construct::Metric, &metric.name, reason),
            }
        }
        pending = still;
        if pending.is_empty() || pending.len() == before {
            break;
        }
    }
    for metric in pending {
        report.unmapped(Construct::Metric, &metric.name, "its input metrics are missing or were not mapped");
    }
    // Measures with create_metric, and measures no metric used.
    let used: Vec<String> = project.metrics.iter().flat_map(input_measures).collect();
    for (name, (model, measure)) in &measures {
        if measure.create_metric == Some(true) && !built.contains_key(name) {
            let fake = DbtMetric {
                name: name.clone(),
                kind: "simple".into(),
                label: measure.label.clone(),
                description: measure.description.clone(),
                type_params: TypeParams { measure: Some(Input::Name(name.clone())), ..TypeParams::default() },
                filter: None,
                config: None,
                meta: None,
            };
            match build_metric(&fake, &models, &measures, &built) {
                Step::Done(m, _) => {
                    report.mapped(Construct::Measure, format!("{model}.{name}"), format!("metric {name}"));
                    order.push(name.clone());
                    built.insert(name.clone(), m);
                }
                Step::Unmapped(reason) => report.unmapped(Construct::Measure, format!("{model}.{name}"), reason),
                Step::Wait => {}
            }
        } else if used.contains(name) {
            report.mapped(Construct::Measure, format!("{model}.{name}"), "the metrics that use it".to_string());
        } else {
            report.unmapped(
                Construct::Measure,
                format!("{model}.{name}"),
                "no metric uses it and create_metric is not set",
            );
        }
    }
    for q in &project.saved_queries {
        report.unmapped(
            Construct::VerifiedQuery,
            q["name"].as_str().unwrap_or("saved query"),
            "a saved query is a MetricFlow query, not SQL: quarry's verified queries are SQL",
        );
    }
    for name in order {
        if let Some(m) = built.remove(&name) {
            layer.metrics.push(m);
        }
    }
    Ok(Import { layer, report })
}

fn input_measures(metric: &DbtMetric) -> Vec<String> {
    let p = &metric.type_params;
    [&p.measure, &p.numerator, &p.denominator].into_iter().flatten().map(|i| i.name().to_string()).collect()
}

fn parse_error(file: &str, message: String) -> Error {
    Error::Parse { format: Format::Dbt, file: file.to_string(), message }
}

enum Step {
    Done(Metric, Option<String>),
    Wait,
    Unmapped(String),
}

/// A MetricFlow filter as SQL over `info`'s table: `{{ Dimension('entity__name') }}`,
/// `{{ TimeDimension('entity__name', 'grain') }}` and `{{ Entity('name') }}` of that table.
fn translate_filter(template: &str, info: &ModelInfo) -> std::result::Result<String, String> {
    use std::sync::LazyLock;
    static CALL: LazyLock<regex::Regex> = LazyLock::new(|| {
        regex::Regex::new(
            r#"\{\{\s*(Dimension|TimeDimension|Entity)\(\s*['"]([^'"]+)['"]\s*(?:,\s*['"][^'"]*['"]\s*)?\)\s*\}\}"#,
        )
        .expect("valid")
    });
    let mut error = None;
    let out = CALL.replace_all(template, |c: &regex::Captures| {
        let (kind, reference) = (&c[1], &c[2]);
        let name = reference.rsplit("__").next().unwrap_or(reference);
        let column = match kind {
            "Entity" => info.entities.get(name),
            _ => info.dimensions.get(name),
        };
        let hops = reference.matches("__").count();
        let entity_ok = hops == 0 || reference.split("__").next().is_some_and(|e| info.entities.contains_key(e));
        match column {
            Some(col) if entity_ok && hops <= 1 => col.clone(),
            _ => {
                error = Some(format!("filter '{template}' reads {reference}, not a column of {}", info.table));
                String::new()
            }
        }
    });
    if let Some(e) = error {
        return Err(e);
    }
    if sql::is_templated(&out) {
        return Err(format!("Jinja filter '{template}' is not one quarry can translate"));
    }
    Ok(out.into_owned())
}

fn and(filters: Vec<String>) -> Option<String> {
    match filters.len() {
        0 => None,
        1 => filters.into_iter().next(),
        _ => Some(filters.iter().map(|f| format!("({f})")).collect::<Vec<_>>().join(" AND ")),
    }
}

fn build_metric(
    metric: &DbtMetric,
    models: &BTreeMap<String, ModelInfo>,
    measures: &BTreeMap<String, (String, Measure)>,
    built: &BTreeMap<String, Metric>,
) -> Step {
    let m = meta(&metric.config, &metric.meta);
    let finish = |mut q: Metric, note: Option<String>| {
        q.label = metric.label.clone().unwrap_or_default();
        q.description = metric.description.clone().unwrap_or_default().trim().to_string();
        q.synonyms = strings(&m["synonyms"]);
        if let Some(f) =
            m["format"].as_str().and_then(|f| serde_json::from_value::<MetricFormat>(Value::String(f.into())).ok())
        {
            q.format = f;
        }
        if m["point_in_time"].as_bool() == Some(true) {
            q.time_column = None;
        }
        Step::Done(q, note)
    };
    let p = &metric.type_params;
    match metric.kind.to_ascii_lowercase().as_str() {
        "simple" => {
            let Some(input) = &p.measure else { return Step::Unmapped("a simple metric without a measure".into()) };
            let Some((model, measure)) = measures.get(input.name()) else {
                return Step::Unmapped(format!("measure {} is not defined", input.name()));
            };
            let info = &models[model];
            if let Some(nad) = &measure.non_additive_dimension
                && !nad.is_null()
            {
                return Step::Unmapped(format!(
                    "measure {} is non-additive over {}: quarry metrics aggregate every row in range",
                    measure.name, nad
                ));
            }
            // MetricFlow reads a measure without expr as the column of the measure's name.
            let expr = expr_text(&measure.expr, &measure.name);
            if sql::is_templated(&expr) {
                return Step::Unmapped(format!("measure {} has a Jinja expression '{expr}'", measure.name));
            }
            let Some(expression) = sql::aggregate(&measure.agg, Some(expr.as_str())) else {
                return Step::Unmapped(format!(
                    "aggregation '{}' of measure {}: quarry has no such aggregate",
                    measure.agg, measure.name
                ));
            };
            let (expression, inner) = sql::split_filter(&expression);
            let mut filters: Vec<String> = inner.into_iter().collect();
            for t in metric.filter.iter().flat_map(Filter::templates).chain(input.filter()) {
                match translate_filter(&t, info) {
                    Ok(f) => filters.push(f),
                    Err(reason) => return Step::Unmapped(reason),
                }
            }
            let mut q = build::metric(&metric.name, &info.table, &expression);
            q.filter = and(filters);
            let time = measure.agg_time_dimension.clone().or_else(|| info.default_time.clone());
            q.time_column = time.as_ref().and_then(|t| info.dimensions.get(t).cloned());
            finish(q, None)
        }
        "ratio" => {
            let (Some(num), Some(den)) = (&p.numerator, &p.denominator) else {
                return Step::Unmapped("a ratio metric without numerator and denominator".into());
            };
            let (n, d) = match (built.get(num.name()), built.get(den.name())) {
                (Some(n), Some(d)) => (n, d),
                _ => return Step::Wait,
            };
            if n.table != d.table {
                return Step::Unmapped(format!(
                    "ratio of {} ({}) over {} ({}): a quarry metric aggregates one table",
                    n.name, n.table, d.name, d.table
                ));
            }
            let Some(info) = models.values().find(|i| i.table == n.table) else {
                return Step::Unmapped("no table".into());
            };
            let extra = |input: &Input| -> std::result::Result<Vec<String>, String> {
                input.filter().iter().map(|t| translate_filter(t, info)).collect()
            };
            let (num_filters, den_filters) = match (extra(num), extra(den)) {
                (Ok(a), Ok(b)) => (a, b),
                (Err(r), _) | (_, Err(r)) => return Step::Unmapped(r),
            };
            let nf = and(n.filter.iter().cloned().chain(num_filters).collect());
            let df = and(d.filter.iter().cloned().chain(den_filters).collect());
            let (common, nf, df) = if nf == df { (nf, None, None) } else { (None, nf, df) };
            let (Some(ne), Some(de)) =
                (sql::with_filter(&n.expression, nf.as_deref()), sql::with_filter(&d.expression, df.as_deref()))
            else {
                return Step::Unmapped("a filtered input is not a single aggregate".into());
            };
            let mut q = build::metric(&metric.name, &n.table, &format!("CAST({ne} AS DOUBLE) / NULLIF({de}, 0)"));
            let mut outer: Vec<String> = common.into_iter().collect();
            for t in metric.filter.iter().flat_map(Filter::templates) {
                match translate_filter(&t, info) {
                    Ok(f) => outer.push(f),
                    Err(reason) => return Step::Unmapped(reason),
                }
            }
            q.filter = and(outer);
            q.time_column = n.time_column.clone();
            q.format = MetricFormat::Percent;
            let note = (n.time_column != d.time_column).then(|| {
                format!("time column {:?} of the numerator; the denominator's is {:?}", n.time_column, d.time_column)
            });
            finish(q, note)
        }
        "derived" => {
            let Some(expr) = &p.expr else { return Step::Unmapped("a derived metric without expr".into()) };
            let mut inputs = Vec::new();
            for input in &p.metrics {
                if let Some(offset) = input.offset() {
                    return Step::Unmapped(format!(
                        "input {} is offset by {offset}: quarry has no period-over-period metrics",
                        input.name()
                    ));
                }
                match built.get(input.name()) {
                    Some(m) => inputs.push((input, m)),
                    None => return Step::Wait,
                }
            }
            let Some((_, first)) = inputs.first() else {
                return Step::Unmapped("a derived metric without input metrics".into());
            };
            if let Some((_, other)) = inputs.iter().find(|(_, m)| m.table != first.table) {
                return Step::Unmapped(format!(
                    "combines metrics of {} and {}: a quarry metric aggregates one table",
                    first.table, other.table
                ));
            }
            let Some(info) = models.values().find(|i| i.table == first.table) else {
                return Step::Unmapped("no table".into());
            };
            let mut parts = BTreeMap::new();
            for (input, m) in &inputs {
                let mut filters: Vec<String> = m.filter.iter().cloned().collect();
                for t in input.filter() {
                    match translate_filter(&t, info) {
                        Ok(f) => filters.push(f),
                        Err(reason) => return Step::Unmapped(reason),
                    }
                }
                let Some(e) = sql::with_filter(&m.expression, and(filters).as_deref()) else {
                    return Step::Unmapped(format!("input {} with a filter is not a single aggregate", m.name));
                };
                parts.insert(input.alias().to_string(), format!("({e})"));
            }
            let expression = sql::substitute_words(expr, &|w| parts.get(w).cloned());
            let mut q = build::metric(&metric.name, &first.table, &expression);
            q.time_column = first.time_column.clone();
            let mut outer = Vec::new();
            for t in metric.filter.iter().flat_map(Filter::templates) {
                match translate_filter(&t, info) {
                    Ok(f) => outer.push(f),
                    Err(reason) => return Step::Unmapped(reason),
                }
            }
            q.filter = and(outer);
            finish(q, Some(format!("derived: {expr}")))
        }
        "cumulative" => Step::Unmapped(format!(
            "a cumulative metric (window {}, grain_to_date {}): quarry metrics are not running totals",
            p.window.as_ref().map(Value::to_string).unwrap_or_else(|| "none".into()),
            p.grain_to_date.as_ref().map(Value::to_string).unwrap_or_else(|| "none".into())
        )),
        "conversion" => {
            Step::Unmapped("a conversion metric (a funnel between two events): quarry has no funnels".into())
        }
        other => Step::Unmapped(format!("metric type '{other}' is not one of MetricFlow's")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROJECT: &str = r#"
semantic_models:
  - name: orders
    model: ref('orders')
    defaults: { agg_time_dimension: ordered_at }
    entities:
      - { name: order, type: primary, expr: order_id }
      - { name: customer, type: foreign, expr: customer_id }
    dimensions:
      - { name: ordered_at, type: time, type_params: { time_granularity: day } }
      - { name: status, type: categorical }
      - { name: is_big, type: categorical, expr: "amount > 100" }
    measures:
      - { name: order_total, agg: sum, expr: amount }
      - { name: order_count, agg: count, expr: "1" }
      - { name: p90, agg: percentile, expr: amount }
  - name: customers
    model: ref('customers')
    entities:
      - { name: customer, type: primary, expr: customer_id }
metrics:
  - name: revenue
    type: simple
    type_params: { measure: order_total }
    filter: "{{ Dimension('order__status') }} = 'paid'"
  - name: orders
    type: simple
    type_params: { measure: order_count }
  - name: paid_share
    type: ratio
    type_params:
      numerator: { name: orders, filter: "{{ Dimension('order__status') }} = 'paid'" }
      denominator: orders
  - name: avg_order
    type: derived
    type_params:
      expr: revenue / orders
      metrics: [{ name: revenue }, { name: orders }]
  - name: growth
    type: derived
    type_params:
      expr: orders - orders_last_week
      metrics: [{ name: orders }, { name: orders, alias: orders_last_week, offset_window: 1 week }]
  - name: running
    type: cumulative
    type_params: { measure: order_count, window: 7 days }
"#;

    #[test]
    fn simple_ratio_and_derived_metrics_become_one_table_expressions() {
        let import = crate::import_str(PROJECT, Format::Dbt, "shop.yml").unwrap();
        let layer = &import.layer;
        let revenue = layer.metric("revenue").unwrap();
        assert_eq!((revenue.expression.as_str(), revenue.filter.as_deref()), ("SUM(amount)", Some("status = 'paid'")));
        assert_eq!(revenue.time_column.as_deref(), Some("ordered_at"));
        assert_eq!(
            layer.metric("paid_share").unwrap().expression,
            "CAST(COUNT(CASE WHEN status = 'paid' THEN 1 END) AS DOUBLE) / NULLIF(COUNT(*), 0)"
        );
        assert_eq!(
            layer.metric("avg_order").unwrap().expression,
            "(SUM(CASE WHEN status = 'paid' THEN amount END)) / (COUNT(*))"
        );
        assert_eq!(layer.joins[0].from, "orders.customer_id");
        assert_eq!(layer.joins[0].to, "customers.customer_id");
        for name in ["growth", "running", "orders.is_big", "orders.p90"] {
            assert!(import.report.unmapped_named(name).is_some(), "{name}: {}", import.report.to_text());
        }
    }

    #[test]
    fn the_manifest_form_reads_node_relations_and_where_filters() {
        let manifest = r#"{
          "semantic_models": [{
            "name": "orders", "node_relation": {"alias": "orders", "schema_name": "main", "database": "db", "relation_name": "db.main.orders"},
            "defaults": {"agg_time_dimension": "ordered_at"},
            "entities": [{"name": "order", "type": "primary", "expr": "order_id"}],
            "dimensions": [{"name": "ordered_at", "type": "time", "type_params": {"time_granularity": "day"}},
                           {"name": "status", "type": "categorical"}],
            "measures": [{"name": "order_total", "agg": "sum", "expr": "amount", "agg_time_dimension": null}]
          }],
          "metrics": [{"name": "revenue", "type": "simple", "type_params": {"measure": {"name": "order_total", "filter": null}},
                       "filter": {"where_filters": [{"where_sql_template": "{{ Dimension('order__status') }} = 'paid'"}]}}]
        }"#;
        let import = crate::import_str(manifest, Format::Dbt, "semantic_manifest.json").unwrap();
        let revenue = import.layer.metric("revenue").unwrap();
        assert_eq!(revenue.filter.as_deref(), Some("status = 'paid'"));
        assert_eq!(revenue.table, "orders");
    }
}
