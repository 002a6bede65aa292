//! Resolving what a question's words refer to when they could mean several things: the
//! measure of a question that names none, the filter a phrase names, the metric a filter
//! implies, the opposite of a segment.

use crate::interpret::{Interpreter, Reading};
use crate::query::{AggregateFunc, Filter, Measure, SemanticQuery, column_aggregate};
use crate::text::normalize;
use crate::time::TimeFindings;
use crate::vocab::{Concept, Mention};

/// What a question without a metric counts.
pub(crate) enum Subject {
    /// A measure, and the mention it came from.
    Measure(Measure, Option<usize>),
    /// Ask the user.
    Clarify(Box<Reading>),
    /// Nothing to count.
    None,
}

impl Interpreter {
    /// The measure of a question that names no metric: a count of what it filters on or
    /// names ("how many exports", "how many accounts"), or distinct values of an id column
    /// ("how many sessions").
    pub(crate) fn count_subject(
        &self,
        mentions: &[Mention],
        count_cue: bool,
        share_or_breakdown: bool,
        in_conversation: bool,
        time: &TimeFindings,
    ) -> Subject {
        let table_mention = mentions.iter().enumerate().find_map(|(i, m)| {
            m.concepts.iter().find_map(|c| match c {
                Concept::Table(t) => Some((i, t.clone())),
                _ => None,
            })
        });
        if let Some((i, table)) = table_mention {
            let mut candidates = self.count_metrics(&table);
            if candidates.len() > 1 {
                // The other words may settle it: "users who used the API" are counted where
                // the feature is.
                let others: Vec<&Mention> =
                    mentions.iter().enumerate().filter(|(j, _)| *j != i).map(|(_, m)| m).collect();
                let cost = |name: &String| -> usize {
                    let base = self.layer().metric(name).map(|m| m.table.clone()).unwrap_or_default();
                    others.iter().map(|m| self.mention_cost(&base, m)).sum()
                };
                let best = candidates.iter().map(cost).min().unwrap_or(0);
                candidates.retain(|name| cost(name) == best);
            }
            return match candidates.len() {
                0 => Subject::Measure(Measure::Aggregate { func: AggregateFunc::Count, table, column: None }, Some(i)),
                1 => Subject::Measure(Measure::Metric { name: candidates[0].clone() }, Some(i)),
                _ if in_conversation && !count_cue => Subject::None,
                _ => {
                    let options: Vec<String> = candidates
                        .iter()
                        .filter_map(|name| self.layer().metric(name))
                        .map(|m| {
                            let window = time.range.as_ref().map(|r| format!(" {}", r.phrase)).unwrap_or_default();
                            format!("{}{window}", m.display_name().to_lowercase())
                        })
                        .collect();
                    Subject::Clarify(Box::new(Reading::Clarify {
                        question: format!(
                            "'{}' could mean several metrics: {}. Which one do you mean?",
                            mentions[i].text,
                            candidates
                                .iter()
                                .filter_map(|name| self.layer().metric(name))
                                .map(|m| format!("{} ({})", m.display_name(), m.description.trim_end_matches('.')))
                                .collect::<Vec<_>>()
                                .join("; ")
                        ),
                        options,
                    }))
                }
            };
        }
        if !count_cue {
            // "the mix of event types as percentages": a breakdown of rows by a dimension.
            let dimension_table = mentions.iter().find_map(|m| {
                m.concepts.iter().find_map(|c| match c {
                    Concept::Dimension(d) => {
                        self.layer().dimension(d).and_then(|d| d.columns().first().map(|(t, _)| t.to_string()))
                    }
                    _ => None,
                })
            });
            if let (Some(table), true, false) = (dimension_table, share_or_breakdown, in_conversation)
                && let Some(name) = self
                    .count_metrics(&table)
                    .into_iter()
                    .find(|n| self.layer().metric(n).is_some_and(|m| m.table == table))
            {
                return Subject::Measure(Measure::Metric { name }, None);
            }
            // "logins per day", "page views this month": a stored value that is the whole
            // subject of a new question counts its rows; in a conversation it filters instead.
            if in_conversation {
                return Subject::None;
            }
        }
        // "how many sessions": distinct values of an identifier column.
        for (i, mention) in mentions.iter().enumerate().filter(|_| count_cue) {
            if let Some((table, column)) = mention.concepts.iter().find_map(|c| match c {
                Concept::Column { table, column } if column.ends_with("_id") => Some((table.clone(), column.clone())),
                _ => None,
            }) {
                return Subject::Measure(
                    Measure::Aggregate { func: AggregateFunc::CountDistinct, table, column: Some(column) },
                    Some(i),
                );
            }
        }
        // "how many exports": rows of the table the filter applies to.
        let filter_table = mentions.iter().find_map(|m| {
            m.concepts.iter().find_map(|c| match c {
                Concept::Value { dimension, .. } => {
                    self.layer().dimension(dimension).and_then(|d| d.columns().first().map(|(t, _)| t.to_string()))
                }
                Concept::Segment(name) => self.layer().segment(name).map(|s| s.table.clone()),
                _ => None,
            })
        });
        match filter_table {
            Some(table) => match self
                .count_metrics(&table)
                .into_iter()
                .find(|name| self.layer().metric(name).is_some_and(|m| m.table == table))
            {
                Some(name) => Subject::Measure(Measure::Metric { name }, None),
                None => Subject::Measure(Measure::Aggregate { func: AggregateFunc::Count, table, column: None }, None),
            },
            None => Subject::None,
        }
    }

