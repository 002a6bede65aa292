//! Arbitrary text through `SpecChecker::check_str` (strict and lenient) against the fixed sample
//! results, and admitted specs through the SVG renderer. The invariants live with the chart tests,
//! which replay the regression inputs.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;

#[path = "../../chart/tests/spec_invariants/mod.rs"]
mod spec_invariants;

static HARNESS: LazyLock<spec_invariants::SpecHarness> = LazyLock::new(spec_invariants::SpecHarness::default);

fuzz_target!(|data: &[u8]| HARNESS.check_bytes(data));
