//! Embedders turn text into a dense vector and, optionally, a sparse lexical vector.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::Result;

pub mod hashing;
pub mod openai;

/// A sparse vector: sorted unique indices with their weights.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SparseVector {
    /// Dimension indices, strictly increasing.
    pub indices: Vec<u32>,
    /// Weights, one per index.
    pub values: Vec<f32>,
}

/// The vectors of one text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Embedding {
    /// Dense vector of [`Embedder::dimension`] values.
    pub dense: Vec<f32>,
    /// Sparse lexical vector, for embedders that produce one.
    pub sparse: Option<SparseVector>,
}

/// Turns documents and queries into vectors.
#[async_trait]
pub trait Embedder: Send + Sync {
    /// Identifies the model and its dimension; part of the index's content hash, so that a
    /// different embedder rebuilds the index.
    fn id(&self) -> String;
    /// Length of the dense vectors.
    fn dimension(&self) -> usize;
    /// Embeds documents (passages), one embedding per text, in order.
    async fn embed_documents(&self, texts: &[String]) -> Result<Vec<Embedding>>;
    /// Embeds a search query.
    async fn embed_query(&self, text: &str) -> Result<Embedding>;
}
