//! Which embedder and which vector store an index uses, as one typed configuration.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use quarry_semantic::SemanticLayer;
use quarry_snapshot::Snapshot;
use serde::{Deserialize, Serialize};

use crate::store::edge::EdgeStore;
use crate::store::remote::{RemoteConfig, RemoteStore};
use crate::{
    BuildOptions, DocumentOptions, Embedder, Error, HashingEmbedder, Index, InputRole, LazyIndex, OpenAiConfig,
    OpenAiEmbedder, Progress, Result, VectorStore,
};

/// The embedder an index is built with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmbedderKind {
    /// [`HashingEmbedder`]: built in, deterministic, no weights, no network.
    Hashing,
    /// [`OpenAiEmbedder`]: an OpenAI-compatible `/v1/embeddings` server.
    Openai,
}

/// Where the index lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StoreKind {
    /// [`EdgeStore`]: embedded qdrant-edge under the data directory.
    Edge,
    /// [`RemoteStore`]: a Qdrant server.
    Qdrant,
}

/// How an OpenAI-compatible server tells queries from passages (see [`InputRole`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InputRoleKind {
    /// Texts sent as they are.
    Plain,
    /// `<query_label>: ` and `<passage_label>: ` prefixed to the texts.
    Prefix,
    /// An `input_type` field of `query_label` or `passage_label`.
    InputType,
}

/// Settings of the OpenAI-compatible embedder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OpenAiEmbedderSettings {
    /// The API root, e.g. `https://api.openai.com/v1` or `http://127.0.0.1:8080/v1`.
    pub base_url: String,
    /// The model name.
    pub model: String,
    /// Bearer token; empty means none.
    pub api_key: String,
    /// How queries and passages are told apart.
    pub input_role: InputRoleKind,
    /// Label (or prefix word) of queries.
    pub query_label: String,
    /// Label (or prefix word) of passages.
    pub passage_label: String,
    /// Texts per request.
    pub batch_size: usize,
    /// Time limit of one request, in milliseconds.
    pub timeout_ms: u64,
    /// Retries after timeouts, connection errors, 429 and 5xx.
    pub max_retries: usize,
    /// Keep connections open between requests.
    pub keep_alive: bool,
    /// Add the built-in BM25 sparse vector to the model's dense vector.
    pub lexical: bool,
}

impl Default for OpenAiEmbedderSettings {
    fn default() -> Self {
        Self {
            base_url: "http://127.0.0.1:8080/v1".into(),
            model: "text-embedding-3-small".into(),
            api_key: String::new(),
            input_role: InputRoleKind::Plain,
            query_label: "query".into(),
            passage_label: "passage".into(),
            batch_size: 64,
            timeout_ms: 30_000,
            max_retries: 3,
            keep_alive: true,
            lexical: true,
        }
    }
}

impl OpenAiEmbedderSettings {
    /// The client configuration these settings describe.
    pub fn client_config(&self) -> OpenAiConfig {
        let mut config = OpenAiConfig::new(&self.base_url, &self.model);
        config.api_key = (!self.api_key.is_empty()).then(|| self.api_key.clone());
        let (query, passage) = (self.query_label.clone(), self.passage_label.clone());
        config.input_role = match self.input_role {
            InputRoleKind::Plain => InputRole::Plain,
            InputRoleKind::Prefix => InputRole::Prefix { query: format!("{query}: "), passage: format!("{passage}: ") },
            InputRoleKind::InputType => InputRole::InputType { query, passage },
        };
        config.batch_size = self.batch_size;
        config.timeout = Duration::from_millis(self.timeout_ms);
        config.max_retries = self.max_retries;
        config.keep_alive = self.keep_alive;
        config.lexical = self.lexical;
        config
    }
}

/// Settings of the Qdrant server store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QdrantSettings {
    /// The server's gRPC URL.
    pub url: String,
    /// API key; empty means none.
    pub api_key: String,
    /// Collections are named `<prefix>-<snapshot id>-<embedder id>`.
    pub collection_prefix: String,
    /// Time limit of one request, in milliseconds.
    pub timeout_ms: u64,
}

impl Default for QdrantSettings {
    fn default() -> Self {
        Self {
            url: "http://localhost:6334".into(),
            api_key: String::new(),
            collection_prefix: "quarry".into(),
            timeout_ms: 10_000,
        }
    }
}

/// Everything retrieval needs to know: the embedder, the store, what is indexed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetrievalConfig {
    /// The embedder.
    pub embedder: EmbedderKind,
    /// The vector store.
    pub store: StoreKind,
    /// Dense dimension of the built-in embedder.
    pub hashing_dimension: usize,
    /// Text columns with at most this many distinct values have each value indexed.
    pub max_distinct_values: usize,
    /// Column documents list up to this many example values.
    pub example_values: usize,
    /// The OpenAI-compatible embedder, when `embedder = "openai"`.
    pub openai: OpenAiEmbedderSettings,
    /// The Qdrant server, when `store = "qdrant"`.
    pub qdrant: QdrantSettings,
}

impl Default for RetrievalConfig {
    fn default() -> Self {
        let documents = DocumentOptions::default();
        Self {
            embedder: EmbedderKind::Hashing,
            store: StoreKind::Edge,
            hashing_dimension: crate::DEFAULT_DIMENSION,
            max_distinct_values: documents.max_distinct_values,
            example_values: documents.example_values,
            openai: OpenAiEmbedderSettings::default(),
            qdrant: QdrantSettings::default(),
        }
    }
}

