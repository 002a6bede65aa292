//! Result comparison by meaning: whether two query results hold the same rows.
//!
//! One comparator, used where quarry needs to know that two results are the same: scoring a
//! prediction against its gold in `quarry-eval`, and cross-checking an answer of the built-in
//! planner against the model's in `quarry-answer`. Results become plain [`Cell`]s in a
//! [`ResultTable`] (from Arrow batches or JSON) and are compared on values, never on SQL text
//! or column names (see [`compare`] for the rules).
//!
//! # Layout
//! - `table`: [`Cell`] and [`ResultTable`].
//! - [`compare`]: [`score_rows`] and [`score_with_ties`], with a relative [`Tolerance`], and the
//!   [`FailureCategory`] of every miss.
//!
//! ```
//! use quarry_compare::{Cell, ResultTable, Tolerance, score_rows};
//! let gold = ResultTable::new(vec!["plan".into(), "n".into()], vec![vec![Cell::Text("pro".into()), Cell::Int(4)]]);
//! let other = ResultTable::new(vec!["count".into(), "plan_name".into()], vec![vec![Cell::Float(4.0), Cell::Text("pro".into())]]);
//! assert!(score_rows(&gold, false, &other, Tolerance::DEFAULT).ex_strict);
//! ```

pub mod compare;
mod table;

pub use compare::{FailureCategory, TieGroup, Tolerance, Verdict, score_rows, score_with_ties};
pub use table::{Cell, CellError, ResultTable};

/// Result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A comparison option that cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// A relative tolerance outside `[0, 1)`.
    #[error(
        "invalid tolerance: {relative} is not a relative tolerance; give a number at least 0 and below 1, such as 1e-6"
    )]
    InvalidTolerance {
        /// The value given.
        relative: f64,
    },
}
