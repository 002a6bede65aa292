//! The spec checker: a Vega-Lite v4 spec is checked against the result before it is drawn.

use serde_json::{Map, Value};

use crate::data::{ChartInput, ColumnKind, TimeGrain, ValueFormat};
use crate::error::{Problem, SpecError};
use crate::spec::{Aggregate, Channel, CheckedSpec, FieldType, MarkType, SortOrder, Stack, View};

/// How strictly parts of Vega-Lite v4 that are not drawn are treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strictness {
    /// For specs written by a model: anything not drawn exactly as written is refused, and
    /// the caller falls back to the built-in chooser.
    Strict,
    /// For specs written by people (`quarry chart`): parts that are not drawn are listed in
    /// [`CheckedSpec::notes`] and left out; only unknown keys and unusable encodings fail.
    Lenient,
}

/// Readability limits, per strictness.
#[derive(Debug, Clone, Copy)]
struct Limits {
    categories: usize,
    series: usize,
    slices: usize,
}

const STRICT_LIMITS: Limits = Limits { categories: 50, series: 12, slices: 10 };
const LENIENT_LIMITS: Limits = Limits { categories: 200, series: 40, slices: 40 };

/// The most series a model-written spec may colour.
pub(crate) fn strict_series_limit() -> usize {
    STRICT_LIMITS.series
}

/// Top-level keys drawn.
const TOP_DRAWN: &[&str] = &["$schema", "title", "description", "name", "mark", "encoding", "data"];
/// Top-level v4 keys that change what is shown and are not drawn.
const TOP_UNSUPPORTED: &[&str] = &[
    "transform",
    "selection",
    "layer",
    "facet",
    "spec",
    "repeat",
    "concat",
    "hconcat",
    "vconcat",
    "resolve",
    "projection",
    "datasets",
];
/// Top-level v4 keys that only style the chart; left out with a note.
const TOP_COSMETIC: &[&str] = &[
    "width",
    "height",
    "config",
    "autosize",
    "background",
    "padding",
    "view",
    "usermeta",
    "align",
    "bounds",
    "center",
    "spacing",
    "columns",
];
/// Encoding channels drawn.
const CHANNELS_DRAWN: &[&str] = &["x", "y", "color", "fill", "theta", "column"];
/// v4 channels that are not drawn.
const CHANNELS_UNSUPPORTED: &[&str] = &[
    "x2",
    "y2",
    "theta2",
    "radius",
    "radius2",
    "row",
    "facet",
    "size",
    "shape",
    "opacity",
    "fillOpacity",
    "strokeOpacity",
    "strokeWidth",
    "strokeDash",
    "stroke",
    "text",
    "detail",
    "key",
    "order",
    "href",
    "url",
    "latitude",
    "longitude",
    "latitude2",
    "longitude2",
    "xError",
    "yError",
    "xError2",
    "yError2",
    "angle",
    "description",
];
/// v4 channels left out because quarry writes its own: tooltips list every encoded value.
const CHANNELS_COSMETIC: &[&str] = &["tooltip"];
/// Field definition keys drawn.
const FIELD_DRAWN: &[&str] = &["field", "type", "title", "aggregate", "timeUnit", "sort", "axis", "legend", "stack"];
const FIELD_UNSUPPORTED: &[&str] = &["bin", "condition", "impute", "value", "datum", "band"];
const FIELD_COSMETIC: &[&str] = &["scale", "header", "format", "formatType", "spacing"];
const MARK_DRAWN: &[&str] = &["type", "innerRadius", "point", "tooltip", "orient"];
const MARK_COSMETIC: &[&str] = &[
    "color",
    "opacity",
    "fill",
    "stroke",
    "strokeWidth",
    "strokeDash",
    "filled",
    "size",
    "cornerRadius",
    "cornerRadiusEnd",
    "cornerRadiusTopLeft",
    "cornerRadiusTopRight",
    "cornerRadiusBottomLeft",
    "cornerRadiusBottomRight",
    "binSpacing",
    "interpolate",
    "line",
    "clip",
    "padAngle",
    "outerRadius",
    "radius",
    "thickness",
    "fillOpacity",
    "strokeOpacity",
    "shape",
    "style",
    "align",
    "baseline",
    "width",
    "height",
];
const AXIS_KNOWN: &[&str] = &[
    "title",
    "format",
    "formatType",
    "labelAngle",
    "grid",
    "tickCount",
    "labelLimit",
    "labelOverlap",
    "orient",
    "ticks",
    "domain",
    "labels",
    "labelFontSize",
    "titleFontSize",
    "values",
    "labelExpr",
    "tickMinStep",
    "zindex",
    "offset",
    "titlePadding",
    "labelPadding",
    "labelColor",
    "titleColor",
];
const LEGEND_KNOWN: &[&str] = &[
    "title",
    "format",
    "formatType",
    "orient",
    "direction",
    "columns",
    "labelLimit",
    "symbolType",
    "labelFontSize",
    "titleFontSize",
    "values",
    "labelExpr",
    "offset",
];

