//! The embedded store, the default: a qdrant-edge shard (Qdrant's in-process engine) on local
//! disk.
//!
//! # Layout of the store's directory
//! - `current.json`: which shard is live, with its dense dimension and content hash. It is
//!   replaced by an atomic rename, so readers see either the old index or the new one, never a
//!   half-built one, and a hash is recorded only once every point is stored;
//! - `shard-<unique>/`: one qdrant-edge shard per build; [`EdgeStore::replace_all`] builds a new
//!   one beside the live one, switches `current.json` to it, then removes the old one;
//! - `build.lock`: held (an OS file lock) while a build runs, so that two builds of the same
//!   index never remove each other's directories.
//!
//! Shards are written without a write-ahead log: a shard is built once, flushed, and only read
//! afterwards, and without a log (which qdrant-edge locks exclusively) several processes, e.g.
//! the server and `quarry search`, can open the same index. Every search re-reads
//! `current.json` (a few microseconds) and reopens the shard when another process rebuilt the
//! index, so an open store never silently serves a stale index.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use qdrant_edge::{
    Condition, CreateIndex, Distance, EdgeConfigBuilder, EdgeShard, EdgeSparseVectorParamsBuilder,
    EdgeVectorParamsBuilder, FieldCondition, FieldIndexOperations, Filter, JsonPath, Match, Modifier, NamedQuery,
    Payload, PayloadFieldSchema, PayloadSchemaType, PointId, PointInsertOperations, PointOperations,
    PointStructPersisted, QueryBatchRequest, QueryEnum, QueryRequestBuilder, ScoredPoint, ScoringQuery,
    UpdateOperation, VectorInternal, VectorPersisted, VectorStructPersisted, WithPayloadInterface,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::memory::check_sparse;
use super::{Hit, SearchRequest, VectorStore, prefetch_limit, rrf_score};
use crate::{Document, Embedding, Error, Kind, Result, SparseVector};

/// Name of the dense vector in both Qdrant stores.
pub(crate) const DENSE: &str = "dense";
/// Name of the sparse vector in both Qdrant stores.
pub(crate) const SPARSE: &str = "sparse";
/// Payload key of the document's readable id.
pub(crate) const ID_KEY: &str = "id";
/// Payload key of the document's kind (keyword-indexed, the kind filter).
pub(crate) const KIND_KEY: &str = "kind";
/// Payload key of the document's own payload, nested so that its keys never collide with ours.
pub(crate) const PAYLOAD_KEY: &str = "payload";
/// Points per upsert operation while building.
const UPSERT_BATCH: usize = 256;

const MANIFEST_FILE: &str = "current.json";
const LOCK_FILE: &str = "build.lock";
const SHARD_PREFIX: &str = "shard-";

/// The Qdrant point id of a document: Qdrant accepts only integers and UUIDs, so the readable
/// id is hashed (stable across builds and processes) and kept in the payload.
pub(crate) fn point_id(document_id: &str) -> u64 {
    let hash = blake3::hash(document_id.as_bytes());
    let mut bytes = [0; 8];
    bytes.copy_from_slice(&hash.as_bytes()[..8]);
    u64::from_le_bytes(bytes)
}

/// Checks points before anything is written, so that a bad build never replaces a good index.
pub(crate) fn check_points(dimension: usize, points: &[(Document, Embedding)]) -> Result<()> {
    if dimension == 0 {
        return Err(Error::config("the dense dimension must be at least 1"));
    }
    let mut ids = HashSet::new();
    let mut point_ids = HashMap::new();
    for (document, embedding) in points {
        if embedding.dense.len() != dimension {
            return Err(Error::store(format!(
                "document {} has a dense vector of {} values, the collection expects {dimension}",
                document.id,
                embedding.dense.len()
            )));
        }
        if let Some(sparse) = &embedding.sparse {
            check_sparse(sparse, &document.id)?;
        }
        if !ids.insert(document.id.as_str()) {
            return Err(Error::store(format!("document id {} appears twice", document.id)));
        }
        if let Some(other) = point_ids.insert(point_id(&document.id), document.id.as_str()) {
            return Err(Error::store(format!(
                "document ids {other} and {} hash to the same point id; rename one of them",
                document.id
            )));
        }
    }
    Ok(())
}

