//! Admitted queries plan in DataFusion over the demo schema, with the policy's row limit at the root.

mod common;

use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use datafusion::datasource::MemTable;
use datafusion::execution::context::SQLOptions;
use datafusion::logical_expr::{FetchType, Limit, LogicalPlan, SkipType};
use datafusion::prelude::SessionContext;
use serde::Deserialize;

#[derive(Deserialize)]
struct Case {
    id: String,
    sql: String,
    expect: String,
}

/// Planning over in-memory tables does no I/O, so its future completes without a runtime.
fn run_to_completion<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut context = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return output;
        }
        std::thread::yield_now();
    }
}

/// An empty session table per catalog table, typed as in the data contract.
fn demo_session() -> SessionContext {
    let ctx = SessionContext::new();
    let catalog = common::demo_catalog();
    for table in catalog.tables() {
        let fields: Vec<Field> = catalog
            .columns(table)
            .expect("listed table")
            .iter()
            .map(|column| Field::new(column, column_type(column), true))
            .collect();
        let schema = Arc::new(Schema::new(fields));
        let provider = MemTable::try_new(schema, vec![vec![]]).expect("empty table");
        ctx.register_table(table, Arc::new(provider)).expect("register");
    }
    ctx
}

fn column_type(column: &str) -> DataType {
    match column {
        c if c.ends_with("_id") => DataType::Int64,
        c if c.ends_with("_at") || c == "event_time" => DataType::Timestamp(TimeUnit::Microsecond, None),
        "mrr_usd" | "amount_usd" => DataType::Decimal128(12, 2),
        "seats" | "first_response_minutes" | "csat_score" => DataType::Int32,
        "converted" => DataType::Boolean,
        _ => DataType::Utf8,
    }
}

/// The row count of a limit node when it is a literal.
fn literal_fetch(limit: &Limit) -> Option<usize> {
    match limit.get_fetch_type() {
        Ok(FetchType::Literal(fetch)) => fetch,
        _ => None,
    }
}

fn plan(ctx: &SessionContext, sql: &str) -> datafusion::error::Result<LogicalPlan> {
    let options = SQLOptions::new().with_allow_ddl(false).with_allow_dml(false).with_allow_statements(false);
    run_to_completion(ctx.sql_with_options(sql, options)).map(|frame| frame.logical_plan().clone())
}

#[test]
fn every_admitted_corpus_query_plans_with_its_limit_at_the_root() {
    let policy = common::demo_policy();
    let ctx = demo_session();
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
        let query = policy.check(&case.sql).unwrap_or_else(|error| panic!("{}: {error}", case.id));
        let plan =
            plan(&ctx, &query.sql).unwrap_or_else(|error| panic!("{}: {} does not plan: {error}", case.id, query.sql));
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
    let policy = common::demo_policy();
    let ctx = demo_session();
    for (sql, fetch, skip) in [
        ("SELECT ticket_id FROM support_tickets ORDER BY csat_score FETCH FIRST 5 ROWS ONLY", 5, 0),
        ("SELECT account_id FROM accounts LIMIT 10, 20", 20, 10),
        ("SELECT account_id FROM accounts OFFSET 3 ROWS", 1000, 3),
        ("SELECT plan FROM subscriptions LIMIT ALL", 1000, 0),
        ("SELECT event_id FROM events LIMIT 99999999", 10_000, 0),
        ("SELECT plan FROM subscriptions UNION SELECT 'none'", 1000, 0),
    ] {
        let query = policy.check(sql).unwrap_or_else(|error| panic!("{sql}: {error}"));
        let plan = plan(&ctx, &query.sql).unwrap_or_else(|error| panic!("{}: {error}", query.sql));
        let LogicalPlan::Limit(limit) = &plan else { panic!("{sql}: root is not a limit") };
        assert_eq!(literal_fetch(limit), Some(fetch), "{sql}");
        let Ok(SkipType::Literal(planned_skip)) = limit.get_skip_type() else { panic!("{sql}: skip is not a literal") };
        assert_eq!(planned_skip, skip, "{sql}");
    }
}

#[test]
fn datafusion_resolves_names_the_way_the_policy_assumes() {
    let ctx = demo_session();
    // Unquoted names are lower-cased, quoted ones are not: "Users" is another (unknown) table,
    // which the policy reports with a hint.
    assert!(plan(&ctx, "SELECT count(*) FROM USERS").is_ok());
    assert!(plan(&ctx, "SELECT count(*) FROM \"Users\"").is_err());
    assert!(plan(&ctx, "SELECT count(*) FROM public.users").is_ok());
    // FETCH is not planned by DataFusion, hence the rewrite to LIMIT.
    assert!(plan(&ctx, "SELECT 1 FETCH FIRST 1 ROWS ONLY").is_err());
    // A CTE hides a table of the same name: the reason such CTEs are refused.
    let shadowed = plan(&ctx, "WITH users AS (SELECT 1 AS email) SELECT email FROM users").expect("plans");
    assert!(!shadowed.display_indent().to_string().contains("TableScan: users"));
}
