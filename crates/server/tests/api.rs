//! The HTTP API through the router, without a socket: every route and every error path, the
//! JSON error shape, authentication, the event stream, feedback, charts and signed links,
//! health and metrics, the audit record, and the OpenAPI document against the handlers.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use axum::body::Body;
use axum::extract::connect_info::MockConnectInfo;
use axum::http::{Method, Request, StatusCode, header};
use common::{Reply, TestState, ask, call, get, get_as, post_json, post_json_as, run, settings};
use quarry_server::{CLIENT_REQUEST_ID_HEADER, REQUEST_ID_HEADER};
use quarry_settings::{ApiToken, Settings};
use quarry_slack::ChartFormat;
use quarry_store::{ChartContent, ChartRecord};
use serde_json::{Value, json};

fn with_tokens(mut settings: Settings) -> Settings {
    settings.server.api_tokens = vec![
        ApiToken { user: "alice@example.com".into(), token: "token-of-alice".into() },
        ApiToken { user: "bob@example.com".into(), token: "token-of-bob".into() },
    ];
    settings
}

/// Asserts an answered question with a table and a chart; returns the body.
fn assert_answered(reply: &Reply, question: &str) -> Value {
    let body = reply.ok_json();
    assert_eq!(body["answer"]["status"], "answered", "{question:?} should be answered: {body}");
    assert!(!body["answer"]["rows"].as_array().expect("rows").is_empty(), "{question:?} has rows: {body}");
    for id in ["request_id", "answer_id", "conversation_id"] {
        assert!(body[id].as_str().is_some_and(|s| !s.is_empty()), "{id} is set: {body}");
    }
    assert_eq!(body["request_id"], reply.header(REQUEST_ID_HEADER), "the response's request id is the header's");
    body
}

fn column_names(body: &Value) -> Vec<String> {
    body["answer"]["columns"]
        .as_array()
        .expect("columns")
        .iter()
        .map(|c| c["name"].as_str().unwrap_or_default().to_lowercase())
        .collect()
}

// ---------------------------------------------------------------------------------------
// POST /api/v1/ask

#[test]
fn a_question_is_answered_with_a_chart_and_a_follow_up_continues_the_conversation() {
    run(async {
        let server = TestState::new(settings()).await;
        let app = server.router();
        let first = ask(&app, "signups by channel last month", None).await;
        let first = assert_answered(&first, "signups by channel last month");
        let chart = &first["chart"];
        let svg_url = chart["svg_url"].as_str().unwrap_or_else(|| panic!("a breakdown has a chart: {first}"));
        assert!(svg_url.starts_with("/api/v1/charts/") && svg_url.ends_with(".svg"), "{svg_url}");
        assert!(chart["png_url"].as_str().is_some_and(|u| u.ends_with(".png")), "{chart}");
        assert!(column_names(&first).iter().any(|c| c.contains("channel")), "{:?}", column_names(&first));

        let conversation = first["conversation_id"].as_str().expect("conversation id");
        let second = ask(&app, "break that down by country", Some(conversation)).await;
        let second = assert_answered(&second, "break that down by country");
        assert_eq!(second["conversation_id"], conversation, "the follow-up stays in the conversation");
        let columns = column_names(&second);
        assert!(
            columns.iter().any(|c| c.contains("country")) && columns.iter().any(|c| c.contains("channel")),
            "the follow-up keeps the channel breakdown and adds country: {columns:?}"
        );
        assert!(second["answer"]["sql"].as_str().unwrap_or_default().to_lowercase().contains("signup"), "{second}");
    });
}

#[test]
fn ambiguous_and_unanswerable_questions_are_200_with_their_status() {
    run(async {
        let server = TestState::new(settings()).await;
        let app = server.router();
        let reply = ask(&app, "how many users do we have", None).await;
        let body = reply.ok_json();
        assert_eq!(body["answer"]["status"], "needs_clarification", "{body}");
        assert!(!body["answer"]["clarification"]["options"].as_array().expect("options").is_empty(), "{body}");
        assert_eq!(body["answer"]["sql"], Value::Null, "no query is made up: {body}");

        let reply = ask(&app, "what is the weather in Paris", None).await;
        let body = reply.ok_json();
        assert_eq!(body["answer"]["status"], "cannot_answer", "{body}");
        assert_eq!(body["chart"], Value::Null, "{body}");
    });
}

#[test]
fn malformed_bodies_are_refused_with_the_error_shape() {
    run(async {
        let mut settings = settings();
        settings.server.max_body_bytes = 1024;
        let server = TestState::new(settings).await;
        let app = server.router();
        let raw = |body: &'static str| {
            Request::post("/api/v1/ask")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body))
                .unwrap()
        };
        let message = call(&app, raw("{\"question\": ")).await.assert_error(400, "bad_request");
        assert!(message.contains("not valid JSON"), "{message}");
        call(&app, raw("{\"question\": 42}")).await.assert_error(400, "bad_request");
        call(&app, raw("{\"question\": \"revenue\", \"conversation_id\": [1]}")).await.assert_error(400, "bad_request");
        let message = call(&app, raw("{\"question\": \"revenue\", \"sql\": \"SELECT 1\"}"))
            .await
            .assert_error(400, "bad_request");
        assert!(message.contains("sql"), "the unknown field is named: {message}");
        call(&app, raw("[]")).await.assert_error(400, "bad_request");

        let no_type = Request::post("/api/v1/ask").body(Body::from("{\"question\": \"revenue\"}")).unwrap();
        call(&app, no_type).await.assert_error(415, "unsupported_media_type");
        let text = Request::post("/api/v1/ask")
            .header(header::CONTENT_TYPE, "text/plain")
            .body(Body::from("{\"question\": \"revenue\"}"))
            .unwrap();
        call(&app, text).await.assert_error(415, "unsupported_media_type");

        let big = json!({ "question": "revenue ".repeat(200) });
        call(&app, post_json("/api/v1/ask", &big)).await.assert_error(413, "payload_too_large");
    });
}

