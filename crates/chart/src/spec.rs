//! The checked spec: the Vega-Lite v4 JSON (proven to parse as `vega_lite_4` types) and the
//! view the renderer draws.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::check::{SpecChecker, Strictness};
use crate::data::{ChartData, ChartHints, ChartInput, TimeGrain, ValueFormat};
use crate::error::{Error, SpecError};
use crate::render::{ChartRenderer, Format, Size};

/// The chart types quarry draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChartKind {
    /// Lines over time or an ordered axis; several series get a colour each.
    Line,
    /// A filled line.
    Area,
    /// Vertical bars.
    Bar,
    /// Horizontal bars (long labels).
    HorizontalBar,
    /// Bars of two categories, one on top of the other.
    StackedBar,
    /// Bars of two categories side by side.
    GroupedBar,
    /// Points of two measures.
    Scatter,
    /// Shares of a whole as slices.
    Pie,
    /// A pie with a hole.
    Donut,
}

impl ChartKind {
    /// Every kind, for tests and benchmarks.
    pub const ALL: [ChartKind; 9] = [
        ChartKind::Line,
        ChartKind::Area,
        ChartKind::Bar,
        ChartKind::HorizontalBar,
        ChartKind::StackedBar,
        ChartKind::GroupedBar,
        ChartKind::Scatter,
        ChartKind::Pie,
        ChartKind::Donut,
    ];

    /// The snake_case name.
    pub fn name(self) -> &'static str {
        match self {
            ChartKind::Line => "line",
            ChartKind::Area => "area",
            ChartKind::Bar => "bar",
            ChartKind::HorizontalBar => "horizontal_bar",
            ChartKind::StackedBar => "stacked_bar",
            ChartKind::GroupedBar => "grouped_bar",
            ChartKind::Scatter => "scatter",
            ChartKind::Pie => "pie",
            ChartKind::Donut => "donut",
        }
    }
}

impl std::fmt::Display for ChartKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The mark types drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MarkType {
    Bar,
    Line,
    Area,
    Point,
    Arc,
}

/// Vega-Lite encoding types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FieldType {
    Quantitative,
    Temporal,
    Nominal,
    Ordinal,
}

impl FieldType {
    pub(crate) fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "quantitative" | "Q" => FieldType::Quantitative,
            "temporal" | "T" => FieldType::Temporal,
            "nominal" | "N" => FieldType::Nominal,
            "ordinal" | "O" => FieldType::Ordinal,
            _ => return None,
        })
    }

    pub(crate) fn is_discrete(self) -> bool {
        matches!(self, FieldType::Nominal | FieldType::Ordinal)
    }
}

/// Aggregates applied by the renderer to data that is not aggregated yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Aggregate {
    Sum,
    Mean,
    Count,
    Min,
    Max,
    Median,
}

impl Aggregate {
    pub(crate) fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "sum" => Aggregate::Sum,
            "mean" | "average" => Aggregate::Mean,
            "count" => Aggregate::Count,
            "min" => Aggregate::Min,
            "max" => Aggregate::Max,
            "median" => Aggregate::Median,
            _ => return None,
        })
    }

    pub(crate) fn apply(self, values: &[f64], rows: usize) -> Option<f64> {
        match self {
            Aggregate::Count => Some(rows as f64),
            _ if values.is_empty() => None,
            Aggregate::Sum => Some(values.iter().sum()),
            Aggregate::Mean => Some(values.iter().sum::<f64>() / values.len() as f64),
            Aggregate::Min => values.iter().copied().reduce(f64::min),
            Aggregate::Max => values.iter().copied().reduce(f64::max),
            Aggregate::Median => {
                let mut sorted = values.to_vec();
                sorted.sort_by(f64::total_cmp);
                let mid = sorted.len() / 2;
                Some(if sorted.len().is_multiple_of(2) { (sorted[mid - 1] + sorted[mid]) / 2.0 } else { sorted[mid] })
            }
        }
    }
}

/// How categories are ordered.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SortOrder {
    /// Vega-Lite's default: ascending by value.
    Ascending,
    /// Descending by value.
    Descending,
    /// By the (summed) measure: `"-y"`, `"x"` and so on.
    ByMeasure { descending: bool },
    /// As listed.
    Custom(Vec<String>),
    /// In data order.
    None,
}

/// How bars of several series are stacked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stack {
    Zero,
    Normalize,
    Off,
}

/// One encoding channel.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Channel {
    pub field: Option<String>,
    pub ty: FieldType,
    pub title: Option<String>,
    pub aggregate: Option<Aggregate>,
    pub time_unit: Option<TimeGrain>,
    pub sort: SortOrder,
    pub format: Option<ValueFormat>,
    pub stack: Stack,
    pub legend: bool,
}

