//! The passes that shape the answer once measures and clauses are known: an entity ranked by
//! its key, the metric a grouped dimension describes, ranking and shares, the time columns a
//! measure has, a count asked in the present, and the event a value names.

use crate::cues::*;
use crate::interpret::Interpreter;
use crate::interpret::measure_pass::Draft;
use crate::interpret::question::Question;
use crate::query::{AggregateFunc, Measure, Ranking, SemanticQuery, counts_rows};
use crate::text::stem;
use crate::vocab::Concept;

impl Interpreter {
    /// "top 5 users by events": an entity with no label dimension ranked by the measure is
    /// grouped by its key on the measure's rows. "which users logged in the most": counting
    /// distinct users per user says 1; the rows are counted instead.
    pub(crate) fn group_ranked_entity(&self, q: &Question, query: &mut SemanticQuery, base: &str) {
        let ranks = q.ranking.is_some() || q.has_word(DESC_WORDS) || q.has_word(ASC_WORDS);
        if !query.group_by.is_empty() || query.grain.is_some() || !ranks {
            return;
        }
        let Some(key) = q.mentions.iter().find_map(|m| {
            let ranked = m.start > 0 && matches!(q.word_at(m.start - 1), "__rank__" | "top" | "bottom" | "which");
            let table = m.concepts.iter().find_map(|c| match c {
                Concept::Table(t) if t != base => Some(t.clone()),
                _ => None,
            })?;
            let key = match self.layer.table(&table)?.primary_key.as_slice() {
                [key] => key.clone(),
                _ => return None,
            };
            let group = format!("{base}.{key}");
            (ranked && self.key_column(&group).is_some()).then_some(group)
        }) else {
            return;
        };
        let column = key.split_once('.').map(|(_, c)| c.to_string()).unwrap_or_default();
        let distinct_key = |m: &Measure| match m {
            Measure::Aggregate { func: AggregateFunc::CountDistinct, column: Some(c), .. } => *c == column,
            Measure::Metric { name } => self
                .layer
                .metric(name)
                .is_some_and(|m| m.expression.replace(' ', "").to_lowercase() == format!("count(distinct{column})")),
            _ => false,
        };
        if let [only] = query.measures.as_slice()
            && distinct_key(only)
        {
            let plain: Vec<String> = self
                .count_metrics(base)
                .into_iter()
                .filter(|name| {
                    self.layer.metric(name).is_some_and(|m| m.filter.is_none() && counts_rows(&m.expression))
                })
                .collect();
            query.measures = vec![match plain.as_slice() {
                [name] => Measure::Metric { name: name.clone() },
                _ => Measure::Aggregate { func: AggregateFunc::Count, table: base.to_string(), column: None },
            }];
        }
        query.group_by.push(key);
    }

    /// "top cancel reason": an inferred count grouped by a dimension only one filtered count
    /// metric's rows have counts that metric.
    pub(crate) fn count_described_metric(&self, d: &mut Draft, query: &mut SemanticQuery, follow_up: bool) {
        if !d.inferred_measure || follow_up {
            return;
        }
        if let Some(name) = self.metric_of_grouped_dimension(query) {
            d.assumptions.push(format!(
                "counted {} (what {} describes)",
                name.replace('_', " "),
                query.group_by.join(", ")
            ));
            query.measures = vec![Measure::Metric { name }];
        }
    }

    /// Ranking without a number ("which plan has the most", "top channels", "ranked"), a
    /// ranking with nothing to rank (not understood), and a ratio or a share.
    pub(crate) fn read_ranking_and_share(&self, q: &Question, d: &mut Draft, query: &mut SemanticQuery) {
        let has_groups = !query.group_by.is_empty() || query.grain.is_some();
        let mut ranking = q.ranking.clone();
        if ranking.is_none() {
            let desc = q.has_word(DESC_WORDS) || q.text_has("most frequent") || q.text_has("most common");
            let asc = q.has_word(ASC_WORDS);
            if (desc || asc) && has_groups {
                let limit = self.ranking_limit(q);
                ranking = Some(Ranking { descending: desc || !asc, limit });
                if limit == Some(10) {
                    d.assumptions.push("top without a number shows 10".into());
                }
            } else if q.has_word(RANK_WORDS) && has_groups && !q.has_word(&["chronological", "chronologically"]) {
                ranking = Some(Ranking { descending: !asc, limit: None });
            }
        }
        if let Some(ranking) = ranking.filter(|_| has_groups) {
            query.ranking = Some(ranking);
        } else if let Some(word) = q.words.iter().enumerate().find_map(|(i, w)| {
            let ranks =
                w.starts_with("__rank") || matches!(w.as_str(), "top" | "bottom" | "least" | "fewest" | "leading");
            (ranks && !q.covered.contains(&i)).then(|| w.clone())
        }) {
            // "top 5 users by events" with nothing to rank: the total would answer another
            // question.
            d.ignored.push(if word.starts_with("__rank") { "a ranking with nothing to rank".into() } else { word });
        }
        if d.ratio.is_some() && query.measures.len() == 2 {
            query.ratio = d.ratio;
        } else if q.has_word(SHARE_WORDS) || q.text_has("mix of") || q.text_has("the mix") {
            query.share = true;
        }
    }

