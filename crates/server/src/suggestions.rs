//! Questions suggested to a new user, built from the semantic layer: its verified questions
//! first, then a metric broken down by a dimension over a recent period.

use quarry_semantic::SemanticLayer;

/// Up to `count` questions a new user could ask of `layer`.
pub fn suggestions(layer: &SemanticLayer, count: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut push = |question: String| {
        if !out.iter().any(|q| q.eq_ignore_ascii_case(&question)) {
            out.push(question);
        }
    };
    for verified in layer.verified_queries.iter().take(count / 2) {
        push(verified.question.clone());
    }
    let periods = ["last month", "this year", "last quarter"];
    let shapes: [fn(&str, &str, &str) -> String; 3] = [
        |metric, dimension, period| format!("{metric} by {dimension} {period}"),
        |metric, _, _| format!("{metric} by month"),
        |metric, _, period| format!("{metric} {period}"),
    ];
    for (n, metric) in layer.metrics.iter().enumerate() {
        let dimension = layer.dimensions.get(n % layer.dimensions.len().max(1));
        let dimension = dimension.map(|d| d.label.to_lowercase()).unwrap_or_else(|| "month".into());
        let metric = metric.label.to_lowercase();
        push(shapes[n % shapes.len()](&metric, &dimension, periods[n % periods.len()]));
    }
    out.truncate(count);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_layer_gives_distinct_questions_about_its_metrics() {
        let layer = SemanticLayer::demo();
        let questions = suggestions(&layer, 6);
        assert_eq!(questions.len(), 6, "{questions:?}");
        let metrics: Vec<String> = layer.metrics.iter().map(|m| m.label.to_lowercase()).collect();
        assert!(questions.iter().any(|q| metrics.iter().any(|m| q.starts_with(m.as_str()))), "{questions:?}");
    }
}