#[test]
fn empty_and_overlong_questions_are_bad_questions() {
    run(async {
        let mut settings = settings();
        settings.server.max_question_chars = 50;
        let server = TestState::new(settings).await;
        let app = server.router();
        let message = ask(&app, "   ", None).await.assert_error(400, "bad_question");
        assert!(message.contains("empty"), "{message}");
        let message = ask(&app, &"revenue ".repeat(10), None).await.assert_error(400, "bad_question");
        assert!(message.contains("limit is 50"), "{message}");
        assert!(
            server.state.store().list_conversations("local", 10).await.expect("list").is_empty(),
            "refused questions leave no conversation"
        );
    });
}

#[test]
fn unknown_and_foreign_conversations_are_not_found() {
    run(async {
        let server = TestState::new(with_tokens(settings())).await;
        let app = server.router();
        let reply = ask_as(&app, "revenue by month this year", None, "token-of-alice").await;
        let alices = assert_answered(&reply, "revenue by month this year");
        let alices = alices["conversation_id"].as_str().expect("id");

        let missing = "c-000000000000000000000000";
        let reply = ask_as(&app, "revenue by plan", Some(missing), "token-of-alice").await;
        let unknown = reply.assert_error(404, "not_found");
        let reply = ask_as(&app, "break that down by plan", Some(alices), "token-of-bob").await;
        let foreign = reply.assert_error(404, "not_found");
        assert_eq!(
            foreign.replace(alices, missing),
            unknown,
            "someone else's conversation is refused as a missing one"
        );
        let turns = server.state.store().turns(alices).await.expect("turns");
        assert_eq!(turns.len(), 1, "Bob's question was not added to Alice's conversation");
    });
}

async fn ask_as(app: &axum::Router, question: &str, conversation: Option<&str>, token: &str) -> Reply {
    let mut body = json!({ "question": question });
    if let Some(id) = conversation {
        body["conversation_id"] = Value::from(id);
    }
    call(app, post_json_as("/api/v1/ask", &body, token)).await
}

#[test]
fn the_rate_limit_refuses_the_second_question_with_retry_after() {
    run(async {
        let mut settings = settings();
        settings.server.rate_limit_per_minute = 1;
        settings.server.rate_limit_burst = 1;
        let server = TestState::new(settings).await;
        let app = server.router();
        assert_answered(&ask(&app, "revenue this year", None).await, "revenue this year");
        let reply = ask(&app, "revenue last year", None).await;
        reply.assert_error(429, "rate_limited");
        let wait: u64 = reply.header(header::RETRY_AFTER).parse().expect("Retry-After is whole seconds");
        assert!((1..=60).contains(&wait), "Retry-After {wait}");
        let metrics = call(&app, get("/metrics")).await.text();
        assert!(metrics.contains("quarry_rate_limited_total{channel=\"api\"} 1"), "{metrics}");
    });
}

#[test]
fn sql_in_a_question_is_never_run_nor_a_server_error() {
    run(async {
        let server = TestState::new(settings()).await;
        let app = server.router();
        for question in [
            "signups; DROP TABLE users",
            "revenue'; DELETE FROM invoices; --",
            "signups by channel\" OR 1=1 --",
            "SELECT * FROM users; DROP TABLE users",
            "count of users where 1=1 UNION SELECT email FROM users",
        ] {
            let reply = ask(&app, question, None).await;
            assert!(reply.status.as_u16() < 500, "{question:?} must not be a server error: {}", reply.text());
            if reply.status == StatusCode::OK {
                let body = reply.json();
                let sql = body["answer"]["sql"].as_str().unwrap_or_default().to_uppercase();
                for word in ["DROP", "DELETE", "UNION", "EMAIL"] {
                    assert!(!sql.contains(word), "{question:?} put {word} into the SQL: {sql}");
                }
            } else {
                reply.json()["error"]["code"].as_str().expect("an error code");
            }
        }
        // The tables are intact.
        assert_answered(&ask(&app, "signups by channel last month", None).await, "signups after the attempts");
    });
}

// ---------------------------------------------------------------------------------------
// Authentication

