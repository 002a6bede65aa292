//! `quarry-load`: load tests and throughput benchmarks of `quarry serve` on loopback.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use quarry_load::conversations::{self, ConversationOptions};
use quarry_load::questions;
use quarry_load::server::{SpawnOptions, SpawnedServer};
use quarry_load::stats::FlatRule;
use quarry_load::throughput::{self, ThroughputOptions, Workload};
use serde_json::json;

#[derive(Parser)]
#[command(name = "quarry-load", version, about = "Load tests and throughput benchmarks of quarry serve on loopback.")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Simulated users holding conversations at once (first question, follow-ups, feedback)
    /// for a bounded time; passes with zero errors and flat server memory. Exits 1 on failure.
    Conversations(ConversationArgs),
    /// Answers per second and latency percentiles with wrk, for the same question every time
    /// and for a different question every time, with the server's peak memory.
    Throughput(ThroughputArgs),
}

/// Which server to load.
#[derive(Args)]
struct ServerArgs {
    /// A running server's base URL. Its rate limit applies per user: start it with
    /// QUARRY_SERVER__TRUSTED_USER_HEADER=x-quarry-load-user (each simulated user is then one
    /// user) or with high QUARRY_SERVER__RATE_LIMIT_* values.
    #[arg(long, required_unless_present = "spawn", conflicts_with = "spawn")]
    url: Option<String>,
    /// The running server's process id, to sample its memory (VmRSS, VmHWM).
    #[arg(long, requires = "url")]
    pid: Option<u32>,
    /// Start this quarry binary (`quarry serve` on a free loopback port, a fresh data
    /// directory, no inherited QUARRY_* settings, rate limits lifted) and stop it at the end.
    #[arg(long, value_name = "QUARRY")]
    spawn: Option<PathBuf>,
    /// With --spawn: a snapshots directory to link into the fresh data directory (e.g.
    /// ~/.local/share/quarry/snapshots) instead of generating the demo snapshot there.
    #[arg(long, requires = "spawn")]
    snapshots: Option<PathBuf>,
    /// With --spawn: a setting for the server, NAME=VALUE (e.g. QUARRY_CACHE__ENABLED=false).
    #[arg(long = "set", value_name = "NAME=VALUE", requires = "spawn", value_parser = parse_setting)]
    settings: Vec<(String, String)>,
}

fn parse_setting(text: &str) -> Result<(String, String), String> {
    let (name, value) = text.split_once('=').ok_or_else(|| format!("{text:?} is not NAME=VALUE"))?;
    if !name.starts_with("QUARRY_") {
        return Err(format!("{name} is not a quarry setting (they start with QUARRY_)"));
    }
    Ok((name.to_string(), value.to_string()))
}

impl ServerArgs {
    /// The server to load: the given URL, or a spawned one.
    async fn server(&self) -> anyhow::Result<(String, Option<u32>, Option<SpawnedServer>)> {
        match (&self.url, &self.spawn) {
            (Some(url), _) => Ok((url.trim_end_matches('/').to_string(), self.pid, None)),
            (None, Some(binary)) => {
                let mut options = SpawnOptions::new(binary);
                options.snapshots = self.snapshots.clone();
                options.settings = self.settings.clone();
                eprintln!("starting {} serve…", binary.display());
                let server = SpawnedServer::start(&options).await?;
                eprintln!("server ready at {} (pid {})", server.url(), server.pid());
                Ok((server.url().to_string(), Some(server.pid()), Some(server)))
            }
            (None, None) => anyhow::bail!("give --url or --spawn"),
        }
    }
}

#[derive(Args)]
struct ConversationArgs {
    #[command(flatten)]
    server: ServerArgs,
    /// Simulated users, each holding one conversation at a time.
    #[arg(long, default_value_t = 50)]
    conversations: usize,
    /// How long users keep starting requests (e.g. 10m, 90s).
    #[arg(long, default_value = "10m", value_parser = humantime::parse_duration)]
    duration: Duration,
    /// Mean pause of a user between requests (uniform between zero and twice this).
    #[arg(long, default_value = "1s", value_parser = humantime::parse_duration)]
    think: Duration,
    /// First questions: a JSON Lines file of {"question": …} (default: eval/questions/demo.jsonl).
    #[arg(long)]
    questions: Option<PathBuf>,
    /// Share of answers given feedback (0 to 1).
    #[arg(long, default_value_t = 0.2)]
    feedback: f64,
    /// Seed of the users' choices.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Steepest server RSS slope allowed over the second half of the run, MiB per minute.
    #[arg(long, default_value_t = FlatRule::default().max_slope_mib_per_min)]
    max_slope: f64,
    /// Write the report as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
}

