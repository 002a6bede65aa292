//! Issue 21, the review queue through the API: questions quarry could not answer enter it, an
//! analyst answers one with SQL, the answer lands in the asker's conversation marked "answered
//! by", promoting it makes the same question answered from the verified question; and every
//! refusal of the queue's permissions (403 with the stable error body).

mod common;

use std::net::SocketAddr;

use axum::extract::connect_info::MockConnectInfo;
use common::{Reply, TestState, call, get_as, post_json, post_json_as, run, settings};
use quarry_settings::{ApiToken, Settings};
use serde_json::{Value, json};

/// A question the demo's layer has no words for: quarry says it did not understand.
const UNANSWERABLE: &str = "how many unicorns";
/// The analyst's SQL for it.
const ANALYST_SQL: &str = "SELECT plan, COUNT(*) AS subscriptions FROM subscriptions GROUP BY plan ORDER BY plan";

fn review_settings() -> Settings {
    let mut settings = settings();
    settings.server.api_tokens = ["pam", "bob", "carl"]
        .into_iter()
        .map(|user| ApiToken { user: user.into(), token: format!("token-of-{user}") })
        .collect();
    settings.server.analysts = vec!["carl".into()];
    settings
}

async fn ask_as(server: &TestState, who: &str, question: &str) -> Value {
    let reply = call(&server.router(), post_json_as("/api/v1/ask", &json!({"question": question}), &token(who))).await;
    reply.ok_json()
}

fn token(who: &str) -> String {
    format!("token-of-{who}")
}

async fn get(server: &TestState, who: &str, uri: &str) -> Reply {
    call(&server.router(), get_as(uri, &token(who))).await
}

async fn post(server: &TestState, who: &str, uri: &str, body: Value) -> Reply {
    call(&server.router(), post_json_as(uri, &body, &token(who))).await
}

