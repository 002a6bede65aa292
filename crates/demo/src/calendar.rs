//! The two years the demo covers and the rhythms of activity inside them: growth, the
//! weekly cycle, the December dip, launch days and office hours.
//!
//! Times are whole seconds since the Unix epoch (UTC) while generating; the Arrow layer
//! turns them into microseconds. Whole seconds keep every value inside the contract's
//! window, whose last instant is 2025-12-31 23:59:59.

use rand::Rng;

use crate::random::{DemoRng, standard_normal};

/// Seconds in a day.
pub(crate) const DAY: i64 = 86_400;
/// Seconds in an hour.
pub(crate) const HOUR: i64 = 3_600;
/// First instant of the data: 2024-01-01 00:00:00.
pub(crate) const START: i64 = at(2024, 1, 1);
/// Days from 2024-01-01 to 2025-12-31 inclusive (2024 is a leap year).
pub(crate) const DAYS: usize = 731;
/// Last instant of the data: 2025-12-31 23:59:59.
pub(crate) const END: i64 = START + DAYS as i64 * DAY - 1;

/// Midnight UTC of a calendar date, in seconds since the epoch.
pub(crate) const fn at(year: i64, month: i64, day: i64) -> i64 {
    days_from_civil(year, month, day) * DAY
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm), so that
/// fixed dates need no fallible parsing.
const fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let year_of_era = y - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// (year, month, day) of a count of days since 1970-01-01.
const fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let day_of_era = z - era * 146_097;
    let year_of_era = (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 { month_from_march + 3 } else { month_from_march - 9 };
    let year = year_of_era + era * 400 + if month <= 2 { 1 } else { 0 };
    (year, month, day)
}

/// `t` moved by whole calendar months, keeping the time of day; the day of month is
/// clamped to the target month's length (Jan 31 + 1 month = Feb 29 in 2024).
pub(crate) fn add_months(t: i64, months: i64) -> i64 {
    let days = t.div_euclid(DAY);
    let seconds_of_day = t.rem_euclid(DAY);
    let (year, month, day) = civil_from_days(days);
    let total = year * 12 + (month - 1) + months;
    let (year, month) = (total.div_euclid(12), total.rem_euclid(12) + 1);
    let day = day.min(days_in_month(year, month));
    days_from_civil(year, month, day) * DAY + seconds_of_day
}

/// Day of the month (1..=31) of `t`.
pub(crate) fn day_of_month(t: i64) -> i64 {
    civil_from_days(t.div_euclid(DAY)).2
}

const fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Index (0-based, from 2024-01-01) of the day holding `t`, clamped to the window.
pub(crate) fn day_index(t: i64) -> usize {
    (t - START).div_euclid(DAY).clamp(0, DAYS as i64 - 1) as usize
}

/// Midnight of a day index.
pub(crate) fn day_start(day: usize) -> i64 {
    START + day as i64 * DAY
}

/// Calendar facts about one day of the window.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DayInfo {
    /// 0 = Monday ... 6 = Sunday.
    pub(crate) weekday: usize,
    pub(crate) month: u32,
    pub(crate) day_of_month: u32,
}

impl DayInfo {
    fn of(day: usize) -> Self {
        let days_since_epoch = day_start(day).div_euclid(DAY);
        let (_, month, day_of_month) = civil_from_days(days_since_epoch);
        // 1970-01-01 was a Thursday, index 3 when Monday is 0.
        let weekday = (days_since_epoch + 3).rem_euclid(7) as usize;
        DayInfo { weekday, month: month as u32, day_of_month: day_of_month as u32 }
    }
}

/// Position of a day in the window, 0.0 on 2024-01-01 and 1.0 on 2025-12-31: drives the
/// slow shifts (channel mixes, mobile share, support speed).
pub(crate) fn progress(t: i64) -> f64 {
    ((t - START) as f64 / (END - START) as f64).clamp(0.0, 1.0)
}

