//! The built-in route grounds words its planner does not know through a real retrieval index
//! (the hashing embedder over an in-memory store, as `quarry search` builds it).

mod common;

use std::sync::Arc;

use quarry_answer::{AnswerStatus, Conversation, Pipeline};
use quarry_exec::ExecutorConfig;
use quarry_semantic::SemanticLayer;
use quarry_sqlguard::PolicyConfig;

async fn pipeline(grounded: bool) -> Pipeline {
    let snapshot = common::demo();
    let layer = SemanticLayer::demo();
    let pipeline = Pipeline::new(snapshot.clone(), layer.clone(), PolicyConfig::default(), ExecutorConfig::default())
        .await
        .expect("pipeline");
    if !grounded {
        return pipeline;
    }
    let index = common::demo_index(&layer, &snapshot).await;
    pipeline.with_grounding(Arc::new(index.into()))
}

/// "experience" alone names nothing in the planner's vocabulary ("support experience" does);
/// the index finds it among the cancel reason's values.
const EXPERIENCE: &str = "EMEA cancellations this year where the reason was experience";

#[test]
fn a_word_spelled_like_a_value_is_grounded_and_said() {
    common::run(async {
        let answer = pipeline(true).await.ask(EXPERIENCE, &mut Conversation::default()).await.expect("answers");
        assert_eq!(answer.status, AnswerStatus::Answered, "{}", answer.summary);
        let explanation = answer.explanation.expect("explanation");
        assert!(
            explanation.assumptions.iter().any(|a| a.starts_with("read 'experience' as 'support experience'")),
            "{:?}",
            explanation.assumptions
        );
        assert_eq!(explanation.evidence.corrections, 1);
        assert!(answer.sql.expect("sql").contains("'support_experience'"));
    });
}

#[test]
fn without_the_index_the_same_question_is_asked_back() {
    common::run(async {
        let answer = pipeline(false).await.ask(EXPERIENCE, &mut Conversation::default()).await.expect("answers");
        assert_ne!(answer.status, AnswerStatus::Answered);
        assert!(answer.summary.contains("experience"), "{}", answer.summary);
    });
}

#[test]
fn a_word_grounded_to_a_concept_two_joins_away_is_not_used() {
    common::run(async {
        // "onboard" is spelled like the onboarding experiment, two joins from accounts.
        let question = "how many new accounts did we onboard from Canada or the US in Q1 2025";
        let answer = pipeline(true).await.ask(question, &mut Conversation::default()).await.expect("answers");
        let sql = answer.sql.unwrap_or_default();
        assert!(!sql.contains("experiment"), "{sql}");
    });
}
