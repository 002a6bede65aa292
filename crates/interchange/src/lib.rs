//! Semantic layers from other tools, read into quarry's [`SemanticLayer`], and quarry's layer
//! written out as Open Semantic Interchange (OSI).
//!
//! Teams have usually defined their metrics already. This crate reads them from
//!
//! - dbt MetricFlow ([`dbt`]): `target/semantic_manifest.json`, or the YAML files with
//!   `semantic_models:` and `metrics:` (simple, ratio and derived metrics);
//! - Cube ([`cube`]): YAML data models (cubes with measures, dimensions, joins, segments);
//! - Snowflake Cortex Analyst ([`cortex`]): the semantic model YAML, verified queries included;
//! - Open Semantic Interchange / Apache Ossie ([`osi`]): datasets, fields, relationships, metrics;
//! - WrenAI MDL ([`wren`]): models, columns, relationships, calculated fields, metrics, views.
//!
//! Every import returns an [`ImportReport`] that lists each construct read as mapped (and into
//! what) or not mapped (and why): a cumulative metric, a templated expression, a join across
//! more than one column, a table missing from the snapshot ([`restrict_to_snapshot`]). Nothing
//! is dropped without a line in the report. [`osi::export`] writes a layer as OSI; importing
//! that file gives the same layer back.
//!
//! ```
//! use quarry_interchange::{Format, import_str, osi};
//!
//! let layer = quarry_semantic::SemanticLayer::demo();
//! let text = osi::export(&layer);
//! let import = import_str(&text, Format::Osi, "demo.osi.yaml").unwrap();
//! assert_eq!(import.layer, layer);
//! assert!(import.report.unmapped.is_empty());
//! ```
//!
//! # Layout
//! - [`report`]: the [`ImportReport`] and its entries;
//! - one module per format: [`dbt`], [`cube`], [`cortex`], [`osi`], [`wren`];
//! - `sql`: the expression rewrites they share (filters folded into aggregates and back).
//!
//! LookML is not supported: there is no maintained Rust parser for it.

mod build;
pub mod cortex;
pub mod cube;
pub mod dbt;
mod error;
pub mod osi;
pub mod report;
mod sql;
pub mod wren;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

pub use error::{Error, Result};
use quarry_semantic::SemanticLayer;
pub use report::{Construct, ImportReport, Mapped, Unmapped};
use serde::Serialize;

/// A format a semantic layer can be imported from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// dbt MetricFlow: semantic_manifest.json or `semantic_models:`/`metrics:` YAML.
    Dbt,
    /// Cube YAML data models.
    Cube,
    /// Snowflake Cortex Analyst semantic model YAML.
    Cortex,
    /// Open Semantic Interchange (Apache Ossie) YAML.
    Osi,
    /// WrenAI MDL JSON.
    Wren,
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Dbt => "dbt",
            Format::Cube => "cube",
            Format::Cortex => "cortex",
            Format::Osi => "osi",
            Format::Wren => "wren",
        })
    }
}

impl FromStr for Format {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "dbt" | "metricflow" => Format::Dbt,
            "cube" => Format::Cube,
            "cortex" | "snowflake" => Format::Cortex,
            "osi" | "ossie" => Format::Osi,
            "wren" | "wrenai" | "mdl" => Format::Wren,
            _ => return Err(Error::UnknownFormatName(s.to_string())),
        })
    }
}

/// A layer read from another tool, with the account of what was and was not mapped.
#[derive(Debug, Clone)]
pub struct Import {
    /// The quarry layer.
    pub layer: SemanticLayer,
    /// What was mapped and what was not.
    pub report: ImportReport,
}

/// One input file.
#[derive(Debug, Clone)]
pub(crate) struct Source {
    /// Where it came from, for messages.
    pub path: String,
    /// Its text.
    pub text: String,
}

