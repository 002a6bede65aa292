//! The result to chart, as typed columns, and what quarry knows about it.

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Float64Type, SchemaRef, TimeUnit, TimestampMillisecondType};
use arrow::record_batch::RecordBatch;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use chrono::{DateTime, NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// Most rows a chart is drawn from; more is not readable and makes SVGs huge.
pub const MAX_CHART_ROWS: usize = 10_000;

/// A time grain: how finely time is bucketed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeGrain {
    /// Calendar days.
    Day,
    /// Weeks starting on Monday.
    Week,
    /// Calendar months.
    Month,
    /// Calendar quarters.
    Quarter,
    /// Calendar years.
    Year,
}

impl TimeGrain {
    /// The Vega-Lite v4 `timeUnit` that buckets time at this grain.
    pub fn time_unit(self) -> &'static str {
        match self {
            TimeGrain::Day => "yearmonthdate",
            TimeGrain::Week => "yearweek",
            TimeGrain::Month => "yearmonth",
            TimeGrain::Quarter => "yearquarter",
            TimeGrain::Year => "year",
        }
    }

    /// The grain of a Vega-Lite `timeUnit`, if it is one of the calendar buckets supported.
    pub fn from_time_unit(unit: &str) -> Option<Self> {
        Some(match unit {
            "yearmonthdate" | "date" | "yearmonthdatehours" => TimeGrain::Day,
            "yearweek" | "week" => TimeGrain::Week,
            "yearmonth" | "month" => TimeGrain::Month,
            "yearquarter" | "quarter" => TimeGrain::Quarter,
            "year" => TimeGrain::Year,
            _ => return None,
        })
    }

    /// Approximate length in days, for choosing tick steps.
    pub(crate) fn days(self) -> f64 {
        match self {
            TimeGrain::Day => 1.0,
            TimeGrain::Week => 7.0,
            TimeGrain::Month => 30.4,
            TimeGrain::Quarter => 91.3,
            TimeGrain::Year => 365.25,
        }
    }
}

/// How a measure's values read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueFormat {
    /// A plain number: 1.2k, 3.4M.
    #[default]
    Number,
    /// US dollars: $3.4M.
    Currency,
    /// A ratio shown as a percentage: 0.45 is 45%.
    Percent,
}

impl ValueFormat {
    /// The d3-format string Vega-Lite axes and legends use for this format.
    pub fn d3_format(self) -> &'static str {
        match self {
            ValueFormat::Number => "~s",
            ValueFormat::Currency => "$~s",
            ValueFormat::Percent => ".0%",
        }
    }

    /// Reads a d3-format string: `$` means currency, `%` percent, anything else a number.
    pub fn from_d3(format: &str) -> Self {
        if format.contains('%') {
            ValueFormat::Percent
        } else if format.contains('$') {
            ValueFormat::Currency
        } else {
            ValueFormat::Number
        }
    }
}

/// What quarry knows about a measure column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeasureHint {
    /// The result column.
    pub column: String,
    /// Its display name, e.g. "Revenue".
    pub label: Option<String>,
    /// How values read.
    pub format: ValueFormat,
    /// Whether values of several rows may be added up (sums and counts, not averages or
    /// distinct counts): only then are the smallest categories folded into "Other".
    pub additive: bool,
}

/// What quarry knows about the result beyond its types: from the semantic query.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChartHints {
    /// The time column and its grain.
    pub time: Option<(String, TimeGrain)>,
    /// Measure columns, in order.
    pub measures: Vec<MeasureHint>,
    /// Dimension columns, in order.
    pub dimensions: Vec<String>,
    /// The measures are shares of a whole.
    pub share: bool,
    /// A title for the chart, e.g. the question.
    pub title: Option<String>,
}

/// The type a column's values have for charting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnKind {
    /// Numbers.
    Quantitative,
    /// Dates and timestamps.
    Temporal,
    /// Text and booleans.
    Nominal,
}

/// A column's values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "values", rename_all = "snake_case")]
pub enum Values {
    /// Numbers (decimals are converted to floating point: charts are not exact).
    Number(Vec<Option<f64>>),
    /// Milliseconds since 1970-01-01 (time zones dropped: charts show wall-clock time).
    Time(Vec<Option<i64>>),
    /// Text.
    Text(Vec<Option<String>>),
}

