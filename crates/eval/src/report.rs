//! What a run found: per-case results, the summary, and its renderings (terminal tables,
//! JSON, Markdown, JUnit XML), plus comparison with an earlier run and the CI gate.
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::time::Duration;

use chrono::{DateTime, Utc};
use comfy_table::{Cell as TableCell, CellAlignment, Table, presets::UTF8_FULL_CONDENSED};
use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};
use serde::{Deserialize, Serialize};

use crate::case::LineError;
use crate::runner::Mode;
use crate::score::{FailureCategory, Tolerance};
use crate::target::TokenUsage;
use crate::{Error, Result};

/// Version of the JSON report format; bumped on incompatible changes.
pub const REPORT_FORMAT_VERSION: u32 = 1;

/// One evaluated case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseResult {
    /// Case id.
    pub id: String,
    /// The question asked.
    pub question: String,
    /// The case's tags.
    pub tags: Vec<String>,
    /// The case's difficulty.
    pub difficulty: Option<String>,
    /// The snapshot named by the case.
    pub snapshot: Option<String>,
    /// Conversation id, for follow-ups.
    pub conversation: Option<String>,
    /// Turn within the conversation.
    pub turn: Option<u32>,
    /// Execution match, extra predicted columns allowed.
    pub ex: bool,
    /// Execution match with exactly the gold's columns.
    pub ex_strict: bool,
    /// Why `ex_strict` failed, when the case was scored and missed.
    pub category: Option<FailureCategory>,
    /// The miss, in a sentence.
    pub detail: Option<String>,
    /// Why the case could not be scored (gold failed to run, no session...); such cases are
    /// left out of accuracy.
    pub harness_error: Option<String>,
    /// The prediction's outcome kind (see [`crate::Outcome::kind`]); `None` if not asked.
    pub outcome: Option<String>,
    /// The route that answered.
    pub route: String,
    /// The pipeline's confidence.
    pub confidence: Option<f64>,
    /// What the confidence was computed from (see [`crate::Prediction::confidence_features`]).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub confidence_features: BTreeMap<String, f64>,
    /// Generation attempts.
    pub attempts: u32,
    /// Wall-clock milliseconds of the ask; `None` if not asked.
    pub latency_ms: Option<f64>,
    /// Milliseconds per pipeline stage, as reported by the target.
    pub stage_ms: BTreeMap<String, f64>,
    /// Tokens consumed.
    pub tokens: TokenUsage,
    /// Cost in US dollars.
    pub cost_usd: f64,
    /// The SQL the pipeline ran.
    pub predicted_sql: Option<String>,
    /// The case's gold SQL.
    pub gold_sql: Option<String>,
    /// Whether the gold's row order mattered.
    pub ordered: bool,
    /// Rows predicted.
    pub predicted_rows: Option<usize>,
    /// [`crate::ResultTable::digest`] of the predicted result.
    pub predicted_digest: Option<String>,
    /// Rows in the (first) gold result.
    pub gold_rows: Option<usize>,
    /// Digest of the (first) gold result.
    pub gold_digest: Option<String>,
    /// The first predicted rows, for misses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predicted_preview: Option<serde_json::Value>,
    /// The first gold rows, for misses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gold_preview: Option<serde_json::Value>,
}

impl CaseResult {
    /// Whether the case was scored (no harness error).
    pub fn scored(&self) -> bool {
        self.harness_error.is_none()
    }

    /// `pass`, `harness_error`, or the failure category.
    pub fn status(&self) -> &'static str {
        if self.harness_error.is_some() {
            "harness_error"
        } else if self.ex_strict {
            "pass"
        } else {
            self.category.map_or("fail", FailureCategory::as_str)
        }
    }
}

/// Everything a run produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalReport {
    /// [`REPORT_FORMAT_VERSION`] at the time of writing.
    pub format_version: u32,
    /// What was evaluated (e.g. the model).
    pub label: Option<String>,
    /// Where predictions came from.
    pub mode: Mode,
    /// Relative tolerance used.
    pub tolerance: Tolerance,
    /// Concurrency used.
    pub jobs: usize,
    /// When the run started.
    pub started_at: DateTime<Utc>,
    /// Wall-clock duration of the run.
    pub elapsed_ms: f64,
    /// Lines of the input that could not be used (set by the caller from [`crate::load_cases`]).
    #[serde(default)]
    pub input_errors: Vec<LineError>,
    /// Every case, in input order.
    pub cases: Vec<CaseResult>,
}

/// Passed out of total.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Rate {
    /// Cases that passed.
    pub passed: usize,
    /// Cases counted.
    pub total: usize,
}

