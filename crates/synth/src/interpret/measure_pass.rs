//! The passes that find what a question measures: metrics and aggregates named, a ratio of
//! two, the words that only say which rows are counted, an elapsed time, and, when nothing is
//! named, the measure inferred from the rows the question is about.

use crate::cues::*;
use crate::interpret::question::Question;
use crate::interpret::{Interpreter, Reading};
use crate::measures::DistinctEntity;
use crate::query::{AggregateFunc, Filter, Measure, Ratio, SemanticQuery, counts_rows, summed_column};
use crate::resolve::Subject;
use crate::vocab::{Concept, Mention};

/// A reading under construction: what the passes found so far.
pub(crate) struct Draft {
    /// The measures, in the order asked.
    pub(crate) measures: Vec<Measure>,
    /// Mentions a pass acted on; the others are left for filters and groups.
    pub(crate) used: Vec<bool>,
    /// Conditions a measure implies ("canceled subscriptions" read as the cancellations
    /// metric's own filter).
    pub(crate) implied_filters: Vec<Filter>,
    /// Mentions that named a metric measured, with its name.
    pub(crate) measure_mention: Vec<(usize, String)>,
    /// What each comparison compares, once known.
    pub(crate) comparison_targets: Vec<Option<(String, String)>>,
    /// The first measure set against the second.
    pub(crate) ratio: Option<Ratio>,
    /// The measure was inferred rather than named.
    pub(crate) inferred_measure: bool,
    /// "accounts with more than 5 tickets": the entity's mention, the comparison and the
    /// table of the rows counted per entity.
    pub(crate) entity_threshold: Option<(usize, usize, String)>,
    /// "how many distinct users logged in": distinct entities among other rows.
    pub(crate) distinct_entity: Option<DistinctEntity>,
    /// Assumptions made, for the answer and for confidence.
    pub(crate) assumptions: Vec<String>,
    /// Phrases and cues the reading could not apply.
    pub(crate) ignored: Vec<String>,
    /// The time phrase the question set, dropped because the measure has no time column.
    pub(crate) dropped_time: Option<String>,
}

impl Draft {
    /// An empty draft for `q`.
    pub(crate) fn new(q: &Question) -> Self {
        Draft {
            measures: Vec::new(),
            used: vec![false; q.mentions.len()],
            implied_filters: Vec::new(),
            measure_mention: Vec::new(),
            comparison_targets: vec![None; q.comparisons.len()],
            ratio: None,
            inferred_measure: false,
            entity_threshold: None,
            distinct_entity: None,
            assumptions: q.corrections.iter().map(|(written, read)| format!("read '{written}' as '{read}'")).collect(),
            ignored: Vec::new(),
            dropped_time: None,
        }
    }

    fn push_measure(&mut self, measure: Measure) {
        if !self.measures.contains(&measure) {
            self.measures.push(measure);
        }
    }
}

/// The column a mention names, with its table.
fn named_column(mention: &Mention) -> Option<(String, String)> {
    mention.concepts.iter().find_map(|c| match c {
        Concept::Column { table, column } => Some((table.clone(), column.clone())),
        _ => None,
    })
}

