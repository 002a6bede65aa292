//! Small rewrites of SQL expressions between the formats' conventions and quarry's
//! (an aggregate plus a separate row filter).

use std::sync::LazyLock;

use regex::Regex;

/// Whether `text` is a plain column name (optionally double-quoted or backquoted).
pub(crate) fn is_identifier(text: &str) -> bool {
    let text = unquote(text.trim());
    let mut chars = text.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `text` without one pair of surrounding double quotes or backquotes.
pub(crate) fn unquote(text: &str) -> &str {
    let text = text.trim();
    for q in ['"', '`'] {
        if let Some(inner) = text.strip_prefix(q).and_then(|t| t.strip_suffix(q)) {
            return inner;
        }
    }
    text
}

/// A Snowflake identifier as the snapshot spells it: unquoted identifiers are stored upper
/// case and match case-insensitively, so an all-upper-case name is read in lower case (the
/// case snapshot tables and columns use); a quoted name is kept as written.
pub(crate) fn snowflake_name(name: &str) -> String {
    let trimmed = name.trim();
    if trimmed.starts_with('"') {
        return unquote(trimmed).to_string();
    }
    if trimmed.chars().any(|c| c.is_ascii_lowercase()) { trimmed.to_string() } else { trimmed.to_ascii_lowercase() }
}

/// Whether an expression is templated (Jinja `{{ }}`/`{% %}`, JavaScript `${ }`).
pub(crate) fn is_templated(text: &str) -> bool {
    text.contains("{{") || text.contains("{%") || text.contains("${")
}

/// The physical table of a source reference: `db.schema.table` -> `table`,
/// `ref('users')` -> `users`, quotes removed.
pub(crate) fn physical_table(source: &str) -> String {
    static REF: LazyLock<Regex> = LazyLock::new(|| Regex::new(r#"^ref\(\s*['"]([^'"]+)['"]\s*\)$"#).expect("valid"));
    let source = source.trim();
    if let Some(c) = REF.captures(source) {
        return c[1].to_string();
    }
    unquote(source.rsplit('.').next().unwrap_or(source)).to_string()
}

/// Whether the parentheses of `text` balance (ignoring quoted strings).
fn balanced(text: &str) -> bool {
    let mut depth = 0i32;
    let mut quote = None;
    for c in text.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '(') => depth += 1,
            (None, ')') => {
                depth -= 1;
                if depth < 0 {
                    return false;
                }
            }
            _ => {}
        }
    }
    depth == 0 && quote.is_none()
}

/// `(name, arguments)` when the whole expression is one call `NAME(arguments)`.
pub(crate) fn single_call(expr: &str) -> Option<(&str, &str)> {
    let expr = expr.trim();
    let open = expr.find('(')?;
    let name = expr[..open].trim();
    if !is_identifier(name) || !expr.ends_with(')') {
        return None;
    }
    let args = &expr[open + 1..expr.len() - 1];
    balanced(args).then_some((name, args.trim()))
}

const AGGREGATES: [&str; 6] = ["SUM", "AVG", "MIN", "MAX", "COUNT", "MEDIAN"];

/// Whether the expression is one aggregate call.
pub(crate) fn is_single_aggregate(expr: &str) -> bool {
    single_call(expr).is_some_and(|(name, _)| AGGREGATES.contains(&name.to_ascii_uppercase().as_str()))
}

/// Splits an aggregate with a built-in row condition into quarry's aggregate and filter:
/// `AGG(x) FILTER (WHERE c)`, `AGG(CASE WHEN c THEN x END)` (one branch, no ELSE) and
/// `COUNT_IF(c)`. Anything else comes back unchanged with no filter.
pub(crate) fn split_filter(expr: &str) -> (String, Option<String>) {
    static FILTER: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"(?is)^(.*\))\s+FILTER\s*\(\s*WHERE\s+(.*)\)$").expect("valid"));
    static CASE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?is)^CASE\s+WHEN\s+(.+?)\s+THEN\s+(.+?)(?:\s+ELSE\s+NULL)?\s+END$").expect("valid")
    });
    let expr = expr.trim();
    if let Some(c) = FILTER.captures(expr)
        && is_single_aggregate(&c[1])
        && balanced(&c[2])
    {
        return (c[1].trim().to_string(), Some(c[2].trim().to_string()));
    }
    let Some((name, args)) = single_call(expr) else { return (expr.to_string(), None) };
    let upper = name.to_ascii_uppercase();
    if upper == "COUNT_IF" {
        return ("COUNT(*)".to_string(), Some(args.to_string()));
    }
    if !AGGREGATES.contains(&upper.as_str()) {
        return (expr.to_string(), None);
    }
    let (distinct, inner) = match args.get(..9) {
        Some(head) if head.eq_ignore_ascii_case("DISTINCT ") => (true, args[9..].trim()),
        _ => (false, args),
    };
    let Some(c) = CASE.captures(inner) else { return (expr.to_string(), None) };
    let (condition, value) = (c[1].trim(), c[2].trim());
    // One branch only: a second WHEN would make the split wrong.
    let upper_value = value.to_ascii_uppercase();
    if upper_value.contains(" WHEN ") || upper_value.contains(" ELSE ") || !balanced(condition) || !balanced(value) {
        return (expr.to_string(), None);
    }
    let is_constant = value.parse::<f64>().is_ok() || (value.starts_with('\'') && value.ends_with('\''));
    let aggregate = if upper == "COUNT" && !distinct && is_constant {
        "COUNT(*)".to_string()
    } else {
        format!("{name}({}{value})", if distinct { "DISTINCT " } else { "" })
    };
    (aggregate, Some(condition.to_string()))
}

