//! Value-size guards: DataFusion's memory pool accounts for operators (aggregates, sorts, joins)
//! but not for the values that scalar and aggregate functions build. One `repeat`, a chain of
//! `replace`s, `||` doubling a string through CTEs or a running `string_agg` window built values
//! of gigabytes outside the pool and took the process down.
//!
//! Every function that can grow a value is replaced, in the session and in every plan, by a
//! checked version that wraps DataFusion's own implementation:
//! - before calling it, the size of each result value is bounded from the arguments (exactly
//!   where it can be: `repeat`, pads, `replace`, concatenations; by counting regex matches for
//!   `regexp_replace`), and a value over [`ExecutorConfig::max_value_bytes`] fails the query
//!   with [`ValueTooLarge`] before anything is built;
//! - the bytes one call builds for a batch are reserved in the query's memory pool while they
//!   are built, so a batch of many large values meets the memory limit like an operator does;
//! - after the call, the values actually built are measured again (the check for functions
//!   whose size cannot be bounded in advance).
//!
//! The `||` operator is rewritten into a checked function after type coercion. String and
//! array aggregates check what they gather and reserve what they emit, which bounds a running
//! window's quadratic output.
//!
//! [`ExecutorConfig::max_value_bytes`]: crate::ExecutorConfig::max_value_bytes

mod aggregate;
mod scalar;
pub(crate) mod sizes;

use std::sync::Arc;

use datafusion::common::Result;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::error::DataFusionError;
use datafusion::execution::memory_pool::MemoryPool;
use datafusion::logical_expr::expr::{AggregateFunction, ScalarFunction, WindowFunctionDefinition};
use datafusion::logical_expr::{AggregateUDF, BinaryExpr, Expr, LogicalPlan, Operator, ScalarUDF};
use datafusion::optimizer::AnalyzerRule;
use datafusion::prelude::SessionContext;

use self::aggregate::CheckedAggregate;
use self::scalar::{CheckedScalar, Growth, StringConcatOp};

/// A value a function would build is larger than the per-value limit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{function} would build a value larger than the {limit}-byte limit on one value (about {bytes} bytes)")]
pub(crate) struct ValueTooLarge {
    /// The function (or `||`) that would build the value.
    pub(crate) function: String,
    /// The size of the value, or a bound on it, in bytes.
    pub(crate) bytes: u64,
    /// The configured limit.
    pub(crate) limit: u64,
}

impl ValueTooLarge {
    pub(crate) fn error(function: &str, bytes: usize, limit: usize) -> DataFusionError {
        DataFusionError::External(Box::new(ValueTooLarge {
            function: function.to_string(),
            bytes: bytes as u64,
            limit: limit as u64,
        }))
    }

    /// The first `ValueTooLarge` in `error`'s chain of causes, wherever DataFusion wrapped it
    /// (a spawned task's shared error, an Arrow error, a context).
    pub(crate) fn find(error: &DataFusionError) -> Option<&ValueTooLarge> {
        let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
        while let Some(cause) = current {
            if let Some(found) = cause.downcast_ref::<ValueTooLarge>() {
                return Some(found);
            }
            current = cause.source();
        }
        None
    }
}

/// The limits checked functions enforce; with a pool once bound to a query.
#[derive(Debug, Clone)]
pub(crate) struct ValueGuard {
    max_value_bytes: usize,
    /// The memory pool of the query the plan runs in: `None` in the session's shared functions
    /// (constant folding while planning), which then check sizes only.
    pool: Option<Arc<dyn MemoryPool>>,
}

impl ValueGuard {
    pub(crate) fn new(max_value_bytes: usize) -> Self {
        Self { max_value_bytes, pool: None }
    }

    /// The same limits, reserving built values in `pool`.
    pub(crate) fn with_pool(&self, pool: Arc<dyn MemoryPool>) -> Self {
        Self { max_value_bytes: self.max_value_bytes, pool: Some(pool) }
    }

    /// Registers the checked functions in place of DataFusion's, and the analyzer rule that
    /// checks `||` and the functions planners insert directly (`[a, b]` is `make_array`, array
    /// `||` is `array_concat`).
    pub(crate) fn install(&self, ctx: &SessionContext) {
        let state = ctx.state();
        for function in state.scalar_functions().values() {
            if let Expr::ScalarFunction(checked) =
                self.guard_scalar(ScalarFunction::new_udf(Arc::clone(function), vec![]))
                && !Arc::ptr_eq(&checked.func, function)
            {
                ctx.register_udf(checked.func.as_ref().clone());
            }
        }
        for function in state.aggregate_functions().values() {
            if let Some(checked) = self.guard_aggregate(function) {
                ctx.register_udaf(checked.as_ref().clone());
            }
        }
        // Registered by name as well, for sessions that receive plans already rewritten
        // (a cluster's scheduler and executors look functions up by name).
        ctx.register_udf(ScalarUDF::new_from_impl(StringConcatOp::new(self.clone())));
        ctx.add_analyzer_rule(Arc::new(GuardValuesRule { guard: self.clone() }));
    }

