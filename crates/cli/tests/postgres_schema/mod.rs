//! A PostgreSQL schema of its own for a test, on the server `TEST_POSTGRES_URL` names, for the
//! tests that need a real PostgreSQL (`mod postgres_schema;` in each).

use std::io::Write;
use std::process::{Command, Stdio};

/// The server's URL, or `None` (the test is skipped) when `TEST_POSTGRES_URL` is unset.
/// `REQUIRE_POSTGRES=1` (as in `.ci/run`) makes a missing URL a failure instead.
pub fn server_url(test: &str) -> Option<String> {
    match std::env::var("TEST_POSTGRES_URL") {
        Ok(url) => Some(url),
        Err(_) if std::env::var("REQUIRE_POSTGRES").as_deref() == Ok("1") => {
            panic!("REQUIRE_POSTGRES=1 but TEST_POSTGRES_URL is not set")
        }
        Err(_) => {
            eprintln!("skipped: set TEST_POSTGRES_URL to run the {test} test");
            None
        }
    }
}

/// Runs `sql` through `psql` on `url`, failing the test on any error.
pub fn psql(url: &str, sql: &str) {
    let mut child = Command::new("psql")
        .args([url, "-q", "-v", "ON_ERROR_STOP=1", "-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("psql (PostgreSQL's client) should be installed");
    child.stdin.take().expect("stdin").write_all(sql.as_bytes()).expect("write to psql");
    let output = child.wait_with_output().expect("psql");
    assert!(output.status.success(), "psql failed: {}", String::from_utf8_lossy(&output.stderr));
}

/// A schema of its own, dropped when the test ends.
pub struct TestSchema {
    /// The server's URL.
    pub url: String,
    /// The schema's name.
    pub name: String,
}

impl Drop for TestSchema {
    fn drop(&mut self) {
        psql(&self.url, &format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name));
    }
}
