//! `quarry eval` end to end on a small labeled set: malformed lines reported, reports
//! written in every format, the accuracy gate's exit code, and comparison with a previous run.

mod common;

use common::quarry;
use predicates::prelude::*;

/// Two questions the planner answers, one whose gold asks for something else, and a broken line.
const CASES: &str = r#"{"id": "revenue-2024", "question": "revenue in 2024", "gold_sql": "SELECT SUM(amount_usd) FROM invoices WHERE status = 'paid' AND issued_at >= TIMESTAMP '2024-01-01 00:00:00' AND issued_at < TIMESTAMP '2025-01-01 00:00:00'", "tags": ["revenue"], "difficulty": "easy"}
{"id": "signups-by-channel", "question": "signups by channel last month", "gold_sql": "SELECT signup_channel, COUNT(*) FROM users WHERE signup_at >= TIMESTAMP '2025-11-01 00:00:00' AND signup_at < TIMESTAMP '2025-12-01 00:00:00' GROUP BY 1", "tags": ["signups"], "difficulty": "easy"}
{"id": "deliberately-wrong-gold", "question": "tickets this quarter", "gold_sql": "SELECT COUNT(*) FROM support_tickets", "tags": ["tickets"], "difficulty": "easy"}
{"id": "broken", "question": 
"#;

#[test]
fn eval_reports_scores_gates_and_compares() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases = dir.path().join("cases.jsonl");
    std::fs::write(&cases, CASES).expect("write cases");
    let report = dir.path().join("report.json");
    let markdown = dir.path().join("report.md");
    let junit = dir.path().join("report.xml");

    quarry()
        .args(["eval", cases.to_str().unwrap(), "--no-progress", "--report", report.to_str().unwrap()])
        .args(["--markdown", markdown.to_str().unwrap(), "--junit", junit.to_str().unwrap()])
        .assert()
        .success()
        .stderr(predicate::str::contains("cases.jsonl: line 4"))
        .stdout(predicate::str::contains("ex ").and(predicate::str::contains("66.7%")));

    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).expect("report")).expect("json");
    let cases_out = json["cases"].as_array().expect("cases");
    assert_eq!(cases_out.len(), 3);
    let wrong = cases_out.iter().find(|c| c["id"] == "deliberately-wrong-gold").expect("case");
    assert_eq!(wrong["ex"], serde_json::json!(false));
    assert_eq!(wrong["category"], serde_json::json!("wrong_values"));
    assert!(std::fs::read_to_string(&markdown).expect("md").contains("deliberately-wrong-gold"));
    assert!(std::fs::read_to_string(&junit).expect("xml").contains("<testsuite"));

    // Below the gate: a non-zero exit that names the gate.
    quarry()
        .args(["eval", cases.to_str().unwrap(), "--no-progress", "--min-ex", "0.9"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("gate failed"));

    // The gold replay scores every case, including the one the planner misses.
    quarry()
        .args(["eval", cases.to_str().unwrap(), "--no-progress", "--model", "gold", "--min-ex", "1.0"])
        .assert()
        .success()
        .stdout(predicate::str::contains("100.0%"));

    // Comparing a run with itself finds nothing regressed.
    quarry()
        .args(["eval", cases.to_str().unwrap(), "--no-progress", "--compare", report.to_str().unwrap()])
        .assert()
        .success()
        .stdout(predicate::str::contains("0 regression(s)"));
}

/// Imports a Spider-format set (once per `out`) and runs `model` over it; returns the
/// report's cases.
fn spider_eval(set: &std::path::Path, out: &std::path::Path, run: &str, model: &str) -> Vec<serde_json::Value> {
    if !out.join("spider-dev.jsonl").exists() {
        quarry()
            .args(["eval", "import", "spider", set.to_str().unwrap(), "--out", out.to_str().unwrap()])
            .assert()
            .success();
    }
    let report = out.join(format!("{run}.json"));
    let cases = out.join("spider-dev.jsonl");
    quarry()
        .args(["eval", cases.to_str().unwrap(), "--snapshots", out.join("snapshots").to_str().unwrap()])
        .args(["--model", model, "--no-progress", "--report", report.to_str().unwrap()])
        .assert()
        .success();
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).expect("report")).expect("json");
    json["cases"].as_array().expect("cases").clone()
}

