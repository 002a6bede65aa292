//! Checked scalar functions: DataFusion's implementation, called only once the values it would
//! build are known to fit.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, RecordBatch, RecordBatchOptions};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Int64Type, Schema};
use datafusion::common::config::ConfigOptions;
use datafusion::common::{DataFusionError, ExprSchema, Result, ScalarValue};
use datafusion::execution::memory_pool::{MemoryConsumer, MemoryLimit, MemoryReservation};
use datafusion::logical_expr::interval_arithmetic::Interval;
use datafusion::logical_expr::preimage::PreimageResult;
use datafusion::logical_expr::simplify::{ExprSimplifyResult, SimplifyContext};
use datafusion::logical_expr::sort_properties::{ExprProperties, SortProperties};
use datafusion::logical_expr::type_coercion::binary::BinaryTypeCoercer;
use datafusion::logical_expr::{
    ColumnarValue, Documentation, Expr, ExpressionPlacement, Operator, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF,
    ScalarUDFImpl, Signature, StructFieldMapping, Volatility,
};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_expr::expressions::{BinaryExpr, Column, Literal};

use super::sizes::{at, list_lengths, total, value_sizes};
use super::{ValueGuard, ValueTooLarge};

/// One call of a checked function may build at most this fraction of the query's memory limit
/// for one batch (see [`ValueGuard::admit`]).
pub(crate) const BATCH_SHARE_OF_LIMIT: usize = 8;

/// How the size of a function's result follows from its arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Growth {
    /// At most the sum of the arguments, plus one element each (`concat`, `make_array`,
    /// `array_concat`, `flatten`, struct and map constructors).
    Sum,
    /// `repeat(value, n)`, `array_repeat(value, n)`: `n` copies.
    Repeat,
    /// `lpad`/`rpad(s, n[, fill])`: `n` characters of up to four bytes.
    Pad,
    /// `array_resize(a, n[, fill])`: `a` and up to `n` fill elements.
    Resize,
    /// `replace(s, from, to)`: exact, from the number of occurrences.
    Replace,
    /// `regexp_replace(s, pattern, replacement[, flags])`: from the number of matches.
    RegexpReplace,
    /// `range`/`generate_series(start, stop[, step])` as a scalar function.
    Series { inclusive: bool },
    /// `concat_ws(sep, ...)`: the values and a separator between each two.
    ConcatWs,
    /// `array_to_string(list, sep[, null])`: every element printed, separators between.
    ArrayToString,
    /// `array_replace*(list, from, to[, n])`: each element may become `to`.
    ReplaceElements,
    /// The first argument's size times this factor (`encode` to hex doubles it).
    Scaled(usize),
    /// `translate(s, from, to)`: one character for each, of up to four bytes unless all is ASCII.
    Translate,
    /// `upper`, `lower`, `initcap`: Unicode case mapping turns one character into up to three
    /// (`upper('ΐ')` is 'Ϊ́', six bytes for two), so a non-ASCII value may triple.
    Recased,
    /// No bound in advance; the built values are checked (`to_hex`, dates in `range`).
    Measured,
}

impl Growth {
    /// The growth of DataFusion's function `name` (its canonical name), if it can grow a value.
    pub(crate) fn of(name: &str) -> Option<Growth> {
        Some(match name {
            "concat" | "make_array" | "array_concat" | "array_append" | "array_prepend" | "flatten" | "array_union"
            | "overlay" | "struct" | "named_struct" | "map" | "arrays_zip" => Growth::Sum,
            "repeat" | "array_repeat" => Growth::Repeat,
            "lpad" | "rpad" => Growth::Pad,
            "array_resize" => Growth::Resize,
            "replace" => Growth::Replace,
            "regexp_replace" => Growth::RegexpReplace,
            "range" => Growth::Series { inclusive: false },
            "generate_series" => Growth::Series { inclusive: true },
            "concat_ws" => Growth::ConcatWs,
            "array_to_string" => Growth::ArrayToString,
            "array_replace" | "array_replace_n" | "array_replace_all" => Growth::ReplaceElements,
            "encode" | "string_to_array" => Growth::Scaled(2),
            "translate" => Growth::Translate,
            "upper" | "lower" | "initcap" => Growth::Recased,
            "to_hex" => Growth::Measured,
            _ => return None,
        })
    }
}

