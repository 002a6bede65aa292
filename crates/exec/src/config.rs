use serde::{Deserialize, Serialize};

/// Limits and tuning of the executor. Every limit has a safe default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ExecutorConfig {
    /// Memory one query may use, in MiB; beyond it the query fails (nothing spills to disk).
    pub memory_limit_mb: u64,
    /// Wall-clock limit of one query, in milliseconds.
    pub timeout_ms: u64,
    /// Most rows collected from one query; further rows are dropped and the result marked
    /// truncated.
    pub max_result_rows: usize,
    /// Partitions DataFusion plans for; 0 means the number of CPU threads.
    pub target_partitions: usize,
    /// Threads of the dedicated query runtime; 0 means the number of cores.
    pub cpu_threads: usize,
    /// Largest cartesian product (rows of one side times rows of the other) allowed in a
    /// cross or nested-loop join; 1 side of a scalar subquery is always allowed.
    pub max_cartesian_rows: u64,
    /// Table functions (e.g. `generate_series`) left registered; all are removed by default.
    pub allowed_table_functions: Vec<String>,
    /// Largest value, in bytes, that one function may build: a string (`repeat`, `replace`,
    /// `||`, `lpad`, `string_agg`...), a binary or a list (`array_repeat`, `array_agg`...).
    /// A query that would build a larger one fails before building it.
    pub max_value_bytes: u64,
    /// Most bytes of values collected from one query (strings by their length, numbers by
    /// their width); a larger result fails instead of being returned.
    pub max_result_bytes: u64,
    /// Largest single cell of a result, in bytes.
    pub max_cell_bytes: u64,
    /// Optimized plans kept for SQL run again (a repeated question, a dashboard), so it skips
    /// parsing and optimizing; 0 turns the cache off. Plans that read the clock or draw random
    /// numbers are never kept.
    pub plan_cache_entries: usize,
    /// Where queries run: in this process (or its worker processes), or on a Ballista cluster.
    pub engine: ExecutionEngine,
    /// The Ballista scheduler, `df://host:port`, when `engine = "ballista"`. Every executor of
    /// the cluster must read the snapshot at the same path as quarry (a shared directory).
    pub ballista_url: Option<String>,
}

/// The engine that runs queries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExecutionEngine {
    /// DataFusion in this process, or in its worker processes (see `[isolation]`).
    #[default]
    Local,
    /// A Ballista cluster (`quarry-cluster scheduler` and `quarry-cluster executor`), for
    /// snapshots too large for one node.
    Ballista,
}

impl Default for ExecutorConfig {
    fn default() -> Self {
        Self {
            memory_limit_mb: 1024,
            timeout_ms: 30_000,
            max_result_rows: 10_000,
            target_partitions: 0,
            cpu_threads: 0,
            max_cartesian_rows: 10_000_000,
            allowed_table_functions: Vec::new(),
            max_value_bytes: 1024 * 1024,
            max_result_bytes: 32 * 1024 * 1024,
            max_cell_bytes: 1024 * 1024,
            plan_cache_entries: 256,
            engine: ExecutionEngine::Local,
            ballista_url: None,
        }
    }
}

impl ExecutorConfig {
    /// Threads of the query runtime: `cpu_threads`, or the number of cores.
    pub fn threads(&self) -> usize {
        if self.cpu_threads > 0 {
            self.cpu_threads
        } else {
            std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2)
        }
    }

    /// The per-value limit as a size in memory.
    pub(crate) fn value_limit(&self) -> usize {
        usize::try_from(self.max_value_bytes).unwrap_or(usize::MAX)
    }

    /// Partitions plans are made for: `target_partitions`, or the number of query threads.
    pub fn partitions(&self) -> usize {
        if self.target_partitions > 0 { self.target_partitions } else { self.threads() }
    }
}
