//! SQL synthesis: turning a question into SQL that the policy admits.
//!
//! The stage has one boundary, [`SqlSynthesizer`], implemented by the built-in planner
//! ([`BuiltinSynthesizer`]) and by the OpenAI-compatible chat model ([`ModelSynthesizer`]);
//! both return the same typed [`Candidate`] (SQL, reading, confidence, explanation, chart
//! intent or spec, tokens). The [`SynthesisRouter`] picks between them (builtin-first,
//! model-only, builtin-only, the confidence threshold), repairs the model's SQL a bounded
//! number of times, and runs both for a cross-check; running the SQL is left to its caller,
//! `quarry-answer`, whose one tail validates, executes, charts, summarizes and records
//! whatever candidate came out.
//!
//! This crate depends on `quarry-model` (the chat client and its prompts) and
//! `quarry-retrieve` (the index the prompts are built from), not the other way round: the
//! model crate stays a provider that knows HTTP, prompts and replies and nothing of the
//! planner or of routing, so it can be tested and replaced on its own, while routing, which
//! needs both routes, lives where both are.
//!
//! The built-in [`SemanticPlanner`] is a deterministic compiler from natural language to SQL
//! over the semantic layer. It needs no network and no model weights. It reads a question
//! into a typed [`SemanticQuery`] (metrics or ad-hoc aggregates, dimensions, value filters
//! grounded through the layer's synonyms, a time range from any phrase of the contract, a
//! grain, ranking, comparisons, shares, null checks), then compiles it through the join graph:
//! shortest many-to-one join paths, metric filters and time filters on the metric's own time
//! column, half-open ranges, chronological order for trends, no rounding.
//!
//! Questions that ask for rows rather than a number ("list the names of singers from France
//! by age", "which stadium has the largest capacity", "genres with at least 2 albums") are
//! read by a stricter row reading ([`RowSelect`]) on any layer, inferred starter layers
//! included: it answers only when every content word is a table, a column, a value or a cue
//! it acted on.
//!
//! When a question is ambiguous in a way the layer can name it asks back
//! ([`PlanOutcome::Clarify`]); when it cannot map a question it says what it understood and
//! what it did not ([`PlanOutcome::CannotAnswer`]); it never makes up a query.
//!
//! ```
//! use quarry_semantic::SemanticLayer;
//! use quarry_synth::{PlanOutcome, SemanticPlanner};
//! let as_of = chrono::NaiveDate::from_ymd_opt(2025, 12, 31).unwrap();
//! let planner = SemanticPlanner::new(SemanticLayer::demo(), as_of, "snap-demo");
//! match planner.plan("signups by channel last month", None) {
//!     PlanOutcome::Sql(plan) => assert!(plan.sql.contains("GROUP BY")),
//!     other => panic!("{other:?}"),
//! }
//! ```

mod compile;
mod confidence;
mod cues;
mod graph;
mod grounding;
mod interpret;
mod measures;
mod planner;
mod query;
mod readings;
mod resolve;
mod router;
mod rows;
mod spelling;
mod stage;
mod synthesizer;
mod text;
mod time;
mod vocab;

pub use compile::CompiledQuery;
pub use confidence::{ConfidenceModel, Evidence, UNKNOWN_VALUE_CAP};
pub use graph::{JoinGraph, JoinStep};
pub use interpret::{Interpreter, Reading};
pub use planner::{Explanation, Plan, PlanOutcome, SemanticPlanner};
pub use query::{
    AggregateFunc, ColumnRef, CompareOp, ElapsedUnit, Filter, Measure, MeasureFilter, Ranking, Ratio, RowItem,
    RowOrder, RowSelect, SemanticQuery,
};
pub use readings::MAX_READINGS;
pub use router::{
    ModelFailure, ModelRoute, Question, Rejection, Route, RouteError, Routed, RoutedOutcome, SecondRoute,
    SynthesisConfig, SynthesisRouter, Timings, failure_message, layer_words, repairs_exhausted_message,
};
pub use stage::{Progress, Stage, StageEvent, silent};
pub use synthesizer::{
    Attempt, BuiltinSynthesizer, Candidate, CandidateReading, ChartIntent, ModelSynthesizer, SqlSynthesizer, Synthesis,
    SynthesisError, SynthesisRequest,
};
pub use time::{TimeFindings, TimeGrain, TimeRange, extract_time};

/// Result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a semantic query could not be compiled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Nothing to aggregate.
    #[error("the question names no metric or measure")]
    NoMeasure,
    /// A name is not in the semantic layer.
    #[error("unknown {kind} '{name}' in the semantic layer")]
    UnknownName {
        /// What kind of name.
        kind: &'static str,
        /// The name.
        name: String,
    },
    /// Two tables are not connected by the join graph.
    #[error("{to} cannot be joined to {from}: the semantic layer has no join path between them")]
    Unjoinable {
        /// The metric's table.
        from: String,
        /// The table or dimension asked for.
        to: String,
    },
    /// Joining would count the measure several times.
    #[error(
        "{measure} cannot be broken down through {table} without counting rows several times (one row joins to many)"
    )]
    FanOut {
        /// The measure.
        measure: String,
        /// The table that multiplies rows.
        table: String,
    },
    /// A time range or grain was asked of a measure without a time column.
    #[error("this measure has no time column, so it cannot be filtered or grouped by time")]
    NoTimeColumn,
}
