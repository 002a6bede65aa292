//! The built-in chooser: a sensible chart from the result's shape and the semantic query,
//! and chart types asked for in words.

use std::collections::HashMap;
use std::sync::OnceLock;

use regex::Regex;
use serde_json::{Map, Value, json};

use crate::check::SpecChecker;
use crate::data::{ChartData, ChartInput, Column, ColumnKind, ValueFormat, Values};
use crate::spec::{ChartKind, CheckedSpec};

/// Bars shown before the rest are folded into "Other" (or left out).
pub const MAX_BARS: usize = 15;
/// Series (colours) shown before the rest are folded or left out.
pub const MAX_SERIES: usize = 8;
/// Slices a pie or donut may have.
pub const MAX_SLICES: usize = 8;
/// Labels longer than this turn bars horizontal.
const LONG_LABEL: usize = 12;
const OTHER: &str = "Other";

/// What the chooser decided.
#[derive(Debug, Clone)]
pub struct ChartChoice {
    /// The spec, or `None` when the answer is better without a chart (a single value is a
    /// big-number card; no rows, no numbers).
    pub spec: Option<CheckedSpec>,
    /// The data the chart draws: the result, or its top categories plus "Other".
    pub data: ChartData,
    /// Why this chart (or none), including anything left out.
    pub reason: String,
}

impl ChartChoice {
    /// The chart type, if there is a chart.
    pub fn kind(&self) -> Option<ChartKind> {
        self.spec.as_ref().map(CheckedSpec::kind)
    }

    fn none(data: &ChartData, reason: impl Into<String>) -> Self {
        Self { spec: None, data: data.clone(), reason: reason.into() }
    }
}

/// Picks a chart from the shape of a result and what quarry knows about it.
#[derive(Debug, Clone, Copy, Default)]
pub struct ChartChooser;

struct Shape<'a> {
    time: Option<&'a Column>,
    dimensions: Vec<&'a Column>,
    measures: Vec<&'a Column>,
}

fn shape(input: &ChartInput) -> Shape<'_> {
    let data = &input.data;
    let time = input
        .hints
        .time
        .as_ref()
        .and_then(|(name, _)| data.column(name))
        .filter(|c| c.kind() == ColumnKind::Temporal)
        .or_else(|| data.columns().iter().find(|c| c.kind() == ColumnKind::Temporal));
    let time_name = time.map(|c| c.name.as_str());
    let mut measures: Vec<&Column> = input
        .hints
        .measures
        .iter()
        .filter_map(|m| data.column(&m.column))
        .filter(|c| c.kind() == ColumnKind::Quantitative)
        .collect();
    let hinted_dimension = |name: &str| input.hints.dimensions.iter().any(|d| d == name);
    if measures.is_empty() {
        measures = data
            .columns()
            .iter()
            .filter(|c| c.kind() == ColumnKind::Quantitative && !hinted_dimension(&c.name))
            .collect();
    }
    let dimensions = data
        .columns()
        .iter()
        .filter(|c| Some(c.name.as_str()) != time_name && !measures.iter().any(|m| m.name == c.name))
        .filter(|c| c.kind() != ColumnKind::Quantitative || hinted_dimension(&c.name))
        .collect();
    Shape { time, dimensions, measures }
}

fn field(input: &ChartInput, column: &Column, ty: &str) -> Value {
    let mut def = Map::new();
    def.insert("field".into(), json!(column.name));
    def.insert("type".into(), json!(ty));
    def.insert("title".into(), json!(input.title_of(&column.name)));
    if ty == "quantitative" {
        def.insert("axis".into(), json!({ "format": input.format_of(&column.name).d3_format() }));
    }
    if ty == "temporal"
        && let Some(grain) = input.grain_of(&column.name)
    {
        def.insert("timeUnit".into(), json!(grain.time_unit()));
    }
    Value::Object(def)
}

