//! The remote store: a Qdrant server reached over gRPC with `qdrant-client`, for deployments
//! that share one index across servers.
//!
//! One collection per snapshot and embedder, named by the caller. The schema and the search are
//! those of [`super::edge::EdgeStore`]: a cosine dense vector `dense`, a sparse vector `sparse`
//! with Qdrant's idf modifier, the readable id, kind (keyword-indexed) and document payload in
//! each point's payload; a search runs the dense and the sparse query as one batch and fuses
//! them here, with the same code as the embedded store, so both rank ties the same way.
//!
//! The content hash lives in the collection's metadata (Qdrant 1.16 or later) and is written
//! last, once every point is stored: a build that fails half-way leaves no hash, so the index
//! is rebuilt instead of being trusted. While a rebuild runs, searches of other servers see the
//! collection missing or partly filled: rebuild when the index is not in use.

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use qdrant_client::qdrant::{
    Condition, CountPointsBuilder, CreateCollectionBuilder, CreateFieldIndexCollectionBuilder, DeleteCollectionBuilder,
    Distance, FieldType, Filter, Modifier, NamedVectors, PointStruct, QueryBatchPointsBuilder, QueryPoints,
    QueryPointsBuilder, SparseVectorParamsBuilder, SparseVectorsConfigBuilder, UpdateCollectionBuilder,
    UpsertPointsBuilder, Vector, VectorInput, VectorParamsBuilder, VectorsConfigBuilder,
};
use qdrant_client::{Payload, Qdrant, QdrantError};
use serde_json::Value;
use tonic::Code;

use super::edge::{
    Candidate, DENSE, KIND_KEY, NOT_BUILT, SPARSE, check_points, cut_may_split_tie, first_fetch, fuse, point_id,
    point_payload,
};
use super::memory::check_sparse;
use super::{Hit, SearchRequest, VectorStore, prefetch_limit};
use crate::{Document, Embedding, Error, Kind, Result};

/// Key of the content hash in the collection's metadata.
const HASH_KEY: &str = "quarry_content_hash";
/// Points per upsert request while building.
const UPSERT_BATCH: usize = 256;

/// How to reach the Qdrant server and which collection to use.
#[derive(Clone)]
pub struct RemoteConfig {
    /// The server's gRPC URL, e.g. `http://localhost:6334` (`https://` for TLS).
    pub url: String,
    /// The collection, one per snapshot and embedder: letters, digits, `_`, `-` and `.`.
    pub collection: String,
    /// API key, for servers that require one.
    pub api_key: Option<String>,
    /// Time limit of each request; also the connect timeout.
    pub timeout: Duration,
}

impl RemoteConfig {
    /// A configuration without API key and with a 10 s timeout.
    pub fn new(url: impl Into<String>, collection: impl Into<String>) -> Self {
        Self { url: url.into(), collection: collection.into(), api_key: None, timeout: Duration::from_secs(10) }
    }
}

impl fmt::Debug for RemoteConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteConfig")
            .field("url", &self.url)
            .field("collection", &self.collection)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// A collection on a Qdrant server.
pub struct RemoteStore {
    client: Qdrant,
    url: String,
    collection: String,
}

impl fmt::Debug for RemoteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteStore").field("url", &self.url).field("collection", &self.collection).finish()
    }
}

fn check_collection_name(name: &str) -> Result<()> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
    if name.is_empty() || name.len() > 255 || !name.chars().all(allowed) || name.starts_with('.') {
        return Err(Error::config(format!(
            "'{name}' is not a usable Qdrant collection name; use 1 to 255 letters, digits, '_', '-' or '.', \
             not starting with '.'"
        )));
    }
    Ok(())
}

impl RemoteStore {
    /// A store for `config.collection` on the server at `config.url`. Does not connect: a
    /// server that is down is reported by the first call (or by [`RemoteStore::check`]).
    pub fn new(config: RemoteConfig) -> Result<Self> {
        check_collection_name(&config.collection)?;
        let scheme_ok = config.url.starts_with("http://") || config.url.starts_with("https://");
        if !scheme_ok {
            return Err(Error::config(format!(
                "the Qdrant URL '{}' must start with http:// or https://, e.g. http://localhost:6334 (the gRPC port)",
                config.url
            )));
        }
        if config.timeout.is_zero() {
            return Err(Error::config("the Qdrant timeout must be longer than zero"));
        }
        let client = Qdrant::from_url(&config.url)
            .api_key(config.api_key.clone())
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            // The version check would print to stdout and needs a round trip at construction.
            .skip_compatibility_check()
            .build()
            .map_err(|err| Error::config(format!("the Qdrant URL '{}' is not valid: {err}", config.url)))?;
        Ok(Self { client, url: config.url, collection: config.collection })
    }

