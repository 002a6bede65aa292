//! `quarry index`, `quarry search` and `quarry eval retrieval` on the demo warehouse, with
//! the embedded defaults (built-in embedder, qdrant-edge under the data directory).

mod common;

use common::quarry;
use predicates::prelude::*;
use serde_json::Value;

fn json_stdout(command: &mut assert_cmd::Command) -> Value {
    let output = command.assert().success().get_output().stdout.clone();
    serde_json::from_slice(&output).expect("stdout is one JSON object")
}

fn top_ids(search: &Value) -> Vec<String> {
    search["hits"].as_array().expect("hits").iter().map(|h| h["id"].as_str().expect("id").to_string()).collect()
}

#[test]
fn index_builds_once_and_then_reports_it_is_up_to_date() {
    let first = json_stdout(quarry().args(["index", "--json"]));
    assert_eq!(first["embedder"], "hashing-v1-512");
    assert!(first["total"].as_u64().expect("total") > 150, "{first}");
    for kind in ["metric", "dimension", "table", "column", "value", "verified_question", "segment"] {
        assert!(first["documents"][kind].as_u64().unwrap_or(0) > 0, "no {kind} documents: {first}");
    }
    let again = json_stdout(quarry().args(["index", "--json"]));
    assert_eq!(again["rebuilt"], false, "{again}");
    assert_eq!(again["hash"], first["hash"]);
    let forced = json_stdout(quarry().args(["index", "--rebuild", "--json"]));
    assert_eq!(forced["rebuilt"], true, "{forced}");
    assert_eq!(forced["hash"], first["hash"]);
    quarry()
        .args(["index", "--no-progress"])
        .assert()
        .success()
        .stdout(predicate::str::contains("up to date").and(predicate::str::contains("qdrant-edge")));
}

#[test]
fn search_grounds_words_to_metrics_dimensions_and_values() {
    let sales = json_stdout(quarry().args(["search", "total sales", "--kind", "metric", "--limit", "3", "--json"]));
    assert_eq!(top_ids(&sales)[0], "metric:revenue", "{sales}");
    let germany = json_stdout(quarry().args(["search", "customers in Germany", "--kind", "value", "--json"]));
    let hit = &germany["hits"][0];
    assert_eq!(hit["payload"]["value"], "DE", "{germany}");
    assert!(hit["meaning"].as_str().expect("meaning").ends_with(".country = 'DE'"), "{hit}");
    let mau = json_stdout(quarry().args(["search", "MAU", "--kind", "metric,dimension", "--json"]));
    assert_eq!(top_ids(&mau)[0], "metric:active_users", "{mau}");
    let kinds: Vec<&str> = mau["hits"].as_array().unwrap().iter().map(|h| h["kind"].as_str().unwrap()).collect();
    assert!(kinds.iter().all(|k| matches!(*k, "metric" | "dimension")), "{kinds:?}");
    quarry().args(["search", "paid search signups"]).assert().success().stdout(
        predicate::str::contains("users.signup_channel = 'paid_search'").and(predicate::str::contains("score")),
    );
}

#[test]
fn search_refuses_bad_arguments_with_a_reason() {
    quarry()
        .args(["search", "revenue", "--kind", "measure"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("unknown kind 'measure'").and(predicate::str::contains("metric, dimension")));
    quarry().args(["search", "  "]).assert().failure().stderr(predicate::str::contains("search text is empty"));
    quarry().args(["search", "revenue", "--limit", "0"]).assert().failure().stderr(predicate::str::contains("--limit"));
}

#[test]
fn an_unreachable_embedding_server_is_a_clear_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    quarry()
        .args(["search", "revenue"])
        .env("QUARRY_RETRIEVAL__EMBEDDER", "openai")
        .env("QUARRY_RETRIEVAL__OPENAI__BASE_URL", format!("http://127.0.0.1:{port}/v1"))
        .env("QUARRY_RETRIEVAL__OPENAI__MAX_RETRIES", "0")
        .assert()
        .failure()
        .stderr(
            predicate::str::contains("embedding server at http://127.0.0.1")
                .and(predicate::str::contains("unavailable")),
        );
    quarry()
        .args(["search", "revenue"])
        .env("QUARRY_RETRIEVAL__STORE", "pinecone")
        .assert()
        .failure()
        .stderr(predicate::str::contains("pinecone"));
}

#[test]
fn eval_retrieval_reports_recall_per_kind_and_gates() {
    let dir = tempfile::tempdir().unwrap();
    let set = dir.path().join("set.jsonl");
    std::fs::write(
        &set,
        concat!(
            r#"{"id": "a", "question": "total sales by region", "expected": ["metric:revenue", "dimension:region"]}"#,
            "\n",
            r#"{"id": "b", "question": "signups from germany", "expected": ["metric:signups", "value:users.country=DE"]}"#,
            "\n",
        ),
    )
    .unwrap();
    let report = dir.path().join("report.json");
    quarry()
        .args(["eval", "retrieval"])
        .arg(&set)
        .arg("--report")
        .arg(&report)
        .assert()
        .success()
        .stdout(predicate::str::contains("recall@5").and(predicate::str::contains("2 questions, 4 labels")));
    let json: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(json["overall"]["labels"], 4);
    assert_eq!(json["kinds"]["metric"]["at_5"], 2, "{json}");
    assert_eq!(json["kinds"]["value"]["at_5"], 1, "{json}");

    let hard = dir.path().join("hard.jsonl");
    std::fs::write(&hard, r#"{"question": "revenue", "expected": ["metric:no_such_metric"]}"#).unwrap();
    quarry()
        .args(["eval", "retrieval"])
        .arg(&hard)
        .args(["--min-recall", "0.5", "--misses"])
        .assert()
        .failure()
        .stdout(predicate::str::contains("missed metric:no_such_metric"))
        .stderr(predicate::str::contains("gate failed: recall@5 0.000"));

    let bad = dir.path().join("bad.jsonl");
    std::fs::write(&bad, "{\"question\": \"revenue\", \"expected\": [\"revenue\"]}\n").unwrap();
    quarry()
        .args(["eval", "retrieval"])
        .arg(&bad)
        .assert()
        .failure()
        .stderr(predicate::str::contains("bad.jsonl:1").and(predicate::str::contains("<kind>:<name>")));
}