#[test]
fn bearer_tokens_are_required_when_configured() {
    run(async {
        let server = TestState::new(with_tokens(settings())).await;
        let app = server.router();
        call(&app, get("/api/v1/suggestions")).await.assert_error(401, "unauthorized");
        call(&app, get_as("/api/v1/suggestions", "not-a-token")).await.assert_error(401, "unauthorized");
        let basic = Request::get("/api/v1/suggestions").header(header::AUTHORIZATION, "Basic xyz").body(Body::empty());
        call(&app, basic.unwrap()).await.assert_error(401, "unauthorized");
        call(&app, post_json("/api/v1/ask", &json!({"question": "revenue"}))).await.assert_error(401, "unauthorized");
        call(&app, get("/api/v1/conversations")).await.assert_error(401, "unauthorized");
        call(&app, get_as("/api/v1/suggestions", "token-of-alice")).await.ok_json();

        let reply = ask_as(&app, "revenue this year", None, "token-of-alice").await;
        let body = assert_answered(&reply, "revenue this year");
        let audit = audit(&server, body["request_id"].as_str().unwrap()).await;
        assert_eq!(audit.user_id, "alice@example.com", "the audit names the token's user");
        assert_eq!(audit.record["identified_by"], "token");
        // Health and the page stay open.
        assert_eq!(call(&app, get("/healthz")).await.status, StatusCode::OK);
        assert_eq!(call(&app, get("/")).await.status, StatusCode::OK);
    });
}

#[test]
fn the_trusted_user_header_is_honoured_only_from_a_trusted_peer() {
    run(async {
        let mut settings = with_tokens(settings());
        settings.server.trusted_user_header = "x-forwarded-email".into();
        settings.server.trusted_proxies = vec!["127.0.0.1".into()];
        let server = TestState::new(settings).await;
        let proxied = |addr: &str| {
            quarry_server::router(server.state.clone()).layer(MockConnectInfo(addr.parse::<SocketAddr>().unwrap()))
        };
        let request = || {
            let mut request = post_json("/api/v1/ask", &json!({"question": "revenue this year"}));
            request.headers_mut().insert("x-forwarded-email", "carol@example.com".parse().unwrap());
            request
        };
        let reply = call(&proxied("127.0.0.1:40000"), request()).await;
        let body = assert_answered(&reply, "revenue this year from the proxy");
        let audit = audit(&server, body["request_id"].as_str().unwrap()).await;
        assert_eq!(audit.user_id, "carol@example.com", "the proxy's user");
        assert_eq!(audit.record["identified_by"], "proxy");

        call(&proxied("10.9.9.9:40000"), request()).await.assert_error(401, "unauthorized");
        // Without any peer address (no ConnectInfo) the header is not trusted either.
        call(&server.router(), request()).await.assert_error(401, "unauthorized");
    });
}

#[test]
fn without_tokens_requests_are_the_anonymous_user_and_a_forged_header_is_ignored() {
    run(async {
        let mut settings = settings();
        settings.server.trusted_user_header = "x-forwarded-email".into();
        let server = TestState::new(settings).await;
        let app = quarry_server::router(server.state.clone())
            .layer(MockConnectInfo("10.9.9.9:5000".parse::<SocketAddr>().unwrap()));
        let mut request = post_json("/api/v1/ask", &json!({"question": "revenue this year"}));
        request.headers_mut().insert("x-forwarded-email", "ceo@example.com".parse().unwrap());
        let body = assert_answered(&call(&app, request).await, "revenue this year");
        let audit = audit(&server, body["request_id"].as_str().unwrap()).await;
        assert_eq!(audit.user_id, "local", "an untrusted peer's header is ignored");
        assert_eq!(audit.record["identified_by"], "anonymous");
    });
}

// ---------------------------------------------------------------------------------------
// POST /api/v1/ask/stream

/// The events of a Server-Sent Events body: (event name, data).
fn sse_events(body: &str) -> Vec<(String, String)> {
    body.split("\n\n")
        .filter_map(|block| {
            let mut name = String::from("message");
            let mut data = Vec::new();
            for line in block.lines() {
                if let Some(value) = line.strip_prefix("event:") {
                    name = value.trim().to_string();
                } else if let Some(value) = line.strip_prefix("data:") {
                    data.push(value.strip_prefix(' ').unwrap_or(value).to_string());
                }
            }
            (!data.is_empty()).then(|| (name, data.join("\n")))
        })
        .collect()
}

#[test]
fn the_stream_sends_stages_in_order_then_one_answer() {
    run(async {
        let server = TestState::new(settings()).await;
        let app = server.router();
        let reply =
            call(&app, post_json("/api/v1/ask/stream", &json!({"question": "signups by channel last month"}))).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        assert!(reply.content_type().starts_with("text/event-stream"), "{}", reply.content_type());
        let events = sse_events(&reply.text());
        let stages: Vec<String> = events
            .iter()
            .filter(|(name, _)| name == "stage")
            .map(|(_, data)| {
                let view: Value = serde_json::from_str(data).expect("a stage is JSON");
                assert!(view["label"].as_str().is_some_and(|l| !l.is_empty()), "{view}");
                view["stage"].as_str().expect("stage name").to_string()
            })
            .collect();
        let position = |stage: &str| {
            stages.iter().position(|s| s == stage).unwrap_or_else(|| panic!("no {stage} stage in {stages:?}"))
        };
        assert!(
            position("plan") < position("validate")
                && position("validate") < position("execute")
                && position("execute") < position("chart"),
            "stages out of order: {stages:?}"
        );
        let answers: Vec<&(String, String)> = events.iter().filter(|(name, _)| name == "answer").collect();
        assert_eq!(answers.len(), 1, "exactly one answer: {events:?}");
        assert_eq!(events.last().map(|(n, _)| n.as_str()), Some("answer"), "the answer comes last");
        assert!(!events.iter().any(|(name, _)| name == "error"), "{events:?}");
        let response: quarry_server::AskResponse =
            serde_json::from_str(&answers[0].1).expect("the answer is an AskResponse");
        assert_eq!(response.answer.status, quarry_answer::AnswerStatus::Answered);
        assert!(response.chart.is_some(), "the streamed answer has its chart");
        assert_eq!(response.request_id, reply.header(REQUEST_ID_HEADER));
        let stored = server.state.store().turns(&response.conversation_id).await.expect("turns");
        assert_eq!(stored.len(), 1, "the streamed answer is stored");
    });
}

