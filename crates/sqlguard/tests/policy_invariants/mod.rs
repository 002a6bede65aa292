//! What must hold for any input to `SqlPolicy::check`, shared by the `sql_policy` fuzz target
//! (crates/fuzz) and the `fuzz_regressions` test, so the two cannot drift apart.
//!
//! `check_sql` panics when an invariant breaks; a refusal is always fine. For an admitted query:
//! - its SQL parses again and is admitted again unchanged (the rewrite is a fixed point);
//! - it is one query statement with no `SELECT ... INTO` and no locking clause;
//! - its row limit is a literal no larger than the policy's maximum;
//! - it reads no personal column, both as the policy reports it and as DataFusion plans it
//!   (after projection pushdown, no scan of a catalog table projects a personal column);
//! - DataFusion's planner folds it into no constant larger than [`MAX_FOLDED_CONSTANT_BYTES`]
//!   (constant folding runs outside the executor's memory pool: `SELECT range(1000000000)` built
//!   an 8 GB list there).

// Each test that includes this module uses a different part of it.
#![allow(dead_code)]

use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::datasource::MemTable;
use datafusion::execution::context::SQLOptions;
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::SessionContext;
use datafusion::sql::sqlparser::ast::{Expr, LimitClause, SetExpr, Statement, Value};
use quarry_sqlguard::SqlPolicy;

/// The largest constant the optimizer may fold an admitted query into; the policy bounds generated
/// values to a few thousand elements, far below this.
pub const MAX_FOLDED_CONSTANT_BYTES: usize = 1 << 20;

/// A warehouse as the policy and DataFusion see it: the policy, and a session with one empty table
/// per catalog table, typed as in the demo data contract.
pub struct DemoWarehouse {
    /// The policy under test.
    pub policy: SqlPolicy,
    session: SessionContext,
}

impl DemoWarehouse {
    /// `policy`, and a session with its catalog's tables.
    pub fn new(policy: SqlPolicy) -> Self {
        let catalog = policy.catalog();
        let session = SessionContext::new();
        for table in catalog.tables() {
            let fields: Vec<Field> = catalog
                .columns(table)
                .expect("listed table")
                .iter()
                .map(|column| Field::new(column, column_type(column), true))
                .collect();
            let provider = MemTable::try_new(Arc::new(Schema::new(fields)), vec![vec![]]).expect("empty table");
            session.register_table(table, Arc::new(provider)).expect("register");
        }
        Self { policy, session }
    }

    /// The unoptimized DataFusion plan of `sql`, planned the way the executor plans it.
    pub fn plan(&self, sql: &str) -> datafusion::error::Result<LogicalPlan> {
        let options = SQLOptions::new().with_allow_ddl(false).with_allow_dml(false).with_allow_statements(false);
        run_to_completion(self.session.sql_with_options(sql, options)).map(|frame| frame.logical_plan().clone())
    }

    /// Checks one fuzz input (bytes that are not UTF-8 are skipped); panics if an invariant breaks.
    pub fn check_bytes(&self, data: &[u8]) {
        if let Ok(sql) = std::str::from_utf8(data) {
            self.check_sql(sql);
        }
    }