/// The payload stored with a point: the readable id, the kind and the document's own payload.
pub(crate) fn point_payload(document: &Document) -> Map<String, Value> {
    let mut payload = Map::new();
    payload.insert(ID_KEY.into(), Value::String(document.id.clone()));
    payload.insert(KIND_KEY.into(), Value::String(document.kind.as_str().into()));
    payload.insert(PAYLOAD_KEY.into(), Value::Object(document.payload.clone()));
    payload
}

/// One entry of a dense or sparse result list, read back from a point's payload.
#[derive(Debug, Clone)]
pub(crate) struct Candidate {
    pub(crate) id: String,
    pub(crate) kind: Kind,
    pub(crate) score: f32,
    pub(crate) payload: Map<String, Value>,
}

impl Candidate {
    /// Reads a candidate from a stored payload written by [`point_payload`].
    pub(crate) fn from_payload(score: f32, mut payload: Map<String, Value>) -> Result<Self> {
        let foreign = || {
            Error::store(
                "the index holds a point without quarry's id, kind and payload fields (written by another \
                 program or an older version); rebuild the index (quarry index --rebuild)",
            )
        };
        let Some(Value::String(id)) = payload.remove(ID_KEY) else { return Err(foreign()) };
        let Some(Value::String(kind)) = payload.remove(KIND_KEY) else { return Err(foreign()) };
        let kind: Kind = kind.parse().map_err(|_| foreign())?;
        let payload = match payload.remove(PAYLOAD_KEY) {
            Some(Value::Object(map)) => map,
            _ => return Err(foreign()),
        };
        Ok(Self { id, kind, score, payload })
    }
}

/// How many candidates to ask Qdrant for when a list keeps `per_list`: more than that, so that
/// documents tied at the cut are ranked by id like [`crate::MemoryStore`] does, not in Qdrant's
/// internal order.
pub(crate) fn first_fetch(per_list: usize) -> usize {
    per_list.saturating_add(per_list / 2)
}

/// Whether a list fetched with limit `fetched` may have cut a group of equal scores that
/// reaches the `per_list` cut, so that the rest of the group must be fetched before ranking by id.
/// `list` is ordered by score, best first, as Qdrant returns it.
pub(crate) fn cut_may_split_tie(list: &[Candidate], per_list: usize, fetched: usize) -> bool {
    per_list > 0
        && list.len() >= fetched
        && list.len() > per_list
        && list[per_list - 1].score == list[list.len() - 1].score
}

/// Fuses ranked lists as every store does (see [`super`]): each list is ordered best first with
/// ties by id and cut to `per_list`, a document scores [`rrf_score`] of its position in each
/// list, and the fused list is ordered the same way and cut to `limit`.
pub(crate) fn fuse(lists: Vec<Vec<Candidate>>, per_list: usize, limit: usize) -> Vec<Hit> {
    let mut fused: HashMap<String, (f32, Candidate)> = HashMap::new();
    for mut list in lists {
        list.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.id.cmp(&b.id)));
        list.truncate(per_list);
        for (position, candidate) in list.into_iter().enumerate() {
            fused.entry(candidate.id.clone()).or_insert_with(|| (0.0, candidate)).0 += rrf_score(position);
        }
    }
    let mut ranked: Vec<(f32, Candidate)> = fused.into_values().collect();
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.id.cmp(&b.1.id)));
    ranked.truncate(limit);
    ranked
        .into_iter()
        .map(|(score, candidate)| Hit { id: candidate.id, kind: candidate.kind, score, payload: candidate.payload })
        .collect()
}

/// Message for a search before any build.
pub(crate) const NOT_BUILT: &str = "the index has not been built yet; build it first (quarry index)";

