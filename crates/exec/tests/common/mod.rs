//! What the executor's integration tests share: the demo snapshot and queries handed over as
//! the policy would hand them (these tests exercise the engine alone).

#![allow(dead_code)] // Each test binary uses part of this module.

use std::path::Path;

use quarry_snapshot::{Snapshot, SnapshotStore};
use quarry_sqlguard::ValidatedQuery;

/// The demo snapshot, installed once under the test target directory.
pub fn demo() -> Snapshot {
    let store = SnapshotStore::new(Path::new(env!("CARGO_TARGET_TMPDIR")).join("demo-snapshots"));
    quarry_demo::ensure_installed(&store, &quarry_demo::DemoConfig::default()).expect("demo snapshot")
}

/// `sql` as the policy would hand it over, without the policy's checks.
pub fn unchecked(sql: &str) -> ValidatedQuery {
    use datafusion::sql::sqlparser::dialect::GenericDialect;
    use datafusion::sql::sqlparser::parser::Parser;
    let statement = Parser::parse_sql(&GenericDialect {}, sql).expect("parses").remove(0);
    ValidatedQuery {
        sql: sql.to_string(),
        statement,
        tables: Default::default(),
        columns: Default::default(),
        limit: 1000,
        limit_added: false,
        limit_capped: false,
        notes: Vec::new(),
    }
}