    /// `plan` with every value-growing function checked by this guard: DataFusion's own
    /// functions wrapped, already checked ones rebound to this guard's pool.
    pub(crate) fn guard_plan(&self, plan: LogicalPlan) -> Result<LogicalPlan> {
        plan.transform_up_with_subqueries(|node| node.map_expressions(|expr| self.guard_expr(expr)))
            .map(|transformed| transformed.data)
    }

    /// `expr` with every value-growing function in it checked by this guard.
    pub(crate) fn guard_expr(&self, expr: Expr) -> Result<Transformed<Expr>> {
        expr.transform_up(|expr| {
            Ok(match expr {
                Expr::ScalarFunction(function) => {
                    let original = Arc::clone(&function.func);
                    let guarded = self.guard_scalar(function);
                    match &guarded {
                        Expr::ScalarFunction(f) if Arc::ptr_eq(&f.func, &original) => Transformed::no(guarded),
                        _ => Transformed::yes(guarded),
                    }
                }
                Expr::BinaryExpr(BinaryExpr { left, op: Operator::StringConcat, right }) => {
                    let func = Arc::new(ScalarUDF::new_from_impl(StringConcatOp::new(self.clone())));
                    Transformed::yes(Expr::ScalarFunction(ScalarFunction { func, args: vec![*left, *right] }))
                }
                Expr::AggregateFunction(AggregateFunction { func, params }) => match self.guard_aggregate(&func) {
                    Some(func) => Transformed::yes(Expr::AggregateFunction(AggregateFunction { func, params })),
                    None => Transformed::no(Expr::AggregateFunction(AggregateFunction { func, params })),
                },
                Expr::WindowFunction(mut window) => {
                    if let WindowFunctionDefinition::AggregateUDF(func) = &window.fun
                        && let Some(guarded) = self.guard_aggregate(func)
                    {
                        window.fun = WindowFunctionDefinition::AggregateUDF(guarded);
                        Transformed::yes(Expr::WindowFunction(window))
                    } else {
                        Transformed::no(Expr::WindowFunction(window))
                    }
                }
                other => Transformed::no(other),
            })
        })
    }

    /// The function checked by this guard, or unchanged if it cannot grow a value.
    fn guard_scalar(&self, function: ScalarFunction) -> Expr {
        let ScalarFunction { func, args } = function;
        let inner = func.inner();
        let rebuilt: Option<ScalarUDF> = if let Some(checked) = inner.as_ref().downcast_ref::<CheckedScalar>() {
            Some(ScalarUDF::new_from_impl(checked.rebind(self.clone())))
        } else if inner.as_ref().downcast_ref::<StringConcatOp>().is_some() {
            Some(ScalarUDF::new_from_impl(StringConcatOp::new(self.clone())))
        } else {
            Growth::of(func.name())
                .map(|growth| ScalarUDF::new_from_impl(CheckedScalar::new(Arc::clone(&func), growth, self.clone())))
        };
        let func = rebuilt.map_or(func, Arc::new);
        Expr::ScalarFunction(ScalarFunction { func, args })
    }

    /// The aggregate checked by this guard, or `None` if it cannot grow a value.
    fn guard_aggregate(&self, func: &Arc<AggregateUDF>) -> Option<Arc<AggregateUDF>> {
        let inner = func.inner();
        if let Some(checked) = (inner.as_ref() as &dyn std::any::Any).downcast_ref::<CheckedAggregate>() {
            return Some(Arc::new(AggregateUDF::new_from_impl(checked.rebind(self.clone()))));
        }
        CheckedAggregate::guards(func.name())
            .then(|| Arc::new(AggregateUDF::new_from_impl(CheckedAggregate::new(Arc::clone(func), self.clone()))))
    }
}

/// Runs after type coercion (it is added last), so `||` has its final argument types when it
/// becomes a checked function, and before the optimizer folds constants with it.
#[derive(Debug)]
struct GuardValuesRule {
    guard: ValueGuard,
}

impl AnalyzerRule for GuardValuesRule {
    fn analyze(&self, plan: LogicalPlan, _config: &ConfigOptions) -> Result<LogicalPlan> {
        self.guard.guard_plan(plan)
    }

    fn name(&self) -> &str {
        "quarry_guard_values"
    }
}
