//! The conformance suite every [`VectorStore`] passes, so that the embedded and remote Qdrant
//! stores behave exactly like the reference [`crate::MemoryStore`]. Not part of the stable API.

use serde_json::json;

use crate::store::rrf_score;
use crate::{Document, Embedding, Hit, Kind, SearchRequest, SparseVector, VectorStore};

fn sparse(entries: &[(u32, f32)]) -> Option<SparseVector> {
    Some(SparseVector { indices: entries.iter().map(|e| e.0).collect(), values: entries.iter().map(|e| e.1).collect() })
}

fn point(id: &str, kind: Kind, dense: [f32; 4], entries: &[(u32, f32)]) -> (Document, Embedding) {
    let mut payload = serde_json::Map::new();
    payload.insert("name".into(), json!(id.split_once(':').map_or(id, |(_, name)| name)));
    if kind == Kind::Value {
        payload.insert("table".into(), json!("accounts"));
        payload.insert("column".into(), json!("country"));
        payload.insert("value".into(), json!(&id[id.len() - 2..]));
        payload.insert("dimension".into(), json!("country"));
    }
    let document = Document { id: id.into(), kind, text: format!("text of {id}"), payload };
    (document, Embedding { dense: dense.to_vec(), sparse: sparse(entries) })
}

/// Six documents over four dense dimensions. Sparse index 1 is common (three documents), 3 is
/// rare (one), so idf matters.
pub fn fixture() -> Vec<(Document, Embedding)> {
    vec![
        point("metric:revenue", Kind::Metric, [1.0, 0.0, 0.0, 0.0], &[(1, 1.0), (2, 1.0)]),
        point("metric:refunds", Kind::Metric, [0.8, 0.0, 0.0, 0.6], &[(1, 0.9), (4, 1.0)]),
        point("metric:signups", Kind::Metric, [0.0, 1.0, 0.0, 0.0], &[(3, 0.6)]),
        point("value:country=DE", Kind::Value, [0.0, 0.0, 1.0, 0.0], &[(5, 1.0)]),
        point("value:country=FR", Kind::Value, [0.0, 0.0, 0.6, 0.8], &[(6, 1.0)]),
        point("table:accounts", Kind::Table, [0.0, 0.0, 0.0, 1.0], &[(1, 0.5), (7, 1.0)]),
    ]
}

fn ids(hits: &[Hit]) -> Vec<&str> {
    hits.iter().map(|h| h.id.as_str()).collect()
}

fn request(dense: [f32; 4], sparse_entries: &[(u32, f32)], kinds: &[Kind], limit: usize) -> SearchRequest {
    SearchRequest {
        dense: dense.to_vec(),
        sparse: if sparse_entries.is_empty() { None } else { sparse(sparse_entries) },
        kinds: kinds.to_vec(),
        limit,
    }
}

fn assert_close(actual: f32, expected: f32, what: &str) {
    assert!((actual - expected).abs() < 1e-5, "{what}: score {actual}, expected {expected}");
}

