//! The last passes of a reading: what it explains of the question, for its confidence, and
//! what it leaves out that would make it answer another question (words the interpreter knows
//! but did not act on, a list of rows asked for where quarry answers with numbers).

use std::collections::BTreeSet;

use crate::confidence::Evidence;
use crate::cues::*;
use crate::interpret::Interpreter;
use crate::interpret::clause_pass::Clauses;
use crate::interpret::measure_pass::Draft;
use crate::interpret::question::Question;
use crate::query::{AggregateFunc, Filter, Measure, Ratio, SemanticQuery};
use crate::text::{is_stopword, stem};
use crate::vocab::Concept;

/// What the clause passes found that confidence weighs.
pub(crate) struct ClauseFacts {
    /// A grouping was read from a dimension named without a cue.
    pub(crate) implicit_grouping: bool,
    /// Phrases the layer knows that the reading did not use.
    pub(crate) unused_phrases: usize,
}

impl From<&Clauses> for ClauseFacts {
    fn from(clauses: &Clauses) -> Self {
        ClauseFacts { implicit_grouping: clauses.implicit_grouping, unused_phrases: clauses.unused_phrases }
    }
}

impl Interpreter {
    /// What the reading explains: words linked and not, corrections and assumptions made, and
    /// the shapes of reading that are often wrong.
    pub(crate) fn weigh(
        &self,
        q: &Question,
        d: &Draft,
        query: &SemanticQuery,
        facts: &ClauseFacts,
        follow_up: bool,
    ) -> Evidence {
        // Words that name nothing: conversation around the question is left out freely; a
        // content word lowers confidence, since the reading may answer another question.
        let plain_count = query.group_by.is_empty()
            && query.grain.is_none()
            && query.filters.is_empty()
            && query.time_range.is_none()
            && !query.measures.is_empty()
            && query.measures.iter().all(|m| self.is_plain_count(m));
        let (filler_words, unknown_words): (Vec<String>, Vec<String>) = q
            .words
            .iter()
            .enumerate()
            // A word of the layer that a bare count of rows did not use ("the best rank of
            // losers" read as a count of all matches) is as unexplained as a word the layer
            // does not know.
            .filter(|(i, w)| {
                !q.covered.contains(i)
                    && !w.starts_with("__")
                    && !is_known_word(w)
                    && (!self.layer_words.contains(&stem(w)) || (plain_count && !is_stopword(w)))
            })
            .map(|(_, w)| w.clone())
            .partition(|w| is_filler(w));
        let content_words = q.words.iter().filter(|w| !w.starts_with("__") && !is_stopword(w) && !is_filler(w)).count();
        let linked_words = q.covered.iter().filter(|&&i| q.words.get(i).is_some_and(|w| !is_stopword(w))).count();
        let corrections = d.assumptions.iter().filter(|a| a.starts_with("read '")).count();
        let after_preposition = |i: usize, list: &[&str]| i > 0 && list.contains(&q.words[i - 1].as_str());
        let unknown_values: Vec<String> = q
            .words
            .iter()
            .enumerate()
            .filter(|(i, w)| {
                unknown_words.contains(w)
                    && (after_preposition(*i, &["from", "in", "for", "at", "among", "with", "on"])
                        || (*i > 1
                            && q.words[i - 1] == "the"
                            && after_preposition(i - 1, &["from", "in", "for", "at"])))
            })
            .map(|(_, w)| w.clone())
            .collect();
        // "museums open before 2009" answered over all museums ignores a condition the
        // question set, as a value left out would.
        let mut unknown_values = unknown_values;
        unknown_values.extend(d.dropped_time.iter().filter(|phrase| !phrase.is_empty()).cloned());
        let ambiguous_phrases = q
            .mentions
            .iter()
            .filter(|m| {
                let kinds: BTreeSet<u8> = m
                    .concepts
                    .iter()
                    .filter_map(|c| match c {
                        Concept::Metric(_) => Some(0),
                        Concept::Segment(_) => Some(1),
                        Concept::Value { .. } => Some(2),
                        Concept::Dimension(_) => Some(3),
                        Concept::Column { .. } | Concept::Table(_) => None,
                    })
                    .collect();
                kinds.len() > 1
            })
            .count();
        let measures_named_by_table_words = d
            .measure_mention
            .iter()
            .all(|(i, _)| q.mentions[*i].concepts.iter().any(|c| matches!(c, Concept::Table(_))));
        Evidence {
            content_words,
            linked_words: linked_words.min(content_words),
            unknown_words,
            unknown_values,
            filler_words,
            corrections,
            assumptions: d.assumptions.len() - corrections,
            inferred_measure: d.inferred_measure,
            implicit_grouping: facts.implicit_grouping,
            follow_up,
            measures: query.measures.len(),
            ambiguous_phrases,
            far_joins: self.far_joins(query),
            unused_phrases: facts.unused_phrases,
            bare_count: !q.count_cue()
                && query.group_by.is_empty()
                && query.grain.is_none()
                && query.time_range.is_none()
                && query.filters.is_empty()
                && query.measures.iter().all(|m| self.is_plain_count(m))
                && measures_named_by_table_words,
            rows: false,
        }
    }