impl ChartChooser {
    /// Chooses a chart, honouring `requested` when the result can be drawn that way.
    pub fn choose(input: &ChartInput, requested: Option<ChartKind>) -> ChartChoice {
        let data = &input.data;
        if data.num_rows() == 0 {
            return ChartChoice::none(data, "no rows: nothing to chart");
        }
        let shape = shape(input);
        let Some(&measure) = shape.measures.first() else {
            return ChartChoice::none(data, "no numeric column: shown as a table");
        };
        if data.num_rows() == 1 && shape.measures.len() == 1 && shape.time.is_none() && shape.dimensions.is_empty() {
            return ChartChoice::none(data, "single value: shown as a big number");
        }
        if data.num_rows() == 1 && shape.time.is_none() && shape.dimensions.is_empty() {
            return ChartChoice::none(data, "one row of several measures: shown as numbers");
        }
        let mut notes = Vec::new();
        if shape.measures.len() > 1 && !matches!(requested, Some(ChartKind::Scatter)) && shape.time.is_some() {
            notes.push(format!("charting {}; the other measures are in the table", input.title_of(&measure.name)));
        }
        let title = input.hints.title.clone();
        let mut spec = Map::new();
        spec.insert("$schema".into(), json!("https://vega.github.io/schema/vega-lite/v4.json"));
        if let Some(title) = &title {
            spec.insert("title".into(), json!(title));
        }
        let mut chart_input = input.clone();
        let mut fallback = None;
        let wants = |kinds: &[ChartKind]| requested.is_some_and(|r| kinds.contains(&r));

        // A share beside its amount ("what share of revenue came from each plan") is two
        // measures of one whole, not two measures to plot against each other.
        let (mark, encoding, reason): (Value, Value, String) = if wants(&[ChartKind::Scatter])
            || (shape.time.is_none() && shape.measures.len() >= 2 && requested.is_none() && !input.hints.share)
        {
            if shape.measures.len() < 2 {
                fallback = Some("a scatter needs two measures".to_string());
                return Self::choose(input, None).with_fallback(fallback);
            }
            let (a, b) = (shape.measures[0], shape.measures[1]);
            let mut encoding = json!({"x": field(input, a, "quantitative"), "y": field(input, b, "quantitative")});
            if let Some(dim) = shape.dimensions.first().or(shape.time.as_ref())
                && dim.distinct() <= crate::check::strict_series_limit()
            {
                encoding["color"] = json!({"field": dim.name, "type": "nominal", "title": input.title_of(&dim.name)});
            }
            (json!({"type": "point", "tooltip": true}), encoding, "two measures: a scatter".into())
        } else if let Some(time) = shape.time.filter(|_| !wants(&[ChartKind::Pie, ChartKind::Donut])) {
            let mark = if wants(&[ChartKind::Area]) {
                "area"
            } else if wants(&[ChartKind::Bar, ChartKind::StackedBar, ChartKind::GroupedBar, ChartKind::HorizontalBar]) {
                "bar"
            } else {
                "line"
            };
            let mut encoding = json!({"x": field(input, time, "temporal"), "y": field(input, measure, "quantitative")});
            let mut reason = format!("a time series: {mark}");
            if let Some(series) = shape.dimensions.first() {
                let kept = keep_top_series(&mut chart_input, series, measure, MAX_SERIES, false);
                if let Some(note) = kept {
                    notes.push(note);
                }
                encoding["color"] =
                    json!({"field": series.name, "type": "nominal", "title": input.title_of(&series.name)});
                reason = format!("a time series per {}: {mark} with a colour per series", input.title_of(&series.name));
            }
            let mark = if mark == "line" && data.num_rows() <= 60 {
                json!({"type": "line", "point": true})
            } else {
                json!(mark)
            };
            (mark, encoding, reason)
        } else if shape.dimensions.is_empty() {
            return ChartChoice::none(data, "no category or time column to chart by: shown as a table");
        } else if shape.dimensions.len() >= 2 && !wants(&[ChartKind::Pie, ChartKind::Donut]) {
            let (outer, inner) = (shape.dimensions[0], shape.dimensions[1]);
            let additive = is_additive(input, &measure.name);
            let grouped = wants(&[ChartKind::GroupedBar]) || (!additive && !wants(&[ChartKind::StackedBar]));
            if let Some(note) = keep_top_series(&mut chart_input, inner, measure, MAX_SERIES, additive) {
                notes.push(note);
            }
            if let Some(note) = keep_top_categories(&mut chart_input, outer, measure, MAX_BARS, additive) {
                notes.push(note);
            }
            let title = |c: &Column| input.title_of(&c.name);
            let color = json!({"field": inner.name, "type": "nominal", "title": title(inner)});
            if grouped {
                let encoding = json!({
                    "column": {"field": outer.name, "type": "nominal", "title": title(outer), "sort": null},
                    "x": {"field": inner.name, "type": "nominal", "title": title(inner)},
                    "y": field(input, measure, "quantitative"),
                    "color": color,
                });
                (json!("bar"), encoding, "two categories: grouped bars".to_string())
            } else {
                let encoding = json!({
                    "x": {"field": outer.name, "type": "nominal", "title": title(outer), "sort": "-y"},
                    "y": field(input, measure, "quantitative"),
                    "color": color,
                });
                (json!("bar"), encoding, "two categories: stacked bars".to_string())
            }
        } else {
            let category = shape.dimensions[0];
            let values = numbers(&chart_input.data, &measure.name);
            let nonnegative = values.iter().flatten().all(|v| *v >= 0.0) && values.iter().flatten().any(|v| *v > 0.0);
            let arc_wanted = wants(&[ChartKind::Pie, ChartKind::Donut]) || (input.hints.share && requested.is_none());
            let arc_ok = nonnegative && category.distinct() <= MAX_SLICES && shape.dimensions.len() == 1;
            if arc_wanted && !arc_ok {
                fallback = Some(format!(
                    "a pie needs one category with at most {MAX_SLICES} non-negative values; showing bars instead"
                ));
            }
            if arc_wanted && arc_ok {
                let donut = requested == Some(ChartKind::Donut);
                let mark = if donut { json!({"type": "arc", "innerRadius": 60}) } else { json!("arc") };
                let encoding = json!({
                    "theta": field(input, measure, "quantitative"),
                    "color": {"field": category.name, "type": "nominal", "title": input.title_of(&category.name),
                        "sort": {"field": measure.name, "order": "descending"}},
                });
                (mark, encoding, format!("a share of a whole: {}", if donut { "donut" } else { "pie" }))
            } else {
                let additive = is_additive(input, &measure.name);
                if let Some(note) = keep_top_categories(&mut chart_input, category, measure, MAX_BARS, additive) {
                    notes.push(note);
                }
                let kept = chart_input.data.column(&category.name).map(|c| (c.longest_label(), c.distinct()));
                let (longest, count) = kept.unwrap_or((0, 0));
                let horizontal = wants(&[ChartKind::HorizontalBar])
                    || (!wants(&[ChartKind::Bar]) && (longest > LONG_LABEL || (count > 10 && longest > 6)));
                let band = json!({"field": category.name, "type": "nominal", "title": input.title_of(&category.name),
                    "sort": if horizontal { "-x" } else { "-y" }});
                let value = field(input, measure, "quantitative");
                let encoding = if horizontal { json!({"y": band, "x": value}) } else { json!({"x": band, "y": value}) };
                let reason = if horizontal {
                    "a category with a measure: horizontal bars sorted by value (long labels)"
                } else {
                    "a category with a measure: bars sorted by value"
                };
                (json!("bar"), encoding, reason.to_string())
            }
        };
        spec.insert("mark".into(), mark);
        spec.insert("encoding".into(), encoding);
        let spec = Value::Object(spec);
        let mut reason = reason;
        if let Some(requested) = requested
            && fallback.is_none()
        {
            reason = format!("{reason} (asked for {requested})");
        }
        for note in notes {
            reason = format!("{reason}; {note}");
        }
        if let Some(fallback) = &fallback {
            reason = format!("{reason}; {fallback}");
        }
        match SpecChecker::strict().check(&spec, &chart_input) {
            Ok(checked) => ChartChoice { spec: Some(checked), data: chart_input.data, reason },
            Err(error) => ChartChoice::none(data, format!("no chart: the built-in spec was refused ({error})")),
        }
    }
}