/// Activity on weekdays versus weekends, for work done at the office (creating accounts,
/// signing up, filing tickets). Monday first.
const WEEKLY_WORK: [f64; 7] = [1.0, 1.05, 1.04, 0.99, 0.86, 0.33, 0.27];
/// Product usage by weekday: weekends are quiet but less so than for office work.
const WEEKLY_USAGE: [f64; 7] = [1.0, 1.04, 1.03, 0.98, 0.84, 0.44, 0.38];
/// Ticket volume by weekday: customers write in on working days.
const WEEKLY_SUPPORT: [f64; 7] = [1.12, 1.05, 1.0, 0.98, 0.9, 0.36, 0.3];

/// Business is slow over the holidays: December tapers into the Christmas week, and the
/// first days of January are quiet too.
pub(crate) fn holiday_factor(info: DayInfo) -> f64 {
    match (info.month, info.day_of_month) {
        (12, 1..=14) => 0.9,
        (12, 15..=20) => 0.78,
        (12, 21..=23) => 0.62,
        (12, 24..=26) => 0.38,
        (12, _) => 0.5,
        (1, 1) => 0.42,
        (1, 2..=4) => 0.78,
        _ => 1.0,
    }
}

/// Days of marketing pushes (a public launch, a conference, the AI assistant launch, a fall
/// release) when account creation and signups spike.
pub(crate) const CAMPAIGN_DAYS: [i64; 4] = [at(2024, 3, 12), at(2024, 9, 17), at(2025, 3, 4), at(2025, 10, 7)];

/// The AI assistant feature ships on this day: no `ai_assistant` usage before it.
pub(crate) const AI_ASSISTANT_LAUNCH: i64 = at(2025, 3, 4);

/// Extra signup interest around a campaign day (1.0 on ordinary days).
pub(crate) fn campaign_factor(day: usize) -> f64 {
    let t = day_start(day);
    CAMPAIGN_DAYS
        .iter()
        .map(|&c| match (t - c).div_euclid(DAY) {
            0 => 2.6,
            1 => 1.7,
            2 => 1.25,
            _ => 1.0,
        })
        .fold(1.0, f64::max)
}

/// Company growth: new business at the end of 2025 runs at this multiple of January 2024.
const GROWTH_OVER_WINDOW: f64 = 2.6;

fn growth(day: usize) -> f64 {
    (GROWTH_OVER_WINDOW.ln() * day as f64 / (DAYS - 1) as f64).exp()
}

/// A day-by-day intensity over the window, used to place events in time: the probability
/// that a sampled instant falls on a day is proportional to the day's weight.
#[derive(Debug, Clone)]
pub(crate) struct DayCurve {
    weights: Vec<f64>,
    /// `prefix[d]` = sum of the weights of days before `d`; `DAYS + 1` entries.
    prefix: Vec<f64>,
}

impl DayCurve {
    fn new(weights: Vec<f64>) -> Self {
        let mut prefix = Vec::with_capacity(weights.len() + 1);
        let mut total = 0.0;
        prefix.push(0.0);
        for w in &weights {
            total += w;
            prefix.push(total);
        }
        DayCurve { weights, prefix }
    }

    /// Integrated weight from the start of the window to `t`, linear within a day.
    fn cumulative(&self, t: i64) -> f64 {
        let offset = (t - START).clamp(0, DAYS as i64 * DAY);
        let day = (offset / DAY) as usize;
        if day >= DAYS {
            return self.prefix[DAYS];
        }
        self.prefix[day] + self.weights[day] * (offset % DAY) as f64 / DAY as f64
    }

    /// Integrated weight over `[lo, hi]`, in "average days": a span of ordinary days weighs
    /// about one per day.
    pub(crate) fn mass(&self, lo: i64, hi: i64) -> f64 {
        if hi <= lo { 0.0 } else { (self.cumulative(hi) - self.cumulative(lo)).max(0.0) }
    }

    /// A day in `[lo, hi]` drawn in proportion to the curve.
    fn sample_day(&self, rng: &mut DemoRng, lo: i64, hi: i64) -> usize {
        let a = self.cumulative(lo);
        let b = self.cumulative(hi);
        let u = a + rng.random::<f64>() * (b - a);
        let day = self.prefix.partition_point(|&p| p <= u).saturating_sub(1);
        day.clamp(day_index(lo), day_index(hi))
    }

