//! From a [`SemanticQuery`] to SQL over the join graph.

use std::collections::BTreeSet;
use std::fmt::Write;

use crate::graph::JoinStep;
use crate::interpret::Interpreter;
use crate::query::{AggregateFunc, Filter, Measure, Ratio, SemanticQuery};
use crate::time::TimeRange;
use crate::{Error, Result};

/// The SQL of a query and the facts the explanation needs.
#[derive(Debug, Clone, PartialEq)]
pub struct CompiledQuery {
    /// The SQL.
    pub sql: String,
    /// Output column names, in order.
    pub columns: Vec<String>,
    /// Human-readable conditions applied (`status = 'paid'`, `signup_at in [...)`).
    pub conditions: Vec<String>,
}

struct Select {
    base: String,
    joins: Vec<JoinStep>,
}

impl Select {
    fn need(&mut self, interpreter: &Interpreter, table: &str) -> Result<()> {
        if table == self.base || self.joins.iter().any(|j| j.right_table == table) {
            return Ok(());
        }
        let path = interpreter
            .graph()
            .path(&self.base, table)
            .ok_or_else(|| Error::Unjoinable { from: self.base.clone(), to: table.to_string() })?;
        for step in path {
            if step.right_table != self.base && !self.joins.iter().any(|j| j.right_table == step.right_table) {
                self.joins.push(step);
            }
        }
        Ok(())
    }

    fn fans_out(&self) -> bool {
        self.joins.iter().any(|j| j.fans_out)
    }

    fn qualified(&self) -> bool {
        !self.joins.is_empty()
    }

    fn col(&self, table: &str, column: &str) -> String {
        if self.qualified() { format!("{table}.{column}") } else { column.to_string() }
    }
}

pub(crate) fn quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// Rewrites bare column names of `table` in a layer expression to qualified ones when the
/// query joins tables, so that `status` does not become ambiguous.
pub(crate) fn qualify_expression(expression: &str, table: &str, columns: &BTreeSet<String>, qualified: bool) -> String {
    if !qualified {
        return expression.to_string();
    }
    let mut out = String::with_capacity(expression.len() + 16);
    let mut word = String::new();
    let mut in_string = false;
    let mut previous = ' ';
    // A word followed by "(" is a function, even when a column has the same name ("count").
    let flush = |word: &mut String, out: &mut String, previous: char, next: char| {
        if !word.is_empty() {
            if columns.contains(&word.to_lowercase()) && previous != '.' && next != '(' {
                out.push_str(table);
                out.push('.');
            }
            out.push_str(word);
            word.clear();
        }
    };
    for c in expression.chars() {
        if in_string {
            out.push(c);
            if c == '\'' {
                in_string = false;
            }
            continue;
        }
        if c.is_ascii_alphanumeric() || c == '_' {
            word.push(c);
            continue;
        }
        flush(&mut word, &mut out, previous, c);
        if c == '\'' {
            in_string = true;
        }
        out.push(c);
        previous = c;
    }
    flush(&mut word, &mut out, previous, ' ');
    out
}

impl Interpreter {
    fn table_columns(&self, table: &str) -> BTreeSet<String> {
        self.layer().table(table).map(|t| t.columns.iter().map(|c| c.name.clone()).collect()).unwrap_or_default()
    }

    /// The column of a dimension closest to `base`; among equally close ones, one on a table
    /// in `named`.
    pub(crate) fn dimension_column(&self, base: &str, dimension: &str, named: &[String]) -> Result<(String, String)> {
        if let Some(key) = self.key_column(dimension) {
            self.graph()
                .distance(base, &key.0)
                .ok_or_else(|| Error::Unjoinable { from: base.into(), to: key.0.clone() })?;
            return Ok(key);
        }
        let dim = self
            .layer()
            .dimension(dimension)
            .ok_or_else(|| Error::UnknownName { kind: "dimension", name: dimension.into() })?;
        dim.columns()
            .into_iter()
            .filter_map(|(t, c)| {
                self.graph().distance(base, t).map(|d| (d, !named.iter().any(|n| n == t), t.to_string(), c.to_string()))
            })
            .min()
            .map(|(_, _, t, c)| (t, c))
            .ok_or_else(|| Error::Unjoinable { from: base.into(), to: dimension.into() })
    }

