/// Result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a query did not produce a result.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The query is not valid for this snapshot (unknown column, type mismatch...).
    #[error("the query does not plan: {message} (`quarry snapshot show <id>` lists the tables and columns)")]
    Plan {
        /// DataFusion's message, first line.
        message: String,
    },
    /// The query tried something the sandbox forbids (a statement, another table, personal
    /// data). The policy should have caught it first; this is the second gate.
    #[error("refused by the executor sandbox: {reason}")]
    Forbidden {
        /// What was refused.
        reason: String,
    },
    /// A cross or nested-loop join would produce too many rows.
    #[error(
        "refused a cartesian join of about {left_rows} x {right_rows} rows (limit {limit}); join the tables on a key or filter them first"
    )]
    CartesianJoin {
        /// Estimated rows on the left.
        left_rows: String,
        /// Estimated rows on the right.
        right_rows: String,
        /// The configured maximum product.
        limit: u64,
    },
    /// The query used more memory than allowed.
    #[error(
        "the query needs more than the {limit_mb} MiB memory limit; aggregate more, filter to a shorter time range, or ask for fewer groups, or raise executor.memory_limit_mb ({message})"
    )]
    MemoryLimit {
        /// The configured limit.
        limit_mb: u64,
        /// DataFusion's message, first line.
        message: String,
    },
    /// A function would build a value (a string, a list) larger than allowed; nothing was built.
    #[error(
        "{function} would build a value larger than the {limit}-byte limit on one value (about {bytes} bytes); build smaller values (aggregate first, or cut them with left() or substr()), or raise executor.max_value_bytes"
    )]
    ValueTooLarge {
        /// The function (or `||`) that would build the value.
        function: String,
        /// The size of the value (or a bound on it).
        bytes: u64,
        /// The configured limit (`max_value_bytes`).
        limit: u64,
    },
    /// The query's result holds more bytes than allowed.
    #[error(
        "the result is larger than the {limit}-byte limit on a result; select fewer or shorter columns, aggregate more or lower the LIMIT, or raise executor.max_result_bytes"
    )]
    ResultTooLarge {
        /// The configured limit (`max_result_bytes`).
        limit: u64,
    },
    /// One cell of the query's result is larger than allowed.
    #[error(
        "column {column} of the result has a value of {bytes} bytes, more than the {limit}-byte limit on one cell; select a shorter expression (e.g. left({column}, 1000) or length({column})), or raise executor.max_cell_bytes"
    )]
    CellTooLarge {
        /// The result column.
        column: String,
        /// The size of the cell.
        bytes: u64,
        /// The configured limit (`max_cell_bytes`).
        limit: u64,
    },
    /// The query ran longer than allowed and was stopped.
    #[error(
        "the query ran longer than the {timeout_ms} ms time limit and was stopped; filter to a shorter time range or aggregate more"
    )]
    Timeout {
        /// The configured limit.
        timeout_ms: u64,
    },
    /// The query failed while running.
    #[error("the query failed while running: {message}")]
    Execution {
        /// DataFusion's message, first line.
        message: String,
    },
    /// The process running the query crashed for a reason other than memory (a segmentation
    /// fault, a stack overflow, an illegal instruction): a bug in quarry or the engine that this
    /// query triggers, not a limit it ran into. Only isolated execution reports it; in process,
    /// the crash would end quarry itself.
    #[error(
        "the process running the query crashed ({message}); this is not a memory or time limit but a bug the \
         query triggers, and the process was replaced: simplify the query (fewer nested levels, fewer unions or \
         joins) and report it with the query"
    )]
    Crashed {
        /// How the process died, and its last words.
        message: String,
    },
    /// The cluster that runs queries (a Ballista scheduler) could not be reached, or lost
    /// the executors a query needed. Nothing ran in its place.
    #[error(
        "the Ballista cluster at {url} cannot run the query: {message}; check that `quarry-cluster scheduler` and at \
         least one `quarry-cluster executor` are running and reachable, or set [executor] engine = \"local\""
    )]
    ClusterUnavailable {
        /// The scheduler's URL.
        url: String,
        /// What failed, first line.
        message: String,
    },
    /// The snapshot could not be opened.
    #[error(transparent)]
    Snapshot(#[from] quarry_snapshot::Error),
    /// A bug or an environment problem (e.g. no threads could be started).
    #[error("internal executor error: {0}")]
    Internal(String),
}

impl Error {
    /// A stable snake_case code for this error, for APIs and evaluation reports.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Plan { .. } => "plan_error",
            Error::Forbidden { .. } => "forbidden",
            Error::CartesianJoin { .. } => "cartesian_join",
            Error::MemoryLimit { .. }
            | Error::ValueTooLarge { .. }
            | Error::ResultTooLarge { .. }
            | Error::CellTooLarge { .. } => "resource_limit",
            Error::Timeout { .. } => "timeout",
            Error::Execution { .. } => "execution_error",
            Error::Crashed { .. } => "worker_crashed",
            Error::ClusterUnavailable { .. } => "cluster_unavailable",
            Error::Snapshot(_) => "snapshot_error",
            Error::Internal(_) => "internal",
        }
    }
}
