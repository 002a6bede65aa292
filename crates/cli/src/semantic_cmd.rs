//! `quarry semantic import` and `quarry semantic export`: semantic layers to and from other tools.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use quarry_interchange::{Format, Import, SnapshotTables};
use quarry_settings::Settings;

/// Arguments of `quarry semantic import`.
#[derive(clap::Args)]
pub struct ImportArgs {
    /// A file (semantic_manifest.json, a YAML model, an MDL JSON) or a directory of them.
    path: PathBuf,
    /// dbt, cube, cortex, osi or wren; told from the files when not given.
    #[arg(long, value_parser = parse_format)]
    format: Option<Format>,
    /// Snapshot id (default: the configured snapshot) the layer is checked against.
    #[arg(long)]
    snapshot: Option<String>,
    /// Write the quarry layer here instead of to stdout (the report goes to stderr then).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

/// Arguments of `quarry semantic export`.
#[derive(clap::Args)]
pub struct ExportArgs {
    /// The format to write: osi.
    #[arg(long, value_parser = parse_format, default_value = "osi")]
    format: Format,
    /// The layer file to export (default: the layer quarry uses for the configured snapshot).
    #[arg(long, value_name = "FILE")]
    layer: Option<PathBuf>,
    /// Write here instead of to stdout.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

fn parse_format(text: &str) -> Result<Format, String> {
    text.parse().map_err(|e: quarry_interchange::Error| e.to_string())
}

/// Runs `quarry semantic import`.
pub async fn import(mut settings: Settings, args: ImportArgs) -> anyhow::Result<ExitCode> {
    if let Some(id) = args.snapshot {
        settings.snapshot = id;
    }
    let mut import: Import = quarry_interchange::import_path(&args.path, args.format)?;
    let snapshot = quarry_bootstrap::resolve_snapshot(&settings)?;
    let tables: SnapshotTables = snapshot
        .manifest
        .tables
        .iter()
        .map(|t| (t.name.clone(), t.columns.iter().map(|c| c.name.clone()).collect()))
        .collect();
    quarry_interchange::restrict_to_snapshot(&mut import, &tables, &snapshot.manifest.id);
    let starter = quarry_semantic::starter_layer(&snapshot, &snapshot.manifest.id, true)?;
    quarry_interchange::document_from_starter(&mut import, &starter);
    if import.layer.tables.is_empty() {
        eprint!("{}", import.report.to_text());
        anyhow::bail!(
            "none of the imported tables is in snapshot {}: pass --snapshot with the snapshot of this data",
            snapshot.manifest.id
        );
    }
    let report = if args.json { serde_json::to_string_pretty(&import.report)? + "\n" } else { import.report.to_text() };
    let name = args.out.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|| "<stdout>".into());
    if let Err(e) = import.layer.validate_against(&snapshot, &name).await {
        eprint!("{report}");
        anyhow::bail!("the imported layer does not validate against snapshot {}: {e}", snapshot.manifest.id);
    }
    let yaml = format!(
        "# Imported by `quarry semantic import` from {} ({}); the report lists what was not mapped.\n{}",
        args.path.display(),
        import.report.format,
        import.layer.to_yaml()
    );
    match &args.out {
        Some(path) => {
            std::fs::write(path, yaml).with_context(|| format!("writing {}", path.display()))?;
            print!("{report}");
            println!(
                "wrote {} ({} tables, {} metrics, {} dimensions, {} segments, {} joins), valid for snapshot {}",
                path.display(),
                import.layer.tables.len(),
                import.layer.metrics.len(),
                import.layer.dimensions.len(),
                import.layer.segments.len(),
                import.layer.joins.len(),
                snapshot.manifest.id
            );
        }
        None => {
            eprint!("{report}");
            print!("{yaml}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `quarry semantic export`.
pub fn export(settings: &Settings, args: ExportArgs) -> anyhow::Result<ExitCode> {
    if args.format != Format::Osi {
        anyhow::bail!("quarry exports only to osi, not {}", args.format);
    }
    let layer = match &args.layer {
        Some(path) => quarry_semantic::SemanticLayer::from_yaml_file(path)?,
        None => {
            let snapshot = quarry_bootstrap::resolve_snapshot(settings)?;
            quarry_bootstrap::resolve_layer(settings, &snapshot)?.0
        }
    };
    let text = quarry_interchange::osi::export(&layer);
    match &args.out {
        Some(path) => {
            std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
            eprintln!("wrote {} (OSI {})", path.display(), quarry_interchange::osi::VERSION);
        }
        None => print!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}