/// Imports a file or a directory (a dbt project's models, a Cube model directory) in
/// `format`, or in the format told from its name and content.
pub fn import_path(path: &Path, format: Option<Format>) -> Result<Import> {
    let mut files = read_sources(path)?;
    // dbt writes target/manifest.json beside semantic_manifest.json: its models document the
    // columns the semantic manifest does not list.
    if path.file_name().is_some_and(|n| n == "semantic_manifest.json")
        && let Some(sibling) = path.parent().map(|d| d.join("manifest.json"))
        && sibling.is_file()
    {
        files.extend(read_sources(&sibling)?);
    }
    let format = match format {
        Some(f) => f,
        None => detect(path, &files)?,
    };
    let name = path.file_stem().and_then(|s| s.to_str()).unwrap_or("imported").split('.').next().unwrap_or("imported");
    import_sources(&files, format, name)
}

/// Imports one file's text in `format`; `file` names it in messages and, where the format
/// has no model name, names the layer.
pub fn import_str(text: &str, format: Format, file: &str) -> Result<Import> {
    let name = Path::new(file).file_stem().and_then(|s| s.to_str()).unwrap_or("imported");
    let name = name.split('.').next().unwrap_or(name);
    import_sources(&[Source { path: file.to_string(), text: text.to_string() }], format, name)
}

fn import_sources(files: &[Source], format: Format, name: &str) -> Result<Import> {
    let mut import = match format {
        Format::Dbt => dbt::import(files, name),
        Format::Cube => cube::import(files, name),
        Format::Cortex => cortex::import(files),
        Format::Osi => osi::import(files),
        Format::Wren => wren::import(files, name),
    }?;
    build::document_join_columns(&mut import.layer);
    drop_personal_dimensions(&mut import);
    Ok(import)
}

fn read_sources(path: &Path) -> Result<Vec<Source>> {
    let read = |p: &Path| {
        std::fs::read_to_string(p)
            .map(|text| Source { path: p.display().to_string(), text })
            .map_err(|source| Error::Read { path: p.to_path_buf(), source })
    };
    if !path.is_dir() {
        return Ok(vec![read(path)?]);
    }
    let mut paths = Vec::new();
    let mut stack = vec![path.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|source| Error::Read { path: dir.clone(), source })?;
        for entry in entries {
            let entry = entry.map_err(|source| Error::Read { path: dir.clone(), source })?;
            let p = entry.path();
            let skipped =
                p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with('.') || n == "node_modules");
            if skipped {
                continue;
            }
            if p.is_dir() {
                stack.push(p);
            } else if matches!(extension(&p).as_str(), "yml" | "yaml" | "json" | "js") {
                paths.push(p);
            }
        }
    }
    paths.sort();
    paths.iter().map(|p| read(p)).collect()
}

fn extension(path: &Path) -> String {
    path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase()
}

/// The format of a file or directory, from its files' names and top-level keys.
fn detect(path: &Path, files: &[Source]) -> Result<Format> {
    let mut seen = Vec::new();
    for file in files {
        let p = PathBuf::from(&file.path);
        let keys: Vec<String> = match extension(&p).as_str() {
            "js" => return Ok(Format::Cube),
            "json" => match serde_json::from_str::<serde_json::Value>(&file.text) {
                Ok(serde_json::Value::Object(map)) => map.keys().cloned().collect(),
                _ => continue,
            },
            _ => match serde_yaml::from_str::<serde_yaml::Value>(&file.text) {
                Ok(serde_yaml::Value::Mapping(map)) => {
                    map.keys().filter_map(|k| k.as_str().map(String::from)).collect()
                }
                _ => continue,
            },
        };
        let has = |k: &str| keys.iter().any(|key| key == k);
        if has("semantic_model") {
            return Ok(Format::Osi);
        }
        if has("semantic_models") || (has("metrics") && !has("tables") && !has("models")) {
            return Ok(Format::Dbt);
        }
        if has("cubes") || has("views") && !has("models") {
            return Ok(Format::Cube);
        }
        if has("tables") {
            return Ok(Format::Cortex);
        }
        if has("models") && (has("relationships") || has("catalog") || has("dataSource")) {
            return Ok(Format::Wren);
        }
        seen.push(format!("{}: keys {}", file.path, keys.join(", ")));
    }
    Err(Error::UnknownFormat {
        path: path.to_path_buf(),
        reason: if seen.is_empty() { "no YAML or JSON file in it".into() } else { seen.join("; ") },
    })
}

