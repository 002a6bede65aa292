//! Functions whose result grows with an argument's value instead of with the data: `range(1e9)`
//! builds a billion-element list, `repeat('x', 2e9)` a 2 GB string. DataFusion folds constant
//! calls while planning and evaluates the others row by row, in both cases outside its memory pool,
//! so one such call can exhaust the server's memory before the executor's limits apply (the
//! `sql_policy` fuzz target found `SELECT range(1000000000)`). They are admitted only with sizes
//! written as integer literals, up to [`MAX_GENERATED_LEN`], and not nested in each other.

use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{
    Expr, Function, FunctionArg, FunctionArgExpr, FunctionArguments, UnaryOperator, Value, ValueWithSpan,
};

use crate::error::{PolicyError, Result};

/// The most values a series function may generate, and the longest repeat or pad length.
pub const MAX_GENERATED_LEN: u64 = 1000;

/// How a function's result size is set by its arguments.
enum Growth {
    /// `range` / `generate_series(start, stop[, step])`: one value per step between the bounds,
    /// `stop` included by generate_series only.
    Series { inclusive: bool },
    /// A count or length argument at this position (`repeat(s, n)`, `lpad(s, n)`, ...).
    Length(usize),
}

fn growth(function: &Function) -> Option<Growth> {
    let name = function.name.0.last()?.as_ident()?.value.to_ascii_lowercase();
    match name.as_str() {
        "range" => Some(Growth::Series { inclusive: false }),
        "generate_series" => Some(Growth::Series { inclusive: true }),
        "repeat" | "lpad" | "rpad" | "array_repeat" | "list_repeat" | "array_resize" | "list_resize" => {
            Some(Growth::Length(1))
        }
        _ => None,
    }
}

/// Whether `function` is one whose result size its arguments set (`repeat`, `lpad`, `range`...).
pub(crate) fn generates(function: &Function) -> bool {
    growth(function).is_some()
}

/// Refuses a call to a size-generating function unless its sizes are small integer literals and
/// its arguments generate nothing themselves. `reads_generated` says that an argument reads a
/// column of a CTE or subquery that such a function built, which nests the two as surely as
/// writing one inside the other.
pub(crate) fn check_generated_size(function: &Function, reads_generated: bool) -> Result<()> {
    let Some(growth) = growth(function) else { return Ok(()) };
    let name = function.name.to_string();
    let refuse = |what: String| {
        Err(PolicyError::UnsupportedSyntax {
            construct: format!("{name}(...) {what}"),
            hint: format!(
                "its result size must be written as integer literals, at most {MAX_GENERATED_LEN} values or characters; \
                 to fill gaps in a time series, group the warehouse table by date_trunc instead"
            ),
        })
    };
    let FunctionArguments::List(list) = &function.args else {
        return refuse("without an argument list".to_string());
    };
    let mut args = Vec::with_capacity(list.args.len());
    for arg in &list.args {
        match arg {
            FunctionArg::Unnamed(FunctionArgExpr::Expr(expr)) => args.push(expr),
            _ => return refuse("with named or wildcard arguments".to_string()),
        }
    }
    if args.iter().any(|arg| contains_generator(arg)) {
        return refuse("nested in another function that repeats, pads or generates series".to_string());
    }
    if reads_generated {
        return refuse(
            "applied to a column that another function repeats, pads or generates series into (through a CTE or \
             subquery)"
                .to_string(),
        );
    }
    match growth {
        Growth::Series { inclusive } => {
            let bounds: Option<Vec<i128>> = args.iter().map(|arg| integer_literal(arg)).collect();
            let Some(bounds) = bounds else {
                return refuse("with bounds that are not integer literals".to_string());
            };
            let (start, stop, step) = match bounds.as_slice() {
                [stop] => (0, *stop, 1),
                [start, stop] => (*start, *stop, 1),
                [start, stop, step] => (*start, *stop, *step),
                _ => return refuse(format!("with {} arguments", bounds.len())),
            };
            if step == 0 {
                return refuse("with a step of 0".to_string());
            }
            let span = stop - start;
            let count = if span != 0 && span.signum() != step.signum() {
                0
            } else if inclusive {
                span / step + 1
            } else {
                // Steps that stay short of `stop`: the quotient rounded up.
                (span + step - step.signum()) / step
            };
            if count > i128::from(MAX_GENERATED_LEN) {
                return refuse(format!("generating {count} values"));
            }
        }
        Growth::Length(position) => {
            let Some(length) = args.get(position) else { return Ok(()) };
            match integer_literal(length) {
                Some(length) if length <= i128::from(MAX_GENERATED_LEN) => {}
                Some(length) => return refuse(format!("with a length of {length}")),
                None => return refuse(format!("with a length that is not an integer literal ({length})")),
            }
        }
    }
    Ok(())
}