#[test]
fn an_analyst_answers_with_sql_and_the_question_is_answered_from_the_verified_question_after() {
    run(async {
        let server = TestState::new(review_settings()).await;
        let asked = ask_as(&server, "pam", UNANSWERABLE).await;
        assert_eq!(asked["answer"]["status"], "cannot_answer", "{asked}");
        let review = asked["review"]["id"].as_str().unwrap_or_else(|| panic!("handed to an analyst: {asked}"));
        assert_eq!(asked["review"]["status"], "open");
        let conversation = asked["conversation_id"].as_str().unwrap().to_string();

        // "Ask an analyst" on the same answer is the same item.
        let again = post(&server, "pam", "/api/v1/reviews", json!({"answer_id": asked["answer_id"]})).await;
        assert_eq!(again.ok_json()["id"], review);

        let queue = get(&server, "carl", "/api/v1/reviews?status=open&reason=cannot_answer").await.ok_json();
        let items = queue["items"].as_array().unwrap();
        assert_eq!(items.len(), 1, "{queue}");
        assert_eq!((items[0]["asker"].as_str(), items[0]["question"].as_str()), (Some("pam"), Some(UNANSWERABLE)));
        let why = items[0]["context"]["why"].as_str().unwrap_or_default();
        assert!(why.contains("unicorns") || why.contains("understand"), "why quarry was not sure: {why}");
        assert_eq!(get(&server, "carl", "/api/v1/reviews?reason=thumbs_down").await.ok_json()["items"], json!([]));

        let detail = get(&server, "carl", &format!("/api/v1/reviews/{review}")).await.ok_json();
        assert_eq!(detail["conversation"].as_array().unwrap().len(), 1, "{detail}");

        let run = post(&server, "carl", &format!("/api/v1/reviews/{review}/sql"), json!({"sql": ANALYST_SQL})).await;
        let run = run.ok_json();
        assert_eq!(run["columns"], json!(["plan", "subscriptions"]), "{run}");
        assert!(run["rows"].as_array().unwrap().len() >= 2, "{run}");
        assert!(run["chart_svg"].as_str().is_some_and(|svg| svg.contains("<svg")), "the result is charted");
        let sql_uri = format!("/api/v1/reviews/{review}/sql");
        post(&server, "carl", &sql_uri, json!({"sql": "DROP TABLE users"})).await.assert_error(422, "policy_rejected");

        let answer = json!({"text": "No unicorns in our data; here are subscriptions by plan.", "sql": ANALYST_SQL, "promote": true});
        let answered =
            post(&server, "carl", &format!("/api/v1/reviews/{review}/answer"), answer.clone()).await.ok_json();
        assert_eq!(answered["status"], "answered");
        assert_eq!(
            (answered["answered_by"].as_str(), answered["delivery"].as_str()),
            (Some("carl"), Some("conversation"))
        );
        let verified_id = answered["verified_id"].as_str().expect("promoted").to_string();
        post(&server, "carl", &format!("/api/v1/reviews/{review}/answer"), answer).await.assert_error(409, "conflict");

        // The answer is in pam's conversation, marked as carl's.
        let read = get(&server, "pam", &format!("/api/v1/conversations/{conversation}")).await.ok_json();
        let turns = read["turns"].as_array().unwrap();
        assert_eq!(turns.len(), 2, "{read}");
        assert_eq!(turns[0]["review"]["status"], "answered");
        let given = &turns[1]["response"];
        assert_eq!(given["analyst"]["by"], "carl", "{given}");
        assert_eq!(given["answer"]["summary"], "No unicorns in our data; here are subscriptions by plan.");
        assert_eq!(given["answer"]["route"], "analyst");
        assert!(given["answer"]["rows"].as_array().unwrap().len() >= 2);
        assert!(given["chart"]["svg_url"].as_str().is_some(), "the analyst's result is charted: {given}");
        assert_eq!(given["answer"]["verified"]["by"], "carl");

        // The next person asking it, in other words' case and spacing, gets the verified answer.
        let next = ask_as(&server, "bob", "How  many UNICORNS").await;
        assert_eq!(next["answer"]["status"], "answered", "{next}");
        assert_eq!(next["answer"]["route"], "verified");
        assert_eq!(next["answer"]["verified"]["by"], "carl");
        assert_eq!(next["answer"]["verified"]["id"], verified_id.as_str());
        assert_eq!(next["answer"]["rows"], given["answer"]["rows"]);
        assert!(next.get("review").is_none(), "a verified answer is not handed over again: {next}");

        // Every action is in the audit log; the queue is measured.
        let outcomes: Vec<String> =
            server.state.store().list_audit(50).await.unwrap().into_iter().map(|a| a.outcome).collect();
        for outcome in ["review_enqueued", "review_sql", "policy_rejected", "review_answered"] {
            assert!(outcomes.iter().any(|o| o == outcome), "{outcome} in {outcomes:?}");
        }
        let metrics = call(&server.router(), common::get("/metrics")).await.text();
        assert!(metrics.contains("quarry_review_queue_length 0"), "{metrics}");
        assert!(metrics.contains("quarry_review_items_total{reason=\"cannot_answer\"} 1"), "{metrics}");
        assert!(metrics.contains("quarry_review_time_to_answer_seconds_count 1"), "{metrics}");
        assert!(metrics.contains("quarry_review_deliveries_total{via=\"conversation\"} 1"), "{metrics}");
    });
}

#[test]
fn only_analysts_see_and_answer_the_queue_and_askers_see_only_their_own() {
    run(async {
        let server = TestState::new(review_settings()).await;
        let asked = ask_as(&server, "pam", UNANSWERABLE).await;
        let review = asked["review"]["id"].as_str().unwrap().to_string();
        let item = format!("/api/v1/reviews/{review}");

        // pam, the asker, sees her item and nothing else.
        assert_eq!(get(&server, "pam", &item).await.ok_json()["item"]["id"], review.as_str());
        let mine = get(&server, "pam", "/api/v1/reviews").await.ok_json();
        assert_eq!(mine["items"].as_array().unwrap().len(), 1);
        assert_eq!(get(&server, "pam", "/api/v1/reviews?asker=pam").await.ok_json()["items"], mine["items"]);
        // bob, another asker: no list of others, no item of others.
        assert_eq!(get(&server, "bob", "/api/v1/reviews").await.ok_json()["items"], json!([]));
        let message = get(&server, "bob", "/api/v1/reviews?asker=pam").await.assert_error(403, "forbidden");
        assert!(message.contains("only analysts"), "{message}");
        get(&server, "bob", &item).await.assert_error(403, "forbidden");
        // Neither runs SQL nor answers, not even on her own item.
        for who in ["pam", "bob"] {
            let sql = post(&server, who, &format!("{item}/sql"), json!({"sql": ANALYST_SQL})).await;
            sql.assert_error(403, "forbidden");
            let answer = post(&server, who, &format!("{item}/answer"), json!({"text": "it is 42"})).await;
            assert!(answer.assert_error(403, "forbidden").contains("only analysts can answer"));
        }
        // bob cannot hand pam's answer to an analyst either: it is not his.
        let foreign = post(&server, "bob", "/api/v1/reviews", json!({"answer_id": asked["answer_id"]})).await;
        foreign.assert_error(404, "not_found");
        assert_eq!(server.state.store().review(&review).await.unwrap().unwrap().status.as_str(), "open");

        // The analyst: everything; bad input is refused with the same body.
        assert_eq!(get(&server, "carl", "/api/v1/reviews?asker=pam").await.ok_json()["items"], mine["items"]);
        get(&server, "carl", "/api/v1/reviews/rv-nope").await.assert_error(404, "not_found");
        post(&server, "carl", &format!("{item}/answer"), json!({"text": "  "})).await.assert_error(400, "bad_request");
        let answer_uri = format!("{item}/answer");
        let unpromotable = post(&server, "carl", &answer_uri, json!({"text": "x", "promote": true})).await;
        unpromotable.assert_error(400, "bad_request");
        get(&server, "carl", "/api/v1/reviews?status=closed").await.assert_error(400, "bad_request");
        let me = get(&server, "carl", "/api/v1/me").await.ok_json();
        assert_eq!(me, json!({"user": "carl", "analyst": true}));
        assert_eq!(get(&server, "pam", "/api/v1/me").await.ok_json()["analyst"], false);
    });
}

