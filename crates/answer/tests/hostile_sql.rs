//! The hostile SQL corpus (`fixtures/hostile_sql.jsonl`) through the real policy and
//! executor on the demo warehouse: every attack is refused or stopped with the expected
//! error kind, accepted controls run, and the snapshot's files are unchanged afterwards.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use quarry_answer::{Error, Pipeline};
use quarry_exec::ExecutorConfig;
use quarry_semantic::SemanticLayer;
use quarry_sqlguard::PolicyConfig;
use serde::Deserialize;

#[derive(Deserialize)]
struct Case {
    id: String,
    sql: String,
    expect: String,
}

fn file_hashes(dir: &Path) -> BTreeMap<PathBuf, String> {
    std::fs::read_dir(dir)
        .expect("snapshot dir")
        .map(|entry| {
            let path = entry.expect("entry").path();
            let hash = blake3::hash(&std::fs::read(&path).expect("readable")).to_hex().to_string();
            (path, hash)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_hostile_query_is_refused_or_stopped_and_nothing_changes() {
    let corpus =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/hostile_sql.jsonl"))
            .expect("corpus");
    let cases: Vec<Case> =
        corpus.lines().filter(|l| !l.trim().is_empty()).map(|l| serde_json::from_str(l).expect("case")).collect();
    assert!(cases.len() >= 60, "the corpus has {} cases", cases.len());

    let snapshot = common::demo();
    let before = file_hashes(&snapshot.dir);
    let limits = ExecutorConfig { timeout_ms: 10_000, memory_limit_mb: 256, ..ExecutorConfig::default() };
    let pipeline = Pipeline::new(snapshot.clone(), SemanticLayer::demo(), PolicyConfig::default(), limits)
        .await
        .expect("pipeline");

    let mut wrong = Vec::new();
    for case in &cases {
        let outcome = pipeline.run_sql(&case.sql).await;
        let got = match &outcome {
            Ok(_) => "ok".to_string(),
            Err(Error::Policy(e)) => e.kind().to_string(),
            Err(Error::Execution(e)) => e.kind().to_string(),
            Err(other) => format!("unexpected: {other}"),
        };
        let expected_here = match case.expect.as_str() {
            // The memory or the time limit, whichever the machine hits first.
            "resource_limit" => matches!(got.as_str(), "resource_limit" | "timeout" | "cartesian_join"),
            "cartesian_join" => got == "cartesian_join",
            other => got == other,
        };
        if !expected_here {
            wrong.push(format!(
                "{}: expected {}, got {got} ({})",
                case.id,
                case.expect,
                outcome.err().map(|e| e.to_string()).unwrap_or_default()
            ));
            continue;
        }
        if let Err(error) = &outcome {
            let message = error.to_string();
            assert!(message.len() > 30, "{}: the refusal should say what was wrong: {message}", case.id);
        }
    }
    assert!(wrong.is_empty(), "{} case(s) not handled as expected:\n{}", wrong.len(), wrong.join("\n"));
    assert_eq!(file_hashes(&snapshot.dir), before, "the snapshot's files changed");
    snapshot.verify().expect("files match the manifest");
}
