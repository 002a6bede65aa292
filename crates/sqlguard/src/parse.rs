//! Parsing exactly as DataFusion does, down to one query statement.

use datafusion::error::DataFusionError;
use datafusion::sql::parser::{DFParserBuilder, Statement as DfStatement};
use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{Expr, Query, SetExpr, Statement, TableFactor, Visit, Visitor};
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::keywords::Keyword;
use datafusion::sql::sqlparser::parser::ParserError;
use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer};

use crate::error::{PolicyError, Result};

/// The longest SQL text accepted, in bytes. Generated analytics queries are a few kilobytes. The
/// parser bounds parenthesized nesting but builds `1+1+1...` chains as trees one level deeper per
/// two bytes, and dropping a tree recurses: 16k levels were measured to drop safely on a 2 MiB
/// stack in a debug build, 32k levels overflowed it.
pub const MAX_SQL_BYTES: usize = 32 * 1024;

/// The deepest expression nesting accepted. DataFusion evaluates expression trees recursively
/// (unlike its planner, without stack growth), so deep trees must not reach the executor; real
/// queries nest a few dozen levels at most.
pub const MAX_EXPR_DEPTH: usize = 256;

/// The most set operations (`UNION`, `INTERSECT`, `EXCEPT`) in one query. DataFusion plans a
/// chain of them recursively: 500 aborted a debug build on a 2 MiB stack, and 1,800 `UNION`s
/// took more than 30 s to plan on the executor's 16 MiB one. 64 planned in a quarter of a
/// second; generated analytics queries use a handful.
pub const MAX_SET_OPERATIONS: usize = 64;

/// The most relations in one query: table references, derived tables, joined tables, UNNESTs
/// and CTE definitions. Chains of 500 joins or 900 CTEs (each CTE reading the one before)
/// aborted a debug build on a 2 MiB stack; 64 joins planned in under 3 s.
pub const MAX_RELATIONS: usize = 64;

/// DataFusion's default `sql_parser.recursion_limit`, so that both parsers refuse the same nesting.
const RECURSION_LIMIT: usize = 50;

/// Parses `sql` with DataFusion's parser and its default dialect (`generic`), so the policy sees the
/// same tree the executor will plan, and returns the single statement if it is a query.
pub(crate) fn parse_single_query(sql: &str) -> Result<Statement> {
    if sql.len() > MAX_SQL_BYTES {
        return Err(PolicyError::QueryTooLong { len: sql.len(), max: MAX_SQL_BYTES });
    }
    let statements = parse_statements(sql).map_err(|error| explain_parse_failure(sql, error))?;
    let mut statements = statements.into_iter();
    let statement = match (statements.next(), statements.len()) {
        (None, _) => return Err(PolicyError::EmptyQuery),
        (Some(statement), 0) => statement,
        (Some(_), rest) => return Err(PolicyError::MultipleStatements { count: rest + 1 }),
    };
    match statement {
        DfStatement::Statement(statement) => match *statement {
            query @ Statement::Query(_) => {
                let depth = expression_depth(&query);
                if depth > MAX_EXPR_DEPTH {
                    return Err(PolicyError::QueryTooComplex { depth, max: MAX_EXPR_DEPTH });
                }
                check_parts(&query)?;
                Ok(query)
            }
            other => Err(PolicyError::StatementNotAllowed { statement: statement_name(&other) }),
        },
        DfStatement::CreateExternalTable(_) => not_allowed("CREATE EXTERNAL TABLE"),
        DfStatement::CopyTo(_) => not_allowed("COPY ... TO"),
        DfStatement::Explain(explain) if explain.options.analyze => not_allowed("EXPLAIN ANALYZE"),
        DfStatement::Explain(_) => not_allowed("EXPLAIN"),
        DfStatement::Reset(_) => not_allowed("RESET"),
    }
}

/// Parses `sql` into DataFusion statements with the settings DataFusion uses by default.
pub(crate) fn parse_statements(sql: &str) -> Result<Vec<DfStatement>, DataFusionError> {
    let dialect = GenericDialect {};
    let mut parser = DFParserBuilder::new(sql).with_dialect(&dialect).with_recursion_limit(RECURSION_LIMIT).build()?;
    Ok(parser.parse_statements()?.into_iter().collect())
}