/// A DataFusion scalar function that fails with [`ValueTooLarge`] instead of building a value
/// over the limit, and reserves what it builds in the query's memory pool.
#[derive(Debug, Clone)]
pub(crate) struct CheckedScalar {
    inner: Arc<ScalarUDF>,
    growth: Growth,
    guard: ValueGuard,
}

impl PartialEq for CheckedScalar {
    fn eq(&self, other: &Self) -> bool {
        self.inner == other.inner && self.guard.max_value_bytes == other.guard.max_value_bytes
    }
}

impl Eq for CheckedScalar {}

impl Hash for CheckedScalar {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.inner.hash(state);
        self.guard.max_value_bytes.hash(state);
    }
}

impl CheckedScalar {
    pub(crate) fn new(inner: Arc<ScalarUDF>, growth: Growth, guard: ValueGuard) -> Self {
        Self { inner, growth, guard }
    }

    /// The same function under another guard (a query's pool).
    pub(crate) fn rebind(&self, guard: ValueGuard) -> Self {
        Self { inner: Arc::clone(&self.inner), growth: self.growth, guard }
    }

    /// An upper bound on the size of each result value, one per row (one for all-scalar calls).
    fn bounds(&self, args: &[ColumnarValue], rows: usize) -> Result<Vec<usize>> {
        let sizes: Vec<Vec<usize>> = args.iter().map(value_sizes).collect();
        let size = |arg: usize, row: usize| sizes.get(arg).map_or(0, |s| at(s, row));
        let limit = self.guard.max_value_bytes;
        let bounds = match self.growth {
            Growth::Sum => (0..rows).map(|row| (0..args.len()).map(|arg| size(arg, row) + 1).sum()).collect(),
            Growth::Repeat => {
                let counts = integers(args.get(1))?;
                // Array elements cost a slot even when empty or null.
                let slot = usize::from(!args.first().is_some_and(|value| value.data_type().is_string()));
                (0..rows).map(|row| (size(0, row) + slot).saturating_mul(at_i64(&counts, row))).collect()
            }
            Growth::Pad => {
                let counts = integers(args.get(1))?;
                let width = if args.iter().all(is_ascii) { 1 } else { 4 };
                (0..rows).map(|row| at_i64(&counts, row).saturating_mul(width)).collect()
            }
            Growth::Resize => {
                let counts = integers(args.get(1))?;
                (0..rows)
                    .map(|row| size(0, row).saturating_add(at_i64(&counts, row).saturating_mul(size(2, row) + 9)))
                    .collect()
            }
            Growth::Replace => replace_bounds(args, rows)?,
            Growth::RegexpReplace => regexp_replace_bounds(args, rows, limit)?,
            Growth::Series { inclusive } => series_bounds(args, rows, inclusive)?,
            Growth::ConcatWs => (0..rows)
                .map(|row| {
                    let values: usize = (1..args.len()).map(|arg| size(arg, row)).sum();
                    values.saturating_add(size(0, row).saturating_mul(args.len().saturating_sub(2)))
                })
                .collect(),
            Growth::ArrayToString => {
                let leaves = args.first().map(leaf_counts).unwrap_or_default();
                let strings = args.first().is_some_and(|list| has_string_leaves(&list.data_type()));
                let factor = if strings { 1 } else { 3 };
                (0..rows)
                    .map(|row| {
                        let separators = size(1, row).saturating_add(size(2, row));
                        size(0, row).saturating_mul(factor).saturating_add(at(&leaves, row).saturating_mul(separators))
                    })
                    .collect()
            }
            Growth::ReplaceElements => {
                let lengths = args.first().map(list_lengths).unwrap_or_default();
                (0..rows)
                    .map(|row| size(0, row).saturating_add(at(&lengths, row).saturating_mul(size(2, row) + 1)))
                    .collect()
            }
            Growth::Scaled(factor) => {
                (0..rows).map(|row| size(0, row).saturating_mul(factor).saturating_add(4)).collect()
            }
            Growth::Translate => {
                let width = if args.iter().all(is_ascii) { 1 } else { 4 };
                (0..rows).map(|row| size(0, row).saturating_mul(width)).collect()
            }
            Growth::Recased => {
                let factor = if args.iter().all(is_ascii) { 1 } else { 3 };
                (0..rows).map(|row| size(0, row).saturating_mul(factor)).collect()
            }
            Growth::Measured => vec![0; rows],
        };
        Ok(bounds)
    }
}

