//! The built-in embedder: feature hashing, no weights, no network.

use std::collections::BTreeMap;

use async_trait::async_trait;

use crate::text::{fnv1a, phrases};
use crate::{Embedder, Embedding, Error, Result, SparseVector};

/// Default length of the dense vectors.
pub const DEFAULT_DIMENSION: usize = 512;

/// Version of the feature scheme; part of [`HashingEmbedder::id`], so changing the scheme
/// rebuilds every index built with the old one.
const SCHEME: &str = "hashing-v1";

/// Weight of a word-bigram feature relative to a word.
const BIGRAM_WEIGHT: f32 = 0.6;
/// Total weight of one word's character trigrams relative to the word itself.
const TRIGRAM_WEIGHT: f32 = 0.8;

/// BM25 term-frequency saturation.
const BM25_K1: f32 = 1.2;
/// Term-frequency multiplier of a document's title (its first sentence): the document
/// builder names the thing first, so a metric called "revenue" outranks one that mentions
/// revenue in its description (BM25F's field weighting).
const TITLE_BOOST: f32 = 2.0;
/// BM25 length normalization.
const BM25_B: f32 = 0.5;
/// The document length (in terms) BM25 normalizes against. A true average needs the whole
/// corpus, which a query embedding never sees; a fixed value keeps every embedding a pure
/// function of its text. It only scales how strongly long documents are discounted.
const BM25_AVERAGE_LENGTH: f32 = 16.0;

/// Deterministic embeddings from hashed text features, good at the vocabulary of a semantic
/// layer without any model.
///
/// **Dense vector** ([`DEFAULT_DIMENSION`] values, L2-normalized): the text is cut into phrases
/// at punctuation (`Revenue. Also called: sales, income.` has four); each phrase's words, word
/// bigrams and character trigrams (`<revenue>` -> `<re`, `rev`, …, `ue>`), lower-cased and
/// singularized, are hashed with FNV-1a to an index and a sign (signed feature hashing keeps
/// collisions unbiased), counts damped (`1 + ln tf`); the phrase vectors are normalized and
/// summed. Summing phrases rather than words means a synonym the query names exactly counts
/// fully however many other synonyms a document lists, and a metric whose own name is the
/// query beats one that merely mentions it inside a longer phrase. Trigrams make a
/// misspelling such as "revnue" still land near "revenue".
///
/// **Sparse vector**: BM25 over words and word bigrams (within a phrase), the terms of the
/// first sentence (the title) counting double. Each term's index is its 32-bit hash;
/// a document's weight is BM25's saturated term frequency `tf (k1 + 1) / (tf + k1 (1 - b + b
/// len / avg))`, a query's weight is 1 per distinct term. The inverse document frequency needs
/// the whole collection, so the store applies it at search time (Qdrant's `Modifier::Idf`,
/// and the same formula in [`crate::MemoryStore`]): score = Σ idf × saturated tf, i.e. BM25.
///
/// Synonyms are not built in: they come from the semantic layer, whose synonyms the document
/// builder writes into each document's text, so 'sales' finds revenue in any layer that
/// says so.
#[derive(Debug, Clone)]
pub struct HashingEmbedder {
    dimension: usize,
}

impl Default for HashingEmbedder {
    fn default() -> Self {
        Self { dimension: DEFAULT_DIMENSION }
    }
}

impl HashingEmbedder {
    /// An embedder with dense vectors of `dimension` values (at least 16).
    pub fn new(dimension: usize) -> Result<Self> {
        if dimension < 16 {
            return Err(Error::config(format!(
                "the hashing embedder needs at least 16 dimensions, got {dimension}; the default is {DEFAULT_DIMENSION}"
            )));
        }
        Ok(Self { dimension })
    }

    /// The embedding of `text`; `query` selects query-side sparse weights.
    pub fn embed(&self, text: &str, query: bool) -> Embedding {
        Embedding { dense: self.dense(&phrases(text)), sparse: Some(lexical(text, query)) }
    }

    /// The sum of the phrases' unit vectors, normalized.
    fn dense(&self, phrases: &[Vec<String>]) -> Vec<f32> {
        let mut vector = vec![0.0f32; self.dimension];
        for phrase in phrases {
            let mut part = self.phrase_vector(phrase);
            normalize(&mut part);
            vector.iter_mut().zip(&part).for_each(|(v, p)| *v += p);
        }
        normalize(&mut vector);
        vector
    }

    fn phrase_vector(&self, words: &[String]) -> Vec<f32> {
        let mut features: BTreeMap<String, (f32, u32)> = BTreeMap::new();
        let mut add = |key: String, weight: f32| {
            let entry = features.entry(key).or_insert((weight, 0));
            entry.1 += 1;
        };
        for word in words {
            add(format!("w:{word}"), 1.0);
            let padded: Vec<char> = format!("<{word}>").chars().collect();
            let trigrams = padded.len().saturating_sub(2).max(1);
            // Each word's trigrams together weigh TRIGRAM_WEIGHT (as a vector norm), so short
            // and long words count alike.
            let weight = TRIGRAM_WEIGHT / (trigrams as f32).sqrt();
            for gram in padded.windows(3) {
                add(format!("c:{}", gram.iter().collect::<String>()), weight);
            }
        }
        for pair in words.windows(2) {
            add(format!("b:{} {}", pair[0], pair[1]), BIGRAM_WEIGHT);
        }
        let mut vector = vec![0.0f32; self.dimension];
        for (key, (weight, count)) in features {
            let hash = fnv1a(key.as_bytes());
            let index = (hash % self.dimension as u64) as usize;
            let sign = if hash >> 63 == 1 { -1.0 } else { 1.0 };
            vector[index] += sign * weight * (1.0 + (count as f32).ln());
        }
        vector
    }
}

