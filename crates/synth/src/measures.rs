//! What a question measures beyond a named metric: an aggregate of the column a metric or
//! table measures, distinct entities among other rows, counts per entity with a threshold,
//! money asked with a verb, and the time column an event names.

use crate::interpret::{Comparison, Interpreter};
use std::sync::LazyLock;

use regex::Regex;

use crate::cues::AGG_WORDS;
use crate::query::{
    AggregateFunc, ElapsedUnit, Filter, Measure, Ratio, SemanticQuery, column_aggregate, summed_column,
};
use crate::text::{is_stopword, phrase_key};
use crate::vocab::{Concept, Mention};

/// A count of distinct entities among other rows (see [`Interpreter::distinct_entity`]).
pub(crate) struct DistinctEntity {
    /// The mention of the entity's table.
    pub(crate) entity: usize,
    /// The mention naming the rows counted, when it is a table or metric (a value filters).
    pub(crate) rows: Option<usize>,
    /// That metric's own filter.
    pub(crate) rows_filter: Option<Filter>,
    pub(crate) measure: Measure,
}

impl Interpreter {
    /// The column a metric named by `mention` sums or averages, with its table.
    pub(crate) fn measured_column(&self, mention: &Mention) -> Option<(String, String)> {
        mention.concepts.iter().find_map(|c| match c {
            Concept::Metric(name) => {
                let metric = self.layer.metric(name)?;
                column_aggregate(&metric.expression).map(|(_, column)| (metric.table.clone(), column))
            }
            _ => None,
        })
    }

    /// Whether `table.column` holds categories (a dimension with listed values): a number
    /// compared with it ("used at least one feature") counts something else.
    pub(crate) fn is_categorical(&self, table: &str, column: &str) -> bool {
        self.layer
            .dimensions
            .iter()
            .any(|d| !d.values.is_empty() && d.columns().iter().any(|(t, c)| *t == table && *c == column))
    }

    /// Whether `measure` is a sum (a metric summing a column, or an ad-hoc sum).
    pub(crate) fn is_sum(&self, measure: &Measure) -> bool {
        match measure {
            Measure::Metric { name } => self.layer.metric(name).is_some_and(|m| summed_column(&m.expression).is_some()),
            Measure::Aggregate { func, .. } => *func == AggregateFunc::Sum,
            Measure::Elapsed { .. } => false,
        }
    }

    /// Whether `measure` counts rows or keys with no condition of its own.
    pub(crate) fn is_plain_count(&self, measure: &Measure) -> bool {
        match measure {
            Measure::Metric { name } => self.layer.metric(name).is_some_and(|m| {
                m.filter.is_none() && m.expression.replace(' ', "").to_lowercase().starts_with("count(")
            }),
            Measure::Aggregate { func, .. } => matches!(func, AggregateFunc::Count | AggregateFunc::CountDistinct),
            Measure::Elapsed { .. } => false,
        }
    }

    /// Filters and groupings of `query` two or more joins away from its measure's table.
    pub(crate) fn far_joins(&self, query: &SemanticQuery) -> usize {
        let Ok(base) = self.base_table(&query.measures) else { return 0 };
        let far = |distance: Option<usize>| distance.is_some_and(|d| d >= 2);
        let groups = query.group_by.iter().filter(|d| far(self.dimension_distance(&base, d))).count();
        let filters = query
            .filters
            .iter()
            .filter(|f| match f {
                Filter::Values { dimension, .. } => far(self.dimension_distance(&base, dimension)),
                Filter::Segment { name } => {
                    far(self.layer.segment(name).and_then(|s| self.graph.distance(&base, &s.table)))
                }
                Filter::Compare { table, .. } | Filter::Sql { table, .. } | Filter::Null { table, .. } => {
                    far(self.graph.distance(&base, table))
                }
            })
            .count();
        groups + filters
    }