impl ScalarUDFImpl for CheckedScalar {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn aliases(&self) -> &[String] {
        self.inner.aliases()
    }

    fn display_name(&self, args: &[Expr]) -> Result<String> {
        #[expect(deprecated)]
        self.inner.inner().display_name(args)
    }

    fn schema_name(&self, args: &[Expr]) -> Result<String> {
        self.inner.inner().schema_name(args)
    }

    fn signature(&self) -> &Signature {
        self.inner.signature()
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        self.inner.inner().return_type(arg_types)
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        self.inner.inner().return_field_from_args(args)
    }

    fn is_nullable(&self, args: &[Expr], schema: &dyn ExprSchema) -> bool {
        #[expect(deprecated)]
        self.inner.inner().is_nullable(args, schema)
    }

    fn is_strict(&self) -> bool {
        self.inner.inner().is_strict()
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let all_scalar = args.args.iter().all(|arg| matches!(arg, ColumnarValue::Scalar(_)));
        let rows = if all_scalar { 1 } else { args.number_rows };
        let bounds = self.bounds(&args.args, rows)?;
        let reservation = self.guard.admit(self.name(), &bounds)?;
        let result = self.inner.invoke_with_args(args)?;
        self.guard.check_built(self.name(), &result)?;
        drop(reservation);
        Ok(result)
    }

    fn with_updated_config(&self, config: &ConfigOptions) -> Option<ScalarUDF> {
        let updated = self.inner.inner().with_updated_config(config)?;
        Some(ScalarUDF::new_from_impl(Self {
            inner: Arc::new(updated),
            growth: self.growth,
            guard: self.guard.clone(),
        }))
    }

    fn simplify(&self, args: Vec<Expr>, info: &SimplifyContext) -> Result<ExprSimplifyResult> {
        // A simplification may hand back DataFusion's own function (concat's does): check it too.
        Ok(match self.inner.inner().simplify(args, info)? {
            ExprSimplifyResult::Simplified(expr) => ExprSimplifyResult::Simplified(self.guard.guard_expr(expr)?.data),
            original => original,
        })
    }

    fn preimage(&self, args: &[Expr], lit_expr: &Expr, info: &SimplifyContext) -> Result<PreimageResult> {
        self.inner.inner().preimage(args, lit_expr, info)
    }

