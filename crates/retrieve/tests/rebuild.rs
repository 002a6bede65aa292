//! Rebuild on change: the index is rebuilt exactly when the layer, the embedder or the stored
//! hash changes, or when forced, and never serves a stale collection.

mod common;

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use quarry_retrieve::{
    BuildOptions, Document, Embedder, Embedding, HashingEmbedder, Hit, Index, Kind, MemoryStore, Result, SearchRequest,
    VectorStore,
};

/// A memory store that counts how often it is rebuilt.
#[derive(Default)]
struct CountingStore {
    inner: MemoryStore,
    rebuilds: AtomicUsize,
}

#[async_trait]
impl VectorStore for CountingStore {
    async fn stored_hash(&self) -> Result<Option<String>> {
        self.inner.stored_hash().await
    }

    async fn replace_all(&self, dimension: usize, points: Vec<(Document, Embedding)>, hash: &str) -> Result<()> {
        self.rebuilds.fetch_add(1, Ordering::SeqCst);
        self.inner.replace_all(dimension, points, hash).await
    }

    async fn search(&self, request: &SearchRequest) -> Result<Vec<Hit>> {
        self.inner.search(request).await
    }
}

#[tokio::test]
async fn the_index_is_rebuilt_exactly_when_its_inputs_change() {
    let (mut layer, snapshot) = (common::demo_layer(), common::demo_snapshot());
    let store = Arc::new(CountingStore::default());
    let embedder = Arc::new(HashingEmbedder::default());
    let options = BuildOptions::default();

    let first = Index::build(&layer, &snapshot, embedder.clone(), store.clone(), &options).await.expect("first build");
    assert!(first.stats().rebuilt);
    assert_eq!(store.rebuilds.load(Ordering::SeqCst), 1);
    assert_eq!(store.stored_hash().await.unwrap().as_deref(), Some(first.stats().hash.as_str()));

    let same = Index::build(&layer, &snapshot, embedder.clone(), store.clone(), &options).await.expect("same inputs");
    assert!(!same.stats().rebuilt, "same inputs keep the index");
    assert_eq!(same.stats().hash, first.stats().hash);
    assert_eq!(same.stats().documents, first.stats().documents, "stats are reported either way");
    assert_eq!(store.rebuilds.load(Ordering::SeqCst), 1);

    // A new synonym in the layer: rebuilt, and the new word is found.
    assert!(same.search("zorblax", &[Kind::Metric], 1).await.unwrap()[0].id != "metric:signups");
    layer.metrics.iter_mut().find(|m| m.name == "signups").unwrap().synonyms.push("zorblax".into());
    let changed = Index::build(&layer, &snapshot, embedder.clone(), store.clone(), &options).await.expect("changed");
    assert!(changed.stats().rebuilt, "a changed layer rebuilds");
    assert_ne!(changed.stats().hash, first.stats().hash);
    assert_eq!(store.rebuilds.load(Ordering::SeqCst), 2);
    assert_eq!(changed.search("zorblax", &[Kind::Metric], 1).await.unwrap()[0].id, "metric:signups");

    // Another embedder: rebuilt.
    let smaller = Arc::new(HashingEmbedder::new(256).unwrap());
    let other = Index::build(&layer, &snapshot, smaller, store.clone(), &options).await.expect("other embedder");
    assert!(other.stats().rebuilt, "another embedder rebuilds");
    assert_eq!(store.rebuilds.load(Ordering::SeqCst), 3);

    // Forced: rebuilt although nothing changed.
    let forced = BuildOptions { force: true, ..BuildOptions::default() };
    let again = Index::build(&layer, &snapshot, Arc::new(HashingEmbedder::new(256).unwrap()), store.clone(), &forced)
        .await
        .expect("forced");
    assert!(again.stats().rebuilt);
    assert_eq!(store.rebuilds.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn a_store_holding_another_index_is_never_used_stale() {
    let (layer, snapshot) = (common::demo_layer(), common::demo_snapshot());
    let store = Arc::new(MemoryStore::new());
    let embedder = HashingEmbedder::default();
    // What another snapshot or an older build left behind.
    let stale =
        Document { id: "metric:stale".into(), kind: Kind::Metric, text: "revenue".into(), payload: Default::default() };
    let embedding = embedder.embed("revenue", false);
    store.replace_all(embedder.dimension(), vec![(stale, embedding)], "some-other-hash").await.unwrap();

    let index = Index::build(&layer, &snapshot, Arc::new(embedder), store.clone(), &BuildOptions::default())
        .await
        .expect("build");
    assert!(index.stats().rebuilt, "a different recorded hash rebuilds");
    let hits = index.search("revenue", &[Kind::Metric], 20).await.unwrap();
    assert!(hits.iter().all(|h| h.id != "metric:stale"), "the old collection is gone");
    assert_eq!(hits[0].id, "metric:revenue");
}

#[tokio::test]
async fn progress_is_reported_up_to_the_total() {
    let (layer, snapshot) = (common::demo_layer(), common::demo_snapshot());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    let options = BuildOptions {
        progress: Some(Arc::new(move |done, total| record.lock().unwrap().push((done, total)))),
        ..BuildOptions::default()
    };
    let index =
        Index::build(&layer, &snapshot, Arc::new(HashingEmbedder::default()), Arc::new(MemoryStore::new()), &options)
            .await
            .expect("build");
    let seen = seen.lock().unwrap();
    let total = index.stats().total();
    assert_eq!(seen.last(), Some(&(total, total)));
    assert!(seen.windows(2).all(|w| w[0].0 < w[1].0), "progress only grows: {seen:?}");
}
