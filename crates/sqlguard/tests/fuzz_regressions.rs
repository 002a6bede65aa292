//! Replays the inputs the `sql_policy` fuzz target (crates/fuzz) found, kept in
//! fixtures/fuzz/regressions/sql_policy, plus its seeds (the hostile SQL corpus and the gold
//! queries), through the target's own invariants (tests/policy_invariants), on stable Rust.

mod common;
mod policy_invariants;

use std::path::{Path, PathBuf};

use policy_invariants::DemoWarehouse;
use serde_json::Value;

fn repo_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(relative)
}

fn files_in(relative: &str) -> Vec<PathBuf> {
    let dir = repo_path(relative);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|error| panic!("cannot list {}: {error}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}

/// The `key` field of every line of a JSON-lines file.
fn jsonl_field(path: &Path, key: &str) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .filter_map(|line| {
            serde_json::from_str::<Value>(line).expect("a JSON line").get(key)?.as_str().map(String::from)
        })
        .collect()
}

#[test]
fn every_kept_fuzz_input_holds_the_invariants() {
    let warehouse = DemoWarehouse::new(common::demo_policy());
    let files = files_in("fixtures/fuzz/regressions/sql_policy");
    assert!(!files.is_empty(), "no regression inputs found");
    for path in files {
        let data = std::fs::read(&path).expect("regression input");
        eprintln!("{}", path.display());
        warehouse.check_bytes(&data);
    }
}

#[test]
fn every_seed_holds_the_invariants() {
    // The hostile corpus holds a query as deep as the policy admits.
    policy_invariants::on_planning_stack(|| {
        let warehouse = DemoWarehouse::new(common::demo_policy());
        let mut seeds = jsonl_field(&repo_path("fixtures/hostile_sql.jsonl"), "sql");
        seeds.extend(jsonl_field(&repo_path("eval/questions/demo.jsonl"), "gold_sql"));
        assert!(seeds.len() > 300, "only {} seeds", seeds.len());
        for sql in &seeds {
            warehouse.check_sql(sql);
        }
    });
}