#[derive(Args)]
struct ThroughputArgs {
    #[command(flatten)]
    server: ServerArgs,
    /// How long each workload runs (e.g. 30s).
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    duration: Duration,
    /// Open connections, each with one request in flight.
    #[arg(long, default_value_t = 8)]
    connections: u32,
    /// wrk threads (default: one per core, at most --connections).
    #[arg(long)]
    threads: Option<u32>,
    /// Which workloads to run (default both, repeated first). With --spawn each gets a
    /// freshly started server, so its peak memory is its own.
    #[arg(long, value_enum)]
    workload: Vec<Workload>,
    /// The question of the repeated workload.
    #[arg(long, default_value = questions::REPEATED_QUESTION)]
    question: String,
    /// The wrk binary.
    #[arg(long, default_value = "wrk")]
    wrk: PathBuf,
    /// Write the reports as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(async {
        match cli.command {
            Command::Conversations(args) => run_conversations(args).await,
            Command::Throughput(args) => run_throughput(args).await,
        }
    });
    match outcome {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

async fn run_conversations(args: ConversationArgs) -> anyhow::Result<ExitCode> {
    let path = questions::questions_path(args.questions.as_deref());
    let pool = questions::first_questions(&path)?;
    let (url, pid, server) = args.server.server().await?;
    let mut options = ConversationOptions::new(url, args.conversations, args.duration, pool);
    options.think = args.think;
    options.feedback_share = args.feedback;
    options.seed = args.seed;
    options.pid = pid;
    options.flat_rule.max_slope_mib_per_min = args.max_slope;
    options.progress_every = Some(Duration::from_secs(10));
    eprintln!(
        "{} users for {} against {} ({} first questions from {})",
        options.users,
        humantime::format_duration(options.duration),
        options.url,
        options.questions.len(),
        path.display()
    );
    let report = conversations::run(options).await;
    let report = match (report, &server) {
        (Ok(report), _) => report,
        (Err(e), Some(server)) => {
            return Err(anyhow::Error::new(e).context(format!("server log:\n{}", server.log_tail(20))));
        }
        (Err(e), None) => return Err(e.into()),
    };
    if !report.errors.by_code.is_empty()
        && let Some(server) = &server
    {
        eprintln!("the end of the server's log:\n{}", server.log_tail(20));
    }
    drop(server);
    print!("{}", report.render());
    if let Some(path) = &args.json {
        write_json(path, &serde_json::to_value(&report)?)?;
    }
    Ok(if report.pass { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

async fn run_throughput(args: ThroughputArgs) -> anyhow::Result<ExitCode> {
    let workloads =
        if args.workload.is_empty() { vec![Workload::Repeated, Workload::Fresh] } else { args.workload.clone() };
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get() as u32);
    let mut reports = Vec::new();
    let mut clean = true;
    for workload in workloads {
        // A fresh server per workload, so the peak memory of one is not the other's.
        let (url, pid, server) = args.server.server().await?;
        let mut options = ThroughputOptions::new(url, workload);
        options.question = args.question.clone();
        options.duration = args.duration;
        options.connections = args.connections;
        options.threads = args.threads.unwrap_or(cores);
        options.pid = pid;
        options.wrk = args.wrk.clone();
        eprintln!(
            "{}: wrk, {} connections for {} against {}",
            workload.as_str(),
            options.connections,
            humantime::format_duration(options.duration),
            options.url
        );
        let report = throughput::run(&options).await?;
        drop(server);
        println!("{}", report.render());
        clean &= report.clean();
        reports.push(report);
    }
    if let Some(path) = &args.json {
        write_json(path, &json!({ "throughput": reports }))?;
    }
    Ok(if clean { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn write_json(path: &std::path::Path, value: &serde_json::Value) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(value)?;
    std::fs::write(path, text + "\n").with_context(|| format!("cannot write {}", path.display()))?;
    eprintln!("wrote {}", path.display());
    Ok(())
}
