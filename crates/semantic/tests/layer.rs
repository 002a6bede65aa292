//! The semantic layer against real snapshots: the demo layer matches the demo warehouse,
//! the checked-in JSON Schema matches the types, and broken layers get errors that name the
//! file, the entry and the fix.

use std::path::Path;

use quarry_semantic::{DEMO_LAYER_YAML, Error, SemanticLayer, starter_layer};
use quarry_snapshot::{Snapshot, SnapshotStore};

fn demo() -> Snapshot {
    let store = SnapshotStore::new(Path::new(env!("CARGO_TARGET_TMPDIR")).join("demo-snapshots"));
    quarry_demo::ensure_installed(&store, &quarry_demo::DemoConfig::default()).expect("demo snapshot")
}

fn problems(error: Error) -> Vec<String> {
    match error {
        Error::Invalid { problems, .. } => problems.iter().map(ToString::to_string).collect(),
        other => panic!("expected an invalid layer, got {other}"),
    }
}

#[tokio::test]
async fn the_demo_layer_matches_the_demo_warehouse() {
    let layer = SemanticLayer::demo();
    layer.validate_against(&demo(), "schemas/demo.semantic.yaml").await.expect("valid");
    // The contract's sixteen metrics, each defined once.
    assert_eq!(layer.metrics.len(), 16);
    assert_eq!(
        layer.personal_columns(),
        [("users".to_string(), "email".to_string()), ("users".to_string(), "full_name".to_string())]
    );
}

#[test]
fn the_checked_in_json_schema_is_generated_from_the_types() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas/semantic-layer.schema.json");
    let checked_in = std::fs::read_to_string(&path).expect("schema file exists");
    assert_eq!(
        checked_in,
        SemanticLayer::json_schema(),
        "schemas/semantic-layer.schema.json is stale: regenerate it with `quarry semantic schema > schemas/semantic-layer.schema.json`"
    );
}

#[tokio::test]
async fn errors_name_the_entry_and_the_fix() {
    let broken = DEMO_LAYER_YAML
        .replace(
            "expression: SUM(amount_usd)\n    filter: status = 'paid'",
            "expression: SUM(amount_dollars)\n    filter: status = 'paid'",
        )
        .replace("time_column: signup_at", "time_column: role");
    let layer = match SemanticLayer::from_yaml_str(&broken, "broken.yaml") {
        Ok(layer) => layer,
        Err(e) => panic!("structurally fine, only wrong against the snapshot: {e}"),
    };
    let error = layer.validate_against(&demo(), "broken.yaml").await.expect_err("invalid");
    let text = error.to_string();
    assert!(text.starts_with("semantic layer broken.yaml has 2 problem(s)"), "{text}");
    let found = problems(error);
    assert!(
        found.iter().any(|p| p.starts_with("metrics[revenue].expression: does not plan over invoices")
            && p.contains("amount_dollars")),
        "{found:?}"
    );
    assert!(
        found
            .iter()
            .any(|p| p.starts_with("metrics[signups].time_column: users.role is Utf8, not a date or timestamp")),
        "{found:?}"
    );
    assert!(found.iter().all(|p| p.contains("(fix: ")), "{found:?}");
}

#[test]
fn structural_problems_are_caught_without_a_snapshot() {
    let broken = DEMO_LAYER_YAML
        .replace("column: accounts.industry", "column: accounts.sector")
        .replace(
            "{ from: users.account_id, to: accounts.account_id }",
            "{ from: users.account, to: accounts.account_id }",
        )
        .replace(
            "    table: users\n    expression: COUNT(*)",
            "    table: users\n    expression: COUNT(DISTINCT email)",
        );
    let found = problems(SemanticLayer::from_yaml_str(&broken, "broken.yaml").expect_err("invalid"));
    assert!(found.iter().any(|p| p.starts_with("joins[0]: 'users.account' is not a known table.column")), "{found:?}");
    assert!(
        found.iter().any(|p| p.starts_with("metrics[signups].expression: uses personal column users.email")),
        "{found:?}"
    );
    assert!(
        found
            .iter()
            .any(|p| p.starts_with("dimensions[industry].column: 'accounts.sector' is not a known table.column")),
        "{found:?}"
    );
    let unknown_key = DEMO_LAYER_YAML.replacen("name: demo", "name: demo\nowner: someone", 1);
    let error = SemanticLayer::from_yaml_str(&unknown_key, "typo.yaml").expect_err("unknown field");
    assert!(error.to_string().contains("unknown field `owner`"), "{error}");
}

#[tokio::test]
async fn a_starter_layer_validates_against_its_snapshot() {
    let snapshot = demo();
    let layer = starter_layer(&snapshot, "starter", true).expect("starter");
    layer.validate_against(&snapshot, "starter").await.expect("valid");
    assert!(layer.is_personal("users", "email"));
    assert!(layer.is_personal("users", "full_name"));
    assert_eq!(layer.metrics.len(), 7, "one row count per table");
    assert!(layer.joins.iter().any(|j| j.from == "events.user_id" && j.to == "users.user_id"), "{:?}", layer.joins);
    // The YAML it writes loads back to the same layer.
    let reloaded = SemanticLayer::from_yaml_str(&layer.to_yaml(), "starter.yaml").expect("round-trips");
    assert_eq!(reloaded, layer);
}
