use quarry_exec::ResultJson;
use quarry_semantic::{MetricFormat, SemanticLayer};
use quarry_synth::{Filter, Measure, Plan, Ratio, SemanticQuery};
use serde_json::Value;

/// What a follow-up changed from the query before it, in words: the filters it added or
/// dropped and the grouping it changed ("only Region EMEA"); `None` when it is not a
/// follow-up or changed neither. A summary of "only EMEA" that did not say so would read as
/// an answer to the question before.
pub(crate) fn follow_up_changes(
    layer: &SemanticLayer,
    query: &SemanticQuery,
    previous: Option<&SemanticQuery>,
) -> Option<String> {
    let previous = previous?;
    let mut changes: Vec<String> = Vec::new();
    for filter in query.filters.iter().filter(|f| !previous.filters.contains(f)) {
        changes.extend(describe_filter(layer, filter).map(|f| format!("only {f}")));
    }
    for filter in previous.filters.iter().filter(|f| !query.filters.contains(f)) {
        changes.extend(describe_filter(layer, filter).map(|f| format!("no longer only {f}")));
    }
    if query.group_by != previous.group_by {
        let names: Vec<String> = query.group_by.iter().map(|d| dimension_name(layer, d)).collect();
        changes.push(if names.is_empty() {
            "no longer grouped".into()
        } else {
            format!("now by {}", names.join(" and "))
        });
    }
    (!changes.is_empty()).then(|| changes.join("; "))
}

fn dimension_name(layer: &SemanticLayer, name: &str) -> String {
    layer.dimension(name).map(|d| d.display_name().to_string()).unwrap_or_else(|| name.replace('_', " "))
}

/// A filter the user asked for, in words; `None` for a metric's own SQL condition, which the
/// user did not write.
fn describe_filter(layer: &SemanticLayer, filter: &Filter) -> Option<String> {
    match filter {
        Filter::Values { dimension, values, negated } => Some(format!(
            "{}{} {}",
            dimension_name(layer, dimension),
            if *negated { " not" } else { "" },
            values.join(" or ")
        )),
        Filter::Segment { name } => Some(name.replace('_', " ")),
        Filter::Compare { column, op, value, .. } => Some(format!("{} {} {value}", column.replace('_', " "), op.sql())),
        Filter::Null { column, is_null, .. } => {
            Some(format!("{} {}", column.replace('_', " "), if *is_null { "missing" } else { "present" }))
        }
        Filter::Sql { .. } => None,
    }
}

/// One sentence stating the answer, built from the query and the rows only; `changes` (see
/// [`follow_up_changes`]) says what a follow-up changed.
pub(crate) fn summarize(
    layer: &SemanticLayer,
    plan: &Plan,
    result: &ResultJson,
    truncated: bool,
    changes: Option<&str>,
) -> String {
    let sentence = summarize_result(layer, plan, result, truncated);
    match changes {
        Some(changes) => format!("{} ({changes}).", sentence.trim_end_matches('.')),
        None => sentence,
    }
}

fn summarize_result(layer: &SemanticLayer, plan: &Plan, result: &ResultJson, truncated: bool) -> String {
    let query = &plan.query;
    let format = match (query.ratio, query.measures.first()) {
        (None, Some(Measure::Metric { name })) => layer.metric(name).map(|m| m.format).unwrap_or_default(),
        _ => MetricFormat::Number,
    };
    let joiner = match query.ratio {
        Some(Ratio::Percent) => " as a percentage of ",
        Some(Ratio::Per) => " per ",
        None => " and ",
    };
    let subject = plan
        .explanation
        .measures
        .iter()
        .map(|m| m.split(':').next().unwrap_or(m).to_string())
        .collect::<Vec<_>>()
        .join(joiner);
    let window = query.time_range.as_ref().map(|r| format!(" {}", r.phrase)).unwrap_or_default();
    if result.rows.is_empty() {
        return format!("No rows match: {subject}{window} is empty for these filters.");
    }
    let is_share = result.columns.iter().any(|c| c.name.starts_with("pct_of_")) || query.ratio == Some(Ratio::Percent);
    if result.rows.len() == 1 && result.columns.len() == 1 {
        let value = &result.rows[0][0];
        let shown = if is_share { format_value(value, Shown::Percent100) } else { format_value(value, format.into()) };
        return format!("{subject}{window}: {shown}.");
    }
    let groups: Vec<String> = plan.explanation.group_by.iter().map(|g| g.replace(" (time grain)", "")).collect();
    let mut sentence = format!(
        "{} {} of {subject}{}{window}",
        result.rows.len(),
        if result.rows.len() == 1 { "row" } else { "rows" },
        if groups.is_empty() { String::new() } else { format!(" by {}", groups.join(" and ")) }
    );
    if truncated {
        sentence.push_str(" (cut at the row limit)");
    }
    let measure_index = result
        .columns
        .len()
        .saturating_sub(if is_share && query.group_by.len() + usize::from(query.grain.is_some()) > 0 { 2 } else { 1 });
    let ranked = query.ranking.is_some() || (query.grain.is_none() && !query.group_by.is_empty());
    if ranked && measure_index > 0 {
        let label = |row: &Vec<Value>| row[..measure_index].iter().map(display_plain).collect::<Vec<_>>().join(", ");
        let first = &result.rows[0];
        let word = if query.ranking.as_ref().is_some_and(|r| !r.descending) { "lowest" } else { "highest" };
        sentence.push_str(&format!(
            "; {word}: {} ({})",
            label(first),
            format_value(&first[measure_index], format.into())
        ));
    }
    sentence.push('.');
    sentence
}