    /// How many groups a ranking without a number keeps: all, 10 for "top channels", one for
    /// "which", "top cancel reason" or "the most".
    fn ranking_limit(&self, q: &Question) -> Option<u64> {
        let which = q.normalized.starts_with("which")
            || (q.normalized.starts_with("what") && !q.normalized.starts_with("what are"));
        let top_word = |w: &String| w == "top" || w == "bottom";
        // "top channels" shows several, "top cancel reason" one.
        let plural_top = q.words.iter().enumerate().any(|(i, w)| {
            top_word(w)
                && !q.mentions.iter().any(|m| {
                    m.start == i + 1
                        && m.concepts.iter().any(|c| matches!(c, Concept::Dimension(_)))
                        && m.text.split(' ').next_back().is_some_and(|last| stem(last) == last && !last.ends_with('s'))
                })
        });
        let singular_top = !plural_top && q.words.iter().any(top_word);
        let all = q.text_has("show all") || q.text_has("all of them") || q.has_word(&["all"]);
        if all {
            None
        } else if plural_top {
            Some(10)
        } else if which || singular_top || is_singular_question(&q.normalized) || q.time.grain_named_as_group {
            Some(1)
        } else {
            None
        }
    }

    /// A measure with no time column cannot take a time range, a grain or windows: the range
    /// is dropped with an assumption; a grain or windows asked for cannot be shown, which
    /// would answer another question. Returns the grain dropped, as words not understood.
    pub(crate) fn apply_measure_time(
        &self,
        q: &Question,
        d: &mut Draft,
        query: &mut SemanticQuery,
        follow_up: bool,
    ) -> Option<String> {
        let has_time = query.measures.iter().all(|m| self.measure_time_column(m).is_some());
        if let Some(range) = query.time_range.as_ref().filter(|_| !has_time) {
            d.assumptions.push("this measure is a current value; the time range does not apply to it".into());
            d.dropped_time = Some(range.phrase.clone());
            query.time_range = None;
        }
        let dropped_grain = query.grain.filter(|_| !has_time && !follow_up).map(|g| format!("by {}", g.unit()));
        if query.grain.is_some() && !has_time {
            d.assumptions
                .push("this measure is a current value with no history; it is shown without a time grain".into());
            query.grain = None;
        }
        if !has_time && !query.periods.is_empty() {
            d.ignored.push(format!("{} (this measure is a current value)", query.periods[0].phrase));
        }
        if query.time_range.is_none() && query.periods.is_empty() && has_time && !q.time.all_time && !follow_up {
            d.assumptions.push("no time range given: all data in the snapshot".into());
        }
        // "what % of subscriptions are active": the value is the share's numerator, not which
        // metric counts.
        if !(query.share && query.group_by.is_empty() && query.grain.is_none()) {
            self.specialize_metric(query);
        }
        dropped_grain
    }

    /// "how many subscriptions do we have": a stock, not a flow. A count with a time column
    /// asked in the present with no window is the same table's count of the current state,
    /// when the layer has exactly one (a count with no time column).
    pub(crate) fn read_present_tense(&self, q: &Question, d: &mut Draft, query: &mut SemanticQuery) {
        let present = ["do we have", "are there", "right now", "currently", "at the moment", "as of now"]
            .iter()
            .any(|p| q.text_has(p) || q.normalized.contains(p));
        if !present || query.time_range.is_some() || query.grain.is_some() {
            return;
        }
        let [Measure::Metric { name }] = query.measures.as_slice() else { return };
        let Some(metric) = self.layer.metric(name).filter(|m| m.time_column.is_some() && m.filter.is_none()) else {
            return;
        };
        let expression = metric.expression.replace(' ', "").to_lowercase();
        let stocks: Vec<&str> = self
            .layer
            .metrics
            .iter()
            .filter(|m| {
                m.table == metric.table
                    && m.time_column.is_none()
                    && m.expression.replace(' ', "").to_lowercase() == expression
            })
            .map(|m| m.name.as_str())
            .collect();
        if let [stock] = stocks.as_slice() {
            d.assumptions.push(format!("'{}' in the present means the current state", name.replace('_', " ")));
            query.measures = vec![Measure::Metric { name: stock.to_string() }];
        }
    }

