use serde::{Deserialize, Serialize};

/// Address space a worker needs beyond the engine's `memory_limit_mb`, in MiB.
///
/// Measured on a debug `quarry worker` over the demo snapshot (2 cores, default limits;
/// `a_healthy_worker_stays_well_inside_its_address_space_limit` in crates/cli/tests prints
/// it): 409 MiB of address space when idle, of which 281 MiB are the binary's own mappings,
/// 64 MiB mimalloc's first arena (the pool caps its reservations at 64 MiB) and 48 MiB the
/// main runtime's 16 MiB stacks; VmPeak 551 MiB (peak RSS 234 MiB) after a self-join of the
/// events table and a million-row aggregation. 1 GiB covers that with about 500 MiB to spare
/// for the Arrow buffers a query holds outside the engine's memory pool, so the engine's own
/// limit still speaks first: at `memory_limit_mb = 16` a heavy aggregation in a worker fails
/// with the engine's memory-limit error, not an abort. A release binary is smaller.
pub const DEFAULT_HEADROOM_MB: u64 = 1024;

/// Where queries run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IsolationMode {
    /// [`Process`](IsolationMode::Process) for programs that run SQL a person or a model wrote
    /// (`quarry serve`, `sql`, `ask`, `chat`), [`InProcess`](IsolationMode::InProcess) for the
    /// others (evaluation and calibration runs over labeled questions); the binary resolves it
    /// with [`IsolationMode::resolve`] (a library caller that does not gets in-process
    /// execution, which never starts processes).
    #[default]
    Auto,
    /// In quarry's own process: no start-up cost, but a query that escapes the engine's
    /// limits (an allocation the memory pool does not see) aborts quarry.
    InProcess,
    /// In a pool of `quarry worker` processes, each limited in address space and CPU time:
    /// such a query kills its worker, which is replaced.
    Process,
}

impl IsolationMode {
    /// `Auto` resolved for a program that runs queries from people or models
    /// (`untrusted_queries`: `quarry serve`, and the one-shot `sql`, `ask` and `chat`, whose
    /// abort would be as much an escape as the server's) or only its own; other modes as they are.
    pub fn resolve(self, untrusted_queries: bool) -> Self {
        match self {
            IsolationMode::Auto if untrusted_queries => IsolationMode::Process,
            IsolationMode::Auto => IsolationMode::InProcess,
            mode => mode,
        }
    }
}

/// How queries are isolated from the process that asks them (the `[isolation]` settings).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IsolationConfig {
    /// Where queries run.
    pub mode: IsolationMode,
    /// Worker processes per snapshot, so queries at once; 0 means one per core, at least 2.
    pub workers: usize,
    /// Address-space limit (`RLIMIT_AS`) of one worker, in MiB; 0 means the executor's
    /// `memory_limit_mb` plus [`DEFAULT_HEADROOM_MB`].
    pub address_space_mb: u64,
    /// How long a worker may take to open the snapshot and report ready, in milliseconds.
    pub start_timeout_ms: u64,
}

impl Default for IsolationConfig {
    fn default() -> Self {
        Self { mode: IsolationMode::Auto, workers: 0, address_space_mb: 0, start_timeout_ms: 30_000 }
    }
}

impl IsolationConfig {
    /// The number of workers in force.
    pub fn worker_count(&self) -> usize {
        if self.workers > 0 {
            self.workers
        } else {
            std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2).max(2)
        }
    }

    /// The address-space limit in force for an engine limited to `memory_limit_mb`, in MiB.
    pub fn address_space_limit_mb(&self, memory_limit_mb: u64) -> u64 {
        if self.address_space_mb > 0 {
            self.address_space_mb
        } else {
            memory_limit_mb.saturating_add(DEFAULT_HEADROOM_MB)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_is_process_only_for_programs_that_run_untrusted_queries() {
        assert_eq!(IsolationMode::Auto.resolve(true), IsolationMode::Process);
        assert_eq!(IsolationMode::Auto.resolve(false), IsolationMode::InProcess);
        assert_eq!(IsolationMode::InProcess.resolve(true), IsolationMode::InProcess);
        assert_eq!(IsolationMode::Process.resolve(false), IsolationMode::Process);
    }

    #[test]
    fn the_address_space_limit_defaults_to_the_memory_limit_plus_headroom() {
        let config = IsolationConfig::default();
        assert_eq!(config.address_space_limit_mb(1024), 1024 + DEFAULT_HEADROOM_MB);
        let config = IsolationConfig { address_space_mb: 300, ..IsolationConfig::default() };
        assert_eq!(config.address_space_limit_mb(1024), 300);
        assert!(IsolationConfig::default().worker_count() >= 2);
    }
}