    /// "what are the names of the sections", "distinct names of singers": a list of rows asked
    /// for, which a count does not answer.
    pub(crate) fn asks_for_rows(&self, q: &Question, d: &Draft, query: &SemanticQuery) -> bool {
        let all_counts = !query.measures.is_empty() && query.measures.iter().all(|m| self.is_plain_count(m));
        let table_word_count = d
            .measure_mention
            .iter()
            .all(|(i, _)| q.mentions[*i].concepts.iter().any(|c| matches!(c, Concept::Table(_))));
        let list_start =
            ["what are", "what were", "list", "show all", "show the", "give me the", "name the", "find the name"]
                .iter()
                .any(|start| q.normalized.starts_with(start));
        !q.count_cue()
            && all_counts
            && query.group_by.is_empty()
            && query.grain.is_none()
            && ((table_word_count && list_start) || q.has_word(&["names", "name"]))
    }

    /// Words the interpreter knows that the reading does not act on: an aggregate word
    /// ("average", "longest", "distinct") whose aggregate is in no measure or ranking, a share
    /// word without a share, a negation kept nowhere, a grouping asked by a word that names
    /// nothing, and a number that no time range, ranking or comparison took. An answer that
    /// drops them answers another question, so they count as not understood.
    pub(crate) fn unexplained_words(&self, q: &Question, query: &SemanticQuery) -> Vec<String> {
        let (words, covered) = (&q.words, &q.covered);
        let expression = |name: &str| self.layer.metric(name).map(|m| m.expression.to_uppercase()).unwrap_or_default();
        let computes = |wanted: AggregateFunc| {
            query.measures.iter().any(|measure| match measure {
                Measure::Aggregate { func, .. } | Measure::Elapsed { func, .. } => {
                    *func == wanted || (wanted == AggregateFunc::Sum && *func == AggregateFunc::Count)
                }
                Measure::Metric { name } => {
                    let e = expression(name);
                    match wanted {
                        AggregateFunc::Avg => e.contains("AVG("),
                        AggregateFunc::Median => e.contains("MEDIAN(") || e.contains("PERCENTILE"),
                        AggregateFunc::Sum | AggregateFunc::Count => e.contains("SUM(") || e.contains("COUNT("),
                        AggregateFunc::Max => e.contains("MAX("),
                        AggregateFunc::Min => e.contains("MIN("),
                        AggregateFunc::CountDistinct => e.contains("DISTINCT"),
                    }
                }
            })
        };
        let share_metric = query.measures.iter().any(|measure| match measure {
            Measure::Metric { name } => {
                expression(name).contains('/')
                    || ["rate", "ratio", "percent", "share", "pct"].iter().any(|w| name.contains(w))
            }
            Measure::Aggregate { .. } | Measure::Elapsed { .. } => false,
        }) || query.ratio == Some(Ratio::Percent);
        let mut unexplained = Vec::new();
        // A threshold on a measure needs groups to apply to; without them it would be dropped.
        if !query.having.is_empty() && query.group_by.is_empty() && query.grain.is_none() {
            unexplained.extend(query.having.iter().map(|h| format!("{} {}", h.op.sql(), h.value)));
        }
        // "students who do not have any pet", "countries with no car makers": a negation the
        // reading kept nowhere would answer the opposite question.
        let negates = query.filters.iter().any(|f| match f {
            Filter::Values { negated, .. } => *negated,
            Filter::Null { is_null, .. } => *is_null,
            Filter::Sql { condition, .. } => {
                let condition = condition.to_uppercase();
                condition.contains("NOT") || condition.contains("IS NULL")
            }
            Filter::Segment { name } => self.layer.segment(name).is_some_and(|s| {
                s.condition.to_uppercase().contains("IS NULL") || s.condition.to_uppercase().contains("NOT")
            }),
            Filter::Compare { .. } => false,
        });
        if !negates
            && let Some(word) = words.iter().enumerate().find_map(|(i, w)| {
                let negation = matches!(w.as_str(), "not" | "no" | "without" | "never" | "none")
                    || (w.ends_with("n't") && w != "didn't");
                // "no longer", "not when": a negation of a verb or a time, not of rows.
                let of_rows =
                    !matches!(words.get(i + 1).map(String::as_str), Some("longer" | "when" | "only" | "just"));
                (negation && of_rows && !covered.contains(&i)).then(|| w.clone())
            })
        {
            unexplained.push(word);
        }
        let grouped = !query.group_by.is_empty() || query.grain.is_some();
        let measured: std::collections::BTreeSet<&str> = query
            .measures
            .iter()
            .filter_map(|m| match m {
                Measure::Metric { name } => self.layer.metric(name).map(|metric| metric.table.as_str()),
                Measure::Aggregate { table, .. } | Measure::Elapsed { table, .. } => Some(table.as_str()),
            })
            .collect();
        for (i, word) in words.iter().enumerate() {
            if covered.contains(&i) || word.starts_with("__") {
                continue;
            }
            // "by type", "per experiment": a grouping asked for by a word that names nothing
            // here, or "monthly vs annual" with nothing to set side by side.
            let next = words.get(i + 1).filter(|_| !covered.contains(&(i + 1)));
            if !grouped
                && ["by", "per", "each"].contains(&word.as_str())
                && let Some(next) = next.filter(|n| !n.starts_with("__") && !is_stopword(n))
            {
                unexplained.push(format!("{word} {next}"));
                continue;
            }
            // "car makers in each continent" counted over all car makers: a table of its own
            // named as the grouping nobody read.
            if !grouped
                && query.ratio.is_none()
                && ["by", "per", "each"].contains(&word.as_str())
                && let Some(m) = q.mentions.iter().find(|m| m.start == i + 1)
                && m.concepts.iter().any(|c| matches!(c, Concept::Table(t) if !measured.contains(t.as_str())))
                && !m.concepts.iter().any(|c| match c {
                    Concept::Column { table, .. } => measured.contains(table.as_str()),
                    Concept::Dimension(name) => self
                        .layer
                        .dimension(name)
                        .is_some_and(|d| d.columns().iter().any(|(t, _)| measured.contains(t))),
                    _ => false,
                })
            {
                unexplained.push(format!("{word} {}", words[m.start..m.end].join(" ")));
                continue;
            }
            // "for each pet type" read as the pets' average: the word after the table named
            // is the grouping nobody read.
            if !grouped && ["by", "per", "each"].contains(&word.as_str()) && covered.contains(&(i + 1)) {
                let after = (i + 1..words.len()).find(|j| !covered.contains(j));
                if let Some(j) = after.filter(|&j| j > i + 1)
                    && let Some(next) = words.get(j).filter(|n| {
                        !n.starts_with("__")
                            && (!is_stopword(n) || matches!(n.as_str(), "type" | "types" | "kind" | "kinds"))
                    })
                {
                    unexplained.push(format!("{word} {} {next}", words[i + 1..j].join(" ")));
                    continue;
                }
            }
            if !grouped && query.measures.len() < 2 && ["vs", "versus"].contains(&word.as_str()) {
                unexplained.push(word.clone());
                continue;
            }
            let number = word.chars().any(|c| c.is_ascii_digit())
                && word.chars().all(|c| c.is_ascii_digit() || matches!(c, '.' | ','));
            let explained = if number {
                false
            } else if let Some((_, func)) = AGG_WORDS.iter().find(|(w, _)| w == word) {
                match func {
                    AggregateFunc::Max | AggregateFunc::Min => computes(*func) || query.ranking.is_some(),
                    // "average events per user" is the ratio itself.
                    AggregateFunc::Avg if query.ratio == Some(Ratio::Per) => true,
                    AggregateFunc::Median if word == "typical" => {
                        computes(AggregateFunc::Median) || computes(AggregateFunc::Avg)
                    }
                    other => computes(*other),
                }
            } else if SHARE_WORDS.contains(&word.as_str()) {
                query.share || share_metric
            } else {
                true
            };
            if !explained {
                unexplained.push(word.clone());
            }
        }
        unexplained
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;
    use quarry_semantic::SemanticLayer;

    use crate::interpret::{Interpreter, Reading};

    fn read(text: &str) -> Reading {
        Interpreter::new(SemanticLayer::demo(), NaiveDate::from_ymd_opt(2025, 12, 31).expect("date")).read(text, None)
    }

    fn ignored(text: &str) -> Vec<String> {
        match read(text) {
            Reading::Query { ignored, .. } => ignored,
            other => panic!("{text}: {other:?}"),
        }
    }

    #[test]
    fn content_words_naming_nothing_are_unknown_and_conversation_is_filler() {
        let Reading::Query { evidence, .. } = read("hey, quick one for the board deck: signups last month") else {
            panic!("a query")
        };
        assert!(evidence.unknown_words.is_empty(), "{:?}", evidence.unknown_words);
        assert!(evidence.filler_words.contains(&"deck".to_string()));
        let Reading::Query { evidence, .. } = read("signups from atlantis last month") else { panic!("a query") };
        assert_eq!(evidence.unknown_values, ["atlantis"]);
    }

    #[test]
    fn words_known_but_not_acted_on_are_not_understood() {
        assert!(ignored("median signups by channel").contains(&"median".to_string()));
        assert!(ignored("signups by flavour").contains(&"by flavour".to_string()));
        assert!(ignored("revenue not from enterprise").is_empty());
        assert!(ignored("average events per active user").is_empty());
    }
}