    /// How far a mention's filter or dimension is from `base` (0 when on the table itself).
    fn mention_cost(&self, base: &str, mention: &Mention) -> usize {
        mention
            .concepts
            .iter()
            .filter_map(|c| match c {
                Concept::Value { dimension, .. } | Concept::Dimension(dimension) => {
                    self.dimension_distance(base, dimension)
                }
                Concept::Segment(name) => {
                    self.layer().segment(name).and_then(|s| self.graph().distance(base, &s.table))
                }
                _ => None,
            })
            .min()
            .unwrap_or(0)
    }

    /// The filter a mention names, if it names one reachable from `base`: the closest of its
    /// segments and values; on a tie, a value stored as the phrase itself wins.
    pub(crate) fn closest_filter(&self, base: &str, mention: &Mention, groups: &[String]) -> Option<Filter> {
        let mut options: Vec<(usize, bool, bool, Filter)> = Vec::new();
        for concept in &mention.concepts {
            match concept {
                Concept::Segment(name) => {
                    if let Some(cost) = self.layer().segment(name).and_then(|s| self.graph().distance(base, &s.table)) {
                        options.push((cost, false, false, Filter::Segment { name: name.clone() }));
                    }
                }
                Concept::Value { dimension, value } => {
                    if let Some(cost) = self.dimension_distance(base, dimension) {
                        let inexact = normalize(&value.replace('_', " ")) != mention.text;
                        options.push((
                            cost,
                            inexact,
                            groups.contains(dimension),
                            Filter::Values {
                                dimension: dimension.clone(),
                                values: vec![value.clone()],
                                negated: false,
                            },
                        ));
                    }
                }
                _ => {}
            }
        }
        options.into_iter().min_by(|a, b| (a.0, a.1, a.2).cmp(&(b.0, b.1, b.2))).map(|(_, _, _, f)| f)
    }

    /// "not resolved": the segment whose condition is the opposite, else `NOT (condition)`.
    pub(crate) fn negate_segment(&self, filter: Filter) -> Filter {
        let Filter::Segment { name } = &filter else { return filter };
        let Some(segment) = self.layer().segment(name) else { return filter };
        let condition = segment.condition.trim();
        let opposite = if let Some(column) = condition.strip_suffix(" IS NOT NULL") {
            format!("{column} IS NULL")
        } else if let Some(column) = condition.strip_suffix(" IS NULL") {
            format!("{column} IS NOT NULL")
        } else {
            String::new()
        };
        match self.layer().segments.iter().find(|s| s.table == segment.table && s.condition.trim() == opposite) {
            Some(complement) => Filter::Segment { name: complement.name.clone() },
            None => Filter::Sql { table: segment.table.clone(), condition: format!("NOT ({condition})") },
        }
    }

