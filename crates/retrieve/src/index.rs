//! The index: documents embedded into a vector store, rebuilt whenever its inputs change.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use quarry_semantic::SemanticLayer;
use quarry_snapshot::Snapshot;

use crate::text::Vocabulary;
use crate::{Document, DocumentOptions, Embedder, Error, Hit, Kind, Result, SearchRequest, VectorStore, documents};

/// Version of the index layout; part of the content hash. v2: the built-in embedder's words
/// are those of the shared question normaliser (`quarry-question`), so indexes built by v1
/// are rebuilt rather than searched with words split another way.
const INDEX_FORMAT: &str = "quarry-retrieve index v2";

/// Reports embedding progress: `(documents embedded, documents in total)`.
pub type Progress = Arc<dyn Fn(usize, usize) + Send + Sync>;

/// How [`Index::build`] runs.
#[derive(Clone, Default)]
pub struct BuildOptions {
    /// Rebuild even when the stored content hash matches.
    pub force: bool,
    /// What to index.
    pub documents: DocumentOptions,
    /// Called after each batch of embedded documents.
    pub progress: Option<Progress>,
}

impl std::fmt::Debug for BuildOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BuildOptions")
            .field("force", &self.force)
            .field("documents", &self.documents)
            .field("progress", &self.progress.as_ref().map(|_| "callback"))
            .finish()
    }
}

/// What [`Index::build`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct BuildStats {
    /// The content hash of the index (see [`content_hash`]).
    pub hash: String,
    /// Whether the store was rebuilt; false when it already held this exact index.
    pub rebuilt: bool,
    /// Number of documents per kind.
    pub documents: BTreeMap<Kind, usize>,
    /// Time spent building documents (reading the snapshot's values).
    pub documents_elapsed: Duration,
    /// Time spent embedding (zero when not rebuilt).
    pub embed_elapsed: Duration,
    /// Total time of the build.
    pub elapsed: Duration,
}

impl BuildStats {
    /// Total number of documents.
    pub fn total(&self) -> usize {
        self.documents.values().sum()
    }
}

/// Number of documents embedded per call, so that progress can be reported.
const EMBED_CHUNK: usize = 64;

/// Retrieval over one snapshot and semantic layer.
pub struct Index {
    embedder: Arc<dyn Embedder>,
    store: Arc<dyn VectorStore>,
    stats: BuildStats,
    vocabulary: Vocabulary,
    collection: Option<String>,
}

impl std::fmt::Debug for Index {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Index").field("embedder", &self.embedder.id()).field("stats", &self.stats).finish()
    }
}

/// The content hash of an index: a BLAKE3 hash over the index format, the snapshot id, the
/// layer's YAML, the embedder's id and the documents. Any change to one of them gives a
/// different hash, and so a rebuild.
pub fn content_hash(snapshot_id: &str, layer: &SemanticLayer, embedder_id: &str, documents: &[Document]) -> String {
    let layer_hash = blake3::hash(layer.to_yaml().as_bytes());
    let documents_json = serde_json::to_vec(documents).expect("documents always serialize");
    let documents_hash = blake3::hash(&documents_json);
    let mut hasher = blake3::Hasher::new();
    for part in [INDEX_FORMAT, snapshot_id, &layer_hash.to_hex(), embedder_id, &documents_hash.to_hex()] {
        hasher.update(part.as_bytes());
        hasher.update(b"\n");
    }
    hasher.finalize().to_hex()[..32].to_string()
}

