//! Query results as plain values: what a prediction returned and what the gold expects.
use std::fmt;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use datafusion::arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{
    DataType, Date32Type, Date64Type, Float16Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type,
    Schema, TimeUnit, TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType,
    UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use serde_json::Value;

/// One value of a result.
///
/// Comparison (see [`crate::compare`]) is by meaning, not by variant: integers, floats,
/// decimals and booleans (as 1 and 0) are all numbers; a date equals the timestamp at its
/// midnight; text written as an ISO date (`2024-03-01`) or date-time (`2024-03-01 10:00:00`,
/// `T` or space) stands for that date or timestamp.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// SQL NULL.
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A binary floating-point number.
    Float(f64),
    /// An exact decimal number as plain text (`12.50`, `-3`), from Arrow decimal columns or
    /// integers too large for `i64`.
    Decimal(String),
    /// Text.
    Text(String),
    /// A calendar date.
    Date(NaiveDate),
    /// A date and time without time zone (time-zone-aware values are converted to their wall
    /// clock time in that zone when the zone is a fixed offset, else to UTC).
    Timestamp(NaiveDateTime),
}

/// A query result: column names and rows of [`Cell`]s.
///
/// Whether row order matters is a property of the gold (its SQL's top-level `ORDER BY`, or the
/// case's `ordered` field), never of the prediction, so it is not stored here.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ResultTable {
    /// Column names, in order. Only shown to people: matching is by values.
    pub columns: Vec<String>,
    /// Rows; every row has one cell per column.
    pub rows: Vec<Vec<Cell>>,
}

/// Why a JSON value cannot be a [`Cell`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellError(pub String);

impl fmt::Display for CellError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Cell {
    /// The cell a JSON value stands for in `gold_rows`: `null` is NULL, booleans are
    /// booleans, integers that fit `i64` are integers, larger integers are decimals, other
    /// numbers are floats, strings are text (recognized as dates and timestamps when they are
    /// ISO-formatted, see [`Cell`]). Arrays and objects are refused.
    pub fn from_json(value: &Value) -> Result<Cell, CellError> {
        Ok(match value {
            Value::Null => Cell::Null,
            Value::Bool(b) => Cell::Bool(*b),
            Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    Cell::Int(i)
                } else if n.is_u64() {
                    Cell::Decimal(n.to_string())
                } else {
                    Cell::Float(n.as_f64().unwrap_or(f64::NAN))
                }
            }
            Value::String(s) => Cell::Text(s.clone()),
            Value::Array(_) | Value::Object(_) => {
                return Err(CellError(format!(
                    "{value} is a nested value; gold rows hold only null, booleans, numbers and strings (write a \
                     list or struct as a string)"
                )));
            }
        })
    }

    /// The JSON value of this cell, the inverse of [`Cell::from_json`] up to types: decimals
    /// become JSON numbers, dates and timestamps ISO strings, and non-finite floats the
    /// strings `NaN`, `Infinity` and `-Infinity` (JSON has no such numbers).
    pub fn to_json(&self) -> Value {
        match self {
            Cell::Null => Value::Null,
            Cell::Bool(b) => Value::Bool(*b),
            Cell::Int(i) => Value::from(*i),
            Cell::Float(f) => float_json(*f),
            Cell::Decimal(d) => match d.parse::<i64>() {
                Ok(i) => Value::from(i),
                Err(_) => d.parse::<f64>().map(float_json).unwrap_or_else(|_| Value::String(d.clone())),
            },
            Cell::Text(s) => Value::String(s.clone()),
            Cell::Date(d) => Value::String(d.format("%Y-%m-%d").to_string()),
            Cell::Timestamp(t) => Value::String(format_timestamp(*t)),
        }
    }

    /// The number this cell stands for, if it is numeric (booleans are 1 and 0).
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Cell::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
            Cell::Int(i) => Some(*i as f64),
            Cell::Float(f) => Some(*f),
            Cell::Decimal(d) => d.parse().ok(),
            _ => None,
        }
    }

    /// The instant this cell stands for, in microseconds since 1970-01-01 00:00 (no time
    /// zone), if it is a date, a timestamp or ISO-formatted text.
    pub fn as_micros(&self) -> Option<i64> {
        match self {
            Cell::Date(d) => Some(micros(d.and_time(NaiveTime::MIN))),
            Cell::Timestamp(t) => Some(micros(*t)),
            Cell::Text(s) => parse_iso(s).map(micros),
            _ => None,
        }
    }
}

