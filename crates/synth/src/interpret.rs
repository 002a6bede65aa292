//! From a question (and the conversation so far) to a [`SemanticQuery`].

use std::collections::BTreeSet;

use chrono::{Datelike, Duration, NaiveDate};
use quarry_semantic::SemanticLayer;

use crate::confidence::Evidence;
use crate::cues::*;
use crate::graph::JoinGraph;
use crate::query::{
    AggregateFunc, CompareOp, Filter, Measure, MeasureFilter, Ranking, Ratio, SemanticQuery, summed_column,
};
use crate::resolve::Subject;
use crate::text::{is_stopword, normalize, tokens};
use crate::time::{TimeGrain, TimeRange, extract_periods, extract_time, parse_number_word};
use crate::vocab::{Concept, Mention, Vocabulary};

/// The result of reading a question.
#[derive(Debug, Clone, PartialEq)]
#[expect(
    clippy::large_enum_variant,
    reason = "a reading is made once per question and taken apart at once; boxing the query would buy nothing"
)]
pub enum Reading {
    /// A query, with what was assumed and what was ignored.
    Query {
        /// The query.
        query: SemanticQuery,
        /// Assumptions made ("no time range given: all time").
        assumptions: Vec<String>,
        /// Phrases the reading could not apply and cues it did not act on: answering
        /// without them would answer another question.
        ignored: Vec<String>,
        /// The question continued an earlier one.
        follow_up: bool,
        /// What the reading explains, for its confidence.
        evidence: Box<Evidence>,
    },
    /// The question is ambiguous in a way the semantic layer can name.
    Clarify {
        /// The question to ask back.
        question: String,
        /// The options, each a question that can be asked instead.
        options: Vec<String>,
    },
    /// The question could not be mapped.
    Unmapped {
        /// What was understood.
        understood: Vec<String>,
        /// What was not.
        not_understood: Vec<String>,
    },
}

/// Words shorter than this are never corrected: short words have too many neighbours.
pub(crate) const MIN_CORRECTED_LEN: usize = 5;

/// Reads questions over one semantic layer.
#[derive(Debug, Clone)]
pub struct Interpreter {
    pub(crate) layer: SemanticLayer,
    pub(crate) vocab: Vocabulary,
    /// Stemmed words of the layer's names, labels and descriptions: a question may use
    /// them around the concepts it names ("hours", "score") without being misread.
    pub(crate) layer_words: BTreeSet<String>,
    /// Words of the vocabulary's phrases (stemmed) long enough to correct misspellings to.
    pub(crate) vocab_words: Vec<String>,
    /// Every word of the vocabulary's phrases (stemmed), short ones included.
    pub(crate) all_vocab_words: BTreeSet<String>,
    pub(crate) graph: JoinGraph,
    pub(crate) as_of: NaiveDate,
}

/// A comparison found in a question, replaced there by the placeholder at `token`.
pub(crate) struct Comparison {
    pub(crate) token: usize,
    pub(crate) op: CompareOp,
    pub(crate) value: String,
    /// Written as money ("$5,000", "5000 dollars").
    pub(crate) money: bool,
}

impl Interpreter {
    /// An interpreter for `layer`, resolving relative time against `as_of`.
    pub fn new(layer: SemanticLayer, as_of: NaiveDate) -> Self {
        let vocab = Vocabulary::new(&layer);
        let graph = JoinGraph::new(&layer);
        let layer_words = layer_text_words(&layer);
        let all_vocab_words = vocab.words();
        let vocab_words =
            all_vocab_words.iter().filter(|w| w.chars().count() >= MIN_CORRECTED_LEN - 1).cloned().collect();
        Self { layer, vocab, graph, layer_words, vocab_words, all_vocab_words, as_of }
    }

    /// The semantic layer.
    pub fn layer(&self) -> &SemanticLayer {
        &self.layer
    }

    /// The join graph.
    pub fn graph(&self) -> &JoinGraph {
        &self.graph
    }

    /// The date relative phrases resolve against.
    pub fn as_of(&self) -> NaiveDate {
        self.as_of
    }

