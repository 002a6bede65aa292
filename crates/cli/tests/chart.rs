//! Charts end to end: `quarry ask --chart` on the demo warehouse (SVG and PNG, JSON with the
//! spec, single values without a chart) and `quarry chart` over CSV and Parquet files,
//! including specs with unsupported parts and specs with nothing drawable.

mod common;

use common::quarry;
use predicates::prelude::*;
use serde_json::Value;

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

#[test]
fn ask_writes_an_svg_chart_and_json_includes_the_spec_with_the_data() {
    let dir = tmp();
    let svg = dir.path().join("signups.svg");
    let output =
        quarry().args(["ask", "signups by channel last month", "--json", "--chart"]).arg(&svg).output().expect("runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let answer: Value = serde_json::from_slice(&output.stdout).expect("one JSON object");
    let chart = &answer["chart"];
    assert_eq!(chart["kind"], "bar", "{chart}");
    assert_eq!(chart["spec"]["mark"], "bar");
    assert_eq!(chart["spec"]["data"]["values"].as_array().map(Vec::len), answer["rows"].as_array().map(Vec::len));
    let text = std::fs::read_to_string(&svg).expect("SVG written");
    assert!(text.starts_with("<svg") && text.contains("<title>"), "{}", &text[..200.min(text.len())]);
}

#[test]
fn ask_honours_a_requested_pie_and_writes_a_png() {
    let dir = tmp();
    let png = dir.path().join("share.png");
    quarry()
        .args(["ask", "signups by channel last month as a pie chart", "--chart"])
        .arg(&png)
        .assert()
        .success()
        .stderr(predicate::str::contains("chart: pie"));
    let bytes = std::fs::read(&png).expect("PNG written");
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
}

#[test]
fn a_single_value_gets_no_chart_and_says_why() {
    let dir = tmp();
    let path = dir.path().join("mrr.svg");
    quarry()
        .args(["ask", "mrr", "--chart"])
        .arg(&path)
        .assert()
        .success()
        .stderr(predicate::str::contains("single value: shown as a big number"));
    assert!(!path.exists());
}

const SPEC: &str = r#"{
  "$schema": "https://vega.github.io/schema/vega-lite/v4.json",
  "title": "Revenue by region",
  "mark": {"type": "bar", "cornerRadius": 3},
  "transform": [{"filter": "datum.revenue > 0"}],
  "encoding": {
    "x": {"field": "region", "type": "nominal", "sort": "-y"},
    "y": {"field": "revenue", "type": "quantitative", "aggregate": "sum", "axis": {"format": "$~s"}},
    "color": {"field": "segment", "type": "nominal"}
  }
}"#;

const CSV: &str =
    "region,segment,revenue\nEMEA,smb,120.5\nEMEA,enterprise,300\nAMER,smb,220\nAMER,smb,80\nAPAC,enterprise,75.25\n";

#[test]
fn chart_renders_a_spec_over_csv_and_lists_what_it_does_not_support() {
    let dir = tmp();
    std::fs::write(dir.path().join("spec.json"), SPEC).unwrap();
    std::fs::write(dir.path().join("data.csv"), CSV).unwrap();
    let out = dir.path().join("out.svg");
    quarry()
        .current_dir(dir.path())
        .args(["chart", "spec.json", "data.csv", "-o", "out.svg"])
        .assert()
        .success()
        .stdout(predicate::str::contains("stacked_bar"))
        .stderr(
            predicate::str::contains("not supported: transform").and(predicate::str::contains("mark.cornerRadius")),
        );
    let svg = std::fs::read_to_string(&out).unwrap();
    // AMER's two smb rows are summed by the spec's aggregate.
    assert!(svg.contains("region: AMER\nsegment: smb\nsum of revenue: $300.00"), "{svg}");
}

#[test]
fn chart_reads_parquet_written_by_quarry_sql() {
    let dir = tmp();
    std::fs::write(dir.path().join("data.csv"), CSV).unwrap();
    std::fs::write(
        dir.path().join("spec.json"),
        r#"{"mark": "arc", "encoding": {"theta": {"field": "revenue", "type": "quantitative", "aggregate": "sum"}, "color": {"field": "region", "type": "nominal"}}}"#,
    )
    .unwrap();
    let snapshot = quarry_snapshot::SnapshotStore::new(common::home().join("snapshots")).list().expect("list");
    let table = snapshot[0].dir.join("subscriptions.parquet");
    std::fs::write(
        dir.path().join("users.json"),
        r#"{"mark": "bar", "encoding": {"x": {"field": "plan", "type": "nominal"}, "y": {"aggregate": "count", "type": "quantitative"}}}"#,
    )
    .unwrap();
    quarry()
        .current_dir(dir.path())
        .args(["chart", "users.json"])
        .arg(&table)
        .args(["-o", "users.png", "--size", "slack"])
        .assert()
        .success()
        .stdout(predicate::str::contains("bar"));
    quarry().current_dir(dir.path()).args(["chart", "spec.json", "data.csv", "-o", "pie.png"]).assert().success();
    assert!(dir.path().join("users.png").exists() && dir.path().join("pie.png").exists());
}

#[test]
fn chart_fails_clearly_when_nothing_drawable_remains() {
    let dir = tmp();
    std::fs::write(dir.path().join("data.csv"), CSV).unwrap();
    std::fs::write(
        dir.path().join("layer.json"),
        r#"{"layer": [{"mark": "bar"}], "encoding": {"x": {"field": "nope", "type": "nominal"}}}"#,
    )
    .unwrap();
    quarry()
        .current_dir(dir.path())
        .args(["chart", "layer.json", "data.csv", "-o", "out.svg"])
        .assert()
        .failure()
        .code(1)
        .stderr(predicate::str::contains("the spec needs a `mark`").and(predicate::str::contains("layer")));
    quarry()
        .current_dir(dir.path())
        .args(["chart", "layer.json", "data.csv", "-o", "out.gif"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("name the output file .svg or .png"));
    assert!(!dir.path().join("out.svg").exists());
}
