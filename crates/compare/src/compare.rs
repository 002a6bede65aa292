//! Execution match: is one result the same as another (a prediction and its gold)?
//!
//! Two measures, computed on values and never on SQL text or column names:
//!
//! - **`ex_strict`** (test-suite accuracy, taoyds/test-suite-sql-eval): the prediction has as
//!   many columns as the gold, and some one-to-one matching of gold columns to predicted
//!   columns makes the predicted rows equal the gold rows: as a bag (multiset), or as a list
//!   when the gold is ordered (its SQL has a top-level `ORDER BY`).
//! - **`ex`** (as in Spider 2.0's evaluation): every gold column is matched to a distinct
//!   predicted column, and the predicted rows restricted to those columns equal the gold
//!   rows, by the same bag-or-list rule. Extra predicted columns are allowed, so `ex_strict`
//!   implies `ex`.
//!
//! Cells compare by meaning ([`Cell`]): numbers of any type within a relative tolerance
//! (`|a - b| <= tolerance * max(|a|, |b|)`, booleans being 1 and 0), NULL equals NULL, NaN
//! equals NaN, a date equals the timestamp at its midnight, ISO text equals the date or
//! timestamp it spells. Two results without rows are equal whatever their columns.
//!
//! Every miss gets one [`FailureCategory`], decided in this order:
//!
//! | category | when |
//! |---|---|
//! | `generation_failed`, `clarification_asked`, `policy_rejected`, `execution_error`, `timeout` | the pipeline produced no rows, for that reason (decided by the caller, e.g. `quarry-eval`) |
//! | `empty_result` | no predicted rows, while the gold has rows |
//! | `extra_rows` | the gold has no rows, while the prediction has some |
//! | `wrong_columns` | the prediction has more or fewer columns than the gold (with more, `ex` may still pass) |
//! | `missing_rows` | same number of columns; under some column matching every predicted row is a gold row, but gold rows are left over |
//! | `extra_rows` | same number of columns; under some column matching every gold row is predicted, and predicted rows are left over |
//! | `wrong_values` | same number of columns and none of the above: values differ, or the right rows come in the wrong order for an ordered gold |
//!
//! Matching is hash-based: numbers are rounded to a few more significant digits than the
//! tolerance needs, so equal keys are always within tolerance; rows whose keys differ
//! (values that straddle a rounding boundary, or are simply wrong) are then paired by a
//! tolerant bipartite matching among candidates found by binary search, which keeps 10k-row
//! results fast.
use std::collections::HashMap;
use std::collections::HashSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::table::{Cell, ResultTable, parse_iso};
use crate::{Error, Result};

/// Relative tolerance for comparing numbers, in `[0, 1)`; default `1e-6`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "f64", into = "f64")]
pub struct Tolerance(f64);

impl Tolerance {
    /// The default relative tolerance, `1e-6`.
    pub const DEFAULT: Tolerance = Tolerance(1e-6);

    /// A relative tolerance; refuses negative, non-finite and >= 1 values.
    pub fn new(relative: f64) -> Result<Self> {
        if relative.is_finite() && (0.0..1.0).contains(&relative) {
            Ok(Self(relative))
        } else {
            Err(Error::InvalidTolerance { relative })
        }
    }

    /// The value.
    pub fn get(self) -> f64 {
        self.0
    }

    /// Significant digits numbers are rounded to for hashing, or `None` for exact keys.
    /// Two more digits than the tolerance resolves make every bucket narrower than a tenth of
    /// the tolerance, so equal keys imply a match.
    fn key_digits(self) -> Option<i32> {
        if self.0 < 1e-15 { None } else { Some(2 + (-self.0.log10()).ceil().max(0.0) as i32) }
    }
}

impl Default for Tolerance {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl TryFrom<f64> for Tolerance {
    type Error = Error;
    fn try_from(value: f64) -> Result<Self> {
        Self::new(value)
    }
}

impl From<Tolerance> for f64 {
    fn from(value: Tolerance) -> f64 {
        value.0
    }
}

/// Why a case missed (see the module documentation for the exact rules).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureCategory {
    /// The pipeline could not produce SQL.
    GenerationFailed,
    /// The pipeline asked a clarifying question instead of answering.
    ClarificationAsked,
    /// The SQL policy refused the generated SQL.
    PolicyRejected,
    /// The SQL failed to execute.
    ExecutionError,
    /// Generation or execution ran out of time.
    Timeout,
    /// No predicted rows, while the gold has rows.
    EmptyResult,
    /// Every predicted row is a gold row, but gold rows are missing.
    MissingRows,
    /// Every gold row is predicted, plus rows that are not in the gold (or the gold is empty).
    ExtraRows,
    /// Same number of columns, but the values differ (or the order, for an ordered gold).
    WrongValues,
    /// More or fewer columns than the gold.
    WrongColumns,
}

impl FailureCategory {
    /// Every category, in the order reports list them.
    pub const ALL: [FailureCategory; 10] = [
        FailureCategory::GenerationFailed,
        FailureCategory::ClarificationAsked,
        FailureCategory::PolicyRejected,
        FailureCategory::ExecutionError,
        FailureCategory::Timeout,
        FailureCategory::EmptyResult,
        FailureCategory::MissingRows,
        FailureCategory::ExtraRows,
        FailureCategory::WrongValues,
        FailureCategory::WrongColumns,
    ];