    fn conditional_arguments<'a>(&self, args: &'a [Expr]) -> Option<(Vec<&'a Expr>, Vec<&'a Expr>)> {
        self.inner.inner().conditional_arguments(args)
    }

    fn short_circuits(&self) -> bool {
        self.inner.inner().short_circuits()
    }

    fn evaluate_bounds(&self, input: &[&Interval]) -> Result<Interval> {
        self.inner.inner().evaluate_bounds(input)
    }

    fn propagate_constraints(&self, interval: &Interval, inputs: &[&Interval]) -> Result<Option<Vec<Interval>>> {
        self.inner.inner().propagate_constraints(interval, inputs)
    }

    fn struct_field_mapping(&self, literal_args: &[Option<ScalarValue>]) -> Option<StructFieldMapping> {
        self.inner.inner().struct_field_mapping(literal_args)
    }

    fn output_ordering(&self, inputs: &[ExprProperties]) -> Result<SortProperties> {
        self.inner.inner().output_ordering(inputs)
    }

    fn preserves_lex_ordering(&self, inputs: &[ExprProperties]) -> Result<bool> {
        self.inner.inner().preserves_lex_ordering(inputs)
    }

    fn strictly_order_preserving(&self, inputs: &[ExprProperties]) -> Result<bool> {
        self.inner.inner().strictly_order_preserving(inputs)
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        self.inner.inner().coerce_types(arg_types)
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.inner.documentation()
    }

    fn placement(&self, args: &[ExpressionPlacement]) -> ExpressionPlacement {
        self.inner.inner().placement(args)
    }
}

impl ValueGuard {
    /// Refuses a call whose values would exceed the limit, and reserves the bytes it will build.
    fn admit(&self, function: &str, bounds: &[usize]) -> Result<Option<MemoryReservation>> {
        if let Some(largest) = bounds.iter().copied().max()
            && largest > self.max_value_bytes
        {
            return Err(ValueTooLarge::error(function, largest, self.max_value_bytes));
        }
        let Some(pool) = &self.pool else { return Ok(None) };
        let bytes = total(bounds, bounds.len());
        // The reservation ends with the call, but what it built lives on outside the pool: in
        // the batch, in the operators that buffer batches (repartitions, windows, sorts before
        // they reserve), in copies other functions make of it. A call that may build most of
        // the pool for one batch left several such batches alive at once: 2.8-6 GiB resident
        // under a 1 GiB limit (first_value over repeated values, a PARTITION BY window). One
        // call may build only a share of the limit, so the batches in flight fit beside it.
        if let MemoryLimit::Finite(limit) = pool.memory_limit()
            && bytes > limit / BATCH_SHARE_OF_LIMIT
        {
            return Err(DataFusionError::ResourcesExhausted(format!(
                "{function} would build about {bytes} bytes for one batch of {} rows, more than 1/{BATCH_SHARE_OF_LIMIT} \
                 of the memory limit; build shorter values",
                bounds.len()
            )));
        }
        let reservation = MemoryConsumer::new(format!("value guard: {function}")).register(pool);
        reservation.try_grow(bytes)?;
        Ok(Some(reservation))
    }

    /// Measures the values actually built: the check for bounds that could not be known.
    fn check_built(&self, function: &str, result: &ColumnarValue) -> Result<()> {
        match value_sizes(result).into_iter().max() {
            Some(largest) if largest > self.max_value_bytes => {
                Err(ValueTooLarge::error(function, largest, self.max_value_bytes))
            }
            _ => Ok(()),
        }
    }
}

/// The `||` operator on strings, as a checked function: the analyzer turns every string `||`
/// into one, and it evaluates DataFusion's own binary expression.
#[derive(Debug, Clone)]
pub(crate) struct StringConcatOp {
    signature: Signature,
    guard: ValueGuard,
}

impl StringConcatOp {
    pub(crate) fn new(guard: ValueGuard) -> Self {
        // Any two types: type coercion has already given both sides their final types.
        Self { signature: Signature::any(2, Volatility::Immutable), guard }
    }
}

impl PartialEq for StringConcatOp {
    fn eq(&self, other: &Self) -> bool {
        self.guard.max_value_bytes == other.guard.max_value_bytes
    }
}

impl Eq for StringConcatOp {}

impl Hash for StringConcatOp {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.guard.max_value_bytes.hash(state);
    }
}

