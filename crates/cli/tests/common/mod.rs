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
#[allow(dead_code)] // Not every test binary runs commands to the end.
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

/// A `quarry serve` process, killed on drop.
#[allow(dead_code)] // Only the tests that start a server use it.
pub struct Server {
    /// The process (a test may kill it itself).
    pub child: std::process::Child,
    /// Its base URL, `http://127.0.0.1:PORT`.
    pub url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `quarry serve --addr 127.0.0.1:0` on its own data directory `home` (sharing the
/// demo snapshot of [`home`]) with `settings` as extra `QUARRY_*` variables, and waits for the
/// address it prints.
#[allow(dead_code)] // Only the tests that start a server use it.
pub fn start_server(server_home: &std::path::Path, settings: &[(&str, &str)]) -> Server {
    use std::io::{BufRead, BufReader};
    std::fs::create_dir_all(server_home).expect("home");
    let link = server_home.join("snapshots");
    if !link.exists() {
        std::os::unix::fs::symlink(home().join("snapshots"), &link).expect("link the demo snapshot");
    }
    let mut command = quarry_process();
    command.args(["serve", "--addr", "127.0.0.1:0"]).env("QUARRY_HOME", server_home);
    for (name, value) in settings {
        command.env(name, value);
    }
    let mut child = command
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("quarry serve starts");
    let stderr = child.stderr.take().expect("stderr");
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("on http://").nth(1) {
                let addr = rest.split_whitespace().next().unwrap_or_default().to_string();
                let _ = sender.send(format!("http://{addr}"));
            }
            eprintln!("[serve] {line}");
        }
    });
    let url = receiver.recv_timeout(std::time::Duration::from_secs(180)).expect("quarry serve prints its address");
    Server { child, url }
}