/// Checks Vega-Lite v4 specs against a result.
#[derive(Debug, Clone, Copy)]
pub struct SpecChecker {
    strictness: Strictness,
}

struct Context<'a> {
    input: &'a ChartInput,
    strictness: Strictness,
    limits: Limits,
    problems: Vec<Problem>,
    notes: Vec<String>,
}

impl Context<'_> {
    fn problem(&mut self, path: &str, message: impl Into<String>) {
        self.problems.push(Problem { path: path.to_string(), message: message.into() });
    }

    /// A v4 feature that is not drawn: refused when strict, noted when lenient.
    fn unsupported(&mut self, path: &str, what: &str) {
        match self.strictness {
            Strictness::Strict => self.problem(path, format!("{what} is not supported by quarry's renderer")),
            Strictness::Lenient => self.notes.push(format!("{path}: {what} is not supported and was left out")),
        }
    }

    fn cosmetic(&mut self, path: &str) {
        self.notes.push(format!("{path}: styling is quarry's own; this setting was left out"));
    }

    /// Sorts the keys of an object into drawn, unsupported, cosmetic and unknown.
    fn keys(
        &mut self,
        object: &Map<String, Value>,
        path: &str,
        drawn: &[&str],
        unsupported: &[&str],
        cosmetic: &[&str],
    ) {
        for key in object.keys() {
            let at = join(path, key);
            if drawn.contains(&key.as_str()) {
                continue;
            } else if unsupported.contains(&key.as_str()) {
                self.unsupported(&at, &format!("`{key}`"));
            } else if cosmetic.contains(&key.as_str()) {
                self.cosmetic(&at);
            } else {
                let mut known: Vec<&str> = drawn.iter().chain(unsupported).chain(cosmetic).copied().collect();
                known.sort_unstable();
                self.problem(
                    &at,
                    format!("unknown key `{key}` (not Vega-Lite v4); known keys here: {}", known.join(", ")),
                );
            }
        }
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_string() } else { format!("{path}.{key}") }
}

impl SpecChecker {
    /// A checker of this strictness.
    pub fn new(strictness: Strictness) -> Self {
        Self { strictness }
    }

    /// A checker for model-written specs.
    pub fn strict() -> Self {
        Self { strictness: Strictness::Strict }
    }

    /// A checker for specs written by people.
    pub fn lenient() -> Self {
        Self { strictness: Strictness::Lenient }
    }

    /// Checks a spec given as JSON text.
    pub fn check_str(&self, raw: &str, input: &ChartInput) -> Result<CheckedSpec, SpecError> {
        let value: Value = serde_json::from_str(raw).map_err(|e| SpecError {
            problems: vec![Problem { path: String::new(), message: format!("the spec is not valid JSON: {e}") }],
        })?;
        self.check(&value, input)
    }