    /// Compiles a query to SQL.
    pub fn compile(&self, query: &SemanticQuery) -> Result<CompiledQuery> {
        if let Some(rows) = &query.rows {
            return self.compile_rows(query, rows);
        }
        let first = query.measures.first().ok_or(Error::NoMeasure)?;
        let base = self
            .measure_table(first)
            .ok_or_else(|| Error::UnknownName { kind: "measure", name: format!("{first:?}") })?;
        let mut select = Select { base: base.clone(), joins: Vec::new() };

        // Which tables are needed decides qualification, so resolve them first.
        let mut groups = Vec::new();
        for dimension in &query.group_by {
            let (table, column) = self.dimension_column(&base, dimension, &query.named_tables)?;
            select.need(self, &table)?;
            groups.push((table, column));
        }
        let mut value_filters = Vec::new();
        for filter in &query.filters {
            match filter {
                Filter::Values { dimension, values, negated } => {
                    let (table, column) = self.dimension_column(&base, dimension, &query.named_tables)?;
                    select.need(self, &table)?;
                    value_filters.push((table, column, values.clone(), *negated));
                }
                Filter::Segment { name } => {
                    let segment = self
                        .layer()
                        .segment(name)
                        .ok_or_else(|| Error::UnknownName { kind: "segment", name: name.clone() })?;
                    select.need(self, &segment.table)?;
                }
                Filter::Compare { table, .. } | Filter::Null { table, .. } | Filter::Sql { table, .. } => {
                    select.need(self, table)?
                }
            }
        }
        if select.fans_out() && query.measures.iter().any(|m| !self.measure_survives_fan_out(m)) {
            return Err(Error::FanOut {
                measure: query.measures.iter().map(|m| self.describe_measure(m)).collect::<Vec<_>>().join(", "),
                table: select.joins.iter().find(|j| j.fans_out).map(|j| j.right_table.clone()).unwrap_or_default(),
            });
        }

        let mut conditions: Vec<String> = Vec::new();
        let mut where_sql: Vec<String> = Vec::new();
        // With one measure its filter goes to WHERE; with several, each keeps its own
        // filter as an aggregate FILTER clause.
        let single = query.measures.len() == 1 && query.periods.is_empty();
        let mut measure_sql = Vec::new();
        let mut columns = Vec::new();
        for measure in &query.measures {
            let (expression, filter, name) = self.measure_parts(measure, &select)?;
            if !query.periods.is_empty() {
                let time_column = query
                    .time_column
                    .clone()
                    .or_else(|| self.measure_time_column(measure))
                    .ok_or(Error::NoTimeColumn)?;
                let column = select.col(&base, &time_column);
                for (k, period) in query.periods.iter().enumerate() {
                    let mut parts: Vec<String> = filter.iter().cloned().collect();
                    parts.extend(range_sql(&column, period));
                    conditions.push(format!("{name} ({}): {}", period.phrase, parts.join(" AND ")));
                    measure_sql.push((with_filter(&expression, &parts.join(" AND ")), period_name(&name, period, k)));
                }
                continue;
            }
            let expression = match (&filter, single) {
                (Some(f), true) => {
                    where_sql.push(f.clone());
                    conditions.push(f.clone());
                    expression
                }
                (Some(f), false) => {
                    conditions.push(format!("{name}: {f}"));
                    with_filter(&expression, f)
                }
                (None, _) => expression,
            };
            measure_sql.push((expression, name));
        }

        if let Some(range) = &query.time_range {
            let time_column =
                query.time_column.clone().or_else(|| self.measure_time_column(first)).ok_or(Error::NoTimeColumn)?;
            let column = select.col(&base, &time_column);
            let parts = range_sql(&column, range);
            conditions.push(range_condition(&format!("{base}.{time_column}"), range));
            where_sql.extend(parts);
        }
        let mut share_filters = Vec::new();
        for (table, column, values, negated) in &value_filters {
            let col = select.col(table, column);
            let sql = if values.len() == 1 {
                format!("{col} {} {}", if *negated { "<>" } else { "=" }, quote(&values[0]))
            } else {
                let list = values.iter().map(|v| quote(v)).collect::<Vec<_>>().join(", ");
                format!("{col} {}IN ({list})", if *negated { "NOT " } else { "" })
            };
            conditions.push(format!("{table}.{column} {}{}", if *negated { "not " } else { "" }, values.join(" or ")));
            if query.share && query.group_by.is_empty() && query.grain.is_none() {
                share_filters.push(sql);
            } else {
                where_sql.push(sql);
            }
        }
        for filter in &query.filters {
            let sql = match filter {
                Filter::Values { .. } => continue,
                Filter::Segment { name } => {
                    let segment = self.layer().segment(name).expect("checked above");
                    let columns = self.table_columns(&segment.table);
                    format!(
                        "({})",
                        qualify_expression(&segment.condition, &segment.table, &columns, select.qualified())
                    )
                }
                Filter::Sql { table, condition } => {
                    let columns = self.table_columns(table);
                    format!("({})", qualify_expression(condition, table, &columns, select.qualified()))
                }
                Filter::Compare { table, column, op, value } => {
                    format!("{} {} {value}", select.col(table, column), op.sql())
                }
                Filter::Null { table, column, is_null } => {
                    format!("{} IS {}NULL", select.col(table, column), if *is_null { "" } else { "NOT " })
                }
            };
            conditions.push(sql.clone());
            if query.share
                && query.group_by.is_empty()
                && query.grain.is_none()
                && matches!(filter, Filter::Segment { .. } | Filter::Compare { .. } | Filter::Null { .. })
            {
                share_filters.push(sql);
            } else {
                where_sql.push(sql);
            }
        }

        let mut select_list: Vec<String> = Vec::new();
        let mut group_positions = Vec::new();
        if let Some(grain) = query.grain {
            let time_column =
                query.time_column.clone().or_else(|| self.measure_time_column(first)).ok_or(Error::NoTimeColumn)?;
            select_list.push(format!(
                "date_trunc('{}', {}) AS {}",
                grain.unit(),
                select.col(&base, &time_column),
                grain.unit()
            ));
            columns.push(grain.unit().to_string());
            group_positions.push(select_list.len());
        }
        for ((table, column), dimension) in groups.iter().zip(&query.group_by) {
            let expression = select.col(table, column);
            // A dimension with a known list of values groups the rows that have one: "active
            // users by feature" lists features, not the events without a feature.
            if self.layer().dimension(dimension).is_some_and(|d| !d.values.is_empty()) {
                where_sql.push(format!("{expression} IS NOT NULL"));
            }
            if columns.contains(column) {
                select_list.push(format!("{expression} AS {table}_{column}"));
                columns.push(format!("{table}_{column}"));
            } else {
                select_list.push(expression);
                columns.push(column.clone());
            }
            group_positions.push(select_list.len());
        }
        let grouped = !group_positions.is_empty();
        let share_only_filters = !share_filters.is_empty();
        if let (Some(ratio), [(first, first_name), (second, second_name)]) = (query.ratio, measure_sql.as_slice()) {
            let (sql, name) = match ratio {
                Ratio::Percent => (format!("100.0 * {first} / {second}"), format!("{first_name}_pct_of_{second_name}")),
                Ratio::Per => {
                    (format!("CAST({first} AS DOUBLE) / {second}"), format!("{first_name}_per_{second_name}"))
                }
            };
            measure_sql = vec![(sql, name)];
        }
        for (expression, name) in &measure_sql {
            if query.share && grouped {
                select_list.push(format!("{expression} AS {name}"));
                select_list.push(format!("100.0 * {expression} / SUM({expression}) OVER () AS pct_of_{name}"));
                columns.push(name.clone());
                columns.push(format!("pct_of_{name}"));
            } else if share_only_filters {
                let condition = share_filters.join(" AND ");
                select_list
                    .push(format!("100.0 * {} / {expression} AS pct_of_{name}", with_filter(expression, &condition)));
                columns.push(format!("pct_of_{name}"));
            } else {
                select_list.push(format!("{expression} AS {name}"));
                columns.push(name.clone());
            }
        }

        let mut sql = String::new();
        let _ = write!(sql, "SELECT {}\nFROM {base}", select_list.join(", "));
        for join in &select.joins {
            let _ = write!(
                sql,
                "\nJOIN {} ON {}.{} = {}.{}",
                join.right_table, join.left_table, join.left_column, join.right_table, join.right_column
            );
        }
        if !where_sql.is_empty() {
            let _ = write!(sql, "\nWHERE {}", where_sql.join("\n  AND "));
        }
        if grouped {
            let _ = write!(
                sql,
                "\nGROUP BY {}",
                group_positions.iter().map(usize::to_string).collect::<Vec<_>>().join(", ")
            );
        }
        if !query.having.is_empty() && grouped {
            let (expression, _) = &measure_sql[0];
            let having: Vec<String> =
                query.having.iter().map(|h| format!("{expression} {} {}", h.op.sql(), h.value)).collect();
            conditions.extend(having.iter().map(|h| format!("per group: {h}")));
            let _ = write!(sql, "\nHAVING {}", having.join(" AND "));
        }
        let measure_name = &measure_sql[0].1;
        match (&query.ranking, query.grain, grouped) {
            (Some(ranking), _, true) => {
                let direction = if ranking.descending { "DESC" } else { "ASC" };
                // Ties are broken by the group keys so that top-N answers are reproducible.
                let tie_break: Vec<String> = group_positions.iter().map(|p| format!("{p} ASC")).collect();
                let _ = write!(sql, "\nORDER BY {measure_name} {direction}, {}", tie_break.join(", "));
                if let Some(limit) = ranking.limit {
                    let _ = write!(sql, "\nLIMIT {limit}");
                }
            }
            (None, Some(_), true) => {
                let _ = write!(
                    sql,
                    "\nORDER BY {}",
                    group_positions.iter().map(usize::to_string).collect::<Vec<_>>().join(", ")
                );
            }
            (None, None, true) => {
                let _ = write!(sql, "\nORDER BY {measure_name} DESC");
            }
            _ => {}
        }
        Ok(CompiledQuery { sql, columns, conditions })
    }

