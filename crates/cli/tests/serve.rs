//! `quarry serve` as users run it: the binary on a loopback port, then the web chat in a real
//! browser (Debian's Chromium driven by Playwright, `web/tests/chat.e2e.mjs`), and the
//! stored audit record and feedback read back with `quarry audit` and `quarry feedback`.
//!
//! The browser part needs `node`, `/usr/bin/chromium` (or `CHROMIUM_PATH`) and
//! `web/node_modules` (`npm ci` in `web/`); without them it is skipped with a message, unless
//! `REQUIRE_BROWSER=1` (set by CI) turns that into a failure.

mod common;

use common::start_server;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

fn get(url: &str) -> (u16, String) {
    let output = Command::new("curl").args(["-s", "-w", "\n%{http_code}", url]).output().expect("curl runs");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let (body, status) = text.rsplit_once('\n').unwrap_or((&text, "0"));
    (status.trim().parse().unwrap_or(0), body.to_string())
}

fn browser_ready(web: &Path) -> Result<PathBuf, String> {
    let chromium = PathBuf::from(std::env::var("CHROMIUM_PATH").unwrap_or_else(|_| "/usr/bin/chromium".into()));
    if !chromium.exists() {
        return Err(format!("no Chromium at {} (apt-get install chromium)", chromium.display()));
    }
    if Command::new("node").arg("--version").output().is_err() {
        return Err("node is not installed".into());
    }
    if !web.join("node_modules/playwright-core").exists() {
        return Err("web/node_modules is missing (cd web && npm ci)".into());
    }
    Ok(chromium)
}

#[test]
fn the_web_chat_answers_follows_up_and_takes_feedback_in_a_real_browser() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let web = root.join("web");
    let chromium = match browser_ready(&web) {
        Ok(chromium) => chromium,
        Err(reason) if std::env::var("REQUIRE_BROWSER").as_deref() != Ok("1") => {
            eprintln!("skipped: {reason}; set REQUIRE_BROWSER=1 to make this a failure");
            return;
        }
        Err(reason) => panic!("the browser test cannot run: {reason}"),
    };
    let home = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("serve-browser-{}", std::process::id()));
    let server = start_server(&home, &[("QUARRY_SERVER__CHART_LINK_SECRET", "test-secret")]);
    let (status, body) = get(&format!("{}/readyz", server.url));
    assert_eq!(status, 200, "readyz: {body}");

    let screenshots = root.join("target/screenshots");
    let started = Instant::now();
    let output = Command::new("node")
        .arg(web.join("tests/chat.e2e.mjs"))
        .env("CHAT_URL", &server.url)
        .env("CHROMIUM_PATH", &chromium)
        .env("SCREENSHOT_DIR", &screenshots)
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the browser test failed:\n{stdout}\n{stderr}");
    eprintln!("{stdout}(browser test took {:.1} s)", started.elapsed().as_secs_f64());
    let timings = stdout.lines().find(|l| l.contains("first_stage_ms")).expect("the test prints its timings");
    let timings: serde_json::Value = serde_json::from_str(timings).expect("timings are JSON");
    assert!(timings["first_stage_ms"].as_f64().is_some() && timings["answer_ms"].as_f64().is_some(), "{timings}");
    for shot in ["chat.png", "chat-narrow.png"] {
        let bytes = std::fs::read(screenshots.join(shot)).unwrap_or_else(|e| panic!("{shot}: {e}"));
        assert!(bytes.starts_with(b"\x89PNG"), "{shot} is a PNG");
    }

    // What the browser did is in the store: feedback with its comment, and an audit record
    // for each answer, readable with the CLI while the server runs.
    let feedback = common::quarry().env("QUARRY_HOME", &home).args(["feedback", "list"]).output().expect("runs");
    let feedback_text = String::from_utf8_lossy(&feedback.stdout);
    assert!(feedback.status.success(), "{feedback_text}");
    assert!(feedback_text.contains("useful") && feedback_text.contains(" up "), "{feedback_text}");
    let audit = common::quarry().env("QUARRY_HOME", &home).args(["audit", "list"]).output().expect("runs");
    let audit_text = String::from_utf8_lossy(&audit.stdout);
    assert!(audit_text.contains("signups by channel last month"), "{audit_text}");
    assert!(audit_text.contains("break that down by country"), "{audit_text}");
    let id = audit_text
        .split(|c: char| c.is_whitespace() || c == '│' || c == '┆')
        .find(|word| word.starts_with("req-"))
        .expect("a request id in the list");
    let shown = common::quarry().env("QUARRY_HOME", &home).args(["audit", "show", id]).output().expect("runs");
    let record: serde_json::Value = serde_json::from_slice(&shown.stdout).expect("audit show prints JSON");
    for field in ["request_id", "user", "channel", "question", "attempts", "snapshot_id", "row_count", "timings_ms"] {
        assert!(record.get(field).is_some(), "the audit record has {field}: {record}");
    }
    assert_eq!(record["channel"], "web", "the page identifies itself: {record}");
    drop(server);
    let _ = std::fs::remove_dir_all(&home);
}

#[test]
fn verified_add_promotes_an_answer_and_refuses_sql_that_does_not_pass_the_policy() {
    let home = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("serve-verified-{}", std::process::id()));
    std::fs::create_dir_all(&home).unwrap();
    let link = home.join("snapshots");
    if !link.exists() {
        std::os::unix::fs::symlink(common::home().join("snapshots"), &link).unwrap();
    }
    let run = |args: &[&str]| common::quarry().env("QUARRY_HOME", &home).args(args).output().expect("runs");
    let added = run(&[
        "verified",
        "add",
        "--question",
        "How many accounts per industry?",
        "--sql",
        "SELECT industry, COUNT(*) AS accounts FROM accounts GROUP BY industry",
    ]);
    assert!(added.status.success(), "{}", String::from_utf8_lossy(&added.stderr));
    let listed = run(&["verified", "list"]);
    assert!(String::from_utf8_lossy(&listed.stdout).contains("How many accounts per industry?"));
    let refused = run(&["verified", "add", "--question", "drop it", "--sql", "DROP TABLE accounts"]);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("policy") || stderr.contains("refused"), "{stderr}");
    let missing = run(&["verified", "add", "--answer", "ans-nope"]);
    assert!(String::from_utf8_lossy(&missing.stderr).contains("there is no answer ans-nope"));
    let _ = std::fs::remove_dir_all(&home);
}
