//! Fixed sample results, one per chart type, shaped like real answers on the demo warehouse.
//! Tests, benchmarks and the `fixtures` example draw them.

use crate::data::{ChartData, ChartHints, ChartInput, Column, MeasureHint, TimeGrain, ValueFormat, Values};
use crate::format::parse_time;
use crate::spec::ChartKind;

/// A named sample: the input and the chart type asked for (`None` lets the chooser pick).
#[derive(Debug, Clone)]
pub struct Sample {
    /// File-friendly name, e.g. `line_multi`.
    pub name: &'static str,
    /// The chart the chooser should pick for it.
    pub expected: ChartKind,
    /// The chart type asked for in words, if any.
    pub requested: Option<ChartKind>,
    /// The result and its hints.
    pub input: ChartInput,
}

fn text(name: &str, values: &[&str]) -> Column {
    Column { name: name.into(), values: Values::Text(values.iter().map(|v| Some(v.to_string())).collect()) }
}

fn numbers(name: &str, values: &[f64]) -> Column {
    Column { name: name.into(), values: Values::Number(values.iter().map(|v| Some(*v)).collect()) }
}

fn months(name: &str, count: usize) -> Column {
    let values = (0..count).map(|i| parse_time(&format!("{}-{:02}-01", 2025 + i / 12, i % 12 + 1))).collect();
    Column { name: name.into(), values: Values::Time(values) }
}

fn measure(column: &str, label: &str, format: ValueFormat, additive: bool) -> MeasureHint {
    MeasureHint { column: column.into(), label: Some(label.into()), format, additive }
}

fn input(columns: Vec<Column>, hints: ChartHints) -> ChartInput {
    ChartInput::new(ChartData::new(columns).unwrap_or_default(), hints)
}

