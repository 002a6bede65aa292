//! Issue 15, a new user with their own data: `snapshot create` says what to do next (once,
//! with each import note once), `snapshot use` records the default in `$QUARRY_HOME/quarry.toml`
//! keeping the user's other settings, `ask` and `sql` answer from it, answers from the demo
//! warehouse say so when the user has snapshots of their own, and refusals on imported data
//! name that data's own metrics.

mod common;

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::{Value, json};

fn database(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../../fixtures/spider-mini/database/{name}/{name}.sqlite"))
}

/// `quarry` on a data directory of the test's own (never the shared one, whose users must not
/// see the snapshots these tests import).
fn quarry_in(home: &Path) -> Command {
    let mut command = common::quarry();
    command.env("QUARRY_HOME", home);
    command
}

fn stdout_of(command: &mut Command) -> String {
    let output = command.output().expect("runs");
    assert!(output.status.success(), "stderr: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).expect("UTF-8")
}

fn json_of(command: &mut Command) -> Value {
    serde_json::from_str(&stdout_of(command)).expect("stdout is one JSON object")
}

/// Imports a Spider mini database into `home`; returns the output and the snapshot id.
fn create(home: &Path, name: &str) -> (String, String) {
    let from = database(name);
    let created = stdout_of(quarry_in(home).args(["snapshot", "create", "--from", from.to_str().expect("UTF-8")]));
    let id = created
        .lines()
        .find(|l| l.starts_with("snapshot snap-"))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or_else(|| panic!("no id in:\n{created}"))
        .to_string();
    (created, id)
}

/// A data directory holding the shared demo snapshot (linked, not copied) and nothing else;
/// returns the demo's id.
fn home_with_demo(home: &Path) -> String {
    let demo = quarry_snapshot::SnapshotStore::new(common::home().join("snapshots"))
        .list()
        .expect("list")
        .into_iter()
        .find(|s| matches!(s.manifest.source, quarry_snapshot::SnapshotSource::Demo { .. }))
        .expect("the shared home holds the demo");
    std::fs::create_dir_all(home.join("snapshots")).expect("mkdir");
    std::os::unix::fs::symlink(&demo.dir, home.join("snapshots").join(&demo.manifest.id)).expect("link the demo");
    demo.manifest.id
}

fn layer_of(home: &Path, id: &str) -> (PathBuf, quarry_semantic::SemanticLayer) {
    let path = home.join("snapshots").join(id).join("semantic.yaml");
    let layer = quarry_semantic::SemanticLayer::from_yaml_file(&path).expect("the starter layer reads");
    (path, layer)
}

#[test]
fn create_prints_the_next_steps_once_and_each_note_once() {
    let home = tempfile::tempdir().expect("tempdir");
    let (created, id) = create(home.path(), "car_1");
    let notes: Vec<&str> = created.lines().filter(|l| l.starts_with("note: ")).collect();
    assert!(!notes.is_empty(), "{created}");
    for note in &notes {
        assert_eq!(notes.iter().filter(|n| *n == note).count(), 1, "{note} is printed twice:\n{created}");
    }
    // car_1 declares TEXT for numbers: the type note of each such column is printed once.
    for column in ["car_makers.country", "cars_data.mpg", "cars_data.horsepower"] {
        let mentions = notes.iter().filter(|n| n.contains(&format!("{column} "))).count();
        assert_eq!(mentions, 1, "the note on {column} should be printed once:\n{created}");
    }
    assert_eq!(created.matches("next steps:").count(), 1, "{created}");
    let (layer_path, layer) = layer_of(home.path(), &id);
    let layer_path = layer_path.display().to_string();
    let first_metric = layer.metrics[0].display_name().to_lowercase();
    for expected in [
        format!("quarry snapshot use {id}"),
        format!("quarry ask --snapshot {id} \"{first_metric}\""),
        format!("quarry semantic check {layer_path} --snapshot {id}"),
    ] {
        assert_eq!(created.matches(&expected).count(), 1, "{expected:?} once in:\n{created}");
    }
    assert!(created.contains(&layer_path), "{created}");
    for (table, column) in layer.personal_columns() {
        assert!(created.contains(&format!("{table}.{column}")), "personal {table}.{column} not listed:\n{created}");
    }
    if !layer.personal_columns().is_empty() {
        assert_eq!(created.matches("set `personal: false` on it in").count(), 1, "{created}");
    }
}

#[test]
fn snapshot_use_records_the_default_and_keeps_other_settings() {
    let home = tempfile::tempdir().expect("tempdir");
    let settings_file = home.path().join("quarry.toml");
    let user_settings = "# my own settings\n[executor]\ntimeout_ms = 9000   # a slow disk\n";
    std::fs::write(&settings_file, user_settings).expect("write quarry.toml");
    let (_, id) = create(home.path(), "concert_singer");

    let used = stdout_of(quarry_in(home.path()).args(["snapshot", "use", &id[..10]]));
    assert!(used.contains(&id), "{used}");
    let written = std::fs::read_to_string(&settings_file).expect("read quarry.toml");
    assert!(written.contains(&format!("snapshot = \"{id}\"")), "{written}");
    for line in user_settings.lines() {
        assert!(written.contains(line), "{line:?} was lost:\n{written}");
    }

    let listed = stdout_of(quarry_in(home.path()).args(["snapshot", "list"]));
    let row = listed.lines().find(|l| l.contains(&id)).expect("listed");
    assert!(row.contains('*'), "the default is marked:\n{listed}");
    assert!(listed.contains(&format!("default: {id}")), "{listed}");

    // A plain `ask` (no --snapshot) answers from the default, with no demo notice.
    let answer = json_of(quarry_in(home.path()).args(["ask", "how many singers", "--json"]));
    assert_eq!(answer["snapshot_id"], json!(id), "{answer}");
    assert_eq!(answer["rows"], json!([[6]]), "{answer}");
    assert_eq!(answer["demo_notice"], Value::Null, "{answer}");
    let result = json_of(quarry_in(home.path()).args(["sql", "SELECT COUNT(*) AS n FROM stadium", "--json"]));
    assert_eq!(result["snapshot_id"], json!(id), "{result}");

    // An environment override wins over the file, and `snapshot use` says so.
    let overridden = quarry_in(home.path()).env("QUARRY_SNAPSHOT", "demo").args(["snapshot", "use", &id]).output();
    let overridden = overridden.expect("runs");
    assert!(overridden.status.success());
    assert!(String::from_utf8_lossy(&overridden.stderr).contains("QUARRY_SNAPSHOT"), "{overridden:?}");

    stdout_of(quarry_in(home.path()).args(["snapshot", "use", "--demo"]));
    let written = std::fs::read_to_string(&settings_file).expect("read quarry.toml");
    assert!(written.contains("snapshot = \"demo\"") && !written.contains(&id), "{written}");
    assert!(written.contains("timeout_ms = 9000   # a slow disk"), "{written}");
    let listed = stdout_of(quarry_in(home.path()).args(["snapshot", "list"]));
    assert!(listed.contains("default: the demo warehouse"), "{listed}");
    assert!(!listed.lines().any(|l| l.contains(&id) && l.contains('*')), "{listed}");

    let unknown = quarry_in(home.path()).args(["snapshot", "use", "snap-nope"]).output().expect("runs");
    assert!(!unknown.status.success());
    assert_eq!(std::fs::read_to_string(&settings_file).expect("read"), written, "a failed use changes nothing");
}

#[test]
fn answers_from_the_demo_say_so_only_when_the_user_has_snapshots_of_their_own() {
    let home = tempfile::tempdir().expect("tempdir");
    let demo = home_with_demo(home.path());
    let question = ["ask", "signups last month"];

    // Only the demo: no notice.
    let answer = json_of(quarry_in(home.path()).args(question).arg("--json"));
    assert_eq!(answer["snapshot_id"], json!(demo), "{answer}");
    assert_eq!(answer["demo_notice"], Value::Null, "{answer}");
    let text = stdout_of(quarry_in(home.path()).args(question));
    assert!(!text.contains("demo warehouse"), "{text}");

    // With an imported snapshot beside it: one line naming it and how to switch.
    let (_, own) = create(home.path(), "pets_1");
    let answer = json_of(quarry_in(home.path()).args(question).arg("--json"));
    assert_eq!(answer["snapshot_id"], json!(demo), "{answer}");
    let notice = answer["demo_notice"].as_str().unwrap_or_else(|| panic!("no demo_notice: {answer}"));
    assert!(notice.contains("answered from the demo warehouse"), "{notice}");
    assert!(notice.contains(&own) && notice.contains(&format!("quarry snapshot use {own}")), "{notice}");
    let text = stdout_of(quarry_in(home.path()).args(question));
    let lines: Vec<&str> = text.lines().filter(|l| l.contains("answered from the demo warehouse")).collect();
    assert_eq!(lines.len(), 1, "{text}");
    assert!(lines[0].contains(&own), "{text}");
    let sql = json_of(quarry_in(home.path()).args(["sql", "SELECT COUNT(*) AS n FROM users", "--json"]));
    assert!(sql["demo_notice"].as_str().is_some_and(|n| n.contains(&own)), "{sql}");

    // Asking for the demo by name is a choice: no notice.
    let chosen = json_of(quarry_in(home.path()).args(question).args(["--snapshot", &demo, "--json"]));
    assert_eq!(chosen["demo_notice"], Value::Null, "{chosen}");
    // Nor when the answer comes from the user's own snapshot.
    let own_answer = json_of(quarry_in(home.path()).args(["ask", "how many students", "--snapshot", &own, "--json"]));
    assert_eq!(own_answer["snapshot_id"], json!(own), "{own_answer}");
    assert_eq!(own_answer["demo_notice"], Value::Null, "{own_answer}");
}

#[test]
fn a_refusal_on_an_imported_snapshot_names_its_own_metrics() {
    let home = tempfile::tempdir().expect("tempdir");
    let (_, id) = create(home.path(), "concert_singer");
    let (_, layer) = layer_of(home.path(), &id);
    let own_metric = layer.metrics[0].display_name().to_lowercase();
    let demo_words = ["signups", "revenue", "tickets", "active users"];

    let output = quarry_in(home.path()).args(["ask", "what is the weather", "--snapshot", &id]).output().expect("runs");
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let refusal = String::from_utf8_lossy(&output.stdout).to_lowercase();
    assert!(refusal.contains(&own_metric), "{refusal}");
    assert!(!demo_words.iter().any(|w| refusal.contains(w)), "{refusal}");

    let output = quarry_in(home.path()).args(["ask", "  ", "--snapshot", &id]).output().expect("runs");
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let refusal = String::from_utf8_lossy(&output.stderr).to_lowercase();
    assert!(refusal.contains("the question is empty") && refusal.contains(&own_metric), "{refusal}");
    assert!(!demo_words.iter().any(|w| refusal.contains(w)), "{refusal}");
}

#[test]
fn a_question_with_nothing_to_measure_names_no_demo_metric_on_imported_data() {
    let home = tempfile::tempdir().expect("tempdir");
    let (_, id) = create(home.path(), "concert_singer");
    let output = quarry_in(home.path()).args(["ask", "how many?", "--snapshot", &id]).output().expect("runs");
    let refusal = String::from_utf8_lossy(&output.stdout).to_lowercase();
    assert!(!refusal.contains("signups") && !refusal.contains("revenue"), "{refusal}");
}