    /// The snake_case name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureCategory::GenerationFailed => "generation_failed",
            FailureCategory::ClarificationAsked => "clarification_asked",
            FailureCategory::PolicyRejected => "policy_rejected",
            FailureCategory::ExecutionError => "execution_error",
            FailureCategory::Timeout => "timeout",
            FailureCategory::EmptyResult => "empty_result",
            FailureCategory::MissingRows => "missing_rows",
            FailureCategory::ExtraRows => "extra_rows",
            FailureCategory::WrongValues => "wrong_values",
            FailureCategory::WrongColumns => "wrong_columns",
        }
    }
}

impl fmt::Display for FailureCategory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
/// Consecutive rows of an ordered gold whose sort keys are equal.
///
/// The gold's rows `start..start + len` come from this group; `rows` is the whole group
/// (projected on the gold's columns), which is longer than `len` when the gold's LIMIT (or
/// OFFSET) cuts through it. A prediction matches here when its rows `start..start + len`
/// pair one-to-one with some of `rows`, in any order.
#[derive(Debug, Clone, PartialEq)]
pub struct TieGroup {
    /// Index of the group's first row in the gold.
    pub start: usize,
    /// How many of the gold's rows come from the group.
    pub len: usize,
    /// Every row of the group.
    pub rows: Vec<Vec<Cell>>,
}

/// The verdict on one prediction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// Gold columns all found among the predicted ones, with the same rows.
    pub ex: bool,
    /// Same columns up to order, same rows.
    pub ex_strict: bool,
    /// Why `ex_strict` failed; `None` when it passed.
    pub category: Option<FailureCategory>,
    /// A sentence on the miss, for people.
    pub detail: Option<String>,
}

impl Verdict {
    /// Both measures passed.
    pub fn pass() -> Self {
        Self { ex: true, ex_strict: true, category: None, detail: None }
    }

    /// A miss of both measures, for `category`, with a sentence on it.
    pub fn miss(category: FailureCategory, detail: impl Into<String>) -> Self {
        Self { ex: false, ex_strict: false, category: Some(category), detail: Some(detail.into()) }
    }
}
/// Scores predicted rows against gold rows (see the module documentation).
pub fn score_rows(gold: &ResultTable, ordered: bool, predicted: &ResultTable, tolerance: Tolerance) -> Verdict {
    score_with_ties(gold, ordered, &[], predicted, tolerance)
}

/// [`score_rows`] for an ordered gold with tied rows (see [`TieGroup`]).
pub fn score_with_ties(
    gold: &ResultTable,
    ordered: bool,
    ties: &[TieGroup],
    predicted: &ResultTable,
    tolerance: Tolerance,
) -> Verdict {
    if gold.is_empty() && predicted.is_empty() {
        return Verdict::pass();
    }
    let matcher = Matcher::new(tolerance);
    let mut g = Canonical::of(gold);
    if ordered {
        g.ties = ties
            .iter()
            .filter(|t| t.len > 0 && t.start + t.len <= g.rows.len())
            .map(|t| CanonTie { start: t.start, len: t.len, rows: Canonical::of_rows(&t.rows, g.width) })
            .collect();
        g.ties.sort_by_key(|t| t.start);
    }
    let p = Canonical::of(predicted);
    let equal = if p.width >= g.width && g.rows.len() == p.rows.len() {
        matcher.find_mapping(&g, &p, Relation::Equal, ordered)
    } else {
        Search::NotFound
    };
    let ex = matches!(equal, Search::Found);
    if ex && p.width == g.width {
        return Verdict::pass();
    }
    let gave_up =
        if matches!(equal, Search::GaveUp) { " (column matching gave up: too many alike columns)" } else { "" };
    let (category, detail) = if p.rows.is_empty() {
        (FailureCategory::EmptyResult, format!("no rows predicted; the gold has {}", g.rows.len()))
    } else if g.rows.is_empty() {
        (FailureCategory::ExtraRows, format!("the gold has no rows; {} predicted", p.rows.len()))
    } else if p.width != g.width {
        let detail = if ex {
            format!("{} extra column(s); the gold's {} column(s) all match (ex passes)", p.width - g.width, g.width)
        } else {
            format!("{} column(s) predicted, the gold has {}", p.width, g.width)
        };
        (FailureCategory::WrongColumns, detail)
    } else if ordered && matches!(matcher.find_mapping(&g, &p, Relation::Equal, false), Search::Found) {
        (FailureCategory::WrongValues, "the right rows in the wrong order (the gold is ordered)".to_string())
    } else if p.rows.len() < g.rows.len()
        && matches!(matcher.find_mapping(&g, &p, Relation::PredWithinGold, false), Search::Found)
    {
        let missing = g.rows.len() - p.rows.len();
        (
            FailureCategory::MissingRows,
            format!("every predicted row is a gold row, but {missing} of {} gold rows are missing", g.rows.len()),
        )
    } else if p.rows.len() > g.rows.len()
        && matches!(matcher.find_mapping(&g, &p, Relation::GoldWithinPred, false), Search::Found)
    {
        let extra = p.rows.len() - g.rows.len();
        (FailureCategory::ExtraRows, format!("every gold row is predicted, plus {extra} extra row(s)"))
    } else {
        (
            FailureCategory::WrongValues,
            format!("{} row(s) predicted, {} in the gold; the values differ{gave_up}", p.rows.len(), g.rows.len()),
        )
    };
    Verdict { ex, ex_strict: false, category: Some(category), detail: Some(detail) }
}

