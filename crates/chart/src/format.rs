//! Number and date formatting for axes, legends and tooltips.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Timelike};

use crate::data::{TimeGrain, ValueFormat};

/// A number as written in data: no grouping, no trailing zeros.
pub(crate) fn plain_number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 { format!("{value:.0}") } else { format!("{value}") }
}

/// Short form for axis ticks and labels: 1.2k, $3.4M, 45%.
pub fn compact(value: f64, format: ValueFormat) -> String {
    compact_with(value, format, 1)
}

/// [`compact`] with up to `decimals` decimals after scaling (ticks 1,250 apart need two).
pub fn compact_with(value: f64, format: ValueFormat, decimals: usize) -> String {
    match format {
        ValueFormat::Percent => {
            let pct = value * 100.0;
            if pct.fract().abs() < 1e-9 || pct.abs() >= 10.0 {
                format!("{pct:.0}%")
            } else {
                format!("{}%", trim_zeros(&format!("{pct:.1}")))
            }
        }
        ValueFormat::Currency => {
            let text = si(value.abs(), decimals);
            if value < 0.0 { format!("-${text}") } else { format!("${text}") }
        }
        ValueFormat::Number => {
            let text = si(value.abs(), decimals);
            if value < 0.0 { format!("-{text}") } else { text }
        }
    }
}

/// Full form for tooltips: 1,234.5, $3,412,345.12, 45.2%.
pub fn full(value: f64, format: ValueFormat) -> String {
    match format {
        ValueFormat::Percent => format!("{}%", trim_zeros(&format!("{:.1}", value * 100.0))),
        ValueFormat::Currency => {
            let sign = if value < 0.0 { "-" } else { "" };
            format!("{sign}${}", grouped(value.abs(), 2))
        }
        ValueFormat::Number => {
            let decimals = if value.fract() == 0.0 { 0 } else { 2 };
            let sign = if value < 0.0 { "-" } else { "" };
            format!("{sign}{}", trim_decimals(&grouped(value.abs(), decimals)))
        }
    }
}

fn si(value: f64, decimals: usize) -> String {
    const UNITS: [(f64, &str); 4] = [(1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")];
    for (scale, unit) in UNITS {
        if value >= scale * 0.9995 {
            let scaled = value / scale;
            let text = if scaled >= 100.0 { format!("{scaled:.0}") } else { format!("{scaled:.decimals$}") };
            return format!("{}{unit}", trim_zeros(&text));
        }
    }
    if value == 0.0 {
        "0".into()
    } else if value >= 100.0 {
        format!("{value:.0}")
    } else if value >= 1.0 {
        trim_zeros(&format!("{value:.1}"))
    } else {
        trim_zeros(&format!("{value:.2}"))
    }
}

fn trim_zeros(text: &str) -> String {
    if text.contains('.') { text.trim_end_matches('0').trim_end_matches('.').to_string() } else { text.to_string() }
}

fn trim_decimals(text: &str) -> String {
    if text.ends_with(".00") { text.trim_end_matches(".00").to_string() } else { text.to_string() }
}

fn grouped(value: f64, decimals: usize) -> String {
    let text = format!("{value:.decimals$}");
    let (int, frac) = text.split_once('.').map_or((text.as_str(), None), |(i, f)| (i, Some(f)));
    let mut out = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    match frac {
        Some(f) => format!("{out}.{f}"),
        None => out,
    }
}

fn datetime(millis: i64) -> Option<NaiveDateTime> {
    DateTime::from_timestamp_millis(millis).map(|d| d.naive_utc())
}

/// A date as `YYYY-MM-DD`, or `YYYY-MM-DDTHH:MM:SS` when it has a time of day.
pub(crate) fn iso_date(millis: i64) -> String {
    match datetime(millis) {
        Some(d) if d.time().num_seconds_from_midnight() == 0 => d.format("%Y-%m-%d").to_string(),
        Some(d) => d.format("%Y-%m-%dT%H:%M:%S").to_string(),
        None => millis.to_string(),
    }
}

/// Parses `YYYY-MM-DD`, `YYYY-MM-DD HH:MM:SS` or `YYYY-MM-DDTHH:MM:SS[.f]` into milliseconds.
pub(crate) fn parse_time(text: &str) -> Option<i64> {
    let text = text.trim();
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Some(crate::data::date_millis(date));
    }
    for pattern in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"] {
        if let Ok(d) = NaiveDateTime::parse_from_str(text, pattern) {
            return Some(d.and_utc().timestamp_millis());
        }
    }
    DateTime::parse_from_rfc3339(text).ok().map(|d| d.naive_utc().and_utc().timestamp_millis())
}