/// What the renderer draws: one view, marks and channels.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct View {
    pub title: Option<String>,
    pub mark: MarkType,
    pub points: bool,
    pub inner_radius: f64,
    pub x: Option<Channel>,
    pub y: Option<Channel>,
    pub color: Option<Channel>,
    pub theta: Option<Channel>,
    pub column: Option<Channel>,
}

impl View {
    pub(crate) fn kind(&self) -> ChartKind {
        let discrete = |c: &Option<Channel>| c.as_ref().is_some_and(|c| c.ty.is_discrete());
        let series = self.color.as_ref().and_then(|c| c.field.as_ref());
        fn category(c: &Option<Channel>) -> Option<&String> {
            c.as_ref().and_then(|c| c.field.as_ref())
        }
        match self.mark {
            MarkType::Line => ChartKind::Line,
            MarkType::Area => ChartKind::Area,
            MarkType::Point => ChartKind::Scatter,
            MarkType::Arc if self.inner_radius > 0.0 => ChartKind::Donut,
            MarkType::Arc => ChartKind::Pie,
            MarkType::Bar if self.column.is_some() => ChartKind::GroupedBar,
            MarkType::Bar => {
                let horizontal = discrete(&self.y) && !discrete(&self.x);
                let band = if horizontal { category(&self.y) } else { category(&self.x) };
                let stacked = series.is_some_and(|s| Some(s) != band);
                if stacked {
                    ChartKind::StackedBar
                } else if horizontal {
                    ChartKind::HorizontalBar
                } else {
                    ChartKind::Bar
                }
            }
        }
    }
}

/// A spec that passed the checker: safe to render over the data it was checked against.
#[derive(Debug, Clone)]
pub struct CheckedSpec {
    pub(crate) json: Value,
    pub(crate) view: View,
    pub(crate) notes: Vec<String>,
    /// The hints it was checked with (value formats), so it can be checked again.
    pub(crate) hints: ChartHints,
    pub(crate) strictness: Strictness,
}

/// What a chart is drawn from, in a form to store: the checked spec, the data it was checked
/// against with its hints, and the checker's strictness. Drawing it later checks the spec
/// again over the same input, which gives the same chart, so answers need not draw images
/// nobody asks for.
///
/// ```
/// use quarry_chart::{ChartChooser, ChartRenderer, ChartSource, Format, Size};
/// let sample = quarry_chart::samples::samples().remove(0);
/// let choice = ChartChooser::choose(&sample.input, sample.requested);
/// let spec = choice.spec.as_ref().unwrap();
/// let stored = serde_json::to_string(&spec.source(&choice.data))?;
/// let source: ChartSource = serde_json::from_str(&stored)?;
/// let now = ChartRenderer::new(Size::WEB).render(spec, &choice.data, Format::Svg)?;
/// assert_eq!(source.render(Format::Svg, Size::WEB)?, now);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChartSource {
    spec: Value,
    input: ChartInput,
    strictness: Strictness,
}

impl ChartSource {
    /// Checks the spec again over its data.
    pub fn check(&self) -> Result<CheckedSpec, SpecError> {
        SpecChecker::new(self.strictness).check(&self.spec, &self.input)
    }

    /// Draws the chart.
    pub fn render(&self, format: Format, size: Size) -> Result<Vec<u8>, Error> {
        let spec = self.check()?;
        ChartRenderer::new(size).render(&spec, &self.input.data, format)
    }
}

impl CheckedSpec {
    /// What to store to draw this chart later: see [`ChartSource`]. `data` is the data it
    /// was checked against.
    pub fn source(&self, data: &ChartData) -> ChartSource {
        ChartSource {
            spec: self.json.clone(),
            input: ChartInput::new(data.clone(), self.hints.clone()),
            strictness: self.strictness,
        }
    }

    /// The hints it was checked with.
    pub fn hints(&self) -> &ChartHints {
        &self.hints
    }

    /// The chart type.
    pub fn kind(&self) -> ChartKind {
        self.view.kind()
    }

    /// The Vega-Lite v4 spec, without data.
    pub fn spec(&self) -> &Value {
        &self.json
    }

    /// Parts of the spec that were translated or are not drawn (empty when all is drawn).
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// The spec with the data injected as `data.values`, ready for any Vega-Lite v4 renderer.
    pub fn with_data(&self, data: &ChartData) -> Value {
        let mut spec = self.json.clone();
        if let Value::Object(map) = &mut spec {
            map.insert("data".into(), json!({ "values": data.to_values() }));
        }
        spec
    }
}
