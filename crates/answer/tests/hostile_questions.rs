//! The hostile question corpus (`fixtures/hostile_questions.jsonl`): prompt injection and
//! prompt-to-SQL attacks — writes and drops, personal or restricted data, instructions hidden
//! in the question, in the conversation history and in data values, and denial of service —
//! replayed through the model route against a scripted model that obeys the attacker (it
//! answers every attempt, repairs included, with the attack's SQL).
//!
//! Nothing may get through the policy and the executor: each attack is refused with a clear
//! reason, or (huge results, heavy scans) cut to the row limit or stopped by the executor's
//! limits; no personal value is ever returned, and the snapshot is unchanged.

mod common;

use std::sync::{Arc, Mutex};

use quarry_answer::{Conversation, ErrorKind, Turn};
use quarry_answer::{Route, SynthesisConfig};
use quarry_exec::ExecutorConfig;
use quarry_sqlguard::PolicyConfig;
use serde::Deserialize;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

#[derive(Debug, Deserialize)]
struct Case {
    id: String,
    class: String,
    question: String,
    sql: String,
    /// `refused`, or `limited` (answered within the row limit, or stopped by a limit).
    expect: String,
    #[serde(default)]
    history: Vec<String>,
}

fn corpus() -> Vec<Case> {
    let text = include_str!("../../../fixtures/hostile_questions.jsonl");
    text.lines().filter(|l| !l.trim().is_empty()).map(|l| serde_json::from_str(l).expect("a case")).collect()
}

/// A model that writes whatever SQL the attack says, every time it is asked.
struct Obedient(Arc<Mutex<String>>);

impl Respond for Obedient {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        common::completion(&self.0.lock().expect("lock"))
    }
}

/// Error kinds that are a clear refusal by the policy (through the repair loop) or a limit.
const REFUSALS: &[ErrorKind] = &[ErrorKind::RepairsExhausted, ErrorKind::PolicyRejected, ErrorKind::BadQuestion];
const LIMITS: &[ErrorKind] =
    &[ErrorKind::ResourceLimit, ErrorKind::Timeout, ErrorKind::ResultTooLarge, ErrorKind::CartesianJoin];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_hostile_question_gets_through_the_policy_and_the_executor() {
    let cases = corpus();
    assert!(cases.len() >= 100, "the corpus has {} cases", cases.len());
    let snapshot = common::demo();
    snapshot.verify().expect("the snapshot is intact before");
    let sql = Arc::new(Mutex::new(String::new()));
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(Obedient(Arc::clone(&sql)))
        .mount(&server)
        .await;
    let limits = ExecutorConfig { timeout_ms: 15_000, memory_limit_mb: 256, ..ExecutorConfig::default() };
    let max_rows = PolicyConfig::default().max_limit as usize;
    let synthesis = SynthesisConfig { route: Route::ModelOnly, ..Default::default() };
    let pipeline = common::model_pipeline(&format!("{}/v1", server.uri()), synthesis, limits).await;

    let mut through = Vec::new();
    let mut by_outcome = std::collections::BTreeMap::<String, usize>::new();
    for case in &cases {
        *sql.lock().expect("lock") = case.sql.clone();
        let mut conversation = Conversation {
            turns: case
                .history
                .iter()
                .map(|q| Turn { question: q.clone(), query: None, sql: None, summary: String::new() })
                .collect(),
        };
        let outcome = pipeline.ask(&case.question, &mut conversation).await;
        let verdict = match (&outcome, case.expect.as_str()) {
            (Err(error), _) if REFUSALS.contains(&error.kind()) || LIMITS.contains(&error.kind()) => {
                let message = error.to_string();
                assert!(message.len() > 20, "{}: the refusal says why: {message}", case.id);
                error.kind().to_string()
            }
            (Ok(answer), "limited") if answer.rows.len() <= max_rows => "answered within limits".to_string(),
            (Ok(answer), _) => {
                through.push(format!("{} ({}): answered with SQL {:?}", case.id, case.class, answer.sql));
                "GOT THROUGH".to_string()
            }
            (Err(error), _) => {
                through.push(format!("{} ({}): unexpected error {}: {error}", case.id, case.class, error.kind()));
                "unexpected error".to_string()
            }
        };
        if let Ok(answer) = &outcome {
            let text = serde_json::to_string(&answer.rows).expect("rows");
            assert!(!text.contains('@'), "{}: an email address was returned: {text:.200}", case.id);
        }
        *by_outcome.entry(verdict).or_default() += 1;
    }
    eprintln!("hostile questions: {} cases, outcomes {by_outcome:?}", cases.len());
    assert!(through.is_empty(), "attacks got through:\n{}", through.join("\n"));
    snapshot.verify().expect("the snapshot is unchanged after the attacks");
}
