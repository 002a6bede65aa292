//! The row limit every admitted query carries.

use datafusion::sql::sqlparser::ast::{
    Expr, LimitClause, Offset, OffsetRows, Query, UnaryOperator, Value, ValueWithSpan,
};

use crate::PolicyConfig;
use crate::error::{PolicyError, Result};

/// The row limit a query ended up with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AppliedLimit {
    pub limit: u64,
    /// No limit was written (or `LIMIT ALL`, which parses the same), so the default was added.
    pub added: bool,
    /// The written limit was larger than the maximum and was lowered to it.
    pub capped: bool,
}

/// Rewrites the outermost query so it ends in `LIMIT n [OFFSET m]`: the default limit when none is
/// written, the written one capped to the maximum otherwise. `FETCH FIRST n ROWS ONLY` becomes
/// `LIMIT n` (DataFusion does not plan FETCH) and MySQL's `LIMIT m, n` becomes `LIMIT n OFFSET m`.
/// On a set operation the outermost query's limit bounds the whole result.
pub(crate) fn apply_row_limit(query: &mut Query, config: &PolicyConfig) -> Result<AppliedLimit> {
    let invalid = |clause: &str, reason: String| PolicyError::InvalidLimit {
        clause: clause.to_string(),
        reason,
        max_limit: config.max_limit,
    };

    let (limit, offset) = match query.limit_clause.take() {
        None => (None, None),
        Some(LimitClause::LimitOffset { limit, offset, limit_by }) => {
            if !limit_by.is_empty() {
                return Err(PolicyError::UnsupportedSyntax {
                    construct: "LIMIT ... BY".to_string(),
                    hint: "use row_number() OVER (PARTITION BY ...) in a subquery and filter on it".to_string(),
                });
            }
            (limit, offset)
        }
        Some(LimitClause::OffsetCommaLimit { offset, limit }) => {
            (Some(limit), Some(Offset { value: offset, rows: OffsetRows::None }))
        }
    };
    let requested = match (limit, query.fetch.take()) {
        (Some(_), Some(_)) => {
            return Err(invalid("FETCH", "cannot be combined with LIMIT; keep only one of them".to_string()));
        }
        (Some(limit), None) => Some(row_count(&limit).map_err(|reason| invalid("LIMIT", reason))?),
        (None, Some(fetch)) => {
            if fetch.percent {
                return Err(invalid("FETCH", "with PERCENT is not supported".to_string()));
            }
            if fetch.with_ties {
                return Err(invalid("FETCH", "WITH TIES is not supported".to_string()));
            }
            match fetch.quantity {
                // `FETCH FIRST ROW ONLY`
                None => Some(1),
                Some(quantity) => Some(row_count(&quantity).map_err(|reason| invalid("FETCH", reason))?),
            }
        }
        (None, None) => None,
    };
    if let Some(offset) = &offset {
        row_count(&offset.value).map_err(|reason| invalid("OFFSET", reason))?;
    }

    let default_limit = config.default_limit.min(config.max_limit);
    let applied = match requested {
        None => AppliedLimit { limit: default_limit, added: true, capped: false },
        Some(rows) if rows > config.max_limit => AppliedLimit { limit: config.max_limit, added: false, capped: true },
        Some(rows) => AppliedLimit { limit: rows, added: false, capped: false },
    };
    query.limit_clause = Some(LimitClause::LimitOffset {
        limit: Some(Expr::Value(ValueWithSpan::from(Value::Number(applied.limit.to_string(), false)))),
        offset,
        limit_by: Vec::new(),
    });
    Ok(applied)
}

/// The row count an integer literal states; literals beyond `u64` saturate (they are capped
/// anyway). Anything else is refused with the reason, as the text following the clause name.
fn row_count(expr: &Expr) -> Result<u64, String> {
    match expr {
        Expr::Nested(inner) => row_count(inner),
        Expr::Value(ValueWithSpan { value: Value::Number(digits, _), .. }) => {
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!("must be a whole number, not {digits}"));
            }
            Ok(digits.parse::<u64>().unwrap_or(u64::MAX))
        }
        Expr::UnaryOp { op: UnaryOperator::Minus, expr: inner }
            if matches!(inner.as_ref(), Expr::Value(ValueWithSpan { value: Value::Number(..), .. })) =>
        {
            Err(format!("must not be negative (found {expr})"))
        }
        Expr::Value(ValueWithSpan { value: Value::Null, .. }) => Err("must be a number, not NULL".to_string()),
        other => Err(format!("must be a number written out, not an expression or parameter (found {other})")),
    }
}

#[cfg(test)]
mod tests {
    use datafusion::sql::sqlparser::ast::Statement;

    use super::*;
    use crate::parse::parse_single_query;

    fn config() -> PolicyConfig {
        PolicyConfig { default_limit: 100, max_limit: 500, ..PolicyConfig::default() }
    }