impl fmt::Display for Cell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cell::Null => f.write_str("NULL"),
            Cell::Bool(b) => write!(f, "{b}"),
            Cell::Int(i) => write!(f, "{i}"),
            Cell::Float(x) => write!(f, "{x}"),
            Cell::Decimal(d) => f.write_str(d),
            Cell::Text(s) => f.write_str(s),
            Cell::Date(d) => write!(f, "{}", d.format("%Y-%m-%d")),
            Cell::Timestamp(t) => f.write_str(&format_timestamp(*t)),
        }
    }
}

fn float_json(f: f64) -> Value {
    match serde_json::Number::from_f64(f) {
        Some(n) => Value::Number(n),
        None if f.is_nan() => Value::String("NaN".into()),
        None if f > 0.0 => Value::String("Infinity".into()),
        None => Value::String("-Infinity".into()),
    }
}

fn format_timestamp(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.f").to_string()
}

fn micros(t: NaiveDateTime) -> i64 {
    t.and_utc().timestamp_micros()
}

/// `YYYY-MM-DD`, or that followed by `T` or a space and `HH:MM`, `HH:MM:SS` or
/// `HH:MM:SS.fff…`. Anything else (other separators, time zones, unpadded fields) is text.
pub(crate) fn parse_iso(s: &str) -> Option<NaiveDateTime> {
    let bytes = s.as_bytes();
    let date_shape = bytes.len() >= 10
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && bytes[..10].iter().enumerate().all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit());
    if !date_shape {
        return None;
    }
    let date = NaiveDate::parse_from_str(&s[..10], "%Y-%m-%d").ok()?;
    if bytes.len() == 10 {
        return Some(date.and_time(NaiveTime::MIN));
    }
    if bytes[10] != b'T' && bytes[10] != b' ' {
        return None;
    }
    let time = &s[11..];
    let tb = time.as_bytes();
    let time_shape = tb.len() >= 5
        && tb[2] == b':'
        && tb[..5].iter().enumerate().all(|(i, b)| i == 2 || b.is_ascii_digit())
        && (tb.len() == 5
            || (tb.len() >= 8
                && tb[5] == b':'
                && tb[6].is_ascii_digit()
                && tb[7].is_ascii_digit()
                && (tb.len() == 8 || (tb[8] == b'.' && tb.len() > 9 && tb[9..].iter().all(u8::is_ascii_digit)))));
    if !time_shape {
        return None;
    }
    let time = if tb.len() == 5 {
        NaiveTime::parse_from_str(time, "%H:%M").ok()?
    } else {
        NaiveTime::parse_from_str(time, "%H:%M:%S%.f").ok()?
    };
    Some(date.and_time(time))
}

impl ResultTable {
    /// A table from column names and rows.
    pub fn new(columns: Vec<String>, rows: Vec<Vec<Cell>>) -> Self {
        Self { columns, rows }
    }

    /// Converts Arrow record batches (all with the same schema) into cells. Integers,
    /// floats, decimals, text, booleans, dates and timestamps keep their meaning; dictionary
    /// columns are decoded; every other type (times of day, intervals, binary, lists,
    /// structs) becomes its Arrow display text. No batches means no columns and no rows.
    pub fn from_record_batches(batches: &[RecordBatch]) -> Self {
        let Some(first) = batches.first() else {
            return Self::default();
        };
        let columns: Vec<String> = first.schema().fields().iter().map(|f| f.name().clone()).collect();
        let total: usize = batches.iter().map(|b| b.num_rows()).sum();
        let mut rows: Vec<Vec<Cell>> = Vec::with_capacity(total);
        for batch in batches {
            let converted: Vec<Vec<Cell>> = batch.columns().iter().map(column_cells).collect();
            for row in 0..batch.num_rows() {
                rows.push(converted.iter().map(|column| column[row].clone()).collect());
            }
        }
        Self { columns, rows }
    }

    /// Like [`ResultTable::from_record_batches`], but takes the column names from `schema`,
    /// so that a query returning no batches still has its columns.
    pub fn from_schema_and_batches(schema: &Schema, batches: &[RecordBatch]) -> Self {
        let mut table = Self::from_record_batches(batches);
        if batches.is_empty() {
            table.columns = schema.fields().iter().map(|f| f.name().clone()).collect();
        }
        table
    }

