//! The typed semantic query a question is parsed into, before it becomes SQL.

use serde::{Deserialize, Serialize};

use crate::time::{TimeGrain, TimeRange};

/// What to aggregate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Measure {
    /// A metric of the semantic layer, by name.
    Metric {
        /// Metric name.
        name: String,
    },
    /// An aggregate of a column that is not a metric ("average seats").
    Aggregate {
        /// The aggregate function.
        func: AggregateFunc,
        /// The table.
        table: String,
        /// The column; `None` counts rows.
        column: Option<String>,
    },
    /// An aggregate of the time elapsed between two timestamp columns of one row ("days to
    /// pay": from `issued_at` to `paid_at`), in `unit`s.
    Elapsed {
        /// The aggregate function.
        func: AggregateFunc,
        /// The table.
        table: String,
        /// The column the span starts at.
        from: String,
        /// The column the span ends at.
        to: String,
        /// The unit the span is counted in.
        unit: ElapsedUnit,
    },
}

/// The unit an elapsed time is counted in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ElapsedUnit {
    /// Minutes.
    Minutes,
    /// Hours.
    Hours,
    /// Days.
    Days,
}

impl ElapsedUnit {
    /// Seconds in one unit.
    pub fn seconds(self) -> u32 {
        match self {
            ElapsedUnit::Minutes => 60,
            ElapsedUnit::Hours => 3_600,
            ElapsedUnit::Days => 86_400,
        }
    }

    /// The unit's name, plural.
    pub fn name(self) -> &'static str {
        match self {
            ElapsedUnit::Minutes => "minutes",
            ElapsedUnit::Hours => "hours",
            ElapsedUnit::Days => "days",
        }
    }

    /// The SQL of the span from `from` to `to` (qualified column names) in this unit.
    pub fn span_sql(self, from: &str, to: &str) -> String {
        format!("(date_part('epoch', {to}) - date_part('epoch', {from})) / {}.0", self.seconds())
    }
}

/// How the first measure is set against the second.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ratio {
    /// `100 * first / second`: "refunds as a percentage of revenue".
    Percent,
    /// `first / second`: "events per active user".
    Per,
}

/// Aggregate functions for ad-hoc measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AggregateFunc {
    /// `AVG`
    Avg,
    /// `SUM`
    Sum,
    /// `MIN`
    Min,
    /// `MAX`
    Max,
    /// `MEDIAN`
    Median,
    /// `COUNT(DISTINCT ..)`
    CountDistinct,
    /// `COUNT(*)`
    Count,
}

impl AggregateFunc {
    /// The SQL function and the prefix of the output column name.
    pub fn sql(self) -> (&'static str, &'static str) {
        match self {
            AggregateFunc::Avg => ("AVG", "avg"),
            AggregateFunc::Sum => ("SUM", "total"),
            AggregateFunc::Min => ("MIN", "min"),
            AggregateFunc::Max => ("MAX", "max"),
            AggregateFunc::Median => ("MEDIAN", "median"),
            AggregateFunc::CountDistinct => ("COUNT", "distinct"),
            AggregateFunc::Count => ("COUNT", "count"),
        }
    }
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CompareOp {
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `=`
    Eq,
}

impl CompareOp {
    /// The SQL operator.
    pub fn sql(self) -> &'static str {
        match self {
            CompareOp::Gt => ">",
            CompareOp::Ge => ">=",
            CompareOp::Lt => "<",
            CompareOp::Le => "<=",
            CompareOp::Eq => "=",
        }
    }
}

/// A condition on rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Filter {
    /// `dimension IN (values)` or `NOT IN`.
    Values {
        /// Dimension name.
        dimension: String,
        /// Stored values.
        values: Vec<String>,
        /// Whether the values are excluded.
        negated: bool,
    },
    /// A named segment of the semantic layer.
    Segment {
        /// Segment name.
        name: String,
    },
    /// `table.column op number`.
    Compare {
        /// The table.
        table: String,
        /// The column.
        column: String,
        /// The operator.
        op: CompareOp,
        /// The number, as written.
        value: String,
    },
    /// A SQL condition on a table, e.g. a metric's own filter applied to an aggregate.
    Sql {
        /// The table.
        table: String,
        /// The condition.
        condition: String,
    },
    /// `table.column IS [NOT] NULL`.
    Null {
        /// The table.
        table: String,
        /// The column.
        column: String,
        /// `IS NULL` when true.
        is_null: bool,
    },
}

/// A condition on the measure after grouping (`HAVING`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeasureFilter {
    /// The operator.
    pub op: CompareOp,
    /// The number, as written.
    pub value: String,
}

