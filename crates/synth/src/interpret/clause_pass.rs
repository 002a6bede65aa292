//! The passes that find which rows and which groups: values and segments as filters,
//! dimensions as groupings (asked for, implied, or summed over), columns tested for being
//! missing, words after "by" that name a dimension by one of its words, values compared side
//! by side, and what each comparison compares (a column, a span of time, or the measure per
//! group).

use crate::cues::*;
use crate::interpret::measure_pass::Draft;
use crate::interpret::question::Question;
use crate::interpret::{Interpreter, add_value_filter};
use crate::query::{Filter, Measure, MeasureFilter};
use crate::text::{is_stopword, phrase_key, stem};
use crate::vocab::{Concept, Mention};

/// The filters, groups and thresholds a question asks for.
#[derive(Debug, Default)]
pub(crate) struct Clauses {
    /// Dimensions to group by, in the order asked.
    pub(crate) groups: Vec<String>,
    /// Conditions on rows.
    pub(crate) filters: Vec<Filter>,
    /// Conditions on the measure per group.
    pub(crate) having: Vec<MeasureFilter>,
    /// Dimensions asked to be summed over ("across all platforms").
    pub(crate) ungrouped: Vec<String>,
    /// A grouping was read from a dimension named without a cue.
    pub(crate) implicit_grouping: bool,
    /// Phrases the layer knows that the reading did not use.
    pub(crate) unused_phrases: usize,
}

impl Interpreter {
    /// Reads the clauses of `q` around `measures` on `base`; adds what it could not apply to
    /// `d.ignored`.
    pub(crate) fn read_clauses(&self, q: &mut Question, d: &mut Draft, base: &str, measures: &[Measure]) -> Clauses {
        let mut clauses = Clauses { filters: std::mem::take(&mut d.implied_filters), ..Clauses::default() };
        self.read_mention_clauses(q, d, base, &mut clauses);
        self.group_by_dimension_words(q, base, &mut clauses);
        // Two or more values of one dimension compared ("monthly and annual billing") are a
        // breakdown by that dimension.
        if has_any(&q.normalized, BREAKDOWN_WORDS) {
            for filter in &clauses.filters {
                if let Filter::Values { dimension, values, negated: false } = filter
                    && values.len() > 1
                    && !clauses.groups.contains(dimension)
                {
                    clauses.groups.push(dimension.clone());
                }
            }
        }
        self.read_comparisons(q, d, base, measures, &mut clauses);
        clauses
    }

