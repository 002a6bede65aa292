//! Imports Spider databases and checks tables and row counts against SQLite: the three of
//! `fixtures/spider-mini` always, all twenty of the dev set when `SPIDER_DEV_DIR` points at it.
use std::path::{Path, PathBuf};

use quarry_snapshot::Snapshot;
use quarry_snapshot::import::{ImportOptions, import_into};
use rusqlite::{Connection, OpenFlags};

fn spider_databases(set: &Path) -> Vec<PathBuf> {
    let root = set.join("database");
    let entries = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("the Spider dev databases are expected at {}: {e}", root.display()));
    let mut databases: Vec<PathBuf> = entries
        .map(|entry| entry.expect("directory entry").path())
        .filter_map(|dir| {
            let name = dir.file_name()?.to_string_lossy().into_owned();
            let db = dir.join(format!("{name}.sqlite"));
            db.is_file().then_some(db)
        })
        .collect();
    databases.sort();
    databases
}

/// `(table, COUNT(*))` for every ordinary table, as SQLite sees them.
fn sqlite_counts(db: &Path) -> Vec<(String, u64)> {
    let conn = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let mut stmt = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
        .unwrap();
    let names: Vec<String> = stmt.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect();
    names
        .into_iter()
        .map(|name| {
            let sql = format!("SELECT COUNT(*) FROM \"{}\"", name.replace('"', "\"\""));
            let count: i64 = conn.query_row(&sql, [], |r| r.get(0)).unwrap();
            (name, count as u64)
        })
        .collect()
}

#[test]
fn the_mini_set_imports_with_exact_row_counts() {
    let databases = spider_databases(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/spider-mini"));
    assert_eq!(databases.len(), 3);
    import_with_exact_row_counts(&databases);
}

#[test]
fn every_spider_database_imports_with_exact_row_counts() {
    let Some(set) = std::env::var_os("SPIDER_DEV_DIR") else {
        eprintln!("skipped: set SPIDER_DEV_DIR to the Spider dev directory to import all of its databases");
        return;
    };
    let databases = spider_databases(Path::new(&set));
    assert!(databases.len() >= 20, "expected the 20 Spider dev databases, found {}", databases.len());
    import_with_exact_row_counts(&databases);
}

fn import_with_exact_row_counts(databases: &[PathBuf]) {
    let scratch = tempfile::tempdir().unwrap();
    let mut total_notes = 0;
    for db in databases {
        let name = db.file_stem().unwrap().to_string_lossy().into_owned();
        let dir = scratch.path().join(&name);
        let (manifest, report) = import_into(&dir, db, &ImportOptions::default())
            .unwrap_or_else(|e| panic!("importing {}: {e}", db.display()));
        let expected = sqlite_counts(db);
        assert_eq!(manifest.tables.len(), expected.len(), "{name}: manifest tables {:?}", manifest.tables);
        for (table, count) in &expected {
            let entry = report
                .tables
                .iter()
                .find(|t| &t.source == table)
                .unwrap_or_else(|| panic!("{name}: table {table} is missing from the report"));
            let in_manifest =
                manifest.table(&entry.table).unwrap_or_else(|| panic!("{name}: {} not in manifest", entry.table));
            assert_eq!(in_manifest.rows, *count, "{name}.{table}: rows");
            assert_eq!(entry.rows, *count, "{name}.{table}: reported rows");
        }
        assert_eq!(manifest.notes, report.notes);
        Snapshot::open(&dir).unwrap().verify().unwrap();

        println!(
            "== {name}: {} tables, {} rows, as of {}",
            manifest.tables.len(),
            manifest.total_rows(),
            manifest.as_of
        );
        for note in report.notes.iter().filter(|n| !n.contains("columns renamed")) {
            println!("   {note}");
        }
        total_notes += report.notes.len();
    }
    println!("{} databases, {total_notes} notes", databases.len());
}
