//! Golden tests of the rendered reports (terminal tables, JSON, Markdown, JUnit) with timings redacted, the JSON round trip and run comparison.
mod support;

use chrono::{TimeZone, Utc};
use quarry_eval::{EvalOptions, EvalReport, Mode, Outcome, Prediction, parse_cases, run_eval};
use support::{ScriptedTarget, costed, ints, pairs};

const CASES: &str = r#"{"id": "mau", "question": "What is MAU?", "gold_sql": "SELECT 42 AS mau", "tags": ["metric"], "difficulty": "easy"}
{"id": "top-plans", "question": "Top plans by users", "gold_sql": "SELECT plan, n FROM p ORDER BY n DESC", "tags": ["top_n", "metric"], "difficulty": "medium"}
{"id": "by-country", "question": "Revenue by country", "gold_rows": {"columns": ["country", "revenue"], "rows": [["DE", 5], ["FR", 2], ["IT", 1]]}, "tags": ["by_dimension"], "difficulty": "medium"}
{"id": "churn", "question": "Churn | last month", "gold_sql": "SELECT 0.05 AS churn", "tags": ["metric"], "difficulty": "hard"}
{"id": "broken", "question": "Broken gold", "gold_sql": "SELEC 1", "difficulty": "hard"}
{"id": "conv-1", "question": "Signups per week", "gold_sql": "SELECT 10 AS signups", "conversation": "c1", "turn": 1, "tags": ["follow_up"]}
{"id": "conv-2", "question": "only mobile", "gold_sql": "SELECT 4 AS signups", "conversation": "c1", "turn": 2, "tags": ["follow_up"]}
this line is not JSON"#;

async fn report(answers: &[(&str, Prediction)]) -> EvalReport {
    let (cases, input_errors) = parse_cases(CASES);
    let mut target = ScriptedTarget::default()
        .table("SELECT 42 AS mau", Outcome::Rows(ints("mau", &[42])))
        .table("SELECT plan, n FROM p ORDER BY n DESC", Outcome::Rows(pairs(["plan", "n"], &[("pro", 9), ("free", 3)])))
        .table(
            "SELECT 0.05 AS churn",
            Outcome::Rows(quarry_eval::ResultTable::new(
                vec!["churn".into()],
                vec![vec![quarry_eval::Cell::Decimal("0.05".into())]],
            )),
        )
        .table("SELEC 1", Outcome::ExecutionError("syntax error at or near SELEC".into()))
        .table("SELECT 10 AS signups", Outcome::Rows(ints("signups", &[10])))
        .table("SELECT 4 AS signups", Outcome::Rows(ints("signups", &[4])));
    for (question, prediction) in answers {
        target = target.answer(question, prediction.clone());
    }
    let options = EvalOptions {
        jobs: 3,
        mode: Mode::Model,
        progress: false,
        label: Some("builtin".into()),
        ..Default::default()
    };
    let mut report = run_eval(&target, &cases, &options).await;
    report.input_errors = input_errors;
    redact_timings(&mut report);
    report
}

/// Wall-clock times vary from run to run: fix them so the renderings are comparable.
fn redact_timings(report: &mut EvalReport) {
    report.started_at = Utc.with_ymd_and_hms(2025, 1, 2, 3, 4, 5).unwrap();
    report.elapsed_ms = 1234.5;
    for (i, case) in report.cases.iter_mut().enumerate() {
        if case.latency_ms.is_some() {
            case.latency_ms = Some(10.0 * (i + 1) as f64);
        }
    }
}

fn first_run_answers() -> Vec<(&'static str, Prediction)> {
    vec![
        (
            "What is MAU?",
            costed(
                Outcome::Rows(ints("monthly_active_users", &[42])),
                "SELECT count(DISTINCT user_id) FROM events",
                "semantic",
            ),
        ),
        (
            "Top plans by users",
            costed(
                Outcome::Rows(pairs(["plan", "users"], &[("free", 3), ("pro", 9)])),
                "SELECT plan, count(*) FROM users GROUP BY plan",
                "llm",
            ),
        ),
        (
            "Revenue by country",
            costed(
                Outcome::Rows(pairs(["country", "revenue"], &[("DE", 5), ("FR", 2)])),
                "SELECT country, sum(x) FROM o GROUP BY 1 LIMIT 2",
                "semantic",
            ),
        ),
        (
            "Churn | last month",
            costed(Outcome::PolicyRejected("table secrets is not allowed".into()), "SELECT * FROM secrets", "llm"),
        ),
        ("Broken gold", costed(Outcome::Rows(ints("x", &[1])), "SELECT 1", "llm")),
        ("Signups per week", costed(Outcome::Rows(ints("signups", &[10])), "SELECT count(*) FROM signups", "semantic")),
        (
            "Signups per week >> only mobile",
            costed(Outcome::Rows(pairs(["device", "signups"], &[("mobile", 4)])), "SELECT 'mobile', 4", "semantic"),
        ),
    ]
}

