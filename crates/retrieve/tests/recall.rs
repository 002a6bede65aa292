//! Recall of the built-in embedder on the labeled retrieval set (eval/retrieval/demo.jsonl):
//! each expected id is searched within its kind, and recall@1, recall@5 and MRR are
//! reported per kind.

mod common;

use std::path::Path;
use std::sync::Arc;

use quarry_retrieve::eval::{evaluate, load_labeled};
use quarry_retrieve::{BuildOptions, HashingEmbedder, Index, MemoryStore};

#[tokio::test(flavor = "multi_thread")]
async fn recall_of_the_hashing_embedder_on_the_labeled_set() {
    let cases = load_labeled(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../eval/retrieval/demo.jsonl"))
        .expect("labeled set");
    let layer = common::demo_layer();
    let index = Index::build(
        &layer,
        &common::demo_snapshot(),
        Arc::new(HashingEmbedder::default()),
        Arc::new(MemoryStore::new()),
        &BuildOptions::default(),
    )
    .await
    .expect("index");
    let report = evaluate(&index, &layer, &cases).await.expect("evaluates");
    for (kind, score) in report.kinds.iter().chain([(&"all".to_string(), &report.overall)]) {
        println!(
            "{kind:>17}: n={:>3} recall@1={:.3} recall@5={:.3} MRR={:.3}",
            score.labels,
            score.recall_at_1(),
            score.recall_at_5(),
            score.mrr()
        );
    }
    for miss in &report.misses {
        println!("missed {} in {:?}: got {:?}", miss.expected, miss.question, miss.got);
    }
    assert!(cases.len() >= 120, "the labeled set has {} questions", cases.len());
    assert!(report.overall.labels >= 300, "the labeled set has {} labels", report.overall.labels);
    let recall_at_5 = report.overall.recall_at_5();
    assert!(recall_at_5 >= 0.95, "recall@5 {recall_at_5:.3} is below the issue's bar of 0.95");
    for kind in ["metric", "dimension", "value"] {
        let score = &report.kinds[kind];
        assert!(score.recall_at_5() >= 0.9, "{kind}: recall@5 {:.3}", score.recall_at_5());
    }
}
