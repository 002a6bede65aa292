//! The little the harness needs to know about SQL text, read from the parsed tree (with a
//! tokenizer fallback for SQL the parser does not accept), never by pattern matching.
use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{
    Expr, Ident, LimitClause, OrderByExpr, OrderByKind, OrderByOptions, Query, SelectItem, SetExpr, Statement, Value,
    VisitMut, VisitorMut, visit_relations,
};
use datafusion::sql::sqlparser::dialect::{Dialect, GenericDialect, PostgreSqlDialect, SQLiteDialect};
use datafusion::sql::sqlparser::keywords::Keyword;
use datafusion::sql::sqlparser::parser::Parser;
use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer};

fn parse(sql: &str) -> Option<Vec<Statement>> {
    let dialects: [&dyn Dialect; 3] = [&GenericDialect {}, &SQLiteDialect {}, &PostgreSqlDialect {}];
    dialects.iter().find_map(|d| Parser::parse_sql(*d, sql).ok())
}

/// Whether the query's result order is defined: its outermost query (after any `WITH`, and
/// through parentheses) has an `ORDER BY`. An `ORDER BY` in a subquery, a CTE or a window
/// does not count.
pub fn has_top_level_order_by(sql: &str) -> bool {
    match parse(sql) {
        Some(statements) => statements.last().is_some_and(|s| match s {
            Statement::Query(query) => query_is_ordered(query),
            _ => false,
        }),
        None => tokens_have_top_level_order_by(sql),
    }
}

fn query_is_ordered(query: &datafusion::sql::sqlparser::ast::Query) -> bool {
    if query.order_by.is_some() {
        return true;
    }
    match query.body.as_ref() {
        SetExpr::Query(inner) => query_is_ordered(inner),
        _ => false,
    }
}

/// `ORDER BY` outside every parenthesis, for SQL no dialect parses.
fn tokens_have_top_level_order_by(sql: &str) -> bool {
    let Ok(tokens) = Tokenizer::new(&GenericDialect {}, sql).tokenize() else {
        return false;
    };
    let mut depth = 0i32;
    let mut after_order = false;
    for token in tokens {
        match token {
            Token::Whitespace(_) => continue,
            Token::LParen => depth += 1,
            Token::RParen => depth -= 1,
            Token::Word(ref w) if depth == 0 && w.quote_style.is_none() => {
                if after_order && w.keyword == Keyword::BY {
                    return true;
                }
                after_order = w.keyword == Keyword::ORDER;
                continue;
            }
            _ => {}
        }
        after_order = false;
    }
    false
}

/// A gold query rewritten to show how its rows were ordered: the ORDER BY expressions are
/// appended to its select list and its LIMIT and OFFSET removed, so that running it gives
/// every row with its sort key; the original result is `offset..offset + limit` of it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OrderKeyQuery {
    /// The rewritten SQL (SQLite dialect).
    pub sql: String,
    /// Sort-key columns appended after the original ones.
    pub keys: usize,
    /// Rows the original skips.
    pub offset: usize,
    /// Rows the original keeps; `None` = all.
    pub limit: Option<usize>,
}