/// Every sample.
pub fn samples() -> Vec<Sample> {
    let revenue = [
        182_340.5, 195_120.0, 201_880.25, 214_400.0, 209_950.75, 231_600.0, 248_310.0, 244_020.5, 262_700.0, 271_480.0,
        290_150.0, 312_900.0,
    ];
    let channels = ["organic", "paid_search", "referral", "social", "email"];
    let weeks: Vec<Option<i64>> = (0..12).map(|w| parse_time("2025-09-01").map(|t| t + w * 7 * 86_400_000)).collect();
    let mut week_col = Vec::new();
    let mut channel_col = Vec::new();
    let mut signups = Vec::new();
    for (w, week) in weeks.iter().enumerate() {
        for (c, channel) in channels.iter().take(3).enumerate() {
            week_col.push(*week);
            channel_col.push(Some(channel.to_string()));
            signups
                .push(Some(120.0 + 40.0 * c as f64 + (w as f64 * 7.3 + c as f64 * 3.1).sin() * 25.0 + w as f64 * 4.0));
        }
    }
    let countries = [
        "United States of America",
        "United Kingdom of Great Britain",
        "Germany",
        "France",
        "Netherlands (the Kingdom of)",
        "Canada",
        "Australia",
        "Brazil",
        "India",
        "Japan",
        "Spain",
        "Italy",
        "Sweden",
        "Mexico",
        "Poland",
        "Korea, Republic of",
        "Singapore",
        "Ireland",
        "Norway",
        "Denmark",
    ];
    let country_revenue: Vec<f64> = (0..countries.len()).map(|i| 1_450_000.0 / (i as f64 + 1.0).powf(1.1)).collect();
    let priorities = ["low", "normal", "high", "urgent"];
    let statuses = ["open", "pending", "solved"];
    let mut p_col = Vec::new();
    let mut s_col = Vec::new();
    let mut tickets = Vec::new();
    let mut hours = Vec::new();
    for (p, priority) in priorities.iter().enumerate() {
        for (s, status) in statuses.iter().enumerate() {
            p_col.push(*priority);
            s_col.push(*status);
            tickets.push(((4 - p) * 90 + s * 140 + 17) as f64);
            hours.push(30.0 / (p as f64 + 1.0) + s as f64 * 6.5);
        }
    }
    let share = [0.41, 0.27, 0.17, 0.1, 0.05];
    let time_hint = |grain| Some(("month".to_string(), grain));
    vec![
        Sample {
            name: "line",
            expected: ChartKind::Line,
            requested: None,
            input: input(
                vec![months("month", 12), numbers("revenue", &revenue)],
                ChartHints {
                    time: time_hint(TimeGrain::Month),
                    measures: vec![measure("revenue", "Revenue", ValueFormat::Currency, true)],
                    title: Some("Revenue by month".into()),
                    ..ChartHints::default()
                },
            ),
        },
        Sample {
            name: "line_multi",
            expected: ChartKind::Line,
            requested: None,
            input: input(
                vec![
                    Column { name: "week".into(), values: Values::Time(week_col) },
                    Column { name: "channel".into(), values: Values::Text(channel_col) },
                    Column { name: "signups".into(), values: Values::Number(signups) },
                ],
                ChartHints {
                    time: Some(("week".into(), TimeGrain::Week)),
                    measures: vec![measure("signups", "Signups", ValueFormat::Number, true)],
                    dimensions: vec!["channel".into()],
                    title: Some("Signups by week and channel".into()),
                    ..ChartHints::default()
                },
            ),
        },
        Sample {
            name: "area",
            expected: ChartKind::Area,
            requested: Some(ChartKind::Area),
            input: input(
                vec![months("month", 12), numbers("revenue", &revenue)],
                ChartHints {
                    time: time_hint(TimeGrain::Month),
                    measures: vec![measure("revenue", "Revenue", ValueFormat::Currency, true)],
                    title: Some("Revenue by month".into()),
                    ..ChartHints::default()
                },
            ),
        },
        Sample {
            name: "bar",
            expected: ChartKind::Bar,
            requested: None,
            input: input(
                vec![text("channel", &channels), numbers("signups", &[1840.0, 1322.0, 760.0, 544.0, 201.0])],
                ChartHints {
                    measures: vec![measure("signups", "Signups", ValueFormat::Number, true)],
                    dimensions: vec!["channel".into()],
                    title: Some("Signups by channel last month".into()),
                    ..ChartHints::default()
                },
            ),
        },
        Sample {
            name: "horizontal_bar",
            expected: ChartKind::HorizontalBar,
            requested: None,
            input: input(
                vec![text("country", &countries), numbers("revenue", &country_revenue)],
                ChartHints {
                    measures: vec![measure("revenue", "Revenue", ValueFormat::Currency, true)],
                    dimensions: vec!["country".into()],
                    title: Some("Revenue by country this year".into()),
                    ..ChartHints::default()
                },
            ),
        },
        Sample {
            name: "stacked_bar",
            expected: ChartKind::StackedBar,
            requested: None,
            input: input(
                vec![text("priority", &p_col), text("status", &s_col), numbers("tickets", &tickets)],
                ChartHints {
                    measures: vec![measure("tickets", "Tickets", ValueFormat::Number, true)],
                    dimensions: vec!["priority".into(), "status".into()],
                    title: Some("Tickets by priority and status".into()),
                    ..ChartHints::default()
                },
            ),
        },
        Sample {
            name: "grouped_bar",
            expected: ChartKind::GroupedBar,
            requested: None,
            input: input(
                vec![text("priority", &p_col), text("status", &s_col), numbers("avg_hours", &hours)],
                ChartHints {
                    measures: vec![measure("avg_hours", "Average hours to resolve", ValueFormat::Number, false)],
                    dimensions: vec!["priority".into(), "status".into()],
                    title: Some("Average resolution time by priority and status".into()),
                    ..ChartHints::default()
                },
            ),
        },
        Sample {
            name: "scatter",
            expected: ChartKind::Scatter,
            requested: None,
            input: input(
                vec![
                    text("country", &countries[..12]),
                    numbers(
                        "signups",
                        &[5400.0, 3100.0, 2900.0, 2500.0, 1300.0, 1900.0, 1500.0, 1700.0, 2600.0, 1100.0, 900.0, 800.0],
                    ),
                    numbers("revenue", &country_revenue[..12]),
                ],
                ChartHints {
                    measures: vec![
                        measure("signups", "Signups", ValueFormat::Number, true),
                        measure("revenue", "Revenue", ValueFormat::Currency, true),
                    ],
                    dimensions: vec!["country".into()],
                    title: Some("Revenue and signups by country".into()),
                    ..ChartHints::default()
                },
            ),
        },
        Sample {
            name: "pie",
            expected: ChartKind::Pie,
            requested: None,
            input: input(
                vec![text("channel", &channels), numbers("pct_of_signups", &share)],
                ChartHints {
                    measures: vec![measure("pct_of_signups", "Share of signups", ValueFormat::Percent, false)],
                    dimensions: vec!["channel".into()],
                    share: true,
                    title: Some("Share of signups by channel".into()),
                    ..ChartHints::default()
                },
            ),
        },
        Sample {
            name: "donut",
            expected: ChartKind::Donut,
            requested: Some(ChartKind::Donut),
            input: input(
                vec![
                    text("plan", &["starter", "team", "business", "enterprise"]),
                    numbers("mrr", &[48_200.0, 96_500.0, 151_000.0, 233_800.0]),
                ],
                ChartHints {
                    measures: vec![measure("mrr", "MRR", ValueFormat::Currency, true)],
                    dimensions: vec!["plan".into()],
                    title: Some("MRR by plan".into()),
                    ..ChartHints::default()
                },
            ),
        },
    ]
}
