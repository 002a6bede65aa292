//! What a question measures beyond a named metric: an aggregate of the column a metric or
//! table measures, distinct entities among other rows, counts per entity with a threshold,
//! money asked with a verb, and the time column an event names.

use crate::interpret::{Comparison, Interpreter};
use crate::query::{AggregateFunc, Filter, Measure, SemanticQuery, column_aggregate, summed_column};
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

    /// Whether `measure` is a sum (a metric summing a column, or an ad-hoc sum).
    pub(crate) fn is_sum(&self, measure: &Measure) -> bool {
        match measure {
            Measure::Metric { name } => self.layer.metric(name).is_some_and(|m| summed_column(&m.expression).is_some()),
            Measure::Aggregate { func, .. } => *func == AggregateFunc::Sum,
        }
    }

    /// Whether `measure` counts rows or keys with no condition of its own.
    pub(crate) fn is_plain_count(&self, measure: &Measure) -> bool {
        match measure {
            Measure::Metric { name } => self.layer.metric(name).is_some_and(|m| {
                m.filter.is_none() && m.expression.replace(' ', "").to_lowercase().starts_with("count(")
            }),
            Measure::Aggregate { func, .. } => matches!(func, AggregateFunc::Count | AggregateFunc::CountDistinct),
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
}
