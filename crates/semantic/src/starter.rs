use datafusion::arrow::datatypes::DataType;
use quarry_snapshot::Snapshot;

use crate::error::Result;
use crate::layer::{ColumnDef, JoinDef, Metric, MetricFormat, SemanticLayer, TableDef, TimeConventions};
use crate::validate::snapshot_schemas;

/// Column names that usually hold personal data; the starter layer flags them so that they
/// are protected until a person decides otherwise.
const PERSONAL_NAME_HINTS: &[&str] =
    &["email", "e_mail", "email_address", "phone", "phone_number", "ssn", "password", "full_name"];

/// Writes a first semantic layer for a snapshot of a user's own data: every table and
/// column, primary and foreign keys from the snapshot (plus `x_id` columns that match
/// another table's single-column key `x_id`), a row-count metric per table on its first
/// timestamp column, and personal-data flags on columns named like email or phone numbers
/// when `flag_personal` is set.
pub fn starter_layer(snapshot: &Snapshot, name: &str, flag_personal: bool) -> Result<SemanticLayer> {
    let schemas = snapshot_schemas(snapshot)?;
    let manifest = &snapshot.manifest;
    let mut tables = Vec::new();
    let mut joins = Vec::new();
    let mut metrics = Vec::new();
    for (table_name, schema) in &schemas {
        let entry = manifest.table(table_name);
        let primary_key = entry.map(|e| e.primary_key.clone()).unwrap_or_default();
        tables.push(TableDef {
            name: table_name.clone(),
            description: String::new(),
            primary_key: primary_key.clone(),
            synonyms: Vec::new(),
            columns: schema
                .fields()
                .iter()
                .map(|f| ColumnDef {
                    name: f.name().clone(),
                    description: String::new(),
                    personal: flag_personal && PERSONAL_NAME_HINTS.contains(&f.name().as_str()),
                    synonyms: Vec::new(),
                })
                .collect(),
        });
        if let Some(entry) = entry {
            for fk in entry.foreign_keys.iter().filter(|fk| fk.columns.len() == 1 && fk.ref_columns.len() == 1) {
                joins.push(JoinDef {
                    from: format!("{table_name}.{}", fk.columns[0]),
                    to: format!("{}.{}", fk.ref_table, fk.ref_columns[0]),
                });
            }
        }
        let time_column = schema
            .fields()
            .iter()
            .find(|f| matches!(f.data_type(), DataType::Timestamp(_, _) | DataType::Date32 | DataType::Date64))
            .map(|f| f.name().clone());
        metrics.push(Metric {
            name: format!("{table_name}_count"),
            label: format!("Number of {}", table_name.replace('_', " ")),
            description: format!("Rows of {table_name}."),
            table: table_name.clone(),
            expression: "COUNT(*)".into(),
            filter: None,
            time_column,
            format: MetricFormat::Count,
            synonyms: vec![table_name.replace('_', " ")],
        });
    }
    // Columns named like another table's single-column key are joins even when the source
    // declared no foreign key (common in CSV exports).
    for (table_name, schema) in &schemas {
        for field in schema.fields() {
            for other in &tables {
                if &other.name == table_name || other.primary_key.len() != 1 {
                    continue;
                }
                let key = &other.primary_key[0];
                if field.name() == key && key.ends_with("_id") {
                    let join = JoinDef { from: format!("{table_name}.{key}"), to: format!("{}.{key}", other.name) };
                    let own_key =
                        tables.iter().find(|t| &t.name == table_name).is_some_and(|t| t.primary_key == [key.clone()]);
                    if !own_key && !joins.contains(&join) {
                        joins.push(join);
                    }
                }
            }
        }
    }
    Ok(SemanticLayer {
        name: name.to_string(),
        description: format!(
            "Starter layer written by quarry for snapshot {}; add descriptions, metrics and synonyms.",
            manifest.id
        ),
        time: TimeConventions::default(),
        tables,
        joins,
        metrics,
        dimensions: Vec::new(),
        segments: Vec::new(),
        verified_queries: Vec::new(),
    })
}