/// A cell reduced to what comparison looks at.
#[derive(Debug, Clone, Copy)]
enum Canon<'a> {
    Null,
    Num(f64),
    Time(i64),
    Text(&'a str),
}

impl<'a> Canon<'a> {
    fn of(cell: &'a Cell) -> Self {
        match cell {
            Cell::Null => Canon::Null,
            Cell::Text(s) => match parse_iso(s) {
                Some(_) => Canon::Time(cell.as_micros().unwrap_or_default()),
                // A number stored as text (SQLite's loose typing) is the number it spells.
                None => numeric_text(s).map_or(Canon::Text(s), Canon::Num),
            },
            Cell::Date(_) | Cell::Timestamp(_) => Canon::Time(cell.as_micros().unwrap_or_default()),
            Cell::Decimal(d) => match d.parse::<f64>() {
                Ok(v) => Canon::Num(v),
                Err(_) => Canon::Text(d),
            },
            numeric => Canon::Num(numeric.as_f64().unwrap_or(f64::NAN)),
        }
    }
}

/// The text of a plain decimal number (`42`, `-3.5`, `1e3`), as a number; words such as
/// `inf` or `NaN` stay text.
fn numeric_text(s: &str) -> Option<f64> {
    let t = s.trim();
    let plain = t.bytes().any(|b| b.is_ascii_digit())
        && t.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.' | b'e' | b'E'));
    if plain { t.parse::<f64>().ok().filter(|v| v.is_finite()) } else { None }
}

struct Canonical<'a> {
    rows: Vec<Vec<Canon<'a>>>,
    width: usize,
    /// Tie groups of an ordered gold, sorted by start.
    ties: Vec<CanonTie<'a>>,
}

/// A [`TieGroup`] in comparable form.
struct CanonTie<'a> {
    start: usize,
    len: usize,
    rows: Canonical<'a>,
}

impl<'a> Canonical<'a> {
    /// Rows shorter than the widest one (a malformed table built by hand) are padded with
    /// NULLs rather than making comparison panic.
    fn of(table: &'a ResultTable) -> Self {
        let width = table.rows.iter().map(Vec::len).max().unwrap_or(table.columns.len());
        Self::of_rows(&table.rows, width)
    }

    fn of_rows(rows: &'a [Vec<Cell>], width: usize) -> Self {
        let rows = rows
            .iter()
            .map(|r| {
                let mut row: Vec<Canon<'a>> = r.iter().map(Canon::of).collect();
                row.resize(width, Canon::Null);
                row
            })
            .collect();
        Self { rows, width, ties: Vec::new() }
    }
}

/// A hashable form of a [`Canon`]: equal keys imply tolerant equality.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key<'a> {
    Null,
    /// Mantissa and decimal exponent after rounding to the key digits.
    Num(i64, i32),
    /// Exact bits: non-finite numbers, exact mode, and values too small to round.
    Bits(u64),
    /// Any finite number (only in the grouping signature of the tolerant pass).
    AnyNum,
    Time(i64),
    Text(&'a str),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Relation {
    /// The projected predicted rows equal the gold rows.
    Equal,
    /// Every predicted row pairs with a distinct gold row.
    PredWithinGold,
    /// Every gold row pairs with a distinct predicted row.
    GoldWithinPred,
}

impl Relation {
    fn holds(self, matched: usize, gold: usize, pred: usize) -> bool {
        match self {
            Relation::Equal => matched == gold && matched == pred,
            Relation::PredWithinGold => matched == pred,
            Relation::GoldWithinPred => matched == gold,
        }
    }
}

enum Search {
    Found,
    NotFound,
    GaveUp,
}

/// Full column assignments tried before giving up; reached only with many columns holding
/// the same values in different rows.
const MAX_ASSIGNMENTS: usize = 5_000;

struct Matcher {
    tolerance: f64,
    digits: Option<i32>,
}

impl Matcher {
    fn new(tolerance: Tolerance) -> Self {
        Self { tolerance: tolerance.get(), digits: tolerance.key_digits() }
    }

    fn numbers_match(&self, a: f64, b: f64) -> bool {
        if a == b || (a.is_nan() && b.is_nan()) {
            return true;
        }
        a.is_finite() && b.is_finite() && (a - b).abs() <= self.tolerance * a.abs().max(b.abs())
    }

    fn cells_match(&self, a: Canon<'_>, b: Canon<'_>) -> bool {
        match (a, b) {
            (Canon::Null, Canon::Null) => true,
            (Canon::Num(x), Canon::Num(y)) => self.numbers_match(x, y),
            (Canon::Time(x), Canon::Time(y)) => x == y,
            (Canon::Text(x), Canon::Text(y)) => x == y,
            _ => false,
        }
    }

