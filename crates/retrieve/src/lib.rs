//! Retrieval: find what a question is about before any SQL is written.
//!
//! The semantic layer and the snapshot become [`Document`]s ([`documents`]): one per metric,
//! dimension, table, column, segment, verified question, and per known value of every low- or
//! medium-cardinality text column (with the value's synonyms from the layer, so that 'Germany'
//! grounds to `country = 'DE'`). Personal-data columns are never indexed.
//!
//! An [`Embedder`] turns documents and questions into vectors: [`HashingEmbedder`], the
//! built-in default (deterministic, no weights, no network), or [`OpenAiEmbedder`] for any
//! OpenAI-compatible `/v1/embeddings` server. A [`VectorStore`] keeps them and runs a hybrid
//! dense + sparse search fused by reciprocal rank (see [`store`] for the exact scoring);
//! [`MemoryStore`] is the exact in-memory reference implementation.
//!
//! [`Index`] ties them together and rebuilds the store whenever the snapshot, the layer or the
//! embedder changes (a content hash is recorded with the collection).
//!
//! # Layout
//! - `document`: [`Kind`], [`Document`] and the document builder [`documents`];
//! - `embed`: the [`Embedder`] trait, [`HashingEmbedder`] and [`OpenAiEmbedder`];
//! - [`store`]: the [`VectorStore`] trait, its scoring rules and [`MemoryStore`];
//! - `index`: [`Index`], build and search;
//! - `lazy`: [`LazyIndex`], an index opened when its store can be reached, so that a store
//!   that is down costs retrieval and not the server;
//! - `config`: [`RetrievalConfig`], the typed settings that choose the embedder and the store;
//! - [`eval`]: recall@1, recall@5 and MRR per kind on a labeled question set;
//! - [`testing`]: the conformance suite every store passes.
//!
//! # Example
//! ```
//! use std::sync::Arc;
//! use quarry_retrieve::{Embedder, HashingEmbedder, Kind, MemoryStore, SearchRequest, VectorStore};
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let embedder = HashingEmbedder::default();
//! let docs = vec![
//!     quarry_retrieve::Document {
//!         id: "metric:revenue".into(),
//!         kind: Kind::Metric,
//!         text: "Revenue. Also called: sales, income.".into(),
//!         payload: Default::default(),
//!     },
//!     quarry_retrieve::Document {
//!         id: "metric:signups".into(),
//!         kind: Kind::Metric,
//!         text: "Signups. Also called: registrations, new users.".into(),
//!         payload: Default::default(),
//!     },
//! ];
//! let texts: Vec<String> = docs.iter().map(|d| d.text.clone()).collect();
//! let embeddings = embedder.embed_documents(&texts).await?;
//! let store = MemoryStore::new();
//! store.replace_all(embedder.dimension(), docs.into_iter().zip(embeddings).collect(), "example").await?;
//! let query = embedder.embed_query("total sales last month").await?;
//! let request = SearchRequest { dense: query.dense, sparse: query.sparse, kinds: vec![Kind::Metric], limit: 1 };
//! let hits = store.search(&request).await?;
//! assert_eq!(hits[0].id, "metric:revenue");
//! # Ok::<(), quarry_retrieve::Error>(())
//! # }).unwrap();
//! ```

mod config;
mod document;
mod embed;
mod error;
pub mod eval;
mod index;
mod lazy;
pub mod store;
#[doc(hidden)]
pub mod testing;
mod text;
mod values;

pub use config::{
    EmbedderKind, InputRoleKind, OpenAiEmbedderSettings, QdrantSettings, RetrievalConfig, StoreKind, collection_name,
};
pub use document::{Document, DocumentOptions, Kind, documents};
pub use embed::hashing::{DEFAULT_DIMENSION, HashingEmbedder};
pub use embed::openai::{InputRole, OpenAiConfig, OpenAiEmbedder};
pub use embed::{Embedder, Embedding, SparseVector};
pub use error::{Error, Result};
pub use index::{BuildOptions, BuildStats, Index, Progress, content_hash};
pub use lazy::{DEFAULT_RETRY_INTERVAL, IndexStatus, LazyIndex};
pub use store::memory::MemoryStore;
pub use store::{Hit, SearchRequest, VectorStore};
