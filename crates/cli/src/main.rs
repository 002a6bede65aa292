//! The `quarry` command: ask questions of your data, run SQL safely, manage snapshots.
//!
//! A thin layer over the library crates: it parses arguments, loads [`Settings`] once, and
//! prints. Exit codes: 0 answered, 1 error, 2 the question could not be mapped, 3 quarry
//! asks a clarifying question.

mod output;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use quarry_answer::{AnswerStatus, Conversation, Pipeline};
use quarry_settings::Settings;
use quarry_snapshot::{SnapshotStore, import};

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
    /// Answer a question in plain language.
    Ask {
        /// The question, e.g. "signups by channel last month".
        question: String,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
        /// Snapshot id (or prefix) to use instead of the configured one.
        #[arg(long)]
        snapshot: Option<String>,
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
    /// Import a directory of CSV/Parquet files or a SQLite database as a snapshot, with a
    /// starter semantic layer.
    Create {
        /// Directory of .csv/.parquet files, or a SQLite database file.
        #[arg(long, value_name = "PATH")]
        from: PathBuf,
        /// The date relative time phrases resolve against (default: the latest date in the data).
        #[arg(long, value_name = "YYYY-MM-DD")]
        as_of: Option<chrono::NaiveDate>,
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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = match cli.verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_target(false).init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
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
    let mut settings = Settings::load(cli.config.as_deref())?;
    match cli.command {
        Command::Ask { question, json, snapshot } => {
            if let Some(id) = snapshot {
                settings.snapshot = id;
            }
            let pipeline = Pipeline::open(&settings).await?;
            let answer = pipeline.ask(&question, &mut Conversation::default()).await?;
            if json {
                output::print_json(&output::ask_json(&answer))?;
            } else {
                output::print_answer(&answer);
            }
            Ok(match answer.status {
                AnswerStatus::Answered => ExitCode::SUCCESS,
                AnswerStatus::CannotAnswer => ExitCode::from(2),
                AnswerStatus::NeedsClarification => ExitCode::from(3),
            })
        }
        Command::Sql { sql, json, snapshot } => {
            if let Some(id) = snapshot {
                settings.snapshot = id;
            }
            let pipeline = Pipeline::open(&settings).await?;
            let answer = pipeline.run_sql(&sql).await?;
            if json {
                output::print_json(&output::sql_json(&answer))?;
            } else {
                println!("{}", output::table(&answer.columns, &answer.rows));
                output::print_footer(answer.rows.len(), answer.truncated, &answer.snapshot_id, &answer.timings_ms);
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
                    let snapshot = quarry_answer::resolve_snapshot(&settings)?;
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
        Command::Snapshot(command) => snapshot_command(&settings, command).await,
        Command::Semantic(SemanticCommand::Schema) => {
            print!("{}", quarry_semantic::SemanticLayer::json_schema());
            Ok(ExitCode::SUCCESS)
        }
        Command::Semantic(SemanticCommand::Check { file, snapshot }) => {
            if let Some(id) = snapshot {
                settings.snapshot = id;
            }
            let target = quarry_answer::resolve_snapshot(&settings)?;
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

async fn snapshot_command(settings: &Settings, command: SnapshotCommand) -> anyhow::Result<ExitCode> {
    let store = SnapshotStore::new(settings.snapshots_dir()?);
    match command {
        SnapshotCommand::Create { from, as_of } => {
            let options = import::ImportOptions { as_of };
            let mut report = None;
            let snapshot = store.install(|dir| {
                let (manifest, import_report) = import::import_into(dir, &from, &options)?;
                report = Some(import_report);
                Ok(manifest)
            })?;
            let layer = quarry_semantic::starter_layer(&snapshot, &snapshot.manifest.id, true)?;
            let layer_path = snapshot.semantic_layer_path();
            if !layer_path.exists() {
                std::fs::write(&layer_path, layer.to_yaml()).with_context(|| format!("writing {}", layer_path.display()))?;
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
            Ok(ExitCode::SUCCESS)
        }
        SnapshotCommand::List => {
            let snapshots = store.list()?;
            if snapshots.is_empty() {
                println!("no snapshots in {}; run `quarry demo` or `quarry snapshot create --from PATH`", store.root().display());
            } else {
                println!("{}", output::snapshot_list(&snapshots));
            }
            Ok(ExitCode::SUCCESS)
        }
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