    fn key<'a>(&self, cell: Canon<'a>) -> Key<'a> {
        match cell {
            Canon::Null => Key::Null,
            Canon::Time(t) => Key::Time(t),
            Canon::Text(s) => Key::Text(s),
            Canon::Num(v) => self.number_key(v),
        }
    }

    fn number_key(&self, v: f64) -> Key<'static> {
        if v == 0.0 {
            return Key::Num(0, 0);
        }
        if v.is_nan() {
            return Key::Bits(f64::NAN.to_bits());
        }
        let Some(digits) = self.digits else {
            return Key::Bits(v.to_bits());
        };
        if !v.is_finite() {
            return Key::Bits(v.to_bits());
        }
        let low = 10f64.powi(digits - 1);
        let high = 10f64.powi(digits);
        let mut exponent = v.abs().log10().floor() as i32;
        for _ in 0..3 {
            let quantum = 10f64.powi(exponent - digits + 1);
            if !quantum.is_normal() || !(v / quantum).is_finite() {
                return Key::Bits(v.to_bits());
            }
            let mantissa = (v / quantum).round();
            if mantissa.abs() >= high {
                exponent += 1;
            } else if mantissa.abs() < low {
                exponent -= 1;
            } else {
                return Key::Num(mantissa as i64, exponent);
            }
        }
        Key::Bits(v.to_bits())
    }

    fn rows_match(&self, g: &[Canon<'_>], g_cols: &[usize], p: &[Canon<'_>], p_cols: &[usize]) -> bool {
        g_cols.iter().zip(p_cols).all(|(&gc, &pc)| self.cells_match(g[gc], p[pc]))
    }

    /// Row by row, except within the gold's tie groups, whose rows may come in any order
    /// and, where the gold's LIMIT cuts a group, be any of the group's rows.
    fn lists_match(&self, g: &Canonical<'_>, g_cols: &[usize], p: &Canonical<'_>, p_cols: &[usize]) -> bool {
        if g.rows.len() != p.rows.len() {
            return false;
        }
        let positional = |range: std::ops::Range<usize>| {
            g.rows[range.clone()].iter().zip(&p.rows[range]).all(|(gr, pr)| self.rows_match(gr, g_cols, pr, p_cols))
        };
        let mut next = 0;
        for tie in &g.ties {
            if tie.start < next || !positional(next..tie.start) {
                return false;
            }
            let end = tie.start + tie.len;
            let slice = Canonical { rows: p.rows[tie.start..end].to_vec(), width: p.width, ties: Vec::new() };
            if self.max_matching(&tie.rows, g_cols, &slice, p_cols) != tie.len {
                return false;
            }
            next = end;
        }
        positional(next..g.rows.len())
    }

    /// The largest number of gold rows that pair one-to-one with equal predicted rows, both
    /// projected on the given columns.
    fn max_matching<'a>(&self, g: &Canonical<'a>, g_cols: &[usize], p: &Canonical<'a>, p_cols: &[usize]) -> usize {
        let mut by_key: HashMap<Vec<Key<'a>>, Vec<usize>> = HashMap::with_capacity(p.rows.len());
        for (i, row) in p.rows.iter().enumerate() {
            by_key.entry(p_cols.iter().map(|&c| self.key(row[c])).collect()).or_default().push(i);
        }
        let mut matched = 0;
        let mut gold_left = Vec::new();
        for (i, row) in g.rows.iter().enumerate() {
            let key: Vec<Key<'_>> = g_cols.iter().map(|&c| self.key(row[c])).collect();
            match by_key.get_mut(&key).and_then(Vec::pop) {
                Some(_) => matched += 1,
                None => gold_left.push(i),
            }
        }
        if gold_left.is_empty() || self.digits.is_none() {
            return matched;
        }
        let pred_left: Vec<usize> = by_key.into_values().flatten().collect();
        if pred_left.is_empty() {
            return matched;
        }
        matched + self.tolerant_matching(g, g_cols, &gold_left, p, p_cols, &pred_left)
    }

    /// A row's keys with every finite number replaced by [`Key::AnyNum`].
    fn signature<'a>(&self, row: &[Canon<'a>], cols: &[usize]) -> Vec<Key<'a>> {
        cols.iter()
            .map(|&c| match row[c] {
                Canon::Num(v) if v.is_finite() => Key::AnyNum,
                other => self.key(other),
            })
            .collect()
    }

    /// Pairs rows that failed the key pass but match within tolerance: rows are grouped by
    /// everything except their finite numbers, and within a group candidates are found by
    /// binary search on the most varied numeric column.
    fn tolerant_matching<'a>(
        &self,
        g: &Canonical<'a>,
        g_cols: &[usize],
        gold_left: &[usize],
        p: &Canonical<'a>,
        p_cols: &[usize],
        pred_left: &[usize],
    ) -> usize {
        let mut groups: HashMap<Vec<Key<'a>>, (Vec<usize>, Vec<usize>)> = HashMap::new();
        for &i in pred_left {
            groups.entry(self.signature(&p.rows[i], p_cols)).or_default().1.push(i);
        }
        for &i in gold_left {
            if let Some(group) = groups.get_mut(&self.signature(&g.rows[i], g_cols)) {
                group.0.push(i);
            }
        }
        let mut matched = 0;
        for (sig, (golds, mut preds)) in groups {
            let numeric: Vec<usize> =
                sig.iter().enumerate().filter(|(_, k)| **k == Key::AnyNum).map(|(i, _)| i).collect();
            if golds.is_empty() || numeric.is_empty() {
                continue;
            }
            let value = |row: &[Canon<'_>], col: usize| match row[col] {
                Canon::Num(v) => v,
                _ => f64::NAN,
            };
            let pivot = *numeric
                .iter()
                .max_by_key(|&&pos| {
                    preds.iter().map(|&i| value(&p.rows[i], p_cols[pos]).to_bits()).collect::<HashSet<_>>().len()
                })
                .expect("numeric is not empty");
            let (g_pivot, p_pivot) = (g_cols[pivot], p_cols[pivot]);
            preds.sort_by(|&a, &b| value(&p.rows[a], p_pivot).total_cmp(&value(&p.rows[b], p_pivot)));
            let pivots: Vec<f64> = preds.iter().map(|&i| value(&p.rows[i], p_pivot)).collect();
            let adjacency: Vec<Vec<usize>> = golds
                .iter()
                .map(|&gi| {
                    let v = value(&g.rows[gi], g_pivot);
                    // |a - b| <= t * max(|a|, |b|) implies |a - b| <= 2t|v| while t < 1/2.
                    let (lo, hi) = if self.tolerance < 0.5 {
                        let width = 2.0 * self.tolerance * v.abs();
                        (v - width, v + width)
                    } else {
                        (f64::NEG_INFINITY, f64::INFINITY)
                    };
                    let start = pivots.partition_point(|&x| x < lo);
                    let end = pivots.partition_point(|&x| x <= hi);
                    (start..end).filter(|&k| self.rows_match(&g.rows[gi], g_cols, &p.rows[preds[k]], p_cols)).collect()
                })
                .collect();
            matched += bipartite_matching(&adjacency, preds.len());
        }
        matched
    }

    /// Looks for a one-to-one assignment of gold columns to predicted columns under which
    /// `relation` holds between the rows (as lists when `ordered` and `relation` is `Equal`).
    fn find_mapping(&self, g: &Canonical<'_>, p: &Canonical<'_>, relation: Relation, ordered: bool) -> Search {
        if p.width < g.width || (relation == Relation::Equal && g.rows.len() != p.rows.len()) {
            return Search::NotFound;
        }
        let as_list = ordered && relation == Relation::Equal;
        let fits = |gc: usize, pc: usize| {
            if as_list {
                self.lists_match(g, &[gc], p, &[pc])
            } else {
                relation.holds(self.max_matching(g, &[gc], p, &[pc]), g.rows.len(), p.rows.len())
            }
        };
        let candidates: Vec<Vec<usize>> =
            (0..g.width).map(|gc| (0..p.width).filter(|&pc| fits(gc, pc)).collect()).collect();
        if candidates.iter().any(Vec::is_empty) {
            return Search::NotFound;
        }
        // Identical predicted columns are interchangeable: only the first unused one of a
        // class is tried, which removes the permutations among duplicates.
        let class: Vec<usize> =
            (0..p.width).map(|c| (0..c).find(|&d| p.rows.iter().all(|r| identical(r[c], r[d]))).unwrap_or(c)).collect();
        let mut order: Vec<usize> = (0..g.width).collect();
        order.sort_by_key(|&gc| candidates[gc].len());
        let mut state = Assignment {
            matcher: self,
            g,
            p,
            relation,
            as_list,
            candidates: &candidates,
            class: &class,
            order: &order,
            chosen: vec![usize::MAX; g.width],
            used: vec![false; p.width],
            tries: 0,
        };
        if state.search(0) {
            Search::Found
        } else if state.tries >= MAX_ASSIGNMENTS {
            Search::GaveUp
        } else {
            Search::NotFound
        }
    }
}