    /// A count metric filtered to a value that another metric is defined by becomes that
    /// metric ("canceled subscriptions" are cancellations, on their own time column).
    pub(crate) fn specialize_metric(&self, query: &mut SemanticQuery) {
        let [Measure::Metric { name }] = query.measures.as_slice() else { return };
        let Some(metric) = self.layer().metric(name) else { return };
        if metric.filter.is_some() {
            return;
        }
        for (index, filter) in query.filters.iter().enumerate() {
            let Filter::Values { dimension, values, negated: false } = filter else { continue };
            let Some(column) = self
                .layer()
                .dimension(dimension)
                .and_then(|d| d.columns().into_iter().find(|(t, _)| *t == metric.table).map(|(_, c)| c.to_string()))
            else {
                continue;
            };
            if values.len() != 1 {
                continue;
            }
            let wanted = format!("{column} = '{}'", values[0]);
            let replacement = self.layer().metrics.iter().find(|m| {
                m.table == metric.table
                    && m.expression.replace(' ', "") == metric.expression.replace(' ', "")
                    && m.filter.as_deref() == Some(wanted.as_str())
            });
            if let Some(replacement) = replacement {
                query.measures = vec![Measure::Metric { name: replacement.name.clone() }];
                query.filters.remove(index);
                return;
            }
        }
    }

    /// "money sitting in open invoices": a metric defined by one value of a column (revenue
    /// is paid invoices) asked about rows with another value of that column is the metric's
    /// aggregate without its own filter, on those rows.
    pub(crate) fn unfilter_contradicted_metric(&self, query: &mut SemanticQuery) {
        for measure in query.measures.iter_mut() {
            let Measure::Metric { name } = measure else { continue };
            let Some(metric) = self.layer().metric(name) else { continue };
            let Some((column, value)) = metric.filter.as_deref().and_then(|f| {
                let (column, value) = f.split_once('=')?;
                Some((column.trim().to_string(), value.trim().trim_matches('\'').to_string()))
            }) else {
                continue;
            };
            let contradicted = query.filters.iter().any(|f| match f {
                Filter::Values { dimension, values, negated: false } => {
                    !values.contains(&value)
                        && self
                            .layer()
                            .dimension(dimension)
                            .is_some_and(|d| d.columns().iter().any(|(t, c)| *t == metric.table && *c == column))
                }
                _ => false,
            });
            if !contradicted {
                continue;
            }
            let counts_rows = crate::query::counts_rows(&metric.expression);
            let aggregate = column_aggregate(&metric.expression)
                .map(|(func, column)| (func, Some(column)))
                .or_else(|| counts_rows.then_some((AggregateFunc::Count, None)));
            if let Some((func, column)) = aggregate {
                *measure = Measure::Aggregate { func, table: metric.table.clone(), column };
            }
        }
    }

    /// Metrics that count the rows (or distinct keys) of `table` with no filter.
    pub(crate) fn count_metrics(&self, table: &str) -> Vec<String> {
        let key = self.layer().table(table).and_then(|t| (t.primary_key.len() == 1).then(|| t.primary_key[0].clone()));
        self.layer()
            .metrics
            .iter()
            .filter(|m| m.filter.is_none())
            .filter(|m| {
                let expression = m.expression.to_lowercase().replace(' ', "");
                (m.table == table && expression == "count(*)")
                    || key.as_ref().is_some_and(|k| expression == format!("count(distinct{k})"))
            })
            .map(|m| m.name.clone())
            .collect()
    }
}
