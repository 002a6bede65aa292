//! Arbitrary text through `SqlPolicy::check` with the demo warehouse catalog and the default
//! settings. The invariants live with the sqlguard tests, which replay the regression inputs.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;

#[path = "../../sqlguard/tests/common/mod.rs"]
mod common;
#[path = "../../sqlguard/tests/policy_invariants/mod.rs"]
mod policy_invariants;

static WAREHOUSE: LazyLock<policy_invariants::DemoWarehouse> =
    LazyLock::new(|| policy_invariants::DemoWarehouse::new(common::demo_policy()));

fuzz_target!(|data: &[u8]| WAREHOUSE.check_bytes(data));
