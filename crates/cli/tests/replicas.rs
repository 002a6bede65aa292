//! Issue 20: two `quarry serve` processes (replicas behind a load balancer) on one PostgreSQL
//! share one state: a conversation started on one continues on the other, one per-user rate
//! limit holds across both, and a Slack command delivered to both (Slack's retry reaching the
//! other replica) is answered once. Runs when `TEST_POSTGRES_URL` is set; fails without it
//! when `REQUIRE_POSTGRES=1`.
mod common;
mod postgres_schema;

use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{Server, start_server};
use hmac::{Hmac, KeyInit, Mac};
use postgres_schema::{TestSchema, psql, server_url};
use serde_json::Value;
use sha2::Sha256;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Questions per minute (and at once) each user may ask, across both replicas.
const LIMIT: usize = 3;
const SLACK_SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
const RESPONSE_PATH: &str = "/commands/T0001/1234/abcd";

/// The settings both replicas share: the store, the API users, the limit and Slack.
fn settings_file(store_url: &str) -> String {
    format!(
        "[server]\n\
         api_tokens = [{{ user = \"ana\", token = \"token-of-ana\" }}, {{ user = \"rita\", token = \"token-of-rita\" }}]\n\
         rate_limit_per_minute = {LIMIT}\n\
         rate_limit_burst = {LIMIT}\n\
         chart_link_secret = \"one-secret-for-every-replica\"\n\
         [server.slack]\n\
         signing_secret = \"{SLACK_SECRET}\"\n\
         allow_http_response_url = true\n\
         response_hosts = [\"127.0.0.1\"]\n\
         [storage]\n\
         url = \"{store_url}\"\n"
    )
}

