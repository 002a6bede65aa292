//! The Qdrant stores: the embedded EdgeStore against the conformance suite and the memory
//! reference (persistence, replacement, kind filters, concurrency); the remote store's errors and,
//! with QUARRY_QDRANT_URL set, its conformance.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use quarry_retrieve::store::edge::EdgeStore;
use quarry_retrieve::store::remote::{RemoteConfig, RemoteStore};
use quarry_retrieve::{Document, Embedding, Error, Hit, Kind, MemoryStore, SearchRequest, SparseVector, VectorStore};

/// Deterministic pseudo-random numbers (xorshift64*), so that failures reproduce.
struct Numbers(u64);

impl Numbers {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in [-1, 1).
    fn signed(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const DIMENSION: usize = 32;
const VOCABULARY: u64 = 60;

/// A sparse vector over a vocabulary where small indices are common and large ones rare, so
/// that idf matters.
fn sparse(numbers: &mut Numbers, terms: usize) -> SparseVector {
    let mut entries: Vec<(u32, f32)> = (0..terms)
        .map(|_| {
            let a = numbers.below(VOCABULARY);
            let b = numbers.below(VOCABULARY);
            (a.max(b) as u32, 0.25 * (1 + numbers.below(4)) as f32)
        })
        .collect();
    entries.sort_by_key(|e| e.0);
    entries.dedup_by_key(|e| e.0);
    SparseVector { indices: entries.iter().map(|e| e.0).collect(), values: entries.iter().map(|e| e.1).collect() }
}

fn corpus(size: usize, seed: u64) -> Vec<(Document, Embedding)> {
    corpus_of_dimension(size, seed, DIMENSION)
}

fn corpus_of_dimension(size: usize, seed: u64, dimension: usize) -> Vec<(Document, Embedding)> {
    let mut numbers = Numbers(seed);
    (0..size)
        .map(|n| {
            let kind = Kind::ALL[n % Kind::ALL.len()];
            let mut payload = serde_json::Map::new();
            payload.insert("n".into(), serde_json::json!(n));
            payload.insert("name".into(), serde_json::json!(format!("item {n}")));
            let document = Document { id: format!("{kind}:item{n}"), kind, text: format!("item {n}"), payload };
            let dense = (0..dimension).map(|_| numbers.signed()).collect();
            // Every document has a sparse vector: Qdrant counts only those for idf, the memory
            // store counts every document.
            let sparse = Some(sparse(&mut numbers, 6));
            (document, Embedding { dense, sparse })
        })
        .collect()
}

fn queries(count: usize, seed: u64) -> Vec<SearchRequest> {
    queries_of_dimension(count, seed, DIMENSION)
}

fn queries_of_dimension(count: usize, seed: u64, dimension: usize) -> Vec<SearchRequest> {
    let mut numbers = Numbers(seed);
    (0..count)
        .map(|n| {
            let kinds = match n % 4 {
                0 => vec![],
                1 => vec![Kind::Metric],
                2 => vec![Kind::Value, Kind::Column],
                _ => vec![Kind::VerifiedQuestion, Kind::Segment, Kind::Table],
            };
            SearchRequest {
                dense: (0..dimension).map(|_| numbers.signed()).collect(),
                sparse: (n % 5 != 0).then(|| sparse(&mut numbers, 3)),
                kinds,
                limit: [1, 5, 10, 30][n % 4],
            }
        })
        .collect()
}

fn ids(hits: &[Hit]) -> Vec<&str> {
    hits.iter().map(|hit| hit.id.as_str()).collect()
}

fn shard_dirs(root: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("shard-"))
        .collect();
    names.sort();
    names
}

/// Asserts that `actual` ranks like the reference: same ids and scores, except that hits whose
/// reference scores differ by float rounding only may trade places.
fn assert_same_ranking(reference: &[Hit], actual: &[Hit], what: &str) {
    assert_eq!(reference.len(), actual.len(), "{what}: {:?} vs {:?}", ids(reference), ids(actual));
    for (position, (expected, got)) in reference.iter().zip(actual).enumerate() {
        assert!(
            (expected.score - got.score).abs() < 1e-6,
            "{what}: position {position}: score {} vs {}",
            expected.score,
            got.score
        );
        if expected.id != got.id {
            let tied = reference.iter().find(|hit| hit.id == got.id).map(|hit| (hit.score - expected.score).abs());
            assert!(
                tied.is_some_and(|gap| gap < 1e-6),
                "{what}: position {position}: {} vs {}\nreference {:?}\nactual    {:?}",
                expected.id,
                got.id,
                ids(reference),
                ids(actual)
            );
        }
        assert_eq!((expected.kind, &expected.payload), (got.kind, &got.payload), "{what}: {}", expected.id);
    }
}

#[tokio::test]
async fn edge_store_passes_the_conformance_suite() {
    let dir = tempfile::tempdir().unwrap();
    let store = EdgeStore::open(dir.path().join("index")).unwrap();
    quarry_retrieve::testing::conformance(&store).await;
}

#[tokio::test]
async fn edge_store_ranks_like_the_memory_store_on_a_thousand_points() {
    let points = corpus(1000, 7);
    let memory = MemoryStore::new();
    memory.replace_all(DIMENSION, points.clone(), "h").await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let edge = EdgeStore::open(dir.path()).unwrap();
    edge.replace_all(DIMENSION, points, "h").await.unwrap();
    let mut requests = queries(40, 11);
    // A zero query vector ties every document on the dense side: ranked by id, fetched whole.
    requests.push(SearchRequest { dense: vec![0.0; DIMENSION], sparse: None, kinds: vec![Kind::Metric], limit: 30 });
    requests.push(SearchRequest {
        dense: vec![0.0; DIMENSION],
        sparse: requests[1].sparse.clone(),
        kinds: vec![],
        limit: 10,
    });
    for (n, request) in requests.iter().enumerate() {
        let expected = memory.search(request).await.unwrap();
        let actual = edge.search(request).await.unwrap();
        assert_eq!(expected.len(), request.limit, "query {n} fills its limit");
        assert!(
            actual.iter().all(|hit| request.kinds.is_empty() || request.kinds.contains(&hit.kind)),
            "query {n}: kinds {:?}",
            request.kinds
        );
        assert_same_ranking(&expected, &actual, &format!("query {n} (kinds {:?})", request.kinds));
    }
}

#[tokio::test]
async fn an_edge_index_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let points = corpus(200, 3);
    let request = &queries(3, 5)[2];
    let before = {
        let store = EdgeStore::open(dir.path()).unwrap();
        assert_eq!(store.stored_hash().await.unwrap(), None);
        store.replace_all(DIMENSION, points, "built-once").await.unwrap();
        store.search(request).await.unwrap()
    };
    assert!(!before.is_empty());

