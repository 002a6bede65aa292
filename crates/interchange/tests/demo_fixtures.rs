//! The demo warehouse's layer written in each format (fixtures/semantic/demo.*) imports back to
//! the native demo layer on what answers depend on (stands in for the demo eval, issue 18), and
//! the OSI export imports back to an equal layer.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use quarry_interchange::{Format, import_path, import_str, osi};
use quarry_semantic::SemanticLayer;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/semantic").join(name)
}

/// Whitespace and letter case do not change an expression.
fn normalized(sql: &str) -> String {
    sql.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

/// What a format can carry of the layer beyond its SQL.
struct Carries {
    value_synonyms: bool,
    metric_labels: bool,
    verified_queries: bool,
    /// Named conditions of the form `column = 'value'` on a known value come back as synonyms
    /// of that value (Cortex Analyst, whose values have no synonyms of their own).
    value_filters: bool,
}

/// The demo layer as a format that reads `column = 'value'` conditions as value synonyms
/// imports it: such a segment's synonyms are the value's.
fn with_value_filters(mut layer: SemanticLayer) -> SemanticLayer {
    let segments = std::mem::take(&mut layer.segments);
    for s in segments {
        let equality = s.condition.split_once(" = ").and_then(|(c, v)| {
            let value = v.trim().strip_prefix('\'')?.strip_suffix('\'')?;
            Some((format!("{}.{}", s.table, c.trim()), value.to_string()))
        });
        let known = equality.and_then(|(column, value)| {
            layer.dimensions.iter_mut().find(|d| d.column == column)?.values.iter_mut().find(|v| v.value == value)
        });
        match known {
            Some(v) => {
                let new: Vec<String> = s.synonyms.iter().filter(|x| !v.synonyms.contains(x)).cloned().collect();
                v.synonyms.extend(new);
            }
            None => layer.segments.push(s),
        }
    }
    layer
}

fn assert_matches_demo(format: Format, file: &str, carries: Carries) {
    let import = import_path(&fixture(file), None).unwrap_or_else(|e| panic!("{file}: {e}"));
    assert_eq!(import.report.format, format, "{file} is detected as {format}");
    let want = if carries.value_filters { with_value_filters(SemanticLayer::demo()) } else { SemanticLayer::demo() };
    let got = &import.layer;
    assert!(got.check().is_empty(), "{file}: {:?}", got.check());

    let names = |l: &SemanticLayer| l.tables.iter().map(|t| t.name.clone()).collect::<BTreeSet<_>>();
    assert_eq!(names(got), names(&want), "{file}: tables");

    let metrics = |l: &SemanticLayer| {
        l.metrics
            .iter()
            .map(|m| {
                let filter = m.filter.as_deref().map(normalized);
                (m.name.clone(), (m.table.clone(), normalized(&m.expression), filter, m.time_column.clone()))
            })
            .collect::<BTreeMap<_, _>>()
    };
    assert_eq!(metrics(got), metrics(&want), "{file}: metrics (table, expression, filter, time column)");
    for m in &want.metrics {
        let g = got.metric(&m.name).unwrap();
        assert_eq!(g.synonyms, m.synonyms, "{file}: synonyms of metric {}", m.name);
        if carries.metric_labels {
            assert_eq!((&g.label, g.format), (&m.label, m.format), "{file}: label and format of metric {}", m.name);
        }
    }

    let dimensions = |l: &SemanticLayer, with_value_synonyms: bool| {
        l.dimensions
            .iter()
            .map(|d| {
                let columns: BTreeSet<String> =
                    std::iter::once(d.column.clone()).chain(d.also.iter().cloned()).collect();
                let values: BTreeMap<String, Vec<String>> = d
                    .values
                    .iter()
                    .map(|v| (v.value.clone(), if with_value_synonyms { v.synonyms.clone() } else { Vec::new() }))
                    .collect();
                let synonyms: BTreeSet<String> = d.synonyms.iter().cloned().collect();
                (d.name.clone(), (d.column.clone(), columns, synonyms, values))
            })
            .collect::<BTreeMap<_, _>>()
    };
    assert_eq!(
        dimensions(got, carries.value_synonyms),
        dimensions(&want, carries.value_synonyms),
        "{file}: dimensions (column, also, synonyms, values)"
    );

    let joins = |l: &SemanticLayer| l.joins.iter().map(|j| (j.from.clone(), j.to.clone())).collect::<BTreeSet<_>>();
    assert_eq!(joins(got), joins(&want), "{file}: joins");

    let segments = |l: &SemanticLayer| {
        l.segments
            .iter()
            .map(|s| (s.name.clone(), (s.table.clone(), s.condition.clone(), s.synonyms.clone())))
            .collect::<BTreeMap<_, _>>()
    };
    assert_eq!(segments(got), segments(&want), "{file}: segments");

    if carries.verified_queries {
        let queries = |l: &SemanticLayer| {
            l.verified_queries.iter().map(|q| (q.question.clone(), normalized(&q.sql))).collect::<BTreeSet<_>>()
        };
        assert_eq!(queries(got), queries(&want), "{file}: verified queries");
    }
}

#[test]
fn the_osi_export_imports_back_to_an_equal_layer() {
    let layer = SemanticLayer::demo();
    let import = import_str(&osi::export(&layer), Format::Osi, "demo.osi.yaml").unwrap();
    assert_eq!(import.layer, layer);
    assert!(import.report.unmapped.is_empty(), "{}", import.report.to_text());
    // The checked-in export is the current one.
    let checked_in = std::fs::read_to_string(fixture("demo.osi.yaml")).unwrap();
    assert!(
        checked_in == osi::export(&layer),
        "fixtures/semantic/demo.osi.yaml is stale: regenerate with `quarry semantic export --format osi --layer schemas/demo.semantic.yaml --out fixtures/semantic/demo.osi.yaml`"
    );
}

#[test]
fn the_demo_layer_in_osi_matches_the_native_one() {
    assert_matches_demo(
        Format::Osi,
        "demo.osi.yaml",
        Carries { value_synonyms: true, metric_labels: true, verified_queries: true, value_filters: false },
    );
}

#[test]
fn the_demo_layer_in_cortex_analyst_matches_the_native_one() {
    // Cortex has sample values but no synonyms for them (the fixture gives them as named
    // filters on one value), and no metric labels or formats.
    let carries = Carries { value_synonyms: true, metric_labels: false, verified_queries: true, value_filters: true };
    assert_matches_demo(Format::Cortex, "demo.cortex.yaml", carries);
}

#[test]
fn the_demo_layer_in_dbt_matches_the_native_one() {
    let carries = Carries { value_synonyms: true, metric_labels: true, verified_queries: false, value_filters: false };
    assert_matches_demo(Format::Dbt, "demo.dbt.yml", carries);
}

#[test]
fn the_demo_layer_in_a_metricflow_manifest_matches_the_native_one() {
    let carries = Carries { value_synonyms: true, metric_labels: true, verified_queries: false, value_filters: false };
    assert_matches_demo(Format::Dbt, "demo-dbt-target/semantic_manifest.json", carries);
}

#[test]
fn the_demo_layer_in_cube_matches_the_native_one() {
    let carries = Carries { value_synonyms: true, metric_labels: true, verified_queries: false, value_filters: false };
    assert_matches_demo(Format::Cube, "demo.cube.yml", carries);
}

#[test]
fn the_demo_layer_in_wren_mdl_matches_the_native_one() {
    let carries = Carries { value_synonyms: true, metric_labels: true, verified_queries: true, value_filters: false };
    assert_matches_demo(Format::Wren, "demo.wren.json", carries);
}

#[test]
fn the_manifest_beside_a_semantic_manifest_documents_columns_and_personal_data() {
    let import = import_path(&fixture("demo-dbt-target/semantic_manifest.json"), None).unwrap();
    assert!(import.layer.is_personal("users", "email"));
    let seats = import.layer.table("subscriptions").and_then(|t| t.column("seats")).expect("seats is documented");
    assert_eq!(seats.synonyms, ["licenses", "seat count"]);
}
