//! Fixtures shared by the integration tests: the demo snapshot and its semantic layer.

use std::path::Path;

use quarry_demo::DemoConfig;
use quarry_semantic::SemanticLayer;
use quarry_snapshot::{Snapshot, SnapshotStore};

/// The demo snapshot, generated once into the shared target directory.
pub fn demo_snapshot() -> Snapshot {
    let store = SnapshotStore::new(Path::new(env!("CARGO_TARGET_TMPDIR")).join("demo-snapshots"));
    quarry_demo::ensure_installed(&store, &DemoConfig::default()).expect("the demo snapshot installs")
}

/// The demo warehouse's semantic layer.
pub fn demo_layer() -> SemanticLayer {
    SemanticLayer::demo()
}
