//! The snapshot writer and store: streamed writes, idempotent and async installs, lookup by id prefix, tamper detection and manifest safety checks.
use std::fs;
use std::path::Path;
use std::sync::Arc;

use chrono::NaiveDate;
use datafusion::arrow::array::{Int64Array, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::record_batch::RecordBatch;
use quarry_snapshot::{
    Error, MANIFEST_FILE, Manifest, Snapshot, SnapshotSource, SnapshotStore, SnapshotWriter, SourceDialect, TableData,
    write_snapshot,
};

fn as_of() -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, 6, 30).unwrap()
}

fn table(name: &str, values: &[i64]) -> TableData {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("label", DataType::Utf8, true),
    ]));
    let labels: Vec<String> = values.iter().map(|v| format!("row {v}")).collect();
    let batch = RecordBatch::try_new(
        Arc::clone(&schema),
        vec![Arc::new(Int64Array::from(values.to_vec())), Arc::new(StringArray::from(labels))],
    )
    .unwrap();
    TableData::new(name, schema, vec![batch])
}

fn source() -> SnapshotSource {
    SnapshotSource::Files { path: "/data".into() }
}

fn install(store: &SnapshotStore, values: &[i64]) -> Snapshot {
    store.install(|dir| write_snapshot(dir, vec![table("items", values)], as_of(), source(), Vec::new())).unwrap()
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

/// A writable copy of a snapshot directory whose manifest can be edited.
fn copy_snapshot(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        fs::write(&target, fs::read(entry.path()).unwrap()).unwrap();
    }
}

fn rewrite_manifest(dir: &Path, edit: impl FnOnce(&mut Manifest)) {
    let path = dir.join(MANIFEST_FILE);
    let mut manifest: Manifest = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    edit(&mut manifest);
    fs::write(&path, serde_json::to_vec_pretty(&manifest).unwrap()).unwrap();
}

/// A change made to a manifest to test that opening it is refused.
type ManifestEdit = fn(&mut Manifest);

#[test]
fn installing_the_same_data_twice_keeps_one_snapshot() {
    let root = tempfile::tempdir().unwrap();
    let store = SnapshotStore::new(root.path().join("snapshots"));
    let first = install(&store, &[1, 2, 3]);
    let second = install(&store, &[1, 2, 3]);
    assert_eq!(first.manifest.id, second.manifest.id);
    assert_eq!(first.dir, second.dir);
    assert_eq!(second.manifest.created_at, first.manifest.created_at, "the installed copy is kept");
    assert_eq!(entries(store.root()), std::slice::from_ref(&first.manifest.id), "no scratch directory is left behind");

    let other = install(&store, &[1, 2, 4]);
    assert_ne!(other.manifest.id, first.manifest.id);
    assert_eq!(store.list().unwrap().len(), 2);
}

#[test]
fn a_failed_build_leaves_nothing_behind() {
    let root = tempfile::tempdir().unwrap();
    let store = SnapshotStore::new(root.path());
    let err = store
        .install(|dir| {
            fs::create_dir_all(dir).unwrap();
            fs::write(dir.join("partial.parquet"), "half").unwrap();
            Err(Error::Import { path: "/data".into(), reason: "broken".into() })
        })
        .unwrap_err();
    assert!(matches!(err, Error::Import { .. }));
    assert!(entries(root.path()).is_empty(), "{:?}", entries(root.path()));
}

