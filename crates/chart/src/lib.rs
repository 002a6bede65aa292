//! Charts for answers: quarry decides, checks and draws; no model ever draws pixels or
//! touches data.
//!
//! - [`ChartChooser`] picks a sensible chart from the result's shape and what the semantic
//!   query says about it ([`ChartHints`]): a time series is a line, a category with a
//!   measure a bar sorted by value (horizontal for long labels, top N plus "Other"), two
//!   categories stacked or grouped bars, a share of a whole an arc, two measures a scatter,
//!   and a single value no chart at all (a big-number card).
//! - [`SpecChecker`] checks a Vega-Lite v4 spec (e.g. written by a model) against the
//!   result: unknown keys, fields that do not exist or have the wrong type, unreadable
//!   cardinality, v5-only constructs (translated or refused). Callers fall back to the
//!   chooser and record the reason.
//! - [`ChartRenderer`] draws a checked spec with plotters to SVG (with `<title>` tooltips)
//!   or PNG, with an embedded font, so it works on machines without fonts.
//! - [`requested_chart_type`] reads "as a pie", "show it as a line chart" from a question.
//!
//! The data is always injected by quarry ([`CheckedSpec::with_data`]), never taken from a spec.
//!
//! ```
//! use quarry_chart::{ChartChooser, ChartData, ChartHints, ChartInput, ChartKind, ChartRenderer, Column, Format, Size, Values};
//! let data = ChartData::new(vec![
//!     Column { name: "channel".into(), values: Values::Text(vec![Some("paid".into()), Some("organic".into())]) },
//!     Column { name: "signups".into(), values: Values::Number(vec![Some(120.0), Some(340.0)]) },
//! ])?;
//! let input = ChartInput::new(data, ChartHints::default());
//! let choice = ChartChooser::choose(&input, None);
//! assert_eq!(choice.kind(), Some(ChartKind::Bar));
//! let svg = ChartRenderer::new(Size::WEB).render(choice.spec.as_ref().unwrap(), &choice.data, Format::Svg)?;
//! assert!(String::from_utf8(svg).unwrap().contains("<title>"));
//! # Ok::<(), quarry_chart::Error>(())
//! ```

mod check;
mod choose;
mod data;
mod error;
pub mod format;
mod render;
pub mod samples;
mod spec;

pub use check::{SpecChecker, Strictness};
pub use choose::{ChartChoice, ChartChooser, MAX_BARS, MAX_SERIES, MAX_SLICES, requested_chart_type};
pub use data::{
    ChartData, ChartHints, ChartInput, Column, ColumnKind, MAX_CHART_ROWS, MeasureHint, TimeGrain, ValueFormat, Values,
};
pub use error::{Error, Problem, Result, SpecError};
pub use render::{ChartRenderer, Format, Size};
pub use spec::{ChartKind, ChartSource, CheckedSpec};