    /// Reads `question`, continuing `context` (the previous turn's query) if it is a follow-up.
    pub fn read(&self, question: &str, context: Option<&SemanticQuery>) -> Reading {
        let normalized = expand_abbreviations(&normalize(question));
        let (periods, time_text) = match extract_periods(&normalized, self.as_of) {
            Some((periods, rest)) => (periods, rest),
            None => (Vec::new(), normalized.clone()),
        };
        let time = extract_time(&time_text, self.as_of);
        let (mut text, corrections) = self.correct_spelling(&time.rest);
        let mut assumptions: Vec<String> =
            corrections.into_iter().map(|(written, read)| format!("read '{written}' as '{read}'")).collect();

        // "and the month before?" moves the conversation's window back by one period.
        let mut shift_back = None;
        if context.is_some()
            && let Some(caps) = SHIFT_RE.captures(&text)
        {
            shift_back = caps.name("g").map(|g| g.as_str().to_string());
            let range = caps.get(0).expect("whole match").range();
            text.replace_range(range.clone(), &" ".repeat(range.len()));
        }

        // Ranking with a number ("top 5", "which 2 industries"), then comparisons ("more than
        // 10"), each replaced by a placeholder token so that positions of other words hold.
        let mut ranking: Option<Ranking> = None;
        if let Some(caps) = TOP_N_RE.captures(&text) {
            let word = caps.name("w").or(caps.name("w2")).map(|m| m.as_str()).unwrap_or("top");
            let n = caps
                .name("n")
                .or(caps.name("n2"))
                .or(caps.name("n3"))
                .and_then(|m| parse_number_word(m.as_str()))
                .unwrap_or(10);
            let descending =
                if caps.name("n3").is_some() { !has_any(&normalized, ASC_WORDS) } else { !ASC_WORDS.contains(&word) };
            ranking = Some(Ranking { descending, limit: Some(u64::from(n)) });
            let whole = caps.get(0).expect("whole match");
            let replacement = if caps.name("n3").is_some() { " which __rank__ " } else { " __rank__ " };
            text.replace_range(whole.range(), replacement);
        }
        let comparisons = self.extract_comparisons(&mut text);

        // "actives" is how people say active users ("daily actives"); the plural would
        // otherwise stem to the status value "active".
        let words: Vec<String> = tokens(&text)
            .into_iter()
            .flat_map(|w| if w == "actives" { vec!["active".to_string(), "users".to_string()] } else { vec![w] })
            .collect();
        let mentions = self.vocab.mentions(&words);
        let mut covered: BTreeSet<usize> = mentions.iter().flat_map(|m| m.start..m.end).collect();
        let word_at = |i: usize| words.get(i).map(String::as_str).unwrap_or("");
        let has_word = |list: &[&str]| words.iter().any(|w| list.contains(&w.as_str()));
        let text_has = |phrase: &str| format!(" {text} ").contains(&format!(" {phrase} "));
        let preceded_by = |m: &Mention, cues: &[&str], reach: usize| {
            (1..=reach).any(|back| m.start >= back && cues.contains(&word_at(m.start - back)))
        };
        let group_cue =
            |m: &Mention| preceded_by(m, GROUP_CUES, 2) || (m.start > 0 && word_at(m.start - 1).starts_with("__rank"));
        let absence_cue = |m: &Mention| {
            preceded_by(m, &["no", "without", "missing", "lacking"], 2)
                || (m.start >= 2
                    && matches!(word_at(m.start - 2), "don't" | "dont" | "not" | "doesn't" | "haven't")
                    && word_at(m.start - 1) == "have")
                || (m.start >= 3
                    && matches!(word_at(m.start - 3), "don't" | "dont" | "not" | "doesn't")
                    && word_at(m.start - 2) == "have")
        };

        // "how many tickets did french customers open": after "did", the subject of the verb
        // (who did it) and the verb itself, which say neither what is counted nor which rows.
        let auxiliary = words.iter().position(|w| matches!(w.as_str(), "did" | "do" | "does"));
        let counted_before = |i: usize| {
            (0..i).any(|k| word_at(k) == "many" && k > 0 && word_at(k - 1) == "how")
                && mentions.iter().any(|m| m.start < i && m.start > 0 && word_at(m.start - 1) == "many")
        };
        let in_subject = |m: &Mention| {
            auxiliary.is_some_and(|d| {
                m.start > d
                    && counted_before(d)
                    && (d + 1..m.start).all(|k| {
                        covered.contains(&k) || matches!(word_at(k), "the" | "our" | "we" | "they" | "you" | "all")
                    })
            })
        };
        let verb_after_subject = |m: &Mention| {
            let after_subject_noun = mentions.iter().any(|s| {
                s.end == m.start && s.concepts.iter().any(|c| matches!(c, Concept::Table(_) | Concept::Metric(_)))
            }) || matches!(word_at(m.start.wrapping_sub(1)), "we" | "they" | "you" | "people" | "folks");
            m.end == m.start + 1
                && in_subject(m)
                && after_subject_noun
                && m.concepts.iter().all(|c| matches!(c, Concept::Value { .. } | Concept::Segment(_)))
                && (m.end >= words.len()
                    || word_at(m.end).starts_with("__")
                    || matches!(word_at(m.end), "in" | "on" | "during" | "since" | "over" | "this" | "last"))
        };

        // Measures: metrics named, else an aggregate of a column, else a count of a table.
        let mut measures: Vec<Measure> = Vec::new();
        let mut used = vec![false; mentions.len()];
        let mut implied_filters: Vec<Filter> = Vec::new();
        let mut measure_mention: Vec<(usize, String)> = Vec::new();
        // Words a value names ("paid" in "average paid invoice amount") sit between an
        // aggregate word and what it aggregates.
        let value_words: BTreeSet<usize> = mentions
            .iter()
            .filter(|m| m.concepts.iter().all(|c| matches!(c, Concept::Value { .. } | Concept::Segment(_))))
            .flat_map(|m| m.start..m.end)
            .collect();
        // The aggregate word before a mention, and whether it is a word of time ("latest").
        let agg_word_before = |m: &Mention| -> Option<(AggregateFunc, bool)> {
            let mut i = m.start;
            while i > 0 {
                i -= 1;
                let w = word_at(i);
                if matches!(
                    w,
                    "the" | "of" | "a" | "an" | "our" | "per" | "number" | "amount" | "any" | "single" | "very"
                ) || value_words.contains(&i)
                {
                    continue;
                }
                if let Some(func) = AGG_WORDS.iter().find(|(word, _)| *word == w).map(|(_, f)| *f) {
                    return Some((func, false));
                }
                return match (w, i.checked_sub(1).map(word_at)) {
                    ("recent", Some("most")) | ("latest" | "newest" | "last", _) => Some((AggregateFunc::Max, true)),
                    ("earliest" | "oldest", _) | ("first", Some("the" | "very" | "our")) => {
                        Some((AggregateFunc::Min, true))
                    }
                    ("fastest" | "quickest", _) => Some((AggregateFunc::Min, false)),
                    _ => None,
                };
            }
            None
        };
        let agg_before = |m: &Mention| agg_word_before(m).map(|(func, _)| func);
        let grouping_words = mentions.iter().any(|m| m.concepts.iter().any(|c| matches!(c, Concept::Dimension(_))))
            || time.grain.is_some()
            || ranking.is_some();
        let entity_threshold = self.entity_threshold(&mentions, &comparisons);
        let distinct_entity = self.distinct_entity(&mentions, &words);
        let mut comparison_targets: Vec<Option<(String, String)>> = vec![None; comparisons.len()];
        let beside_comparison = |m: &Mention, c: &Comparison| {
            c.token + 1 == m.start
                || m.end == c.token
                || (m.end + 1 == c.token && matches!(word_at(m.end), "of" | "is" | "was" | "at"))
        };
        // "took more than 48 hours to resolve": the span a comparison with a unit of time
        // bounds; the event named after it ("to resolve") is part of the condition.
        let elapsed_compared: Vec<usize> = comparisons
            .iter()
            .enumerate()
            .filter(|(_, c)| crate::measures::elapsed_unit(word_at(c.token + 1)).is_some())
            .map(|(k, _)| k)
            .collect();
        let in_elapsed_condition = |m: &Mention| {
            elapsed_compared.iter().any(|&k| m.start > comparisons[k].token && m.start <= comparisons[k].token + 4)
        };
        for (i, mention) in mentions.iter().enumerate() {
            if entity_threshold.as_ref().is_some_and(|(entity, _, _)| *entity == i) {
                continue;
            }
            if in_elapsed_condition(mention) && mention.concepts.iter().any(|c| matches!(c, Concept::Metric(_))) {
                used[i] = true;
                continue;
            }
            if in_subject(mention) {
                continue;
            }
            if let Some(distinct) = distinct_entity.as_ref().filter(|d| d.entity == i || d.rows == Some(i)) {
                if distinct.rows == Some(i) {
                    implied_filters.extend(distinct.rows_filter.clone());
                }
                used[i] = true;
                continue;
            }
            let agg = agg_before(mention);
            let column = mention.concepts.iter().find_map(|c| match c {
                Concept::Column { table, column } => Some((table.clone(), column.clone())),
                _ => None,
            });
            // "a csat of 2 or lower", "a first response over 30": what a metric averages,
            // compared row by row, not the metric.
            let names_aggregate = mention.text.split(' ').any(|w| AGG_WORDS.iter().any(|(a, _)| *a == w));
            if agg.is_none()
                && !names_aggregate
                && comparisons.iter().any(|c| beside_comparison(mention, c))
                && let Some(compared) = column.clone().or_else(|| self.measured_column(mention))
            {
                for (k, comparison) in comparisons.iter().enumerate() {
                    if beside_comparison(mention, comparison) {
                        comparison_targets[k] = Some(compared.clone());
                    }
                }
                used[i] = true;
                continue;
            }
            let metric = mention.concepts.iter().find_map(|c| match c {
                Concept::Metric(name) => Some(name.clone()),
                _ => None,
            });
            if column.is_some() && absence_cue(mention) {
                continue;
            }
            // "longest first response", "biggest paid invoice", "most recent signup": an
            // extreme or average of what a metric or table measures, not the metric itself.
            let aggregated = match (agg_word_before(mention), &column) {
                (Some((func, time_word)), None)
                    if !(matches!(func, AggregateFunc::Max | AggregateFunc::Min) && grouping_words) =>
                {
                    self.aggregated_column(mention, func, time_word)
                }
                _ => None,
            };
            if let Some((measure, filter)) = aggregated {
                if !measures.contains(&measure) {
                    measures.push(measure);
                }
                implied_filters.extend(filter);
                used[i] = true;
                continue;
            }
            match (agg, column, metric) {
                (Some(func), Some((table, column)), _)
                    if !(matches!(func, AggregateFunc::Max | AggregateFunc::Min) && grouping_words) =>
                {
                    let measure = Measure::Aggregate { func, table, column: Some(column) };
                    if !measures.contains(&measure) {
                        measures.push(measure);
                    }
                    used[i] = true;
                }
                (_, _, Some(name)) => {
                    if !measures.iter().any(|m| matches!(m, Measure::Metric { name: n } if *n == name)) {
                        measures.push(Measure::Metric { name: name.clone() });
                        measure_mention.push((i, name));
                    }
                    used[i] = true;
                }
                _ => {}
            }
        }
        let ratio = self.ratio_of(&mentions, &words, &text, &mut measures, &mut used);
        // A word that names both a count metric and its table ("subscriptions", "tickets")
        // only says which rows the other measure is about. A filtered metric named beside an
        // aggregate ("average MRR per active subscription") becomes that filter.
        if measures.len() > 1 && ratio.is_none() {
            for (i, name) in measure_mention.clone() {
                let table_word = mentions[i].concepts.iter().any(|c| matches!(c, Concept::Table(_)));
                let aggregate_beside = measures.iter().any(|m| matches!(m, Measure::Aggregate { .. }));
                let metric = self.layer.metric(&name);
                let is_plain_count = metric.is_some_and(|m| {
                    m.filter.is_none() && m.expression.replace(' ', "").eq_ignore_ascii_case("count(*)")
                });
                // "number of tickets and avg CSAT", "count and amount": a count asked for in so
                // many words is a measure of its own.
                let names_metric = |m: &Mention| m.concepts.contains(&Concept::Metric(name.clone()));
                let counted = (mentions
                    .iter()
                    .filter(|m| names_metric(m))
                    .any(|m| preceded_by(m, &["number", "many", "count", "#"], 3))
                    && has_word(&["and", "plus", "with"]))
                    || text_has("count and")
                    || text_has("and count");
                if !counted
                    && ((table_word && is_plain_count)
                        || (aggregate_beside && metric.is_some_and(|m| m.filter.is_some())))
                {
                    if aggregate_beside && let Some(filter) = metric.and_then(|m| m.filter.clone()) {
                        implied_filters.push(Filter::Sql {
                            table: metric.map(|m| m.table.clone()).unwrap_or_default(),
                            condition: filter,
                        });
                    }
                    if measures.len() > 1 {
                        measures.retain(|m| !matches!(m, Measure::Metric { name: n } if *n == name));
                        used[i] = false;
                    }
                }
            }
        }
        // "how long does it take to close tickets", "days to pay an invoice": the time between
        // two events of the rows named. A filtered metric named ("canceled subscriptions")
        // says which rows.
        let row_tables: Vec<String> = mentions
            .iter()
            .flat_map(|m| m.concepts.iter())
            .filter_map(|c| match c {
                Concept::Table(t) => Some(t.clone()),
                Concept::Metric(name) => self.layer.metric(name).map(|m| m.table.clone()),
                Concept::Value { dimension, .. } => {
                    self.layer.dimension(dimension).and_then(|d| d.columns().first().map(|(t, _)| t.to_string()))
                }
                _ => None,
            })
            .fold(Vec::new(), |mut tables, t| {
                if !tables.contains(&t) {
                    tables.push(t);
                }
                tables
            });
        if let Some(elapsed) = self.elapsed_measure(&words, &row_tables) {
            let table = self.measure_table(&elapsed).unwrap_or_default();
            for measure in &measures {
                if let Measure::Metric { name } = measure
                    && let Some(metric) = self.layer.metric(name)
                    && metric.table == table
                    && let Some(condition) = metric.filter.clone()
                {
                    implied_filters.push(Filter::Sql { table: table.clone(), condition });
                }
            }
            measures = vec![elapsed];
        }
        let count_cue = COUNT_CUES.iter().any(|cue| text_has(cue));
        let mut inferred_measure = false;
        if let Some(distinct) = &distinct_entity {
            measures.insert(0, distinct.measure.clone());
        }
        if let (true, Some((_, _, table))) = (measures.is_empty(), &entity_threshold) {
            measures.push(match self.count_metrics(table).as_slice() {
                [name] => Measure::Metric { name: name.clone() },
                _ => Measure::Aggregate { func: AggregateFunc::Count, table: table.clone(), column: None },
            });
        }
        // "how much did enterprise customers pay us": money asked with a verb of paying.
        // Also "which customers paid us the most", "accounts that paid us over $10,000".
        let paid_us = words.windows(2).any(|w| MONEY_VERBS.contains(&w[0].as_str()) && w[1] == "us");
        if measures.is_empty()
            && (text_has("how much") || paid_us)
            && has_word(MONEY_VERBS)
            && let Some(name) = self.money_metric()
        {
            measures.push(Measure::Metric { name });
            inferred_measure = true;
            // The verb of paying says what is measured, not which rows.
            for (i, m) in mentions.iter().enumerate() {
                if MONEY_VERBS.contains(&m.text.as_str()) {
                    used[i] = true;
                }
            }
        }
        if measures.is_empty() {
            let share_or_breakdown = has_word(SHARE_WORDS)
                || has_any(&normalized, BREAKDOWN_WORDS)
                || text_has("mix of")
                || ranking.is_some()
                || has_word(DESC_WORDS)
                || has_word(ASC_WORDS)
                || text_has("most common")
                || text_has("most frequent");
            // The subject of "how many invites did people send" is not what is counted.
            // "which account logged in the most": the entity ranked is not what is counted;
            // the rows a value names ("logged in" is a login event) are, per entity.
            let ranked_entity = |i: usize| {
                let m = &mentions[i];
                let entity_table = m.concepts.iter().find_map(|c| match c {
                    Concept::Table(t) => Some(t.as_str()),
                    _ => None,
                });
                m.start > 0
                    && matches!(word_at(m.start - 1), "which" | "what" | "top" | "__rank__")
                    && m.concepts.iter().any(|c| matches!(c, Concept::Dimension(_)))
                    && entity_table.is_some_and(|entity| {
                        mentions.iter().any(|other| {
                            other.concepts.iter().any(|c| match c {
                                Concept::Value { dimension, .. } => self.layer.dimension(dimension).is_some_and(|d| {
                                    d.columns().iter().all(|(t, _)| {
                                        *t != entity && self.graph.distance(t, entity).is_some_and(|d| d < 100)
                                    })
                                }),
                                _ => false,
                            })
                        })
                    })
            };
            let countable: Vec<usize> =
                (0..mentions.len()).filter(|&i| !in_subject(&mentions[i]) && !ranked_entity(i)).collect();
            let candidates: Vec<Mention> = countable.iter().map(|&i| mentions[i].clone()).collect();
            match self.count_subject(&candidates, count_cue, share_or_breakdown, context.is_some(), &time) {
                Subject::Measure(measure, i) => {
                    let i = i.map(|i| countable[i]);
                    inferred_measure = true;
                    measures.push(measure);
                    // "assignments per experiment": the rows counted are named by the word
                    // after "per", which still groups them.
                    if let Some(i) = i
                        && !(preceded_by(&mentions[i], &["per", "by", "each", "across"], 1)
                            && mentions[i].concepts.iter().any(|c| matches!(c, Concept::Dimension(_))))
                    {
                        used[i] = true;
                    }
                }
                Subject::Clarify(reading) => return *reading,
                Subject::None => {}
            }
        }

        // "for each?", "... instead of the count": the question leans on the previous one.
        let refers_back = has_word(&["those", "these", "them", "their", "they", "it", "that", "instead"])
            || normalized.ends_with(" each")
            || normalized.ends_with(" for each");
        let follow_up = context.is_some()
            && (measures.is_empty()
                || refers_back
                || FOLLOW_UP_STARTS.iter().any(|s| normalized.starts_with(&format!("{s} "))));
        // "only outage tickets" after a question about tickets: the table word says which
        // rows, the previous measure stays.
        if follow_up
            && let (Some(previous), [Measure::Metric { name }]) = (context, measures.as_slice())
            && measure_mention
                .iter()
                .any(|(i, n)| n == name && mentions[*i].concepts.iter().any(|c| matches!(c, Concept::Table(_))))
            && self.count_metrics(&self.layer.metric(name).map(|m| m.table.clone()).unwrap_or_default()).contains(name)
            && self.base_table(&previous.measures).ok() == self.layer.metric(name).map(|m| m.table.clone())
        {
            measures.clear();
        }
        let mut query = match (follow_up, context) {
            (true, Some(previous)) if measures.is_empty() => previous.clone(),
            (true, Some(previous)) => {
                // "add the number of refunded invoices too": a measure added to the ones shown.
                let adds_measure = has_word(&["add", "also", "too", "plus"]) && !has_word(&["instead", "rather"]);
                let mut next = if adds_measure { previous.measures.clone() } else { Vec::new() };
                for measure in &measures {
                    if !next.contains(measure) {
                        next.push(measure.clone());
                    }
                }
                // "total seats instead of the count" of active subscriptions: the rows the
                // replaced metric counted stay the rows asked about.
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
            _ => SemanticQuery { measures: measures.clone(), ..SemanticQuery::empty() },
        };
        if query.measures.is_empty() {
            let understood: Vec<String> = mentions.iter().map(|m| describe_mention(&self.layer, m)).collect();
            let mut not_understood: Vec<String> =
                words.iter().filter(|w| !is_stopword(w) && !w.starts_with("__")).cloned().collect();
            not_understood.retain(|w| !mentions.iter().any(|m| m.text.split(' ').any(|t| t == w)));
            if not_understood.is_empty() {
                not_understood.push("which metric to compute (e.g. signups, revenue, active users, tickets)".into());
            }
            return Reading::Unmapped { understood, not_understood };
        }
        let base_table = match self.base_table(&query.measures) {
            Ok(table) => table,
            Err(tables) => {
                return Reading::Unmapped {
                    understood: query.measures.iter().map(|m| self.describe_measure(m)).collect(),
                    not_understood: vec![format!(
                        "how to combine measures from different tables ({}) in one answer; ask for them one at a time",
                        tables.join(", ")
                    )],
                };
            }
        };

        // "how many logins and how many distinct users": the rows the first "how many" names
        // are counted beside the second measure.
        let how_many: Vec<usize> =
            (1..words.len()).filter(|&k| word_at(k) == "many" && word_at(k - 1) == "how").collect();
        let counts_rows = |m: &Measure| match m {
            Measure::Aggregate { func, .. } => *func == AggregateFunc::Count,
            Measure::Metric { name } => {
                self.layer.metric(name).is_some_and(|m| m.expression.replace(' ', "").eq_ignore_ascii_case("count(*)"))
            }
            Measure::Elapsed { .. } => false,
        };
        if how_many.len() >= 2 && query.measures.len() == 1 && !counts_rows(&query.measures[0]) {
            let first = how_many[0];
            let rows_named = mentions.iter().any(|m| {
                m.start == first + 1
                    && m.concepts.iter().all(|c| matches!(c, Concept::Value { .. } | Concept::Segment(_)))
            });
            if rows_named {
                query.measures.insert(0, Measure::Aggregate { func: AggregateFunc::Count, table: base_table.clone(), column: None });
            }
        }

        // "count and amount", "total amount sitting in open invoices": the amount is the sum of
        // the money column of the rows asked about, beside a count asked for or instead of one
        // that was only inferred.
        let amount_asked = ["total amount", "and amount", "amount and", "and the amount", "and total amount"]
            .iter()
            .any(|phrase| text_has(phrase));
        if amount_asked && let Some(column) = self.money_column(&base_table) {
            let sum = Measure::Aggregate { func: AggregateFunc::Sum, table: base_table.clone(), column: Some(column) };
            let sums_money = query.measures.iter().any(|m| self.is_sum(m));
            if !sums_money {
                if inferred_measure && !has_word(&["count", "many", "number"]) {
                    query.measures = vec![sum];
                } else {
                    query.measures.push(sum);
                }
            }
        }

        // "how many refunds did we issue and what did they add up to": a count of the rows a
        // summed metric covers, beside the sum, both under the metric's own filter.
        let count_and_sum = text_has("how many")
            && has_word(&["and"])
            && ["how much", "add up", "in total", "total amount", "sum to", "worth"].iter().any(|p| text_has(p));
        if count_and_sum
            && let [Measure::Metric { name }] = query.measures.as_slice()
            && let Some(metric) = self.layer.metric(name)
            && let Some(column) = summed_column(&metric.expression)
        {
            let table = metric.table.clone();
            implied_filters
                .extend(metric.filter.clone().map(|condition| Filter::Sql { table: table.clone(), condition }));
            query.measures = vec![
                Measure::Aggregate { func: AggregateFunc::Count, table: table.clone(), column: None },
                Measure::Aggregate { func: AggregateFunc::Sum, table, column: Some(column) },
            ];
        }

        // Filters and groups from the remaining mentions.
        let overall = has_word(&["overall", "altogether", "combined"]) || text_has("in total");
        let mut new_groups: Vec<String> = Vec::new();
        let mut implicit_grouping = false;
        let mut unused_phrases = 0;
        // A table word or metric of the measure's own table only says which rows are counted,
        // and one of a table the rows belong to ("customers" of subscriptions) who they are.
        let owner = |t: &str| t == base_table || self.graph.distance(&base_table, t).is_some_and(|d| d < 100);
        let names_base_rows = |m: &Mention| {
            m.concepts.iter().any(|c| match c {
                Concept::Table(t) => owner(t),
                Concept::Metric(name) => self.layer.metric(name).is_some_and(|m| owner(&m.table)),
                _ => false,
            })
        };
        let mut ungrouped: Vec<String> = Vec::new();
        let mut new_filters: Vec<Filter> = implied_filters;
        let mut ignored: Vec<String> = Vec::new();
        let mentioned_value_dims: BTreeSet<String> = mentions
            .iter()
            .flat_map(|m| m.concepts.iter())
            .filter_map(|c| match c {
                Concept::Value { dimension, .. } => Some(dimension.clone()),
                _ => None,
            })
            .collect();
        for (i, mention) in mentions.iter().enumerate() {
            if used[i] || verb_after_subject(mention) {
                continue;
            }
            let negated = preceded_by(mention, NEGATION_WORDS, 2)
                || (mention.start >= 2
                    && word_at(mention.start - 2) == "other"
                    && word_at(mention.start - 1) == "than");
            if let Some(filter) = self.closest_filter(&base_table, mention, &new_groups) {
                let filter = if negated { self.negate_segment(filter) } else { filter };
                match filter {
                    Filter::Values { dimension, values, .. } => {
                        add_value_filter(&mut new_filters, dimension, values[0].clone(), negated);
                    }
                    other => new_filters.push(other),
                }
                continue;
            }
            let dimensions: Vec<String> = mention
                .concepts
                .iter()
                .filter_map(|c| match c {
                    Concept::Dimension(d) => Some(d.clone()),
                    _ => None,
                })
                .collect();
            if let Some(dimension) = dimensions
                .iter()
                .filter_map(|d| self.dimension_distance(&base_table, d).map(|cost| (cost, d.clone())))
                .min()
                .map(|(_, d)| d)
            {
                let is_table_word = mention.concepts.iter().any(|c| matches!(c, Concept::Table(_)));
                // "invoice size": an attribute of the measure's own rows, not the dimension of
                // another table that has the word.
                let of_other_rows = i > 0
                    && mentions[i - 1].end == mention.start
                    && mentions[i - 1].concepts.contains(&Concept::Table(base_table.clone()))
                    && self.layer.dimension(&dimension).is_some_and(|d| d.columns().iter().all(|(t, _)| *t != base_table));
                if of_other_rows && !group_cue(mention) {
                    unused_phrases += 1;
                    continue;
                }
                // "customer industry": a table word naming whose attribute follows.
                // "account logged in" is not one: the login is not the account's attribute.
                let own_tables: Vec<&str> = mention
                    .concepts
                    .iter()
                    .filter_map(|c| match c {
                        Concept::Table(t) => Some(t.as_str()),
                        _ => None,
                    })
                    .collect();
                let attribute_of_own = |d: &str| {
                    self.layer.dimension(d).is_some_and(|d| d.columns().iter().any(|(t, _)| own_tables.contains(t)))
                };
                let qualifies_next = mentions.get(i + 1).is_some_and(|next| {
                    next.start == mention.end
                        && next.concepts.iter().any(|c| match c {
                            Concept::Dimension(d) | Concept::Value { dimension: d, .. } => attribute_of_own(d),
                            _ => false,
                        })
                });
                if is_table_word && qualifies_next {
                    continue;
                }
                // "for healthcare accounts", "from French customers": a value right before a
                // table word says which rows to keep, not that each one is a group.
                // "annual plans": likewise a value right before a dimension's own word.
                let filtered_by_value = i > 0
                    && mentions[i - 1].end == mention.start
                    && mentions[i - 1].concepts.iter().any(|c| matches!(c, Concept::Value { .. }));
                if filtered_by_value && (is_table_word || !group_cue(mention)) {
                    continue;
                }
                // "by region and plan": a list after a grouping cue keeps grouping.
                let continues_list = mention.start >= 1
                    && matches!(word_at(mention.start - 1), "and" | "&")
                    && i > 0
                    && mentions[i - 1].end + 1 == mention.start
                    && mentions[i - 1]
                        .concepts
                        .iter()
                        .any(|c| matches!(c, Concept::Dimension(d) if new_groups.contains(d)));
                // "the overall rate across experiments" asks for one number.
                let overall_across = overall && preceded_by(mention, &["across", "over"], 2);
                let explicit = (group_cue(mention) && !overall_across)
                    || continues_list
                    || (normalized.starts_with("which") && mention.start <= 1)
                    || entity_threshold.as_ref().is_some_and(|(entity, _, _)| *entity == i);
                let implicit_allowed = !is_table_word && !overall && !mentioned_value_dims.contains(&dimension);
                if overall_across {
                    continue;
                }
                // "across all platforms", "all platforms together": that dimension is summed over.
                let summed_over = mention.start >= 2
                    && matches!(word_at(mention.start - 1), "all" | "every")
                    && matches!(word_at(mention.start - 2), "across" | "over" | "for" | "on" | "from");
                if summed_over || matches!(word_at(mention.end), "together" | "combined") {
                    ungrouped.push(dimension);
                    continue;
                }
                if (explicit || implicit_allowed) && !new_groups.contains(&dimension) {
                    implicit_grouping |= !explicit;
                    new_groups.push(dimension);
                } else if !explicit && !implicit_allowed && !names_base_rows(mention) {
                    unused_phrases += 1;
                }
                continue;
            }
            if let Some((table, column)) = mention.concepts.iter().find_map(|c| match c {
                Concept::Column { table, column } => Some((table.clone(), column.clone())),
                _ => None,
            }) {
                // A column right after or right before a comparison ("csat of 2 or lower") is
                // what it compares; a range ("between 5 and 20 seats") is two comparisons.
                if comparisons.iter().any(|c| beside_comparison(mention, c)) {
                    for (k, comparison) in comparisons.iter().enumerate() {
                        if beside_comparison(mention, comparison) {
                            comparison_targets[k] = Some((table.clone(), column.clone()));
                        }
                    }
                    continue;
                }
                let missing_after = matches!(word_at(mention.end), "is" | "are")
                    && matches!(word_at(mention.end + 1), "missing" | "null" | "empty" | "blank" | "unknown");
                if missing_after || absence_cue(mention) {
                    new_filters.push(Filter::Null { table, column, is_null: true });
                    continue;
                }
            }
            if mention.concepts.iter().any(|c| matches!(c, Concept::Table(_) | Concept::Metric(_))) {
                // "students who have friends": another table named and not acted on.
                if !names_base_rows(mention) {
                    unused_phrases += 1;
                }
                continue;
            }
            ignored.push(mention.text.clone());
        }
        // "events by type": a word after "by" that names no dimension but is a word of exactly
        // one dimension's names on the measure's table ("event type").
        for i in 0..words.len().saturating_sub(1) {
            if !matches!(words[i].as_str(), "by" | "per") || covered.contains(&(i + 1)) || is_stopword(&words[i + 1]) {
                continue;
            }
            let wanted = crate::text::stem(&words[i + 1]);
            let named: Vec<&str> = self
                .layer
                .dimensions
                .iter()
                .filter(|d| d.columns().iter().any(|(t, _)| *t == base_table))
                .filter(|d| {
                    std::iter::once(d.name.as_str())
                        .chain(std::iter::once(d.label.as_str()))
                        .chain(d.synonyms.iter().map(String::as_str))
                        .any(|phrase| crate::text::phrase_key(phrase).contains(&wanted))
                })
                .map(|d| d.name.as_str())
                .collect();
            if let [dimension] = named.as_slice() {
                covered.insert(i + 1);
                if !new_groups.iter().any(|g| g == dimension) {
                    new_groups.push(dimension.to_string());
                }
            }
        }
        // Two or more values of one dimension compared ("monthly and annual billing") are a
        // breakdown by that dimension.
        if has_any(&normalized, BREAKDOWN_WORDS) {
            for filter in &new_filters {
                if let Filter::Values { dimension, values, negated: false } = filter
                    && values.len() > 1
                    && !new_groups.contains(dimension)
                {
                    new_groups.push(dimension.clone());
                }
            }
        }
        // "invoices over $5,000": an amount of money compares the money column of the rows
        // counted, unless the measure itself is that money per group (a threshold on it).
        let money_column = self.money_column(&base_table);
        let money_measure_grouped = !new_groups.is_empty() && query.measures.iter().any(|m| self.is_sum(m));
        for (k, comparison) in comparisons.iter().enumerate() {
            if comparison.money
                && comparison_targets[k].is_none()
                && !money_measure_grouped
                && let Some(column) = &money_column
            {
                comparison_targets[k] = Some((base_table.clone(), column.clone()));
            }
        }
        let mut new_having = Vec::new();
        for (k, comparison) in comparisons.iter().enumerate() {
            if comparison_targets[k].is_none()
                && elapsed_compared.contains(&k)
                && let Some(filter) = self.elapsed_condition(&base_table, comparison, &words[comparison.token + 1..])
            {
                new_filters.push(filter);
                continue;
            }
            if comparison_targets[k].is_none()
                && elapsed_compared.contains(&k)
                && let Some(filter) =
                    self.duration_column_condition(comparison, word_at(comparison.token + 1), &mentions)
            {
                new_filters.push(filter);
                continue;
            }
            match &comparison_targets[k] {
                Some((table, column)) => new_filters.push(Filter::Compare {
                    table: table.clone(),
                    column: column.clone(),
                    op: comparison.op,
                    value: comparison.value.clone(),
                }),
                None => new_having.push(MeasureFilter { op: comparison.op, value: comparison.value.clone() }),
            }
        }

        // Merge with the conversation: new groups replace old ones unless added to them
        // ("also by plan", "break that down by plan": a drill-down keeps what was there,
        // "by plan instead" does not); new filters on a dimension replace old filters on it.
        if follow_up {
            let drills_down = has_word(&["break", "breakdown", "split", "further"]) || text_has("drill");
            let adds =
                (has_word(&["also", "too", "additionally", "add", "plus"]) || text_has("as well") || drills_down)
                    && !has_word(&["instead", "rather"]);
            if !new_groups.is_empty() && !adds {
                query.group_by.clear();
                if time.grain.is_none() && !time.trend {
                    query.grain = None;
                }
            }
            for filter in &new_filters {
                if let Filter::Values { dimension, .. } = filter {
                    query.filters.retain(|f| !matches!(f, Filter::Values { dimension: d, .. } if d == dimension));
                }
            }
            if !new_having.is_empty() {
                query.having.clear();
            }
        } else {
            query.group_by.clear();
            query.filters.clear();
        }
        for group in new_groups {
            if !query.group_by.contains(&group) {
                query.group_by.push(group);
            }
        }
        query.group_by.retain(|g| !ungrouped.contains(g));
        query.filters.extend(new_filters);
        query.having.extend(new_having);

        // Time: a new range replaces the old; grains and trends.
        if let Some(range) = time.range.clone() {
            query.time_range = Some(range);
        } else if time.all_time {
            query.time_range = None;
        } else if let (Some(unit), Some(range)) = (&shift_back, &query.time_range)
            && let Some(shifted) = crate::time::shift_back(range, unit)
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
            assumptions.push(format!(
                "{} means the current {}",
                words
                    .iter()
                    .find(|w| matches!(w.as_str(), "dau" | "wau" | "mau"))
                    .map(|w| w.to_uppercase())
                    .unwrap_or_default(),
                grain.unit()
            ));
        }
        if let (Some(grain), Some(range)) = (query.grain, &query.time_range)
            && self.single_period(grain, range)
            && !time.grain_named_as_group
        {
            query.grain = None;
        }

        if !periods.is_empty() {
            query.periods = periods;
            query.time_range = None;
            query.grain = None;
        }

        // "top 5 users by events": an entity with no label dimension ranked by the measure is
        // grouped by its key on the measure's rows.
        if query.group_by.is_empty()
            && query.grain.is_none()
            && (ranking.is_some() || has_word(DESC_WORDS) || has_word(ASC_WORDS))
            && let Some(key) = mentions.iter().find_map(|m| {
                let ranked = m.start > 0 && matches!(word_at(m.start - 1), "__rank__" | "top" | "bottom" | "which");
                let table = m.concepts.iter().find_map(|c| match c {
                    Concept::Table(t) if *t != base_table => Some(t.clone()),
                    _ => None,
                })?;
                let key = match self.layer.table(&table)?.primary_key.as_slice() {
                    [key] => key.clone(),
                    _ => return None,
                };
                let group = format!("{base_table}.{key}");
                (ranked && self.key_column(&group).is_some()).then_some(group)
            })
        {
            // "which users logged in the most": counting distinct users per user says 1; the
            // rows are counted instead.
            let column = key.split_once('.').map(|(_, c)| c.to_string()).unwrap_or_default();
            let distinct_key = |m: &Measure| match m {
                Measure::Aggregate { func: AggregateFunc::CountDistinct, column: Some(c), .. } => *c == column,
                Measure::Metric { name } => self.layer.metric(name).is_some_and(|m| {
                    m.expression.replace(' ', "").to_lowercase() == format!("count(distinct{column})")
                }),
                _ => false,
            };
            if let [only] = query.measures.as_slice()
                && distinct_key(only)
            {
                let plain: Vec<String> = self
                    .count_metrics(&base_table)
                    .into_iter()
                    .filter(|name| self.layer.metric(name).is_some_and(|m| m.filter.is_none() && m.expression.replace(' ', "").eq_ignore_ascii_case("count(*)")))
                    .collect();
                query.measures = vec![match plain.as_slice() {
                    [name] => Measure::Metric { name: name.clone() },
                    _ => Measure::Aggregate { func: AggregateFunc::Count, table: base_table.clone(), column: None },
                }];
            }
            query.group_by.push(key);
        }
        if inferred_measure
            && !follow_up
            && let Some(name) = self.metric_of_grouped_dimension(&query)
        {
            assumptions.push(format!("counted {} (what {} describes)", name.replace('_', " "), query.group_by.join(", ")));
            query.measures = vec![Measure::Metric { name }];
        }

        // Ranking without a number, and shares.
        let has_groups = !query.group_by.is_empty() || query.grain.is_some();
        if ranking.is_none() {
            let desc = has_word(DESC_WORDS) || text_has("most frequent") || text_has("most common");
            let asc = has_word(ASC_WORDS);
            if (desc || asc) && has_groups {
                let which = normalized.starts_with("which")
                    || (normalized.starts_with("what") && !normalized.starts_with("what are"));
                // "top channels" shows several, "top cancel reason" one.
                let plural_top = words.iter().enumerate().any(|(i, w)| {
                    (w == "top" || w == "bottom")
                        && !mentions.iter().any(|m| {
                            m.start == i + 1
                                && m.concepts.iter().any(|c| matches!(c, Concept::Dimension(_)))
                                && m.text.split(' ').next_back().is_some_and(|last| crate::text::stem(last) == last && !last.ends_with('s'))
                        })
                });
                let singular_top = !plural_top && words.iter().any(|w| w == "top" || w == "bottom");
                let all = text_has("show all") || text_has("all of them") || words.iter().any(|w| w == "all");
                let limit = if all {
                    None
                } else if plural_top {
                    Some(10)
                } else if which || singular_top || is_singular_question(&normalized) || time.grain_named_as_group {
                    Some(1)
                } else {
                    None
                };
                ranking = Some(Ranking { descending: desc || !asc, limit });
                if limit == Some(10) {
                    assumptions.push("top without a number shows 10".into());
                }
            } else if has_word(RANK_WORDS) && has_groups && !has_word(&["chronological", "chronologically"]) {
                ranking = Some(Ranking { descending: !asc, limit: None });
            }
        }
        if let Some(ranking) = ranking.filter(|_| has_groups) {
            query.ranking = Some(ranking);
        } else if let Some(word) = words.iter().enumerate().find_map(|(i, w)| {
            let ranks = w.starts_with("__rank") || matches!(w.as_str(), "top" | "bottom" | "least" | "fewest" | "leading");
            (ranks && !covered.contains(&i)).then(|| w.clone())
        }) {
            // "top 5 users by events" with nothing to rank: the total would answer another
            // question.
            ignored.push(if word.starts_with("__rank") { "a ranking with nothing to rank".into() } else { word });
        }
        if ratio.is_some() && query.measures.len() == 2 {
            query.ratio = ratio;
        } else if has_word(SHARE_WORDS) || text_has("mix of") || text_has("the mix") {
            query.share = true;
        }

        let metric_has_time = query.measures.iter().all(|m| self.measure_time_column(m).is_some());
        if query.time_range.is_some() && !metric_has_time {
            assumptions.push("this measure is a current value; the time range does not apply to it".into());
            query.time_range = None;
        }
        // A grain asked of a measure with no time column cannot be shown: answering the total
        // instead would answer another question.
        let dropped_grain = query.grain.filter(|_| !metric_has_time && !follow_up).map(|g| format!("by {}", g.unit()));
        if query.grain.is_some() && !metric_has_time {
            assumptions
                .push("this measure is a current value with no history; it is shown without a time grain".into());
            query.grain = None;
        }
        if !metric_has_time && !query.periods.is_empty() {
            ignored.push(format!("{} (this measure is a current value)", query.periods[0].phrase));
        }
        if query.time_range.is_none() && query.periods.is_empty() && metric_has_time && !time.all_time && !follow_up {
            assumptions.push("no time range given: all data in the snapshot".into());
        }
        // "what % of subscriptions are active": the value is the share's numerator, not which
        // metric counts.
        if !(query.share && query.group_by.is_empty() && query.grain.is_none()) {
            self.specialize_metric(&mut query);
        }
        // "how many subscriptions do we have": a stock, not a flow. A count with a time
        // column asked in the present with no window is the same table's count of the current
        // state, when the layer has exactly one (a count with no time column).
        let present = ["do we have", "are there", "right now", "currently", "at the moment", "as of now"]
            .iter()
            .any(|p| text_has(p) || normalized.contains(p));
        if present
            && query.time_range.is_none()
            && query.grain.is_none()
            && let [Measure::Metric { name }] = query.measures.as_slice()
            && let Some(metric) = self.layer.metric(name)
            && metric.time_column.is_some()
            && metric.filter.is_none()
        {
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
                assumptions.push(format!("'{}' in the present means the current state", name.replace('_', " ")));
                query.measures = vec![Measure::Metric { name: stock.to_string() }];
            }
        }
        self.unfilter_contradicted_metric(&mut query);
        // "invoices were paid", "tickets resolved": a value said as what happened to the rows
        // (after a verb or after the rows' own word), not as which rows ("paid invoices").
        let event_values: Vec<String> = mentions
            .iter()
            .enumerate()
            .filter(|(i, m)| {
                !preceded_by(m, NEGATION_WORDS, 4)
                    && preceded_by(m, &["were", "was", "got", "get", "been", "are", "is"], 1)
                    || (*i > 0
                        && !preceded_by(m, NEGATION_WORDS, 4)
                        && mentions[i - 1].end == m.start
                        && mentions[i - 1].concepts.iter().any(|c| matches!(c, Concept::Table(_) | Concept::Metric(_))))
            })
            .flat_map(|(_, m)| {
                m.concepts.iter().filter_map(|c| match c {
                    Concept::Value { value, .. } => Some(value.clone()),
                    _ => None,
                })
            })
            .collect();
        query.time_column = self.event_time_column(&query, &event_values);
        query.named_tables = mentions
            .iter()
            .flat_map(|m| {
                m.concepts.iter().filter_map(|c| match c {
                    Concept::Table(t) => Some(t.clone()),
                    _ => None,
                })
            })
            .collect();
        // Words that name nothing: conversation around the question is left out freely; a
        // content word lowers confidence, since the reading may answer another question.
        let (filler_words, unknown_words): (Vec<String>, Vec<String>) = words
            .iter()
            .enumerate()
            .filter(|(i, w)| {
                !covered.contains(i)
                    && !w.starts_with("__")
                    && !is_known_word(w)
                    && !self.layer_words.contains(&crate::text::stem(w))
            })
            .map(|(_, w)| w.clone())
            .partition(|w| is_filler(w));
        let content_words = words.iter().filter(|w| !w.starts_with("__") && !is_stopword(w) && !is_filler(w)).count();
        let linked_words = covered.iter().filter(|&&i| words.get(i).is_some_and(|w| !is_stopword(w))).count();
        let corrections = assumptions.iter().filter(|a| a.starts_with("read '")).count();
        let unknown_values: Vec<String> = words
            .iter()
            .enumerate()
            .filter(|(i, w)| {
                unknown_words.contains(w)
                    && (preceded_by_word(&words, *i, &["from", "in", "for", "at", "among", "with", "on"])
                        || (*i > 1
                            && words[i - 1] == "the"
                            && preceded_by_word(&words, i - 1, &["from", "in", "for", "at"])))
            })
            .map(|(_, w)| w.clone())
            .collect();
        let evidence = Evidence {
            content_words,
            linked_words: linked_words.min(content_words),
            unknown_words,
            unknown_values,
            filler_words,
            corrections,
            assumptions: assumptions.len() - corrections,
            inferred_measure,
            implicit_grouping,
            follow_up,
            measures: query.measures.len(),
            ambiguous_phrases: mentions
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
                .count(),
            far_joins: self.far_joins(&query),
            unused_phrases,
            bare_count: !count_cue
                && query.group_by.is_empty()
                && query.grain.is_none()
                && query.time_range.is_none()
                && query.filters.is_empty()
                && query.measures.iter().all(|m| self.is_plain_count(m))
                && measure_mention
                    .iter()
                    .all(|(i, _)| mentions[*i].concepts.iter().any(|c| matches!(c, Concept::Table(_)))),
        };
        // A phrase the layer knows that the reading could not apply, or a cue it did not act
        // on, would be silently dropped: that blocks the answer.
        ignored.extend(dropped_grain);
        ignored.extend(self.unexplained_words(&words, &covered, &query));
        // "what are the names of the sections", "distinct names of singers": a list of rows
        // asked for, which a count does not answer.
        let all_counts = !query.measures.is_empty() && query.measures.iter().all(|m| self.is_plain_count(m));
        let table_word_count =
            measure_mention.iter().all(|(i, _)| mentions[*i].concepts.iter().any(|c| matches!(c, Concept::Table(_))));
        let list_start =
            ["what are", "what were", "list", "show all", "show the", "give me the", "name the", "find the name"]
                .iter()
                .any(|start| normalized.starts_with(start));
        let names_asked = has_word(&["names", "name"]);
        if !count_cue
            && all_counts
            && query.group_by.is_empty()
            && query.grain.is_none()
            && ((table_word_count && list_start) || names_asked)
        {
            ignored.push("a list of rows (quarry answers with numbers)".into());
        }
        ignored.dedup();
        Reading::Query { query, assumptions, ignored, follow_up, evidence: Box::new(evidence) }
    }

    /// Words the interpreter knows that the reading does not act on: an aggregate word
    /// ("average", "longest", "distinct") whose aggregate is in no measure or ranking, a share
    /// word without a share, and a number that no time range, ranking or comparison took. An
    /// answer that drops them answers another question, so they count as not understood.
    fn unexplained_words(&self, words: &[String], covered: &BTreeSet<usize>, query: &SemanticQuery) -> Vec<String> {
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

    /// Comparisons ("more than 10", "at least 5k"), replaced in `text` by placeholders.
    /// Numbers inside a vocabulary phrase ("more than 1000 employees") are left alone.
    fn extract_comparisons(&self, text: &mut String) -> Vec<Comparison> {
        let mut comparisons = Vec::new();
        // "over an hour", "within half an hour": a unit of time without a number is one of it.
        for (spoken, number) in [("half an hour", "30 minutes"), ("an hour", "1 hour"), ("a day", "1 day"), ("a minute", "1 minute"), ("a week", "7 days")] {
            for cue in ["over", "than", "under", "within", "least", "most"] {
                *text = text.replace(&format!("{cue} {spoken}"), &format!("{cue} {number}"));
            }
        }
        // "between 5 and 20", "between $100 and $500": both bounds, included, on one token.
        while let Some(caps) = BETWEEN_RE.captures(text) {
            let whole = caps.get(0).expect("whole match");
            let token = text[..whole.start()].split_whitespace().count();
            let money = whole.as_str().contains('$') || caps.name("usd").is_some();
            for (bound, op) in [("a", CompareOp::Ge), ("b", CompareOp::Le)] {
                let value = caps.name(bound).map(|m| m.as_str().to_string()).unwrap_or_default();
                comparisons.push(Comparison { token, op, value, money });
            }
            let placeholder = format!(" __cmp{}__ ", comparisons.len() - 1);
            text.replace_range(whole.range(), &placeholder);
        }
        let mut from = 0;
        while let Some(caps) = COMPARE_RE.captures_at(text, from) {
            let whole = caps.get(0).expect("whole match");
            let window: Vec<String> = tokens(&text[whole.start()..]).into_iter().take(6).collect();
            let number_token =
                tokens(whole.as_str()).iter().position(|t| t.chars().next().is_some_and(|c| c.is_ascii_digit()));
            if let Some(position) = number_token
                && self.vocab.mentions(&window).iter().any(|m| m.start == 0 && m.end > position)
            {
                from = whole.end();
                continue;
            }
            let op_word = caps.name("op").or(caps.name("op2")).map(|m| m.as_str()).unwrap_or("=");
            let or_extra = caps.name("orx").map(|m| m.as_str());
            let number = caps.name("n").or(caps.name("n2")).map(|m| m.as_str()).unwrap_or("0");
            let spelled = parse_number_word(number).map(|n| n.to_string());
            let number = spelled.as_deref().unwrap_or(number);
            let multiplier = match caps.name("unit").map(|m| m.as_str()) {
                Some("k" | "thousand") => 1_000.0,
                Some("m" | "million") => 1_000_000.0,
                _ => 1.0,
            };
            let value = if multiplier == 1.0 {
                number.to_string()
            } else {
                format!("{}", number.parse::<f64>().unwrap_or(0.0) * multiplier)
            };
            let op = match (op_word, or_extra) {
                (
                    "more than" | "greater than" | "higher than" | "larger than" | "bigger than" | "longer than" | "over"
                    | "above" | "exceeding" | ">",
                    None,
                ) => CompareOp::Gt,
                ("less than" | "fewer than" | "lower than" | "smaller than" | "shorter than" | "under" | "below" | "<", None) => {
                    CompareOp::Lt
                }
                ("within", None) => CompareOp::Le,
                (
                    "at least" | "no less than" | ">=" | "or more" | "or above" | "or higher" | "and up" | "plus" | "+",
                    _,
                ) => CompareOp::Ge,
                ("at most" | "no more than" | "<=" | "or less" | "or fewer" | "or below" | "or lower", _) => {
                    CompareOp::Le
                }
                (_, Some("or less" | "or fewer" | "or below" | "or lower")) => CompareOp::Le,
                (_, Some(_)) => CompareOp::Ge,
                _ => CompareOp::Eq,
            };
            let placeholder = format!(" __cmp{}__ ", comparisons.len());
            let token = text[..whole.start()].split_whitespace().count();
            let after = text[whole.end()..].split_whitespace().next().unwrap_or_default();
            let money = whole.as_str().contains('$') || matches!(after, "dollars" | "usd" | "bucks");
            comparisons.push(Comparison { token, op, value, money });
            let start = whole.start();
            text.replace_range(whole.range(), &placeholder);
            from = start + placeholder.len();
        }
        comparisons
    }

    pub(crate) fn base_table(&self, measures: &[Measure]) -> Result<String, Vec<String>> {
        let tables: BTreeSet<String> = measures.iter().filter_map(|m| self.measure_table(m)).collect();
        if tables.len() == 1 {
            Ok(tables.into_iter().next().expect("one table"))
        } else {
            Err(tables.into_iter().collect())
        }
    }

    pub(crate) fn measure_table(&self, measure: &Measure) -> Option<String> {
        match measure {
            Measure::Metric { name } => self.layer.metric(name).map(|m| m.table.clone()),
            Measure::Aggregate { table, .. } | Measure::Elapsed { table, .. } => Some(table.clone()),
        }
    }

    pub(crate) fn measure_time_column(&self, measure: &Measure) -> Option<String> {
        match measure {
            Measure::Metric { name } => self.layer.metric(name).and_then(|m| m.time_column.clone()),
            Measure::Aggregate { table, .. } | Measure::Elapsed { table, .. } => self.default_time_column(table),
        }
    }

    /// The time column of a table for ad-hoc aggregates: the one its metrics use,
    /// preferring an unfiltered metric's.
    pub(crate) fn default_time_column(&self, table: &str) -> Option<String> {
        let with_time = |unfiltered: bool| {
            self.layer
                .metrics
                .iter()
                .find(|m| m.table == table && m.time_column.is_some() && (!unfiltered || m.filter.is_none()))
                .and_then(|m| m.time_column.clone())
        };
        with_time(true).or_else(|| with_time(false))
    }

    pub(crate) fn describe_measure(&self, measure: &Measure) -> String {
        match measure {
            Measure::Metric { name } => {
                self.layer.metric(name).map(|m| m.display_name().to_string()).unwrap_or_else(|| name.clone())
            }
            Measure::Aggregate { func, table, column } => {
                format!("{} of {table}.{}", func.sql().1, column.as_deref().unwrap_or("rows"))
            }
            Measure::Elapsed { func, table, from, to, unit } => {
                format!("{} {} from {table}.{from} to {table}.{to}", func.sql().1, unit.name())
            }
        }
    }

    /// A group named `table.column` rather than by a dimension: the key of an entity with no
    /// label of its own ("top 5 users" groups by `events.user_id`). `None` for a dimension's
    /// name or a column the layer does not have (or keeps private).
    pub(crate) fn key_column(&self, group: &str) -> Option<(String, String)> {
        if self.layer.dimension(group).is_some() {
            return None;
        }
        let (table, column) = group.split_once('.')?;
        self.layer
            .table(table)?
            .columns
            .iter()
            .any(|c| c.name == column && !c.personal)
            .then(|| (table.to_string(), column.to_string()))
    }

    /// The join cost from `base` to the closest column of `dimension`.
    pub(crate) fn dimension_distance(&self, base: &str, dimension: &str) -> Option<usize> {
        if let Some((table, _)) = self.key_column(dimension) {
            return self.graph.distance(base, &table);
        }
        let dimension = self.layer.dimension(dimension)?;
        dimension.columns().iter().filter_map(|(table, _)| self.graph.distance(base, table)).min()
    }

    fn current_period(&self, grain: TimeGrain) -> TimeRange {
        let as_of = self.as_of;
        let start = match grain {
            TimeGrain::Day => as_of,
            TimeGrain::Week => as_of - Duration::days(as_of.weekday().num_days_from_monday() as i64),
            TimeGrain::Month => NaiveDate::from_ymd_opt(as_of.year(), as_of.month(), 1).expect("valid"),
            TimeGrain::Quarter => {
                NaiveDate::from_ymd_opt(as_of.year(), (as_of.month0() / 3) * 3 + 1, 1).expect("valid")
            }
            TimeGrain::Year => NaiveDate::from_ymd_opt(as_of.year(), 1, 1).expect("valid"),
        };
        TimeRange { start: Some(start), end: Some(as_of + Duration::days(1)), phrase: format!("this {}", grain.unit()) }
    }

    fn single_period(&self, grain: TimeGrain, range: &TimeRange) -> bool {
        let (Some(start), Some(end)) = (range.start, range.end) else { return false };
        let last = end - Duration::days(1);
        match grain {
            TimeGrain::Day => start == last,
            TimeGrain::Week => {
                let ws = |d: NaiveDate| d - Duration::days(d.weekday().num_days_from_monday() as i64);
                ws(start) == ws(last)
            }
            TimeGrain::Month => (start.year(), start.month()) == (last.year(), last.month()),
            TimeGrain::Quarter => (start.year(), start.month0() / 3) == (last.year(), last.month0() / 3),
            TimeGrain::Year => start.year() == last.year(),
        }
    }
}

