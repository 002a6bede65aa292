//! Latency samples and their percentiles.

use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

/// Latencies of one measurement, kept at three significant digits from 1 ns to an hour.
#[derive(Debug, Clone)]
pub struct Latencies {
    histogram: Histogram<u64>,
}

impl Default for Latencies {
    fn default() -> Self {
        Self { histogram: Histogram::new_with_bounds(1, 3_600_000_000_000, 3).expect("valid histogram bounds") }
    }
}

/// The percentiles reported, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Summary {
    /// How many samples.
    pub count: u64,
    /// Median.
    pub p50_ms: f64,
    /// 95th percentile.
    pub p95_ms: f64,
    /// Slowest.
    pub max_ms: f64,
}

impl Latencies {
    /// Adds a sample.
    pub fn record(&mut self, elapsed: Duration) {
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX).max(1);
        self.histogram.saturating_record(nanos);
    }

    /// Adds a sample given in milliseconds (as the pipeline reports its stages).
    pub fn record_ms(&mut self, ms: f64) {
        self.record(Duration::from_secs_f64(ms.max(0.0) / 1e3));
    }

    /// How many samples.
    pub fn count(&self) -> u64 {
        self.histogram.len()
    }

    /// The percentiles, or none without samples.
    pub fn summary(&self) -> Option<Summary> {
        (self.count() > 0).then(|| Summary {
            count: self.count(),
            p50_ms: self.quantile_ms(0.50),
            p95_ms: self.quantile_ms(0.95),
            max_ms: self.histogram.max() as f64 / 1e6,
        })
    }

    fn quantile_ms(&self, quantile: f64) -> f64 {
        self.histogram.value_at_quantile(quantile) as f64 / 1e6
    }
}

/// Milliseconds with the precision a reader needs: µs below 1 ms.
pub fn format_ms(ms: f64) -> String {
    if ms < 0.01 {
        format!("{:.1} µs", ms * 1e3)
    } else if ms < 1.0 {
        format!("{:.0} µs", ms * 1e3)
    } else if ms < 100.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.0} ms")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_come_from_the_samples() {
        let mut latencies = Latencies::default();
        assert!(latencies.summary().is_none());
        for ms in 1..=100 {
            latencies.record_ms(f64::from(ms));
        }
        let summary = latencies.summary().expect("samples");
        assert_eq!(summary.count, 100);
        assert!((summary.p50_ms - 50.0).abs() < 0.1, "{summary:?}");
        assert!((summary.p95_ms - 95.0).abs() < 0.1, "{summary:?}");
        assert!((summary.max_ms - 100.0).abs() < 0.1, "{summary:?}");
    }

    #[test]
    fn small_times_are_shown_in_microseconds() {
        assert_eq!(format_ms(0.0042), "4.2 µs");
        assert_eq!(format_ms(0.25), "250 µs");
        assert_eq!(format_ms(12.345), "12.3 ms");
        assert_eq!(format_ms(1234.0), "1234 ms");
    }
}
