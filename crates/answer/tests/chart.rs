//! Answer charts: a model-written spec that is refused falls back to the built-in chooser
//! with the reason recorded, a good one is used with the data injected by quarry, and
//! shares are charted as percentages; a result without a plan (the model's SQL) is charted
//! from the model's compact chart when it fits the result.

use std::sync::Arc;

use datafusion::arrow::array::{Float64Array, Int64Array, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::record_batch::RecordBatch;
use quarry_answer::{answer_chart, result_chart};
use quarry_chart::ChartKind;
use quarry_exec::{ExecTimings, QueryResult};
use quarry_semantic::SemanticLayer;
use quarry_synth::{Plan, PlanOutcome, SemanticPlanner};
use serde_json::json;

fn plan(question: &str) -> Plan {
    let as_of = chrono::NaiveDate::from_ymd_opt(2025, 12, 31).unwrap();
    match SemanticPlanner::new(SemanticLayer::demo(), as_of, "snap-test").plan(question, None) {
        PlanOutcome::Sql(plan) => *plan,
        other => panic!("{other:?}"),
    }
}

fn signups_by_channel() -> QueryResult {
    let schema = Arc::new(Schema::new(vec![
        Field::new("signup_channel", DataType::Utf8, true),
        Field::new("signups", DataType::Int64, false),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(StringArray::from(vec!["organic", "paid_search", "referral"])),
            Arc::new(Int64Array::from(vec![300, 200, 100])),
        ],
    )
    .unwrap();
    QueryResult { schema, batches: vec![batch], truncated: false, timings: ExecTimings::default() }
}

#[test]
fn a_refused_model_spec_falls_back_to_the_chooser_with_the_reason() {
    let plan = plan("signups by channel last month");
    let bad = json!({"mark": "line", "encoding": {"x": {"field": "channel", "type": "nominal"}, "y": {"field": "signups", "type": "quantitative"}, "xOffset": {"field": "signups", "type": "quantitative"}}});
    let chart = answer_chart(&SemanticLayer::demo(), &plan, &signups_by_channel(), "q", None, Some(&bad));
    assert_eq!(chart.kind, Some(ChartKind::Bar));
    let fallback = chart.fallback.expect("the refusal is recorded");
    assert!(fallback.contains("no column named `channel`"), "{fallback}");
    assert!(fallback.contains("xOffset"), "{fallback}");
    assert_eq!(chart.spec.unwrap()["data"]["values"][0], json!({"signup_channel": "organic", "signups": 300.0}));
}

#[test]
fn a_good_model_spec_is_used_and_its_data_replaced() {
    let plan = plan("signups by channel last month");
    let good = json!({"mark": "arc", "data": {"name": "result"}, "encoding": {"theta": {"field": "signups", "type": "quantitative"}, "color": {"field": "signup_channel", "type": "nominal"}}});
    let chart = answer_chart(&SemanticLayer::demo(), &plan, &signups_by_channel(), "q", None, Some(&good));
    assert_eq!(chart.kind, Some(ChartKind::Pie));
    assert!(chart.fallback.is_none());
    assert_eq!(chart.spec.as_ref().unwrap()["data"]["values"].as_array().unwrap().len(), 3);
    let svg = chart.render(quarry_chart::Format::Svg, quarry_chart::Size::WEB).unwrap().expect("a chart");
    assert!(String::from_utf8(svg).unwrap().contains("signups: 300 (50%)"));
}

#[test]
fn shares_are_charted_as_percent_ratios() {
    let plan = plan("share of signups by channel last month");
    assert!(plan.query.share, "{:?}", plan.query);
    let schema = Arc::new(Schema::new(vec![
        Field::new("signup_channel", DataType::Utf8, true),
        Field::new("signups", DataType::Int64, false),
        Field::new("pct_of_signups", DataType::Float64, false),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(StringArray::from(vec!["organic", "paid_search"])),
            Arc::new(Int64Array::from(vec![300, 100])),
            Arc::new(Float64Array::from(vec![75.0, 25.0])),
        ],
    )
    .unwrap();
    let result = QueryResult { schema, batches: vec![batch], truncated: false, timings: ExecTimings::default() };
    let chart = answer_chart(&SemanticLayer::demo(), &plan, &result, "q", None, None);
    // The share and its amount are one whole: a pie of it, not a scatter of one against the other.
    assert_eq!(chart.kind, Some(ChartKind::Pie), "{}", chart.reason);
    let spec = chart.spec.expect("a chart");
    assert_eq!(spec["data"]["values"][0]["pct_of_signups"], json!(0.75));
}

#[test]
fn the_models_compact_chart_is_spelled_out_with_the_results_types() {
    let hint = json!({"mark": "bar", "x": "signup_channel", "y": "signups", "color": null});
    let chart = result_chart(&signups_by_channel(), "signups by channel", None, Some(&hint));
    assert_eq!(chart.kind, Some(ChartKind::Bar), "{}", chart.reason);
    assert!(chart.fallback.is_none());
    assert!(chart.reason.contains("the model's chart"), "{}", chart.reason);
    let spec = chart.spec.expect("a spec");
    assert_eq!(spec["encoding"]["x"]["type"], "nominal");
    assert_eq!(spec["encoding"]["y"]["type"], "quantitative");
    assert_eq!(spec["title"], "signups by channel");
    let pie = json!({"mark": "arc", "x": "signup_channel", "y": "signups", "color": null});
    let chart = result_chart(&signups_by_channel(), "q", None, Some(&pie));
    assert_eq!(chart.kind, Some(ChartKind::Pie), "{}", chart.reason);
}

#[test]
fn a_compact_chart_that_does_not_fit_the_result_falls_back_with_the_reason() {
    let wrong_column = json!({"mark": "line", "x": "month", "y": "signups", "color": null});
    let chart = result_chart(&signups_by_channel(), "q", None, Some(&wrong_column));
    let fallback = chart.fallback.expect("the refusal is recorded");
    assert!(fallback.contains("no column named `month`"), "{fallback}");
    assert_eq!(chart.kind, Some(ChartKind::Bar), "the chooser's chart: {}", chart.reason);
    let no_mark = json!({"x": "signup_channel", "y": "signups"});
    let fallback = result_chart(&signups_by_channel(), "q", None, Some(&no_mark)).fallback.expect("refused");
    assert!(fallback.contains("no `mark`"), "{fallback}");
    // A table is the model's choice of no chart, not a broken chart: the chooser, no note.
    let table = json!({"mark": "table", "x": "signup_channel", "y": "signups", "color": null});
    let chart = result_chart(&signups_by_channel(), "q", None, Some(&table));
    assert!(chart.fallback.is_none());
    assert_eq!(chart.kind, Some(ChartKind::Bar));
}
