//! Scales and ticks: nice numbers for measures, calendar steps for time.

use chrono::{DateTime, Datelike, Months, NaiveDate};

use crate::data::{TimeGrain, date_millis};
use crate::format;

/// Nice ticks covering `[min, max]`: the extended domain and the tick values.
pub(crate) fn nice_ticks(min: f64, max: f64, target: usize) -> (f64, f64, Vec<f64>) {
    let (mut min, mut max) = if min.is_finite() && max.is_finite() { (min, max) } else { (0.0, 1.0) };
    if min > max {
        std::mem::swap(&mut min, &mut max);
    }
    if (max - min).abs() < f64::EPSILON * max.abs().max(1.0) {
        if min == 0.0 {
            max = 1.0;
        } else if min > 0.0 {
            min = 0.0;
        } else {
            max = 0.0;
        }
    }
    let span = max - min;
    let raw = span / target.max(2) as f64;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0].iter().map(|m| m * magnitude).find(|s| *s >= raw).unwrap_or(10.0 * magnitude);
    let start = (min / step).floor() * step;
    let end = (max / step).ceil() * step;
    let count = ((end - start) / step).round() as usize;
    let ticks = (0..=count.min(50))
        .map(|i| start + i as f64 * step)
        .map(|t| if t.abs() < step * 1e-9 { 0.0 } else { t })
        .collect();
    (start, end, ticks)
}

fn to_date(millis: i64) -> NaiveDate {
    DateTime::from_timestamp_millis(millis).map(|d| d.date_naive()).unwrap_or_default()
}

/// A calendar step between ticks.
#[derive(Debug, Clone, Copy)]
enum Step {
    Days(u32),
    Weeks(u32),
    Months(u32),
    Years(u32),
}

impl Step {
    fn days(self) -> f64 {
        match self {
            Step::Days(n) => f64::from(n),
            Step::Weeks(n) => 7.0 * f64::from(n),
            Step::Months(n) => 30.4 * f64::from(n),
            Step::Years(n) => 365.25 * f64::from(n),
        }
    }

    fn label_grain(self, data: TimeGrain) -> TimeGrain {
        match self {
            Step::Days(_) | Step::Weeks(_) => TimeGrain::Day,
            Step::Months(3) | Step::Months(6) if data == TimeGrain::Quarter => TimeGrain::Quarter,
            Step::Months(_) => TimeGrain::Month,
            Step::Years(_) => TimeGrain::Year,
        }
    }

    /// The first boundary at or after `date`.
    fn align(self, date: NaiveDate) -> NaiveDate {
        let first_of_month = NaiveDate::from_ymd_opt(date.year(), date.month(), 1).unwrap_or(date);
        let up = |d: NaiveDate| if d < date { None } else { Some(d) };
        match self {
            Step::Days(_) => date,
            Step::Weeks(_) => {
                let back = date.weekday().num_days_from_monday();
                let monday = date - chrono::Days::new(u64::from(back));
                up(monday).unwrap_or(monday + chrono::Days::new(7))
            }
            Step::Months(n) => {
                let mut d = first_of_month;
                while d < date || !(d.month() - 1).is_multiple_of(n) {
                    d = d + Months::new(1);
                }
                d
            }
            Step::Years(n) => {
                let mut year = date.year();
                if NaiveDate::from_ymd_opt(year, 1, 1).is_some_and(|d| d < date) {
                    year += 1;
                }
                while year.rem_euclid(n as i32) != 0 {
                    year += 1;
                }
                NaiveDate::from_ymd_opt(year, 1, 1).unwrap_or(date)
            }
        }
    }

    fn next(self, date: NaiveDate) -> NaiveDate {
        match self {
            Step::Days(n) => date + chrono::Days::new(u64::from(n)),
            Step::Weeks(n) => date + chrono::Days::new(7 * u64::from(n)),
            Step::Months(n) => date + Months::new(n),
            Step::Years(n) => date + Months::new(12 * n),
        }
    }
}

