//! Cross-checked answers: under builtin-first with a model, a question the built-in planner
//! answers on its own is also given to the model, and the two results are compared with the
//! comparator of `quarry-compare` (the same one that scores `quarry eval`). Two routes that share no
//! code agreeing on the rows is evidence the answer is right; when they disagree the answer
//! shows both readings and asks back rather than picking one.

use quarry_compare::{ResultTable, Tolerance, score_rows};
use quarry_exec::QueryResult;
use quarry_synth::Explanation;
use serde::{Deserialize, Serialize};

/// What comparing the two routes found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CrossCheckVerdict {
    /// Both routes returned the same result.
    Agree,
    /// The routes returned different results: the answer asks back.
    Disagree,
    /// The second route gave no result to compare (the model was down or refused).
    Unchecked,
}

/// The cross-check of an answer: the verdict, in words, and both routes' SQL and readings
/// (kept in the audit record).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CrossCheck {
    /// What the comparison found.
    pub verdict: CrossCheckVerdict,
    /// The verdict for people: "checked: two independent routes agree", "routes disagree: …"
    /// or "not cross-checked: …".
    pub message: String,
    /// The built-in planner's SQL.
    pub planner_sql: Option<String>,
    /// How the built-in planner read the question.
    pub planner_reading: Option<String>,
    /// The id of the model asked (`openai:gpt-4o-mini`).
    pub model: String,
    /// The model's SQL, when it wrote one that ran.
    pub model_sql: Option<String>,
    /// The model's own account of its SQL.
    pub model_reading: Option<String>,
    /// Milliseconds the model's route took, run beside the planner's.
    pub model_ms: f64,
}

/// What the model's route gave for the comparison.
pub(crate) enum ModelSide<'a> {
    /// SQL that ran, its result and the model's account of it.
    Ran { sql: &'a str, result: &'a QueryResult, reading: &'a str },
    /// No result: why.
    Nothing(String),
}

/// Compares the planner's answer (`planner_sql`, `planner_result`) with the model's.
pub(crate) fn cross_check(
    planner_sql: Option<&str>,
    planner_result: Option<&QueryResult>,
    planner_explanation: Option<&Explanation>,
    model: String,
    model_side: ModelSide<'_>,
    model_ms: f64,
) -> CrossCheck {
    let planner_reading = planner_explanation.map(reading_of);
    let mut check = CrossCheck {
        verdict: CrossCheckVerdict::Unchecked,
        message: String::new(),
        planner_sql: planner_sql.map(str::to_string),
        planner_reading: planner_reading.clone(),
        model,
        model_sql: None,
        model_reading: None,
        model_ms,
    };
    let (sql, result, reading) = match (model_side, planner_result) {
        (ModelSide::Nothing(reason), _) => {
            check.message = format!("not cross-checked: {reason}");
            return check;
        }
        (ModelSide::Ran { .. }, None) => {
            check.message = "not cross-checked: the planner's query gave no result".into();
            return check;
        }
        (ModelSide::Ran { sql, result, reading }, Some(planner_result)) => {
            check.model_sql = Some(sql.to_string());
            check.model_reading = Some(reading.to_string());
            (planner_result, result, reading)
        }
    };
    if results_agree(sql, result) {
        check.verdict = CrossCheckVerdict::Agree;
        check.message = "checked: two independent routes agree".into();
    } else {
        check.verdict = CrossCheckVerdict::Disagree;
        check.message = format!(
            "routes disagree: the built-in planner read this as {}; the model as: {}",
            planner_reading.as_deref().unwrap_or("its reading"),
            reading.trim()
        );
    }
    check
}

/// Whether two results hold the same rows. Column names are the routes' own, so the
/// comparator matches columns by their values (as it matches a prediction to a gold); either
/// result may carry extra columns (a share beside its count), so one containing the other agrees.
pub(crate) fn results_agree(a: &QueryResult, b: &QueryResult) -> bool {
    let a = ResultTable::from_schema_and_batches(&a.schema, &a.batches);
    let b = ResultTable::from_schema_and_batches(&b.schema, &b.batches);
    score_rows(&a, false, &b, Tolerance::DEFAULT).ex || score_rows(&b, false, &a, Tolerance::DEFAULT).ex
}

/// The planner's reading in one line: measures, grouping, filters, ranking.
pub(crate) fn reading_of(explanation: &Explanation) -> String {
    let mut reading = explanation.measures.join(", ");
    if !explanation.group_by.is_empty() {
        reading.push_str(&format!(" by {}", explanation.group_by.join(", ")));
    }
    if !explanation.filters.is_empty() {
        reading.push_str(&format!(" where {}", explanation.filters.join(" and ")));
    }
    if let Some(ranking) = &explanation.ranking {
        reading.push_str(&format!(", {ranking}"));
    }
    reading
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{Int64Array, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use datafusion::arrow::record_batch::RecordBatch;
    use quarry_exec::ExecTimings;

    use super::*;

    fn result(names: [&str; 2], labels: &[&str], values: &[i64]) -> QueryResult {
        let schema = Arc::new(Schema::new(vec![
            Field::new(names[0], DataType::Utf8, true),
            Field::new(names[1], DataType::Int64, false),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![Arc::new(StringArray::from(labels.to_vec())), Arc::new(Int64Array::from(values.to_vec()))],
        )
        .expect("batch");
        QueryResult { schema, batches: vec![batch], truncated: false, timings: ExecTimings::default() }
    }

    #[test]
    fn the_same_rows_under_other_names_and_order_agree() {
        let planner = result(["plan", "subscriptions"], &["free", "pro"], &[10, 4]);
        let model = result(["plan_name", "n"], &["pro", "free"], &[4, 10]);
        assert!(results_agree(&planner, &model));
        let other = result(["plan", "n"], &["pro", "free"], &[5, 10]);
        assert!(!results_agree(&planner, &other));
    }

    #[test]
    fn the_verdict_names_both_readings_or_why_there_was_none() {
        let planner = result(["plan", "subscriptions"], &["free", "pro"], &[10, 4]);
        let model = result(["plan", "n"], &["free", "pro"], &[9, 4]);
        let side = ModelSide::Ran { sql: "SELECT 2", result: &model, reading: "Counts active plans." };
        let check = cross_check(Some("SELECT 1"), Some(&planner), None, "openai:m".into(), side, 12.0);
        assert_eq!(check.verdict, CrossCheckVerdict::Disagree);
        assert!(check.message.starts_with("routes disagree") && check.message.contains("Counts active plans."));
        assert_eq!((check.planner_sql.as_deref(), check.model_sql.as_deref()), (Some("SELECT 1"), Some("SELECT 2")));
        let down = ModelSide::Nothing("the model could not answer (timeout)".into());
        let check = cross_check(Some("SELECT 1"), Some(&planner), None, "openai:m".into(), down, 3.0);
        assert_eq!(check.verdict, CrossCheckVerdict::Unchecked);
        assert_eq!(check.message, "not cross-checked: the model could not answer (timeout)");
    }
}