    /// "invoices paid last month", "tickets resolved this week": a status value that names an
    /// event with its own time column (`paid_at`, `resolved_at`) on the measure's table is
    /// what the window and grain apply to.
    pub(crate) fn event_time_column(&self, query: &SemanticQuery, event_values: &[String]) -> Option<String> {
        if query.time_range.is_none() && query.grain.is_none() {
            return None;
        }
        let base = self.base_table(&query.measures).ok()?;
        let own = query.measures.first().and_then(|m| self.measure_time_column(m));
        let columns = &self.layer.table(&base)?.columns;
        query.filters.iter().find_map(|f| match f {
            Filter::Values { dimension, values, negated: false }
                if values.len() == 1 && event_values.contains(&values[0]) =>
            {
                self.layer.dimension(dimension)?.columns().iter().find(|(t, _)| *t == base)?;
                let wanted = format!("{}_at", values[0].to_lowercase());
                columns.iter().find(|c| c.name == wanted).map(|c| c.name.clone()).filter(|c| Some(c) != own.as_ref())
            }
            _ => None,
        })
    }

    /// The layer's money metric: the one its vocabulary calls revenue, sales or money.
    pub(crate) fn money_metric(&self) -> Option<String> {
        ["revenue", "sales", "money", "income"].iter().find_map(|word| {
            self.vocab.mentions(&[word.to_string()]).into_iter().find_map(|m| {
                m.concepts.iter().find_map(|c| match c {
                    Concept::Metric(name) => Some(name.clone()),
                    _ => None,
                })
            })
        })
    }

    /// "how many distinct users logged in", "distinct accounts that filed a ticket": a table
    /// word after "distinct" counts the distinct keys of that table among other rows (the
    /// rows named beside it) that refer to it by the same key column.
    pub(crate) fn distinct_entity(&self, mentions: &[Mention], words: &[String]) -> Option<DistinctEntity> {
        // Also "how many accounts have a canceled subscription": the entity counted, then
        // rows of another table it has.
        let counted_entity = |m: &Mention| {
            m.start > 0
                && matches!(words[m.start - 1].as_str(), "many" | "number")
                && matches!(
                    words.get(m.end).map(String::as_str),
                    Some("have" | "had" | "has" | "with" | "that" | "who" | "were" | "was" | "are")
                )
        };
        let entity = mentions.iter().position(|m| {
            m.start > 0
                && (matches!(words[m.start - 1].as_str(), "distinct" | "unique" | "different") || counted_entity(m))
                && m.concepts.iter().any(|c| matches!(c, Concept::Table(_)))
        })?;
        let entity_table = mentions[entity].concepts.iter().find_map(|c| match c {
            Concept::Table(t) => Some(t.clone()),
            _ => None,
        })?;
        let key = match self.layer.table(&entity_table)?.primary_key.as_slice() {
            [key] => key.clone(),
            _ => return None,
        };
        for (i, mention) in mentions.iter().enumerate().filter(|(i, _)| *i != entity) {
            for concept in &mention.concepts {
                let (table, is_rows, filter) = match concept {
                    Concept::Table(t) => (t.clone(), true, None),
                    Concept::Metric(name) => {
                        let metric = self.layer.metric(name)?;
                        let filter = metric
                            .filter
                            .clone()
                            .map(|condition| Filter::Sql { table: metric.table.clone(), condition });
                        (metric.table.clone(), true, filter)
                    }
                    Concept::Value { dimension, .. } => {
                        let dimension = self.layer.dimension(dimension)?;
                        (dimension.columns().first()?.0.to_string(), false, None)
                    }
                    _ => continue,
                };
                if table == entity_table || !self.layer.table(&table)?.columns.iter().any(|c| c.name == key) {
                    continue;
                }
                return Some(DistinctEntity {
                    entity,
                    rows: is_rows.then_some(i),
                    rows_filter: filter,
                    measure: Measure::Aggregate { func: AggregateFunc::CountDistinct, table, column: Some(key) },
                });
            }
        }
        None
    }

    /// The one column of `table` that its metrics sum (an amount of money in most layers).
    pub(crate) fn money_column(&self, table: &str) -> Option<String> {
        let mut columns: Vec<String> = self
            .layer
            .metrics
            .iter()
            .filter(|m| m.table == table)
            .filter_map(|m| summed_column(&m.expression))
            .collect();
        columns.sort();
        columns.dedup();
        match columns.as_slice() {
            [column] => Some(column.clone()),
            _ => None,
        }
    }

