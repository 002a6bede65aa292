//! The little the harness needs to know about SQL text, read from the parsed tree (with a
//! tokenizer fallback for SQL the parser does not accept), never by pattern matching.
use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{SetExpr, Statement, visit_relations};
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
    fn table_reads_are_found_in_the_tree() {
        assert!(reads_table("SELECT * FROM Rankings", "rankings"));
        assert!(reads_table("SELECT a FROM players WHERE id IN (SELECT player_id FROM rankings)", "rankings"));
        assert!(reads_table("SELECT a FROM players AS p JOIN main.rankings AS r ON p.id = r.id", "rankings"));
        assert!(!reads_table("SELECT ranking FROM players", "rankings"));
        assert!(!reads_table("SELECT 'rankings' FROM players", "rankings"));
    }
}
