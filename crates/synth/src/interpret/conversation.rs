//! The passes that place a question in its conversation and in time: whether it continues the
//! previous turn, the measures and clauses it keeps or replaces there, and the time range,
//! grain and windows it asks for.

use crate::cues::*;
use crate::interpret::Interpreter;
use crate::interpret::clause_pass::Clauses;
use crate::interpret::measure_pass::Draft;
use crate::interpret::question::Question;
use crate::query::{Filter, Measure, SemanticQuery};
use crate::time::{TimeGrain, TimeRange, shift_back};
use crate::vocab::Concept;

impl Interpreter {
    /// "for each?", "and in 2024?", "... instead of the count": whether the question leans on
    /// the previous one, `context`.
    pub(crate) fn continues(&self, q: &Question, d: &Draft, context: Option<&SemanticQuery>) -> bool {
        let refers_back = q.has_word(&["those", "these", "them", "their", "they", "it", "that", "instead"])
            || q.normalized.ends_with(" each")
            || q.normalized.ends_with(" for each");
        context.is_some()
            && (d.measures.is_empty()
                || refers_back
                || FOLLOW_UP_STARTS.iter().any(|s| q.normalized.starts_with(&format!("{s} "))))
    }

    /// The query the clauses are read into: the previous turn's with the measures asked added
    /// or replaced, or a new one.
    pub(crate) fn start_query(
        &self,
        q: &Question,
        d: &mut Draft,
        context: Option<&SemanticQuery>,
        follow_up: bool,
    ) -> SemanticQuery {
        let (true, Some(previous)) = (follow_up, context) else {
            return SemanticQuery { measures: d.measures.clone(), ..SemanticQuery::empty() };
        };
        // "only outage tickets" after a question about tickets: the table word says which
        // rows, the previous measure stays.
        if let [Measure::Metric { name }] = d.measures.as_slice()
            && d.measure_mention
                .iter()
                .any(|(i, n)| n == name && q.mentions[*i].concepts.iter().any(|c| matches!(c, Concept::Table(_))))
            && let Some(table) = self.layer.metric(name).map(|m| m.table.clone())
            && self.count_metrics(&table).contains(name)
            && self.base_table(&previous.measures).ok().as_deref() == Some(table.as_str())
        {
            d.measures.clear();
        }
        if d.measures.is_empty() {
            return previous.clone();
        }
        // "add the number of refunded invoices too": a measure added to the ones shown.
        let adds_measure = q.has_word(&["add", "also", "too", "plus"]) && !q.has_word(&["instead", "rather"]);
        let mut next = if adds_measure { previous.measures.clone() } else { Vec::new() };
        for measure in &d.measures {
            if !next.contains(measure) {
                next.push(measure.clone());
            }
        }
        // "total seats instead of the count" of active subscriptions: the rows the replaced
        // metric counted stay the rows asked about.
        let mut filters = previous.filters.clone();
        for old in &previous.measures {
            if let Measure::Metric { name } = old
                && let Some(metric) = self.layer.metric(name)
                && let Some(condition) = metric.filter.clone()
                && !next.contains(old)
                && next.iter().all(|m| matches!(m, Measure::Aggregate { table, .. } if *table == metric.table))
            {
                filters.push(Filter::Sql { table: metric.table.clone(), condition });
            }
        }
        SemanticQuery { measures: next, filters, ..previous.clone() }
    }

    /// Merges `clauses` into `query`. In a conversation new groups replace old ones unless
    /// added to them ("also by plan", "break that down by plan": a drill-down keeps what was
    /// there, "by plan instead" does not), and new filters on a dimension replace old filters
    /// on it.
    pub(crate) fn merge_clauses(&self, q: &Question, query: &mut SemanticQuery, clauses: Clauses, follow_up: bool) {
        if follow_up {
            let drills_down = q.has_word(&["break", "breakdown", "split", "further"]) || q.text_has("drill");
            let adds =
                (q.has_word(&["also", "too", "additionally", "add", "plus"]) || q.text_has("as well") || drills_down)
                    && !q.has_word(&["instead", "rather"]);
            if !clauses.groups.is_empty() && !adds {
                query.group_by.clear();
                if q.time.grain.is_none() && !q.time.trend {
                    query.grain = None;
                }
            }
            for filter in &clauses.filters {
                if let Filter::Values { dimension, .. } = filter {
                    query.filters.retain(|f| !matches!(f, Filter::Values { dimension: d, .. } if d == dimension));
                }
            }
            if !clauses.having.is_empty() {
                query.having.clear();
            }
        } else {
            query.group_by.clear();
            query.filters.clear();
        }
        for group in clauses.groups {
            if !query.group_by.contains(&group) {
                query.group_by.push(group);
            }
        }
        query.group_by.retain(|g| !clauses.ungrouped.contains(g));
        query.filters.extend(clauses.filters);
        query.having.extend(clauses.having);
    }

