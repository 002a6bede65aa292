//! Open Semantic Interchange (OSI, Apache Ossie) YAML: import and export.
//!
//! Read from the core specification (`core-spec/spec.md` of the OSI repository, version
//! 0.2.0.dev0, which adds dataset-scoped metrics to 0.1.1): a document holds
//! `semantic_model:`, a list of models, each with `datasets` (a `source` table, a
//! `primary_key`, `fields` with per-dialect `expression`s and a `dimension.is_time` role,
//! dataset-scoped `metrics`), `relationships` (`from`/`to` datasets with `from_columns` and
//! `to_columns`), model-scoped `metrics`, `ai_context` (a string or `instructions`,
//! `synonyms`, `examples`) and `custom_extensions` (`vendor_name` plus a JSON string).
//!
//! How quarry's layer maps onto it:
//! - a table is a dataset whose `source` is the table; each documented column is a field,
//!   its synonyms in `ai_context.synonyms`;
//! - a dimension is the field of its column, with `dimension: {is_time: false}`;
//! - a metric is a dataset-scoped metric; its filter is written in standard SQL as
//!   `AGG(x) FILTER (WHERE condition)`, which the import splits back;
//! - a segment is a computed `Boolean` field whose expression is the condition;
//! - a join is a one-column relationship.
//!
//! What OSI has no place for (a dimension's known values and `also` columns, a metric's
//! label, time column and format, personal-data flags, verified SQL, time conventions)
//! travels in a `custom_extensions` entry with `vendor_name: QUARRY`, so that an export
//! imports back to the same layer. A file from another tool needs none of it: the import
//! then reads fields with `dimension: {is_time: false}` as dimensions, and gives each metric
//! the time field of its dataset, saying so in the report.

use std::collections::BTreeMap;

use quarry_semantic::{SemanticLayer, TableDef};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::build;
use crate::report::{Construct, ImportReport};
use crate::sql;
use crate::{Error, Format, Import, Result, Source};

/// The vendor name of quarry's extensions.
pub const VENDOR: &str = "QUARRY";
/// The specification version written by [`export`].
pub const VERSION: &str = "0.2.0.dev0";

type Extra = BTreeMap<String, serde_yaml::Value>;

