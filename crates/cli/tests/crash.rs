//! `quarry serve` killed (SIGKILL) while clients ask questions and give feedback: after each
//! kill the database opens cleanly, the server starts again on it, and every write the server
//! acknowledged before the kill (the audit record and turn of each answer, each feedback) is
//! in the store. Three rounds on one data directory, killed at a random moment under load.

mod common;

use common::start_server;

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use quarry_store::{Rating, Store, StoreConfig};
use serde_json::{Value, json};

/// Questions the built-in planner answers quickly.
const QUESTIONS: &[&str] = &[
    "signups by channel last month",
    "revenue by plan last quarter",
    "support tickets by priority",
    "break that down by country",
];
/// Clients asking at once.
const CLIENTS: usize = 4;
/// Rounds of load, kill and check.
const ROUNDS: usize = 3;

/// A write the server acknowledged with a 2xx and a complete body.
#[derive(Debug, Clone)]
enum Acknowledged {
    /// An answer: its audit record (by request id) and its turn (by answer id).
    Answer { request_id: String, answer_id: String, conversation_id: String },
    /// Feedback on an answer by the anonymous user.
    Feedback { answer_id: String, rating: Rating, comment: String },
}

/// A random number from the standard library's per-process hasher keys.
fn random_u64() -> u64 {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(0);
    hasher.finish()
}

/// One client: questions (continuing its conversation half the time) and feedback on each
/// answer, until the server stops answering. Acknowledged writes go to `log`.
async fn client(url: String, n: usize, log: Arc<Mutex<Vec<Acknowledged>>>) {
    let http = reqwest::Client::builder().timeout(Duration::from_secs(60)).build().expect("client");
    let mut conversation: Option<String> = None;
    for i in 0.. {
        let question = QUESTIONS[(n + i) % QUESTIONS.len()];
        let mut body = json!({ "question": question });
        if let Some(id) = conversation.as_ref().filter(|_| i % 2 == 1) {
            body["conversation_id"] = Value::from(id.as_str());
        }
        let Ok(response) = http.post(format!("{url}/api/v1/ask")).json(&body).send().await else { return };
        let status = response.status();
        // A body cut by the kill is no acknowledgement.
        let Ok(answer) = response.json::<Value>().await else { return };
        if !status.is_success() {
            // Only load matters here; a refused question (e.g. a follow-up it cannot take) is fine.
            continue;
        }
        let text = |key: &str| answer[key].as_str().expect("the answer has its ids").to_string();
        let (request_id, answer_id) = (text("request_id"), text("answer_id"));
        conversation = Some(text("conversation_id"));
        log.lock().unwrap().push(Acknowledged::Answer {
            request_id,
            answer_id: answer_id.clone(),
            conversation_id: text("conversation_id"),
        });

        let rating = if i % 3 == 0 { Rating::Down } else { Rating::Up };
        let comment = format!("client {n}, answer {i}");
        let feedback = json!({ "answer_id": answer_id, "rating": rating, "comment": comment });
        let Ok(response) = http.post(format!("{url}/api/v1/feedback")).json(&feedback).send().await else { return };
        let status = response.status();
        let Ok(_) = response.bytes().await else { return };
        assert!(status.is_success() || status.is_server_error(), "feedback on a fresh answer: {status}");
        if status.is_success() {
            log.lock().unwrap().push(Acknowledged::Feedback { answer_id, rating, comment });
        }
    }
}

/// Checks every acknowledged write in the store at `home`; returns how many were checked.
async fn check_store(home: &Path, acknowledged: &[Acknowledged]) -> usize {
    let store = Store::open(&StoreConfig::default(), home).await.expect("the database opens cleanly after the kill");
    for write in acknowledged {
        match write {
            Acknowledged::Answer { request_id, answer_id, conversation_id } => {
                let audit = store.audit(request_id).await.expect("the audit log reads");
                let audit = audit.unwrap_or_else(|| panic!("the acknowledged answer {answer_id} has no audit record"));
                assert_eq!(audit.answer_id.as_deref(), Some(answer_id.as_str()), "{audit:?}");
                let turn = store.turn_by_answer(answer_id).await.expect("turns read");
                let (conversation, _) =
                    turn.unwrap_or_else(|| panic!("the acknowledged answer {answer_id} has no turn"));
                assert_eq!(&conversation, conversation_id);
            }
            Acknowledged::Feedback { answer_id, rating, comment } => {
                let feedback = store.feedback_for(answer_id).await.expect("feedback reads");
                let mine = feedback.iter().find(|f| f.user_id == "local");
                let mine = mine.unwrap_or_else(|| panic!("the acknowledged feedback on {answer_id} is lost"));
                assert_eq!((&mine.rating, mine.comment.as_deref()), (rating, Some(comment.as_str())));
            }
        }
    }
    store.close().await;
    acknowledged.len()
}

#[test]
fn acknowledged_writes_survive_the_server_being_killed_under_load() {
    let dir = tempfile::tempdir().expect("tempdir");
    let home = dir.path().to_path_buf();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let log: Arc<Mutex<Vec<Acknowledged>>> = Arc::default();
    let mut checked = Vec::new();
    for round in 1..=ROUNDS {
        let mut server = start_server(
            &home,
            &[
                ("QUARRY_SERVER__CHART_LINK_SECRET", "a test secret of chart links"),
                ("QUARRY_SERVER__RATE_LIMIT_PER_MINUTE", "1000000"),
                ("QUARRY_SERVER__RATE_LIMIT_BURST", "100000"),
            ],
        );
        let before = log.lock().unwrap().len();
        runtime.block_on(async {
            let ready = reqwest::get(format!("{}/readyz", server.url)).await.expect("readyz answers");
            assert!(ready.status().is_success(), "the server is ready on the killed database: {}", ready.status());
            let clients: Vec<_> = (0..CLIENTS)
                .map(|n| tokio::spawn(client(server.url.clone(), n + round * CLIENTS, Arc::clone(&log))))
                .collect();
            // Under load: a few acknowledged writes first, then a random moment.
            let loaded = async {
                while log.lock().unwrap().len() < before + CLIENTS {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            };
            tokio::time::timeout(Duration::from_secs(120), loaded).await.expect("the server acknowledges writes");
            tokio::time::sleep(Duration::from_millis(random_u64() % 1500)).await;
            server.child.kill().expect("SIGKILL");
            server.child.wait().expect("the server is gone");
            for client in clients {
                tokio::time::timeout(Duration::from_secs(60), client)
                    .await
                    .expect("clients stop when the server is gone")
                    .expect("a client panicked");
            }
        });
        drop(server);
        let acknowledged = log.lock().unwrap().clone();
        let in_round = acknowledged.len() - before;
        // Every round checks the writes of every earlier round as well.
        let total = runtime.block_on(check_store(&home, &acknowledged));
        eprintln!("round {round}: {in_round} writes acknowledged before the kill; {total} checked in the store");
        checked.push(in_round);
    }
    let total: usize = checked.iter().sum();
    eprintln!("{total} acknowledged writes checked across {ROUNDS} kills ({checked:?} per round)");
}