impl Rate {
    /// `passed / total`, 0 when nothing was counted.
    pub fn value(self) -> f64 {
        if self.total == 0 { 0.0 } else { self.passed as f64 / self.total as f64 }
    }

    fn add(&mut self, passed: bool) {
        self.total += 1;
        self.passed += usize::from(passed);
    }
}

/// Accuracy of a group of scored cases.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Breakdown {
    /// `ex` accuracy.
    pub ex: Rate,
    /// `ex_strict` accuracy.
    pub ex_strict: Rate,
}

/// Distribution of a duration, in milliseconds (nearest-rank percentiles).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Percentiles {
    /// Values counted.
    pub count: usize,
    /// Median.
    pub p50: f64,
    /// 95th percentile.
    pub p95: f64,
    /// Maximum.
    pub max: f64,
}

impl Percentiles {
    /// Percentiles of `values` (any order).
    pub fn of(mut values: Vec<f64>) -> Self {
        if values.is_empty() {
            return Self::default();
        }
        values.sort_by(f64::total_cmp);
        let rank = |p: f64| values[((p * values.len() as f64).ceil() as usize).clamp(1, values.len()) - 1];
        Self { count: values.len(), p50: rank(0.50), p95: rank(0.95), max: values[values.len() - 1] }
    }
}

/// Confidence thresholds of the risk-coverage table.
pub const RISK_THRESHOLDS: &[f64] = &[0.0, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95];

/// Whether quarry can be trusted: an answer is rows (not a question back, a refusal or an
/// error), and a wrong answer is the failure that matters most.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Trust {
    /// Scored cases answered with rows.
    pub answered: usize,
    /// Share of scored cases answered.
    pub coverage: f64,
    /// `ex` among the answered cases.
    pub precision: Rate,
    /// Answered cases whose rows are wrong.
    pub wrong_answers: usize,
    /// Questions asked back where the case expected it (counted right, not answered).
    pub expected_clarifications: usize,
    /// Coverage and precision of the answers at or above each confidence (an answer without a
    /// confidence counts as sure).
    pub risk_coverage: Vec<RiskPoint>,
    /// Accuracy per confidence bin, over answers that carry a confidence.
    pub calibration: Vec<CalibrationBin>,
    /// Expected calibration error: the bins' |accuracy - confidence| weighted by their
    /// share of answers; `None` without confidences.
    pub ece: Option<f64>,
}

/// One row of the risk-coverage table.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RiskPoint {
    /// Answers with a confidence at or above this count.
    pub threshold: f64,
    /// Share of scored cases answered at this threshold.
    pub coverage: f64,
    /// `ex` among them.
    pub precision: Rate,
}

/// Answers whose confidence falls in `[low, high)` (the last bin includes 1).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CalibrationBin {
    /// Lower bound.
    pub low: f64,
    /// Upper bound.
    pub high: f64,
    /// Answers in the bin.
    pub answers: usize,
    /// Their mean confidence.
    pub confidence: f64,
    /// Their `ex` accuracy.
    pub accuracy: f64,
}

impl Trust {
    /// Computed from the scored cases.
    fn of<'a>(cases: impl Iterator<Item = &'a CaseResult>) -> Self {
        let scored: Vec<&CaseResult> = cases.filter(|c| c.scored()).collect();
        let answers: Vec<(f64, bool, Option<f64>)> = scored
            .iter()
            .filter(|c| c.outcome.as_deref() == Some("rows"))
            .map(|c| (c.confidence.unwrap_or(1.0), c.ex, c.confidence))
            .collect();
        let share = |n: usize| if scored.is_empty() { 0.0 } else { n as f64 / scored.len() as f64 };
        let mut precision = Rate::default();
        for (_, ex, _) in &answers {
            precision.add(*ex);
        }
        let risk_coverage = RISK_THRESHOLDS
            .iter()
            .map(|&threshold| {
                let mut rate = Rate::default();
                for (_, ex, _) in answers.iter().filter(|(c, _, _)| *c >= threshold) {
                    rate.add(*ex);
                }
                RiskPoint { threshold, coverage: share(rate.total), precision: rate }
            })
            .collect();
        const BINS: usize = 10;
        let confident: Vec<(f64, bool)> =
            answers.iter().filter_map(|(_, ex, c)| c.map(|c| (c.clamp(0.0, 1.0), *ex))).collect();
        let mut calibration = Vec::new();
        let mut error = 0.0;
        for bin in 0..BINS {
            let (low, high) = (bin as f64 / BINS as f64, (bin + 1) as f64 / BINS as f64);
            let inside: Vec<&(f64, bool)> =
                confident.iter().filter(|(c, _)| *c >= low && (*c < high || (bin == BINS - 1 && *c <= high))).collect();
            if inside.is_empty() {
                continue;
            }
            let n = inside.len() as f64;
            let confidence = inside.iter().map(|(c, _)| c).sum::<f64>() / n;
            let accuracy = inside.iter().filter(|(_, ex)| *ex).count() as f64 / n;
            error += (accuracy - confidence).abs() * n / confident.len() as f64;
            calibration.push(CalibrationBin { low, high, answers: inside.len(), confidence, accuracy });
        }
        Trust {
            answered: answers.len(),
            coverage: share(answers.len()),
            precision,
            wrong_answers: answers.iter().filter(|(_, ex, _)| !ex).count(),
            expected_clarifications: scored
                .iter()
                .filter(|c| c.outcome.as_deref() == Some("clarification") && c.ex)
                .count(),
            risk_coverage,
            ece: (!confident.is_empty()).then_some(error),
            calibration,
        }
    }
}