/// The [`OrderKeyQuery`] of a SQLite query whose outermost SELECT has an ORDER BY; `None` for
/// set operations, SELECT DISTINCT (an extra column would change which rows are distinct),
/// non-literal limits and SQL that does not parse.
pub(crate) fn order_key_query(sql: &str) -> Option<OrderKeyQuery> {
    let mut statements = Parser::parse_sql(&SQLiteDialect {}, sql).ok()?;
    let [Statement::Query(query)] = statements.as_mut_slice() else { return None };
    let order_by = query.order_by.as_ref()?;
    let OrderByKind::Expressions(items) = &order_by.kind else { return None };
    let SetExpr::Select(select) = query.body.as_mut() else { return None };
    if select.distinct.is_some() || items.is_empty() {
        return None;
    }
    let mut keys = Vec::with_capacity(items.len());
    for item in items {
        let target = match &item.expr {
            Expr::Value(value) => match &value.value {
                Value::Number(n, _) => {
                    let index = n.parse::<usize>().ok()?.checked_sub(1)?;
                    match select.projection.get(index)? {
                        SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => e.clone(),
                        _ => return None,
                    }
                }
                _ => item.expr.clone(),
            },
            Expr::Identifier(name) => select
                .projection
                .iter()
                .find_map(|p| match p {
                    SelectItem::ExprWithAlias { expr, alias } if alias.value.eq_ignore_ascii_case(&name.value) => {
                        Some(expr.clone())
                    }
                    _ => None,
                })
                .unwrap_or_else(|| item.expr.clone()),
            other => other.clone(),
        };
        keys.push(target);
    }
    let literal = |e: &Expr| match e {
        Expr::Value(v) => match &v.value {
            Value::Number(n, _) => n.parse::<usize>().ok(),
            _ => None,
        },
        _ => None,
    };
    let (offset, limit) = match &query.limit_clause {
        None => (0, None),
        Some(LimitClause::LimitOffset { limit, offset, limit_by }) if limit_by.is_empty() => {
            let limit = match limit {
                Some(l) => Some(literal(l)?),
                None => None,
            };
            let offset = match offset {
                Some(o) => literal(&o.value)?,
                None => 0,
            };
            (offset, limit)
        }
        Some(LimitClause::OffsetCommaLimit { offset, limit }) => (literal(offset)?, Some(literal(limit)?)),
        Some(_) => return None,
    };
    let count = keys.len();
    for (i, key) in keys.into_iter().enumerate() {
        select
            .projection
            .push(SelectItem::ExprWithAlias { expr: key, alias: Ident::new(format!("quarry_sort_key_{i}")) });
    }
    query.limit_clause = None;
    Some(OrderKeyQuery { sql: statements[0].to_string(), keys: count, offset, limit })
}

/// The query with every `ORDER BY ... LIMIT` (subqueries included) given a tie-breaker: its
/// selected expressions, ascending in the first variant and descending in the second. Where
/// rows tie on the written sort keys, the two variants keep the first and the last of them,
/// which a gold replay accepts as well as SQLite's own pick. Empty when nothing changes or
/// the SQL does not parse.
pub(crate) fn tie_break_variants(sql: &str) -> Vec<String> {
    struct TieBreaker {
        ascending: bool,
        changed: bool,
    }
    impl VisitorMut for TieBreaker {
        type Break = ();
        fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
            let SetExpr::Select(select) = query.body.as_ref() else { return ControlFlow::Continue(()) };
            if query.limit_clause.is_none() || select.distinct.is_some() {
                return ControlFlow::Continue(());
            }
            let Some(order_by) = &mut query.order_by else { return ControlFlow::Continue(()) };
            let OrderByKind::Expressions(items) = &mut order_by.kind else { return ControlFlow::Continue(()) };
            for item in &select.projection {
                if let SelectItem::UnnamedExpr(expr) | SelectItem::ExprWithAlias { expr, .. } = item {
                    items.push(OrderByExpr {
                        expr: expr.clone(),
                        options: OrderByOptions { asc: Some(self.ascending), nulls_first: None },
                        with_fill: None,
                    });
                    self.changed = true;
                }
            }
            ControlFlow::Continue(())
        }
    }
    let Ok(statements) = Parser::parse_sql(&SQLiteDialect {}, sql) else { return Vec::new() };
    [true, false]
        .into_iter()
        .filter_map(|ascending| {
            let mut statements = statements.clone();
            let mut breaker = TieBreaker { ascending, changed: false };
            let _ = statements.visit(&mut breaker);
            breaker.changed.then(|| statements.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))
        })
        .collect()
}