    /// The collection's name.
    pub fn collection(&self) -> &str {
        &self.collection
    }

    /// Checks that the server answers.
    pub async fn check(&self) -> Result<()> {
        self.client.health_check().await.map(|_| ()).map_err(|err| self.error("answer a health check", err))
    }

    /// Turns a client error into the crate's error, naming the server.
    fn error(&self, doing: &str, err: QdrantError) -> Error {
        let what = || format!("Qdrant server at {}", self.url);
        let QdrantError::ResponseError { status } = &err else {
            return Error::store(format!("the Qdrant server at {} could not {doing}: {err}", self.url));
        };
        let message = status.message();
        match status.code() {
            Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled => Error::Unavailable {
                what: what(),
                message: format!(
                    "it did not answer ({message}); check that it is running and that the URL points to its gRPC \
                     port (6334 by default)"
                ),
            },
            // qdrant-client reports a refused or failed connection as an internal error.
            Code::Internal | Code::Unknown
                if message.starts_with("Failed to connect") || message.contains("transport") =>
            {
                Error::Unavailable {
                    what: what(),
                    message: format!(
                        "cannot connect ({message}); check that it is running and that the URL points to its gRPC \
                         port (6334 by default)"
                    ),
                }
            }
            Code::Unauthenticated | Code::PermissionDenied => Error::config(format!(
                "the Qdrant server at {} refused the request ({message}); set the right API key",
                self.url
            )),
            Code::NotFound => Error::store(format!(
                "the collection {} does not exist on {} ({message}); {NOT_BUILT}",
                self.collection, self.url
            )),
            _ => Error::store(format!("the Qdrant server at {} could not {doing}: {message}", self.url)),
        }
    }

    async fn exists(&self) -> Result<bool> {
        self.client.collection_exists(&self.collection).await.map_err(|err| self.error("list its collections", err))
    }

    async fn create(&self, dimension: usize) -> Result<()> {
        let mut dense = VectorsConfigBuilder::default();
        dense.add_named_vector_params(DENSE, VectorParamsBuilder::new(dimension as u64, Distance::Cosine));
        let mut sparse = SparseVectorsConfigBuilder::default();
        sparse.add_named_vector_params(SPARSE, SparseVectorParamsBuilder::default().modifier(Modifier::Idf));
        let request =
            CreateCollectionBuilder::new(&self.collection).vectors_config(dense).sparse_vectors_config(sparse);
        self.client.create_collection(request).await.map_err(|err| self.error("create the collection", err))?;
        let index = CreateFieldIndexCollectionBuilder::new(&self.collection, KIND_KEY, FieldType::Keyword).wait(true);
        self.client.create_field_index(index).await.map_err(|err| self.error("index the kind field", err))?;
        Ok(())
    }

    fn query(&self, vector: VectorInput, using: &str, limit: usize, kinds: &[Kind]) -> QueryPoints {
        let mut builder =
            QueryPointsBuilder::new(&self.collection).query(vector).using(using).limit(limit as u64).with_payload(true);
        if !kinds.is_empty() {
            let kinds: Vec<String> = kinds.iter().map(|kind| kind.as_str().to_string()).collect();
            builder = builder.filter(Filter::must([Condition::matches(KIND_KEY, kinds)]));
        }
        builder.into()
    }

    /// Runs the `(list, limit)` queries of `wanted` as one batch; one candidate list each.
    async fn run(
        &self,
        vectors: &[(VectorInput, &str)],
        wanted: &[(usize, usize)],
        kinds: &[Kind],
    ) -> Result<Vec<Vec<Candidate>>> {
        let queries: Vec<QueryPoints> = wanted
            .iter()
            .map(|&(list, limit)| self.query(vectors[list].0.clone(), vectors[list].1, limit, kinds))
            .collect();
        let response =
            self.client.query_batch(QueryBatchPointsBuilder::new(&self.collection, queries)).await.map_err(|err| {
                match self.error("search", err) {
                    // The server names the expected dimension; say what to do about it.
                    Error::Store { message } if message.contains("dimension") => {
                        Error::store(format!("{message}; rebuild the index with the same embedder"))
                    }
                    other => other,
                }
            })?;
        response
            .result
            .into_iter()
            .map(|batch| {
                batch
                    .result
                    .into_iter()
                    .map(|point| Candidate::from_payload(point.score, Payload::from(point.payload).into()))
                    .collect()
            })
            .collect()
    }
}

fn remote_point(document: &Document, embedding: Embedding) -> PointStruct {
    let mut vectors = NamedVectors::default().add_vector(DENSE, Vector::new_dense(embedding.dense));
    if let Some(sparse) = embedding.sparse.filter(|sparse| !sparse.indices.is_empty()) {
        vectors = vectors.add_vector(SPARSE, Vector::new_sparse(sparse.indices, sparse.values));
    }
    PointStruct::new(point_id(&document.id), vectors, Payload::from(point_payload(document)))
}