/// The numbers of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalSummary {
    /// How often answers were given, and how often they were right.
    pub trust: Trust,
    /// Cases run.
    pub cases: usize,
    /// Cases scored (without harness errors); the denominator of accuracy.
    pub scored: usize,
    /// Cases that could not be scored.
    pub harness_errors: usize,
    /// Input lines that could not be used.
    pub input_errors: usize,
    /// Overall `ex` accuracy.
    pub ex: Rate,
    /// Overall `ex_strict` accuracy.
    pub ex_strict: Rate,
    /// Accuracy per tag.
    pub by_tag: BTreeMap<String, Breakdown>,
    /// Accuracy per difficulty.
    pub by_difficulty: BTreeMap<String, Breakdown>,
    /// Misses per failure category (scored cases only).
    pub categories: BTreeMap<FailureCategory, usize>,
    /// Wall-clock latency of asked cases.
    pub latency_ms: Percentiles,
    /// Latency per pipeline stage.
    pub stage_ms: BTreeMap<String, Percentiles>,
    /// Tokens over all cases.
    pub tokens: TokenUsage,
    /// Cost over all cases, US dollars.
    pub cost_usd: f64,
}

impl EvalSummary {
    /// Why the run fails the CI gate at `min_ex` (empty when it passes): `ex` accuracy below
    /// `min_ex`, or any harness error (a gold that stopped running must not hide behind a
    /// smaller denominator).
    pub fn gate_failures(&self, min_ex: f64) -> Vec<String> {
        let mut reasons = Vec::new();
        if self.ex.value() < min_ex {
            reasons.push(format!(
                "ex accuracy {:.4} ({}/{}) is below the minimum {min_ex}",
                self.ex.value(),
                self.ex.passed,
                self.ex.total
            ));
        }
        if self.harness_errors > 0 {
            reasons.push(format!(
                "{} case(s) could not be scored (harness errors); fix their gold or the setup",
                self.harness_errors
            ));
        }
        reasons
    }

    /// Why the run fails the precision gate: fewer than `min_precision` of the answers given
    /// are right (empty when it passes).
    pub fn precision_gate_failures(&self, min_precision: f64) -> Vec<String> {
        let precision = self.trust.precision;
        if precision.value() < min_precision {
            vec![format!(
                "precision among answered {:.4} ({}/{}) is below the minimum {min_precision}; {} wrong answer(s)",
                precision.value(),
                precision.passed,
                precision.total,
                self.trust.wrong_answers
            )]
        } else {
            Vec::new()
        }
    }

    /// Whether the run passes the CI gate at `min_ex` (see [`EvalSummary::gate_failures`]).
    pub fn passes_gate(&self, min_ex: f64) -> bool {
        self.gate_failures(min_ex).is_empty()
    }
}

/// A case whose verdict changed between two runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseChange {
    /// Case id.
    pub id: String,
    /// The question.
    pub question: String,
    /// Status before ([`CaseResult::status`]).
    pub before: String,
    /// Status now.
    pub after: String,
    /// SQL predicted now.
    pub predicted_sql: Option<String>,
}

