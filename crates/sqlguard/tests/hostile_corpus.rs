//! Runs every case of fixtures/hostile_sql.jsonl through the policy with the demo warehouse catalog.

mod common;

use std::collections::BTreeSet;

use quarry_sqlguard::PolicyError;
use serde::Deserialize;

/// Cases the policy must admit because stopping them is the executor's job.
const EXECUTOR_KINDS: &[&str] = &["resource_limit", "cartesian_join"];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    id: String,
    sql: String,
    expect: String,
    why: String,
}

fn load_corpus() -> Vec<Case> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/hostile_sql.jsonl");
    let text = std::fs::read_to_string(path).unwrap_or_else(|error| panic!("cannot read {path}: {error}"));
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(index, line)| serde_json::from_str(line).unwrap_or_else(|error| panic!("{path}:{}: {error}", index + 1)))
        .collect()
}

fn policy_kinds() -> BTreeSet<&'static str> {
    PolicyError::KINDS.iter().copied().filter(|kind| *kind != "internal").collect()
}

#[test]
fn the_corpus_is_well_formed_and_covers_every_refusal_kind() {
    let corpus = load_corpus();
    assert!(corpus.len() >= 70, "only {} cases", corpus.len());

    let mut ids = BTreeSet::new();
    for case in &corpus {
        assert!(ids.insert(case.id.as_str()), "duplicate id {}", case.id);
        assert!(!case.why.trim().is_empty(), "{}: explain why", case.id);
        let known = case.expect == "ok"
            || EXECUTOR_KINDS.contains(&case.expect.as_str())
            || policy_kinds().contains(case.expect.as_str());
        assert!(known, "{}: unknown expectation {}", case.id, case.expect);
    }

    let expected: BTreeSet<&str> = corpus.iter().map(|case| case.expect.as_str()).collect();
    let missing: Vec<&str> = policy_kinds().into_iter().filter(|kind| !expected.contains(kind)).collect();
    assert!(missing.is_empty(), "refusal kinds without a case: {missing:?}");
    for kind in ["ok", "resource_limit", "cartesian_join"] {
        assert!(expected.contains(kind), "no case expects {kind}");
    }
}

#[test]
fn every_hostile_case_is_refused_with_its_kind_and_every_other_case_is_admitted() {
    let policy = common::demo_policy();
    let mut failures = Vec::new();
    for case in load_corpus() {
        let outcome = policy.check(&case.sql);
        let refusal_expected = case.expect != "ok" && !EXECUTOR_KINDS.contains(&case.expect.as_str());
        match (&outcome, refusal_expected) {
            (Err(error), true) if error.kind() == case.expect => {}
            (Ok(_), false) => {}
            (Ok(query), true) => {
                failures.push(format!("{}: expected {}, admitted as: {}", case.id, case.expect, query.sql))
            }
            (Err(error), _) => {
                failures.push(format!("{}: expected {}, got {}: {error}", case.id, case.expect, error.kind()))
            }
        }
    }
    assert!(failures.is_empty(), "{} case(s) failed:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn admitted_cases_carry_a_bounded_limit_and_recheck_unchanged() {
    let policy = common::demo_policy();
    let max_limit = policy.config().max_limit;
    for case in
        load_corpus().into_iter().filter(|case| case.expect == "ok" || EXECUTOR_KINDS.contains(&case.expect.as_str()))
    {
        let query = policy.check(&case.sql).unwrap_or_else(|error| panic!("{}: {error}", case.id));
        assert!(query.limit <= max_limit, "{}: limit {}", case.id, query.limit);
        assert!(query.sql.ends_with(&format!("LIMIT {}", query.limit)), "{}: {}", case.id, query.sql);
        assert!(!query.tables.is_empty() || !case.sql.contains("FROM"), "{}: no tables recorded", case.id);
        assert!(
            query.columns.iter().all(|(table, column)| !policy.catalog().is_personal(table, column)),
            "{}",
            case.id
        );
        let again = policy.check(&query.sql).unwrap_or_else(|error| panic!("{}: recheck failed: {error}", case.id));
        assert_eq!(again.sql, query.sql, "{}", case.id);
    }
}

#[test]
fn refusal_messages_say_what_to_do() {
    let policy = common::demo_policy();
    let advice =
        ["write", "remove", "use ", "rename", "list the", "query the", "reference", "send", "replace", "put", "add "];
    let mut vague = Vec::new();
    for case in load_corpus() {
        if let Err(error) = policy.check(&case.sql) {
            let message = error.to_string();
            assert!(!error.is_internal(), "{}: {message}", case.id);
            if !advice.iter().any(|verb| message.contains(verb)) {
                vague.push(format!("{}: {message}", case.id));
            }
        }
    }
    assert!(vague.is_empty(), "messages without advice:\n{}", vague.join("\n"));
}
