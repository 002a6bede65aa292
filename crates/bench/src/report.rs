//! The benchmark's results as Markdown tables.

use std::fmt::Write;

use comfy_table::{Table, presets::ASCII_MARKDOWN};
use serde::Serialize;

use crate::duckdb::Comparison;
use crate::stages::{BUILTIN_STAGES, MODEL_STAGES, StageReport};
use crate::stats::format_ms;

/// Everything measured at one scale of the demo warehouse.
#[derive(Debug, Clone, Serialize)]
pub struct ScaleResults {
    /// The demo warehouse's scale factor.
    pub scale: u32,
    /// Rows in the snapshot, over all tables.
    pub rows: u64,
    /// Bytes of Parquet in the snapshot.
    pub parquet_bytes: u64,
    /// The built-in route.
    pub builtin: StageReport,
    /// Repeated questions, from the answer cache.
    pub cached: StageReport,
    /// The model route against a model that answers at once.
    pub model: Option<StageReport>,
    /// quarry's executor beside DuckDB.
    pub duckdb: Option<Comparison>,
}

/// The machine the numbers come from: CPU model, cores, memory, OS.
pub fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name").map(|v| v.trim_start_matches([' ', '\t', ':']).to_string()))
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory_gib = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0 / 1024.0);
    format!("{cpu}, {cores} cores, {memory_gib:.0} GiB, {} {}", std::env::consts::OS, std::env::consts::ARCH)
}

fn table(header: &[&str]) -> Table {
    let mut table = Table::new();
    table.load_preset(ASCII_MARKDOWN).set_header(header.to_vec());
    table
}

fn stage_rows(table: &mut Table, report: &StageReport, stages: &[&str]) {
    for stage in stages {
        if let Some(s) = report.stages.get(*stage) {
            table.add_row(vec![stage.to_string(), format_ms(s.p50_ms), format_ms(s.p95_ms), format_ms(s.max_ms)]);
        }
    }
}

/// Markdown of all results: one section per scale, then the engines side by side.
pub fn markdown(results: &[ScaleResults]) -> String {
    let mut out = String::new();
    for r in results {
        let _ = writeln!(
            out,
            "### Scale {} ({} rows, {:.1} MiB of Parquet)\n",
            r.scale,
            r.rows,
            r.parquet_bytes as f64 / 1048576.0
        );
        let _ = writeln!(out, "Built-in route, {} answers:\n", r.builtin.answers);
        let mut t = table(&["stage", "p50", "p95", "max"]);
        stage_rows(&mut t, &r.builtin, &BUILTIN_STAGES);
        if let Some(s) = r.cached.stages.get("total") {
            t.add_row(vec![
                "repeated question (cache)".into(),
                format_ms(s.p50_ms),
                format_ms(s.p95_ms),
                format_ms(s.max_ms),
            ]);
        }
        let _ = writeln!(out, "{t}\n");
        if let Some(model) = &r.model {
            let _ = writeln!(out, "Model route with a model that answers at once, {} answers:\n", model.answers);
            let mut t = table(&["stage", "p50", "p95", "max"]);
            stage_rows(&mut t, model, &MODEL_STAGES);
            let _ = writeln!(out, "{t}\n");
        }
        for (name, report) in
            [("built-in", &r.builtin), ("cache", &r.cached)].into_iter().chain(r.model.as_ref().map(|m| ("model", m)))
        {
            if !report.errors.is_empty() {
                let _ =
                    writeln!(out, "{} errors on the {name} route, e.g. `{}`\n", report.errors.len(), report.errors[0]);
            }
        }
        if let Some(comparison) = &r.duckdb {
            let _ = writeln!(out, "{}", duckdb_markdown(comparison));
        }
    }
    out
}

/// The per-query table of quarry's executor beside DuckDB, with its summary line.
pub fn duckdb_markdown(comparison: &Comparison) -> String {
    let mut out = String::new();
    let (within, both) = comparison.within(1.2);
    let (quarry_total, duckdb_total) = comparison.totals();
    let _ = writeln!(
        out,
        "quarry's executor beside DuckDB {} on {} queries: geometric mean ratio {:.2}x, {} of {} within 1.2x, \
         total {} vs {}.\n",
        comparison.duckdb_version,
        comparison.queries.len(),
        comparison.geometric_mean_ratio().unwrap_or(f64::NAN),
        within,
        both,
        format_ms(quarry_total),
        format_ms(duckdb_total),
    );
    let mut t = table(&["query", "quarry p50", "DuckDB p50", "ratio"]);
    for q in &comparison.queries {
        t.add_row(vec![
            q.id.clone(),
            format_ms(q.quarry_ms),
            q.duckdb_ms.map_or_else(|| "—".to_string(), format_ms),
            match (q.ratio, &q.duckdb_error) {
                (Some(ratio), _) => format!("{ratio:.2}"),
                (None, Some(error)) => format!("DuckDB: {}", error.replace('|', "/")),
                (None, None) => "—".into(),
            },
        ]);
    }
    let _ = writeln!(out, "<details><summary>per query</summary>\n\n{t}\n\n</details>\n");
    out
}