    /// Checks a spec: keys, Vega-Lite v4 types, fields against the result, readability.
    /// Every problem is listed; the spec's own data is never used.
    pub fn check(&self, raw: &Value, input: &ChartInput) -> Result<CheckedSpec, SpecError> {
        let limits = match self.strictness {
            Strictness::Strict => STRICT_LIMITS,
            Strictness::Lenient => LENIENT_LIMITS,
        };
        let mut cx = Context { input, strictness: self.strictness, limits, problems: Vec::new(), notes: Vec::new() };
        let Value::Object(top) = raw else {
            return Err(SpecError {
                problems: vec![Problem { path: String::new(), message: "the spec must be a JSON object".into() }],
            });
        };
        let mut top = top.clone();
        if let Some(schema) = top.get("$schema").and_then(Value::as_str)
            && !schema.contains("/v4")
        {
            if schema.contains("/v5") || schema.contains("/v6") {
                cx.notes
                    .push(format!("$schema: {schema} is newer than v4; v5 constructs are translated where possible"));
            } else {
                cx.problem("$schema", format!("{schema} is not a Vega-Lite v4 schema URL"));
            }
            top.insert("$schema".into(), Value::String("https://vega.github.io/schema/vega-lite/v4.json".into()));
        }
        translate_v5(&mut top, &mut cx);
        let composite: Vec<&str> = ["layer", "facet", "spec", "repeat", "concat", "hconcat", "vconcat"]
            .into_iter()
            .filter(|k| top.contains_key(*k))
            .collect();
        cx.keys(&top, "", TOP_DRAWN, TOP_UNSUPPORTED, TOP_COSMETIC);
        for key in TOP_UNSUPPORTED.iter().chain(TOP_COSMETIC) {
            top.remove(*key);
        }
        match top.get("data") {
            None => {}
            Some(Value::Object(data)) if data.keys().all(|k| k == "name") => {}
            Some(_) => cx.problem(
                "data",
                "a spec must not carry data: quarry injects the result itself; remove `data` or use {\"name\": \"result\"}",
            ),
        }
        top.remove("data");
        let view = view(&mut top, &mut cx, &composite);
        // Parsed into `vega_lite_4` types to prove the spec is valid v4, then dropped: the
        // typed form is over 100 KB, and a kept answer would carry it for nothing.
        if cx.problems.is_empty()
            && let Err(message) = parse_typed(Value::Object(top.clone()))
        {
            cx.problem("", format!("not a valid Vega-Lite v4 spec: {message}"));
        }
        match view {
            Some(view) if cx.problems.is_empty() => Ok(CheckedSpec {
                json: Value::Object(top),
                view,
                notes: cx.notes,
                hints: input.hints.clone(),
                strictness: self.strictness,
            }),
            _ => Err(SpecError { problems: cx.problems }),
        }
    }
}

/// Whether `value` deserializes into `vega_lite_4` types, tried on a thread with a large
/// stack: the generated types recurse deeply enough to overflow small stacks (see the stack
/// notes).
fn parse_typed(value: Value) -> Result<(), String> {
    let handle = std::thread::Builder::new()
        .name("vega-lite-parse".into())
        .stack_size(64 * 1024 * 1024)
        .spawn(move || serde_json::from_value::<vega_lite_4::Vegalite>(value).map(drop).map_err(|e| e.to_string()))
        .map_err(|e| format!("cannot start the parser thread: {e}"))?;
    handle.join().map_err(|_| "the Vega-Lite parser failed".to_string())?
}

/// Vega-Lite v5 constructs with a v4 equivalent are rewritten; others are refused.
fn translate_v5(top: &mut Map<String, Value>, cx: &mut Context<'_>) {
    if top.contains_key("params") {
        cx.problem("params", "`params` is Vega-Lite v5; v4 uses `selection`, which quarry does not draw: remove it");
        top.remove("params");
    }
    let is_bar = match top.get("mark") {
        Some(Value::String(m)) => m == "bar",
        Some(Value::Object(m)) => m.get("type").and_then(Value::as_str) == Some("bar"),
        _ => false,
    };
    let Some(Value::Object(encoding)) = top.get_mut("encoding") else { return };
    for offset in ["xOffset", "yOffset"] {
        let Some(inner) = encoding.remove(offset) else { continue };
        let band = if offset == "xOffset" { "x" } else { "y" };
        if !is_bar || encoding.contains_key("column") {
            cx.problem(
                &format!("encoding.{offset}"),
                format!("`{offset}` is Vega-Lite v5; quarry translates it to a v4 `column` only for bar marks without another `column`"),
            );
            continue;
        }
        if offset == "yOffset" {
            cx.problem(
                "encoding.yOffset",
                "`yOffset` is Vega-Lite v5 and grouped horizontal bars have no v4 equivalent quarry draws: use xOffset or a stacked bar",
            );
            continue;
        }
        let Some(outer) = encoding.remove(band) else {
            cx.problem("encoding.xOffset", "`xOffset` needs an `x` category to group by");
            continue;
        };
        encoding.insert("column".into(), outer);
        encoding.insert("x".into(), inner);
        cx.notes.push("encoding.xOffset: Vega-Lite v5 `xOffset` translated to the v4 form (`column` groups, `x` within each group)".into());
    }
}