    let reopened = EdgeStore::open(dir.path()).unwrap();
    assert_eq!(reopened.stored_hash().await.unwrap().as_deref(), Some("built-once"));
    assert_eq!(reopened.search(request).await.unwrap(), before, "the same hits after reopening");
    assert_eq!(shard_dirs(dir.path()).len(), 1);
}

#[tokio::test]
async fn replace_all_removes_the_old_points_and_shard() {
    let dir = tempfile::tempdir().unwrap();
    let store = EdgeStore::open(dir.path()).unwrap();
    store.replace_all(DIMENSION, corpus(100, 1), "first").await.unwrap();
    let first = shard_dirs(dir.path());
    // What a build that crashed half-way leaves behind.
    std::fs::create_dir_all(dir.path().join("shard-crashed/segments")).unwrap();

    let mut second = corpus(100, 2);
    second.truncate(10);
    for (document, _) in &mut second {
        document.id = format!("{}-new", document.id);
    }
    store.replace_all(DIMENSION, second, "second").await.unwrap();
    assert_eq!(store.stored_hash().await.unwrap().as_deref(), Some("second"));
    let all = SearchRequest { dense: vec![0.5; DIMENSION], sparse: None, kinds: vec![], limit: 1000 };
    let hits = store.search(&all).await.unwrap();
    assert_eq!(hits.len(), 10, "only the new points: {:?}", ids(&hits));
    assert!(hits.iter().all(|hit| hit.id.ends_with("-new")), "{:?}", ids(&hits));

    let now = shard_dirs(dir.path());
    assert_eq!(now.len(), 1, "the old and the crashed shard directories are removed: {now:?}");
    assert_ne!(now, first);
}