/// Ticks for a time axis over `[min, max]` at most `max_ticks`, no finer than the data's
/// grain, labelled to suit the step (days, months, quarters, years), with the year shown
/// where it changes.
pub(crate) fn time_ticks(min: i64, max: i64, grain: TimeGrain, max_ticks: usize) -> Vec<(i64, String)> {
    const STEPS: [Step; 16] = [
        Step::Days(1),
        Step::Days(2),
        Step::Weeks(1),
        Step::Weeks(2),
        Step::Months(1),
        Step::Months(2),
        Step::Months(3),
        Step::Months(6),
        Step::Years(1),
        Step::Years(2),
        Step::Years(5),
        Step::Years(10),
        Step::Years(25),
        Step::Years(50),
        Step::Years(100),
        Step::Years(500),
    ];
    let span_days = (max - min) as f64 / 86_400_000.0;
    let max_ticks = max_ticks.max(2);
    let step = STEPS
        .iter()
        .copied()
        .filter(|s| s.days() >= grain.days() * 0.9)
        .filter(|s| grain != TimeGrain::Quarter || !matches!(s, Step::Months(1) | Step::Months(2)))
        .find(|s| span_days / s.days() < max_ticks as f64)
        .unwrap_or(Step::Years(1000));
    let end = to_date(max);
    let mut date = step.align(to_date(min));
    let mut ticks = Vec::new();
    let mut last_year = None;
    let label_grain = step.label_grain(grain);
    while date <= end && ticks.len() <= max_ticks {
        let millis = date_millis(date);
        let year = format::year_of(millis);
        let show_year = last_year != Some(year) && label_grain != TimeGrain::Year;
        ticks.push((millis, format::tick_label(millis, label_grain, show_year)));
        last_year = Some(year);
        let next = step.next(date);
        if next <= date {
            break;
        }
        date = next;
    }
    ticks
}

/// One step of a grain after `millis` (for padding single-point time domains).
pub(crate) fn grain_after(millis: i64, grain: TimeGrain) -> i64 {
    let date = to_date(millis);
    let next = match grain {
        TimeGrain::Day => date + chrono::Days::new(1),
        TimeGrain::Week => date + chrono::Days::new(7),
        TimeGrain::Month => date + Months::new(1),
        TimeGrain::Quarter => date + Months::new(3),
        TimeGrain::Year => date + Months::new(12),
    };
    millis + (date_millis(next) - date_millis(date))
}

/// Truncates a time to the start of its bucket.
pub(crate) fn truncate_time(millis: i64, grain: TimeGrain) -> i64 {
    let date = to_date(millis);
    let start = match grain {
        TimeGrain::Day => date,
        TimeGrain::Week => date - chrono::Days::new(u64::from(date.weekday().num_days_from_monday())),
        TimeGrain::Month => NaiveDate::from_ymd_opt(date.year(), date.month(), 1).unwrap_or(date),
        TimeGrain::Quarter => NaiveDate::from_ymd_opt(date.year(), (date.month() - 1) / 3 * 3 + 1, 1).unwrap_or(date),
        TimeGrain::Year => NaiveDate::from_ymd_opt(date.year(), 1, 1).unwrap_or(date),
    };
    date_millis(start)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> i64 {
        date_millis(NaiveDate::from_ymd_opt(y, m, d).unwrap())
    }

    #[test]
    fn nice_ticks_cover_the_data_and_zero_only_domains() {
        let (lo, hi, ticks) = nice_ticks(0.0, 97.0, 5);
        assert_eq!((lo, hi), (0.0, 100.0));
        assert_eq!(ticks, vec![0.0, 20.0, 40.0, 60.0, 80.0, 100.0]);
        let (lo, hi, _) = nice_ticks(0.0, 0.0, 5);
        assert_eq!((lo, hi), (0.0, 1.0));
        let (lo, hi, _) = nice_ticks(-35.0, 12.0, 5);
        assert!(lo <= -35.0 && hi >= 12.0);
        let (_, _, ticks) = nice_ticks(f64::NAN, 1.0, 5);
        assert!(!ticks.is_empty());
    }

    #[test]
    fn time_ticks_suit_the_grain() {
        let months = time_ticks(day(2025, 1, 1), day(2025, 12, 1), TimeGrain::Month, 12);
        assert_eq!(months.len(), 12);
        assert_eq!(months[0].1, "Jan 2025");
        assert_eq!(months[1].1, "Feb");
        let quarters = time_ticks(day(2024, 1, 1), day(2025, 10, 1), TimeGrain::Quarter, 10);
        assert_eq!(
            quarters.iter().map(|t| t.1.as_str()).collect::<Vec<_>>(),
            ["Q1 2024", "Q2", "Q3", "Q4", "Q1 2025", "Q2", "Q3", "Q4"]
        );
        let days = time_ticks(day(2025, 3, 1), day(2025, 3, 31), TimeGrain::Day, 6);
        assert!(days.len() <= 6 && days.len() >= 3, "{days:?}");
        assert_eq!(days[0].1, "Mar 3, 2025", "weekly ticks start on a Monday");
        let years = time_ticks(day(2015, 1, 1), day(2025, 1, 1), TimeGrain::Year, 6);
        assert_eq!(years.iter().map(|t| t.1.as_str()).collect::<Vec<_>>(), ["2016", "2018", "2020", "2022", "2024"]);
    }

    #[test]
    fn times_truncate_to_their_bucket() {
        assert_eq!(truncate_time(day(2025, 5, 17), TimeGrain::Quarter), day(2025, 4, 1));
        assert_eq!(truncate_time(day(2025, 5, 17), TimeGrain::Week), day(2025, 5, 12));
        assert_eq!(grain_after(day(2025, 1, 31), TimeGrain::Month), day(2025, 2, 28));
    }
}
