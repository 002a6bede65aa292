//! From a row question's [`RowSelect`] to SQL: its columns and aggregates over the base table
//! and the tables it joins many-to-one, its conditions, grouping, count condition, ordering
//! and limit.

use crate::compile::{CompiledQuery, quote, range_condition, range_sql};
use crate::interpret::Interpreter;
use crate::query::{AggregateFunc, ColumnRef, Filter, RowItem, RowSelect, SemanticQuery};
use crate::{Error, Result};

impl Interpreter {
    /// Compiles a row question to SQL.
    pub(crate) fn compile_rows(&self, query: &SemanticQuery, rows: &RowSelect) -> Result<CompiledQuery> {
        let mut tables: Vec<String> = Vec::new();
        let mut note = |t: &str| {
            if t != rows.table && !tables.iter().any(|x| x == t) {
                tables.push(t.to_string());
            }
        };
        let item_columns = |item: &RowItem| match item {
            RowItem::Column(c) => Some(c.clone()),
            RowItem::Aggregate { column, .. } => column.clone(),
        };
        for c in rows.items.iter().filter_map(item_columns).chain(rows.group_by.iter().cloned()) {
            note(&c.table);
        }
        if let Some(c) = rows.order.as_ref().and_then(|o| item_columns(&o.item)) {
            note(&c.table);
        }
        let mut value_columns = Vec::new();
        for filter in &query.filters {
            match filter {
                Filter::Values { dimension, values, negated } => {
                    let (table, column) = self.dimension_column(&rows.table, dimension, &[])?;
                    note(&table);
                    value_columns.push((ColumnRef { table, column }, values.clone(), *negated));
                }
                Filter::Compare { table, .. } | Filter::Null { table, .. } | Filter::Sql { table, .. } => note(table),
                Filter::Segment { name } => {
                    return Err(Error::UnknownName { kind: "segment in a row question", name: name.clone() });
                }
            }
        }
        let mut joins = Vec::new();
        for table in &tables {
            let path = self
                .graph()
                .path(&rows.table, table)
                .ok_or_else(|| Error::Unjoinable { from: rows.table.clone(), to: table.clone() })?;
            for step in path {
                if !joins.iter().any(|j: &crate::graph::JoinStep| j.right_table == step.right_table) {
                    joins.push(step);
                }
            }
        }
        // Through a join that multiplies rows, a list repeats rows and an aggregate counts
        // them several times: neither is what was asked.
        if joins.iter().any(|j| j.fans_out) {
            return Err(Error::FanOut {
                measure: format!("the rows of {}", rows.table),
                table: joins.iter().find(|j| j.fans_out).map(|j| j.right_table.clone()).unwrap_or_default(),
            });
        }
        let qualified = !joins.is_empty();
        let col = |c: &ColumnRef| if qualified { format!("{}.{}", c.table, c.column) } else { c.column.clone() };
        let item_sql = |item: &RowItem| match item {
            RowItem::Column(c) => col(c),
            RowItem::Aggregate { func: AggregateFunc::Count, column: None } => "COUNT(*)".to_string(),
            RowItem::Aggregate { func: AggregateFunc::CountDistinct, column: Some(c) } => {
                format!("COUNT(DISTINCT {})", col(c))
            }
            RowItem::Aggregate { func, column } => {
                format!("{}({})", func.sql().0, column.as_ref().map(&col).unwrap_or_else(|| "*".into()))
            }
        };
        let item_name = |item: &RowItem| match item {
            RowItem::Column(c) => c.column.clone(),
            RowItem::Aggregate { func: AggregateFunc::Count, column: None } => "count".to_string(),
            RowItem::Aggregate { func, column } => {
                format!("{}_{}", func.sql().1, column.as_ref().map(|c| c.column.as_str()).unwrap_or("rows"))
            }
        };

        let mut items = rows.items.clone();
        if let Some(order) = &rows.order
            && !items.contains(&order.item)
            && !(rows.distinct && matches!(order.item, RowItem::Aggregate { .. }))
        {
            items.push(order.item.clone());
        }
        let mut select_list = Vec::new();
        let mut columns: Vec<String> = Vec::new();
        for item in &items {
            let mut name = item_name(item);
            if columns.contains(&name)
                && let RowItem::Column(c) = item
            {
                name = format!("{}_{}", c.table, c.column);
            }
            let sql = item_sql(item);
            if sql == name || (qualified && matches!(item, RowItem::Column(c) if c.column == name)) {
                select_list.push(sql);
            } else {
                select_list.push(format!("{sql} AS {name}"));
            }
            columns.push(name);
        }

        let mut where_sql = Vec::new();
        let mut conditions = Vec::new();
        for (column, values, negated) in &value_columns {
            let sql = if values.len() == 1 {
                format!("{} {} {}", col(column), if *negated { "<>" } else { "=" }, quote(&values[0]))
            } else {
                let list = values.iter().map(|v| quote(v)).collect::<Vec<_>>().join(", ");
                format!("{} {}IN ({list})", col(column), if *negated { "NOT " } else { "" })
            };
            conditions.push(sql.clone());
            where_sql.push(sql);
        }
        for filter in &query.filters {
            let sql = match filter {
                Filter::Compare { table, column, op, value } => {
                    format!("{} {} {value}", col(&ColumnRef { table: table.clone(), column: column.clone() }), op.sql())
                }
                Filter::Null { table, column, is_null } => format!(
                    "{} IS {}NULL",
                    col(&ColumnRef { table: table.clone(), column: column.clone() }),
                    if *is_null { "" } else { "NOT " }
                ),
                Filter::Sql { table, condition } => {
                    let columns = self
                        .layer()
                        .table(table)
                        .map(|t| t.columns.iter().map(|c| c.name.clone()).collect())
                        .unwrap_or_default();
                    format!("({})", crate::compile::qualify_expression(condition, table, &columns, qualified))
                }
                Filter::Values { .. } | Filter::Segment { .. } => continue,
            };
            conditions.push(sql.clone());
            where_sql.push(sql);
        }
        if let (Some(range), Some(time_column)) = (&query.time_range, &query.time_column) {
            let column = col(&ColumnRef { table: rows.table.clone(), column: time_column.clone() });
            where_sql.extend(range_sql(&column, range));
            conditions.push(range_condition(&column, range));
        }

        let mut sql = format!(
            "SELECT {}{} FROM {}",
            if rows.distinct { "DISTINCT " } else { "" },
            select_list.join(", "),
            rows.table
        );
        for step in &joins {
            sql.push_str(&format!(
                " JOIN {} ON {}.{} = {}.{}",
                step.right_table, step.left_table, step.left_column, step.right_table, step.right_column
            ));
        }
        if !where_sql.is_empty() {
            sql.push_str(&format!(" WHERE {}", where_sql.join(" AND ")));
        }
        if !rows.group_by.is_empty() {
            sql.push_str(&format!(" GROUP BY {}", rows.group_by.iter().map(&col).collect::<Vec<_>>().join(", ")));
        }
        if let Some(having) = &rows.having {
            sql.push_str(&format!(" HAVING COUNT(*) {} {}", having.op.sql(), having.value));
            conditions.push(format!("groups with COUNT(*) {} {}", having.op.sql(), having.value));
        }
        if let Some(order) = &rows.order {
            // The row with the largest value is never one without a value; a full ordering
            // keeps the engine's (and the source's) place for them.
            sql.push_str(&format!(
                " ORDER BY {} {}{}",
                item_sql(&order.item),
                if order.descending { "DESC" } else { "ASC" },
                if rows.limit.is_some() { " NULLS LAST" } else { "" }
            ));
        }
        if let Some(limit) = rows.limit {
            sql.push_str(&format!(" LIMIT {limit}"));
        }
        Ok(CompiledQuery { sql, columns, conditions })
    }
}
