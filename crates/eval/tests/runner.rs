//! Runs question sets through a scripted pipeline double: scoring, conversations, concurrency, harness errors, gold mode.
mod support;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use quarry_eval::{EvalOptions, FailureCategory, Mode, Outcome, Prediction, parse_cases, run_eval};
use support::{ScriptedTarget, costed, ints, pairs};

fn options(jobs: usize, mode: Mode) -> EvalOptions {
    EvalOptions { jobs, mode, progress: false, ..EvalOptions::default() }
}

#[tokio::test]
async fn cases_are_scored_against_gold_sql_and_gold_rows() {
    let (cases, errors) = parse_cases(
        r#"{"id": "count", "question": "How many users?", "gold_sql": "SELECT count(*) FROM users", "tags": ["metric"], "difficulty": "easy"}
{"id": "top", "question": "Top countries", "gold_sql": "SELECT country, n FROM t ORDER BY n DESC", "tags": ["top_n"], "difficulty": "medium"}
{"id": "rows", "question": "Users per plan", "gold_rows": {"columns": ["plan", "n"], "rows": [["free", 3], ["pro", 1]]}, "tags": ["metric", "by_dimension"]}
{"id": "wide", "question": "Revenue", "gold_sql": "SELECT 10 AS revenue"}
{"id": "clarify", "question": "Revenue last period", "gold_sql": "SELECT 10 AS revenue"}"#,
    );
    assert!(errors.is_empty(), "{errors:?}");
    let target = ScriptedTarget::default()
        .table("SELECT count(*) FROM users", Outcome::Rows(ints("count", &[4])))
        .table(
            "SELECT country, n FROM t ORDER BY n DESC",
            Outcome::Rows(pairs(["country", "n"], &[("DE", 5), ("FR", 2)])),
        )
        .table("SELECT 10 AS revenue", Outcome::Rows(ints("revenue", &[10])))
        .answer("How many users?", costed(Outcome::Rows(ints("users", &[4])), "SELECT count(*) FROM users", "semantic"))
        // The right rows in the wrong order for an ordered gold.
        .answer(
            "Top countries",
            costed(Outcome::Rows(pairs(["c", "n"], &[("FR", 2), ("DE", 5)])), "SELECT country, n FROM t", "llm"),
        )
        .answer(
            "Users per plan",
            costed(Outcome::Rows(pairs(["plan", "users"], &[("pro", 1), ("free", 3)])), "SELECT 1", "semantic"),
        )
        .answer(
            "Revenue",
            costed(Outcome::Rows(pairs(["currency", "revenue"], &[("EUR", 10)])), "SELECT 'EUR', 10", "semantic"),
        )
        .answer(
            "Revenue last period",
            Prediction::new(Outcome::Clarification { question: "Which period?".into(), options: vec!["month".into()] }),
        );
    let report = run_eval(&target, &cases, &options(2, Mode::Model)).await;
    let by_id = |id: &str| report.cases.iter().find(|c| c.id == id).unwrap();
    assert_eq!(
        report.cases.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
        ["count", "top", "rows", "wide", "clarify"]
    );

    let count = by_id("count");
    assert!(count.ex && count.ex_strict && count.category.is_none());
    assert_eq!((count.route.as_str(), count.attempts, count.confidence), ("semantic", 1, Some(0.9)));
    assert_eq!(count.stage_ms["generate"], 20.0);
    assert_eq!(count.tokens.prompt, 100);
    assert!(count.latency_ms.is_some());
    assert_eq!(count.predicted_digest, count.gold_digest);

    let top = by_id("top");
    assert!(top.ordered && !top.ex);
    assert_eq!(top.category, Some(FailureCategory::WrongValues));
    assert!(top.predicted_preview.is_some() && top.gold_preview.is_some());

    assert!(by_id("rows").ex_strict);
    let wide = by_id("wide");
    assert!(wide.ex && !wide.ex_strict);
    assert_eq!(wide.category, Some(FailureCategory::WrongColumns));
    let clarify = by_id("clarify");
    assert_eq!(clarify.category, Some(FailureCategory::ClarificationAsked));
    assert_eq!(clarify.outcome.as_deref(), Some("clarification"));

    let summary = report.summary();
    assert_eq!((summary.ex.passed, summary.ex.total), (3, 5));
    assert_eq!((summary.ex_strict.passed, summary.ex_strict.total), (2, 5));
    assert_eq!(summary.by_tag["metric"].ex.passed, 2);
    assert_eq!(summary.by_difficulty["medium"].ex.total, 1);
    assert_eq!(summary.categories[&FailureCategory::ClarificationAsked], 1);
    assert_eq!(summary.tokens.prompt, 400);
    assert_eq!(summary.stage_ms["execute"].count, 4);
    assert!(summary.passes_gate(0.6));
    assert!(!summary.passes_gate(0.61));
    assert!(summary.gate_failures(0.9)[0].contains("below the minimum 0.9"));
}

