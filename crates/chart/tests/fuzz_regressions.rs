//! Replays the inputs the `chart_spec` fuzz target (crates/fuzz) found, kept in
//! fixtures/fuzz/regressions/chart_spec (none so far), plus its seeds (fixtures/fuzz/corpus/chart_spec and the
//! golden specs), through the target's own invariants (tests/spec_invariants), on stable Rust.

mod spec_invariants;

use std::path::{Path, PathBuf};

use spec_invariants::SpecHarness;

/// The files in `dir` whose names end in `suffix`, sorted; none if `dir` does not exist (git keeps
/// no empty directories, and the chart target has found nothing to keep so far).
fn files_in(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut files: Vec<PathBuf> = entries
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
fn every_kept_input_and_seed_holds_the_invariants() {
    let harness = SpecHarness::default();
    let mut seeds = files_in(&repo_dir("fixtures/fuzz/corpus/chart_spec"), ".json");
    assert!(seeds.len() >= 5, "only {} hand-written seeds", seeds.len());
    seeds.extend(files_in(&repo_dir("fixtures/fuzz/regressions/chart_spec"), ""));
    let golden = files_in(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots"), "_spec.snap");
    assert!(golden.len() >= 10, "only {} golden specs", golden.len());
    seeds.extend(golden);
    for path in seeds {
        let bytes = std::fs::read(&path).expect("seed");
        // Found inputs may be any bytes; the target skips what is not UTF-8.
        let Ok(text) = String::from_utf8(bytes) else { continue };
        // A golden file is an insta snapshot: a `---`-fenced header, then the JSON.
        if path.extension().is_some_and(|ext| ext == "snap") {
            let spec = text.splitn(3, "---\n").nth(2).expect("an insta header");
            // The chooser's own specs must pass, or the invariants after admission go untested.
            assert!(harness.check_spec(spec) > 0, "{} is admitted for no sample", path.display());
        } else {
            harness.check_spec(&text);
        }
    }
}