/// What changed since an earlier run, case by case (matched by id).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// `ex` before, on the cases present in both runs.
    pub ex_before: Rate,
    /// `ex` now, on the same cases.
    pub ex_after: Rate,
    /// Passed `ex` before, fail it now (a harness error now counts as failing).
    pub regressions: Vec<CaseChange>,
    /// Failed `ex` before, pass it now.
    pub fixes: Vec<CaseChange>,
    /// Still pass `ex`, but `ex_strict` went from pass to fail.
    pub strict_regressions: Vec<CaseChange>,
    /// Still pass `ex`, and `ex_strict` went from fail to pass.
    pub strict_fixes: Vec<CaseChange>,
    /// Case ids only in the new run.
    pub added: Vec<String>,
    /// Case ids only in the old run.
    pub removed: Vec<String>,
    /// What the earlier run cost (e.g. the built-in planner's run).
    #[serde(default)]
    pub cost_before: RunCost,
    /// What this run cost (e.g. a model's run).
    #[serde(default)]
    pub cost_after: RunCost,
}

/// What a run cost: its label, tokens, dollars and latency, over all its cases.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RunCost {
    /// The run's label (`builtin`, `openai:gpt-4o-mini`, …).
    pub label: Option<String>,
    /// Tokens of every model call.
    pub tokens: TokenUsage,
    /// US dollars at the configured prices.
    pub cost_usd: f64,
    /// Wall-clock latency of the asked cases.
    pub latency_ms: Percentiles,
}

impl RunCost {
    fn of(report: &EvalReport) -> Self {
        let summary = report.summary();
        Self {
            label: report.label.clone(),
            tokens: summary.tokens,
            cost_usd: summary.cost_usd,
            latency_ms: summary.latency_ms,
        }
    }
}

impl Comparison {
    /// Whether anything regressed.
    pub fn has_regressions(&self) -> bool {
        !self.regressions.is_empty() || !self.strict_regressions.is_empty()
    }

    /// A Markdown account of the changes.
    pub fn to_markdown(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "ex on common cases: {} -> {} ({} regression(s), {} fix(es))\n",
            percent(self.ex_before),
            percent(self.ex_after),
            self.regressions.len(),
            self.fixes.len()
        );
        let (before, after) = (&self.cost_before, &self.cost_after);
        let _ = writeln!(
            out,
            "| run | label | ex | prompt tokens | completion tokens | cost usd | latency p50 ms | latency p95 ms |\n|---|---|---:|---:|---:|---:|---:|---:|"
        );
        for (name, cost, ex) in [("before", before, self.ex_before), ("after", after, self.ex_after)] {
            let _ = writeln!(
                out,
                "| {name} | {} | {} | {} | {} | {:.4} | {} | {} |",
                md(cost.label.as_deref().unwrap_or("-")),
                percent(ex),
                cost.tokens.prompt,
                cost.tokens.completion,
                cost.cost_usd,
                ms(cost.latency_ms.p50),
                ms(cost.latency_ms.p95)
            );
        }
        out.push('\n');
        for (title, changes) in [
            ("Regressions", &self.regressions),
            ("Fixes", &self.fixes),
            ("ex_strict regressions", &self.strict_regressions),
            ("ex_strict fixes", &self.strict_fixes),
        ] {
            if changes.is_empty() {
                continue;
            }
            let _ = writeln!(out, "### {title}\n\n| id | question | before | after |\n|---|---|---|---|");
            for c in changes {
                let _ = writeln!(out, "| {} | {} | {} | {} |", md(&c.id), md(&c.question), c.before, c.after);
            }
            out.push('\n');
        }
        if !self.added.is_empty() {
            let _ = writeln!(out, "New cases: {}\n", self.added.join(", "));
        }
        if !self.removed.is_empty() {
            let _ = writeln!(out, "Cases no longer present: {}\n", self.removed.join(", "));
        }
        out
    }
}

