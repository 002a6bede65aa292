//! Replays the inputs the `chart_spec` fuzz target (crates/fuzz) found, kept in
//! fixtures/fuzz/regressions/chart_spec, plus its seeds (fixtures/fuzz/corpus/chart_spec and the
//! golden specs), through the target's own invariants (tests/spec_invariants), on stable Rust.

mod spec_invariants;

use std::path::{Path, PathBuf};

use spec_invariants::SpecHarness;

fn files_in(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|error| panic!("cannot list {}: {error}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.is_file() && path.to_string_lossy().ends_with(suffix))
        .collect();
    files.sort();
    files
}

fn repo_dir(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(relative)
}

#[test]
fn every_kept_fuzz_input_holds_the_invariants() {
    let harness = SpecHarness::default();
    let files = files_in(&repo_dir("fixtures/fuzz/regressions/chart_spec"), "");
    assert!(!files.is_empty(), "no regression inputs found");
    for path in files {
        eprintln!("{}", path.display());
        harness.check_bytes(&std::fs::read(&path).expect("regression input"));
    }
}

#[test]
fn every_seed_holds_the_invariants() {
    let harness = SpecHarness::default();
    let mut seeds = files_in(&repo_dir("fixtures/fuzz/corpus/chart_spec"), ".json");
    let golden = files_in(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots"), "_spec.snap");
    assert!(golden.len() >= 10, "only {} golden specs", golden.len());
    seeds.extend(golden);
    for path in seeds {
        let text = std::fs::read_to_string(&path).expect("seed");
        // A golden file is an insta snapshot: a `---`-fenced header, then the JSON.
        let spec = if path.extension().is_some_and(|ext| ext == "snap") {
            text.splitn(3, "---\n").nth(2).expect("an insta header").to_string()
        } else {
            text
        };
        harness.check_spec(&spec);
    }
}