impl Values {
    fn len(&self) -> usize {
        match self {
            Values::Number(v) => v.len(),
            Values::Time(v) => v.len(),
            Values::Text(v) => v.len(),
        }
    }
}

/// One column of the result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Column {
    /// Its name.
    pub name: String,
    /// Its values.
    pub values: Values,
}

impl Column {
    /// The kind of its values.
    pub fn kind(&self) -> ColumnKind {
        match self.values {
            Values::Number(_) => ColumnKind::Quantitative,
            Values::Time(_) => ColumnKind::Temporal,
            Values::Text(_) => ColumnKind::Nominal,
        }
    }

    /// The value of a row as a label.
    pub(crate) fn label(&self, row: usize) -> Option<String> {
        match &self.values {
            Values::Number(v) => v[row].map(crate::format::plain_number),
            Values::Time(v) => v[row].map(crate::format::iso_date),
            Values::Text(v) => v[row].clone(),
        }
    }

    /// The value of a row as a JSON value for the spec's `data.values`.
    fn json(&self, row: usize) -> Value {
        match &self.values {
            Values::Number(v) => {
                v[row].and_then(serde_json::Number::from_f64).map(Value::Number).unwrap_or(Value::Null)
            }
            Values::Time(v) => v[row].map(|t| Value::String(crate::format::iso_date(t))).unwrap_or(Value::Null),
            Values::Text(v) => v[row].clone().map(Value::String).unwrap_or(Value::Null),
        }
    }

    /// Number of distinct non-null values.
    pub fn distinct(&self) -> usize {
        let mut labels: Vec<String> = (0..self.values.len()).filter_map(|row| self.label(row)).collect();
        labels.sort();
        labels.dedup();
        labels.len()
    }

    /// The longest label, in characters.
    pub fn longest_label(&self) -> usize {
        (0..self.values.len()).filter_map(|row| self.label(row)).map(|l| l.chars().count()).max().unwrap_or(0)
    }
}

/// The result to chart: typed columns of equal length. Serialized as its columns, and
/// checked like [`ChartData::new`] when read back.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "Vec<Column>", into = "Vec<Column>")]
pub struct ChartData {
    columns: Vec<Column>,
    rows: usize,
}

impl TryFrom<Vec<Column>> for ChartData {
    type Error = Error;

    fn try_from(columns: Vec<Column>) -> Result<Self> {
        Self::new(columns)
    }
}

impl From<ChartData> for Vec<Column> {
    fn from(data: ChartData) -> Self {
        data.columns
    }
}

impl ChartData {
    /// Columns from parts; every column must have the same number of values.
    pub fn new(columns: Vec<Column>) -> Result<Self> {
        let rows = columns.first().map(|c| c.values.len()).unwrap_or(0);
        if let Some(bad) = columns.iter().find(|c| c.values.len() != rows) {
            return Err(Error::Data(format!(
                "column {} has {} values but {} has {rows}: columns must be the same length",
                bad.name,
                bad.values.len(),
                columns[0].name
            )));
        }
        if rows > MAX_CHART_ROWS {
            return Err(Error::Data(format!(
                "the result has {rows} rows; charts are drawn from at most {MAX_CHART_ROWS}. Aggregate further (e.g. a coarser time grain) or filter"
            )));
        }
        Ok(Self { columns, rows })
    }

    /// The result of a query, as Arrow.
    pub fn from_arrow(schema: &SchemaRef, batches: &[RecordBatch]) -> Result<Self> {
        let mut columns = Vec::with_capacity(schema.fields().len());
        for (index, field) in schema.fields().iter().enumerate() {
            let arrays: Vec<&ArrayRef> = batches.iter().map(|b| b.column(index)).collect();
            columns.push(Column { name: field.name().clone(), values: column_values(field.data_type(), &arrays)? });
        }
        Self::new(columns)
    }

    /// The columns.
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// A column by name.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// Number of rows.
    pub fn num_rows(&self) -> usize {
        self.rows
    }

