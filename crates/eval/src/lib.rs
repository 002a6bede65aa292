//! Evaluation of quarry on labeled question sets: execution accuracy, breakdowns, latency
//! and cost, regressions between runs, and import of the Spider benchmark.
//!
//! # Layout
//! - [`case`](load_cases): the JSONL question format ([`Case`]) and its loader, which reports
//!   malformed lines by number ([`LineError`]) and keeps the rest.
//! - [`target`](EvalTarget): the boundary to the pipeline. The CLI implements [`EvalTarget`]
//!   for quarry's pipeline; tests use scripted doubles.
//! - [`table`](ResultTable): results as plain [`Cell`]s, from Arrow batches or JSON.
//! - [`score`]: `ex` and `ex_strict` execution match with a relative tolerance,
//!   and the [`FailureCategory`] of every miss.
//! - [`runner`](run_eval): runs cases concurrently (conversations in order, in one session)
//!   with a progress bar.
//! - [`report`](EvalReport): summary tables, JSON, Markdown and JUnit reports, comparison
//!   with an earlier run, and the `--min-ex` gate.
//! - [`spider`](import_spider): Spider-format directories into snapshots, starter semantic
//!   layers and a question set with gold rows computed on SQLite.
//!
//! ```no_run
//! use quarry_eval::{EvalOptions, EvalReport, EvalTarget, load_cases, run_eval};
//! # async fn example<T: EvalTarget>(target: T) -> Result<(), Box<dyn std::error::Error>> {
//! let (cases, input_errors) = load_cases("eval/questions/demo.jsonl".as_ref())?;
//! let mut report = run_eval(&target, &cases, &EvalOptions::default()).await;
//! report.input_errors = input_errors;
//! println!("{}", report.summary_table());
//! std::fs::write("report.json", report.to_json())?;
//! if let Ok(old) = std::fs::read_to_string("old.json") {
//!     println!("{}", report.compare(&EvalReport::from_json(&old, "old.json")?).to_markdown());
//! }
//! let gate = report.summary().gate_failures(0.8);
//! if !gate.is_empty() {
//!     eprintln!("{}", gate.join("\n"));
//!     std::process::exit(1);
//! }
//! # Ok(())
//! # }
//! ```

mod case;
mod error;
mod report;
mod runner;
pub mod score;
mod spider;
mod sql;

mod target;

pub use case::{Case, LineError, load_cases, parse_cases};
pub use error::{Error, Result};
pub use quarry_compare::{Cell, CellError, ResultTable};
pub use report::{
    Breakdown, CalibrationBin, CaseChange, CaseResult, Comparison, EvalReport, EvalSummary, Percentiles,
    REPORT_FORMAT_VERSION, RISK_THRESHOLDS, Rate, RiskPoint, RunCost, Trust,
};
pub use runner::{EvalOptions, Mode, run_eval};
pub use score::{
    FailureCategory, GoldResult, TieGroup, Tolerance, Verdict, score_outcome, score_rows, score_with_ties,
};
pub use spider::{
    ExcludedQuestion, SPIDER_CASES_FILE, SPIDER_EXCLUDED_FILE, SpiderDatabase, SpiderImport, SpiderImportOptions,
    hardness as spider_hardness, import_spider,
};
pub use sql::{has_top_level_order_by, reads_table};
pub use target::{EvalTarget, Outcome, Prediction, TargetError, TokenUsage};
