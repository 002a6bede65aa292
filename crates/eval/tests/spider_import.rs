//! Imports a Spider-format set: snapshots, starter layers, gold rows from SQLite, exclusions,
//! hardness, and a gold replay on DataFusion. The mini set in `fixtures/spider-mini` (three of
//! the dev databases) is always used; the tests over the whole dev set run when `SPIDER_DEV_DIR`
//! points at it (`.ci/run` sets it to the Spider dev directory beside the checkout).
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use datafusion::execution::context::SQLOptions;
use datafusion::prelude::{ParquetReadOptions, SessionContext};
use quarry_eval::{
    Cell, EvalOptions, EvalTarget, Mode, Outcome, Prediction, ResultTable, SpiderImportOptions, TargetError,
    import_spider, load_cases, run_eval, spider_hardness,
};
use quarry_snapshot::SnapshotStore;

/// The mini set checked into the repository.
fn spider_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/spider-mini")
}

/// The whole Spider dev set, when `SPIDER_DEV_DIR` names it; `None` (and a note) otherwise.
fn full_spider_dir(test: &str) -> Option<PathBuf> {
    match std::env::var_os("SPIDER_DEV_DIR") {
        Some(dir) => Some(PathBuf::from(dir)),
        None => {
            eprintln!("{test}: skipped, set SPIDER_DEV_DIR to the Spider dev directory to run it");
            None
        }
    }
}

fn subset(dbs: &[&str]) -> SpiderImportOptions {
    SpiderImportOptions { only_dbs: Some(dbs.iter().map(|d| d.to_string()).collect()), as_of: None }
}

#[test]
fn hardness_matches_the_published_dev_distribution() {
    let Some(dir) = full_spider_dir("hardness_matches_the_published_dev_distribution") else { return };
    let dev: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(dir.join("dev.json")).unwrap()).unwrap();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for item in &dev {
        *counts.entry(spider_hardness(&item["sql"])).or_default() += 1;
    }
    // Spider's dev set: 248 easy, 446 medium, 174 hard, 166 extra hard questions.
    assert_eq!(counts, BTreeMap::from([("easy", 248), ("medium", 446), ("hard", 174), ("extra", 166)]));
}

#[test]
fn a_subset_imports_into_snapshots_layers_and_cases() {
    let out = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let import = import_spider(&spider_dir(), out.path(), &subset(&["concert_singer", "car_1"])).unwrap();
    eprintln!("imported concert_singer and car_1 in {:?}", started.elapsed());
    assert_eq!(import.databases.iter().map(|d| d.db_id.as_str()).collect::<Vec<_>>(), ["car_1", "concert_singer"]);
    assert_eq!(import.cases, 92 + 45);
    assert!(import.excluded.is_empty(), "{:?}", import.excluded);
    assert_eq!(import.by_hardness.values().sum::<usize>(), import.cases);

    let store = SnapshotStore::new(&import.snapshots_dir);
    for db in &import.databases {
        let snapshot = store.get(&db.snapshot_id).unwrap();
        assert_eq!(snapshot.manifest.tables.len(), db.tables);
        assert_eq!(db.semantic_layer, snapshot.semantic_layer_path());
        let layer = quarry_semantic::SemanticLayer::from_yaml_file(&db.semantic_layer).unwrap();
        assert_eq!(layer.tables.len(), db.tables);
    }
    let excluded: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(&import.excluded_path).unwrap()).unwrap();
    assert!(excluded.is_empty());

    let (cases, errors) = load_cases(&import.cases_path).unwrap();
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(cases.len(), import.cases);
    let first = cases.iter().find(|c| c.tags[0] == "concert_singer").unwrap();
    assert_eq!(first.id, "spider-dev-0000");
    assert_eq!(first.question, "How many singers do we have?");
    assert_eq!(first.gold_rows.as_ref().unwrap().rows, vec![vec![Cell::Int(6)]]);
    let concert = import.databases.iter().find(|d| d.db_id == "concert_singer").unwrap();
    assert_eq!(first.snapshot.as_deref(), Some(concert.snapshot_id.as_str()));
    assert_eq!(first.tags, ["concert_singer", "easy", "single-table"]);
    assert_eq!(first.ordered, Some(false));
    let ordered = cases.iter().find(|c| c.gold_sql.as_deref().is_some_and(|s| s.contains("ORDER BY"))).unwrap();
    assert_eq!(ordered.ordered, Some(true), "{}", ordered.id);

    // car_1 stores numbers as text: the gold computed with the snapshot's types is accepted too.
    let avg_mpg = cases
        .iter()
        .find(|c| c.gold_sql.as_deref() == Some("SELECT avg(mpg) FROM CARS_DATA WHERE Cylinders  =  4;"))
        .unwrap();
    assert_eq!(avg_mpg.gold_rows_alternatives.len(), 1, "{:?}", avg_mpg.gold_rows_alternatives);
    // Ties under ORDER BY ... LIMIT are recorded.
    assert!(cases.iter().any(|c| !c.gold_ties.is_empty()));

    // Importing again reuses the installed snapshots.
    let again = import_spider(&spider_dir(), out.path(), &subset(&["concert_singer"])).unwrap();
    assert_eq!(again.databases[0].snapshot_id, concert.snapshot_id);
    assert!(again.databases[0].notes.iter().any(|n| n.contains("already installed")));
}

