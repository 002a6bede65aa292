//! From a question (and the conversation so far) to a [`SemanticQuery`].

mod clause_pass;
mod conversation;
mod evidence_pass;
mod measure_pass;
mod question;
mod shape_pass;

use std::collections::BTreeSet;

use chrono::{Datelike, Duration, NaiveDate};
use quarry_semantic::SemanticLayer;

use crate::confidence::Evidence;
use crate::graph::JoinGraph;
use crate::query::{Filter, Measure, SemanticQuery};
use crate::text::{is_stopword, normalize, tokens};
use crate::time::{TimeGrain, TimeRange};
use crate::vocab::{Concept, Mention, Vocabulary};
use evidence_pass::ClauseFacts;
use measure_pass::Draft;
pub(crate) use question::{Comparison, Question};

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
    ///
    /// The reading is a sequence of passes, each acting on one kind of cue: the measures named
    /// or implied, the conversation, the clauses (filters, groups, comparisons), time, ranking
    /// and shares, and last what the reading explains and what it leaves out.
    pub fn read(&self, question: &str, context: Option<&SemanticQuery>) -> Reading {
        let mut q = self.take_apart(question, context.is_some());
        let mut d = Draft::new(&q);
        self.read_named_measures(&q, &mut d);
        self.drop_row_words(&q, &mut d);
        self.read_elapsed_measure(&q, &mut d);
        if let Some(reading) = self.infer_measure(&q, &mut d, context.is_some()) {
            return reading;
        }
        let follow_up = self.continues(&q, &d, context);
        let mut query = self.start_query(&q, &mut d, context, follow_up);
        if query.measures.is_empty() {
            return self.unmapped(&q);
        }
        let base = match self.base_table(&query.measures) {
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
        self.add_implied_measures(&q, &mut d, &mut query, &base);
        let measures = query.measures.clone();
        let clauses = self.read_clauses(&mut q, &mut d, &base, &measures);
        let facts = ClauseFacts::from(&clauses);
        self.merge_clauses(&q, &mut query, clauses, follow_up);
        self.apply_time(&q, &mut query, &mut d.assumptions);
        self.group_ranked_entity(&q, &mut query, &base);
        self.count_described_metric(&mut d, &mut query, follow_up);
        self.read_ranking_and_share(&q, &mut d, &mut query);
        let dropped_grain = self.apply_measure_time(&q, &mut d, &mut query, follow_up);
        self.read_present_tense(&q, &mut d, &mut query);
        self.unfilter_contradicted_metric(&mut query);
        self.read_event_time(&q, &mut query);
        let evidence = self.weigh(&q, &d, &query, &facts, follow_up);
        // A phrase the layer knows that the reading could not apply, or a cue it did not act
        // on, would be silently dropped: that blocks the answer.
        let mut ignored = std::mem::take(&mut d.ignored);
        ignored.extend(dropped_grain);
        ignored.extend(self.unexplained_words(&q, &query));
        if self.asks_for_rows(&q, &d, &query) {
            ignored.push("a list of rows (quarry answers with numbers)".into());
        }
        ignored.dedup();
        Reading::Query { query, assumptions: d.assumptions, ignored, follow_up, evidence: Box::new(evidence) }
    }

    /// A question with nothing to measure: what was understood and which words were not.
    fn unmapped(&self, q: &Question) -> Reading {
        let understood: Vec<String> = q.mentions.iter().map(|m| describe_mention(&self.layer, m)).collect();
        let mut not_understood: Vec<String> =
            q.words.iter().filter(|w| !is_stopword(w) && !w.starts_with("__")).cloned().collect();
        not_understood.retain(|w| !q.mentions.iter().any(|m| m.text.split(' ').any(|t| t == w)));
        if not_understood.is_empty() {
            let examples: Vec<String> =
                self.layer.metrics.iter().take(4).map(|m| m.display_name().to_lowercase()).collect();
            not_understood.push(if examples.is_empty() {
                "which metric to compute".to_string()
            } else {
                format!("which metric to compute (e.g. {})", examples.join(", "))
            });
        }
        Reading::Unmapped { understood, not_understood }
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

    /// Whether `word` (stemmed) is a word of the layer's names and synonyms.
    pub(crate) fn knows_layer_word(&self, word: &str) -> bool {
        self.layer_words.contains(&crate::text::stem(word))
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

pub(crate) fn add_value_filter(filters: &mut Vec<Filter>, dimension: String, value: String, negated: bool) {
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
    use crate::cues::expand_abbreviations;
    use crate::query::{AggregateFunc, CompareOp, MeasureFilter};

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