#[tokio::test]
async fn kind_filters_return_only_those_kinds_up_to_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let store = EdgeStore::open(dir.path()).unwrap();
    store.replace_all(DIMENSION, corpus(300, 9), "h").await.unwrap();
    for kind in Kind::ALL {
        let request = SearchRequest { dense: vec![0.1; DIMENSION], sparse: None, kinds: vec![kind], limit: 1000 };
        let hits = store.search(&request).await.unwrap();
        let expected = (0..300).filter(|n| Kind::ALL[n % Kind::ALL.len()] == kind).count();
        assert_eq!(hits.len(), expected, "{kind}");
        assert!(hits.iter().all(|hit| hit.kind == kind && hit.id.starts_with(kind.as_str())), "{kind}");
    }
    let request = SearchRequest { dense: vec![0.1; DIMENSION], sparse: None, kinds: vec![Kind::Metric], limit: 5 };
    assert_eq!(store.search(&request).await.unwrap().len(), 5);
}

#[tokio::test]
async fn a_failed_build_keeps_the_previous_index() {
    let dir = tempfile::tempdir().unwrap();
    let store = EdgeStore::open(dir.path()).unwrap();
    store.replace_all(DIMENSION, corpus(50, 4), "good").await.unwrap();
    let mut bad = corpus(50, 5);
    bad[17].1.dense.pop();
    let err = store.replace_all(DIMENSION, bad, "bad").await.unwrap_err();
    assert!(err.to_string().contains("dense vector of 31 values"), "{err}");
    assert_eq!(store.stored_hash().await.unwrap().as_deref(), Some("good"));
    assert_eq!(store.search(&queries(1, 1)[0]).await.unwrap().len(), 1);
    assert_eq!(shard_dirs(dir.path()).len(), 1);
}

#[tokio::test]
async fn a_store_sees_a_rebuild_made_by_another_store_on_the_same_directory() {
    let dir = tempfile::tempdir().unwrap();
    let writer = EdgeStore::open(dir.path()).unwrap();
    let reader = EdgeStore::open(dir.path()).unwrap();
    writer.replace_all(DIMENSION, corpus(40, 1), "one").await.unwrap();
    let request = SearchRequest { dense: vec![0.3; DIMENSION], sparse: None, kinds: vec![], limit: 100 };
    assert_eq!(reader.search(&request).await.unwrap().len(), 40);

    writer.replace_all(DIMENSION, corpus(25, 2), "two").await.unwrap();
    assert_eq!(reader.stored_hash().await.unwrap().as_deref(), Some("two"));
    assert_eq!(reader.search(&request).await.unwrap().len(), 25, "the reader reopened the new shard");
}

#[tokio::test]
async fn a_damaged_index_reports_no_hash_so_that_it_is_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let store = EdgeStore::open(dir.path()).unwrap();
    store.replace_all(DIMENSION, corpus(20, 1), "h").await.unwrap();
    for name in shard_dirs(dir.path()) {
        std::fs::remove_dir_all(dir.path().join(name)).unwrap();
    }
    let fresh = EdgeStore::open(dir.path()).unwrap();
    assert_eq!(fresh.stored_hash().await.unwrap(), None);
    let err = fresh.search(&queries(1, 1)[0]).await.unwrap_err();
    assert!(err.to_string().contains("rebuild the index"), "{err}");
    fresh.replace_all(DIMENSION, corpus(20, 1), "again").await.unwrap();
    assert_eq!(fresh.stored_hash().await.unwrap().as_deref(), Some("again"));
}