/// A column documented as personal data cannot be a dimension: such dimensions move to the
/// report's unmapped list.
fn drop_personal_dimensions(import: &mut Import) {
    let Import { layer, report } = import;
    let personal: Vec<String> = layer.personal_columns().into_iter().map(|(t, c)| format!("{t}.{c}")).collect();
    layer.dimensions.retain_mut(|d| {
        d.also.retain(|a| !personal.contains(a));
        if personal.contains(&d.column) {
            report.retract(&format!("dimension {}", d.name), &format!("reads {}, a personal-data column", d.column));
            if d.also.is_empty() {
                return false;
            }
            d.column = d.also.remove(0);
        }
        true
    });
}

/// Documents the columns of the layer's tables that the source did not describe, as
/// `starter` (quarry's starter layer of the same snapshot) describes them, personal-data
/// guesses included: formats that list only the columns their measures and dimensions read
/// would otherwise leave the rest unknown to the planner, and personal data unflagged.
pub fn document_from_starter(import: &mut Import, starter: &SemanticLayer) {
    let mut added = Vec::new();
    let mut personal = Vec::new();
    for table in &mut import.layer.tables {
        let Some(source) = starter.table(&table.name) else { continue };
        for column in &source.columns {
            if table.column(&column.name).is_none() {
                added.push(format!("{}.{}", table.name, column.name));
                if column.personal {
                    personal.push(format!("{}.{}", table.name, column.name));
                }
                table.columns.push(column.clone());
            }
        }
    }
    if !added.is_empty() {
        import.report.notes.push(format!(
            "{} snapshot columns the source does not describe were documented from the starter layer: {}",
            added.len(),
            added.join(", ")
        ));
    }
    if !personal.is_empty() {
        import.report.notes.push(format!(
            "flagged as personal data by the starter layer's guess (check them): {}",
            personal.join(", ")
        ));
    }
}

/// The tables of a snapshot and their columns.
pub type SnapshotTables = BTreeMap<String, BTreeSet<String>>;

