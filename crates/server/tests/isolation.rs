//! One user's request cannot reach another's: request ids are the server's (a client's
//! `X-Request-Id` is only kept beside them), an answer is stored only with its audit record,
//! and conversations and answers are their owner's unless the owner shares them; everything
//! else is 404, as a missing id is.

mod common;

use std::collections::BTreeSet;

use axum::Router;
use axum::http::StatusCode;
use common::{Reply, TestState, call, get_as, post_json_as, run, settings};
use quarry_server::{CLIENT_REQUEST_ID_HEADER, REQUEST_ID_HEADER};
use quarry_settings::{ApiToken, Settings};
use serde_json::{Value, json};
use sqlx::{AnyConnection, Connection, Executor};

const ALICE: &str = "token-of-alice";
const BOB: &str = "token-of-bob";
const QUESTION: &str = "revenue by plan this year";

fn with_tokens(mut settings: Settings) -> Settings {
    settings.server.api_tokens = vec![
        ApiToken { user: "alice@example.com".into(), token: ALICE.into() },
        ApiToken { user: "bob@example.com".into(), token: BOB.into() },
    ];
    settings
}

/// Asks `question` as the holder of `token`, continuing `conversation` if given, sending
/// `client_id` as `X-Request-Id` if given.
async fn ask(app: &Router, token: &str, question: &str, conversation: Option<&str>, client_id: Option<&str>) -> Reply {
    let mut body = json!({ "question": question });
    if let Some(id) = conversation {
        body["conversation_id"] = Value::from(id);
    }
    let mut request = post_json_as("/api/v1/ask", &body, token);
    if let Some(id) = client_id {
        request.headers_mut().insert(REQUEST_ID_HEADER, id.parse().expect("header"));
    }
    call(app, request).await
}

/// Asks as the holder of `token` and asserts an answer; returns the body.
async fn answered(app: &Router, token: &str, conversation: Option<&str>) -> Value {
    let body = ask(app, token, QUESTION, conversation, None).await.ok_json();
    assert_eq!(body["answer"]["status"], "answered", "{body}");
    body
}

fn text<'a>(body: &'a Value, field: &str) -> &'a str {
    body[field].as_str().unwrap_or_else(|| panic!("no {field} in {body}"))
}

/// Every answer id of every turn of `users`' conversations.
async fn turn_answer_ids(server: &TestState, users: &[&str]) -> BTreeSet<String> {
    let store = server.state.store();
    let mut ids = BTreeSet::new();
    for user in users {
        for conversation in store.list_conversations(user, 200).await.expect("list") {
            for turn in store.turns(&conversation.id).await.expect("turns") {
                ids.insert(turn.answer_id);
            }
        }
    }
    ids
}

/// Every audit record, newest first.
async fn audit_records(server: &TestState) -> Vec<quarry_store::AuditRecord> {
    let store = server.state.store();
    let mut records = Vec::new();
    for summary in store.list_audit(200).await.expect("list") {
        records.push(store.audit(&summary.id).await.expect("read").expect("listed, so there"));
    }
    records
}

/// A connection of the test's own to the server's SQLite store.
async fn raw_store(server: &TestState) -> AnyConnection {
    let url = format!("sqlite://{}", server.dir.path().join("quarry.db").display());
    AnyConnection::connect(&url).await.expect("the store's file opens")
}

// ---------------------------------------------------------------------------------------
// Request ids

#[test]
fn two_users_sending_the_same_request_id_are_both_answered_and_audited_under_server_ids() {
    run(async {
        let server = TestState::new(with_tokens(settings())).await;
        let app = server.router();
        const SHARED: &str = "client-chosen-id-0001";
        let mut bodies = Vec::new();
        for token in [ALICE, BOB] {
            let reply = ask(&app, token, QUESTION, None, Some(SHARED)).await;
            let body = reply.ok_json();
            assert_eq!(body["answer"]["status"], "answered", "{body}");
            let request_id = text(&body, "request_id");
            assert_eq!(request_id, reply.header(REQUEST_ID_HEADER), "the body's id is the header's");
            assert!(request_id.starts_with("req-") && request_id != SHARED, "the server's own id: {request_id}");
            assert_eq!(reply.header(CLIENT_REQUEST_ID_HEADER), SHARED, "the client's id is echoed");
            assert_eq!(body["client_request_id"], SHARED, "{body}");
            bodies.push(body);
        }
        // The streamed door keeps the ids in the task it answers in.
        let mut request = post_json_as("/api/v1/ask/stream", &json!({"question": QUESTION}), ALICE);
        request.headers_mut().insert(REQUEST_ID_HEADER, SHARED.parse().expect("header"));
        let reply = call(&app, request).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        let streamed = reply.header(REQUEST_ID_HEADER).to_string();
        assert!(reply.text().contains(&format!("\"request_id\":\"{streamed}\"")), "{}", reply.text());

        let request_ids: BTreeSet<&str> =
            bodies.iter().map(|b| text(b, "request_id")).chain([streamed.as_str()]).collect();
        assert_eq!(request_ids.len(), 3, "distinct ids: {request_ids:?}");
        let records = audit_records(&server).await;
        assert_eq!(records.len(), 3, "one audit record per request: {records:?}");
        for record in &records {
            assert!(request_ids.contains(record.id.as_str()), "{}", record.id);
            assert_eq!(record.outcome, "answered");
            assert_eq!(record.client_request_id.as_deref(), Some(SHARED), "the client's id is kept beside");
            assert_eq!(record.record["client_request_id"], SHARED, "{}", record.record);
        }
        for (body, user) in bodies.iter().zip(["alice@example.com", "bob@example.com"]) {
            let record = records.iter().find(|r| r.id == text(body, "request_id")).expect("audited");
            assert_eq!(record.user_id, user);
            assert_eq!(record.answer_id.as_deref(), Some(text(body, "answer_id")));
        }
        // No orphan turn: every stored answer has its audit record, and the other way round.
        let audited: BTreeSet<String> = records.iter().filter_map(|r| r.answer_id.clone()).collect();
        let stored = turn_answer_ids(&server, &["alice@example.com", "bob@example.com"]).await;
        assert_eq!(stored, audited);
    });
}