impl ScalarUDFImpl for StringConcatOp {
    fn name(&self) -> &str {
        "quarry_string_concat"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    /// Named as the `||` it replaces, so the plan's column names stay the same.
    fn schema_name(&self, args: &[Expr]) -> Result<String> {
        match args {
            [left, right] => Ok(format!("{} || {}", left.schema_name(), right.schema_name())),
            _ => Ok(format!("{}({})", self.name(), args.len())),
        }
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        match arg_types {
            [left, right] => BinaryTypeCoercer::new(left, &Operator::StringConcat, right).get_result_type(),
            _ => datafusion::common::plan_err!("|| takes two operands, got {}", arg_types.len()),
        }
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        let types: Vec<DataType> = args.arg_fields.iter().map(|f| f.data_type().clone()).collect();
        let nullable = args.arg_fields.iter().any(|f| f.is_nullable());
        Ok(Arc::new(Field::new(self.name(), self.return_type(&types)?, nullable)))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let all_scalar = args.args.iter().all(|arg| matches!(arg, ColumnarValue::Scalar(_)));
        let rows = if all_scalar { 1 } else { args.number_rows };
        let sizes: Vec<Vec<usize>> = args.args.iter().map(value_sizes).collect();
        let bounds: Vec<usize> = (0..rows).map(|row| sizes.iter().map(|s| at(s, row)).sum()).collect();
        let reservation = self.guard.admit("||", &bounds)?;
        let result = evaluate_concat(args)?;
        self.guard.check_built("||", &result)?;
        drop(reservation);
        Ok(result)
    }
}

/// DataFusion's `left || right` over the arguments: columns for arrays, literals for scalars.
fn evaluate_concat(args: ScalarFunctionArgs) -> Result<ColumnarValue> {
    let mut fields = Vec::new();
    let mut columns: Vec<ArrayRef> = Vec::new();
    let mut operands: Vec<Arc<dyn PhysicalExpr>> = Vec::new();
    for (value, field) in args.args.into_iter().zip(args.arg_fields) {
        match value {
            ColumnarValue::Array(array) => {
                operands.push(Arc::new(Column::new(field.name(), columns.len())));
                fields.push(Field::new(field.name(), array.data_type().clone(), true));
                columns.push(array);
            }
            ColumnarValue::Scalar(scalar) => operands.push(Arc::new(Literal::new(scalar))),
        }
    }
    let [left, right]: [Arc<dyn PhysicalExpr>; 2] = operands
        .try_into()
        .map_err(|_| datafusion::common::DataFusionError::Internal("|| takes two operands".to_string()))?;
    let options = RecordBatchOptions::new().with_row_count(Some(args.number_rows));
    let batch = RecordBatch::try_new_with_options(Arc::new(Schema::new(fields)), columns, &options)?;
    BinaryExpr::new(left, Operator::StringConcat, right).evaluate(&batch)
}

/// A string argument, read row by row (a scalar stands for every row).
struct Text(Option<ArrayRef>);

impl Text {
    fn new(value: Option<&ColumnarValue>) -> Result<Self> {
        Ok(Self(match value {
            Some(ColumnarValue::Array(array)) => Some(Arc::clone(array)),
            Some(ColumnarValue::Scalar(scalar)) => Some(scalar.to_array()?),
            None => None,
        }))
    }