    /// Divides a numeric column by `divisor` (e.g. percentages 0..100 into ratios).
    pub fn rescale(&mut self, name: &str, divisor: f64) {
        if let Some(Column { values: Values::Number(values), .. }) = self.columns.iter_mut().find(|c| c.name == name) {
            for v in values.iter_mut().flatten() {
                *v /= divisor;
            }
        }
    }

    /// Reads a text column as dates or timestamps, when every value parses as one.
    pub(crate) fn text_as_time(&self, name: &str) -> Option<Vec<Option<i64>>> {
        let Values::Text(values) = &self.column(name)?.values else { return None };
        values.iter().map(|v| v.as_deref().map(crate::format::parse_time).map_or(Some(None), |t| t.map(Some))).collect()
    }

    /// The rows as JSON objects, for the spec's `data.values`.
    pub fn to_values(&self) -> Vec<Value> {
        (0..self.rows)
            .map(|row| {
                let mut object = Map::new();
                for column in &self.columns {
                    object.insert(column.name.clone(), column.json(row));
                }
                Value::Object(object)
            })
            .collect()
    }
}

fn column_values(data_type: &DataType, arrays: &[&ArrayRef]) -> Result<Values> {
    let cast_err = |e: arrow::error::ArrowError| Error::Data(format!("cannot read a {data_type} column: {e}"));
    Ok(match data_type {
        DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32
        | DataType::UInt64
        | DataType::Float16
        | DataType::Float32
        | DataType::Float64
        | DataType::Decimal32(..)
        | DataType::Decimal64(..)
        | DataType::Decimal128(..)
        | DataType::Decimal256(..) => {
            let mut out = Vec::new();
            for array in arrays {
                let floats = cast(array, &DataType::Float64).map_err(cast_err)?;
                let floats = floats.as_primitive::<Float64Type>();
                out.extend((0..floats.len()).map(|i| {
                    if floats.is_null(i) || !floats.value(i).is_finite() { None } else { Some(floats.value(i)) }
                }));
            }
            Values::Number(out)
        }
        DataType::Date32 | DataType::Date64 | DataType::Timestamp(..) => {
            let mut out = Vec::new();
            for array in arrays {
                // Wall-clock time: a zone is dropped rather than shifting the dates shown.
                let naive = match array.data_type() {
                    DataType::Timestamp(unit, Some(_)) => {
                        cast(array, &DataType::Timestamp(*unit, None)).map_err(cast_err)?
                    }
                    _ => (*array).clone(),
                };
                let millis = cast(&naive, &DataType::Timestamp(TimeUnit::Millisecond, None)).map_err(cast_err)?;
                let millis = millis.as_primitive::<TimestampMillisecondType>();
                out.extend((0..millis.len()).map(|i| if millis.is_null(i) { None } else { Some(millis.value(i)) }));
            }
            Values::Time(out)
        }
        DataType::Dictionary(_, value) => {
            let mut decoded = Vec::new();
            for array in arrays {
                decoded.push(cast(array, value).map_err(cast_err)?);
            }
            let refs: Vec<&ArrayRef> = decoded.iter().collect();
            return column_values(value, &refs);
        }
        _ => {
            let mut out = Vec::new();
            let options = FormatOptions::default();
            for array in arrays {
                let formatter = ArrayFormatter::try_new(array.as_ref(), &options).map_err(cast_err)?;
                out.extend(
                    (0..array.len())
                        .map(|i| if array.is_null(i) { None } else { Some(formatter.value(i).to_string()) }),
                );
            }
            Values::Text(out)
        }
    })
}

/// What the chooser, checker and renderer work from: the data and the hints.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChartInput {
    /// The result.
    pub data: ChartData,
    /// What quarry knows about it.
    pub hints: ChartHints,
}

impl ChartInput {
    /// Data and hints together.
    pub fn new(data: ChartData, hints: ChartHints) -> Self {
        Self { data, hints }
    }

    /// The format of a measure column (from the hints; numbers otherwise).
    pub fn format_of(&self, column: &str) -> ValueFormat {
        self.hints.measures.iter().find(|m| m.column == column).map(|m| m.format).unwrap_or_default()
    }