/// wta_1's `rankings` table is empty in the distributed copy: its questions are excluded.
#[test]
fn questions_on_a_known_empty_table_are_excluded() {
    let Some(dir) = full_spider_dir("questions_on_a_known_empty_table_are_excluded") else { return };
    let out = tempfile::tempdir().unwrap();
    let import = import_spider(&dir, out.path(), &subset(&["wta_1"])).unwrap();
    // 62 wta_1 questions of which 8 read the empty rankings table.
    assert_eq!(import.cases, 54);
    assert_eq!(import.excluded.len(), 8);
    assert!(
        import.excluded.iter().all(|e| e.db_id == "wta_1"
            && e.reason.contains("rankings")
            && e.query.to_lowercase().contains("rankings"))
    );
}

#[test]
fn bad_directories_and_database_names_are_explained() {
    let empty = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let error = import_spider(empty.path(), out.path(), &SpiderImportOptions::default()).unwrap_err().to_string();
    assert!(error.contains("dev.json") && error.contains("give the directory holding dev.json"), "{error}");
    let error = import_spider(&spider_dir(), out.path(), &subset(&["no_such_db"])).unwrap_err().to_string();
    assert!(error.contains("no question uses database 'no_such_db'") && error.contains("concert_singer"), "{error}");
}

/// Gold SQL replayed on DataFusion over the imported Parquet files, a stand-in for quarry's
/// executor that applies the same read-only SQL options.
struct ParquetTarget {
    store: SnapshotStore,
}

#[async_trait::async_trait]
impl EvalTarget for ParquetTarget {
    type Session = ();

    async fn new_session(&self, _snapshot: Option<&str>) -> Result<(), TargetError> {
        Err(TargetError::new("the gold replay target only runs SQL"))
    }

    async fn ask(&self, _session: &mut (), _question: &str) -> Prediction {
        Prediction::new(Outcome::GenerationFailed("not a model".into()))
    }

    async fn run_sql(&self, snapshot: Option<&str>, sql: &str) -> Prediction {
        let outcome = match self.execute(snapshot.unwrap_or_default(), sql).await {
            Ok(table) => Outcome::Rows(table),
            Err(e) => Outcome::ExecutionError(e),
        };
        Prediction::new(outcome).with_sql(sql)
    }
}

