//! Admitted queries plan in DataFusion over the demo schema, with the policy's row limit at the root.

mod common;
mod policy_invariants;

use datafusion::logical_expr::{FetchType, Limit, LogicalPlan, SkipType};
use policy_invariants::DemoWarehouse;
use serde::Deserialize;

#[derive(Deserialize)]
struct Case {
    id: String,
    sql: String,
    expect: String,
}

/// The demo policy and an empty session table per catalog table, typed as in the data contract.
fn demo_warehouse() -> DemoWarehouse {
    DemoWarehouse::new(common::demo_policy())
}

/// The row count of a limit node when it is a literal.
fn literal_fetch(limit: &Limit) -> Option<usize> {
    match limit.get_fetch_type() {
        Ok(FetchType::Literal(fetch)) => fetch,
        _ => None,
    }
}

#[test]
fn every_admitted_corpus_query_plans_with_its_limit_at_the_root() {
    // The corpus holds a query as deep as the policy admits.
    policy_invariants::on_planning_stack(plan_every_admitted_corpus_query);
}

fn plan_every_admitted_corpus_query() {
    let warehouse = demo_warehouse();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/hostile_sql.jsonl");
    let corpus: Vec<Case> = std::fs::read_to_string(path)
        .expect("fixture")
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| serde_json::from_str(line).expect("case"))
        .collect();
    let mut planned = 0;
    for case in corpus.iter().filter(|case| matches!(case.expect.as_str(), "ok" | "resource_limit" | "cartesian_join"))
    {
        let query = warehouse.policy.check(&case.sql).unwrap_or_else(|error| panic!("{}: {error}", case.id));
        let plan = warehouse
            .plan(&query.sql)
            .unwrap_or_else(|error| panic!("{}: {} does not plan: {error}", case.id, query.sql));
        let LogicalPlan::Limit(limit) = &plan else {
            panic!("{}: the plan root is not a limit:\n{}", case.id, plan.display_indent());
        };
        assert_eq!(literal_fetch(limit), Some(query.limit as usize), "{}", case.id);
        planned += 1;
    }
    assert!(planned >= 20, "only {planned} admitted cases");
}

#[test]
fn rewritten_limits_plan_as_datafusion_limits() {
    let warehouse = demo_warehouse();
    for (sql, fetch, skip) in [
        ("SELECT ticket_id FROM support_tickets ORDER BY csat_score FETCH FIRST 5 ROWS ONLY", 5, 0),
        ("SELECT account_id FROM accounts LIMIT 10, 20", 20, 10),
        ("SELECT account_id FROM accounts OFFSET 3 ROWS", 1000, 3),
        ("SELECT plan FROM subscriptions LIMIT ALL", 1000, 0),
        ("SELECT event_id FROM events LIMIT 99999999", 10_000, 0),
        ("SELECT plan FROM subscriptions UNION SELECT 'none'", 1000, 0),
    ] {
        let query = warehouse.policy.check(sql).unwrap_or_else(|error| panic!("{sql}: {error}"));
        let plan = warehouse.plan(&query.sql).unwrap_or_else(|error| panic!("{}: {error}", query.sql));
        let LogicalPlan::Limit(limit) = &plan else { panic!("{sql}: root is not a limit") };
        assert_eq!(literal_fetch(limit), Some(fetch), "{sql}");
        let Ok(SkipType::Literal(planned_skip)) = limit.get_skip_type() else { panic!("{sql}: skip is not a literal") };
        assert_eq!(planned_skip, skip, "{sql}");
    }
}

#[test]
fn datafusion_resolves_names_the_way_the_policy_assumes() {
    let warehouse = demo_warehouse();
    // Unquoted names are lower-cased, quoted ones are not: "Users" is another (unknown) table,
    // which the policy reports with a hint.
    assert!(warehouse.plan("SELECT count(*) FROM USERS").is_ok());
    assert!(warehouse.plan("SELECT count(*) FROM \"Users\"").is_err());
    assert!(warehouse.plan("SELECT count(*) FROM public.users").is_ok());
    // FETCH is not planned by DataFusion, hence the rewrite to LIMIT.
    assert!(warehouse.plan("SELECT 1 FETCH FIRST 1 ROWS ONLY").is_err());
    // A CTE hides a table of the same name: the reason such CTEs are refused.
    let shadowed = warehouse.plan("WITH users AS (SELECT 1 AS email) SELECT email FROM users").expect("plans");
    assert!(!shadowed.display_indent().to_string().contains("TableScan: users"));
}