/// A collection name from its parts, with anything Qdrant does not allow replaced by `_`.
pub fn collection_name(prefix: &str, snapshot_id: &str, embedder_id: &str) -> String {
    let raw = format!("{prefix}-{snapshot_id}-{embedder_id}");
    let clean: String =
        raw.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') { c } else { '_' }).collect();
    let clean = clean.trim_start_matches('.').to_string();
    if clean.len() <= 200 {
        return clean;
    }
    // Long model names: keep the name readable and unique.
    let digest = blake3::hash(raw.as_bytes()).to_hex();
    format!("{}-{}", &clean[..180], &digest[..16])
}

impl RetrievalConfig {
    /// What [`crate::documents`] indexes.
    pub fn document_options(&self) -> DocumentOptions {
        DocumentOptions { max_distinct_values: self.max_distinct_values, example_values: self.example_values }
    }

    /// The configured embedder. The OpenAI-compatible one is contacted once to learn its
    /// dimension, so a server that is down fails here.
    pub async fn embedder(&self) -> Result<Arc<dyn Embedder>> {
        Ok(match self.embedder {
            EmbedderKind::Hashing => Arc::new(HashingEmbedder::new(self.hashing_dimension)?),
            EmbedderKind::Openai => Arc::new(OpenAiEmbedder::connect(self.openai.client_config()).await?),
        })
    }

    /// Where the embedded store of `collection` lives under `index_dir`.
    pub fn edge_dir(index_dir: &Path, collection: &str) -> PathBuf {
        index_dir.join(collection)
    }

    /// The configured store for `collection`; the embedded one lives in
    /// `index_dir/<collection>`.
    pub fn store(&self, index_dir: &Path, collection: &str) -> Result<Arc<dyn VectorStore>> {
        Ok(match self.store {
            StoreKind::Edge => Arc::new(EdgeStore::open(Self::edge_dir(index_dir, collection))?),
            StoreKind::Qdrant => {
                if self.qdrant.timeout_ms == 0 {
                    return Err(Error::config("retrieval.qdrant.timeout_ms must be above zero"));
                }
                let mut remote = RemoteConfig::new(&self.qdrant.url, collection);
                remote.api_key = (!self.qdrant.api_key.is_empty()).then(|| self.qdrant.api_key.clone());
                remote.timeout = Duration::from_millis(self.qdrant.timeout_ms);
                Arc::new(RemoteStore::new(remote)?)
            }
        })
    }

    /// Opens the index of `layer` over `snapshot`, building it if the store does not hold it
    /// yet or holds an older one (or always, with `force`).
    pub async fn open_index(
        &self,
        index_dir: &Path,
        layer: &SemanticLayer,
        snapshot: &Snapshot,
        force: bool,
        progress: Option<Progress>,
    ) -> Result<Index> {
        let embedder = self.embedder().await?;
        let collection = collection_name(&self.qdrant.collection_prefix, &snapshot.manifest.id, &embedder.id());
        let store = self.store(index_dir, &collection)?;
        let options = BuildOptions { force, documents: self.document_options(), progress };
        Index::build(layer, snapshot, embedder, store, &options).await.map(|index| index.with_collection(collection))
    }
}

impl RetrievalConfig {
    /// The index of `layer` over `snapshot` as a [`LazyIndex`]: opened (see
    /// [`RetrievalConfig::open_index`]) when a search first needs it, and again after a failure.
    pub fn lazy_index(&self, index_dir: &Path, layer: &SemanticLayer, snapshot: &Snapshot) -> LazyIndex {
        let (config, index_dir, layer, snapshot) =
            (self.clone(), index_dir.to_path_buf(), layer.clone(), snapshot.clone());
        LazyIndex::new(move || {
            let (config, index_dir, layer, snapshot) =
                (config.clone(), index_dir.clone(), layer.clone(), snapshot.clone());
            async move { config.open_index(&index_dir, &layer, &snapshot, false, None).await }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collection_names_are_valid_for_qdrant() {
        assert_eq!(collection_name("quarry", "snap-abc", "hashing-v1-512"), "quarry-snap-abc-hashing-v1-512");
        assert_eq!(
            collection_name("quarry", "snap-abc", "openai:e5/small-input_type[query|passage]"),
            "quarry-snap-abc-openai_e5_small-input_type_query_passage_"
        );
        let long = collection_name("quarry", "snap-abc", &"m".repeat(400));
        assert!(long.len() <= 200, "{}", long.len());
        assert_ne!(long, collection_name("quarry", "snap-abc", &"m".repeat(401)));
    }

    #[test]
    fn settings_become_the_client_configuration() {
        let settings = OpenAiEmbedderSettings {
            input_role: InputRoleKind::Prefix,
            api_key: "k".into(),
            timeout_ms: 1500,
            ..OpenAiEmbedderSettings::default()
        };
        let config = settings.client_config();
        assert_eq!(config.input_role, InputRole::Prefix { query: "query: ".into(), passage: "passage: ".into() });
        assert_eq!(config.api_key.as_deref(), Some("k"));
        assert_eq!(config.timeout, Duration::from_millis(1500));
        let plain = OpenAiEmbedderSettings::default().client_config();
        assert_eq!(plain.api_key, None);
        assert_eq!(plain.input_role, InputRole::Plain);
    }

    #[test]
    fn unknown_fields_are_refused() {
        let error = toml_like(r#"{"embedder": "hashing", "embeder": "openai"}"#).unwrap_err();
        assert!(error.contains("embeder"), "{error}");
        let error = toml_like(r#"{"store": "pinecone"}"#).unwrap_err();
        assert!(error.contains("pinecone"), "{error}");
    }

    fn toml_like(json: &str) -> std::result::Result<RetrievalConfig, String> {
        serde_json::from_str(json).map_err(|e| e.to_string())
    }
}
