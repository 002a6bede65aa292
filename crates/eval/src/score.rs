//! Scoring pipeline outcomes: a case passes when its outcome has rows that the comparator
//! (`quarry-compare`, re-exported here) finds equal to one of its gold results; an outcome
//! without rows gets the category of why (`generation_failed`, `clarification_asked`,
//! `policy_rejected`, `execution_error`, `timeout`).

pub use quarry_compare::{FailureCategory, TieGroup, Tolerance, Verdict, score_rows, score_with_ties};

use crate::target::Outcome;
use quarry_compare::ResultTable;

/// An expected result and whether its row order matters.
#[derive(Debug, Clone, PartialEq)]
pub struct GoldResult {
    /// The expected rows.
    pub table: ResultTable,
    /// Compare as a list rather than a bag.
    pub ordered: bool,
    /// Rows of an ordered gold whose sort keys tie: any order among them, and at a LIMIT any
    /// of the tied rows, is as right as the order the gold's engine happened to pick.
    pub ties: Vec<TieGroup>,
}

/// Scores a pipeline outcome against one or more acceptable gold results (the gold and its
/// alternatives): a measure passes when it passes against any of them. The category of a
/// miss is taken against the first gold that `ex` matches, else against the first gold.
///
/// # Panics
/// If `golds` is empty: a case always has at least one gold.
pub fn score_outcome(outcome: &Outcome, golds: &[GoldResult], tolerance: Tolerance) -> Verdict {
    assert!(!golds.is_empty(), "score_outcome needs at least one gold result");
    let table = match outcome {
        Outcome::Rows(table) => table,
        Outcome::Clarification { question, options } => {
            let options =
                if options.is_empty() { String::new() } else { format!(" (options: {})", options.join(", ")) };
            return Verdict::miss(FailureCategory::ClarificationAsked, format!("{question}{options}"));
        }
        Outcome::GenerationFailed(m) => return Verdict::miss(FailureCategory::GenerationFailed, m.clone()),
        Outcome::PolicyRejected(m) => return Verdict::miss(FailureCategory::PolicyRejected, m.clone()),
        Outcome::ExecutionError(m) => return Verdict::miss(FailureCategory::ExecutionError, m.clone()),
        Outcome::Timeout(m) => return Verdict::miss(FailureCategory::Timeout, m.clone()),
    };
    let verdicts: Vec<Verdict> =
        golds.iter().map(|g| score_with_ties(&g.table, g.ordered, &g.ties, table, tolerance)).collect();
    if let Some(pass) = verdicts.iter().find(|v| v.ex_strict) {
        return pass.clone();
    }
    verdicts.iter().find(|v| v.ex).unwrap_or(&verdicts[0]).clone()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Cell, ResultTable, TieGroup, score_rows};

    fn table(columns: &[&str], rows: Vec<Vec<Cell>>) -> ResultTable {
        ResultTable::new(columns.iter().map(|c| c.to_string()).collect(), rows)
    }

    fn ints(rows: &[&[i64]]) -> Vec<Vec<Cell>> {
        rows.iter().map(|r| r.iter().map(|&v| Cell::Int(v)).collect()).collect()
    }

    fn category(v: &Verdict) -> Option<&'static str> {
        v.category.map(FailureCategory::as_str)
    }

    #[test]
    fn outcomes_without_rows_get_their_own_category() {
        let gold = [GoldResult { table: table(&["a"], ints(&[&[1]])), ordered: false, ties: vec![] }];
        let cases = [
            (Outcome::GenerationFailed("no plan".into()), "generation_failed"),
            (
                Outcome::Clarification { question: "Which revenue?".into(), options: vec!["gross".into()] },
                "clarification_asked",
            ),
            (Outcome::PolicyRejected("table not allowed".into()), "policy_rejected"),
            (Outcome::ExecutionError("division by zero".into()), "execution_error"),
            (Outcome::Timeout("30 s".into()), "timeout"),
        ];
        for (outcome, expected) in cases {
            let verdict = score_outcome(&outcome, &gold, Tolerance::DEFAULT);
            assert_eq!(category(&verdict), Some(expected));
            assert!(!verdict.ex && !verdict.ex_strict);
        }
        let clarification = Outcome::Clarification { question: "Which revenue?".into(), options: vec!["gross".into()] };
        assert_eq!(
            score_outcome(&clarification, &gold, Tolerance::DEFAULT).detail.as_deref(),
            Some("Which revenue? (options: gross)")
        );
    }

    #[test]
    fn any_gold_alternative_may_match() {
        let golds = [
            GoldResult { table: table(&["a"], ints(&[&[1]])), ordered: false, ties: vec![] },
            GoldResult { table: table(&["a"], ints(&[&[2]])), ordered: false, ties: vec![] },
        ];
        let verdict = score_outcome(&Outcome::Rows(table(&["x"], ints(&[&[2]]))), &golds, Tolerance::DEFAULT);
        assert!(verdict.ex_strict);
        // The category comes from the alternative that ex matches.
        let wide = Outcome::Rows(table(&["x", "y"], ints(&[&[2, 5]])));
        let verdict = score_outcome(&wide, &golds, Tolerance::DEFAULT);
        assert!(verdict.ex && !verdict.ex_strict);
        assert_eq!(category(&verdict), Some("wrong_columns"));
    }

    #[test]
    fn ties_reach_the_comparator_through_the_golds() {
        let gold = table(&["n"], ints(&[&[1], &[2], &[3]]));
        let ties = vec![TieGroup { start: 0, len: 2, rows: ints(&[&[1], &[2]]) }];
        let swapped = table(&["n"], ints(&[&[2], &[1], &[3]]));
        assert!(!score_rows(&gold, true, &swapped, Tolerance::DEFAULT).ex, "without the ties the order is wrong");
        let golds = [GoldResult { table: gold, ordered: true, ties }];
        assert!(score_outcome(&Outcome::Rows(swapped), &golds, Tolerance::DEFAULT).ex_strict);
    }
}