impl EvalReport {
    /// Computes the summary.
    pub fn summary(&self) -> EvalSummary {
        let mut summary = EvalSummary {
            trust: Trust::of(self.cases.iter()),
            cases: self.cases.len(),
            scored: 0,
            harness_errors: 0,
            input_errors: self.input_errors.len(),
            ex: Rate::default(),
            ex_strict: Rate::default(),
            by_tag: BTreeMap::new(),
            by_difficulty: BTreeMap::new(),
            categories: BTreeMap::new(),
            latency_ms: Percentiles::default(),
            stage_ms: BTreeMap::new(),
            tokens: TokenUsage::default(),
            cost_usd: 0.0,
        };
        let mut stages: BTreeMap<String, Vec<f64>> = BTreeMap::new();
        let mut latencies = Vec::new();
        for case in &self.cases {
            summary.tokens += case.tokens;
            summary.cost_usd += case.cost_usd;
            if let Some(ms) = case.latency_ms {
                latencies.push(ms);
            }
            for (stage, ms) in &case.stage_ms {
                stages.entry(stage.clone()).or_default().push(*ms);
            }
            if !case.scored() {
                summary.harness_errors += 1;
                continue;
            }
            summary.scored += 1;
            summary.ex.add(case.ex);
            summary.ex_strict.add(case.ex_strict);
            for tag in &case.tags {
                let entry = summary.by_tag.entry(tag.clone()).or_default();
                entry.ex.add(case.ex);
                entry.ex_strict.add(case.ex_strict);
            }
            if let Some(difficulty) = &case.difficulty {
                let entry = summary.by_difficulty.entry(difficulty.clone()).or_default();
                entry.ex.add(case.ex);
                entry.ex_strict.add(case.ex_strict);
            }
            if let Some(category) = case.category {
                *summary.categories.entry(category).or_default() += 1;
            }
        }
        summary.latency_ms = Percentiles::of(latencies);
        summary.stage_ms = stages.into_iter().map(|(stage, values)| (stage, Percentiles::of(values))).collect();
        summary
    }

    /// The terminal summary: tables of accuracy (overall, by difficulty, by tag), failure
    /// categories, latency, tokens and cost.
    pub fn summary_table(&self) -> String {
        let s = self.summary();
        let mut out = String::new();
        let mut overall = table(&["measure", "passed", "scored", "accuracy"]);
        overall.add_row(row(&["ex".into(), s.ex.passed.to_string(), s.ex.total.to_string(), percent(s.ex)]));
        overall.add_row(row(&[
            "ex_strict".into(),
            s.ex_strict.passed.to_string(),
            s.ex_strict.total.to_string(),
            percent(s.ex_strict),
        ]));
        let _ = writeln!(
            out,
            "{} ({} mode): {} case(s), {} scored, {} harness error(s), {} input error(s)\n{overall}",
            self.label.as_deref().unwrap_or("quarry"),
            mode_name(self.mode),
            s.cases,
            s.scored,
            s.harness_errors,
            s.input_errors
        );
        let mut trust = table(&["answered", "coverage", "precision among answered", "wrong answers", "ECE"]);
        trust.add_row(row(&[
            s.trust.answered.to_string(),
            fraction(s.trust.coverage),
            percent(s.trust.precision),
            s.trust.wrong_answers.to_string(),
            ece_text(s.trust.ece),
        ]));
        let _ = writeln!(
            out,
            "
{trust}"
        );
        let mut risk = table(&["confidence >=", "coverage", "precision", "answers"]);
        for point in &s.trust.risk_coverage {
            risk.add_row(row(&[
                format!("{:.2}", point.threshold),
                fraction(point.coverage),
                percent(point.precision),
                point.precision.total.to_string(),
            ]));
        }
        let _ = writeln!(
            out,
            "
risk-coverage
{risk}"
        );
        for (title, groups) in [("difficulty", &s.by_difficulty), ("tag", &s.by_tag)] {
            if groups.is_empty() {
                continue;
            }
            let mut t = table(&[title, "cases", "ex", "ex_strict"]);
            for (name, b) in groups {
                t.add_row(row(&[name.clone(), b.ex.total.to_string(), percent(b.ex), percent(b.ex_strict)]));
            }
            let _ = writeln!(out, "\nby {title}\n{t}");
        }
        if !s.categories.is_empty() {
            let mut t = table(&["failure category", "cases"]);
            for (category, n) in &s.categories {
                t.add_row(row(&[category.to_string(), n.to_string()]));
            }
            let _ = writeln!(out, "\n{t}");
        }
        let mut t = table(&["latency ms", "count", "p50", "p95", "max"]);
        for (name, p) in std::iter::once(("end to end".to_string(), s.latency_ms)).chain(s.stage_ms.clone()) {
            t.add_row(row(&[name, p.count.to_string(), ms(p.p50), ms(p.p95), ms(p.max)]));
        }
        let _ = writeln!(out, "\n{t}");
        let mut t = table(&["prompt tokens", "completion tokens", "cost usd", "cost per case"]);
        t.add_row(row(&[
            s.tokens.prompt.to_string(),
            s.tokens.completion.to_string(),
            format!("{:.4}", s.cost_usd),
            format!("{:.6}", if s.cases == 0 { 0.0 } else { s.cost_usd / s.cases as f64 }),
        ]));
        let _ = writeln!(out, "\n{t}");
        for reason in s.gate_failures(0.0) {
            let _ = writeln!(out, "note: {reason}");
        }
        out
    }

