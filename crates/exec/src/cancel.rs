//! Stopping a query's work when it is abandoned (timed out, or its caller went away).
//!
//! Aborting the query's task takes effect at the task's next yield, and every operator yields
//! after each batch it passes on (see `cooperative` in the executor). A join, though, can loop
//! inside one poll without passing anything on: with a join filter that rejects almost every
//! pair, a hash or nested-loop join works through billions of candidate pairs per input batch.
//! The join filter is evaluated for every chunk of pairs, so it is wrapped in a check of the
//! query's cancellation flag, which ends that loop with an error.

use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use datafusion::arrow::datatypes::{DataType, FieldRef};
use datafusion::common::tree_node::Transformed;
use datafusion::common::{Result, exec_err};
use datafusion::logical_expr::expr::ScalarFunction;
use datafusion::logical_expr::{
    ColumnarValue, Expr, LogicalPlan, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility,
};

/// Set once a query is abandoned; its join filters fail from then on.
#[derive(Debug, Clone, Default)]
pub(crate) struct Cancellation(Arc<AtomicBool>);

impl Cancellation {
    pub(crate) fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// `plan` with every join filter checking this flag before each evaluation.
    pub(crate) fn watch_joins(&self, plan: LogicalPlan) -> Result<LogicalPlan> {
        plan.transform_up_with_subqueries(|node| match node {
            LogicalPlan::Join(mut join) => match join.filter.take() {
                Some(filter) => {
                    let check = Arc::new(ScalarUDF::new_from_impl(CancelCheck::new(self.clone())));
                    join.filter = Some(Expr::ScalarFunction(ScalarFunction::new_udf(check, vec![filter])));
                    Ok(Transformed::yes(LogicalPlan::Join(join)))
                }
                None => Ok(Transformed::no(LogicalPlan::Join(join))),
            },
            other => Ok(Transformed::no(other)),
        })
        .map(|transformed| transformed.data)
    }
}

/// `quarry_unless_cancelled(predicate)`: the predicate, or an error once the query is abandoned.
#[derive(Debug)]
struct CancelCheck {
    signature: Signature,
    cancellation: Cancellation,
}

impl CancelCheck {
    fn new(cancellation: Cancellation) -> Self {
        // Volatile: never folded into a constant or moved out of the join by the planner.
        Self { signature: Signature::any(1, Volatility::Volatile), cancellation }
    }
}

impl PartialEq for CancelCheck {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.cancellation.0, &other.cancellation.0)
    }
}

impl Eq for CancelCheck {}

impl Hash for CancelCheck {
    fn hash<H: Hasher>(&self, state: &mut H) {
        Arc::as_ptr(&self.cancellation.0).hash(state);
    }
}

impl ScalarUDFImpl for CancelCheck {
    fn name(&self) -> &str {
        "quarry_unless_cancelled"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        Ok(arg_types.first().cloned().unwrap_or(DataType::Boolean))
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        match args.arg_fields.first() {
            Some(field) => Ok(Arc::clone(field)),
            None => exec_err!("{} takes one argument", self.name()),
        }
    }

    fn invoke_with_args(&self, mut args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        if self.cancellation.is_cancelled() {
            return exec_err!("the query was stopped");
        }
        match args.args.pop() {
            Some(value) => Ok(value),
            None => exec_err!("{} takes one argument", self.name()),
        }
    }
}
