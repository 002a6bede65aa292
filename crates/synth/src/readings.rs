//! Readings offered back to the user: a [`SemanticQuery`] phrased as a plain question in the
//! layer's own words, so that asking it reads back to the same query.
//!
//! When the planner is unsure of a question it offers its best reading and the plausible
//! alternatives (the same question without a grouping it inferred, another metric counting
//! the same rows). Every option is re-read before it is offered: one that would not read
//! back to its query is dropped, so choosing an option answers exactly that reading.

use crate::interpret::{Interpreter, Reading};
use crate::query::{AggregateFunc, CompareOp, Filter, Measure, SemanticQuery};

/// At most this many readings are offered.
pub const MAX_READINGS: usize = 4;

impl Interpreter {
    /// `query` as a question in the layer's words, if every part of it can be said.
    pub fn phrase(&self, query: &SemanticQuery) -> Option<String> {
        let layer = self.layer();
        let mut parts: Vec<String> = Vec::new();
        if let Some(ranking) = &query.ranking {
            let word = if ranking.descending { "top" } else { "bottom" };
            parts.push(match ranking.limit {
                Some(n) => format!("{word} {n}"),
                None => format!("ranked {}", if ranking.descending { "highest first" } else { "lowest first" }),
            });
        }
        let mut measures = Vec::new();
        for measure in &query.measures {
            measures.push(match measure {
                Measure::Metric { name } => layer.metric(name)?.display_name().to_lowercase(),
                Measure::Aggregate { func, table, column } => {
                    let table_word = table.replace('_', " ");
                    match (func, column) {
                        (AggregateFunc::Count, None) => format!("number of {table_word}"),
                        (AggregateFunc::CountDistinct, Some(column)) => {
                            format!("number of distinct {}", column.replace('_', " "))
                        }
                        (func, Some(column)) => {
                            let word = match func {
                                AggregateFunc::Avg => "average",
                                AggregateFunc::Sum => "total",
                                AggregateFunc::Min => "minimum",
                                AggregateFunc::Max => "maximum",
                                AggregateFunc::Median => "median",
                                _ => return None,
                            };
                            format!("{word} {} of {table_word}", column.replace('_', " "))
                        }
                        _ => return None,
                    }
                }
                Measure::Elapsed { .. } => return None,
            });
        }
        parts.push(measures.join(" and "));
        if query.share {
            parts.push("as a share of the total".into());
        }
        for filter in &query.filters {
            parts.push(match filter {
                Filter::Values { values, negated, .. } => {
                    let list = values.iter().map(|v| v.replace('_', " ")).collect::<Vec<_>>().join(" or ");
                    if *negated { format!("excluding {list}") } else { format!("for {list}") }
                }
                Filter::Segment { name } => {
                    let segment = layer.segment(name)?;
                    format!("for {}", segment.synonyms.first()?)
                }
                Filter::Compare { column, op, value, .. } => {
                    let op = match op {
                        CompareOp::Gt => "more than",
                        CompareOp::Ge => "at least",
                        CompareOp::Lt => "less than",
                        CompareOp::Le => "at most",
                        CompareOp::Eq => "exactly",
                    };
                    format!("with {} {op} {value}", column.replace('_', " "))
                }
                Filter::Null { column, is_null, .. } => {
                    format!("{} {}", if *is_null { "without" } else { "with" }, column.replace('_', " "))
                }
                Filter::Sql { .. } => return None,
            });
        }
        if !query.group_by.is_empty() || query.grain.is_some() {
            let mut groups: Vec<String> = query.grain.iter().map(|g| g.unit().to_string()).collect();
            for name in &query.group_by {
                groups.push(layer.dimension(name)?.display_name().to_lowercase());
            }
            parts.push(format!("by {}", groups.join(" and ")));
        }
        if !query.having.is_empty() {
            return None;
        }
        match &query.time_range {
            Some(range) => parts.push(range.phrase.clone()),
            None if query.measures.iter().any(|m| self.measure_time_column(m).is_some()) => {
                parts.push("of all time".into())
            }
            None => {}
        }
        Some(parts.join(" "))
    }