#[derive(Clone, Copy)]
enum Shown {
    Plain,
    Currency,
    Percent01,
    Percent100,
    Unit(&'static str),
}

impl From<MetricFormat> for Shown {
    fn from(format: MetricFormat) -> Self {
        match format {
            MetricFormat::Currency => Shown::Currency,
            MetricFormat::Percent => Shown::Percent01,
            MetricFormat::Minutes => Shown::Unit(" min"),
            MetricFormat::Hours => Shown::Unit(" h"),
            MetricFormat::Number | MetricFormat::Count | MetricFormat::Score => Shown::Plain,
        }
    }
}

/// One sentence about a result whose query is not known (the model's SQL): the single value,
/// or how many rows of which columns.
pub(crate) fn describe_result(result: &ResultJson, truncated: bool) -> String {
    let names: Vec<&str> = result.columns.iter().map(|c| c.name.as_str()).collect();
    let cut = if truncated { " (cut at the row limit)" } else { "" };
    match (result.rows.len(), names.len()) {
        (0, _) => "No rows match.".to_string(),
        (1, 1) => format!("{}: {}.", names[0], format_value(&result.rows[0][0], Shown::Plain)),
        (1, _) => format!("1 row of {}{cut}.", names.join(", ")),
        (n, _) => format!("{n} rows of {}{cut}.", names.join(", ")),
    }
}

fn display_plain(value: &Value) -> String {
    match value {
        Value::String(s) => s.strip_suffix("T00:00:00").unwrap_or(s).to_string(),
        Value::Null => "(none)".into(),
        other => other.to_string(),
    }
}

fn format_value(value: &Value, shown: Shown) -> String {
    let number = match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse::<f64>().ok(),
        _ => None,
    };
    let Some(n) = number else { return display_plain(value) };
    match shown {
        Shown::Currency => format!("${}", group_thousands(n, 2)),
        Shown::Percent01 => format!("{:.1}%", n * 100.0),
        Shown::Percent100 => format!("{n:.1}%"),
        Shown::Unit(unit) => format!("{}{unit}", group_thousands(n, 1)),
        Shown::Plain => {
            if n.fract() == 0.0 {
                group_thousands(n, 0)
            } else {
                group_thousands(n, 2)
            }
        }
    }
}

fn group_thousands(n: f64, decimals: usize) -> String {
    let text = format!("{:.*}", decimals, n.abs());
    let (int, frac) =
        text.split_once('.').map(|(i, f)| (i.to_string(), Some(f.to_string()))).unwrap_or((text.clone(), None));
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let sign = if n < 0.0 { "-" } else { "" };
    match frac {
        Some(f) => format!("{sign}{grouped}.{f}"),
        None => format!("{sign}{grouped}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_grouped_and_formatted() {
        assert_eq!(group_thousands(1234567.891, 2), "1,234,567.89");
        assert_eq!(group_thousands(-999.0, 0), "-999");
        assert_eq!(format_value(&Value::String("1234.50".into()), Shown::Currency), "$1,234.50");
        assert_eq!(format_value(&serde_json::json!(0.1234), Shown::Percent01), "12.3%");
    }

    #[test]
    fn results_of_unknown_queries_are_described_by_shape() {
        use quarry_exec::ColumnInfo;
        let column = |name: &str| ColumnInfo { name: name.into(), data_type: "Int64".into() };
        let one = ResultJson { columns: vec![column("n")], rows: vec![vec![serde_json::json!(12345)]] };
        assert_eq!(describe_result(&one, false), "n: 12,345.");
        let many = ResultJson {
            columns: vec![column("plan"), column("n")],
            rows: vec![vec![serde_json::json!("pro"), serde_json::json!(1)]; 3],
        };
        assert_eq!(describe_result(&many, true), "3 rows of plan, n (cut at the row limit).");
        let none = ResultJson { columns: vec![column("n")], rows: vec![] };
        assert_eq!(describe_result(&none, false), "No rows match.");
    }

    #[test]
    fn a_follow_up_names_the_filters_and_grouping_it_changed() {
        let as_of = chrono::NaiveDate::from_ymd_opt(2025, 12, 31).expect("date");
        let layer = SemanticLayer::demo();
        let planner = quarry_synth::SemanticPlanner::new(layer.clone(), as_of, "snap-test");
        let plan = |question: &str, context: Option<&SemanticQuery>| match planner.plan(question, context) {
            quarry_synth::PlanOutcome::Sql(plan) => plan.query,
            other => panic!("{question}: {other:?}"),
        };
        let first = plan("revenue by plan in 2025", None);
        assert_eq!(follow_up_changes(&layer, &first, None), None);
        let only_emea = plan("only EMEA", Some(&first));
        let changes = follow_up_changes(&layer, &only_emea, Some(&first)).expect("a change");
        assert!(changes.starts_with("only ") && changes.contains("EMEA"), "{changes}");
        let regrouped = plan("break that down by region", Some(&first));
        let changes = follow_up_changes(&layer, &regrouped, Some(&first)).expect("a change");
        assert!(changes.contains("now by") && changes.to_lowercase().contains("region"), "{changes}");
        assert_eq!(follow_up_changes(&layer, &first, Some(&first)), None, "the same query changed nothing");
    }
}
