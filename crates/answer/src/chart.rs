//! The answer's chart: hints from the semantic query, a model-written spec checked strictly
//! (falling back to the built-in chooser with the reason recorded), and rendering.

use quarry_chart::{
    ChartChooser, ChartData, ChartHints, ChartInput, ChartKind, ChartRenderer, CheckedSpec, Format, MeasureHint, Size,
    SpecChecker, TimeGrain, ValueFormat,
};
use quarry_exec::QueryResult;
use quarry_semantic::{MetricFormat, SemanticLayer};
use quarry_synth::{AggregateFunc, Measure, Plan, Ratio};
use serde::{Deserialize, Serialize};
use serde_json::Value;

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
    let (hints, percent_points) = hints(layer, plan, &columns, question);
    // Shares come back as 0..100; Vega-Lite's percent format expects ratios.
    for column in &percent_points {
        data.rescale(column, 100.0);
    }
    let input = ChartInput::new(data, hints);
    let mut fallback = None;
    if let Some(spec) = model_spec {
        match SpecChecker::strict().check(spec, &input) {
            Ok(checked) => {
                return AnswerChart {
                    kind: Some(checked.kind()),
                    spec: Some(checked.with_data(&input.data)),
                    reason: "the model's spec".into(),
                    requested,
                    fallback: None,
                    checked: Some(checked),
                    data: Some(input.data),
                };
            }
            Err(error) => fallback = Some(format!("the model's chart spec was refused: {error}")),
        }
    }
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