/// A replica on a data directory of its own (only the store is shared).
fn replica(name: &str, settings: &str) -> Server {
    let home = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("replica-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&home);
    std::fs::create_dir_all(&home).expect("home");
    std::fs::write(home.join("quarry.toml"), settings).expect("settings");
    start_server(&home, &[])
}

async fn ask(http: &reqwest::Client, server: &Server, token: &str, body: Value) -> (u16, Value) {
    let response = http
        .post(format!("{}/api/v1/ask", server.url))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("the replica answers");
    let status = response.status().as_u16();
    (status, response.json().await.expect("a JSON body"))
}

fn slack_signature(timestamp: &str, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(SLACK_SECRET.as_bytes()).expect("any key length");
    mac.update(format!("v0:{timestamp}:{body}").as_bytes());
    format!("v0={}", hex::encode(mac.finalize().into_bytes()))
}

/// Posts the slash command `body` to `server`, signed as Slack does; returns the reply's text.
async fn slack_command(http: &reqwest::Client, server: &Server, body: &str) -> String {
    let timestamp = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_secs().to_string();
    let response = http
        .post(format!("{}/slack/commands", server.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("X-Slack-Request-Timestamp", &timestamp)
        .header("X-Slack-Signature", slack_signature(&timestamp, body))
        .body(body.to_string())
        .send()
        .await
        .expect("the replica answers");
    assert_eq!(response.status().as_u16(), 200);
    let reply: Value = response.json().await.expect("a JSON reply");
    reply["text"].as_str().unwrap_or_default().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_on_one_postgres_share_conversations_rate_limits_and_slack_claims() {
    let Some(base) = server_url("replicas") else { return };
    let schema = TestSchema { url: base.clone(), name: format!("quarry_replicas_{}", std::process::id()) };
    psql(&base, &format!("DROP SCHEMA IF EXISTS {0} CASCADE; CREATE SCHEMA {0}", schema.name));
    let separator = if base.contains('?') { '&' } else { '?' };
    let store_url = format!("{base}{separator}options=-c%20search_path%3D{}", schema.name);
    let settings = settings_file(&store_url);
    let (a, b) = tokio::task::spawn_blocking(move || (replica("a", &settings), replica("b", &settings)))
        .await
        .expect("both replicas start");
    let http = reqwest::Client::builder().timeout(Duration::from_secs(120)).build().expect("client");

    // (a) A conversation started on A is continued on B, and A reads both turns.
    let (status, first) =
        ask(&http, &a, "token-of-ana", serde_json::json!({"question": "signups by channel last month"})).await;
    assert_eq!(status, 200, "{first}");
    let conversation = first["conversation_id"].as_str().expect("a conversation id").to_string();
    let follow_up = serde_json::json!({"question": "break that down by country", "conversation_id": conversation});
    let (status, second) = ask(&http, &b, "token-of-ana", follow_up).await;
    assert_eq!(status, 200, "the other replica knows the conversation: {second}");
    assert_eq!(second["conversation_id"], first["conversation_id"]);
    let columns: Vec<&str> =
        second["answer"]["columns"].as_array().expect("columns").iter().filter_map(|c| c["name"].as_str()).collect();
    assert!(
        columns.iter().any(|c| c.contains("country")) && columns.iter().any(|c| c.contains("channel")),
        "the follow-up kept the channel breakdown and added country: {columns:?}"
    );
    let read = http
        .get(format!("{}/api/v1/conversations/{conversation}", a.url))
        .bearer_auth("token-of-ana")
        .send()
        .await
        .expect("A answers");
    let view: Value = read.json().await.expect("JSON");
    let questions: Vec<&str> =
        view["turns"].as_array().expect("turns").iter().filter_map(|t| t["question"].as_str()).collect();
    assert_eq!(questions, ["signups by channel last month", "break that down by country"], "{view}");

    // (b) One limit across both: LIMIT questions alternate between the replicas, the next is
    // refused by whichever replica gets it, with the stable 429 body.
    let servers = [&a, &b];
    for i in 0..LIMIT {
        let (status, body) =
            ask(&http, servers[i % 2], "token-of-rita", serde_json::json!({"question": "revenue this year"})).await;
        assert_eq!(status, 200, "question {i} is within the limit: {body}");
    }
    let over = servers[LIMIT % 2];
    let response = http
        .post(format!("{}/api/v1/ask", over.url))
        .bearer_auth("token-of-rita")
        .json(&serde_json::json!({"question": "revenue this year"}))
        .send()
        .await
        .expect("the replica answers");
    assert_eq!(response.status().as_u16(), 429);
    let retry_after: u64 = response.headers()["retry-after"].to_str().unwrap().parse().expect("seconds");
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["error"]["code"], "rate_limited", "{body}");
    assert!(body["error"]["message"].as_str().unwrap_or_default().starts_with("too many questions; wait"), "{body}");
    assert!(body["error"]["request_id"].as_str().is_some_and(|id| id.starts_with("req-")), "{body}");
    // Another user still has their own allowance on that replica.
    let (status, body) = ask(&http, over, "token-of-ana", serde_json::json!({"question": "revenue this year"})).await;
    assert_eq!(status, 200, "{body}");

    // (c) Slack retries a command (its first delivery seemed lost) and the load balancer sends
    // the retry to the other replica: both arrive together, one is answered.
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(RESPONSE_PATH))
        .respond_with(ResponseTemplate::new(200))
        .mount(&receiver)
        .await;
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("team_id", "T0001"),
            ("channel_id", "C2147483705"),
            ("user_id", "U1"),
            ("user_name", "steve"),
            ("command", "/ask"),
            ("text", "revenue this year"),
            ("response_url", &format!("{}{RESPONSE_PATH}", receiver.uri())),
            ("trigger_id", "13345224609.738474920.8088930838d88f008e0"),
            ("api_app_id", "A123456"),
        ])
        .finish();
    let (on_a, on_b) = tokio::join!(slack_command(&http, &a, &body), slack_command(&http, &b, &body));
    let mut replies = [on_a, on_b];
    replies.sort();
    assert!(replies[0].starts_with("This command was already received"), "{replies:?}");
    assert!(replies[1].starts_with("Working on it"), "{replies:?}");
    let deadline = Instant::now() + Duration::from_secs(60);
    let posted = || async { receiver.received_requests().await.expect("the receiver records").len() };
    while posted().await == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Time for a second answer to arrive, if one were coming.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(posted().await, 1, "one answer reached Slack");
    drop((a, b));
}