    fn measure_survives_fan_out(&self, measure: &Measure) -> bool {
        match measure {
            Measure::Metric { name } => self.layer().metric(name).is_some_and(|m| {
                let e = m.expression.to_lowercase().replace(' ', "");
                e == "count(*)" || e.starts_with("count(distinct")
            }),
            Measure::Aggregate { func, .. } | Measure::Elapsed { func, .. } => matches!(
                func,
                AggregateFunc::Count | AggregateFunc::CountDistinct | AggregateFunc::Min | AggregateFunc::Max
            ),
        }
    }

    /// The aggregate expression, its filter and its output name.
    fn measure_parts(&self, measure: &Measure, select: &Select) -> Result<(String, Option<String>, String)> {
        match measure {
            Measure::Metric { name } => {
                let metric = self
                    .layer()
                    .metric(name)
                    .ok_or_else(|| Error::UnknownName { kind: "metric", name: name.clone() })?;
                let columns = self.table_columns(&metric.table);
                let mut expression =
                    qualify_expression(&metric.expression, &metric.table, &columns, select.qualified());
                // COUNT(*) over a fanned-out join would count joined rows; count the base
                // table's key instead.
                if select.fans_out() && crate::query::counts_rows(&expression) {
                    let key = self
                        .layer()
                        .table(&metric.table)
                        .and_then(|t| t.primary_key.first().cloned())
                        .ok_or_else(|| Error::FanOut { measure: name.clone(), table: metric.table.clone() })?;
                    expression = format!("COUNT(DISTINCT {}.{key})", metric.table);
                }
                let filter =
                    metric.filter.as_ref().map(|f| qualify_expression(f, &metric.table, &columns, select.qualified()));
                Ok((expression, filter, metric.name.clone()))
            }
            Measure::Aggregate { func, table, column } => {
                let (function, prefix) = func.sql();
                Ok(match (func, column) {
                    (AggregateFunc::CountDistinct, Some(c)) => {
                        (format!("COUNT(DISTINCT {})", select.col(table, c)), None, format!("distinct_{c}"))
                    }
                    (_, None) | (AggregateFunc::Count, _) => ("COUNT(*)".into(), None, format!("{table}_count")),
                    (_, Some(c)) => (format!("{function}({})", select.col(table, c)), None, format!("{prefix}_{c}")),
                })
            }
            Measure::Elapsed { func, table, from, to, unit } => {
                let (function, prefix) = func.sql();
                let span = unit.span_sql(&select.col(table, from), &select.col(table, to));
                let name = format!("{prefix}_{}_{}", unit.name(), to.trim_end_matches("_at"));
                Ok((format!("{function}({span})"), None, name))
            }
        }
    }
}