#[test]
fn an_answer_whose_audit_record_cannot_be_written_is_neither_given_nor_stored() {
    run(async {
        let server = TestState::new(with_tokens(settings())).await;
        let app = server.router();
        let first = answered(&app, ALICE, None).await;
        let conversation = text(&first, "conversation_id").to_string();
        let store = server.state.store();
        let before = store.conversation(&conversation).await.expect("read").expect("stored");

        // The store fails every audit record of an answer, as a broken disk would part-way
        // through the answer's writes; records of failures still go through.
        let mut raw = raw_store(&server).await;
        raw.execute(
            "CREATE TRIGGER fail_answer_audits BEFORE INSERT ON audit WHEN NEW.outcome = 'answered' \
             BEGIN SELECT RAISE(ABORT, 'injected audit failure'); END",
        )
        .await
        .expect("the trigger is made");

        for continued in [None, Some(conversation.as_str())] {
            let reply = ask(&app, ALICE, QUESTION, continued, None).await;
            let message = reply.assert_error(503, "storage_error");
            assert!(message.contains("could not be recorded in the audit log"), "{message}");
            let record = store.audit(reply.header(REQUEST_ID_HEADER)).await.expect("read").expect("the failure");
            assert_eq!((record.outcome.as_str(), record.answer_id.as_deref()), ("storage_error", None));
        }
        let conversations = store.list_conversations("alice@example.com", 10).await.expect("list");
        assert_eq!(conversations.len(), 1, "the failed first answer left no conversation: {conversations:?}");
        let after = store.conversation(&conversation).await.expect("read").expect("kept");
        assert_eq!(after, before, "the failed follow-up left the conversation as it was");
        let stored = turn_answer_ids(&server, &["alice@example.com"]).await;
        assert_eq!(stored, BTreeSet::from([text(&first, "answer_id").to_string()]), "no turn without its audit record");

        raw.execute("DROP TRIGGER fail_answer_audits").await.expect("the trigger is dropped");
        raw.close().await.expect("close");
        let second = answered(&app, ALICE, Some(&conversation)).await;
        assert_eq!(store.turns(&conversation).await.expect("turns").len(), 2, "{second}");
    });
}

// ---------------------------------------------------------------------------------------
// Ownership

#[test]
fn feedback_on_someone_elses_answer_is_not_found_unless_shared() {
    run(async {
        let server = TestState::new(with_tokens(settings())).await;
        let app = server.router();
        let alices = answered(&app, ALICE, None).await;
        let answer_id = text(&alices, "answer_id");
        let feedback = |share: Option<&str>| {
            let mut body = json!({"answer_id": answer_id, "rating": "down", "comment": "not mine"});
            if let Some(share) = share {
                body["share"] = Value::from(share);
            }
            post_json_as("/api/v1/feedback", &body, BOB)
        };
        let missing = "ans-000000000000000000000000";
        let unknown = call(&app, post_json_as("/api/v1/feedback", &json!({"answer_id": missing, "rating": "up"}), BOB))
            .await
            .assert_error(404, "not_found");
        let foreign = call(&app, feedback(None)).await.assert_error(404, "not_found");
        assert_eq!(foreign.replace(answer_id, missing), unknown, "refused as a missing answer is");
        // A share of another conversation opens nothing here.
        let bobs = answered(&app, BOB, None).await;
        let bobs_share = call(&app, post_json_as(&share_path(text(&bobs, "conversation_id")), &json!({}), BOB)).await;
        let bobs_share = bobs_share.json()["token"].as_str().expect("token").to_string();
        call(&app, feedback(Some(&bobs_share))).await.assert_error(404, "not_found");
        assert!(server.state.store().feedback_for(answer_id).await.expect("read").is_empty(), "nothing stored");

        let own = json!({"answer_id": answer_id, "rating": "up"});
        assert_eq!(call(&app, post_json_as("/api/v1/feedback", &own, ALICE)).await.status, StatusCode::CREATED);
        let share = call(&app, post_json_as(&share_path(text(&alices, "conversation_id")), &json!({}), ALICE)).await;
        let token = share.json()["token"].as_str().expect("token").to_string();
        let given = call(&app, feedback(Some(&token))).await;
        assert_eq!(given.status, StatusCode::CREATED, "with the share: {}", given.text());
        assert_eq!(given.json()["user_id"], "bob@example.com");
        assert_eq!(server.state.store().feedback_for(answer_id).await.expect("read").len(), 2);
    });
}

