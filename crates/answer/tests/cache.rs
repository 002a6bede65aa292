//! The answer cache through the pipeline: a repeated question is answered from memory with
//! the same SQL and rows, a follow-up is keyed by the conversation it continues, and answers
//! that came with a fallback (a model failure) are asked again.

mod common;

use common::{completion, demo, model_pipeline, run};
use quarry_answer::{CacheConfig, Route, SynthesisConfig};
use quarry_answer::{Conversation, Pipeline};
use quarry_exec::ExecutorConfig;
use quarry_semantic::SemanticLayer;
use quarry_sqlguard::PolicyConfig;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer};

async fn builtin(cache: CacheConfig) -> Pipeline {
    Pipeline::new(demo(), SemanticLayer::demo(), PolicyConfig::default(), ExecutorConfig::default())
        .await
        .expect("pipeline")
        .with_cache(&cache)
}

fn model_first() -> SynthesisConfig {
    SynthesisConfig { route: Route::ModelOnly, ..SynthesisConfig::default() }
}

#[test]
fn a_repeated_question_is_answered_from_the_cache_with_the_same_result() {
    run(async {
        let pipeline = builtin(CacheConfig::default()).await;
        let mut first = Conversation::default();
        let fresh = pipeline.ask("signups by channel last month", &mut first).await.expect("answers");
        assert!(!fresh.cached);
        assert!(fresh.timings_ms.contains_key("execute"), "{:?}", fresh.timings_ms);

        let mut second = Conversation::default();
        let again = pipeline.ask("  Signups by channel  last month? ", &mut second).await.expect("answers");
        assert!(again.cached, "the same question in the same (empty) conversation state");
        assert_eq!(again.question, "Signups by channel last month?", "the question as this user asked it");
        assert_eq!((&again.sql, &again.rows, &again.summary), (&fresh.sql, &fresh.rows, &fresh.summary));
        assert_eq!(again.timings_ms.keys().collect::<Vec<_>>(), ["cache", "total"]);
        assert!(again.chart.is_some() && again.result.is_some(), "the chart and the Arrow result come along");
        assert_eq!(second.turns.len(), 1, "the cached answer is a turn of the conversation like any other");
        assert_eq!(second.context(), first.context(), "and a follow-up continues it the same way");
        assert_eq!(pipeline.cache().map(|c| c.len()), Some(1));
    });
}

#[test]
fn a_follow_up_is_keyed_by_the_conversation_it_continues() {
    run(async {
        let pipeline = builtin(CacheConfig::default()).await;
        let mut signups = Conversation::default();
        pipeline.ask("signups by channel last month", &mut signups).await.expect("answers");
        let mut tickets = Conversation::default();
        pipeline.ask("tickets by priority last month", &mut tickets).await.expect("answers");

        let by_country = pipeline.ask("break that down by country", &mut signups).await.expect("answers");
        assert!(!by_country.cached);
        let other = pipeline.ask("break that down by country", &mut tickets).await.expect("answers");
        assert!(!other.cached, "the same words continue another question");
        assert_ne!(other.sql, by_country.sql);

        // The same first question and the same follow-up, in a new conversation: both cached.
        let mut again = Conversation::default();
        assert!(pipeline.ask("signups by channel last month", &mut again).await.expect("answers").cached);
        let repeated = pipeline.ask("break that down by country", &mut again).await.expect("answers");
        assert!(repeated.cached);
        assert_eq!(repeated.sql, by_country.sql);
    });
}

#[test]
fn without_a_cache_every_question_is_answered_afresh() {
    run(async {
        let pipeline = builtin(CacheConfig { enabled: false, ..CacheConfig::default() }).await;
        assert!(pipeline.cache().is_none());
        for _ in 0..2 {
            let answer = pipeline.ask("revenue in 2024", &mut Conversation::default()).await.expect("answers");
            assert!(!answer.cached);
            assert!(answer.timings_ms.contains_key("execute"));
        }
    });
}

#[test]
fn model_answers_are_cached_but_fallbacks_are_asked_again() {
    run(async {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/v1/chat/completions"))
            .respond_with(completion("SELECT plan, COUNT(*) AS subscriptions FROM subscriptions GROUP BY plan"))
            .mount(&server)
            .await;
        let pipeline = model_pipeline(&format!("{}/v1", server.uri()), model_first(), ExecutorConfig::default())
            .await
            .with_cache(&CacheConfig::default());
        for expected_cached in [false, true, true] {
            let answer = pipeline.ask("subscriptions per plan", &mut Conversation::default()).await.expect("answers");
            assert_eq!(answer.cached, expected_cached);
            assert_eq!(answer.rows.len(), 4);
        }
        assert_eq!(server.received_requests().await.map(|r| r.len()), Some(1), "the model was asked once");

        let down = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let synthesis = SynthesisConfig { route: Route::BuiltinFirst, ..model_first() };
        let pipeline = model_pipeline(&format!("http://127.0.0.1:{down}/v1"), synthesis, ExecutorConfig::default())
            .await
            .with_cache(&CacheConfig::default());
        for _ in 0..2 {
            let answer = pipeline.ask("what is the weather", &mut Conversation::default()).await.expect("falls back");
            assert!(!answer.notes.is_empty(), "the fallback says the model failed");
            assert!(!answer.cached, "a fallback is not kept: the model may be back next time");
        }
        assert_eq!(pipeline.cache().map(|c| c.len()), Some(0));
    });
}