/// The deepest nesting of expressions in `statement`, counting through subqueries. sqlparser's
/// visitor grows its stack on the heap, so measuring is safe at any depth.
fn expression_depth(statement: &Statement) -> usize {
    struct DepthMeter {
        depth: usize,
        max: usize,
    }
    impl Visitor for DepthMeter {
        type Break = ();
        fn pre_visit_expr(&mut self, _expr: &Expr) -> ControlFlow<()> {
            self.depth += 1;
            self.max = self.max.max(self.depth);
            ControlFlow::Continue(())
        }
        fn post_visit_expr(&mut self, _expr: &Expr) -> ControlFlow<()> {
            self.depth -= 1;
            ControlFlow::Continue(())
        }
    }
    let mut meter = DepthMeter { depth: 0, max: 0 };
    let _ = statement.visit(&mut meter);
    meter.max
}

/// Refuses a query with more set operations or relations than [`MAX_SET_OPERATIONS`] and
/// [`MAX_RELATIONS`], counted through subqueries and CTEs.
fn check_parts(statement: &Statement) -> Result<()> {
    #[derive(Default)]
    struct PartCounter {
        set_operations: usize,
        relations: usize,
    }
    impl Visitor for PartCounter {
        type Break = ();
        fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<()> {
            if let Some(with) = &query.with {
                self.relations += with.cte_tables.len();
            }
            // Set operations nest left-deep, one level per operation: walked with a stack of
            // our own. A parenthesized operand is a query of its own, visited on its own.
            let mut pending = vec![query.body.as_ref()];
            while let Some(body) = pending.pop() {
                if let SetExpr::SetOperation { left, right, .. } = body {
                    self.set_operations += 1;
                    pending.push(left);
                    pending.push(right);
                }
            }
            ControlFlow::Continue(())
        }
        fn pre_visit_table_factor(&mut self, _table_factor: &TableFactor) -> ControlFlow<()> {
            self.relations += 1;
            ControlFlow::Continue(())
        }
    }
    let mut counter = PartCounter::default();
    let _ = statement.visit(&mut counter);
    if counter.set_operations > MAX_SET_OPERATIONS {
        return Err(PolicyError::QueryTooLarge {
            parts: "set operations (UNION, INTERSECT, EXCEPT)".to_string(),
            count: counter.set_operations,
            max: MAX_SET_OPERATIONS,
            hint: "write one query that groups the rows (GROUP BY, CASE or an IN list) instead of one query per \
                   value"
                .to_string(),
        });
    }
    if counter.relations > MAX_RELATIONS {
        return Err(PolicyError::QueryTooLarge {
            parts: "relations (tables, derived tables, joins and CTEs)".to_string(),
            count: counter.relations,
            max: MAX_RELATIONS,
            hint: "write a query that joins each table once and computes several results from it (GROUP BY, \
                   CASE, window functions) instead of chaining copies of it"
                .to_string(),
        });
    }
    Ok(())
}

fn not_allowed<T>(statement: &str) -> Result<T> {
    Err(PolicyError::StatementNotAllowed { statement: statement.to_string() })
}

/// A parse failure explained on the token stream, which the tokenizer gets right even where the
/// parser gives up: a `;` followed by more tokens means stacked statements (`SELECT 1; PRAGMA x`),
/// a leading keyword other than SELECT/WITH/VALUES/FROM means a statement that is refused anyway
/// (`COPY t FROM 'f'`); anything else, typos included, is reported as the parser's own message.
fn explain_parse_failure(sql: &str, error: DataFusionError) -> PolicyError {
    let dialect = GenericDialect {};
    let Ok(tokens) = Tokenizer::new(&dialect, sql).tokenize() else {
        return PolicyError::Parse { message: parser_message(&error) };
    };
    let significant: Vec<&Token> = tokens.iter().filter(|token| !matches!(token, Token::Whitespace(_))).collect();
    let statement_count = significant
        .split(|token| **token == Token::SemiColon)
        .filter(|segment| segment.iter().any(|token| **token != Token::EOF))
        .count();
    if statement_count > 1 {
        return PolicyError::MultipleStatements { count: statement_count };
    }
    match significant.first() {
        Some(Token::Word(word))
            if word.quote_style.is_none()
                && !matches!(
                    word.keyword,
                    Keyword::NoKeyword | Keyword::SELECT | Keyword::WITH | Keyword::VALUES | Keyword::FROM
                ) =>
        {
            PolicyError::StatementNotAllowed { statement: word.value.to_uppercase() }
        }
        _ => PolicyError::Parse { message: parser_message(&error) },
    }
}

/// The parser's own explanation, without DataFusion's wrapping.
fn parser_message(error: &DataFusionError) -> String {
    match error {
        DataFusionError::Diagnostic(_, inner) => parser_message(inner),
        DataFusionError::SQL(parser_error, _) => match parser_error.as_ref() {
            ParserError::ParserError(message) | ParserError::TokenizerError(message) => message.clone(),
            ParserError::RecursionLimitExceeded => {
                format!("the query is nested more than {RECURSION_LIMIT} levels deep; flatten it, e.g. with WITH")
            }
        },
        other => other.strip_backtrace(),
    }
}

