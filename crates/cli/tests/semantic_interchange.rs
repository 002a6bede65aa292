//! `quarry semantic import` and `quarry semantic export` end to end (issue 18): an import that
//! validates against the demo snapshot and is then a layer `semantic check` accepts, an import
//! whose tables the snapshot lacks, and the OSI export of the demo layer.

mod common;

use std::path::PathBuf;

use common::quarry;
use predicates::prelude::*;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/semantic").join(name)
}

#[test]
fn an_imported_cube_model_is_written_valid_and_reported() {
    let out = tempfile::tempdir().unwrap().keep().join("cube.semantic.yaml");
    quarry()
        .args(["semantic", "import"])
        .arg(fixture("demo.cube.yml"))
        .arg("--out")
        .arg(&out)
        .assert()
        .success()
        .stdout(predicate::str::contains("import from cube").and(predicate::str::contains("valid for snapshot")));
    quarry().args(["semantic", "check"]).arg(&out).assert().success();
}

#[test]
fn an_import_whose_tables_the_snapshot_lacks_fails_and_says_why() {
    quarry()
        .args(["semantic", "import", "--format", "cortex"])
        .arg(fixture("revenue.cortex.yaml"))
        .assert()
        .failure()
        .stderr(
            predicate::str::contains("NOT MAPPED  table daily_revenue")
                .and(predicate::str::contains("none of the imported tables")),
        );
}

#[test]
fn the_demo_layer_exports_as_the_checked_in_osi_file() {
    let expected = std::fs::read_to_string(fixture("demo.osi.yaml")).unwrap();
    quarry().args(["semantic", "export", "--format", "osi"]).assert().success().stdout(expected);
}
