//! Follow-up questions from the terminal: `quarry ask --conversation ID` across runs and
//! `quarry chat` reading questions from stdin.

mod common;

use common::quarry;
use predicates::prelude::*;
use serde_json::Value;

fn ask_json(args: &[&str]) -> Value {
    let output = quarry().arg("ask").args(args).arg("--json").output().expect("runs");
    assert!(output.status.success(), "stderr: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("one JSON object")
}

#[test]
fn a_conversation_id_carries_follow_ups_across_runs() {
    let id = format!("test-{}", std::process::id());
    let first = ask_json(&["signups by channel last month", "--conversation", &id]);
    let follow_up = ask_json(&["and in 2024?", "--conversation", &id]);
    let sql = follow_up["sql"].as_str().expect("sql");
    assert!(sql.contains("signup_channel") && sql.contains("2024-01-01"), "{sql}");
    assert_ne!(first["rows"], follow_up["rows"]);
    // Without the id, the same words have nothing to follow.
    quarry().args(["ask", "and in 2024?"]).assert().code(predicate::in_iter([2, 3]));
    let narrowed = ask_json(&["only organic", "--conversation", &id]);
    let sql = narrowed["sql"].as_str().expect("sql");
    assert!(sql.contains("'organic'") && sql.contains("2024-01-01"), "{sql}");
}

#[test]
fn a_bad_conversation_id_is_refused_before_anything_runs() {
    quarry()
        .args(["ask", "revenue in 2024", "--conversation", "../../etc/passwd"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("not a usable conversation id"));
}

#[test]
fn chat_answers_questions_and_follow_ups_from_stdin() {
    let id = format!("chat-test-{}", std::process::id());
    let assert = quarry()
        .args(["chat", "--conversation", &id])
        .write_stdin("revenue by region this year\n\nbreak that down by plan\n/quit\nrevenue\n")
        .assert()
        .success();
    let stdout = String::from_utf8(assert.get_output().stdout.clone()).expect("utf-8");
    let answers: Vec<&str> = stdout.split("? ").skip(1).collect();
    assert_eq!(answers.len(), 2, "two questions before /quit: {stdout}");
    assert!(answers[0].starts_with("revenue by region this year"), "{stdout}");
    let follow_up_sql = answers[1].lines().skip_while(|l| !l.starts_with("SQL:")).nth(1).expect("SQL");
    assert!(follow_up_sql.contains("region") && follow_up_sql.contains("plan"), "{follow_up_sql}");
    // The conversation was saved after every turn: a later run continues it.
    let continued = ask_json(&["and in 2024?", "--conversation", &id]);
    let sql = continued["sql"].as_str().expect("sql");
    assert!(sql.contains("region") && sql.contains("plan") && sql.contains("2024-01-01"), "{sql}");
}

#[test]
fn chat_starts_over_on_new() {
    let assert =
        quarry().arg("chat").write_stdin("revenue by region this year\n/new\nand in 2024?\n").assert().success();
    let stdout = String::from_utf8(assert.get_output().stdout.clone()).expect("utf-8");
    assert!(stdout.contains("a new conversation"), "{stdout}");
    let last = stdout.rsplit("? ").next().expect("last answer");
    assert!(!last.contains("SELECT"), "after /new, 'and in 2024?' has nothing to follow: {last}");
}