/// A date at a grain, as a reader expects it: "2025-03-04", "Week of Mar 3, 2025", "Mar 2025",
/// "Q1 2025", "2025".
pub fn date_label(millis: i64, grain: TimeGrain) -> String {
    let Some(d) = datetime(millis) else { return millis.to_string() };
    match grain {
        TimeGrain::Day if d.time().num_seconds_from_midnight() != 0 => d.format("%Y-%m-%d %H:%M").to_string(),
        TimeGrain::Day => d.format("%b %-d, %Y").to_string(),
        TimeGrain::Week => format!("Week of {}", d.format("%b %-d, %Y")),
        TimeGrain::Month => d.format("%b %Y").to_string(),
        TimeGrain::Quarter => format!("Q{} {}", (d.month() - 1) / 3 + 1, d.year()),
        TimeGrain::Year => d.year().to_string(),
    }
}

/// A tick label at a step: short, with the year where it changes.
pub(crate) fn tick_label(millis: i64, step: TimeGrain, show_year: bool) -> String {
    let Some(d) = datetime(millis) else { return millis.to_string() };
    match step {
        TimeGrain::Day | TimeGrain::Week => {
            if show_year {
                d.format("%b %-d, %Y").to_string()
            } else {
                d.format("%b %-d").to_string()
            }
        }
        TimeGrain::Month => {
            if show_year {
                d.format("%b %Y").to_string()
            } else {
                d.format("%b").to_string()
            }
        }
        TimeGrain::Quarter => {
            let q = (d.month() - 1) / 3 + 1;
            if show_year { format!("Q{q} {}", d.year()) } else { format!("Q{q}") }
        }
        TimeGrain::Year => d.year().to_string(),
    }
}

/// The year of a time, for deciding where tick labels show it.
pub(crate) fn year_of(millis: i64) -> i32 {
    datetime(millis).map(|d| d.year()).unwrap_or(1970)
}

/// Truncates a label to `max` characters with an ellipsis.
pub fn truncate(label: &str, max: usize) -> String {
    if label.chars().count() <= max {
        label.to_string()
    } else {
        let kept: String = label.chars().take(max.saturating_sub(1)).collect();
        format!("{}…", kept.trim_end())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_numbers_read_like_the_issue_says() {
        assert_eq!(compact(1234.0, ValueFormat::Number), "1.2k");
        assert_eq!(compact(3_400_000.0, ValueFormat::Currency), "$3.4M");
        assert_eq!(compact(0.45, ValueFormat::Percent), "45%");
        assert_eq!(compact(0.055, ValueFormat::Percent), "5.5%");
        assert_eq!(compact(-2500.0, ValueFormat::Currency), "-$2.5k");
        assert_eq!(compact(0.0, ValueFormat::Number), "0");
        assert_eq!(compact(999_999.0, ValueFormat::Number), "1M");
        assert_eq!(compact(250.0, ValueFormat::Number), "250");
        assert_eq!(compact(0.25, ValueFormat::Number), "0.25");
        assert_eq!(compact_with(1250.0, ValueFormat::Number, 2), "1.25k");
    }

    #[test]
    fn full_numbers_are_grouped() {
        assert_eq!(full(1234567.891, ValueFormat::Currency), "$1,234,567.89");
        assert_eq!(full(1234.0, ValueFormat::Number), "1,234");
        assert_eq!(full(0.4567, ValueFormat::Percent), "45.7%");
        assert_eq!(full(-12.5, ValueFormat::Number), "-12.50");
    }

    #[test]
    fn dates_read_per_grain() {
        let t = parse_time("2025-02-01").unwrap();
        assert_eq!(date_label(t, TimeGrain::Month), "Feb 2025");
        assert_eq!(date_label(t, TimeGrain::Quarter), "Q1 2025");
        assert_eq!(date_label(t, TimeGrain::Year), "2025");
        assert_eq!(date_label(t, TimeGrain::Day), "Feb 1, 2025");
        assert_eq!(tick_label(t, TimeGrain::Month, false), "Feb");
        assert_eq!(parse_time("2025-02-01T00:00:00"), Some(t));
        assert_eq!(iso_date(t), "2025-02-01");
        assert_eq!(parse_time("yesterday"), None);
    }

    #[test]
    fn long_labels_are_cut_with_an_ellipsis() {
        assert_eq!(truncate("abcdefghij", 5), "abcd…");
        assert_eq!(truncate("abc", 5), "abc");
    }
}