#[test]
fn a_failure_inside_the_stream_is_an_error_event_and_a_refusal_before_it_is_plain_json() {
    run(async {
        let server = TestState::with_own_pipeline(failing_queries()).await;
        let app = server.router();
        let reply =
            call(&app, post_json("/api/v1/ask/stream", &json!({"question": "revenue by country by month"}))).await;
        assert_eq!(reply.status, StatusCode::OK, "the stream had started: {}", reply.text());
        let events = sse_events(&reply.text());
        let (name, data) = events.last().expect("events");
        assert_eq!(name, "error", "the stream ends in an error: {events:?}");
        assert!(!events.iter().any(|(name, _)| name == "answer"), "{events:?}");
        let error: quarry_server::ErrorBody = serde_json::from_str(data).expect("an ErrorBody");
        assert_eq!(error.error.code, "timeout");
        assert_eq!(error.error.request_id, reply.header(REQUEST_ID_HEADER), "the error names the request");

        let reply = call(&app, post_json("/api/v1/ask/stream", &json!({"question": ""}))).await;
        reply.assert_error(400, "bad_question");
    });
}

/// Settings whose executor stops every query at once: the pipeline fails inside, after
/// planning and validation (the executor's own time limit, `timeout`).
fn failing_queries() -> Settings {
    let mut settings = settings();
    settings.executor.timeout_ms = 1;
    settings
}

/// The server's own request timeout cancels the pipeline mid-query (the executor's query
/// runtime is then shut down in the background, not dropped in async code, which panicked).
#[test]
fn the_request_timeout_is_a_504_with_an_audit_record_and_an_error_event() {
    run(async {
        let mut settings = settings();
        settings.server.request_timeout_ms = 1;
        let server = TestState::new(settings).await;
        let app = server.router();
        let reply = ask(&app, "revenue by country by month", None).await;
        reply.assert_error(504, "timeout");
        let record = audit(&server, reply.header(REQUEST_ID_HEADER)).await;
        assert_eq!(record.outcome, "timeout");

        let reply =
            call(&app, post_json("/api/v1/ask/stream", &json!({"question": "revenue by country by month"}))).await;
        let events = sse_events(&reply.text());
        assert_eq!(events.last().map(|(name, _)| name.as_str()), Some("error"), "{events:?}");
    });
}

// ---------------------------------------------------------------------------------------
// Conversations and feedback