    /// The time the question asks for: a new range replaces the old ("and the month before?"
    /// moves it back), a grain or a trend groups by time, DAU/WAU/MAU mean the current period,
    /// a grain within one period is dropped, and windows set side by side replace the range.
    pub(crate) fn apply_time(&self, q: &Question, query: &mut SemanticQuery, assumptions: &mut Vec<String>) {
        let time = &q.time;
        if let Some(range) = time.range.clone() {
            query.time_range = Some(range);
        } else if time.all_time {
            query.time_range = None;
        } else if let (Some(unit), Some(range)) = (&q.shift_back, &query.time_range)
            && let Some(shifted) = shift_back(range, unit)
        {
            query.time_range = Some(shifted);
        }
        if let Some(grain) = time.grain {
            query.grain = Some(grain);
        } else if time.trend && query.grain.is_none() {
            let grain = TimeGrain::for_span(query.time_range.as_ref().and_then(TimeRange::days));
            assumptions.push(format!("trend shown by {}", grain.unit()));
            query.grain = Some(grain);
        }
        if time.grain_from_abbreviation && query.time_range.is_none() && !time.trend && !time.all_time {
            let grain = time.grain.unwrap_or(TimeGrain::Month);
            query.time_range = Some(self.current_period(grain));
            let abbreviation = q
                .words
                .iter()
                .find(|w| matches!(w.as_str(), "dau" | "wau" | "mau"))
                .map(|w| w.to_uppercase())
                .unwrap_or_default();
            assumptions.push(format!("{abbreviation} means the current {}", grain.unit()));
        }
        if let (Some(grain), Some(range)) = (query.grain, &query.time_range)
            && self.single_period(grain, range)
            && !time.grain_named_as_group
        {
            query.grain = None;
        }
        if !q.periods.is_empty() {
            query.periods = q.periods.clone();
            query.time_range = None;
            query.grain = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;
    use quarry_semantic::SemanticLayer;

    use super::*;
    use crate::interpret::Reading;

    fn interpreter() -> Interpreter {
        Interpreter::new(SemanticLayer::demo(), NaiveDate::from_ymd_opt(2025, 12, 31).expect("date"))
    }

    fn query(reader: &Interpreter, text: &str, context: Option<&SemanticQuery>) -> SemanticQuery {
        match reader.read(text, context) {
            Reading::Query { query, .. } => query,
            other => panic!("{text}: {other:?}"),
        }
    }

    #[test]
    fn a_follow_up_is_told_by_its_start_its_pronouns_or_a_missing_measure() {
        let reader = interpreter();
        let previous = query(&reader, "signups by channel last month", None);
        for text in ["and in 2024?", "only from ads", "what about them by platform", "for each"] {
            let q = reader.take_apart(text, true);
            let mut d = Draft::new(&q);
            reader.read_named_measures(&q, &mut d);
            assert!(reader.continues(&q, &d, Some(&previous)), "{text}");
        }
        let q = reader.take_apart("revenue by plan", true);
        let mut d = Draft::new(&q);
        reader.read_named_measures(&q, &mut d);
        assert!(!reader.continues(&q, &d, Some(&previous)));
        assert!(!reader.continues(&q, &d, None));
    }

    #[test]
    fn groups_are_replaced_unless_added_to() {
        let reader = interpreter();
        let previous = query(&reader, "signups by channel last month", None);
        assert_eq!(query(&reader, "by platform instead", Some(&previous)).group_by, ["platform"]);
        assert_eq!(
            query(&reader, "break that down by platform too", Some(&previous)).group_by,
            ["signup_channel", "platform"]
        );
    }

    #[test]
    fn a_measure_is_added_or_replaced() {
        let reader = interpreter();
        let previous = query(&reader, "refunds by month in 2025", None);
        let added = query(&reader, "add the number of refunded invoices too", Some(&previous));
        assert_eq!(added.measures.len(), 2, "{:?}", added.measures);
    }

    #[test]
    fn time_moves_back_or_is_replaced_and_windows_replace_the_range() {
        let reader = interpreter();
        let previous = query(&reader, "signups last month", None);
        let before = query(&reader, "and the month before?", Some(&previous));
        let range = before.time_range.expect("range");
        assert_eq!(range.start, NaiveDate::from_ymd_opt(2025, 10, 1));
        let side_by_side = query(&reader, "signups this quarter vs last quarter", None);
        assert_eq!((side_by_side.periods.len(), side_by_side.time_range), (2, None));
        let dau = query(&reader, "DAU", None);
        assert!(dau.time_range.is_some());
    }
}
