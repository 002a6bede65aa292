use quarry_semantic::SemanticLayer;
use quarry_settings::Settings;
use quarry_snapshot::{Snapshot, SnapshotSource, SnapshotStore};

use crate::error::{Error, Result};

/// The snapshot the settings point at. With `snapshot = "demo"`, the demo warehouse for the
/// configured seed and scale, generated into the data directory on first use.
pub fn resolve_snapshot(settings: &Settings) -> Result<Snapshot> {
    let store = SnapshotStore::new(settings.snapshots_dir()?);
    if settings.snapshot != "demo" {
        return Ok(store.get(&settings.snapshot)?);
    }
    tracing::info!(seed = settings.demo.seed, scale = settings.demo.scale, "using the demo warehouse");
    let config = quarry_demo::DemoConfig { seed: settings.demo.seed, scale: settings.demo.scale };
    quarry_demo::ensure_installed(&store, &config).map_err(|e| Error::Demo(e.to_string()))
}

/// The semantic layer for `snapshot`: the configured file, else the built-in demo layer for
/// a demo snapshot, else the snapshot's own `semantic.yaml`. Returns the layer and the name
/// of where it came from.
pub fn resolve_layer(settings: &Settings, snapshot: &Snapshot) -> Result<(SemanticLayer, String)> {
    if let Some(path) = settings.semantic_layer_path() {
        return Ok((SemanticLayer::from_yaml_file(&path)?, path.display().to_string()));
    }
    if matches!(snapshot.manifest.source, SnapshotSource::Demo { .. }) {
        return Ok((SemanticLayer::demo(), "schemas/demo.semantic.yaml (built in)".into()));
    }
    let path = snapshot.semantic_layer_path();
    if path.is_file() {
        return Ok((SemanticLayer::from_yaml_file(&path)?, path.display().to_string()));
    }
    Err(Error::Semantic(quarry_semantic::Error::Read {
        path: path.clone(),
        source: std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!(
                "snapshot {} has no semantic layer; write one with `quarry snapshot create` or set semantic_layer in quarry.toml",
                snapshot.manifest.id
            ),
        ),
    }))
}

/// Whether `snapshot` is a demo warehouse.
pub fn is_demo(snapshot: &Snapshot) -> bool {
    matches!(snapshot.manifest.source, SnapshotSource::Demo { .. })
}

/// The installed snapshots that are not a demo warehouse (the user's own), newest first.
pub fn own_snapshots(settings: &Settings) -> Result<Vec<Snapshot>> {
    let store = SnapshotStore::new(settings.snapshots_dir()?);
    Ok(store.list()?.into_iter().filter(|s| !is_demo(s)).collect())
}

/// What `snapshot` was made from, in a few words: `demo warehouse, seed 42 scale 1`, `sqlite shop.sqlite`,
/// `files exports`. Read from the manifest's JSON form, so that every kind of source has one.
pub fn describe_source(snapshot: &Snapshot) -> String {
    if let SnapshotSource::Demo { seed, scale } = &snapshot.manifest.source {
        return format!("demo warehouse, seed {seed} scale {scale}");
    }
    let source = serde_json::to_value(&snapshot.manifest.source).unwrap_or_default();
    let kind = source["kind"].as_str().unwrap_or("imported");
    match source["path"].as_str() {
        Some(path) => {
            let name = std::path::Path::new(path).file_name().and_then(|n| n.to_str()).unwrap_or(path);
            format!("{kind} {name}")
        }
        None => kind.to_string(),
    }
}