#[tokio::test]
async fn conversations_run_in_order_in_one_session_while_cases_run_concurrently() {
    let mut lines = vec![
        r#"{"id": "c-2", "question": "only Germany", "gold_sql": "DE", "conversation": "c", "turn": 2}"#.to_string(),
        r#"{"id": "c-1", "question": "revenue by country", "gold_sql": "ALL", "conversation": "c", "turn": 1}"#
            .to_string(),
        r#"{"id": "c-3", "question": "and France", "gold_sql": "FR", "conversation": "c", "turn": 3}"#.to_string(),
    ];
    for i in 0..8 {
        lines.push(format!(r#"{{"id": "single-{i}", "question": "q{i}", "gold_sql": "ONE"}}"#));
    }
    let (cases, errors) = parse_cases(&lines.join("\n"));
    assert!(errors.is_empty());
    let all = pairs(["country", "revenue"], &[("DE", 5), ("FR", 2)]);
    let de = pairs(["country", "revenue"], &[("DE", 5)]);
    let fr = pairs(["country", "revenue"], &[("FR", 2)]);
    let mut target = ScriptedTarget::default()
        .table("ALL", Outcome::Rows(all.clone()))
        .table("DE", Outcome::Rows(de.clone()))
        .table("FR", Outcome::Rows(fr.clone()))
        .table("ONE", Outcome::Rows(ints("x", &[1])))
        .answer("revenue by country", Prediction::rows(all))
        // Follow-ups are answered only after the right previous turn in the same session.
        .answer("revenue by country >> only Germany", Prediction::rows(de))
        .answer("only Germany >> and France", Prediction::rows(fr));
    for i in 0..8 {
        target = target.answer(&format!("q{i}"), Prediction::rows(ints("x", &[1])));
    }
    target.delay = Duration::from_millis(40);
    let started = Instant::now();
    let report = run_eval(&target, &cases, &options(4, Mode::Model)).await;
    let elapsed = started.elapsed();
    assert!(
        report.cases.iter().all(|c| c.ex_strict),
        "{:#?}",
        report.cases.iter().filter(|c| !c.ex_strict).collect::<Vec<_>>()
    );
    assert_eq!(report.cases.iter().map(|c| c.id.as_str()).take(3).collect::<Vec<_>>(), ["c-2", "c-1", "c-3"]);
    // One session for the conversation, one per single case.
    assert_eq!(target.sessions.load(Ordering::SeqCst), 9);
    assert_eq!(target.max_in_flight.load(Ordering::SeqCst), 4);
    // 11 asks and 11 gold runs of 40 ms each, four at a time: well under the 880 ms of a serial run.
    assert!(elapsed < Duration::from_millis(700), "took {elapsed:?}");
    let asked = target.asked.lock().unwrap().clone();
    let position = |q: &str| asked.iter().position(|a| a == q).unwrap();
    assert!(
        position("revenue by country") < position("only Germany") && position("only Germany") < position("and France")
    );
}

#[tokio::test]
async fn one_job_runs_one_case_at_a_time() {
    let (cases, _) = parse_cases(
        r#"{"id": "a", "question": "qa", "gold_rows": {"columns": ["x"], "rows": [[1]]}}
{"id": "b", "question": "qb", "gold_rows": {"columns": ["x"], "rows": [[1]]}}
{"id": "c", "question": "qc", "gold_rows": {"columns": ["x"], "rows": [[1]]}}"#,
    );
    let mut target = ScriptedTarget::default()
        .answer("qa", Prediction::rows(ints("x", &[1])))
        .answer("qb", Prediction::rows(ints("x", &[1])))
        .answer("qc", Prediction::rows(ints("x", &[2])));
    target.delay = Duration::from_millis(5);
    let report = run_eval(&target, &cases, &options(1, Mode::Model)).await;
    assert_eq!(target.max_in_flight.load(Ordering::SeqCst), 1);
    assert_eq!(report.summary().ex.passed, 2);
    assert_eq!(report.cases[2].category, Some(FailureCategory::WrongValues));
}

#[tokio::test]
async fn broken_golds_and_sessions_are_harness_errors_not_misses() {
    let (cases, _) = parse_cases(
        r#"{"id": "bad-gold", "question": "q1", "gold_sql": "SELEC broken"}
{"id": "bad-alt", "question": "q1", "gold_sql": "OK", "gold_sql_alternatives": ["SELEC broken"]}
{"id": "no-snapshot", "question": "q1", "gold_sql": "OK", "snapshot": "snap-missing"}
{"id": "fine", "question": "q1", "gold_sql": "OK"}"#,
    );
    let mut target = ScriptedTarget::default()
        .table("OK", Outcome::Rows(ints("x", &[1])))
        .table("SELEC broken", Outcome::ExecutionError("syntax error at SELEC".into()))
        .answer("q1", Prediction::rows(ints("x", &[1])));
    target.refused_snapshots.push("snap-missing".into());
    let report = run_eval(&target, &cases, &options(2, Mode::Model)).await;
    let errors: Vec<Option<&str>> = report.cases.iter().map(|c| c.harness_error.as_deref()).collect();
    assert!(errors[0].unwrap().contains("gold_sql failed to run (execution_error): syntax error at SELEC"));
    assert!(errors[1].unwrap().starts_with("gold_sql_alternatives[0] failed"));
    assert!(errors[2].unwrap().contains("could not start a session on snapshot snap-missing: no snapshot matches"));
    assert_eq!(errors[3], None);
    assert_eq!(report.cases[2].outcome, None, "a case without a session is never asked");
    let summary = report.summary();
    assert_eq!((summary.scored, summary.harness_errors, summary.ex.passed), (1, 3, 1));
    assert!(summary.categories.is_empty());
    // Harness errors fail the gate even at full accuracy of the scored cases.
    assert!(!summary.passes_gate(1.0));
    assert!(summary.gate_failures(0.0)[0].contains("3 case(s) could not be scored"));
}

#[tokio::test]
async fn gold_mode_replays_gold_sql_against_gold_rows() {
    let (cases, _) = parse_cases(
        r#"{"id": "same", "question": "q", "gold_sql": "GOOD", "gold_rows": {"columns": ["d"], "rows": [["2024-01-01"]]}}
{"id": "dialect", "question": "q", "gold_sql": "SQLITE ONLY", "gold_rows": {"columns": ["n"], "rows": [[1]]}}
{"id": "differs", "question": "q", "gold_sql": "DIFFERENT", "gold_rows": {"columns": ["n"], "rows": [[1], [2]]}}
{"id": "rows-only", "question": "q", "gold_rows": {"columns": ["n"], "rows": [[1]]}}"#,
    );
    let day = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
    let target = ScriptedTarget::default()
        .table(
            "GOOD",
            Outcome::Rows(quarry_eval::ResultTable::new(vec!["d".into()], vec![vec![quarry_eval::Cell::Date(day)]])),
        )
        .table("SQLITE ONLY", Outcome::PolicyRejected("double-quoted string literal".into()))
        .table("DIFFERENT", Outcome::Rows(ints("n", &[1])));
    let report = run_eval(&target, &cases, &options(2, Mode::Gold)).await;
    assert_eq!(target.sessions.load(Ordering::SeqCst), 0, "the gold replay needs no session");
    assert!(report.cases[0].ex_strict);
    assert_eq!(report.cases[1].category, Some(FailureCategory::PolicyRejected));
    assert_eq!(report.cases[2].category, Some(FailureCategory::MissingRows));
    assert!(report.cases[3].harness_error.as_deref().unwrap().contains("needs 'gold_sql'"));
    assert_eq!(report.mode, Mode::Gold);
}

#[tokio::test]
async fn an_empty_set_gives_an_empty_report() {
    let report = run_eval(&ScriptedTarget::default(), &[], &options(3, Mode::Model)).await;
    let summary = report.summary();
    assert_eq!((summary.cases, summary.ex.total), (0, 0));
    assert!(!summary.passes_gate(0.5));
    assert!(summary.passes_gate(0.0));
}

#[test]
fn the_run_future_can_be_spawned() {
    fn assert_send<F: std::future::Future + Send>(_: F) {}
    let target = ScriptedTarget::default();
    assert_send(run_eval(&target, &[], &EvalOptions::default()));
}

fn with_confidence(prediction: Prediction, confidence: f64) -> Prediction {
    Prediction { confidence: Some(confidence), ..prediction }
}

/// Coverage, precision among answered, wrong answers, risk-coverage and calibration, and an
/// expected clarification counted right.
#[tokio::test]
async fn trust_counts_answers_wrong_answers_and_confidence() {
    let gold = |id: &str, q: &str, extra: &str| {
        format!(r#"{{"id": "{id}", "question": "{q}", "gold_rows": {{"columns": ["x"], "rows": [[1]]}}{extra}}}"#)
    };
    let text = [
        gold("right-sure", "q1", ""),
        gold("right-sure-2", "q2", ""),
        gold("wrong-sure", "q3", ""),
        gold("right-unsure", "q4", ""),
        gold("asked-back-ambiguous", "q5", r#", "expect": "clarify""#),
        gold("asked-back-plain", "q6", ""),
        gold("refused", "q7", ""),
    ]
    .join("\n");
    let (cases, errors) = parse_cases(&text);
    assert!(errors.is_empty(), "{errors:?}");
    let clarification =
        || Outcome::Clarification { question: "which one?".into(), options: vec!["a".into(), "b".into()] };
    let target = ScriptedTarget::default()
        .answer("q1", with_confidence(Prediction::rows(ints("x", &[1])), 0.95))
        .answer("q2", with_confidence(Prediction::rows(ints("x", &[1])), 0.92))
        .answer("q3", with_confidence(Prediction::rows(ints("x", &[2])), 0.93))
        .answer("q4", with_confidence(Prediction::rows(ints("x", &[1])), 0.55))
        .answer("q5", Prediction::new(clarification()))
        .answer("q6", Prediction::new(clarification()))
        .answer("q7", Prediction::new(Outcome::GenerationFailed("not understood".into())));
    let report = run_eval(&target, &cases, &options(2, Mode::Model)).await;
    let summary = report.summary();
    // The expected clarification is right; the unexpected one is a miss.
    assert_eq!(summary.ex.passed, 4);
    let trust = &summary.trust;
    assert_eq!(trust.answered, 4);
    assert!((trust.coverage - 4.0 / 7.0).abs() < 1e-9);
    assert_eq!((trust.precision.passed, trust.precision.total), (3, 4));
    assert_eq!(trust.wrong_answers, 1);
    assert_eq!(trust.expected_clarifications, 1);
    let at = |threshold: f64| trust.risk_coverage.iter().find(|p| p.threshold == threshold).unwrap().precision;
    assert_eq!((at(0.0).passed, at(0.0).total), (3, 4));
    assert_eq!((at(0.9).passed, at(0.9).total), (2, 3));
    assert_eq!(at(0.95).total, 1);
    // Bins 0.5-0.6 (one right at 0.55) and 0.9-1.0 (two of three right at ~0.933).
    assert_eq!(trust.calibration.len(), 2);
    let ece = trust.ece.unwrap();
    let expected = (1.0 - 0.55) * 0.25 + ((0.95 + 0.92 + 0.93) / 3.0 - 2.0 / 3.0) * 0.75;
    assert!((ece - expected).abs() < 1e-9, "{ece} vs {expected}");
    assert!(summary.precision_gate_failures(0.8)[0].contains("1 wrong answer(s)"));
    assert!(summary.precision_gate_failures(0.75).is_empty());
    assert!(report.to_markdown().contains("### Risk-coverage"));
}