    /// An instant in `[lo, hi]`: the day follows the curve, the hour follows `hours` in the
    /// local time of `utc_offset_minutes`.
    pub(crate) fn sample_time(
        &self,
        rng: &mut DemoRng,
        lo: i64,
        hi: i64,
        hours: &HourProfile,
        utc_offset_minutes: i32,
    ) -> i64 {
        let lo = lo.max(START);
        let hi = hi.min(END);
        if hi <= lo {
            return lo.min(END);
        }
        for _ in 0..8 {
            let day = self.sample_day(rng, lo, hi);
            let t = hours.time_in_day(rng, day, utc_offset_minutes);
            if (lo..=hi).contains(&t) {
                return t;
            }
        }
        // The window is too short for office hours to fit (e.g. a few minutes at night).
        rng.random_range(lo..=hi)
    }
}

/// The share of activity in each local hour of the day.
#[derive(Debug, Clone)]
pub(crate) struct HourProfile {
    cumulative: [f64; 24],
}

impl HourProfile {
    const fn new(weights: [f64; 24]) -> Self {
        let mut cumulative = [0.0; 24];
        let mut total = 0.0;
        let mut h = 0;
        while h < 24 {
            total += weights[h];
            cumulative[h] = total;
            h += 1;
        }
        HourProfile { cumulative }
    }

    /// A UTC instant on local day `day` (a day index) at an hour drawn from the profile.
    pub(crate) fn time_in_day(&self, rng: &mut DemoRng, day: usize, utc_offset_minutes: i32) -> i64 {
        let u = rng.random::<f64>() * self.cumulative[23];
        let hour = self.cumulative.partition_point(|&c| c <= u).min(23) as i64;
        day_start(day) + hour * HOUR + rng.random_range(0..HOUR) - i64::from(utc_offset_minutes) * 60
    }
}

/// Office work: a morning ramp, a lunch dip, an afternoon peak, quiet nights.
pub(crate) const WORK_HOURS: HourProfile = HourProfile::new([
    0.25, 0.15, 0.1, 0.08, 0.1, 0.2, 0.5, 1.3, 3.2, 5.6, 6.6, 6.2, 4.6, 5.4, 6.2, 5.9, 5.0, 3.6, 2.2, 1.6, 1.3, 1.0,
    0.7, 0.45,
]);

/// Product usage: office hours plus an evening tail on phones.
pub(crate) const USAGE_HOURS: HourProfile = HourProfile::new([
    0.5, 0.3, 0.2, 0.15, 0.15, 0.3, 0.8, 2.0, 4.2, 6.0, 6.5, 6.2, 5.0, 5.6, 6.1, 5.8, 5.0, 3.9, 2.8, 2.5, 2.6, 2.3,
    1.6, 0.9,
]);

/// The day curves of the demo company, each with its own small day-to-day noise.
#[derive(Debug, Clone)]
pub(crate) struct Calendar {
    /// New business (accounts, signups): growth, weekly cycle, holidays, campaigns.
    pub(crate) acquisition: DayCurve,
    /// Product usage per active user: weekly cycle, holidays, stickier product over time.
    pub(crate) usage: DayCurve,
    /// Support tickets per user: weekly cycle and holidays.
    pub(crate) support: DayCurve,
    /// Work without campaigns or growth (invites of colleagues, experiment exposure).
    pub(crate) work: DayCurve,
}

