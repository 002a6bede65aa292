//! `quarry index`, `quarry search` and `quarry eval retrieval`: the retrieval index from the
//! command line.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use comfy_table::{Cell, CellAlignment, Table, presets::UTF8_FULL_CONDENSED};
use indicatif::{ProgressBar, ProgressStyle};
use quarry_retrieve::eval::{RetrievalReport, evaluate, load_labeled};
use quarry_retrieve::{Index, Kind, Progress};
use quarry_semantic::SemanticLayer;
use quarry_settings::Settings;
use quarry_snapshot::Snapshot;

/// `quarry index`.
#[derive(Args)]
pub struct IndexArgs {
    /// Rebuild even if the index is up to date.
    #[arg(long)]
    rebuild: bool,
    /// Snapshot id (or prefix) to use instead of the configured one.
    #[arg(long)]
    snapshot: Option<String>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
    /// Do not draw a progress bar.
    #[arg(long)]
    no_progress: bool,
}

/// `quarry search`.
#[derive(Args)]
pub struct SearchArgs {
    /// Words or a whole question, e.g. "sales in germany".
    text: String,
    /// Only hits of these kinds (repeat or separate with commas).
    #[arg(long, value_delimiter = ',', value_parser = parse_kind)]
    kind: Vec<Kind>,
    /// Number of hits.
    #[arg(long, default_value_t = 10)]
    limit: usize,
    /// Snapshot id (or prefix) to use instead of the configured one.
    #[arg(long)]
    snapshot: Option<String>,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

/// `quarry eval retrieval`.
#[derive(Args)]
pub struct RetrievalEvalArgs {
    /// The labeled set: one `{"question": ..., "expected": ["metric:...", ...]}` per line.
    file: PathBuf,
    /// Snapshot id (or prefix) to use instead of the configured one.
    #[arg(long)]
    snapshot: Option<String>,
    /// Write the report (scores per kind and every miss) as JSON.
    #[arg(long, value_name = "PATH.json")]
    report: Option<PathBuf>,
    /// List the labels that were not found in the top 5.
    #[arg(long)]
    misses: bool,
    /// Exit non-zero when recall@5 over all labels is below this.
    #[arg(long, value_name = "X")]
    min_recall: Option<f64>,
}

fn parse_kind(text: &str) -> Result<Kind, String> {
    text.parse().map_err(|e: quarry_retrieve::Error| e.to_string())
}

/// The snapshot and layer the settings name, and the index over them (built if needed).
async fn open_index(
    settings: &mut Settings,
    snapshot: Option<String>,
    force: bool,
    progress: Option<Progress>,
) -> anyhow::Result<(Snapshot, SemanticLayer, Index)> {
    if let Some(id) = snapshot {
        settings.snapshot = id;
    }
    let snapshot = quarry_bootstrap::resolve_snapshot(settings)?;
    let (layer, _) = quarry_bootstrap::resolve_layer(settings, &snapshot)?;
    let index = settings
        .retrieval
        .open_index(&settings.index_dir()?, &layer, &snapshot, force, progress)
        .await
        .context("opening the retrieval index")?;
    Ok((snapshot, layer, index))
}

fn progress_bar(enabled: bool) -> (Option<ProgressBar>, Option<Progress>) {
    if !enabled {
        return (None, None);
    }
    let bar = ProgressBar::new(0).with_style(
        ProgressStyle::with_template("embedding {bar:30} {pos}/{len} documents [{elapsed}]")
            .expect("a valid template")
            .progress_chars("=> "),
    );
    let reporter = bar.clone();
    let progress: Progress = Arc::new(move |done, total| {
        reporter.set_length(total as u64);
        reporter.set_position(done as u64);
    });
    (Some(bar), Some(progress))
}

/// Builds (or checks) the index and says what is in it.
pub async fn index(mut settings: Settings, args: IndexArgs) -> anyhow::Result<ExitCode> {
    let (bar, progress) = progress_bar(!args.no_progress && !args.json);
    let (snapshot, _, index) = open_index(&mut settings, args.snapshot, args.rebuild, progress).await?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let stats = index.stats();
    let location = where_it_lives(&settings, index.collection().unwrap_or_default());
    if args.json {
        let documents: serde_json::Map<String, serde_json::Value> =
            stats.documents.iter().map(|(kind, n)| (kind.as_str().to_string(), (*n).into())).collect();
        let json = serde_json::json!({
            "snapshot_id": snapshot.manifest.id,
            "embedder": index.embedder_id(),
            "store": location,
            "collection": index.collection(),
            "hash": stats.hash,
            "rebuilt": stats.rebuilt,
            "documents": documents,
            "total": stats.total(),
            "elapsed_ms": stats.elapsed.as_secs_f64() * 1e3,
            "embed_ms": stats.embed_elapsed.as_secs_f64() * 1e3,
        });
        println!("{}", serde_json::to_string_pretty(&json)?);
        return Ok(ExitCode::SUCCESS);
    }
    let counts: Vec<String> = stats.documents.iter().map(|(kind, n)| format!("{n} {kind}")).collect();
    if stats.rebuilt {
        println!(
            "indexed {} documents ({}) of snapshot {} with {} in {:.1} s (embedding {:.1} s)",
            stats.total(),
            counts.join(", "),
            snapshot.manifest.id,
            index.embedder_id(),
            stats.elapsed.as_secs_f64(),
            stats.embed_elapsed.as_secs_f64()
        );
    } else {
        println!(
            "the index is up to date: {} documents ({}) of snapshot {} with {}; --rebuild rebuilds it",
            stats.total(),
            counts.join(", "),
            snapshot.manifest.id,
            index.embedder_id()
        );
    }
    println!("stored in {location}");
    Ok(ExitCode::SUCCESS)
}

fn where_it_lives(settings: &Settings, collection: &str) -> String {
    match settings.retrieval.store {
        quarry_retrieve::StoreKind::Edge => settings
            .index_dir()
            .map(|dir| {
                format!("qdrant-edge at {}", quarry_retrieve::RetrievalConfig::edge_dir(&dir, collection).display())
            })
            .unwrap_or_else(|_| collection.to_string()),
        quarry_retrieve::StoreKind::Qdrant => {
            format!("Qdrant at {}, collection {collection}", settings.retrieval.qdrant.url)
        }
    }
}

/// Shows the hits of a search with their scores and what each one means.
pub async fn search(mut settings: Settings, args: SearchArgs) -> anyhow::Result<ExitCode> {
    if args.limit == 0 {
        anyhow::bail!("--limit must be at least 1");
    }
    let (_, _, index) = open_index(&mut settings, args.snapshot, false, None).await?;
    let started = Instant::now();
    let hits = index.search(&args.text, &args.kind, args.limit).await?;
    let elapsed_ms = started.elapsed().as_secs_f64() * 1e3;
    if args.json {
        let hits: Vec<serde_json::Value> = hits
            .iter()
            .map(|hit| {
                serde_json::json!({
                    "id": hit.id,
                    "kind": hit.kind,
                    "score": hit.score,
                    "meaning": hit.meaning(),
                    "payload": hit.payload,
                })
            })
            .collect();
        let json = serde_json::json!({
            "query": args.text,
            "embedder": index.embedder_id(),
            "hits": hits,
            "elapsed_ms": elapsed_ms,
        });
        println!("{}", serde_json::to_string_pretty(&json)?);
        return Ok(ExitCode::SUCCESS);
    }
    if hits.is_empty() {
        println!("nothing in the index matches \"{}\"", args.text);
        return Ok(ExitCode::SUCCESS);
    }
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED).set_header(["#", "score", "kind", "id", "means"]);
    for (rank, hit) in hits.iter().enumerate() {
        table.add_row([
            Cell::new(rank + 1).set_alignment(CellAlignment::Right),
            Cell::new(format!("{:.4}", hit.score)).set_alignment(CellAlignment::Right),
            Cell::new(hit.kind),
            Cell::new(&hit.id),
            Cell::new(hit.meaning()),
        ]);
    }
    println!("{table}");
    println!("{} hits with {} in {elapsed_ms:.1} ms", hits.len(), index.embedder_id());
    Ok(ExitCode::SUCCESS)
}