    /// "accounts with more than 5 open tickets": an entity (a table with a label dimension),
    /// then a comparison, then rows of another table that belong to it. Returns the entity's
    /// mention and the comparison: the rows are counted per entity and the comparison becomes
    /// a threshold on that count.
    pub(crate) fn entity_threshold(
        &self,
        mentions: &[Mention],
        comparisons: &[Comparison],
    ) -> Option<(usize, usize, String)> {
        // The table a concept's rows are in; `kinds` says which kinds of concept may say it.
        let table_of = |c: &Concept, kinds: u8| match c {
            Concept::Table(t) if kinds >= 1 => Some(t.clone()),
            Concept::Metric(name) if kinds >= 1 => self.layer.metric(name).map(|m| m.table.clone()),
            Concept::Segment(name) if kinds >= 2 => self.layer.segment(name).map(|s| s.table.clone()),
            Concept::Value { dimension, .. } if kinds >= 2 => {
                self.layer.dimension(dimension).and_then(|d| d.columns().first().map(|(t, _)| t.to_string()))
            }
            _ => None,
        };
        for (k, comparison) in comparisons.iter().enumerate() {
            // The counted rows follow the number, possibly after a value ("3 open invoices",
            // where "open invoices" may itself be a value of the invoices' status): a table or
            // metric named says them best, else a segment or value does.
            let after: Vec<&Mention> =
                mentions.iter().filter(|m| m.start > comparison.token && m.start <= comparison.token + 3).collect();
            let named_by = |kinds: u8| after.iter().find_map(|m| m.concepts.iter().find_map(|c| table_of(c, kinds)));
            let Some(counted_table) = named_by(1).or_else(|| named_by(2)) else { continue };
            let entity = mentions.iter().position(|m| {
                m.end <= comparison.token
                    && m.concepts.iter().any(|c| matches!(c, Concept::Dimension(_)))
                    && m.concepts.iter().any(|c| {
                        matches!(c, Concept::Table(t) if *t != counted_table
                        && self.graph.distance(&counted_table, t).is_some_and(|d| d < 100))
                    })
            });
            if let Some(entity) = entity {
                return Some((entity, k, counted_table));
            }
        }
        None
    }

    /// The aggregate `func` of what `mention` measures, with the metric's own filter: the
    /// column a metric sums or averages ("longest first response" is the maximum of the
    /// minutes the average first response averages), the one column a table's metrics
    /// measure ("biggest invoice"), or, for the latest or earliest, the time column of what
    /// is counted ("most recent signup").
    pub(crate) fn aggregated_column(
        &self,
        mention: &Mention,
        func: AggregateFunc,
        time_word: bool,
    ) -> Option<(Measure, Option<Filter>)> {
        let extreme = matches!(func, AggregateFunc::Max | AggregateFunc::Min);
        for concept in &mention.concepts {
            match concept {
                Concept::Metric(name) => {
                    let metric = self.layer.metric(name)?;
                    let counts = metric.expression.replace(' ', "").to_lowercase().starts_with("count(");
                    let column = match column_aggregate(&metric.expression) {
                        Some((own, column)) if own != func => column,
                        Some(_) => return None,
                        None if extreme && time_word && counts => metric.time_column.clone()?,
                        None => return None,
                    };
                    let filter =
                        metric.filter.clone().map(|condition| Filter::Sql { table: metric.table.clone(), condition });
                    return Some((
                        Measure::Aggregate { func, table: metric.table.clone(), column: Some(column) },
                        filter,
                    ));
                }
                Concept::Table(table) if time_word => {
                    let column = self.default_time_column(table)?;
                    return Some((Measure::Aggregate { func, table: table.clone(), column: Some(column) }, None));
                }
                Concept::Table(table) => {
                    let mut columns: Vec<String> = self
                        .layer
                        .metrics
                        .iter()
                        .filter(|m| m.table == *table)
                        .filter_map(|m| summed_column(&m.expression))
                        .collect();
                    columns.sort();
                    columns.dedup();
                    if let ([column], false) = (columns.as_slice(), time_word) {
                        return Some((
                            Measure::Aggregate { func, table: table.clone(), column: Some(column.clone()) },
                            None,
                        ));
                    }
                }
                _ => {}
            }
        }
        None
    }

