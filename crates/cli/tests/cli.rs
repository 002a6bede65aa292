//! The `quarry` binary end to end: `sql` and `ask` in text and JSON, exit codes, errors on
//! stderr, and snapshot import, list and show.

mod common;

use std::path::PathBuf;

use assert_cmd::Command;
use common::quarry;
use predicates::prelude::*;
use serde_json::{Value, json};

fn json_stdout(command: &mut Command) -> Value {
    let output = command.output().expect("runs");
    assert!(output.status.success(), "stderr: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("stdout is exactly one JSON object")
}

#[test]
fn sql_json_has_typed_columns_exact_decimals_and_iso_timestamps() {
    let value = json_stdout(quarry().args([
        "sql",
        "SELECT invoice_id, amount_usd, issued_at FROM invoices WHERE invoice_id = 1",
        "--json",
    ]));
    assert_eq!(
        value["columns"],
        json!([{"name": "invoice_id", "type": "BIGINT"}, {"name": "amount_usd", "type": "DECIMAL(12,2)"}, {"name": "issued_at", "type": "TIMESTAMP"}])
    );
    let row = &value["rows"][0];
    assert_eq!(row[0], json!(1));
    assert!(row[1].as_str().is_some_and(|s| s.split_once('.').is_some_and(|(_, cents)| cents.len() == 2)), "{row}");
    assert!(
        row[2].as_str().is_some_and(|s| chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f").is_ok()),
        "{row}"
    );
    assert_eq!(
        value["sql"],
        json!("SELECT invoice_id, amount_usd, issued_at FROM invoices WHERE invoice_id = 1 LIMIT 1000")
    );
}

#[test]
fn sql_prints_a_table() {
    quarry()
        .args(["sql", "SELECT plan, COUNT(*) AS n FROM subscriptions GROUP BY plan ORDER BY plan"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("enterprise")
                .and(predicate::str::contains("┆ n"))
                .and(predicate::str::contains("4 rows")),
        );
}

#[test]
fn refused_sql_fails_with_the_reason_on_stderr_and_nothing_on_stdout() {
    quarry()
        .args(["sql", "DROP TABLE users", "--json"])
        .assert()
        .failure()
        .code(1)
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains("error: the query was refused"));
    quarry()
        .args(["sql", "SELECT email FROM users"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("users.email").and(predicate::str::contains("personal data")));
}

#[test]
fn ask_answers_signups_by_channel_last_month_correctly() {
    let answer = json_stdout(quarry().args(["ask", "signups by channel last month", "--json"]));
    assert_eq!(answer["status"], json!("answered"));
    for field in ["question", "sql", "columns", "rows", "snapshot_id", "timings_ms", "explanation", "confidence"] {
        assert!(answer.get(field).is_some(), "missing {field}: {answer}");
    }
    for stage in ["plan", "validate", "execute", "total"] {
        assert!(answer["timings_ms"][stage].as_f64().is_some(), "missing timing {stage}");
    }
    // The same numbers straight from the contract's definition of signups and "last month".
    let expected = json_stdout(quarry().args([
        "sql",
        "SELECT signup_channel, COUNT(*) AS signups FROM users \
         WHERE signup_at >= TIMESTAMP '2025-11-01 00:00:00' AND signup_at < TIMESTAMP '2025-12-01 00:00:00' \
         GROUP BY signup_channel ORDER BY signups DESC",
        "--json",
    ]));
    assert_eq!(answer["rows"], expected["rows"]);
    assert_eq!(answer["rows"].as_array().map(Vec::len), Some(5));
}

#[test]
fn ask_prints_answer_sql_and_explanation() {
    quarry().args(["ask", "revenue in 2024"]).assert().success().stdout(
        predicate::str::contains("Revenue in 2024: $")
            .and(predicate::str::contains("SQL:"))
            .and(predicate::str::contains("status = 'paid'"))
            .and(predicate::str::contains("in 2024 = [2024-01-01, 2025-01-01)")),
    );
}

#[test]
fn unmappable_and_ambiguous_questions_say_so() {
    quarry().args(["ask", "what is the weather in Paris"]).assert().code(2).stdout(
        predicate::str::contains("could not turn this question into a query").and(predicate::str::contains("weather")),
    );
    let answer =
        quarry().args(["ask", "how many users do we have", "--json"]).assert().code(3).get_output().stdout.clone();
    let answer: Value = serde_json::from_slice(&answer).expect("json");
    assert_eq!(answer["status"], json!("needs_clarification"));
    assert_eq!(answer["clarification"]["options"], json!(["signups", "active users"]));
    assert_eq!(answer["sql"], Value::Null, "no query is made up");
}

#[test]
fn a_clarification_numbers_its_options_and_says_how_to_ask_one() {
    // stdin and stdout are pipes here: no prompt, and the typed "1" is not read.
    let output = quarry().args(["ask", "how many users do we have"]).write_stdin("1\n").assert().code(3);
    let stdout = String::from_utf8(output.get_output().stdout.clone()).expect("UTF-8");
    assert!(stdout.contains("\nDid you mean:\n  1. signups\n  2. active users\n"), "{stdout}");
    assert!(
        stdout.ends_with("\nTo ask one of them, run it with quarry ask, e.g.: quarry ask \"signups\"\n"),
        "{stdout}"
    );
    assert!(!stdout.contains("Pick a number"), "no prompt without a terminal: {stdout}");

    // In a conversation, the hint continues it, and running it answers the option there.
    let id = format!("clarify-{}", std::process::id());
    let output = quarry().args(["ask", "how many users do we have", "--conversation", &id]).assert().code(3);
    let stdout = String::from_utf8(output.get_output().stdout.clone()).expect("UTF-8");
    let hint = format!("quarry ask \"signups\" --conversation \"{id}\"\n");
    assert!(stdout.ends_with(&hint), "{stdout}");
    quarry()
        .args(["ask", "signups", "--conversation", &id])
        .assert()
        .success()
        .stdout(predicate::str::starts_with("Signups: ").and(predicate::str::contains("To ask one").not()));
}

#[test]
fn oversized_and_empty_questions_are_refused() {
    let long = "revenue ".repeat(300);
    quarry().args(["ask", &long]).assert().code(1).stderr(predicate::str::contains("the limit is 1000"));
    quarry().args(["ask", "   "]).assert().code(1).stderr(predicate::str::contains("the question is empty"));
}

#[test]
fn snapshot_create_list_and_show_a_sqlite_database() {
    let own_home = tempfile::tempdir().expect("tempdir");
    let database = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/spider-mini/database/concert_singer/concert_singer.sqlite");
    let run = |args: &[&str]| {
        let mut command = quarry();
        command.env("QUARRY_HOME", own_home.path()).args(args);
        command.assert().success().get_output().stdout.clone()
    };
    let created =
        String::from_utf8(run(&["snapshot", "create", "--from", database.to_str().expect("utf-8")])).expect("utf-8");
    assert!(created.contains("singer_in_concert"), "{created}");
    let id = created
        .lines()
        .find(|l| l.starts_with("snapshot snap-"))
        .and_then(|l| l.split_whitespace().nth(1))
        .expect("id")
        .to_string();
    assert!(id.starts_with("snap-"), "{created}");
    let listed = String::from_utf8(run(&["snapshot", "list"])).expect("utf-8");
    assert!(listed.contains(&id), "{listed}");
    let shown: Value = serde_json::from_slice(&run(&["snapshot", "show", &id[..9], "--json"])).expect("json");
    assert_eq!(shown["id"], json!(id));
    assert_eq!(shown["tables"].as_array().map(Vec::len), Some(4));
    // The starter semantic layer makes the imported data answerable at once.
    let answer: Value =
        serde_json::from_slice(&run(&["ask", "how many singers", "--snapshot", &id, "--json"])).expect("json");
    assert_eq!(answer["rows"], json!([[6]]), "{answer}");
}

#[test]
fn an_unknown_filter_value_is_asked_back_with_readings_that_answer() {
    let output = quarry().args(["ask", "signups from narnia last month"]).assert().code(3);
    let stdout = String::from_utf8(output.get_output().stdout.clone()).expect("UTF-8");
    assert!(stdout.contains("I did not understand 'narnia'"), "{stdout}");
    assert!(stdout.contains("1. signups last month"), "{stdout}");
    quarry()
        .args(["ask", "signups last month"])
        .assert()
        .success()
        .stdout(predicate::str::starts_with("Signups last month: "));
}

#[test]
fn a_refitted_confidence_model_is_used_and_an_unusable_one_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let model = dir.path().join("confidence.json");
    std::fs::write(&model, r#"{"bias": 2.0, "weights": {}, "fitted_on": "test"}"#).expect("write");
    let output = quarry()
        .env("QUARRY_SYNTHESIS__CONFIDENCE_MODEL", &model)
        .args(["ask", "revenue last month", "--json"])
        .assert()
        .success();
    let answer: Value = serde_json::from_slice(&output.get_output().stdout).expect("json");
    let expected = 1.0 / (1.0 + (-2.0f64).exp());
    assert!((answer["confidence"].as_f64().expect("confidence") - expected).abs() < 1e-9, "{answer}");
    std::fs::write(&model, "not json").expect("write");
    quarry()
        .env("QUARRY_SYNTHESIS__CONFIDENCE_MODEL", &model)
        .args(["ask", "revenue last month"])
        .assert()
        .failure()
        .stderr(
            predicate::str::contains("cannot use the confidence model")
                .and(predicate::str::contains("quarry eval calibrate")),
        );
}