/// Exactly the same value (not merely within tolerance).
fn identical(a: Canon<'_>, b: Canon<'_>) -> bool {
    match (a, b) {
        (Canon::Null, Canon::Null) => true,
        (Canon::Num(x), Canon::Num(y)) => x.to_bits() == y.to_bits() || x == y,
        (Canon::Time(x), Canon::Time(y)) => x == y,
        (Canon::Text(x), Canon::Text(y)) => x == y,
        _ => false,
    }
}

struct Assignment<'m, 'a> {
    matcher: &'m Matcher,
    g: &'m Canonical<'a>,
    p: &'m Canonical<'a>,
    relation: Relation,
    as_list: bool,
    candidates: &'m [Vec<usize>],
    class: &'m [usize],
    order: &'m [usize],
    chosen: Vec<usize>,
    used: Vec<bool>,
    tries: usize,
}

impl Assignment<'_, '_> {
    fn search(&mut self, depth: usize) -> bool {
        if self.tries >= MAX_ASSIGNMENTS {
            return false;
        }
        if depth == self.order.len() {
            self.tries += 1;
            let g_cols: Vec<usize> = (0..self.g.width).collect();
            return if self.as_list {
                self.matcher.lists_match(self.g, &g_cols, self.p, &self.chosen)
            } else {
                let matched = self.matcher.max_matching(self.g, &g_cols, self.p, &self.chosen);
                self.relation.holds(matched, self.g.rows.len(), self.p.rows.len())
            };
        }
        let gc = self.order[depth];
        for k in 0..self.candidates[gc].len() {
            let pc = self.candidates[gc][k];
            let twin_unused = (0..pc).any(|d| self.class[d] == self.class[pc] && !self.used[d]);
            if self.used[pc] || twin_unused {
                continue;
            }
            self.used[pc] = true;
            self.chosen[gc] = pc;
            if self.search(depth + 1) {
                return true;
            }
            self.used[pc] = false;
        }
        false
    }
}

