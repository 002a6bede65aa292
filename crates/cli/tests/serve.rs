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

/// Chromium when the browser tests can run; `None` (the test is skipped) when they cannot and
/// `REQUIRE_BROWSER` is not `1`, which makes it a failure instead.
fn browser_or_skip(web: &std::path::Path) -> Option<PathBuf> {
    match browser_ready(web) {
        Ok(chromium) => Some(chromium),
        Err(reason) if std::env::var("REQUIRE_BROWSER").as_deref() != Ok("1") => {
            eprintln!("skipped: {reason}; set REQUIRE_BROWSER=1 to make this a failure");
            None
        }
        Err(reason) => panic!("the browser test cannot run: {reason}"),
    }
}

#[test]
fn the_web_chat_answers_follows_up_and_takes_feedback_in_a_real_browser() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let web = root.join("web");
    let Some(chromium) = browser_or_skip(&web) else { return };
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

/// Issue 21: the hand-off to an analyst in a real browser, two users on one server.
#[test]
fn a_manager_hands_a_question_to_an_analyst_who_answers_it_in_the_web_app() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let web = root.join("web");
    let Some(chromium) = browser_or_skip(&web) else { return };
    let home = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("serve-review-{}", std::process::id()));
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(
        home.join("quarry.toml"),
        "[server]\napi_tokens = [{ user = \"manager\", token = \"token-of-the-manager\" }, \
         { user = \"carl\", token = \"token-of-carl\" }]\nanalysts = [\"carl\"]\n",
    )
    .unwrap();
    let server = start_server(&home, &[("QUARRY_SERVER__CHART_LINK_SECRET", "test-secret")]);
    let screenshots = root.join("target/screenshots");
    let output = Command::new("node")
        .arg(web.join("tests/review.e2e.mjs"))
        .env("CHAT_URL", &server.url)
        .env("PM_TOKEN", "token-of-the-manager")
        .env("ANALYST_TOKEN", "token-of-carl")
        .env("ANALYST", "carl")
        .env("CHROMIUM_PATH", &chromium)
        .env("SCREENSHOT_DIR", &screenshots)
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the browser test failed:\n{stdout}\n{stderr}");
    eprintln!("{stdout}");
    let timing = stdout.lines().find(|l| l.contains("analyst_to_asker_ms")).expect("the test prints its timing");
    let timing: serde_json::Value = serde_json::from_str(timing).expect("JSON");
    assert!(timing["analyst_to_asker_ms"].as_f64().is_some(), "{timing}");
    for shot in [
        "review-1-cannot-answer.png",
        "review-2-queue.png",
        "review-3-analyst-sql.png",
        "review-4-answered.png",
        "review-5-verified.png",
    ] {
        let bytes = std::fs::read(screenshots.join(shot)).unwrap_or_else(|e| panic!("{shot}: {e}"));
        assert!(bytes.starts_with(b"\x89PNG"), "{shot} is a PNG");
    }

    // The CLI reads the same queue: the item is answered, by carl, and promoted.
    let run = |args: &[&str]| common::quarry().env("QUARRY_HOME", &home).args(args).output().expect("runs");
    let listed = run(&["review", "list", "--json"]);
    assert!(listed.status.success(), "{}", String::from_utf8_lossy(&listed.stderr));
    let items: serde_json::Value = serde_json::from_slice(&listed.stdout).expect("JSON");
    let item = &items[0];
    assert_eq!((item["status"].as_str(), item["answered_by"].as_str()), (Some("answered"), Some("carl")), "{items}");
    assert!(item["verified_id"].as_str().is_some_and(|id| id.starts_with("vq-")), "{item}");
    let verified = run(&["verified", "list"]);
    assert!(String::from_utf8_lossy(&verified.stdout).contains("how many unicorns"));
    drop(server);
    let _ = std::fs::remove_dir_all(&home);
}

/// Issue 21: `quarry review list|show|answer` on the store the server writes.
#[test]
fn the_review_queue_is_worked_from_the_command_line() {
    let home = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("serve-review-cli-{}", std::process::id()));
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(home.join("quarry.toml"), "[server]\nanalysts = [\"carl\"]\n").unwrap();
    let server = start_server(&home, &[]);
    let asked = Command::new("curl")
        .args(["-s", "-H", "content-type: application/json", "-d"])
        .arg(r#"{"question": "how many unicorns"}"#)
        .arg(format!("{}/api/v1/ask", server.url))
        .output()
        .expect("curl runs");
    let asked: serde_json::Value = serde_json::from_slice(&asked.stdout).expect("JSON");
    let id = asked["review"]["id"].as_str().unwrap_or_else(|| panic!("handed to an analyst: {asked}")).to_string();
    let conversation = asked["conversation_id"].as_str().unwrap().to_string();
    let run = |args: &[&str]| common::quarry().env("QUARRY_HOME", &home).args(args).output().expect("runs");

    let listed = run(&["review", "list", "--status", "open"]);
    let text = String::from_utf8_lossy(&listed.stdout);
    assert!(listed.status.success() && text.contains(&id) && text.contains("cannot_answer"), "{text}");
    let shown = run(&["review", "show", &id]);
    let detail: serde_json::Value = serde_json::from_slice(&shown.stdout).expect("show prints JSON");
    assert_eq!(detail["item"]["question"], "how many unicorns");
    assert_eq!(detail["conversation"].as_array().map(Vec::len), Some(1));

    let refused = run(&["review", "answer", &id, "--text", "none", "--by", "mallory"]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("mallory is not an analyst"));
    let bad_sql = run(&["review", "answer", &id, "--text", "x", "--sql", "DROP TABLE users", "--by", "carl"]);
    assert!(!bad_sql.status.success(), "SQL the policy refuses is not answered with");
    let answered = run(&[
        "review",
        "answer",
        &id,
        "--text",
        "None: there are no unicorns.",
        "--sql",
        "SELECT COUNT(*) AS users FROM users",
        "--by",
        "carl",
    ]);
    let text = String::from_utf8_lossy(&answered.stdout);
    assert!(answered.status.success(), "{text}{}", String::from_utf8_lossy(&answered.stderr));
    assert!(text.contains(&format!("answered {id}")) && text.contains("conversation"), "{text}");
    let again = run(&["review", "answer", &id, "--text", "again", "--by", "carl"]);
    assert!(String::from_utf8_lossy(&again.stderr).contains("answered already by carl"));

    // The server, running all along, shows the answer in the asker's conversation.
    let (status, body) = get(&format!("{}/api/v1/conversations/{conversation}", server.url));
    assert_eq!(status, 200, "{body}");
    let read: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(read["turns"][1]["response"]["analyst"]["by"], "carl", "{read}");
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