/// The conditions that keep `column` within `range`.
/// A time window as the explanation shows it: `column in [start, end) (phrase)`.
pub(crate) fn range_condition(column: &str, range: &TimeRange) -> String {
    format!(
        "{column} in [{}, {}) ({})",
        range.start.map(|d| d.to_string()).unwrap_or_else(|| "-inf".into()),
        range.end.map(|d| d.to_string()).unwrap_or_else(|| "+inf".into()),
        range.phrase
    )
}

pub(crate) fn range_sql(column: &str, range: &TimeRange) -> Vec<String> {
    let mut parts = Vec::new();
    if let Some(start) = range.start {
        parts.push(format!("{column} >= TIMESTAMP '{start} 00:00:00'"));
    }
    if let Some(end) = range.end {
        parts.push(format!("{column} < TIMESTAMP '{end} 00:00:00'"));
    }
    parts
}

/// The output name of a measure over one of several windows: `revenue_2025`,
/// `avg_csat_this_quarter`; the window's position when its phrase gives no name.
fn period_name(name: &str, period: &TimeRange, position: usize) -> String {
    let words: Vec<String> = period
        .phrase
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty() && !matches!(*w, "in" | "the" | "of" | "during"))
        .map(str::to_lowercase)
        .collect();
    if words.is_empty() { format!("{name}_{}", position + 1) } else { format!("{name}_{}", words.join("_")) }
}

/// `AGG(x)` -> `AGG(x) FILTER (WHERE condition)`.
fn with_filter(expression: &str, condition: &str) -> String {
    format!("{expression} FILTER (WHERE {condition})")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qualification_skips_strings_and_qualified_names() {
        let columns: BTreeSet<String> = ["status", "amount_usd"].iter().map(|s| s.to_string()).collect();
        assert_eq!(
            qualify_expression("SUM(amount_usd) + x.status + 'status'", "invoices", &columns, true),
            "SUM(invoices.amount_usd) + x.status + 'status'"
        );
        assert_eq!(qualify_expression("status = 'paid'", "invoices", &columns, false), "status = 'paid'");
        // A function named like a column stays a function.
        let columns: BTreeSet<String> = ["count", "max"].iter().map(|s| s.to_string()).collect();
        assert_eq!(qualify_expression("COUNT(*) + max", "t", &columns, true), "COUNT(*) + t.max");
    }
}
