//! `quarry chart SPEC.json DATA.{csv,parquet} -o OUT.{svg,png}` and `quarry ask --chart`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, bail};
use datafusion::prelude::{CsvReadOptions, ParquetReadOptions, SessionContext};
use quarry_answer::Answer;
use quarry_chart::{ChartData, ChartHints, ChartInput, ChartRenderer, Format, Size, SpecChecker};

/// Chart sizes by name.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ChartSize {
    /// 640x400, for the web chat.
    Web,
    /// 800x450, for Slack.
    Slack,
}

impl ChartSize {
    fn size(self) -> Size {
        match self {
            ChartSize::Web => Size::WEB,
            ChartSize::Slack => Size::SLACK,
        }
    }
}

fn output_format(path: &Path) -> anyhow::Result<Format> {
    Format::from_path(path).with_context(|| {
        format!("cannot tell the chart format of {}: name the output file .svg or .png", path.display())
    })
}

async fn read_data(path: &Path) -> anyhow::Result<ChartData> {
    let ctx = SessionContext::new();
    let name = path.to_str().with_context(|| format!("{} is not a UTF-8 path", path.display()))?;
    let extension = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    let frame = match extension.as_deref() {
        Some("csv") => ctx.read_csv(name, CsvReadOptions::new()).await,
        Some("parquet") => ctx.read_parquet(name, ParquetReadOptions::default()).await,
        _ => bail!("{} is not a .csv or .parquet file", path.display()),
    }
    .with_context(|| format!("reading {}", path.display()))?;
    let schema = std::sync::Arc::new(frame.schema().as_arrow().clone());
    let batches = frame.collect().await.with_context(|| format!("reading {}", path.display()))?;
    Ok(ChartData::from_arrow(&schema, &batches)?)
}

/// Renders a Vega-Lite v4 spec over a file; unsupported parts are listed on stderr.
pub async fn chart(spec: &Path, data: &Path, out: &Path, size: ChartSize) -> anyhow::Result<ExitCode> {
    let format = output_format(out)?;
    let raw = std::fs::read_to_string(spec).with_context(|| format!("reading {}", spec.display()))?;
    let input = ChartInput::new(read_data(data).await?, ChartHints::default());
    let checked = match SpecChecker::lenient().check_str(&raw, &input) {
        Ok(checked) => checked,
        Err(error) => {
            eprintln!("error: {} cannot be drawn over {}:", spec.display(), data.display());
            for problem in &error.problems {
                eprintln!("  - {problem}");
            }
            eprintln!(
                "quarry draws one view of bar, line, area, point or arc marks with x, y, color, theta and column"
            );
            return Ok(ExitCode::FAILURE);
        }
    };
    for note in checked.notes() {
        eprintln!("not supported: {note}");
    }
    let bytes = ChartRenderer::new(size.size()).render(&checked, &input.data, format)?;
    std::fs::write(out, bytes).with_context(|| format!("writing {}", out.display()))?;
    println!("wrote {} ({}, {} rows)", out.display(), checked.kind(), input.data.num_rows());
    Ok(ExitCode::SUCCESS)
}

/// Writes an answer's chart; says why on stderr when the answer has none.
pub fn write_answer_chart(answer: &Answer, out: &Path, size: ChartSize) -> anyhow::Result<()> {
    let format = output_format(out)?;
    let Some(chart) = &answer.chart else {
        eprintln!("no chart written: the question was not answered");
        return Ok(());
    };
    match chart.render(format, size.size())? {
        Some(bytes) => {
            std::fs::write(out, bytes).with_context(|| format!("writing {}", out.display()))?;
            if let Some(fallback) = &chart.fallback {
                eprintln!("note: {fallback}");
            }
            eprintln!(
                "chart: {} ({}) written to {}",
                chart.kind.map(|k| k.to_string()).unwrap_or_default(),
                chart.reason,
                out.display()
            );
        }
        None => eprintln!("no chart written: {}", chart.reason),
    }
    Ok(())
}