#[tokio::test]
async fn searching_an_empty_edge_store_says_to_build_the_index() {
    let dir = tempfile::tempdir().unwrap();
    let store = EdgeStore::open(dir.path()).unwrap();
    let err = store.search(&queries(1, 1)[0]).await.unwrap_err();
    assert!(err.to_string().contains("quarry index"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_searches_agree_and_survive_a_rebuild() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(EdgeStore::open(dir.path()).unwrap());
    let points = corpus(500, 21);
    store.replace_all(DIMENSION, points.clone(), "h").await.unwrap();
    let requests = queries(8, 3);
    let mut expected = Vec::new();
    for request in &requests {
        expected.push(store.search(request).await.unwrap());
    }

    let mut tasks = Vec::new();
    for task in 0..16 {
        let (store, requests, expected) = (Arc::clone(&store), requests.clone(), expected.clone());
        tasks.push(tokio::spawn(async move {
            for round in 0..10 {
                let n = (task + round) % requests.len();
                let hits = store.search(&requests[n]).await.expect("search during concurrent use");
                assert_eq!(hits, expected[n], "task {task} round {round}");
            }
        }));
    }
    // Rebuilding the same content while searches run: every search sees a complete index.
    store.replace_all(DIMENSION, points, "h").await.unwrap();
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(shard_dirs(dir.path()).len(), 1, "the replaced shard is removed once its searches end");
}

/// A loopback port nothing listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test]
async fn a_remote_server_that_is_down_is_reported_as_unavailable_with_its_url() {
    let url = format!("http://127.0.0.1:{}", closed_port());
    let mut config = RemoteConfig::new(&url, "quarry_down");
    config.timeout = Duration::from_secs(2);
    let store = RemoteStore::new(config).unwrap();
    let started = Instant::now();
    let failures = [
        store.check().await.unwrap_err(),
        store.stored_hash().await.unwrap_err(),
        store.replace_all(4, quarry_retrieve::testing::fixture(), "h").await.unwrap_err(),
        store.search(&SearchRequest { dense: vec![1.0; 4], sparse: None, kinds: vec![], limit: 3 }).await.unwrap_err(),
    ];
    for err in failures {
        match &err {
            Error::Unavailable { what, message } => {
                assert!(what.contains(&url), "{err}");
                assert!(message.contains("running"), "{err}");
            }
            other => panic!("expected Unavailable, got {other:?}"),
        }
    }
    assert!(started.elapsed() < Duration::from_secs(10), "a refused connection fails fast: {:?}", started.elapsed());
}

#[tokio::test]
async fn a_remote_server_that_never_answers_is_reported_as_unavailable_after_the_timeout() {
    // The kernel completes TCP handshakes for a listener nobody accepts from: a hung server.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let mut config = RemoteConfig::new(&url, "quarry_hung");
    config.timeout = Duration::from_millis(500);
    let store = RemoteStore::new(config).unwrap();
    let started = Instant::now();
    let err = store.stored_hash().await.unwrap_err();
    assert!(matches!(&err, Error::Unavailable { what, .. } if what.contains(&url)), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(5), "the timeout applies: {:?}", started.elapsed());
    drop(listener);
}

#[tokio::test]
async fn remote_store_passes_the_conformance_suite_when_a_server_is_configured() {
    let Ok(url) = std::env::var("QUARRY_QDRANT_URL") else {
        println!(
            "skipped: set QUARRY_QDRANT_URL (e.g. http://localhost:6334) to run the conformance suite on a server"
        );
        return;
    };
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let collection = format!("quarry_test_{}_{nanos}", std::process::id());
    let store = RemoteStore::new(RemoteConfig::new(&url, &collection)).unwrap();
    quarry_retrieve::testing::conformance(&store).await;

    let points = corpus(1000, 7);
    let memory = MemoryStore::new();
    memory.replace_all(DIMENSION, points.clone(), "h").await.unwrap();
    store.replace_all(DIMENSION, points, "h").await.unwrap();
    for (n, request) in queries(20, 11).iter().enumerate() {
        let expected = memory.search(request).await.unwrap();
        assert_same_ranking(&expected, &store.search(request).await.unwrap(), &format!("remote query {n}"));
    }
    let client = qdrant_client::Qdrant::from_url(&url).skip_compatibility_check().build().unwrap();
    client.delete_collection(qdrant_client::qdrant::DeleteCollectionBuilder::new(&collection)).await.unwrap();
}

/// Build and search latency on 1000 points of 384 dimensions (multilingual-e5-small's);
/// run with `--ignored --nocapture`.
#[tokio::test]
#[ignore = "measurement"]
async fn measure_edge_search_latency() {
    const E5_DIMENSION: usize = 384;
    let dir = tempfile::tempdir().unwrap();
    let store = EdgeStore::open(dir.path()).unwrap();
    let started = Instant::now();
    store.replace_all(E5_DIMENSION, corpus_of_dimension(1000, 7, E5_DIMENSION), "h").await.unwrap();
    println!("build of 1000 points: {:?}", started.elapsed());
    let started = Instant::now();
    let reopened = EdgeStore::open(dir.path()).unwrap();
    reopened.stored_hash().await.unwrap();
    println!("reopen: {:?}", started.elapsed());
    let requests = queries_of_dimension(200, 13, E5_DIMENSION);
    let mut times = Vec::new();
    for request in &requests {
        let started = Instant::now();
        reopened.search(request).await.unwrap();
        times.push(started.elapsed());
    }
    times.sort();
    println!("search p50 {:?}, p95 {:?}, max {:?}", times[100], times[190], times[199]);
    assert!(times[100] < Duration::from_millis(50), "median search {:?}", times[100]);
}