impl ParquetTarget {
    async fn execute(&self, snapshot: &str, sql: &str) -> Result<ResultTable, String> {
        let snapshot = self.store.get(snapshot).map_err(|e| e.to_string())?;
        let ctx = SessionContext::new();
        for table in &snapshot.manifest.tables {
            let path = snapshot.dir.join(&table.file);
            ctx.register_parquet(&table.name, path.to_str().unwrap(), ParquetReadOptions::default())
                .await
                .map_err(|e| e.to_string())?;
        }
        let options = SQLOptions::new().with_allow_ddl(false).with_allow_dml(false).with_allow_statements(false);
        let frame = ctx.sql_with_options(sql, options).await.map_err(|e| e.to_string())?;
        let batches = frame.collect().await.map_err(|e| e.to_string())?;
        Ok(ResultTable::from_record_batches(&batches))
    }
}

#[tokio::test]
async fn gold_replay_on_datafusion_scores_the_sqlite_gold_rows() {
    let out = tempfile::tempdir().unwrap();
    let import = import_spider(&spider_dir(), out.path(), &subset(&["concert_singer", "pets_1"])).unwrap();
    let (cases, _) = load_cases(&import.cases_path).unwrap();
    let target = ParquetTarget { store: SnapshotStore::new(&import.snapshots_dir) };
    let options = EvalOptions { jobs: 2, mode: Mode::Gold, progress: false, ..EvalOptions::default() };
    let report = run_eval(&target, &cases, &options).await;
    let summary = report.summary();
    eprintln!("{}", report.summary_table());
    assert_eq!(summary.harness_errors, 0);
    assert_eq!(summary.scored, cases.len());
    // Plain counting queries run unchanged on DataFusion and match SQLite's rows.
    let first = &report.cases[0];
    assert!(first.ex_strict, "{first:?}");
    // SOURCE.md measured about 65% of the dev set running unchanged; these two databases use
    // few SQLite-isms, so most of their gold queries replay.
    assert!(summary.ex.value() > 0.5, "ex {:?}", summary.ex);
    assert!(summary.ex.value() < 1.0, "some SQLite-isms are expected to fail: {:?}", summary.categories);
}

/// The whole dev set: 20 databases, 1034 questions (about 1.5 s in a debug build).
#[test]
fn the_full_dev_set_imports() {
    let Some(dir) = full_spider_dir("the_full_dev_set_imports") else { return };
    let out = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let import = import_spider(&dir, out.path(), &SpiderImportOptions::default()).unwrap();
    eprintln!("full import: {:?}, {} cases", started.elapsed(), import.cases);
    assert_eq!(import.databases.len(), 20);
    assert_eq!(import.cases + import.excluded.len(), 1034);
    assert_eq!(import.cases, 1026, "only the 8 rankings questions are excluded: {:?}", import.excluded);
    assert_eq!(import.by_hardness.values().sum::<usize>(), 1026);
}

/// Replays every gold query on DataFusion and prints the summary: a measurement of the
/// dialect gap, run on demand with `cargo test -p quarry-eval --test spider_import -- --ignored --nocapture`.
#[tokio::test]
#[ignore = "replays 1026 queries; a measurement, run with --ignored"]
async fn full_gold_replay_on_datafusion() {
    let Some(dir) = full_spider_dir("full_gold_replay_on_datafusion") else { return };
    let out = tempfile::tempdir().unwrap();
    let import = import_spider(&dir, out.path(), &SpiderImportOptions::default()).unwrap();
    let (cases, _) = load_cases(&import.cases_path).unwrap();
    let target = ParquetTarget { store: SnapshotStore::new(&import.snapshots_dir) };
    let options = EvalOptions { jobs: 2, mode: Mode::Gold, progress: false, ..EvalOptions::default() };
    let report = run_eval(&target, &cases, &options).await;
    eprintln!("{}", report.summary_table());
    if let Some(path) = std::env::var_os("QUARRY_EVAL_REPLAY_REPORT") {
        std::fs::write(path, report.to_markdown()).unwrap();
    }
    let summary = report.summary();
    assert_eq!(summary.scored, 1026);
    assert!(summary.ex.value() > 0.5, "{:?}", summary.ex);
}