    /// Filters and groups from the mentions no measure used.
    fn read_mention_clauses(&self, q: &Question, d: &mut Draft, base: &str, clauses: &mut Clauses) {
        let overall = q.has_word(&["overall", "altogether", "combined"]) || q.text_has("in total");
        // A table word or metric of the measure's own table only says which rows are counted,
        // and one of a table the rows belong to ("customers" of subscriptions) who they are.
        let owner = |t: &str| t == base || self.graph.distance(base, t).is_some_and(|d| d < 100);
        let names_base_rows = |m: &Mention| {
            m.concepts.iter().any(|c| match c {
                Concept::Table(t) => owner(t),
                Concept::Metric(name) => self.layer.metric(name).is_some_and(|m| owner(&m.table)),
                _ => false,
            })
        };
        let mentioned_value_dims: Vec<&str> = q
            .mentions
            .iter()
            .flat_map(|m| m.concepts.iter())
            .filter_map(|c| match c {
                Concept::Value { dimension, .. } => Some(dimension.as_str()),
                _ => None,
            })
            .collect();
        for (i, mention) in q.mentions.iter().enumerate() {
            if d.used[i] || q.verb_after_subject(mention) {
                continue;
            }
            let negated = q.preceded_by(mention, NEGATION_WORDS, 2)
                || (mention.start >= 2
                    && q.word_at(mention.start - 2) == "other"
                    && q.word_at(mention.start - 1) == "than");
            if let Some(filter) = self.closest_filter(base, mention, &clauses.groups) {
                let filter = if negated { self.negate_segment(filter) } else { filter };
                match filter {
                    Filter::Values { dimension, values, .. } => {
                        add_value_filter(&mut clauses.filters, dimension, values[0].clone(), negated);
                    }
                    other => clauses.filters.push(other),
                }
                continue;
            }
            let closest_dimension = mention
                .concepts
                .iter()
                .filter_map(|c| match c {
                    Concept::Dimension(dimension) => {
                        self.dimension_distance(base, dimension).map(|cost| (cost, dimension.clone()))
                    }
                    _ => None,
                })
                .min()
                .map(|(_, dimension)| dimension);
            if let Some(dimension) = closest_dimension {
                let is_table_word = mention.concepts.iter().any(|c| matches!(c, Concept::Table(_)));
                let previous = i.checked_sub(1).map(|p| &q.mentions[p]).filter(|p| p.end == mention.start);
                // "invoice size": an attribute of the measure's own rows, not the dimension of
                // another table that has the word.
                let of_other_rows = previous.is_some_and(|p| p.concepts.contains(&Concept::Table(base.to_string())))
                    && self.layer.dimension(&dimension).is_some_and(|d| d.columns().iter().all(|(t, _)| *t != base));
                if of_other_rows && !q.group_cue(mention) {
                    clauses.unused_phrases += 1;
                    continue;
                }
                if is_table_word && self.qualifies_next(q, i) {
                    continue;
                }
                // "for healthcare accounts", "from French customers": a value right before a
                // table word says which rows to keep, not that each one is a group.
                // "annual plans": likewise a value right before a dimension's own word.
                let filtered_by_value =
                    previous.is_some_and(|p| p.concepts.iter().any(|c| matches!(c, Concept::Value { .. })));
                if filtered_by_value && (is_table_word || !q.group_cue(mention)) {
                    continue;
                }
                // "by region and plan": a list after a grouping cue keeps grouping.
                let continues_list = mention.start >= 1
                    && matches!(q.word_at(mention.start - 1), "and" | "&")
                    && i > 0
                    && q.mentions[i - 1].end + 1 == mention.start
                    && q.mentions[i - 1]
                        .concepts
                        .iter()
                        .any(|c| matches!(c, Concept::Dimension(d) if clauses.groups.contains(d)));
                // "the overall rate across experiments" asks for one number.
                let overall_across = overall && q.preceded_by(mention, &["across", "over"], 2);
                if overall_across {
                    continue;
                }
                let explicit = q.group_cue(mention)
                    || continues_list
                    || (q.normalized.starts_with("which") && mention.start <= 1)
                    || d.entity_threshold.as_ref().is_some_and(|(entity, _, _)| *entity == i);
                let implicit_allowed =
                    !is_table_word && !overall && !mentioned_value_dims.contains(&dimension.as_str());
                // "across all platforms", "all platforms together": that dimension is summed over.
                let summed_over = mention.start >= 2
                    && matches!(q.word_at(mention.start - 1), "all" | "every")
                    && matches!(q.word_at(mention.start - 2), "across" | "over" | "for" | "on" | "from");
                if summed_over || matches!(q.word_at(mention.end), "together" | "combined") {
                    clauses.ungrouped.push(dimension);
                    continue;
                }
                if (explicit || implicit_allowed) && !clauses.groups.contains(&dimension) {
                    clauses.implicit_grouping |= !explicit;
                    clauses.groups.push(dimension);
                } else if !explicit && !implicit_allowed && !names_base_rows(mention) {
                    clauses.unused_phrases += 1;
                }
                continue;
            }
            if let Some((table, column)) = mention.concepts.iter().find_map(|c| match c {
                Concept::Column { table, column } => Some((table.clone(), column.clone())),
                _ => None,
            }) {
                // A column right after or right before a comparison ("csat of 2 or lower") is
                // what it compares; a range ("between 5 and 20 seats") is two comparisons.
                if q.comparisons.iter().any(|c| q.beside_comparison(mention, c))
                    && !self.is_categorical(&table, &column)
                {
                    for (k, comparison) in q.comparisons.iter().enumerate() {
                        if q.beside_comparison(mention, comparison) {
                            d.comparison_targets[k] = Some((table.clone(), column.clone()));
                        }
                    }
                    continue;
                }
                let missing_after = matches!(q.word_at(mention.end), "is" | "are")
                    && matches!(q.word_at(mention.end + 1), "missing" | "null" | "empty" | "blank" | "unknown");
                if missing_after || q.absence_cue(mention) {
                    clauses.filters.push(Filter::Null { table, column, is_null: true });
                    continue;
                }
            }
            if mention.concepts.iter().any(|c| matches!(c, Concept::Table(_) | Concept::Metric(_))) {
                // "students who have friends": another table named and not acted on.
                if !names_base_rows(mention) {
                    clauses.unused_phrases += 1;
                }
                continue;
            }
            d.ignored.push(mention.text.clone());
        }
    }