#[test]
fn get_finds_a_snapshot_by_id_or_unambiguous_prefix() {
    let root = tempfile::tempdir().unwrap();
    let store = SnapshotStore::new(root.path());
    let a = install(&store, &[1]);
    let b = install(&store, &[2]);
    let id = &a.manifest.id;
    assert_eq!(store.get(id).unwrap().manifest.id, *id);
    // The shortest prefix that tells the two ids apart.
    let common = id.chars().zip(b.manifest.id.chars()).take_while(|(x, y)| x == y).count();
    assert_eq!(store.get(&id[..common + 1]).unwrap().manifest.id, *id);
    match store.get("snap-") {
        Err(Error::Ambiguous { matches, .. }) => {
            assert!(matches.contains(id.as_str()) && matches.contains(b.manifest.id.as_str()), "{matches}")
        }
        other => panic!("expected an ambiguous match, got {other:?}"),
    }
    assert!(matches!(store.get("snap-0000000000000000x"), Err(Error::NotFound { .. })));
    assert!(matches!(store.get("../etc"), Err(Error::NotFound { .. })));
}

#[test]
fn list_skips_directories_that_are_not_snapshots() {
    let root = tempfile::tempdir().unwrap();
    let store = SnapshotStore::new(root.path());
    assert!(store.list().unwrap().is_empty());
    let good = install(&store, &[1]);
    fs::create_dir(root.path().join("snap-interrupted")).unwrap();
    fs::create_dir(root.path().join(".incoming-1-2")).unwrap();
    let listed: Vec<String> = store.list().unwrap().into_iter().map(|s| s.manifest.id).collect();
    assert_eq!(listed, [good.manifest.id]);
    assert!(SnapshotStore::new(root.path().join("never-created")).list().unwrap().is_empty());
}

#[test]
fn verify_detects_a_modified_file() {
    let root = tempfile::tempdir().unwrap();
    let store = SnapshotStore::new(root.path());
    let snapshot = install(&store, &[1, 2, 3]);
    snapshot.verify().unwrap();

    let path = snapshot.table_path("items").unwrap();
    let mut perms = fs::metadata(&path).unwrap().permissions();
    assert!(perms.readonly(), "installed files are read-only");
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    fs::set_permissions(&path, perms).unwrap();
    let mut bytes = fs::read(&path).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    fs::write(&path, bytes).unwrap();

    match Snapshot::open(&snapshot.dir).unwrap().verify() {
        Err(Error::Tampered { id, file }) => {
            assert_eq!(id, snapshot.manifest.id);
            assert_eq!(file, "items.parquet");
        }
        other => panic!("expected tampering to be detected, got {other:?}"),
    }
}

#[test]
fn open_refuses_unsafe_or_missing_files() {
    let root = tempfile::tempdir().unwrap();
    let store = SnapshotStore::new(root.path().join("store"));
    let snapshot = install(&store, &[1]);
    fs::write(root.path().join("outside.parquet"), "x").unwrap();

    let cases: [(&str, ManifestEdit); 4] = [
        ("parent", |m| m.tables[0].file = "../outside.parquet".into()),
        ("hidden", |m| m.tables[0].file = ".items.parquet".into()),
        ("upper", |m| m.tables[0].name = "Items".into()),
        ("missing", |m| m.tables[0].file = "gone.parquet".into()),
    ];
    for (label, edit) in cases {
        let dir = root.path().join(label);
        copy_snapshot(&snapshot.dir, &dir);
        rewrite_manifest(&dir, edit);
        match Snapshot::open(&dir) {
            Err(Error::InvalidSnapshot { reason, .. }) => {
                let expected = if label == "missing" { "is missing" } else { "unsafe name or file" };
                assert!(reason.contains(expected), "{label}: {reason}");
            }
            other => panic!("{label}: expected the manifest to be refused, got {other:?}"),
        }
    }

    let broken = root.path().join("broken");
    copy_snapshot(&snapshot.dir, &broken);
    fs::write(broken.join(MANIFEST_FILE), "{ not json").unwrap();
    assert!(
        matches!(Snapshot::open(&broken), Err(Error::InvalidSnapshot { reason, .. }) if reason.contains("malformed"))
    );
}