    /// "refunds as a percentage of revenue", "events per active user", "average events per
    /// session": the first measure set against a second one. The second is a measure already
    /// read (a metric named after the cue), or the distinct count of a column of the first
    /// measure's table named after "per" ("per session"). Returns the ratio with `measures`
    /// holding the two, numerator first; `None` leaves them as they were.
    pub(crate) fn ratio_of(
        &self,
        mentions: &[Mention],
        words: &[String],
        text: &str,
        measures: &mut Vec<Measure>,
        used: &mut [bool],
    ) -> Option<Ratio> {
        let first = measures.first()?.clone();
        if measures.len() == 2 && PERCENT_OF_RE.is_match(text) {
            return Some(Ratio::Percent);
        }
        // "average MRR per active subscription": an average is already per row; what follows
        // "per" says which rows.
        let averages = match &first {
            Measure::Aggregate { func, .. } | Measure::Elapsed { func, .. } => {
                matches!(func, AggregateFunc::Avg | AggregateFunc::Median | AggregateFunc::Min | AggregateFunc::Max)
            }
            Measure::Metric { name } => self
                .layer
                .metric(name)
                .is_none_or(|m| column_aggregate(&m.expression).is_some_and(|(f, _)| f == AggregateFunc::Avg)),
        };
        if averages {
            return None;
        }
        let per = words.iter().position(|w| w == "per")?;
        let (j, after) = mentions.iter().enumerate().find(|(_, m)| m.start == per + 1)?;
        // "signups per channel" groups by the channel.
        if after.concepts.iter().any(|c| matches!(c, Concept::Dimension(_) | Concept::Value { .. })) {
            return None;
        }
        let first_table = self.measure_table(&first)?;
        let named = after.concepts.iter().find_map(|c| match c {
            Concept::Metric(name) => Some(Measure::Metric { name: name.clone() }),
            Concept::Column { table, column } if *table == first_table && column.ends_with("_id") => {
                Some(Measure::Aggregate {
                    func: AggregateFunc::CountDistinct,
                    table: table.clone(),
                    column: Some(column.clone()),
                })
            }
            _ => None,
        })?;
        let numerator_before = mentions.iter().take(j).any(|m| m.end <= per);
        if !numerator_before || self.measure_table(&named).as_deref() != Some(first_table.as_str()) {
            return None;
        }
        measures.retain(|m| *m != named);
        measures.truncate(1);
        measures.push(named);
        used[j] = true;
        Some(Ratio::Per)
    }
}

/// Irregular forms a question uses for the event a timestamp column records ("pay" for
/// `paid_at`, "last" for `ended_at`).
const EVENT_FORMS: &[(&str, &str)] = &[
    ("pay", "paid"),
    ("pays", "paid"),
    ("paying", "paid"),
    ("last", "ended"),
    ("lasted", "ended"),
    ("lasts", "ended"),
    ("end", "ended"),
];

/// Words of a column's description that say nothing about which event it records.
const DESCRIPTION_NOISE: &[&str] = &["when", "while", "empty", "only", "date", "time", "null", "unless"];

/// Whether two words share a stem: their first five letters, or all of the shorter one when
/// it has four ("resolve" / "resolved", "cancel" / "cancellations", "paid" / "paid").
fn same_word_stem(a: &str, b: &str) -> bool {
    let shared = a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count();
    shared >= 5 || (shared >= 4 && shared == a.len().min(b.len()))
}

/// Units an elapsed time is asked in.
pub(crate) fn elapsed_unit(word: &str) -> Option<ElapsedUnit> {
    match word {
        "minute" | "minutes" | "mins" => Some(ElapsedUnit::Minutes),
        "hour" | "hours" | "hrs" => Some(ElapsedUnit::Hours),
        "day" | "days" => Some(ElapsedUnit::Days),
        _ => None,
    }
}

impl Interpreter {
    /// Columns of `table` that hold timestamps: named `*_at`, `*_time` or `*_date`, or the
    /// time column of one of its metrics.
    fn timestamp_columns(&self, table: &str) -> Vec<String> {
        let Some(def) = self.layer.table(table) else { return Vec::new() };
        def.columns
            .iter()
            .filter(|c| !c.personal)
            .filter(|c| {
                c.name.ends_with("_at")
                    || c.name.ends_with("_time")
                    || c.name.ends_with("_date")
                    || self.layer.metrics.iter().any(|m| m.table == table && m.time_column.as_deref() == Some(&c.name))
            })
            .map(|c| c.name.clone())
            .collect()
    }