/// Whether the word before `i` is one of `cues`.
fn preceded_by_word(words: &[String], i: usize, cues: &[&str]) -> bool {
    i > 0 && cues.contains(&words[i - 1].as_str())
}

fn add_value_filter(filters: &mut Vec<Filter>, dimension: String, value: String, negated: bool) {
    for filter in filters.iter_mut() {
        if let Filter::Values { dimension: d, values, negated: n } = filter
            && *d == dimension
            && *n == negated
        {
            if !values.contains(&value) {
                values.push(value);
            }
            return;
        }
    }
    filters.push(Filter::Values { dimension, values: vec![value], negated });
}

fn layer_text_words(layer: &SemanticLayer) -> BTreeSet<String> {
    let mut texts: Vec<&str> = vec![&layer.description];
    for table in &layer.tables {
        texts.extend([table.name.as_str(), table.description.as_str()]);
        texts.extend(
            table.columns.iter().filter(|c| !c.personal).flat_map(|c| [c.name.as_str(), c.description.as_str()]),
        );
    }
    for metric in &layer.metrics {
        texts.extend([metric.name.as_str(), metric.label.as_str(), metric.description.as_str()]);
    }
    for dimension in &layer.dimensions {
        texts.extend([dimension.name.as_str(), dimension.label.as_str()]);
    }
    texts
        .iter()
        .flat_map(|t| tokens(&normalize(&t.replace('_', " "))))
        .filter(|w| w.len() > 2 && !w.chars().all(|c| c.is_ascii_digit()))
        .map(|w| crate::text::stem(&w))
        .collect()
}

