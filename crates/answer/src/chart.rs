//! The answer's chart: hints from the semantic query, a model-written spec checked strictly
//! (falling back to the built-in chooser with the reason recorded), and rendering.

use quarry_chart::{
    ChartChooser, ChartData, ChartHints, ChartInput, ChartKind, ChartRenderer, CheckedSpec, ColumnKind, Format,
    MeasureHint, Size, SpecChecker, TimeGrain, ValueFormat,
};
use quarry_exec::QueryResult;
use quarry_semantic::{MetricFormat, SemanticLayer};
use quarry_synth::{AggregateFunc, Measure, Plan, Ratio};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// The chart of an answer (or why there is none).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AnswerChart {
    /// The chart type; none for a single value (a big-number card) or nothing to chart.
    pub kind: Option<ChartKind>,
    /// The Vega-Lite v4 spec with the data injected as `data.values`.
    #[schema(value_type = Option<Object>)]
    pub spec: Option<Value>,
    /// Why this chart, or why none.
    pub reason: String,
    /// The chart type asked for in the question ("as a pie").
    pub requested: Option<ChartKind>,
    /// Set when a model-written spec was refused: what was wrong with it.
    pub fallback: Option<String>,
    /// The checked spec, for rendering.
    #[serde(skip)]
    #[schema(ignore)]
    pub checked: Option<CheckedSpec>,
    /// The data the chart draws.
    #[serde(skip)]
    #[schema(ignore)]
    pub data: Option<ChartData>,
}

impl AnswerChart {
    /// Draws the chart; `None` when the answer has no chart.
    pub fn render(&self, format: Format, size: Size) -> Result<Option<Vec<u8>>, quarry_chart::Error> {
        match (&self.checked, &self.data) {
            (Some(spec), Some(data)) => ChartRenderer::new(size).render(spec, data, format).map(Some),
            _ => Ok(None),
        }
    }
}

fn grain(grain: quarry_synth::TimeGrain) -> TimeGrain {
    match grain {
        quarry_synth::TimeGrain::Day => TimeGrain::Day,
        quarry_synth::TimeGrain::Week => TimeGrain::Week,
        quarry_synth::TimeGrain::Month => TimeGrain::Month,
        quarry_synth::TimeGrain::Quarter => TimeGrain::Quarter,
        quarry_synth::TimeGrain::Year => TimeGrain::Year,
    }
}

/// What the semantic query says about the result's columns. Compiled queries put the
/// grain first, then the dimensions, then the measures (and `pct_of_` shares).
fn hints(layer: &SemanticLayer, plan: &Plan, columns: &[String], question: &str) -> (ChartHints, Vec<String>) {
    let query = &plan.query;
    let time = query.grain.map(|g| (g.unit().to_string(), grain(g)));
    let groups = query.group_by.len() + usize::from(query.grain.is_some());
    let dimensions: Vec<String> = columns
        .iter()
        .take(groups)
        .filter(|c| Some(c.as_str()) != time.as_ref().map(|t| t.0.as_str()))
        .cloned()
        .collect();
    let mut measures = Vec::new();
    let mut percent_points = Vec::new();
    for (index, column) in columns.iter().enumerate().skip(groups) {
        let columns_per_measure = if query.share && groups > 0 { 2 } else { query.periods.len().max(1) };
        let measure = query.measures.get((index - groups) / columns_per_measure).filter(|_| query.ratio.is_none());
        let (label, format, additive) = if let Some(base) = column.strip_prefix("pct_of_") {
            percent_points.push(column.clone());
            (format!("Share of {}", base.replace('_', " ")), ValueFormat::Percent, false)
        } else if query.ratio == Some(Ratio::Percent) {
            percent_points.push(column.clone());
            (column.replace("_pct_of_", " as % of ").replace('_', " "), ValueFormat::Percent, false)
        } else {
            match measure {
                Some(Measure::Metric { name }) => match layer.metric(name) {
                    Some(metric) => {
                        let expression = metric.expression.to_ascii_uppercase().replace(' ', "");
                        let additive = expression.starts_with("SUM(")
                            || (expression.starts_with("COUNT(") && !expression.starts_with("COUNT(DISTINCT"));
                        let format = match metric.format {
                            MetricFormat::Currency => ValueFormat::Currency,
                            MetricFormat::Percent => ValueFormat::Percent,
                            _ => ValueFormat::Number,
                        };
                        (metric.display_name().to_string(), format, additive && format != ValueFormat::Percent)
                    }
                    None => (column.replace('_', " "), ValueFormat::Number, false),
                },
                Some(Measure::Aggregate { func, .. } | Measure::Elapsed { func, .. }) => (
                    column.replace('_', " "),
                    ValueFormat::Number,
                    matches!(func, AggregateFunc::Sum | AggregateFunc::Count),
                ),
                None => (column.replace('_', " "), ValueFormat::Number, false),
            }
        };
        measures.push(MeasureHint { column: column.clone(), label: Some(label), format, additive });
    }
    let hints = ChartHints { time, measures, dimensions, share: query.share, title: Some(question.to_string()) };
    (hints, percent_points)
}

/// The chart of an answer: `model_spec`, when given, is checked strictly against the result;
/// if it is refused the built-in chooser draws the chart and the reason is kept in
/// [`AnswerChart::fallback`].
pub fn answer_chart(
    layer: &SemanticLayer,
    plan: &Plan,
    result: &QueryResult,
    question: &str,
    requested: Option<ChartKind>,
    model_spec: Option<&Value>,
) -> AnswerChart {
    chart_of(result, requested, model_spec, |columns| hints(layer, plan, columns, question))
}