/// Checks a search request against the collection's dimension.
pub(crate) fn check_request(request: &SearchRequest, dimension: usize) -> Result<()> {
    if request.dense.len() != dimension {
        return Err(Error::store(format!(
            "the query vector has {} values but the index was built with dimension {dimension}; rebuild the \
             index with the same embedder",
            request.dense.len()
        )));
    }
    if let Some(sparse) = &request.sparse {
        check_sparse(sparse, "query")?;
    }
    Ok(())
}

/// What `current.json` records about the live shard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Manifest {
    /// Directory name of the live shard, inside the store's directory.
    shard: String,
    /// Length of the dense vectors.
    dimension: usize,
    /// Content hash given to the build.
    hash: String,
    /// Number of documents.
    points: usize,
}

/// A qdrant-edge shard on disk, rebuilt as a whole by [`VectorStore::replace_all`].
///
/// Cheap to share (`Arc` inside); blocking engine calls run on tokio's blocking pool.
#[derive(Debug, Clone)]
pub struct EdgeStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    root: PathBuf,
    /// The shard opened last, reused while `current.json` still names it.
    open: Mutex<Option<Arc<OpenShard>>>,
}

/// How many [`OpenShard`]s of this process have each shard directory open (several stores may
/// share a directory): a build must not remove a directory a search may still be reading.
static OPEN_DIRS: LazyLock<Mutex<HashMap<PathBuf, usize>>> = LazyLock::new(Mutex::default);

#[derive(Debug)]
struct OpenShard {
    manifest: Manifest,
    /// Always `Some` until dropped: taken in `drop` to close the shard before its directory goes.
    shard: Option<EdgeShard>,
    dir: PathBuf,
    /// Set once another shard replaced this one: the directory is removed when the last search
    /// using it finishes.
    retired: AtomicBool,
}

impl OpenShard {
    fn new(manifest: Manifest, shard: EdgeShard, dir: PathBuf) -> Self {
        *lock(&OPEN_DIRS).entry(dir.clone()).or_insert(0) += 1;
        Self { manifest, shard: Some(shard), dir, retired: AtomicBool::new(false) }
    }

    fn shard(&self) -> &EdgeShard {
        self.shard.as_ref().expect("the shard is only taken when dropped")
    }
}

impl Drop for OpenShard {
    fn drop(&mut self) {
        drop(self.shard.take());
        let still_open = {
            let mut open = lock(&OPEN_DIRS);
            let count = open.get_mut(&self.dir).map_or(0, |count| {
                *count -= 1;
                *count
            });
            if count == 0 {
                open.remove(&self.dir);
            }
            count > 0
        };
        if self.retired.load(Ordering::Acquire)
            && !still_open
            && let Err(err) = fs::remove_dir_all(&self.dir)
        {
            tracing::warn!("cannot remove the replaced index shard {}: {err}", self.dir.display());
        }
    }
}

/// Locks a mutex whose data stays consistent even if a holder panicked (every writer replaces
/// whole values).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn io_error(what: &str, path: &Path, err: impl std::fmt::Display) -> Error {
    Error::store(format!("cannot {what} {}: {err}", path.display()))
}

fn edge_error(what: &str, err: impl std::fmt::Display) -> Error {
    Error::store(format!("qdrant-edge could not {what}: {err}"))
}

impl EdgeStore {
    /// Opens (creating it if needed) the store kept in `root`, e.g.
    /// `$QUARRY_HOME/index/<collection>`. Nothing is loaded until the first call.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self> {
        let root = root.into();
        fs::create_dir_all(&root).map_err(|err| io_error("create the index directory", &root, err))?;
        // One spelling per directory, so that stores opened through different paths agree on
        // which shard directories are open.
        let root = fs::canonicalize(&root).map_err(|err| io_error("resolve the index directory", &root, err))?;
        let inner = Inner { root, open: Mutex::new(None) };
        Ok(Self { inner: Arc::new(inner) })
    }

    /// The store's directory.
    pub fn root(&self) -> &Path {
        &self.inner.root
    }

    async fn blocking<T, F>(&self, what: &'static str, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Inner) -> Result<T> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || work(&inner))
            .await
            .map_err(|err| Error::store(format!("the embedded index failed to {what}: {err}")))?
    }
}