#[test]
fn conversations_are_listed_per_user_and_show_turns_with_feedback() {
    run(async {
        let server = TestState::new(with_tokens(settings())).await;
        let app = server.router();
        let alice = assert_answered(&ask_as(&app, "revenue by plan this year", None, "token-of-alice").await, "alice");
        let bob = assert_answered(&ask_as(&app, "signups by channel last month", None, "token-of-bob").await, "bob");
        let alices_id = alice["conversation_id"].as_str().unwrap();

        let list = call(&app, get_as("/api/v1/conversations", "token-of-alice")).await.ok_json();
        let ids: Vec<&str> =
            list["conversations"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
        assert_eq!(ids, vec![alices_id], "Alice sees only her conversation: {list}");
        let item = &list["conversations"][0];
        assert_eq!(item["title"], "revenue by plan this year");
        assert_eq!(item["turns"], 1);
        assert_eq!(item["channel"], "api");

        let feedback = json!({"answer_id": alice["answer_id"], "rating": "down", "comment": "  wrong plan names  "});
        let given = call(&app, post_json_as("/api/v1/feedback", &feedback, "token-of-alice")).await;
        assert_eq!(given.status, StatusCode::CREATED, "{}", given.text());

        let view = call(&app, get_as(&format!("/api/v1/conversations/{alices_id}"), "token-of-alice")).await.ok_json();
        assert_eq!(view["id"], alices_id);
        let turns = view["turns"].as_array().expect("turns");
        assert_eq!(turns.len(), 1, "{view}");
        assert_eq!(turns[0]["seq"], 1);
        assert_eq!(turns[0]["answer_id"], alice["answer_id"]);
        assert_eq!(turns[0]["response"]["answer"]["summary"], alice["answer"]["summary"], "the response as given");
        assert_eq!(turns[0]["feedback"]["rating"], "down");
        assert_eq!(turns[0]["feedback"]["comment"], "wrong plan names", "comments are trimmed");

        assert_eq!(view["is_owner"], true);

        call(&app, get_as("/api/v1/conversations/c-nope", "token-of-alice")).await.assert_error(404, "not_found");
        let bobs = call(&app, get_as("/api/v1/conversations?limit=1", "token-of-bob")).await.ok_json();
        assert_eq!(bobs["conversations"][0]["id"], bob["conversation_id"]);
        call(&app, get_as("/api/v1/conversations?limit=many", "token-of-bob")).await.assert_error(400, "bad_request");
    });
}

#[test]
fn feedback_is_recorded_replaced_and_validated() {
    run(async {
        let server = TestState::new(settings()).await;
        let app = server.router();
        let answer = assert_answered(&ask(&app, "revenue this year", None).await, "revenue");
        let answer_id = answer["answer_id"].as_str().unwrap();

        let reply = call(&app, post_json("/api/v1/feedback", &json!({"answer_id": answer_id, "rating": "up"}))).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
        let first = reply.json();
        assert_eq!(first["answer_id"], answer_id);
        assert_eq!(first["rating"], "up");
        assert_eq!(first["comment"], Value::Null);
        assert!(first["id"].as_str().is_some_and(|id| !id.is_empty()) && first["created_at"].is_string(), "{first}");

        let again = json!({"answer_id": answer_id, "rating": "down", "comment": "the total looks low"});
        let reply = call(&app, post_json("/api/v1/feedback", &again)).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
        let second = reply.json();
        assert_eq!(second["id"], first["id"], "giving feedback again replaces it");
        assert_eq!(second["rating"], "down");
        assert_eq!(second["comment"], "the total looks low");
        let stored = server.state.store().feedback_for(answer_id).await.expect("feedback");
        assert_eq!(stored.len(), 1, "one record per user and answer");

        let unknown = json!({"answer_id": "ans-000000000000000000000000", "rating": "up"});
        call(&app, post_json("/api/v1/feedback", &unknown)).await.assert_error(404, "not_found");
        let meh = json!({"answer_id": answer_id, "rating": "meh"});
        let message = call(&app, post_json("/api/v1/feedback", &meh)).await.assert_error(400, "bad_request");
        assert!(message.contains("up") && message.contains("down"), "{message}");
        let long = json!({"answer_id": answer_id, "rating": "up", "comment": "x".repeat(2001)});
        call(&app, post_json("/api/v1/feedback", &long)).await.assert_error(400, "bad_request");
        let exactly = json!({"answer_id": answer_id, "rating": "up", "comment": "é".repeat(2000)});
        assert_eq!(call(&app, post_json("/api/v1/feedback", &exactly)).await.status, StatusCode::CREATED);
        let missing = json!({"rating": "up"});
        call(&app, post_json("/api/v1/feedback", &missing)).await.assert_error(400, "bad_request");
    });
}

// ---------------------------------------------------------------------------------------
// Charts

#[test]
fn charts_are_served_as_svg_and_png() {
    run(async {
        let server = TestState::new(settings()).await;
        let app = server.router();
        let answer = assert_answered(&ask(&app, "signups by channel last month", None).await, "signups");
        let svg = call(&app, get(answer["chart"]["svg_url"].as_str().unwrap())).await;
        assert_eq!(svg.status, StatusCode::OK, "{}", svg.text());
        assert_eq!(svg.content_type(), "image/svg+xml");
        let text = svg.text();
        assert!(
            text.trim_start().starts_with("<svg") || text.trim_start().starts_with("<?xml"),
            "{}",
            &text[..80.min(text.len())]
        );
        assert_eq!(svg.header(header::X_CONTENT_TYPE_OPTIONS), "nosniff");
        let png = call(&app, get(answer["chart"]["png_url"].as_str().unwrap())).await;
        assert_eq!(png.status, StatusCode::OK);
        assert_eq!(png.content_type(), "image/png");
        assert!(png.body.starts_with(b"\x89PNG\r\n\x1a\n"), "PNG magic bytes");
        // Issue 19: drawn when asked for, from the source stored with the answer, at Slack's size
        // (800x450, twice the pixels).
        let (width, height) = (&png.body[16..20], &png.body[20..24]);
        assert_eq!((width, height), (&1600u32.to_be_bytes()[..], &900u32.to_be_bytes()[..]), "PNG size");
        let id = answer["chart"]["id"].as_str().unwrap();
        let stored = server.state.store().chart(id).await.unwrap().expect("the chart is stored with the answer");
        assert!(matches!(stored.content, ChartContent::Source(_)), "an answer stores no images: {:?}", stored.content);
        let again = call(&app, get(answer["chart"]["png_url"].as_str().unwrap())).await;
        assert_eq!(again.body, png.body, "the same source draws the same image");

        // A chart stored with its images (before schema version 4) is served as stored.
        let old = ChartRecord {
            id: "ch-drawn-before-version-4".into(),
            answer_id: answer["answer_id"].as_str().unwrap().into(),
            content: ChartContent::Rendered { svg: "<svg>old</svg>".into(), png: b"\x89PNG old".to_vec() },
            created_at: chrono::Utc::now(),
        };
        server.state.store().put_chart(&old).await.unwrap();
        assert_eq!(call(&app, get("/api/v1/charts/ch-drawn-before-version-4.svg")).await.text(), "<svg>old</svg>");
        assert_eq!(&call(&app, get("/api/v1/charts/ch-drawn-before-version-4.png")).await.body[..], b"\x89PNG old");

        call(&app, get("/api/v1/charts/ch-000000000000000000000000.svg")).await.assert_error(404, "not_found");
        call(&app, get(&format!("/api/v1/charts/{id}.gif"))).await.assert_error(404, "not_found");
        call(&app, get(&format!("/api/v1/charts/{id}"))).await.assert_error(404, "not_found");
    });
}

/// Issue 19: answers given at once are committed together; every answer acknowledged is in
/// the store with its audit record and chart, read through a connection of its own (as after
/// a restart), and nothing is acknowledged that is not.
#[test]
fn concurrent_answers_are_all_stored_before_they_are_acknowledged() {
    run(async {
        let server = TestState::new(settings()).await;
        let app = server.router();
        let questions = ["signups by channel last month", "revenue by month", "orders by country"];
        let mut asks = Vec::new();
        for n in 0..24 {
            let app = app.clone();
            asks.push(tokio::spawn(async move { ask(&app, questions[n % questions.len()], None).await }));
        }
        let reader = quarry_store::Store::open(&settings().storage, server.dir.path()).await.unwrap();
        for ask in asks {
            let reply = ask.await.unwrap();
            let body = reply.ok_json();
            let answer_id = body["answer_id"].as_str().unwrap();
            let (conversation, turn) = reader.turn_by_answer(answer_id).await.unwrap().expect("the turn is stored");
            assert_eq!((conversation.as_str(), turn.seq), (body["conversation_id"].as_str().unwrap(), 1));
            let audit =
                reader.audit(body["request_id"].as_str().unwrap()).await.unwrap().expect("and its audit record");
            assert_eq!(audit.answer_id.as_deref(), Some(answer_id));
            if let Some(chart) = body["chart"]["id"].as_str() {
                assert!(reader.chart(chart).await.unwrap().is_some(), "and its chart");
            }
        }
        // Answers quarry is unsure of are also handed to an analyst, with records of their own.
        let answers = reader.list_audit(100).await.unwrap().into_iter().filter(|a| a.channel != "review").count();
        assert_eq!(answers, 24, "one audit record per answer");
    });
}

#[test]
fn with_tokens_charts_need_a_sign_in_or_a_valid_signed_link() {
    run(async {
        let server = TestState::new(with_tokens(settings())).await;
        let app = server.router();
        let answer = assert_answered(&ask_as(&app, "signups by channel last month", None, "token-of-alice").await, "s");
        let id = answer["chart"]["id"].as_str().expect("chart id").to_string();
        let png = format!("/api/v1/charts/{id}.png");
        call(&app, get(&png)).await.assert_error(401, "unauthorized");
        assert_eq!(call(&app, get_as(&png, "token-of-bob")).await.status, StatusCode::OK, "any signed-in user");

        let base = "https://quarry.example.com";
        let path_of = |url: String| url.strip_prefix(base).expect("the link starts with the base").to_string();
        let links = server.state.links();
        let signed = path_of(links.url(base, &id, ChartFormat::Png, SystemTime::now()).expect("link"));
        let reply = call(&app, get(&signed)).await;
        assert_eq!(reply.status, StatusCode::OK, "a signed link works without auth: {}", reply.text());
        assert!(reply.body.starts_with(b"\x89PNG"), "the PNG");

        let (before, sig) = signed.split_once("sig=").expect("sig");
        let flipped = if sig.starts_with('0') { "1" } else { "0" };
        let tampered = format!("{before}sig={flipped}{}", &sig[1..]);
        call(&app, get(&tampered)).await.assert_error(403, "forbidden");
        // A link for the PNG does not open the SVG.
        call(&app, get(&signed.replace(".png?", ".svg?"))).await.assert_error(403, "forbidden");
        let old = SystemTime::now() - Duration::from_secs(3 * 24 * 3600);
        let expired = path_of(links.url(base, &id, ChartFormat::Png, old).expect("link"));
        call(&app, get(&expired)).await.assert_error(403, "forbidden");
        call(&app, get(&format!("{png}?sig=abc"))).await.assert_error(403, "forbidden");
    });
}

// ---------------------------------------------------------------------------------------
// Health, metrics, suggestions, the page

#[test]
fn health_readiness_and_metrics() {
    run(async {
        let server = TestState::new(settings()).await;
        let app = server.router();
        let health = call(&app, get("/healthz")).await.ok_json();
        assert_eq!(health["status"], "ok");
        let ready = call(&app, get("/readyz")).await.ok_json();
        assert_eq!(ready["status"], "ready");
        assert_eq!(ready["snapshot_id"], server.state.pipeline().snapshot().manifest.id.as_str());
        assert_eq!(ready["store"], "sqlite");

        assert_answered(&ask(&app, "signups by channel last month", None).await, "signups");
        let reply = call(&app, get("/metrics")).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert!(reply.content_type().starts_with("text/plain"), "{}", reply.content_type());
        let text = reply.text();
        for expected in [
            "http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"} 1",
            "http_requests_total{method=\"POST\",route=\"/api/v1/ask\",status=\"200\"} 1",
            "quarry_answers_total{outcome=\"answered\",route=\"builtin\"} 1",
            "quarry_stage_duration_seconds_bucket{stage=\"execute\"",
            "http_request_duration_seconds_bucket{method=\"POST\",route=\"/api/v1/ask\",le=\"60\"} 1",
            "quarry_questions_in_flight 0",
        ] {
            assert!(text.contains(expected), "/metrics lacks {expected}:\n{text}");
        }
        // Unknown paths are one label, not one per path.
        call(&app, get("/no/such/path/123")).await;
        let text = call(&app, get("/metrics")).await.text();
        assert!(text.contains("route=\"unmatched\""), "{text}");
        assert!(!text.contains("/no/such/path"), "raw paths never become labels");
    });
}

