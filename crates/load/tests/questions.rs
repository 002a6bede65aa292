//! The questions the load tool asks are ones the built-in planner answers on the demo
//! snapshot: a spread of the fresh templated questions, and every follow-up after first
//! questions from the demo set.

use std::path::Path;

use quarry_answer::{AnswerStatus, Conversation, Pipeline};
use quarry_exec::ExecutorConfig;
use quarry_load::questions::{FOLLOW_UPS, REPEATED_QUESTION, first_questions, fresh_questions, questions_path};
use quarry_semantic::SemanticLayer;
use quarry_snapshot::SnapshotStore;
use quarry_sqlguard::PolicyConfig;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .thread_stack_size(quarry_server::WORKER_STACK_BYTES)
        .enable_all()
        .build()
        .expect("runtime")
}

async fn pipeline() -> Pipeline {
    let store = SnapshotStore::new(Path::new(env!("CARGO_TARGET_TMPDIR")).join("demo-snapshots"));
    let snapshot = quarry_demo::ensure_installed(&store, &quarry_demo::DemoConfig::default()).expect("demo snapshot");
    Pipeline::new(snapshot, SemanticLayer::demo(), PolicyConfig::default(), ExecutorConfig::default())
        .await
        .expect("pipeline")
}

#[test]
fn fresh_and_repeated_questions_are_answered_by_the_planner() {
    runtime().block_on(async {
        let pipeline = pipeline().await;
        let all = fresh_questions(usize::MAX);
        // Every family and template part shows up in a spread this wide: the first few of
        // each family, then every 1,009th question (a prime, so the metric cycles too).
        let repeated = REPEATED_QUESTION.to_string();
        let sample = all.iter().take(9).chain(all.iter().step_by(1009)).chain(std::iter::once(&repeated));
        let mut asked = 0;
        for question in sample {
            let answer = pipeline
                .ask(question, &mut Conversation::default())
                .await
                .unwrap_or_else(|e| panic!("{question}: {e}"));
            assert_eq!(answer.status, AnswerStatus::Answered, "{question}: {:?}", answer.message);
            asked += 1;
        }
        assert!(asked > 60, "{asked}");
    });
}

#[test]
fn every_follow_up_is_answered_after_an_answered_first_question() {
    runtime().block_on(async {
        let pipeline = pipeline().await;
        let pool = first_questions(&questions_path(None)).expect("the demo question set");
        let mut conversations = 0;
        for first in pool.iter().step_by(pool.len() / 6) {
            let mut conversation = Conversation::default();
            let answer = pipeline.ask(first, &mut conversation).await.unwrap_or_else(|e| panic!("{first}: {e}"));
            if answer.status != AnswerStatus::Answered {
                continue;
            }
            conversations += 1;
            for follow_up in FOLLOW_UPS {
                let answer = pipeline
                    .ask(follow_up, &mut conversation)
                    .await
                    .unwrap_or_else(|e| panic!("{first} → {follow_up}: {e}"));
                assert_eq!(answer.status, AnswerStatus::Answered, "{first} → {follow_up}: {:?}", answer.message);
            }
        }
        assert!(conversations >= 4, "{conversations} of the sampled first questions were answered");
    });
}