fn view(top: &mut Map<String, Value>, cx: &mut Context<'_>, composite: &[&str]) -> Option<View> {
    let title = match top.get("title") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Object(t)) => match t.get("text") {
            Some(Value::String(s)) => Some(s.clone()),
            _ => {
                cx.problem("title.text", "a title object needs `text` as a string");
                None
            }
        },
        Some(_) => {
            cx.problem("title", "the title must be a string or an object with `text`");
            None
        }
    };
    if !top.contains_key("mark") && !composite.is_empty() {
        cx.problem(
            "mark",
            format!(
                "the spec needs a `mark`: `{}` (a composite view) is not supported; quarry draws a single view",
                composite.join("`, `")
            ),
        );
        return None;
    }
    let (mark, points, inner_radius) = mark(top.get_mut("mark"), cx)?;
    let Some(Value::Object(encoding)) = top.get_mut("encoding") else {
        cx.problem("encoding", "the spec needs an `encoding` object with the fields to draw");
        return None;
    };
    cx.keys(encoding, "encoding", CHANNELS_DRAWN, CHANNELS_UNSUPPORTED, CHANNELS_COSMETIC);
    encoding.retain(|k, _| CHANNELS_DRAWN.contains(&k.as_str()));
    if encoding.contains_key("fill") && encoding.contains_key("color") {
        cx.problem("encoding.fill", "use `color` or `fill`, not both");
    }
    if let Some(fill) = encoding.remove("fill") {
        encoding.insert("color".into(), fill);
    }
    let mut channels = std::collections::BTreeMap::new();
    for (name, def) in encoding.iter_mut() {
        if let Some(channel) = channel(name, def, cx) {
            channels.insert(name.clone(), channel);
        }
    }
    let mut view = View {
        title,
        mark,
        points,
        inner_radius,
        x: channels.remove("x"),
        y: channels.remove("y"),
        color: channels.remove("color"),
        theta: channels.remove("theta"),
        column: channels.remove("column"),
    };
    if !cx.problems.is_empty() {
        return None;
    }
    consistent(&mut view, cx);
    cx.problems.is_empty().then_some(view)
}

fn mark(mark: Option<&mut Value>, cx: &mut Context<'_>) -> Option<(MarkType, bool, f64)> {
    let Some(mark) = mark else {
        cx.problem("mark", "the spec needs a `mark` (bar, line, area, point or arc)");
        return None;
    };
    let (name, def) = match mark {
        Value::String(s) => (s.clone(), None),
        Value::Object(def) => match def.get("type").and_then(Value::as_str) {
            Some(t) => (t.to_string(), Some(def)),
            None => {
                cx.problem("mark.type", "a mark object needs a `type`");
                return None;
            }
        },
        _ => {
            cx.problem("mark", "the mark must be a string or an object with `type`");
            return None;
        }
    };
    let mark_type = match name.as_str() {
        "bar" => MarkType::Bar,
        "line" => MarkType::Line,
        "area" => MarkType::Area,
        "point" | "circle" | "square" => MarkType::Point,
        "arc" => MarkType::Arc,
        "tick" | "rect" | "rule" | "text" | "trail" | "geoshape" | "image" | "boxplot" | "errorbar" | "errorband" => {
            cx.problem("mark", format!("the `{name}` mark is not drawn by quarry; use bar, line, area, point or arc"));
            return None;
        }
        other => {
            cx.problem("mark", format!("`{other}` is not a Vega-Lite v4 mark"));
            return None;
        }
    };
    let mut points = false;
    let mut inner = 0.0;
    if let Some(def) = def {
        cx.keys(def, "mark", MARK_DRAWN, &[], MARK_COSMETIC);
        def.retain(|k, _| MARK_DRAWN.contains(&k.as_str()));
        match def.get("point") {
            None | Some(Value::Bool(false)) => {}
            Some(Value::Bool(true)) | Some(Value::Object(_)) => points = true,
            Some(Value::String(s)) if s == "transparent" => {}
            Some(other) => {
                cx.problem("mark.point", format!("{other} is not true, false, \"transparent\" or an object"))
            }
        }
        match def.get("innerRadius") {
            None => {}
            Some(Value::Number(n)) if n.as_f64().is_some_and(|n| n >= 0.0) => inner = n.as_f64().unwrap_or(0.0),
            Some(other) => cx.problem("mark.innerRadius", format!("{other} is not a number of pixels >= 0")),
        }
        if def.contains_key("orient") {
            cx.notes.push(
                "mark.orient: the orientation follows the encoding (a category on y draws horizontal bars)".into(),
            );
            def.remove("orient");
        }
    }
    Some((mark_type, points, inner))
}