impl Inner {
    fn manifest_path(&self) -> PathBuf {
        self.root.join(MANIFEST_FILE)
    }

    fn read_manifest(&self) -> Result<Option<Manifest>> {
        let path = self.manifest_path();
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(io_error("read", &path, err)),
        };
        serde_json::from_str(&text).map(Some).map_err(|err| {
            Error::store(format!(
                "{} is damaged ({err}); delete the directory {} and build the index again",
                path.display(),
                self.root.display()
            ))
        })
    }

    /// Atomically makes `manifest` the live one: write a temporary file, sync, rename.
    fn write_manifest(&self, manifest: &Manifest) -> Result<()> {
        let path = self.manifest_path();
        let temporary = self.root.join(format!("{MANIFEST_FILE}.tmp"));
        let text = serde_json::to_vec_pretty(manifest).map_err(Error::store)?;
        let mut file = fs::File::create(&temporary).map_err(|err| io_error("create", &temporary, err))?;
        file.write_all(&text).and_then(|()| file.sync_all()).map_err(|err| io_error("write", &temporary, err))?;
        fs::rename(&temporary, &path).map_err(|err| io_error("replace", &path, err))?;
        // The rename is durable only once the directory entry is.
        fs::File::open(&self.root)
            .and_then(|dir| dir.sync_all())
            .map_err(|err| io_error("sync the index directory", &self.root, err))
    }

    /// The live shard, opened (or reopened after another process rebuilt the index) if needed;
    /// `None` before the first build.
    fn current(&self) -> Result<Option<Arc<OpenShard>>> {
        let mut open = lock(&self.open);
        let mut retried = false;
        loop {
            let Some(manifest) = self.read_manifest()? else { return Ok(None) };
            if let Some(shard) = open.as_ref().filter(|shard| shard.manifest == manifest) {
                return Ok(Some(Arc::clone(shard)));
            }
            let dir = self.root.join(&manifest.shard);
            match EdgeShard::load(&dir, None) {
                Ok(shard) => {
                    let shard = Arc::new(OpenShard::new(manifest, shard, dir));
                    *open = Some(Arc::clone(&shard));
                    return Ok(Some(shard));
                }
                // Another process may have replaced the shard between reading the manifest and
                // loading: read it once more.
                Err(_) if !retried && self.read_manifest()?.as_ref() != Some(&manifest) => retried = true,
                Err(err) => {
                    return Err(Error::store(format!(
                        "cannot open the index shard {}: {err}; rebuild the index (quarry index --rebuild)",
                        dir.display()
                    )));
                }
            }
        }
    }

    fn stored_hash(&self) -> Result<Option<String>> {
        match self.current() {
            Ok(shard) => Ok(shard.map(|shard| shard.manifest.hash.clone())),
            // An index that cannot be opened is as good as none: reporting no hash makes the
            // caller rebuild it instead of failing every search.
            Err(err) => {
                tracing::warn!("the embedded index will be rebuilt: {err}");
                Ok(None)
            }
        }
    }

    fn replace_all(&self, dimension: usize, points: Vec<(Document, Embedding)>, hash: &str) -> Result<()> {
        check_points(dimension, &points)?;
        let lock_path = self.root.join(LOCK_FILE);
        let lock_file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|err| io_error("open", &lock_path, err))?;
        lock_file.lock().map_err(|err| io_error("lock", &lock_path, err))?;

        let name = unique_shard_name();
        let dir = self.root.join(&name);
        let built = build_shard(&dir, dimension, points.len(), points);
        let shard = match built {
            Ok(shard) => shard,
            Err(err) => {
                let _ = fs::remove_dir_all(&dir);
                return Err(err);
            }
        };
        let count = shard_points(&shard)?;
        let manifest = Manifest { shard: name, dimension, hash: hash.to_string(), points: count };
        // Searches wait while the manifest and the open shard change together, so that none
        // opens a second copy of the new shard.
        let mut open = lock(&self.open);
        if let Err(err) = self.write_manifest(&manifest) {
            drop(shard);
            let _ = fs::remove_dir_all(&dir);
            return Err(err);
        }
        let previous = open.replace(Arc::new(OpenShard::new(manifest, shard, dir)));
        drop(open);
        if let Some(previous) = previous {
            previous.retired.store(true, Ordering::Release);
        }
        self.remove_unused_shards();
        Ok(())
        // `lock_file` is closed here, which releases the build lock.
    }

    /// Removes shard directories that are neither live nor open in this process: replaced ones
    /// and those of builds that crashed. Runs under the build lock, so no build is using them.
    fn remove_unused_shards(&self) {
        let Ok(Some(manifest)) = self.read_manifest() else { return };
        let Ok(entries) = fs::read_dir(&self.root) else { return };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with(SHARD_PREFIX)
                && name != manifest.shard
                && !lock(&OPEN_DIRS).contains_key(&entry.path())
                && let Err(err) = fs::remove_dir_all(entry.path())
            {
                tracing::warn!("cannot remove the unused index shard {}: {err}", entry.path().display());
            }
        }
    }

    fn search(&self, request: &SearchRequest) -> Result<Vec<Hit>> {
        let Some(open) = self.current()? else { return Err(Error::store(NOT_BUILT)) };
        check_request(request, open.manifest.dimension)?;
        if request.limit == 0 {
            return Ok(Vec::new());
        }
        let per_list = prefetch_limit(request.limit);
        let filter = kind_filter(&request.kinds);
        let mut vectors = vec![(VectorInternal::Dense(request.dense.clone()), DENSE)];
        if let Some(sparse) = request.sparse.as_ref().filter(|sparse| !sparse.indices.is_empty()) {
            vectors.push((VectorInternal::Sparse(edge_sparse(sparse)?), SPARSE));
        }
        let query = |(vector, using): &(VectorInternal, &str), limit: usize| {
            let mut builder = QueryRequestBuilder::new(limit)
                .query(ScoringQuery::Vector(QueryEnum::Nearest(NamedQuery::new(vector.clone(), *using))))
                .with_payload(WithPayloadInterface::Bool(true));
            if let Some(filter) = &filter {
                builder = builder.filter(filter.clone());
            }
            builder.build()
        };
        let run = |wanted: &[(usize, usize)]| -> Result<Vec<Vec<Candidate>>> {
            let queries = wanted.iter().map(|&(list, limit)| query(&vectors[list], limit)).collect();
            let results =
                open.shard().query_batch(QueryBatchRequest::new(queries)).map_err(|err| edge_error("search", err))?;
            results.into_iter().map(|points| points.into_iter().map(candidate).collect()).collect()
        };
        let mut limits = vec![first_fetch(per_list); vectors.len()];
        let mut lists = run(&limits.iter().copied().enumerate().collect::<Vec<_>>())?;
        loop {
            let wanted: Vec<(usize, usize)> = (0..lists.len())
                .filter(|&list| cut_may_split_tie(&lists[list], per_list, limits[list]))
                .map(|list| (list, limits[list].saturating_mul(2)))
                .collect();
            if wanted.is_empty() {
                break;
            }
            for ((list, limit), fetched) in wanted.iter().zip(run(&wanted)?) {
                limits[*list] = *limit;
                lists[*list] = fetched;
            }
        }
        Ok(fuse(lists, per_list, request.limit))
    }
}