impl ChartChoice {
    fn with_fallback(mut self, fallback: Option<String>) -> Self {
        if let Some(fallback) = fallback {
            self.reason = format!("{}; {fallback}", self.reason);
        }
        self
    }
}

fn is_additive(input: &ChartInput, column: &str) -> bool {
    input
        .hints
        .measures
        .iter()
        .find(|m| m.column == column)
        .is_none_or(|m| m.additive && m.format != ValueFormat::Percent)
}

fn numbers(data: &ChartData, name: &str) -> Vec<Option<f64>> {
    match data.column(name).map(|c| &c.values) {
        Some(Values::Number(v)) => v.clone(),
        _ => Vec::new(),
    }
}

/// Totals of the measure per label of a column, largest absolute total first.
fn ranked_labels(data: &ChartData, column: &str, measure: &str) -> Vec<String> {
    let Some(col) = data.column(column) else { return Vec::new() };
    let values = numbers(data, measure);
    let mut totals: HashMap<String, f64> = HashMap::new();
    let mut order = Vec::new();
    for row in 0..data.num_rows() {
        let label = col.label(row).unwrap_or_else(|| "(null)".into());
        let entry = totals.entry(label.clone()).or_insert_with(|| {
            order.push(label.clone());
            0.0
        });
        *entry += values.get(row).copied().flatten().unwrap_or(0.0).abs();
    }
    order.sort_by(|a, b| totals[b].total_cmp(&totals[a]));
    order
}