fn channel(name: &str, def: &mut Value, cx: &mut Context<'_>) -> Option<Channel> {
    let path = format!("encoding.{name}");
    let Value::Object(def) = def else {
        cx.problem(&path, "a channel must be an object like {\"field\": \"revenue\", \"type\": \"quantitative\"}");
        return None;
    };
    cx.keys(def, &path, FIELD_DRAWN, FIELD_UNSUPPORTED, FIELD_COSMETIC);
    for key in FIELD_UNSUPPORTED.iter().chain(FIELD_COSMETIC) {
        def.remove(*key);
    }
    let aggregate = match def.get("aggregate") {
        None => None,
        Some(Value::String(a)) => match Aggregate::parse(a) {
            Some(a) => Some(a),
            None => {
                cx.unsupported(&join(&path, "aggregate"), &format!("the `{a}` aggregate"));
                def.remove("aggregate");
                None
            }
        },
        Some(other) => {
            cx.problem(&join(&path, "aggregate"), format!("{other} is not an aggregate name"));
            None
        }
    };
    let field = match def.get("field") {
        Some(Value::String(f)) => Some(f.clone()),
        None if aggregate == Some(Aggregate::Count) => None,
        None => {
            cx.problem(&path, "the channel has no `field`; name a column of the result");
            return None;
        }
        Some(other) => {
            cx.problem(&join(&path, "field"), format!("{other} is not a column name"));
            return None;
        }
    };
    let ty = match def.get("type").and_then(Value::as_str) {
        Some(t) => match FieldType::parse(t) {
            Some(t) => t,
            None => {
                cx.problem(&join(&path, "type"), format!("`{t}` is not quantitative, temporal, nominal or ordinal"));
                return None;
            }
        },
        None if aggregate == Some(Aggregate::Count) => FieldType::Quantitative,
        None => {
            cx.problem(&join(&path, "type"), "the channel needs a `type`: quantitative, temporal, nominal or ordinal");
            return None;
        }
    };
    if let Some(field) = &field {
        compatible(field, ty, aggregate, &path, cx);
    }
    let time_unit = match def.get("timeUnit") {
        None => None,
        Some(Value::String(u)) => match TimeGrain::from_time_unit(u) {
            Some(g) if ty == FieldType::Temporal || ty == FieldType::Ordinal => Some(g),
            Some(_) => {
                cx.problem(&join(&path, "timeUnit"), "a timeUnit needs a temporal or ordinal field");
                None
            }
            None => {
                cx.unsupported(
                    &join(&path, "timeUnit"),
                    &format!("the `{u}` time unit (supported: year, yearquarter, yearmonth, yearweek, yearmonthdate)"),
                );
                def.remove("timeUnit");
                None
            }
        },
        Some(other) => {
            cx.unsupported(&join(&path, "timeUnit"), &format!("the time unit {other}"));
            def.remove("timeUnit");
            None
        }
    };
    let sort = match def.get("sort") {
        None => SortOrder::Ascending,
        Some(Value::Null) => SortOrder::None,
        Some(Value::String(s)) => match s.as_str() {
            "ascending" => SortOrder::Ascending,
            "descending" => SortOrder::Descending,
            "x" | "y" | "theta" | "color" => SortOrder::ByMeasure { descending: false },
            "-x" | "-y" | "-theta" | "-color" => SortOrder::ByMeasure { descending: true },
            other => {
                cx.unsupported(&join(&path, "sort"), &format!("sorting by `{other}`"));
                def.remove("sort");
                SortOrder::Ascending
            }
        },
        Some(Value::Array(values)) => SortOrder::Custom(
            values.iter().map(|v| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())).collect(),
        ),
        Some(Value::Object(sort)) => {
            let descending = sort.get("order").and_then(Value::as_str) == Some("descending");
            if sort.contains_key("field") || sort.contains_key("op") || sort.contains_key("encoding") {
                SortOrder::ByMeasure { descending }
            } else if descending {
                SortOrder::Descending
            } else {
                SortOrder::Ascending
            }
        }
        Some(other) => {
            cx.problem(&join(&path, "sort"), format!("{other} is not a sort order"));
            SortOrder::Ascending
        }
    };
    let mut title = def.get("title").and_then(Value::as_str).map(str::to_string);
    let mut format = None;
    let mut legend = true;
    for (key, known) in [("axis", AXIS_KNOWN), ("legend", LEGEND_KNOWN)] {
        match def.get_mut(key) {
            None => {}
            Some(Value::Null) if key == "legend" => legend = false,
            Some(Value::Null) => cx.notes.push(format!("{path}.axis: axes are always drawn")),
            Some(Value::Object(guide)) => {
                for guide_key in guide.keys() {
                    if !known.contains(&guide_key.as_str()) {
                        cx.problem(
                            &format!("{path}.{key}.{guide_key}"),
                            format!("unknown {key} key `{guide_key}` (not Vega-Lite v4)"),
                        );
                    } else if !["title", "format"].contains(&guide_key.as_str()) {
                        cx.cosmetic(&format!("{path}.{key}.{guide_key}"));
                    }
                }
                guide.retain(|k, _| k == "title" || k == "format");
                if let Some(t) = guide.get("title").and_then(Value::as_str) {
                    title = Some(t.to_string());
                }
                if let Some(f) = guide.get("format").and_then(Value::as_str) {
                    format = Some(ValueFormat::from_d3(f));
                }
            }
            Some(other) => cx.problem(&join(&path, key), format!("{other} is not an object or null")),
        }
    }
    let stack = match def.get("stack") {
        None | Some(Value::Bool(true)) => Stack::Zero,
        Some(Value::String(s)) if s == "zero" => Stack::Zero,
        Some(Value::String(s)) if s == "normalize" => Stack::Normalize,
        Some(Value::Null) | Some(Value::Bool(false)) => Stack::Off,
        Some(other) => {
            cx.unsupported(&join(&path, "stack"), &format!("stack {other}"));
            def.remove("stack");
            Stack::Zero
        }
    };
    if format.is_none() && ty == FieldType::Quantitative {
        format = field.as_deref().map(|f| cx.input.format_of(f));
    }
    Some(Channel { field, ty, title, aggregate, time_unit, sort, format, stack, legend })
}