/// An aggregate with a row condition folded in, for formats (and combined metrics) that have
/// no separate filter: `SUM(x)` + `c` -> `SUM(CASE WHEN c THEN x END)`. `None` when the
/// expression is not one aggregate call.
pub(crate) fn fold_filter(expr: &str, filter: &str) -> Option<String> {
    let (name, args) = single_call(expr)?;
    if !AGGREGATES.contains(&name.to_ascii_uppercase().as_str()) {
        return None;
    }
    if args == "*" {
        return Some(format!("{name}(CASE WHEN {filter} THEN 1 END)"));
    }
    match args.get(..9) {
        Some(head) if head.eq_ignore_ascii_case("DISTINCT ") => {
            Some(format!("{name}(DISTINCT CASE WHEN {filter} THEN {} END)", args[9..].trim()))
        }
        _ => Some(format!("{name}(CASE WHEN {filter} THEN {args} END)")),
    }
}

/// A quarry metric's expression with its filter folded in, for a combination of metrics.
pub(crate) fn with_filter(expr: &str, filter: Option<&str>) -> Option<String> {
    match filter {
        None => Some(expr.to_string()),
        Some(f) => fold_filter(expr, f),
    }
}

/// The SQL aggregate of a dbt `agg` or a Cube measure `type` over `expr`; `None` for
/// aggregations quarry cannot express as one SQL aggregate.
pub(crate) fn aggregate(agg: &str, expr: Option<&str>) -> Option<String> {
    let expr = expr.map(str::trim).filter(|e| !e.is_empty());
    let counted_rows = expr.is_none_or(|e| e == "1" || e == "*");
    let x = expr.unwrap_or("*");
    Some(match agg.to_ascii_lowercase().as_str() {
        "sum" => format!("SUM({x})"),
        "count" if counted_rows => "COUNT(*)".to_string(),
        "count" => format!("COUNT({x})"),
        "count_distinct" => format!("COUNT(DISTINCT {x})"),
        "average" | "avg" => format!("AVG({x})"),
        "min" => format!("MIN({x})"),
        "max" => format!("MAX({x})"),
        "median" => format!("MEDIAN({x})"),
        "sum_boolean" => format!("SUM(CASE WHEN {x} THEN 1 ELSE 0 END)"),
        _ => return None,
    })
}

/// Replaces whole-word occurrences of each name in `expr` (outside quoted strings).
pub(crate) fn substitute_words(expr: &str, replace: &dyn Fn(&str) -> Option<String>) -> String {
    let mut out = String::new();
    let mut word = String::new();
    let mut quote = None;
    let flush = |word: &mut String, out: &mut String| {
        if !word.is_empty() {
            match replace(word) {
                Some(r) => out.push_str(&r),
                None => out.push_str(word),
            }
            word.clear();
        }
    };
    for c in expr.chars() {
        if let Some(q) = quote {
            out.push(c);
            if c == q {
                quote = None;
            }
            continue;
        }
        if c.is_ascii_alphanumeric() || c == '_' || (c == '.' && !word.is_empty()) {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            if c == '\'' {
                quote = Some(c);
            }
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_are_split_from_every_spelling() {
        let cases = [
            ("SUM(amount) FILTER (WHERE status = 'paid')", "SUM(amount)", Some("status = 'paid'")),
            ("SUM(CASE WHEN status = 'paid' THEN amount END)", "SUM(amount)", Some("status = 'paid'")),
            ("count(case when status = 'canceled' then 1 end)", "COUNT(*)", Some("status = 'canceled'")),
            ("COUNT(DISTINCT CASE WHEN a > 1 THEN user_id END)", "COUNT(DISTINCT user_id)", Some("a > 1")),
            ("COUNT_IF(converted)", "COUNT(*)", Some("converted")),
            ("AVG(CASE WHEN converted THEN 1.0 ELSE 0.0 END)", "AVG(CASE WHEN converted THEN 1.0 ELSE 0.0 END)", None),
            ("SUM(a) / SUM(b)", "SUM(a) / SUM(b)", None),
        ];
        for (input, expr, filter) in cases {
            assert_eq!(split_filter(input), (expr.to_string(), filter.map(String::from)), "{input}");
        }
    }

    #[test]
    fn folding_a_filter_then_splitting_it_gives_it_back() {
        for (expr, filter) in [("SUM(amount_usd)", "status = 'paid'"), ("COUNT(*)", "status = 'canceled'")] {
            let folded = fold_filter(expr, filter).unwrap();
            assert_eq!(split_filter(&folded), (expr.to_string(), Some(filter.to_string())));
        }
    }

    #[test]
    fn sources_name_their_physical_table() {
        assert_eq!(physical_table("ANALYTICS.PUBLIC.\"orders\""), "orders");
        assert_eq!(physical_table("ref('users')"), "users");
        assert_eq!(physical_table("invoices"), "invoices");
    }

    #[test]
    fn words_are_replaced_outside_strings() {
        let out = substitute_words("revenue - refunds + 'revenue'", &|w| (w == "revenue").then(|| "X".into()));
        assert_eq!(out, "X - refunds + 'revenue'");
    }
}
