//! An exact, brute-force store in memory: the reference the Qdrant stores are tested against.

use std::collections::HashMap;
use std::sync::RwLock;

use async_trait::async_trait;

use super::{Hit, SearchRequest, VectorStore, prefetch_limit, rrf_score};
use crate::{Document, Embedding, Error, Result, SparseVector};

/// Documents and embeddings held in memory, searched exhaustively.
#[derive(Debug, Default)]
pub struct MemoryStore {
    collection: RwLock<Option<Collection>>,
}

#[derive(Debug)]
struct Collection {
    dimension: usize,
    hash: String,
    points: Vec<(Document, Embedding)>,
    /// Number of documents holding each sparse index, for idf.
    document_frequency: HashMap<u32, usize>,
}

impl MemoryStore {
    /// An empty store with no collection.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of stored documents.
    pub fn len(&self) -> usize {
        self.read().as_ref().map_or(0, |c| c.points.len())
    }

    /// Whether the store holds no documents.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Option<Collection>> {
        // A panic while holding the lock cannot leave a half-written collection: writes swap
        // in a complete value, so a poisoned lock still guards consistent data.
        self.collection.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Checks that a sparse vector has sorted unique indices and one weight per index.
pub(crate) fn check_sparse(sparse: &SparseVector, what: &str) -> Result<()> {
    if sparse.indices.len() != sparse.values.len() {
        return Err(Error::store(format!(
            "{what}: sparse vector has {} indices but {} values",
            sparse.indices.len(),
            sparse.values.len()
        )));
    }
    if sparse.indices.windows(2).any(|w| w[0] >= w[1]) {
        return Err(Error::store(format!("{what}: sparse vector indices must be strictly increasing")));
    }
    Ok(())
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let norm_a = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let norm_b = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm_a == 0.0 || norm_b == 0.0 { 0.0 } else { dot / (norm_a * norm_b) }
}

/// Qdrant's idf: `ln(1 + (N - n + 0.5) / (n + 0.5))`.
fn idf(documents: usize, containing: usize) -> f32 {
    let (n_total, n) = (documents as f32, containing as f32);
    (1.0 + (n_total - n + 0.5) / (n + 0.5)).ln()
}

/// Best first; equal scores in id order so that results are reproducible.
fn rank(scored: &mut [(usize, f32)], points: &[(Document, Embedding)]) {
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| points[a.0].0.id.cmp(&points[b.0].0.id)));
}

#[async_trait]
impl VectorStore for MemoryStore {
    async fn stored_hash(&self) -> Result<Option<String>> {
        Ok(self.read().as_ref().map(|c| c.hash.clone()))
    }

    async fn replace_all(&self, dimension: usize, points: Vec<(Document, Embedding)>, hash: &str) -> Result<()> {
        if dimension == 0 {
            return Err(Error::config("the dense dimension must be at least 1"));
        }
        let mut document_frequency = HashMap::new();
        let mut ids = std::collections::HashSet::new();
        for (document, embedding) in &points {
            if embedding.dense.len() != dimension {
                return Err(Error::store(format!(
                    "document {} has a dense vector of {} values, the collection expects {dimension}",
                    document.id,
                    embedding.dense.len()
                )));
            }
            if !ids.insert(document.id.as_str()) {
                return Err(Error::store(format!("document id {} appears twice", document.id)));
            }
            if let Some(sparse) = &embedding.sparse {
                check_sparse(sparse, &document.id)?;
                for &index in &sparse.indices {
                    *document_frequency.entry(index).or_insert(0) += 1;
                }
            }
        }
        let collection = Collection { dimension, hash: hash.to_string(), points, document_frequency };
        *self.collection.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(collection);
        Ok(())
    }

    async fn search(&self, request: &SearchRequest) -> Result<Vec<Hit>> {
        let guard = self.read();
        let Some(collection) = guard.as_ref() else {
            return Err(Error::store("the index has not been built yet; build it first (quarry index)"));
        };
        if request.dense.len() != collection.dimension {
            return Err(Error::store(format!(
                "the query vector has {} values but the index was built with dimension {}; rebuild the index \
                 with the same embedder",
                request.dense.len(),
                collection.dimension
            )));
        }
        let points = &collection.points;
        let wanted: Vec<usize> = (0..points.len())
            .filter(|&i| request.kinds.is_empty() || request.kinds.contains(&points[i].0.kind))
            .collect();
        let candidates = prefetch_limit(request.limit);

        let mut dense: Vec<(usize, f32)> =
            wanted.iter().map(|&i| (i, cosine(&request.dense, &points[i].1.dense))).collect();
        rank(&mut dense, points);
        dense.truncate(candidates);

        let mut sparse = Vec::new();
        if let Some(query) = &request.sparse {
            check_sparse(query, "query")?;
            let weights: HashMap<u32, f32> = query
                .indices
                .iter()
                .zip(&query.values)
                .map(|(&index, &value)| {
                    let containing = collection.document_frequency.get(&index).copied().unwrap_or(0);
                    (index, value * idf(points.len(), containing))
                })
                .collect();
            for &i in &wanted {
                let Some(document) = &points[i].1.sparse else { continue };
                let mut overlap = false;
                let mut score = 0.0;
                for (index, value) in document.indices.iter().zip(&document.values) {
                    if let Some(weight) = weights.get(index) {
                        overlap = true;
                        score += weight * value;
                    }
                }
                if overlap {
                    sparse.push((i, score));
                }
            }
            rank(&mut sparse, points);
            sparse.truncate(candidates);
        }

        let mut fused: HashMap<usize, f32> = HashMap::new();
        for list in [&dense, &sparse] {
            for (position, &(i, _)) in list.iter().enumerate() {
                *fused.entry(i).or_insert(0.0) += rrf_score(position);
            }
        }
        let mut fused: Vec<(usize, f32)> = fused.into_iter().collect();
        rank(&mut fused, points);
        fused.truncate(request.limit);
        Ok(fused
            .into_iter()
            .map(|(i, score)| {
                let document = &points[i].0;
                Hit { id: document.id.clone(), kind: document.kind, score, payload: document.payload.clone() }
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn memory_store_passes_the_conformance_suite() {
        crate::testing::conformance(&MemoryStore::new()).await;
    }

    #[tokio::test]
    async fn search_before_any_build_says_what_to_do() {
        let request = SearchRequest { dense: vec![1.0], sparse: None, kinds: vec![], limit: 1 };
        let error = MemoryStore::new().search(&request).await.unwrap_err().to_string();
        assert!(error.contains("has not been built"), "{error}");
    }

    #[tokio::test]
    async fn malformed_sparse_vectors_are_refused() {
        let document =
            Document { id: "x".into(), kind: crate::Kind::Metric, text: "x".into(), payload: Default::default() };
        let unsorted = SparseVector { indices: vec![3, 1], values: vec![1.0, 1.0] };
        let embedding = Embedding { dense: vec![1.0], sparse: Some(unsorted) };
        let error = MemoryStore::new().replace_all(1, vec![(document, embedding)], "h").await.unwrap_err();
        assert!(error.to_string().contains("strictly increasing"), "{error}");
    }

    #[test]
    fn idf_follows_qdrant() {
        assert!((idf(4, 1) - (1.0f32 + 3.5 / 1.5).ln()).abs() < 1e-6);
        assert!(idf(10, 1) > idf(10, 5));
    }
}