/// Whether the query reads the table `table` (compared without regard to case, schema
/// qualifiers ignored).
pub fn reads_table(sql: &str, table: &str) -> bool {
    match parse(sql) {
        Some(statements) => {
            let found = visit_relations(&statements, |name| {
                let last = name.0.last().and_then(|part| part.as_ident()).map(|ident| ident.value.as_str());
                if last.is_some_and(|n| n.eq_ignore_ascii_case(table)) {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            });
            found.is_break()
        }
        None => Tokenizer::new(&GenericDialect {}, sql)
            .tokenize()
            .map(|tokens| tokens.iter().any(|t| matches!(t, Token::Word(w) if w.value.eq_ignore_ascii_case(table))))
            .unwrap_or(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_outermost_order_by_counts() {
        assert!(has_top_level_order_by("SELECT a FROM t ORDER BY a"));
        assert!(has_top_level_order_by("WITH x AS (SELECT 1 AS a) SELECT a FROM x ORDER BY a DESC LIMIT 3"));
        assert!(has_top_level_order_by("SELECT a FROM t UNION SELECT b FROM u ORDER BY 1"));
        assert!(has_top_level_order_by("(SELECT a FROM t ORDER BY a)"));
        assert!(!has_top_level_order_by("SELECT a FROM (SELECT a FROM t ORDER BY a) s"));
        assert!(!has_top_level_order_by("WITH x AS (SELECT a FROM t ORDER BY a) SELECT a FROM x"));
        assert!(!has_top_level_order_by("SELECT a, row_number() OVER (ORDER BY b) FROM t"));
        assert!(!has_top_level_order_by("SELECT 'order by' FROM t"));
        // Not parseable by any dialect: the tokenizer decides.
        assert!(has_top_level_order_by("SELECT a FROM t WHERE ORDER BY a"));
        assert!(!has_top_level_order_by("SELECT a FROM t WHERE (ORDER BY a"));
    }

    #[test]
    fn order_key_queries_show_the_sort_keys_without_the_limit() {
        let q = order_key_query("SELECT name FROM singer ORDER BY age DESC LIMIT 3").unwrap();
        assert_eq!(q.sql, "SELECT name, age AS quarry_sort_key_0 FROM singer ORDER BY age DESC");
        assert_eq!((q.keys, q.offset, q.limit), (1, 0, Some(3)));
        let q = order_key_query(
            "SELECT country, count(*) AS n FROM singer GROUP BY country ORDER BY n, 1 LIMIT 2 OFFSET 1",
        )
        .unwrap();
        assert_eq!(
            q.sql,
            "SELECT country, count(*) AS n, count(*) AS quarry_sort_key_0, country AS quarry_sort_key_1 FROM singer \
             GROUP BY country ORDER BY n, 1"
        );
        assert_eq!((q.offset, q.limit), (1, Some(2)));
        assert!(order_key_query("SELECT DISTINCT name FROM singer ORDER BY age").is_none());
        assert!(order_key_query("SELECT a FROM t UNION SELECT b FROM u ORDER BY 1").is_none());
        assert!(order_key_query("SELECT a FROM t").is_none());
    }

    #[test]
    fn tie_breakers_go_into_every_ordered_limit() {
        let variants = tie_break_variants(
            "SELECT name FROM dogs WHERE breed = (SELECT breed FROM dogs GROUP BY breed ORDER BY count(*) LIMIT 1)",
        );
        assert_eq!(
            variants,
            [
                "SELECT name FROM dogs WHERE breed = (SELECT breed FROM dogs GROUP BY breed ORDER BY count(*), breed ASC \
                 LIMIT 1)",
                "SELECT name FROM dogs WHERE breed = (SELECT breed FROM dogs GROUP BY breed ORDER BY count(*), breed DESC \
                 LIMIT 1)",
            ]
        );
        assert!(tie_break_variants("SELECT name FROM dogs ORDER BY age").is_empty());
        assert!(tie_break_variants("not sql").is_empty());
    }

    #[test]
    fn table_reads_are_found_in_the_tree() {
        assert!(reads_table("SELECT * FROM Rankings", "rankings"));
        assert!(reads_table("SELECT a FROM players WHERE id IN (SELECT player_id FROM rankings)", "rankings"));
        assert!(reads_table("SELECT a FROM players AS p JOIN main.rankings AS r ON p.id = r.id", "rankings"));
        assert!(!reads_table("SELECT ranking FROM players", "rankings"));
        assert!(!reads_table("SELECT 'rankings' FROM players", "rankings"));
    }
}