fn compatible(field: &str, ty: FieldType, aggregate: Option<Aggregate>, path: &str, cx: &mut Context<'_>) {
    let Some(column) = cx.input.data.column(field) else {
        let names: Vec<&str> = cx.input.data.columns().iter().map(|c| c.name.as_str()).collect();
        cx.problem(
            &join(path, "field"),
            format!("no column named `{field}` in the result; columns: {}", names.join(", ")),
        );
        return;
    };
    let kind = column.kind();
    let ok = match ty {
        FieldType::Quantitative => kind == ColumnKind::Quantitative || aggregate == Some(Aggregate::Count),
        FieldType::Temporal => {
            kind == ColumnKind::Temporal || (kind == ColumnKind::Nominal && cx.input.data.text_as_time(field).is_some())
        }
        FieldType::Nominal | FieldType::Ordinal => true,
    };
    if !ok {
        let what = match kind {
            ColumnKind::Quantitative => "numbers",
            ColumnKind::Temporal => "dates",
            ColumnKind::Nominal => "text",
        };
        let suggestion = match kind {
            ColumnKind::Quantitative => "quantitative",
            ColumnKind::Temporal => "temporal",
            ColumnKind::Nominal => "nominal",
        };
        cx.problem(
            &join(path, "type"),
            format!("`{field}` holds {what}, which cannot be encoded as {ty:?}; use \"{suggestion}\"").to_lowercase(),
        );
    }
}