    /// "customer industry": table word `i` names whose attribute the next mention is. "account
    /// logged in" is not one: the login is not the account's attribute.
    fn qualifies_next(&self, q: &Question, i: usize) -> bool {
        let mention = &q.mentions[i];
        let own_tables: Vec<&str> = mention
            .concepts
            .iter()
            .filter_map(|c| match c {
                Concept::Table(t) => Some(t.as_str()),
                _ => None,
            })
            .collect();
        let attribute_of_own =
            |d: &str| self.layer.dimension(d).is_some_and(|d| d.columns().iter().any(|(t, _)| own_tables.contains(t)));
        q.mentions.get(i + 1).is_some_and(|next| {
            next.start == mention.end
                && next.concepts.iter().any(|c| match c {
                    Concept::Dimension(d) | Concept::Value { dimension: d, .. } => attribute_of_own(d),
                    _ => false,
                })
        })
    }

    /// "events by type": a word after "by" that names no dimension but is a word of exactly
    /// one dimension's names on the measure's table ("event type").
    fn group_by_dimension_words(&self, q: &mut Question, base: &str, clauses: &mut Clauses) {
        for i in 0..q.words.len().saturating_sub(1) {
            let next = &q.words[i + 1];
            if !matches!(q.words[i].as_str(), "by" | "per") || q.covered.contains(&(i + 1)) || is_stopword(next) {
                continue;
            }
            let wanted = stem(next);
            let named: Vec<&str> = self
                .layer
                .dimensions
                .iter()
                .filter(|d| d.columns().iter().any(|(t, _)| *t == base))
                .filter(|d| {
                    std::iter::once(d.name.as_str())
                        .chain(std::iter::once(d.label.as_str()))
                        .chain(d.synonyms.iter().map(String::as_str))
                        .any(|phrase| phrase_key(phrase).contains(&wanted))
                })
                .map(|d| d.name.as_str())
                .collect();
            if let [dimension] = named.as_slice() {
                q.covered.insert(i + 1);
                if !clauses.groups.iter().any(|g| g == dimension) {
                    clauses.groups.push(dimension.to_string());
                }
            }
        }
    }