fn share_path(conversation: &str) -> String {
    format!("/api/v1/conversations/{conversation}/share")
}

fn read_path(conversation: &str, share: Option<&str>) -> String {
    match share {
        Some(token) => format!("/api/v1/conversations/{conversation}?share={token}"),
        None => format!("/api/v1/conversations/{conversation}"),
    }
}

#[test]
fn someone_elses_conversation_is_not_found_and_the_owner_reads_it() {
    run(async {
        let server = TestState::new(with_tokens(settings())).await;
        let app = server.router();
        let alices = answered(&app, ALICE, None).await;
        let conversation = text(&alices, "conversation_id");

        let view = call(&app, get_as(&read_path(conversation, None), ALICE)).await.ok_json();
        assert_eq!((view["id"].as_str(), view["is_owner"].as_bool()), (Some(conversation), Some(true)));
        assert_eq!(view["turns"][0]["answer_id"], alices["answer_id"], "{view}");

        let missing = "c-000000000000000000000000";
        let unknown = call(&app, get_as(&read_path(missing, None), BOB)).await.assert_error(404, "not_found");
        let foreign = call(&app, get_as(&read_path(conversation, None), BOB)).await.assert_error(404, "not_found");
        assert_eq!(foreign.replace(conversation, missing), unknown, "refused as a missing conversation is");
        let guessed = read_path(conversation, Some("sh-00000000000000000000000000000000"));
        call(&app, get_as(&guessed, BOB)).await.assert_error(404, "not_found");
    });
}

#[test]
fn a_share_lets_others_read_the_conversation_but_not_continue_it() {
    run(async {
        let server = TestState::new(with_tokens(settings())).await;
        let app = server.router();
        let alices = answered(&app, ALICE, None).await;
        let conversation = text(&alices, "conversation_id");

        let created = call(&app, post_json_as(&share_path(conversation), &json!({}), ALICE)).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
        let share = created.json();
        let token = text(&share, "token");
        assert_eq!(share["conversation_id"], conversation);
        assert!(
            text(&share, "url").ends_with(&format!("/#c={conversation}&share={token}")),
            "a link to the web chat: {share}"
        );
        let again = call(&app, post_json_as(&share_path(conversation), &json!({}), ALICE)).await;
        assert_eq!(again.status, StatusCode::OK, "{}", again.text());
        assert_eq!(again.json()["token"], token, "one share per conversation");

        let view = call(&app, get_as(&read_path(conversation, Some(token)), BOB)).await.ok_json();
        assert_eq!((view["id"].as_str(), view["is_owner"].as_bool()), (Some(conversation), Some(false)));
        assert_eq!(view["turns"][0]["answer_id"], alices["answer_id"], "{view}");
        assert_eq!(view["turns"][0]["feedback"], Value::Null, "Bob sees only his own feedback: {view}");

        let reply = ask(&app, BOB, "break that down by country", Some(conversation), None).await;
        reply.assert_error(404, "not_found");
        assert_eq!(server.state.store().turns(conversation).await.expect("turns").len(), 1, "only Alice continues it");
    });
}

#[test]
fn only_the_owner_can_share_a_conversation() {
    run(async {
        let server = TestState::new(with_tokens(settings())).await;
        let app = server.router();
        let alices = answered(&app, ALICE, None).await;
        let conversation = text(&alices, "conversation_id");

        let missing = "c-000000000000000000000000";
        let unknown =
            call(&app, post_json_as(&share_path(missing), &json!({}), BOB)).await.assert_error(404, "not_found");
        let foreign =
            call(&app, post_json_as(&share_path(conversation), &json!({}), BOB)).await.assert_error(404, "not_found");
        assert_eq!(foreign.replace(conversation, missing), unknown, "refused as a missing conversation is");
        call(&app, get_as(&read_path(conversation, None), BOB)).await.assert_error(404, "not_found");
        // Bob's attempt made no share: Alice's first share is a new one.
        let created = call(&app, post_json_as(&share_path(conversation), &json!({}), ALICE)).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    });
}
