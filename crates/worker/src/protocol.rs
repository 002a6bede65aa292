//! What quarry and a worker say to each other over the worker's stdin and stdout.
//!
//! Every message is a frame: a big-endian `u32` length and a JSON header, then a big-endian
//! `u64` length and a body. Only a result has a body: its rows as an Arrow IPC stream.
//! quarry sends [`Request::Open`] once, then [`Request::Execute`] per query; the worker
//! answers [`Reply::Ready`] once, then one [`Reply::Rows`] or [`Reply::Failed`] per query.

use std::collections::BTreeSet;
use std::io::Cursor;
use std::path::PathBuf;

use datafusion::arrow::ipc::reader::StreamReader;
use datafusion::arrow::ipc::writer::StreamWriter;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::sql::parser::{DFParserBuilder, Statement as DfStatement};
use quarry_exec::{ExecTimings, ExecutorConfig, QueryResult};
use quarry_sqlguard::ValidatedQuery;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::error::{Error, Result};

/// Largest header accepted: SQL is at most 32 KiB, and personal columns and errors are short.
const MAX_HEADER_BYTES: u32 = 4 * 1024 * 1024;

/// What quarry asks a worker.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Request {
    /// Open the snapshot and the engine; the first message.
    Open {
        /// The snapshot's directory.
        snapshot_dir: PathBuf,
        /// The id the snapshot must have.
        snapshot_id: String,
        /// `(table, column)` pairs no query may read.
        personal: Vec<(String, String)>,
        /// The engine's limits.
        executor: ExecutorConfig,
        /// CPU seconds one query may use before the kernel stops the worker (`RLIMIT_CPU`),
        /// a backstop behind quarry's wall-clock kill; none in tests that run in one process.
        cpu_seconds_per_query: Option<u64>,
    },
    /// Run one query that passed the policy.
    Execute(WireQuery),
}

/// A [`ValidatedQuery`] without its parsed tree, which the worker parses again from `sql`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WireQuery {
    /// The SQL to execute.
    pub sql: String,
    /// The tables it reads.
    pub tables: BTreeSet<String>,
    /// The columns it reads.
    pub columns: BTreeSet<(String, String)>,
    /// Its row limit.
    pub limit: u64,
    /// Whether the limit was added.
    pub limit_added: bool,
    /// Whether the limit was lowered.
    pub limit_capped: bool,
    /// The policy's notes.
    pub notes: Vec<String>,
}

impl From<&ValidatedQuery> for WireQuery {
    fn from(query: &ValidatedQuery) -> Self {
        Self {
            sql: query.sql.clone(),
            tables: query.tables.clone(),
            columns: query.columns.clone(),
            limit: query.limit,
            limit_added: query.limit_added,
            limit_capped: query.limit_capped,
            notes: query.notes.clone(),
        }
    }
}

impl WireQuery {
    /// The validated query again, its statement parsed from `sql` as the policy parsed it.
    pub fn into_validated(self) -> std::result::Result<ValidatedQuery, String> {
        let statements = DFParserBuilder::new(self.sql.as_str())
            .build()
            .and_then(|mut parser| parser.parse_statements())
            .map_err(|e| format!("the validated SQL does not parse again: {e}"))?;
        let statement = match statements.into_iter().next() {
            Some(DfStatement::Statement(statement)) => *statement,
            _ => return Err("the validated SQL is not one query".into()),
        };
        Ok(ValidatedQuery {
            sql: self.sql,
            statement,
            tables: self.tables,
            columns: self.columns,
            limit: self.limit,
            limit_added: self.limit_added,
            limit_capped: self.limit_capped,
            notes: self.notes,
        })
    }
}

/// What a worker answers.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Reply {
    /// The snapshot and engine are open.
    Ready {
        /// The worker's process id.
        pid: u32,
        /// Its address-space limit in bytes, as the kernel holds it (none: unlimited).
        address_space_bytes: Option<u64>,
    },
    /// The query ran; the body holds its rows.
    Rows {
        /// Whether rows were dropped at the row limit.
        truncated: bool,
        /// Where the time went.
        timings: ExecTimings,
    },
    /// The query (or opening the snapshot) failed.
    Failed(WireError),
}

/// A [`quarry_exec::Error`] in a form that crosses the pipe; every variant has its own, so
/// the error's code and message are the same as in process.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[allow(missing_docs)] // The fields are those of quarry_exec::Error.
pub enum WireError {
    Plan {
        message: String,
    },
    Forbidden {
        reason: String,
    },
    CartesianJoin {
        left_rows: String,
        right_rows: String,
        limit: u64,
    },
    MemoryLimit {
        limit_mb: u64,
        message: String,
    },
    ValueTooLarge {
        function: String,
        bytes: u64,
        limit: u64,
    },
    ResultTooLarge {
        limit: u64,
    },
    CellTooLarge {
        column: String,
        bytes: u64,
        limit: u64,
    },
    Timeout {
        timeout_ms: u64,
    },
    Execution {
        message: String,
    },
    Crashed {
        message: String,
    },
    ClusterUnavailable {
        url: String,
        message: String,
    },
    /// `quarry_exec::Error::Snapshot`, whose source error does not cross: its message.
    Snapshot {
        message: String,
    },
    Internal {
        message: String,
    },
}