/// Keeps the `keep` largest categories; the rest become "Other" (summed) when the measure
/// adds up, or are left out. Returns a note when anything changed.
fn keep_top_categories(
    input: &mut ChartInput,
    column: &Column,
    measure: &Column,
    keep: usize,
    fold: bool,
) -> Option<String> {
    let ranked = ranked_labels(&input.data, &column.name, &measure.name);
    if ranked.len() <= keep {
        return None;
    }
    let kept_n = if fold { keep - 1 } else { keep };
    let kept: Vec<String> = ranked[..kept_n].to_vec();
    input.data = regroup(&input.data, &column.name, &kept, fold);
    Some(if fold {
        format!(
            "the {kept_n} largest of {} {} shown; the other {} are summed as \"{OTHER}\"",
            ranked.len(),
            input.title_of(&column.name),
            ranked.len() - kept_n
        )
    } else {
        format!("the {kept_n} largest of {} {} shown", ranked.len(), input.title_of(&column.name))
    })
}

fn keep_top_series(
    input: &mut ChartInput,
    column: &Column,
    measure: &Column,
    keep: usize,
    fold: bool,
) -> Option<String> {
    keep_top_categories(input, column, measure, keep, fold).map(|n| n.replacen("shown", "shown as series", 1))
}

/// Rows whose `column` label is in `kept` stay; the others are dropped, or merged into one
/// "Other" row per combination of the remaining non-numeric columns with measures summed.
fn regroup(data: &ChartData, column: &str, kept: &[String], fold: bool) -> ChartData {
    let Some(col) = data.column(column) else { return data.clone() };
    let keep_row: Vec<bool> =
        (0..data.num_rows()).map(|r| kept.contains(&col.label(r).unwrap_or_else(|| "(null)".into()))).collect();
    let mut columns: Vec<Column> = data
        .columns()
        .iter()
        .map(|c| Column { name: c.name.clone(), values: filter_values(&c.values, &keep_row) })
        .collect();
    if fold {
        let keys: Vec<&Column> =
            data.columns().iter().filter(|c| c.name != column && c.kind() != ColumnKind::Quantitative).collect();
        let mut groups: Vec<(Vec<Option<String>>, usize)> = Vec::new();
        let mut sums: Vec<Vec<f64>> = Vec::new();
        for row in (0..data.num_rows()).filter(|r| !keep_row[*r]) {
            let key: Vec<Option<String>> = keys.iter().map(|k| k.label(row)).collect();
            let index = match groups.iter().position(|(k, _)| *k == key) {
                Some(i) => i,
                None => {
                    groups.push((key, row));
                    sums.push(vec![0.0; data.columns().len()]);
                    groups.len() - 1
                }
            };
            for (c, column) in data.columns().iter().enumerate() {
                if let Values::Number(v) = &column.values {
                    sums[index][c] += v[row].unwrap_or(0.0);
                }
            }
        }
        for ((_, first_row), sum) in groups.iter().zip(&sums) {
            for (c, out) in columns.iter_mut().enumerate() {
                let source = &data.columns()[c];
                match &mut out.values {
                    Values::Text(v) if source.name == column => v.push(Some(OTHER.into())),
                    Values::Number(v) if source.name == column => v.push(None),
                    Values::Number(v) => v.push(Some(sum[c])),
                    Values::Time(v) => {
                        v.push(if let Values::Time(src) = &source.values { src[*first_row] } else { None });
                    }
                    Values::Text(v) => v.push(source.label(*first_row)),
                }
            }
        }
        // A numeric category column cannot hold the word "Other": label it as text.
        if let Some(out) = columns.iter_mut().find(|c| c.name == column)
            && let Values::Number(v) = &out.values
        {
            let labels: Vec<Option<String>> =
                v.iter().map(|x| Some(x.map(crate::format::plain_number).unwrap_or_else(|| OTHER.into()))).collect();
            out.values = Values::Text(labels);
        }
    }
    ChartData::new(columns).unwrap_or_else(|_| data.clone())
}