/// The kind of a refused statement, in SQL words (`DROP TABLE`, `INSERT`, `START TRANSACTION`).
pub(crate) fn statement_name(statement: &Statement) -> String {
    match statement {
        Statement::CreateTable(create) if create.external => "CREATE EXTERNAL TABLE".to_string(),
        Statement::Drop { object_type, .. } => format!("DROP {object_type}"),
        Statement::Explain { analyze: true, .. } => "EXPLAIN ANALYZE".to_string(),
        Statement::Explain { describe_alias, .. } | Statement::ExplainTable { describe_alias, .. } => {
            describe_alias.to_string()
        }
        Statement::StartTransaction { begin: true, .. } => "BEGIN".to_string(),
        Statement::Set(_) => "SET".to_string(),
        other => variant_in_sql_words(other),
    }
}

/// `AlterTable(..)` -> `ALTER TABLE`: the statement's variant name split into upper-case words.
fn variant_in_sql_words(statement: &Statement) -> String {
    let debug = format!("{statement:?}");
    let variant: String = debug.chars().take_while(char::is_ascii_alphanumeric).collect();
    let mut words = String::new();
    for c in variant.chars() {
        if c.is_ascii_uppercase() && !words.is_empty() {
            words.push(' ');
        }
        words.push(c.to_ascii_uppercase());
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(sql: &str) -> PolicyError {
        parse_single_query(sql).expect_err(sql)
    }

    fn refused_statement(sql: &str) -> String {
        match refusal(sql) {
            PolicyError::StatementNotAllowed { statement } => statement,
            other => panic!("{sql}: expected statement_not_allowed, got {other:?}"),
        }
    }

    #[test]
    fn one_query_parses() {
        assert!(matches!(parse_single_query("SELECT 1").unwrap(), Statement::Query(_)));
        assert!(matches!(parse_single_query("  SELECT 1 ; ").unwrap(), Statement::Query(_)));
        assert!(matches!(
            parse_single_query("-- note\nWITH a AS (SELECT 1) SELECT * FROM a").unwrap(),
            Statement::Query(_)
        ));
    }

    #[test]
    fn empty_input_is_its_own_error() {
        assert_eq!(refusal("").kind(), "empty_query");
        assert_eq!(refusal("  ;; -- nothing\n").kind(), "empty_query");
    }

    #[test]
    fn stacked_statements_are_refused_however_they_are_hidden() {
        for sql in [
            "SELECT 1; DROP TABLE users",
            "SELECT 1 /* ; */ ; DROP TABLE users",
            "SELECT ';' ; DROP TABLE users",
            "SELECT 1 --\n; DELETE FROM users",
            "SELECT 1; PRAGMA table_info(users)",
        ] {
            assert_eq!(refusal(sql), PolicyError::MultipleStatements { count: 2 }, "{sql}");
        }
        assert!(parse_single_query("SELECT 1 -- ; DROP TABLE users").is_ok());
    }

    #[test]
    fn non_query_statements_are_named() {
        let cases = [
            ("DROP TABLE users", "DROP TABLE"),
            ("CREATE TABLE t (a INT)", "CREATE TABLE"),
            ("CREATE VIEW v AS SELECT 1", "CREATE VIEW"),
            ("CREATE EXTERNAL TABLE t STORED AS PARQUET LOCATION '/tmp/t.parquet'", "CREATE EXTERNAL TABLE"),
            ("ALTER TABLE users ADD COLUMN x INT", "ALTER TABLE"),
            ("TRUNCATE TABLE users", "TRUNCATE"),
            ("INSERT INTO users VALUES (1)", "INSERT"),
            ("UPDATE users SET role = 'admin'", "UPDATE"),
            ("DELETE FROM users", "DELETE"),
            ("COPY users TO '/tmp/u.csv'", "COPY ... TO"),
            ("COPY users FROM '/tmp/u.csv'", "COPY"),
            ("SET datafusion.execution.batch_size = 1", "SET"),
            ("EXPLAIN SELECT 1", "EXPLAIN"),
            ("EXPLAIN ANALYZE SELECT 1", "EXPLAIN ANALYZE"),
            ("BEGIN", "BEGIN"),
            ("START TRANSACTION", "START TRANSACTION"),
            ("COMMIT", "COMMIT"),
            ("PREPARE p AS SELECT 1", "PREPARE"),
            ("EXECUTE p", "EXECUTE"),
            ("DESCRIBE users", "DESCRIBE"),
            ("SHOW TABLES", "SHOW TABLES"),
            ("RESET datafusion.execution.batch_size", "RESET"),
            ("PRAGMA table_info(users)", "PRAGMA"),
        ];
        for (sql, name) in cases {
            assert_eq!(refused_statement(sql), name, "{sql}");
        }
    }

    #[test]
    fn parse_errors_carry_the_parser_message() {
        assert_eq!(refusal("SELEC count(*) FROM users").kind(), "parse_error");
        let error = refusal("SELECT (1 + FROM users");
        assert_eq!(error.kind(), "parse_error");
        assert!(error.to_string().contains("Line: 1"), "{error}");
        assert!(!error.to_string().contains("ParserError("), "{error}");
    }

    #[test]
    fn deep_nesting_is_a_parse_error_not_a_crash() {
        let sql = format!("SELECT {}1{}", "(".repeat(200), ")".repeat(200));
        let error = refusal(&sql);
        assert_eq!(error.kind(), "parse_error");
        assert!(error.to_string().contains("nested more than 50 levels"), "{error}");
    }

    #[test]
    fn deep_expression_chains_are_refused_before_they_reach_the_executor() {
        let at_limit = format!("SELECT 1{}", "+1".repeat(MAX_EXPR_DEPTH - 1));
        assert!(parse_single_query(&at_limit).is_ok());
        let over = format!("SELECT 1{}", "+1".repeat(MAX_EXPR_DEPTH));
        assert_eq!(refusal(&over), PolicyError::QueryTooComplex { depth: MAX_EXPR_DEPTH + 1, max: MAX_EXPR_DEPTH });
        // The longest accepted text, as a chain: measured and dropped without exhausting the stack.
        let longest = format!("SELECT 1{}", "+1".repeat((MAX_SQL_BYTES - 8) / 2));
        assert!(longest.len() <= MAX_SQL_BYTES);
        assert_eq!(refusal(&longest).kind(), "query_too_complex");
        let deep_subqueries = format!("SELECT {}1{}", "(SELECT ".repeat(20), ")".repeat(20));
        assert!(parse_single_query(&deep_subqueries).is_ok());
    }

    #[test]
    fn long_chains_of_set_operations_and_relations_are_refused_before_they_reach_the_planner() {
        let unions = |arms: usize| format!("SELECT 1 AS x{}", " UNION SELECT 1".repeat(arms - 1));
        assert!(parse_single_query(&unions(MAX_SET_OPERATIONS + 1)).is_ok());
        let refused = refusal(&unions(MAX_SET_OPERATIONS + 2));
        assert_eq!(refused.kind(), "query_too_large");
        let message = refused.to_string();
        assert!(
            message.starts_with("the query has 65 set operations (UNION, INTERSECT, EXCEPT), more than the 64"),
            "{message}"
        );
        assert!(message.contains("GROUP BY"), "{message}");
        // Parenthesized operands and set operations in subqueries count too.
        let nested = format!("SELECT count(*) FROM ({}) t WHERE x IN ({})", unions(40), unions(30));
        assert_eq!(refusal(&nested).kind(), "query_too_large");

        let joins = |tables: usize| {
            let joined: String = (1..tables)
                .map(|i| format!(" JOIN accounts a{i} ON a{i}.account_id = a{}.account_id", i - 1))
                .collect();
            format!("SELECT count(*) FROM accounts a0{joined}")
        };
        assert!(parse_single_query(&joins(MAX_RELATIONS)).is_ok());
        let message = refusal(&joins(MAX_RELATIONS + 1)).to_string();
        assert!(
            message.starts_with("the query has 65 relations (tables, derived tables, joins and CTEs)"),
            "{message}"
        );
        let ctes = |count: usize| {
            let chain: Vec<String> = (1..count).map(|i| format!("a{i} AS (SELECT x FROM a{})", i - 1)).collect();
            format!("WITH a0 AS (SELECT 1 AS x), {} SELECT x FROM a{}", chain.join(", "), count - 1)
        };
        // Each CTE counts once as a definition and once where the next one reads it.
        assert!(parse_single_query(&ctes(32)).is_ok());
        assert_eq!(refusal(&ctes(33)).kind(), "query_too_large");
    }

    #[test]
    fn overlong_input_is_refused_before_parsing() {
        let sql = format!("SELECT {}1", "1 + ".repeat(MAX_SQL_BYTES / 4));
        assert_eq!(refusal(&sql), PolicyError::QueryTooLong { len: sql.len(), max: MAX_SQL_BYTES });
    }
}