#[async_trait]
impl VectorStore for RemoteStore {
    async fn stored_hash(&self) -> Result<Option<String>> {
        if !self.exists().await? {
            return Ok(None);
        }
        let info = self
            .client
            .collection_info(&self.collection)
            .await
            .map_err(|err| self.error("describe the collection", err))?;
        let metadata = info.result.and_then(|info| info.config).map(|config| config.metadata).unwrap_or_default();
        Ok(metadata.get(HASH_KEY).cloned().map(Value::from).and_then(|value| value.as_str().map(str::to_string)))
    }

    async fn replace_all(&self, dimension: usize, points: Vec<(Document, Embedding)>, hash: &str) -> Result<()> {
        check_points(dimension, &points)?;
        let expected = points.len();
        if self.exists().await? {
            self.client
                .delete_collection(DeleteCollectionBuilder::new(&self.collection))
                .await
                .map_err(|err| self.error("delete the old collection", err))?;
        }
        self.create(dimension).await?;
        let mut points = points.into_iter().peekable();
        while points.peek().is_some() {
            let batch: Vec<PointStruct> = points
                .by_ref()
                .take(UPSERT_BATCH)
                .map(|(document, embedding)| remote_point(&document, embedding))
                .collect();
            let request = UpsertPointsBuilder::new(&self.collection, batch).wait(true);
            self.client.upsert_points(request).await.map_err(|err| self.error("store points", err))?;
        }
        let count = self
            .client
            .count(CountPointsBuilder::new(&self.collection).exact(true))
            .await
            .map_err(|err| self.error("count the stored points", err))?;
        let stored = count.result.map_or(0, |result| result.count);
        if stored != expected as u64 {
            return Err(Error::store(format!(
                "the collection {} on {} holds {stored} points instead of {expected}; build the index again",
                self.collection, self.url
            )));
        }
        let metadata = HashMap::from([(HASH_KEY.to_string(), Value::String(hash.to_string()))]);
        self.client
            .update_collection(UpdateCollectionBuilder::new(&self.collection).metadata(metadata))
            .await
            .map_err(|err| self.error("record the content hash", err))?;
        Ok(())
    }

    async fn search(&self, request: &SearchRequest) -> Result<Vec<Hit>> {
        if let Some(sparse) = &request.sparse {
            check_sparse(sparse, "query")?;
        }
        if request.limit == 0 {
            return Ok(Vec::new());
        }
        let per_list = prefetch_limit(request.limit);
        let mut vectors = vec![(VectorInput::new_dense(request.dense.clone()), DENSE)];
        if let Some(sparse) = request.sparse.as_ref().filter(|sparse| !sparse.indices.is_empty()) {
            vectors.push((VectorInput::new_sparse(sparse.indices.clone(), sparse.values.clone()), SPARSE));
        }
        let mut limits = vec![first_fetch(per_list); vectors.len()];
        let mut lists =
            self.run(&vectors, &limits.iter().copied().enumerate().collect::<Vec<_>>(), &request.kinds).await?;
        loop {
            let wanted: Vec<(usize, usize)> = (0..lists.len())
                .filter(|&list| cut_may_split_tie(&lists[list], per_list, limits[list]))
                .map(|list| (list, limits[list].saturating_mul(2)))
                .collect();
            if wanted.is_empty() {
                break;
            }
            for ((list, limit), fetched) in wanted.iter().zip(self.run(&vectors, &wanted, &request.kinds).await?) {
                limits[*list] = *limit;
                lists[*list] = fetched;
            }
        }
        Ok(fuse(lists, per_list, request.limit))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collection_names_are_checked() {
        for good in ["quarry", "quarry-demo_1.2", "a"] {
            assert!(check_collection_name(good).is_ok(), "{good}");
        }
        for bad in ["", ".hidden", "a/b", "spaces here", &"x".repeat(256)] {
            let err = check_collection_name(bad).unwrap_err();
            assert!(matches!(err, Error::Config { .. }), "{bad}: {err}");
        }
    }

    #[test]
    fn urls_must_be_http_and_keys_stay_out_of_debug_output() {
        let err = RemoteStore::new(RemoteConfig::new("localhost:6334", "quarry")).unwrap_err();
        assert!(err.to_string().contains("http://localhost:6334"), "{err}");
        let mut config = RemoteConfig::new("http://127.0.0.1:6334", "quarry");
        config.api_key = Some("secret-key".into());
        assert!(!format!("{config:?}").contains("secret-key"));
        let store = RemoteStore::new(config).expect("building does not connect");
        assert_eq!(store.collection(), "quarry");
    }
}
