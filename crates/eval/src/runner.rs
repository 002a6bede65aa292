//! Running a question set through an [`EvalTarget`].
use std::collections::{BTreeMap, HashMap};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use chrono::Utc;
use futures::StreamExt;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::{Deserialize, Serialize};

use crate::case::Case;
use crate::report::{CaseResult, EvalReport, REPORT_FORMAT_VERSION};
use crate::score::{GoldResult, Tolerance, Verdict, score_outcome};
use crate::sql::has_top_level_order_by;
use crate::target::{EvalTarget, Outcome, Prediction};

/// Rows of the predicted and gold results kept in the report for each miss.
const PREVIEW_ROWS: usize = 5;

/// Where predictions come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Ask the pipeline each question ([`EvalTarget::ask`]).
    #[default]
    Model,
    /// Replay each case's `gold_sql` through the policy and executor
    /// ([`EvalTarget::run_sql`]): measures the harness and the engine's dialect coverage.
    Gold,
}

/// How to run an evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalOptions {
    /// Conversations and single cases run at the same time (at least 1). Turns of one
    /// conversation always run in order in one session.
    pub jobs: usize,
    /// Relative tolerance for numbers.
    pub tolerance: Tolerance,
    /// Where predictions come from.
    pub mode: Mode,
    /// Show a progress bar on standard error (only drawn when it is a terminal).
    pub progress: bool,
    /// A name for what was evaluated (e.g. the model), shown in reports.
    pub label: Option<String>,
}

impl Default for EvalOptions {
    fn default() -> Self {
        Self { jobs: 4, tolerance: Tolerance::DEFAULT, mode: Mode::Model, progress: true, label: None }
    }
}

/// Runs every case and scores it.
///
/// Turns of a conversation run in `turn` order in one session (a session that cannot be
/// started makes every turn a harness error); different conversations and single cases run
/// concurrently, up to `options.jobs` at a time. The gold of a case is its `gold_rows`, or the
/// result of its `gold_sql` run through [`EvalTarget::run_sql`]; a gold that fails to run is a
/// harness error for that case (reported, not scored), distinct from a model miss. Latency is
/// wall-clock time of the ask (or replay), so it includes waiting on other concurrent jobs.
pub async fn run_eval<T: EvalTarget>(target: &T, cases: &[Case], options: &EvalOptions) -> EvalReport {
    let started_at = Utc::now();
    let clock = Instant::now();
    let bar = progress_bar(cases.len(), options.progress);
    let tally = Tally::default();
    let units = plan_units(cases);
    let finished: Vec<Vec<(usize, CaseResult)>> = futures::stream::iter(units)
        .map(|unit| run_unit(target, cases, unit, options, &bar, &tally))
        .buffer_unordered(options.jobs.max(1))
        .collect()
        .await;
    bar.finish_and_clear();
    let mut indexed: Vec<(usize, CaseResult)> = finished.into_iter().flatten().collect();
    indexed.sort_by_key(|(i, _)| *i);
    EvalReport {
        format_version: REPORT_FORMAT_VERSION,
        label: options.label.clone(),
        mode: options.mode,
        tolerance: options.tolerance,
        jobs: options.jobs.max(1),
        started_at,
        elapsed_ms: clock.elapsed().as_secs_f64() * 1000.0,
        input_errors: Vec::new(),
        cases: indexed.into_iter().map(|(_, r)| r).collect(),
    }
}

/// Groups case indexes into units that run sequentially: one per conversation (turns
/// sorted), one per single case; units keep the order of their first case in the file.
fn plan_units(cases: &[Case]) -> Vec<Vec<usize>> {
    let mut units: Vec<Vec<usize>> = Vec::new();
    let mut by_conversation: HashMap<(&str, Option<&str>), usize> = HashMap::new();
    for (i, case) in cases.iter().enumerate() {
        match &case.conversation {
            Some(c) => {
                let unit = *by_conversation.entry((c.as_str(), case.snapshot.as_deref())).or_insert_with(|| {
                    units.push(Vec::new());
                    units.len() - 1
                });
                units[unit].push(i);
            }
            None => units.push(vec![i]),
        }
    }
    for unit in &mut units {
        unit.sort_by_key(|&i| (cases[i].turn.unwrap_or(0), i));
    }
    units
}

