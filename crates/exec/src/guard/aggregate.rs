//! Checked aggregates: `string_agg` and `array_agg` gather every input value into one result, so
//! one group (or one row of a running window) can hold a whole column.

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef};
use datafusion::arrow::datatypes::{DataType, FieldRef};
use datafusion::common::{Result, ScalarValue, internal_err};
use datafusion::execution::memory_pool::{MemoryConsumer, MemoryPool, MemoryReservation};
use datafusion::logical_expr::expr::{AggregateFunction, AggregateFunctionParams, WindowFunctionParams};
use datafusion::logical_expr::function::{AccumulatorArgs, AggregateFunctionSimplification, StateFieldsArgs};
use datafusion::logical_expr::simplify::SimplifyContext;
use datafusion::logical_expr::utils::AggregateOrderSensitivity;
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, Documentation, Expr, GroupsAccumulator, Operator, ReversedUDAF,
    SetMonotonicity, Signature,
};
use datafusion::physical_expr::expressions::Literal;

use super::sizes::{row_sizes, scalar_size};
use super::{ValueGuard, ValueTooLarge};

/// A DataFusion aggregate whose accumulators stop at the per-value limit and reserve what they
/// emit in the query's memory pool.
#[derive(Debug, Clone)]
pub(crate) struct CheckedAggregate {
    inner: Arc<AggregateUDF>,
    guard: ValueGuard,
}

impl PartialEq for CheckedAggregate {
    fn eq(&self, other: &Self) -> bool {
        self.inner == other.inner && self.guard.max_value_bytes == other.guard.max_value_bytes
    }
}

impl Eq for CheckedAggregate {}

impl Hash for CheckedAggregate {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.inner.hash(state);
        self.guard.max_value_bytes.hash(state);
    }
}

impl CheckedAggregate {
    /// Whether DataFusion's aggregate `name` gathers values into one (and so is checked).
    pub(crate) fn guards(name: &str) -> bool {
        matches!(name, "string_agg" | "array_agg")
    }

    pub(crate) fn new(inner: Arc<AggregateUDF>, guard: ValueGuard) -> Self {
        Self { inner, guard }
    }

    pub(crate) fn rebind(&self, guard: ValueGuard) -> Self {
        Self { inner: Arc::clone(&self.inner), guard }
    }

    fn wrap(&self, inner: Arc<AggregateUDF>) -> Arc<AggregateUDF> {
        Arc::new(AggregateUDF::new_from_impl(Self { inner, guard: self.guard.clone() }))
    }

    fn checked(&self, accumulator: Box<dyn Accumulator>, args: &AccumulatorArgs) -> Box<dyn Accumulator> {
        // string_agg adds its delimiter (a literal) after every value but the last.
        let separator = args
            .exprs
            .get(1)
            .filter(|_| self.inner.name() == "string_agg")
            .and_then(|expr| expr.downcast_ref::<Literal>())
            .map_or(0, |literal| scalar_size(literal.value()));
        Box::new(CheckedAccumulator {
            inner: accumulator,
            function: self.inner.name().to_string(),
            limit: self.guard.max_value_bytes,
            separator,
            distinct: args.is_distinct,
            gathered: 0,
            pool: self.guard.pool.clone(),
            reservation: None,
        })
    }
}

impl AggregateUDFImpl for CheckedAggregate {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn aliases(&self) -> &[String] {
        self.inner.aliases()
    }

    fn schema_name(&self, params: &AggregateFunctionParams) -> Result<String> {
        self.inner.inner().schema_name(params)
    }

    fn human_display(&self, params: &AggregateFunctionParams) -> Result<String> {
        self.inner.inner().human_display(params)
    }

    fn window_function_schema_name(&self, params: &WindowFunctionParams) -> Result<String> {
        self.inner.inner().window_function_schema_name(params)
    }

    fn display_name(&self, params: &AggregateFunctionParams) -> Result<String> {
        self.inner.inner().display_name(params)
    }

    fn window_function_display_name(&self, params: &WindowFunctionParams) -> Result<String> {
        self.inner.inner().window_function_display_name(params)
    }

    fn signature(&self) -> &Signature {
        self.inner.signature()
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        self.inner.inner().return_type(arg_types)
    }

    fn return_field(&self, arg_fields: &[FieldRef]) -> Result<FieldRef> {
        self.inner.inner().return_field(arg_fields)
    }

    fn is_nullable(&self) -> bool {
        self.inner.inner().is_nullable()
    }

    fn accumulator(&self, acc_args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        let accumulator = self.inner.accumulator(acc_args.clone())?;
        Ok(self.checked(accumulator, &acc_args))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        self.inner.inner().state_fields(args)
    }

    /// Grouped aggregation goes through the row accumulators (DataFusion adapts them), which
    /// the guard can check; the vectorized group accumulators hold every group's value where
    /// it cannot.
    fn groups_accumulator_supported(&self, _args: AccumulatorArgs) -> bool {
        false
    }

    fn create_groups_accumulator(&self, _args: AccumulatorArgs) -> Result<Box<dyn GroupsAccumulator>> {
        internal_err!("the checked {} has no group accumulator", self.name())
    }

