use std::fs;
use std::path::{Path, PathBuf};

use crate::manifest::{MANIFEST_FILE, Manifest};
use crate::writer::{hash_file, is_plain_identifier};
use crate::{Error, Result};

/// An opened snapshot: its directory and manifest.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The snapshot directory.
    pub dir: PathBuf,
    /// Its manifest.
    pub manifest: Manifest,
}

impl Snapshot {
    /// Opens the snapshot in `dir`, reading and checking its manifest (not the file hashes;
    /// see [`Snapshot::verify`]).
    pub fn open(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref().to_path_buf();
        let path = dir.join(MANIFEST_FILE);
        let text = fs::read(&path).map_err(|e| Error::InvalidSnapshot {
            path: dir.clone(),
            reason: format!("cannot read {MANIFEST_FILE}: {e}"),
        })?;
        let manifest: Manifest = serde_json::from_slice(&text).map_err(|e| Error::InvalidSnapshot {
            path: dir.clone(),
            reason: format!("{MANIFEST_FILE} is malformed: {e}"),
        })?;
        for table in &manifest.tables {
            if !is_plain_identifier(&table.name)
                || table.file.contains('/')
                || table.file.contains('\\')
                || table.file.starts_with('.')
            {
                return Err(Error::InvalidSnapshot {
                    path: dir.clone(),
                    reason: format!("table entry '{}' has an unsafe name or file", table.name),
                });
            }
            if !dir.join(&table.file).is_file() {
                return Err(Error::InvalidSnapshot {
                    path: dir.clone(),
                    reason: format!("file {} is missing", table.file),
                });
            }
        }
        Ok(Self { dir, manifest })
    }

    /// Path of a table's Parquet file.
    pub fn table_path(&self, table: &str) -> Option<PathBuf> {
        self.manifest.table(table).map(|t| self.dir.join(&t.file))
    }

    /// Re-hashes every file and checks it against the manifest.
    pub fn verify(&self) -> Result<()> {
        for table in &self.manifest.tables {
            if hash_file(&self.dir.join(&table.file))? != table.blake3 {
                return Err(Error::Tampered { id: self.manifest.id.clone(), file: table.file.clone() });
            }
        }
        Ok(())
    }

    /// Path of the snapshot's own semantic layer, written by `quarry snapshot create`.
    pub fn semantic_layer_path(&self) -> PathBuf {
        self.dir.join("semantic.yaml")
    }
}

/// The installed snapshots, one directory per snapshot id under a root directory
/// (by default `$QUARRY_HOME/snapshots`).
#[derive(Debug, Clone)]
pub struct SnapshotStore {
    root: PathBuf,
}

impl SnapshotStore {
    /// A store rooted at `root` (created on first install).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Every installed snapshot, newest first. Directories that are not snapshots (such as
    /// an interrupted install) are skipped.
    pub fn list(&self) -> Result<Vec<Snapshot>> {
        let entries = match fs::read_dir(&self.root) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io("listing", &self.root)(e)),
        };
        let mut snapshots: Vec<Snapshot> = entries
            .filter_map(|entry| entry.ok())
            .filter(|entry| entry.file_name().to_string_lossy().starts_with("snap-"))
            .filter_map(|entry| Snapshot::open(entry.path()).ok())
            .collect();
        snapshots
            .sort_by(|a, b| b.manifest.created_at.cmp(&a.manifest.created_at).then(a.manifest.id.cmp(&b.manifest.id)));
        Ok(snapshots)
    }

    /// The snapshot whose id is `id`, or starts with `id` if that is unambiguous.
    pub fn get(&self, id: &str) -> Result<Snapshot> {
        let exact = self.root.join(id);
        if id.starts_with("snap-") && is_safe_component(id) && exact.join(MANIFEST_FILE).is_file() {
            return Snapshot::open(exact);
        }
        let matches: Vec<Snapshot> = self.list()?.into_iter().filter(|s| s.manifest.id.starts_with(id)).collect();
        match matches.len() {
            0 => Err(Error::NotFound { id: id.to_string() }),
            1 => Ok(matches.into_iter().next().expect("one match")),
            _ => Err(Error::Ambiguous {
                id: id.to_string(),
                matches: matches.iter().map(|s| s.manifest.id.as_str()).collect::<Vec<_>>().join(", "),
            }),
        }
    }

    /// Builds a snapshot with `build` in a scratch directory inside the store and installs it
    /// under its id. If a snapshot with the same id is already installed, the new copy is
    /// discarded and the installed one returned, so installing is idempotent.
    pub fn install(&self, build: impl FnOnce(&Path) -> Result<Manifest>) -> Result<Snapshot> {
        fs::create_dir_all(&self.root).map_err(Error::io("creating", &self.root))?;
        let scratch = self.root.join(format!(".incoming-{}-{}", std::process::id(), unique_suffix()));
        let result = build(&scratch).and_then(|manifest| {
            let target = self.root.join(&manifest.id);
            if target.join(MANIFEST_FILE).is_file() {
                remove_scratch(&scratch);
                return Snapshot::open(target);
            }
            fs::rename(&scratch, &target).map_err(Error::io("installing", &target))?;
            Snapshot::open(target)
        });
        if result.is_err() {
            remove_scratch(&scratch);
        }
        result
    }
}

impl SnapshotStore {
    /// [`SnapshotStore::install`] for a source read asynchronously (a database server):
    /// `build` writes the snapshot into the scratch directory it is given and returns the
    /// manifest with anything else the caller wants back (an import report). The scratch
    /// directory is removed when `build` fails and also when the future is dropped before it
    /// finishes (Ctrl-C), so an interrupted import never leaves files in the store.
    pub async fn install_async<T, F, Fut>(&self, build: F) -> Result<(Snapshot, T)>
    where
        F: FnOnce(PathBuf) -> Fut,
        Fut: std::future::Future<Output = Result<(Manifest, T)>>,
    {
        fs::create_dir_all(&self.root).map_err(Error::io("creating", &self.root))?;
        let scratch = ScratchDir(self.root.join(format!(".incoming-{}-{}", std::process::id(), unique_suffix())));
        let (manifest, extra) = build(scratch.0.clone()).await?;
        let target = self.root.join(&manifest.id);
        if !target.join(MANIFEST_FILE).is_file() {
            fs::rename(&scratch.0, &target).map_err(Error::io("installing", &target))?;
        }
        Ok((Snapshot::open(target)?, extra))
    }
}

/// A scratch directory removed on drop unless it was renamed away.
struct ScratchDir(PathBuf);

impl Drop for ScratchDir {
    fn drop(&mut self) {
        remove_scratch(&self.0);
    }
}

fn is_safe_component(id: &str) -> bool {
    id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

fn unique_suffix() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or_default()
}

fn remove_scratch(dir: &Path) {
    if dir.exists() {
        // Files were made read-only; that does not stop their removal on Unix, where
        // deletion depends on the directory's permissions.
        let _ = fs::remove_dir_all(dir);
    }
}