    /// Parses the `{"columns": [...], "rows": [[...], ...]}` form used by `gold_rows` and
    /// Spider imports (see [`Cell::from_json`] for the values).
    pub fn from_json(value: &Value) -> Result<Self, CellError> {
        let object = value.as_object().ok_or_else(|| {
            CellError(format!("expected an object {{\"columns\": [...], \"rows\": [[...]]}}, found {}", kind(value)))
        })?;
        if let Some(unknown) = object.keys().find(|k| *k != "columns" && *k != "rows") {
            return Err(CellError(format!("unknown key '{unknown}'; the keys are 'columns' and 'rows'")));
        }
        let columns: Vec<String> = match object.get("columns") {
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    c.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| CellError(format!("columns[{i}] is {}, expected a column name string", kind(c))))
                })
                .collect::<Result<_, _>>()?,
            Some(other) => return Err(CellError(format!("'columns' is {}, expected an array of names", kind(other)))),
            None => return Err(CellError("'columns' is missing; list the column names".into())),
        };
        if columns.is_empty() {
            return Err(CellError("'columns' is empty; a result has at least one column".into()));
        }
        let rows = match object.get("rows") {
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, row)| {
                    let cells = row
                        .as_array()
                        .ok_or_else(|| CellError(format!("rows[{i}] is {}, expected an array of values", kind(row))))?;
                    if cells.len() != columns.len() {
                        return Err(CellError(format!(
                            "rows[{i}] has {} values but there are {} columns",
                            cells.len(),
                            columns.len()
                        )));
                    }
                    cells
                        .iter()
                        .enumerate()
                        .map(|(j, v)| Cell::from_json(v).map_err(|e| CellError(format!("rows[{i}][{j}]: {e}"))))
                        .collect()
                })
                .collect::<Result<_, _>>()?,
            Some(other) => return Err(CellError(format!("'rows' is {}, expected an array of rows", kind(other)))),
            None => return Err(CellError("'rows' is missing; give [] for an empty result".into())),
        };
        Ok(Self { columns, rows })
    }

    /// The `{"columns": [...], "rows": [[...]]}` form read by [`ResultTable::from_json`].
    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "columns": self.columns,
            "rows": self.rows.iter().map(|r| r.iter().map(Cell::to_json).collect::<Vec<_>>()).collect::<Vec<_>>(),
        })
    }

    /// The first `n` rows in the same JSON form, for reports.
    pub fn preview_json(&self, n: usize) -> Value {
        let head = Self { columns: self.columns.clone(), rows: self.rows.iter().take(n).cloned().collect() };
        head.to_json()
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// A short fingerprint of the result's values (`b3:` and 16 hex digits of a BLAKE3
    /// hash): it changes when a value or the column order changes, and not when only the row
    /// order, the column names or a number's type change (`5`, `5.0` and decimal `5.00` hash
    /// alike, as do a date and its midnight timestamp). Meant for spotting changed results
    /// between runs and results equal to the gold at a glance; scoring never uses it.
    pub fn digest(&self) -> String {
        let mut hasher = blake3::Hasher::new();
        let mut encoded: Vec<String> = self.rows.iter().map(|row| encode_row(row)).collect();
        encoded.sort_unstable();
        for row in &encoded {
            hasher.update(row.as_bytes());
            hasher.update(b"\x1e");
        }
        format!("b3:{}", &hasher.finalize().to_hex()[..16])
    }
}

