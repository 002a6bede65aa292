//! Optimized logical plans kept by SQL text, so a query run again (a repeated question, a
//! dashboard refreshing) skips parsing, name resolution and the logical optimizer: about half
//! of a small query's time.
//!
//! The plan kept is the one the sandbox admitted, before the per-query memory guards are put
//! in; each run still plans its own physical plan, which holds run-time state (dynamic
//! filters, a join's build side) that must not be shared.

use std::sync::Arc;

use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::logical_expr::{Expr, LogicalPlan, Volatility};
use quick_cache::sync::Cache;

/// Optimized plans by SQL text, for one snapshot (its tables never change).
pub(crate) struct PlanCache {
    plans: Option<Cache<String, Arc<LogicalPlan>>>,
}

impl PlanCache {
    /// A cache of at most `entries` plans; 0 keeps none.
    pub fn new(entries: usize) -> Self {
        Self { plans: (entries > 0).then(|| Cache::new(entries)) }
    }

    /// The plan kept for `sql`.
    pub fn get(&self, sql: &str) -> Option<Arc<LogicalPlan>> {
        self.plans.as_ref()?.get(sql)
    }

    /// Keeps `plan`, the optimized and admitted plan of `unoptimized`, unless its result
    /// depends on when it runs: the optimizer folds `now()` and `current_date` into
    /// constants, so such a plan kept past midnight would answer for the wrong day.
    pub fn insert(&self, sql: &str, unoptimized: &LogicalPlan, plan: Arc<LogicalPlan>) {
        if let Some(plans) = &self.plans
            && !varies_between_runs(unoptimized)
        {
            plans.insert(sql.to_string(), plan);
        }
    }
}

/// Whether a plan calls a function that is not immutable (`now()`, `current_date`, `random()`),
/// in any expression of any node, subqueries included.
fn varies_between_runs(plan: &LogicalPlan) -> bool {
    let mut varies = false;
    let walked = plan.apply_with_subqueries(|node| {
        node.apply_expressions(|expr| {
            expr.apply(|e| {
                let volatility = match e {
                    Expr::ScalarFunction(f) => Some(f.func.signature().volatility),
                    Expr::AggregateFunction(f) => Some(f.func.signature().volatility),
                    Expr::WindowFunction(f) => Some(f.fun.signature().volatility),
                    _ => None,
                };
                if volatility.is_some_and(|v| v != Volatility::Immutable) {
                    varies = true;
                    return Ok(TreeNodeRecursion::Stop);
                }
                Ok(TreeNodeRecursion::Continue)
            })
        })
    });
    // A plan that cannot be walked is not kept.
    varies || walked.is_err()
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::prelude::SessionContext;

    async fn plan(sql: &str) -> LogicalPlan {
        let ctx = SessionContext::new();
        ctx.sql("CREATE TABLE t (a INT, d DATE)").await.unwrap();
        ctx.state().create_logical_plan(sql).await.unwrap()
    }

    #[tokio::test]
    async fn plans_that_read_the_clock_or_draw_random_numbers_are_not_kept() {
        let cache = PlanCache::new(8);
        for sql in [
            "SELECT a FROM t WHERE d >= current_date",
            "SELECT a FROM t WHERE d < CAST(now() AS DATE)",
            "SELECT random() FROM t",
            "SELECT a FROM t WHERE a IN (SELECT a FROM t WHERE d = current_date)",
        ] {
            let unoptimized = plan(sql).await;
            cache.insert(sql, &unoptimized, Arc::new(unoptimized.clone()));
            assert!(cache.get(sql).is_none(), "{sql} was kept");
        }
        let sql = "SELECT a, COUNT(*) FROM t WHERE d >= DATE '2024-01-01' AND upper('x') = 'X' GROUP BY a";
        let unoptimized = plan(sql).await;
        cache.insert(sql, &unoptimized, Arc::new(unoptimized.clone()));
        assert_eq!(cache.get(sql).as_deref(), Some(&unoptimized));
    }

    #[tokio::test]
    async fn a_cache_of_no_entries_keeps_nothing() {
        let cache = PlanCache::new(0);
        let sql = "SELECT a FROM t";
        let unoptimized = plan(sql).await;
        cache.insert(sql, &unoptimized, Arc::new(unoptimized.clone()));
        assert!(cache.get(sql).is_none());
    }
}
