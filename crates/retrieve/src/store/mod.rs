//! Vector stores: where documents and their embeddings live and are searched.
//!
//! Every store runs the same hybrid search, so that results do not depend on where the index
//! lives:
//! - **dense**: cosine similarity, the best [`prefetch_limit`] documents of the requested kinds;
//! - **sparse**: dot product of the query's sparse vector with each document's, every query
//!   term weighted by its inverse document frequency over the collection (Qdrant's
//!   `Modifier::Idf`: `ln(1 + (N - n + 0.5) / (n + 0.5))`), only documents sharing a term,
//!   the best [`prefetch_limit`] of the requested kinds; the embedders put BM25's saturated
//!   term frequency into document vectors and 1 into query vectors, so this is BM25;
//! - **fusion**: reciprocal rank fusion as Qdrant computes it, `Σ 1 / (RRF_K + position)` over
//!   both lists with `position` counted from 0, best first, at most `limit` hits.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::{Document, Embedding, Kind, Result, SparseVector};

pub mod edge;
pub mod memory;
pub mod remote;

/// Constant of reciprocal rank fusion.
pub const RRF_K: f32 = 60.0;

/// How many candidates each of the dense and sparse searches contributes to the fusion.
pub fn prefetch_limit(limit: usize) -> usize {
    limit.saturating_mul(4).max(100)
}

/// Reciprocal rank fusion score of a document at `position` (from 0) of one result list.
pub fn rrf_score(position: usize) -> f32 {
    1.0 / (RRF_K + position as f32)
}

/// A search result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hit {
    /// The document's id.
    pub id: String,
    /// The document's kind.
    pub kind: Kind,
    /// Fused score; higher is better.
    pub score: f32,
    /// The document's payload, exactly as it was stored (no store-internal keys).
    pub payload: serde_json::Map<String, serde_json::Value>,
}

impl Hit {
    /// What the hit grounds a question to, in one line: `users.country = 'DE'` for a value,
    /// the expression of a metric, the condition of a segment, the question of a verified pair.
    pub fn meaning(&self) -> String {
        let text = |key: &str| self.payload.get(key).and_then(|v| v.as_str()).unwrap_or_default();
        let column = || format!("{}.{}", text("table"), text("column"));
        match self.kind {
            Kind::Metric => {
                let mut meaning = format!("{} on {}", text("expression"), text("table"));
                if !text("filter").is_empty() {
                    meaning.push_str(&format!(" where {}", text("filter")));
                }
                meaning
            }
            Kind::Dimension => column(),
            Kind::Value => format!("{} = '{}'", column(), text("value").replace('\'', "''")),
            Kind::Column if text("data_type").is_empty() => column(),
            Kind::Column => format!("{} ({})", column(), text("data_type")),
            Kind::Table => text("table").to_string(),
            Kind::Segment => format!("{}: {}", text("table"), text("condition")),
            Kind::VerifiedQuestion => text("question").to_string(),
        }
    }
}

/// A hybrid search.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchRequest {
    /// The query's dense vector.
    pub dense: Vec<f32>,
    /// The query's sparse vector, if the embedder makes one.
    pub sparse: Option<SparseVector>,
    /// Kinds to return; empty means all.
    pub kinds: Vec<Kind>,
    /// Maximum number of hits.
    pub limit: usize,
}

/// Stores documents with their embeddings and runs hybrid searches (see the module docs for
/// the exact scoring every implementation follows).
#[async_trait]
pub trait VectorStore: Send + Sync {
    /// The content hash recorded with the collection, if it exists.
    async fn stored_hash(&self) -> Result<Option<String>>;
    /// Drops and recreates the collection for `dimension`, upserts all points, records `hash`.
    async fn replace_all(&self, dimension: usize, points: Vec<(Document, Embedding)>, hash: &str) -> Result<()>;
    /// Hybrid search: dense and sparse candidates fused with reciprocal rank fusion (k = 60),
    /// filtered by kind.
    async fn search(&self, request: &SearchRequest) -> Result<Vec<Hit>>;
}
