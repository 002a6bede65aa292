//! Latencies as the harness records them: the load tool's histograms ([`Latencies`]), fed
//! with the pipeline's stage times in milliseconds, and printed for people.

use std::time::Duration;

use quarry_load::stats::{Latencies, LatencySummary};

/// Adds a sample given in milliseconds, as the pipeline reports its stages.
pub fn record_ms(latencies: &mut Latencies, ms: f64) {
    latencies.record(Duration::from_secs_f64(ms.max(0.0) / 1e3));
}

/// The percentiles of `latencies`, or none without samples.
pub fn summary(latencies: &Latencies) -> Option<LatencySummary> {
    (latencies.count() > 0).then(|| latencies.summary())
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
        assert!(summary(&latencies).is_none());
        for ms in 1..=100 {
            record_ms(&mut latencies, f64::from(ms));
        }
        let summary = summary(&latencies).expect("samples");
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