    fn limited(sql: &str) -> Result<(String, AppliedLimit)> {
        let Statement::Query(mut query) = parse_single_query(sql)? else { panic!("not a query: {sql}") };
        let applied = apply_row_limit(&mut query, &config())?;
        Ok((query.to_string(), applied))
    }

    fn reason(sql: &str) -> String {
        let error = limited(sql).expect_err(sql);
        assert_eq!(error.kind(), "invalid_limit", "{sql}: {error}");
        error.to_string()
    }

    #[test]
    fn a_missing_limit_gets_the_default() {
        let (sql, applied) = limited("SELECT 1").unwrap();
        assert_eq!(sql, "SELECT 1 LIMIT 100");
        assert_eq!(applied, AppliedLimit { limit: 100, added: true, capped: false });
    }

    #[test]
    fn limit_all_parses_as_no_limit_and_gets_the_default() {
        let (sql, applied) = limited("SELECT 1 LIMIT ALL OFFSET 3").unwrap();
        assert_eq!(sql, "SELECT 1 LIMIT 100 OFFSET 3");
        assert!(applied.added);
    }

    #[test]
    fn small_limits_are_kept_and_large_ones_capped() {
        assert_eq!(limited("SELECT 1 LIMIT 7").unwrap().0, "SELECT 1 LIMIT 7");
        let (sql, applied) = limited("SELECT 1 LIMIT 100000").unwrap();
        assert_eq!(sql, "SELECT 1 LIMIT 500");
        assert_eq!(applied, AppliedLimit { limit: 500, added: false, capped: true });
        let (sql, applied) = limited("SELECT 1 LIMIT 99999999999999999999999999").unwrap();
        assert_eq!(sql, "SELECT 1 LIMIT 500");
        assert!(applied.capped);
        assert_eq!(limited("SELECT 1 LIMIT 0").unwrap().0, "SELECT 1 LIMIT 0");
        assert_eq!(limited("SELECT 1 LIMIT (8)").unwrap().0, "SELECT 1 LIMIT 8");
    }

    #[test]
    fn offsets_are_kept_and_mysql_comma_form_is_rewritten() {
        assert_eq!(limited("SELECT 1 LIMIT 5 OFFSET 10").unwrap().0, "SELECT 1 LIMIT 5 OFFSET 10");
        assert_eq!(limited("SELECT 1 OFFSET 10 ROWS").unwrap().0, "SELECT 1 LIMIT 100 OFFSET 10 ROWS");
        assert_eq!(limited("SELECT 1 LIMIT 10, 5").unwrap().0, "SELECT 1 LIMIT 5 OFFSET 10");
    }

    #[test]
    fn fetch_first_is_treated_like_limit() {
        assert_eq!(limited("SELECT 1 FETCH FIRST 5 ROWS ONLY").unwrap().0, "SELECT 1 LIMIT 5");
        assert_eq!(limited("SELECT 1 FETCH FIRST ROW ONLY").unwrap().0, "SELECT 1 LIMIT 1");
        let (sql, applied) = limited("SELECT 1 OFFSET 2 ROWS FETCH NEXT 9000 ROWS ONLY").unwrap();
        assert_eq!(sql, "SELECT 1 LIMIT 500 OFFSET 2 ROWS");
        assert!(applied.capped);
    }

    #[test]
    fn set_operations_are_limited_as_a_whole() {
        let (sql, _) = limited("SELECT 1 UNION ALL SELECT 2").unwrap();
        assert_eq!(sql, "SELECT 1 UNION ALL SELECT 2 LIMIT 100");
        let (sql, _) = limited("(SELECT 1 LIMIT 100000) UNION ALL (SELECT 2)").unwrap();
        assert_eq!(sql, "(SELECT 1 LIMIT 100000) UNION ALL (SELECT 2) LIMIT 100");
    }

    #[test]
    fn unenforceable_limits_are_refused_with_the_reason() {
        assert!(reason("SELECT 1 LIMIT -5").contains("must not be negative (found -5)"));
        assert!(reason("SELECT 1 LIMIT 10 + 5").contains("not an expression"));
        assert!(reason("SELECT 1 LIMIT $1").contains("parameter"));
        assert!(reason("SELECT 1 LIMIT 5.5").contains("whole number"));
        assert!(reason("SELECT 1 LIMIT NULL").contains("not NULL"));
        assert!(reason("SELECT 1 LIMIT (SELECT 5)").contains("not an expression"));
        assert!(reason("SELECT 1 OFFSET -1").starts_with("OFFSET must not be negative"));
        assert!(reason("SELECT 1 FETCH FIRST 10 PERCENT ROWS ONLY").contains("PERCENT"));
        assert!(reason("SELECT 1 FETCH FIRST 5 ROWS WITH TIES").contains("WITH TIES"));
        let message = reason("SELECT 1 LIMIT -5");
        assert!(message.ends_with("write LIMIT with a non-negative integer literal (at most 500 rows)"), "{message}");
    }
}