fn filter_values(values: &Values, keep: &[bool]) -> Values {
    fn pick<T: Clone>(v: &[T], keep: &[bool]) -> Vec<T> {
        v.iter().zip(keep).filter(|(_, k)| **k).map(|(x, _)| x.clone()).collect()
    }
    match values {
        Values::Number(v) => Values::Number(pick(v, keep)),
        Values::Time(v) => Values::Time(pick(v, keep)),
        Values::Text(v) => Values::Text(pick(v, keep)),
    }
}

/// A chart type asked for in the question ("as a line chart", "show it as a pie"), and the
/// question without those words, so the planner does not trip over them.
pub fn requested_chart_type(question: &str) -> (String, Option<ChartKind>) {
    static PATTERNS: OnceLock<Vec<Regex>> = OnceLock::new();
    let patterns = PATTERNS.get_or_init(|| {
        let kinds = r"(?P<kind>horizontal\s+bars?|stacked\s+bars?|stacked\s+columns?|grouped\s+bars?|side[\s-]+by[\s-]+side\s+bars?|bars?|columns?|pie|donut|doughnut|lines?|areas?|scatter(?:\s*plot)?|points)";
        let chart = r"(?:\s+(?:chart|graph|plot|diagram))";
        [
            format!(r"(?i)[,;]?\s*\b(?:(?:and\s+)?(?:show|plot|draw|display|chart|render|make|put)(?:\s+(?:it|this|that|them|me|the\s+result))?\s+)?(?:as|in|on|using|with)\s+(?:an?\s+|the\s+)?{kinds}{chart}?\b"),
            format!(r"(?i)\b(?:an?\s+)?{kinds}{chart}\s+(?:of|for|showing)\b"),
            format!(r"(?i)[,;]?\s*\b(?:an?\s+)?{kinds}{chart}\b"),
        ]
        .iter()
        .map(|p| Regex::new(p).expect("chart request patterns compile"))
        .collect()
    });
    for pattern in patterns {
        if let Some(found) = pattern.captures(question) {
            let word = found.name("kind").map(|m| m.as_str().to_lowercase()).unwrap_or_default();
            let word = word.split_whitespace().collect::<Vec<_>>().join(" ");
            let kind = match word.as_str() {
                w if w.starts_with("horizontal") => ChartKind::HorizontalBar,
                w if w.starts_with("stacked") => ChartKind::StackedBar,
                w if w.starts_with("grouped") || w.starts_with("side") => ChartKind::GroupedBar,
                w if w.starts_with("bar") || w.starts_with("column") => ChartKind::Bar,
                "pie" => ChartKind::Pie,
                "donut" | "doughnut" => ChartKind::Donut,
                w if w.starts_with("line") => ChartKind::Line,
                w if w.starts_with("area") => ChartKind::Area,
                _ => ChartKind::Scatter,
            };
            let whole = found.get(0).map(|m| m.range()).unwrap_or(0..0);
            let mut cleaned = format!("{} {}", &question[..whole.start], &question[whole.end..]);
            cleaned = cleaned.split_whitespace().collect::<Vec<_>>().join(" ");
            let cleaned = cleaned.trim_matches(|c: char| c == ',' || c == ';' || c.is_whitespace()).to_string();
            return (cleaned, Some(kind));
        }
    }
    (question.to_string(), None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chart_words_are_read_and_removed() {
        let cases = [
            ("signups by channel as a pie chart", "signups by channel", Some(ChartKind::Pie)),
            ("revenue by month, show it as a line chart", "revenue by month", Some(ChartKind::Line)),
            ("pie chart of signups by channel", "signups by channel", Some(ChartKind::Pie)),
            ("revenue by plan as a donut", "revenue by plan", Some(ChartKind::Donut)),
            (
                "tickets by priority and status as stacked bars",
                "tickets by priority and status",
                Some(ChartKind::StackedBar),
            ),
            ("signups by country in a horizontal bar chart", "signups by country", Some(ChartKind::HorizontalBar)),
            ("revenue by month as an area chart", "revenue by month", Some(ChartKind::Area)),
            ("revenue by month", "revenue by month", None),
            ("signups by line item", "signups by line item", None),
        ];
        for (question, cleaned, kind) in cases {
            assert_eq!(requested_chart_type(question), (cleaned.to_string(), kind), "{question}");
        }
    }
}
