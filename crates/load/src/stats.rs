//! The numbers of a run: latency percentiles, the least-squares slope of the server's memory,
//! and the rule that calls memory flat.

use std::time::Duration;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// Latencies above this are clamped: no request of a load run should take an hour.
const MAX_LATENCY_US: u64 = 3_600_000_000;

/// Request latencies, recorded in microseconds with three significant digits.
#[derive(Debug, Clone)]
pub struct Latencies(Histogram<u64>);

impl Default for Latencies {
    fn default() -> Self {
        Self(Histogram::new_with_bounds(1, MAX_LATENCY_US, 3).expect("static histogram bounds are valid"))
    }
}

impl Latencies {
    /// Records one request's latency.
    pub fn record(&mut self, latency: Duration) {
        let us = u64::try_from(latency.as_micros()).unwrap_or(MAX_LATENCY_US).clamp(1, MAX_LATENCY_US);
        self.0.saturating_record(us);
    }

    /// Adds every latency of `other`.
    pub fn merge(&mut self, other: &Latencies) {
        // Both histograms have the same bounds, so adding cannot fail.
        let _ = self.0.add(&other.0);
    }

    /// How many latencies were recorded.
    pub fn count(&self) -> u64 {
        self.0.len()
    }

    /// The percentiles of what was recorded.
    pub fn summary(&self) -> LatencySummary {
        let ms = |us: u64| us as f64 / 1000.0;
        if self.0.is_empty() {
            return LatencySummary::default();
        }
        LatencySummary {
            count: self.0.len(),
            mean_ms: self.0.mean() / 1000.0,
            p50_ms: ms(self.0.value_at_quantile(0.50)),
            p90_ms: ms(self.0.value_at_quantile(0.90)),
            p95_ms: ms(self.0.value_at_quantile(0.95)),
            p99_ms: ms(self.0.value_at_quantile(0.99)),
            p999_ms: ms(self.0.value_at_quantile(0.999)),
            max_ms: ms(self.0.max()),
        }
    }
}

/// Latency percentiles in milliseconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencySummary {
    /// Requests measured.
    pub count: u64,
    /// Mean.
    pub mean_ms: f64,
    /// Median.
    pub p50_ms: f64,
    /// 90th percentile.
    pub p90_ms: f64,
    /// 95th percentile.
    pub p95_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// 99.9th percentile.
    pub p999_ms: f64,
    /// Slowest.
    pub max_ms: f64,
}

/// The slope of the least-squares line through `points` (x, y), or `None` with fewer than
/// two distinct x values.
pub fn least_squares_slope(points: &[(f64, f64)]) -> Option<f64> {
    let n = points.len() as f64;
    if points.len() < 2 {
        return None;
    }
    let mean_x = points.iter().map(|p| p.0).sum::<f64>() / n;
    let mean_y = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mean_x).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mean_x) * (p.1 - mean_y)).sum();
    (sxx > f64::EPSILON).then(|| sxy / sxx)
}

/// One reading of the server's memory, from `/proc/PID/status`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MemorySample {
    /// Seconds since the run started.
    pub at_secs: f64,
    /// Resident set size (VmRSS), KiB.
    pub rss_kib: u64,
    /// Peak resident set size since the process started (VmHWM), KiB.
    pub hwm_kib: u64,
}

/// When the server's memory counts as flat over a run.
///
/// A server's resident memory rises at first (allocator arenas, SQLite's page cache, the
/// snapshot's pages, connection buffers) and then plateaus in steps; a leak keeps rising.
/// So the first part of the run is a warm-up that is not judged, and after it memory is flat
/// when both hold:
///
/// 1. **Bounded growth**: the RSS at the end is at most `max(min_allowance_mib,
///    allowance_fraction × RSS after warm-up)` above the RSS right after warm-up. Both are
///    medians, of the samples in the first and in the last fifth of the judged window: the
///    working sets of the queries in flight swing RSS by tens of MiB from one second to the
///    next, and a single sample at either end would judge that swing instead of the trend.
/// 2. **No trend at the end**: the least-squares slope of RSS over the second half of the
///    judged window is at most `max_slope_mib_per_min`. Runs whose second half is shorter
///    than `min_trend_window` are too short for one allocator step not to look like a trend,
///    so there only the growth bound is judged (the report says so).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlatRule {
    /// Growth always allowed, MiB.
    pub min_allowance_mib: f64,
    /// Growth allowed as a share of the RSS after warm-up, when that is more.
    pub allowance_fraction: f64,
    /// Steepest RSS slope over the second half of the judged window, MiB per minute.
    pub max_slope_mib_per_min: f64,
    /// Shortest second half on which the slope is judged.
    #[serde(with = "secs")]
    pub min_trend_window: Duration,
    /// Share of the run that is warm-up (at most [`FlatRule::max_warmup`]).
    pub warmup_fraction: f64,
    /// Longest warm-up.
    #[serde(with = "secs")]
    pub max_warmup: Duration,
}

