use quarry_snapshot::{Snapshot, SnapshotSource, SnapshotStore};

use crate::{DemoConfig, Error, Result, write_demo};

/// The demo snapshot for `config` in `store`, generated and installed if it is not there yet.
/// Safe to call from several processes at once: installation is atomic and idempotent.
pub fn ensure_installed(store: &SnapshotStore, config: &DemoConfig) -> Result<Snapshot> {
    let wanted = SnapshotSource::Demo { seed: config.seed, scale: config.scale };
    if let Some(existing) = store.list()?.into_iter().find(|s| s.manifest.source == wanted) {
        return Ok(existing);
    }
    let mut failure = None;
    let installed = store.install(|dir| {
        write_demo(dir, config).map_err(|e| {
            let reason = e.to_string();
            failure = Some(e);
            quarry_snapshot::Error::InvalidSnapshot { path: dir.to_path_buf(), reason }
        })
    });
    match (installed, failure) {
        (Ok(snapshot), _) => Ok(snapshot),
        (Err(_), Some(error)) => Err(error),
        (Err(error), None) => Err(Error::Snapshot(error)),
    }
}