impl Calendar {
    pub(crate) fn new(rng: &mut DemoRng) -> Self {
        let infos: Vec<DayInfo> = (0..DAYS).map(DayInfo::of).collect();
        let mut noise = |sigma: f64| -> Vec<f64> { (0..DAYS).map(|_| (sigma * standard_normal(rng)).exp()).collect() };
        let acquisition_noise = noise(0.12);
        let usage_noise = noise(0.05);
        let support_noise = noise(0.1);
        let acquisition = (0..DAYS)
            .map(|d| {
                growth(d)
                    * WEEKLY_WORK[infos[d].weekday]
                    * holiday_factor(infos[d])
                    * campaign_factor(d)
                    * acquisition_noise[d]
            })
            .collect();
        let usage = (0..DAYS)
            .map(|d| {
                // The product gets stickier, with a step when the AI assistant ships.
                let stickiness = 0.85 + 0.25 * d as f64 / (DAYS - 1) as f64;
                let ai_boost = if day_start(d) >= AI_ASSISTANT_LAUNCH { 1.08 } else { 1.0 };
                WEEKLY_USAGE[infos[d].weekday] * holiday_factor(infos[d]) * stickiness * ai_boost * usage_noise[d]
            })
            .collect();
        let support =
            (0..DAYS).map(|d| WEEKLY_SUPPORT[infos[d].weekday] * holiday_factor(infos[d]) * support_noise[d]).collect();
        let work = (0..DAYS).map(|d| WEEKLY_WORK[infos[d].weekday] * holiday_factor(infos[d])).collect();
        Calendar {
            acquisition: DayCurve::new(acquisition),
            usage: DayCurve::new(usage),
            support: DayCurve::new(support),
            work: DayCurve::new(work),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::stream;

    #[test]
    fn window_bounds_are_the_contract_dates() {
        assert_eq!(START, 1_704_067_200, "2024-01-01T00:00:00Z");
        assert_eq!(END + 1, 1_767_225_600, "2026-01-01T00:00:00Z");
        assert_eq!(civil_from_days(START / DAY), (2024, 1, 1));
        assert_eq!(civil_from_days(END / DAY), (2025, 12, 31));
        assert_eq!(civil_from_days(at(2024, 2, 29) / DAY), (2024, 2, 29));
    }

    #[test]
    fn adding_months_clamps_the_day() {
        let t = at(2024, 1, 31) + 10 * HOUR;
        assert_eq!(add_months(t, 1), at(2024, 2, 29) + 10 * HOUR);
        assert_eq!(add_months(t, 13), at(2025, 2, 28) + 10 * HOUR);
        assert_eq!(add_months(at(2024, 11, 15), 2), at(2025, 1, 15));
        assert_eq!(add_months(at(2024, 3, 1), 12), at(2025, 3, 1));
    }

    #[test]
    fn weekdays_start_on_monday() {
        // 2024-01-01 was a Monday, 2025-12-31 a Wednesday.
        assert_eq!(DayInfo::of(0).weekday, 0);
        assert_eq!(DayInfo::of(DAYS - 1).weekday, 2);
        assert_eq!(DayInfo::of(day_index(at(2024, 12, 25))).month, 12);
    }

    #[test]
    fn sampled_times_stay_inside_the_bounds() {
        let mut rng = stream(7, 0);
        let calendar = Calendar::new(&mut rng);
        let lo = at(2025, 6, 3) + 5 * HOUR;
        let hi = lo + 2 * DAY;
        for offset in [-480, 0, 330, 600] {
            for _ in 0..500 {
                let t = calendar.usage.sample_time(&mut rng, lo, hi, &USAGE_HOURS, offset);
                assert!((lo..=hi).contains(&t));
            }
        }
        let t = calendar.work.sample_time(&mut rng, END - 10, END + 1000, &WORK_HOURS, -300);
        assert!((END - 10..=END).contains(&t));
    }

    #[test]
    fn weekends_and_december_weigh_less() {
        let mut rng = stream(7, 0);
        let calendar = Calendar::new(&mut rng);
        let week = at(2025, 6, 2);
        let weekday = calendar.work.mass(week, week + DAY);
        let sunday = calendar.work.mass(week + 6 * DAY, week + 7 * DAY);
        assert!(sunday < 0.5 * weekday);
        let november = calendar.work.mass(at(2025, 11, 1), at(2025, 12, 1)) / 30.0;
        let december = calendar.work.mass(at(2025, 12, 1), at(2026, 1, 1)) / 31.0;
        assert!(december < 0.85 * november);
    }
}