/// Size of a maximum matching in a bipartite graph (left nodes `0..adjacency.len()`, right
/// nodes `0..right`): a greedy pass, then augmenting paths found by an iterative depth-first
/// search (Kuhn's algorithm) so that long paths cannot overflow the stack.
fn bipartite_matching(adjacency: &[Vec<usize>], right: usize) -> usize {
    const FREE: usize = usize::MAX;
    let mut owner = vec![FREE; right];
    let mut matched = 0;
    let mut unmatched_left = Vec::new();
    for (left, edges) in adjacency.iter().enumerate() {
        match edges.iter().find(|&&r| owner[r] == FREE) {
            Some(&r) => {
                owner[r] = left;
                matched += 1;
            }
            None if !edges.is_empty() => unmatched_left.push(left),
            None => {}
        }
    }
    let mut seen = vec![0u32; right];
    for (round, &start) in unmatched_left.iter().enumerate() {
        let round = round as u32 + 1;
        let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
        let mut path: Vec<usize> = Vec::new();
        let found = loop {
            let Some((left, next)) = stack.last_mut() else { break false };
            if let Some(&r) = adjacency[*left].get(*next) {
                *next += 1;
                if seen[r] == round {
                    continue;
                }
                seen[r] = round;
                path.push(r);
                if owner[r] == FREE {
                    break true;
                }
                stack.push((owner[r], 0));
            } else {
                stack.pop();
                path.pop();
            }
        };
        if found {
            for (&(left, _), &r) in stack.iter().zip(&path) {
                owner[r] = left;
            }
            matched += 1;
        }
    }
    matched
}
#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;

    fn table(columns: &[&str], rows: Vec<Vec<Cell>>) -> ResultTable {
        ResultTable::new(columns.iter().map(|c| c.to_string()).collect(), rows)
    }

    fn ints(rows: &[&[i64]]) -> Vec<Vec<Cell>> {
        rows.iter().map(|r| r.iter().map(|&v| Cell::Int(v)).collect()).collect()
    }

    fn text(s: &str) -> Cell {
        Cell::Text(s.into())
    }

    fn score(gold: &ResultTable, ordered: bool, pred: &ResultTable) -> Verdict {
        score_rows(gold, ordered, pred, Tolerance::DEFAULT)
    }

    fn category(v: &Verdict) -> Option<&'static str> {
        v.category.map(FailureCategory::as_str)
    }

    #[test]
    fn bags_ignore_row_order_and_lists_do_not() {
        let gold = table(&["a", "b"], ints(&[&[1, 10], &[2, 20], &[2, 20]]));
        let shuffled = table(&["a", "b"], ints(&[&[2, 20], &[1, 10], &[2, 20]]));
        assert!(score(&gold, false, &shuffled).ex_strict);
        let verdict = score(&gold, true, &shuffled);
        assert!(!verdict.ex_strict && !verdict.ex);
        assert_eq!(category(&verdict), Some("wrong_values"));
        assert!(verdict.detail.unwrap().contains("wrong order"));
        assert!(score(&gold, true, &gold).ex_strict);
        // Bags count duplicates.
        let deduplicated = table(&["a", "b"], ints(&[&[1, 10], &[2, 20], &[1, 10]]));
        assert!(!score(&gold, false, &deduplicated).ex);
    }

    #[test]
    fn columns_match_by_values_in_any_order() {
        let gold = table(&["name", "n"], vec![vec![text("x"), Cell::Int(1)], vec![text("y"), Cell::Int(2)]]);
        let permuted = table(&["count", "label"], vec![vec![Cell::Int(2), text("y")], vec![Cell::Int(1), text("x")]]);
        let verdict = score(&gold, false, &permuted);
        assert!(verdict.ex_strict && verdict.ex && verdict.category.is_none());
        // Same column bags but rows paired differently: no permutation makes the rows equal.
        let crossed = table(&["n", "name"], vec![vec![Cell::Int(2), text("x")], vec![Cell::Int(1), text("y")]]);
        assert_eq!(category(&score(&gold, false, &crossed)), Some("wrong_values"));
        // Columns with identical values must still be assigned one to one.
        let gold = table(&["a", "b", "c"], ints(&[&[1, 1, 5], &[2, 2, 6]]));
        let pred = table(&["c", "b", "a"], ints(&[&[5, 1, 1], &[6, 2, 2]]));
        assert!(score(&gold, true, &pred).ex_strict);
    }

    #[test]
    fn extra_columns_pass_ex_but_not_ex_strict() {
        let gold = table(&["n"], ints(&[&[1], &[2]]));
        let wider = table(&["id", "n", "x"], ints(&[&[9, 2, 0], &[8, 1, 0]]));
        let verdict = score(&gold, false, &wider);
        assert!(verdict.ex && !verdict.ex_strict);
        assert_eq!(category(&verdict), Some("wrong_columns"));
        assert!(verdict.detail.unwrap().contains("ex passes"));
        // Fewer columns than the gold.
        let narrower = table(&["n"], ints(&[&[1], &[2]]));
        let verdict = score(&table(&["n", "m"], ints(&[&[1, 3], &[2, 4]])), false, &narrower);
        assert!(!verdict.ex);
        assert_eq!(category(&verdict), Some("wrong_columns"));
        // A wider prediction whose columns do not hold the gold's rows fails both.
        let verdict = score(&gold, false, &table(&["a", "b"], ints(&[&[1, 0], &[3, 0]])));
        assert!(!verdict.ex && !verdict.ex_strict);
    }

    #[test]
    fn numbers_compare_with_relative_tolerance_across_types() {
        let gold = table(&["v"], vec![vec![Cell::Decimal("12.50".into())], vec![Cell::Int(3)], vec![Cell::Float(1e9)]]);
        let pred = table(
            &["v"],
            vec![vec![Cell::Float(3.000_000_001)], vec![Cell::Float(12.5)], vec![Cell::Int(1_000_000_500)]],
        );
        assert!(score(&gold, false, &pred).ex_strict);
        let off = table(&["v"], vec![vec![Cell::Float(3.0001)], vec![Cell::Float(12.5)], vec![Cell::Float(1e9)]]);
        assert_eq!(category(&score(&gold, false, &off)), Some("wrong_values"));
        let loose = Tolerance::new(1e-3).unwrap();
        assert!(score_rows(&gold, false, &off, loose).ex_strict);
        let exact = Tolerance::new(0.0).unwrap();
        assert!(!score_rows(&gold, false, &pred, exact).ex_strict);
        // Booleans are 1 and 0, as SQLite returns them.
        let flags = table(&["f"], vec![vec![Cell::Bool(true)], vec![Cell::Bool(false)]]);
        assert!(score(&table(&["f"], ints(&[&[0], &[1]])), false, &flags).ex_strict);
    }

    #[test]
    fn values_straddling_a_rounding_boundary_still_match() {
        // At 8 significant digits the first rounds up and the second down, yet they are 2e-12 apart.
        let (up, down) = (1.234_567_850_001, 1.234_567_849_999);
        let matcher = Matcher::new(Tolerance::DEFAULT);
        assert_ne!(matcher.number_key(up), matcher.number_key(down));
        let gold = table(&["v", "w"], vec![vec![Cell::Float(up), Cell::Int(1)], vec![Cell::Float(7.0), Cell::Int(2)]]);
        let pred = table(
            &["v", "w"],
            vec![vec![Cell::Float(7.000_000_000_1), Cell::Int(2)], vec![Cell::Float(down), Cell::Int(1)]],
        );
        assert!(score(&gold, false, &pred).ex_strict);
        assert_eq!(matcher.number_key(0.1 + 0.2), matcher.number_key(0.3));
    }

    #[test]
    fn dates_equal_timestamps_at_midnight_and_iso_text() {
        let day = NaiveDate::from_ymd_opt(2024, 3, 1).unwrap();
        let gold = table(&["d"], vec![vec![text("2024-03-01")], vec![Cell::Date(day)]]);
        let pred = table(&["d"], vec![vec![Cell::Timestamp(day.and_hms_opt(0, 0, 0).unwrap())], vec![Cell::Date(day)]]);
        assert!(score(&gold, false, &pred).ex_strict);
        let later =
            table(&["d"], vec![vec![Cell::Timestamp(day.and_hms_opt(0, 0, 1).unwrap())], vec![Cell::Date(day)]]);
        assert!(!score(&gold, false, &later).ex);
        // Text that is not ISO stays text.
        assert!(
            !score(&table(&["d"], vec![vec![text("03/01/2024")]]), false, &table(&["d"], vec![vec![Cell::Date(day)]]))
                .ex
        );
    }

    #[test]
    fn nulls_equal_nulls_only() {
        let gold = table(&["a", "b"], vec![vec![Cell::Null, Cell::Int(1)], vec![text("x"), Cell::Null]]);
        assert!(score(&gold, false, &gold.clone()).ex_strict);
        let zeros = table(&["a", "b"], vec![vec![text(""), Cell::Int(1)], vec![text("x"), Cell::Int(0)]]);
        assert!(!score(&gold, false, &zeros).ex);
    }

    #[test]
    fn empty_results_are_equal_whatever_their_columns() {
        let empty_gold = table(&["a", "b"], vec![]);
        assert!(score(&empty_gold, true, &table(&["x"], vec![])).ex_strict);
        let verdict = score(&empty_gold, false, &table(&["a", "b"], ints(&[&[1, 2]])));
        assert_eq!(category(&verdict), Some("extra_rows"));
        let verdict = score(&table(&["a"], ints(&[&[1]])), false, &table(&["a"], vec![]));
        assert_eq!(category(&verdict), Some("empty_result"));
    }

    #[test]
    fn missing_and_extra_rows_are_told_apart_from_wrong_values() {
        let gold = table(&["k", "v"], ints(&[&[1, 10], &[2, 20], &[3, 30]]));
        let fewer = table(&["v", "k"], ints(&[&[30, 3], &[10, 1]]));
        let verdict = score(&gold, false, &fewer);
        assert_eq!(category(&verdict), Some("missing_rows"));
        assert!(verdict.detail.unwrap().contains("1 of 3 gold rows are missing"));
        let more = table(&["k", "v"], ints(&[&[1, 10], &[2, 20], &[3, 30], &[4, 40]]));
        assert_eq!(category(&score(&gold, false, &more)), Some("extra_rows"));
        let fewer_and_wrong = table(&["k", "v"], ints(&[&[1, 10], &[2, 21]]));
        assert_eq!(category(&score(&gold, false, &fewer_and_wrong)), Some("wrong_values"));
        let same_count_wrong = table(&["k", "v"], ints(&[&[1, 10], &[2, 20], &[3, 31]]));
        assert_eq!(category(&score(&gold, false, &same_count_wrong)), Some("wrong_values"));
    }

    #[test]
    fn tied_rows_may_come_in_any_order_and_a_limit_may_keep_any_of_them() {
        // ORDER BY age LIMIT 2 over ages (20, 30, 30, 30): the second row is any 30-year-old.
        let gold = table(&["name", "age"], vec![vec![text("a"), Cell::Int(20)], vec![text("b"), Cell::Int(30)]]);
        let group =
            vec![vec![text("b"), Cell::Int(30)], vec![text("c"), Cell::Int(30)], vec![text("d"), Cell::Int(30)]];
        let ties = [TieGroup { start: 1, len: 1, rows: group }];
        let pick_d = table(&["name", "age"], vec![vec![text("a"), Cell::Int(20)], vec![text("d"), Cell::Int(30)]]);
        assert!(score_with_ties(&gold, true, &ties, &pick_d, Tolerance::DEFAULT).ex_strict);
        assert!(!score(&gold, true, &pick_d).ex, "without the ties the pick is wrong");
        // Outside the group, order and values still count.
        let wrong_first = table(&["name", "age"], vec![vec![text("d"), Cell::Int(30)], vec![text("a"), Cell::Int(20)]]);
        assert!(!score_with_ties(&gold, true, &ties, &wrong_first, Tolerance::DEFAULT).ex);
        let not_tied = table(&["name", "age"], vec![vec![text("a"), Cell::Int(20)], vec![text("e"), Cell::Int(30)]]);
        assert!(!score_with_ties(&gold, true, &ties, &not_tied, Tolerance::DEFAULT).ex);
        // A whole group inside the result: any order among its rows, each row once.
        let gold = table(&["n"], ints(&[&[1], &[2], &[3]]));
        let ties = [TieGroup { start: 0, len: 2, rows: ints(&[&[1], &[2]]) }];
        let swapped = table(&["n"], ints(&[&[2], &[1], &[3]]));
        assert!(score_with_ties(&gold, true, &ties, &swapped, Tolerance::DEFAULT).ex_strict);
        let repeated = table(&["n"], ints(&[&[2], &[2], &[3]]));
        assert!(!score_with_ties(&gold, true, &ties, &repeated, Tolerance::DEFAULT).ex);
    }

    #[test]
    fn numbers_written_as_text_equal_the_numbers() {
        let gold = table(&["hp"], vec![vec![text("130")], vec![text(" 15.5")], vec![text("n/a")]]);
        let typed = table(&["hp"], vec![vec![Cell::Int(130)], vec![Cell::Float(15.5)], vec![text("n/a")]]);
        assert!(score(&gold, false, &typed).ex_strict);
        // Words that Rust would parse as floats stay words.
        let words = table(&["x"], vec![vec![text("inf")], vec![text("NaN")]]);
        assert!(
            !score(&words, false, &table(&["x"], vec![vec![Cell::Float(f64::INFINITY)], vec![Cell::Float(f64::NAN)]]))
                .ex
        );
    }

    #[test]
    fn tolerance_must_be_a_fraction() {
        for bad in [-1e-6, 1.0, f64::NAN, f64::INFINITY] {
            assert!(Tolerance::new(bad).unwrap_err().to_string().contains("is not a relative tolerance"));
        }
        assert_eq!(Tolerance::new(1e-6).unwrap(), Tolerance::DEFAULT);
    }

    #[test]
    fn ten_thousand_rows_compare_quickly() {
        let n = 10_000;
        let gold_rows: Vec<Vec<Cell>> = (0..n)
            .map(|i| vec![Cell::Int(i), Cell::Float(i as f64 * 1.1), text(&format!("name {}", i % 97))])
            .collect();
        let mut pred_rows: Vec<Vec<Cell>> = gold_rows
            .iter()
            .rev()
            .map(|r| vec![r[2].clone(), Cell::Float(r[1].as_f64().unwrap() * (1.0 + 1e-9)), r[0].clone()])
            .collect();
        let gold = table(&["id", "x", "name"], gold_rows);
        let started = std::time::Instant::now();
        assert!(score(&gold, false, &table(&["name", "x", "id"], pred_rows.clone())).ex_strict);
        // Every value off: the tolerant pass must stay fast too.
        for row in &mut pred_rows {
            row[1] = Cell::Float(row[1].as_f64().unwrap() + 0.5);
        }
        assert_eq!(category(&score(&gold, false, &table(&["name", "x", "id"], pred_rows))), Some("wrong_values"));
        assert!(started.elapsed() < std::time::Duration::from_secs(10), "took {:?}", started.elapsed());
    }

    #[test]
    fn bipartite_matching_finds_augmenting_paths() {
        // Greedy takes 0->0 and then 1 is stuck unless 0 moves to 1.
        assert_eq!(bipartite_matching(&[vec![0, 1], vec![0]], 2), 2);
        assert_eq!(bipartite_matching(&[vec![0], vec![0], vec![]], 1), 1);
        assert_eq!(bipartite_matching(&[vec![1, 0], vec![1], vec![2, 1]], 3), 3);
    }
}