#[test]
fn a_thumbs_down_hands_the_answer_over_with_the_comment() {
    run(async {
        let server = TestState::new(review_settings()).await;
        let asked = ask_as(&server, "pam", "revenue this year").await;
        assert_eq!(asked["answer"]["status"], "answered", "{asked}");
        assert!(asked.get("review").is_none(), "a confident answer is not handed over: {asked}");
        let up = json!({"answer_id": asked["answer_id"], "rating": "up"});
        assert_eq!(post(&server, "pam", "/api/v1/feedback", up).await.status.as_u16(), 201);
        assert_eq!(get(&server, "carl", "/api/v1/reviews").await.ok_json()["items"], json!([]));
        let down = json!({"answer_id": asked["answer_id"], "rating": "down", "comment": "excludes refunds?"});
        assert_eq!(post(&server, "pam", "/api/v1/feedback", down).await.status.as_u16(), 201);
        let queue = get(&server, "carl", "/api/v1/reviews?reason=thumbs_down").await.ok_json();
        let items = queue["items"].as_array().unwrap();
        assert_eq!(items.len(), 1, "{queue}");
        assert_eq!(items[0]["context"]["comment"], "excludes refunds?");
        assert_eq!(items[0]["asker"], "pam");
        assert!(items[0]["context"]["sql"].as_str().is_some_and(|sql| sql.contains("SELECT")), "{}", items[0]);
    });
}

#[test]
fn members_of_the_analyst_group_of_the_trusted_proxy_are_analysts() {
    run(async {
        let mut settings = review_settings();
        settings.server.trusted_user_header = "x-forwarded-email".into();
        settings.server.analyst_group_header = "x-forwarded-groups".into();
        settings.server.analyst_group = "data-team".into();
        let server = TestState::new(settings).await;
        let app = quarry_server::router(server.state.clone())
            .layer(MockConnectInfo("127.0.0.1:40000".parse::<SocketAddr>().unwrap()));
        let as_proxy = |groups: &str| {
            let mut request = common::get("/api/v1/reviews?asker=pam");
            request.headers_mut().insert("x-forwarded-email", "dana@example.com".parse().unwrap());
            request.headers_mut().insert("x-forwarded-groups", groups.parse().unwrap());
            request
        };
        assert_eq!(call(&app, as_proxy("eng,data-team")).await.ok_json()["items"], json!([]));
        call(&app, as_proxy("eng")).await.assert_error(403, "forbidden");
        // The groups header from a peer that is not a trusted proxy counts for nothing.
        let untrusted = quarry_server::router(server.state.clone())
            .layer(MockConnectInfo("10.9.9.9:40000".parse::<SocketAddr>().unwrap()));
        let mut request = post_json("/api/v1/reviews", &json!({"answer_id": "x"}));
        request.headers_mut().insert("x-forwarded-groups", "data-team".parse().unwrap());
        call(&untrusted, request).await.assert_error(401, "unauthorized");
    });
}
