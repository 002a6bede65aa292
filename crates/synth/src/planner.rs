use chrono::NaiveDate;
use quarry_semantic::SemanticLayer;
use serde::{Deserialize, Serialize};

use crate::confidence::{ConfidenceModel, Evidence};
use crate::interpret::{Interpreter, Reading};
use crate::query::{AggregateFunc, Measure, RowItem, SemanticQuery};

/// How a plan was reached, built from the query itself (never free prose).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Explanation {
    /// The measures, with their definitions.
    pub measures: Vec<String>,
    /// Grouping: grain and dimensions.
    pub group_by: Vec<String>,
    /// Every condition applied, including metric filters and the time window.
    pub filters: Vec<String>,
    /// The time window, if any.
    pub time_window: Option<String>,
    /// Ordering and top-N.
    pub ranking: Option<String>,
    /// Assumptions made where the question was silent.
    pub assumptions: Vec<String>,
    /// Words that named nothing and were left out of the reading.
    pub ignored: Vec<String>,
    /// The snapshot the answer comes from.
    pub snapshot_id: String,
    /// The question continued the previous one.
    pub follow_up: bool,
    /// What the reading explains of the question; the confidence is computed from it.
    pub evidence: Evidence,
}

/// A question compiled to SQL.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// The SQL (before the policy adds a row limit).
    pub sql: String,
    /// The semantic query it came from; the next turn of a conversation continues it.
    pub query: SemanticQuery,
    /// 0..1: how sure the planner is that it read the question right.
    pub confidence: f64,
    /// How the question was read.
    pub explanation: Explanation,
}

/// What the planner made of a question.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PlanOutcome {
    /// SQL to run.
    Sql(Box<Plan>),
    /// A question back to the user, with options.
    Clarify {
        /// The question.
        question: String,
        /// Questions the user can pick instead.
        options: Vec<String>,
    },
    /// The question could not be mapped.
    CannotAnswer {
        /// A sentence for the user.
        message: String,
        /// What was understood.
        understood: Vec<String>,
        /// What was not.
        not_understood: Vec<String>,
    },
}

/// The built-in planner: a deterministic compiler from questions to SQL.
#[derive(Debug, Clone)]
pub struct SemanticPlanner {
    interpreter: Interpreter,
    confidence: ConfidenceModel,
    snapshot_id: String,
}

impl SemanticPlanner {
    /// A planner over `layer`, resolving relative time against `as_of` (the snapshot's date).
    pub fn new(layer: SemanticLayer, as_of: NaiveDate, snapshot_id: impl Into<String>) -> Self {
        Self {
            interpreter: Interpreter::new(layer, as_of),
            confidence: ConfidenceModel::default(),
            snapshot_id: snapshot_id.into(),
        }
    }

    /// This planner with another confidence model (e.g. one fitted on your own questions).
    pub fn with_confidence_model(mut self, model: ConfidenceModel) -> Self {
        self.confidence = model;
        self
    }

    /// The confidence the planner's model gives a reading with `evidence`.
    pub fn confidence_of(&self, evidence: &Evidence) -> f64 {
        self.confidence.confidence(evidence)
    }

    /// The interpreter, for callers that want the semantic query alone.
    pub fn interpreter(&self) -> &Interpreter {
        &self.interpreter
    }