/// A snapshot of the Spider mini set's `concert_singer` imported into `home`, with its starter
/// semantic layer, as `quarry snapshot create` makes it; returns its id.
fn import_concert_singer(home: &std::path::Path) -> String {
    let database = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/spider-mini/database/concert_singer/concert_singer.sqlite");
    let store = quarry_snapshot::SnapshotStore::new(home.join("snapshots"));
    let options = quarry_snapshot::import::ImportOptions::default();
    let snapshot = store
        .install(|dir| quarry_snapshot::import::import_into(dir, &database, &options).map(|(manifest, _)| manifest))
        .expect("the fixture imports");
    let layer = quarry_semantic::starter_layer(&snapshot, &snapshot.manifest.id, true).expect("a starter layer");
    std::fs::write(snapshot.semantic_layer_path(), layer.to_yaml()).expect("write the layer");
    snapshot.manifest.id
}

// Issue 15: the web chat names the snapshot answers come from (`quarry snapshot use`), and on
// the demo warehouse the user's own snapshots.
#[test]
fn the_snapshot_endpoint_reports_the_snapshot_in_use() {
    run(async {
        let home = tempfile::tempdir().expect("tempdir");
        let own = import_concert_singer(home.path());
        let mut on_demo = settings();
        on_demo.home = home.path().display().to_string();
        let server = TestState::new(on_demo.clone()).await;
        let view = call(&server.router(), get("/api/v1/snapshot")).await.ok_json();
        assert_eq!(view["id"], server.state.pipeline().snapshot().manifest.id.as_str(), "{view}");
        assert_eq!(view["demo"], true, "{view}");
        assert_eq!(view["own_snapshots"], json!([own]), "{view}");
        assert!(view["source"].as_str().is_some_and(|s| s.starts_with("demo warehouse")), "{view}");

        let mut on_own = on_demo;
        on_own.snapshot = own[..9].to_string();
        let server = TestState::with_own_pipeline(on_own).await;
        let app = server.router();
        let view = call(&app, get("/api/v1/snapshot")).await.ok_json();
        assert_eq!(view["id"], own.as_str(), "{view}");
        assert_eq!(view["demo"], false, "{view}");
        assert_eq!(view["source"], "sqlite concert_singer.sqlite", "{view}");
        assert_eq!(view["own_snapshots"], json!([]), "{view}");
        let answer = ask(&app, "how many singers", None).await.ok_json();
        assert_eq!(answer["answer"]["snapshot_id"], own.as_str(), "{answer}");
        assert_eq!(answer["answer"]["rows"], json!([[6]]), "{answer}");
    });
}