    fn get(&self, row: usize) -> Option<&str> {
        let array = self.0.as_ref()?;
        let row = if array.len() == 1 { 0 } else { row };
        if row >= array.len() || array.is_null(row) {
            return None;
        }
        match array.data_type() {
            DataType::Utf8 => Some(array.as_string::<i32>().value(row)),
            DataType::LargeUtf8 => Some(array.as_string::<i64>().value(row)),
            DataType::Utf8View => Some(array.as_string_view().value(row)),
            _ => None,
        }
    }
}

/// The integers of an argument (nulls as 0), one per row or one for a scalar.
fn integers(value: Option<&ColumnarValue>) -> Result<Vec<i64>> {
    let array = match value {
        Some(ColumnarValue::Array(array)) => Arc::clone(array),
        Some(ColumnarValue::Scalar(scalar)) => scalar.to_array()?,
        None => return Ok(vec![0]),
    };
    let array = cast(&array, &DataType::Int64)?;
    let values = array.as_primitive::<Int64Type>();
    Ok((0..values.len()).map(|row| if values.is_null(row) { 0 } else { values.value(row) }).collect())
}

/// A non-negative count from `integers`, as a size factor.
fn at_i64(counts: &[i64], row: usize) -> usize {
    let count = if counts.len() == 1 { counts[0] } else { counts.get(row).copied().unwrap_or(0) };
    usize::try_from(count.max(0)).unwrap_or(usize::MAX)
}

fn is_ascii(value: &ColumnarValue) -> bool {
    match value {
        ColumnarValue::Scalar(ScalarValue::Utf8(s) | ScalarValue::LargeUtf8(s) | ScalarValue::Utf8View(s)) => {
            s.as_deref().is_none_or(str::is_ascii)
        }
        ColumnarValue::Array(array) => match array.data_type() {
            DataType::Utf8 => array.as_string::<i32>().is_ascii(),
            DataType::LargeUtf8 => array.as_string::<i64>().is_ascii(),
            DataType::Utf8View => array.as_string_view().iter().flatten().all(str::is_ascii),
            _ => true,
        },
        ColumnarValue::Scalar(_) => true,
    }
}

/// `replace(s, from, to)`: Rust's `str::replace`, which DataFusion calls, puts `to` at every
/// non-overlapping occurrence of `from`, and between every two characters when `from` is empty.
fn replace_bounds(args: &[ColumnarValue], rows: usize) -> Result<Vec<usize>> {
    let (text, from, to) = (Text::new(args.first())?, Text::new(args.get(1))?, Text::new(args.get(2))?);
    Ok((0..rows)
        .map(|row| {
            let (Some(text), Some(from), Some(to)) = (text.get(row), from.get(row), to.get(row)) else { return 0 };
            if to.len() <= from.len() {
                return text.len();
            }
            let occurrences = if from.is_empty() { text.chars().count() + 1 } else { text.matches(from).count() };
            text.len().saturating_add(occurrences.saturating_mul(to.len() - from.len()))
        })
        .collect())
}

/// `regexp_replace(s, pattern, replacement[, flags])`: each match is replaced by the replacement,
/// whose group references (`\1`, `$1`, `${name}`) copy parts of that match. Matches do not
/// overlap, so a reference copies at most `len(s)` bytes over all matches. The number of matches
/// is first bounded by `len(s) + 1` (an empty pattern matches everywhere) and counted with the
/// regex, as DataFusion builds it, only when that bound is over the limit, and only until the
/// count is.
fn regexp_replace_bounds(args: &[ColumnarValue], rows: usize, limit: usize) -> Result<Vec<usize>> {
    let texts = Text::new(args.first())?;
    let patterns = Text::new(args.get(1))?;
    let replacements = Text::new(args.get(2))?;
    let flags = Text::new(args.get(3))?;
    let mut compiled: HashMap<String, Option<regex::Regex>> = HashMap::new();
    let mut bounds = Vec::with_capacity(rows);
    for row in 0..rows {
        let (Some(text), Some(pattern), Some(replacement)) = (texts.get(row), patterns.get(row), replacements.get(row))
        else {
            bounds.push(0);
            continue;
        };
        let flags = flags.get(row);
        let global = flags.is_some_and(|f| f.contains('g'));
        let references = replacement.matches('$').count() + replacement.matches('\\').count();
        let bound = |matches: usize| {
            text.len()
                .saturating_add(matches.saturating_mul(replacement.len()))
                .saturating_add(references.saturating_mul(text.len()))
        };
        let cheap = bound(if global { text.len() + 1 } else { 1 });
        if cheap <= limit {
            bounds.push(cheap);
            continue;
        }
        let pattern = match flags.map(|f| f.replace('g', "")) {
            Some(inline) if !inline.is_empty() => format!("(?{inline}){pattern}"),
            _ => pattern.to_string(),
        };
        // A pattern that does not compile fails in DataFusion's call with its own message.
        let regex = compiled.entry(pattern).or_insert_with_key(|pattern| regex::Regex::new(pattern).ok());
        // Counting stops once the bound is over the limit: an empty pattern matches a million
        // times in a megabyte, and the first thousand already say no.
        let matches = match regex {
            Some(regex) if global => {
                let mut matches = 0;
                for _ in regex.find_iter(text) {
                    matches += 1;
                    if bound(matches) > limit {
                        break;
                    }
                }
                matches
            }
            Some(regex) => usize::from(regex.is_match(text)),
            None => 0,
        };
        bounds.push(bound(matches));
    }
    Ok(bounds)
}

/// `range(stop)`, `range(start, stop[, step])`: one element per step. Only integer series are
/// bounded in advance; a date or timestamp series is measured once built.
fn series_bounds(args: &[ColumnarValue], rows: usize, inclusive: bool) -> Result<Vec<usize>> {
    if !args.iter().all(|arg| arg.data_type().is_integer()) {
        return Ok(vec![0; rows]);
    }
    let values: Vec<Vec<i64>> = args.iter().map(|arg| integers(Some(arg))).collect::<Result<_>>()?;
    let get = |arg: usize, row: usize| {
        values.get(arg).map(|v| if v.len() == 1 { v[0] } else { v.get(row).copied().unwrap_or(0) })
    };
    Ok((0..rows)
        .map(|row| {
            let (start, stop, step) = match args.len() {
                1 => (0, get(0, row).unwrap_or(0), 1),
                _ => (get(0, row).unwrap_or(0), get(1, row).unwrap_or(0), get(2, row).unwrap_or(1)),
            };
            if step == 0 {
                return 0;
            }
            let span = i128::from(stop) - i128::from(start);
            let steps = span / i128::from(step) + i128::from(inclusive || span % i128::from(step) != 0);
            usize::try_from(steps.max(0)).unwrap_or(usize::MAX).saturating_mul(9)
        })
        .collect())
}

/// Leaf elements of each list row, through nested lists.
fn leaf_counts(value: &ColumnarValue) -> Vec<usize> {
    fn leaves(array: &dyn Array) -> Vec<usize> {
        let child_counts = |offsets: Vec<usize>, values: &ArrayRef| {
            let inner = leaves(values.as_ref());
            let mut prefix = vec![0usize];
            for count in &inner {
                prefix.push(prefix.last().copied().unwrap_or(0).saturating_add(*count));
            }
            let end = prefix.len() - 1;
            offsets.windows(2).map(|w| prefix[w[1].min(end)].saturating_sub(prefix[w[0].min(end)])).collect()
        };
        match array.data_type() {
            DataType::List(_) => {
                let list = array.as_list::<i32>();
                child_counts(list.value_offsets().iter().map(|o| *o as usize).collect(), list.values())
            }
            DataType::LargeList(_) => {
                let list = array.as_list::<i64>();
                child_counts(list.value_offsets().iter().map(|o| *o as usize).collect(), list.values())
            }
            DataType::FixedSizeList(_, width) => {
                let list = array.as_fixed_size_list();
                let width = (*width).max(0) as usize;
                let starts = (0..=list.len()).map(|row| (list.offset() + row) * width).collect();
                child_counts(starts, list.values())
            }
            _ => vec![1; array.len()],
        }
    }
    match value {
        ColumnarValue::Array(array) => leaves(array.as_ref()),
        ColumnarValue::Scalar(scalar) => scalar.to_array().map(|array| leaves(array.as_ref())).unwrap_or_default(),
    }
}

fn has_string_leaves(data_type: &DataType) -> bool {
    match data_type {
        DataType::List(field) | DataType::LargeList(field) | DataType::FixedSizeList(field, _) => {
            has_string_leaves(field.data_type())
        }
        other => other.is_string(),
    }
}