#[tokio::test]
async fn summary_table_golden() {
    let report = report(&first_run_answers()).await;
    insta::assert_snapshot!("summary_table", report.summary_table());
}

#[tokio::test]
async fn markdown_golden() {
    let report = report(&first_run_answers()).await;
    insta::assert_snapshot!("markdown", report.to_markdown());
}

#[tokio::test]
async fn json_golden_and_round_trip() {
    let report = report(&first_run_answers()).await;
    let json = report.to_json();
    insta::assert_snapshot!("json", json);
    let read = EvalReport::from_json(&json, "report.json").unwrap();
    assert_eq!(read, report);
}

#[tokio::test]
async fn junit_golden() {
    let report = report(&first_run_answers()).await;
    let xml = report.to_junit().unwrap();
    insta::assert_snapshot!("junit", xml);
    // What CI systems read back: one test case per case, failures for ex misses, errors for harness errors.
    let parsed = quick_junit::Report::deserialize_from_str(&xml).unwrap();
    assert_eq!((parsed.tests, parsed.failures, parsed.errors), (7, 3, 1));
}

#[tokio::test]
async fn compare_lists_regressions_and_fixes() {
    let old = report(&first_run_answers()).await;
    let old = EvalReport::from_json(&old.to_json(), "old.json").unwrap();
    let mut answers = first_run_answers();
    // MAU regresses, Top plans is fixed (right order), the follow-up loses its extra column
    // (ex_strict fixed while ex stays passing), Churn keeps failing.
    answers[0].1 = costed(Outcome::Rows(ints("mau", &[41])), "SELECT count(*) FROM events", "llm");
    answers[1].1 = costed(
        Outcome::Rows(pairs(["plan", "users"], &[("pro", 9), ("free", 3)])),
        "SELECT plan, n FROM p ORDER BY n DESC",
        "llm",
    );
    answers[6].1 = costed(Outcome::Rows(ints("signups", &[4])), "SELECT 4", "semantic");
    let mut new = report(&answers).await;
    new.cases.retain(|c| c.id != "churn");
    new.cases.push(quarry_eval::CaseResult { id: "new-case".into(), ..new.cases[0].clone() });
    let comparison = new.compare(&old);
    let ids = |changes: &[quarry_eval::CaseChange]| changes.iter().map(|c| c.id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&comparison.regressions), ["mau"]);
    assert_eq!(comparison.regressions[0].before, "pass");
    assert_eq!(comparison.regressions[0].after, "wrong_values");
    assert_eq!(ids(&comparison.fixes), ["top-plans"]);
    assert_eq!(ids(&comparison.strict_fixes), ["conv-2"]);
    assert!(comparison.strict_regressions.is_empty());
    assert_eq!(comparison.added, ["new-case"]);
    assert_eq!(comparison.removed, ["churn"]);
    assert!(comparison.has_regressions());
    insta::assert_snapshot!("comparison", comparison.to_markdown());
    assert!(!old.compare(&old).has_regressions());
}

#[test]
fn reports_from_elsewhere_are_refused_with_a_reason() {
    let not_json = EvalReport::from_json("{", "x.json").unwrap_err().to_string();
    assert!(not_json.contains("x.json is not an eval report: not JSON"), "{not_json}");
    let no_version = EvalReport::from_json("{}", "x.json").unwrap_err().to_string();
    assert!(no_version.contains("no format_version"), "{no_version}");
    let future = EvalReport::from_json(r#"{"format_version": 99}"#, "x.json").unwrap_err().to_string();
    assert!(future.contains("format_version 99"), "{future}");
}