impl Index {
    /// Makes sure `store` holds the index of `layer` over `snapshot` embedded by `embedder`:
    /// builds the documents, compares their content hash with the one recorded in the store
    /// and, if it differs (or `options.force`), embeds everything and replaces the store's
    /// contents. An index is never used stale: any change to the snapshot, the layer, the
    /// embedder or the document builder changes the hash.
    pub async fn build(
        layer: &SemanticLayer,
        snapshot: &Snapshot,
        embedder: Arc<dyn Embedder>,
        store: Arc<dyn VectorStore>,
        options: &BuildOptions,
    ) -> Result<Index> {
        let started = Instant::now();
        let docs = documents(layer, snapshot, &options.documents)?;
        let documents_elapsed = started.elapsed();
        let mut counts = BTreeMap::new();
        for doc in &docs {
            *counts.entry(doc.kind).or_insert(0) += 1;
        }
        let hash = content_hash(&snapshot.manifest.id, layer, &embedder.id(), &docs);
        let current = store.stored_hash().await?;
        let rebuild = options.force || current.as_deref() != Some(hash.as_str());
        let mut embed_elapsed = Duration::ZERO;
        if rebuild {
            tracing::info!(documents = docs.len(), embedder = %embedder.id(), "building the retrieval index");
            let embedding_started = Instant::now();
            let mut points = Vec::with_capacity(docs.len());
            let total = docs.len();
            for chunk in docs.chunks(EMBED_CHUNK) {
                let texts: Vec<String> = chunk.iter().map(|d| d.text.clone()).collect();
                let embeddings = embedder.embed_documents(&texts).await?;
                if embeddings.len() != chunk.len() {
                    return Err(Error::embedder(format!(
                        "asked for {} embeddings, got {}",
                        chunk.len(),
                        embeddings.len()
                    )));
                }
                points.extend(chunk.iter().cloned().zip(embeddings));
                if let Some(progress) = &options.progress {
                    progress(points.len(), total);
                }
            }
            embed_elapsed = embedding_started.elapsed();
            store.replace_all(embedder.dimension(), points, &hash).await?;
        }
        let stats = BuildStats {
            hash,
            rebuilt: rebuild,
            documents: counts,
            documents_elapsed,
            embed_elapsed,
            elapsed: started.elapsed(),
        };
        let vocabulary = Vocabulary::new(docs.iter().map(|d| d.text.as_str()));
        Ok(Index { embedder, store, stats, vocabulary, collection: None })
    }

    /// What the build did.
    pub fn stats(&self) -> &BuildStats {
        &self.stats
    }

    /// Names the collection the index lives in, for reports.
    pub fn with_collection(mut self, collection: String) -> Self {
        self.collection = Some(collection);
        self
    }

    /// The collection the index lives in, when it was opened by name.
    pub fn collection(&self) -> Option<&str> {
        self.collection.as_deref()
    }

    /// The id of the embedder (see [`Embedder::id`]).
    pub fn embedder_id(&self) -> String {
        self.embedder.id()
    }

    /// The documents of `kinds` (all when empty) most related to `query`, best first.
    ///
    /// Query words that appear in no document and are one or two edits away from exactly one
    /// word that does ("revnue") have that word added to the query before it is embedded.
    pub async fn search(&self, query: &str, kinds: &[Kind], limit: usize) -> Result<Vec<Hit>> {
        if query.trim().is_empty() {
            return Err(Error::config("the search text is empty; pass the question or words to look up"));
        }
        let corrections = self.vocabulary.corrections(query);
        let query =
            if corrections.is_empty() { query.to_string() } else { format!("{query} {}", corrections.join(" ")) };
        let embedding = self.embedder.embed_query(&query).await?;
        let request = SearchRequest { dense: embedding.dense, sparse: embedding.sparse, kinds: kinds.to_vec(), limit };
        self.store.search(&request).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(id: &str, text: &str) -> Document {
        Document { id: id.into(), kind: Kind::Metric, text: text.into(), payload: Default::default() }
    }

    #[test]
    fn the_content_hash_changes_with_every_input() {
        let layer = SemanticLayer::demo();
        let docs = vec![doc("metric:revenue", "Revenue")];
        let base = content_hash("snap-1", &layer, "hashing-v1-512", &docs);
        assert_eq!(base, content_hash("snap-1", &layer, "hashing-v1-512", &docs), "deterministic");
        assert_ne!(base, content_hash("snap-2", &layer, "hashing-v1-512", &docs), "snapshot");
        assert_ne!(base, content_hash("snap-1", &layer, "hashing-v1-256", &docs), "embedder");
        assert_ne!(
            base,
            content_hash("snap-1", &layer, "hashing-v1-512", &[doc("metric:revenue", "Sales")]),
            "documents"
        );
        let mut other = layer.clone();
        other.description.push_str(" Changed.");
        assert_ne!(base, content_hash("snap-1", &other, "hashing-v1-512", &docs), "layer");
    }
}