    /// What each comparison compares: the column beside it, the money column of the rows
    /// ("invoices over $5,000"), the span a unit of time bounds ("took more than 48 hours to
    /// resolve"), a duration column in another unit ("waited over an hour for a first
    /// response"), or else the measure per group (a threshold).
    fn read_comparisons(&self, q: &Question, d: &mut Draft, base: &str, measures: &[Measure], clauses: &mut Clauses) {
        // An amount of money compares the money column of the rows counted, unless the measure
        // itself is that money per group (a threshold on it).
        let money_column = self.money_column(base);
        let money_measure_grouped = !clauses.groups.is_empty() && measures.iter().any(|m| self.is_sum(m));
        for (k, comparison) in q.comparisons.iter().enumerate() {
            if comparison.money
                && d.comparison_targets[k].is_none()
                && !money_measure_grouped
                && let Some(column) = &money_column
            {
                d.comparison_targets[k] = Some((base.to_string(), column.clone()));
            }
        }
        for (k, comparison) in q.comparisons.iter().enumerate() {
            let elapsed = d.comparison_targets[k].is_none() && q.elapsed_compared.contains(&k);
            let span_condition = || {
                self.elapsed_condition(base, comparison, &q.words[comparison.token + 1..]).or_else(|| {
                    self.duration_column_condition(comparison, q.word_at(comparison.token + 1), &q.mentions)
                })
            };
            if elapsed && let Some(filter) = span_condition() {
                clauses.filters.push(filter);
                continue;
            }
            match &d.comparison_targets[k] {
                Some((table, column)) => clauses.filters.push(Filter::Compare {
                    table: table.clone(),
                    column: column.clone(),
                    op: comparison.op,
                    value: comparison.value.clone(),
                }),
                None => clauses.having.push(MeasureFilter { op: comparison.op, value: comparison.value.clone() }),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;
    use quarry_semantic::SemanticLayer;

    use super::*;
    use crate::query::CompareOp;

    /// The clauses of `text` around the measures the measure passes read.
    fn clauses(text: &str) -> Clauses {
        let reader = Interpreter::new(SemanticLayer::demo(), NaiveDate::from_ymd_opt(2025, 12, 31).expect("date"));
        let mut q = reader.take_apart(text, false);
        let mut d = Draft::new(&q);
        reader.read_named_measures(&q, &mut d);
        reader.drop_row_words(&q, &mut d);
        assert!(reader.infer_measure(&q, &mut d, false).is_none());
        let measures = d.measures.clone();
        let base = reader.base_table(&measures).expect("one table");
        reader.read_clauses(&mut q, &mut d, &base, &measures)
    }

    fn values(dimension: &str, list: &[&str], negated: bool) -> Filter {
        Filter::Values { dimension: dimension.into(), values: list.iter().map(|v| v.to_string()).collect(), negated }
    }

    #[test]
    fn a_value_filters_and_a_dimension_after_a_cue_groups() {
        let c = clauses("signups from paid search by country");
        assert_eq!(c.groups, ["country"]);
        assert!(
            c.filters.iter().any(|f| matches!(f, Filter::Values { dimension, .. } if dimension == "signup_channel"))
        );
        assert!(!c.implicit_grouping);
    }

    #[test]
    fn a_negated_value_is_excluded() {
        let c = clauses("revenue excluding enterprise");
        assert!(c.filters.contains(&values("plan", &["enterprise"], true)), "{:?}", c.filters);
    }

    #[test]
    fn a_value_before_a_table_word_filters_rather_than_groups() {
        let c = clauses("revenue from healthcare accounts");
        assert!(c.groups.is_empty(), "{:?}", c.groups);
    }

    #[test]
    fn a_dimension_summed_over_is_not_a_group() {
        let c = clauses("signups across all platforms");
        assert_eq!((c.groups.len(), c.ungrouped.as_slice()), (0, ["platform".to_string()].as_slice()));
    }

    #[test]
    fn values_compared_side_by_side_are_a_breakdown() {
        let c = clauses("revenue monthly vs annual billing");
        assert!(c.groups.contains(&"billing_period".to_string()) || !c.groups.is_empty(), "{:?}", c);
    }

    #[test]
    fn a_word_of_a_dimension_after_by_groups() {
        let c = clauses("events by type last week");
        assert_eq!(c.groups, ["event_name"]);
    }

    #[test]
    fn comparisons_go_to_a_column_a_span_or_a_threshold() {
        let c = clauses("invoices over $5,000");
        assert!(
            c.filters
                .iter()
                .any(|f| matches!(f, Filter::Compare { column, op: CompareOp::Gt, .. } if column == "amount_usd"))
        );
        let c = clauses("how many tickets took more than 48 hours to resolve");
        assert!(
            c.filters.iter().any(|f| matches!(f, Filter::Sql { condition, .. } if condition.contains("3600.0 > 48"))),
            "{:?}",
            c.filters
        );
        let c = clauses("how many tickets waited over an hour for a first response");
        assert!(c.filters.iter().any(|f| matches!(f, Filter::Compare { column, value, .. } if column == "first_response_minutes" && value == "60")), "{:?}", c.filters);
        let c = clauses("plans with more than 100 active subscriptions");
        assert_eq!(c.having.len(), 1);
    }

    #[test]
    fn the_verb_after_the_subject_is_no_filter() {
        let c = clauses("how many tickets did french customers open last week");
        assert_eq!(c.filters, [values("country", &["FR"], false)]);
    }
}