    /// "invoices were paid", "tickets resolved": a value said as what happened to the rows
    /// (after a verb or after the rows' own word), not as which rows ("paid invoices"), sets
    /// the time column; the tables named choose among equally close dimension columns.
    pub(crate) fn read_event_time(&self, q: &Question, query: &mut SemanticQuery) {
        let event_values: Vec<String> = q
            .mentions
            .iter()
            .enumerate()
            .filter(|(i, m)| {
                let negated = q.preceded_by(m, NEGATION_WORDS, 4);
                (!negated && q.preceded_by(m, &["were", "was", "got", "get", "been", "are", "is"], 1))
                    || (*i > 0
                        && !negated
                        && q.mentions[i - 1].end == m.start
                        && q.mentions[i - 1]
                            .concepts
                            .iter()
                            .any(|c| matches!(c, Concept::Table(_) | Concept::Metric(_))))
            })
            .flat_map(|(_, m)| {
                m.concepts.iter().filter_map(|c| match c {
                    Concept::Value { value, .. } => Some(value.clone()),
                    _ => None,
                })
            })
            .collect();
        query.time_column = self.event_time_column(query, &event_values);
        query.named_tables = q
            .mentions
            .iter()
            .flat_map(|m| {
                m.concepts.iter().filter_map(|c| match c {
                    Concept::Table(t) => Some(t.clone()),
                    _ => None,
                })
            })
            .collect();
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;
    use quarry_semantic::SemanticLayer;

    use super::*;
    use crate::interpret::Reading;

    fn query(text: &str) -> SemanticQuery {
        let reader = Interpreter::new(SemanticLayer::demo(), NaiveDate::from_ymd_opt(2025, 12, 31).expect("date"));
        match reader.read(text, None) {
            Reading::Query { query, .. } => query,
            other => panic!("{text}: {other:?}"),
        }
    }

    fn ignored(text: &str) -> Vec<String> {
        let reader = Interpreter::new(SemanticLayer::demo(), NaiveDate::from_ymd_opt(2025, 12, 31).expect("date"));
        match reader.read(text, None) {
            Reading::Query { ignored, .. } => ignored,
            other => panic!("{text}: {other:?}"),
        }
    }

    #[test]
    fn an_entity_without_a_label_is_ranked_by_its_key() {
        let q = query("top 5 users by number of events this month");
        assert_eq!(q.group_by, ["events.user_id"]);
        assert_eq!(q.ranking, Some(Ranking { descending: true, limit: Some(5) }));
        let q = query("which users logged in the most last week");
        assert_eq!(q.measures, [Measure::Metric { name: "events".into() }]);
    }

    #[test]
    fn a_dimension_of_a_filtered_count_counts_that_metric() {
        assert_eq!(
            query("top cancel reason last quarter").measures,
            [Measure::Metric { name: "cancellations".into() }]
        );
    }

    #[test]
    fn rankings_keep_one_ten_or_all_groups() {
        assert_eq!(query("which plan has the most active subscriptions").ranking.and_then(|r| r.limit), Some(1));
        assert_eq!(query("top channels by signups last month").ranking.and_then(|r| r.limit), Some(10));
        assert_eq!(query("top cancel reason last quarter").ranking.and_then(|r| r.limit), Some(1));
        assert_eq!(query("signups by channel ranked").ranking.map(|r| r.limit), Some(None));
        assert!(ignored("least used feature by number of users this year").contains(&"least".to_string()));
    }

    #[test]
    fn shares_and_ratios() {
        assert!(query("share of signups by channel").share);
        let q = query("refunds as a percentage of revenue this year");
        assert!(q.ratio.is_some() && !q.share);
    }

    #[test]
    fn a_current_value_drops_its_window_and_a_present_count_is_the_stock() {
        assert_eq!(query("mrr last month").time_range, None);
        assert!(ignored("mrr by month").contains(&"by month".to_string()));
        assert_eq!(
            query("how many subscriptions do we have").measures,
            [Measure::Metric { name: "active_subscriptions".into() }]
        );
    }

    #[test]
    fn an_event_said_of_the_rows_sets_the_time_column() {
        assert_eq!(query("invoices paid last month").time_column.as_deref(), Some("paid_at"));
        assert_eq!(query("paid invoices last month").time_column, None);
    }
}