#[derive(Debug, Default, Serialize, Deserialize)]
struct Document {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    version: Option<String>,
    semantic_model: Vec<Model>,
    #[serde(flatten)]
    extra: Extra,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Model {
    name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ai_context: Option<AiContext>,
    #[serde(default)]
    datasets: Vec<Dataset>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    relationships: Vec<Relationship>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    metrics: Vec<OsiMetric>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    custom_extensions: Vec<Extension>,
    #[serde(flatten)]
    extra: Extra,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
enum AiContext {
    Text(String),
    Structured {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        instructions: Option<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        synonyms: Vec<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        examples: Vec<String>,
    },
}

impl AiContext {
    fn synonyms(ctx: &Option<AiContext>) -> Vec<String> {
        match ctx {
            Some(AiContext::Structured { synonyms, .. }) => synonyms.clone(),
            // "ai_context: orders, purchases, sales" (the specification's string form).
            Some(AiContext::Text(text)) => build::dedup(text.split(',').map(String::from)),
            None => Vec::new(),
        }
    }

    fn with_synonyms(synonyms: &[String]) -> Option<AiContext> {
        (!synonyms.is_empty()).then(|| AiContext::Structured {
            instructions: None,
            synonyms: synonyms.to_vec(),
            examples: Vec::new(),
        })
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Dataset {
    name: String,
    source: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    primary_key: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    unique_keys: Vec<Vec<String>>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ai_context: Option<AiContext>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    fields: Vec<Field>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    metrics: Vec<OsiMetric>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    custom_extensions: Vec<Extension>,
    #[serde(flatten)]
    extra: Extra,
}

#[derive(Debug, Serialize, Deserialize)]
struct Relationship {
    name: String,
    from: String,
    to: String,
    from_columns: Vec<String>,
    to_columns: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ai_context: Option<AiContext>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    custom_extensions: Vec<Extension>,
    #[serde(flatten)]
    extra: Extra,
}

#[derive(Debug, Serialize, Deserialize)]
struct Field {
    name: String,
    expression: Expression,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dimension: Option<DimensionRole>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    label: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    datatype: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ai_context: Option<AiContext>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    custom_extensions: Vec<Extension>,
    #[serde(flatten)]
    extra: Extra,
}

#[derive(Debug, Serialize, Deserialize)]
struct DimensionRole {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    is_time: Option<bool>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Expression {
    dialects: Vec<DialectExpression>,
}

#[derive(Debug, Serialize, Deserialize)]
struct DialectExpression {
    #[serde(default = "ansi")]
    dialect: String,
    expression: String,
}

fn ansi() -> String {
    "ANSI_SQL".into()
}

impl Expression {
    fn ansi(expression: &str) -> Self {
        Self { dialects: vec![DialectExpression { dialect: ansi(), expression: expression.to_string() }] }
    }

    /// The ANSI SQL expression, else the first one with a note saying which dialect it is.
    fn pick(&self) -> Option<(&str, Option<String>)> {
        if let Some(d) = self.dialects.iter().find(|d| d.dialect.eq_ignore_ascii_case("ANSI_SQL")) {
            return Some((d.expression.as_str(), None));
        }
        self.dialects.first().map(|d| (d.expression.as_str(), Some(format!("read the {} expression", d.dialect))))
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct OsiMetric {
    name: String,
    expression: Expression,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    datatype: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ai_context: Option<AiContext>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    custom_extensions: Vec<Extension>,
    #[serde(flatten)]
    extra: Extra,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Extension {
    vendor_name: String,
    data: String,
}

fn quarry_extension(data: Map<String, Value>) -> Vec<Extension> {
    if data.is_empty() {
        return Vec::new();
    }
    let data = build::sorted(data);
    vec![Extension { vendor_name: VENDOR.into(), data: Value::Object(data).to_string() }]
}

// ---------------------------------------------------------------------------------------
// Export

/// quarry's layer as an OSI YAML document.
pub fn export(layer: &SemanticLayer) -> String {
    let mut model = Model { name: layer.name.clone(), description: layer.description.clone(), ..Model::default() };
    let mut model_ext =
        build::rest(layer, &["name", "description", "tables", "joins", "metrics", "dimensions", "segments"]);
    if !layer.verified_queries.is_empty() {
        // The questions are examples any tool can read; the SQL rides in the extension.
        model.ai_context = Some(AiContext::Structured {
            instructions: None,
            synonyms: Vec::new(),
            examples: layer.verified_queries.iter().map(|v| v.question.clone()).collect(),
        });
    }
    model_ext.remove("verified_queries");
    if !layer.verified_queries.is_empty() {
        model_ext.insert("verified_queries".into(), serde_json::to_value(&layer.verified_queries).expect("serializes"));
    }
    // Datasets group metrics, dimensions and segments by table: the layer's order rides along.
    let names = |items: Vec<&String>| Value::Array(items.into_iter().map(|n| json!(n)).collect());
    model_ext.insert(
        "order".into(),
        json!({
            "metrics": names(layer.metrics.iter().map(|m| &m.name).collect()),
            "dimensions": names(layer.dimensions.iter().map(|d| &d.name).collect()),
            "segments": names(layer.segments.iter().map(|s| &s.name).collect()),
        }),
    );
    model.custom_extensions = quarry_extension(model_ext);

    for table in &layer.tables {
        model.datasets.push(export_table(layer, table));
    }
    // Dimensions and segments on tables the layer does not list still need a dataset.
    let mut names: Vec<String> = layer.tables.iter().map(|t| t.name.clone()).collect();
    for (i, join) in layer.joins.iter().enumerate() {
        let (Some((ft, fc)), Some((tt, tc))) = (join.from_parts(), join.to_parts()) else { continue };
        let mut name = format!("{ft}_{fc}_to_{tt}");
        if names.contains(&name) {
            name = format!("{name}_{i}");
        }
        names.push(name.clone());
        model.relationships.push(Relationship {
            name,
            from: ft.to_string(),
            to: tt.to_string(),
            from_columns: vec![fc.to_string()],
            to_columns: vec![tc.to_string()],
            ai_context: None,
            custom_extensions: Vec::new(),
            extra: Extra::new(),
        });
    }
    let document = Document { version: Some(VERSION.into()), semantic_model: vec![model], extra: Extra::new() };
    let yaml = serde_yaml::to_string(&document).expect("an OSI document serializes");
    format!("# Open Semantic Interchange (OSI {VERSION}) export of quarry semantic layer '{}'.\n{yaml}", layer.name)
}

fn export_table(layer: &SemanticLayer, table: &TableDef) -> Dataset {
    let mut fields = Vec::new();
    let time_columns: Vec<&str> =
        layer.metrics.iter().filter(|m| m.table == table.name).filter_map(|m| m.time_column.as_deref()).collect();
    let dimensions_of = |column: &str| -> Vec<Value> {
        layer
            .dimensions
            .iter()
            .filter(|d| d.column == format!("{}.{column}", table.name))
            .map(|d| Value::Object(build::rest(d, &["column"])))
            .collect()
    };
    let mut listed: Vec<&str> = Vec::new();
    for column in &table.columns {
        listed.push(&column.name);
        let mut ext = build::rest(column, &["name", "description", "synonyms"]);
        let dims = dimensions_of(&column.name);
        let is_time = time_columns.contains(&column.name.as_str());
        let role = if !dims.is_empty() {
            Some(DimensionRole { is_time: Some(false) })
        } else if is_time {
            Some(DimensionRole { is_time: Some(true) })
        } else {
            None
        };
        if !dims.is_empty() {
            ext.insert("dimensions".into(), Value::Array(dims));
        }
        fields.push(Field {
            name: column.name.clone(),
            expression: Expression::ansi(&column.name),
            dimension: role,
            label: String::new(),
            description: column.description.clone(),
            datatype: None,
            ai_context: AiContext::with_synonyms(&column.synonyms),
            custom_extensions: quarry_extension(ext),
            extra: Extra::new(),
        });
    }
    // A dimension on a column the table does not document.
    for dimension in layer.dimensions.iter().filter(|d| d.column.split_once('.').is_some_and(|(t, _)| t == table.name))
    {
        let column = dimension.column.split_once('.').map(|(_, c)| c).unwrap_or_default();
        if listed.contains(&column) {
            continue;
        }
        listed.push(column);
        let mut ext = Map::new();
        ext.insert("listed".into(), json!(false));
        ext.insert("dimensions".into(), Value::Array(dimensions_of(column)));
        fields.push(Field {
            name: column.to_string(),
            expression: Expression::ansi(column),
            dimension: Some(DimensionRole { is_time: Some(false) }),
            label: String::new(),
            description: String::new(),
            datatype: None,
            ai_context: None,
            custom_extensions: quarry_extension(ext),
            extra: Extra::new(),
        });
    }
    for segment in layer.segments.iter().filter(|s| s.table == table.name) {
        let mut ext = build::rest(segment, &["name", "table", "condition", "synonyms"]);
        ext.insert("segment".into(), json!(true));
        fields.push(Field {
            name: segment.name.clone(),
            expression: Expression::ansi(&segment.condition),
            dimension: None,
            label: String::new(),
            description: String::new(),
            datatype: Some("Boolean".into()),
            ai_context: AiContext::with_synonyms(&segment.synonyms),
            custom_extensions: quarry_extension(ext),
            extra: Extra::new(),
        });
    }
    let metrics = layer
        .metrics
        .iter()
        .filter(|m| m.table == table.name)
        .map(|m| {
            let expression = match &m.filter {
                Some(filter) => format!("{} FILTER (WHERE {filter})", m.expression),
                None => m.expression.clone(),
            };
            OsiMetric {
                name: m.name.clone(),
                expression: Expression::ansi(&expression),
                description: m.description.clone(),
                datatype: None,
                ai_context: AiContext::with_synonyms(&m.synonyms),
                custom_extensions: quarry_extension(build::rest(
                    m,
                    &["name", "description", "table", "expression", "filter", "synonyms"],
                )),
                extra: Extra::new(),
            }
        })
        .collect();
    Dataset {
        name: table.name.clone(),
        source: table.name.clone(),
        primary_key: table.primary_key.clone(),
        unique_keys: Vec::new(),
        description: table.description.clone(),
        ai_context: AiContext::with_synonyms(&table.synonyms),
        fields,
        metrics,
        custom_extensions: quarry_extension(build::rest(
            table,
            &["name", "description", "primary_key", "synonyms", "columns"],
        )),
        extra: Extra::new(),
    }
}

// ---------------------------------------------------------------------------------------
// Import

/// The QUARRY extension's data among `extensions`; other vendors' go to the report.
fn read_extensions(extensions: &[Extension], owner: &str, report: &mut ImportReport) -> Option<Map<String, Value>> {
    let mut ours = None;
    for ext in extensions {
        if ext.vendor_name.eq_ignore_ascii_case(VENDOR) {
            match serde_json::from_str::<Value>(&ext.data) {
                Ok(Value::Object(map)) => ours = Some(map),
                _ => report.unmapped(
                    Construct::UnknownKey,
                    format!("{owner}.custom_extensions[{VENDOR}]"),
                    "its data is not a JSON object",
                ),
            }
        } else {
            report.unmapped(
                Construct::UnknownKey,
                format!("{owner}.custom_extensions[{}]", ext.vendor_name),
                format!("{} vendor extension: quarry reads only its own ({VENDOR})", ext.vendor_name),
            );
        }
    }
    ours
}

fn report_extra(extra: &Extra, owner: &str, report: &mut ImportReport) {
    for key in extra.keys() {
        report.unmapped(Construct::UnknownKey, format!("{owner}.{key}"), "not a key of the OSI core specification");
    }
}

pub(crate) fn import(files: &[Source]) -> Result<Import> {
    let mut report = ImportReport::new(Format::Osi);
    let mut layer: Option<SemanticLayer> = None;
    for file in files {
        let document: Document = serde_yaml::from_str(&file.text).map_err(|e| Error::Parse {
            format: Format::Osi,
            file: file.path.clone(),
            message: e.to_string(),
        })?;
        report_extra(&document.extra, "document", &mut report);
        for model in document.semantic_model {
            let target = layer.get_or_insert_with(|| build::layer(&model.name));
            import_model(model, target, &mut report)?;
        }
    }
    let layer = layer.ok_or_else(|| Error::Parse {
        format: Format::Osi,
        file: files.first().map(|f| f.path.clone()).unwrap_or_default(),
        message: "semantic_model is empty".into(),
    })?;
    Ok(Import { layer, report })
}

fn parse_error(message: String) -> Error {
    Error::Parse { format: Format::Osi, file: "QUARRY extension".into(), message }
}

fn import_model(model: Model, layer: &mut SemanticLayer, report: &mut ImportReport) -> Result<()> {
    let owner = format!("semantic_model[{}]", model.name);
    report_extra(&model.extra, &owner, report);
    if layer.description.is_empty() {
        layer.description = model.description.clone();
    }
    report.mapped(Construct::Model, &model.name, format!("layer {}", layer.name));
    let ext = read_extensions(&model.custom_extensions, &owner, report);
    let mut order = None;
    if let Some(mut ext) = ext.clone() {
        let verified = ext.remove("verified_queries");
        order = ext.remove("order");
        let mut native = serde_json::to_value(&*layer).expect("serializes").as_object().cloned().unwrap_or_default();
        native.retain(|k, _| !ext.contains_key(k));
        *layer = build::merge(ext, native).map_err(|e| parse_error(e.to_string()))?;
        if let Some(verified) = verified {
            let queries: Vec<quarry_semantic::VerifiedQuery> =
                serde_json::from_value(verified).map_err(|e| parse_error(e.to_string()))?;
            for q in queries {
                report.mapped(Construct::VerifiedQuery, &q.question, format!("verified query {}", q.question));
                layer.verified_queries.push(q);
            }
        }
    }
    match &model.ai_context {
        Some(AiContext::Text(text)) => report.unmapped(
            Construct::Model,
            format!("{owner}.ai_context"),
            format!("instructions '{}': quarry's layer has no instructions to a model", short(text)),
        ),
        Some(AiContext::Structured { instructions, examples, .. }) => {
            if let Some(text) = instructions {
                report.unmapped(
                    Construct::Model,
                    format!("{owner}.ai_context.instructions"),
                    format!("'{}': quarry's layer has no instructions to a model", short(text)),
                );
            }
            let verified: Vec<&str> = layer.verified_queries.iter().map(|v| v.question.as_str()).collect();
            for example in examples.iter().filter(|e| !verified.contains(&e.as_str())) {
                report.unmapped(
                    Construct::VerifiedQuery,
                    example,
                    "an example question without SQL cannot be a verified query",
                );
            }
        }
        None => {}
    }

    // Dataset name -> physical table, for relationships and model-scoped metrics.
    let mut tables: BTreeMap<String, String> = BTreeMap::new();
    let mut fields_of: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for dataset in &model.datasets {
        tables.insert(dataset.name.clone(), sql::physical_table(&dataset.source));
    }
    for dataset in model.datasets {
        import_dataset(dataset, layer, report, &mut fields_of)?;
    }
    for rel in model.relationships {
        let owner = format!("relationships[{}]", rel.name);
        report_extra(&rel.extra, &owner, report);
        read_extensions(&rel.custom_extensions, &owner, report);
        let (Some(from), Some(to)) = (tables.get(&rel.from), tables.get(&rel.to)) else {
            report.unmapped(
                Construct::Join,
                &rel.name,
                format!("joins {} to {}, not both datasets of the model", rel.from, rel.to),
            );
            continue;
        };
        if rel.from_columns.len() != 1 || rel.to_columns.len() != 1 {
            report.unmapped(
                Construct::Join,
                &rel.name,
                format!("joins on {} columns: quarry's joins are single-column foreign keys", rel.from_columns.len()),
            );
            continue;
        }
        let join = build::join(&format!("{from}.{}", rel.from_columns[0]), &format!("{to}.{}", rel.to_columns[0]));
        report.mapped(Construct::Join, &rel.name, format!("join {} -> {}", join.from, join.to));
        layer.joins.push(join);
    }
    for metric in model.metrics {
        let name = metric.name.clone();
        let Some((expression, _)) = metric.expression.pick() else {
            report.unmapped(Construct::Metric, &name, "has no expression");
            continue;
        };
        let used: Vec<&String> = tables.keys().filter(|d| mentions_qualified(expression, d)).collect();
        match used.as_slice() {
            [dataset] => {
                let dataset = (*dataset).clone();
                let table = tables[&dataset].clone();
                let fields = fields_of.get(&dataset).cloned().unwrap_or_default();
                import_metric(
                    metric,
                    &dataset,
                    &table,
                    &fields,
                    layer,
                    report,
                    "model-scoped metric over one dataset",
                )?;
            }
            [] => report.unmapped(Construct::Metric, &name, "names no dataset: a quarry metric aggregates one table"),
            many => report.unmapped(
                Construct::Metric,
                &name,
                format!(
                    "combines datasets {}: a quarry metric aggregates one table",
                    many.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" and ")
                ),
            ),
        }
    }
    if let Some(order) = order {
        let position = |kind: &str, name: &str| -> usize {
            order[kind].as_array().and_then(|names| names.iter().position(|n| n == name)).unwrap_or(usize::MAX)
        };
        layer.metrics.sort_by_key(|m| position("metrics", &m.name));
        layer.dimensions.sort_by_key(|d| position("dimensions", &d.name));
        layer.segments.sort_by_key(|s| position("segments", &s.name));
    }
    Ok(())
}

fn short(text: &str) -> String {
    let t: String = text.chars().take(60).collect();
    if t.len() < text.len() { format!("{t}...") } else { t }
}

fn mentions_qualified(expression: &str, dataset: &str) -> bool {
    expression
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
        .any(|w| w.split_once('.').is_some_and(|(d, _)| d == dataset))
}

fn import_dataset(
    dataset: Dataset,
    layer: &mut SemanticLayer,
    report: &mut ImportReport,
    fields_of: &mut BTreeMap<String, BTreeMap<String, String>>,
) -> Result<()> {
    let owner = format!("datasets[{}]", dataset.name);
    report_extra(&dataset.extra, &owner, report);
    if dataset.source.trim().contains(char::is_whitespace) {
        report.unmapped(Construct::Table, &dataset.name, "its source is a query: quarry tables are snapshot tables");
        for f in &dataset.fields {
            report.unmapped(
                Construct::Column,
                format!("{}.{}", dataset.name, f.name),
                format!("dataset {} was not mapped", dataset.name),
            );
        }
        for m in &dataset.metrics {
            report.unmapped(Construct::Metric, &m.name, format!("dataset {} was not mapped", dataset.name));
        }
        return Ok(());
    }
    let name = sql::physical_table(&dataset.source);
    let ext = read_extensions(&dataset.custom_extensions, &owner, report).unwrap_or_default();
    let mut native = Map::new();
    native.insert("name".into(), json!(name));
    native.insert("description".into(), json!(dataset.description));
    native.insert("primary_key".into(), json!(dataset.primary_key));
    native.insert("synonyms".into(), json!(AiContext::synonyms(&dataset.ai_context)));
    let mut table: TableDef = build::merge(ext, native).map_err(|e| parse_error(e.to_string()))?;
    let note = (name != dataset.name).then(|| format!("dataset {} reads table {name}", dataset.name));
    match note {
        Some(n) => report.mapped_with_note(Construct::Table, &dataset.name, format!("table {name}"), n),
        None => report.mapped(Construct::Table, &dataset.name, format!("table {name}")),
    }
    let extra_keys: Vec<&Vec<String>> = dataset.unique_keys.iter().filter(|k| **k != dataset.primary_key).collect();
    for key in extra_keys {
        report.unmapped(
            Construct::Table,
            format!("{}.unique_keys[{}]", dataset.name, key.join(",")),
            "quarry's layer records only the primary key",
        );
    }

    let mut time_fields = Vec::new();
    let mut field_columns = BTreeMap::new();
    for field in dataset.fields {
        let fname = format!("{}.{}", dataset.name, field.name);
        report_extra(&field.extra, &fname, report);
        let ext = read_extensions(&field.custom_extensions, &fname, report);
        let Some((expression, dialect_note)) = field.expression.pick() else {
            report.unmapped(Construct::Column, &fname, "has no expression");
            continue;
        };
        let expression = expression.trim().to_string();
        let is_segment = ext.as_ref().is_some_and(|e| e.contains_key("segment"))
            || (!sql::is_identifier(&expression)
                && field.datatype.as_deref().is_some_and(|d| d.eq_ignore_ascii_case("boolean")));
        if is_segment {
            let mut rest = ext.unwrap_or_default();
            rest.remove("segment");
            let mut native = Map::new();
            native.insert("name".into(), json!(field.name));
            native.insert("table".into(), json!(name));
            native.insert("condition".into(), json!(expression));
            native.insert("synonyms".into(), json!(AiContext::synonyms(&field.ai_context)));
            let segment: quarry_semantic::Segment =
                build::merge(rest, native).map_err(|e| parse_error(e.to_string()))?;
            report.mapped(Construct::Segment, &fname, format!("segment {}", segment.name));
            layer.segments.push(segment);
            continue;
        }
        if sql::is_templated(&expression) || !sql::is_identifier(&expression) {
            report.unmapped(
                Construct::CalculatedField,
                &fname,
                format!("computed expression '{expression}': quarry's columns and dimensions are stored columns"),
            );
            continue;
        }
        let column_name = sql::unquote(&expression).to_string();
        field_columns.insert(field.name.clone(), column_name.clone());
        let mut ext = ext.unwrap_or_default();
        let dims = ext.remove("dimensions");
        let listed = ext.remove("listed").is_none_or(|v| v != json!(false));
        let role_is_time = field.dimension.as_ref().and_then(|d| d.is_time).unwrap_or_else(|| {
            field.datatype.as_deref().is_some_and(|t| matches!(t, "Date" | "Time" | "DateTime" | "DateTimeTz"))
        });
        if listed {
            let mut native = Map::new();
            native.insert("name".into(), json!(column_name));
            native.insert("description".into(), json!(field.description));
            native.insert("synonyms".into(), json!(AiContext::synonyms(&field.ai_context)));
            let column: quarry_semantic::ColumnDef =
                build::merge(ext.clone(), native).map_err(|e| parse_error(e.to_string()))?;
            let into = format!("column {name}.{column_name}");
            match &dialect_note {
                Some(n) => report.mapped_with_note(Construct::Column, &fname, into, n.clone()),
                None => report.mapped(Construct::Column, &fname, into),
            }
            table.columns.push(column);
        }
        if role_is_time {
            time_fields.push(column_name.clone());
        }
        let quarry_dims = match dims {
            Some(dims) => {
                let dims: Vec<Map<String, Value>> =
                    serde_json::from_value(dims).map_err(|e| parse_error(e.to_string()))?;
                dims.into_iter()
                    .map(|d| {
                        let mut native = Map::new();
                        native.insert("column".into(), json!(format!("{name}.{column_name}")));
                        build::merge::<quarry_semantic::Dimension>(d, native)
                    })
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| parse_error(e.to_string()))?
            }
            // Another tool's file: a field in the dimension role is a dimension.
            None if ext.is_empty() && field.dimension.is_some() && !role_is_time => {
                let mut d = build::dimension(&field.name, &format!("{name}.{column_name}"));
                d.label = field.label.clone();
                d.synonyms = AiContext::synonyms(&field.ai_context);
                vec![d]
            }
            None => Vec::new(),
        };
        for d in quarry_dims {
            report.mapped(Construct::Dimension, &fname, format!("dimension {}", d.name));
            layer.dimensions.push(d);
        }
    }
    fields_of.insert(dataset.name.clone(), field_columns.clone());
    layer.tables.push(table);
    for metric in dataset.metrics {
        import_metric_with_time(metric, &dataset.name, &name, &field_columns, &time_fields, layer, report)?;
    }
    Ok(())
}

fn import_metric(
    metric: OsiMetric,
    dataset: &str,
    table: &str,
    fields: &BTreeMap<String, String>,
    layer: &mut SemanticLayer,
    report: &mut ImportReport,
    how: &str,
) -> Result<()> {
    let time_fields: Vec<String> = Vec::new();
    let name = metric.name.clone();
    import_metric_with_time(metric, dataset, table, fields, &time_fields, layer, report)?;
    if let Some(m) = report.mapped.iter_mut().rev().find(|m| m.name == name) {
        m.note = Some(how.to_string());
    }
    Ok(())
}

fn import_metric_with_time(
    metric: OsiMetric,
    dataset: &str,
    table: &str,
    fields: &BTreeMap<String, String>,
    time_fields: &[String],
    layer: &mut SemanticLayer,
    report: &mut ImportReport,
) -> Result<()> {
    let owner = format!("{dataset}.metrics[{}]", metric.name);
    report_extra(&metric.extra, &owner, report);
    let ext = read_extensions(&metric.custom_extensions, &owner, report);
    let Some((expression, dialect_note)) = metric.expression.pick() else {
        report.unmapped(Construct::Metric, &metric.name, "has no expression");
        return Ok(());
    };
    if sql::is_templated(expression) {
        report.unmapped(Construct::Metric, &metric.name, format!("templated expression '{expression}'"));
        return Ok(());
    }
    // `dataset.field` names a declared field: the column it reads.
    let mut unresolved = Vec::new();
    let expression = sql::substitute_words(expression, &|w| {
        let (d, f) = w.split_once('.')?;
        (d == dataset).then(|| fields.get(f).cloned().unwrap_or_else(|| f.to_string()))
    });
    for word in expression.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.')) {
        if word.contains('.') && word.parse::<f64>().is_err() {
            unresolved.push(word.to_string());
        }
    }
    if !unresolved.is_empty() {
        report.unmapped(
            Construct::Metric,
            &metric.name,
            format!("references {} outside its dataset", unresolved.join(", ")),
        );
        return Ok(());
    }
    let (expression, filter) = sql::split_filter(&expression);
    let mut name = metric.name.clone();
    if layer.metric(&name).is_some() {
        name = format!("{dataset}_{name}");
    }
    let mut native = Map::new();
    native.insert("name".into(), json!(name));
    native.insert("table".into(), json!(table));
    native.insert("description".into(), json!(metric.description));
    native.insert("expression".into(), json!(expression));
    native.insert("synonyms".into(), json!(AiContext::synonyms(&metric.ai_context)));
    if let Some(f) = &filter {
        native.insert("filter".into(), json!(f));
    }
    let mut note = dialect_note;
    let rest = match ext {
        Some(ext) => ext,
        None => {
            let mut rest = Map::new();
            if let Some(t) = time_fields.first() {
                rest.insert("time_column".into(), json!(t));
                note = Some(if time_fields.len() == 1 {
                    format!("time column {t}, the time field of its dataset")
                } else {
                    format!("time column {t}, the first of the time fields {} of its dataset", time_fields.join(", "))
                });
            }
            rest
        }
    };
    let m: quarry_semantic::Metric = build::merge(rest, native).map_err(|e| parse_error(e.to_string()))?;
    let into = format!("metric {}", m.name);
    match note {
        Some(n) => report.mapped_with_note(Construct::Metric, &metric.name, into, n),
        None => report.mapped(Construct::Metric, &metric.name, into),
    }
    layer.metrics.push(m);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_layer_survives_export_and_import() {
        let layer = SemanticLayer::demo();
        let text = export(&layer);
        let import = crate::import_str(&text, Format::Osi, "demo.osi.yaml").unwrap();
        assert_eq!(import.layer.to_yaml(), layer.to_yaml());
        assert_eq!(import.layer, layer);
        assert!(import.report.unmapped.is_empty(), "{}", import.report.to_text());
    }

    #[test]
    fn a_file_from_another_tool_maps_fields_metrics_and_relationships() {
        let text = r#"
version: 0.2.0.dev0
semantic_model:
  - name: shop
    ai_context: { instructions: "Use for sales" }
    datasets:
      - name: orders
        source: prod.public.orders
        primary_key: [order_id]
        fields:
          - name: order_id
            expression: { dialects: [{ dialect: ANSI_SQL, expression: order_id }] }
          - name: status
            expression: { dialects: [{ dialect: ANSI_SQL, expression: status }] }
            dimension: { is_time: false }
            ai_context: { synonyms: [state] }
          - name: ordered_at
            expression: { dialects: [{ dialect: ANSI_SQL, expression: ordered_at }] }
            datatype: DateTime
          - name: full_name
            expression: { dialects: [{ dialect: ANSI_SQL, expression: "first || ' ' || last" }] }
        metrics:
          - name: revenue
            expression: { dialects: [{ dialect: ANSI_SQL, expression: "SUM(amount) FILTER (WHERE status = 'paid')" }] }
      - name: customers
        source: prod.public.customers
        fields:
          - name: id
            expression: { dialects: [{ dialect: ANSI_SQL, expression: id }] }
    relationships:
      - { name: o_c, from: orders, to: customers, from_columns: [customer_id], to_columns: [id] }
      - { name: o_c2, from: orders, to: customers, from_columns: [a, b], to_columns: [a, b] }
    metrics:
      - name: per_customer
        expression: { dialects: [{ dialect: ANSI_SQL, expression: "SUM(orders.amount) / COUNT(DISTINCT customers.id)" }] }
"#;
        let import = crate::import_str(text, Format::Osi, "shop.yaml").unwrap();
        let revenue = import.layer.metric("revenue").unwrap();
        assert_eq!((revenue.expression.as_str(), revenue.filter.as_deref()), ("SUM(amount)", Some("status = 'paid'")));
        assert_eq!(revenue.time_column.as_deref(), Some("ordered_at"));
        assert_eq!(import.layer.dimension("status").unwrap().column, "orders.status");
        assert_eq!(import.layer.joins.len(), 1);
        for name in ["per_customer", "o_c2", "orders.full_name", "semantic_model[shop].ai_context.instructions"] {
            assert!(import.report.unmapped_named(name).is_some(), "{name}: {}", import.report.to_text());
        }
    }
}