/// Recall@1, recall@5 and MRR per kind on a labeled set.
pub async fn eval(mut settings: Settings, args: RetrievalEvalArgs) -> anyhow::Result<ExitCode> {
    let cases = load_labeled(&args.file)?;
    let started = Instant::now();
    let (_, layer, index) = open_index(&mut settings, args.snapshot, false, None).await?;
    let open_elapsed = started.elapsed();
    let report = evaluate(&index, &layer, &cases).await?;
    println!("{}", report_table(&report));
    println!(
        "{} questions, {} labels, embedder {}; index ready in {:.1} s, {:.2} ms per search",
        report.questions,
        report.overall.labels,
        report.embedder,
        open_elapsed.as_secs_f64(),
        report.mean_search_ms
    );
    if args.misses {
        for miss in &report.misses {
            println!(
                "missed {} for {:?} ({}): got {}",
                miss.expected,
                miss.question,
                miss.question_id,
                miss.got.join(", ")
            );
        }
    }
    if let Some(path) = &args.report {
        write_report(path, &report)?;
    }
    if let Some(min) = args.min_recall
        && report.overall.recall_at_5() < min
    {
        eprintln!("gate failed: recall@5 {:.3} is below {min}", report.overall.recall_at_5());
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

fn write_report(path: &Path, report: &RetrievalReport) -> anyhow::Result<()> {
    let json = serde_json::to_string_pretty(report)?;
    std::fs::write(path, json).with_context(|| format!("writing {}", path.display()))
}

fn report_table(report: &RetrievalReport) -> Table {
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED).set_header(["kind", "labels", "recall@1", "recall@5", "MRR"]);
    for (kind, score) in report.kinds.iter().map(|(k, s)| (k.as_str(), s)).chain([("all", &report.overall)]) {
        table.add_row([
            Cell::new(kind),
            Cell::new(score.labels).set_alignment(CellAlignment::Right),
            Cell::new(format!("{:.3}", score.recall_at_1())).set_alignment(CellAlignment::Right),
            Cell::new(format!("{:.3}", score.recall_at_5())).set_alignment(CellAlignment::Right),
            Cell::new(format!("{:.3}", score.mrr())).set_alignment(CellAlignment::Right),
        ]);
    }
    table
}