/// The chart of a result that has no semantic plan (SQL the model wrote): what the result's
/// columns hold is all the chooser knows. `model_chart` is the model's chart, either a
/// Vega-Lite v4 spec or its compact form `{"mark", "x", "y", "color"}` (see
/// [`model_chart_spec`]); it is checked strictly against the result like any model spec.
pub fn result_chart(
    result: &QueryResult,
    question: &str,
    requested: Option<ChartKind>,
    model_chart: Option<&Value>,
) -> AnswerChart {
    chart_of(result, requested, model_chart, |_| {
        (ChartHints { title: Some(question.to_string()), ..ChartHints::default() }, Vec::new())
    })
}

/// The Vega-Lite v4 spec of the model's chart. A spec (an object with an `encoding`) is
/// returned as written; the compact form the model is asked for, `{"mark", "x", "y",
/// "color"}` naming result columns, is spelled out as a spec whose field types are those of
/// the result's columns (the model names columns, it does not know their Arrow types). `None`
/// when the model chose a table: that is no chart to check. A column the result does not have
/// is kept as written, so that the checker refuses it by name.
pub fn model_chart_spec(chart: &Value, data: &ChartData) -> Result<Option<Value>, String> {
    let Value::Object(object) = chart else {
        return Err("the chart is not a JSON object".into());
    };
    if object.contains_key("encoding") || object.contains_key("$schema") {
        return Ok(Some(chart.clone()));
    }
    let text = |key: &str| object.get(key).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty());
    let Some(mark) = text("mark") else {
        return Err("the chart has no `mark`".into());
    };
    if mark == "table" {
        return Ok(None);
    }
    let field = |name: &str| {
        let ty = match data.column(name).map(|c| c.kind()) {
            Some(ColumnKind::Quantitative) => "quantitative",
            Some(ColumnKind::Temporal) => "temporal",
            Some(ColumnKind::Nominal) | None => "nominal",
        };
        json!({ "field": name, "type": ty })
    };
    let (Some(x), Some(y)) = (text("x"), text("y")) else {
        return Err(format!("the `{mark}` chart needs both `x` and `y` columns"));
    };
    let mut encoding = Map::new();
    if mark == "arc" {
        // A pie's slices are the categories (x) sized by the measure (y).
        encoding.insert("theta".into(), field(y));
        encoding.insert("color".into(), field(x));
    } else {
        encoding.insert("x".into(), field(x));
        encoding.insert("y".into(), field(y));
        if let Some(color) = text("color") {
            encoding.insert("color".into(), field(color));
        }
    }
    Ok(Some(json!({
        "$schema": "https://vega.github.io/schema/vega-lite/v4.json",
        "mark": mark,
        "encoding": Value::Object(encoding),
    })))
}

/// The chart of `result`: the model's chart when it passes the strict checker, else the
/// chooser's, with the hints `hints_of` gives for the result's column names.
fn chart_of(
    result: &QueryResult,
    requested: Option<ChartKind>,
    model_chart: Option<&Value>,
    hints_of: impl FnOnce(&[String]) -> (ChartHints, Vec<String>),
) -> AnswerChart {
    let none = |reason: String| AnswerChart {
        kind: None,
        spec: None,
        reason,
        requested,
        fallback: None,
        checked: None,
        data: None,
    };
    let mut data = match ChartData::from_arrow(&result.schema, &result.batches) {
        Ok(data) => data,
        Err(error) => return none(format!("no chart: {error}")),
    };
    let columns: Vec<String> = data.columns().iter().map(|c| c.name.clone()).collect();
    let (hints, percent_points) = hints_of(&columns);
    // Shares come back as 0..100; Vega-Lite's percent format expects ratios.
    for column in &percent_points {
        data.rescale(column, 100.0);
    }
    let model_spec = model_chart.map(|chart| model_chart_spec(chart, &data));
    let mut fallback = None;
    match model_spec {
        None | Some(Ok(None)) => {}
        Some(Ok(Some(mut spec))) => {
            if let (Some(title), Value::Object(object)) = (&hints.title, &mut spec) {
                object.entry("title").or_insert_with(|| Value::String(title.clone()));
            }
            let input = ChartInput::new(data.clone(), hints.clone());
            match SpecChecker::strict().check(&spec, &input) {
                Ok(checked) => {
                    return AnswerChart {
                        kind: Some(checked.kind()),
                        spec: Some(checked.with_data(&input.data)),
                        reason: "the model's chart, checked against the result".into(),
                        requested,
                        fallback: None,
                        checked: Some(checked),
                        data: Some(input.data),
                    };
                }
                Err(error) => fallback = Some(format!("the model's chart spec was refused: {error}")),
            }
        }
        Some(Err(error)) => fallback = Some(format!("the model's chart spec was refused: {error}")),
    }
    let input = ChartInput::new(data, hints);
    let choice = ChartChooser::choose(&input, requested);
    AnswerChart {
        kind: choice.kind(),
        spec: choice.spec.as_ref().map(|s| s.with_data(&choice.data)),
        reason: choice.reason.clone(),
        requested,
        fallback,
        checked: choice.spec,
        data: Some(choice.data),
    }
}