    /// The readings to offer for `query`, best first: each phrased, and each re-read to
    /// check that asking it answers that reading. `context` is the conversation so far.
    pub fn readings(&self, query: &SemanticQuery, context: Option<&SemanticQuery>) -> Vec<String> {
        let mut candidates = vec![query.clone()];
        if !query.group_by.is_empty() && query.ranking.is_none() {
            candidates.push(SemanticQuery { group_by: Vec::new(), ..query.clone() });
        }
        if let [Measure::Metric { name }] = query.measures.as_slice()
            && let Some(table) = self.layer().metric(name).map(|m| m.table.clone())
        {
            for other in self.layer().metrics.iter().filter(|m| m.table == table && m.name != *name) {
                candidates.push(SemanticQuery {
                    measures: vec![Measure::Metric { name: other.name.clone() }],
                    ..query.clone()
                });
            }
        }
        let mut offered: Vec<String> = Vec::new();
        for candidate in candidates {
            if offered.len() == MAX_READINGS {
                break;
            }
            let Some(question) = self.phrase(&candidate) else { continue };
            let reads_back = matches!(
                self.read(&question, context),
                Reading::Query { query, ignored, .. } if ignored.is_empty() && same_reading(&query, &candidate)
            );
            if reads_back && !offered.contains(&question) {
                offered.push(question);
            }
        }
        offered
    }
}

/// Two queries ask the same thing (filter order aside).
fn same_reading(a: &SemanticQuery, b: &SemanticQuery) -> bool {
    let same_filters = a.filters.len() == b.filters.len() && a.filters.iter().all(|f| b.filters.contains(f));
    let same_range = a.time_range.as_ref().map(|r| (r.start, r.end)) == b.time_range.as_ref().map(|r| (r.start, r.end));
    same_filters
        && same_range
        && a.measures == b.measures
        && a.group_by == b.group_by
        && a.grain == b.grain
        && a.having == b.having
        && a.ranking == b.ranking
        && a.share == b.share
        && a.ratio == b.ratio
        && a.periods.iter().map(|r| (r.start, r.end)).eq(b.periods.iter().map(|r| (r.start, r.end)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use quarry_semantic::SemanticLayer;

    fn interpreter() -> Interpreter {
        Interpreter::new(SemanticLayer::demo(), chrono::NaiveDate::from_ymd_opt(2025, 12, 31).unwrap())
    }

    fn query(question: &str) -> SemanticQuery {
        match interpreter().read(question, None) {
            Reading::Query { query, .. } => query,
            other => panic!("{question}: {other:?}"),
        }
    }

    #[test]
    fn readings_read_back_to_their_queries() {
        let interpreter = interpreter();
        for question in [
            "signups by channel last month",
            "revenue from enterprise accounts in EMEA this year",
            "top 5 industries by revenue in 2024",
            "weekly active users last quarter",
            "subscriptions with more than 20 seats",
            "average csat by priority",
        ] {
            let query = query(question);
            let readings = interpreter.readings(&query, None);
            assert!(!readings.is_empty(), "{question}: nothing offered");
            let Reading::Query { query: back, .. } = interpreter.read(&readings[0], None) else {
                panic!("{question}: {} did not read", readings[0])
            };
            assert!(same_reading(&back, &query), "{question}: '{}' reads as {back:?}", readings[0]);
        }
    }

    #[test]
    fn a_grouping_the_question_did_not_ask_for_is_offered_without_it() {
        let interpreter = interpreter();
        let query = query("revenue industry last month");
        let readings = interpreter.readings(&query, None);
        assert!(readings.len() >= 2, "{readings:?}");
        assert!(readings.iter().any(|r| !r.contains(" by ")), "{readings:?}");
    }
}