fn describe_mention(layer: &SemanticLayer, mention: &Mention) -> String {
    let concept = &mention.concepts[0];
    match concept {
        Concept::Metric(name) => format!("metric {}", layer.metric(name).map(|m| m.display_name()).unwrap_or(name)),
        Concept::Segment(name) => format!("segment {name}"),
        Concept::Value { dimension, value } => format!("{dimension} = '{value}' (from '{}')", mention.text),
        Concept::Dimension(name) => format!("dimension {name}"),
        Concept::Column { table, column } => format!("column {table}.{column}"),
        Concept::Table(name) => format!("table {name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn interpreter() -> Interpreter {
        Interpreter::new(SemanticLayer::demo(), NaiveDate::from_ymd_opt(2025, 12, 31).expect("date"))
    }

    #[test]
    fn misspelled_names_are_read_as_the_one_close_vocabulary_word() {
        let reader = interpreter();
        let (text, corrections) = reader.correct_spelling("revnue from germny by industy");
        assert_eq!(text, "revenue from germany by industry");
        assert_eq!(corrections.len(), 3, "{corrections:?}");
        assert_eq!(corrections[0], ("revnue".to_string(), "revenue".to_string()));
    }

    #[test]
    fn known_words_short_words_and_far_words_are_left_alone() {
        let reader = interpreter();
        for text in ["revenue by country", "top 5 plans", "what is the weather", "mrr", "rev by chanel 2024"] {
            let (corrected, corrections) = reader.correct_spelling(text);
            assert!(
                corrections.iter().all(|(written, _)| written.chars().count() >= MIN_CORRECTED_LEN),
                "{text}: {corrections:?}"
            );
            if text != "rev by chanel 2024" {
                assert_eq!(corrected, text);
            }
        }
        // "weather" is two edits from anything: not understood, not guessed.
        let (_, corrections) = reader.correct_spelling("weather");
        assert!(corrections.is_empty(), "{corrections:?}");
    }

    fn ignored(question: &str) -> Vec<String> {
        match interpreter().read(question, None) {
            Reading::Query { ignored, .. } => ignored,
            other => panic!("{question}: expected a query, got {other:?}"),
        }
    }

    #[test]
    fn aggregate_share_and_number_words_the_reading_drops_are_not_understood() {
        assert!(ignored("median signups last month").contains(&"median".to_string()));
        // Users have no label to group by, so the per-user threshold would be dropped.
        assert_eq!(ignored("events of users with more than 5 logins"), ["> 5"]);
        assert_eq!(ignored("events by flavour last week"), ["by flavour"]);
        assert!(ignored("distinct signups last month").contains(&"distinct".to_string()));
    }

    fn query_of(question: &str) -> SemanticQuery {
        match interpreter().read(question, None) {
            Reading::Query { query, .. } => query,
            other => panic!("{question}: expected a query, got {other:?}"),
        }
    }

    fn aggregate(func: AggregateFunc, table: &str, column: &str) -> Measure {
        Measure::Aggregate { func, table: table.into(), column: Some(column.into()) }
    }

    #[test]
    fn an_extreme_or_average_of_a_measure_aggregates_the_column_it_measures() {
        let longest = query_of("longest first response last month");
        assert_eq!(longest.measures, [aggregate(AggregateFunc::Max, "support_tickets", "first_response_minutes")]);
        let biggest = query_of("biggest paid invoice this year");
        assert_eq!(biggest.measures, [aggregate(AggregateFunc::Max, "invoices", "amount_usd")]);
        assert!(biggest.filters.iter().any(|f| matches!(f, Filter::Values { values, .. } if values == &["paid"])));
        let recent = query_of("when did our most recent signup happen");
        assert_eq!(recent.measures, [aggregate(AggregateFunc::Max, "users", "signup_at")]);
        let first = query_of("when was the very first account created");
        assert_eq!(first.measures, [aggregate(AggregateFunc::Min, "accounts", "created_at")]);
        // "most signups" ranks; it is not the latest signup.
        let most = query_of("which channel had the most signups");
        assert_eq!(most.measures, [Measure::Metric { name: "signups".into() }]);
    }

    #[test]
    fn a_count_asked_for_in_so_many_words_is_a_measure_beside_another() {
        let both = query_of("number of tickets and avg csat by category this year");
        assert_eq!(both.measures.len(), 2, "{both:?}");
        // A table word beside an aggregate only says which rows it is about.
        let one = query_of("average seats per subscription");
        assert_eq!(one.measures.len(), 1, "{one:?}");
    }

    #[test]
    fn a_comparison_beside_a_column_or_a_measured_column_filters_rows() {
        let csat = query_of("tickets with a csat of 2 or lower this quarter");
        assert!(
            csat.filters.iter().any(|f| matches!(f, Filter::Compare { column, op: CompareOp::Le, value, .. }
            if column == "csat_score" && value == "2")),
            "{csat:?}"
        );
        let range = query_of("tickets with a first response between 30 and 60 minutes");
        let bounds: Vec<(CompareOp, &str)> = range
            .filters
            .iter()
            .filter_map(|f| match f {
                Filter::Compare { column, op, value, .. } if column == "first_response_minutes" => {
                    Some((*op, value.as_str()))
                }
                _ => None,
            })
            .collect();
        assert_eq!(bounds, [(CompareOp::Ge, "30"), (CompareOp::Le, "60")]);
        let money = query_of("how many invoices over $5,000 were issued in 2025");
        assert!(money.filters.iter().any(|f| matches!(f, Filter::Compare { column, .. } if column == "amount_usd")));
        // An average named with its threshold is a threshold on the average per group.
        let having = query_of("categories with an average csat below 4");
        assert_eq!(having.having.len(), 1, "{having:?}");
    }

    #[test]
    fn a_threshold_on_rows_per_entity_counts_them_per_entity() {
        let query = query_of("accounts with at least 3 open invoices");
        assert_eq!(query.group_by, ["account"]);
        assert_eq!(query.having, [MeasureFilter { op: CompareOp::Ge, value: "3".into() }]);
        assert!(query.filters.iter().any(|f| matches!(f, Filter::Values { values, .. } if values == &["open"])));
        let spelled = query_of("which accounts have more than one active subscription");
        assert_eq!(spelled.having, [MeasureFilter { op: CompareOp::Gt, value: "1".into() }]);
    }

    #[test]
    fn distinct_entities_money_verbs_and_partial_dimension_names() {
        let distinct = query_of("number of distinct accounts that filed a ticket last month");
        assert_eq!(distinct.measures, [aggregate(AggregateFunc::CountDistinct, "support_tickets", "account_id")]);
        let paid = query_of("how much did the enterprise customers pay us last month");
        assert_eq!(paid.measures, [Measure::Metric { name: "revenue".into() }]);
        let by_type = query_of("events by type last week");
        assert_eq!(by_type.group_by, ["event_name"]);
    }

    #[test]
    fn an_event_said_of_the_rows_sets_the_time_column_and_an_adjective_does_not() {
        assert_eq!(query_of("how many invoices were paid last month").time_column.as_deref(), Some("paid_at"));
        assert_eq!(query_of("how many paid invoices last month").time_column, None);
        assert_eq!(query_of("revenue by month, by when issued not when it was paid").time_column, None);
    }

    #[test]
    fn counted_entities_and_contradicted_metric_filters() {
        let accounts = query_of("how many accounts have a canceled subscription");
        assert_eq!(accounts.measures, [aggregate(AggregateFunc::CountDistinct, "subscriptions", "account_id")]);
        let open = query_of("how much money is sitting in open invoices");
        assert_eq!(
            open.measures,
            [Measure::Aggregate {
                func: AggregateFunc::Sum,
                table: "invoices".into(),
                column: Some("amount_usd".into())
            }]
        );
        let both = query_of("how many refunds did we issue and what did they add up to in q2 2025");
        assert_eq!(both.measures.len(), 2, "{both:?}");
    }

    #[test]
    fn follow_ups_add_measures_and_keep_the_rows_a_replaced_metric_counted() {
        let interpreter = interpreter();
        let Reading::Query { query: first, .. } = interpreter.read("active subscriptions by plan", None) else {
            panic!()
        };
        let Reading::Query { query: seats, .. } =
            interpreter.read("show total seats instead of the count", Some(&first))
        else {
            panic!()
        };
        assert_eq!(seats.group_by, ["plan"]);
        assert!(
            seats.filters.iter().any(|f| matches!(f, Filter::Sql { condition, .. } if condition.contains("active")))
        );
        let Reading::Query { query: refunds, .. } = interpreter.read("refunds by month this year", None) else {
            panic!()
        };
        let Reading::Query { query: added, .. } =
            interpreter.read("add the number of refunded invoices each month too", Some(&refunds))
        else {
            panic!()
        };
        assert_eq!(added.measures.len(), 2, "{added:?}");
    }

    #[test]
    fn the_period_before_moves_the_conversation_window_back() {
        let interpreter = interpreter();
        let first = query_of("signups by platform last month");
        let Reading::Query { query, evidence, .. } = interpreter.read("and for the month before?", Some(&first)) else {
            panic!()
        };
        let range = query.time_range.expect("range");
        assert_eq!(
            (range.start.unwrap().to_string(), range.end.unwrap().to_string()),
            ("2025-10-01".into(), "2025-11-01".into())
        );
        assert!(evidence.unknown_words.is_empty(), "{evidence:?}");
    }

    #[test]
    fn a_negation_a_list_or_a_grain_the_reading_cannot_keep_is_not_understood() {
        assert!(ignored("average seats of subscriptions that do not have any invoices").contains(&"not".to_string()));
        assert!(ignored("list the subscriptions").iter().any(|w| w.starts_with("a list of rows")));
        assert_eq!(ignored("mrr by month"), ["by month"]);
        // A negation the reading keeps, and "monthly recurring revenue", are understood.
        assert_eq!(ignored("tickets not resolved by priority"), Vec::<String>::new());
        assert_eq!(ignored("monthly recurring revenue by region"), Vec::<String>::new());
    }

    #[test]
    fn a_count_asked_in_the_present_is_the_current_state() {
        assert_eq!(
            query_of("how many subscriptions do we have").measures,
            [Measure::Metric { name: "active_subscriptions".into() }]
        );
        // A state named beside it wins over the current one.
        let trialing = query_of("how many subscriptions are in trial right now");
        assert!(trialing.filters.iter().any(|f| matches!(f, Filter::Values { values, .. } if values == &["trialing"])));
        assert!(!trialing.measures.contains(&Measure::Metric { name: "active_subscriptions".into() }), "{trialing:?}");
        assert_eq!(
            query_of("how many subscriptions last month").measures,
            [Measure::Metric { name: "new_subscriptions".into() }]
        );
    }

    #[test]
    fn a_dimension_on_several_tables_is_taken_from_the_table_the_question_names() {
        let interpreter = interpreter();
        let users = query_of("how many events did users from australia generate yesterday");
        assert!(interpreter.compile(&users).expect("compiles").sql.contains("users.country = 'AU'"));
        let accounts = query_of("how many events did accounts from australia generate yesterday");
        assert!(interpreter.compile(&accounts).expect("compiles").sql.contains("accounts.country = 'AU'"));
    }

    #[test]
    fn conversation_around_a_question_is_left_out_and_content_words_are_weighed() {
        let Reading::Query { evidence, ignored, .. } =
            interpreter().read("our CFO keeps asking: what was revenue last month, obviously", None)
        else {
            panic!("not read")
        };
        assert!(ignored.is_empty(), "{ignored:?}");
        assert!(evidence.unknown_words.is_empty(), "{evidence:?}");
        assert!(evidence.filler_words.contains(&"cfo".to_string()), "{evidence:?}");
        let Reading::Query { evidence, .. } = interpreter().read("revenue from narnia last month", None) else {
            panic!("not read")
        };
        assert_eq!(evidence.unknown_words, ["narnia"]);
    }

    #[test]
    fn abbreviations_and_consonant_skeletons_read_as_words() {
        assert_eq!(query_of("rev by region last qtr").measures, [Measure::Metric { name: "revenue".into() }]);
        let skeleton = interpreter().read("new accts this yr", None);
        let Reading::Query { query, assumptions, .. } = skeleton else { panic!("{skeleton:?}") };
        assert_eq!(query.measures, [Measure::Metric { name: "new_accounts".into() }], "{assumptions:?}");
        assert_eq!(expand_abbreviations("ios + android"), "ios and android");
        assert_eq!(expand_abbreviations("1000 + employees"), "1000 + employees");
    }

    #[test]
    fn aggregate_words_the_reading_acts_on_are_understood() {
        for question in [
            "average seats by plan",
            "total signups last month",
            "top 5 countries by revenue this year",
            "which plan has the most active subscriptions",
            "what percentage of tickets are urgent",
        ] {
            assert_eq!(ignored(question), Vec::<String>::new(), "{question}");
        }
    }

    #[test]
    fn a_value_before_a_table_word_filters_rather_than_groups() {
        let Reading::Query { query, .. } =
            interpreter().read("refunded amount for healthcare accounts in the last 6 months", None)
        else {
            panic!("a query");
        };
        assert!(query.group_by.is_empty(), "{:?}", query.group_by);
        assert!(
            query.filters.iter().any(|f| matches!(f, Filter::Values { dimension, values, .. }
                if dimension == "industry" && values == &["Healthcare".to_string()])),
            "{:?}",
            query.filters
        );
    }

    #[test]
    fn a_corrected_question_says_what_it_read() {
        let Reading::Query { assumptions, ignored, .. } = interpreter().read("revnue in 2024", None) else {
            panic!("a query");
        };
        assert!(assumptions.iter().any(|a| a == "read 'revnue' as 'revenue'"), "{assumptions:?}");
        assert!(ignored.is_empty(), "{ignored:?}");
    }
}