    /// Checks `sql`; panics if an invariant breaks.
    pub fn check_sql(&self, sql: &str) {
        let Ok(query) = self.policy.check(sql) else { return };
        let max_limit = self.policy.config().max_limit;

        let again = self.policy.check(&query.sql).unwrap_or_else(|error| {
            panic!("the admitted query is refused when checked again: {error}\ninput: {sql:?}\nadmitted: {}", query.sql)
        });
        assert_eq!(again.sql, query.sql, "the rewrite is not a fixed point; input: {sql:?}");
        assert_eq!(again.statement, query.statement, "the rewrite parses differently; input: {sql:?}");
        assert!(!again.limit_added && !again.limit_capped, "the rewritten limit is not final; input: {sql:?}");

        let Statement::Query(parsed) = &query.statement else {
            panic!("admitted a statement that is not a query: {}; input: {sql:?}", query.sql)
        };
        assert!(parsed.locks.is_empty(), "admitted a locking clause: {}", query.sql);
        if let SetExpr::Select(select) = parsed.body.as_ref() {
            assert!(select.into.is_none(), "admitted SELECT ... INTO: {}", query.sql);
        }
        assert!(parsed.fetch.is_none(), "FETCH was not rewritten to LIMIT: {}", query.sql);
        let Some(LimitClause::LimitOffset { limit: Some(Expr::Value(limit)), .. }) = &parsed.limit_clause else {
            panic!("the admitted query has no literal LIMIT: {}; input: {sql:?}", query.sql)
        };
        let Value::Number(rows, _) = &limit.value else { panic!("the LIMIT is not a number: {}", query.sql) };
        assert_eq!(rows.parse::<u64>().ok(), Some(query.limit), "the LIMIT is not the reported one: {}", query.sql);
        assert!(query.limit <= max_limit, "limit {} above the maximum {max_limit}: {}", query.limit, query.sql);

        let catalog = self.policy.catalog();
        for (table, column) in &query.columns {
            assert!(!catalog.is_personal(table, column), "admitted personal column {table}.{column}: {}", query.sql);
        }
        self.check_plan(&query.sql, sql);
    }

    /// A second opinion on personal data from DataFusion's name resolution, and the size of the
    /// constants its optimizer folds: a query the executor cannot plan is refused there, so only
    /// plans that succeed are looked at.
    fn check_plan(&self, admitted: &str, input: &str) {
        let Ok(plan) = self.plan(admitted) else { return };
        let Ok(plan) = self.session.state().optimize(&plan) else { return };
        let catalog = self.policy.catalog();
        let mut visit = |node: &LogicalPlan| {
            if let LogicalPlan::TableScan(scan) = node {
                let table = scan.table_name.table();
                for field in scan.projected_schema.fields() {
                    assert!(
                        !catalog.is_personal(table, field.name()),
                        "DataFusion reads personal column {table}.{} for the admitted query: {admitted}\ninput: {input:?}",
                        field.name()
                    );
                }
            }
            node.apply_expressions(|expr| {
                expr.apply(|inner| {
                    if let datafusion::logical_expr::Expr::Literal(value, _) = inner {
                        assert!(
                            value.size() <= MAX_FOLDED_CONSTANT_BYTES,
                            "the admitted query folds into a constant of {} bytes: {admitted}\ninput: {input:?}",
                            value.size()
                        );
                    }
                    Ok(TreeNodeRecursion::Continue)
                })
            })
        };
        plan.apply_with_subqueries(&mut visit).expect("the visit does not fail");
    }
}

/// The column types of the data contract (shared/demo-warehouse.md), from the column names.
pub fn column_type(column: &str) -> DataType {
    match column {
        c if c.ends_with("_id") => DataType::Int64,
        c if c.ends_with("_at") || c == "event_time" => DataType::Timestamp(TimeUnit::Microsecond, None),
        "mrr_usd" | "amount_usd" => DataType::Decimal128(12, 2),
        "seats" | "first_response_minutes" | "csat_score" => DataType::Int32,
        "converted" => DataType::Boolean,
        _ => DataType::Utf8,
    }
}

/// Stack of the executor's query threads (`quarry_exec::QUERY_STACK_BYTES`), where admitted
/// queries are planned: the policy admits expressions deeper than a default 2 MiB thread plans.
pub const PLANNING_STACK_BYTES: usize = 16 * 1024 * 1024;

/// Runs `work` on a thread with the executor's planning stack, passing on its panic.
pub fn on_planning_stack<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(PLANNING_STACK_BYTES)
        .spawn(work)
        .expect("a planning thread starts")
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// Planning over in-memory tables does no I/O, so its future completes without a runtime.
pub fn run_to_completion<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut context = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return output;
        }
        std::thread::yield_now();
    }
}