impl Interpreter {
    /// Metrics named, aggregates of a column or of what a metric measures ("longest first
    /// response"), and columns compared beside a number ("a csat of 2 or lower").
    pub(crate) fn read_named_measures(&self, q: &Question, d: &mut Draft) {
        let grouping_words = q.mentions.iter().any(|m| m.concepts.iter().any(|c| matches!(c, Concept::Dimension(_))))
            || q.time.grain.is_some()
            || q.ranking.is_some();
        d.entity_threshold = self.entity_threshold(&q.mentions, &q.comparisons);
        d.distinct_entity = self.distinct_entity(&q.mentions, &q.words);
        for (i, mention) in q.mentions.iter().enumerate() {
            if d.entity_threshold.as_ref().is_some_and(|(entity, _, _)| *entity == i) {
                continue;
            }
            if q.in_elapsed_condition(mention) && mention.concepts.iter().any(|c| matches!(c, Concept::Metric(_))) {
                d.used[i] = true;
                continue;
            }
            if q.in_subject(mention) {
                continue;
            }
            if let Some(distinct) = d.distinct_entity.as_ref().filter(|e| e.entity == i || e.rows == Some(i)) {
                if distinct.rows == Some(i) {
                    d.implied_filters.extend(distinct.rows_filter.clone());
                }
                d.used[i] = true;
                continue;
            }
            let aggregate = q.aggregate_before(mention);
            let column = named_column(mention);
            // "a csat of 2 or lower", "a first response over 30": what a metric averages,
            // compared row by row, not the metric.
            let names_aggregate = mention.text.split(' ').any(|w| AGG_WORDS.iter().any(|(a, _)| *a == w));
            // "used at least one feature": a number beside a column of categories counts
            // something the reading has no measure for.
            if let Some((table, name)) = &column
                && self.is_categorical(table, name)
                && q.comparisons.iter().any(|c| q.beside_comparison(mention, c))
            {
                d.ignored.push(format!("a number compared with {}", mention.text));
            }
            if aggregate.is_none()
                && !names_aggregate
                && q.comparisons.iter().any(|c| q.beside_comparison(mention, c))
                && let Some(compared) = column
                    .clone()
                    .or_else(|| self.measured_column(mention))
                    .filter(|(table, column)| !self.is_categorical(table, column))
            {
                for (k, comparison) in q.comparisons.iter().enumerate() {
                    if q.beside_comparison(mention, comparison) {
                        d.comparison_targets[k] = Some(compared.clone());
                    }
                }
                d.used[i] = true;
                continue;
            }
            let metric = mention.concepts.iter().find_map(|c| match c {
                Concept::Metric(name) => Some(name.clone()),
                _ => None,
            });
            if column.is_some() && q.absence_cue(mention) {
                continue;
            }
            let extreme_among_groups =
                |func: AggregateFunc| matches!(func, AggregateFunc::Max | AggregateFunc::Min) && grouping_words;
            // "longest first response", "biggest paid invoice", "most recent signup": an
            // extreme or average of what a metric or table measures, not the metric itself.
            let aggregated = match (aggregate, &column) {
                (Some((func, time_word)), None) if !extreme_among_groups(func) => {
                    self.aggregated_column(mention, func, time_word)
                }
                _ => None,
            };
            if let Some((measure, filter)) = aggregated {
                d.push_measure(measure);
                d.implied_filters.extend(filter);
                d.used[i] = true;
                continue;
            }
            match (aggregate.map(|(func, _)| func), column, metric) {
                (Some(func), Some((table, column)), _) if !extreme_among_groups(func) => {
                    d.push_measure(Measure::Aggregate { func, table, column: Some(column) });
                    d.used[i] = true;
                }
                (_, _, Some(name)) => {
                    if !d.measures.iter().any(|m| matches!(m, Measure::Metric { name: n } if *n == name)) {
                        d.measures.push(Measure::Metric { name: name.clone() });
                        d.measure_mention.push((i, name));
                    }
                    d.used[i] = true;
                }
                _ => {}
            }
        }
        d.ratio = self.ratio_of(&q.mentions, &q.words, &q.text, &mut d.measures, &mut d.used);
    }

    /// A word that names both a count metric and its table ("subscriptions", "tickets") only
    /// says which rows the other measure is about. A filtered metric named beside an aggregate
    /// ("average MRR per active subscription") becomes that filter.
    pub(crate) fn drop_row_words(&self, q: &Question, d: &mut Draft) {
        if d.measures.len() < 2 || d.ratio.is_some() {
            return;
        }
        for (i, name) in d.measure_mention.clone() {
            let table_word = q.mentions[i].concepts.iter().any(|c| matches!(c, Concept::Table(_)));
            let aggregate_beside = d.measures.iter().any(|m| matches!(m, Measure::Aggregate { .. }));
            let metric = self.layer.metric(&name);
            let is_plain_count = metric.is_some_and(|m| m.filter.is_none() && counts_rows(&m.expression));
            // "number of tickets and avg CSAT", "count and amount": a count asked for in so
            // many words is a measure of its own.
            let names_metric = |m: &Mention| m.concepts.contains(&Concept::Metric(name.clone()));
            let counted = (q
                .mentions
                .iter()
                .filter(|m| names_metric(m))
                .any(|m| q.preceded_by(m, &["number", "many", "count", "#"], 3))
                && q.has_word(&["and", "plus", "with"]))
                || q.text_has("count and")
                || q.text_has("and count");
            if counted
                || !((table_word && is_plain_count) || (aggregate_beside && metric.is_some_and(|m| m.filter.is_some())))
            {
                continue;
            }
            if aggregate_beside && let Some(metric) = metric.filter(|m| m.filter.is_some()) {
                d.implied_filters.push(Filter::Sql {
                    table: metric.table.clone(),
                    condition: metric.filter.clone().unwrap_or_default(),
                });
            }
            if d.measures.len() > 1 {
                d.measures.retain(|m| !matches!(m, Measure::Metric { name: n } if *n == name));
                d.used[i] = false;
            }
        }
    }