#[test]
fn write_snapshot_checks_its_inputs() {
    let root = tempfile::tempdir().unwrap();
    let write = |dir: &str, tables: Vec<TableData>| {
        write_snapshot(&root.path().join(dir), tables, as_of(), source(), Vec::new())
    };
    let reason = |result: quarry_snapshot::Result<Manifest>| match result {
        Err(Error::InvalidSnapshot { reason, .. }) => reason,
        other => panic!("expected a refusal, got {other:?}"),
    };
    assert!(reason(write("none", Vec::new())).contains("at least one table"));
    assert!(reason(write("twice", vec![table("a", &[1]), table("a", &[2])])).contains("appears twice"));
    assert!(reason(write("name", vec![table("Bad Name", &[1])])).contains("must match"));

    let manifest = write("ok", vec![table("b", &[1, 2]), table("a", &[3])]).unwrap();
    let names: Vec<&str> = manifest.tables.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["a", "b"]);
    assert_eq!(manifest.total_rows(), 3);
    assert!(reason(write("ok", vec![table("c", &[1])])).contains("not empty"));
    let again = write("ok-again", vec![table("a", &[3]), table("b", &[1, 2])]).unwrap();
    assert_eq!(again.id, manifest.id, "table order does not change the id");
}

#[test]
fn the_streaming_writer_writes_the_snapshot_write_snapshot_writes() {
    let root = tempfile::tempdir().unwrap();
    let whole = write_snapshot(
        &root.path().join("whole"),
        vec![table("items", &[1, 2, 3]), table("others", &[4])],
        as_of(),
        source(),
        vec!["a note".into()],
    )
    .unwrap();
    let mut writer = SnapshotWriter::create(&root.path().join("streamed")).unwrap();
    // Tables in another order than the manifest's; the batches of one table one at a time.
    for (name, values) in [("others", vec![4]), ("items", vec![1, 2, 3])] {
        let data = table(name, &values);
        let mut file = writer.table(name, Arc::clone(&data.schema)).unwrap();
        for batch in &data.batches {
            file.write(batch).unwrap();
        }
        assert_eq!(file.rows(), values.len() as u64);
        file.finish(data.primary_key, data.foreign_keys).unwrap();
    }
    assert!(matches!(writer.table("items", table("items", &[]).schema), Err(Error::InvalidSnapshot { .. })));
    let streamed = writer.finish(as_of(), source(), SourceDialect::Parquet, vec!["a note".into()]).unwrap();
    assert_eq!(streamed.id, whole.id);
    assert_eq!(streamed.tables, whole.tables);
}

#[tokio::test]
async fn an_async_install_that_fails_or_is_abandoned_leaves_nothing_behind() {
    let root = tempfile::tempdir().unwrap();
    let store = SnapshotStore::new(root.path());
    let failed = store
        .install_async(|dir| async move {
            fs::create_dir_all(&dir).unwrap();
            fs::write(dir.join("partial.parquet"), "half").unwrap();
            Err::<(Manifest, ()), _>(Error::Import { path: "/data".into(), reason: "broken".into() })
        })
        .await;
    assert!(matches!(failed, Err(Error::Import { .. })));
    assert!(entries(root.path()).is_empty(), "{:?}", entries(root.path()));

    // Interrupted (the future is dropped, as on Ctrl-C) half way through a table.
    let abandoned = tokio::time::timeout(
        std::time::Duration::from_millis(50),
        store.install_async(|dir| async move {
            fs::create_dir_all(&dir).unwrap();
            fs::write(dir.join("partial.parquet"), "half").unwrap();
            std::future::pending::<quarry_snapshot::Result<(Manifest, ())>>().await
        }),
    )
    .await;
    assert!(abandoned.is_err());
    assert!(entries(root.path()).is_empty(), "{:?}", entries(root.path()));

    let (snapshot, extra) = store
        .install_async(|dir| async move {
            write_snapshot(&dir, vec![table("items", &[1])], as_of(), source(), Vec::new()).map(|m| (m, 7))
        })
        .await
        .unwrap();
    assert_eq!(extra, 7);
    assert_eq!(entries(root.path()), std::slice::from_ref(&snapshot.manifest.id));
}