fn count_distinct(cx: &Context<'_>, channel: &Option<Channel>) -> usize {
    channel
        .as_ref()
        .and_then(|c| c.field.as_deref())
        .and_then(|f| cx.input.data.column(f))
        .map(|c| c.distinct())
        .unwrap_or(0)
}

fn consistent(view: &mut View, cx: &mut Context<'_>) {
    let discrete = |c: &Option<Channel>| c.as_ref().is_some_and(|c| c.ty.is_discrete());
    let quantitative = |c: &Option<Channel>| c.as_ref().is_some_and(|c| c.ty == FieldType::Quantitative);
    match view.mark {
        MarkType::Arc => {
            if !quantitative(&view.theta) {
                cx.problem("encoding.theta", "an arc needs a quantitative `theta` (the size of each slice)");
            }
            if view.x.is_some() || view.y.is_some() {
                cx.problem("encoding", "an arc uses `theta` and `color`, not `x` or `y`");
            }
            let slices = count_distinct(cx, &view.color);
            if slices > cx.limits.slices {
                cx.problem(
                    "encoding.color",
                    format!("{slices} slices are too many to read (at most {}); use a bar chart", cx.limits.slices),
                );
            }
        }
        _ => {
            if view.x.is_none() || view.y.is_none() {
                cx.problem("encoding", "this mark needs both `x` and `y`");
                return;
            }
            if view.theta.is_some() {
                cx.problem("encoding.theta", "`theta` is for arc marks");
            }
            if !quantitative(&view.x) && !quantitative(&view.y) {
                cx.problem("encoding", "one of `x` and `y` must be quantitative (the measure)");
            }
            if view.mark == MarkType::Bar {
                let band = if discrete(&view.y) && !discrete(&view.x) { &view.y } else { &view.x };
                let categories = count_distinct(cx, band);
                if categories > cx.limits.categories {
                    cx.problem(
                        "encoding",
                        format!(
                            "{categories} bars are too many to read (at most {}); filter to the top ones",
                            cx.limits.categories
                        ),
                    );
                }
            }
            if view.column.is_some() && view.mark != MarkType::Bar {
                cx.unsupported("encoding.column", "`column` facets other than grouped bars");
                view.column = None;
            }
            if view.column.is_some() && !discrete(&view.x) {
                cx.problem("encoding.column", "grouped bars need a nominal or ordinal `x` within each `column` group");
            }
            let groups = count_distinct(cx, &view.column);
            if groups > cx.limits.categories / 2 {
                cx.problem("encoding.column", format!("{groups} groups are too many to read"));
            }
        }
    }
    if let Some(color) = &view.color
        && color.ty == FieldType::Quantitative
    {
        cx.unsupported("encoding.color", "a quantitative colour scale");
        view.color = None;
    }
    let series = count_distinct(cx, &view.color);
    if view.mark != MarkType::Arc && series > cx.limits.series {
        cx.problem(
            "encoding.color",
            format!("{series} series are too many to tell apart (at most {})", cx.limits.series),
        );
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::data::{ChartData, ChartHints, Column, Values};

    fn input() -> ChartInput {
        let data = ChartData::new(vec![
            Column { name: "channel".into(), values: Values::Text(vec![Some("paid".into()), Some("organic".into())]) },
            Column { name: "signups".into(), values: Values::Number(vec![Some(10.0), Some(20.0)]) },
        ])
        .unwrap();
        ChartInput::new(data, ChartHints::default())
    }

    #[test]
    fn a_good_spec_passes_and_its_own_data_is_never_used() {
        let spec = json!({"mark": "bar", "encoding": {"x": {"field": "channel", "type": "nominal"}, "y": {"field": "signups", "type": "quantitative"}}});
        let checked = SpecChecker::strict().check(&spec, &input()).unwrap();
        assert_eq!(checked.kind(), crate::ChartKind::Bar);
        let with_data = checked.with_data(&input().data);
        assert_eq!(with_data["data"]["values"][0], json!({"channel": "paid", "signups": 10.0}));
        let smuggled = json!({"mark": "bar", "data": {"values": [{"channel": "x", "signups": 1}]}, "encoding": {"x": {"field": "channel", "type": "nominal"}, "y": {"field": "signups", "type": "quantitative"}}});
        let error = SpecChecker::strict().check(&smuggled, &input()).unwrap_err();
        assert!(error.to_string().contains("must not carry data"), "{error}");
    }

    #[test]
    fn unknown_keys_missing_fields_and_wrong_types_are_all_listed() {
        let spec = json!({"mark": "bar", "colour": "red", "encoding": {"x": {"field": "chanel", "type": "nominal"}, "y": {"field": "channel", "type": "quantitative", "agg": "sum"}}});
        let error = SpecChecker::strict().check(&spec, &input()).unwrap_err();
        let text = error.to_string();
        assert!(text.contains("unknown key `colour`"), "{text}");
        assert!(text.contains("unknown key `agg`"), "{text}");
        assert!(text.contains("no column named `chanel`"), "{text}");
        assert!(text.contains("cannot be encoded as quantitative"), "{text}");
    }

    #[test]
    fn v5_x_offset_becomes_a_v4_column_and_params_are_refused() {
        let spec = json!({"$schema": "https://vega.github.io/schema/vega-lite/v5.json", "mark": "bar", "encoding": {
            "x": {"field": "channel", "type": "nominal"}, "xOffset": {"field": "channel", "type": "nominal"},
            "y": {"field": "signups", "type": "quantitative"}}});
        let checked = SpecChecker::strict().check(&spec, &input()).unwrap();
        assert_eq!(checked.kind(), crate::ChartKind::GroupedBar);
        assert!(checked.spec()["encoding"]["column"].is_object());
        assert!(checked.notes().iter().any(|n| n.contains("xOffset")));
        let params = json!({"params": [{"name": "p"}], "mark": "bar", "encoding": {"x": {"field": "channel", "type": "nominal"}, "y": {"field": "signups", "type": "quantitative"}}});
        assert!(SpecChecker::strict().check(&params, &input()).unwrap_err().to_string().contains("params"));
    }

    #[test]
    fn unsupported_v4_parts_are_refused_when_strict_and_noted_when_lenient() {
        let spec = json!({"mark": "bar", "transform": [{"filter": "datum.signups > 1"}], "encoding": {
            "x": {"field": "channel", "type": "nominal"}, "y": {"field": "signups", "type": "quantitative"}, "size": {"field": "signups", "type": "quantitative"}}});
        let error = SpecChecker::strict().check(&spec, &input()).unwrap_err();
        assert_eq!(error.problems.len(), 2, "{error}");
        let checked = SpecChecker::lenient().check(&spec, &input()).unwrap();
        assert_eq!(checked.notes().len(), 2, "{:?}", checked.notes());
        assert!(checked.spec().get("transform").is_none());
    }

    #[test]
    fn marks_and_encodings_must_fit_together() {
        let arc = json!({"mark": "arc", "encoding": {"x": {"field": "channel", "type": "nominal"}}});
        let text = SpecChecker::strict().check(&arc, &input()).unwrap_err().to_string();
        assert!(text.contains("theta"), "{text}");
        let bars = json!({"mark": "bar", "encoding": {"x": {"field": "channel", "type": "nominal"}, "y": {"field": "channel", "type": "nominal"}}});
        assert!(SpecChecker::strict().check(&bars, &input()).unwrap_err().to_string().contains("quantitative"));
        let tick = json!({"mark": "tick", "encoding": {}});
        assert!(SpecChecker::lenient().check(&tick, &input()).unwrap_err().to_string().contains("not drawn"));
        assert!(
            SpecChecker::strict().check_str("{not json", &input()).unwrap_err().to_string().contains("not valid JSON")
        );
    }
}