/// Removes from an imported layer what the snapshot does not have (tables, columns, and the
/// metrics, dimensions, segments and joins that need them), moving each to the report's
/// unmapped list with the reason. `snapshot_id` names the snapshot in the reasons.
pub fn restrict_to_snapshot(import: &mut Import, snapshot: &SnapshotTables, snapshot_id: &str) {
    let Import { layer, report } = import;
    let has_table = |t: &str| snapshot.contains_key(t);
    let has_column = |t: &str, c: &str| snapshot.get(t).is_some_and(|cols| cols.contains(c));
    let has_ref = |r: &str| r.split_once('.').is_some_and(|(t, c)| has_column(t, c));
    let missing_ref = |r: &str| match r.split_once('.') {
        Some((t, _)) if !has_table(t) => format!("table {t} is not in snapshot {snapshot_id}"),
        _ => format!("column {r} is not in snapshot {snapshot_id}"),
    };

    layer.tables.retain_mut(|table| {
        if !has_table(&table.name) {
            let reason = format!("table {} is not in snapshot {snapshot_id}", table.name);
            report.retract(&format!("table {}", table.name), &reason);
            for c in &table.columns {
                report.retract(&format!("column {}.{}", table.name, c.name), &reason);
            }
            return false;
        }
        table.columns.retain(|c| {
            let keep = has_column(&table.name, &c.name);
            if !keep {
                report.retract(
                    &format!("column {}.{}", table.name, c.name),
                    &format!("column {}.{} is not in snapshot {snapshot_id}", table.name, c.name),
                );
            }
            keep
        });
        table.primary_key.retain(|k| has_column(&table.name, k));
        true
    });
    layer.metrics.retain_mut(|m| {
        if !has_table(&m.table) {
            report
                .retract(&format!("metric {}", m.name), &format!("table {} is not in snapshot {snapshot_id}", m.table));
            return false;
        }
        if let Some(t) = &m.time_column
            && !has_column(&m.table, t)
        {
            report.unmapped(
                Construct::TimeDimension,
                format!("{}.{t}", m.table),
                format!(
                    "column {}.{t} is not in snapshot {snapshot_id}; metric {} has no time column",
                    m.table, m.name
                ),
            );
            m.time_column = None;
        }
        true
    });
    layer.dimensions.retain_mut(|d| {
        if !has_ref(&d.column) {
            report.retract(&format!("dimension {}", d.name), &missing_ref(&d.column));
            return false;
        }
        d.also.retain(|a| {
            let keep = has_ref(a);
            if !keep {
                report.unmapped(Construct::Dimension, a.clone(), missing_ref(a));
            }
            keep
        });
        true
    });
    layer.segments.retain(|s| {
        let keep = has_table(&s.table);
        if !keep {
            report.retract(
                &format!("segment {}", s.name),
                &format!("table {} is not in snapshot {snapshot_id}", s.table),
            );
        }
        keep
    });
    layer.joins.retain(|j| {
        let keep = has_ref(&j.from) && has_ref(&j.to);
        if !keep {
            let side = if has_ref(&j.from) { &j.to } else { &j.from };
            report.retract(&format!("join {} -> {}", j.from, j.to), &missing_ref(side));
        }
        keep
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_the_snapshot_lacks_moves_to_the_report() {
        let mut import = import_str(&osi::export(&SemanticLayer::demo()), Format::Osi, "demo.osi.yaml").unwrap();
        let mut snapshot: SnapshotTables = import
            .layer
            .tables
            .iter()
            .filter(|t| t.name != "experiment_assignments")
            .map(|t| (t.name.clone(), t.columns.iter().map(|c| c.name.clone()).collect()))
            .collect();
        snapshot.get_mut("subscriptions").unwrap().remove("ended_at");
        restrict_to_snapshot(&mut import, &snapshot, "snap-test");
        let layer = &import.layer;
        assert!(layer.table("experiment_assignments").is_none());
        assert!(layer.metric("conversion_rate").is_none());
        assert!(layer.dimension("variant").is_none());
        assert!(layer.segment("converted_assignments").is_none());
        assert_eq!(layer.joins.len(), 8);
        assert_eq!(layer.metric("cancellations").unwrap().time_column, None);
        assert!(layer.check().is_empty(), "{:?}", layer.check());
        for name in ["experiment_assignments", "conversion_rate", "subscriptions.ended_at"] {
            let entry =
                import.report.unmapped_named(name).unwrap_or_else(|| panic!("{name}: {}", import.report.to_text()));
            assert!(entry.reason.contains("snap-test"), "{}", entry.reason);
        }
    }

    #[test]
    fn undocumented_columns_come_from_the_starter_layer_with_their_personal_flags() {
        let starter = SemanticLayer::demo();
        let text = "name: m\ntables:\n  - name: users\n    base_table: { database: d, schema: s, table: users }\n    dimensions:\n      - { name: role, expr: role }\n";
        let mut import = import_str(text, Format::Cortex, "m.yaml").unwrap();
        document_from_starter(&mut import, &starter);
        let users = import.layer.table("users").unwrap();
        assert_eq!(users.columns.len(), starter.table("users").unwrap().columns.len());
        assert!(import.layer.is_personal("users", "email"));
        assert!(import.report.notes.iter().any(|n| n.contains("users.email")), "{:?}", import.report.notes);
    }

    #[test]
    fn formats_are_told_from_their_top_level_keys() {
        let detect_text =
            |name: &str, text: &str| detect(Path::new(name), &[Source { path: name.into(), text: text.into() }]);
        assert_eq!(detect_text("m.yaml", "semantic_model: []").unwrap(), Format::Osi);
        assert_eq!(detect_text("m.yml", "semantic_models: []").unwrap(), Format::Dbt);
        assert_eq!(detect_text("m.yml", "cubes: []").unwrap(), Format::Cube);
        assert_eq!(detect_text("m.yaml", "name: x\ntables: []").unwrap(), Format::Cortex);
        assert_eq!(detect_text("m.json", r#"{"catalog": "c", "schema": "s", "models": []}"#).unwrap(), Format::Wren);
        assert_eq!(
            detect_text("semantic_manifest.json", r#"{"semantic_models": [], "metrics": []}"#).unwrap(),
            Format::Dbt
        );
        assert!(detect_text("m.yaml", "foo: 1").is_err());
    }
}