    /// Whether `word` names the event `column` records: a word of its name, synonyms or
    /// description shares its first letters ("resolve" / `resolved_at`, "assignment" /
    /// `assigned_at`).
    fn names_event(&self, table: &str, column: &str, word: &str) -> bool {
        let word = EVENT_FORMS.iter().find(|(form, _)| *form == word).map(|(_, e)| *e).unwrap_or(word);
        if word.len() < 4 || is_stopword(word) {
            return false;
        }
        let Some(def) = self.layer.table(table).and_then(|t| t.columns.iter().find(|c| c.name == column)) else {
            return false;
        };
        let table_words = phrase_key(table);
        let mut words: Vec<String> = phrase_key(column);
        words.extend(def.synonyms.iter().flat_map(|s| phrase_key(s)));
        words.extend(phrase_key(&def.description));
        words
            .iter()
            .filter(|w| w.len() >= 4 && !DESCRIPTION_NOISE.contains(&w.as_str()) && !table_words.contains(w))
            .any(|w| same_word_stem(w, word))
    }

    /// "top cancel reason": rows counted by an inferred measure and grouped by a dimension
    /// that only the rows of one filtered count metric have ("cancel reason" of
    /// cancellations) are that metric's rows. Returns the metric, when exactly one shares a
    /// word stem with the dimension's name.
    pub(crate) fn metric_of_grouped_dimension(&self, query: &SemanticQuery) -> Option<String> {
        let [Measure::Metric { name }] = query.measures.as_slice() else { return None };
        let metric = self.layer.metric(name)?;
        if metric.filter.is_some() {
            return None;
        }
        let expression = metric.expression.replace(' ', "").to_lowercase();
        let candidates: Vec<&str> = query
            .group_by
            .iter()
            .filter_map(|d| self.layer.dimension(d))
            .filter(|d| d.columns().iter().any(|(t, _)| *t == metric.table))
            .flat_map(|d| {
                let dimension_words: Vec<String> =
                    phrase_key(&d.name).into_iter().chain(phrase_key(&d.label)).filter(|w| w.len() >= 5).collect();
                self.layer
                    .metrics
                    .iter()
                    .filter(|m| {
                        m.table == metric.table
                            && m.filter.is_some()
                            && m.expression.replace(' ', "").to_lowercase() == expression
                    })
                    .filter(move |m| {
                        std::iter::once(m.name.as_str())
                            .chain(std::iter::once(m.label.as_str()))
                            .chain(m.synonyms.iter().map(String::as_str))
                            .flat_map(phrase_key)
                            .any(|w| dimension_words.iter().any(|d| same_word_stem(d, &w)))
                    })
                    .map(|m| m.name.as_str())
            })
            .collect();
        match candidates.as_slice() {
            [one] => Some(one.to_string()),
            _ => None,
        }
    }

    /// "how long does it take to close outage tickets", "how many days did they last",
    /// "avg hours from assignment to conversion": the time between two events of one row,
    /// each a timestamp column of a table the question names. The span ends at the column
    /// the question's verb names and starts at the one after "from", else at the table's
    /// own time column. `tables` are the tables named, in order.
    pub(crate) fn elapsed_measure(&self, words: &[String], tables: &[String]) -> Option<Measure> {
        let at = |i: usize| words.get(i).map(String::as_str).unwrap_or("");
        let averaged = |i: usize| {
            i > 0
                && AGG_WORDS.iter().any(|(w, f)| {
                    *w == at(i - 1) && *f == AggregateFunc::Avg || *w == at(i - 1) && *f == AggregateFunc::Median
                })
        };
        let cue = (0..words.len()).find(|&i| {
            (at(i) == "long" && i > 0 && at(i - 1) == "how")
                || (elapsed_unit(at(i)).is_some()
                    && !(i > 0 && at(i - 1).starts_with("__cmp"))
                    && ((i > 1 && at(i - 1) == "many" && at(i - 2) == "how")
                        || averaged(i)
                        || matches!(at(i + 1), "to" | "from" | "until" | "between")))
                || (matches!(at(i), "time" | "duration")
                    && averaged(i)
                    && matches!(at(i + 1), "to" | "from" | "until" | "between"))
        })?;
        let unit = words.iter().find_map(|w| elapsed_unit(w));
        let func = if words.iter().any(|w| matches!(w.as_str(), "median" | "typical")) {
            AggregateFunc::Median
        } else {
            AggregateFunc::Avg
        };
        let from_word = words.iter().position(|w| w == "from").map(|i| at(i + 1).to_string());
        for table in tables {
            if let Some((from, to)) = self.span_columns(table, &words[cue..], from_word.as_deref()) {
                let unit = unit.or_else(|| self.span_unit_of_metrics(table)).unwrap_or(ElapsedUnit::Days);
                return Some(Measure::Elapsed { func, table: table.clone(), from, to, unit });
            }
        }
        None
    }