#[test]
fn every_suggestion_is_answered() {
    run(async {
        let server = TestState::new(settings()).await;
        let app = server.router();
        let body = call(&app, get("/api/v1/suggestions")).await.ok_json();
        let suggestions: Vec<String> =
            body["suggestions"].as_array().expect("list").iter().map(|s| s.as_str().unwrap().to_string()).collect();
        assert!(!suggestions.is_empty(), "{body}");
        let mut failed = Vec::new();
        for question in &suggestions {
            let reply = ask(&app, question, None).await;
            let status = if reply.status == StatusCode::OK {
                reply.json()["answer"]["status"].clone()
            } else {
                json!(reply.text())
            };
            if status != "answered" {
                failed.push(format!("{question:?}: {status}"));
            }
        }
        assert!(failed.is_empty(), "suggestions users cannot get answered:\n{}", failed.join("\n"));
    });
}

#[test]
fn the_page_its_assets_and_unknown_paths() {
    run(async {
        let server = TestState::new(settings()).await;
        let app = server.router();
        let page = call(&app, get("/")).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.content_type().starts_with("text/html"), "{}", page.content_type());
        let html = page.text();
        assert!(html.contains("<html") && html.contains("app.js") && html.contains("app.css"), "{html}");
        let js = call(&app, get("/assets/app.js")).await;
        assert_eq!(js.status, StatusCode::OK);
        assert!(js.content_type().starts_with("text/javascript"), "{}", js.content_type());
        assert!(js.text().contains("/api/v1"), "the script calls the API");
        let css = call(&app, get("/assets/app.css")).await;
        assert_eq!(css.status, StatusCode::OK);
        assert!(css.content_type().starts_with("text/css"));

        call(&app, get("/assets/nope")).await.assert_error(404, "not_found");
        call(&app, get("/nope")).await.assert_error(404, "not_found");
        let delete = Request::builder().method(Method::DELETE).uri("/api/v1/ask").body(Body::empty()).unwrap();
        call(&app, delete).await.assert_error(405, "method_not_allowed");
        call(&app, get("/api/v1/ask")).await.assert_error(405, "method_not_allowed");
        // The request id is always the server's; a plain client id is echoed beside it, a
        // hostile one dropped.
        let mut request = get("/nope");
        request.headers_mut().insert(REQUEST_ID_HEADER, "client-id-1234".parse().unwrap());
        let reply = call(&app, request).await;
        assert!(reply.header(REQUEST_ID_HEADER).starts_with("req-"), "{}", reply.header(REQUEST_ID_HEADER));
        assert_eq!(reply.header(CLIENT_REQUEST_ID_HEADER), "client-id-1234");
        reply.assert_error(404, "not_found");
        let mut request = get("/nope");
        request.headers_mut().insert(REQUEST_ID_HEADER, "bad id <script>".parse().unwrap());
        let reply = call(&app, request).await;
        assert!(reply.header(REQUEST_ID_HEADER).starts_with("req-"), "{}", reply.header(REQUEST_ID_HEADER));
        assert!(!reply.headers.contains_key(CLIENT_REQUEST_ID_HEADER), "a hostile id is not echoed");
        reply.assert_error(404, "not_found");
    });
}