impl Default for FlatRule {
    fn default() -> Self {
        Self {
            min_allowance_mib: 64.0,
            allowance_fraction: 0.25,
            max_slope_mib_per_min: 4.0,
            min_trend_window: Duration::from_secs(120),
            warmup_fraction: 0.25,
            max_warmup: Duration::from_secs(60),
        }
    }
}

mod secs {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(value.as_secs_f64())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        let secs = f64::deserialize(deserializer)?;
        Duration::try_from_secs_f64(secs).map_err(serde::de::Error::custom)
    }
}

impl FlatRule {
    /// The warm-up of a run lasting `run`: [`FlatRule::warmup_fraction`] of it, at most
    /// [`FlatRule::max_warmup`].
    pub fn warmup(&self, run: Duration) -> Duration {
        run.mul_f64(self.warmup_fraction.clamp(0.0, 1.0)).min(self.max_warmup)
    }

    /// Judges `samples` (in time order) taken over a run whose warm-up lasted `warmup`.
    /// `None` when no sample was taken after the warm-up.
    pub fn judge(&self, samples: &[MemorySample], warmup: Duration) -> Option<MemoryReport> {
        let warmup_secs = warmup.as_secs_f64();
        let judged: Vec<&MemorySample> = samples.iter().filter(|s| s.at_secs >= warmup_secs).collect();
        let (first, last) = (*judged.first()?, *judged.last()?);
        let mib = |kib: u64| kib as f64 / 1024.0;
        let edge = (judged.len() / 5).max(1);
        let median_mib = |part: &[&MemorySample]| {
            let mut rss: Vec<u64> = part.iter().map(|s| s.rss_kib).collect();
            rss.sort_unstable();
            mib(rss[rss.len() / 2])
        };
        let after_warmup = median_mib(&judged[..edge]);
        let end = median_mib(&judged[judged.len() - edge..]);
        let max = samples.iter().map(|s| mib(s.rss_kib)).fold(0.0, f64::max);
        let peak_hwm = samples.iter().map(|s| mib(s.hwm_kib)).fold(0.0, f64::max);
        let points = |from: f64| -> Vec<(f64, f64)> {
            judged.iter().filter(|s| s.at_secs >= from).map(|s| (s.at_secs / 60.0, mib(s.rss_kib))).collect()
        };
        let slope = least_squares_slope(&points(warmup_secs));
        let half = (first.at_secs + last.at_secs) / 2.0;
        let second_half_slope = least_squares_slope(&points(half));
        let allowance = self.min_allowance_mib.max(self.allowance_fraction * after_warmup);
        let growth = end - after_warmup;
        let trend_judged = last.at_secs - half >= self.min_trend_window.as_secs_f64();

        let mut problems = Vec::new();
        if growth > allowance {
            problems.push(format!(
                "RSS grew {growth:.1} MiB after warm-up ({after_warmup:.1} → {end:.1} MiB), more than the {allowance:.1} MiB allowed"
            ));
        }
        if trend_judged && let Some(slope) = second_half_slope.filter(|s| *s > self.max_slope_mib_per_min) {
            problems.push(format!(
                "RSS still rises {slope:.2} MiB/min over the second half of the run, more than {:.2} MiB/min",
                self.max_slope_mib_per_min
            ));
        }
        let summary = if problems.is_empty() {
            let trend = if trend_judged {
                format!(
                    "second-half slope {:.2} MiB/min ≤ {:.2}",
                    second_half_slope.unwrap_or(0.0),
                    self.max_slope_mib_per_min
                )
            } else {
                "run too short to judge the slope".to_string()
            };
            format!("flat: growth {growth:.1} MiB ≤ {allowance:.1} MiB allowed; {trend}")
        } else {
            problems.join("; ")
        };
        Some(MemoryReport {
            warmup_secs,
            samples: samples.len(),
            rss_after_warmup_mib: after_warmup,
            rss_max_mib: max,
            rss_end_mib: end,
            peak_hwm_mib: peak_hwm,
            growth_mib: growth,
            allowance_mib: allowance,
            slope_mib_per_min: slope,
            second_half_slope_mib_per_min: second_half_slope,
            trend_judged,
            flat: problems.is_empty(),
            summary,
        })
    }
}