fn unique_shard_name() -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_nanos());
    format!("{SHARD_PREFIX}{nanos}-{}", std::process::id())
}

fn edge_sparse(sparse: &SparseVector) -> Result<qdrant_edge::SparseVector> {
    qdrant_edge::SparseVector::new(sparse.indices.clone(), sparse.values.clone())
        .map_err(|err| Error::store(format!("invalid sparse vector: {err}")))
}

fn kind_filter(kinds: &[Kind]) -> Option<Filter> {
    if kinds.is_empty() {
        return None;
    }
    let kinds: Vec<String> = kinds.iter().map(|kind| kind.as_str().to_string()).collect();
    Some(Filter::new_must(Condition::Field(FieldCondition::new_match(kind_path(), Match::from(kinds)))))
}

fn kind_path() -> JsonPath {
    KIND_KEY.parse().expect("a plain identifier is a valid JSON path")
}

fn candidate(point: ScoredPoint) -> Result<Candidate> {
    let payload = point.payload.map(|payload| payload.0).unwrap_or_default();
    Candidate::from_payload(point.score, payload)
}

fn shard_points(shard: &EdgeShard) -> Result<usize> {
    shard.info().map(|info| info.points_count).map_err(|err| edge_error("count the points of the new shard", err))
}

/// Builds and flushes a complete shard in `dir`.
fn build_shard(dir: &Path, dimension: usize, expected: usize, points: Vec<(Document, Embedding)>) -> Result<EdgeShard> {
    let config = EdgeConfigBuilder::new()
        .vector(DENSE, EdgeVectorParamsBuilder::new(dimension, Distance::Cosine).build())
        .sparse_vector(SPARSE, EdgeSparseVectorParamsBuilder::new().modifier(Modifier::Idf).build())
        .wal_enabled(false)
        .build();
    let shard = EdgeShard::new(dir, config).map_err(|err| edge_error("create a shard", err))?;
    shard
        .update(UpdateOperation::FieldIndexOperation(FieldIndexOperations::CreateIndex(CreateIndex {
            field_name: kind_path(),
            field_schema: Some(PayloadFieldSchema::FieldType(PayloadSchemaType::Keyword)),
        })))
        .map_err(|err| edge_error("index the kind field", err))?;
    let mut points = points.into_iter().peekable();
    while points.peek().is_some() {
        let batch = points.by_ref().take(UPSERT_BATCH).map(|(document, embedding)| edge_point(&document, embedding));
        let batch = batch.collect::<Result<Vec<_>>>()?;
        shard
            .update(UpdateOperation::PointOperation(PointOperations::UpsertPoints(PointInsertOperations::PointsList(
                batch,
            ))))
            .map_err(|err| edge_error("store points", err))?;
    }
    shard.flush().map_err(|err| edge_error("write the shard to disk", err))?;
    let stored = shard_points(&shard)?;
    if stored != expected {
        return Err(Error::store(format!("the new shard holds {stored} points instead of {expected}")));
    }
    Ok(shard)
}

