use std::collections::BTreeSet;
use std::sync::Arc;

use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::logical_expr::LogicalPlan;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::statistics::{StatisticsArgs, StatisticsContext};

use crate::error::{Error, Result};

/// What the sandbox admits, checked on plans after the policy has checked the SQL.
#[derive(Debug, Clone)]
pub(crate) struct SandboxRules {
    pub allowed_tables: BTreeSet<String>,
    /// `(table, column)` pairs that no scan may read.
    pub personal: BTreeSet<(String, String)>,
    pub max_cartesian_rows: u64,
}

impl SandboxRules {
    /// Every table scan reads an allowed table and no personal column, in the select list
    /// or in a pushed-down filter; subqueries included.
    pub fn check_logical(&self, plan: &LogicalPlan) -> Result<()> {
        let mut violation = None;
        plan.apply_with_subqueries(|node| {
            if let LogicalPlan::TableScan(scan) = node {
                let table = scan.table_name.table().to_string();
                if scan.table_name.schema().is_some_and(|s| s != "public") || !self.allowed_tables.contains(&table) {
                    violation = Some(format!("table '{}' is not part of the snapshot", scan.table_name));
                    return Ok(TreeNodeRecursion::Stop);
                }
                let filter_columns = scan.filters.iter().flat_map(|f| f.column_refs()).map(|c| c.name.clone());
                let read: BTreeSet<String> =
                    scan.projected_schema.fields().iter().map(|f| f.name().clone()).chain(filter_columns).collect();
                if let Some(column) = read.iter().find(|c| self.personal.contains(&(table.clone(), (*c).clone()))) {
                    violation = Some(format!("column {table}.{column} is personal data and cannot be read"));
                    return Ok(TreeNodeRecursion::Stop);
                }
            }
            Ok(TreeNodeRecursion::Continue)
        })
        .map_err(|e| Error::Internal(e.to_string()))?;
        match violation {
            Some(reason) => Err(Error::Forbidden { reason }),
            None => Ok(()),
        }
    }

    /// No cross join or nested-loop join multiplies more rows than allowed. A side whose
    /// size is unknown counts as too large, except against a side of at most one row (a
    /// scalar subquery such as a total for a share).
    pub fn check_physical(&self, plan: &Arc<dyn ExecutionPlan>) -> Result<()> {
        if matches!(plan.name(), "CrossJoinExec" | "NestedLoopJoinExec") {
            let children = plan.children();
            if children.len() == 2 {
                let left = estimated_rows(children[0]);
                let right = estimated_rows(children[1]);
                let allowed = match (left, right) {
                    (Some(l), Some(r)) => l.saturating_mul(r) <= self.max_cartesian_rows,
                    (Some(n), None) | (None, Some(n)) => n <= 1,
                    (None, None) => false,
                };
                if !allowed {
                    let show = |n: Option<u64>| n.map_or_else(|| "an unknown number of".to_string(), |n| n.to_string());
                    return Err(Error::CartesianJoin {
                        left_rows: show(left),
                        right_rows: show(right),
                        limit: self.max_cartesian_rows,
                    });
                }
            }
        }
        for child in plan.children() {
            self.check_physical(child)?;
        }
        Ok(())
    }
}

fn estimated_rows(plan: &Arc<dyn ExecutionPlan>) -> Option<u64> {
    let statistics = StatisticsContext::new().compute(plan.as_ref(), &StatisticsArgs::new()).ok()?;
    statistics.num_rows.get_value().map(|n| *n as u64)
}
