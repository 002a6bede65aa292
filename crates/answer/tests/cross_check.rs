//! Cross-checked answers against a real HTTP server playing the chat model (`wiremock`):
//! under builtin-first, a question the planner answers on its own is also given to the
//! model; the results agree, disagree (the answer asks back with both readings), or the
//! model is down (the planner's answer, marked unchecked). Also what the check costs.

mod common;

use std::time::Instant;

use common::{completion, model_pipeline};
use quarry_answer::{AnswerStatus, Conversation, CrossCheckVerdict, Pipeline};
use quarry_answer::{Route, SynthesisConfig};
use quarry_exec::ExecutorConfig;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer};

/// A question the built-in planner answers with high confidence.
const QUESTION: &str = "signups by channel last month";
/// The same question in the model's own SQL: other aliases, other order, the same rows.
const SAME_SQL: &str = "SELECT COUNT(*) AS n, signup_channel AS channel FROM users \
     WHERE signup_at >= TIMESTAMP '2025-11-01 00:00:00' AND signup_at < TIMESTAMP '2025-12-01 00:00:00' \
     GROUP BY signup_channel ORDER BY n";
/// A different reading: every signup ever, not last month's.
const OTHER_SQL: &str = "SELECT signup_channel, COUNT(*) AS signups FROM users GROUP BY signup_channel";

fn synthesis(cross_check: bool) -> SynthesisConfig {
    SynthesisConfig { route: Route::BuiltinFirst, cross_check, ..Default::default() }
}

async fn pipeline(base_url: &str, cross_check: bool) -> Pipeline {
    let limits = ExecutorConfig { timeout_ms: 20_000, ..ExecutorConfig::default() };
    model_pipeline(base_url, synthesis(cross_check), limits).await
}

async fn model_writing(sql: &str) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST")).and(path("/v1/chat/completions")).respond_with(completion(sql)).mount(&server).await;
    server
}

#[tokio::test(flavor = "multi_thread")]
async fn two_routes_that_agree_mark_the_answer_checked() {
    let server = model_writing(SAME_SQL).await;
    let pipeline = pipeline(&format!("{}/v1", server.uri()), true).await;
    let answer = pipeline.ask(QUESTION, &mut Conversation::default()).await.expect("answers");
    assert_eq!(answer.status, AnswerStatus::Answered);
    assert_eq!(answer.route, "builtin", "the planner's answer is given");
    let check = answer.cross_check.expect("cross-checked");
    assert_eq!(check.verdict, CrossCheckVerdict::Agree, "{check:?}");
    assert_eq!(check.message, "checked: two independent routes agree");
    assert_eq!(check.model, "openai:scripted");
    assert!(check.model_sql.as_deref().unwrap_or_default().contains("signup_channel AS channel"), "{check:?}");
    assert_eq!(check.planner_sql, answer.sql, "both SQLs are kept");
    assert!(answer.timings_ms.contains_key("cross_check"), "{:?}", answer.timings_ms);
    assert_eq!(answer.tokens.expect("the model's tokens are counted").prompt_tokens, 1000);
    assert_eq!(server.received_requests().await.unwrap_or_default().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn two_routes_that_disagree_show_both_readings_and_ask_back() {
    let server = model_writing(OTHER_SQL).await;
    let pipeline = pipeline(&format!("{}/v1", server.uri()), true).await;
    let answer = pipeline.ask(QUESTION, &mut Conversation::default()).await.expect("answers");
    let check = answer.cross_check.clone().expect("cross-checked");
    assert_eq!(check.verdict, CrossCheckVerdict::Disagree, "{check:?}");
    assert!(check.message.starts_with("routes disagree"), "{}", check.message);
    assert_eq!(answer.status, AnswerStatus::NeedsClarification, "asks back rather than picking one");
    let planner_reading = check.planner_reading.expect("the planner's reading");
    assert!(planner_reading.to_lowercase().contains("signup"), "{planner_reading}");
    assert!(answer.summary.contains(&planner_reading) && answer.summary.contains("scripted"), "{}", answer.summary);
    assert!(answer.clarification.is_some());
    assert!(check.model_sql.as_deref().unwrap_or_default().starts_with(OTHER_SQL), "{:?}", check.model_sql);
    assert!(answer.sql.is_some(), "the planner's SQL stays with the answer");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_model_that_is_down_leaves_the_planners_answer_unchecked() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let pipeline = pipeline(&format!("http://127.0.0.1:{port}/v1"), true).await;
    let answer = pipeline.ask(QUESTION, &mut Conversation::default()).await.expect("the planner answers");
    assert_eq!(answer.status, AnswerStatus::Answered);
    assert!(!answer.rows.is_empty());
    let check = answer.cross_check.expect("the check is reported");
    assert_eq!(check.verdict, CrossCheckVerdict::Unchecked);
    assert!(check.message.starts_with("not cross-checked: the model could not answer"), "{}", check.message);
    assert!(check.message.contains("127.0.0.1"), "{}", check.message);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_check_can_be_turned_off_and_its_latency_is_measured() {
    let server = model_writing(SAME_SQL).await;
    let base_url = format!("{}/v1", server.uri());
    let (checked, unchecked) = (pipeline(&base_url, true).await, pipeline(&base_url, false).await);
    let answer = unchecked.ask(QUESTION, &mut Conversation::default()).await.expect("answers");
    assert!(answer.cross_check.is_none());
    assert!(server.received_requests().await.unwrap_or_default().is_empty(), "the model was not asked");
    // Median wall-clock of the same question with and without the check (no answer cache:
    // a pipeline built from parts has none).
    let median = |times: &mut Vec<f64>| {
        times.sort_by(f64::total_cmp);
        times[times.len() / 2]
    };
    let (mut with, mut without) = (Vec::new(), Vec::new());
    for _ in 0..7 {
        for (pipeline, times) in [(&checked, &mut with), (&unchecked, &mut without)] {
            let started = Instant::now();
            pipeline.ask(QUESTION, &mut Conversation::default()).await.expect("answers");
            times.push(started.elapsed().as_secs_f64() * 1e3);
        }
    }
    let (with, without) = (median(&mut with), median(&mut without));
    eprintln!("cross-check latency: {without:.1} ms without, {with:.1} ms with (+{:.1} ms)", with - without);
}
