//! Hybrid search over the demo warehouse with the built-in embedder and the memory store.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use quarry_retrieve::{BuildOptions, Error, HashingEmbedder, Index, Kind, MemoryStore};
use tokio::sync::OnceCell;

static INDEX: OnceCell<Index> = OnceCell::const_new();

async fn demo_index() -> &'static Index {
    INDEX
        .get_or_init(|| async {
            let (layer, snapshot) = (common::demo_layer(), common::demo_snapshot());
            let embedder = Arc::new(HashingEmbedder::default());
            let index =
                Index::build(&layer, &snapshot, embedder, Arc::new(MemoryStore::new()), &BuildOptions::default())
                    .await
                    .expect("the demo index builds");
            let stats = index.stats();
            eprintln!(
                "demo index: {} documents {:?}, documents {:?}, embedding {:?}, total {:?} (this profile)",
                stats.total(),
                stats.documents,
                stats.documents_elapsed,
                stats.embed_elapsed,
                stats.elapsed
            );
            index
        })
        .await
}

async fn top(query: &str, kinds: &[Kind]) -> Vec<String> {
    demo_index().await.search(query, kinds, 5).await.expect("search").into_iter().map(|h| h.id).collect()
}

#[tokio::test]
async fn sales_finds_revenue_through_the_layers_synonyms() {
    assert_eq!(top("sales", &[Kind::Metric]).await[0], "metric:revenue");
    assert_eq!(top("sales", &[]).await[0], "metric:revenue", "also across all kinds");
}

#[tokio::test]
async fn mau_finds_active_users() {
    assert_eq!(top("MAU", &[Kind::Metric]).await[0], "metric:active_users");
    assert_eq!(top("mau", &[]).await[0], "metric:active_users");
}

#[tokio::test]
async fn germany_grounds_to_the_stored_country_code() {
    let hits = demo_index().await.search("germany", &[], 5).await.expect("search");
    assert_eq!(hits[0].id, "value:country=DE");
    assert_eq!(hits[0].kind, Kind::Value);
    let payload = &hits[0].payload;
    assert_eq!((payload["table"].as_str(), payload["column"].as_str()), (Some("accounts"), Some("country")));
    assert_eq!((payload["value"].as_str(), payload["dimension"].as_str()), (Some("DE"), Some("country")));
}

#[tokio::test]
async fn misspellings_still_find_the_metric() {
    assert_eq!(top("revnue", &[Kind::Metric]).await[0], "metric:revenue");
    assert_eq!(top("total revenu by country", &[Kind::Metric]).await[0], "metric:revenue");
    assert_eq!(top("cancelations", &[Kind::Metric]).await[0], "metric:cancellations");
}

#[tokio::test]
async fn each_kind_finds_what_a_question_names() {
    let cases = [
        ("revenue in germany last month", Kind::Metric, "metric:revenue"),
        ("revenue in germany last month", Kind::Value, "value:country=DE"),
        ("signups from paid search", Kind::Value, "value:signup_channel=paid_search"),
        ("how many customers churned", Kind::Metric, "metric:cancellations"),
        ("revenue by region", Kind::Dimension, "dimension:region"),
        ("tickets by priority", Kind::Dimension, "dimension:priority"),
        ("average resolution time of unresolved tickets", Kind::Segment, "segment:unresolved_tickets"),
        ("which customers", Kind::Table, "table:accounts"),
        ("What is our current MRR by plan?", Kind::VerifiedQuestion, "verified:2"),
        ("accounts in deutschland", Kind::Value, "value:country=DE"),
        ("acquisition channel of the signup", Kind::Column, "column:users.signup_channel"),
        ("mrr of enterprise customers", Kind::Value, "value:plan=enterprise"),
        ("customer satisfaction", Kind::Metric, "metric:avg_csat"),
        ("time to first response", Kind::Metric, "metric:avg_first_response_minutes"),
    ];
    let mut failures = Vec::new();
    for (query, kind, expected) in cases {
        let found = top(query, &[kind]).await;
        if found[0] != expected {
            failures.push(format!("{query:?} ({kind}): expected {expected}, got {found:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn kind_filters_and_limits_apply() {
    let index = demo_index().await;
    let hits = index.search("revenue by country", &[Kind::Value, Kind::Dimension], 7).await.expect("search");
    assert_eq!(hits.len(), 7);
    assert!(hits.iter().all(|h| matches!(h.kind, Kind::Value | Kind::Dimension)), "{hits:?}");
    assert!(hits.windows(2).all(|w| w[0].score >= w[1].score));
}

#[tokio::test]
async fn an_empty_query_is_refused() {
    let error = demo_index().await.search("  ", &[], 5).await.unwrap_err();
    assert!(matches!(error, Error::Config { .. }), "{error}");
}

#[tokio::test]
async fn search_latency_is_measured() {
    let index = demo_index().await;
    let queries = ["revenue in germany last month", "MAU on ios", "churn by plan", "csat for enterprise customers"];
    let started = Instant::now();
    let rounds = 25;
    for _ in 0..rounds {
        for query in queries {
            index.search(query, &[], 10).await.expect("search");
        }
    }
    let each = started.elapsed() / (rounds * queries.len() as u32);
    eprintln!("search latency: {each:?} per query over {} documents (this profile)", index.stats().total());
    assert!(each < Duration::from_millis(500), "a search over a few hundred documents took {each:?}");
}