fn progress_bar(len: usize, wanted: bool) -> ProgressBar {
    if !wanted || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(len as u64), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("{elapsed_precise} [{bar:40}] {pos}/{len} {msg}") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

#[derive(Default)]
struct Tally {
    done: AtomicUsize,
    ex: AtomicUsize,
}

async fn run_unit<T: EvalTarget>(
    target: &T,
    cases: &[Case],
    unit: Vec<usize>,
    options: &EvalOptions,
    bar: &ProgressBar,
    tally: &Tally,
) -> Vec<(usize, CaseResult)> {
    let snapshot = cases[unit[0]].snapshot.as_deref();
    let mut session = match options.mode {
        Mode::Model => Some(target.new_session(snapshot).await),
        Mode::Gold => None,
    };
    let mut results = Vec::with_capacity(unit.len());
    for index in unit {
        let case = &cases[index];
        let golds = gold_results(target, case).await;
        let clock = Instant::now();
        let prediction: Result<Prediction, String> = match (&mut session, &case.gold_sql) {
            (Some(Ok(session)), _) => Ok(target.ask(session, &case.question).await),
            (Some(Err(e)), _) => {
                Err(format!("could not start a session on snapshot {}: {e}", snapshot.unwrap_or("(default)")))
            }
            (None, Some(sql)) => Ok(target.run_sql(case.snapshot.as_deref(), sql).await),
            (None, None) => Err("the gold replay needs 'gold_sql', and this case only has 'gold_rows'".to_string()),
        };
        let latency_ms = clock.elapsed().as_secs_f64() * 1000.0;
        let result = case_result(case, golds, prediction, latency_ms, options.tolerance);
        let done = tally.done.fetch_add(1, Ordering::Relaxed) + 1;
        let passed = tally.ex.fetch_add(usize::from(result.ex), Ordering::Relaxed) + usize::from(result.ex);
        bar.set_message(format!("ex {:.1}%", 100.0 * passed as f64 / done as f64));
        bar.inc(1);
        results.push((index, result));
    }
    results
}

/// The case's acceptable results, or why they could not be computed.
async fn gold_results<T: EvalTarget>(target: &T, case: &Case) -> Result<Vec<GoldResult>, String> {
    let ordered_by = |sql: Option<&str>| case.ordered.unwrap_or_else(|| sql.is_some_and(has_top_level_order_by));
    let mut golds = Vec::new();
    if let Some(rows) = &case.gold_rows {
        golds.push(GoldResult {
            table: rows.clone(),
            ordered: ordered_by(case.gold_sql.as_deref()),
            ties: case.gold_ties.clone(),
        });
        for (table, ties) in &case.gold_rows_alternatives {
            golds.push(GoldResult {
                table: table.clone(),
                ordered: ordered_by(case.gold_sql.as_deref()),
                ties: ties.clone(),
            });
        }
    } else if let Some(sql) = &case.gold_sql {
        let table = run_gold(target, case, sql).await.map_err(|e| format!("gold_sql {e}"))?;
        golds.push(GoldResult { table, ordered: ordered_by(Some(sql)), ties: Vec::new() });
    }
    for (i, sql) in case.gold_sql_alternatives.iter().enumerate() {
        let table = run_gold(target, case, sql).await.map_err(|e| format!("gold_sql_alternatives[{i}] {e}"))?;
        golds.push(GoldResult { table, ordered: ordered_by(Some(sql)), ties: Vec::new() });
    }
    Ok(golds)
}

async fn run_gold<T: EvalTarget>(target: &T, case: &Case, sql: &str) -> Result<crate::ResultTable, String> {
    match target.run_sql(case.snapshot.as_deref(), sql).await.outcome {
        Outcome::Rows(table) => Ok(table),
        other => Err(format!(
            "failed to run ({}): {}; fix the gold SQL or the engine",
            other.kind(),
            other.message().unwrap_or_default()
        )),
    }
}

fn case_result(
    case: &Case,
    golds: Result<Vec<GoldResult>, String>,
    prediction: Result<Prediction, String>,
    latency_ms: f64,
    tolerance: Tolerance,
) -> CaseResult {
    let mut result = CaseResult {
        id: case.id.clone(),
        question: case.question.clone(),
        tags: case.tags.clone(),
        difficulty: case.difficulty.clone(),
        snapshot: case.snapshot.clone(),
        conversation: case.conversation.clone(),
        turn: case.turn,
        ex: false,
        ex_strict: false,
        category: None,
        detail: None,
        harness_error: None,
        outcome: None,
        route: String::new(),
        confidence: None,
        confidence_features: BTreeMap::new(),
        attempts: 0,
        latency_ms: None,
        stage_ms: BTreeMap::new(),
        tokens: Default::default(),
        cost_usd: 0.0,
        predicted_sql: None,
        gold_sql: case.gold_sql.clone(),
        ordered: false,
        predicted_rows: None,
        predicted_digest: None,
        gold_rows: None,
        gold_digest: None,
        predicted_preview: None,
        gold_preview: None,
    };
    if let Ok(golds) = &golds
        && let Some(first) = golds.first()
    {
        result.ordered = first.ordered;
        result.gold_rows = Some(first.table.len());
        result.gold_digest = Some(first.table.digest());
    }
    let prediction = match prediction {
        Ok(p) => p,
        Err(e) => {
            result.harness_error = Some(e);
            return result;
        }
    };
    result.outcome = Some(prediction.outcome.kind().to_string());
    result.route = prediction.route.clone();
    result.confidence = prediction.confidence;
    result.confidence_features = prediction.confidence_features.clone();
    result.attempts = prediction.attempts;
    result.latency_ms = Some(latency_ms);
    result.stage_ms = prediction.stage_ms.clone();
    result.tokens = prediction.tokens;
    result.cost_usd = prediction.cost_usd;
    result.predicted_sql = prediction.sql.clone();
    if let Outcome::Rows(table) = &prediction.outcome {
        result.predicted_rows = Some(table.len());
        result.predicted_digest = Some(table.digest());
    }
    let golds = match golds {
        Ok(golds) => golds,
        Err(e) => {
            result.harness_error = Some(e);
            return result;
        }
    };
    let verdict = match &prediction.outcome {
        Outcome::Clarification { .. } if case.expect_clarification => Verdict::pass(),
        outcome => score_outcome(outcome, &golds, tolerance),
    };
    let Verdict { ex, ex_strict, category, detail } = verdict;
    result.ex = ex;
    result.ex_strict = ex_strict;
    result.category = category;
    result.detail = detail;
    if !ex_strict {
        if let Outcome::Rows(table) = &prediction.outcome {
            result.predicted_preview = Some(table.preview_json(PREVIEW_ROWS));
        }
        result.gold_preview = golds.first().map(|g| g.table.preview_json(PREVIEW_ROWS));
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::parse_cases;

    #[test]
    fn conversations_form_one_unit_in_turn_order() {
        let (cases, errors) = parse_cases(
            r#"{"id": "a", "question": "q", "gold_sql": "SELECT 1"}
{"id": "c2", "question": "q", "gold_sql": "SELECT 1", "conversation": "c", "turn": 2}
{"id": "b", "question": "q", "gold_sql": "SELECT 1"}
{"id": "c1", "question": "q", "gold_sql": "SELECT 1", "conversation": "c", "turn": 1}
{"id": "d1", "question": "q", "gold_sql": "SELECT 1", "conversation": "d", "turn": 1}"#,
        );
        assert!(errors.is_empty());
        assert_eq!(plan_units(&cases), vec![vec![0], vec![3, 1], vec![2], vec![4]]);
    }
}
