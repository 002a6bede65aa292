//! `quarry-bench`: latency per stage, the answer cache, the model route's overhead and
//! DuckDB beside quarry's executor, on the demo warehouse at the scales asked for. Build it
//! in release: `cargo run --release -p quarry-bench -- --markdown docs/bench-tables.md`.

use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use quarry_bench::report::{ScaleResults, machine, markdown};
use quarry_bench::{duckdb, instant_model::InstantModel, stages, warehouse};
use quarry_exec::{ExecutionEngine, ExecutorConfig};
use quarry_settings::CacheSettings;

/// DataFusion's many short-lived buffers are cheaper with mimalloc than with glibc's malloc
/// (see docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Benchmarks quarry's pipeline on the demo warehouse.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// The labeled questions.
    #[arg(long, default_value = "eval/questions/demo.jsonl")]
    questions: PathBuf,
    /// Demo warehouse scales to run at (generated under --data-dir on first use).
    #[arg(long, value_delimiter = ',', default_value = "1,10")]
    scales: Vec<u32>,
    /// Measured passes over the questions (after one warm-up pass).
    #[arg(long, default_value_t = 5)]
    repetitions: usize,
    /// Where generated warehouses and indexes are kept between runs.
    #[arg(long, default_value = "target/bench-data")]
    data_dir: PathBuf,
    /// Skip the DuckDB comparison.
    #[arg(long)]
    no_duckdb: bool,
    /// Skip the model route.
    #[arg(long)]
    no_model: bool,
    /// Write the tables as Markdown here (they are printed either way).
    #[arg(long)]
    markdown: Option<PathBuf>,
    /// Write every figure as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Run the queries on the Ballista cluster whose scheduler this is (`df://host:port`,
    /// started with `quarry-cluster`) instead of in process. Its executors must read
    /// --data-dir at the same path.
    #[arg(long)]
    ballista_url: Option<String>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    // Planning recurses over syntax trees: the workers need the pipeline's stack size.
    let runtime = quarry_answer::pipeline_runtime()?;
    runtime.block_on(async move { tokio::spawn(run(args)).await? })
}

async fn run(args: Args) -> anyhow::Result<()> {
    let (cases, bad) =
        quarry_eval::load_cases(&args.questions).with_context(|| format!("reading {}", args.questions.display()))?;
    anyhow::ensure!(bad.is_empty(), "{} has {} malformed lines", args.questions.display(), bad.len());
    let executor = match &args.ballista_url {
        Some(url) => ExecutorConfig {
            engine: ExecutionEngine::Ballista,
            ballista_url: Some(url.clone()),
            ..ExecutorConfig::default()
        },
        None => ExecutorConfig::default(),
    };
    // The data directory by its absolute path: the cluster's executors read the same files.
    let data_dir = std::path::absolute(&args.data_dir).context("resolving --data-dir")?;
    let mut results = Vec::new();
    for &scale in &args.scales {
        eprintln!("scale {scale}: preparing the warehouse and index");
        let snapshot = warehouse::demo_snapshot(&data_dir, scale)?;
        let index = warehouse::default_index(&data_dir.join(format!("index-{scale}")), &snapshot).await?;
        let pipeline = warehouse::builtin_pipeline(&snapshot, &executor).await?;
        eprintln!("scale {scale}: built-in route");
        let builtin = stages::builtin_stages(&pipeline, &index, &cases, args.repetitions).await;
        eprintln!("scale {scale}: answer cache");
        let cached_pipeline =
            warehouse::builtin_pipeline(&snapshot, &executor).await?.with_cache(&CacheSettings::default());
        let cached = stages::cache_hits(&cached_pipeline, &cases, args.repetitions).await;
        let model = if args.no_model {
            None
        } else {
            eprintln!("scale {scale}: model route");
            let pairs = cases.iter().filter_map(|c| Some((c.question.clone(), c.gold_sql.clone()?))).collect();
            let endpoint = InstantModel::start(pairs).await?;
            let model_pipeline =
                warehouse::model_pipeline(&snapshot, &executor, &endpoint.base_url, index.clone()).await?;
            Some(stages::model_stages(&model_pipeline, &cases, args.repetitions).await)
        };
        let duckdb = if args.no_duckdb {
            None
        } else {
            eprintln!("scale {scale}: DuckDB beside quarry's executor");
            let queries = builtin_sql(&pipeline, &cases).await;
            let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
            Some(duckdb::compare(&pipeline, &queries, args.repetitions, threads).await?)
        };
        let rows = snapshot.manifest.tables.iter().map(|t| t.rows).sum();
        let parquet_bytes = snapshot
            .manifest
            .tables
            .iter()
            .filter_map(|t| std::fs::metadata(snapshot.dir.join(&t.file)).ok())
            .map(|m| m.len())
            .sum();
        results.push(ScaleResults { scale, rows, parquet_bytes, builtin, cached, model, duckdb });
    }
    let text = format!(
        "Machine: {}. {} questions from {}, {} measured passes after a warm-up.\n\n{}",
        machine(),
        cases.len(),
        args.questions.display(),
        args.repetitions,
        markdown(&results)
    );
    println!("{text}");
    if let Some(path) = &args.markdown {
        std::fs::write(path, &text).with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&results)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// The SQL the built-in route ran for each case (follow-ups in their conversation), once.
async fn builtin_sql(pipeline: &quarry_answer::Pipeline, cases: &[quarry_eval::Case]) -> Vec<(String, String)> {
    let mut conversations = std::collections::HashMap::<String, quarry_answer::Conversation>::new();
    let mut queries = Vec::new();
    for case in cases {
        let key = case.conversation.clone().unwrap_or_else(|| format!("single:{}", case.id));
        if let Ok(answer) = pipeline.ask(&case.question, conversations.entry(key).or_default()).await
            && let Some(sql) = answer.sql
        {
            queries.push((case.id.clone(), sql));
        }
    }
    queries
}
