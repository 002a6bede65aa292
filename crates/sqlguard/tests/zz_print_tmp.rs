mod common;
#[test]
fn print_all() {
    let policy = common::demo_policy();
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/hostile_sql.jsonl")).unwrap();
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let sql = v["sql"].as_str().unwrap();
        match policy.check(sql) {
            Ok(q) => println!("{:<38} OK  {}  tables={:?} cols={}", v["id"].as_str().unwrap(), q.sql.chars().take(160).collect::<String>(), q.tables, q.columns.len()),
            Err(e) => println!("{:<38} {:<22} {}", v["id"].as_str().unwrap(), e.kind(), e.to_string().chars().take(260).collect::<String>()),
        }
    }
}
