use std::collections::{BTreeMap, BTreeSet};
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
    /// Rows of each table, for upper bounds on join sizes.
    pub table_rows: BTreeMap<String, u64>,
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
        if let Some(reason) = violation {
            return Err(Error::Forbidden { reason });
        }
        self.check_logical_joins(plan)
    }

    /// Cross joins (joins without equality keys) on the logical plan, before the physical
    /// optimizer can answer some of them from statistics: the product of the sides' row
    /// estimates must stay within the limit, unless one side has at most one row.
    fn check_logical_joins(&self, plan: &LogicalPlan) -> Result<()> {
        let mut refused = None;
        plan.apply_with_subqueries(|node| {
            if let LogicalPlan::Join(join) = node
                && join.on.is_empty()
            {
                let left = self.upper_rows(&join.left);
                let right = self.upper_rows(&join.right);
                let allowed = match (left, right) {
                    (Some(l), Some(r)) => l <= 1 || r <= 1 || l.saturating_mul(r) <= self.max_cartesian_rows,
                    (Some(n), None) | (None, Some(n)) => n <= 1,
                    (None, None) => false,
                };
                if !allowed {
                    refused = Some((left, right));
                    return Ok(TreeNodeRecursion::Stop);
                }
            }
            Ok(TreeNodeRecursion::Continue)
        })
        .map_err(|e| Error::Internal(e.to_string()))?;
        match refused {
            Some((left, right)) => Err(cartesian(left, right, self.max_cartesian_rows)),
            None => Ok(()),
        }
    }

    /// An estimate of the rows a logical plan produces: exact for scans, at most one for
    /// global aggregates, bounded by limits; an equality join is estimated by its larger side.
    fn upper_rows(&self, plan: &LogicalPlan) -> Option<u64> {
        match plan {
            LogicalPlan::TableScan(scan) => {
                let rows = self.table_rows.get(scan.table_name.table()).copied()?;
                Some(scan.fetch.map_or(rows, |f| rows.min(f as u64)))
            }
            LogicalPlan::Aggregate(aggregate) if aggregate.group_expr.is_empty() => Some(1),
            LogicalPlan::EmptyRelation(_) => Some(1),
            LogicalPlan::Values(values) => Some(values.values.len() as u64),
            LogicalPlan::Limit(limit) => {
                let child = self.upper_rows(&limit.input);
                match limit.get_fetch_type() {
                    Ok(datafusion::logical_expr::FetchType::Literal(Some(n))) => {
                        Some(child.map_or(n as u64, |c| c.min(n as u64)))
                    }
                    _ => child,
                }
            }
            LogicalPlan::Join(join) => {
                let (l, r) = (self.upper_rows(&join.left)?, self.upper_rows(&join.right)?);
                Some(if join.on.is_empty() { l.saturating_mul(r) } else { l.max(r) })
            }
            LogicalPlan::Union(union) => union.inputs.iter().map(|i| self.upper_rows(i)).sum(),
            other => other.inputs().iter().map(|i| self.upper_rows(i)).try_fold(0u64, |acc, n| n.map(|n| acc.max(n))),
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
                    return Err(cartesian(left, right, self.max_cartesian_rows));
                }
            }
        }
        for child in plan.children() {
            self.check_physical(child)?;
        }
        Ok(())
    }
}

fn cartesian(left: Option<u64>, right: Option<u64>, limit: u64) -> Error {
    let show = |n: Option<u64>| n.map_or_else(|| "an unknown number of".to_string(), |n| n.to_string());
    Error::CartesianJoin { left_rows: show(left), right_rows: show(right), limit }
}

fn estimated_rows(plan: &Arc<dyn ExecutionPlan>) -> Option<u64> {
    let statistics = StatisticsContext::new().compute(plan.as_ref(), &StatisticsArgs::new()).ok()?;
    statistics.num_rows.get_value().map(|n| *n as u64)
}