    /// "how long does it take to close tickets", "days to pay an invoice": the time between
    /// two events of the rows named replaces the measures; a filtered metric named
    /// ("canceled subscriptions") says which rows.
    pub(crate) fn read_elapsed_measure(&self, q: &Question, d: &mut Draft) {
        let mut row_tables: Vec<String> = Vec::new();
        for concept in q.mentions.iter().flat_map(|m| m.concepts.iter()) {
            let table = match concept {
                Concept::Table(t) => Some(t.clone()),
                Concept::Metric(name) => self.layer.metric(name).map(|m| m.table.clone()),
                Concept::Value { dimension, .. } => {
                    self.layer.dimension(dimension).and_then(|d| d.columns().first().map(|(t, _)| t.to_string()))
                }
                _ => None,
            };
            if let Some(table) = table.filter(|t| !row_tables.contains(t)) {
                row_tables.push(table);
            }
        }
        let Some(elapsed) = self.elapsed_measure(&q.words, &row_tables) else { return };
        let table = self.measure_table(&elapsed).unwrap_or_default();
        for measure in &d.measures {
            if let Measure::Metric { name } = measure
                && let Some(metric) = self.layer.metric(name)
                && metric.table == table
                && let Some(condition) = metric.filter.clone()
            {
                d.implied_filters.push(Filter::Sql { table: table.clone(), condition });
            }
        }
        d.measures = vec![elapsed];
    }

    /// When nothing measured was named: distinct entities among other rows, the rows counted
    /// per entity under a threshold, money asked with a verb of paying, or a count of the rows
    /// the question is about. Returns a question to ask back when those rows could be counted
    /// by several metrics.
    pub(crate) fn infer_measure(&self, q: &Question, d: &mut Draft, in_conversation: bool) -> Option<Reading> {
        if let Some(distinct) = &d.distinct_entity {
            d.measures.insert(0, distinct.measure.clone());
        }
        if let (true, Some((_, _, table))) = (d.measures.is_empty(), &d.entity_threshold) {
            d.measures.push(match self.count_metrics(table).as_slice() {
                [name] => Measure::Metric { name: name.clone() },
                _ => Measure::Aggregate { func: AggregateFunc::Count, table: table.clone(), column: None },
            });
        }
        // "how much did enterprise customers pay us": money asked with a verb of paying.
        // Also "which customers paid us the most", "accounts that paid us over $10,000".
        let paid_us = q.words.windows(2).any(|w| MONEY_VERBS.contains(&w[0].as_str()) && w[1] == "us");
        if d.measures.is_empty()
            && (q.text_has("how much") || paid_us)
            && q.has_word(MONEY_VERBS)
            && let Some(name) = self.money_metric()
        {
            d.measures.push(Measure::Metric { name });
            d.inferred_measure = true;
            // The verb of paying says what is measured, not which rows.
            for (i, m) in q.mentions.iter().enumerate() {
                if MONEY_VERBS.contains(&m.text.as_str()) {
                    d.used[i] = true;
                }
            }
        }
        if !d.measures.is_empty() {
            return None;
        }
        let share_or_breakdown = q.has_word(SHARE_WORDS)
            || has_any(&q.normalized, BREAKDOWN_WORDS)
            || q.text_has("mix of")
            || q.ranking.is_some()
            || q.has_word(DESC_WORDS)
            || q.has_word(ASC_WORDS)
            || q.text_has("most common")
            || q.text_has("most frequent");
        // Neither the subject of "how many invites did people send" nor the entity ranked in
        // "which account logged in the most" is what is counted.
        let countable: Vec<usize> =
            (0..q.mentions.len()).filter(|&i| !q.in_subject(&q.mentions[i]) && !self.ranked_entity(q, i)).collect();
        let candidates: Vec<Mention> = countable.iter().map(|&i| q.mentions[i].clone()).collect();
        match self.count_subject(&candidates, q.count_cue(), share_or_breakdown, in_conversation, &q.time) {
            Subject::Measure(measure, i) => {
                d.inferred_measure = true;
                d.measures.push(measure);
                // "assignments per experiment": the rows counted are named by the word after
                // "per", which still groups them.
                if let Some(i) = i.map(|i| countable[i])
                    && !(q.preceded_by(&q.mentions[i], &["per", "by", "each", "across"], 1)
                        && q.mentions[i].concepts.iter().any(|c| matches!(c, Concept::Dimension(_))))
                {
                    d.used[i] = true;
                }
                None
            }
            Subject::Clarify(reading) => Some(*reading),
            Subject::None => None,
        }
    }