fn normalize(vector: &mut [f32]) {
    let norm = vector.iter().map(|v| v * v).sum::<f32>().sqrt();
    if norm > 0.0 {
        vector.iter_mut().for_each(|v| *v /= norm);
    }
}

/// The BM25 sparse vector of `text` (see [`HashingEmbedder`]); `query` selects query weights.
pub(crate) fn lexical(text: &str, query: bool) -> SparseVector {
    let (title, body) = split_title(text);
    let mut weighted: Vec<(Vec<String>, f32)> = phrases(title).into_iter().map(|p| (p, TITLE_BOOST)).collect();
    weighted.extend(phrases(body).into_iter().map(|p| (p, 1.0)));
    sparse(&weighted, query)
}

/// A document's title is its first sentence, up to the first period followed by a space
/// (periods inside "u.s." do not end it); the whole text when there is none.
fn split_title(text: &str) -> (&str, &str) {
    match text.find(". ") {
        Some(end) => (&text[..end], &text[end + 2..]),
        None => (text, ""),
    }
}

/// The sparse index of a term.
fn term_index(term: &str) -> u32 {
    let hash = fnv1a(term.as_bytes());
    (hash ^ (hash >> 32)) as u32
}

/// BM25 weights of phrases, each with the weight of one occurrence of its terms.
fn sparse(phrases: &[(Vec<String>, f32)], query: bool) -> SparseVector {
    let mut counts: BTreeMap<u32, f32> = BTreeMap::new();
    let mut length = 0.0;
    for (phrase, weight) in phrases {
        length += phrase.len() as f32;
        let bigrams = phrase.windows(2).map(|pair| format!("{} {}", pair[0], pair[1]));
        for term in phrase.iter().cloned().chain(bigrams) {
            *counts.entry(term_index(&term)).or_insert(0.0) += weight;
        }
    }
    let (indices, values) = counts
        .into_iter()
        .map(|(index, tf)| {
            let weight = if query {
                1.0
            } else {
                let norm = 1.0 - BM25_B + BM25_B * length / BM25_AVERAGE_LENGTH;
                tf * (BM25_K1 + 1.0) / (tf + BM25_K1 * norm)
            };
            (index, weight)
        })
        .unzip();
    SparseVector { indices, values }
}

#[async_trait]
impl Embedder for HashingEmbedder {
    fn id(&self) -> String {
        format!("{SCHEME}-{}", self.dimension)
    }

    fn dimension(&self) -> usize {
        self.dimension
    }

    async fn embed_documents(&self, texts: &[String]) -> Result<Vec<Embedding>> {
        Ok(texts.iter().map(|text| self.embed(text, false)).collect())
    }

    async fn embed_query(&self, text: &str) -> Result<Embedding> {
        Ok(self.embed(text, true))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cosine(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    #[test]
    fn embeddings_are_deterministic_and_normalized() {
        let embedder = HashingEmbedder::default();
        let a = embedder.embed("Monthly recurring revenue by plan", false);
        let b = embedder.embed("Monthly recurring revenue by plan", false);
        assert_eq!(a, b);
        let norm: f32 = a.dense.iter().map(|v| v * v).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5, "{norm}");
        assert_eq!(a.dense.len(), DEFAULT_DIMENSION);
        let sparse = a.sparse.expect("a sparse vector");
        assert!(sparse.indices.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(sparse.indices.len(), sparse.values.len());
    }

    #[test]
    fn a_misspelling_stays_closer_to_its_word_than_to_others() {
        let embedder = HashingEmbedder::default();
        let typo = embedder.embed("revnue", true).dense;
        let revenue = cosine(&typo, &embedder.embed("revenue", false).dense);
        let refunds = cosine(&typo, &embedder.embed("refunds", false).dense);
        let signups = cosine(&typo, &embedder.embed("signups", false).dense);
        assert!(revenue > 0.2 && revenue > refunds + 0.15 && revenue > signups + 0.15, "{revenue} {refunds} {signups}");
    }

    #[test]
    fn plurals_and_case_embed_alike() {
        let embedder = HashingEmbedder::default();
        assert_eq!(embedder.embed("Countries", true), embedder.embed("country", true));
    }

    #[test]
    fn query_terms_weigh_one_and_document_terms_saturate() {
        // "revenue revenue": the word once and the bigram "revenue revenue" once.
        let query = lexical("revenue revenue", true);
        assert_eq!(query.values, [1.0, 1.0]);
        let short = lexical("revenue", false);
        let repeated = lexical("revenue revenue revenue", false);
        let weight_of =
            |v: &SparseVector| v.values[v.indices.iter().position(|&i| i == term_index("revenue")).unwrap()];
        assert!(weight_of(&repeated) > weight_of(&short));
        assert!(weight_of(&repeated) < BM25_K1 + 1.0);
    }

    #[test]
    fn too_few_dimensions_are_refused() {
        let error = HashingEmbedder::new(4).unwrap_err().to_string();
        assert!(error.contains("at least 16"), "{error}");
        assert_eq!(HashingEmbedder::new(64).unwrap().id(), "hashing-v1-64");
    }
}
