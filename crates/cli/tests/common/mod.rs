//! Shared fixture of the CLI tests: a data directory with the demo snapshot installed once.

use std::path::PathBuf;
use std::sync::OnceLock;

use assert_cmd::Command;

/// A data directory holding the demo snapshot, installed once for every test binary.
pub fn home() -> PathBuf {
    static HOME: OnceLock<PathBuf> = OnceLock::new();
    HOME.get_or_init(|| {
        let home = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cli-home");
        let store = quarry_snapshot::SnapshotStore::new(home.join("snapshots"));
        quarry_demo::ensure_installed(&store, &quarry_demo::DemoConfig::default()).expect("demo snapshot");
        home
    })
    .clone()
}

/// The `quarry` binary, pointed at [`home`], with no other `QUARRY_*` setting inherited from
/// the environment the tests run in.
#[allow(dead_code)] // Not every test binary runs commands.
pub fn quarry() -> Command {
    let mut command = Command::from_std(quarry_process());
    command.env("QUARRY_HOME", home()).env_remove("RUST_LOG");
    command
}

/// The `quarry` binary as a plain process (for one that runs in the background), with no
/// `QUARRY_*` setting inherited from the environment.
#[allow(dead_code)] // Not every test binary starts processes of its own.
pub fn quarry_process() -> std::process::Command {
    let mut command = std::process::Command::new(assert_cmd::cargo::cargo_bin("quarry"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("QUARRY_") {
            command.env_remove(name);
        }
    }
    command
}