    /// The timestamp columns of `table` a span runs between: it ends at the one a word of
    /// `words` names and starts at the one `from_word` names, else at the table's own time
    /// column.
    pub(crate) fn span_columns(
        &self,
        table: &str,
        words: &[String],
        from_word: Option<&str>,
    ) -> Option<(String, String)> {
        let columns = self.timestamp_columns(table);
        if columns.len() < 2 {
            return None;
        }
        let start = from_word
            .and_then(|w| columns.iter().find(|c| self.names_event(table, c, w)).cloned())
            .or_else(|| self.default_time_column(table))?;
        let end = words
            .iter()
            .filter(|w| Some(w.as_str()) != from_word)
            .find_map(|w| columns.iter().find(|c| **c != start && self.names_event(table, c, w)).cloned())?;
        Some((start, end))
    }

    /// "tickets that took more than 48 hours to resolve": a comparison followed by a unit of
    /// time and the event the span ends at, as a condition on the span of each row of
    /// `table`. `after` are the words after the comparison.
    pub(crate) fn elapsed_condition(&self, table: &str, comparison: &Comparison, after: &[String]) -> Option<Filter> {
        let unit = elapsed_unit(after.first()?)?;
        let (from, to) = self.span_columns(table, &after[1..after.len().min(5)], None)?;
        Some(Filter::Sql {
            table: table.to_string(),
            condition: format!("{} {} {}", unit.span_sql(&from, &to), comparison.op.sql(), comparison.value),
        })
    }

    /// "waited over an hour for a first response": a comparison with a unit of time, on a
    /// column that holds a duration in a unit of its own (`first_response_minutes`), named
    /// by a mention just after it; the number is converted to the column's unit.
    pub(crate) fn duration_column_condition(
        &self,
        comparison: &Comparison,
        unit_word: &str,
        mentions: &[Mention],
    ) -> Option<Filter> {
        let unit = elapsed_unit(unit_word)?;
        mentions.iter().filter(|m| m.start > comparison.token && m.start <= comparison.token + 4).find_map(|m| {
            let (table, column) = self.measured_column(m).or_else(|| {
                m.concepts.iter().find_map(|c| match c {
                    Concept::Column { table, column } => Some((table.clone(), column.clone())),
                    _ => None,
                })
            })?;
            let own = elapsed_unit(column.rsplit('_').next()?)?;
            let value: f64 = comparison.value.parse().ok()?;
            let converted = value * f64::from(unit.seconds()) / f64::from(own.seconds());
            Some(Filter::Compare { table, column, op: comparison.op, value: format!("{converted}") })
        })
    }

    /// The unit a metric of `table` counts a span in ("/ 3600.0" is hours).
    fn span_unit_of_metrics(&self, table: &str) -> Option<ElapsedUnit> {
        self.layer.metrics.iter().filter(|m| m.table == table && m.expression.contains("epoch")).find_map(|m| {
            let e = m.expression.replace(' ', "");
            [ElapsedUnit::Minutes, ElapsedUnit::Hours, ElapsedUnit::Days]
                .into_iter()
                .find(|u| e.contains(&format!("/{}", u.seconds())))
        })
    }
}

/// "as a percentage of", "as a share of", "relative to": the measure before set against the
/// one after, in percent.
static PERCENT_OF_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\bas (?:a |an )?(?:percentage|percent|%|share|fraction|proportion|pct) of\b|\brelative to\b")
        .expect("valid regex")
});
