use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::datatypes::{
    DataType, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, SchemaRef, UInt8Type, UInt16Type,
    UInt32Type, UInt64Type,
};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Time spent in each executor step, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct ExecTimings {
    /// Parsing, planning, optimizing and sandbox checks.
    pub plan_ms: f64,
    /// Running the plan and collecting batches.
    pub execute_ms: f64,
}

/// The result of a query.
#[derive(Debug, Clone)]
pub struct QueryResult {
    /// Arrow schema of the result.
    pub schema: SchemaRef,
    /// The rows.
    pub batches: Vec<RecordBatch>,
    /// Whether rows beyond `max_result_rows` were dropped.
    pub truncated: bool,
    /// Where the time went.
    pub timings: ExecTimings,
}

/// A result column: its name and SQL type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ColumnInfo {
    /// Column name.
    pub name: String,
    /// SQL type name, e.g. `BIGINT`, `DECIMAL(12,2)`, `TIMESTAMP`.
    #[serde(rename = "type")]
    pub data_type: String,
}

/// A JSON-friendly result: columns, and rows as arrays in column order. Timestamps are
/// ISO 8601 strings, dates `YYYY-MM-DD`, decimals exact strings, other numbers JSON numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultJson {
    /// The columns.
    pub columns: Vec<ColumnInfo>,
    /// The rows.
    pub rows: Vec<Vec<Value>>,
}

impl QueryResult {
    /// Number of rows collected.
    pub fn num_rows(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }

    /// The columns with SQL type names.
    pub fn columns(&self) -> Vec<ColumnInfo> {
        self.schema
            .fields()
            .iter()
            .map(|f| ColumnInfo { name: f.name().clone(), data_type: sql_type_name(f.data_type()) })
            .collect()
    }

    /// The result as JSON-friendly rows.
    pub fn to_json(&self) -> ResultJson {
        let mut rows = Vec::with_capacity(self.num_rows());
        for batch in &self.batches {
            let columns: Vec<Vec<Value>> = batch.columns().iter().map(json_cells).collect();
            for row in 0..batch.num_rows() {
                rows.push(columns.iter().map(|column| column[row].clone()).collect());
            }
        }
        ResultJson { columns: self.columns(), rows }
    }
}

/// The SQL name of an Arrow type, as shown to users.
pub fn sql_type_name(data_type: &DataType) -> String {
    match data_type {
        DataType::Boolean => "BOOLEAN".into(),
        DataType::Int8 => "TINYINT".into(),
        DataType::Int16 => "SMALLINT".into(),
        DataType::Int32 => "INT".into(),
        DataType::Int64 => "BIGINT".into(),
        DataType::UInt8 => "TINYINT UNSIGNED".into(),
        DataType::UInt16 => "SMALLINT UNSIGNED".into(),
        DataType::UInt32 => "INT UNSIGNED".into(),
        DataType::UInt64 => "BIGINT UNSIGNED".into(),
        DataType::Float16 | DataType::Float32 => "FLOAT".into(),
        DataType::Float64 => "DOUBLE".into(),
        DataType::Decimal32(p, s)
        | DataType::Decimal64(p, s)
        | DataType::Decimal128(p, s)
        | DataType::Decimal256(p, s) => {
            format!("DECIMAL({p},{s})")
        }
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "VARCHAR".into(),
        DataType::Date32 | DataType::Date64 => "DATE".into(),
        DataType::Timestamp(_, None) => "TIMESTAMP".into(),
        DataType::Timestamp(_, Some(_)) => "TIMESTAMP WITH TIME ZONE".into(),
        DataType::Interval(_) => "INTERVAL".into(),
        DataType::Duration(_) => "DURATION".into(),
        DataType::Null => "NULL".into(),
        DataType::Dictionary(_, value) => sql_type_name(value),
        other => other.to_string(),
    }
}

fn float_value(value: f64) -> Value {
    serde_json::Number::from_f64(value).map(Value::Number).unwrap_or(Value::Null)
}

