//! The `quarry` command: ask questions of your data, run SQL safely, manage snapshots.
//!
//! A thin layer over the library crates: it parses arguments, loads [`Settings`] once, and
//! prints. Exit codes: 0 answered, 1 error, 2 the question could not be mapped, 3 quarry
//! asks a clarifying question.

mod calibrate_cmd;
mod chart_cmd;
mod chat;
mod clarify;
mod eval_target;
mod output;
mod own_data;
mod retrieval_cmd;
mod review_cmd;
mod semantic_cmd;
mod serve_cmd;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use quarry_answer::{AnswerStatus, Conversation, ConversationStore};
use quarry_settings::Settings;
use quarry_snapshot::{SnapshotStore, import};

/// DataFusion's many short-lived buffers are cheaper with mimalloc than with glibc's malloc
/// (see docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "quarry", version, about = "Conversational BI: ask questions of your data in plain language.")]
struct Cli {
    /// A settings file read after the defaults and quarry.toml files.
    #[arg(long, global = true, value_name = "PATH")]
    config: Option<PathBuf>,
    /// Log progress to stderr (-v info, -vv debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Answer a question in plain language. When quarry asks back, its options are numbered;
    /// at a terminal, pick one to ask it as a follow-up.
    Ask {
        /// The question, e.g. "signups by channel last month".
        question: String,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
        /// Snapshot id (or prefix) to use instead of the configured one.
        #[arg(long)]
        snapshot: Option<String>,
        /// Continue this conversation (an id not seen before starts one under that id), so
        /// follow-ups like "and in 2024?" work across runs.
        #[arg(long, value_name = "ID")]
        conversation: Option<String>,
        /// Write the answer's chart to this file (.svg or .png).
        #[arg(long, value_name = "PATH")]
        chart: Option<PathBuf>,
        /// Chart size.
        #[arg(long, value_enum, default_value = "web")]
        chart_size: chart_cmd::ChartSize,
    },
    /// Ask questions one after another in a conversation; follow-ups continue the last answer.
    Chat {
        /// Continue this conversation instead of starting a new one.
        #[arg(long, value_name = "ID")]
        conversation: Option<String>,
        /// Snapshot id (or prefix) to use instead of the configured one.
        #[arg(long)]
        snapshot: Option<String>,
    },
    /// Render a Vega-Lite v4 spec over a CSV or Parquet file to SVG or PNG.
    Chart {
        /// The Vega-Lite v4 spec (JSON); its data is ignored.
        spec: PathBuf,
        /// The data: a .csv or .parquet file.
        data: PathBuf,
        /// The output file: .svg or .png.
        #[arg(short, long, value_name = "OUT")]
        out: PathBuf,
        /// Chart size.
        #[arg(long, value_enum, default_value = "web")]
        size: chart_cmd::ChartSize,
    },
    /// Run SQL through the policy and the sandboxed executor.
    Sql {
        /// One read-only query.
        sql: String,
        /// Print one JSON object with columns and rows instead of a table.
        #[arg(long)]
        json: bool,
        /// Snapshot id (or prefix) to use instead of the configured one.
        #[arg(long)]
        snapshot: Option<String>,
    },
    /// Generate the demo warehouse as a snapshot.
    Demo(DemoArgs),
    /// Manage snapshots.
    #[command(subcommand)]
    Snapshot(SnapshotCommand),
    /// Work with semantic layers.
    #[command(subcommand)]
    Semantic(SemanticCommand),
    /// Measure accuracy on a labeled question set (JSONL), or import a public benchmark.
    Eval(EvalArgs),
    /// Build the retrieval index (metrics, dimensions, schema, verified questions, known values).
    Index(retrieval_cmd::IndexArgs),
    /// Search the retrieval index: see what a question's words are grounded to.
    Search(retrieval_cmd::SearchArgs),
    /// Serve the web chat, the Slack /ask command and the HTTP API.
    Serve {
        /// Address to listen on (default: the `server.addr` setting, 127.0.0.1:8080).
        #[arg(long, value_name = "HOST:PORT")]
        addr: Option<String>,
    },
    /// Read the audit log of answers given by the server.
    #[command(subcommand)]
    Audit(serve_cmd::AuditCommand),
    /// Read the feedback given on answers.
    #[command(subcommand)]
    Feedback(serve_cmd::FeedbackCommand),
    /// Manage verified questions promoted from answers.
    #[command(subcommand)]
    Verified(serve_cmd::VerifiedCommand),
    /// Work the review queue: questions quarry could not answer with confidence, handed to an
    /// analyst.
    #[command(subcommand)]
    Review(review_cmd::ReviewCommand),
    /// Run queries for the quarry process that started this one, over stdin and stdout (see
    /// the `[isolation]` settings); not for use by hand.
    #[command(hide = true)]
    Worker {
        /// Address-space limit this process puts on itself before anything else, in MiB.
        #[arg(long, value_name = "MIB")]
        address_space_mb: u64,
    },
}

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
struct EvalArgs {
    #[command(subcommand)]
    command: Option<EvalCommand>,
    /// The question set: one JSON case per line.
    #[arg(required = true)]
    file: Option<PathBuf>,
    /// Where predictions come from: the built-in planner, the configured OpenAI-compatible
    /// model, or the gold SQL replayed through the policy and executor (measures the harness
    /// and the engine's dialect coverage).
    #[arg(long, value_enum, default_value_t = EvalModel::Builtin)]
    model: EvalModel,
    /// Cases (or conversations) run at the same time.
    #[arg(long, default_value_t = 4)]
    jobs: usize,
    /// Relative tolerance when comparing numbers.
    #[arg(long, default_value_t = 1e-6)]
    tolerance: f64,
    /// Write every case with its SQL, result digest and verdict as JSON.
    #[arg(long, value_name = "PATH.json")]
    report: Option<PathBuf>,
    /// Write a Markdown report.
    #[arg(long, value_name = "PATH.md")]
    markdown: Option<PathBuf>,
    /// Write a JUnit XML report.
    #[arg(long, value_name = "PATH.xml")]
    junit: Option<PathBuf>,
    /// Compare with an earlier JSON report: list regressions and fixes.
    #[arg(long, value_name = "OLD.json")]
    compare: Option<PathBuf>,
    /// Exit non-zero when execution accuracy (ex) is below this.
    #[arg(long, value_name = "X")]
    min_ex: Option<f64>,
    /// Exit non-zero when the precision among answered questions (ex of the answers given,
    /// leaving out questions asked back or refused) is below this.
    #[arg(long, value_name = "X")]
    min_precision: Option<f64>,
    /// Another snapshot directory to find the cases' snapshots in (e.g. a Spider import's).
    #[arg(long, value_name = "DIR")]
    snapshots: Vec<PathBuf>,
    /// Do not draw a progress bar.
    #[arg(long)]
    no_progress: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum EvalModel {
    /// The built-in semantic planner.
    Builtin,
    /// Replay each case's gold SQL.
    Gold,
    /// Send every question to the configured OpenAI-compatible endpoint (`[model]` in
    /// quarry.toml or `QUARRY_MODEL__*`), routed model-only, with tokens, cost and latency per
    /// question in the reports.
    Openai,
}

#[derive(Subcommand)]
enum EvalCommand {
    /// Import a public benchmark as snapshots, starter semantic layers and a question set.
    #[command(subcommand)]
    Import(ImportSource),
    /// Recall@1, recall@5 and MRR per kind of the retrieval index on a labeled set.
    Retrieval(retrieval_cmd::RetrievalEvalArgs),
    /// Fit the built-in planner's confidence model on labeled sets.
    Calibrate(calibrate_cmd::CalibrateArgs),
}

#[derive(Subcommand)]
enum ImportSource {
    /// A Spider-format directory: dev.json, tables.json and database/DB_ID/DB_ID.sqlite.
    Spider {
        /// The Spider directory.
        dir: PathBuf,
        /// Output directory (snapshots and the JSONL question set).
        #[arg(long, default_value = "eval/out/spider-dev")]
        out: PathBuf,
    },
}

#[derive(Args)]
struct DemoArgs {
    /// Scale factor: 1 is about a million events.
    #[arg(long, default_value_t = 1)]
    scale: u32,
    /// Generator seed.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Write the snapshot to this directory instead of installing it in the data directory.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

#[derive(Subcommand)]
enum SnapshotCommand {
    /// Import a directory of CSV/Parquet files, a SQLite database or a PostgreSQL schema as a
    /// snapshot, with a starter semantic layer.
    Create {
        /// Directory of .csv/.parquet files, a SQLite database file, or a PostgreSQL URL
        /// (`postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE`).
        #[arg(long, value_name = "PATH|URL")]
        from: PathBuf,
        /// The date relative time phrases resolve against (default: the latest date in the data).
        #[arg(long, value_name = "YYYY-MM-DD")]
        as_of: Option<chrono::NaiveDate>,
        /// PostgreSQL only: the schema to import.
        #[arg(long, value_name = "SCHEMA", default_value = import::postgres::DEFAULT_SCHEMA)]
        schema: String,
        /// PostgreSQL only: import just these tables (comma separated; default: every table).
        #[arg(long, value_name = "TABLE,...", value_delimiter = ',')]
        tables: Vec<String>,
    },
    /// List installed snapshots.
    List,
    /// Show a snapshot's manifest.
    Show {
        /// Snapshot id or unambiguous prefix.
        id: String,
        /// Print the manifest as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Make a snapshot the default of ask, sql, chat and serve (recorded in
    /// $QUARRY_HOME/quarry.toml); `--demo` goes back to the demo warehouse.
    Use {
        /// Snapshot id or unambiguous prefix.
        #[arg(required_unless_present = "demo", conflicts_with = "demo")]
        id: Option<String>,
        /// Use the demo warehouse again.
        #[arg(long)]
        demo: bool,
    },
}

#[derive(Subcommand)]
enum SemanticCommand {
    /// Print the JSON Schema of semantic layer files.
    Schema,
    /// Validate a semantic layer file against a snapshot.
    Check {
        /// The YAML file.
        file: PathBuf,
        /// Snapshot id (default: the configured snapshot).
        #[arg(long)]
        snapshot: Option<String>,
    },
    /// Import a semantic layer from dbt MetricFlow, Cube, Cortex Analyst, OSI or WrenAI MDL,
    /// with a report of what was mapped and what was not.
    Import(semantic_cmd::ImportArgs),
    /// Write the semantic layer as Open Semantic Interchange (OSI) YAML.
    Export(semantic_cmd::ExportArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // qdrant-edge warns about process-wide flags that only the Qdrant server initializes; its
    // defaults are the ones quarry wants, so only its errors are shown.
    let filter = match cli.verbose {
        0 => "warn,qdrant_edge=error",
        1 => "info,qdrant_edge=error",
        _ => "debug",
    };
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_target(false).init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(quarry_server::WORKER_STACK_BYTES)
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    if let Command::Worker { address_space_mb } = cli.command {
        // Settings are not read: everything a worker needs comes from the process that
        // started it, which read them.
        quarry_worker::run_worker_process(quarry_worker::ProcessLimits { address_space_mb }).await?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut settings = Settings::load(cli.config.as_deref())?;
    // Queries a person or a model wrote run in worker processes, so that one the engine's
    // guards miss (an operator that buffers values no memory pool sees, such as a window over
    // a wide value) kills a worker at its address-space limit instead of aborting quarry: the
    // one-shot commands too, where the abort ended the command without an answer or an error.
    // Start-up costs them about 0.1 s (a debug build, two cores), once per command. Evaluation
    // and calibration run labeled questions in process, where they are timed.
    let untrusted = matches!(
        cli.command,
        Command::Serve { .. } | Command::Sql { .. } | Command::Ask { .. } | Command::Chat { .. } | Command::Review(_)
    );
    settings.isolation.mode = settings.isolation.mode.resolve(untrusted);
    if untrusted && !matches!(cli.command, Command::Serve { .. }) && settings.isolation.workers == 0 {
        // One question at a time: one worker.
        settings.isolation.workers = 1;
    }
    match cli.command {
        Command::Worker { .. } => unreachable!("the worker command returned above"),
        Command::Chart { spec, data, out, size } => chart_cmd::chart(&spec, &data, &out, size).await,
        Command::Serve { addr } => serve_cmd::serve(settings, addr).await,
        Command::Audit(command) => serve_cmd::audit(&settings, command).await,
        Command::Feedback(command) => serve_cmd::feedback(&settings, command).await,
        Command::Verified(command) => serve_cmd::verified(&settings, command).await,
        Command::Review(command) => review_cmd::review(&settings, command).await,
        Command::Ask { mut question, json, snapshot, conversation: conversation_id, chart, chart_size } => {
            if let Some(id) = &snapshot {
                settings.snapshot = id.clone();
            }
            let store = ConversationStore::new(settings.conversations_dir()?);
            let mut conversation = match &conversation_id {
                Some(id) => store.load(id)?,
                None => Conversation::default(),
            };
            let pipeline = quarry_bootstrap::open_pipeline(&settings).await?;
            let notice =
                snapshot.is_none().then(|| own_data::demo_notice(&settings, pipeline.snapshot(), false)).flatten();
            let picking = !json && std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
            // A picked option is asked as the next turn of the same conversation, as a typed
            // follow-up would be; its answer may ask back again.
            let answer = loop {
                let answer = pipeline.ask(&question, &mut conversation).await?;
                if let Some(id) = &conversation_id {
                    store.save(id, &conversation)?;
                }
                if json {
                    break answer;
                }
                output::print_answer(&answer);
                let options = clarify::options(&answer).to_vec();
                if options.is_empty() {
                    break answer;
                }
                if !picking {
                    if let Some(hint) = clarify::hint(&options, conversation_id.as_deref(), snapshot.as_deref()) {
                        println!("\n{hint}");
                    }
                    break answer;
                }
                println!();
                match clarify::read_pick(&mut std::io::stdin().lock(), &mut std::io::stdout(), options.len())? {
                    Some(index) => {
                        question = options[index].clone();
                        println!("\n? {question}");
                    }
                    None => break answer,
                }
            };
            if let Some(path) = &chart {
                chart_cmd::write_answer_chart(&answer, path, chart_size)?;
            }
            if json {
                output::print_json(&output::ask_json(&answer, notice.as_deref()))?;
            } else if let Some(notice) = &notice {
                println!("\nnote: {notice}");
            }
            Ok(match answer.status {
                AnswerStatus::Answered => ExitCode::SUCCESS,
                AnswerStatus::CannotAnswer => ExitCode::from(2),
                AnswerStatus::NeedsClarification => ExitCode::from(3),
            })
        }
        Command::Chat { conversation, snapshot } => {
            let explicit = snapshot.is_some();
            if let Some(id) = snapshot {
                settings.snapshot = id;
            }
            chat::run(&settings, conversation, explicit).await
        }
        Command::Sql { sql, json, snapshot } => {
            let explicit = snapshot.is_some();
            if let Some(id) = snapshot {
                settings.snapshot = id;
            }
            let pipeline = quarry_bootstrap::open_pipeline(&settings).await?;
            let notice = (!explicit).then(|| own_data::demo_notice(&settings, pipeline.snapshot(), false)).flatten();
            let answer = pipeline.run_sql(&sql).await?;
            if json {
                output::print_json(&output::sql_json(&answer, notice.as_deref()))?;
            } else {
                println!("{}", output::table(&answer.columns, &answer.rows));
                output::print_sql_notes(&answer.sql_notes);
                output::print_footer(answer.rows.len(), answer.truncated, &answer.snapshot_id, &answer.timings_ms);
                if let Some(notice) = &notice {
                    println!("note: {notice}");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo(args) => {
            let config = quarry_demo::DemoConfig { seed: args.seed, scale: args.scale };
            let started = std::time::Instant::now();
            let (manifest, dir) = match args.out {
                Some(dir) => (quarry_demo::write_demo(&dir, &config)?, dir),
                None => {
                    settings.demo = quarry_settings::DemoSettings { seed: args.seed, scale: args.scale };
                    let snapshot = quarry_bootstrap::resolve_snapshot(&settings)?;
                    (snapshot.manifest, snapshot.dir)
                }
            };
            println!(
                "demo snapshot {} ({} rows, {:.1} MB) in {} [{:.1} s]",
                manifest.id,
                manifest.total_rows(),
                manifest.total_bytes() as f64 / 1e6,
                dir.display(),
                started.elapsed().as_secs_f64()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Snapshot(command) => snapshot_command(&settings, cli.config.as_deref(), command).await,
        Command::Eval(EvalArgs { command: Some(EvalCommand::Retrieval(args)), .. }) => {
            retrieval_cmd::eval(settings, args).await
        }
        Command::Eval(args) => eval_command(settings, args).await,
        Command::Index(args) => retrieval_cmd::index(settings, args).await,
        Command::Search(args) => retrieval_cmd::search(settings, args).await,
        Command::Semantic(SemanticCommand::Import(args)) => semantic_cmd::import(settings, args).await,
        Command::Semantic(SemanticCommand::Export(args)) => semantic_cmd::export(&settings, args),
        Command::Semantic(SemanticCommand::Schema) => {
            print!("{}", quarry_semantic::SemanticLayer::json_schema());
            Ok(ExitCode::SUCCESS)
        }
        Command::Semantic(SemanticCommand::Check { file, snapshot }) => {
            if let Some(id) = snapshot {
                settings.snapshot = id;
            }
            let target = quarry_bootstrap::resolve_snapshot(&settings)?;
            let layer = quarry_semantic::SemanticLayer::from_yaml_file(&file)?;
            layer.validate_against(&target, &file.display().to_string()).await?;
            println!(
                "{} is valid for snapshot {}: {} tables, {} metrics, {} dimensions",
                file.display(),
                target.manifest.id,
                layer.tables.len(),
                layer.metrics.len(),
                layer.dimensions.len()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn snapshot_command(
    settings: &Settings,
    config: Option<&std::path::Path>,
    command: SnapshotCommand,
) -> anyhow::Result<ExitCode> {
    let store = SnapshotStore::new(settings.snapshots_dir()?);
    match command {
        SnapshotCommand::Create { from, as_of, schema, tables } => {
            let options = import::ImportOptions { as_of };
            let mut report = None;
            let url = from.to_str().filter(|from| import::postgres::is_postgres_url(from));
            let snapshot = if let Some(url) = url {
                let source = import::postgres::PostgresSource { url: url.to_string(), schema, tables };
                let (snapshot, import_report) = store
                    .install_async(|dir| async move { import::postgres::import_into(&dir, &source, &options).await })
                    .await?;
                report = Some(import_report);
                snapshot
            } else {
                if schema != import::postgres::DEFAULT_SCHEMA || !tables.is_empty() {
                    anyhow::bail!(
                        "--schema and --tables apply to a postgres:// source only; {} is a path",
                        from.display()
                    );
                }
                store.install(|dir| {
                    let (manifest, import_report) = import::import_into(dir, &from, &options)?;
                    report = Some(import_report);
                    Ok(manifest)
                })?
            };
            let layer = quarry_semantic::starter_layer(&snapshot, &snapshot.manifest.id, true)?;
            let layer_path = snapshot.semantic_layer_path();
            if !layer_path.exists() {
                std::fs::write(&layer_path, layer.to_yaml())
                    .with_context(|| format!("writing {}", layer_path.display()))?;
            }
            if let Some(report) = report {
                output::print_import_report(&report);
            }
            println!(
                "snapshot {} created in {} ({} tables, {} rows); starter semantic layer: {}",
                snapshot.manifest.id,
                snapshot.dir.display(),
                snapshot.manifest.tables.len(),
                snapshot.manifest.total_rows(),
                layer_path.display()
            );
            println!("{}", own_data::next_steps(&snapshot, &layer, &layer_path, settings));
            Ok(ExitCode::SUCCESS)
        }
        SnapshotCommand::List => {
            let snapshots = store.list()?;
            if snapshots.is_empty() {
                println!(
                    "no snapshots in {}; run `quarry demo` or `quarry snapshot create --from PATH`",
                    store.root().display()
                );
            } else {
                let (default_id, default_line) = own_data::default_snapshot(settings, &snapshots);
                println!("{}", output::snapshot_list(&snapshots, default_id.as_deref()));
                println!("{default_line}");
            }
            Ok(ExitCode::SUCCESS)
        }
        SnapshotCommand::Use { id, demo } => own_data::use_snapshot(settings, config, id, demo),
        SnapshotCommand::Show { id, json } => {
            let snapshot = store.get(&id)?;
            if json {
                output::print_json(&serde_json::to_value(&snapshot.manifest)?)?;
            } else {
                output::print_manifest(&snapshot);
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn eval_command(mut settings: Settings, args: EvalArgs) -> anyhow::Result<ExitCode> {
    if let Some(EvalCommand::Calibrate(calibrate)) = args.command {
        calibrate_cmd::calibrate(settings, calibrate).await?;
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(EvalCommand::Import(ImportSource::Spider { dir, out })) = args.command {
        let started = std::time::Instant::now();
        let import = quarry_eval::import_spider(&dir, &out, &quarry_eval::SpiderImportOptions::default())?;
        println!(
            "imported {} databases and {} questions ({} excluded, see {}) in {:.1} s",
            import.databases.len(),
            import.cases,
            import.excluded.len(),
            import.excluded_path.display(),
            started.elapsed().as_secs_f64()
        );
        println!("by hardness: {:?}", import.by_hardness);
        println!("run it: quarry eval {} --snapshots {}", import.cases_path.display(), import.snapshots_dir.display());
        return Ok(ExitCode::SUCCESS);
    }
    let file = args.file.context("give a question set (JSONL) to evaluate")?;
    let (cases, line_errors) = quarry_eval::load_cases(&file)?;
    for error in &line_errors {
        eprintln!("warning: {}: {error}", file.display());
    }
    let options = quarry_eval::EvalOptions {
        jobs: args.jobs.max(1),
        tolerance: quarry_eval::Tolerance::new(args.tolerance)?,
        mode: match args.model {
            EvalModel::Builtin | EvalModel::Openai => quarry_eval::Mode::Model,
            EvalModel::Gold => quarry_eval::Mode::Gold,
        },
        progress: !args.no_progress,
        label: Some(match args.model {
            EvalModel::Builtin => "builtin".to_string(),
            EvalModel::Gold => "gold".to_string(),
            EvalModel::Openai => format!("openai:{}", settings.model.model),
        }),
    };
    if args.model == EvalModel::Openai {
        // Every question to the model: a builtin-first run would measure the planner on most.
        settings.synthesis.model = quarry_settings::ModelChoice::Openai;
        settings.synthesis.route = quarry_settings::Route::ModelOnly;
    }
    // A gold larger than the row limit would be cut (differently for the gold and the
    // prediction) and scored as wrong: every limit is raised to one row more than the largest
    // stored gold, so extra predicted rows still show, and queries without a LIMIT get the
    // largest limit, as gold SQL run here has no stored size.
    let largest_gold = cases.iter().filter_map(|c| c.gold_rows.as_ref().map(|rows| rows.len())).max().unwrap_or(0);
    let needed = u64::try_from(largest_gold).unwrap_or(u64::MAX).saturating_add(1);
    settings.policy.max_limit = settings.policy.max_limit.max(needed);
    settings.policy.default_limit = settings.policy.max_limit;
    let max_rows = usize::try_from(settings.policy.max_limit).unwrap_or(usize::MAX);
    settings.executor.max_result_rows = settings.executor.max_result_rows.max(max_rows).max(largest_gold + 1);
    let target = eval_target::PipelineTarget::new(settings, args.snapshots);
    let mut report = quarry_eval::run_eval(&target, &cases, &options).await;
    report.input_errors = line_errors;
    println!("{}", report.summary_table());
    if let Some(path) = &args.report {
        std::fs::write(path, report.to_json()).with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(path) = &args.markdown {
        std::fs::write(path, report.to_markdown()).with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(path) = &args.junit {
        std::fs::write(path, report.to_junit()?).with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(path) = &args.compare {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let old = quarry_eval::EvalReport::from_json(&text, &path.display().to_string())?;
        println!("{}", report.compare(&old).to_markdown());
    }
    let summary = report.summary();
    let mut failures = Vec::new();
    if let Some(min_ex) = args.min_ex {
        failures.extend(summary.gate_failures(min_ex));
    }
    if let Some(min_precision) = args.min_precision {
        failures.extend(summary.precision_gate_failures(min_precision));
    }
    if !failures.is_empty() {
        for failure in failures {
            eprintln!("gate failed: {failure}");
        }
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}
