//! The harness measures what it says on the demo warehouse: every stage of both routes,
//! cache hits, and the same SQL in DuckDB (when its Python package is installed; CI sets
//! `REQUIRE_DUCKDB=1` to make a missing one a failure). No timing is asserted.

use std::path::PathBuf;
use std::sync::Arc;

use quarry_bench::instant_model::InstantModel;
use quarry_bench::stages::{BUILTIN_STAGES, MODEL_STAGES, builtin_stages, cache_hits, model_stages};
use quarry_bench::{duckdb, report, warehouse};
use quarry_exec::ExecutorConfig;
use quarry_settings::CacheSettings;

fn cases() -> Vec<quarry_eval::Case> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../eval/questions/demo.jsonl");
    let (cases, bad) = quarry_eval::load_cases(&path).expect("the labeled set reads");
    assert!(bad.is_empty());
    // Single questions with a chart and without, and a conversation of follow-ups.
    let mut picked: Vec<_> = cases.iter().filter(|c| c.conversation.is_none()).take(12).cloned().collect();
    let conversation = cases.iter().find_map(|c| c.conversation.clone()).expect("a conversation in the set");
    picked.extend(cases.iter().filter(|c| c.conversation.as_deref() == Some(conversation.as_str())).cloned());
    picked
}

fn run<F: std::future::Future<Output = ()> + Send + 'static>(body: F) {
    let runtime = quarry_answer::pipeline_runtime().expect("runtime");
    let outcome = runtime.block_on(async { tokio::spawn(body).await });
    runtime.shutdown_background();
    if let Err(error) = outcome {
        std::panic::resume_unwind(error.into_panic());
    }
}

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bench-data")
}

#[test]
fn every_stage_of_both_routes_and_the_cache_are_measured() {
    run(async {
        let cases = cases();
        let snapshot = warehouse::demo_snapshot(&data_dir(), 1).expect("warehouse");
        let index = warehouse::default_index(&data_dir().join("index-1"), &snapshot).await.expect("index");
        let pipeline = warehouse::builtin_pipeline(&snapshot, &ExecutorConfig::default()).await.expect("pipeline");
        let builtin = builtin_stages(&pipeline, &index, &cases, 1).await;
        assert!(builtin.errors.is_empty(), "{:?}", builtin.errors);
        assert_eq!(builtin.answers, cases.len() as u64);
        for stage in BUILTIN_STAGES {
            assert!(builtin.stages.contains_key(stage), "{stage} is measured: {:?}", builtin.stages.keys());
        }
        assert_eq!(builtin.stages["total"].count, cases.len() as u64);

        let cached = warehouse::builtin_pipeline(&snapshot, &ExecutorConfig::default())
            .await
            .expect("pipeline")
            .with_cache(&CacheSettings::default());
        let hits = cache_hits(&cached, &cases, 1).await;
        assert!(hits.errors.is_empty(), "every repeated question is a hit: {:?}", hits.errors);
        assert_eq!(hits.answers, cases.len() as u64);

        let pairs = cases.iter().filter_map(|c| Some((c.question.clone(), c.gold_sql.clone()?))).collect();
        let model = InstantModel::start(pairs).await.expect("instant model");
        let routed =
            warehouse::model_pipeline(&snapshot, &ExecutorConfig::default(), &model.base_url, Arc::clone(&index))
                .await
                .expect("pipeline");
        let model = model_stages(&routed, &cases, 1).await;
        assert!(model.errors.is_empty(), "{:?}", model.errors);
        for stage in MODEL_STAGES {
            assert!(model.stages.contains_key(stage), "{stage} is measured: {:?}", model.stages.keys());
        }
        let markdown = report::markdown(&[report::ScaleResults {
            scale: 1,
            rows: 1,
            parquet_bytes: 1,
            builtin,
            cached: hits,
            model: Some(model),
            duckdb: None,
        }]);
        for heading in ["### Scale 1", "| execute", "| repeated question (cache)", "| synthesize"] {
            assert!(markdown.contains(heading), "{heading} in\n{markdown}");
        }
    });
}

#[test]
fn duckdb_runs_the_same_sql_on_the_same_parquet() {
    let installed = std::process::Command::new("python3")
        .args(["-c", "import duckdb, pyarrow"])
        .status()
        .is_ok_and(|s| s.success());
    if !installed {
        assert!(std::env::var_os("REQUIRE_DUCKDB").is_none(), "REQUIRE_DUCKDB is set but duckdb is not installed");
        eprintln!("skipped: pip install duckdb pyarrow to compare with DuckDB");
        return;
    }
    run(async {
        let snapshot = warehouse::demo_snapshot(&data_dir(), 1).expect("warehouse");
        let pipeline = warehouse::builtin_pipeline(&snapshot, &ExecutorConfig::default()).await.expect("pipeline");
        let queries = vec![
            ("count".to_string(), "SELECT COUNT(*) AS users FROM users".to_string()),
            (
                "by-plan".to_string(),
                "SELECT plan, SUM(mrr_usd) AS mrr FROM subscriptions WHERE status = 'active' GROUP BY plan".to_string(),
            ),
        ];
        let comparison = duckdb::compare(&pipeline, &queries, 2, 2).await.expect("both engines run");
        assert_eq!(comparison.queries.len(), 2);
        for query in &comparison.queries {
            assert!(query.duckdb_error.is_none(), "{query:?}");
            assert!(query.ratio.is_some_and(|r| r > 0.0) && query.quarry_ms > 0.0, "{query:?}");
        }
        assert_eq!(comparison.within(f64::INFINITY), (2, 2));
        assert!(report::duckdb_markdown(&comparison).contains("| by-plan"));
    });
}