impl From<quarry_exec::Error> for WireError {
    fn from(error: quarry_exec::Error) -> Self {
        use quarry_exec::Error as E;
        match error {
            E::Plan { message } => WireError::Plan { message },
            E::Forbidden { reason } => WireError::Forbidden { reason },
            E::CartesianJoin { left_rows, right_rows, limit } => {
                WireError::CartesianJoin { left_rows, right_rows, limit }
            }
            E::MemoryLimit { limit_mb, message } => WireError::MemoryLimit { limit_mb, message },
            E::ValueTooLarge { function, bytes, limit } => WireError::ValueTooLarge { function, bytes, limit },
            E::ResultTooLarge { limit } => WireError::ResultTooLarge { limit },
            E::CellTooLarge { column, bytes, limit } => WireError::CellTooLarge { column, bytes, limit },
            E::Timeout { timeout_ms } => WireError::Timeout { timeout_ms },
            E::Execution { message } => WireError::Execution { message },
            E::Crashed { message } => WireError::Crashed { message },
            E::ClusterUnavailable { url, message } => WireError::ClusterUnavailable { url, message },
            E::Snapshot(error) => WireError::Snapshot { message: error.to_string() },
            E::Internal(message) => WireError::Internal { message },
        }
    }
}

impl From<WireError> for quarry_exec::Error {
    fn from(error: WireError) -> Self {
        use quarry_exec::Error as E;
        match error {
            WireError::Plan { message } => E::Plan { message },
            WireError::Forbidden { reason } => E::Forbidden { reason },
            WireError::CartesianJoin { left_rows, right_rows, limit } => {
                E::CartesianJoin { left_rows, right_rows, limit }
            }
            WireError::MemoryLimit { limit_mb, message } => E::MemoryLimit { limit_mb, message },
            WireError::ValueTooLarge { function, bytes, limit } => E::ValueTooLarge { function, bytes, limit },
            WireError::ResultTooLarge { limit } => E::ResultTooLarge { limit },
            WireError::CellTooLarge { column, bytes, limit } => E::CellTooLarge { column, bytes, limit },
            WireError::Timeout { timeout_ms } => E::Timeout { timeout_ms },
            WireError::Execution { message } => E::Execution { message },
            WireError::Crashed { message } => E::Crashed { message },
            WireError::ClusterUnavailable { url, message } => E::ClusterUnavailable { url, message },
            WireError::Snapshot { message } => E::Internal(format!("the worker cannot open the snapshot: {message}")),
            WireError::Internal { message } => E::Internal(message),
        }
    }
}

/// Writes one frame.
pub async fn write_frame<W, T>(writer: &mut W, header: &T, body: &[u8]) -> Result<()>
where
    W: AsyncWrite + Unpin,
    T: Serialize,
{
    let header = serde_json::to_vec(header).map_err(|e| Error::Protocol(format!("encoding a header: {e}")))?;
    let header_len = u32::try_from(header.len())
        .ok()
        .filter(|len| *len <= MAX_HEADER_BYTES)
        .ok_or_else(|| Error::Protocol(format!("a header of {} bytes", header.len())))?;
    writer.write_u32(header_len).await?;
    writer.write_all(&header).await?;
    writer.write_u64(body.len() as u64).await?;
    writer.write_all(body).await?;
    writer.flush().await?;
    Ok(())
}

/// Reads one frame; `None` at a clean end of input (the other side closed the pipe between
/// frames). Bodies larger than `max_body` are refused before they are read.
pub async fn read_frame<R, T>(reader: &mut R, max_body: u64) -> Result<Option<(T, Vec<u8>)>>
where
    R: AsyncRead + Unpin,
    T: for<'de> Deserialize<'de>,
{
    let header_len = match reader.read_u32().await {
        Ok(len) => len,
        Err(error) if error.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(error) => return Err(error.into()),
    };
    if header_len > MAX_HEADER_BYTES {
        return Err(Error::Protocol(format!("a header of {header_len} bytes")));
    }
    let mut header = vec![0; header_len as usize];
    reader.read_exact(&mut header).await?;
    let header = serde_json::from_slice(&header).map_err(|e| Error::Protocol(format!("decoding a header: {e}")))?;
    let body_len = reader.read_u64().await?;
    if body_len > max_body {
        return Err(Error::Protocol(format!("a body of {body_len} bytes, more than the {max_body} allowed")));
    }
    let body_len = usize::try_from(body_len).map_err(|_| Error::Protocol(format!("a body of {body_len} bytes")))?;
    let mut body = vec![0; body_len];
    reader.read_exact(&mut body).await?;
    Ok(Some((header, body)))
}

/// The largest result body accepted from a worker whose engine collects at most
/// `max_result_bytes` of values: Arrow adds offsets, validity and padding to the values.
pub fn max_result_body(config: &ExecutorConfig) -> u64 {
    config.max_result_bytes.saturating_mul(2).saturating_add(64 * 1024 * 1024)
}

/// A result's rows as an Arrow IPC stream.
pub fn encode_rows(result: &QueryResult) -> Result<Vec<u8>> {
    let arrow = |e: datafusion::arrow::error::ArrowError| Error::Protocol(format!("encoding rows as Arrow IPC: {e}"));
    let mut writer = StreamWriter::try_new(Vec::new(), &result.schema).map_err(arrow)?;
    for batch in &result.batches {
        writer.write(batch).map_err(arrow)?;
    }
    writer.finish().map_err(arrow)?;
    writer.into_inner().map_err(arrow)
}

/// The rows of an Arrow IPC stream, with the reply that came with them.
pub fn decode_rows(body: Vec<u8>, truncated: bool, timings: ExecTimings) -> Result<QueryResult> {
    let arrow = |e: datafusion::arrow::error::ArrowError| Error::Protocol(format!("decoding Arrow IPC rows: {e}"));
    let reader = StreamReader::try_new(Cursor::new(body), None).map_err(arrow)?;
    let schema = reader.schema();
    let batches = reader.collect::<std::result::Result<Vec<RecordBatch>, _>>().map_err(arrow)?;
    Ok(QueryResult { schema, batches, truncated, timings })
}