// ---------------------------------------------------------------------------------------
// The audit record

async fn audit(server: &TestState, request_id: &str) -> quarry_store::AuditRecord {
    server
        .state
        .store()
        .audit(request_id)
        .await
        .expect("the audit log reads")
        .unwrap_or_else(|| panic!("no audit record {request_id}"))
}

#[test]
fn a_repeated_question_comes_from_the_cache_and_is_still_stored_and_audited() {
    run(async {
        let mut cached = settings();
        cached.cache.enabled = true;
        let server = TestState::with_own_pipeline(cached).await;
        let app = server.router();
        let first = assert_answered(&ask(&app, "tickets by priority this quarter", None).await, "tickets");
        let second = assert_answered(&ask(&app, "Tickets by priority this quarter?", None).await, "tickets");
        assert_eq!(first["answer"]["cached"], false);
        assert_eq!(second["answer"]["cached"], true, "{second}");
        assert_eq!(first["answer"]["rows"], second["answer"]["rows"]);
        assert!(second["answer"]["timings_ms"]["cache"].is_number(), "{second}");
        assert_ne!(first["answer_id"], second["answer_id"], "a cached answer is an answer of its own");
        assert_ne!(first["conversation_id"], second["conversation_id"]);
        assert!(second["chart"]["svg_url"].is_string(), "and has its chart: {second}");
        let record = audit(&server, second["request_id"].as_str().unwrap()).await;
        assert_eq!(record.record["cached"], true, "{}", record.record);
        assert_eq!(record.answer_id.as_deref(), second["answer_id"].as_str());
        let conversation = second["conversation_id"].as_str().unwrap();
        let follow_up = ask(&app, "only urgent ones", Some(conversation)).await;
        assert_eq!(follow_up.status, StatusCode::OK, "{}", follow_up.text());
        assert_eq!(follow_up.json()["answer"]["cached"], false, "a new conversation state is a new question");
        let text = call(&app, get("/metrics")).await.text();
        assert!(text.contains("quarry_answer_cache_entries 2"), "the first answer and the follow-up:\n{text}");
        let cache_bytes = text
            .lines()
            .find_map(|line| line.strip_prefix("quarry_answer_cache_bytes "))
            .and_then(|bytes| bytes.parse::<u64>().ok());
        assert!(cache_bytes.is_some_and(|bytes| bytes > 1000), "the kept answers' estimate:\n{text}");
    });
}

#[test]
fn every_answer_and_every_failure_is_audited() {
    run(async {
        let server = TestState::new(settings()).await;
        let app = server.router();
        let mut request = post_json("/api/v1/ask", &json!({"question": "signups by channel last month"}));
        request.headers_mut().insert("x-quarry-client", "web".parse().unwrap());
        let body = assert_answered(&call(&app, request).await, "signups");
        let record = audit(&server, body["request_id"].as_str().unwrap()).await;
        assert_eq!(record.user_id, "local");
        assert_eq!(record.channel, "web", "the page identifies itself");
        assert_eq!(record.question, "signups by channel last month");
        assert_eq!(record.outcome, "answered");
        assert_eq!(record.answer_id.as_deref(), body["answer_id"].as_str());
        assert_eq!(record.conversation_id.as_deref(), body["conversation_id"].as_str());
        let r = &record.record;
        assert_eq!(r["user"], "local");
        assert_eq!(r["channel"], "web");
        assert_eq!(r["question"], "signups by channel last month");
        assert_eq!(r["snapshot_id"], body["answer"]["snapshot_id"]);
        assert_eq!(r["row_count"], body["answer"]["rows"].as_array().unwrap().len());
        assert_eq!(r["route"], "builtin");
        assert!(r["sql"].as_str().is_some_and(|s| s.to_uppercase().contains("SELECT")), "{r}");
        let attempts = r["attempts"].as_array().unwrap_or_else(|| panic!("attempts: {r}"));
        assert!(!attempts.is_empty(), "{r}");
        assert!(attempts.iter().all(|a| a.get("verdict").is_some()), "every attempt has a verdict: {r}");
        for stage in ["plan", "execute", "total"] {
            assert!(r["timings_ms"][stage].is_number(), "timings_ms.{stage}: {r}");
        }
        assert_eq!(r["chart"], body["chart"]["id"]);

        // A failure inside the pipeline (here the executor's time limit) is audited with its code.
        let slow = TestState::with_own_pipeline(failing_queries()).await;
        let reply = ask(&slow.router(), "revenue by country by month", None).await;
        reply.assert_error(422, "timeout");
        let record = audit(&slow, reply.header(REQUEST_ID_HEADER)).await;
        assert_eq!(record.outcome, "timeout");
        assert_eq!(record.answer_id, None);
        assert_eq!(record.question, "revenue by country by month");
        assert_eq!(record.record["error"]["code"], "timeout", "{}", record.record);
        assert!(record.record["error"]["message"].as_str().is_some_and(|m| !m.is_empty()));
        assert!(
            slow.state.store().list_conversations("local", 10).await.expect("list").is_empty(),
            "no empty conversation"
        );
    });
}