fn edge_point(document: &Document, embedding: Embedding) -> Result<PointStructPersisted> {
    let mut vectors = HashMap::from([(DENSE.to_string(), VectorPersisted::Dense(embedding.dense))]);
    if let Some(sparse) = embedding.sparse.filter(|sparse| !sparse.indices.is_empty()) {
        vectors.insert(SPARSE.to_string(), VectorPersisted::Sparse(edge_sparse(&sparse)?));
    }
    Ok(PointStructPersisted {
        id: PointId::NumId(point_id(&document.id)),
        vector: VectorStructPersisted::Named(vectors),
        payload: Some(Payload(point_payload(document))),
    })
}

#[async_trait]
impl VectorStore for EdgeStore {
    async fn stored_hash(&self) -> Result<Option<String>> {
        self.blocking("read the content hash", Inner::stored_hash).await
    }

    async fn replace_all(&self, dimension: usize, points: Vec<(Document, Embedding)>, hash: &str) -> Result<()> {
        let hash = hash.to_string();
        self.blocking("build", move |inner| inner.replace_all(dimension, points, &hash)).await
    }

    async fn search(&self, request: &SearchRequest) -> Result<Vec<Hit>> {
        let request = request.clone();
        self.blocking("search", move |inner| inner.search(&request)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(id: &str, score: f32) -> Candidate {
        Candidate { id: id.into(), kind: Kind::Metric, score, payload: Map::new() }
    }

    #[test]
    fn point_ids_are_stable_and_distinct() {
        assert_eq!(point_id("metric:revenue"), point_id("metric:revenue"));
        assert_ne!(point_id("metric:revenue"), point_id("metric:refunds"));
        // Pinned: a different hash would silently orphan every stored index.
        assert_eq!(
            point_id("metric:revenue"),
            u64::from_le_bytes(blake3::hash(b"metric:revenue").as_bytes()[..8].try_into().unwrap())
        );
    }

    #[test]
    fn fusion_sums_positions_and_breaks_ties_by_id() {
        let dense = vec![candidate("b", 0.9), candidate("a", 0.9), candidate("c", 0.1)];
        let sparse = vec![candidate("c", 3.0)];
        let hits = fuse(vec![dense, sparse], 10, 10);
        let ids: Vec<&str> = hits.iter().map(|h| h.id.as_str()).collect();
        // c: positions 2 and 0; a and b tie on 0.9, so a (by id) comes first.
        assert_eq!(ids, ["c", "a", "b"]);
        assert_eq!(hits[0].score, rrf_score(2) + rrf_score(0));
        assert_eq!(hits[1].score, rrf_score(0));
        assert_eq!(hits[2].score, rrf_score(1));
    }

    #[test]
    fn fusion_cuts_each_list_before_fusing_and_the_result_to_the_limit() {
        let dense = vec![candidate("a", 0.9), candidate("b", 0.8), candidate("c", 0.7)];
        let sparse = vec![candidate("c", 1.0)];
        let hits = fuse(vec![dense.clone(), sparse.clone()], 2, 10);
        assert_eq!(hits.iter().map(|h| h.id.as_str()).collect::<Vec<_>>(), ["a", "c", "b"]);
        let hits = fuse(vec![dense, sparse], 3, 1);
        assert_eq!(hits.iter().map(|h| h.id.as_str()).collect::<Vec<_>>(), ["c"]);
    }

    #[test]
    fn a_tie_reaching_the_cut_needs_the_rest_of_the_group() {
        let list =
            |scores: &[f32]| scores.iter().enumerate().map(|(n, &s)| candidate(&n.to_string(), s)).collect::<Vec<_>>();
        // Cut after 2 of 4 fetched: the last fetched score equals the one at the cut.
        assert!(cut_may_split_tie(&list(&[0.9, 0.5, 0.5, 0.5]), 2, 4));
        // The group ends inside what was fetched.
        assert!(!cut_may_split_tie(&list(&[0.9, 0.5, 0.5, 0.4]), 2, 4));
        // Fewer points than asked for: the list is complete.
        assert!(!cut_may_split_tie(&list(&[0.9, 0.5, 0.5]), 2, 4));
        assert!(!cut_may_split_tie(&list(&[]), 2, 4));
    }

    #[test]
    fn payloads_round_trip_and_foreign_points_are_refused() {
        let mut own = Map::new();
        own.insert("id".into(), Value::String("not the document id".into()));
        let document =
            Document { id: "value:country=DE".into(), kind: Kind::Value, text: "Germany".into(), payload: own };
        let read = Candidate::from_payload(1.0, point_payload(&document)).unwrap();
        assert_eq!((read.id.as_str(), read.kind, &read.payload), ("value:country=DE", Kind::Value, &document.payload));

        let mut foreign = Map::new();
        foreign.insert("text".into(), Value::String("hello".into()));
        let err = Candidate::from_payload(1.0, foreign).unwrap_err().to_string();
        assert!(err.contains("rebuild the index"), "{err}");
    }

    #[test]
    fn bad_points_are_refused_before_anything_is_written() {
        let document =
            |id: &str| Document { id: id.into(), kind: Kind::Metric, text: String::new(), payload: Map::new() };
        let embedding = |dense: Vec<f32>| Embedding { dense, sparse: None };
        assert!(matches!(check_points(0, &[]), Err(Error::Config { .. })));
        let twice = vec![(document("metric:a"), embedding(vec![1.0])), (document("metric:a"), embedding(vec![1.0]))];
        assert!(check_points(1, &twice).unwrap_err().to_string().contains("appears twice"));
        let unsorted =
            Embedding { dense: vec![1.0], sparse: Some(SparseVector { indices: vec![2, 1], values: vec![1.0, 1.0] }) };
        assert!(check_points(1, &[(document("metric:a"), unsorted)]).is_err());
    }
}