/// Runs every check against `store`, which must start without a collection. Panics with a
/// message naming the failed rule.
pub async fn conformance(store: &dyn VectorStore) {
    assert_eq!(store.stored_hash().await.expect("stored_hash"), None, "a fresh store has no hash");

    let points = fixture();
    store.replace_all(4, points.clone(), "hash-1").await.expect("replace_all");
    assert_eq!(store.stored_hash().await.expect("stored_hash").as_deref(), Some("hash-1"), "the hash is recorded");

    // Dense only: cosine order, RRF scores 1/(60 + position), every document a candidate.
    let hits = store.search(&request([1.0, 0.0, 0.0, 0.0], &[], &[], 10)).await.expect("dense search");
    assert_eq!(hits.len(), 6, "every document is a dense candidate: {:?}", ids(&hits));
    assert_eq!(ids(&hits)[..2], ["metric:revenue", "metric:refunds"], "dense order");
    assert_close(hits[0].score, rrf_score(0), "first dense hit");
    assert_close(hits[1].score, rrf_score(1), "second dense hit");
    assert!(hits.windows(2).all(|w| w[0].score >= w[1].score), "hits are sorted by score");
    let (revenue, _) = &points[0];
    assert_eq!(hits[0].kind, Kind::Metric, "the kind round-trips");
    assert_eq!(hits[0].payload, revenue.payload, "the payload round-trips without store-internal keys");

    // Sparse breaks the tie: dense prefers signups, but revenue is the only sparse match.
    let hits = store.search(&request([0.6, 0.8, 0.0, 0.0], &[(2, 1.0)], &[Kind::Metric], 10)).await.expect("hybrid");
    assert_eq!(ids(&hits), ["metric:revenue", "metric:signups", "metric:refunds"], "fusion of dense and sparse");
    assert_close(hits[0].score, rrf_score(0) + rrf_score(1), "a document in both lists sums its RRF scores");

    // Idf: the rare term (3, in signups only) outweighs the common one (1) although its raw
    // weight is lower; without idf revenue would win.
    let hits =
        store.search(&request([0.6, 0.8, 0.0, -0.3], &[(1, 1.0), (3, 1.0)], &[Kind::Metric], 3)).await.expect("idf");
    assert_eq!(ids(&hits)[0], "metric:signups", "sparse scores weigh terms by idf: {:?}", ids(&hits));

    // Kind filters apply before the limit.
    let hits = store.search(&request([0.0, 0.0, 1.0, 0.0], &[], &[Kind::Value], 10)).await.expect("filtered");
    assert_eq!(ids(&hits), ["value:country=DE", "value:country=FR"], "only values");
    assert_eq!(hits[0].payload, points[3].0.payload, "value payload");
    let hits = store.search(&request([0.0, 0.0, 0.0, 1.0], &[(7, 1.0)], &[Kind::Table, Kind::Value], 10)).await;
    let hits = hits.expect("two kinds");
    assert_eq!(ids(&hits)[0], "table:accounts");
    assert!(hits.iter().all(|h| matches!(h.kind, Kind::Table | Kind::Value)), "{:?}", ids(&hits));
    assert_eq!(hits.len(), 3);
    let hits = store.search(&request([0.0, 0.0, 1.0, 0.0], &[], &[Kind::Segment], 10)).await.expect("none");
    assert!(hits.is_empty(), "a kind without documents gives no hits: {:?}", ids(&hits));

    // Limits.
    let hits = store.search(&request([1.0, 0.0, 0.0, 0.0], &[(1, 1.0)], &[], 2)).await.expect("limited");
    assert_eq!(ids(&hits), ["metric:revenue", "metric:refunds"], "limit 2");

    // A query of the wrong dimension is an error, not a silent mismatch.
    let wrong = SearchRequest { dense: vec![1.0, 0.0, 0.0], sparse: None, kinds: vec![], limit: 3 };
    assert!(store.search(&wrong).await.is_err(), "a query vector of the wrong dimension is refused");

    // Replacing drops every old point, even with another dimension.
    let replacement = vec![(
        Document {
            id: "segment:paid_plans".into(),
            kind: Kind::Segment,
            text: "paid plans".into(),
            payload: Default::default(),
        },
        Embedding { dense: vec![0.0, 1.0, 0.0], sparse: sparse(&[(9, 1.0)]) },
    )];
    store.replace_all(3, replacement, "hash-2").await.expect("second replace_all");
    assert_eq!(store.stored_hash().await.expect("stored_hash").as_deref(), Some("hash-2"));
    let hits = store.search(&wrong).await.expect("search after replacing");
    assert_eq!(ids(&hits), ["segment:paid_plans"], "old documents are gone");
    assert!(hits[0].payload.is_empty(), "an empty payload stays empty: {:?}", hits[0].payload);

    // A point whose vector does not fit the collection is refused.
    let bad = vec![(
        Document { id: "metric:bad".into(), kind: Kind::Metric, text: "bad".into(), payload: Default::default() },
        Embedding { dense: vec![1.0, 0.0], sparse: None },
    )];
    assert!(store.replace_all(3, bad, "hash-3").await.is_err(), "a vector of the wrong dimension is refused");
}