/// Imports a Spider-format set and replays its gold SQL through the policy and the executor;
/// returns the report's per-case verdicts.
fn spider_gold_replay(set: &std::path::Path, out: &std::path::Path, run: &str) -> Vec<(String, bool, String)> {
    spider_eval(set, out, run, "gold")
        .iter()
        .map(|c| {
            let id = c["id"].as_str().unwrap_or_default().to_string();
            let category = c["category"].as_str().unwrap_or_default().to_string();
            (id, c["ex"] == serde_json::json!(true), category)
        })
        .collect()
}

/// SQLite's dialect (double-quoted strings, bare columns a key determines, numbers stored as
/// text, ties under ORDER BY ... LIMIT) runs through the policy with the gold's meaning: every
/// gold of the mini set replays but one bare column nothing determines, which is refused.
#[test]
fn the_spider_mini_set_replays_through_the_policy_and_executor() {
    let dir = tempfile::tempdir().expect("tempdir");
    let set = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/spider-mini");
    let verdicts = spider_gold_replay(&set, dir.path(), "replay");
    assert_eq!(verdicts.len(), 179);
    let misses: Vec<&(String, bool, String)> = verdicts.iter().filter(|(_, ex, _)| !ex).collect();
    // `select max(capacity), average from stadium`: `average` is neither grouped nor determined.
    assert_eq!(
        misses,
        [&("spider-dev-0016".to_string(), false, "policy_rejected".to_string())],
        "every other gold must replay"
    );
}

/// The Spider dev directory `SPIDER_DEV_DIR` names, or `None` (the test is skipped, saying
/// what setting it would take to `purpose`).
fn spider_dev_dir(purpose: &str) -> Option<std::path::PathBuf> {
    let set = std::env::var_os("SPIDER_DEV_DIR");
    if set.is_none() {
        eprintln!("skipped: set SPIDER_DEV_DIR to the Spider dev directory to {purpose}");
    }
    set.map(std::path::PathBuf::from)
}

/// The whole Spider dev set (when `SPIDER_DEV_DIR` points at it): at least 97% of the gold
/// replays, and two runs agree case by case.
#[test]
fn the_spider_dev_gold_replay_is_at_least_97_percent_and_repeatable() {
    let Some(set) = spider_dev_dir("replay all of it") else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let first = spider_gold_replay(&set, dir.path(), "first");
    let second = spider_gold_replay(&set, dir.path(), "second");
    assert_eq!(first.len(), 1026);
    let passed = first.iter().filter(|(_, ex, _)| *ex).count();
    eprintln!(
        "spider dev gold replay: {passed} of {} ({:.1}%)",
        first.len(),
        100.0 * passed as f64 / first.len() as f64
    );
    assert!(passed as f64 >= 0.97 * first.len() as f64, "{passed} of {}", first.len());
    assert_eq!(first, second, "two runs of the replay differ");
}

/// Issue 15's targets for the built-in planner on the whole Spider dev set (when
/// `SPIDER_DEV_DIR` points at it), imported with the starter layers and nothing edited:
/// execution accuracy of at least 30% overall and 60% on single-table questions, and at least
/// 90% of the answers it gives right.
#[test]
fn the_built_in_planner_meets_the_own_data_targets_on_spider_dev() {
    let Some(set) = spider_dev_dir("measure the planner on it") else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let cases = spider_eval(&set, dir.path(), "builtin", "builtin");
    assert_eq!(cases.len(), 1026);
    let score = |shape: Option<&str>| {
        let of_shape: Vec<&serde_json::Value> = cases
            .iter()
            .filter(|c| shape.is_none_or(|s| c["tags"].as_array().is_some_and(|t| t.iter().any(|t| t == s))))
            .collect();
        let right = of_shape.iter().filter(|c| c["ex"] == serde_json::json!(true)).count();
        let answered = of_shape.iter().filter(|c| c["predicted_sql"].as_str().is_some_and(|s| !s.is_empty())).count();
        let right_answered = of_shape
            .iter()
            .filter(|c| {
                c["ex"] == serde_json::json!(true) && c["predicted_sql"].as_str().is_some_and(|s| !s.is_empty())
            })
            .count();
        let ex = right as f64 / of_shape.len() as f64;
        let precision = right_answered as f64 / answered.max(1) as f64;
        eprintln!(
            "{}: ex {:.1}% ({right} of {}), answered {answered}, precision {:.1}%",
            shape.unwrap_or("all"),
            100.0 * ex,
            of_shape.len(),
            100.0 * precision
        );
        (ex, precision)
    };
    let (all, precision) = score(None);
    let (single, _) = score(Some("single-table"));
    assert!(all >= 0.30, "overall ex {all}");
    assert!(single >= 0.60, "single-table ex {single}");
    assert!(precision >= 0.90, "precision among answered {precision}");
}
