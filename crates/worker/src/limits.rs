//! The kernel's limits on a worker process.

use nix::sys::resource::{RLIM_INFINITY, Resource, UsageWho, getrlimit, getrusage, setrlimit};

use crate::error::{Error, Result};

fn os_error(what: &str, errno: nix::Error) -> Error {
    Error::Io(std::io::Error::other(format!("{what}: {errno}")))
}

/// Limits this process's address space to `mb` MiB (soft and hard: a query cannot raise it).
pub fn set_address_space_mb(mb: u64) -> Result<()> {
    let bytes = mb.saturating_mul(1024 * 1024);
    setrlimit(Resource::RLIMIT_AS, bytes, bytes).map_err(|e| os_error("setting RLIMIT_AS", e))
}

/// This process's address-space limit in bytes; `None` when unlimited.
pub fn address_space_bytes() -> Result<Option<u64>> {
    let (soft, _) = getrlimit(Resource::RLIMIT_AS).map_err(|e| os_error("reading RLIMIT_AS", e))?;
    Ok((soft != RLIM_INFINITY).then_some(soft))
}

/// Lets this process use `seconds` more CPU time from now, then the kernel sends SIGXCPU (which
/// ends it). `RLIMIT_CPU` counts a process's whole life, so a worker that serves many queries
/// moves its soft limit before each; the hard limit stays where it was, so it can.
pub fn allow_cpu_seconds(seconds: u64) -> Result<()> {
    let usage = getrusage(UsageWho::RUSAGE_SELF).map_err(|e| os_error("reading CPU time", e))?;
    let used = usage.user_time().tv_sec().saturating_add(usage.system_time().tv_sec());
    let used = u64::try_from(used).unwrap_or(0);
    let (_, hard) = getrlimit(Resource::RLIMIT_CPU).map_err(|e| os_error("reading RLIMIT_CPU", e))?;
    // Whole seconds used are rounded down: one more second keeps the allowance whole.
    let soft = used.saturating_add(seconds).saturating_add(1).min(hard);
    setrlimit(Resource::RLIMIT_CPU, soft, hard).map_err(|e| os_error("setting RLIMIT_CPU", e))
}
