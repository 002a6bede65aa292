//! What must hold for any text given to `SpecChecker::check_str`, shared by the `chart_spec` fuzz
//! target (crates/fuzz) and the `fuzz_regressions` test, so the two cannot drift apart.
//!
//! `check_spec` panics when an invariant breaks; a refusal is always fine. The text is checked,
//! strictly and leniently, against every fixed sample result of `quarry_chart::samples` (one per
//! chart type, so field names in a spec meet each data shape). For an admitted spec:
//! - it renders to SVG over the data it was checked against without panicking (an error is fine);
//! - its cleaned spec is admitted again by the same checker, as the same chart type;
//! - the spec with the data injected serializes to JSON.

// The fuzz target uses `check_bytes`, the regression test `check_spec`.
#![allow(dead_code)]

use quarry_chart::samples::{Sample, samples};
use quarry_chart::{ChartRenderer, Format, Size, SpecChecker};

/// The fixed results the specs are checked against.
pub struct SpecHarness {
    samples: Vec<Sample>,
    renderer: ChartRenderer,
}

impl Default for SpecHarness {
    fn default() -> Self {
        Self { samples: samples(), renderer: ChartRenderer::new(Size::WEB) }
    }
}

impl SpecHarness {
    /// Checks one fuzz input (bytes that are not UTF-8 are skipped); panics if an invariant breaks.
    pub fn check_bytes(&self, data: &[u8]) {
        if let Ok(raw) = std::str::from_utf8(data) {
            self.check_spec(raw);
        }
    }

    /// Checks `raw` against every sample, strictly and leniently; panics if an invariant breaks.
    /// Returns how many of those checks admitted the spec.
    pub fn check_spec(&self, raw: &str) -> usize {
        let mut admitted = 0;
        for sample in &self.samples {
            for checker in [SpecChecker::strict(), SpecChecker::lenient()] {
                let Ok(checked) = checker.check_str(raw, &sample.input) else { continue };
                admitted += 1;
                let context = || format!("{checker:?} over sample {}; spec: {raw}", sample.name);
                if let Err(error) = self.renderer.render(&checked, &sample.input.data, Format::Svg) {
                    // Refusing to draw is allowed; it must be a clear error, not a panic.
                    assert!(!error.to_string().is_empty(), "an empty render error; {}", context());
                }
                let again = checker.check(checked.spec(), &sample.input).unwrap_or_else(|error| {
                    panic!("the checked spec {} is refused when checked again: {error}; {}", checked.spec(), context())
                });
                assert_eq!(again.kind(), checked.kind(), "checking again changes the chart type; {}", context());
                serde_json::to_string(&checked.with_data(&sample.input.data))
                    .unwrap_or_else(|error| panic!("the spec with data does not serialize: {error}; {}", context()));
            }
        }
        admitted
    }
}
