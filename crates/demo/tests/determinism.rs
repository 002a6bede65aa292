//! Determinism: the same seed gives byte-identical Parquet files and the same snapshot id, another seed does not; events sorted on disk equal events sorted in memory; installing twice generates once.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use quarry_demo::{AS_OF, generate_fraction};
use quarry_snapshot::{Manifest, SnapshotSource, write_snapshot};

/// A small warehouse (5% of scale 1) keeps this test fast; sizes do not change the code path.
const ROWS_FACTOR: f64 = 0.05;

fn write(dir: &Path, seed: u64) -> Manifest {
    let tables = generate_fraction(seed, ROWS_FACTOR).expect("generation succeeds");
    write_snapshot(dir, tables, AS_OF, SnapshotSource::Demo { seed, scale: 1 }, vec![]).expect("snapshot is written")
}

fn file_bytes(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fs::read_dir(dir)
        .expect("snapshot dir is readable")
        .map(|entry| entry.expect("dir entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "parquet"))
        .map(|path| (path.file_name().unwrap().to_string_lossy().into_owned(), fs::read(&path).unwrap()))
        .collect()
}

#[test]
fn same_seed_gives_identical_files_and_id_other_seed_differs() {
    let root = tempfile::tempdir().unwrap();
    let first = write(&root.path().join("a"), 42);
    let second = write(&root.path().join("b"), 42);
    let other = write(&root.path().join("c"), 43);

    assert_eq!(first.id, second.id);
    assert_eq!(first.tables, second.tables, "row counts, sizes and hashes match");
    let bytes_a = file_bytes(&root.path().join("a"));
    let bytes_b = file_bytes(&root.path().join("b"));
    assert_eq!(bytes_a.len(), 7, "seven tables: {:?}", bytes_a.keys());
    for (name, bytes) in &bytes_a {
        assert!(bytes == &bytes_b[name], "{name} differs between two runs with the same seed");
    }

    assert_ne!(first.id, other.id);
    let bytes_c = file_bytes(&root.path().join("c"));
    for (name, bytes) in &bytes_a {
        assert!(bytes != &bytes_c[name], "{name} is the same for seeds 42 and 43");
    }
}

#[test]
fn generation_in_memory_repeats_exactly() {
    let a = generate_fraction(7, 0.02).unwrap();
    let b = generate_fraction(7, 0.02).unwrap();
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.name, y.name);
        assert_eq!(x.batches, y.batches, "table {} differs between runs", x.name);
        assert_eq!(x.primary_key, y.primary_key);
        assert_eq!(x.foreign_keys, y.foreign_keys);
    }
}

/// Issue 20: events sorted through many small runs on disk (as `write_demo` sorts them at
/// scale 10 and above) come out exactly as sorted in memory, sessions numbered the same.
#[test]
fn events_spilled_to_sorted_runs_are_the_events_sorted_in_memory() {
    let runs = tempfile::tempdir().unwrap();
    let in_memory = generate_fraction(11, ROWS_FACTOR).unwrap();
    let spilled = quarry_demo::generate_fraction_spilled(11, ROWS_FACTOR, runs.path(), 3_000).unwrap();
    let events = |tables: &[quarry_snapshot::TableData]| {
        tables.iter().find(|t| t.name == "events").expect("an events table").batches.clone()
    };
    let rows: usize = events(&in_memory).iter().map(|b| b.num_rows()).sum();
    assert!(rows > 10 * 3_000, "enough events for ten runs: {rows}");
    assert_eq!(events(&spilled), events(&in_memory));
    for (x, y) in in_memory.iter().zip(&spilled) {
        assert_eq!(x.batches, y.batches, "table {}", x.name);
    }
}

/// `ensure_installed` generates once and then finds the installed snapshot.
#[test]
fn ensure_installed_is_idempotent() {
    let root = tempfile::tempdir().expect("tempdir");
    let store = quarry_snapshot::SnapshotStore::new(root.path());
    let config = quarry_demo::DemoConfig { seed: 42, scale: 1 };
    let first = quarry_demo::ensure_installed(&store, &config).expect("installs");
    let modified = std::fs::metadata(first.dir.join("manifest.json")).and_then(|m| m.modified()).expect("mtime");
    let second = quarry_demo::ensure_installed(&store, &config).expect("finds");
    assert_eq!(first.manifest.id, second.manifest.id);
    assert_eq!(store.list().expect("list").len(), 1);
    assert_eq!(
        std::fs::metadata(second.dir.join("manifest.json")).and_then(|m| m.modified()).expect("mtime"),
        modified
    );
}