    fn create_sliding_accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        let accumulator = self.inner.create_sliding_accumulator(args.clone())?;
        Ok(self.checked(accumulator, &args))
    }

    fn with_beneficial_ordering(
        self: Arc<Self>,
        beneficial_ordering: bool,
    ) -> Result<Option<Arc<dyn AggregateUDFImpl>>> {
        let reordered = Arc::clone(self.inner.inner()).with_beneficial_ordering(beneficial_ordering)?;
        Ok(reordered.map(|inner| {
            Arc::new(Self { inner: Arc::new(AggregateUDF::new_from_shared_impl(inner)), guard: self.guard.clone() })
                as Arc<dyn AggregateUDFImpl>
        }))
    }

    fn order_sensitivity(&self) -> AggregateOrderSensitivity {
        self.inner.inner().order_sensitivity()
    }

    fn simplify(&self) -> Option<AggregateFunctionSimplification> {
        let simplify = self.inner.inner().simplify()?;
        let guard = self.guard.clone();
        Some(Box::new(move |function: AggregateFunction, info: &SimplifyContext| {
            guard.guard_expr(simplify(function, info)?).map(|expr| expr.data)
        }))
    }

    fn simplify_expr_op_literal(
        &self,
        agg_function: &AggregateFunction,
        arg: &Expr,
        op: Operator,
        lit: &Expr,
        arg_is_left: bool,
    ) -> Result<Option<Expr>> {
        self.inner.inner().simplify_expr_op_literal(agg_function, arg, op, lit, arg_is_left)
    }

    /// DataFusion's reversed string_agg is its own unchecked function: reverse into a checked one.
    fn reverse_expr(&self) -> ReversedUDAF {
        match self.inner.inner().reverse_expr() {
            ReversedUDAF::Reversed(reversed) => ReversedUDAF::Reversed(self.wrap(reversed)),
            other => other,
        }
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        self.inner.inner().coerce_types(arg_types)
    }

    fn is_descending(&self) -> Option<bool> {
        self.inner.inner().is_descending()
    }

    fn value_from_stats(&self, statistics_args: &datafusion::logical_expr::StatisticsArgs) -> Option<ScalarValue> {
        self.inner.inner().value_from_stats(statistics_args)
    }

    fn default_value(&self, data_type: &DataType) -> Result<ScalarValue> {
        self.inner.inner().default_value(data_type)
    }

    fn supports_null_handling_clause(&self) -> bool {
        self.inner.inner().supports_null_handling_clause()
    }

    fn supports_within_group_clause(&self) -> bool {
        self.inner.inner().supports_within_group_clause()
    }

    fn set_monotonicity(&self, data_type: &DataType) -> SetMonotonicity {
        self.inner.inner().set_monotonicity(data_type)
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.inner.documentation()
    }
}

/// Counts what its accumulator gathers and refuses to go past the limit; reserves what it emits,
/// which for a running window is every prefix of the column, so that the memory limit stops
/// the quadratic growth.
#[derive(Debug)]
struct CheckedAccumulator {
    inner: Box<dyn Accumulator>,
    function: String,
    limit: usize,
    separator: usize,
    /// A DISTINCT aggregate keeps each value once; what it gathers is only known when it
    /// emits, and its state is held to the memory limit by the aggregation.
    distinct: bool,
    /// Bytes the result will hold: values and separators gathered so far.
    gathered: usize,
    pool: Option<Arc<dyn MemoryPool>>,
    reservation: Option<MemoryReservation>,
}

impl CheckedAccumulator {
    fn gather(&mut self, values: &ArrayRef) -> Result<()> {
        if self.distinct {
            return Ok(());
        }
        let bytes: usize = row_sizes(values.as_ref()).iter().sum();
        let separators = (values.len() - values.null_count()).saturating_mul(self.separator);
        self.gathered = self.gathered.saturating_add(bytes).saturating_add(separators);
        if self.gathered > self.limit {
            return Err(ValueTooLarge::error(&self.function, self.gathered, self.limit));
        }
        Ok(())
    }
}

impl Accumulator for CheckedAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        if let Some(first) = values.first() {
            self.gather(first)?;
        }
        self.inner.update_batch(values)
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        let value = self.inner.evaluate()?;
        let bytes = scalar_size(&value);
        if bytes > self.limit {
            return Err(ValueTooLarge::error(&self.function, bytes, self.limit));
        }
        if let Some(pool) = &self.pool {
            let reservation = self
                .reservation
                .get_or_insert_with(|| MemoryConsumer::new(format!("value guard: {}", self.function)).register(pool));
            // The value, and its copy in the output batch.
            reservation.try_grow(bytes.saturating_mul(2))?;
        }
        Ok(value)
    }

    fn size(&self) -> usize {
        self.inner.size()
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        self.inner.state()
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        if let Some(first) = states.first() {
            self.gather(first)?;
        }
        self.inner.merge_batch(states)
    }

    fn retract_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        self.inner.retract_batch(values)?;
        if let Some(first) = values.first().filter(|_| !self.distinct) {
            let bytes: usize = row_sizes(first.as_ref()).iter().sum();
            let separators = (first.len() - first.null_count()).saturating_mul(self.separator);
            self.gathered = self.gathered.saturating_sub(bytes.saturating_add(separators));
        }
        Ok(())
    }

    fn supports_retract_batch(&self) -> bool {
        self.inner.supports_retract_batch()
    }
}
