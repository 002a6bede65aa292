//! quarry's benchmark harness: where the time of an answer goes.
//!
//! On the demo warehouse at a chosen scale, over the labeled questions of
//! `eval/questions/demo.jsonl`, it measures:
//! - the built-in route stage by stage ([`stages::builtin_stages`]): retrieval (as the
//!   model route runs it), planning, validation, execution, the chart spec, rendering;
//! - a repeated question answered from the answer cache ([`stages::cache_hits`]);
//! - the model route against a model that answers at once ([`instant_model`]), which is
//!   the route's own overhead ([`stages::model_stages`]);
//! - the same SQL in quarry's executor and in DuckDB ([`duckdb::compare`]).
//!
//! `quarry-bench` runs them all and writes Markdown tables and JSON. Times are wall-clock
//! on whatever machine runs it; [`report::machine`] describes it.

pub mod duckdb;
pub mod instant_model;
pub mod report;
pub mod stages;
pub mod stats;
pub mod warehouse;