    /// The report as pretty JSON: the run's settings, its summary and every case.
    pub fn to_json(&self) -> String {
        #[derive(Serialize)]
        struct Written<'a> {
            #[serde(flatten)]
            report: &'a EvalReport,
            summary: EvalSummary,
        }
        serde_json::to_string_pretty(&Written { report: self, summary: self.summary() })
            .expect("a report always serializes")
    }

    /// Reads a report written by [`EvalReport::to_json`]; `path` names it in errors.
    pub fn from_json(text: &str, path: &str) -> Result<Self> {
        let value: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| Error::InvalidReport { path: path.to_string(), reason: format!("not JSON: {e}") })?;
        match value.get("format_version").and_then(serde_json::Value::as_u64) {
            Some(v) if v == u64::from(REPORT_FORMAT_VERSION) => {}
            Some(v) => {
                return Err(Error::InvalidReport {
                    path: path.to_string(),
                    reason: format!(
                        "format_version {v}, this build reads {REPORT_FORMAT_VERSION}; rerun the old evaluation"
                    ),
                });
            }
            None => {
                return Err(Error::InvalidReport {
                    path: path.to_string(),
                    reason: "no format_version; give a file written by `quarry eval --report`".into(),
                });
            }
        }
        serde_json::from_value(value)
            .map_err(|e| Error::InvalidReport { path: path.to_string(), reason: e.to_string() })
    }

    /// A Markdown report for people: summary tables, then every miss with its SQL, harness
    /// errors and input errors.
    pub fn to_markdown(&self) -> String {
        let s = self.summary();
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# Eval report: {} ({} mode)\n",
            self.label.as_deref().unwrap_or("quarry"),
            mode_name(self.mode)
        );
        let _ = writeln!(
            out,
            "{} case(s), {} scored, {} harness error(s), {} input error(s); tolerance {:e}; jobs {}; started {}; took {:.1} s.\n",
            s.cases,
            s.scored,
            s.harness_errors,
            s.input_errors,
            self.tolerance.get(),
            self.jobs,
            self.started_at.format("%Y-%m-%d %H:%M:%S UTC"),
            self.elapsed_ms / 1000.0
        );
        let _ = writeln!(out, "## Accuracy\n\n| measure | passed | scored | accuracy |\n|---|---:|---:|---:|");
        for (name, rate) in [("ex", s.ex), ("ex_strict", s.ex_strict)] {
            let _ = writeln!(out, "| {name} | {} | {} | {} |", rate.passed, rate.total, percent(rate));
        }
        let t = &s.trust;
        let _ = writeln!(
            out,
            "\n## Trust\n\n| answered | coverage | precision among answered | wrong answers | asked back as expected | ECE |\n|---:|---:|---:|---:|---:|---:|\n| {} | {} | {} | {} | {} | {} |",
            t.answered,
            fraction(t.coverage),
            percent(t.precision),
            t.wrong_answers,
            t.expected_clarifications,
            ece_text(t.ece)
        );
        let _ = writeln!(
            out,
            "\n### Risk-coverage\n\n| confidence >= | coverage | precision | answers |\n|---:|---:|---:|---:|"
        );
        for point in &t.risk_coverage {
            let _ = writeln!(
                out,
                "| {:.2} | {} | {} | {} |",
                point.threshold,
                fraction(point.coverage),
                percent(point.precision),
                point.precision.total
            );
        }
        if !t.calibration.is_empty() {
            let _ = writeln!(
                out,
                "\n### Calibration\n\n| confidence | answers | mean confidence | accuracy |\n|---|---:|---:|---:|"
            );
            for bin in &t.calibration {
                let _ = writeln!(
                    out,
                    "| {:.1}-{:.1} | {} | {:.3} | {:.3} |",
                    bin.low, bin.high, bin.answers, bin.confidence, bin.accuracy
                );
            }
        }
        for (title, groups) in [("difficulty", &s.by_difficulty), ("tag", &s.by_tag)] {
            if groups.is_empty() {
                continue;
            }
            let _ = writeln!(out, "\n## By {title}\n\n| {title} | cases | ex | ex_strict |\n|---|---:|---:|---:|");
            for (name, b) in groups {
                let _ =
                    writeln!(out, "| {} | {} | {} | {} |", md(name), b.ex.total, percent(b.ex), percent(b.ex_strict));
            }
        }
        if !s.categories.is_empty() {
            let _ = writeln!(out, "\n## Failure categories\n\n| category | cases |\n|---|---:|");
            for (category, n) in &s.categories {
                let _ = writeln!(out, "| {category} | {n} |");
            }
        }
        let _ = writeln!(out, "\n## Latency (ms)\n\n| stage | count | p50 | p95 | max |\n|---|---:|---:|---:|---:|");
        for (name, p) in std::iter::once(("end to end".to_string(), s.latency_ms)).chain(s.stage_ms.clone()) {
            let _ = writeln!(out, "| {} | {} | {} | {} | {} |", md(&name), p.count, ms(p.p50), ms(p.p95), ms(p.max));
        }
        let _ = writeln!(
            out,
            "\n## Tokens and cost\n\n{} prompt and {} completion tokens; ${:.4} in total.",
            s.tokens.prompt, s.tokens.completion, s.cost_usd
        );
        // A run that called a model: what each question cost, to find the expensive ones.
        if s.tokens.total() > 0 {
            let _ = writeln!(
                out,
                "\n### Per question\n\n| id | latency ms | prompt tokens | completion tokens | cost usd |\n|---|---:|---:|---:|---:|"
            );
            for c in &self.cases {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} | {:.6} |",
                    md(&c.id),
                    c.latency_ms.map(ms).unwrap_or_else(|| "-".into()),
                    c.tokens.prompt,
                    c.tokens.completion,
                    c.cost_usd
                );
            }
        }
        let misses: Vec<&CaseResult> = self.cases.iter().filter(|c| c.scored() && !c.ex_strict).collect();
        if !misses.is_empty() {
            let _ = writeln!(out, "\n## Misses\n\n| id | question | category | ex | detail |\n|---|---|---|---|---|");
            for c in &misses {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} | {} |",
                    md(&c.id),
                    md(&c.question),
                    c.status(),
                    if c.ex { "pass" } else { "fail" },
                    md(c.detail.as_deref().unwrap_or(""))
                );
            }
            for c in &misses {
                let _ = writeln!(out, "\n### {}\n\n{}\n", c.id, c.question);
                let _ = writeln!(out, "- category: {} ({})", c.status(), c.detail.as_deref().unwrap_or(""));
                let _ = writeln!(
                    out,
                    "- route: {}, attempts: {}",
                    if c.route.is_empty() { "-" } else { &c.route },
                    c.attempts
                );
                let _ =
                    writeln!(out, "\npredicted:\n\n```sql\n{}\n```", c.predicted_sql.as_deref().unwrap_or("-- no SQL"));
                let _ = writeln!(
                    out,
                    "\ngold:\n\n```sql\n{}\n```",
                    c.gold_sql.as_deref().unwrap_or("-- gold given as rows")
                );
                for (name, preview, count) in
                    [("predicted", &c.predicted_preview, c.predicted_rows), ("gold", &c.gold_preview, c.gold_rows)]
                {
                    if let (Some(preview), Some(count)) = (preview, count) {
                        let _ = writeln!(out, "\n{name} rows ({count} in all, first shown): `{preview}`");
                    }
                }
            }
        }
        let harness: Vec<&CaseResult> = self.cases.iter().filter(|c| !c.scored()).collect();
        if !harness.is_empty() {
            let _ = writeln!(out, "\n## Harness errors (not scored)\n\n| id | error |\n|---|---|");
            for c in harness {
                let _ = writeln!(out, "| {} | {} |", md(&c.id), md(c.harness_error.as_deref().unwrap_or("")));
            }
        }
        if !self.input_errors.is_empty() {
            let _ = writeln!(out, "\n## Input errors\n\n| line | error |\n|---:|---|");
            for e in &self.input_errors {
                let _ = writeln!(out, "| {} | {} |", e.line, md(&e.message));
            }
        }
        out
    }

    /// JUnit XML: one test case per case. A case fails when it misses `ex` (the gated
    /// measure), with the category as failure type and the SQL in the description; a harness
    /// error is an error; the `ex_strict` verdict is a property.
    pub fn to_junit(&self) -> Result<String> {
        let name = format!("quarry-eval {}", self.label.as_deref().unwrap_or(mode_name(self.mode)));
        let mut report = Report::new(name.clone());
        let mut suite = TestSuite::new(name);
        suite.set_time(Duration::from_secs_f64(self.elapsed_ms.max(0.0) / 1000.0));
        for c in &self.cases {
            let status = if let Some(error) = &c.harness_error {
                let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
                status.set_type("harness_error").set_message(error.clone());
                status
            } else if c.ex {
                TestCaseStatus::success()
            } else {
                let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                let category = c.status();
                status
                    .set_type(category)
                    .set_message(format!("{category}: {}", c.detail.as_deref().unwrap_or("")))
                    .set_description(format!(
                        "question: {}\npredicted SQL:\n{}\ngold SQL:\n{}",
                        c.question,
                        c.predicted_sql.as_deref().unwrap_or("(none)"),
                        c.gold_sql.as_deref().unwrap_or("(gold given as rows)")
                    ));
                status
            };
            let mut case = TestCase::new(c.id.clone(), status);
            case.set_classname(format!("quarry-eval.{}", c.difficulty.as_deref().unwrap_or("case")));
            if let Some(ms) = c.latency_ms {
                case.set_time(Duration::from_secs_f64(ms.max(0.0) / 1000.0));
            }
            case.add_property(Property::new("ex_strict", c.ex_strict.to_string()));
            suite.add_test_case(case);
        }
        report.add_test_suite(suite);
        report.to_string().map_err(|e| Error::Junit(e.to_string()))
    }

    /// Compares this run with an earlier one, case by case.
    pub fn compare(&self, old: &EvalReport) -> Comparison {
        let before: HashMap<&str, &CaseResult> = old.cases.iter().map(|c| (c.id.as_str(), c)).collect();
        let now: HashMap<&str, &CaseResult> = self.cases.iter().map(|c| (c.id.as_str(), c)).collect();
        let mut comparison = Comparison {
            ex_before: Rate::default(),
            ex_after: Rate::default(),
            regressions: Vec::new(),
            fixes: Vec::new(),
            strict_regressions: Vec::new(),
            strict_fixes: Vec::new(),
            added: self.cases.iter().filter(|c| !before.contains_key(c.id.as_str())).map(|c| c.id.clone()).collect(),
            removed: old.cases.iter().filter(|c| !now.contains_key(c.id.as_str())).map(|c| c.id.clone()).collect(),
            cost_before: RunCost::of(old),
            cost_after: RunCost::of(self),
        };
        for new in &self.cases {
            let Some(old) = before.get(new.id.as_str()) else { continue };
            let passed = |c: &CaseResult| c.scored() && c.ex;
            let strict = |c: &CaseResult| c.scored() && c.ex_strict;
            comparison.ex_before.add(passed(old));
            comparison.ex_after.add(passed(new));
            let change = || CaseChange {
                id: new.id.clone(),
                question: new.question.clone(),
                before: old.status().to_string(),
                after: new.status().to_string(),
                predicted_sql: new.predicted_sql.clone(),
            };
            match (passed(old), passed(new)) {
                (true, false) => comparison.regressions.push(change()),
                (false, true) => comparison.fixes.push(change()),
                (true, true) if strict(old) && !strict(new) => comparison.strict_regressions.push(change()),
                (true, true) if !strict(old) && strict(new) => comparison.strict_fixes.push(change()),
                _ => {}
            }
        }
        comparison
    }
}