/// The server's memory over a run, judged by a [`FlatRule`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemoryReport {
    /// Seconds of warm-up not judged.
    pub warmup_secs: f64,
    /// Samples taken (about one a second).
    pub samples: usize,
    /// RSS right after warm-up (the median over the first fifth of the judged window), MiB.
    pub rss_after_warmup_mib: f64,
    /// Largest RSS sampled, MiB.
    pub rss_max_mib: f64,
    /// RSS at the end (the median over the last fifth of the judged window), MiB.
    pub rss_end_mib: f64,
    /// Peak RSS since the server started (VmHWM), MiB.
    pub peak_hwm_mib: f64,
    /// End RSS minus RSS after warm-up, MiB.
    pub growth_mib: f64,
    /// Growth allowed, MiB.
    pub allowance_mib: f64,
    /// Least-squares slope of RSS after warm-up, MiB per minute.
    pub slope_mib_per_min: Option<f64>,
    /// Least-squares slope of RSS over the second half after warm-up, MiB per minute.
    pub second_half_slope_mib_per_min: Option<f64>,
    /// Whether the run was long enough for the slope to be judged.
    pub trend_judged: bool,
    /// The verdict.
    pub flat: bool,
    /// Why, in words.
    pub summary: String,
}

/// Reads VmRSS and VmHWM (KiB) from the text of `/proc/PID/status`.
pub fn parse_proc_status(text: &str) -> Option<(u64, u64)> {
    let field = |name: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples(secs: u32, rss_mib: impl Fn(f64) -> f64) -> Vec<MemorySample> {
        (0..=secs)
            .map(|s| {
                let kib = (rss_mib(f64::from(s)) * 1024.0) as u64;
                MemorySample { at_secs: f64::from(s), rss_kib: kib, hwm_kib: kib }
            })
            .collect()
    }

    #[test]
    fn percentiles_come_from_the_recorded_latencies() {
        let mut latencies = Latencies::default();
        for ms in 1..=1000u64 {
            latencies.record(Duration::from_millis(ms));
        }
        let mut other = Latencies::default();
        other.record(Duration::from_secs(5));
        latencies.merge(&other);
        let summary = latencies.summary();
        assert_eq!(summary.count, 1001);
        assert!((summary.p50_ms - 500.0).abs() < 2.0, "{summary:?}");
        assert!((summary.p99_ms - 990.0).abs() < 2.0, "{summary:?}");
        assert!((summary.max_ms - 5000.0).abs() < 5.0, "{summary:?}");
        assert_eq!(Latencies::default().summary(), LatencySummary::default());
    }

    #[test]
    fn the_slope_is_the_least_squares_one() {
        let points: Vec<(f64, f64)> = (0..10).map(|x| (f64::from(x), 3.0 * f64::from(x) + 7.0)).collect();
        assert!((least_squares_slope(&points).unwrap() - 3.0).abs() < 1e-9);
        // Noise either side of a flat line gives a slope near zero.
        let noisy: Vec<(f64, f64)> = (0..10).map(|x| (f64::from(x), if x % 2 == 0 { 1.0 } else { -1.0 })).collect();
        assert!(least_squares_slope(&noisy).unwrap().abs() < 0.25);
        assert_eq!(least_squares_slope(&[(1.0, 2.0)]), None);
        assert_eq!(least_squares_slope(&[(1.0, 2.0), (1.0, 3.0)]), None);
    }

    #[test]
    fn memory_that_plateaus_after_warm_up_is_flat() {
        let rule = FlatRule::default();
        let run = Duration::from_secs(600);
        assert_eq!(rule.warmup(run), Duration::from_secs(60));
        assert_eq!(rule.warmup(Duration::from_secs(20)), Duration::from_secs(5));
        let half = FlatRule { warmup_fraction: 0.5, ..FlatRule::default() };
        assert_eq!(half.warmup(Duration::from_secs(40)), Duration::from_secs(20));
        assert_eq!(half.warmup(run), Duration::from_secs(60), "never more than max_warmup");
        // Rises to 300 MiB during the warm-up, steps up 30 MiB at minute 4, then stays.
        let plateau = samples(600, |s| {
            if s < 45.0 {
                100.0 + s * 200.0 / 45.0
            } else if s < 240.0 {
                300.0
            } else {
                330.0
            }
        });
        let report = rule.judge(&plateau, rule.warmup(run)).unwrap();
        assert!(report.flat, "{report:?}");
        assert!(report.trend_judged);
        assert!((report.rss_end_mib - 330.0).abs() < 0.01);
        assert!((report.rss_max_mib - 330.0).abs() < 0.01);
    }

    #[test]
    fn a_steady_leak_is_not_flat_even_within_the_growth_bound() {
        let rule = FlatRule::default();
        let run = Duration::from_secs(600);
        // 6 MiB a minute: 54 MiB over the judged nine minutes, within the 64 MiB allowance.
        let leak = samples(600, |s| 200.0 + s / 10.0);
        let report = rule.judge(&leak, rule.warmup(run)).unwrap();
        assert!(report.growth_mib < report.allowance_mib, "{report:?}");
        assert!(!report.flat, "{report:?}");
        assert!((report.second_half_slope_mib_per_min.unwrap() - 6.0).abs() < 0.01);
        assert!(report.summary.contains("still rises"), "{}", report.summary);
    }

    #[test]
    fn growth_beyond_the_allowance_is_not_flat_and_short_runs_judge_only_growth() {
        let rule = FlatRule::default();
        let run = Duration::from_secs(20);
        let jump = samples(20, |s| if s < 15.0 { 200.0 } else { 300.0 });
        let report = rule.judge(&jump, rule.warmup(run)).unwrap();
        assert!(!report.flat && !report.trend_judged, "{report:?}");
        assert!(report.summary.contains("more than the 64.0 MiB allowed"), "{}", report.summary);
        // A steep but small rise in a short run: only the growth bound applies.
        let short = samples(20, |s| 200.0 + s);
        let report = rule.judge(&short, rule.warmup(run)).unwrap();
        assert!(report.flat, "{report:?}");
        assert!(report.summary.contains("too short"), "{}", report.summary);
        // The allowance is a quarter of a large RSS.
        let large = samples(20, |_| 1000.0);
        assert!((rule.judge(&large, rule.warmup(run)).unwrap().allowance_mib - 250.0).abs() < 0.01);
        assert_eq!(rule.judge(&large[..3], rule.warmup(run)), None);
    }

    #[test]
    fn one_sample_swinging_at_either_end_does_not_decide_the_growth() {
        let rule = FlatRule::default();
        let run = Duration::from_secs(20);
        // Queries in flight at the last second (or the first) add 100 MiB for a moment.
        let spike_at_end = samples(20, |s| if s >= 20.0 { 300.0 } else { 200.0 });
        let report = rule.judge(&spike_at_end, rule.warmup(run)).unwrap();
        assert!(report.flat, "{report:?}");
        assert!((report.rss_max_mib - 300.0).abs() < 0.01, "the swing is still reported as the maximum");
        let dip_at_start = samples(20, |s| if s < 6.0 { 120.0 } else { 200.0 });
        assert!(rule.judge(&dip_at_start, rule.warmup(run)).unwrap().flat);
        // A rise that lasts is still growth.
        let lasting = samples(20, |s| if s >= 16.0 { 300.0 } else { 200.0 });
        assert!(!rule.judge(&lasting, rule.warmup(run)).unwrap().flat);
    }

    #[test]
    fn proc_status_fields_are_read_in_kib() {
        let text = "Name:\tquarry\nVmPeak:\t 900 kB\nVmHWM:\t  524288 kB\nVmRSS:\t  262144 kB\nThreads:\t9\n";
        assert_eq!(parse_proc_status(text), Some((262_144, 524_288)));
        assert_eq!(parse_proc_status("Name:\tquarry\n"), None);
    }
}
