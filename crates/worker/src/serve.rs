//! The worker's side: limits on its own process, then queries read from quarry and answered.

use quarry_exec::{DataFusionExecutor, SnapshotExecutor};
use quarry_snapshot::Snapshot;
use tokio::io::{AsyncRead, AsyncWrite};

use crate::error::{Error, Result};
use crate::limits;
use crate::protocol::{Reply, Request, WireError, encode_rows, read_frame, write_frame};

/// Limits a worker process puts on itself before it reads anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcessLimits {
    /// `RLIMIT_AS`, in MiB.
    pub address_space_mb: u64,
}

/// Applies `limits` to this process. Call it first thing in `quarry worker`.
///
/// The limits are set by the worker on itself because setting them on the child between fork
/// and exec would need a `pre_exec` hook, which is unsafe code; the worker does this before
/// it opens a snapshot, and reports the limit it holds, which the pool checks.
///
/// There is no parent-death signal: Linux sends it when the *thread* that started the child
/// exits, and pools are started from short-lived threads too. A worker whose quarry is gone
/// reads the end of its input and exits once its query ends, within the query's time limit.
pub fn apply_process_limits(process_limits: ProcessLimits) -> Result<()> {
    limits::set_address_space_mb(process_limits.address_space_mb)
}

/// Serves one quarry process over `input` and `output` (the worker's stdin and stdout): opens
/// the snapshot it names, then runs its queries one at a time until it closes `input`.
pub async fn serve_worker<R, W>(mut input: R, mut output: W) -> Result<()>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    // Requests carry no body.
    let Some((request, _)) = read_frame::<_, Request>(&mut input, 0).await? else {
        return Ok(());
    };
    let Request::Open { snapshot_dir, snapshot_id, personal, executor, cpu_seconds_per_query } = request else {
        return Err(Error::Protocol("the first request must open a snapshot".into()));
    };
    let opened = match Snapshot::open(&snapshot_dir) {
        Ok(snapshot) if snapshot.manifest.id != snapshot_id => Err(WireError::Internal {
            message: format!("{} holds snapshot {}, not {snapshot_id}", snapshot_dir.display(), snapshot.manifest.id),
        }),
        Ok(snapshot) => DataFusionExecutor::open(&snapshot, &personal, executor).await.map_err(WireError::from),
        Err(error) => Err(WireError::Snapshot { message: error.to_string() }),
    };
    let engine = match opened {
        Ok(engine) => engine,
        Err(error) => {
            write_frame(&mut output, &Reply::Failed(error), &[]).await?;
            return Ok(());
        }
    };
    let ready = Reply::Ready { pid: std::process::id(), address_space_bytes: limits::address_space_bytes()? };
    write_frame(&mut output, &ready, &[]).await?;
    while let Some((request, _)) = read_frame::<_, Request>(&mut input, 0).await? {
        let Request::Execute(query) = request else {
            return Err(Error::Protocol("a snapshot is already open".into()));
        };
        if let Some(seconds) = cpu_seconds_per_query {
            limits::allow_cpu_seconds(seconds)?;
        }
        let outcome = match query.into_validated() {
            Ok(query) => engine.execute(&query).await.map_err(WireError::from),
            Err(message) => Err(WireError::Internal { message }),
        };
        match outcome.and_then(|result| {
            encode_rows(&result)
                .map(|body| (result.truncated, result.timings, body))
                .map_err(|e| WireError::Internal { message: e.to_string() })
        }) {
            Ok((truncated, timings, body)) => {
                write_frame(&mut output, &Reply::Rows { truncated, timings }, &body).await?
            }
            Err(error) => write_frame(&mut output, &Reply::Failed(error), &[]).await?,
        }
    }
    Ok(())
}

/// `quarry worker`: applies `process_limits`, then serves the quarry process that started
/// this one over stdin and stdout until it closes stdin.
pub async fn run_worker_process(process_limits: ProcessLimits) -> Result<()> {
    apply_process_limits(process_limits)?;
    // Tokio's stdio runs each read and write on a blocking thread: buffered, a frame is one
    // write, not four.
    let input = tokio::io::BufReader::new(tokio::io::stdin());
    let output = tokio::io::BufWriter::new(tokio::io::stdout());
    serve_worker(input, output).await
}
