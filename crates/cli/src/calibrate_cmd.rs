//! `quarry eval calibrate`: fits the built-in planner's confidence model on labeled sets.
//!
//! Every case is answered with the ask-back threshold at zero, so that each reading the
//! planner makes is run and scored; the (evidence, right) pairs fit the logistic model of
//! [`quarry_synth::ConfidenceModel`], written as JSON (quarry ships `eval/confidence-model.json`).

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use quarry_settings::Settings;
use quarry_synth::ConfidenceModel;

use crate::eval_target::PipelineTarget;

/// Arguments of `quarry eval calibrate`.
#[derive(Args)]
pub struct CalibrateArgs {
    /// Labeled question sets (JSONL) to fit on.
    #[arg(required = true)]
    sets: Vec<PathBuf>,
    /// Where to write the fitted model.
    #[arg(long, default_value = "eval/confidence-model.json")]
    out: PathBuf,
    /// Another snapshot directory to find the cases' snapshots in (e.g. a Spider import's).
    #[arg(long, value_name = "DIR")]
    snapshots: Vec<PathBuf>,
    /// L2 regularization: larger keeps weights small (less fit to these sets).
    #[arg(long, default_value_t = 0.01)]
    l2: f64,
}

/// Runs the sets, fits the model, writes it and prints how well it is calibrated.
pub async fn calibrate(mut settings: Settings, args: CalibrateArgs) -> anyhow::Result<()> {
    settings.synthesis.confidence_threshold = 0.0;
    let mut samples = Vec::new();
    let mut names = Vec::new();
    for set in &args.sets {
        let (cases, errors) = quarry_eval::load_cases(set)?;
        anyhow::ensure!(errors.is_empty(), "{}: {} malformed line(s); fix them first", set.display(), errors.len());
        let target = PipelineTarget::new(settings.clone(), args.snapshots.clone());
        let options = quarry_eval::EvalOptions { progress: false, ..quarry_eval::EvalOptions::default() };
        let report = quarry_eval::run_eval(&target, &cases, &options).await;
        let before = samples.len();
        samples.extend(
            report
                .cases
                .iter()
                .filter(|c| c.harness_error.is_none() && !c.confidence_features.is_empty())
                .map(|c| (c.confidence_features.clone(), c.ex)),
        );
        names.push(format!("{} ({} readings)", set.display(), samples.len() - before));
    }
    anyhow::ensure!(!samples.is_empty(), "no case was read by the built-in planner; nothing to fit");
    let model = ConfidenceModel::fit(&samples, args.l2, format!("{}; l2 {}", names.join(", "), args.l2));
    let json = serde_json::to_string_pretty(&model)? + "\n";
    std::fs::write(&args.out, json).with_context(|| format!("writing {}", args.out.display()))?;
    println!("fitted on {} readings: {}", samples.len(), names.join(", "));
    let mut bins = comfy_table::Table::new();
    bins.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED).set_header([
        "confidence",
        "readings",
        "mean confidence",
        "right",
    ]);
    for (low, high) in [(0.0_f64, 0.5_f64), (0.5, 0.7), (0.7, 0.8), (0.8, 0.9), (0.9, 0.95), (0.95, 1.01)] {
        let inside: Vec<(f64, bool)> = samples
            .iter()
            .map(|(f, right)| (model.confidence_of(f), *right))
            .filter(|(c, _)| *c >= low && *c < high)
            .collect();
        if inside.is_empty() {
            continue;
        }
        let n = inside.len() as f64;
        bins.add_row([
            format!("[{low:.2}, {:.2})", high.min(1.0)),
            inside.len().to_string(),
            format!("{:.3}", inside.iter().map(|(c, _)| c).sum::<f64>() / n),
            format!("{:.1}%", 100.0 * inside.iter().filter(|(_, r)| *r).count() as f64 / n),
        ]);
    }
    println!("{bins}");
    println!("wrote {}", args.out.display());
    Ok(())
}