/// Converts one column to JSON cells.
fn json_cells(array: &ArrayRef) -> Vec<Value> {
    macro_rules! primitive {
        ($t:ty, $conv:expr) => {{
            let values = array.as_primitive::<$t>();
            (0..values.len()).map(|i| if values.is_null(i) { Value::Null } else { $conv(values.value(i)) }).collect()
        }};
    }
    match array.data_type() {
        DataType::Null => vec![Value::Null; array.len()],
        DataType::Boolean => {
            let values = array.as_boolean();
            (0..values.len())
                .map(|i| if values.is_null(i) { Value::Null } else { Value::Bool(values.value(i)) })
                .collect()
        }
        DataType::Int8 => primitive!(Int8Type, |v: i8| Value::from(v)),
        DataType::Int16 => primitive!(Int16Type, |v: i16| Value::from(v)),
        DataType::Int32 => primitive!(Int32Type, |v: i32| Value::from(v)),
        DataType::Int64 => primitive!(Int64Type, |v: i64| Value::from(v)),
        DataType::UInt8 => primitive!(UInt8Type, |v: u8| Value::from(v)),
        DataType::UInt16 => primitive!(UInt16Type, |v: u16| Value::from(v)),
        DataType::UInt32 => primitive!(UInt32Type, |v: u32| Value::from(v)),
        DataType::UInt64 => primitive!(UInt64Type, |v: u64| Value::from(v)),
        DataType::Float32 => primitive!(Float32Type, |v: f32| float_value(f64::from(v))),
        DataType::Float64 => primitive!(Float64Type, float_value),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
            formatted(array).into_iter().map(|cell| cell.map(Value::String).unwrap_or(Value::Null)).collect()
        }
        // Decimals stay exact as strings; temporal types use Arrow's ISO 8601 display.
        _ => formatted(array).into_iter().map(|cell| cell.map(Value::String).unwrap_or(Value::Null)).collect(),
    }
}

fn formatted(array: &ArrayRef) -> Vec<Option<String>> {
    let options = FormatOptions::default();
    match ArrayFormatter::try_new(array.as_ref(), &options) {
        Ok(formatter) => (0..array.len())
            .map(|i| if array.is_null(i) { None } else { Some(formatter.value(i).to_string()) })
            .collect(),
        Err(_) => (0..array.len()).map(|_| Some(format!("<{}>", array.data_type()))).collect(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{Decimal128Array, Float64Array, Int64Array, StringArray, TimestampMicrosecondArray};
    use datafusion::arrow::datatypes::{Field, Schema, TimeUnit};

    use super::*;

    #[test]
    fn json_form_keeps_decimals_exact_and_timestamps_iso() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("n", DataType::Int64, true),
            Field::new("amount", DataType::Decimal128(12, 2), true),
            Field::new("at", DataType::Timestamp(TimeUnit::Microsecond, None), true),
            Field::new("label", DataType::Utf8, true),
            Field::new("ratio", DataType::Float64, true),
        ]));
        let batch = RecordBatch::try_new(
            Arc::clone(&schema),
            vec![
                Arc::new(Int64Array::from(vec![Some(7), None])),
                Arc::new(
                    Decimal128Array::from(vec![Some(123_456_789_012i128), Some(5)])
                        .with_precision_and_scale(12, 2)
                        .unwrap(),
                ),
                Arc::new(TimestampMicrosecondArray::from(vec![Some(1_764_547_200_000_000), None])),
                Arc::new(StringArray::from(vec![Some("DE"), None])),
                Arc::new(Float64Array::from(vec![Some(0.25), Some(f64::NAN)])),
            ],
        )
        .unwrap();
        let result = QueryResult { schema, batches: vec![batch], truncated: false, timings: ExecTimings::default() };
        let json = serde_json::to_value(result.to_json()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "columns": [
                    {"name": "n", "type": "BIGINT"},
                    {"name": "amount", "type": "DECIMAL(12,2)"},
                    {"name": "at", "type": "TIMESTAMP"},
                    {"name": "label", "type": "VARCHAR"},
                    {"name": "ratio", "type": "DOUBLE"}
                ],
                "rows": [
                    [7, "1234567890.12", "2025-12-01T00:00:00", "DE", 0.25],
                    [null, "0.05", null, null, null]
                ]
            })
        );
    }
}