/// Ordering and limiting of groups.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ranking {
    /// Largest first.
    pub descending: bool,
    /// How many groups to keep; `None` keeps all, ordered.
    pub limit: Option<u64>,
}

/// A parsed question.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SemanticQuery {
    /// What to aggregate (one or more, on the same table).
    pub measures: Vec<Measure>,
    /// Dimensions to group by, by name.
    pub group_by: Vec<String>,
    /// Time grain to group by.
    pub grain: Option<TimeGrain>,
    /// The time window.
    pub time_range: Option<TimeRange>,
    /// Row conditions.
    pub filters: Vec<Filter>,
    /// Conditions on the measure per group.
    pub having: Vec<MeasureFilter>,
    /// Ordering and top-N.
    pub ranking: Option<Ranking>,
    /// Show each group's share of the total (percent) instead of, or beside, the measure.
    pub share: bool,
    /// The time column the window and grain apply to, when the question names the event
    /// ("invoices paid last month" is by `paid_at`); otherwise the measure's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_column: Option<String>,
    /// Tables the question names ("users from Australia"): a dimension on several tables
    /// equally close to the measure is taken from one of these.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub named_tables: Vec<String>,
    /// Windows set side by side ("2025 vs 2024", "this quarter vs last"): each measure is
    /// computed once per window, as a column of its own, instead of over `time_range`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub periods: Vec<TimeRange>,
    /// The first measure set against the second, instead of both side by side.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ratio: Option<Ratio>,
    /// Rows asked for rather than measures ("list the names of singers from France"): when
    /// set, `measures`, `group_by` and `ranking` are empty and this says what to select.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<RowSelect>,
}

/// A column of a table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnRef {
    /// The table.
    pub table: String,
    /// The column.
    pub column: String,
}

/// One output of a row question.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RowItem {
    /// A column as stored.
    Column(ColumnRef),
    /// An aggregate of a column (of rows when `column` is `None`), over all rows or per group.
    Aggregate {
        /// The aggregate function.
        func: AggregateFunc,
        /// The column; `None` counts rows.
        column: Option<ColumnRef>,
    },
}

/// How the rows of a row question are ordered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RowOrder {
    /// What to order by.
    pub item: RowItem,
    /// Largest first.
    pub descending: bool,
}

/// What a row question selects: columns and aggregates of one table (and the tables it joins
/// many-to-one), distinct or not, grouped, ordered, limited. Its row conditions are the
/// query's `filters` and `time_range`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RowSelect {
    /// The table the rows are of.
    pub table: String,
    /// The outputs, in order.
    pub items: Vec<RowItem>,
    /// Only distinct rows ("the different countries").
    pub distinct: bool,
    /// Columns to group by (the aggregates are then per group).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub group_by: Vec<ColumnRef>,
    /// The ordering.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<RowOrder>,
    /// How many rows to keep.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
    /// A condition on the count of rows per group ("templates used by more than one document").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub having: Option<MeasureFilter>,
}

impl SemanticQuery {
    /// An empty query.
    pub fn empty() -> Self {
        Self {
            measures: Vec::new(),
            group_by: Vec::new(),
            grain: None,
            time_range: None,
            filters: Vec::new(),
            having: Vec::new(),
            ranking: None,
            share: false,
            time_column: None,
            named_tables: Vec::new(),
            periods: Vec::new(),
            ratio: None,
            rows: None,
        }
    }
}

/// The aggregate and column of a metric expression that sums or averages one column
/// (`SUM(amount_usd)`, `avg( csat_score )`); `None` for anything else.
pub(crate) fn column_aggregate(expression: &str) -> Option<(AggregateFunc, String)> {
    let expression = expression.replace(' ', "").to_lowercase();
    [("sum(", AggregateFunc::Sum), ("avg(", AggregateFunc::Avg)].into_iter().find_map(|(prefix, func)| {
        let column = expression.strip_prefix(prefix)?.strip_suffix(')')?;
        column.chars().all(|c| c.is_ascii_alphanumeric() || c == '_').then(|| (func, column.to_string()))
    })
}

/// Whether a metric expression counts rows (`COUNT(*)`, any spacing or case).
pub(crate) fn counts_rows(expression: &str) -> bool {
    expression.replace(' ', "").eq_ignore_ascii_case("count(*)")
}

/// The column a metric expression sums, if it sums one column.
pub(crate) fn summed_column(expression: &str) -> Option<String> {
    column_aggregate(expression).filter(|(func, _)| *func == AggregateFunc::Sum).map(|(_, column)| column)
}