    /// Plans `question`, continuing `context` (the previous turn's query) when it is a
    /// follow-up.
    pub fn plan(&self, question: &str, context: Option<&SemanticQuery>) -> PlanOutcome {
        let reading = self.without_degenerate_counts(self.interpreter.read(question, context));
        let reading = match reading {
            reading @ Reading::Unmapped { .. } => self.interpreter.read_rows(question).unwrap_or(reading),
            // A question back stands against a count or aggregate ("how many users": which
            // users?); only rows asked for by name (a list, an ordering) settle it.
            reading @ Reading::Clarify { .. } => match self.interpreter.read_rows(question) {
                Some(rows) if asks_for_rows(&rows) => rows,
                _ => reading,
            },
            Reading::Query { ref ignored, .. }
                if !ignored.is_empty()
                    && let Some(rows) = self.interpreter.read_rows(question) =>
            {
                rows
            }
            // "which venue has the largest capacity" asks for the venue, not the largest
            // capacity: an arg-max of the row reading stands against an ungrouped maximum.
            Reading::Query { ref query, .. }
                if query.group_by.is_empty()
                    && query.grain.is_none()
                    && query.measures.iter().all(|m| {
                        matches!(m, Measure::Aggregate { func: AggregateFunc::Max | AggregateFunc::Min, .. })
                    })
                    && let Some(rows) = self.interpreter.read_rows(question)
                    && picks_rows(&rows) =>
            {
                rows
            }
            // Words the measure reading left unknown lower its confidence; a row reading that
            // explains every word is taken when it is surer.
            reading @ Reading::Query { .. } if reading_has_unknown_words(&reading) => {
                match self.interpreter.read_rows(question) {
                    Some(rows) if self.reading_confidence(&rows) > self.reading_confidence(&reading) => rows,
                    _ => reading,
                }
            }
            reading => reading,
        };
        match reading {
            Reading::Clarify { question, options } => PlanOutcome::Clarify { question, options },
            Reading::Unmapped { understood, not_understood } => PlanOutcome::CannotAnswer {
                message: format!(
                    "I could not turn this question into a query. Understood: {}. Not understood: {}. Try naming a metric (e.g. {}).",
                    if understood.is_empty() { "nothing".to_string() } else { understood.join(", ") },
                    not_understood.join(", "),
                    self.example_metrics()
                ),
                understood,
                not_understood,
            },
            Reading::Query { query, ignored, .. } if !ignored.is_empty() => {
                let understood: Vec<String> =
                    query.measures.iter().map(|m| self.interpreter.describe_measure(m)).collect();
                PlanOutcome::CannotAnswer {
                    message: format!(
                        "I understood {} but not: {}. Rather than give a number that leaves that out, I did not answer: rephrase with words from the semantic layer, or add them to it as synonyms.",
                        understood.join(", "),
                        ignored.join(", ")
                    ),
                    understood,
                    not_understood: ignored,
                }
            }
            Reading::Query { query, assumptions, follow_up, evidence, .. } => match self.interpreter.compile(&query) {
                Ok(compiled) => {
                    let confidence = self.confidence.confidence(&evidence);
                    let explanation = self.explain(&query, &compiled.conditions, assumptions, *evidence, follow_up);
                    PlanOutcome::Sql(Box::new(Plan { sql: compiled.sql, query, confidence, explanation }))
                }
                Err(error) => PlanOutcome::CannotAnswer {
                    message: format!(
                        "I understood the question but cannot answer it from this semantic layer: {error}."
                    ),
                    understood: query.measures.iter().map(|m| self.interpreter.describe_measure(m)).collect(),
                    not_understood: vec![error.to_string()],
                },
            },
        }
    }

    /// "the different citizenships and the number of singers of each" read as the distinct
    /// citizenships within each citizenship: a count that is 1 in every group answers
    /// nothing, so the reading is marked as leaving the question out.
    fn without_degenerate_counts(&self, reading: Reading) -> Reading {
        let Reading::Query { query, assumptions, mut ignored, follow_up, evidence } = reading else {
            return reading;
        };
        let layer = self.interpreter.layer();
        let degenerate = query.measures.iter().find_map(|m| match m {
            Measure::Aggregate { func: AggregateFunc::CountDistinct, table, column: Some(column) } => query
                .group_by
                .iter()
                .filter_map(|name| layer.dimension(name))
                .any(|d| d.columns().contains(&(table.as_str(), column.as_str())))
                .then(|| column.clone()),
            _ => None,
        });
        if let Some(column) = degenerate {
            ignored.push(format!("the number of distinct {column} within each {column} (always 1)"));
        }
        Reading::Query { query, assumptions, ignored, follow_up, evidence }
    }

    fn reading_confidence(&self, reading: &Reading) -> f64 {
        match reading {
            Reading::Query { evidence, .. } => self.confidence.confidence(evidence),
            _ => 0.0,
        }
    }