/// True if `expr` calls a size-generating function anywhere (subqueries included).
pub(crate) fn contains_generator(expr: &Expr) -> bool {
    let found = datafusion::sql::sqlparser::ast::visit_expressions(expr, |inner| match inner {
        Expr::Function(function) if growth(function).is_some() => ControlFlow::Break(()),
        _ => ControlFlow::Continue(()),
    });
    found.is_break()
}

/// The value of an integer literal (optionally negated or parenthesized), saturated to `i128`'s
/// bounds far beyond any allowed size; `None` for anything else.
fn integer_literal(expr: &Expr) -> Option<i128> {
    match expr {
        Expr::Nested(inner) => integer_literal(inner),
        Expr::UnaryOp { op: UnaryOperator::Minus, expr } => integer_literal(expr).map(|value| -value),
        Expr::UnaryOp { op: UnaryOperator::Plus, expr } => integer_literal(expr),
        Expr::Value(ValueWithSpan { value: Value::Number(digits, _), .. }) => {
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            // More digits than i128 holds is still just "too large".
            Some(digits.parse::<i128>().unwrap_or(i128::MAX / 4))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use crate::test_support::demo_policy;

    fn kind_and_message(sql: &str) -> (String, String) {
        match demo_policy().check(sql) {
            Ok(query) => panic!("{sql}: admitted as {}", query.sql),
            Err(error) => (error.kind().to_string(), error.to_string()),
        }
    }

    #[test]
    fn a_huge_generated_value_is_refused_before_datafusion_builds_it() {
        // The fuzz input that exhausted memory: DataFusion's constant folding built the list.
        let (kind, message) = kind_and_message("SELECT range(1000000000)");
        assert_eq!(kind, "unsupported_syntax");
        assert!(message.starts_with("range(...) generating 1000000000 values is not supported"), "{message}");
        assert!(message.contains("at most 1000 values"), "{message}");
        for sql in [
            "SELECT generate_series(1, 1001)",
            "SELECT range(1001)",
            "SELECT range(0, 2001, 2)",
            "SELECT range(0, 100000000000000000000000000000000000000000000000000, 1)",
            "SELECT generate_series(10, -5000, -1)",
            "SELECT repeat('x', 2000000000)",
            "SELECT lpad(name, 1001, '0') FROM accounts",
            "SELECT array_repeat(1, account_id) FROM accounts",
            "SELECT RePeAt('ab', 10 * 10)",
            "SELECT repeat(repeat('x', 1000), 1000)",
            "SELECT array_length(array_repeat(range(10), 10))",
            "SELECT range(account_id) FROM accounts",
            "SELECT generate_series(DATE '2025-01-01', DATE '2025-12-31', INTERVAL '1 day')",
            "SELECT range(1, 10, 0)",
        ] {
            assert_eq!(kind_and_message(sql).0, "unsupported_syntax", "{sql}");
        }
    }

    #[test]
    fn a_generated_column_fed_to_another_generator_is_refused_like_inline_nesting() {
        for sql in [
            // Through CTE columns, by name, by alias list, and over several CTEs.
            "WITH a AS (SELECT repeat('ab', 1000) AS s) SELECT repeat(s, 1000) FROM a",
            "WITH a AS (SELECT repeat('ab', 1000) AS s), b AS (SELECT s FROM a) SELECT length(repeat(b.s, 500)) FROM b",
            "WITH a(v) AS (SELECT array_repeat(1, 1000)) SELECT array_repeat(v, 1000) FROM a",
            "WITH a AS (SELECT array_repeat(1, 1000) AS v), b AS (SELECT array_repeat(v, 1000) AS v FROM a) SELECT 1 FROM b",
            "WITH a AS (SELECT lpad('x', 1000, 'y') AS s), b AS (SELECT upper(s) || 'z' AS t FROM a) SELECT rpad(t, 1000, 'q') FROM b",
            // A * passes generated columns on; so does a VALUES row.
            "WITH a AS (SELECT repeat('x', 1000) AS s), b AS (SELECT * FROM a) SELECT repeat(s, 1000) FROM b",
            "WITH a AS (VALUES (repeat('x', 1000))) SELECT repeat(column1, 1000) FROM a",
            // Derived tables and scalar subqueries.
            "SELECT repeat(t.s, 1000) FROM (SELECT repeat('x', 1000) AS s) t",
            "SELECT repeat(t.c, 1000) FROM (SELECT repeat('x', 1000)) AS t(c)",
            "SELECT repeat((SELECT repeat('x', 1000)), 1000)",
            "WITH a AS (SELECT repeat('x', 1000) AS s) SELECT repeat((SELECT max(s) FROM a), 1000)",
            "SELECT array_repeat(x.v, 10) FROM (SELECT range(1000) AS v) x",
        ] {
            let (kind, message) = kind_and_message(sql);
            assert_eq!(kind, "unsupported_syntax", "{sql}: {message}");
            assert!(message.contains("repeats, pads or generates series"), "{sql}: {message}");
        }
        let (_, message) = kind_and_message("WITH a AS (SELECT repeat('ab', 1000) AS s) SELECT repeat(s, 1000) FROM a");
        assert!(message.contains("through a CTE or subquery"), "{message}");
    }

    #[test]
    fn generated_columns_used_otherwise_are_admitted() {
        let policy = demo_policy();
        for sql in [
            "WITH a AS (SELECT repeat('*', 3) AS stars) SELECT stars || 'x', length(stars) FROM a",
            "WITH a AS (SELECT lpad(name, 10, ' ') AS padded, name FROM accounts) SELECT repeat(name, 2), padded FROM a",
            "WITH a AS (SELECT repeat('x', 3) AS name) SELECT repeat(acc.name, 2) FROM accounts acc CROSS JOIN a",
            "SELECT repeat(t.name, 3) FROM (SELECT name, repeat('-', 10) AS rule FROM accounts) t",
            "WITH a AS (SELECT range(10) AS r) SELECT cardinality(r), array_repeat(1, 3) FROM a",
        ] {
            policy.check(sql).unwrap_or_else(|error| panic!("{sql}: {error}"));
        }
    }

    #[test]
    fn nested_subqueries_are_judged_once_per_level() {
        // Analyzing each subquery again for every enclosing level would take 2^depth steps.
        let depth = 20;
        let sql = format!("SELECT {}1{}", "(SELECT ".repeat(depth), ")".repeat(depth));
        let started = std::time::Instant::now();
        demo_policy().check(&sql).unwrap_or_else(|error| panic!("{error}"));
        assert!(started.elapsed() < std::time::Duration::from_secs(2), "took {:?}", started.elapsed());
    }

    #[test]
    fn small_literal_sizes_are_admitted() {
        let policy = demo_policy();
        for sql in [
            "SELECT range(1000)",
            "SELECT generate_series(1, 1000)",
            "SELECT generate_series(1000, 1, -1)",
            "SELECT range(5, 1)",
            "SELECT range(0, 2000, 2), range(-3, -3)",
            "SELECT lpad(CAST(account_id AS VARCHAR), 8, '0'), repeat('*', (3)) FROM accounts",
            "SELECT array_resize(make_array(1, 2), 10, 0)",
        ] {
            policy.check(sql).unwrap_or_else(|error| panic!("{sql}: {error}"));
        }
    }
}
