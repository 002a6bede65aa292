//! Constructors of the layer's types that keep working when quarry-semantic adds optional
//! fields: each starts from its serde defaults.

use quarry_semantic::{
    ColumnDef, Dimension, DimensionValue, JoinDef, Metric, Segment, SemanticLayer, TableDef, VerifiedQuery,
};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

fn from_json<T: DeserializeOwned>(value: Value) -> T {
    serde_json::from_value(value).expect("the required fields of a layer type are given")
}

pub(crate) fn layer(name: &str) -> SemanticLayer {
    from_json(json!({ "name": name, "tables": [] }))
}

pub(crate) fn table(name: &str) -> TableDef {
    from_json(json!({ "name": name }))
}

pub(crate) fn column(name: &str, description: &str) -> ColumnDef {
    from_json(json!({ "name": name, "description": description }))
}

pub(crate) fn metric(name: &str, table: &str, expression: &str) -> Metric {
    from_json(json!({ "name": name, "table": table, "expression": expression }))
}

pub(crate) fn dimension(name: &str, column: &str) -> Dimension {
    from_json(json!({ "name": name, "column": column }))
}

pub(crate) fn value(value: &str, synonyms: Vec<String>) -> DimensionValue {
    from_json(json!({ "value": value, "synonyms": synonyms }))
}

pub(crate) fn segment(name: &str, table: &str, condition: &str) -> Segment {
    from_json(json!({ "name": name, "table": table, "condition": condition }))
}

pub(crate) fn join(from: &str, to: &str) -> JoinDef {
    from_json(json!({ "from": from, "to": to }))
}

pub(crate) fn verified(question: &str, sql: &str) -> VerifiedQuery {
    from_json(json!({ "question": question, "sql": sql }))
}

/// The fields of `item` other than `natively_mapped`, as a JSON object: what a format that
/// has no place for them carries in an extension.
pub(crate) fn rest<T: serde::Serialize>(item: &T, natively_mapped: &[&str]) -> serde_json::Map<String, Value> {
    let Value::Object(mut map) = serde_json::to_value(item).expect("layer types serialize") else {
        unreachable!("layer types serialize to objects")
    };
    for key in natively_mapped {
        map.remove(*key);
    }
    // Empty lists, nulls and `false` (every flag of the layer defaults to false) need no carrying.
    map.retain(|_, v| !matches!(v, Value::Array(a) if a.is_empty()) && !v.is_null() && *v != Value::Bool(false));
    sorted(map)
}

/// The map with its keys in sorted order whether or not serde_json's `preserve_order` feature
/// is on (other crates of the workspace turn it on), so that exports are the same in every build.
pub(crate) fn sorted(map: serde_json::Map<String, Value>) -> serde_json::Map<String, Value> {
    let mut entries: Vec<(String, Value)> = map.into_iter().collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    entries
        .into_iter()
        .map(|(k, v)| {
            let v = match v {
                Value::Object(inner) => Value::Object(sorted(inner)),
                Value::Array(items) => Value::Array(
                    items
                        .into_iter()
                        .map(|i| if let Value::Object(o) = i { Value::Object(sorted(o)) } else { i })
                        .collect(),
                ),
                other => other,
            };
            (k, v)
        })
        .collect()
}

/// `rest` and the natively mapped fields put back together.
pub(crate) fn merge<T: DeserializeOwned>(
    mut rest: serde_json::Map<String, Value>,
    native: serde_json::Map<String, Value>,
) -> Result<T, serde_json::Error> {
    rest.extend(native);
    serde_json::from_value(Value::Object(rest))
}

/// Adds a column to a table unless it is already listed.
pub(crate) fn ensure_column(table: &mut TableDef, name: &str, description: &str) {
    match table.columns.iter_mut().find(|c| c.name == name) {
        Some(existing) if existing.description.is_empty() => existing.description = description.to_string(),
        Some(_) => {}
        None => table.columns.push(column(name, description)),
    }
}

/// Lower-cased words unique in order.
pub(crate) fn dedup(words: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for w in words {
        let w = w.trim().to_string();
        if !w.is_empty() && !out.contains(&w) {
            out.push(w);
        }
    }
    out
}

/// Adds `dimension`, or, when one of that name exists (the same dimension on another table,
/// as formats that define dimensions per table write it), adds its column as an `also` of
/// the existing one. The column named like the dimension is its home: it becomes the primary
/// column. Returns what it became, for the report.
pub(crate) fn add_dimension(layer: &mut quarry_semantic::SemanticLayer, dimension: Dimension) -> String {
    let Some(existing) = layer.dimensions.iter_mut().find(|d| d.name == dimension.name) else {
        let into = format!("dimension {}", dimension.name);
        layer.dimensions.push(dimension);
        return into;
    };
    let column_name = |reference: &str| reference.split_once('.').map(|(_, c)| c.to_string()).unwrap_or_default();
    let reference = dimension.column.clone();
    if existing.column == reference || existing.also.contains(&reference) {
        // The same column again (two logical tables over one physical table).
    } else if column_name(&reference) == existing.name && column_name(&existing.column) != existing.name {
        let old = std::mem::replace(&mut existing.column, reference.clone());
        existing.also.insert(0, old);
    } else {
        existing.also.push(reference.clone());
    }
    for s in dimension.synonyms {
        if !existing.synonyms.contains(&s) {
            existing.synonyms.push(s);
        }
    }
    for v in dimension.values {
        if !existing.values.iter().any(|x| x.value == v.value) {
            existing.values.push(v);
        }
    }
    format!("dimension {} (also {reference})", existing.name)
}

/// Lists the columns joins read on tables that document their columns, so that the layer's
/// check (which refuses a join on an unlisted column of such a table) passes.
pub(crate) fn document_join_columns(layer: &mut quarry_semantic::SemanticLayer) {
    let sides: Vec<(String, String)> = layer
        .joins
        .iter()
        .flat_map(|j| [j.from_parts(), j.to_parts()])
        .flatten()
        .map(|(t, c)| (t.to_string(), c.to_string()))
        .collect();
    for (t, c) in sides {
        if let Some(table) = layer.tables.iter_mut().find(|x| x.name == t)
            && !table.columns.is_empty()
        {
            ensure_column(table, &c, "");
        }
    }
}

/// Adds `table`, or merges it into the table of the same name already there (formats whose
/// logical tables may share one physical table).
pub(crate) fn add_table(layer: &mut quarry_semantic::SemanticLayer, table: TableDef) {
    let Some(existing) = layer.tables.iter_mut().find(|t| t.name == table.name) else {
        layer.tables.push(table);
        return;
    };
    if existing.description.is_empty() {
        existing.description = table.description;
    }
    if existing.primary_key.is_empty() {
        existing.primary_key = table.primary_key;
    }
    existing.synonyms = dedup(existing.synonyms.iter().cloned().chain(table.synonyms));
    for column in table.columns {
        match existing.columns.iter_mut().find(|c| c.name == column.name) {
            Some(c) => {
                c.synonyms = dedup(c.synonyms.iter().cloned().chain(column.synonyms));
                if c.description.is_empty() {
                    c.description = column.description;
                }
            }
            None => existing.columns.push(column),
        }
    }
}