    /// The display title of a column: its measure label, or the name with spaces.
    pub fn title_of(&self, column: &str) -> String {
        self.hints
            .measures
            .iter()
            .find(|m| m.column == column)
            .and_then(|m| m.label.clone())
            .unwrap_or_else(|| column.replace('_', " "))
    }

    /// The grain of a time column, from the hints or guessed from the spacing of its values.
    pub fn grain_of(&self, column: &str) -> Option<TimeGrain> {
        if let Some((name, grain)) = &self.hints.time
            && name == column
        {
            return Some(*grain);
        }
        let Values::Time(values) = &self.data.column(column)?.values else { return None };
        Some(guess_grain(values))
    }
}

/// The grain suggested by the values: the coarsest calendar bucket they all sit on.
pub(crate) fn guess_grain(values: &[Option<i64>]) -> TimeGrain {
    let dates: Vec<NaiveDateTime> =
        values.iter().flatten().filter_map(|t| DateTime::from_timestamp_millis(*t)).map(|d| d.naive_utc()).collect();
    use chrono::{Datelike, Timelike};
    let midnight = dates.iter().all(|d| d.time().num_seconds_from_midnight() == 0);
    if dates.is_empty() || !midnight {
        return TimeGrain::Day;
    }
    let first_of_month = dates.iter().all(|d| d.day() == 1);
    if first_of_month && dates.iter().all(|d| d.month() == 1) && dates.len() > 1 {
        TimeGrain::Year
    } else if first_of_month && dates.iter().all(|d| (d.month() - 1) % 3 == 0) && dates.len() > 2 {
        TimeGrain::Quarter
    } else if first_of_month {
        TimeGrain::Month
    } else if dates.iter().all(|d| d.weekday() == chrono::Weekday::Mon) && dates.len() > 2 {
        TimeGrain::Week
    } else {
        TimeGrain::Day
    }
}

/// The midnight of a date in milliseconds.
pub(crate) fn date_millis(date: NaiveDate) -> i64 {
    date.and_hms_opt(0, 0, 0).map(|d| d.and_utc().timestamp_millis()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Date32Array, Decimal128Array, StringArray};
    use arrow::datatypes::{Field, Schema};

    use super::*;

    #[test]
    fn arrow_columns_become_numbers_times_and_text() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("day", DataType::Date32, true),
            Field::new("amount", DataType::Decimal128(12, 2), true),
            Field::new("label", DataType::Utf8, true),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Date32Array::from(vec![Some(20089), None])),
                Arc::new(Decimal128Array::from(vec![Some(12345), None]).with_precision_and_scale(12, 2).unwrap()),
                Arc::new(StringArray::from(vec![Some("a"), None])),
            ],
        )
        .unwrap();
        let data = ChartData::from_arrow(&schema, &[batch]).unwrap();
        assert_eq!(data.num_rows(), 2);
        assert_eq!(data.column("amount").unwrap().values, Values::Number(vec![Some(123.45), None]));
        assert_eq!(data.column("day").unwrap().kind(), ColumnKind::Temporal);
        assert_eq!(data.to_values()[0]["day"], Value::String("2025-01-01".into()));
        assert_eq!(data.column("label").unwrap().kind(), ColumnKind::Nominal);
    }

    #[test]
    fn grains_are_guessed_from_the_values() {
        let month = |m| Some(date_millis(NaiveDate::from_ymd_opt(2025, m, 1).unwrap()));
        assert_eq!(guess_grain(&[month(1), month(2), month(3)]), TimeGrain::Month);
        assert_eq!(guess_grain(&[month(1), month(4), month(7)]), TimeGrain::Quarter);
        assert_eq!(guess_grain(&[Some(date_millis(NaiveDate::from_ymd_opt(2025, 1, 2).unwrap()))]), TimeGrain::Day);
    }

    #[test]
    fn unequal_columns_are_refused() {
        let error = ChartData::new(vec![
            Column { name: "a".into(), values: Values::Number(vec![Some(1.0)]) },
            Column { name: "b".into(), values: Values::Number(vec![]) },
        ])
        .unwrap_err();
        assert!(error.to_string().contains("same length"), "{error}");
    }
}
