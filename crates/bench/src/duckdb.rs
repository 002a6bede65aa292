//! The same SQL on the same Parquet snapshot in quarry's executor and in DuckDB (its Python
//! package, run as a child process), in one run, as a ratio per query.

use std::io::Write;
use std::process::{Command, Stdio};

use anyhow::{Context, bail};
use quarry_answer::Pipeline;
use serde::Serialize;
use serde_json::{Value, json};

use quarry_load::stats::Latencies;

use crate::stats::{record_ms, summary};

/// The DuckDB side, run by `python3`.
const RUNNER: &str = include_str!("duckdb_runner.py");

/// One query's medians in both engines.
#[derive(Debug, Clone, Serialize)]
pub struct QueryComparison {
    /// The labeled case the SQL answers.
    pub id: String,
    /// The SQL, as quarry's policy admitted it (with its row limit).
    pub sql: String,
    /// quarry's executor (plan and run, results collected as Arrow), median ms.
    pub quarry_ms: f64,
    /// DuckDB (parse, plan and run, results fetched as Arrow), median ms; none when DuckDB
    /// could not run the SQL.
    pub duckdb_ms: Option<f64>,
    /// `quarry_ms / duckdb_ms`.
    pub ratio: Option<f64>,
    /// Why DuckDB did not run it.
    pub duckdb_error: Option<String>,
}

/// All queries compared, with the DuckDB version.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    /// DuckDB's version.
    pub duckdb_version: String,
    /// Per query, in the labeled set's order.
    pub queries: Vec<QueryComparison>,
}

impl Comparison {
    /// The geometric mean of the ratios (how many times slower quarry is, typically).
    pub fn geometric_mean_ratio(&self) -> Option<f64> {
        let ratios: Vec<f64> = self.queries.iter().filter_map(|q| q.ratio).filter(|r| *r > 0.0).collect();
        (!ratios.is_empty()).then(|| (ratios.iter().map(|r| r.ln()).sum::<f64>() / ratios.len() as f64).exp())
    }

    /// How many queries quarry runs within `bound` times DuckDB's time, of those both ran.
    pub fn within(&self, bound: f64) -> (usize, usize) {
        let ratios: Vec<f64> = self.queries.iter().filter_map(|q| q.ratio).collect();
        (ratios.iter().filter(|r| **r <= bound).count(), ratios.len())
    }

    /// Total time of the queries both engines ran, (quarry, DuckDB) in ms.
    pub fn totals(&self) -> (f64, f64) {
        self.queries
            .iter()
            .filter_map(|q| Some((q.quarry_ms, q.duckdb_ms?)))
            .fold((0.0, 0.0), |(a, b), (q, d)| (a + q, b + d))
    }
}

/// Runs each `(id, sql)` in quarry's executor and in DuckDB, `repetitions` times each after a
/// warm-up, with `threads` threads for DuckDB (quarry's executor uses its configured ones).
pub async fn compare(
    pipeline: &Pipeline,
    queries: &[(String, String)],
    repetitions: usize,
    threads: usize,
) -> anyhow::Result<Comparison> {
    let mut quarry_ms = Vec::with_capacity(queries.len());
    for (id, sql) in queries {
        pipeline.run_sql(sql).await.with_context(|| format!("{id} in quarry"))?;
        let mut latencies = Latencies::default();
        for _ in 0..repetitions {
            let answer = pipeline.run_sql(sql).await.with_context(|| format!("{id} in quarry"))?;
            let validate = answer.timings_ms.get("validate").copied().unwrap_or_default();
            record_ms(&mut latencies, answer.timings_ms.get("total").copied().unwrap_or_default() - validate);
        }
        quarry_ms.push(summary(&latencies).map_or(0.0, |s| s.p50_ms));
    }
    let snapshot = pipeline.snapshot();
    let tables: serde_json::Map<String, Value> = snapshot
        .manifest
        .tables
        .iter()
        .map(|t| (t.name.clone(), Value::from(snapshot.dir.join(&t.file).to_string_lossy().into_owned())))
        .collect();
    let job = json!({
        "tables": tables,
        "queries": queries.iter().map(|(id, sql)| json!({"id": id, "sql": sql})).collect::<Vec<_>>(),
        "repetitions": repetitions,
        "threads": threads,
    });
    let output = run_duckdb(&job)?;
    let results = &output["results"];
    let compared = queries
        .iter()
        .zip(quarry_ms)
        .map(|((id, sql), quarry_ms)| {
            let result = &results[id];
            let duckdb_ms = result["times_ms"].as_array().and_then(|times| {
                let mut latencies = Latencies::default();
                times.iter().filter_map(Value::as_f64).for_each(|ms| record_ms(&mut latencies, ms));
                summary(&latencies).map(|s| s.p50_ms)
            });
            QueryComparison {
                id: id.clone(),
                sql: sql.clone(),
                quarry_ms,
                ratio: duckdb_ms.map(|d| quarry_ms / d),
                duckdb_ms,
                duckdb_error: result["error"].as_str().map(str::to_string),
            }
        })
        .collect();
    Ok(Comparison { duckdb_version: output["version"].as_str().unwrap_or("?").to_string(), queries: compared })
}

fn run_duckdb(job: &Value) -> anyhow::Result<Value> {
    let script = tempfile::Builder::new().suffix(".py").tempfile().context("a temporary file for the DuckDB runner")?;
    std::fs::write(script.path(), RUNNER)?;
    let mut child = Command::new("python3")
        .arg(script.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("starting python3 for DuckDB (install Python 3)")?;
    child.stdin.take().context("python3's stdin")?.write_all(job.to_string().as_bytes())?;
    let output = child.wait_with_output()?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        if stderr.contains("No module named 'duckdb'") || stderr.contains("No module named 'pyarrow'") {
            bail!("DuckDB's Python package is missing: pip install duckdb pyarrow");
        }
        bail!("the DuckDB runner failed: {stderr}");
    }
    serde_json::from_slice(&output.stdout).context("the DuckDB runner's output is not JSON")
}