fn mode_name(mode: Mode) -> &'static str {
    match mode {
        Mode::Model => "model",
        Mode::Gold => "gold",
    }
}

fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header(header.iter().map(TableCell::new).collect::<Vec<_>>());
    t
}

fn row(values: &[String]) -> Vec<TableCell> {
    values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let cell = TableCell::new(v);
            if i == 0 { cell } else { cell.set_alignment(CellAlignment::Right) }
        })
        .collect()
}

fn percent(rate: Rate) -> String {
    format!("{:.1}%", 100.0 * rate.value())
}

fn ece_text(ece: Option<f64>) -> String {
    ece.map_or_else(|| "-".to_string(), |e| format!("{e:.3}"))
}

fn fraction(share: f64) -> String {
    format!("{:.1}%", 100.0 * share)
}

fn ms(value: f64) -> String {
    format!("{value:.1}")
}

/// Text made safe for one Markdown table cell.
fn md(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_nearest_rank() {
        let p = Percentiles::of((1..=100).rev().map(f64::from).collect());
        assert_eq!((p.count, p.p50, p.p95, p.max), (100, 50.0, 95.0, 100.0));
        let one = Percentiles::of(vec![7.0]);
        assert_eq!((one.p50, one.p95, one.max), (7.0, 7.0, 7.0));
        assert_eq!(Percentiles::of(vec![]), Percentiles::default());
    }

    #[test]
    fn rates_of_nothing_are_zero() {
        assert_eq!(Rate::default().value(), 0.0);
        assert_eq!(Rate { passed: 1, total: 4 }.value(), 0.25);
    }

    #[test]
    fn markdown_cells_cannot_break_tables() {
        assert_eq!(md("a|b\nc"), "a\\|b c");
    }
}