    /// "which account logged in the most": mention `i` is an entity ranked, with a label, and
    /// the rows counted per entity are named by a value of another table ("logged in").
    fn ranked_entity(&self, q: &Question, i: usize) -> bool {
        let m = &q.mentions[i];
        let Some(entity) = m.concepts.iter().find_map(|c| match c {
            Concept::Table(t) => Some(t.as_str()),
            _ => None,
        }) else {
            return false;
        };
        let value_of_other_rows = |c: &Concept| match c {
            Concept::Value { dimension, .. } => self.layer.dimension(dimension).is_some_and(|d| {
                d.columns().iter().all(|(t, _)| *t != entity && self.graph.distance(t, entity).is_some_and(|d| d < 100))
            }),
            _ => false,
        };
        m.start > 0
            && matches!(q.word_at(m.start - 1), "which" | "what" | "top" | "__rank__")
            && m.concepts.iter().any(|c| matches!(c, Concept::Dimension(_)))
            && q.mentions.iter().any(|other| other.concepts.iter().any(value_of_other_rows))
    }

    /// Measures implied beside the ones read: a count of the rows a first "how many" names
    /// ("how many logins and how many distinct users"), the amount of money of the rows
    /// ("count and amount"), and the count beside a sum ("how many refunds and what did they
    /// add up to").
    pub(crate) fn add_implied_measures(&self, q: &Question, d: &mut Draft, query: &mut SemanticQuery, base: &str) {
        let counts_rows = |m: &Measure| match m {
            Measure::Aggregate { func, .. } => *func == AggregateFunc::Count,
            Measure::Metric { name } => self.layer.metric(name).is_some_and(|m| counts_rows(&m.expression)),
            Measure::Elapsed { .. } => false,
        };
        let how_many = q.how_many();
        if how_many.len() >= 2 && query.measures.len() == 1 && !counts_rows(&query.measures[0]) {
            let rows_named = q.mentions.iter().any(|m| {
                m.start == how_many[0] + 1
                    && m.concepts.iter().all(|c| matches!(c, Concept::Value { .. } | Concept::Segment(_)))
            });
            if rows_named {
                let count = Measure::Aggregate { func: AggregateFunc::Count, table: base.to_string(), column: None };
                query.measures.insert(0, count);
            }
        }

        // "count and amount", "total amount sitting in open invoices": the amount is the sum
        // of the money column of the rows asked about, beside a count asked for or instead of
        // one that was only inferred.
        let amount_asked = ["total amount", "and amount", "amount and", "and the amount", "and total amount"]
            .iter()
            .any(|phrase| q.text_has(phrase));
        if amount_asked && let Some(column) = self.money_column(base) {
            let sum = Measure::Aggregate { func: AggregateFunc::Sum, table: base.to_string(), column: Some(column) };
            if !query.measures.iter().any(|m| self.is_sum(m)) {
                if d.inferred_measure && !q.has_word(&["count", "many", "number"]) {
                    query.measures = vec![sum];
                } else {
                    query.measures.push(sum);
                }
            }
        }

        // "how many refunds did we issue and what did they add up to": a count of the rows a
        // summed metric covers, beside the sum, both under the metric's own filter.
        let count_and_sum = q.text_has("how many")
            && q.has_word(&["and"])
            && ["how much", "add up", "in total", "total amount", "sum to", "worth"].iter().any(|p| q.text_has(p));
        if count_and_sum
            && let [Measure::Metric { name }] = query.measures.as_slice()
            && let Some(metric) = self.layer.metric(name)
            && let Some(column) = summed_column(&metric.expression)
        {
            let table = metric.table.clone();
            d.implied_filters
                .extend(metric.filter.clone().map(|condition| Filter::Sql { table: table.clone(), condition }));
            query.measures = vec![
                Measure::Aggregate { func: AggregateFunc::Count, table: table.clone(), column: None },
                Measure::Aggregate { func: AggregateFunc::Sum, table, column: Some(column) },
            ];
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;
    use quarry_semantic::SemanticLayer;

    use super::*;

    fn interpreter() -> Interpreter {
        Interpreter::new(SemanticLayer::demo(), NaiveDate::from_ymd_opt(2025, 12, 31).expect("date"))
    }

    /// The measures after the passes that name them, before any is inferred.
    fn named(text: &str) -> (Vec<Measure>, Draft) {
        let reader = interpreter();
        let q = reader.take_apart(text, false);
        let mut d = Draft::new(&q);
        reader.read_named_measures(&q, &mut d);
        reader.drop_row_words(&q, &mut d);
        reader.read_elapsed_measure(&q, &mut d);
        (d.measures.clone(), d)
    }

    fn metric(name: &str) -> Measure {
        Measure::Metric { name: name.into() }
    }

    #[test]
    fn metrics_named_are_measured_once() {
        assert_eq!(named("revenue and refunds by month").0, [metric("revenue"), metric("refunds")]);
        assert_eq!(named("revenue, revenue by month").0, [metric("revenue")]);
    }

    #[test]
    fn an_aggregate_word_measures_a_column_or_what_a_metric_measures() {
        let avg = Measure::Aggregate {
            func: AggregateFunc::Avg,
            table: "subscriptions".into(),
            column: Some("seats".into()),
        };
        assert_eq!(named("average seats of subscriptions").0, [avg]);
        let longest = named("longest first response last week").0;
        assert!(
            matches!(&longest[..], [Measure::Aggregate { func: AggregateFunc::Max, column: Some(c), .. }] if c == "first_response_minutes")
        );
    }

    #[test]
    fn a_column_beside_a_number_is_compared_not_measured() {
        let (measures, d) = named("tickets with a csat of 2 or lower");
        assert_eq!(measures, [metric("tickets")]);
        assert_eq!(d.comparison_targets, [Some(("support_tickets".to_string(), "csat_score".to_string()))]);
    }

    #[test]
    fn a_number_beside_a_column_of_categories_is_not_understood() {
        let (_, d) = named("what % of active users used at least one feature");
        assert_eq!(d.ignored, ["a number compared with feature"]);
        assert!(d.comparison_targets.iter().all(Option::is_none));
    }

    #[test]
    fn a_table_word_beside_another_measure_only_says_which_rows() {
        assert_eq!(named("average csat of tickets").0, [metric("avg_csat")]);
        // Unless the count is asked for in so many words.
        assert_eq!(named("number of tickets and avg csat").0.len(), 2);
    }

    #[test]
    fn ratios_set_one_measure_against_another() {
        let (measures, d) = named("refunds as a percentage of revenue");
        assert_eq!((measures, d.ratio), (vec![metric("refunds"), metric("revenue")], Some(Ratio::Percent)));
        let (measures, d) = named("events per session");
        assert_eq!(d.ratio, Some(Ratio::Per));
        assert!(
            matches!(&measures[1], Measure::Aggregate { func: AggregateFunc::CountDistinct, column: Some(c), .. } if c == "session_id")
        );
        // "per" before a dimension groups.
        assert_eq!(named("signups per channel").1.ratio, None);
    }

    #[test]
    fn an_elapsed_time_replaces_the_count_of_its_rows() {
        let (measures, d) = named("for canceled subscriptions, how many days did they last on average");
        assert!(
            matches!(&measures[..], [Measure::Elapsed { from, to, .. }] if from == "started_at" && to == "ended_at")
        );
        assert!(d.implied_filters.is_empty() || matches!(&d.implied_filters[0], Filter::Sql { .. }));
    }

    #[test]
    fn the_subject_after_did_is_not_counted() {
        let reader = interpreter();
        let q = reader.take_apart("how many invites did people send on the web", false);
        let mut d = Draft::new(&q);
        reader.read_named_measures(&q, &mut d);
        assert!(reader.infer_measure(&q, &mut d, false).is_none());
        assert!(matches!(&d.measures[..], [Measure::Metric { name }] if name == "events"), "{:?}", d.measures);
    }

    #[test]
    fn money_asked_with_a_verb_of_paying_is_the_money_metric() {
        let reader = interpreter();
        let q = reader.take_apart("which customers paid us the most", false);
        let mut d = Draft::new(&q);
        reader.read_named_measures(&q, &mut d);
        assert!(reader.infer_measure(&q, &mut d, false).is_none());
        assert_eq!(d.measures, [metric("revenue")]);
        assert!(d.inferred_measure);
    }
}