    fn example_metrics(&self) -> String {
        self.interpreter
            .layer()
            .metrics
            .iter()
            .take(4)
            .map(|m| m.display_name().to_lowercase())
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn explain(
        &self,
        query: &SemanticQuery,
        conditions: &[String],
        assumptions: Vec<String>,
        evidence: Evidence,
        follow_up: bool,
    ) -> Explanation {
        let layer = self.interpreter.layer();
        let rows = query.rows.as_ref().map(|rows| rows.items.iter().map(describe_item).collect::<Vec<_>>());
        let measures = query
            .measures
            .iter()
            .map(|m| match m {
                crate::query::Measure::Metric { name } => match layer.metric(name) {
                    Some(metric) => format!(
                        "{}: {} FROM {}{}",
                        metric.display_name(),
                        metric.expression,
                        metric.table,
                        metric.filter.as_ref().map(|f| format!(" WHERE {f}")).unwrap_or_default()
                    ),
                    None => name.clone(),
                },
                other => self.interpreter.describe_measure(other),
            })
            .chain(rows.into_iter().flatten())
            .collect();
        let mut group_by: Vec<String> = query.grain.iter().map(|g| format!("{} (time grain)", g.unit())).collect();
        group_by.extend(
            query
                .group_by
                .iter()
                .map(|d| layer.dimension(d).map(|d| d.display_name().to_string()).unwrap_or_else(|| d.clone())),
        );
        let time_window = query.time_range.as_ref().map(|r| {
            format!(
                "{} = [{}, {})",
                r.phrase,
                r.start.map(|d| d.to_string()).unwrap_or_else(|| "beginning".into()),
                r.end.map(|d| d.to_string()).unwrap_or_else(|| "end".into())
            )
        });
        group_by.extend(query.rows.iter().flat_map(|r| r.group_by.iter().map(|c| format!("{}.{}", c.table, c.column))));
        let row_order = query.rows.as_ref().and_then(|r| {
            let order = r.order.as_ref()?;
            let direction = if order.descending { "largest first" } else { "smallest first" };
            Some(match r.limit {
                Some(n) => format!("{} {direction}, top {n}", describe_item(&order.item)),
                None => format!("{} {direction}", describe_item(&order.item)),
            })
        });
        let ranking = query.ranking.as_ref().map(|r| {
            let order = if r.descending { "largest first" } else { "smallest first" };
            match r.limit {
                Some(n) => format!("{order}, top {n}"),
                None => order.to_string(),
            }
        });
        let ranking = ranking.or(row_order);
        let mut filters: Vec<String> = conditions.to_vec();
        if query.share {
            filters.push("shown as a percentage of the total".into());
        }
        Explanation {
            measures,
            group_by,
            filters,
            time_window,
            ranking,
            assumptions,
            ignored: evidence.unknown_words.iter().chain(&evidence.filler_words).cloned().collect(),
            snapshot_id: self.snapshot_id.clone(),
            follow_up,
            evidence,
        }
    }
}

/// An output of a row question, as the explanation shows it.
fn describe_item(item: &RowItem) -> String {
    match item {
        RowItem::Column(c) => format!("{}.{}", c.table, c.column),
        RowItem::Aggregate { func: AggregateFunc::Count, column: None } => "count of rows".to_string(),
        RowItem::Aggregate { func, column } => format!(
            "{} of {}",
            func.sql().1,
            column.as_ref().map(|c| format!("{}.{}", c.table, c.column)).unwrap_or_else(|| "rows".into())
        ),
    }
}

/// Whether a row reading names rows (columns listed, an ordering, a count condition) rather
/// than only aggregating.
fn asks_for_rows(reading: &Reading) -> bool {
    let Reading::Query { query, .. } = reading else { return false };
    query.rows.as_ref().is_some_and(|rows| {
        rows.order.is_some() || rows.having.is_some() || rows.items.iter().any(|i| matches!(i, RowItem::Column(_)))
    })
}

/// Whether a row reading picks rows by an ordering (the row with the largest value).
fn picks_rows(reading: &Reading) -> bool {
    let Reading::Query { query, .. } = reading else { return false };
    query.rows.as_ref().is_some_and(|rows| rows.order.is_some() && rows.limit.is_some())
}

/// Whether a reading left words of the question unknown.
fn reading_has_unknown_words(reading: &Reading) -> bool {
    matches!(reading, Reading::Query { evidence, .. } if !evidence.unknown_words.is_empty())
}