fn encode_row(row: &[Cell]) -> String {
    let mut out = String::new();
    for cell in row {
        match cell {
            Cell::Null => out.push('N'),
            Cell::Text(s) => match parse_iso(s) {
                Some(t) => out.push_str(&format!("t{}", micros(t))),
                None => {
                    out.push('s');
                    out.push_str(s);
                }
            },
            Cell::Date(_) | Cell::Timestamp(_) => out.push_str(&format!("t{}", cell.as_micros().unwrap_or_default())),
            numeric => out.push_str(&format!("n{:.12e}", numeric.as_f64().unwrap_or(f64::NAN))),
        }
        out.push('\x1f');
    }
    out
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The cells of one Arrow column.
fn column_cells(array: &ArrayRef) -> Vec<Cell> {
    if let DataType::Dictionary(_, value_type) = array.data_type()
        && let Ok(decoded) = cast(array, value_type)
    {
        return column_cells(&decoded);
    }
    let n = array.len();
    let get = |f: &dyn Fn(usize) -> Cell| -> Vec<Cell> {
        (0..n).map(|i| if array.is_null(i) { Cell::Null } else { f(i) }).collect()
    };
    match array.data_type() {
        DataType::Null => vec![Cell::Null; n],
        DataType::Boolean => {
            let a = array.as_boolean();
            get(&|i| Cell::Bool(a.value(i)))
        }
        DataType::Int8 => {
            let a = array.as_primitive::<Int8Type>();
            get(&|i| Cell::Int(a.value(i).into()))
        }
        DataType::Int16 => {
            let a = array.as_primitive::<Int16Type>();
            get(&|i| Cell::Int(a.value(i).into()))
        }
        DataType::Int32 => {
            let a = array.as_primitive::<Int32Type>();
            get(&|i| Cell::Int(a.value(i).into()))
        }
        DataType::Int64 => {
            let a = array.as_primitive::<Int64Type>();
            get(&|i| Cell::Int(a.value(i)))
        }
        DataType::UInt8 => {
            let a = array.as_primitive::<UInt8Type>();
            get(&|i| Cell::Int(a.value(i).into()))
        }
        DataType::UInt16 => {
            let a = array.as_primitive::<UInt16Type>();
            get(&|i| Cell::Int(a.value(i).into()))
        }
        DataType::UInt32 => {
            let a = array.as_primitive::<UInt32Type>();
            get(&|i| Cell::Int(a.value(i).into()))
        }
        DataType::UInt64 => {
            let a = array.as_primitive::<UInt64Type>();
            get(&|i| i64::try_from(a.value(i)).map(Cell::Int).unwrap_or_else(|_| Cell::Decimal(a.value(i).to_string())))
        }
        // Through the shortest decimal text, so that 0.1f32 reads as 0.1 rather than 0.100000001.
        DataType::Float16 => {
            let a = array.as_primitive::<Float16Type>();
            get(&|i| Cell::Float(a.value(i).to_string().parse().unwrap_or(f64::from(a.value(i)))))
        }
        DataType::Float32 => {
            let a = array.as_primitive::<Float32Type>();
            get(&|i| Cell::Float(a.value(i).to_string().parse().unwrap_or(f64::from(a.value(i)))))
        }
        DataType::Float64 => {
            let a = array.as_primitive::<Float64Type>();
            get(&|i| Cell::Float(a.value(i)))
        }
        DataType::Decimal32(_, _)
        | DataType::Decimal64(_, _)
        | DataType::Decimal128(_, _)
        | DataType::Decimal256(_, _) => display_cells(array, Cell::Decimal),
        DataType::Utf8 => {
            let a = array.as_string::<i32>();
            get(&|i| Cell::Text(a.value(i).to_string()))
        }
        DataType::LargeUtf8 => {
            let a = array.as_string::<i64>();
            get(&|i| Cell::Text(a.value(i).to_string()))
        }
        DataType::Utf8View => {
            let a = array.as_string_view();
            get(&|i| Cell::Text(a.value(i).to_string()))
        }
        DataType::Date32 => {
            let a = array.as_primitive::<Date32Type>();
            get(&|i| a.value_as_date(i).map(Cell::Date).unwrap_or(Cell::Null))
        }
        DataType::Date64 => {
            let a = array.as_primitive::<Date64Type>();
            get(&|i| a.value_as_datetime(i).map(|t| Cell::Date(t.date())).unwrap_or(Cell::Null))
        }
        DataType::Timestamp(unit, tz) => {
            let offset = tz.as_deref().and_then(fixed_offset_seconds).unwrap_or(0);
            let shift = chrono::Duration::seconds(offset.into());
            let naive: Vec<Option<NaiveDateTime>> = match unit {
                TimeUnit::Second => timestamps(array.as_primitive::<TimestampSecondType>()),
                TimeUnit::Millisecond => timestamps(array.as_primitive::<TimestampMillisecondType>()),
                TimeUnit::Microsecond => timestamps(array.as_primitive::<TimestampMicrosecondType>()),
                TimeUnit::Nanosecond => timestamps(array.as_primitive::<TimestampNanosecondType>()),
            };
            naive.into_iter().map(|t| t.map(|t| Cell::Timestamp(t + shift)).unwrap_or(Cell::Null)).collect()
        }
        _ => display_cells(array, Cell::Text),
    }
}

fn timestamps<T>(array: &datafusion::arrow::array::PrimitiveArray<T>) -> Vec<Option<NaiveDateTime>>
where
    T: datafusion::arrow::datatypes::ArrowTimestampType,
{
    (0..array.len()).map(|i| if array.is_null(i) { None } else { array.value_as_datetime(i) }).collect()
}

/// Seconds east of UTC for a fixed-offset zone name (`+05:30`, `-0800`, `UTC`, `Z`); named
/// zones such as `Europe/Berlin` give `None` and their values stay in UTC.
fn fixed_offset_seconds(tz: &str) -> Option<i32> {
    if tz.eq_ignore_ascii_case("utc") || tz == "Z" {
        return Some(0);
    }
    let sign = match tz.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let digits: String = tz[1..].chars().filter(|c| *c != ':').collect();
    if digits.len() != 4 || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let hours: i32 = digits[..2].parse().ok()?;
    let minutes: i32 = digits[2..].parse().ok()?;
    Some(sign * (hours * 3600 + minutes * 60))
}

fn display_cells(array: &ArrayRef, make: fn(String) -> Cell) -> Vec<Cell> {
    let options = FormatOptions::default();
    match ArrayFormatter::try_new(array.as_ref(), &options) {
        Ok(formatter) => (0..array.len())
            .map(|i| if array.is_null(i) { Cell::Null } else { make(formatter.value(i).to_string()) })
            .collect(),
        Err(e) => vec![Cell::Text(format!("<unprintable {}: {e}>", array.data_type())); array.len()],
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{
        BooleanArray, Date32Array, Decimal128Array, DictionaryArray, Float32Array, Int32Array, StringArray,
        TimestampMicrosecondArray,
    };
    use datafusion::arrow::datatypes::Field;

    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn record_batches_become_cells() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("n", DataType::Int32, true),
            Field::new("f", DataType::Float32, false),
            Field::new("d", DataType::Decimal128(10, 2), false),
            Field::new("s", DataType::Utf8, true),
            Field::new("b", DataType::Boolean, false),
            Field::new("day", DataType::Date32, false),
            Field::new("ts", DataType::Timestamp(TimeUnit::Microsecond, Some("+02:00".into())), false),
            Field::new("k", DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)), false),
        ]));
        let dict: DictionaryArray<Int32Type> = vec!["x", "y"].into_iter().collect();
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int32Array::from(vec![Some(1), None])),
                Arc::new(Float32Array::from(vec![0.1, 2.5])),
                Arc::new(Decimal128Array::from(vec![1250, -3]).with_precision_and_scale(10, 2).unwrap()),
                Arc::new(StringArray::from(vec![Some("a"), None])),
                Arc::new(BooleanArray::from(vec![true, false])),
                Arc::new(Date32Array::from(vec![0, 19_000])),
                Arc::new(TimestampMicrosecondArray::from(vec![0, 3_600_000_000]).with_timezone("+02:00")),
                Arc::new(dict),
            ],
        )
        .unwrap();
        let table = ResultTable::from_record_batches(&[batch.clone(), batch]);
        assert_eq!(table.columns, ["n", "f", "d", "s", "b", "day", "ts", "k"]);
        assert_eq!(table.len(), 4);
        let midnight = |d: NaiveDate| d.and_time(NaiveTime::MIN);
        assert_eq!(
            table.rows[0],
            vec![
                Cell::Int(1),
                Cell::Float(0.1),
                Cell::Decimal("12.50".into()),
                Cell::Text("a".into()),
                Cell::Bool(true),
                Cell::Date(date(1970, 1, 1)),
                Cell::Timestamp(midnight(date(1970, 1, 1)) + chrono::Duration::hours(2)),
                Cell::Text("x".into()),
            ]
        );
        assert_eq!(table.rows[1][0], Cell::Null);
        assert_eq!(table.rows[1][2], Cell::Decimal("-0.03".into()));
        assert_eq!(table.rows[1][3], Cell::Null);
        assert_eq!(table.rows[1][6], Cell::Timestamp(midnight(date(1970, 1, 1)) + chrono::Duration::hours(3)));
        assert_eq!(ResultTable::from_record_batches(&[]), ResultTable::default());
        let empty =
            ResultTable::from_schema_and_batches(&Schema::new(vec![Field::new("a", DataType::Int64, true)]), &[]);
        assert_eq!((empty.columns, empty.rows.len()), (vec!["a".to_string()], 0));
    }

    #[test]
    fn json_values_map_to_cells_and_back() {
        let value = serde_json::json!({"columns": ["a", "b"], "rows": [[1, "x"], [null, 2.5], [true, 18446744073709551615u64]]});
        let table = ResultTable::from_json(&value).unwrap();
        assert_eq!(table.rows[0], vec![Cell::Int(1), Cell::Text("x".into())]);
        assert_eq!(table.rows[1], vec![Cell::Null, Cell::Float(2.5)]);
        assert_eq!(table.rows[2], vec![Cell::Bool(true), Cell::Decimal("18446744073709551615".into())]);
        assert_eq!(ResultTable::from_json(&table.to_json()).unwrap().rows[..2], table.rows[..2]);
        assert_eq!(Cell::Date(date(2024, 3, 1)).to_json(), serde_json::json!("2024-03-01"));
        assert_eq!(Cell::Float(f64::NAN).to_json(), serde_json::json!("NaN"));
    }

    #[test]
    fn malformed_json_tables_say_what_is_wrong() {
        let cases = [
            (serde_json::json!([1]), "expected an object"),
            (serde_json::json!({"rows": []}), "'columns' is missing"),
            (serde_json::json!({"columns": [], "rows": []}), "'columns' is empty"),
            (serde_json::json!({"columns": ["a"]}), "'rows' is missing"),
            (serde_json::json!({"columns": ["a"], "rows": [[1, 2]]}), "rows[0] has 2 values but there are 1 columns"),
            (serde_json::json!({"columns": ["a"], "rows": [[[1]]]}), "rows[0][0]: [1] is a nested value"),
            (serde_json::json!({"columns": [1], "rows": []}), "columns[0] is a number"),
            (serde_json::json!({"columns": ["a"], "rows": [], "order": true}), "unknown key 'order'"),
        ];
        for (value, expected) in cases {
            let error = ResultTable::from_json(&value).unwrap_err().to_string();
            assert!(error.contains(expected), "{value}: {error}");
        }
    }

    #[test]
    fn iso_text_is_recognized_strictly() {
        let at = |h, m, s| date(2024, 3, 1).and_hms_opt(h, m, s).unwrap();
        assert_eq!(parse_iso("2024-03-01"), Some(at(0, 0, 0)));
        assert_eq!(parse_iso("2024-03-01 10:20"), Some(at(10, 20, 0)));
        assert_eq!(parse_iso("2024-03-01T10:20:30"), Some(at(10, 20, 30)));
        assert_eq!(parse_iso("2024-03-01 10:20:30.500").map(|t| t.and_utc().timestamp_subsec_millis()), Some(500));
        for text in ["2024-3-1", "2024/03/01", "2024-02-30", "2024-03-01Z", "2024-03-01 10", "2024-03-01 10:20:3", "x"]
        {
            assert_eq!(parse_iso(text), None, "{text}");
        }
        assert_eq!(Cell::Text("2024-03-01".into()).as_micros(), Cell::Date(date(2024, 3, 1)).as_micros());
    }

    #[test]
    fn digest_ignores_row_order_and_number_types_but_not_values() {
        let a = ResultTable::new(vec!["x".into()], vec![vec![Cell::Int(5)], vec![Cell::Date(date(2024, 1, 1))]]);
        let b = ResultTable::new(
            vec!["renamed".into()],
            vec![vec![Cell::Timestamp(date(2024, 1, 1).and_time(NaiveTime::MIN))], vec![Cell::Decimal("5.00".into())]],
        );
        let c = ResultTable::new(vec!["x".into()], vec![vec![Cell::Int(6)], vec![Cell::Date(date(2024, 1, 1))]]);
        assert_eq!(a.digest(), b.digest());
        assert_ne!(a.digest(), c.digest());
        assert!(a.digest().starts_with("b3:") && a.digest().len() == 19);
    }
}
